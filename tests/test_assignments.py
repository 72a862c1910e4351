"""Every assignment meets one contract: source notebook, release, hidden suite and fixtures fit together.

The assignments are discovered (:func:`autograder.assignments.discover`: ``solutions/<a>/<a>.ipynb`` with a
hidden suite ``autograder/<a>/``); what is particular to one comes from its own files, never from here: the
grade cells and points from the source notebook, the expected scores from ``expected.json``. Per assignment:

- ``hidden_score(..., points=)`` equals each test cell's nbgrader points and is the cell's last expression;
- the suite's parts are exactly the notebook's auto-graded cells;
- ``expected.json`` lists every fixture and every grade cell, and every fixture scores what it says;
- the source notebook scores all auto-graded points, the release none, and says why;
- the release holds neither solutions nor hidden tests; source and release are committed clean;
- the fixtures are the release with student code, and up to date with their builder;
- the suite's visible-test gate agrees with the notebook's own visible tests on every fixture;
- failure messages name no test code and no computed values;
- the students' visible checks (``mlcourse/checks/<a>.py``) are generated from the current notebook;
- (slow) plain ``nbgrader generate_assignment / autograde / generate_feedback`` agrees with the suite on
  every fixture, and the feedback shows no line of the hidden regions.

``test_a_new_assignment_meets_the_contract`` runs the same checks on an assignment made by
``course new-assignment`` in a temporary repository, and ``test_the_contract_catches_a_broken_assignment``
shows each check failing on that assignment broken in the way the check is about. Assignment-specific tests
(HW1's mutants, HW2's speed checks) stay in ``tests/test_hw1.py`` and ``tests/test_hw2.py``.
"""

from __future__ import annotations

import contextlib
import html
import io
import json
import re
import shutil
import sys
import tokenize
import warnings
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nbformat
import pytest

from autograder import fixture_builder, harness
from autograder.assignments import AssignmentFiles, assignment_names, discover
from autograder.cli import main
from autograder.loader import load_namespace, load_student
from autograder.plain import mutation_message
from mlcourse.build.release import ReleaseError, run_nbgrader
from mlcourse.checks import render

ROOT = Path(__file__).resolve().parents[1]
ASSIGNMENTS = {files.name: files for files in discover(ROOT)}
FIXTURES = [(name, fixture) for name, files in ASSIGNMENTS.items() for fixture in files.fixture_names()]
CLEAN_METADATA = {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
                  "language_info": {"name": "python"}}
#: How the suite's visible-test gate (autograder.harness.visible_gate) reports a cell it did not check.
GATE = "because a visible test of this cell fails ("
#: What every check says about code that is still the release's stub.
NOT_IMPLEMENTED = "not implemented yet"
#: Never in a student-facing message: the hidden suite's code and the harness's machinery.
CODE_FRAGMENTS = ("__import__", "lambda ", "def test_", "student.", "harness.", "pytest.")


def _read(path: Path) -> nbformat.NotebookNode:
    return nbformat.read(path, as_version=4)


def _nbg(cell) -> dict:
    return cell.metadata.get("nbgrader", {})


def graded_test_cells(nb) -> dict[str, nbformat.NotebookNode]:
    """Auto-graded test cells (grade, not solution) by grade id."""
    return {_nbg(c)["grade_id"]: c for c in nb.cells
            if c.cell_type == "code" and _nbg(c).get("grade") and not _nbg(c).get("solution")}


def points_of(files: AssignmentFiles) -> dict[str, float]:
    """The source notebook's auto-graded cells and their points."""
    return {gid: float(_nbg(c)["points"]) for gid, c in graded_test_cells(_read(files.source)).items()}


def _visible_source(cell) -> str:
    return cell.source.split("### BEGIN HIDDEN TESTS")[0]


_RESULTS: dict = {}


def _forget_suite_modules(files: AssignmentFiles, keep_own: bool = True) -> None:
    """Drop the imported modules of a suite named like ``files``'s from ``sys.modules`` (those of another
    temporary repository, or all of them after an edit): pytest's importlib mode would reuse them."""
    for module_name, module in list(sys.modules.items()):
        path = getattr(module, "__file__", None)
        if (module_name == files.name or module_name.startswith(f"{files.name}.")) and path and not (
                keep_own and Path(path).resolve().is_relative_to(files.suite.resolve())):
            del sys.modules[module_name]


def results_of(files: AssignmentFiles, notebook: Path) -> tuple[list[str], dict[str, harness.PartResult]]:
    """A notebook's load errors and the suite's results on it (computed once per session)."""
    key = (files.suite, notebook)
    if key not in _RESULTS:
        _forget_suite_modules(files)
        student = load_student(notebook)
        _RESULTS[key] = student.load_errors, harness.run_suite(files.suite, student)
    return _RESULTS[key]


def fixture(files: AssignmentFiles, name: str) -> Path:
    return files.fixtures / f"{name}.ipynb"


# ------------------------------------------------------------------------- the contract, one check each
def check_hidden_score_points_equal_the_cell_points(files: AssignmentFiles) -> None:
    call = re.compile(rf'^hidden_score\("{files.name}", "(\w+)", globals\(\), points=([0-9.]+)\)$', re.M)
    cells = graded_test_cells(_read(files.source))
    assert cells, f"{files.source} has no auto-graded test cell"
    for gid, cell in cells.items():
        calls = call.findall(cell.source)
        assert len(calls) == 1, f"{gid}: expected exactly one hidden_score({files.name!r}, {gid!r}, ...) call"
        part, pts = calls[0]
        assert part == gid, f"{gid}: hidden_score scores part {part!r}"
        assert float(pts) == float(_nbg(cell)["points"]), f"{gid}: points= differs from the cell's points"
        visible_part, hidden = cell.source.split("### BEGIN HIDDEN TESTS")
        assert hidden.rstrip().endswith(f"points={pts})\n### END HIDDEN TESTS"), \
            f"{gid}: hidden_score must be the cell's last expression (nbgrader reads it as partial credit)"
        assert "hidden_score" not in visible_part


def check_every_grade_cell_has_hidden_tests_and_vice_versa(files: AssignmentFiles) -> None:
    _, results = results_of(files, files.release)
    assert set(results) == set(points_of(files))
    assert all(r.total_weight > 0 for r in results.values())


def check_expected_json_lists_every_fixture_and_grade_cell(files: AssignmentFiles) -> None:
    expected, points = files.expected(), points_of(files)
    assert set(expected) == set(files.fixture_names())
    for name, scores in expected.items():
        assert set(scores) == set(points), name
        assert all(0 <= scores[c] <= points[c] for c in points), name
    assert expected["correct"] == points
    assert not any(expected["unchanged_release"].values())


def check_fixture_scores_match_expected(files: AssignmentFiles, name: str) -> None:
    errors, results = results_of(files, fixture(files, name))
    assert errors == [], errors
    assert harness.score(results, points_of(files)) == pytest.approx(files.expected()[name], abs=1e-6)


def check_source_notebook_scores_all_auto_graded_points(files: AssignmentFiles) -> None:
    errors, results = results_of(files, files.source)
    assert errors == []
    points = points_of(files)
    assert harness.score(results, points) == points


def check_release_scores_zero_and_says_why(files: AssignmentFiles) -> None:
    _, results = results_of(files, files.release)
    assert harness.score(results, points_of(files)) == dict.fromkeys(points_of(files), 0.0)
    for cell, result in results.items():  # the reason in each cell's first message, the others point to it
        first, *others = result.messages
        assert NOT_IMPLEMENTED in first, (cell, first)
        pointers = [m for m in others if NOT_IMPLEMENTED not in m]
        assert all(m.endswith("(the one named above)") for m in pointers), (cell, pointers)


def _solution_lines(source: nbformat.NotebookNode) -> set[str]:
    """Lines of the solution regions that appear nowhere else in the source notebook."""
    inside, outside = set(), set()
    for cell in source.cells:
        for body in fixture_builder.REGION.findall(cell.source):
            inside |= {line.strip() for line in body.splitlines() if len(line.strip()) >= 10}
        outside |= {line.strip() for line in fixture_builder.REGION.sub("", cell.source).splitlines()}
    return inside - outside


def check_release_has_no_solutions_and_no_hidden_tests(files: AssignmentFiles) -> None:
    source, release = _read(files.source), _read(files.release)
    text = files.release.read_text(encoding="utf-8")
    for secret in ("hidden_score", "BEGIN HIDDEN TESTS", "BEGIN SOLUTION", "autograder"):
        assert secret not in text, secret
    released_lines = {line.strip() for cell in release.cells for line in cell.source.splitlines()}
    assert not _solution_lines(source) & released_lines, "the release shows lines of the solutions"
    assert [c.id for c in release.cells] == [c.id for c in source.cells]
    for cell in release.cells:
        meta = _nbg(cell)
        if meta.get("solution") and cell.cell_type == "code":
            assert "raise NotImplementedError()" in cell.source, cell.id
        if (meta.get("grade") and not meta.get("solution")) or meta.get("locked"):
            assert cell.metadata.get("editable") is False, cell.id
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, cell.id
    assert release.metadata == CLEAN_METADATA


def check_source_notebook_is_committed_clean(files: AssignmentFiles) -> None:
    source = _read(files.source)
    for cell in source.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, cell.id
    assert source.metadata == CLEAN_METADATA


def check_fixtures_are_the_release_with_student_code(files: AssignmentFiles) -> None:
    release = _read(files.release)
    for name in files.fixture_names():
        nb = _read(fixture(files, name))
        assert [c.id for c in nb.cells] == [c.id for c in release.cells], name
        for mine, theirs in zip(nb.cells, release.cells, strict=True):
            assert mine.metadata == theirs.metadata, (name, mine.id)
            if not _nbg(theirs).get("solution"):
                assert mine.source == theirs.source, (name, mine.id)
    assert _read(fixture(files, "unchanged_release")) == release


def check_fixtures_are_up_to_date(files: AssignmentFiles) -> None:
    """The committed fixtures are exactly what the shared builder makes of ``fixtures.json``."""
    assert fixture_builder.stale(files) == [], f"run: course fixtures {files.name}"


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


def check_the_suite_replays_the_notebooks_visible_tests(files: AssignmentFiles, name: str) -> None:
    """The suite's gate stops a cell exactly when the notebook's own visible asserts fail (so nbgrader and the
    engine agree on which cells score 0). One exception: a function that writes into its arguments fails on
    the read-only arrays the suite passes, while the notebook's asserts (on writable arrays) may pass; its
    cell must then score 0, because the in-kernel hidden_score runs this same gate."""
    namespace, _ = load_namespace(_read(fixture(files, name)), name)
    _, results = results_of(files, fixture(files, name))
    for gid, cell in graded_test_cells(_read(files.source)).items():
        in_notebook = _notebook_visible_passes(namespace, _visible_source(cell))
        stopped = [m for m in results[gid].messages if GATE in m]
        if stopped and in_notebook and mutation_message("") in f" {stopped[0]}":
            assert files.expected()[name][gid] == 0, \
                f"{name}/{gid}: a function that changes its inputs scores 0"
            continue
        assert in_notebook == (not stopped), f"{name}/{gid}: notebook {in_notebook}, suite {stopped[:1]}"


SKIPPED_TOKENS = {tokenize.STRING, tokenize.COMMENT, tokenize.ENCODING, tokenize.NL, tokenize.NEWLINE,
                  tokenize.INDENT, tokenize.DEDENT, tokenize.ENDMARKER,
                  *(getattr(tokenize, t) for t in ("FSTRING_START", "FSTRING_MIDDLE", "FSTRING_END")
                    if hasattr(tokenize, t))}


def _suite_code_lines(suite: Path) -> set[str]:
    """Code lines of the hidden suite, strings and comments removed (at least 20 characters)."""
    lines = set()
    for path in suite.rglob("*.py"):
        kept: dict[int, list[str]] = {}
        with path.open("rb") as handle:
            for tok in tokenize.tokenize(handle.readline):
                if tok.type in SKIPPED_TOKENS:
                    continue
                kept.setdefault(tok.start[0], []).append(tok.string)
        lines |= {" ".join(parts) for parts in kept.values() if len(" ".join(parts)) >= 20}
    return lines


def check_failure_messages_show_no_test_code_or_computed_values(files: AssignmentFiles) -> None:
    messages = [m for name in files.fixture_names()
                for r in results_of(files, fixture(files, name))[1].values() for m in r.messages]
    assert messages
    code = _suite_code_lines(files.suite)
    for message in messages:
        hidden = message.split(GATE)[0]  # the gate quotes the visible tests' own (public) message
        spaced = " ".join(re.findall(r"\w+|[^\w\s]", hidden))  # tokens, spaced as _suite_code_lines does
        for fragment in (*CODE_FRAGMENTS, *code):
            assert fragment not in hidden and fragment not in spaced, (fragment, message)
        assert not re.search(r"\d\.\d{4,}", hidden), message


def check_the_visible_checks_module_is_up_to_date(files: AssignmentFiles) -> None:
    assert files.checks.is_file(), f"{files.checks} is missing: run python -m mlcourse.checks"
    current = render(files.name, json.loads(files.source.read_text(encoding="utf-8")))
    assert files.checks.read_text(encoding="utf-8") == current, \
        f"{files.checks.name} is stale: run python -m mlcourse.checks"


#: The per-assignment checks, and the per-fixture ones.
CONTRACT: tuple[Callable[[AssignmentFiles], None], ...] = (
    check_hidden_score_points_equal_the_cell_points,
    check_every_grade_cell_has_hidden_tests_and_vice_versa,
    check_expected_json_lists_every_fixture_and_grade_cell,
    check_source_notebook_scores_all_auto_graded_points,
    check_release_scores_zero_and_says_why, check_release_has_no_solutions_and_no_hidden_tests,
    check_source_notebook_is_committed_clean, check_fixtures_are_the_release_with_student_code,
    check_fixtures_are_up_to_date, check_failure_messages_show_no_test_code_or_computed_values,
    check_the_visible_checks_module_is_up_to_date)
PER_FIXTURE: tuple[Callable[[AssignmentFiles, str], None], ...] = (
    check_fixture_scores_match_expected, check_the_suite_replays_the_notebooks_visible_tests)


# ---------------------------------------------------------------- the repository's assignments
@pytest.mark.parametrize("check", CONTRACT, ids=lambda c: c.__name__.removeprefix("check_"))
@pytest.mark.parametrize("name", sorted(ASSIGNMENTS))
def test_contract(name, check):
    check(ASSIGNMENTS[name])


@pytest.mark.parametrize("check", PER_FIXTURE, ids=lambda c: c.__name__.removeprefix("check_"))
@pytest.mark.parametrize(("name", "fixture_name"), FIXTURES, ids=[f"{a}/{f}" for a, f in FIXTURES])
def test_fixture_contract(name, fixture_name, check):
    check(ASSIGNMENTS[name], fixture_name)


def test_discovery_needs_the_source_notebook_and_a_hidden_suite(tmp_path):
    def make(*paths: str) -> None:
        for rel in paths:
            (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
            (tmp_path / rel).write_text("")

    make("solutions/hw1/hw1.ipynb", "autograder/hw1/test_a.py",  # an assignment
         "solutions/hw2/hw2.ipynb",  # no hidden suite
         "solutions/hw3/other.ipynb", "autograder/hw3/test_a.py",  # the notebook has another name
         "autograder/hw4/test_a.py",  # no source notebook
         "solutions/hw5/hw5.ipynb", "autograder/hw5/conftest.py",  # a suite without tests
         "solutions/Hw6/Hw6.ipynb", "autograder/Hw6/test_a.py")  # not an assignment id
    assert assignment_names(tmp_path) == ["hw1"]
    assert assignment_names(tmp_path / "nowhere") == []
    assert set(ASSIGNMENTS) == set(assignment_names()) and ASSIGNMENTS, "the repository has assignments"


# ---------------------------------------------------------------- a new assignment, from the scaffold
@pytest.fixture(scope="module")
def scaffolded(tmp_path_factory) -> AssignmentFiles:
    root = tmp_path_factory.mktemp("repo")
    shutil.copy(ROOT / "nbgrader_config.py", root / "nbgrader_config.py")
    assert main(["new-assignment", "hw9", "--root", str(root), "--title", "Homework 9 - scaling"]) == 0
    return AssignmentFiles("hw9", root)


def test_a_new_assignment_meets_the_contract(scaffolded):
    assert assignment_names(scaffolded.root) == ["hw9"]
    assert scaffolded.fixture_names() == ["correct", "scale_adds_the_factor", "scale_ignores_the_sign",
                                          "unchanged_release"]
    for check in CONTRACT:
        check(scaffolded)
    for name in scaffolded.fixture_names():
        for check in PER_FIXTURE:
            check(scaffolded, name)
    assert "# Homework 9 - scaling" in scaffolded.source.read_text()


def test_a_new_assignment_is_a_few_files_to_edit_and_the_rest_generated(scaffolded):
    root = scaffolded.root
    made = sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()
                  and p.name != "nbgrader_config.py" and "__pycache__" not in p.parts)
    assert made == ["assignments/hw9/hw9.ipynb", "autograder/fixtures/hw9/correct.ipynb",
                    "autograder/fixtures/hw9/expected.json", "autograder/fixtures/hw9/fixtures.json",
                    "autograder/fixtures/hw9/scale_adds_the_factor.ipynb",
                    "autograder/fixtures/hw9/scale_ignores_the_sign.ipynb",
                    "autograder/fixtures/hw9/unchanged_release.ipynb", "autograder/hw9/__init__.py",
                    "autograder/hw9/conftest.py", "autograder/hw9/test_scale.py",
                    "solutions/hw9/hw9.ipynb", "src/mlcourse/checks/hw9.py"]


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, (path, old)
    path.write_text(text.replace(old, new), encoding="utf-8")


def _release_with_the_solution(files: AssignmentFiles) -> None:
    release = _read(files.release)
    for cell in release.cells:
        cell.source = cell.source.replace("# YOUR CODE HERE\n    raise NotImplementedError()",
                                          "return np.asarray(x, dtype=float) * factor")
    nbformat.write(release, files.release)


#: A break of the scaffolded assignment -> the check that must then fail.
BREAKS: dict[str, tuple[Callable[[AssignmentFiles], None], Callable[[AssignmentFiles], None]]] = {
    "hidden_score's points differ from the cell's": (
        lambda f: _edit(f.source, "points=10)", "points=5)"),
        check_hidden_score_points_equal_the_cell_points),
    "a test scores into a cell that does not exist": (
        lambda f: _edit(f.suite / "test_scale.py", 'part("test_scale")\ndef test_leaves',
                        'part("test_other")\ndef test_leaves'),
        check_every_grade_cell_has_hidden_tests_and_vice_versa),
    "expected.json is wrong about a fixture": (
        lambda f: _edit(f.fixtures / "expected.json", '"scale_adds_the_factor": {\n    "test_scale": 0.0',
                        '"scale_adds_the_factor": {\n    "test_scale": 10.0'),
        lambda f: check_fixture_scores_match_expected(f, "scale_adds_the_factor")),
    "a message shows a computed value": (
        lambda f: _edit(f.suite / "test_scale.py", 'is wrong for an array of shape {shape}"',
                        'should be {x * factor}"'),
        check_failure_messages_show_no_test_code_or_computed_values),
    "the release shows the solution": (
        _release_with_the_solution, check_release_has_no_solutions_and_no_hidden_tests),
    "a fixture is stale": (
        lambda f: _edit(f.fixtures / fixture_builder.SPEC, '"np.asarray(x, dtype=float) + factor"',
                        '"np.asarray(x, dtype=float) - factor"'),
        check_fixtures_are_up_to_date),
    "the suite has no visible-test gate": (
        lambda f: (f.suite / "conftest.py").write_text('"""No gate."""\n'),
        lambda f: check_the_suite_replays_the_notebooks_visible_tests(f, "scale_adds_the_factor")),
    "the visible checks are stale": (
        lambda f: _edit(f.source, "should double every entry", "should double each entry"),
        check_the_visible_checks_module_is_up_to_date),
}


@pytest.mark.parametrize("what", list(BREAKS))
def test_the_contract_catches_a_broken_assignment(what, scaffolded, tmp_path):
    files = AssignmentFiles("hw9", tmp_path / "repo")
    shutil.copytree(scaffolded.root, files.root, ignore=shutil.ignore_patterns("__pycache__"))
    brk, check = BREAKS[what]
    check(files)  # holds before the break
    brk(files)
    _RESULTS.clear()
    _forget_suite_modules(files, keep_own=False)
    with pytest.raises(AssertionError):
        check(files)


def test_new_assignment_refuses_a_taken_or_invalid_name(scaffolded, tmp_path, capsys):
    before = sorted(p for p in scaffolded.root.rglob("*") if "__pycache__" not in p.parts)
    assert main(["new-assignment", "hw9", "--root", str(scaffolded.root)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["course new-assignment: assignment 'hw9' exists already (solutions/hw9, autograder/hw9, "
                   "autograder/fixtures/hw9, assignments/hw9, src/mlcourse/checks/hw9.py); choose another "
                   "name"]
    for bad in ("Hw3", "3hw", "hw-3", "", "engine"):
        assert main(["new-assignment", bad, "--root", str(scaffolded.root)]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and f"invalid assignment name {bad!r}" in err[0], err
    assert sorted(p for p in scaffolded.root.rglob("*") if "__pycache__" not in p.parts) == before
    assert main(["new-assignment", "hw8", "--root", str(tmp_path)]) == 2
    assert "is not the course repository (no nbgrader_config.py there)" in capsys.readouterr().err
    assert not any(tmp_path.iterdir())


def test_course_fixtures_rebuilds_what_fixtures_json_declares(scaffolded, capsys):
    files = scaffolded
    assert main(["fixtures", "hw9", "--check", "--root", str(files.root)]) == 0
    spec_path = files.fixtures / fixture_builder.SPEC
    original = spec_path.read_text()
    try:
        spec = json.loads(original)
        spec["bugs"]["scale_squares"] = {"scale": [["* factor", "* factor ** 2"]]}
        spec_path.write_text(json.dumps(spec))
        assert main(["fixtures", "hw9", "--check", "--root", str(files.root)]) == 1
        assert capsys.readouterr().out.strip() == "scale_squares.ipynb is missing"
        spec["bugs"]["scale_squares"] = {"scale": [["no such code", "x"]]}
        spec_path.write_text(json.dumps(spec))
        assert main(["fixtures", "hw9", "--root", str(files.root)]) == 2
        assert "fixture scale_squares, cell scale: the solution does not contain 'no such code' exactly " \
               "once" in capsys.readouterr().err
    finally:
        spec_path.write_text(original)
    assert main(["fixtures", "hw7", "--root", str(files.root)]) == 2
    assert "unknown assignment 'hw7' (known assignments: hw9)" in capsys.readouterr().err


# ---------------------------------------------------------------- plain nbgrader, end to end (slow)
HIDDEN_REGION = re.compile(r"^[ \t]*### BEGIN HIDDEN TESTS\n(.*?)^[ \t]*### END HIDDEN TESTS", re.S | re.M)


def hidden_lines(source: nbformat.NotebookNode) -> set[str]:
    """The lines inside the source notebook's hidden regions (the markers themselves excluded)."""
    return {line.strip() for cell in source.cells for body in HIDDEN_REGION.findall(cell.source)
            for line in body.splitlines() if line.strip()}


def _masked(text: str) -> str:
    """``text`` with every number replaced by ``#``."""
    return re.sub(r"\d+(?:\.\d+)?", "#", text)


def _autograde(course: Path, name: str, db: Path) -> None:
    """``nbgrader autograde`` then ``generate_feedback`` in ``course``."""
    try:
        run_nbgrader(course, ["autograde", name, "--force"], db=db, timeout=3600)
    except ReleaseError as exc:
        # jupyter_client picks a free TCP port, then the kernel binds it: another process may take it in
        # between ("Address already in use"); that kernel start failed, not our grading: run nbgrader again
        if "Address already in use" not in str(exc):
            raise
        run_nbgrader(course, ["autograde", name, "--force"], db=db, timeout=3600)
    run_nbgrader(course, ["generate_feedback", name, "--force"], db=db)


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(ASSIGNMENTS))
def test_nbgrader_autograde_agrees_with_the_suite_on_every_fixture(name, tmp_path):
    files = ASSIGNMENTS[name]
    students = {re.sub(r"[^A-Za-z0-9]", "", f): f for f in files.fixture_names()}
    # two plain nbgrader courses, half of the students each, graded at the same time (one per core)
    halves = [dict(list(students.items())[i::2]) for i in range(2)]
    courses = [(tmp_path / f"course{i}", tmp_path / f"gradebook{i}.db") for i in range(2)]
    for (course, db), half in zip(courses, halves, strict=True):
        (course / "solutions").mkdir(parents=True)
        shutil.copy(ROOT / "nbgrader_config.py", course / "nbgrader_config.py")
        shutil.copytree(files.source.parent, course / "solutions" / name)
        run_nbgrader(course, ["generate_assignment", name, "--force"], db=db)
        generated = course / "assignments" / name
        assert (generated / files.release.name).read_text(encoding="utf-8") == \
            files.release.read_text(encoding="utf-8"), f"assignments/{name} is stale: run generate_assignment"
        assert sorted(p.name for p in generated.iterdir()) == \
            sorted(p.name for p in files.release.parent.iterdir())
        for student, fixture_name in half.items():
            folder = course / "submitted" / student / name
            folder.mkdir(parents=True)
            shutil.copy(fixture(files, fixture_name), folder / files.source.name)
    with ThreadPoolExecutor(2) as pool:
        list(pool.map(lambda cd: _autograde(cd[0], name, cd[1]), courses))

    from nbgrader.api import Gradebook

    expected, points = files.expected(), points_of(files)
    home = {}
    for (course, db), half in zip(courses, halves, strict=True):
        with Gradebook(f"sqlite:///{db}") as gb:
            for student, fixture_name in half.items():
                got = {gid: gb.find_grade(gid, files.source.stem, name, student).score for gid in points}
                assert got == pytest.approx(expected[fixture_name], abs=1e-6), fixture_name
                home[student] = course
    secrets = {*hidden_lines(_read(files.source)), "autograder.harness", "def test_", "BEGIN HIDDEN TESTS"}
    assert any("hidden_score" in line for line in secrets)
    for student, fixture_name in students.items():
        page = (home[student] / "feedback" / student / name / f"{files.source.stem}.html").read_text("utf-8")
        text = html.unescape(re.sub(r"<[^>]+>", "", page))
        for secret in secrets:
            assert secret not in text, f"{fixture_name}: the feedback shows hidden test source {secret!r}"
        # what the hidden tests found reaches the student: each failing check's own message (a cell whose
        # visible tests fail shows their assert instead: the hidden region never runs in nbgrader)
        for gid, result in results_of(files, fixture(files, fixture_name))[1].items():
            shown = [m for m in result.messages if GATE not in m]
            if shown and expected[fixture_name][gid] < points[gid]:
                # measured numbers (a speed ratio) differ between two runs: compare the words around them
                assert any(_masked(m)[:60] in _masked(text) for m in shown), \
                    f"{fixture_name}/{gid}: no message of {shown}"
