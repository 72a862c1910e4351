"""Reverse mode: a :class:`Tape` records :class:`Var` nodes; the backward pass walks it in reverse.

While a function runs on ``Var`` inputs, every operation appends one node to the tape: its value, its
parent nodes, the name of the operation, and for each parent a *VJP* (vector-Jacobian product) closure that
maps the cotangent of the node to the contribution to the parent's cotangent. Nodes are appended in
evaluation order, so the tape is a topological order of the computation graph (a Wengert list); the
backward pass visits it from the output back to the inputs, so that every node has received all its
cotangent contributions (reused nodes add up) before it passes them on to its parents. Nodes that do not
lead to the output receive nothing and are skipped.

The VJPs are the rules registered on the primitives: an elementwise primitive's linear rules
(:mod:`.primitives`; summed back to the input's shape when broadcasting made the output bigger), a structural
primitive's reverse rule (:mod:`.structural`). They are written with NumPy operations, which makes them
differentiable again: inside a second differentiation the values on the tape
are themselves tracers, and the backward pass is recorded too (reverse-over-reverse, forward-over-reverse).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from . import primitives as P
from ._base import as_value, new_level, shape_of, unbroadcast
from ._tracer import Tracer

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
                    vjps.append(_structural_vjp(prim.reverse_rule(), i, vals, out, params))
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
