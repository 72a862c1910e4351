"""Part 2: sin cos exp log sqrt, one grade cell per function.

``test_sin``, ``test_cos``, ``test_exp``, ``test_log`` and ``test_sqrt``: a float in gives a float out, a Dual
in gives the value and the derivative (chain rule), and compositions of the function with itself
(``sin(sin(x))``, ``log(log(x))``, ...); ``log`` and ``sqrt`` also stay accurate for tiny positive values.
Only the student's ``Dual`` constructor and the function of the cell are used (no Dual arithmetic, no other
elementary function), so a mistake costs the cell of the function it breaks.
"""

from __future__ import annotations

import math

import pytest

from autograder.hw1.common import dual_src, evaluate, expect_duals, num, reference_eval, rng, type_name

NAMES = ("sin", "cos", "exp", "log", "sqrt")
#: Where each function is tested on random points (log and sqrt: positive values only).
DOMAIN = {"sin": (-4.0, 4.0), "cos": (-4.0, 4.0), "exp": (-3.0, 3.0), "log": (0.05, 6.0), "sqrt": (0.05, 6.0)}
#: Where a composition of each function with itself starts (log(log(x)) needs x > 1).
START = {"sin": (-3.0, 3.0), "cos": (-3.0, 3.0), "exp": (-2.0, 0.8), "log": (1.5, 60.0), "sqrt": (0.05, 60.0)}
#: Arguments each function accepts in a composition (away from the edge of its domain).
ACCEPTS = {"sin": lambda v: True, "cos": lambda v: True, "exp": lambda v: v <= 3.0, "log": lambda v: v > 0.05,
           "sqrt": lambda v: v > 0.05}


def cell(name: str) -> str:
    """The grade cell of an elementary function: ``test_sin``, ..."""
    return f"test_{name}"


def each_function(weight: float = 1) -> list:
    """The five functions as test parameters, each scoring into its own cell."""
    return [pytest.param(name, marks=pytest.mark.part(cell(name), weight=weight), id=name) for name in NAMES]


# ----------------------------------------------------------------------------------------------- floats
@pytest.mark.parametrize("name", each_function())
def test_floats_in_floats_out(student, name):
    """this cell's function of a float returns a float (as math's does) with the right value"""
    gen = rng(30 + NAMES.index(name))
    lo, hi = DOMAIN[name]
    points = [round(gen.uniform(lo, hi), 4) for _ in range(3)]
    exprs = [f"{name}({num(x)})" for x in points] + [f"{name}(1)"]  # an int argument too
    want = [getattr(math, name)(x) for x in points] + [getattr(math, name)(1)]
    got = evaluate(student, "(" + ", ".join(exprs) + ",)", f"{name} of floats")
    kinds = [type_name(g) for g in got if not isinstance(g, float)]
    assert not kinds, f"{name} of a number (int or float) should return a float, not {kinds[0]}"
    wrong = sum(not math.isclose(g, w, rel_tol=1e-12, abs_tol=1e-15) for g, w in zip(got, want, strict=True))
    assert not wrong, f"{name} of a float returns a wrong value ({wrong} of {len(want)} cases)"


@pytest.mark.part(cell("log"), weight=0.5)
def test_log_of_tiny_floats(student):
    """log of tiny positive floats is accurate"""
    got = evaluate(student, "(log(1e-300), log(3e-12))", "log of tiny floats")
    assert all(isinstance(g, float) for g in got) and math.isclose(got[0], math.log(1e-300), rel_tol=1e-12) \
        and math.isclose(got[1], math.log(3e-12), rel_tol=1e-12), \
        "log of tiny floats such as 1e-300 is wrong"


@pytest.mark.part(cell("sqrt"), weight=0.5)
def test_sqrt_of_tiny_floats(student):
    """sqrt of tiny positive floats is accurate (and sqrt(0.0) is 0.0)"""
    got = evaluate(student, "(sqrt(0.0), sqrt(1e-300))", "sqrt of tiny floats")
    assert got[0] == 0.0 and isinstance(got[0], float), "sqrt(0.0) should be the float 0.0"
    assert isinstance(got[1], float) and math.isclose(got[1], 1e-150, rel_tol=1e-12), \
        "sqrt of the float 1e-300 is wrong"


# ------------------------------------------------------------------------------------------------ Duals
@pytest.mark.parametrize("name", each_function(weight=2))
def test_on_duals(student, name):
    """this cell's function of a Dual: value f(a) and derivative f'(a) * a'"""
    gen = rng(31 + NAMES.index(name))
    lo, hi = DOMAIN[name]
    exprs = [f"{name}({dual_src(round(gen.uniform(lo, hi), 4), round(gen.uniform(-3.0, 3.0), 3))})"
             for _ in range(6)]
    exprs.append(f"{name}({dual_src(round(gen.uniform(lo, hi), 4), 0.0)})")
    want = [reference_eval(e) for e in exprs]
    got = evaluate(student, "(" + ", ".join(exprs) + ",)", f"{name} of a Dual")
    expect_duals(got, want, f"{name}(Dual(a, da)) at random a and da (chain rule: f'(a) * da)")


@pytest.mark.parametrize("name", each_function())
def test_self_compositions(student, name):
    """this cell's function composed with itself, such as sin(sin(sin(x))), follows the chain rule"""
    gen = rng(40 + NAMES.index(name))
    lo, hi = START[name]
    exprs, want = [], []
    while len(exprs) < 6:
        expr = dual_src(round(gen.uniform(lo, hi), 3), round(gen.uniform(-2.0, 2.0), 3))
        value = reference_eval(expr)
        for _ in range(gen.randint(2, 3)):
            if not ACCEPTS[name](value.val):
                break
            expr = f"{name}({expr})"
            value = reference_eval(expr)
        if expr.startswith(f"{name}({name}(") and abs(value.der) < 1e6:
            exprs.append(expr)
            want.append(value)
    what = f"{name}({name}(x)) and {name}({name}({name}(x))) of a Dual x"
    got = evaluate(student, "(" + ", ".join(exprs) + ",)", what)
    expect_duals(got, want, what + " (chain rule)", rtol=1e-9, atol=1e-12)


@pytest.mark.part(cell("log"), weight=0.5)
def test_log_near_zero(student):
    """log stays accurate for Duals with tiny positive values"""
    exprs = ["log(Dual(1e-12, 1.0))", "log(Dual(1e-300, 0.5))", "log(Dual(3e-8, -2.0))"]
    got = evaluate(student, "(" + ", ".join(exprs) + ",)", "log of Duals with tiny positive values")
    expect_duals(got, [reference_eval(e) for e in exprs],
                 "log(x) for Duals with tiny positive values such as 1e-12 and 1e-300", rtol=1e-10, atol=0.0)


@pytest.mark.part(cell("sqrt"), weight=0.5)
def test_sqrt_near_zero(student):
    """sqrt stays accurate for Duals with tiny positive values"""
    exprs = ["sqrt(Dual(1e-12, 1.0))", "sqrt(Dual(1e-300, 2.0))", "sqrt(Dual(4e-20, 1.0))"]
    got = evaluate(student, "(" + ", ".join(exprs) + ",)", "sqrt of Duals with tiny positive values")
    expect_duals(got, [reference_eval(e) for e in exprs],
                 "sqrt(x) for Duals with tiny positive values such as 1e-12 and 1e-300", rtol=1e-10, atol=0.0)
