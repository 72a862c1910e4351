"""Part 3: derivative and gradient by forward sweeps: ``test_derivative``, ``test_derivative_constant`` (a
function that returns a plain number) and ``test_gradient``.

The functions passed in are self-contained (see ``common.py``): they apply the chain rule themselves, so
these tests judge how ``derivative`` and ``gradient`` seed, sweep and read off the result, whatever the state
of the student's Dual arithmetic.
"""

from __future__ import annotations

import math
import random

import numpy as np
import pytest

from autograder.hw1.common import (
    PRIMS,
    compose,
    evaluate,
    expect_number,
    num,
    random_composition,
    random_field,
    recorded,
    recording,
    rng,
    type_name,
    with_math,
)
from mlcourse import autodiff as ad

DERIVATIVE, CONSTANT, GRADIENT = "test_derivative", "test_derivative_constant", "test_gradient"


# ------------------------------------------------------------------------------------------- derivative
@pytest.mark.part(DERIVATIVE, weight=2)
def test_derivative_of_single_functions(student):
    """derivative of sin, exp, tanh, x^3, ... at random points"""
    gen = rng(50)
    exprs, want = [], []
    for prim in PRIMS:
        fn, ref = compose([prim])
        x = round(gen.uniform(-2.0, 2.0), 4)
        exprs.append(f"derivative({fn}, {num(x)})")
        want.append(ad.derivative(ref, x))
    got = evaluate(student, with_math("(" + ", ".join(exprs) + ",)"), "derivative of single functions")
    for g, w in zip(got, want, strict=True):
        expect_number(g, w, "derivative(f, x) for functions such as sin, exp, tanh, x**3")


@pytest.mark.part(DERIVATIVE, weight=2)
def test_derivative_of_compositions(student):
    """derivative of random compositions of functions, compared with the course library"""
    gen = rng(51)
    exprs, want = [], []
    for _ in range(8):
        fn, ref = random_composition(gen, gen.randint(2, 4))
        x = round(gen.uniform(-1.5, 1.5), 4)
        exprs.append(f"derivative({fn}, {num(x)})")
        want.append(ad.derivative(ref, x))
    got = evaluate(student, with_math("(" + ", ".join(exprs) + ",)"), "derivative of compositions")
    wrong = sum(not (isinstance(g, (int, float)) and math.isclose(g, w, rel_tol=1e-9, abs_tol=1e-12))
                for g, w in zip(got, want, strict=True))
    assert not wrong, f"derivative(f, x) is wrong for {wrong} of {len(want)} random compositions of functions"


@pytest.mark.part(DERIVATIVE)
def test_derivative_returns_a_float(student):
    """derivative returns a float (not a Dual), and the right one"""
    fn, ref = compose([PRIMS[0]])
    got = evaluate(student, with_math(f"derivative({fn}, 0.3)"), "derivative(f, 0.3)")
    assert isinstance(got, float), f"derivative(f, x) should return a float, but it returns {type_name(got)}"
    assert math.isclose(got, ad.derivative(ref, 0.3), rel_tol=1e-9, abs_tol=1e-12), \
        "derivative(f, 0.3) returns a float, but the wrong one"


@pytest.mark.part(DERIVATIVE)
def test_derivative_is_one_forward_sweep(student):
    """derivative evaluates f once, on a Dual with value x and seed (derivative) 1"""
    fn, _ = compose([PRIMS[2]])
    expr = with_math(recording(f"derivative({recorded(fn)}, 0.7)"))
    _, calls = evaluate(student, expr, "derivative(f, 0.7)")
    assert len(calls) == 1, \
        f"derivative(f, x) should evaluate f exactly once (one forward sweep), not {len(calls)} times"
    is_dual, val, der = calls[0]
    assert is_dual, "derivative(f, x) should call f with a Dual number"
    assert val == 0.7, "derivative(f, x) should call f on a Dual whose value .val is x"
    assert der == 1.0, "derivative(f, x) should seed the Dual with derivative .der = 1"


@pytest.mark.part(CONSTANT, weight=2)
def test_derivative_of_a_constant_function(student):
    """derivative of a function that returns a plain number is 0.0"""
    # counts only for a derivative that also differentiates a function that returns a Dual (a derivative that
    # always returns 0.0 gets nothing here)
    fn, ref = compose([PRIMS[4]])
    got = evaluate(student, with_math(f"derivative({fn}, -0.7)"), "derivative of x^3 at -0.7")
    expect_number(got, ad.derivative(ref, -0.7), "derivative of x^3 at -0.7 (f returns a Dual)")
    got = evaluate(student, "(derivative(lambda x: 5.0, 1.3), derivative(lambda x: -2.5, 0.0), "
                            "derivative(lambda x: 7, 2.0))", "derivative of a constant function")
    for g in got:
        expect_number(g, 0.0, "derivative(f, x) of a constant function such as f(x) = 5.0")


# --------------------------------------------------------------------------------------------- gradient
def _points(gen: random.Random, n: int) -> list[float]:
    return [round(gen.uniform(-1.5, 1.5), 4) for _ in range(n)]


@pytest.mark.part(GRADIENT, weight=3)
def test_gradient_values(student):
    """gradient of random functions of 1 to 4 variables, compared with the course library"""
    gen = rng(60)
    exprs, want = [], []
    for n in (2, 3, 4, 1, 3):
        fn, ref = random_field(gen, n)
        x = _points(gen, n)
        exprs.append(f"gradient({fn}, {x!r})")
        want.append(ad.gradient(ref, np.array(x)))
    got = evaluate(student, with_math("(" + ", ".join(exprs) + ",)"), "gradient of random functions")
    for g, w in zip(got, want, strict=True):
        assert isinstance(g, np.ndarray) and g.shape == w.shape, \
            f"gradient(f, x) for x with {w.size} entries should return an array of shape {w.shape}, " \
            f"not {type_name(g)}"
        assert np.allclose(g, w, rtol=1e-9, atol=1e-12), \
            f"gradient(f, x) is wrong for a random function of {w.size} variable(s)"


@pytest.mark.part(GRADIENT, weight=2)
def test_gradient_accepts_lists_and_arrays(student):
    """gradient accepts a list or a NumPy array and returns a float array of shape (n,)"""
    gen = rng(61)
    fn, ref = random_field(gen, 3)
    x = _points(gen, 3)
    want = ad.gradient(ref, np.array(x))
    for arg, kind in ((repr(x), "a list"), (f"__import__('numpy').array({x!r})", "a NumPy array"),
                      (repr(tuple(x)), "a tuple")):
        got = evaluate(student, with_math(f"gradient({fn}, {arg})"), f"gradient(f, x) with x {kind}")
        assert isinstance(got, np.ndarray), \
            f"gradient(f, x) with x {kind} should return a NumPy array, not {type_name(got)}"
        assert got.shape == (3,) and got.dtype.kind == "f", \
            f"gradient(f, x) with x {kind} of 3 numbers should return a float array of shape (3,), " \
            f"not shape {got.shape} and dtype {got.dtype}"
        assert np.allclose(got, want, rtol=1e-9, atol=1e-12), f"gradient(f, x) with x {kind}: wrong values"


@pytest.mark.part(GRADIENT, weight=2)
def test_gradient_is_one_sweep_per_coordinate(student):
    """gradient makes one forward sweep per coordinate, seeding one unit direction each time"""
    gen = rng(62)
    fn, _ = random_field(gen, 3)
    x = _points(gen, 3)
    log = ("(lambda v: calls.append([(hasattr(e, 'der'), float(getattr(e, 'val', e)), "
           "float(getattr(e, 'der', 0.0))) for e in v]) or F(v))")
    expr = f"(lambda F: {recording(f'gradient({log}, {x!r})')})({fn})"
    _, calls = evaluate(student, with_math(expr), "gradient(f, x) for x with 3 entries")
    sweeps = [c for c in calls if any(is_dual for is_dual, _, _ in c)]
    assert len(sweeps) == 3, \
        "gradient(f, x) for x with 3 entries should evaluate f on Duals 3 times (one sweep per " \
        f"coordinate), not {len(sweeps)} times"
    for sweep in sweeps:
        assert len(sweep) == 3 and [v for _, v, _ in sweep] == x, \
            "gradient(f, x) should call f on Duals whose values are the entries of x"
    seeds = sorted(tuple(d for _, _, d in sweep) for sweep in sweeps)
    assert seeds == [(0.0, 0.0, 1.0), (0.0, 1.0, 0.0), (1.0, 0.0, 0.0)], \
        "each sweep of gradient should seed one coordinate with derivative 1 and all others with 0"
