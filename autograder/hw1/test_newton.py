"""Part 5: newton: it finds roots (test_newton_converges) and raises RuntimeError when it cannot
(test_newton_raises).

The functions are self-contained (they work on floats and on the student's Duals without using the
student's arithmetic), record their calls, and stop a loop that never ends after a budget of evaluations.
"""

from __future__ import annotations

import math

import pytest

from autograder.hw1.common import (
    Prim,
    compose,
    evaluate,
    expect_raises,
    num,
    recorded,
    recording,
    type_name,
    with_math,
)
from mlcourse import autodiff as ad

CONVERGES, RAISES = "test_newton_converges", "test_newton_raises"
#: The visible tests solve x^2 - 2 from 1 and x^3 - 2x - 5 from 3: the hidden ones start elsewhere, so that
#: answers hard-coded for the visible inputs get nothing.


def _fn(value: str, deriv: str) -> str:
    """A self-contained, recorded function (needs ``m`` and ``calls`` in scope)."""
    return recorded(compose([Prim(value, value, deriv, lambda x: x)])[0])


def _newton(value: str, deriv: str, x0: float, **kwargs) -> str:
    extra = "".join(f", {k}={v!r}" for k, v in kwargs.items())
    return with_math(recording(f"newton({_fn(value, deriv)}, {num(x0)}{extra})"))


#: name -> (F, F', x0, the root, the same function with the reference library or None).
CLASSIC = {
    "sqrt(2) as the root of x^2 - 2 from 0.8": ("t * t - 2.0", "2.0 * t", 0.8, math.sqrt(2.0),
                                              lambda x: x * x - 2.0),
    "the fixed point of cos (cos(x) - x) from 0.2": ("m.cos(t) - t", "-m.sin(t) - 1.0", 0.2, None,
                                                   lambda x: ad.cos(x) - x),
    "Wallis's x^3 - 2x - 5 from 2": ("t * t * t - 2.0 * t - 5.0", "3.0 * t * t - 2.0", 2.0, None,
                                     lambda x: x * x * x - 2.0 * x - 5.0),
    "log(2) as the root of exp(x) - 2 from 0": ("m.exp(t) - 2.0", "m.exp(t)", 0.0, math.log(2.0),
                                                lambda x: ad.exp(x) - 2.0),
    "0 as the root of arctan(x) from 1": ("m.atan(t)", "1.0 / (1.0 + t * t)", 1.0, 0.0, None),
}


def _solves(student, a: float) -> None:
    """newton finds the cube root of ``a`` from 1.5: a property check below counts only for a newton that
    also solves a problem (a newton that always raises, or returns a constant, gets nothing for it)."""
    result, _ = evaluate(student, _newton(f"t * t * t - {num(a)}", "3.0 * t * t", 1.5),
                         f"newton for x^3 - {a:g} from 1.5")
    assert isinstance(result, (int, float)) and not isinstance(result, bool) \
        and abs(result - a ** (1 / 3)) <= 1e-10 * max(1.0, a ** (1 / 3)), \
        f"newton for x^3 - {a:g} from 1.5: the root is wrong"


@pytest.mark.part(CONVERGES)
@pytest.mark.parametrize("case", list(CLASSIC))
def test_classic_roots(student, case):
    """newton converges to the root on a classic case"""
    value, deriv, x0, root, ref = CLASSIC[case]
    if root is None:
        root = ad.newton(ref, x0)
    result, _ = evaluate(student, _newton(value, deriv, x0), f"newton for {case}")
    assert isinstance(result, (int, float)) and not isinstance(result, bool), \
        f"newton for {case} should return a float, not {type_name(result)}"
    assert abs(result - root) <= 1e-10 * max(1.0, abs(root)), f"newton for {case}: the root is wrong"


@pytest.mark.part(CONVERGES)
def test_returns_a_float(student):
    """newton returns a float"""
    result, _ = evaluate(student, _newton("t * t - 2.0", "2.0 * t", 3.0), "newton for x^2 - 2 from 3")
    assert isinstance(result, float), f"newton should return a float, not {type_name(result)}"
    assert abs(result - math.sqrt(2.0)) <= 1e-10, "newton for x^2 - 2 from 3: the root is wrong"


@pytest.mark.part(CONVERGES)
def test_uses_derivative(student):
    """newton gets f'(x) by forward mode (it evaluates f on Dual numbers)"""
    result, calls = evaluate(student, _newton("m.cos(t) - t", "-m.sin(t) - 1.0", 0.3),
                             "newton for cos(x) - x from 0.3")
    assert isinstance(result, (int, float)) and abs(result - 0.7390851332151607) <= 1e-10, \
        "newton for cos(x) - x from 0.3: the root is wrong"
    assert any(is_dual for is_dual, _, _ in calls), \
        "newton should compute f'(x) with your derivative (dual numbers), not by finite differences"


@pytest.mark.part(CONVERGES)
def test_stops_once_converged(student):
    """newton stops as soon as the step is below the tolerance (and honours tol)"""
    _, calls = evaluate(student, _newton("t * t - 2.0", "2.0 * t", 1.2), "newton for x^2 - 2 from 1.2")
    assert len(calls) <= 30, \
        "newton for x^2 - 2 from 1.2 converges in about 6 steps, but your newton keeps evaluating f long " \
        "after that: stop as soon as |x_new - x| <= tol * max(1, |x_new|)"
    result, loose = evaluate(student, _newton("t * t - 2.0", "2.0 * t", 1.2, tol=1e-3),
                             "newton for x^2 - 2 from 1.2 with tol=1e-3")
    assert isinstance(result, (int, float)) and abs(result - math.sqrt(2.0)) < 1e-3, \
        "newton for x^2 - 2 from 1.2 with tol=1e-3: the root is wrong"
    assert len(loose) < len(calls), \
        "newton(f, x0, tol=1e-3) should stop earlier than with the default tol=1e-12"


@pytest.mark.part(RAISES, weight=2)
def test_no_real_root_raises_runtime_error(student):
    """newton raises RuntimeError for x^2 + 1 (no real root)"""
    _solves(student, 3.0)
    for x0 in (0.5, 3.0):
        expect_raises(student, _newton("t * t + 1.0", "2.0 * t", x0), "RuntimeError",
                      f"newton for x^2 + 1 (no real root) from {x0}")


@pytest.mark.part(RAISES, weight=2)
def test_runaway_and_cycling_iterates_raise_runtime_error(student):
    """newton raises RuntimeError when the iterates run away (cube root) or cycle (x^3 - 2x + 2 from 0)"""
    _solves(student, 5.0)
    cube_root = _newton("m.copysign(abs(t) ** (1.0 / 3.0), t)", "abs(t) ** (-2.0 / 3.0) / 3.0", 1.0)
    expect_raises(student, cube_root, "RuntimeError",
                  "newton for the cube root of x from 1 (the iterates run away)")
    expect_raises(student, _newton("t * t * t - 2.0 * t + 2.0", "3.0 * t * t - 2.0", 0.0), "RuntimeError",
                  "newton for x^3 - 2x + 2 from 0 (the iterates cycle between 0 and 1)")


@pytest.mark.part(RAISES)
def test_zero_derivative_raises_runtime_error(student):
    """newton raises RuntimeError (not ZeroDivisionError) when f'(x) = 0"""
    _solves(student, 7.0)
    expect_raises(student, _newton("t * t + 1.0", "2.0 * t", 0.0), "RuntimeError",
                  "newton for x^2 + 1 from 0, where f'(0) = 0")
    expect_raises(student, _newton("m.cos(t)", "-m.sin(t)", 0.0), "RuntimeError",
                  "newton for cos(x) from 0, where f'(0) = 0")


@pytest.mark.part(RAISES, weight=2)
def test_honours_max_iter(student):
    """newton raises RuntimeError when max_iter steps are not enough"""
    expect_raises(student, _newton("t * t - 2.0", "2.0 * t", 1000.0, max_iter=3), "RuntimeError",
                  "newton for x^2 - 2 from 1000 with max_iter=3 (it needs about 15 steps)")
    result, _ = evaluate(student, _newton("t * t - 2.0", "2.0 * t", 1000.0, max_iter=30),
                         "newton for x^2 - 2 from 1000 with max_iter=30")
    assert isinstance(result, (int, float)) and abs(result - math.sqrt(2.0)) < 1e-10, \
        "newton for x^2 - 2 from 1000 with max_iter=30: the root is wrong"
