"""Part 1: the Dual class: arithmetic, numbers on either side (test_dual_arithmetic); powers (test_dual_pow).

Only Dual arithmetic is used here; the tests of the other parts never rely on it.
"""

from __future__ import annotations

import ast

import pytest

from autograder.hw1.common import (
    dual_src,
    evaluate,
    expect_duals,
    expect_raises,
    num,
    reference_eval,
    rng,
)
from mlcourse import autodiff as ad

ARITH, POW = "test_dual_arithmetic", "test_dual_pow"


def _random_dual(gen, lo: float = 0.5, hi: float = 3.0, signed: bool = True) -> str:
    val = round(gen.uniform(lo, hi), 3) * (gen.choice((-1, 1)) if signed else 1)
    return dual_src(val, round(gen.uniform(-2.0, 2.0), 3))


def _random_number(gen, nonzero: bool = False) -> str:
    if gen.random() < 0.3:
        return str(gen.choice((1, 2, 3, -2)) if nonzero else gen.choice((0, 1, 2, 3, -2)))
    value = round(gen.uniform(0.25, 3.0), 3) * gen.choice((-1, 1))
    return num(value)


def check_batch(student, exprs: list[str], what: str) -> None:
    """Evaluate all ``exprs`` in one call and compare each with the reference."""
    want = [reference_eval(e) for e in exprs]
    got = evaluate(student, "(" + ", ".join(exprs) + ",)", what)
    expect_duals(got, want, what)


# ------------------------------------------------------------------------------------- + and - and unary -
@pytest.mark.part(ARITH, weight=2)
def test_add_and_subtract_duals(student):
    """Dual + Dual and Dual - Dual"""
    gen = rng(1)
    exprs = []
    for _ in range(4):
        a, b = _random_dual(gen), _random_dual(gen)
        exprs += [f"{a} + {b}", f"{a} - {b}"]
    check_batch(student, exprs, "Dual + Dual and Dual - Dual on random duals")


@pytest.mark.part(ARITH, weight=2)
def test_numbers_on_either_side_of_plus_and_minus(student):
    """a number on either side of + and -"""
    gen = rng(2)
    exprs = []
    for _ in range(4):
        a, c = _random_dual(gen), _random_number(gen)
        exprs += [f"{a} + {c}", f"{c} + {a}", f"{a} - {c}", f"{c} - {a}"]
    check_batch(student, exprs, "Dual + number, number + Dual, Dual - number and number - Dual "
                                "(ints and floats)")


@pytest.mark.part(ARITH)
def test_unary_minus(student):
    """unary minus -x"""
    gen = rng(3)
    check_batch(student, [f"-{_random_dual(gen)}" for _ in range(3)] + ["-Dual(0.0, 0.0)"],
                "the negation -x of a Dual")


# ----------------------------------------------------------------------------------------------- * and /
@pytest.mark.part(ARITH, weight=3)
def test_product_rule(student):
    """Dual * Dual follows the product rule"""
    gen = rng(4)
    exprs = [f"{_random_dual(gen)} * {_random_dual(gen)}" for _ in range(6)]
    check_batch(student, [*exprs, "Dual(0.0, 1.0) * Dual(0.0, 1.0)"], "Dual * Dual on random duals")


@pytest.mark.part(ARITH, weight=2)
def test_numbers_on_either_side_of_times(student):
    """a number on either side of *"""
    gen = rng(5)
    exprs = []
    for _ in range(4):
        a, c = _random_dual(gen), _random_number(gen)
        exprs += [f"{a} * {c}", f"{c} * {a}"]
    check_batch(student, exprs, "Dual * number and number * Dual (ints and floats)")


@pytest.mark.part(ARITH, weight=3)
def test_quotient_rule(student):
    """Dual / Dual follows the quotient rule"""
    gen = rng(6)
    exprs = [f"{_random_dual(gen)} / {_random_dual(gen)}" for _ in range(6)]
    check_batch(student, [*exprs, "Dual(0.0, 1.0) / Dual(2.0, 1.0)"], "Dual / Dual on random duals")


@pytest.mark.part(ARITH, weight=2)
def test_numbers_on_either_side_of_divide(student):
    """a number on either side of /"""
    gen = rng(7)
    exprs = []
    for _ in range(4):
        a, c = _random_dual(gen), _random_number(gen, nonzero=True)
        exprs += [f"{a} / {c}", f"{c} / {a}"]
    check_batch(student, exprs, "Dual / number and number / Dual (ints and floats)")


@pytest.mark.part(ARITH)
def test_division_by_zero_raises_zero_division_error(student):
    """dividing by a Dual (or a number) whose value is 0 raises ZeroDivisionError"""
    cases = {"Dual(1.5, 1.0) / Dual(0.0, 1.0)": "Dual / Dual with value 0",
             "2.0 / Dual(0.0, 3.0)": "number / Dual with value 0",
             "Dual(0.0, 1.0) / Dual(0.0, 2.0)": "Dual with value 0 / Dual with value 0",
             "Dual(1.5, 1.0) / 0.0": "Dual / 0.0",
             "Dual(1.5, 1.0) / 0": "Dual / 0"}
    for expr, what in cases.items():
        expect_raises(student, expr, "ZeroDivisionError", what)
    # ... and only there: a division that always raises gets nothing for this check
    check_batch(student, ["Dual(1.5, 1.0) / Dual(0.5, 2.0)", "2.0 / Dual(4.0, 3.0)", "Dual(1.5, 1.0) / 2"],
                "Dual / Dual, number / Dual and Dual / number with nonzero values")


# ----------------------------------------------------------------------------------------- comparisons
@pytest.mark.part(ARITH)
def test_comparisons_compare_values(student):
    """comparisons compare the values .val and return True or False"""
    cases = ["Dual(1.0, 5.0) < Dual(2.0, -3.0)", "Dual(2.0, -3.0) < Dual(1.0, 5.0)",
             "Dual(2.0, 1.0) <= 2.0", "Dual(2.0, 1.0) <= 1.5", "Dual(2.0, 1.0) > 1.5", "1.5 > Dual(2.0, 1.0)",
             "Dual(2.0, 1.0) >= Dual(2.0, 9.0)", "0 >= Dual(-0.5, 1.0)", "Dual(2.0, 1.0) == Dual(2.0, 7.0)",
             "Dual(2.0, 1.0) == 2.0", "Dual(2.0, 1.0) == Dual(3.0, 1.0)", "Dual(2.0, 1.0) != Dual(3.0, 1.0)",
             "3 < Dual(2.0, 8.0)", "-1 < Dual(-0.5, 0.0)"]
    want = tuple(bool(reference_eval(c)) for c in cases)
    got = evaluate(student, "(" + ", ".join(cases) + ",)", "comparing Duals with Duals and numbers")
    assert isinstance(got, tuple) and all(type(g) is bool for g in got), \
        "comparisons (<, <=, >, >=, ==, !=) of Duals should return True or False"
    wrong = sum(g != w for g, w in zip(got, want, strict=True))
    assert not wrong, (f"comparisons should compare the values .val only: {wrong} of {len(cases)} "
                       "comparisons (Dual with Dual, Dual with number, number with Dual) are wrong")


# --------------------------------------------------------------------------------- random compositions
def _random_expression(gen, depth: int) -> str:
    """A random arithmetic expression over Duals and numbers (either side), + - * / and unary minus."""
    if depth == 0:
        return _random_dual(gen) if gen.random() < 0.7 else _random_number(gen, nonzero=True)
    op = gen.choice("+-*/n")
    if op == "n":
        return f"-({_random_expression(gen, depth - 1)})"
    left, right = _random_expression(gen, depth - 1), _random_expression(gen, gen.randint(0, depth - 1))
    if gen.random() < 0.5:
        left, right = right, left
    return f"({left}) {op} ({right})"


def _well_conditioned(expr: str) -> bool:
    """A composition whose reference value is a moderate Dual and whose denominators stay away from 0."""
    try:
        value = reference_eval(expr)
    except ZeroDivisionError:
        return False
    if not isinstance(value, ad.Dual):
        return False
    return abs(value.val) < 1e3 and abs(value.der) < 1e4 and abs(value.val) > 1e-3


def _compositions(seed: int, count: int, depth: int) -> list[str]:
    gen = rng(seed)
    out: list[str] = []
    while len(out) < count:
        expr = _random_expression(gen, depth)
        # every sub-division must be safe too: reject when any denominator is small
        if "/" in expr and any(_small_denominator(expr)):
            continue
        if _well_conditioned(expr):
            out.append(expr)
    return out


def _small_denominator(expr: str):
    """Yield True for each division in ``expr`` whose right operand's reference value is below 0.2."""
    tree = ast.parse(expr, mode="eval")
    for node in ast.walk(tree):
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):
            try:
                den = reference_eval(ast.unparse(node.right))
            except ZeroDivisionError:
                yield True
                continue
            yield abs(float(getattr(den, "val", den))) < 0.2


@pytest.mark.part(ARITH, weight=3)
def test_random_compositions(student):
    """random expressions mixing + - * / and unary minus, Duals and numbers on either side"""
    exprs = _compositions(8, 12, 3)
    want = [reference_eval(e) for e in exprs]
    got = evaluate(student, "(" + ", ".join(exprs) + ",)",
                   "random expressions with + - * / and unary minus (Duals and numbers on either side)")
    expect_duals(got, want, "random expressions with + - * / and unary minus (Duals and numbers on either "
                            "side)", rtol=1e-8, atol=1e-10)


# ------------------------------------------------------------------------------------------------ powers
@pytest.mark.part(POW, weight=3)
def test_integer_exponents(student):
    """x ** n for integers n (negative, zero, and negative bases)"""
    gen = rng(20)
    exprs = ["Dual(-2.0, 1.0) ** 3", "Dual(2.0, 0.5) ** -2", "Dual(3.0, 1.0) ** 0", "Dual(1.5, -1.0) ** 1",
             "Dual(-1.5, 2.0) ** 4"]
    exprs += [f"{_random_dual(gen)} ** {gen.choice((2, 3, 5, -1, -3))}" for _ in range(4)]
    check_batch(student, exprs, "Dual ** int (including negative and zero exponents, negative values)")


@pytest.mark.part(POW, weight=2)
def test_float_exponents(student):
    """x ** p for float exponents p"""
    gen = rng(21)
    exprs = ["Dual(4.0, 1.0) ** 0.5", "Dual(2.0, 1.5) ** 2.5", "Dual(0.3, 1.0) ** -1.5",
             "Dual(1.7, 1.0) ** 1.0"]
    exprs += [f"{_random_dual(gen, signed=False)} ** {num(round(gen.uniform(-2.5, 2.5), 3))}"
              for _ in range(4)]
    check_batch(student, exprs, "Dual ** float")


@pytest.mark.part(POW)
def test_powers_of_a_zero_value(student):
    """x ** n where x.val is 0 (no logarithm of 0)"""
    exprs = ["Dual(0.0, 1.0) ** 2", "Dual(0.0, 1.0) ** 1", "Dual(0.0, 2.0) ** 3", "Dual(0.0, 1.0) ** 0",
             "Dual(0.0, 1.5) ** 2.0"]
    check_batch(student, exprs, "Dual ** n for a Dual whose value is 0 (e.g. Dual(0, 1) ** 2)")


@pytest.mark.part(POW, weight=2)
def test_dual_exponents(student):
    """x ** y for a Dual exponent y (positive base)"""
    gen = rng(22)
    exprs = ["Dual(2.0, 1.0) ** Dual(3.0, 0.5)", "Dual(1.5, 0.0) ** Dual(2.0, 1.0)",
             "(lambda x: x ** x)(Dual(1.5, 1.0))", "Dual(2.0, 1.0) ** Dual(3.0, 0.0)"]
    exprs += [f"{_random_dual(gen, signed=False)} ** {_random_dual(gen, -2.0, 2.0, signed=False)}"
              for _ in range(4)]
    check_batch(student, exprs, "Dual ** Dual (the exponent has a derivative too)")


@pytest.mark.part(POW)
def test_number_to_a_dual_power(student):
    """c ** x for a positive number c and a Dual x"""
    gen = rng(23)
    exprs = ["2.0 ** Dual(3.0, 1.0)", "3 ** Dual(0.5, 2.0)", "0.5 ** Dual(-1.0, 1.0)",
             "2.718281828459045 ** Dual(1.0, 1.0)"]
    exprs += [f"{num(round(gen.uniform(0.2, 4.0), 3))} ** {_random_dual(gen, 0.1, 2.0)}" for _ in range(3)]
    check_batch(student, exprs, "number ** Dual")


@pytest.mark.part(POW)
def test_powers_of_powers(student):
    """compositions of powers with number and Dual exponents"""
    gen = rng(24)
    exprs = []
    for _ in range(3):
        a, b = _random_dual(gen, signed=False), _random_dual(gen, 0.2, 1.5, signed=False)
        exprs += [f"({a} ** 2) ** 1.5", f"({a} ** {b}) ** 2", f"2.0 ** ({b} ** 3)", f"{a} ** ({b} ** 2)"]
    check_batch(student, exprs, "powers of powers (number and Dual exponents)")
