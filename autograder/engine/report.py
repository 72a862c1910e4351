"""What a batch writes: ``grades.csv``, a Gradescope ``results.json`` per student, and the summary.

``grades.csv`` has one row per student, sorted by student id: ``student_id, status, score, max_score``
(autograded points only; written answers are graded by hand in formgrader), one column per autograded grade
cell, and ``reason`` (one line, empty when nothing went wrong). ``results.json`` follows Gradescope's
autograder format: ``score``, ``max_score``, ``output`` and one entry per hidden test (``name``, ``score``,
``max_score``, ``status``, ``output``, ``visibility``); its messages are the hidden tests' student-facing
texts, never test source or expected values.
"""

from __future__ import annotations

import csv
import json
import statistics
from pathlib import Path

from autograder.engine.grade import SubmissionResult, cell_failures
from autograder.engine.notebooks import Assignment


def _num(x: float) -> float | int:
    x = round(float(x), 6)
    return int(x) if x == int(x) else x


def write_csv(path: Path, assignment: Assignment, results: list[SubmissionResult]) -> None:
    cells = [c.grade_id for c in assignment.auto_cells]
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["student_id", "status", "score", "max_score", *cells, "reason"])
        for r in results:
            writer.writerow([r.student, r.status, _num(r.score), _num(assignment.max_score),
                             *[_num(r.cells[c].score) if c in r.cells else 0 for c in cells], r.reason])


def gradescope(assignment: Assignment, result: SubmissionResult, visibility: str = "visible") -> dict:
    """The Gradescope ``results.json`` of one submission."""
    tests = []
    for cell in assignment.auto_cells:
        outcome = result.cells.get(cell.grade_id)
        if outcome is None:
            continue
        total = sum(t.weight for t in outcome.tests)
        if not outcome.tests:
            tests.append({"name": f"{cell.grade_id}", "score": 0, "max_score": _num(cell.points),
                          "status": "failed", "output": outcome.note, "visibility": visibility})
            continue
        for number, test in enumerate(outcome.tests, 1):
            share = cell.points * test.weight / total if total else 0.0
            tests.append({
                "name": f"{cell.grade_id}: {test.name}",
                "number": f"{cell.grade_id}.{number}",
                "score": _num(share if test.passed else 0.0),
                "max_score": _num(share),
                "status": "passed" if test.passed else "failed",
                "output": "" if test.passed else test.message,
                "visibility": visibility,
            })
    output = [f"Autograded score: {result.score:g} / {assignment.max_score:g}"]
    output += [f"- {n}" for n in result.notes]
    output += [f"- {line}" for line in cell_failures(result.cells)]
    if assignment.manual_cells:
        output.append(f"Written answers ({sum(c.points for c in assignment.manual_cells):g} points) are "
                      "graded by hand.")
    return {"score": _num(result.score), "max_score": _num(assignment.max_score), "output": "\n".join(output),
            "visibility": visibility, "stdout_visibility": "hidden", "tests": tests}


def write_results(out: Path, assignment: Assignment, result: SubmissionResult) -> Path:
    folder = out / result.student
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "results.json"
    path.write_text(json.dumps(gradescope(assignment, result), indent=1, ensure_ascii=False) + "\n",
                    encoding="utf-8")
    return path


def summary(assignment: Assignment, results: list[SubmissionResult], seconds: float, workers: str) -> str:
    """The end-of-run table: one line per student, then counts, mean score and throughput."""
    width = max([len("student")] + [len(r.student) for r in results])
    lines = [f"{'student':<{width}}  {'score':>13}  status  reason"]
    for r in results:
        score = f"{r.score:g}/{assignment.max_score:g}"
        lines.append(f"{r.student:<{width}}  {score:>13}  {r.status:<6}  {r.reason}")
    graded = [r for r in results if r.status == "graded"]
    failed = [r for r in results if r.status != "graded"]
    mean = statistics.fmean([r.score for r in results]) if results else 0.0
    rate = 60 * len(results) / seconds if seconds > 0 else 0.0
    lines.append("")
    lines.append(f"{assignment.name}: {len(results)} submissions, {len(graded)} graded, {len(failed)} "
                 f"failed to run; mean score {mean:.2f}/{assignment.max_score:g}; {seconds:.1f} s "
                 f"({rate:.0f} per minute, {workers})")
    for r in failed:
        lines.append(f"  failed: {r.student}: {r.reason}")
    return "\n".join(lines)
