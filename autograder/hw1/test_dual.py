"""Part 1: the Dual class, one grade cell per behaviour.

Duals on both sides: ``test_dual_add``, ``test_dual_sub``, ``test_dual_product``, ``test_dual_quotient``,
``test_dual_negation``; a number on the right, one cell per operator: ``test_dual_add_number``
(``x + 2``), ``test_dual_sub_number``, ``test_dual_mul_number``, ``test_dual_div_number``; a number on the
left, one cell per reflected operator: ``test_dual_radd`` (``2 + x``), ``test_dual_rsub``,
``test_dual_rmul``, ``test_dual_rtruediv``; ``test_dual_comparisons``; and the powers
``test_dual_pow_number`` (``x ** 2``, ``x ** 0.5``), ``test_dual_pow_dual`` (``x ** y``) and
``test_dual_rpow`` (``2 ** x``). Each test uses only the operation of its own cell, so a mistake costs the
cell of the operation it breaks and no other. Only Dual arithmetic is used here; the tests of the other parts
never rely on it.
"""

from __future__ import annotations

from dataclasses import dataclass

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

ADD, SUB, PRODUCT, QUOTIENT, NEGATION = "test_dual_add", "test_dual_sub", "test_dual_product", \
    "test_dual_quotient", "test_dual_negation"
COMPARISONS = "test_dual_comparisons"
POW_NUMBER, POW_DUAL, RPOW = "test_dual_pow_number", "test_dual_pow_dual", "test_dual_rpow"


@dataclass(frozen=True)
class Operator:
    """One of + - * / with a number on one side: its method's name and the grade cells it scores into."""

    symbol: str
    name: str  # Dual op number calls __<name>__, number op Dual the reflected __r<name>__
    right: str  # the grade cell of Dual op number
    seed: int  # seed of its random inputs

    @property
    def reflected(self) -> str:
        return f"__r{self.name}__"

    def cell(self, side: str) -> str:
        """Its grade cell with the number on ``side``: ``test_dual_add_number``, ``test_dual_radd``, ..."""
        return self.right if side == "right" else f"test_dual_r{self.name}"


OPERATORS = (Operator("+", "add", "test_dual_add_number", 2), Operator("-", "sub", "test_dual_sub_number", 8),
             Operator("*", "mul", "test_dual_mul_number", 5),
             Operator("/", "truediv", "test_dual_div_number", 7))
DIVIDE = OPERATORS[3]


def operators(side: str, weight: float = 1) -> list:
    """The operators as test parameters, each scoring into its own cell of ``side`` ("right" or "left")."""
    return [pytest.param(op, marks=pytest.mark.part(op.cell(side), weight=weight),
                         id=op.name if side == "right" else f"r{op.name}") for op in OPERATORS]


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


# ------------------------------------------------------------------------------------------------ chains
def _chain(seed: int, ops: str, side: str, count: int = 4, steps: int = 4) -> list[str]:
    """Random chains of the operations ``ops`` that reuse their operands (an operator that changes an operand
    in place gets them wrong).

    ``side="duals"``: Dual op Dual, over three Duals ``a, b, c`` used several times; ``"right"``: (...) op
    number; ``"left"``: number op (...). Every intermediate value stays away from 0 and the result is
    moderate, so a division is always well defined."""
    gen = rng(seed)
    out: list[str] = []
    while len(out) < count:
        names = ("a", "b", "c") if side == "duals" else ("a",)
        args = ", ".join(_random_dual(gen) for _ in names)
        body, ok = gen.choice(names), True
        for _ in range(steps):
            op = gen.choice(ops)
            if side == "duals":
                body = f"({body}) {op} {gen.choice(names)}"
            elif side == "right":
                body = f"({body}) {op} {_random_number(gen, nonzero=True)}"
            else:
                body = f"{_random_number(gen, nonzero=True)} {op} ({body})"
            expr = f"(lambda {', '.join(names)}: {body})({args})"
            try:
                value = reference_eval(expr)
            except ZeroDivisionError:
                ok = False
                break
            if not 0.2 < abs(value.val) < 1e3 or abs(value.der) > 1e4:
                ok = False
                break
        if ok:
            out.append(expr)
    return out


def _numbers(seed: int, forms: tuple[str, ...], nonzero: bool = False) -> list[str]:
    """Each of ``forms`` (``"{a} + {c}"``, ...) on four random Duals ``a`` and numbers ``c``."""
    gen = rng(seed)
    exprs = []
    for _ in range(4):
        a, c = _random_dual(gen), _random_number(gen, nonzero=nonzero)
        exprs += [form.format(a=a, c=c) for form in forms]
    return exprs


# ----------------------------------------------------------------------------------- Dual + Dual, Dual - Dual
@pytest.mark.parametrize("op", [pytest.param("+", marks=pytest.mark.part(ADD, weight=2), id="add"),
                                pytest.param("-", marks=pytest.mark.part(SUB, weight=2), id="sub")])
def test_duals_on_both_sides(student, op):
    """this cell's operator (+ or -) between two Duals, on random Duals"""
    gen = rng(1 if op == "+" else 9)
    exprs = [f"{_random_dual(gen)} {op} {_random_dual(gen)}" for _ in range(6)]
    check_batch(student, exprs, f"Dual {op} Dual on random duals")


@pytest.mark.parametrize("op", [pytest.param("+", marks=pytest.mark.part(ADD), id="add"),
                                pytest.param("-", marks=pytest.mark.part(SUB), id="sub")])
def test_chains_of_duals(student, op):
    """chains of this cell's operator (+ or -) that reuse their Dual operands"""
    check_batch(student, _chain(11 if op == "+" else 16, op, "duals"),
                f"chains such as (a {op} b) {op} a {op} c of Duals "
                "(operators must not change their operands)")


# ------------------------------------------------------------------------------------------- Dual * Dual
@pytest.mark.part(PRODUCT, weight=3)
def test_product_rule(student):
    """Dual * Dual follows the product rule"""
    gen = rng(4)
    exprs = [f"{_random_dual(gen)} * {_random_dual(gen)}" for _ in range(6)]
    check_batch(student, [*exprs, "Dual(0.0, 1.0) * Dual(0.0, 1.0)"], "Dual * Dual on random duals")


@pytest.mark.part(PRODUCT)
def test_product_chains(student):
    """products of several Duals that reuse their operands"""
    check_batch(student, _chain(12, "*", "duals"),
                "products such as (a * b) * a * c of Duals (operators must not change their operands)")


# ------------------------------------------------------------------------------------------- Dual / Dual
@pytest.mark.part(QUOTIENT, weight=2)
def test_quotient_rule(student):
    """Dual / Dual follows the quotient rule"""
    gen = rng(6)
    exprs = [f"{_random_dual(gen)} / {_random_dual(gen)}" for _ in range(6)]
    check_batch(student, [*exprs, "Dual(0.0, 1.0) / Dual(2.0, 1.0)"], "Dual / Dual on random duals")


@pytest.mark.part(QUOTIENT)
def test_quotient_chains(student):
    """quotients of several Duals that reuse their operands"""
    check_batch(student, _chain(13, "/", "duals"),
                "quotients such as (a / b) / a / c of Duals (operators must not change their operands)")


@pytest.mark.part(QUOTIENT)
def test_division_by_zero_raises_zero_division_error(student):
    """dividing by a Dual whose value is 0 raises ZeroDivisionError"""
    cases = {"Dual(1.5, 1.0) / Dual(0.0, 1.0)": "Dual / Dual with value 0",
             "Dual(-2.0, 0.0) / Dual(0.0, 3.0)": "Dual / Dual with value 0",
             "Dual(0.0, 1.0) / Dual(0.0, 2.0)": "Dual with value 0 / Dual with value 0"}
    for expr, what in cases.items():
        expect_raises(student, expr, "ZeroDivisionError", what)
    # ... and only there: a division that always raises gets nothing for this check
    check_batch(student, ["Dual(1.5, 1.0) / Dual(0.5, 2.0)", "Dual(0.0, 1.0) / Dual(-4.0, 3.0)"],
                "Dual / Dual with nonzero values")


# ------------------------------------------------------------------------------------------------ -Dual
@pytest.mark.part(NEGATION)
def test_unary_minus(student):
    """unary minus -x"""
    gen = rng(3)
    exprs = [f"-{_random_dual(gen)}" for _ in range(3)]
    exprs += ["-Dual(0.0, 0.0)", "(lambda a: -(-a))(Dual(1.25, -0.5))",
              "(lambda a: (-a, a))(Dual(2.0, 1.0))[1]"]
    check_batch(student, exprs, "the negation -x of a Dual (it must not change x)")


# ------------------------------------------------------------------------------ a number on the right
@pytest.mark.parametrize("op", operators("right", weight=2))
def test_number_on_the_right(student, op):
    """this cell's operator with a number on the right (Dual op number), on random Duals and numbers"""
    exprs = _numbers(op.seed, (f"{{a}} {op.symbol} {{c}}",), nonzero=op.symbol == "/")
    check_batch(student, exprs, f"Dual {op.symbol} number (ints and floats)")


@pytest.mark.parametrize("op", operators("right", weight=0.5))
def test_number_right_chains(student, op):
    """chains of this cell's operator with numbers on the right, such as ((x op 2) op 3) op 1.5"""
    check_batch(student, _chain(140 + OPERATORS.index(op), op.symbol, "right"),
                f"chains such as ((x {op.symbol} 2) {op.symbol} 3) {op.symbol} 1.5 "
                f"(numbers on the right of {op.symbol})")


@pytest.mark.part(DIVIDE.cell("right"), weight=0.5)
def test_dividing_by_the_number_zero_raises_zero_division_error(student):
    """Dual / 0 raises ZeroDivisionError"""
    for expr in ("Dual(1.5, 1.0) / 0.0", "Dual(1.5, 1.0) / 0"):
        expect_raises(student, expr, "ZeroDivisionError", expr.replace("Dual(1.5, 1.0)", "Dual"))
    check_batch(student, ["Dual(1.5, 1.0) / 2", "Dual(-1.5, 0.5) / 0.25"], "Dual / number")


# ------------------------------------------------------------------ a number on the left (reflected)
@pytest.mark.parametrize("op", operators("left", weight=2))
def test_number_on_the_left(student, op):
    """this cell's reflected operator (number op Dual), on random Duals and numbers"""
    exprs = _numbers(op.seed, (f"{{c}} {op.symbol} {{a}}",), nonzero=op.symbol == "/")
    check_batch(student, exprs, f"number {op.symbol} Dual ({op.reflected}), ints and floats")


@pytest.mark.parametrize("op", operators("left", weight=0.5))
def test_number_left_chains(student, op):
    """chains of this cell's reflected operator, such as 2 op (3 op (1.5 op x))"""
    check_batch(student, _chain(150 + OPERATORS.index(op), op.symbol, "left"),
                f"chains such as 2 {op.symbol} (3 {op.symbol} (1.5 {op.symbol} x)) "
                f"(numbers on the left of {op.symbol}: {op.reflected})")


@pytest.mark.part(DIVIDE.cell("left"), weight=0.5)
def test_number_divided_by_a_zero_dual_raises_zero_division_error(student):
    """number / Dual with value 0 raises ZeroDivisionError"""
    expect_raises(student, "2.0 / Dual(0.0, 3.0)", "ZeroDivisionError", "number / Dual with value 0")
    check_batch(student, ["2.0 / Dual(4.0, 3.0)", "-3 / Dual(0.5, 1.0)"], "number / Dual (__rtruediv__)")


# ----------------------------------------------------------------------------------------- comparisons
@pytest.mark.part(COMPARISONS, weight=2)
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


# ------------------------------------------------------------------------------------------------ powers
@pytest.mark.part(POW_NUMBER, weight=2)
def test_integer_exponents(student):
    """x ** n for integers n (negative, zero, and negative bases)"""
    gen = rng(20)
    exprs = ["Dual(-2.0, 1.0) ** 3", "Dual(2.0, 0.5) ** -2", "Dual(3.0, 1.0) ** 0", "Dual(1.5, -1.0) ** 1",
             "Dual(-1.5, 2.0) ** 4"]
    exprs += [f"{_random_dual(gen)} ** {gen.choice((2, 3, 5, -1, -3))}" for _ in range(4)]
    check_batch(student, exprs, "Dual ** int (including negative and zero exponents, negative values)")


@pytest.mark.part(POW_NUMBER, weight=2)
def test_float_exponents(student):
    """x ** p for float exponents p"""
    gen = rng(21)
    exprs = ["Dual(4.0, 1.0) ** 0.5", "Dual(2.0, 1.5) ** 2.5", "Dual(0.3, 1.0) ** -1.5",
             "Dual(1.7, 1.0) ** 1.0"]
    exprs += [f"{_random_dual(gen, signed=False)} ** {num(round(gen.uniform(-2.5, 2.5), 3))}"
              for _ in range(4)]
    exprs += [f"({_random_dual(gen, signed=False)} ** 2) ** 1.5",
              f"({_random_dual(gen, signed=False)} ** -1) ** 0.5"]
    check_batch(student, exprs, "Dual ** float (and powers of powers such as (x ** 2) ** 1.5)")


@pytest.mark.part(POW_NUMBER)
def test_powers_of_a_zero_value(student):
    """x ** n where x.val is 0 (no logarithm of 0)"""
    exprs = ["Dual(0.0, 1.0) ** 2", "Dual(0.0, 1.0) ** 1", "Dual(0.0, 2.0) ** 3", "Dual(0.0, 1.0) ** 0",
             "Dual(0.0, 1.5) ** 2.0"]
    check_batch(student, exprs, "Dual ** n for a Dual whose value is 0 (e.g. Dual(0, 1) ** 2)")


@pytest.mark.part(POW_DUAL, weight=2)
def test_dual_exponents(student):
    """x ** y for a Dual exponent y (positive base)"""
    gen = rng(22)
    exprs = ["Dual(2.0, 1.0) ** Dual(3.0, 0.5)", "Dual(1.5, 0.0) ** Dual(2.0, 1.0)",
             "(lambda x: x ** x)(Dual(1.5, 1.0))", "Dual(2.0, 1.0) ** Dual(3.0, 0.0)"]
    exprs += [f"{_random_dual(gen, signed=False)} ** {_random_dual(gen, -2.0, 2.0, signed=False)}"
              for _ in range(4)]
    check_batch(student, exprs, "Dual ** Dual (the exponent has a derivative too)")


@pytest.mark.part(RPOW)
def test_number_to_a_dual_power(student):
    """c ** x for a positive number c and a Dual x"""
    gen = rng(23)
    exprs = ["2.0 ** Dual(3.0, 1.0)", "3 ** Dual(0.5, 2.0)", "0.5 ** Dual(-1.0, 1.0)",
             "2.718281828459045 ** Dual(1.0, 1.0)"]
    exprs += [f"{num(round(gen.uniform(0.2, 4.0), 3))} ** {_random_dual(gen, 0.1, 2.0)}" for _ in range(3)]
    check_batch(student, exprs, "number ** Dual")


@pytest.mark.part(POW_DUAL)
def test_dual_exponent_chains(student):
    """powers of powers with Dual exponents, such as (x ** y) ** y and x ** (y ** z)"""
    gen = rng(24)
    exprs = []
    for _ in range(3):
        a, b = _random_dual(gen, signed=False), _random_dual(gen, 0.2, 1.5, signed=False)
        exprs += [f"(lambda a, b: (a ** b) ** b)({a}, {b})", f"(lambda a, b: a ** (b ** a))({a}, {b})"]
    check_batch(student, exprs, "powers of powers with Dual exponents, such as (x ** y) ** y")


@pytest.mark.part(RPOW)
def test_number_to_a_dual_power_chains(student):
    """number ** (number ** x) for a Dual x"""
    gen = rng(25)
    exprs = [f"{num(round(gen.uniform(0.3, 2.5), 3))} ** ({num(round(gen.uniform(0.3, 2.5), 3))} ** "
             f"{_random_dual(gen, 0.1, 1.5)})" for _ in range(4)]
    check_batch(student, exprs, "number ** (number ** Dual), such as 2 ** (3 ** x)")
