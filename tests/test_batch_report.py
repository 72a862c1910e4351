"""The instructor's batch report: what it shows, that it escapes what students control, and that it can be
regenerated from the files a finished batch leaves (``grades.csv``, ``results.json``, ``timings.json``)."""

from __future__ import annotations

import json

import pytest

from autograder.engine import grade
from autograder.engine.batch_report import as_assignment, report_from_outputs, write_report
from autograder.engine.report import atomic_write, result_row, write_csv, write_results

HOSTILE = "<script>alert('x')</script>"


@pytest.fixture(scope="module")
def assignment():
    return as_assignment("hw2")


def _result(assignment, student: str, failing: set[str], seconds: float, status: str = "graded",
            reason: str = "") -> grade.SubmissionResult:
    cells = {}
    for cell in assignment.auto_cells:
        tests = [grade.TestOutcome(f"{cell.grade_id} check {i}", (cell.grade_id, i) not in failing,
                             f"{cell.grade_id} check {i} failed: {HOSTILE}", 1.0) for i in range(2)]
        passed = sum(t.passed for t in tests)
        cells[cell.grade_id] = grade.CellResult(cell.grade_id, cell.notebook, cell.points,
                                          cell.points * passed / 2 if status == "graded" else 0.0,
                                          tests if status == "graded" else [],
                                          "" if status == "graded" else reason)
    return grade.SubmissionResult(student, status, reason, cells, timings={"grading_total": seconds})


@pytest.fixture(scope="module")
def results(assignment):
    first, second = assignment.auto_cells[0].grade_id, assignment.auto_cells[1].grade_id
    out = [_result(assignment, f"s{i}", {(first, 0)} if i % 2 else set(), 1.0 + i) for i in range(8)]
    out.append(_result(assignment, HOSTILE, {(first, 0), (first, 1), (second, 1)}, 3.0))
    out.append(_result(assignment, "broken", set(), 0.5, status="failed",
                       reason=f"hw2.ipynb is not a valid notebook (not JSON) {HOSTILE}"))
    return out


def test_report_shows_hardest_checks_failures_help_and_escapes(tmp_path, assignment, results):
    html_path, json_path = write_report(tmp_path, assignment, results)
    data = json.loads(json_path.read_text(encoding="utf-8"))
    first = assignment.auto_cells[0].grade_id
    assert data["submissions"] == 10 and data["graded"] == 9
    hardest = data["checks"][0]
    assert (hardest["grade_id"], hardest["check"]) == (first, f"{first} check 0")
    assert hardest["passed"] == 9 - 5 and hardest["total"] == 9  # s1, s3, s5, s7 and the hostile id fail
    assert [c["pass_rate"] for c in data["checks"]] == sorted(c["pass_rate"] for c in data["checks"])
    assert data["failed_to_run"] == [{"student_id": "broken", "reason": results[-1].reason}]
    assert data["needs_help"][0]["student_id"] == HOSTILE
    assert len(data["needs_help"]) >= 5
    assert data["seconds_per_submission"]["s7"] == 8.0
    assert set(data["cells"][0]["scores"]) == {f"s{i}" for i in range(8)} | {HOSTILE}
    page = html_path.read_text(encoding="utf-8")
    assert HOSTILE not in page and "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in page
    assert page.count("data:image/png;base64,") == 4  # totals, per cell, checks, timings
    assert "<script" not in page and "http://" not in page and "https://" not in page
    assert "evidence for a human to weigh" in page


def test_report_regenerated_from_a_finished_batch_matches(tmp_path, assignment, results):
    out = tmp_path / "batch"
    for result in results:
        write_results(out, assignment, result)
    write_csv(out / "grades.csv", assignment, [result_row(assignment, r) for r in results])
    timings = {"per_student": {r.student: {"grading_total": r.timings["grading_total"]} for r in results}}
    atomic_write(out / "timings.json", json.dumps(timings))
    _, regenerated = report_from_outputs(out, "hw2")
    _, direct = write_report(tmp_path / "direct", assignment, results)
    again, first = json.loads(regenerated.read_text()), json.loads(direct.read_text())
    for key in ("graded", "failed_to_run", "total_scores", "checks", "needs_help", "seconds_per_submission",
                "cells"):
        assert again[key] == first[key], key


def test_an_empty_batch_still_writes_a_report(tmp_path, assignment):
    html_path, json_path = write_report(tmp_path, assignment, [])
    assert json.loads(json_path.read_text())["graded"] == 0
    assert "grading report" in html_path.read_text()
