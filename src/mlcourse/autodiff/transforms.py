"""Function transforms with JAX's names and signatures: ``grad``, ``value_and_grad``, ``jvp``, ``vjp``,
``jacfwd``, ``jacrev``, ``hessian``.

* ``jvp`` and ``jacfwd`` run the function once on :class:`~.dual.Dual` numbers (``jacfwd`` seeds all
  input directions at once, as a vector of tangents).
* ``vjp``, ``grad``, ``value_and_grad`` and ``jacrev`` record the function on a :class:`~.tape.Tape` and run
  the backward pass (``jacrev``: once per output element, reusing the recording).
* ``hessian`` is forward-over-reverse, ``jacfwd(grad(f))``; ``jacrev(grad(f))`` (reverse-over-reverse)
  gives the same matrix.

Jacobians have shape ``output.shape + input.shape``. Everything is float64. Differences from JAX: inputs and
outputs are single arrays or numbers (no pytrees; a list or tuple returned by the function is stacked into
one array), and there is no ``has_aux`` / ``holomorphic``.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ._base import as_value, new_level, shape_of
from ._tracer import Tracer
from .dual import Dual, forward_sweep, make_dual
from .tape import Tape, Var

Function = Callable[..., Any]


def _argnums(argnums: int | Sequence[int], nargs: int) -> tuple[tuple[int, ...], bool]:
    many = not isinstance(argnums, int | np.integer)
    nums = tuple(int(a) for a in argnums) if many else (int(argnums),)  # type: ignore[union-attr]
    for a in nums:
        if not -nargs <= a < nargs:
            raise ValueError(f"argnums={argnums!r} but the function was called with {nargs} positional "
                             "argument(s)")
    return tuple(a % nargs for a in nums), many


def collect_output(out: Any) -> Any:
    """A function's output as one value: lists, tuples and object arrays of tracers are stacked."""
    if isinstance(out, list | tuple):
        items = [collect_output(o) for o in out]
        if any(isinstance(i, Tracer) for i in items):
            return np.stack(items)
        return np.asarray(items, dtype=np.float64)
    if isinstance(out, np.ndarray) and out.dtype == object:
        items = [collect_output(o) for o in out.ravel()]
        if not items:
            return np.zeros(out.shape)
        return np.reshape(np.stack(items), out.shape)
    return out


def finish(x: Any) -> Any:
    """A plain result as float (0-d) or a fresh writable float64 array; tracers (nested transforms) as is."""
    if isinstance(x, Tracer):
        return x
    arr = np.asarray(x)
    if arr.ndim == 0:
        return float(arr)
    if arr.dtype != np.float64:
        return arr.astype(np.float64)
    if not arr.flags.writeable or arr.base is not None:
        return arr.copy()
    return arr


def _zeros_for(x: Var) -> Any:
    return np.zeros(shape_of(x.val))


def _record(f: Function, args: Sequence[Any], kwargs: dict[str, Any],
            argnums: Sequence[int]) -> tuple[Any, Tape, list[Var]]:
    """Run ``f`` with the arguments at ``argnums`` replaced by input nodes of a new tape."""
    with Tape() as tape:
        xs = list(args)
        inputs = []
        for i in argnums:
            xs[i] = tape.variable(args[i])
            inputs.append(xs[i])
        out = collect_output(f(*xs, **kwargs))
    return out, tape, inputs


def _value(out: Any, tape: Tape) -> Any:
    return out.val if isinstance(out, Var) and out._level == tape.level else out


def value_and_grad(f: Function, argnums: int | Sequence[int] = 0) -> Function:
    """Like :func:`grad`, but the new function returns ``(f(*args), gradient)``.

    Parameters
    ----------
    f : callable
        Scalar-valued function.
    argnums : int or sequence of int, default 0
        Which positional argument(s) to differentiate with respect to.

    Returns
    -------
    callable
        ``(*args, **kwargs) -> (value, gradient)``; the gradient is a tuple when ``argnums`` is a sequence.
    """
    @functools.wraps(f)
    def value_and_grad_f(*args: Any, **kwargs: Any) -> tuple[Any, Any]:
        nums, many = _argnums(argnums, len(args))
        out, tape, inputs = _record(f, args, kwargs, nums)
        value = _value(out, tape)
        if shape_of(value) != ():
            raise TypeError(f"grad requires a scalar-valued function, but {_name(f)} returned an array of "
                            f"shape {shape_of(value)}; use jacrev (or jacfwd) for the Jacobian, or vjp for "
                            "vector-Jacobian products")
        grads = tape.backward(out, 1.0, inputs)
        grads = [_zeros_for(x) if g is None else g for g, x in zip(grads, inputs, strict=True)]
        result = tuple(finish(g) for g in grads)
        return finish(value), (result if many else result[0])
    return value_and_grad_f


def grad(f: Function, argnums: int | Sequence[int] = 0) -> Function:
    """Gradient of a scalar-valued function by reverse mode.

    Parameters
    ----------
    f : callable
        Function of one or more arrays/numbers returning a scalar.
    argnums : int or sequence of int, default 0
        Which positional argument(s) to differentiate with respect to.

    Returns
    -------
    callable
        ``(*args, **kwargs) -> gradient`` with the shape of the argument (a tuple of gradients when
        ``argnums`` is a sequence).

    Raises
    ------
    TypeError
        When ``f`` returns a non-scalar (use :func:`jacrev` or :func:`vjp`).

    Examples
    --------
    >>> import numpy as np
    >>> grad(lambda x: np.sum(x ** 2))(np.array([1.0, 2.0]))
    array([2., 4.])
    """
    value_and_grad_f = value_and_grad(f, argnums)

    @functools.wraps(f)
    def grad_f(*args: Any, **kwargs: Any) -> Any:
        return value_and_grad_f(*args, **kwargs)[1]
    return grad_f


def jvp(f: Function, primals: Sequence[Any], tangents: Sequence[Any]) -> tuple[Any, Any]:
    """Jacobian-vector product by one forward-mode sweep.

    Parameters
    ----------
    f : callable
        Function of ``len(primals)`` positional arguments.
    primals : tuple
        Point of evaluation.
    tangents : tuple
        One tangent per primal, same shapes.

    Returns
    -------
    (out, tangent_out)
        ``f(*primals)`` and the directional derivative ``J @ tangents``.
    """
    if not isinstance(primals, tuple | list) or not isinstance(tangents, tuple | list):
        raise TypeError("jvp(f, primals, tangents): primals and tangents must be tuples, e.g. (x,) and (v,)")
    if len(primals) != len(tangents):
        raise ValueError(f"jvp got {len(primals)} primals but {len(tangents)} tangents")
    level = new_level()
    xs = []
    for p, t in zip(primals, tangents, strict=True):
        pv, tv = as_value(p), as_value(t)
        if shape_of(tv) != shape_of(pv):
            raise ValueError(f"jvp: tangent of shape {shape_of(tv)} for a primal of shape {shape_of(pv)}")
        xs.append(make_dual(pv, tv, None, level))
    out = collect_output(forward_sweep(f, xs, {}, level))
    if isinstance(out, Dual) and out._level == level:
        return finish(out.val), finish(out.der)
    return finish(out), finish(np.zeros(shape_of(out)))


def vjp(f: Function, *primals: Any) -> tuple[Any, Function]:
    """Vector-Jacobian product by reverse mode: record once, pull back any cotangent.

    Parameters
    ----------
    f : callable
        Function of ``len(primals)`` positional arguments.
    *primals
        Point of evaluation.

    Returns
    -------
    (out, vjp_fun)
        ``f(*primals)`` and a function mapping a cotangent of ``out``'s shape to the tuple of cotangents of
        the primals (``ct @ J`` for each).
    """
    out, tape, inputs = _record(f, primals, {}, range(len(primals)))
    value = _value(out, tape)
    out_shape = shape_of(value)

    def vjp_fun(cotangent: Any) -> tuple[Any, ...]:
        ct = as_value(cotangent)
        if shape_of(ct) != out_shape:
            raise ValueError(f"vjp: cotangent of shape {shape_of(ct)} for an output of shape {out_shape}")
        grads = tape.backward(out, ct, inputs)
        return tuple(finish(_zeros_for(x) if g is None else g)
                     for g, x in zip(grads, inputs, strict=True))

    return finish(value), vjp_fun


def jacfwd(f: Function, argnums: int | Sequence[int] = 0) -> Function:
    """Jacobian by forward mode: one sweep carrying one tangent direction per input element.

    Returns
    -------
    callable
        ``(*args, **kwargs) -> J`` with ``J.shape == out.shape + x.shape`` (a tuple for several argnums).
    """
    @functools.wraps(f)
    def jacfwd_f(*args: Any, **kwargs: Any) -> Any:
        nums, many = _argnums(argnums, len(args))
        vals = [as_value(args[i]) for i in nums]
        shapes = [shape_of(v) for v in vals]
        sizes = [math.prod(s) for s in shapes]
        level = new_level()
        xs = list(args)
        k: int | None
        if not many and shapes[0] == ():
            k = None
            xs[nums[0]] = make_dual(vals[0], 1.0, None, level)
        else:
            k = sum(sizes)
            offset = 0
            for i, v, s, n in zip(nums, vals, shapes, sizes, strict=True):
                seed = np.zeros((n, k))
                seed[:, offset:offset + n] = np.eye(n)
                xs[i] = make_dual(v, seed.reshape((*s, k)), k, level)
                offset += n
        out = collect_output(forward_sweep(f, xs, kwargs, level))
        if isinstance(out, Dual) and out._level == level:
            out_shape, der = shape_of(out.val), out.der
        else:
            out_shape = shape_of(out)
            der = np.zeros(out_shape if k is None else (*out_shape, k))
        if k is None:
            jacs = [der]
        else:
            jacs, offset = [], 0
            for s, n in zip(shapes, sizes, strict=True):
                jacs.append(np.reshape(der[..., offset:offset + n], (*out_shape, *s)))
                offset += n
        result = tuple(finish(j) for j in jacs)
        return result if many else result[0]
    return jacfwd_f


def jacrev(f: Function, argnums: int | Sequence[int] = 0) -> Function:
    """Jacobian by reverse mode: one recording, one backward pass per output element.

    Returns
    -------
    callable
        ``(*args, **kwargs) -> J`` with ``J.shape == out.shape + x.shape`` (a tuple for several argnums).
    """
    @functools.wraps(f)
    def jacrev_f(*args: Any, **kwargs: Any) -> Any:
        nums, many = _argnums(argnums, len(args))
        out, tape, inputs = _record(f, args, kwargs, nums)
        out_shape = shape_of(_value(out, tape))
        rows: list[list[Any]] = [[] for _ in inputs]
        for index in np.ndindex(out_shape):
            if out_shape:
                seed = np.zeros(out_shape)
                seed[index] = 1.0
            else:
                seed = 1.0
            for row, g, x in zip(rows, tape.backward(out, seed, inputs), inputs, strict=True):
                row.append(_zeros_for(x) if g is None else g)
        jacs = []
        for row, x in zip(rows, inputs, strict=True):
            shape = (*out_shape, *shape_of(x.val))
            jacs.append(np.reshape(np.stack(row), shape) if row else np.zeros(shape))
        result = tuple(finish(j) for j in jacs)
        return result if many else result[0]
    return jacrev_f


def hessian(f: Function, argnums: int = 0) -> Function:
    """Hessian of a scalar-valued function, forward-over-reverse: ``jacfwd(grad(f, argnums), argnums)``.

    Returns
    -------
    callable
        ``(*args, **kwargs) -> H`` with ``H.shape == x.shape + x.shape``.
    """
    if not isinstance(argnums, int | np.integer):
        raise TypeError("hessian supports one integer argnums")
    return jacfwd(grad(f, argnums), argnums)


def _name(f: Function) -> str:
    return getattr(f, "__name__", type(f).__name__)
