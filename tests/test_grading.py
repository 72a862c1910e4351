"""``course grade`` end to end: a toy course (fast), and the HW1/HW2 demo submissions vs expected.json."""

from __future__ import annotations

import csv
import html
import io
import json
import re
import sqlite3
import subprocess
import sys
import textwrap
import tokenize
import zipfile
from pathlib import Path

import pytest

from autograder.assignments import AssignmentFiles, assignment_names
from autograder.cli import main

ROOT = Path(__file__).resolve().parents[1]
SECRET = "7319.25"  # an expected value that only the hidden suite knows

SUITE = f'''
import numpy as np
import pytest


@pytest.mark.part("test_double")
def test_double_values(student):
    """double doubles its input"""
    x = np.arange(4.0)
    assert np.array_equal(student.double(x), x + x), "double(x) should return 2 * x elementwise"


@pytest.mark.part("test_double", weight=3)
def test_double_keeps_shape(student):
    """double keeps the shape"""
    assert np.shape(student.double(np.ones((2, 3)))) == (2, 3), "double(x) should keep the shape of x"


@pytest.mark.part("test_square")
def test_square_secret(student):
    """square squares"""
    hidden_expected_value = {SECRET}
    assert np.isclose(student.square(np.sqrt(hidden_expected_value)), hidden_expected_value)
'''

STUB = "    # YOUR CODE HERE\n    raise NotImplementedError()"


def _cell(source: str, kind: str = "code", **nbgrader) -> dict:
    meta = {"nbgrader": {"schema_version": 3, "locked": False, **nbgrader}} if nbgrader else {}
    cell = {"cell_type": kind, "id": nbgrader.get("grade_id", f"c{abs(hash(source)) % 10**8}"),
            "metadata": meta, "source": source}
    if kind == "code":
        cell.update(outputs=[], execution_count=None)
    return cell


def _notebook(cells: list[dict]) -> dict:
    return {"nbformat": 4, "nbformat_minor": 5, "cells": cells,
            "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}}}


def toy_notebook(double: str, square: str, extra: str | None = None, hidden: bool = False) -> dict:
    hidden_double = ("\n### BEGIN HIDDEN TESTS\nfrom autograder.harness import hidden_score\n"
                     "hidden_score('toy', 'test_double', globals(), points=4)\n### END HIDDEN TESTS"
                     ) if hidden else ""
    cells = [
        _cell("import numpy as np", grade_id="setup", grade=False, solution=False, locked=True),
        _cell(f"def double(x):\n{double}", grade_id="double", grade=False, solution=True),
        _cell("assert np.shape(double(np.ones(2))) == (2,)" + hidden_double, grade_id="test_double",
              grade=True, solution=False, locked=True, points=4),
        _cell(f"def square(x):\n{square}", grade_id="square", grade=False, solution=True),
        _cell("assert square(2.0) == 4.0", grade_id="test_square", grade=True, solution=False, locked=True,
              points=2),
        _cell("Explain.", "markdown", grade_id="explain", grade=True, solution=True, points=1),
    ]
    if extra:
        cells.insert(1, _cell(extra))
    return _notebook(cells)


STUDENTS = {
    "alice": toy_notebook("    return 2 * x", "    return x * x"),
    "bob": toy_notebook("    return np.asarray(x) + 1", "    return x * x"),  # right shape only: 3 of 4
    "carol": toy_notebook("    return 2 * x", "    while True:\n        pass",
                          extra="import os\nos._exit(1)"),
    "dave": toy_notebook(STUB, STUB),
}


def toy_assignment(base: Path) -> tuple[Path, Path]:
    """Write the toy assignment's source notebook and hidden suite under ``base``; return both folders."""
    source = base / "solutions" / "toy"
    source.mkdir(parents=True)
    solution = toy_notebook("    ### BEGIN SOLUTION\n    return 2 * x\n    ### END SOLUTION",
                            "    ### BEGIN SOLUTION\n    return x * x\n    ### END SOLUTION", hidden=True)
    (source / "toy.ipynb").write_text(json.dumps(solution, indent=1))
    suite = base / "suite" / "toy"
    suite.mkdir(parents=True)
    (suite / "test_toy.py").write_text(textwrap.dedent(SUITE))
    return source, suite


@pytest.fixture(scope="module")
def toy(tmp_path_factory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("toy")
    source, suite = toy_assignment(base)
    subs = base / "submissions"
    subs.mkdir()
    for name, nb in STUDENTS.items():
        (subs / f"{name}.ipynb").write_text(json.dumps(nb, indent=1))
    return {"base": base, "source": source, "suite": suite, "subs": subs}


def grade(toy: dict[str, Path], out: Path, *extra: str, submissions: Path | None = None) -> int:
    return main(["grade", "toy", str(submissions or toy["subs"]), "--out", str(out),
                 "--source", str(toy["source"]), "--suite", str(toy["suite"]), "--call-timeout", "1",
                 "--cell-timeout", "2", *extra])


def rows(out: Path) -> dict[str, dict[str, str]]:
    with (out / "grades.csv").open(newline="") as handle:
        return {row["student_id"]: row for row in csv.DictReader(handle)}


def code_lines(folder: Path) -> list[str]:
    """The code of a suite's files with strings and comments removed (what must never reach a student)."""
    lines = []
    for path in sorted(folder.glob("*.py")):
        tokens = tokenize.generate_tokens(io.StringIO(path.read_text()).readline)
        by_line: dict[int, list[str]] = {}
        for tok in tokens:
            if tok.type in (tokenize.STRING, tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT,
                            tokenize.DEDENT, tokenize.ENDMARKER):
                continue
            by_line.setdefault(tok.start[0], []).append(tok.string)
        for parts in by_line.values():
            text = " ".join(parts)
            if len(parts) >= 4 and len(text) >= 20 and not text.startswith(("import", "from", "def test_")):
                lines.append(text)
    return lines


def visible_text(page: str) -> str:
    """A feedback page as plain text with normalised whitespace (no markup, styles or scripts)."""
    page = re.sub(r"(?s)<(style|script)\b.*?</\1>", " ", page)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


def test_a_toy_batch_end_to_end(toy, tmp_path, capsys):
    out = tmp_path / "out"
    assert grade(toy, out, "--workers", "2") == 0
    err = capsys.readouterr().err
    assert "ETA" in err and "4 submissions, 4 graded, 0 failed to run" in err
    table = rows(out)
    assert {s: (r["status"], r["score"], r["test_double"], r["test_square"]) for s, r in table.items()} == {
        "alice": ("graded", "6", "4", "2"), "bob": ("graded", "5", "3", "2"),
        "carol": ("graded", "4", "4", "0"), "dave": ("graded", "0", "0", "0")}
    assert table["carol"]["reason"].startswith(
        "cell 1 ended the grading process (exit code 1); it was skipped")
    assert table["alice"]["reason"] == "" and table["alice"]["max_score"] == "6"
    assert table["dave"]["reason"].startswith("test_double: double is not implemented yet")

    result = json.loads((out / "bob" / "results.json").read_text())
    assert result["score"] == 5 and result["max_score"] == 6
    assert sum(t["score"] for t in result["tests"]) == 5
    failed = [t for t in result["tests"] if t["status"] == "failed"]
    assert [(t["name"], t["output"], t["max_score"]) for t in failed] == [
        ("test_double: double values", "double(x) should return 2 * x elementwise", 1)]

    # The gradebook holds the engine's scores (and the hand-graded cell is left for formgrader).
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{out / 'gradebook.db'}", "mlcourse") as gb:
        grades = {(s, c): gb.find_grade(c, "toy", "toy", s).auto_score
                  for s in STUDENTS for c in ("test_double", "test_square")}
        assert gb.find_grade("explain", "toy", "toy", "alice").needs_manual_grade
    assert grades[("bob", "test_double")] == 3 and grades[("carol", "test_square")] == 0
    assert grades[("alice", "test_square")] == 2

    # Feedback: pass/fail lines of the hidden tests, never their code, expected values or hidden regions.
    secret_code = code_lines(toy["suite"])
    assert secret_code, "the suite should have code lines to look for"
    for student in STUDENTS:
        page = (out / "feedback" / student / "toy" / "toy.html").read_text()
        text = visible_text(page)
        assert "Autograder summary" in text
        for line in secret_code:
            assert " ".join(line.split()) not in text, (student, line)
        assert SECRET not in page and "hidden_score" not in page and "HIDDEN TESTS" not in page
    bob = visible_text((out / "feedback" / "bob" / "toy" / "toy.html").read_text())
    assert "✗ double(x) should return 2 * x elementwise" in bob and "✓ double keeps shape" in bob
    carol = visible_text((out / "feedback" / "carol" / "toy" / "toy.html").read_text())
    # the CPU limit stops it, or (on a machine so loaded that 1 CPU-second takes longer than the wall-clock
    # deadline) the wall-clock limit: either way one line naming the function
    stopped = r"square did not finish within its time limit \(1 s of CPU time\) and was stopped"
    assert re.search(stopped, carol), carol
    assert "cell 1 ended the grading process" in carol
    summary = (out / "summary.txt").read_text()
    assert "mean score 3.75/6" in summary
    timings = json.loads((out / "timings.json").read_text())
    assert set(timings["phase_seconds_total"]) >= {"kernel_start", "execution", "hidden_tests", "gradebook"}


def test_results_do_not_depend_on_the_worker_count_or_on_dask(toy, tmp_path):
    from distributed import LocalCluster

    outputs = {}
    for label, extra in [("one", ["--workers", "1"]), ("two", ["--workers", "2"])]:
        outputs[label] = tmp_path / label
        assert grade(toy, outputs[label], "--no-nbgrader", "--quiet", *extra) == 0
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        outputs["dask"] = tmp_path / "dask"
        assert grade(toy, outputs["dask"], "--no-nbgrader", "--quiet", "--scheduler",
                     cluster.scheduler_address) == 0
    files = {label: {p.relative_to(out).as_posix(): p.read_bytes()
                     for p in sorted(out.rglob("*")) if p.name in ("grades.csv", "results.json")}
             for label, out in outputs.items()}
    assert len(files["one"]) == 5
    assert files["one"] == files["two"] == files["dask"]


def test_zip_and_nbgrader_layouts_and_a_custom_gradebook(toy, tmp_path):
    archive = tmp_path / "export.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("submission_1/toy.ipynb", json.dumps(STUDENTS["alice"]))
        zf.writestr("submission_2/nested/mine.ipynb", json.dumps(STUDENTS["bob"]))
    db = tmp_path / "elsewhere" / "course.db"
    out = tmp_path / "zip"
    assert grade(toy, out, "--quiet", "--db-url", f"sqlite:///{db}", "--no-feedback",
                 submissions=archive) == 0
    assert {s: r["score"] for s, r in rows(out).items()} == {"submission_1": "6", "submission_2": "5"}
    assert db.is_file() and not (out / "gradebook.db").exists()

    course = tmp_path / "course" / "submitted"
    (course / "erin" / "toy").mkdir(parents=True)
    (course / "erin" / "toy" / "toy.ipynb").write_text(json.dumps(STUDENTS["alice"]))
    (course / "erin" / "toy" / "timestamp.txt").write_text("2030-01-01 12:00:00.000000 UTC\n")
    (course / "frank" / "toy").mkdir(parents=True)
    (course / "frank" / "toy" / "notes.txt").write_text("forgot the notebook")
    (course / "gina" / "toy").mkdir(parents=True)
    (course / "gina" / "toy" / "toy.ipynb").write_text('{"cells": [')
    out = tmp_path / "course-out"
    assert grade(toy, out, "--quiet", "--db-url", f"sqlite:///{db}", submissions=course.parent) == 1
    table = rows(out)
    assert (table["erin"]["score"], table["frank"]["status"], table["gina"]["status"]) == \
        ("6", "failed", "failed")
    assert table["frank"]["reason"] == "notebook toy.ipynb is missing"
    assert table["gina"]["reason"].startswith("toy.ipynb is not a valid notebook (not JSON")
    for student in ("frank", "gina"):  # failed submissions still get feedback with their reason
        assert table[student]["reason"] in html.unescape(
            (out / "feedback" / student / "toy" / "toy.html").read_text())
    with sqlite3.connect(db) as con:
        students = {s for (s,) in con.execute("SELECT student_id FROM submitted_assignment")}
    assert students >= {"submission_1", "submission_2", "erin", "frank", "gina"}


def test_concurrent_runs_share_one_sqlite_gradebook_safely(toy, tmp_path):
    """Two ``course grade`` runs at once on one SQLite gradebook (e.g. two sections graded in parallel):
    both create the assignment, both write their students; nothing is lost and neither run fails."""
    db = tmp_path / "shared" / "gradebook.db"
    procs = []
    for section, students in (("a", ("alice", "bob")), ("b", ("carol", "dave"))):
        folder = tmp_path / f"section-{section}"
        folder.mkdir()
        for student in students:
            (folder / f"{student}.ipynb").write_text(json.dumps(STUDENTS[student]))
        procs.append(subprocess.Popen(
            [sys.executable, "-m", "autograder.cli", "grade", "toy", str(folder), "--out",
             str(tmp_path / f"out-{section}"), "--source", str(toy["source"]), "--suite", str(toy["suite"]),
             "--db-url", f"sqlite:///{db}", "--call-timeout", "1", "--cell-timeout", "2", "--workers", "1",
             "--no-feedback", "--quiet"],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True))
    for proc in procs:
        output, _ = proc.communicate(timeout=300)
        assert proc.returncode == 0, output
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{db}", "mlcourse") as gb:
        assert len(gb.find_assignment("toy").notebooks[0].grade_cells) == 3
        totals = {s: gb.find_submission("toy", s).score for s in STUDENTS}
    assert totals == {"alice": 6, "bob": 5, "carol": 4, "dave": 0}


def test_a_gradebook_failing_mid_batch_loses_no_grades(toy, tmp_path, monkeypatch):
    from autograder.engine.gradebook import Bookkeeper

    record = Bookkeeper.record

    def flaky(self, result, timestamp=None, **kwargs):
        if result.student == "bob":
            raise ConnectionError("server closed the connection unexpectedly\nmore detail")
        return record(self, result, timestamp, **kwargs)

    monkeypatch.setattr(Bookkeeper, "record", flaky)
    out = tmp_path / "out"
    assert grade(toy, out, "--quiet", "--no-feedback", "--workers", "1") == 1  # bob is not in the gradebook
    scores = {s: r["score"] for s, r in rows(out).items()}
    assert scores == {"alice": "6", "bob": "5", "carol": "4", "dave": "0"}
    assert json.loads((out / "bob" / "results.json").read_text())["score"] == 5
    assert "warning: bob: not recorded in the gradebook (ConnectionError: server closed the connection " \
           "unexpectedly)\n" in (out / "summary.txt").read_text()
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{out / 'gradebook.db'}", "mlcourse") as gb:
        recorded = sorted(s.student.id for s in gb.find_assignment("toy").submissions)
    assert recorded == ["alice", "carol", "dave"]


def test_bad_arguments_are_clear(toy, tmp_path, capsys):
    assert grade(toy, tmp_path / "o", submissions=tmp_path / "nowhere") == 2
    assert "no submissions at" in capsys.readouterr().err
    assert main(["grade", "nosuch", str(toy["subs"]), "--out", str(tmp_path / "o"), "--quiet"]) == 2
    assert "unknown assignment 'nosuch'" in capsys.readouterr().err
    url = "postgresql://grader:hunter2@127.0.0.1:1/course"  # no server there (and perhaps no driver)
    assert grade(toy, tmp_path / "o", "--quiet", "--db-url", url) == 2
    err = capsys.readouterr().err
    assert "course grade: the gradebook postgresql://grader:***@127.0.0.1:1/course cannot be used" in err
    assert "hunter2" not in err and "--no-nbgrader" in err


def test_changed_grade_cells_after_grading_stop_with_nbgraders_reason_and_keep_every_grade(toy, tmp_path,
                                                                                            capsys):
    """nbgrader never adds or removes cells of an assignment with submissions: the run stops before grading,
    quotes nbgrader's reason (not a generic "gradebook cannot be used") and says how to go on."""
    subs = tmp_path / "subs"
    subs.mkdir()
    (subs / "alice.ipynb").write_text(json.dumps(STUDENTS["alice"]))
    out = tmp_path / "out"
    assert grade(toy, out, "--quiet", submissions=subs) == 0
    before = (out / "grades.csv").read_text()
    with sqlite3.connect(out / "gradebook.db") as db:
        recorded = db.execute("SELECT COUNT(*) FROM grade").fetchone()[0]
    changed = json.loads((toy["source"] / "toy.ipynb").read_text())
    changed["cells"].append(_cell("Explain again.", "markdown", grade_id="explain_more", grade=True,
                                  solution=True, points=1))
    source = tmp_path / "changed" / "toy"
    source.mkdir(parents=True)
    (source / "toy.ipynb").write_text(json.dumps(changed))
    capsys.readouterr()
    assert main(["grade", "toy", str(subs), "--out", str(out), "--source", str(source), "--suite",
                 str(toy["suite"]), "--force", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "nbgrader refused to add assignment toy to the gradebook" in err, err
    assert "Cannot add or remove cells for notebook 'toy'" in err and "new assignment name" in err, err
    assert "cannot be used" not in err and len(err.strip().splitlines()) == 1, err
    assert (out / "grades.csv").read_text() == before
    with sqlite3.connect(out / "gradebook.db") as db:
        assert db.execute("SELECT COUNT(*) FROM grade").fetchone()[0] == recorded > 0


@pytest.mark.slow
@pytest.mark.parametrize("assignment", assignment_names(ROOT))
def test_the_demo_submissions_score_as_expected(assignment, tmp_path):
    expected = AssignmentFiles(assignment, ROOT).expected()
    out = tmp_path / "out"
    assert main(["grade", assignment, "--demo", "--out", str(out), "--workers", "2", "--no-nbgrader",
                 "--quiet"]) == 0
    table = rows(out)
    got = {s: {c: float(r[c]) for c in expected[s]} for s, r in table.items() if s in expected}
    assert got == {s: {c: float(v) for c, v in cells.items()} for s, cells in expected.items()}


def test_usage_errors_exit_2_with_one_line_naming_the_fix(toy, tmp_path, capsys, monkeypatch):
    assert main(["grade", "nosuch", str(toy["subs"]), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert f"known assignments: {', '.join(assignment_names(ROOT))}" in err
    assert len(err.strip().splitlines()) == 1
    empty = tmp_path / "empty"
    empty.mkdir()
    assert grade(toy, tmp_path / "o", "--quiet", submissions=empty) == 2
    err = capsys.readouterr().err
    assert "no notebooks in" in err and "accepted layouts: nbgrader's submitted/" in err
    monkeypatch.chdir(tmp_path)  # not a course, nothing given
    toy_args = ["--source", str(toy["source"]), "--suite", str(toy["suite"])]
    assert main(["grade", "toy", *toy_args]) == 2
    assert "is not an nbgrader course" in capsys.readouterr().err
    assert main(["grade", "toy", "--course", str(tmp_path), *toy_args]) == 2
    assert "no nbgrader_config.py there" in capsys.readouterr().err
    (tmp_path / "nbgrader_config.py").write_text("c = get_config()\n")
    assert grade(toy, tmp_path / "o", "--db-url", f"sqlite:///{tmp_path / 'gradebook.db'}") == 2
    assert f"grade into that course with --course {tmp_path}" in capsys.readouterr().err
    assert not (tmp_path / "gradebook.db").exists()


def test_a_dask_scheduler_that_is_down_or_has_no_workers_is_one_line(toy, tmp_path, capsys):
    import socket
    import time

    with socket.socket() as sock:  # a port with nobody listening
        sock.bind(("127.0.0.1", 0))
        address = f"tcp://127.0.0.1:{sock.getsockname()[1]}"
    began = time.monotonic()
    assert grade(toy, tmp_path / "o", "--quiet", "--no-nbgrader", "--scheduler", address) == 2
    err = capsys.readouterr().err
    assert time.monotonic() - began < 20
    assert f"cannot reach the Dask scheduler at {address} within 5 s" in err and "Traceback" not in err
    from distributed import LocalCluster

    with LocalCluster(n_workers=0, processes=False, dashboard_address=None) as cluster:
        assert grade(toy, tmp_path / "o", "--no-nbgrader", "--scheduler", cluster.scheduler_address,
                     "--scheduler-timeout", "2") == 2
    err = capsys.readouterr().err
    assert "waiting up to 2 s for a Dask worker" in err
    assert "no Dask worker joined the scheduler" in err and "--scheduler-timeout" in err
    assert "Traceback" not in err


def test_the_reference_solution_must_get_full_marks_under_the_limits(toy, tmp_path, capsys):
    source = tmp_path / "source" / "toy"
    source.mkdir(parents=True)
    wrong = toy_notebook("    return 2 * x", "    return x + 1")  # the "solution" loses test_square
    (source / "toy.ipynb").write_text(json.dumps(wrong))
    args = ["grade", "toy", str(toy["subs"]), "--source", str(source), "--suite", str(toy["suite"]),
            "--call-timeout", "1", "--cell-timeout", "2", "--no-nbgrader", "--quiet"]
    assert main([*args, "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "the reference solution" in err and "scores 4/6 under these limits" in err and "--force" in err
    assert not (tmp_path / "o" / "grades.csv").exists()
    assert main([*args, "--out", str(tmp_path / "o"), "--force"]) == 0
    assert "warning: the reference solution" in capsys.readouterr().err
    assert rows(tmp_path / "o")["alice"]["score"] == "6"


def test_regrades_skip_unchanged_work_keep_others_and_mark_stale_results(toy, tmp_path, monkeypatch):
    import autograder.engine.batch as batch

    monkeypatch.setattr(batch, "code_hash", lambda: "fixed")  # others may edit the engine meanwhile
    out, db = tmp_path / "out", tmp_path / "gradebook.db"
    extra = ["--quiet", "--no-feedback", "--db-url", f"sqlite:///{db}"]
    assert grade(toy, out, *extra) == 0
    first = rows(out)
    assert grade(toy, out, *extra) == 0
    second = rows(out)
    assert {s: r["status"] for s, r in second.items()} == {s: "unchanged" for s in STUDENTS}
    assert {s: r["score"] for s, r in second.items()} == {s: r["score"] for s, r in first.items()}
    assert "4 unchanged" in (out / "summary.txt").read_text()
    assert json.loads((out / "summary.json").read_text())["counts"] == {"unchanged": 4}

    assert grade(toy, out, *extra, "--student", "bob") == 0  # named: regraded even though unchanged
    third = rows(out)
    assert third["bob"]["status"] == "graded" and third["alice"]["status"] == "not selected"
    assert third["alice"]["score"] == "6"
    assert grade(toy, out, *extra, "--student", "nobody") == 2

    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{db}", "mlcourse") as gb:
        gb.update_or_create_student("erin", first_name="Erin")
    fewer = tmp_path / "fewer"
    fewer.mkdir()
    for student in ("alice", "bob", "carol"):
        (fewer / f"{student}.ipynb").write_text(json.dumps(STUDENTS[student]))
    assert grade(toy, out, *extra, submissions=fewer) == 0
    fourth = rows(out)
    assert fourth["dave"]["status"] == "stale" and "earlier run" in fourth["dave"]["reason"]
    assert (out / "dave" / "STALE.txt").is_file() and (out / "dave" / "results.json").is_file()
    assert fourth["erin"]["status"] == "no submission" and fourth["erin"]["score"] == "0"
    final = (out / "final_grades.csv").read_text()
    assert final.startswith("student_id,first_name,last_name,email,status,test_double:auto")
    assert "\nerin,Erin,,,no submission," in final


def test_csv_cells_are_never_spreadsheet_formulas():
    from autograder.engine.report import csv_text

    text = csv_text(["student_id", "reason"], [{"student_id": "=HYPERLINK(1)", "reason": "-2+3"},
                                               {"student_id": "@x", "reason": "+1"},
                                               {"student_id": "ok", "reason": "fine = good"}])
    assert text.splitlines()[1:] == ["'=HYPERLINK(1),'-2+3", "'@x,'+1", "ok,fine = good"]


def _descendants(pid: int) -> set[int]:
    """Every process below ``pid`` (by parent links in /proc)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def _alive(pids: set[int]) -> set[int]:
    """Those of ``pids`` that still exist and are not zombies."""
    alive = set()
    for pid in pids:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z":
            alive.add(pid)
    return alive


@pytest.mark.parametrize("how", ["SIGTERM", "SIGKILL"])
def test_an_interrupted_batch_leaves_no_process_behind(toy, tmp_path, how):
    import signal
    import time

    subs = tmp_path / "sleepy"
    subs.mkdir()
    for n in range(4):
        nb = toy_notebook("    return 2 * x", "    return x * x", extra="import time\ntime.sleep(300)")
        (subs / f"s{n}.ipynb").write_text(json.dumps(nb))
    (subs / "alice.ipynb").write_text(json.dumps(STUDENTS["alice"]))  # finishes before the interrupt
    out = tmp_path / "out"
    proc = subprocess.Popen(
        [sys.executable, "-m", "autograder.cli", "grade", "toy", str(subs), "--out", str(out), "--source",
         str(toy["source"]), "--suite", str(toy["suite"]), "--workers", "2", "--cell-timeout", "100",
         "--no-nbgrader", "--quiet"], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    seen: set[int] = set()
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:  # the pool, its zygotes and the sleeping sandboxed workers
        seen |= _descendants(proc.pid)
        if len(seen) >= 6 and (out / "alice" / "results.json").is_file():
            break
        time.sleep(0.5)
    time.sleep(2)
    seen |= _descendants(proc.pid)
    assert len(seen) >= 4, f"the batch did not start its processes: {seen}"
    proc.send_signal(getattr(signal, how))
    output, _ = proc.communicate(timeout=60)
    table = rows(out)  # every finished student is on disk, the others are marked as not graded
    assert table["alice"]["status"] == "graded" and table["alice"]["score"] == "6"
    assert {table[f"s{n}"]["status"] for n in range(4)} == {"pending"}
    if how == "SIGTERM":
        assert proc.returncode == 130, output
        assert "interrupted" in output
        assert json.loads((out / "summary.json").read_text())["state"] == "interrupted"
    deadline = time.monotonic() + 20
    while _alive(seen) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not _alive(seen), {p: Path(f"/proc/{p}/cmdline").read_bytes()[:200] for p in _alive(seen)}


def test_only_hand_graded_cells_keep_their_outputs_and_only_inert_ones():
    from autograder.engine.outputs import with_student_outputs

    png = "iVBORw0KGgo="
    rich = [{"output_type": "display_data", "metadata": {"x": 1},
             "data": {"image/png": png, "text/html": "<script>x</script>", "image/svg+xml": "<svg onload=1>",
                      "application/javascript": "alert(1)", "text/plain": "<Figure>"}},
            {"output_type": "stream", "name": "stdout", "text": ["All tests ", "passed\n"]},
            {"output_type": "display_data", "data": {"image/png": "not base64 !!"}, "metadata": {}},
            {"output_type": "error", "ename": "ValueError", "evalue": "bad", "traceback": ["tb", 3]}]
    original = toy_notebook("    return 2 * x", "    return x * x", extra="print('All tests passed')")
    original["cells"].append(_cell("plot()", grade_id="plot", grade=True, solution=True, points=2))
    for cell in original["cells"]:
        if cell["cell_type"] == "code":
            cell["outputs"] = rich
    clean = json.loads(json.dumps(original))
    for cell in clean["cells"]:
        if cell["cell_type"] == "code":
            cell["outputs"] = []
    merged = with_student_outputs(clean, original, {"plot", "explain"})
    kept = {c["metadata"].get("nbgrader", {}).get("grade_id", "-"): c["outputs"] for c in merged["cells"]
            if c["cell_type"] == "code"}
    assert all(outputs == [] for gid, outputs in kept.items() if gid != "plot")
    assert kept["plot"] == [
        {"output_type": "display_data", "data": {"image/png": png, "text/plain": "<Figure>"}, "metadata": {}},
        {"output_type": "stream", "name": "stdout", "text": "All tests passed\n"},
        {"output_type": "error", "ename": "ValueError", "evalue": "bad", "traceback": ["tb"]}]
