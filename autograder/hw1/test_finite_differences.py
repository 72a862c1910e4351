"""Part 4: forward_difference (test_forward_difference) and central_difference (test_central_difference);
the plot is graded by hand.

Plain float functions only: nothing here depends on the student's Dual numbers.
"""

from __future__ import annotations

import math

import pytest

from autograder.hw1.common import evaluate, num, rng, type_name, with_math
from mlcourse import autodiff as ad

FORWARD, CENTRAL = "test_forward_difference", "test_central_difference"

#: Float functions as source (``m`` is math) and as trusted callables.
FUNCTIONS = {
    "m.sin": math.sin,
    "m.exp": math.exp,
    "(lambda t: t ** 3 - 2.0 * t)": lambda t: t ** 3 - 2.0 * t,
    "(lambda t: 1.0 / (1.0 + t * t))": lambda t: 1.0 / (1.0 + t * t),
}


def _cases(seed: int, count: int) -> list[tuple[str, float, float]]:
    gen = rng(seed)
    names = list(FUNCTIONS)
    return [(gen.choice(names), round(gen.uniform(-2.0, 2.0), 4), 10.0 ** gen.uniform(-7.0, -0.5))
            for _ in range(count)]


def _check_formula(student, name: str, reference, seed: int) -> None:
    cases = _cases(seed, 12)
    expr = "(" + ", ".join(f"{name}({f}, {num(x)}, {num(h)})" for f, x, h in cases) + ",)"
    got = evaluate(student, with_math(expr), f"{name} on random functions, points and steps")
    want = [reference(FUNCTIONS[f], x, h) for f, x, h in cases]
    kinds = [type_name(g) for g in got if not isinstance(g, (int, float)) or isinstance(g, bool)]
    assert not kinds, f"{name}(f, x, h) should return a float, not {kinds[0]}"
    wrong = sum(not math.isclose(g, w, rel_tol=1e-9, abs_tol=1e-12) for g, w in zip(got, want, strict=True))
    assert not wrong, f"{name}(f, x, h) does not compute the difference quotient of the instructions in " \
                      f"{wrong} of {len(cases)} cases (random f, x and h)"


@pytest.mark.part(FORWARD, weight=2)
def test_forward_difference_formula(student):
    """forward_difference(f, x, h) computes (f(x + h) - f(x)) / h"""
    _check_formula(student, "forward_difference", ad.forward_difference, 70)


@pytest.mark.part(CENTRAL, weight=2)
def test_central_difference_formula(student):
    """central_difference(f, x, h) computes (f(x + h) - f(x - h)) / (2 h)"""
    _check_formula(student, "central_difference", ad.central_difference, 71)


def _error_ratio(student, name: str, f: str, x: float, df: float, h: float) -> float:
    expr = f"({name}({f}, {num(x)}, {num(h)}), {name}({f}, {num(x)}, {num(h / 10)}))"
    big, small = evaluate(student, with_math(expr), f"{name} with steps {h:g} and {h / 10:g}")
    assert isinstance(big, (int, float)) and isinstance(small, (int, float)), \
        f"{name}(f, x, h) should return a float"
    err_big, err_small = abs(big - df), abs(small - df)
    return err_big / err_small if err_small > 0 else math.inf


@pytest.mark.part(FORWARD)
def test_forward_difference_is_first_order(student):
    """the forward-difference error shrinks like h (10 times smaller h, about 10 times smaller error)"""
    ratio = _error_ratio(student, "forward_difference", "m.exp", 0.5, math.exp(0.5), 1e-2)
    assert 7.0 < ratio < 14.0, "forward_difference: dividing h by 10 should divide the error by about 10 " \
                               "(first order)"


@pytest.mark.part(CENTRAL)
def test_central_difference_is_second_order(student):
    """the central-difference error shrinks like h^2 (10 times smaller h, about 100 times smaller error)"""
    ratio = _error_ratio(student, "central_difference", "m.sin", 0.7, math.cos(0.7), 1e-2)
    assert 70.0 < ratio < 140.0, \
        "central_difference: dividing h by 10 should divide the error by about 100 (second order)"


#: Each quotient's grade cell, for the checks both quotients share.
QUOTIENTS = [pytest.param("forward_difference", marks=pytest.mark.part(FORWARD, weight=0.5)),
             pytest.param("central_difference", marks=pytest.mark.part(CENTRAL, weight=0.5))]


@pytest.mark.parametrize("name", QUOTIENTS)
def test_steps_are_used_as_given(student, name):
    """the step h is used as given: large steps and negative steps too"""
    reference = getattr(ad, name)
    cases = [("(lambda t: t ** 3)", 1.0, 1.0), ("(lambda t: t ** 3)", 2.0, -0.5), ("m.exp", 0.0, -1e-3),
             ("(lambda t: t * t)", 3.0, 0.25)]
    fns = {"(lambda t: t ** 3)": lambda t: t ** 3, "m.exp": math.exp, "(lambda t: t * t)": lambda t: t * t}
    expr = "(" + ", ".join(f"{name}({f}, {num(x)}, {num(h)})" for f, x, h in cases) + ",)"
    got = evaluate(student, with_math(expr), f"{name} with large and negative steps")
    for g, (f, x, h) in zip(got, cases, strict=True):
        assert isinstance(g, (int, float)) and math.isclose(g, reference(fns[f], x, h), rel_tol=1e-12), \
            f"{name}(f, x, h) should use the step h as given (e.g. h = 1 or a negative h), " \
            "without changing or replacing it"


@pytest.mark.parametrize("name", QUOTIENTS)
def test_returns_a_float(student, name):
    """the difference quotient returns a Python or NumPy float, the right one"""
    got = evaluate(student, with_math(f"({name}(m.sin, 1.0, 1e-4), {name}(lambda t: 2 * t, 1, 1))"), name)
    kinds = [type_name(g) for g in got if not isinstance(g, float)]
    assert not kinds, f"{name} should return a float, not {kinds[0]}"
    assert math.isclose(got[0], getattr(ad, name)(math.sin, 1.0, 1e-4), rel_tol=1e-12) and got[1] == 2.0, \
        f"{name} returns a wrong value"
