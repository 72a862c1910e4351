"""HW1-specific rules of the source notebook, the hidden suite and the fixtures:

- one graded cell per behaviour (issue #13): a single-bug fixture loses exactly the cells of the behaviours
  its bug breaks (``LOSES``), and trivial code (constants, answers hard-coded for the visible inputs) scores 0
  in every cell; each failing behaviour has its own cell and message;
- every hidden test can fail: on the release, and on a targeted one-line mutant of the solution, which fails
  exactly the tests aimed at it (the visible-test gate switched off);
- the suite holds the notebook's own visible tests (one source);
- the trusted test machinery (self-contained functions and closed-form gradients) agrees with the reference.

What every assignment must satisfy (fixture scores vs ``expected.json``, release, hidden regions, plain
nbgrader agreement on every fixture) is checked once for all of them in ``tests/test_assignments.py``.
"""

from __future__ import annotations

import contextlib
import json
import math
import random
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_assignments import _nbg, _read, graded_test_cells

from autograder import harness
from autograder.hw1 import common
from autograder.hw1.conftest import VISIBLE as visible
from autograder.loader import load_namespace, load_student, student_from_namespace
from mlcourse import autodiff as ad

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "solutions" / "hw1" / "hw1.ipynb"
FIXTURES = ROOT / "autograder" / "fixtures" / "hw1"
EXPECTED = json.loads((FIXTURES / "expected.json").read_text(encoding="utf-8"))
FIXTURE_NAMES = sorted(p.stem for p in FIXTURES.glob("*.ipynb"))

#: The homework's parts: grade cells (one per behaviour) and their points (auto-graded and by hand).
PARTS = {
    "Dual arithmetic": ({"test_dual_add", "test_dual_sub", "test_dual_product", "test_dual_quotient",
                         "test_dual_negation", "test_dual_add_number", "test_dual_sub_number",
                         "test_dual_mul_number", "test_dual_div_number", "test_dual_radd", "test_dual_rsub",
                         "test_dual_rmul", "test_dual_rtruediv", "test_dual_comparisons"}, 20),
    "Dual powers": ({"test_dual_pow_number", "test_dual_pow_dual", "test_dual_rpow"}, 10),
    "elementary": ({"test_sin", "test_cos", "test_exp", "test_log", "test_sqrt"}, 15),
    "derivative and gradient": ({"test_derivative", "test_derivative_constant", "test_gradient"}, 15),
    "finite differences": ({"test_forward_difference", "test_central_difference", "error_plot",
                            "explain_v_shape"}, 15),
    "newton": ({"test_newton_converges", "test_newton_raises"}, 15),
    "written": ({"forward_vs_reverse"}, 10),
}
MANUAL = {"error_plot", "explain_v_shape", "forward_vs_reverse"}

#: The grade cells each single-bug fixture loses points in, and no other: a mistake costs the behaviours it
#: breaks. (Where one bug breaks several behaviours, it is because the student's code uses the broken method
#: for them: the solution's ``x * 3`` and ``3 * x`` go through ``__mul__``, ``x / 4`` and ``1 / x`` through
#: ``__truediv__``.)
LOSES = {
    "product_rule_wrong": {"test_dual_product", "test_dual_mul_number", "test_dual_rmul"},
    "quotient_rule_sign": {"test_dual_quotient", "test_dual_rtruediv"},  # 1 / x; x / 4 has other.der = 0
    "radd_missing": {"test_dual_radd"},
    "rsub_missing": {"test_dual_rsub"},
    "rtruediv_missing": {"test_dual_rtruediv"},
    "reflected_operators_missing": {"test_dual_radd", "test_dual_rmul"},
    "pow_dual_exponent": {"test_dual_pow_dual"},
    "zero_division_returns_inf": {"test_dual_quotient", "test_dual_div_number", "test_dual_rtruediv"},
    "constant_derivative_wrong": {"test_derivative_constant"},
    "central_difference_wrong_denominator": {"test_central_difference"},
    "newton_no_stopping_test": {"test_newton_converges", "test_newton_raises"},  # never stops, never raises
    "newton_zero_derivative_unchecked": {"test_newton_raises"},
}
#: Fixtures whose visible tests fail in a cell: that cell scores 0 (nbgrader: the cell raises).
ZEROED = {"product_rule_wrong": LOSES["product_rule_wrong"],
          "quotient_rule_sign": LOSES["quotient_rule_sign"],
          "radd_missing": LOSES["radd_missing"], "rsub_missing": LOSES["rsub_missing"],
          "rtruediv_missing": LOSES["rtruediv_missing"],
          "reflected_operators_missing": LOSES["reflected_operators_missing"],
          "pow_dual_exponent": {"test_dual_pow_dual"},
          "constant_derivative_wrong": {"test_derivative_constant"},
          "central_difference_wrong_denominator": {"test_central_difference"},
          "newton_no_stopping_test": {"test_newton_raises"}}
#: Trivial code: zero points in every cell (shape, type and no-mutation checks count only with correctness).
TRIVIAL = ("returns_constants", "hardcodes_visible_answers")


@pytest.fixture(scope="module")
def source():
    return _read(SOURCE)


@pytest.fixture(scope="module")
def points(source):
    return {gid: float(_nbg(c)["points"]) for gid, c in graded_test_cells(source).items()}


@contextlib.contextmanager
def gate_off():
    """Switch the visible-test gate off, so that every hidden test runs."""
    original = visible.failure
    visible.failure = lambda student, part: None
    try:
        yield
    finally:
        visible.failure = original


@pytest.fixture
def no_gate():
    with gate_off():
        yield


_RESULTS: dict = {}


def results_of(name: str, gate: bool = True) -> tuple[list[str], dict[str, harness.PartResult]]:
    """A fixture's load errors and suite results, with or without the gate (computed once per session)."""
    if (name, gate) not in _RESULTS:
        student = load_student(FIXTURES / f"{name}.ipynb")
        with contextlib.nullcontext() if gate else gate_off():
            _RESULTS[name, gate] = student.load_errors, harness.run_suite("hw1", student)
    return _RESULTS[name, gate]


# ----------------------------------------------------------------------------------- points and coverage
def test_points_follow_the_issue(source):
    graded = {_nbg(c)["grade_id"]: float(_nbg(c)["points"]) for c in source.cells if _nbg(c).get("grade")}
    assert sum(graded.values()) == 100
    for part, (cells, total) in PARTS.items():
        assert sum(graded[c] for c in cells) == total, part
    assert set(graded) == set().union(*(cells for cells, _ in PARTS.values()))
    manual = {_nbg(c)["grade_id"] for c in source.cells if _nbg(c).get("grade") and _nbg(c).get("solution")}
    assert manual == MANUAL


def test_plots_and_bonus_are_not_run_when_grading(source):
    tagged = {c.id for c in source.cells if "skip-grading" in c.metadata.get("tags", [])}
    assert tagged == {"error_plot", "bonus_var", "bonus_check"}


# --------------------------------------------------------------------------------------- scores
def test_each_fixture_costs_the_cells_of_what_it_breaks(points):
    assert set(LOSES) | set(TRIVIAL) | {"correct", "unchanged_release"} == set(FIXTURE_NAMES)
    assert EXPECTED["correct"] == points
    for name in ("unchanged_release", *TRIVIAL):
        assert not any(EXPECTED[name].values()), name
    for name, cells in LOSES.items():  # a bug costs the cells of the behaviours it breaks, no other
        assert {c for c in points if EXPECTED[name][c] < points[c]} == cells, name
        assert {c for c in points if EXPECTED[name][c] == 0} == ZEROED.get(name, set()), name
    # the issue's examples: a missing __radd__ (20 of 83 before, then 3) and a wrong derivative of a constant
    # function (15 before) cost only their own cell; two missing reflected operators cost their two cells
    total = sum(points.values())
    assert total - sum(EXPECTED["radd_missing"].values()) == points["test_dual_radd"] == 0.75
    assert total - sum(EXPECTED["reflected_operators_missing"].values()) == 1.5
    assert total - sum(EXPECTED["constant_derivative_wrong"].values()) == 2


def test_trivial_code_scores_nothing_anywhere(points):
    """Constants, and answers hard-coded for the visible inputs, pass visible tests but no hidden one."""
    for name in TRIVIAL:
        _, results = results_of(name)
        assert harness.score(results, points) == dict.fromkeys(points, 0.0), name
    _, results = results_of("hardcodes_visible_answers")
    namespace, _ = load_namespace(_read(FIXTURES / "hardcodes_visible_answers.ipynb"), "hardcoded")
    student = student_from_namespace(namespace)
    assert all(visible.failure(student, gid) is None for gid in points)  # every visible test passes ...
    for gid, result in results.items():  # ... and every hidden test fails
        assert result.passed_weight == 0 and result.tests and not any(ok for _, ok, _ in result.tests), gid


def test_every_hidden_test_fails_on_the_release():
    _, results = results_of("unchanged_release", gate=False)
    for gid, result in results.items():
        passed = [name for name, ok, _ in result.tests if ok]
        assert not passed, f"{gid}: {passed} pass on the unchanged release"
        assert all("not implemented yet" in m for m in result.messages), result.messages


# ------------------------------------------------------------------------- mutants: each test can fail
CLASSIC = {f"classic_roots[{case}]" for case in ("sqrt(2) as the root of x^2 - 2 from 0.8",
                                                 "the fixed point of cos (cos(x) - x) from 0.2",
                                                 "Wallis's x^3 - 2x - 5 from 2",
                                                 "log(2) as the root of exp(x) - 2 from 0",
                                                 "0 as the root of arctan(x) from 1")}
STEP_CLASSIC = CLASSIC - {"classic_roots[0 as the root of arctan(x) from 1]"}  # it ends on f(x) == 0
NEWTON_RAISES = {"no_real_root_raises_runtime_error", "runaway_and_cycling_iterates_raise_runtime_error",
                 "honours_max_iter"}
NEWTON = ("test_newton_converges", "test_newton_raises")

#: name -> (cell id, grade cell(s), old, new, the hidden tests (without ``test_``) that must fail, and no
#: other test of those grade cells).
MUTANTS = {
    "subtraction adds derivatives": (
        "dual_class", "test_dual_sub",
        "return Dual(self.val - other.val, self.der - other.der)",
        "return Dual(self.val - other.val, self.der + other.der)",
        {"duals_on_both_sides[sub]", "chains_of_duals[sub]"}),
    "subtraction changes self": (
        "dual_class", "test_dual_sub",
        "        other = as_dual(other)\n        return Dual(self.val - other.val, self.der - other.der)",
        "        other = as_dual(other)\n"
        "        self.val, self.der = self.val - other.val, self.der - other.der\n        return self",
        {"chains_of_duals[sub]"}),
    "addition changes self": (
        "dual_class", "test_dual_add",
        "        other = as_dual(other)\n        return Dual(self.val + other.val, self.der + other.der)",
        "        other = as_dual(other)\n"
        "        self.val, self.der = self.val + other.val, self.der + other.der\n        return self",
        {"chains_of_duals[add]"}),
    "product changes self": (
        "dual_class", "test_dual_product",
        "        return Dual(self.val * other.val, self.der * other.val + self.val * other.der)",
        "        self.val, self.der = self.val * other.val, self.der * other.val + self.val * other.der\n"
        "        return self",
        {"product_chains"}),
    "quotient without the square": (
        "dual_class", "test_dual_quotient",
        "(self.der * other.val - self.val * other.der) / other.val ** 2",
        "(self.der * other.val - self.val * other.der) / other.val",
        {"quotient_rule", "quotient_chains", "division_by_zero_raises_zero_division_error"}),
    "negation keeps der": (
        "dual_class", "test_dual_negation",
        "return Dual(-self.val, -self.der)",
        "return Dual(-self.val, self.der)",
        {"unary_minus"}),
    "no __rmul__": (
        "dual_class", "test_dual_rmul",
        "    def __rmul__(self, other):  # other * self\n        return self * other\n\n",
        "",
        {"number_on_the_left[rmul]", "number_left_chains[rmul]"}),
    "__rsub__ the wrong way round": (
        "dual_class", "test_dual_rsub",
        "return as_dual(other) - self",
        "return self - as_dual(other)",
        {"number_on_the_left[rsub]", "number_left_chains[rsub]"}),
    "__radd__ ignores the number": (
        "dual_class", "test_dual_radd",
        "        return self + other\n",
        "        return Dual(self.val, self.der)\n",
        {"number_on_the_left[radd]", "number_left_chains[radd]"}),
    "__rtruediv__ divides the wrong way round": (
        "dual_class", "test_dual_rtruediv",
        "return as_dual(other) / self",
        "return self / as_dual(other)",
        {"number_on_the_left[rtruediv]", "number_left_chains[rtruediv]",
         "number_divided_by_a_zero_dual_raises_zero_division_error"}),
    "a number on the right is ignored by +": (
        "dual_class", "test_dual_add_number",
        "    def __add__(self, other):  # self + other\n        other = as_dual(other)\n",
        "    def __add__(self, other):  # self + other\n"
        "        other = other if isinstance(other, Dual) else Dual(0.0)\n",
        {"number_on_the_right[add]", "number_right_chains[add]"}),
    "__sub__ without as_dual": (
        "dual_class", "test_dual_sub_number",
        "        other = as_dual(other)\n        return Dual(self.val - other.val",
        "        return Dual(self.val - other.val",
        {"number_on_the_right[sub]", "number_right_chains[sub]"}),
    "a number on the right of * is seeded like a variable": (
        "dual_class", "test_dual_mul_number",
        "    def __mul__(self, other):  # self * other\n        other = as_dual(other)\n",
        "    def __mul__(self, other):  # self * other\n"
        "        other = other if isinstance(other, Dual) else Dual(other, 1.0)\n",
        {"number_on_the_right[mul]", "number_right_chains[mul]"}),
    "__truediv__ without as_dual": (
        "dual_class", "test_dual_div_number",
        "        other = as_dual(other)\n        return Dual(self.val / other.val,",
        "        return Dual(self.val / other.val,",
        {"number_on_the_right[truediv]", "number_right_chains[truediv]",
         "dividing_by_the_number_zero_raises_zero_division_error"}),
    "== compares der too": (
        "dual_class", "test_dual_comparisons",
        "return self.val == (other.val if isinstance(other, Dual) else other)",
        "return isinstance(other, Dual) and (self.val, self.der) == (other.val, other.der)",
        {"comparisons_compare_values"}),
    "power rule divides by x": (
        "dual_class", "test_dual_pow_number",
        "return Dual(self.val ** other, other * self.val ** (other - 1) * self.der)",
        "return Dual(self.val ** other, self.val ** other * other * self.der / self.val)",
        {"powers_of_a_zero_value"}),
    "power rule with |p|": (
        "dual_class", "test_dual_pow_number",
        "return Dual(self.val ** other, other * self.val ** (other - 1) * self.der)",
        "return Dual(self.val ** other, abs(other) * self.val ** (other - 1) * self.der)",
        {"integer_exponents", "float_exponents"}),
    "c ** x with log10": (
        "dual_class", "test_dual_rpow",
        "return Dual(val, val * math.log(other) * self.der)",
        "return Dual(val, val * math.log10(other) * self.der)",
        {"number_to_a_dual_power", "number_to_a_dual_power_chains"}),
    "x ** y drops the log term": (
        "dual_class", "test_dual_pow_dual",
        "val * (other.der * math.log(self.val) + other.val * self.der / self.val)",
        "val * (other.val * self.der / self.val)",
        {"dual_exponents", "dual_exponent_chains"}),
    "sin of a float is a Dual": (
        "elementary", "test_sin",
        "return math.sin(x)",
        "return Dual(math.sin(x), 0.0)",
        {"floats_in_floats_out[sin]"}),
    "sin forgets the inner derivative": (
        "elementary", "test_sin",
        "return Dual(math.sin(x.val), math.cos(x.val) * x.der)",
        "return Dual(math.sin(x.val), math.cos(x.val))",
        {"on_duals[sin]", "self_compositions[sin]"}),
    "cos derivative sign": (
        "elementary", "test_cos",
        "return Dual(math.cos(x.val), -math.sin(x.val) * x.der)",
        "return Dual(math.cos(x.val), math.sin(x.val) * x.der)",
        {"on_duals[cos]", "self_compositions[cos]"}),
    "cos of a float in degrees": (
        "elementary", "test_cos",
        "    return math.cos(x)",
        "    return math.cos(math.radians(x))",
        {"floats_in_floats_out[cos]"}),
    "exp forgets the inner derivative": (
        "elementary", "test_exp",
        "return Dual(e, e * x.der)",
        "return Dual(e, e)",
        {"on_duals[exp]", "self_compositions[exp]"}),
    "exp of a float by a power of e": (  # an int and a float: 2.718281828459045 ** x is not exp(x) to 1e-12
        "elementary", "test_exp",
        "    return math.exp(x)",
        "    return 2.718 ** x",
        {"floats_in_floats_out[exp]"}),
    "sqrt derivative without the 2": (
        "elementary", "test_sqrt",
        "return Dual(r, x.der / (2.0 * r))",
        "return Dual(r, x.der / r)",
        {"on_duals[sqrt]", "self_compositions[sqrt]", "sqrt_near_zero"}),
    "sqrt derivative regularised": (
        "elementary", "test_sqrt",
        "return Dual(r, x.der / (2.0 * r))",
        "return Dual(r, x.der / (2.0 * r + 1e-12))",
        {"sqrt_near_zero"}),
    "sqrt of a float by exp(log(x) / 2)": (  # accurate to 1e-13, but sqrt(0.0) raises ValueError
        "elementary", "test_sqrt",
        "    return math.sqrt(x)",
        "    return math.exp(math.log(x) / 2)",
        {"sqrt_of_tiny_floats"}),
    "sqrt of a float returns an int": (
        "elementary", "test_sqrt",
        "    return math.sqrt(x)",
        "    return int(math.sqrt(x)) if math.sqrt(x).is_integer() else math.sqrt(x)",
        {"floats_in_floats_out[sqrt]", "sqrt_of_tiny_floats"}),
    "log derivative sign": (
        "elementary", "test_log",
        "return Dual(math.log(x.val), x.der / x.val)",
        "return Dual(math.log(x.val), -x.der / x.val)",
        {"on_duals[log]", "self_compositions[log]", "log_near_zero"}),
    "log of a float guarded against log(0)": (
        "elementary", "test_log",
        "    return math.log(x)",
        "    return math.log(max(x, 1e-12))",
        {"log_of_tiny_floats"}),
    "log of a float in base 10": (
        "elementary", "test_log",
        "    return math.log(x)",
        "    return math.log10(x)",
        {"floats_in_floats_out[log]", "log_of_tiny_floats"}),
    "derivative returns the Dual": (
        "forward_sweeps", "test_derivative",
        "return float(y.der) if isinstance(y, Dual) else 0.0",
        "return y if isinstance(y, Dual) else 0.0",
        {"derivative_of_single_functions", "derivative_of_compositions", "derivative_returns_a_float"}),
    "derivative evaluates f twice": (
        "forward_sweeps", "test_derivative",
        "    y = f(Dual(x, 1.0))\n",
        "    f(x)\n    y = f(Dual(x, 1.0))\n",
        {"derivative_is_one_forward_sweep"}),
    "derivative of a constant fails": (
        "forward_sweeps", "test_derivative_constant",
        "return float(y.der) if isinstance(y, Dual) else 0.0",
        "return float(y.der)",
        {"derivative_of_a_constant_function"}),
    "derivative is always 0.0": (
        "forward_sweeps", "test_derivative_constant",
        "    y = f(Dual(x, 1.0))\n    return float(y.der) if isinstance(y, Dual) else 0.0",
        "    return 0.0",
        {"derivative_of_a_constant_function"}),
    "gradient returns a list": (
        "forward_sweeps", "test_gradient",
        "else 0.0\n    return g",
        "else 0.0\n    return list(g)",
        {"gradient_values", "gradient_accepts_lists_and_arrays"}),
    "gradient seeds every coordinate": (
        "forward_sweeps", "test_gradient",
        "Dual(xj, 1.0 if j == i else 0.0)",
        "Dual(xj, 1.0)",
        {"gradient_values", "gradient_accepts_lists_and_arrays", "gradient_is_one_sweep_per_coordinate"}),
    "forward difference with |h|": (
        "finite_differences", "test_forward_difference",
        "return (f(x + h) - f(x)) / h",
        "return (f(x + abs(h)) - f(x)) / abs(h)",
        {"steps_are_used_as_given[forward_difference]"}),
    "forward difference is central": (
        "finite_differences", "test_forward_difference",
        "return (f(x + h) - f(x)) / h",
        "return (f(x + h) - f(x - h)) / (2 * h)",
        {"forward_difference_formula", "forward_difference_is_first_order",
         "steps_are_used_as_given[forward_difference]", "returns_a_float[forward_difference]"}),
    "central difference divides by 2|h|": (
        "finite_differences", "test_central_difference",
        "return (f(x + h) - f(x - h)) / (2 * h)",
        "return (f(x + h) - f(x - h)) / (2 * abs(h))",
        {"steps_are_used_as_given[central_difference]"}),
    "central difference is forward": (
        "finite_differences", "test_central_difference",
        "return (f(x + h) - f(x - h)) / (2 * h)",
        "return (f(x + h) - f(x)) / h",
        {"central_difference_formula", "central_difference_is_second_order",
         "steps_are_used_as_given[central_difference]", "returns_a_float[central_difference]"}),
    "newton returns x0": (
        "newton", NEWTON,
        "        step = fx / dfx\n",
        "        return x\n        step = fx / dfx\n",
        # every check of newton, also those of properties that a constant answer has (raising, the type)
        CLASSIC | NEWTON_RAISES | {"stops_once_converged", "uses_derivative", "returns_a_float",
                                   "zero_derivative_raises_runtime_error"}),
    "newton returns a Dual": (
        "newton", NEWTON,
        "            return x\n    raise",
        "            return Dual(x, 1.0)\n    raise",
        # every root it finds by a small step, and the raising checks whose anchor problem (a cube root, see
        # _solves) it does not solve as a float (the cube root of 3 ends on f(x) == 0: returned as a float)
        STEP_CLASSIC | {"returns_a_float", "stops_once_converged", "uses_derivative", "honours_max_iter",
                        "zero_derivative_raises_runtime_error",
                        "runaway_and_cycling_iterates_raise_runtime_error"}),
    "newton ignores tol": (
        "newton", "test_newton_converges",
        "if abs(step) <= tol * max(1.0, abs(x)):",
        "if abs(step) <= 1e-12 * max(1.0, abs(x)):",
        {"stops_once_converged"}),
    "newton ignores max_iter": (
        "newton", "test_newton_raises",
        "for _ in range(max_iter):",
        "for _ in range(50):",
        {"honours_max_iter"}),
    "newton by finite differences": (
        "newton", NEWTON,
        "dfx = derivative(f, x)",
        "dfx = (f(x + 1e-7) - f(x)) / 1e-7",
        {"uses_derivative", "zero_derivative_raises_runtime_error"}),
    "newton raises ValueError": (
        "newton", "test_newton_raises",
        'raise RuntimeError(f"newton did not converge',
        'raise ValueError(f"newton did not converge',
        NEWTON_RAISES),
}


def _mutant(cell_id: str, old: str, new: str) -> dict:
    nb = _read(FIXTURES / "correct.ipynb")
    for cell in nb.cells:
        if cell.id == cell_id:
            assert cell.source.count(old) == 1, f"{cell_id}: {old!r} not found exactly once"
            cell.source = cell.source.replace(old, new)
    namespace, errors = load_namespace(nb, "mutant")
    assert errors == []
    return namespace


@pytest.mark.parametrize("name", list(MUTANTS))
def test_each_hidden_test_catches_its_mutant(name, no_gate):
    cell_id, part, old, new, must_fail = MUTANTS[name]
    parts = [part] if isinstance(part, str) else list(part)
    results = harness.run_suite("hw1", student_from_namespace(_mutant(cell_id, old, new)), parts=parts)
    failed = {test.removeprefix("test_") for p in parts for test, ok, _ in results[p].tests if not ok}
    assert failed == must_fail, f"{name}: failed {sorted(failed)}"


def test_every_hidden_test_is_the_target_of_a_fixture_or_mutant():
    """Together, the fixtures' and the mutants' failures cover every hidden test: none of them cannot fail."""
    caught = {f"test_{test}" for m in MUTANTS.values() for test in m[4]}
    for name in set(FIXTURE_NAMES) - {"unchanged_release"}:
        results = results_of(name, gate=False)[1]
        caught |= {test for r in results.values() for test, ok, _ in r.tests if not ok}
    every = {test for r in results_of("unchanged_release", gate=False)[1].values() for test, _, _ in r.tests}
    assert every - caught == set()


# ------------------------------------------------------------------------------------------ messages


def test_a_wrong_exception_type_fails_with_a_clear_message():
    results = results_of("newton_zero_derivative_unchecked")[1]
    assert results["test_newton_raises"].messages == [
        "newton for x^2 + 1 from 0, where f'(0) = 0: should raise RuntimeError, but your code raised "
        "ZeroDivisionError (float division by zero)"]


# ------------------------------------------------------------------------ visible tests: notebook vs. gate
def _visible_source(cell) -> str:
    return cell.source.split("### BEGIN HIDDEN TESTS")[0]


def test_the_suite_holds_the_notebooks_visible_tests(source):
    for gid, cell in graded_test_cells(source).items():
        assert visible.sources[gid].strip() == _visible_source(cell).strip(), \
            f"mlcourse/checks/hw1.py is stale for {gid}: run python -m mlcourse.checks"


def test_the_gate_reports_the_visible_assert_message():
    namespace, _ = load_namespace(_read(FIXTURES / "product_rule_wrong.ipynb"), "product_rule_wrong")
    reason = visible.failure(student_from_namespace(namespace), "test_dual_product")
    assert reason == "Dual(2, 1) * Dual(3, 0.5)  (product rule): the derivative .der: expected 4.0, got 0.5"


TYPE_ERROR = "your code raised TypeError (unsupported operand type(s) for "
#: fixture -> {grade cell: the start of its visible tests' message}: each failing behaviour has its own cell
#: and its own message, naming the operation that is wrong (a missing __radd__ is never blamed on *).
GATE_MESSAGES = {
    "product_rule_wrong": {"test_dual_product": "Dual(2, 1) * Dual(3, 0.5)  (product rule)",
                           "test_dual_mul_number": "Dual(2, 1) * 3: the derivative",
                           "test_dual_rmul": "2 * Dual(2, 1)  (a number on the left: __rmul__)"},
    "quotient_rule_sign": {"test_dual_quotient": "Dual(2, 1) / Dual(3, 0.5)  (quotient rule)",
                           "test_dual_rtruediv": "1 / Dual(2, 1)  (a number on the left: __rtruediv__)"},
    "radd_missing": {"test_dual_radd": TYPE_ERROR + "+"},
    "rsub_missing": {"test_dual_rsub": TYPE_ERROR + "-"},
    "rtruediv_missing": {"test_dual_rtruediv": TYPE_ERROR + "/"},
    "reflected_operators_missing": {"test_dual_radd": TYPE_ERROR + "+", "test_dual_rmul": TYPE_ERROR + "*"},
    "constant_derivative_wrong": {"test_derivative_constant": "derivative of a constant function"},
    "newton_no_stopping_test": {"test_newton_raises": "newton for x**2 + 1 (no real root) should raise"},
}


@pytest.mark.parametrize("name", sorted(GATE_MESSAGES))
def test_each_failing_behaviour_has_its_own_cell_and_message(name, points):
    namespace, _ = load_namespace(_read(FIXTURES / f"{name}.ipynb"), name)
    student = student_from_namespace(namespace)
    failing = {gid: visible.failure(student, gid) for gid in points}
    failing = {gid: reason for gid, reason in failing.items() if reason is not None}
    assert set(failing) == set(GATE_MESSAGES[name])
    for gid, start in GATE_MESSAGES[name].items():
        assert failing[gid].startswith(start), (gid, failing[gid])
    # the feedback of nbgrader's hidden cells (and of course grade) lists every failing hidden check
    _, results = results_of(name)
    for gid in GATE_MESSAGES[name]:
        messages = results[gid].messages
        assert messages and all("not checked, because a visible test of this cell fails" in m
                                for m in messages), gid
        # the reason once, in the cell's first check; the others point to it
        assert failing[gid] in messages[0] and not any(failing[gid] in m for m in messages[1:]), gid
        assert all(m.endswith("(the one named above)") for m in messages[1:]), gid


# ------------------------------------------------------------------------- the trusted test machinery
HYPOTHESIS = settings(derandomize=True, database=None, deadline=None, max_examples=60,
                      suppress_health_check=list(HealthCheck))


@HYPOTHESIS
@given(chain=st.lists(st.integers(0, len(common.PRIMS) - 1), min_size=1, max_size=4),
       x=st.floats(-1.5, 1.5))
def test_self_contained_functions_agree_with_the_reference(chain, x):
    """The chain rule written into the hidden tests' functions equals the reference's forward mode."""
    src, ref = common.compose([common.PRIMS[i] for i in chain])
    fn = eval(src, {"m": math})
    out = fn(ad.Dual(x, 1.0))  # applied to the reference's Dual, it builds reference Duals
    assert math.isclose(out.val, ref(x), rel_tol=1e-12, abs_tol=1e-14)
    assert math.isclose(out.der, ad.derivative(ref, x), rel_tol=1e-10, abs_tol=1e-12)
    assert math.isclose(fn(x), out.val, rel_tol=1e-12, abs_tol=1e-14)  # and plain floats pass through


@HYPOTHESIS
@given(seed=st.integers(0, 10_000), n=st.integers(1, 4))
def test_closed_form_gradients_agree_with_the_reference(seed, n):
    gen = random.Random(seed)
    src, ref = common.random_field(gen, n)
    fn = eval(src, {"m": math})
    x = [gen.uniform(-1.5, 1.5) for _ in range(n)]
    want = ad.gradient(ref, np.array(x))
    for i in range(n):  # one sweep per coordinate with the reference's Duals
        out = fn([ad.Dual(xj, float(j == i)) for j, xj in enumerate(x)])
        assert math.isclose(out.der, want[i], rel_tol=1e-10, abs_tol=1e-12)
    assert math.isclose(fn(x), float(ref(np.array(x))), rel_tol=1e-12, abs_tol=1e-14)


def test_the_guard_reports_exceptions_as_data_and_lets_time_limits_through():
    from autograder.plain import StudentError, StudentTimeout

    ns = {}
    exec("def boom():\n    raise RuntimeError('no root\\nsecond line')\n"
         "def todo():\n    raise NotImplementedError\n"
         "def spin():\n    while True:\n        pass\n", ns)
    student = student_from_namespace(ns, call_timeout=0.5)
    assert common.run(student, "boom()") == ("raised", "RuntimeError", "no root")
    assert common.run(student, "1 + 1") == ("value", 2)
    with pytest.raises(AssertionError, match=r"^f: not implemented yet \(your code raises NotImpl"):
        common.evaluate(student, "todo()", "f")
    with pytest.raises(AssertionError, match=r"^f: your code did not finish within the time limit"):
        common.evaluate(student, "spin()", "f")
    with pytest.raises(AssertionError, match=r"^f: should raise ZeroDivisionError, but your code raised "
                                             r"RuntimeError \(no root\)$"):
        common.expect_raises(student, "boom()", "ZeroDivisionError", "f")
    common.expect_raises(student, "boom()", "RuntimeError", "f")
    # Errors outside the guard (time limits in the sandbox, results that are not plain data): no test code.
    timeout = StudentTimeout("(lambda ns: ...) took longer than 1 s (CPU time) and was stopped")
    assert common.describe(timeout) == "your code did not finish within the time limit (an endless loop?)"
    refused = StudentError("(lambda ns: ...) returned an object of type function; expected numbers")
    assert common.describe(refused) == "your code returned an object of type function; expected numbers"
    assert "lambda" not in common.describe(StudentError("(lambda ns: (exec('def run(thunk):…"))
