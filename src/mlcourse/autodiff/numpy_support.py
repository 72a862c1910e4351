"""NumPy functions on tracers: which ``np.*`` array function dispatches to which primitive.

``np.sin(x)``, ``x * y`` and friends reach :meth:`~._tracer.Tracer.__array_ufunc__` (the ufunc tables of
:mod:`.primitives` and :mod:`.structural`); ``np.sum``, ``np.reshape``, ``np.dot`` and other array functions
reach :meth:`~._tracer.Tracer.__array_function__`, which looks the function up in :data:`FUNCTIONS`. Anything
not listed raises ``TypeError`` naming the function, so an unsupported operation never silently drops a
derivative. These handlers only translate NumPy's signatures; the derivative rules are the primitives'.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from . import primitives as P
from . import structural as S
from ._base import normalize_axes, primal, shape_of


def _no_out(name: str, out: Any) -> None:
    if out is not None:
        raise TypeError(f"numpy.{name}(..., out=...) (an in-place update) is not supported by "
                        "mlcourse.autodiff")


def _reduced_count(shape: tuple[int, ...], axis: Any) -> int:
    return math.prod(shape[a] for a in normalize_axes(axis, len(shape)))


def sum(a: Any, axis: Any = None, dtype: Any = None, out: Any = None,
        keepdims: bool = False) -> Any:
    """``np.sum`` for tracers."""
    _no_out("sum", out)
    return S.sum(a, axis=axis, keepdims=bool(keepdims))


def mean(a: Any, axis: Any = None, dtype: Any = None, out: Any = None, keepdims: bool = False) -> Any:
    """``np.mean`` for tracers: the sum times one over the number of elements reduced."""
    _no_out("mean", out)
    total = S.sum(a, axis=axis, keepdims=bool(keepdims))
    return total * (1.0 / _reduced_count(shape_of(a), axis))


def amax(a: Any, axis: Any = None, out: Any = None, keepdims: bool = False) -> Any:
    """``np.max`` for tracers (ties share the derivative equally)."""
    _no_out("max", out)
    return S.amax(a, axis=axis, keepdims=bool(keepdims))


def amin(a: Any, axis: Any = None, out: Any = None, keepdims: bool = False) -> Any:
    """``np.min`` for tracers (ties share the derivative equally)."""
    _no_out("min", out)
    return S.amin(a, axis=axis, keepdims=bool(keepdims))


def _resolve_shape(old: tuple[int, ...], new: Any) -> tuple[int, ...]:
    new = (new,) if isinstance(new, int | np.integer) else tuple(int(n) for n in new)
    size = math.prod(old)
    if new.count(-1) == 1:
        known = math.prod(n for n in new if n != -1)
        if known == 0 or size % known:
            raise ValueError(f"cannot reshape an array of size {size} into shape {new}")
        new = tuple(size // known if n == -1 else n for n in new)
    if math.prod(new) != size:
        raise ValueError(f"cannot reshape an array of size {size} into shape {new}")
    return new


def reshape(a: Any, shape: Any = None, order: str = "C", *, newshape: Any = None,
            copy: Any = None) -> Any:
    """``np.reshape`` for tracers (C order)."""
    if order != "C":
        raise TypeError("numpy.reshape with order other than 'C' is not supported by mlcourse.autodiff")
    new = _resolve_shape(shape_of(a), shape if shape is not None else newshape)
    if new == shape_of(a):
        return a
    return S.reshape(a, shape=new)


def ravel(a: Any, order: str = "C") -> Any:
    """``np.ravel`` for tracers."""
    return reshape(a, (-1,), order)


def transpose(a: Any, axes: Any = None) -> Any:
    """``np.transpose`` for tracers."""
    nd = len(shape_of(a))
    axes = None if axes is None else tuple(int(x) % nd for x in axes)
    if nd < 2 or axes == tuple(range(nd)):
        return a
    return S.transpose(a, axes=axes)


def swapaxes(a: Any, axis1: int, axis2: int) -> Any:
    """``np.swapaxes`` for tracers."""
    axes = list(range(len(shape_of(a))))
    i, j = axes[axis1], axes[axis2]
    axes[i], axes[j] = j, i
    return transpose(a, axes)


def moveaxis(a: Any, source: Any, destination: Any) -> Any:
    """``np.moveaxis`` for tracers."""
    nd = len(shape_of(a))
    src = normalize_axes(source, nd)
    dst = normalize_axes(destination, nd)
    order = [n for n in range(nd) if n not in src]
    for d, s in sorted(zip(dst, src, strict=True)):
        order.insert(d, s)
    return transpose(a, order)


def squeeze(a: Any, axis: Any = None) -> Any:
    """``np.squeeze`` for tracers."""
    shape = shape_of(a)
    drop = set(normalize_axes(axis, len(shape))) if axis is not None else \
        {i for i, n in enumerate(shape) if n == 1}
    if any(shape[i] != 1 for i in drop):
        raise ValueError("cannot select an axis to squeeze out which has size not equal to one")
    return reshape(a, tuple(n for i, n in enumerate(shape) if i not in drop))


def expand_dims(a: Any, axis: Any) -> Any:
    """``np.expand_dims`` for tracers."""
    shape = shape_of(a)
    nd = len(shape) + (len(axis) if isinstance(axis, tuple | list) else 1)
    new_axes = set(normalize_axes(axis, nd))
    it = iter(shape)
    return reshape(a, tuple(1 if i in new_axes else next(it) for i in range(nd)))


def broadcast_to(array: Any, shape: Any, subok: bool = False) -> Any:
    """``np.broadcast_to`` for tracers."""
    shape = (int(shape),) if isinstance(shape, int | np.integer) else tuple(int(n) for n in shape)
    if shape == shape_of(array):
        return array
    return S.broadcast_to(array, shape=shape)


def where(condition: Any, x: Any = None, y: Any = None) -> Any:
    """``np.where(condition, x, y)`` for tracers; the condition is taken on primal values."""
    if x is None or y is None:
        raise TypeError("numpy.where with one argument (nonzero) is not supported by mlcourse.autodiff")
    return P.where(x, y, cond=np.asarray(primal(condition), dtype=bool))


def stack(arrays: Sequence[Any], axis: int = 0, out: Any = None, **kwargs: Any) -> Any:
    """``np.stack`` for tracers."""
    _no_out("stack", out)
    if kwargs:
        raise TypeError(f"numpy.stack with keyword arguments {sorted(kwargs)} is not supported")
    return S.stack(*arrays, axis=int(axis))


def concatenate(arrays: Sequence[Any], axis: int = 0, out: Any = None, **kwargs: Any) -> Any:
    """``np.concatenate`` for tracers."""
    _no_out("concatenate", out)
    if kwargs or axis is None:
        raise TypeError("numpy.concatenate with axis=None or extra keywords is not supported")
    return S.concatenate(*arrays, axis=int(axis))


def dot(a: Any, b: Any, out: Any = None) -> Any:
    """``np.dot`` for tracers (scalars, vectors and matrices)."""
    _no_out("dot", out)
    na, nb = len(shape_of(a)), len(shape_of(b))
    if na == 0 or nb == 0:
        return P.multiply(a, b)
    if na > 2 or nb > 2:
        raise TypeError("numpy.dot of arrays with more than two dimensions is not supported by "
                        "mlcourse.autodiff; use np.matmul or np.einsum-free reshapes")
    return S.matmul(a, b)


def vdot(a: Any, b: Any) -> Any:
    """``np.vdot`` for real tracers: the sum of the elementwise product of the flattened arrays."""
    return S.sum(P.multiply(ravel(a), ravel(b)), axis=None, keepdims=False)


def inner(a: Any, b: Any) -> Any:
    """``np.inner`` for vectors."""
    if len(shape_of(a)) > 1 or len(shape_of(b)) > 1:
        raise TypeError("numpy.inner of arrays with more than one dimension is not supported")
    return dot(a, b)


def outer(a: Any, b: Any, out: Any = None) -> Any:
    """``np.outer`` for tracers."""
    _no_out("outer", out)
    return P.multiply(reshape(ravel(a), (-1, 1)), ravel(b))


def trace(a: Any, offset: int = 0, axis1: int = 0, axis2: int = 1, dtype: Any = None,
          out: Any = None) -> Any:
    """``np.trace`` of a matrix."""
    _no_out("trace", out)
    shape = shape_of(a)
    if len(shape) != 2 or offset or (axis1, axis2) != (0, 1):
        raise TypeError("numpy.trace is supported for square-or-rectangular matrices with defaults only")
    n = min(shape)
    return S.sum(S.getitem(a, index=(np.arange(n), np.arange(n))), axis=None, keepdims=False)


def norm(x: Any, ord: Any = None, axis: Any = None, keepdims: bool = False) -> Any:
    """``np.linalg.norm`` for tracers: the 2-norm of vectors / Frobenius norm (``ord=None``)."""
    if ord not in (None, 2, "fro") or (ord == 2 and (axis is not None or len(shape_of(x)) != 1)):
        raise TypeError(f"numpy.linalg.norm with ord={ord!r} is not supported by mlcourse.autodiff")
    return P.sqrt(S.sum(P.multiply(x, x), axis=axis, keepdims=bool(keepdims)))


def _shape(a: Any) -> tuple[int, ...]:
    return shape_of(a)


def _ndim(a: Any) -> int:
    return len(shape_of(a))


def _size(a: Any, axis: Any = None) -> int:
    shape = shape_of(a)
    return math.prod(shape) if axis is None else shape[axis]


def _zeros_like(a: Any, dtype: Any = None, order: str = "K", subok: bool = True, shape: Any = None,
                **kwargs: Any) -> np.ndarray:
    return np.zeros(shape_of(a) if shape is None else shape, dtype=dtype or float)


def _ones_like(a: Any, dtype: Any = None, order: str = "K", subok: bool = True, shape: Any = None,
               **kwargs: Any) -> np.ndarray:
    return np.ones(shape_of(a) if shape is None else shape, dtype=dtype or float)


#: NumPy array functions supported on tracers.
FUNCTIONS: dict[Any, Any] = {
    np.sum: sum, np.mean: mean, np.max: amax, np.amax: amax, np.min: amin, np.amin: amin,
    np.reshape: reshape, np.ravel: ravel, np.transpose: transpose, np.swapaxes: swapaxes,
    np.moveaxis: moveaxis, np.squeeze: squeeze, np.expand_dims: expand_dims,
    np.broadcast_to: broadcast_to, np.where: where, np.stack: stack, np.concatenate: concatenate,
    np.dot: dot, np.vdot: vdot, np.inner: inner, np.outer: outer, np.trace: trace,
    np.linalg.norm: norm, np.shape: _shape, np.ndim: _ndim, np.size: _size,
    np.zeros_like: _zeros_like, np.ones_like: _ones_like,
}
