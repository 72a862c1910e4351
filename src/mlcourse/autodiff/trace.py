"""Lecture helpers: the evaluation trace table and the recorded graph of a function."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from ._base import primal, shape_of
from .tape import Tape
from .transforms import collect_output


@dataclass(frozen=True)
class TraceRow:
    """One line of an evaluation trace: ``name = op(inputs)``, with its value, tangent and adjoint."""

    name: str
    op: str
    inputs: tuple[str, ...]
    value: float
    tangent: float
    adjoint: float


def record_graph(f: Callable[..., Any], *args: Any) -> Tape:
    """Run ``f(*args)`` on reverse-mode nodes and return the tape, to inspect or draw the graph.

    ``tape.nodes`` lists the nodes in evaluation order, each with ``.op``, ``.parents``, ``.val`` and
    ``.index``; ``tape.output`` is what ``f`` returned.
    """
    with Tape() as tape:
        xs = [tape.variable(a) for a in args]
        tape.output = collect_output(f(*xs))
    return tape


def evaluation_trace(f: Callable[..., Any], *args: float,
                     tangents: Sequence[float] | None = None) -> list[TraceRow]:
    """The evaluation trace of a scalar function: one row per elementary operation.

    Inputs are named ``w1 ... wn``, the intermediate results ``w(n+1) ...`` in evaluation order. The
    tangent column is the forward sweep with input tangents ``tangents`` (default: 1 for the first input,
    0 for the others); the adjoint column is the reverse sweep from the output (``dy/dw``).

    Examples
    --------
    >>> from mlcourse.autodiff import sin
    >>> for row in evaluation_trace(lambda x1, x2: x1 * x2 + sin(x1), 2.0, 5.0):
    ...     print(row.name, row.op, row.inputs, round(row.value, 4), round(row.tangent, 4),
    ...           round(row.adjoint, 4))
    w1 input () 2.0 1.0 4.5839
    w2 input () 5.0 0.0 2.0
    w3 multiply ('w1', 'w2') 10.0 5.0 1.0
    w4 sin ('w1',) 0.9093 -0.4161 1.0
    w5 add ('w3', 'w4') 10.9093 4.5839 1.0
    """
    tape = record_graph(f, *args)
    if any(shape_of(node.val) != () for node in tape.nodes):
        raise ValueError("evaluation_trace is for functions of scalars with scalar intermediates")
    seeds = list(tangents) if tangents is not None else [1.0] + [0.0] * (len(args) - 1)
    if len(seeds) != len(args):
        raise ValueError(f"{len(args)} inputs but {len(seeds)} tangents")
    names = {node.index: f"w{node.index + 1}" for node in tape.nodes}
    tangent: dict[int, float] = {}
    inputs_seen = 0
    for node in tape.nodes:
        if node.op == "input":
            tangent[node.index] = float(seeds[inputs_seen])
            inputs_seen += 1
        else:  # for scalar nodes, the VJP of a unit cotangent is the partial derivative
            tangent[node.index] = sum(float(primal(vjp(1.0))) * tangent[p.index]
                                      for p, vjp in zip(node.parents, node.vjps, strict=True))
    adjoints = tape.backward(tape.output, 1.0, keep_all=True)
    return [TraceRow(name=names[node.index], op=node.op, inputs=tuple(names[p.index] for p in node.parents),
                     value=float(primal(node.val)), tangent=tangent[node.index],
                     adjoint=0.0 if adjoints[node.index] is None else float(primal(adjoints[node.index])))
            for node in tape.nodes]
