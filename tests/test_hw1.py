"""HW1: the source notebook, its release, the hidden suite and the submission fixtures fit together.

- every fixture scores exactly what ``autograder/fixtures/hw1/expected.json`` says, per grade cell; the six
  single-bug fixtures of the issue each lose exactly their part's points and nothing else;
- the source notebook scores all auto-graded points, the unchanged release none;
- ``hidden_score(..., points=)`` equals each test cell's nbgrader points, and the suite's parts are exactly
  the notebook's auto-graded cells;
- every hidden test can fail: on the release, and on a targeted one-line mutant of the solution, which fails
  exactly the tests aimed at it (the visible-test gate switched off);
- the release holds neither solutions nor hidden tests, and the fixtures are that release plus student code;
- the hidden suite's replay of the visible tests agrees with the notebook's own visible tests;
- the trusted test machinery (self-contained functions and closed-form gradients) agrees with the reference;
- end to end (slow): ``nbgrader generate_assignment / autograde / generate_feedback`` on four fixtures.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import json
import math
import random
import re
import shutil
import warnings
from pathlib import Path

import nbformat
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from autograder import harness
from autograder.hw1 import common, visible
from autograder.loader import load_namespace, load_student, student_from_namespace
from mlcourse import autodiff as ad
from mlcourse.build.release import run_nbgrader

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "solutions" / "hw1" / "hw1.ipynb"
RELEASE = ROOT / "assignments" / "hw1" / "hw1.ipynb"
FIXTURES = ROOT / "autograder" / "fixtures" / "hw1"
EXPECTED = json.loads((FIXTURES / "expected.json").read_text(encoding="utf-8"))
FIXTURE_NAMES = sorted(p.stem for p in FIXTURES.glob("*.ipynb"))
HIDDEN_CALL = re.compile(r'^hidden_score\("hw1", "(\w+)", globals\(\), points=([0-9.]+)\)$', re.M)

#: The issue's parts: grade cells and their points (auto-graded and by hand).
PARTS = {
    "Dual": ({"test_dual_arithmetic", "test_dual_pow"}, 30),
    "elementary": ({"test_elementary"}, 15),
    "derivative and gradient": ({"test_derivative_gradient"}, 15),
    "finite differences": ({"test_finite_differences", "error_plot", "explain_v_shape"}, 15),
    "newton": ({"test_newton"}, 15),
    "written": ({"forward_vs_reverse"}, 10),
}
MANUAL = {"error_plot", "explain_v_shape", "forward_vs_reverse"}

#: The issue's six single-bug fixtures and the grade cell each must lose completely.
ISSUE_BUGS = {"product_rule_wrong": "test_dual_arithmetic", "quotient_rule_sign": "test_dual_arithmetic",
              "radd_missing": "test_dual_arithmetic", "pow_dual_exponent": "test_dual_pow",
              "newton_no_stopping_test": "test_newton",
              "central_difference_wrong_denominator": "test_finite_differences"}


def _read(path: Path) -> nbformat.NotebookNode:
    return nbformat.read(path, as_version=4)


def _nbg(cell) -> dict:
    return cell.metadata.get("nbgrader", {})


def grade_test_cells(nb) -> dict[str, nbformat.NotebookNode]:
    """Auto-graded test cells by grade id."""
    return {_nbg(c)["grade_id"]: c for c in nb.cells
            if c.cell_type == "code" and _nbg(c).get("grade") and not _nbg(c).get("solution")}


@pytest.fixture(scope="module")
def source():
    return _read(SOURCE)


@pytest.fixture(scope="module")
def points(source):
    return {gid: float(_nbg(c)["points"]) for gid, c in grade_test_cells(source).items()}


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


def test_hidden_score_points_equal_the_cell_points(source):
    for gid, cell in grade_test_cells(source).items():
        calls = HIDDEN_CALL.findall(cell.source)
        assert len(calls) == 1, f"{gid}: expected exactly one hidden_score call"
        part, pts = calls[0]
        assert part == gid, f"{gid}: hidden_score scores part {part!r}"
        assert float(pts) == float(_nbg(cell)["points"]), f"{gid}: points= differs from the cell's points"
        visible_part, hidden = cell.source.split("### BEGIN HIDDEN TESTS")
        assert hidden.rstrip().endswith(f"points={pts})\n### END HIDDEN TESTS"), \
            f"{gid}: hidden_score must be the cell's last expression (nbgrader reads it as partial credit)"
        assert "hidden_score" not in visible_part


def test_every_grade_cell_has_hidden_tests_and_vice_versa(points):
    _, results = results_of("unchanged_release")
    assert set(results) == set(points)
    assert set(visible.SOURCES) == set(points)
    for gid, result in results.items():
        assert result.total_weight == points[gid], f"{gid}: the weights of its tests should sum to its points"


def test_plots_and_bonus_are_not_run_when_grading(source):
    tagged = {c.id for c in source.cells if "skip-grading" in c.metadata.get("tags", [])}
    assert tagged == {"error_plot", "bonus_var", "bonus_check"}


# --------------------------------------------------------------------------------------- scores
def test_expected_json_lists_every_fixture_and_grade_cell(points):
    assert set(EXPECTED) == set(FIXTURE_NAMES)
    assert set(ISSUE_BUGS) <= set(FIXTURE_NAMES)
    for name, scores in EXPECTED.items():
        assert set(scores) == set(points), name
        assert all(0 <= scores[c] <= points[c] for c in points), name
    assert EXPECTED["correct"] == points
    assert not any(EXPECTED["unchanged_release"].values())
    for name, scores in EXPECTED.items():  # one bug each: exactly one grade cell loses points
        if name not in ("correct", "unchanged_release"):
            assert sum(scores[c] < points[c] for c in points) == 1, name
    for name, cell in ISSUE_BUGS.items():  # ... and the issue's six lose exactly that part's points
        assert EXPECTED[name] == {**points, cell: 0.0}, name


@pytest.mark.parametrize("name", FIXTURE_NAMES)
def test_fixture_scores_match_expected(name, points):
    errors, results = results_of(name)
    assert errors == [], errors
    scores = harness.score(results, points)
    assert scores == pytest.approx(EXPECTED[name], abs=1e-6)


def test_source_notebook_scores_all_auto_graded_points(points):
    student = load_student(SOURCE)
    assert student.load_errors == []
    assert harness.score(harness.run_suite("hw1", student), points) == points


def test_release_scores_zero_and_says_why(points):
    _, results = results_of("unchanged_release")  # the release as is (test_fixtures_are_... checks)
    assert harness.score(results, points) == dict.fromkeys(points, 0.0)
    assert all("not implemented yet" in m for r in results.values() for m in r.messages)


def test_every_hidden_test_fails_on_the_release():
    _, results = results_of("unchanged_release", gate=False)
    for gid, result in results.items():
        passed = [name for name, ok, _ in result.tests if ok]
        assert not passed, f"{gid}: {passed} pass on the unchanged release"
        assert all("not implemented yet" in m for m in result.messages), result.messages


# ------------------------------------------------------------------------- mutants: each test can fail
CLASSIC = {f"classic_roots[{case}]" for case in ("sqrt(2) as the root of x^2 - 2 from 1",
                                                 "the fixed point of cos (cos(x) - x) from 1",
                                                 "Wallis's x^3 - 2x - 5 from 2",
                                                 "log(2) as the root of exp(x) - 2 from 0",
                                                 "0 as the root of arctan(x) from 1")}
SLOW_CLASSIC = CLASSIC - {"classic_roots[0 as the root of arctan(x) from 1]",  # these two end on f(x) == 0
                          "classic_roots[the fixed point of cos (cos(x) - x) from 1]"}
SIGNED = {"add_and_subtract_duals", "numbers_on_either_side_of_plus_and_minus", "random_compositions"}
NEWTON_RAISES = {"no_real_root_raises_runtime_error", "runaway_and_cycling_iterates_raise_runtime_error",
                 "honours_max_iter"}

#: name -> (cell id, grade cell, old, new, the hidden tests (without ``test_``) that must fail, and no other
#: test of that grade cell).
MUTANTS = {
    "subtraction adds derivatives": (
        "dual_class", "test_dual_arithmetic",
        "return Dual(self.val - other.val, self.der - other.der)",
        "return Dual(self.val - other.val, self.der + other.der)",
        SIGNED),
    "negation keeps der": (
        "dual_class", "test_dual_arithmetic",
        "return Dual(-self.val, -self.der)",
        "return Dual(-self.val, self.der)",
        {"unary_minus", "random_compositions"}),
    "no __rmul__": (
        "dual_class", "test_dual_arithmetic",
        "    def __rmul__(self, other):  # other * self\n        return self * other\n\n",
        "",
        {"numbers_on_either_side_of_times", "random_compositions"}),
    "== compares der too": (
        "dual_class", "test_dual_arithmetic",
        "return self.val == (other.val if isinstance(other, Dual) else other)",
        "return isinstance(other, Dual) and (self.val, self.der) == (other.val, other.der)",
        {"comparisons_compare_values"}),
    "power rule divides by x": (
        "dual_class", "test_dual_pow",
        "return Dual(self.val ** other, other * self.val ** (other - 1) * self.der)",
        "return Dual(self.val ** other, self.val ** other * other * self.der / self.val)",
        {"powers_of_a_zero_value"}),
    "power rule with |p|": (
        "dual_class", "test_dual_pow",
        "return Dual(self.val ** other, other * self.val ** (other - 1) * self.der)",
        "return Dual(self.val ** other, abs(other) * self.val ** (other - 1) * self.der)",
        {"integer_exponents", "float_exponents"}),
    "c ** x with log10": (
        "dual_class", "test_dual_pow",
        "return Dual(val, val * math.log(other) * self.der)",
        "return Dual(val, val * math.log10(other) * self.der)",
        {"number_to_a_dual_power", "powers_of_powers"}),
    "sin of a float is a Dual": (
        "elementary", "test_elementary",
        "return math.sin(x)",
        "return Dual(math.sin(x), 0.0)",
        {"floats_in_floats_out"}),
    "sin forgets the inner derivative": (
        "elementary", "test_elementary",
        "return Dual(math.sin(x.val), math.cos(x.val) * x.der)",
        "return Dual(math.sin(x.val), math.cos(x.val))",
        {"on_duals[sin]", "random_compositions"}),
    "cos derivative sign": (
        "elementary", "test_elementary",
        "return Dual(math.cos(x.val), -math.sin(x.val) * x.der)",
        "return Dual(math.cos(x.val), math.sin(x.val) * x.der)",
        {"on_duals[cos]", "random_compositions"}),
    "exp forgets the inner derivative": (
        "elementary", "test_elementary",
        "return Dual(e, e * x.der)",
        "return Dual(e, e)",
        {"on_duals[exp]", "random_compositions"}),
    "sqrt derivative without the 2": (
        "elementary", "test_elementary",
        "return Dual(r, x.der / (2.0 * r))",
        "return Dual(r, x.der / r)",
        {"on_duals[sqrt]", "random_compositions", "log_and_sqrt_near_zero"}),
    "sqrt derivative regularised": (
        "elementary", "test_elementary",
        "return Dual(r, x.der / (2.0 * r))",
        "return Dual(r, x.der / (2.0 * r + 1e-12))",
        {"log_and_sqrt_near_zero"}),
    "log derivative sign": (
        "elementary", "test_elementary",
        "return Dual(math.log(x.val), x.der / x.val)",
        "return Dual(math.log(x.val), -x.der / x.val)",
        {"on_duals[log]", "random_compositions", "log_and_sqrt_near_zero"}),
    "derivative returns the Dual": (
        "forward_sweeps", "test_derivative_gradient",
        "return float(y.der) if isinstance(y, Dual) else 0.0",
        "return y if isinstance(y, Dual) else 0.0",
        {"derivative_of_single_functions", "derivative_of_compositions", "derivative_returns_a_float"}),
    "derivative evaluates f twice": (
        "forward_sweeps", "test_derivative_gradient",
        "    y = f(Dual(x, 1.0))\n",
        "    f(x)\n    y = f(Dual(x, 1.0))\n",
        {"derivative_is_one_forward_sweep"}),
    "derivative of a constant fails": (
        "forward_sweeps", "test_derivative_gradient",
        "return float(y.der) if isinstance(y, Dual) else 0.0",
        "return float(y.der)",
        {"derivative_of_a_constant_function"}),
    "gradient returns a list": (
        "forward_sweeps", "test_derivative_gradient",
        "else 0.0\n    return g",
        "else 0.0\n    return list(g)",
        {"gradient_values", "gradient_accepts_lists_and_arrays"}),
    "gradient seeds every coordinate": (
        "forward_sweeps", "test_derivative_gradient",
        "Dual(xj, 1.0 if j == i else 0.0)",
        "Dual(xj, 1.0)",
        {"gradient_values", "gradient_accepts_lists_and_arrays", "gradient_is_one_sweep_per_coordinate"}),
    "forward difference with |h|": (
        "finite_differences", "test_finite_differences",
        "return (f(x + h) - f(x)) / h",
        "return (f(x + abs(h)) - f(x)) / abs(h)",
        {"steps_are_used_as_given"}),
    "forward difference is central": (
        "finite_differences", "test_finite_differences",
        "return (f(x + h) - f(x)) / h",
        "return (f(x + h) - f(x - h)) / (2 * h)",
        {"forward_difference_formula", "forward_difference_is_first_order", "steps_are_used_as_given",
         "results_are_floats"}),
    "newton returns x0": (
        "newton", "test_newton",
        "        step = fx / dfx\n",
        "        return x\n        step = fx / dfx\n",
        # every check of newton, also those of properties that a constant answer has (raising, the type)
        CLASSIC | NEWTON_RAISES | {"stops_once_converged", "uses_derivative", "returns_a_float",
                                   "zero_derivative_raises_runtime_error"}),
    "newton returns a Dual": (
        "newton", "test_newton",
        "            return x\n    raise",
        "            return Dual(x, 1.0)\n    raise",
        # and the raising checks whose anchor problem (a cube root, see _solves) it does not solve as a float
        SLOW_CLASSIC | {"returns_a_float", "stops_once_converged", "honours_max_iter",
                        "runaway_and_cycling_iterates_raise_runtime_error",
                        "zero_derivative_raises_runtime_error"}),
    "newton ignores tol": (
        "newton", "test_newton",
        "if abs(step) <= tol * max(1.0, abs(x)):",
        "if abs(step) <= 1e-12 * max(1.0, abs(x)):",
        {"stops_once_converged"}),
    "newton ignores max_iter": (
        "newton", "test_newton",
        "for _ in range(max_iter):",
        "for _ in range(50):",
        {"honours_max_iter"}),
    "newton by finite differences": (
        "newton", "test_newton",
        "dfx = derivative(f, x)",
        "dfx = (f(x + 1e-7) - f(x)) / 1e-7",
        {"uses_derivative", "zero_derivative_raises_runtime_error"}),
    "newton raises ValueError": (
        "newton", "test_newton",
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
    result = harness.run_suite("hw1", student_from_namespace(_mutant(cell_id, old, new)), parts=[part])[part]
    failed = {test.removeprefix("test_") for test, ok, _ in result.tests if not ok}
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
def test_failure_messages_show_no_test_code_or_expected_values():
    messages = []
    for name in FIXTURE_NAMES:
        messages += [m for r in results_of(name, gate=False)[1].values() for m in r.messages]
    assert messages
    for message in messages:
        for fragment in ("__import__", "lambda", "type(x)", "hasattr", "calls.append", "m.sin", "getattr"):
            assert fragment not in message, message
        assert not re.search(r"\d\.\d{4,}", message), message  # no computed values


def test_a_wrong_exception_type_fails_with_a_clear_message():
    results = results_of("newton_zero_derivative_unchecked")[1]
    assert results["test_newton"].messages == [
        "newton for x^2 + 1 from 0, where f'(0) = 0: should raise RuntimeError, but your code raised "
        "ZeroDivisionError (float division by zero)"]


# ----------------------------------------------------------------------------------- release and fixtures
SOLUTION_SNIPPETS = ("self.der * other.val + self.val * other.der", "math.cos(x.val) * x.der",
                     "x.der / (2.0 * r)", "f(Dual(x, 1.0))", "(f(x + h) - f(x - h)) / (2 * h)",
                     "abs(step) <= tol", "parent.grad += local * node.grad", "catastrophic", "backward sweep")


def test_release_has_no_solutions_and_no_hidden_tests(source):
    text = RELEASE.read_text(encoding="utf-8")
    for secret in ("hidden_score", "BEGIN HIDDEN TESTS", "BEGIN SOLUTION", "autograder", *SOLUTION_SNIPPETS):
        assert secret not in text, secret
    source_text = SOURCE.read_text(encoding="utf-8")
    assert all(snippet in source_text for snippet in SOLUTION_SNIPPETS)  # the snippets are real
    release = _read(RELEASE)
    assert [c.id for c in release.cells] == [c.id for c in source.cells]
    for cell in release.cells:
        meta = _nbg(cell)
        if meta.get("solution") and cell.cell_type == "code":
            assert "raise NotImplementedError()" in cell.source
        if (meta.get("grade") and not meta.get("solution")) or meta.get("locked"):
            assert cell.metadata.get("editable") is False, cell.id
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None
    assert release.metadata == {"kernelspec": {"display_name": "Python 3", "language": "python",
                                               "name": "python3"}, "language_info": {"name": "python"}}


def test_source_notebook_is_committed_clean(source):
    for cell in source.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, cell.id
    assert source.metadata == {"kernelspec": {"display_name": "Python 3", "language": "python",
                                              "name": "python3"}, "language_info": {"name": "python"}}


def test_fixtures_are_the_release_with_student_code():
    release = _read(RELEASE)
    for name in FIXTURE_NAMES:
        nb = _read(FIXTURES / f"{name}.ipynb")
        assert [c.id for c in nb.cells] == [c.id for c in release.cells], name
        for mine, theirs in zip(nb.cells, release.cells, strict=True):
            assert mine.metadata == theirs.metadata, (name, mine.id)
            if not _nbg(theirs).get("solution"):
                assert mine.source == theirs.source, (name, mine.id)


def test_fixtures_are_up_to_date():
    spec = importlib.util.spec_from_file_location("make_hw1_fixtures", FIXTURES / "make_fixtures.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    built = module.build()
    assert set(built) == set(FIXTURE_NAMES)
    for name, nb in built.items():
        assert module.text_of(nb) == (FIXTURES / f"{name}.ipynb").read_text(encoding="utf-8"), \
            f"{name}.ipynb is stale: run python autograder/fixtures/hw1/make_fixtures.py"


# ------------------------------------------------------------------------ visible tests: notebook vs. gate
def _visible_source(cell) -> str:
    return cell.source.split("### BEGIN HIDDEN TESTS")[0]


def test_the_suite_holds_the_notebooks_visible_tests(source):
    for gid, cell in grade_test_cells(source).items():
        assert visible.SOURCES[gid].strip() == _visible_source(cell).strip(), \
            f"mlcourse/checks/hw1.py is stale for {gid}: run python -m mlcourse.checks"


def _notebook_visible_passes(namespace: dict, code: str) -> bool:
    scope = dict(namespace)
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()), \
            warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            exec(compile(code, "<visible tests>", "exec"), scope)
        except Exception:
            return False
    return True


@pytest.mark.parametrize("name", FIXTURE_NAMES)
def test_the_suite_replays_the_notebooks_visible_tests(name, source):
    """visible.failure is None exactly when the notebook's own visible asserts pass (so nbgrader and the
    engine agree on which cells score 0)."""
    namespace, _ = load_namespace(_read(FIXTURES / f"{name}.ipynb"), name)
    student = student_from_namespace(namespace)
    for gid, cell in grade_test_cells(source).items():
        in_notebook = _notebook_visible_passes(namespace, _visible_source(cell))
        in_suite = visible.failure(student, gid) is None
        assert in_notebook == in_suite, f"{name}/{gid}: notebook {in_notebook}, suite {in_suite}"


def test_the_gate_reports_the_visible_assert_message():
    namespace, _ = load_namespace(_read(FIXTURES / "product_rule_wrong.ipynb"), "product_rule_wrong")
    reason = visible.failure(student_from_namespace(namespace), "test_dual_arithmetic")
    assert reason == "Dual(2, 1) * Dual(3, 0.5)  (product rule): the derivative .der: expected 4.0, got 0.5"


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


# ------------------------------------------------------------------------------------------- end to end
E2E = {"alice": "correct", "bob": "unchanged_release", "carol": "newton_zero_derivative_unchecked",
       "dave": "product_rule_wrong"}
SUITE_SOURCE_FRAGMENTS = ("hidden_score", "BEGIN HIDDEN TESTS", "autograder.harness", "__import__",
                          "expect_duals", "reference_eval", "def test_", "calls.append")


@pytest.mark.slow
def test_nbgrader_end_to_end(tmp_path, points):
    course = tmp_path / "course"
    (course / "solutions").mkdir(parents=True)
    shutil.copy(ROOT / "nbgrader_config.py", course / "nbgrader_config.py")
    shutil.copytree(ROOT / "solutions" / "hw1", course / "solutions" / "hw1")
    db = tmp_path / "gradebook.db"

    run_nbgrader(course, ["generate_assignment", "hw1", "--force"], db=db)
    generated = (course / "assignments" / "hw1" / "hw1.ipynb").read_text(encoding="utf-8")
    assert generated == RELEASE.read_text(encoding="utf-8"), \
        "assignments/hw1 is stale: run nbgrader generate_assignment hw1 --force"
    assert sorted(p.name for p in (course / "assignments" / "hw1").iterdir()) == \
        sorted(p.name for p in RELEASE.parent.iterdir())

    for student, fixture in E2E.items():
        folder = course / "submitted" / student / "hw1"
        folder.mkdir(parents=True)
        shutil.copy(FIXTURES / f"{fixture}.ipynb", folder / "hw1.ipynb")
    run_nbgrader(course, ["autograde", "hw1", "--force"], db=db)
    run_nbgrader(course, ["generate_feedback", "hw1", "--force"], db=db)

    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{db}") as gb:
        for student, fixture in E2E.items():
            got = {gid: gb.find_grade(gid, "hw1", "hw1", student).score for gid in points}
            assert got == pytest.approx(EXPECTED[fixture], abs=1e-6), student

    carol = (course / "feedback" / "carol" / "hw1" / "hw1.html").read_text(encoding="utf-8")
    assert "should raise RuntimeError, but your code raised ZeroDivisionError" in carol  # messages reach her
    for student, fixture in E2E.items():
        html = (course / "feedback" / student / "hw1" / "hw1.html").read_text(encoding="utf-8")
        for fragment in SUITE_SOURCE_FRAGMENTS:
            assert fragment not in html, \
                f"{fixture}: the feedback shows hidden test source ({fragment!r}); nbgrader_config.py must " \
                "add nbgrader's ClearHiddenTests to c.GenerateFeedback.preprocessors"
