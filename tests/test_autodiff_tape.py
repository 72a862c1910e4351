"""The reverse-mode tape, the graph and trace helpers, error handling, and the docstring examples."""

import doctest
import importlib
import math
import pkgutil

import numpy as np
import pytest

import mlcourse.autodiff
from mlcourse.autodiff import Tape, Var, evaluation_trace, grad, record_graph, sin


def test_tape_records_nodes_in_evaluation_order():
    with Tape() as tape:
        x1, x2 = tape.variable(2.0), tape.variable(5.0)
        y = x1 * x2 + np.sin(x1)
    assert [n.op for n in tape.nodes] == ["input", "input", "multiply", "sin", "add"]
    assert tape.nodes[2].parents == (x1, x2) and tape.nodes[4].parents == (tape.nodes[2], tape.nodes[3])
    assert isinstance(y, Var) and y.value == pytest.approx(10.0 + math.sin(2.0))
    g1, g2 = tape.backward(y, wrt=[x1, x2])
    assert (g1, g2) == (pytest.approx(5.0 + math.cos(2.0)), pytest.approx(2.0))


def test_constants_are_not_nodes():
    with Tape() as tape:
        x = tape.variable(3.0)
        x * 2.0 + np.ones(3)
    assert [n.op for n in tape.nodes] == ["input", "multiply", "add"]
    assert tape.nodes[2].parents == (tape.nodes[1],)


def test_reused_nodes_accumulate_their_adjoints():
    # y = s * s * s with s = sin(x) used three times: dy/dx = 3 sin(x)^2 cos(x)
    def f(x):
        s = sin(x)
        return s * s * s

    assert grad(f)(0.7) == pytest.approx(3 * math.sin(0.7) ** 2 * math.cos(0.7), rel=1e-15)
    # and a diamond: two paths from x to the output
    assert grad(lambda x: np.exp(x) * np.log(x) + np.exp(x))(1.5) == pytest.approx(
        math.exp(1.5) * (math.log(1.5) + 1 / 1.5) + math.exp(1.5), rel=1e-15)


def test_nodes_that_do_not_reach_the_output_are_skipped():
    with Tape() as tape:
        x = tape.variable(np.ones(3))
        np.exp(x)  # a dead branch
        y = np.sum(x * 2.0)
    (g,) = tape.backward(y)
    np.testing.assert_array_equal(g, [2.0, 2.0, 2.0])


def test_a_var_that_escapes_its_tape_is_an_error():
    leaked = []
    grad(lambda x: leaked.append(x) or x * x)(1.0)
    with pytest.raises(RuntimeError, match="escaped"):
        leaked[0] * 2.0


def test_variable_needs_an_open_tape():
    tape = Tape()
    with pytest.raises(RuntimeError, match="open tape"):
        tape.variable(1.0)


@pytest.mark.parametrize(("operation", "message"), [
    (lambda x: math.exp(x), "float"),
    (lambda x: np.cumsum(x), "cumsum"),
    (lambda x: np.linalg.inv(x.reshape(2, 2)), "inv"),
    (lambda x: np.sort(x), "sort"),
    (lambda x: np.add.accumulate(x), "accumulate"),
    (lambda x: np.arctan2(x, x), "arctan2"),
])
def test_unsupported_operations_on_vars_raise_type_error(operation, message):
    with pytest.raises(TypeError, match=message):
        grad(lambda x: np.sum(operation(x)))(np.arange(1.0, 5.0))


def test_record_graph_exposes_nodes_parents_and_ops():
    tape = record_graph(lambda x, y: np.exp(x * y) + x, 1.0, 2.0)
    ops = [n.op for n in tape.nodes]
    assert ops == ["input", "input", "multiply", "exp", "add"]
    assert tape.output is tape.nodes[-1]
    assert [p.index for p in tape.nodes[-1].parents] == [3, 0]


def test_evaluation_trace_of_the_lecture_example():
    # f(x1, x2) = x1 x2 + sin(x1) at (2, 5), tangent seed (1, 0)
    rows = evaluation_trace(lambda x1, x2: x1 * x2 + sin(x1), 2.0, 5.0)
    assert [r.name for r in rows] == ["w1", "w2", "w3", "w4", "w5"]
    assert [r.inputs for r in rows] == [(), (), ("w1", "w2"), ("w1",), ("w3", "w4")]
    np.testing.assert_allclose([r.value for r in rows], [2, 5, 10, math.sin(2), 10 + math.sin(2)])
    np.testing.assert_allclose([r.tangent for r in rows], [1, 0, 5, math.cos(2), 5 + math.cos(2)])
    np.testing.assert_allclose([r.adjoint for r in rows], [5 + math.cos(2), 2, 1, 1, 1])
    seeded = evaluation_trace(lambda x1, x2: x1 * x2 + sin(x1), 2.0, 5.0, tangents=[0.0, 1.0])
    assert seeded[-1].tangent == pytest.approx(2.0)


def test_evaluation_trace_is_for_scalars():
    with pytest.raises(ValueError, match="scalar"):
        evaluation_trace(lambda x: x * np.ones(2), 1.0)


def _modules():
    package = mlcourse.autodiff
    names = [package.__name__]
    names += [f"{package.__name__}.{m.name}" for m in pkgutil.iter_modules(package.__path__)]
    return [importlib.import_module(n) for n in names]


@pytest.mark.parametrize("module", _modules(), ids=lambda m: m.__name__)
def test_docstring_examples(module):
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0
