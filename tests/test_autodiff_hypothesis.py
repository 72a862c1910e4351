"""Random compositions of the elementary functions (hypothesis): forward mode, reverse mode, the complex step
and autograd must agree on the derivative."""

import autograd
import autograd.numpy as anp
import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import mlcourse.autodiff as ad

UNARY = ["sin", "cos", "tan", "exp", "log1sq", "sqrt1sq", "tanh", "sigmoid", "square", "cube", "neg"]
BINARY = ["add", "sub", "mul", "div1sq", "pow"]


def _ours(name):
    return getattr(ad, name)


def _theirs(name):
    if name == "sigmoid":
        return lambda u: 0.5 * (anp.tanh(0.5 * u) + 1.0)
    return getattr(anp, name)


def evaluate(tree, x, lib):
    """Evaluate an expression tree; ``lib`` maps an elementary-function name to a function."""
    if tree == "x":
        return x
    if isinstance(tree, float):
        return tree
    op, *args = tree
    vals = [evaluate(a, x, lib) for a in args]
    if op in ("sin", "cos", "tan", "exp", "tanh", "sigmoid"):
        return lib(op)(vals[0])
    if op == "log1sq":  # log and sqrt of arguments that stay in their domain
        return lib("log")(1.0 + vals[0] * vals[0])
    if op == "sqrt1sq":
        return lib("sqrt")(1.0 + vals[0] * vals[0])
    if op == "square":
        return vals[0] ** 2
    if op == "cube":
        return vals[0] ** 3
    if op == "neg":
        return -vals[0]
    u, v = vals
    if op == "add":
        return u + v
    if op == "sub":
        return u - v
    if op == "mul":
        return u * v
    if op == "div1sq":
        return u / (1.0 + v * v)
    if op == "pow":  # a positive base to a variable exponent
        return lib("exp")(0.3 * u) ** v
    raise AssertionError(op)


def uses_x(tree):
    return tree == "x" or (isinstance(tree, tuple) and any(uses_x(a) for a in tree[1:]))


constants = st.floats(-2.0, 2.0, allow_nan=False).map(lambda c: round(c, 3))
trees = st.recursive(
    st.one_of(st.just("x"), st.just("x"), constants),  # leaves: two thirds x
    lambda sub: st.one_of(
        st.tuples(st.sampled_from(UNARY), sub),
        st.tuples(st.sampled_from(BINARY), sub, sub),
    ),
    max_leaves=8,
)


def _ours_or_reject(fn):
    try:
        value = fn()
    except (ValueError, OverflowError, ZeroDivisionError):
        assume(False)
    assume(np.all(np.isfinite(value)) and np.all(np.abs(value) < 1e8))
    return value


@settings(max_examples=400, deadline=None)
@given(tree=trees, x=st.floats(-1.5, 1.5, allow_nan=False))
def test_random_compositions_agree_across_four_methods(tree, x):
    assume(uses_x(tree))
    f = lambda t: evaluate(tree, t, _ours)  # noqa: E731
    value = _ours_or_reject(lambda: f(x))
    forward = _ours_or_reject(lambda: ad.derivative(f, x))
    reverse = ad.grad(f)(x)
    cstep = ad.complex_step(f, x)
    with np.errstate(all="ignore"):
        reference = autograd.grad(lambda t: evaluate(tree, t, _theirs))(x)
    tol = 1e-9 * max(1.0, abs(forward), abs(value))
    assert reverse == pytest.approx(forward, rel=1e-12, abs=tol)
    assert reference == pytest.approx(forward, rel=1e-10, abs=tol)
    assert cstep == pytest.approx(forward, rel=1e-8, abs=tol)


@settings(max_examples=100, deadline=None)
@given(tree=trees, x=st.lists(st.floats(-1.5, 1.5, allow_nan=False), min_size=3, max_size=3))
def test_random_compositions_on_arrays(tree, x):
    """The same compositions applied elementwise to an array: the gradient of the sum is the elementwise
    derivative, by jacfwd (dual arrays with vector tangents), grad (tape) and one Dual sweep per element."""
    assume(uses_x(tree))
    x = np.array(x)
    f = lambda t: np.sum(evaluate(tree, t, _ours) * np.ones(3))  # noqa: E731
    with np.errstate(all="raise"):
        try:
            _ours_or_reject(lambda: f(x))
            elementwise = np.array([_ours_or_reject(lambda xi=xi: ad.derivative(
                lambda t: evaluate(tree, t, _ours), xi)) for xi in x])
            forward = ad.jacfwd(f)(x)
            reverse = ad.grad(f)(x)
        except FloatingPointError:
            assume(False)
    tol = 1e-9 * max(1.0, float(np.max(np.abs(elementwise))))
    np.testing.assert_allclose(forward, elementwise, rtol=1e-12, atol=tol)
    np.testing.assert_allclose(reverse, elementwise, rtol=1e-12, atol=tol)


def test_the_strategy_reaches_every_operation():
    """Guard against a strategy that silently stops generating some operations."""
    seen = set()

    @settings(max_examples=300, deadline=None, database=None)
    @given(tree=trees)
    def collect(tree):
        seen.update(op for op in UNARY + BINARY if f"'{op}'" in str(tree))

    collect()
    assert seen == set(UNARY + BINARY)
