"""The instructor's view of a graded batch: ``OUT/report.html`` (one offline file) and ``OUT/report.json``.

:func:`write_report` takes the batch's :class:`~autograder.engine.grade.SubmissionResult` objects;
:func:`report_from_outputs` rebuilds them from what a finished batch leaves on disk (``grades.csv``,
``<student>/results.json``, ``timings.json``), so the report can be regenerated at any time. Both write

* the distribution of total scores and of every autograded grade cell's score (histograms);
* every check's pass rate (test outcomes aggregated by grade cell and test name), hardest first, with its
  student-facing description and its most common failure message;
* the submissions that could not be run, and why;
* the time spent per submission;
* a short "who may need help" list: the lowest totals, with the cells they lost points in.

Figures are Matplotlib (Agg) PNGs embedded as base64 ``data:`` URIs: no network, no JavaScript. Every text
that comes from a submission (student ids, reasons, messages) is HTML-escaped. Nothing here changes a grade.
"""

from __future__ import annotations

import base64
import csv
import html
import io
import json
import statistics
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from autograder.engine.grade import CellResult, SubmissionResult, TestOutcome, cell_failures
from autograder.engine.notebooks import Assignment, load_assignment
from autograder.engine.report import atomic_write

REPO = Path(__file__).resolve().parents[2]
#: How many of the lowest totals the "who may need help" list shows (at least; ties at the cut are kept).
HELP_COUNT = 5
SIMILARITY_NOTE = ("Code similarity (course similarity <assignment> SUBMISSIONS --out DIR) is evidence for a "
                   "human to weigh, never a verdict: independent correct solutions share idioms, and nothing "
                   "in this report or that one changes a grade.")


# ------------------------------------------------------------------------------------------- figures
def figure_uri(fig: Figure) -> str:
    """A figure as a ``data:image/png;base64,...`` URI (the figure is closed)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def histogram(ax: Axes, values: list[float], bins: np.ndarray | int, *, xlabel: str, title: str,
              ylabel: str = "students", **bar_kwargs: object) -> None:
    """A labelled, titled histogram in the lectures' style (object-oriented Matplotlib)."""
    options = {"color": "C0", "edgecolor": "white", **bar_kwargs}
    ax.hist(values, bins=bins, **options)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.yaxis.get_major_locator().set_params(integer=True)


def _score_bins(points: float) -> np.ndarray:
    step = max(points / 20, 0.5) if points > 10 else 1.0
    return np.arange(0, points + 1.5 * step, step) - step / 2 if points > 0 else np.array([-0.5, 0.5])


# ------------------------------------------------------------------------------------------- data
@dataclass
class Check:
    """One check of the hidden suite across the batch."""

    grade_id: str
    name: str
    passed: int
    total: int
    message: str  # the most common failure message (student-facing text)

    @property
    def rate(self) -> float:
        return self.passed / self.total if self.total else 0.0


def checks(results: list[SubmissionResult]) -> list[Check]:
    """Pass rate of every (grade cell, test) over the graded submissions, hardest first."""
    tally: dict[tuple[str, str], list[TestOutcome]] = {}
    for result in results:
        if result.status != "graded":
            continue
        for cell in result.cells.values():
            for test in cell.tests:
                tally.setdefault((cell.grade_id, test.name), []).append(test)
    out = []
    for (grade_id, name), outcomes in tally.items():
        failures = Counter(t.message for t in outcomes if not t.passed and t.message)
        message = failures.most_common(1)[0][0] if failures else ""
        out.append(Check(grade_id, name, sum(t.passed for t in outcomes), len(outcomes), message))
    return sorted(out, key=lambda c: (c.rate, c.grade_id, c.name))


def _first(lines: list[str], count: int = 3) -> list[str]:
    return lines[:count] + ([f"(+{len(lines) - count} more cells)"] if len(lines) > count else [])


def report_data(assignment: Assignment, results: list[SubmissionResult]) -> dict:
    """Everything the report shows, as JSON-ready data (this is ``report.json``)."""
    graded = [r for r in results if r.status == "graded"]
    totals = sorted((r.score, r.student) for r in graded)
    cut = totals[min(HELP_COUNT, len(totals)) - 1][0] if totals else 0.0
    lowest = [r for r in sorted(graded, key=lambda r: (r.score, r.student)) if r.score <= cut]
    times = {r.student: round(r.timings.get("grading_total", 0.0), 4) for r in results if r.timings}
    scores = [r.score for r in graded]
    return {
        "assignment": assignment.name,
        "max_score": assignment.max_score,
        "submissions": len(results),
        "graded": len(graded),
        "failed_to_run": [{"student_id": r.student, "reason": r.reason} for r in results
                          if r.status != "graded"],
        "total_scores": {r.student: r.score for r in graded},
        "mean_score": round(statistics.fmean(scores), 6) if scores else None,
        "median_score": statistics.median(scores) if scores else None,
        "cells": [{"grade_id": c.grade_id, "points": c.points,
                   "scores": {r.student: r.cells[c.grade_id].score for r in graded if c.grade_id in r.cells}}
                  for c in assignment.auto_cells],
        "checks": [{"grade_id": c.grade_id, "check": c.name, "passed": c.passed, "total": c.total,
                    "pass_rate": round(c.rate, 4), "common_failure": c.message} for c in checks(results)],
        "seconds_per_submission": times,
        "needs_help": [{"student_id": r.student, "score": r.score,
                        "lost_points_in": _first(cell_failures(r.cells))} for r in lowest],
        "similarity_note": SIMILARITY_NOTE,
    }


# ------------------------------------------------------------------------------------------- figures
def _totals_figure(data: dict) -> str:
    fig, ax = plt.subplots(figsize=(6.5, 3.4))
    histogram(ax, list(data["total_scores"].values()), _score_bins(data["max_score"]),
              xlabel=f"autograded score (out of {data['max_score']:g})",
              title=f"{data['assignment']}: total scores of {data['graded']} graded submissions")
    if data["mean_score"] is not None:
        ax.axvline(data["mean_score"], color="C3", linestyle="--", label=f"mean {data['mean_score']:.1f}")
        ax.legend()
    return figure_uri(fig)


def _cells_figure(data: dict) -> str:
    cells = data["cells"]
    ncols = 4
    nrows = max(1, -(-len(cells) // ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(3.2 * ncols, 2.5 * nrows), squeeze=False)
    for ax, cell in zip(axes.flat, cells, strict=False):
        histogram(ax, list(cell["scores"].values()), _score_bins(cell["points"]),
                  xlabel=f"points (out of {cell['points']:g})", title=cell["grade_id"])
    for ax in list(axes.flat)[len(cells):]:
        ax.axis("off")
    fig.suptitle("Score distribution per grade cell")
    fig.tight_layout()
    return figure_uri(fig)


def _checks_figure(data: dict, shown: int = 25) -> str:
    rows = data["checks"][:shown]
    fig, ax = plt.subplots(figsize=(8, 0.28 * len(rows) + 1.2))
    labels = [f"{c['grade_id']}: {c['check']}"[:70] for c in rows]
    ax.barh(np.arange(len(rows)), [100 * c["pass_rate"] for c in rows], color="C0")
    ax.set_yticks(np.arange(len(rows)), labels, fontsize=7)
    ax.invert_yaxis()
    ax.set_xlim(0, 100)
    ax.set_xlabel("students passing [%]")
    ax.set_title(f"The {len(rows)} hardest checks")
    return figure_uri(fig)


def _timing_figure(data: dict) -> str:
    fig, ax = plt.subplots(figsize=(6.5, 3.2))
    histogram(ax, list(data["seconds_per_submission"].values()), 20, xlabel="grading time [s]",
              title="Time per submission", ylabel="submissions", color="C2")
    return figure_uri(fig)


# ------------------------------------------------------------------------------------------- HTML
_STYLE = """body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:0.5em 0}td,th{border:1px solid #ccc;padding:3px 8px;text-align:left;
vertical-align:top}th{background:#f2f2f2}td.n{text-align:right}img{max-width:100%}.note{background:#fff8e1;
padding:0.6em 1em;border-left:4px solid #f0b400}"""


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _table(header: list[str], rows: list[list[object]], numeric: set[int] = frozenset()) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td class=n>{_e(v)}</td>" if i in numeric else f"<td>{_e(v)}</td>"
                                    for i, v in enumerate(row)) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def render_html(data: dict) -> str:
    """``report.html`` from :func:`report_data`."""
    name, top = _e(data["assignment"]), data["max_score"]
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>{name}: grading report</title>"
             f"<style>{_STYLE}</style></head><body><h1>{name}: grading report</h1>"]
    mean = "n/a" if data["mean_score"] is None else f"{data['mean_score']:.2f}"
    parts.append(f"<p>{data['submissions']} submissions, {data['graded']} graded, "
                 f"{len(data['failed_to_run'])} could not be run; mean {_e(mean)} / {top:g}, median "
                 f"{_e(data['median_score'])}.</p>")
    if data["graded"]:
        parts.append(f"<h2>Scores</h2><img alt='histogram of total scores' src='{_totals_figure(data)}'>")
        parts.append(f"<img alt='histograms per grade cell' src='{_cells_figure(data)}'>")
    if data["checks"]:
        parts.append("<h2>Checks, hardest first</h2>"
                     f"<img alt='pass rate of the hardest checks' src='{_checks_figure(data)}'>")
        parts.append(_table(["grade cell", "check", "passed", "pass rate", "most common failure message"],
                            [[c["grade_id"], c["check"], f"{c['passed']}/{c['total']}",
                              f"{100 * c['pass_rate']:.0f}%", c["common_failure"]] for c in data["checks"]],
                            numeric={2, 3}))
    parts.append("<h2>Submissions that could not be run</h2>")
    failed = [[f["student_id"], f["reason"]] for f in data["failed_to_run"]]
    parts.append(_table(["student", "reason"], failed) if failed else "<p>None.</p>")
    parts.append("<h2>Who may need help</h2><p>The lowest autograded totals (written answers not included)."
                 "</p>")
    parts.append(_table(["student", "score", "lost points in"],
                        [[h["student_id"], f"{h['score']:g}/{top:g}", "; ".join(h["lost_points_in"])]
                         for h in data["needs_help"]], numeric={1}))
    times = list(data["seconds_per_submission"].values())
    if times:
        parts.append(f"<h2>Time per submission</h2><p>median {statistics.median(times):.1f} s, slowest "
                     f"{max(times):.1f} s.</p>"
                     f"<img alt='histogram of grading times' src='{_timing_figure(data)}'>")
    parts.append(f"<h2>Code similarity</h2><p class=note>{_e(data['similarity_note'])}</p>")
    if data.get("similarity"):
        parts.append("<p>The most similar pairs (all pairs, side by side: "
                     "<a href='similarity/similarity.html'>similarity/similarity.html</a>):</p>")
        parts.append(_table(["student", "student", "similarity"],
                            [[p["student_a"], p["student_b"], p["similarity"]] for p in data["similarity"]],
                            numeric={2}))
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def write_report(out: Path, assignment: Assignment, results: list[SubmissionResult]) -> tuple[Path, Path]:
    """Write ``OUT/report.html`` and ``OUT/report.json`` (atomically) for a batch's results.

    Parameters
    ----------
    out : Path
        The batch's output folder.
    assignment : Assignment
        The graded assignment (its autograded cells and points).
    results : list of SubmissionResult
        The batch's results (graded and failed).

    Returns
    -------
    (Path, Path)
        The HTML and the JSON file.
    """
    out = Path(out)
    data = report_data(assignment, sorted(results, key=lambda r: r.student))
    data["similarity"] = _top_similar(out / "similarity" / "similarity.csv")
    html_path, json_path = out / "report.html", out / "report.json"
    atomic_write(json_path, json.dumps(data, indent=1, ensure_ascii=False) + "\n")
    atomic_write(html_path, render_html(data))
    return html_path, json_path


def _top_similar(path: Path, count: int = 10) -> list[dict]:
    """The first ``count`` rows of a ``similarity.csv`` (most similar first), if ``course grade
    --similarity`` wrote one."""
    if not path.is_file():
        return []
    with path.open(newline="", encoding="utf-8") as handle:
        rows = []
        for row in csv.DictReader(handle):
            rows.append({"student_a": row.get("student_a", ""), "student_b": row.get("student_b", ""),
                         "similarity": _number(row.get("similarity", 0))})
            if len(rows) >= count:
                break
    return rows


# ------------------------------------------------------------------------------------------- from disk
def _unescaped(text: str) -> str:
    """A ``grades.csv`` cell as written before :func:`autograder.engine.report.safe_cell` escaped it."""
    return text[1:] if text[:1] == "'" and text[1:2] in tuple("=+-@\t\r") else text


def _number(text: object) -> float:
    try:
        return float(_unescaped(str(text)))
    except ValueError:
        return 0.0


def results_from_outputs(out_dir: Path, assignment: Assignment) -> list[SubmissionResult]:
    """The results a finished batch left in ``out_dir`` (``grades.csv`` rows with a ``results.json``;
    students without a submission or with a stale result are left out)."""
    out_dir = Path(out_dir)
    with (out_dir / "grades.csv").open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    timings = {}
    try:
        timings = json.loads((out_dir / "timings.json").read_text(encoding="utf-8")).get("per_student", {})
    except (OSError, ValueError, AttributeError):
        pass
    results = []
    for row in rows:
        student = _unescaped(row.get("student_id", ""))
        path = out_dir / student / "results.json"
        # unchanged / not selected students keep their last results (part of the batch's picture); students
        # without a submission, stale results and an interrupted run's pending rows are left out
        if row.get("status") in ("no submission", "stale", "pending") or not student or not path.is_file():
            continue
        try:
            tests = json.loads(path.read_text(encoding="utf-8")).get("tests", [])
        except (OSError, ValueError):
            tests = []
        cells = {}
        for cell in assignment.auto_cells:
            mine = [t for t in tests if str(t.get("name", "")).startswith(f"{cell.grade_id}: ")]
            outcomes = [TestOutcome(t["name"][len(cell.grade_id) + 2:], t.get("status") == "passed",
                                    t.get("output", ""), float(t.get("max_score", 1) or 0)) for t in mine]
            note = next((t.get("output", "") for t in tests if t.get("name") == cell.grade_id), "")
            cells[cell.grade_id] = CellResult(cell.grade_id, cell.notebook, cell.points,
                                              _number(row.get(cell.grade_id, 0)), outcomes, note)
        status = "failed" if row.get("status") == "failed" else "graded"
        timing = timings.get(student, {}) if isinstance(timings, dict) else {}
        results.append(SubmissionResult(student, status, _unescaped(row.get("reason", "")), cells,
                                        timings={k: float(v) for k, v in timing.items()
                                                 if isinstance(v, (int, float))}))
    return results


def report_from_outputs(out_dir: Path, assignment: Assignment | str) -> tuple[Path, Path]:
    """Regenerate ``report.html`` and ``report.json`` from a finished batch's files in ``out_dir``.

    ``assignment`` is an :class:`Assignment` or a name (then ``solutions/<name>`` is its source).
    """
    assignment = as_assignment(assignment)
    return write_report(out_dir, assignment, results_from_outputs(out_dir, assignment))


def as_assignment(assignment: Assignment | str) -> Assignment:
    """An :class:`Assignment`; a name is loaded from ``solutions/<name>`` and ``autograder/<name>``."""
    if isinstance(assignment, Assignment):
        return assignment
    return load_assignment(assignment, REPO / "solutions" / assignment, REPO / "autograder" / assignment)
