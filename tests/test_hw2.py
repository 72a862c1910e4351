"""HW2: the source notebook, its release, the hidden suite and the submission fixtures fit together.

- every fixture scores exactly what ``autograder/fixtures/hw2/expected.json`` says, per grade cell;
- in every Part 3 cell, the test "does not loop in Python over the points" weighs half of the cell;
- the source notebook scores all auto-graded points, the unchanged release none;
- ``hidden_score(..., points=)`` equals each test cell's nbgrader points, and the suite's parts are exactly
  the notebook's auto-graded cells;
- the release holds neither solutions nor hidden tests, and the fixtures are that release plus student code;
- the hidden suite's replay of the visible tests agrees with the notebook's own visible tests;
- end to end (slow): ``nbgrader generate_assignment / autograde / generate_feedback`` on a few fixtures.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import json
import re
import shutil
import warnings
from pathlib import Path

import nbformat
import pytest

from autograder import harness
from autograder.hw2 import visible
from autograder.loader import load_namespace, load_student, student_from_namespace
from autograder.plain import mutation_message
from mlcourse.build.release import run_nbgrader

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "solutions" / "hw2" / "hw2.ipynb"
RELEASE = ROOT / "assignments" / "hw2" / "hw2.ipynb"
FIXTURES = ROOT / "autograder" / "fixtures" / "hw2"
EXPECTED = json.loads((FIXTURES / "expected.json").read_text(encoding="utf-8"))
FIXTURE_NAMES = sorted(p.stem for p in FIXTURES.glob("*.ipynb"))
HIDDEN_CALL = re.compile(r'^hidden_score\("hw2", "(\w+)", globals\(\), points=([0-9.]+)\)$', re.M)

#: The issue's parts: grade cells and their points.
PARTS = {
    "helpers": ({"test_logsumexp", "test_softmax"}, 10),
    "loops": ({"test_gaussian_logpdf_loop", "test_e_step_loop", "test_m_step_loop"}, 20),
    "broadcasting": ({"test_gaussian_logpdf", "test_log_joint", "test_e_step", "test_m_step"}, 30),
    "fit_gmm": ({"test_fit_gmm"}, 10),
    "sample_gmm": ({"test_sample_gmm"}, 5),
    "quantize_image": ({"test_quantize_image"}, 10),
    "written": ({"q_broadcasting", "q_log_space", "q_kmeans"}, 15),
}

#: Fixtures whose code is wrong in more than one grade cell, or whose one bug also breaks the cells of the
#: functions that call it (each with the reason); every other fixture loses points in exactly one cell.
SEVERAL_CELLS = {
    "log_joint_loops_over_points": "e_step calls log_joint, so it loops over the points too",
    "log_joint_mutates_sigma": "e_step hands its Sigma to log_joint, which writes into it",
    "logpdf_loop_mutates_unless_checked": "e_step_loop passes X on to gaussian_logpdf_loop",
    "returns_constants": "every function",
    "hardcodes_visible_answers": "every function",
    "broadcast_hardcodes_visible_answers": "the Part 3 functions, and fit_gmm and quantize_image on top",
}


def _read(path: Path) -> nbformat.NotebookNode:
    return nbformat.read(path, as_version=4)


def _nbg(cell) -> dict:
    return cell.metadata.get("nbgrader", {})


def test_cells(nb) -> dict[str, nbformat.NotebookNode]:
    """Auto-graded test cells by grade id."""
    return {_nbg(c)["grade_id"]: c for c in nb.cells
            if c.cell_type == "code" and _nbg(c).get("grade") and not _nbg(c).get("solution")}


test_cells.__test__ = False  # a helper, not a test


def auto_points(nb) -> dict[str, float]:
    return {gid: float(_nbg(c)["points"]) for gid, c in test_cells(nb).items()}


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
    assert set(graded) == set().union(*(cells for cells, _ in PARTS.values()))
    manual = {_nbg(c)["grade_id"] for c in source.cells if _nbg(c).get("grade") and _nbg(c).get("solution")}
    assert manual == PARTS["written"][0]
    assert all(c.cell_type == "markdown" for c in source.cells if _nbg(c).get("grade_id") in manual)


def test_hidden_score_points_equal_the_cell_points(source):
    for gid, cell in test_cells(source).items():
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
    results = harness.run_suite("hw2", load_student(RELEASE))
    assert set(results) == set(points)
    assert set(visible.CHECKS) == set(points)
    assert all(r.total_weight > 0 for r in results.values())


# --------------------------------------------------------------------------------------- scores
def test_expected_json_lists_every_fixture_and_grade_cell(points):
    assert set(EXPECTED) == set(FIXTURE_NAMES)
    assert len(FIXTURE_NAMES) >= 10
    for name, scores in EXPECTED.items():
        assert set(scores) == set(points), name
        assert all(0 <= scores[c] <= points[c] for c in points), name
    assert EXPECTED["correct"] == points and EXPECTED["correct_alternative"] == points
    assert not any(EXPECTED["unchanged_release"].values())
    for name, scores in EXPECTED.items():  # one bug each: exactly one grade cell loses points
        if name not in ("correct", "correct_alternative", "unchanged_release", *SEVERAL_CELLS):
            assert sum(scores[c] < points[c] for c in points) == 1, name
    for name in SEVERAL_CELLS:
        assert sum(EXPECTED[name][c] < points[c] for c in points) > 1, name


def test_not_looping_over_the_points_is_half_of_every_broadcasting_cell():
    results = harness.run_suite("hw2", load_student(RELEASE), parts=sorted(PARTS["broadcasting"][0]))
    for cell, result in results.items():
        speed = [w for test, w in result.weights.items() if test.endswith("_does_not_loop_over_the_points")]
        assert len(speed) == 1 and 2 * speed[0] == result.total_weight, cell


@pytest.mark.parametrize("name", FIXTURE_NAMES)
def test_fixture_scores_match_expected(name, points):
    student = load_student(FIXTURES / f"{name}.ipynb")
    scores = harness.score(harness.run_suite("hw2", student), points)
    assert scores == pytest.approx(EXPECTED[name], abs=1e-6)


def test_source_notebook_scores_all_auto_graded_points(points):
    student = load_student(SOURCE)
    assert student.load_errors == []
    assert harness.score(harness.run_suite("hw2", student), points) == points


def test_release_scores_zero_and_says_why(points):
    results = harness.run_suite("hw2", load_student(RELEASE))
    assert harness.score(results, points) == dict.fromkeys(points, 0.0)
    assert all("is not implemented yet" in m for r in results.values() for m in r.messages)


def test_failure_messages_name_no_expected_values():
    results = harness.run_suite("hw2", load_student(FIXTURES / "logsumexp_unstable.ipynb"),
                                parts=["test_logsumexp"])
    messages = results["test_logsumexp"].messages
    assert len(messages) == 2 and all("inf or nan" in m for m in messages)
    assert not any(re.search(r"\d\.\d{3,}", m) for m in messages)


# ----------------------------------------------------------------------------------- release and fixtures
def test_release_has_no_solutions_and_no_hidden_tests(source):
    text = RELEASE.read_text(encoding="utf-8")
    for secret in ("hidden_score", "BEGIN HIDDEN TESTS", "BEGIN SOLUTION", "autograder",
                   "log_det += 2.0 * np.log(L[d, d])", "Y = np.linalg.inv(L) @ R",
                   "**hard assignment** step"):
        assert secret not in text, secret
    release = _read(RELEASE)
    assert [c.id for c in release.cells] == [c.id for c in source.cells]
    for cell in release.cells:
        meta = _nbg(cell)
        if meta.get("solution") and cell.cell_type == "code":
            assert "raise NotImplementedError()" in cell.source
        if meta.get("grade") and not meta.get("solution"):
            assert meta.get("locked") and cell.metadata.get("editable") is False
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None


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
    spec = importlib.util.spec_from_file_location("make_hw2_fixtures", FIXTURES / "make_fixtures.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    built = module.build()
    assert set(built) == set(FIXTURE_NAMES)
    for name, nb in built.items():
        assert nbformat.writes(nb).rstrip("\n") == (FIXTURES / f"{name}.ipynb").read_text().rstrip("\n"), \
            f"{name}.ipynb is stale: run python autograder/fixtures/hw2/make_fixtures.py"


# ------------------------------------------------------------------------ visible tests: notebook vs. gate
def _visible_source(cell) -> str:
    return cell.source.split("### BEGIN HIDDEN TESTS")[0]


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
    """visible.CHECKS passes exactly when the notebook's own visible asserts pass (so nbgrader and the
    engine agree on which cells score 0).

    One exception: a function that writes into its arguments fails on the read-only arrays the suite passes,
    while the notebook's asserts (on writable arrays) may pass; its cell scores 0 either way, because the
    in-kernel hidden_score runs this same gate."""
    namespace, _ = load_namespace(_read(FIXTURES / f"{name}.ipynb"), name)
    student = student_from_namespace(namespace)
    for gid, cell in test_cells(source).items():
        in_notebook = _notebook_visible_passes(namespace, _visible_source(cell))
        reason = visible.failure(student, gid)
        if reason is not None and mutation_message("") in f" {reason}":
            assert EXPECTED[name][gid] == 0, f"{name}/{gid}: a function that changes its inputs scores 0"
            continue
        assert in_notebook == (reason is None), f"{name}/{gid}: notebook {in_notebook}, suite {reason}"


# ------------------------------------------------------------------------------------------- end to end
E2E = {"alice": "correct", "bob": "unchanged_release", "carol": "logsumexp_unstable"}
SUITE_SOURCE_FRAGMENTS = ("hidden_score", "BEGIN HIDDEN TESTS", "autograder.harness", "mutates_inputs",
                          "expect_close(", "ref.e_step", "def test_")


@pytest.mark.slow
def test_nbgrader_end_to_end(tmp_path, points):
    course = tmp_path / "course"
    (course / "solutions").mkdir(parents=True)
    shutil.copy(ROOT / "nbgrader_config.py", course / "nbgrader_config.py")
    shutil.copytree(ROOT / "solutions" / "hw2", course / "solutions" / "hw2")
    db = tmp_path / "gradebook.db"

    run_nbgrader(course, ["generate_assignment", "hw2", "--force"], db=db)
    generated = (course / "assignments" / "hw2" / "hw2.ipynb").read_text(encoding="utf-8")
    assert generated == RELEASE.read_text(encoding="utf-8"), \
        "assignments/hw2 is stale: run nbgrader generate_assignment hw2 --force"
    assert sorted(p.name for p in (course / "assignments" / "hw2").iterdir()) == \
        sorted(p.name for p in RELEASE.parent.iterdir())

    for student, fixture in E2E.items():
        folder = course / "submitted" / student / "hw2"
        folder.mkdir(parents=True)
        shutil.copy(FIXTURES / f"{fixture}.ipynb", folder / "hw2.ipynb")
    run_nbgrader(course, ["autograde", "hw2", "--force"], db=db)
    run_nbgrader(course, ["generate_feedback", "hw2", "--force"], db=db)

    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{db}") as gb:
        for student, fixture in E2E.items():
            got = {gid: gb.find_grade(gid, "hw2", "hw2", student).score for gid in points}
            assert got == pytest.approx(EXPECTED[fixture], abs=1e-6), student

    for student, fixture in E2E.items():
        html = (course / "feedback" / student / "hw2" / "hw2.html").read_text(encoding="utf-8")
        for fragment in SUITE_SOURCE_FRAGMENTS:
            assert fragment not in html, \
                f"{fixture}: the feedback shows hidden test source ({fragment!r}); nbgrader_config.py must " \
                "add nbgrader's ClearHiddenTests to c.GenerateFeedback.preprocessors"
    carol = (course / "feedback" / "carol" / "hw2" / "hw2.html").read_text(encoding="utf-8")
    assert "contains inf or nan" in carol  # the failed checks' messages do reach the student
