"""Reverse mode: a :class:`Tape` records :class:`Var` nodes; the backward pass walks it in reverse.

While a function runs on ``Var`` inputs, every operation appends one node to the tape: its value, its
parent nodes, the name of the operation, and for each parent a *VJP* (vector-Jacobian product) closure that
maps the cotangent of the node to the contribution to the parent's cotangent. Nodes are appended in
evaluation order, so the tape is a topological order of the computation graph (a Wengert list); the
backward pass visits it from the output back to the inputs, so that every node has received all its
cotangent contributions (reused nodes add up) before it passes them on to its parents. Nodes that do not
lead to the output receive nothing and are skipped.

Elementwise VJPs come from :mod:`.primitives` (summed back to the input's shape when broadcasting made the
output bigger); the VJPs of structural operations are defined below. They are written with NumPy
operations, which makes them differentiable again: inside a second differentiation the values on the tape
are themselves tracers, and the backward pass is recorded too (reverse-over-reverse, forward-over-reverse).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from . import primitives as P
from ._tracer import Tracer, as_value, new_level, normalize_axes, primal, shape_of, unbroadcast

_new = object.__new__
_ACTIVE: dict[int, Tape] = {}


class Var(Tracer):
    """A node of the reverse-mode graph: a value recorded on a :class:`Tape`.

    Attributes
    ----------
    val : float or ndarray
        The value (also available as ``value``).
    op : str
        The operation that produced it (``"input"`` for an input, else a NumPy-style name such as
        ``"multiply"``, ``"sin"``, ``"matmul"``, ``"sum"``).
    parents : tuple of Var
        The nodes it was computed from (constants are not nodes).
    index : int
        Position on the tape (evaluation order).
    """

    __slots__ = ("_index", "op", "parents", "vjps")
    parents: tuple[Var, ...]
    vjps: tuple[Callable[[Any], Any], ...]
    op: str
    _index: int

    @property
    def value(self) -> Any:
        """The recorded value."""
        return self.val

    @property
    def index(self) -> int:
        """Position of this node on its tape."""
        return self._index

    def __repr__(self) -> str:
        return f"Var(op={self.op!r}, val={self.val!r})"

    def _apply(self, prim: P.Primitive, args: tuple[Any, ...], params: dict[str, Any]) -> Var:
        level = self._level
        tape = _ACTIVE.get(level)
        if tape is None:
            raise RuntimeError("a Var was used after the differentiation that created it had finished "
                               "(it escaped from the function being differentiated)")
        vals = [a.val if type(a) is Var and a._level == level else a for a in args]
        out = prim(*vals, **params)
        parents = []
        vjps = []
        for i, a in enumerate(args):
            if type(a) is Var and a._level == level:
                parents.append(a)
                if prim.lin is not None:
                    vjps.append(_elementwise_vjp(prim.lin[i], vals, out, shape_of(vals[i])))
                else:
                    vjps.append(_structural_vjp(_VJP[prim.name], i, vals, out, params))
        return tape._record(out, tuple(parents), tuple(vjps), prim.name)


def _elementwise_vjp(rule: Callable[..., Any], vals: list[Any], out: Any,
                     shape: tuple[int, ...]) -> Callable[[Any], Any]:
    def vjp(g: Any) -> Any:
        return unbroadcast(rule(g, *vals, out), shape)
    return vjp


def _structural_vjp(rule: Callable[..., Any], i: int, vals: list[Any], out: Any,
                    params: dict[str, Any]) -> Callable[[Any], Any]:
    def vjp(g: Any) -> Any:
        return rule(g, i, vals, out, **params)
    return vjp


class Tape:
    """The record of one reverse-mode differentiation: nodes in evaluation order.

    Use it as a context manager; inside, :meth:`variable` makes input nodes and every operation on them
    is recorded. After the forward computation, :meth:`backward` returns cotangents (gradients).

    Examples
    --------
    >>> import numpy as np
    >>> with Tape() as tape:
    ...     x1, x2 = tape.variable(2.0), tape.variable(5.0)
    ...     y = x1 * x2 + np.sin(x1)
    >>> [node.op for node in tape.nodes]
    ['input', 'input', 'multiply', 'sin', 'add']
    >>> [round(float(g), 6) for g in tape.backward(y, wrt=[x1, x2])]
    [4.583853, 2.0]
    """

    def __init__(self) -> None:
        self.level = new_level()
        self.nodes: list[Var] = []
        self.output: Any = None

    def __enter__(self) -> Tape:
        _ACTIVE[self.level] = self
        return self

    def __exit__(self, *exc: object) -> None:
        _ACTIVE.pop(self.level, None)

    def variable(self, value: Any) -> Var:
        """A new input node holding ``value`` (converted to float / float64 array)."""
        if self.level not in _ACTIVE:
            raise RuntimeError("Tape.variable needs an open tape: use `with Tape() as tape:`")
        return self._record(as_value(value), (), (), "input")

    def _record(self, value: Any, parents: tuple[Var, ...], vjps: tuple[Callable[[Any], Any], ...],
                op: str) -> Var:
        v = _new(Var)
        v.val = value
        v._level = self.level
        v.parents = parents
        v.vjps = vjps
        v.op = op
        v._index = len(self.nodes)
        self.nodes.append(v)
        return v

    def backward(self, output: Any, seed: Any = 1.0, wrt: Iterable[Var] | None = None,
                 keep_all: bool = False) -> list[Any]:
        """Propagate the cotangent ``seed`` of ``output`` back through the tape.

        Parameters
        ----------
        output : Var
            The node to differentiate (anything else counts as a constant: all cotangents are ``None``).
        seed : float or ndarray, default 1.0
            Cotangent of ``output`` (same shape as its value).
        wrt : iterable of Var, optional
            Nodes whose cotangents to return (default: all input nodes, in order).
        keep_all : bool, default False
            Return the cotangent of every node on the tape (a list indexed like :attr:`nodes`) instead.

        Returns
        -------
        list
            One cotangent per requested node, ``None`` where the output does not depend on the node.
        """
        if wrt is None:
            wrt = [n for n in self.nodes if n.op == "input"]
        grads: dict[int, Any] = {}
        if isinstance(output, Var) and output._level == self.level:
            grads[output._index] = seed
            nodes = self.nodes
            for idx in range(output._index, -1, -1):
                node = nodes[idx]
                if not node.parents:
                    continue
                g = grads.get(idx) if keep_all else grads.pop(idx, None)
                if g is None:
                    continue
                for parent, vjp in zip(node.parents, node.vjps, strict=True):
                    contribution = vjp(g)
                    j = parent._index
                    previous = grads.get(j)
                    grads[j] = contribution if previous is None else previous + contribution
        if keep_all:
            return [grads.get(i) for i in range(len(self.nodes))]
        return [grads.get(v._index) for v in wrt]


# ---------------------------------------------------------------------------------- VJP rules
def _vjp_reshape(g: Any, i: int, vals: list[Any], out: Any, shape: Any) -> Any:
    return np.reshape(g, shape_of(vals[0]))


def _vjp_transpose(g: Any, i: int, vals: list[Any], out: Any, axes: Any) -> Any:
    if axes is None:
        return np.transpose(g)
    return np.transpose(g, tuple(np.argsort(axes)))


def _vjp_getitem(g: Any, i: int, vals: list[Any], out: Any, index: Any) -> Any:
    return P.scatter(g, index=index, shape=shape_of(vals[0]))


def _vjp_scatter(g: Any, i: int, vals: list[Any], out: Any, index: Any, shape: Any) -> Any:
    return P.getitem(g, index=index)


def _keepdims_shape(shape: tuple[int, ...], axis: Any) -> tuple[int, ...]:
    axes = normalize_axes(axis, len(shape))
    return tuple(1 if d in axes else n for d, n in enumerate(shape))


def _vjp_sum(g: Any, i: int, vals: list[Any], out: Any, axis: Any, keepdims: bool) -> Any:
    shape = shape_of(vals[0])
    if not keepdims:
        g = np.reshape(g, _keepdims_shape(shape, axis))
    return np.broadcast_to(g, shape)


def _vjp_broadcast_to(g: Any, i: int, vals: list[Any], out: Any, shape: Any) -> Any:
    return unbroadcast(g, shape_of(vals[0]))


def _vjp_where(g: Any, i: int, vals: list[Any], out: Any, cond: Any) -> Any:
    picked = np.where(cond, g, 0.0) if i == 0 else np.where(cond, 0.0, g)
    return unbroadcast(picked, shape_of(vals[i]))


def _vjp_stack(g: Any, i: int, vals: list[Any], out: Any, axis: int) -> Any:
    axis = axis % len(shape_of(out))
    return g[(slice(None),) * axis + (i,)]


def _vjp_concatenate(g: Any, i: int, vals: list[Any], out: Any, axis: int) -> Any:
    axis = axis % len(shape_of(out))
    start = sum(shape_of(v)[axis] for v in vals[:i])
    return g[(slice(None),) * axis + (slice(start, start + shape_of(vals[i])[axis]),)]


def _vjp_extremum(g: Any, vals: list[Any], axis: Any, keepdims: bool, reduce: Any) -> Any:
    x = primal(vals[0])
    hit = (x == reduce(x, axis=axis, keepdims=True)) * 1.0
    weight = hit / np.sum(hit, axis=axis, keepdims=True)
    if not keepdims:
        g = np.reshape(g, _keepdims_shape(np.shape(x), axis))
    return g * weight


def _vjp_matmul(g: Any, i: int, vals: list[Any], out: Any) -> Any:
    a, b = vals
    na, nb = len(shape_of(a)), len(shape_of(b))
    if i == 0:
        if na == 1 and nb == 1:
            r = g * b
        elif nb == 1:  # (..., m, n) @ (n,) -> (..., m)
            r = np.reshape(g, (*shape_of(g), 1)) * b
        elif na == 1:  # (n,) @ (..., n, p) -> (..., p)
            r = b @ g if nb == 2 else (b @ np.reshape(g, (*shape_of(g), 1)))[..., 0]
        else:
            r = g @ np.swapaxes(b, -1, -2)
        return unbroadcast(r, shape_of(a))
    if na == 1 and nb == 1:
        r = g * a
    elif na == 1:
        gshape = shape_of(g)
        r = np.reshape(a, (-1, 1)) * np.reshape(g, (*gshape[:-1], 1, gshape[-1]))
    elif nb == 1:
        r = g @ a if na == 2 else (np.reshape(g, (*shape_of(g)[:-1], 1, shape_of(g)[-1])) @ a)[..., 0, :]
    else:
        r = np.swapaxes(a, -1, -2) @ g
    return unbroadcast(r, shape_of(b))


_VJP: dict[str, Callable[..., Any]] = {
    "reshape": _vjp_reshape,
    "transpose": _vjp_transpose,
    "getitem": _vjp_getitem,
    "scatter": _vjp_scatter,
    "sum": _vjp_sum,
    "broadcast_to": _vjp_broadcast_to,
    "where": _vjp_where,
    "stack": _vjp_stack,
    "concatenate": _vjp_concatenate,
    "amax": lambda g, i, vals, out, axis, keepdims: _vjp_extremum(g, vals, axis, keepdims, np.max),
    "amin": lambda g, i, vals, out, axis, keepdims: _vjp_extremum(g, vals, axis, keepdims, np.min),
    "matmul": _vjp_matmul,
}
