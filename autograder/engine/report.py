"""What a batch writes: ``grades.csv``, a Gradescope ``results.json`` per student, the summary, final grades.

``grades.csv`` has one row per student, sorted by student id: ``student_id, original_name, name, sid, email,
status, score, max_score`` (autograded points only; written answers are graded by hand in formgrader), one
column per autograded grade cell, and ``reason`` (one line, empty when nothing went wrong). ``status`` is one
of :data:`STATUSES`. ``results.json`` follows Gradescope's autograder format: ``score``, ``max_score``,
``output`` and one entry per hidden test (``name``, ``score``, ``max_score``, ``status``, ``output``,
``visibility``); its messages are the hidden tests' student-facing texts, never test source or expected
values.

Every file is written atomically (a temporary file in the same folder, then :func:`os.replace`), so a run that
is killed leaves either the previous or the new version of each file, never half of one. Cells that a
spreadsheet would read as a formula (``=``, ``+``, ``-``, ``@``) are prefixed with a single quote.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import statistics
import tempfile
from pathlib import Path

from autograder.engine.grade import SubmissionResult, cell_failures
from autograder.engine.notebooks import Assignment

#: Row statuses of ``grades.csv``.
STATUSES = {
    "graded": "graded in this run",
    "failed": "could not be run in this run (see reason)",
    "unchanged": "same submission as last graded: the previous result is kept (use --force to regrade)",
    "not selected": "not among --student: the previous result is kept",
    "no submission": "in the gradebook, but not among this run's submissions",
    "stale": "graded by a previous run, but no longer among the submissions",
    "pending": "queued but not graded yet (run interrupted): any scores shown are an earlier run's",
}

#: Identity columns before the status (``original_name``, ``name``, ``sid``, ``email`` may be empty).
ID_COLUMNS = ["student_id", "original_name", "name", "sid", "email"]


def _num(x: float) -> float | int:
    x = round(float(x), 6)
    return int(x) if x == int(x) else x


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


_UMASK = _umask()


def atomic_write(path: Path, data: str | bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file and :func:`os.replace` (never half a file)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    raw = data.encode("utf-8") if isinstance(data, str) else data
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, 0o666 & ~_UMASK)  # as open() would create it (mkstemp makes it private)
        with os.fdopen(fd, "wb") as handle:
            handle.write(raw)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def safe_cell(value: object) -> object:
    """A CSV cell that no spreadsheet evaluates: text starting with ``= + - @`` (or a tab/CR) gets a ``'``."""
    if isinstance(value, str) and value and value[0] in "=+-@\t\r":
        return "'" + value
    return value


def columns(assignment: Assignment) -> list[str]:
    """The header of ``grades.csv``."""
    return [*ID_COLUMNS, "status", "score", "max_score", *[c.grade_id for c in assignment.auto_cells],
            "reason"]


def result_row(assignment: Assignment, result: SubmissionResult, identity: dict[str, str] | None = None) \
        -> dict[str, object]:
    """The ``grades.csv`` row of one graded (or failed) submission."""
    identity = identity or {}
    row: dict[str, object] = {"student_id": result.student,
                              **{k: identity.get(k, "") for k in ID_COLUMNS[1:]},
                              "status": result.status, "score": _num(result.score),
                              "max_score": _num(assignment.max_score)}
    for cell in assignment.auto_cells:
        row[cell.grade_id] = _num(result.cells[cell.grade_id].score) if cell.grade_id in result.cells else 0
    row["reason"] = result.reason
    return row


def empty_row(assignment: Assignment, student: str, status: str, reason: str) -> dict[str, object]:
    """A row for a student with nothing graded in this run (``no submission``)."""
    row: dict[str, object] = {"student_id": student, **{k: "" for k in ID_COLUMNS[1:]}, "status": status,
                              "score": 0, "max_score": _num(assignment.max_score)}
    row.update({c.grade_id: 0 for c in assignment.auto_cells})
    row["reason"] = reason
    return row


def csv_text(header: list[str], rows: list[dict[str, object]]) -> str:
    """CSV with formula-looking cells escaped (see :func:`safe_cell`)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([safe_cell(row.get(col, "")) for col in header])
    return buffer.getvalue()


def write_csv(path: Path, assignment: Assignment, rows: list[dict[str, object]]) -> None:
    """``grades.csv`` (atomically), rows sorted by student id."""
    ordered = sorted(rows, key=lambda r: str(r["student_id"]))
    atomic_write(path, csv_text(columns(assignment), ordered))


def read_csv(path: Path) -> dict[str, dict[str, str]]:
    """The rows of an existing ``grades.csv`` by student id (empty when there is none or it is unreadable)."""
    try:
        with Path(path).open(newline="", encoding="utf-8") as handle:
            return {row["student_id"]: row for row in csv.DictReader(handle) if row.get("student_id")}
    except (OSError, KeyError, csv.Error, UnicodeDecodeError):
        return {}


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
    """``OUT/<student>/results.json`` (atomically); removes a ``STALE.txt`` left by an earlier run."""
    folder = out / result.student
    path = folder / "results.json"
    atomic_write(path, json.dumps(gradescope(assignment, result), indent=1, ensure_ascii=False) + "\n")
    (folder / "STALE.txt").unlink(missing_ok=True)
    return path


def mark_stale(out: Path, student: str, why: str) -> None:
    """Say next to an old ``results.json`` that it is not current (the file itself is kept)."""
    if (out / student / "results.json").is_file():
        atomic_write(out / student / "STALE.txt", why + "\n")


def summary(assignment: Assignment, results: list[SubmissionResult], seconds: float, workers: str,
            others: dict[str, list[str]] | None = None) -> str:
    """The end-of-run table: one line per graded student, then counts, mean score and throughput.

    ``others`` maps a status of :data:`STATUSES` (``unchanged``, ``no submission``...) to the students in it.
    """
    others = {k: v for k, v in (others or {}).items() if v}
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
    for status, students in others.items():
        shown = ", ".join(students[:10]) + (f" (+{len(students) - 10} more)" if len(students) > 10 else "")
        lines.append(f"  {len(students)} {status}: {shown}")
    for r in failed:
        lines.append(f"  failed: {r.student}: {r.reason}")
    return "\n".join(lines)


def summary_data(assignment: Assignment, results: list[SubmissionResult], rows: list[dict[str, object]],
                 seconds: float, workers: str, exit_code: int, state: str,
                 warnings: list[str]) -> dict:
    """``summary.json``: the run in machine-readable form (counts per status, exit code, failures)."""
    counts: dict[str, int] = {}
    for row in rows:
        counts[str(row["status"])] = counts.get(str(row["status"]), 0) + 1
    return {
        "assignment": assignment.name,
        "state": state,  # "running", "finished", "interrupted"
        "exit_code": exit_code,
        "graded_in_this_run": len(results),
        "counts": counts,
        "max_score": _num(assignment.max_score),
        "mean_score": round(statistics.fmean([r.score for r in results]), 6) if results else None,
        "seconds": round(seconds, 3),
        "workers": workers,
        "failed": [{"student_id": r.student, "reason": r.reason} for r in results if r.status != "graded"],
        "warnings": warnings,
        "exit_codes": {"0": "every submission graded",
                       "1": "some submission failed to run, was refused, or is not in the gradebook",
                       "2": "usage or configuration error (nothing graded)", "130": "interrupted"},
    }


def write_final_grades(path: Path, table: list[dict[str, object]], header: list[str]) -> None:
    """``final_grades.csv`` for the LMS (rows from :func:`autograder.engine.gradebook.final_grades`)."""
    atomic_write(path, csv_text(header, table))
