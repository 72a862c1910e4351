"""HW2-specific rules of the source notebook, the hidden suite and the fixtures:

- one grade cell per graded behaviour: the points of every function as before, a mistake costs only the
  cells of what it breaks, and every Part 3 function has a ``_no_loop`` cell (together at least 15 points);
- the suite's gate replays the notebook's own visible tests (one source), and the library rule reads the same
  code in both graders.

What every assignment must satisfy (fixture scores vs ``expected.json``, release, hidden regions, plain
nbgrader agreement on every fixture) is checked once for all of them in ``tests/test_assignments.py``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from test_assignments import _nbg, _read, graded_test_cells

from autograder import harness
from autograder.hw2 import libraries
from autograder.hw2.conftest import VISIBLE as visible
from autograder.loader import load_student, student_from_namespace

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "solutions" / "hw2" / "hw2.ipynb"
RELEASE = ROOT / "assignments" / "hw2" / "hw2.ipynb"
FIXTURES = ROOT / "autograder" / "fixtures" / "hw2"
EXPECTED = json.loads((FIXTURES / "expected.json").read_text(encoding="utf-8"))
FIXTURE_NAMES = sorted(p.stem for p in FIXTURES.glob("*.ipynb"))
HIDDEN_CALL = re.compile(r'^hidden_score\("hw2", "(\w+)", globals\(\), points=([0-9.]+)\)$', re.M)

#: The issue's parts: grade cells (one per graded behaviour) and their points.
PARTS = {
    "helpers": ({"test_logsumexp_values", "test_logsumexp_stable", "test_softmax_values",
                 "test_softmax_stable"}, 10),
    "loops": ({"test_gaussian_logpdf_loop_values", "test_gaussian_logpdf_loop_extreme",
               "test_e_step_loop_values", "test_e_step_loop_far_points", "test_m_step_loop_weights",
               "test_m_step_loop_means", "test_m_step_loop_covariances"}, 20),
    "broadcasting": ({"test_gaussian_logpdf_values", "test_gaussian_logpdf_extreme",
                      "test_gaussian_logpdf_no_loop", "test_log_joint_values", "test_log_joint_extreme",
                      "test_log_joint_no_loop", "test_e_step_responsibilities", "test_e_step_loglik",
                      "test_e_step_no_loop", "test_m_step_weights", "test_m_step_means",
                      "test_m_step_covariances", "test_m_step_no_loop"}, 30),
    "fit_gmm": ({"test_fit_gmm_converged", "test_fit_gmm_history", "test_fit_gmm_init"}, 10),
    "sample_gmm": ({"test_sample_gmm_components", "test_sample_gmm_covariances", "test_sample_gmm_seed"},
                   5),
    "quantize_image": ({"test_quantize_image_types", "test_quantize_image_colours",
                        "test_quantize_image_error"}, 10),
    "written": ({"q_broadcasting", "q_log_space", "q_kmeans"}, 15),
}
#: The student's functions, each with the points of all its grade cells (as before the cells were split).
FUNCTION_POINTS = {"logsumexp": 5, "softmax": 5, "gaussian_logpdf_loop": 7, "e_step_loop": 7,
                   "m_step_loop": 6, "gaussian_logpdf": 7, "log_joint": 6, "e_step": 10, "m_step": 7,
                   "fit_gmm": 10, "sample_gmm": 5, "quantize_image": 10}


def function_of(cell: str) -> str:
    """The student's function a grade cell judges (the longest function name its id starts with)."""
    return max((f for f in FUNCTION_POINTS if cell.startswith(f"test_{f}_")), key=len)


#: Fixtures whose code is wrong in more than one function, or whose one bug also breaks the cells of the
#: functions that call it (each with the reason); every other fixture loses points in the cells of exactly one
#: function.
SEVERAL_CELLS = {
    "log_joint_loops_over_points": "e_step calls log_joint, so it loops over the points too",
    "log_joint_mutates_sigma": "e_step hands its Sigma to log_joint, which writes into it",
    "logpdf_loop_mutates_unless_checked": "e_step_loop passes X on to gaussian_logpdf_loop",
    "returns_constants": "every function",
    "hardcodes_visible_answers": "every function",
    "broadcast_hardcodes_visible_answers": "the Part 3 functions, and fit_gmm and quantize_image on top",
}


def auto_points(nb) -> dict[str, float]:
    return {gid: float(_nbg(c)["points"]) for gid, c in graded_test_cells(nb).items()}


@pytest.fixture(scope="module")
def source():
    return _read(SOURCE)


@pytest.fixture(scope="module")
def points(source):
    return auto_points(source)


# ----------------------------------------------------------------------------------- points and coverage
def test_points_follow_the_issue(source):
    graded = {_nbg(c)["grade_id"]: float(_nbg(c)["points"]) for c in source.cells if _nbg(c).get("grade")}
    assert sum(graded.values()) == 100
    for part, (cells, total) in PARTS.items():
        assert sum(graded[c] for c in cells) == total, part
    for function, total in FUNCTION_POINTS.items():
        own = [p for c, p in graded.items() if c.startswith("test_") and function_of(c) == function]
        assert sum(own) == total, function
    assert set(graded) == set().union(*(cells for cells, _ in PARTS.values()))
    manual = {_nbg(c)["grade_id"] for c in source.cells if _nbg(c).get("grade") and _nbg(c).get("solution")}
    assert manual == PARTS["written"][0]
    assert all(c.cell_type == "markdown" for c in source.cells if _nbg(c).get("grade_id") in manual)


# --------------------------------------------------------------------------------------- scores
def test_each_fixture_costs_the_cells_of_what_it_breaks(points):
    """One bug costs one function's cells (full coverage of expected.json: test_assignments.py)."""
    assert len(FIXTURE_NAMES) >= 10
    assert EXPECTED["correct"] == points and EXPECTED["correct_alternative"] == points
    assert not any(EXPECTED["unchanged_release"].values())
    for name, scores in EXPECTED.items():  # one bug each: only the cells of one function lose points
        if name not in ("correct", "correct_alternative", "unchanged_release", *SEVERAL_CELLS):
            assert len({function_of(c) for c in points if scores[c] < points[c]}) == 1, name
    for name in SEVERAL_CELLS:
        assert len({function_of(c) for c in points if EXPECTED[name][c] < points[c]}) > 1, name


def test_a_mistake_costs_what_it_breaks():
    """The issue's example: a pi-normalisation slip costs the weights' points of m_step_loop, not the means'
    and covariances'; a textbook initialisation costs at most the few points of the initialisation cell."""
    slip = EXPECTED["m_step_loop_pi_not_normalised"]
    assert slip["test_m_step_loop_weights"] == 0
    assert slip["test_m_step_loop_means"] == 2 and slip["test_m_step_loop_covariances"] == 2
    textbook, full = EXPECTED["fit_gmm_textbook_init"], EXPECTED["correct"]
    lost = {c: full[c] - textbook[c] for c in full if textbook[c] != full[c]}
    assert set(lost) <= {"test_fit_gmm_init"} and sum(lost.values()) <= 2


@pytest.mark.parametrize(("fixture", "broken"), [
    # reg=1e-6 forgotten: the covariances are off by 1e-6, which the speed share's result check tolerates
    ("m_step_forgot_reg", {"test_m_step_covariances"}),
    # Sigma used as a standard deviation: the covariances are wrong, the seed still reproduces the sample
    ("sample_gmm_sigma_as_std", {"test_sample_gmm_covariances"}),
])
def test_a_slip_costs_only_the_cell_of_the_value_it_breaks(fixture, broken):
    full = EXPECTED["correct"]
    assert {c for c in full if EXPECTED[fixture][c] < full[c]} == broken


def test_not_looping_over_the_points_has_cells_of_its_own(points):
    """Every Part 3 function has one ``_no_loop`` cell, holding exactly its speed test; together at least 15
    of the 30 points (the speed test itself counts only for correct results, see autograder/hw2/speed.py)."""
    broadcasting = PARTS["broadcasting"][0]
    no_loop = {c for c in broadcasting if c.endswith("_no_loop")}
    assert {function_of(c) for c in no_loop} == {"gaussian_logpdf", "log_joint", "e_step", "m_step"}
    assert len(no_loop) == 4 and sum(points[c] for c in no_loop) >= 15
    results = harness.run_suite("hw2", load_student(RELEASE), parts=sorted(broadcasting))
    for cell, result in results.items():
        speed = {test for test in result.weights if test.endswith("_does_not_loop_over_the_points")}
        assert (cell in no_loop) == bool(speed) and (not speed or set(result.weights) == speed), cell


def test_failure_messages_name_no_expected_values():
    results = harness.run_suite("hw2", load_student(FIXTURES / "hardcodes_visible_answers.ipynb"),
                                parts=["test_logsumexp_values"])
    messages = results["test_logsumexp_values"].messages
    assert len(messages) == 3 and all("values are wrong" in m for m in messages)
    assert not any(re.search(r"\d\.\d{3,}", m) for m in messages)


# ------------------------------------------------------------------------ visible tests: notebook vs. gate
def _visible_source(cell) -> str:
    return cell.source.split("### BEGIN HIDDEN TESTS")[0]


def test_the_visible_tests_have_one_source():
    """The gate replays the notebook's own visible tests, the same text as the students' generated
    ``mlcourse.checks.hw2.SOURCES``, not a copy typed by hand; ``tests/test_engine_check.py`` checks those are
    current."""
    import mlcourse.checks.hw2 as generated

    assert visible.sources == generated.SOURCES
    source = _read(SOURCE)
    cells = graded_test_cells(source)
    assert {gid: _visible_source(cell).rstrip() + "\n" for gid, cell in cells.items()} == visible.sources


# ---------------------------------------------------------------------------------------- library rule
GRADED = ("logsumexp", "softmax", "e_step")


@pytest.mark.parametrize(("cells", "expected"), [
    (["import numpy as np\nimport math\ndef logsumexp(a):\n    return np.log(math.e) * a"], {}),
    (["def logsumexp(a):\n    from scipy.special import logsumexp as f\n    return f(a, axis=1)"],
     {"logsumexp": "scipy"}),
    (["import scipy.special as sp", "def softmax(a):\n    return sp.softmax(a, axis=1)"],
     {"softmax": "scipy"}),
    (["from sklearn.utils.extmath import softmax as sk", "def helper(a):\n    return sk(a)",
      "def softmax(a):\n    return helper(a)"], {"softmax": "sklearn"}),  # through a helper of the student's
    (["import scipy\ndef logsumexp(a):\n    return scipy.special.logsumexp(a, axis=1)",
      "def e_step(X):\n    return logsumexp(X)"], {"logsumexp": "scipy"}),  # a graded caller keeps its points
    (["from scipy.special import logsumexp as lse", "def logsumexp(a):\n    return a.max(axis=1)"], {}),
    (["def softmax(a):\n    return __import__('scipy').special.softmax(a, axis=1)"],
     {"softmax": "__import__"}),
    (["lse = lambda a: __import__('mlcourse').mixture.logsumexp(a)", "def logsumexp(a):\n    return lse(a)"],
     {"logsumexp": "__import__"}),
    (["import scipy as np", "def logsumexp(a):\n    return np.log(a)"], {"logsumexp": "scipy"}),
    (["def logsumexp(a:\n", "%matplotlib inline\nimport numpy as np"], {}),  # unparsable cells are skipped
])
def test_the_library_rule_finds_what_each_graded_function_uses(cells, expected):
    assert libraries.violations(cells, GRADED) == expected


def test_the_library_rule_reads_the_same_code_in_both_graders():
    notebook = FIXTURES / "logsumexp_uses_scipy.ipynb"
    in_process = load_student(notebook).code_cells()
    assert any("from scipy.special import" in cell for cell in in_process)
    assert libraries.violations(in_process, ["logsumexp", "e_step"]) == {"logsumexp": "scipy"}
    namespace = {"_ih": ["", *in_process]}  # a kernel's input history, as nbgrader's autograde has it
    assert student_from_namespace(namespace).code_cells() == ["", *in_process]
    results = harness.run_suite("hw2", load_student(notebook), parts=["test_logsumexp_values"])
    assert results["test_logsumexp_values"].fraction == 0
    assert all("logsumexp uses scipy, but only NumPy" in m for m in results["test_logsumexp_values"].messages)
