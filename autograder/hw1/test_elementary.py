"""Part 2: sin cos exp log sqrt, one grade cell per behaviour.

``test_elementary_floats`` (floats in, floats out), ``test_sin_cos``, ``test_exp_log`` and ``test_sqrt`` (of a
Dual: the value and the chain rule, and compositions within the family). Only the student's ``Dual``
constructor and these five functions are used (no Dual arithmetic), and a test of one family uses no other
family, so a mistake costs the cell of the function it breaks.
"""

from __future__ import annotations

import math

import pytest

from autograder.hw1.common import dual_src, evaluate, expect_duals, num, reference_eval, rng, type_name

FLOATS, SIN_COS, EXP_LOG, SQRT = "test_elementary_floats", "test_sin_cos", "test_exp_log", "test_sqrt"
NAMES = ("sin", "cos", "exp", "log", "sqrt")
#: Where each function is tested on random points (log and sqrt: positive values only).
DOMAIN = {"sin": (-4.0, 4.0), "cos": (-4.0, 4.0), "exp": (-3.0, 3.0), "log": (0.05, 6.0), "sqrt": (0.05, 6.0)}


# ----------------------------------------------------------------------------------------------- floats
@pytest.mark.part(FLOATS, weight=2)
def test_floats_in_floats_out(student):
    """sin cos exp log sqrt of a float return that float's sin, cos, ... as a float"""
    gen = rng(30)
    exprs, want = [], []
    for name in NAMES:
        lo, hi = DOMAIN[name]
        for x in (round(gen.uniform(lo, hi), 4), round(gen.uniform(lo, hi), 4)):
            exprs.append(f"{name}({num(x)})")
            want.append(getattr(math, name)(x))
    exprs += ["exp(1)", "sqrt(4)"]
    want += [math.e, 2.0]
    got = evaluate(student, "(" + ", ".join(exprs) + ",)", "sin, cos, exp, log, sqrt of floats")
    kinds = [type_name(g) for g in got if not isinstance(g, float)]
    assert not kinds, f"sin, cos, exp, log, sqrt of a float should return a float, not {kinds[0]}"
    wrong = [e.split("(")[0] for e, g, w in zip(exprs, got, want, strict=True)
             if not math.isclose(g, w, rel_tol=1e-12, abs_tol=1e-15)]
    assert not wrong, f"{wrong[0]} of a float returns a wrong value"


@pytest.mark.part(FLOATS)
def test_log_and_sqrt_of_tiny_floats(student):
    """log and sqrt of tiny positive floats are accurate (and sqrt(0.0) is 0.0)"""
    floats = evaluate(student, "(sqrt(0.0), log(1e-300), sqrt(1e-300))", "sqrt and log of tiny floats")
    assert floats[0] == 0.0 and isinstance(floats[0], float), "sqrt(0.0) should be the float 0.0"
    assert all(isinstance(f, float) for f in floats[1:]) and \
        math.isclose(floats[1], math.log(1e-300), rel_tol=1e-12) and \
        math.isclose(floats[2], 1e-150, rel_tol=1e-12), "log and sqrt of the float 1e-300 are wrong"


# ------------------------------------------------------------------------------------------------ Duals
def _compositions(student, names: tuple[str, ...], seed: int) -> None:
    """Random compositions such as sin(cos(sin(x))) of the functions ``names`` on Duals."""
    gen = rng(seed)
    exprs, want = [], []
    while len(exprs) < 8:
        x = dual_src(round(gen.uniform(0.2, 2.0), 3), round(gen.uniform(-2.0, 2.0), 3))
        expr, value = x, reference_eval(x)
        for _ in range(gen.randint(2, 4)):
            options = [n for n in names if (n not in ("log", "sqrt") or value.val > 0.05)
                       and (n != "exp" or value.val <= 3.0)]
            expr = f"{gen.choice(options)}({expr})"
            value = reference_eval(expr)
        if abs(value.der) < 1e6:
            exprs.append(expr)
            want.append(value)
    what = f"compositions such as {names[0]}({names[-1]}({names[0]}(x))) of a Dual x"
    got = evaluate(student, "(" + ", ".join(exprs) + ",)", what)
    expect_duals(got, want, what + " (chain rule)", rtol=1e-9, atol=1e-12)


#: Each function's cell and the weight of its test there.
ON_DUALS = [pytest.param("sin", marks=pytest.mark.part(SIN_COS, weight=2)),
            pytest.param("cos", marks=pytest.mark.part(SIN_COS, weight=2)),
            pytest.param("exp", marks=pytest.mark.part(EXP_LOG, weight=1.5)),
            pytest.param("log", marks=pytest.mark.part(EXP_LOG, weight=1.5)),
            pytest.param("sqrt", marks=pytest.mark.part(SQRT))]


@pytest.mark.parametrize("name", ON_DUALS)
def test_on_duals(student, name):
    """an elementary function of a Dual: value f(a) and derivative f'(a) * a'"""
    gen = rng(31 + NAMES.index(name))
    lo, hi = DOMAIN[name]
    exprs = [f"{name}({dual_src(round(gen.uniform(lo, hi), 4), round(gen.uniform(-3.0, 3.0), 3))})"
             for _ in range(6)]
    exprs.append(f"{name}({dual_src(round(gen.uniform(lo, hi), 4), 0.0)})")
    want = [reference_eval(e) for e in exprs]
    got = evaluate(student, "(" + ", ".join(exprs) + ",)", f"{name} of a Dual")
    expect_duals(got, want, f"{name}(Dual(a, da)) at random a and da (chain rule: f'(a) * da)")


@pytest.mark.part(SIN_COS)
def test_sin_cos_compositions(student):
    """compositions such as sin(cos(sin(x))) follow the chain rule"""
    _compositions(student, ("sin", "cos"), 40)


@pytest.mark.part(EXP_LOG)
def test_exp_log_compositions(student):
    """compositions such as exp(log(exp(x))) follow the chain rule"""
    _compositions(student, ("exp", "log"), 41)


@pytest.mark.part(EXP_LOG)
def test_log_near_zero(student):
    """log stays accurate for Duals with tiny positive values"""
    exprs = ["log(Dual(1e-12, 1.0))", "log(Dual(1e-300, 0.5))", "log(Dual(3e-8, -2.0))"]
    got = evaluate(student, "(" + ", ".join(exprs) + ",)", "log of Duals with tiny positive values")
    expect_duals(got, [reference_eval(e) for e in exprs],
                 "log(x) for Duals with tiny positive values such as 1e-12 and 1e-300", rtol=1e-10, atol=0.0)


@pytest.mark.part(SQRT, weight=0.5)
def test_sqrt_compositions(student):
    """sqrt(sqrt(x)) and deeper follow the chain rule"""
    _compositions(student, ("sqrt",), 42)


@pytest.mark.part(SQRT, weight=0.5)
def test_sqrt_near_zero(student):
    """sqrt stays accurate for Duals with tiny positive values"""
    exprs = ["sqrt(Dual(1e-12, 1.0))", "sqrt(Dual(1e-300, 2.0))", "sqrt(Dual(4e-20, 1.0))"]
    got = evaluate(student, "(" + ", ".join(exprs) + ",)", "sqrt of Duals with tiny positive values")
    expect_duals(got, [reference_eval(e) for e in exprs],
                 "sqrt(x) for Duals with tiny positive values such as 1e-12 and 1e-300", rtol=1e-10, atol=0.0)
