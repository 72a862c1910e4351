"""Grading one submission: the unit of parallel work (a process-pool task or a Dask task).

:func:`grade_submission` takes a :class:`GradeTask` (plain data: the notebooks' bytes travel with it, so a
Dask worker on another machine needs only the course installed) and returns a :class:`SubmissionResult`.
It never raises for anything a student did: every problem ends up as a one-line reason. When the task carries
a render job (``course grade`` with nbgrader bookkeeping), the same process then makes nbgrader's autograded
notebook, feedback page and gradebook values for the submission (:func:`autograder.engine.gradebook.render`;
nbgrader only reads the notebook, no student code runs), so the parent only has to record them.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from autograder import harness
from autograder.engine.notebooks import (
    Assignment,
    NotebookProblem,
    for_nbgrader,
    parse_submission,
    submission_code,
)
from autograder.engine.proxy import SandboxConfig, SandboxedStudent

#: pytest is not thread-safe: one hidden suite at a time per process (Dask workers may run threads).
_SUITE_LOCK = threading.Lock()


@dataclass
class GradeTask:
    """Everything needed to grade one submission."""

    assignment: Assignment
    student: str
    notebooks: dict[str, bytes | None]  # notebook stem -> file contents (None: missing)
    problems: list[str]
    config: SandboxConfig
    render: Any = None  # autograder.engine.gradebook.RenderJob: make nbgrader's artefacts here too
    #: notebooks whose bytes are read where the task runs (a local pool: the parent keeps only their digests)
    paths: dict[str, str] = field(default_factory=dict)
    digests: dict[str, bytes] = field(default_factory=dict)  # stem -> sha256 of the bytes at discovery

    def loaded(self) -> GradeTask:
        """This task with the bytes of every notebook (those left as paths are read now, the way discovery
        read them: never through a link, never more than the cap)."""
        if not self.paths:
            return self
        from autograder.engine.inputs import read_submission_file

        files, problems = dict(self.notebooks), list(self.problems)
        for stem, path in self.paths.items():
            try:
                files[stem] = read_submission_file(Path(path), self.config.limits.notebook_mb)
            except ValueError as exc:
                files[stem] = None
                problems.append(str(exc))
        return replace(self, notebooks=files, problems=problems, paths={})


@dataclass(slots=True)
class TestOutcome:
    name: str
    passed: bool
    message: str
    weight: float


@dataclass(slots=True)
class CellResult:
    """The engine's score for one autograded grade cell."""

    grade_id: str
    notebook: str
    points: float
    score: float
    tests: list[TestOutcome] = field(default_factory=list)
    note: str = ""  # why the cell has no test outcomes (notebook missing, no hidden tests)

    @property
    def messages(self) -> list[str]:
        return [t.message for t in self.tests if not t.passed] + ([self.note] if self.note else [])


@dataclass
class SubmissionResult:
    """Everything the parent needs about one graded submission."""

    student: str
    status: str  # "graded" or "failed" (nothing could be run)
    reason: str  # one line; empty when nothing went wrong
    cells: dict[str, CellResult]
    notes: list[str] = field(default_factory=list)  # every problem, one line each
    valid_notebooks: dict[str, dict] = field(default_factory=dict)  # stem -> parsed notebook
    timings: dict[str, float] = field(default_factory=dict)
    peak_rss_kb: int = 0
    sandbox: dict = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)  # for the instructor (suite/config problems)
    rendered: Any = None  # autograder.engine.gradebook.Rendered, when the task asked for it

    @property
    def score(self) -> float:
        return round(sum(c.score for c in self.cells.values()), 6)

    def kept(self, shared: dict[str, Any]) -> SubmissionResult:
        """What the parent keeps once this result is on disk (``results.json``, the gradebook, nbgrader's
        files): status, reason, the score of each cell, timings and the sandbox report, without the tests'
        outcomes, notes or notebooks, so that the parent's memory hardly grows with the number of students.
        Strings every result repeats (grade ids, notebook names, sandbox reports) come from ``shared``."""
        def one(text: str) -> str:
            return shared.setdefault(text, text)

        sandbox = shared.setdefault(repr(sorted(self.sandbox.items())), self.sandbox)
        cells = {one(gid): CellResult(one(gid), one(c.notebook), c.points, c.score)
                 for gid, c in self.cells.items()}
        return SubmissionResult(self.student, one(self.status), self.reason, cells,
                                valid_notebooks={one(stem): {} for stem in self.valid_notebooks},
                                timings=self.timings, peak_rss_kb=self.peak_rss_kb, sandbox=sandbox)

    @property
    def max_score(self) -> float:
        return round(sum(c.points for c in self.cells.values()), 6)


def _humanize(test_name: str) -> str:
    return test_name.removeprefix("test_").replace("_", " ")


def grade_submission(task: GradeTask) -> SubmissionResult:
    """Run the hidden suite against one submission in a sandboxed worker; never raises for student faults."""
    task = task.loaded()
    assignment = task.assignment
    started = time.perf_counter()
    problems = list(task.problems)
    notebooks: dict[str, dict] = {}
    for stem in assignment.notebooks:
        data = task.notebooks.get(stem)
        if data is None:
            if not any(stem in p for p in problems):
                problems.append(f"notebook {stem}.ipynb is missing")
            continue
        try:
            notebooks[stem] = parse_submission(data, f"{stem}.ipynb", task.config.limits.notebook_mb,
                                              assignment=assignment)
        except NotebookProblem as exc:
            problems.append(str(exc))
    cells: list[tuple[int, str]] = []
    offset = 0
    for stem in assignment.notebooks:
        if stem in notebooks:
            cells += [(offset + i, src) for i, src in submission_code(notebooks[stem], assignment, stem)]
            offset += len(notebooks[stem]["cells"])
    filename = "+".join(f"{s}.ipynb" for s in notebooks) or "notebook"
    results: dict[str, harness.PartResult] = {}
    notes = list(problems)
    warnings: list[str] = []
    timings = {"kernel_start": 0.0, "execution": 0.0, "hidden_tests": 0.0}
    peak, sandbox, status = 0, {}, "graded"
    if notebooks:
        student = None
        try:
            student = SandboxedStudent(cells, filename, task.config)
            first = student.stats.start_seconds + student.stats.load_seconds
            notes += student.load_errors
            suite_start = time.perf_counter()
            with _SUITE_LOCK:
                results = harness.run_suite(Path(assignment.suite), student)
            suite_wall = time.perf_counter() - suite_start
            later = student.stats.start_seconds + student.stats.load_seconds - first
            timings["hidden_tests"] = max(0.0, suite_wall - later)
            for line in student.load_errors:
                if line not in notes:
                    notes.append(line)
        except (RuntimeError, ValueError) as exc:  # the sandbox or the hidden suite could not run
            status = "failed"
            problems.append(f"grading could not run: {str(exc).splitlines()[0][:300]}")
            notes.append(problems[-1])
            warnings.append(str(exc)[:2000])
        finally:
            if student is not None:
                student.close()
                timings["kernel_start"] = student.stats.start_seconds
                timings["execution"] = student.stats.load_seconds
                peak, sandbox = student.stats.peak_rss_kb, student.stats.sandbox
    else:
        status = "failed"
    out: dict[str, CellResult] = {}
    for cell in assignment.auto_cells:
        part = results.get(cell.grade_id)
        if part is not None:
            tests = [TestOutcome(_humanize(name), passed, text, part.weights.get(name, 1.0))
                     for name, passed, text in part.tests]
            out[cell.grade_id] = CellResult(cell.grade_id, cell.notebook, cell.points,
                                            round(cell.points * part.fraction, 6), tests)
        elif cell.notebook not in notebooks:
            reason = next((p for p in problems if cell.notebook in p), None) or (problems[0] if problems
                                                                                  else "not graded")
            out[cell.grade_id] = CellResult(cell.grade_id, cell.notebook, cell.points, 0.0, note=reason)
        else:
            reason = problems[-1] if status == "failed" and problems else \
                "not graded: the hidden suite has no tests for this cell"
            if status != "failed":
                warnings.append(f"no hidden tests for grade cell {cell.grade_id}")
            out[cell.grade_id] = CellResult(cell.grade_id, cell.notebook, cell.points, 0.0, note=reason)
    unknown = sorted(set(results) - {c.grade_id for c in assignment.auto_cells})
    if unknown:
        warnings.append(f"hidden tests for parts that are not autograded cells of the source: {unknown}")
    reason = _reason(problems, notes, out)
    timings["grading_total"] = time.perf_counter() - started
    result = SubmissionResult(task.student, status, reason, out, _dedupe(notes),
                              {stem: for_nbgrader(nb, assignment, stem) for stem, nb in notebooks.items()},
                              timings, peak, sandbox, warnings)
    if task.render is not None:
        _render(task, result)
    return result


def _render(task: GradeTask, result: SubmissionResult) -> None:
    """nbgrader's artefacts of the graded submission, made in this process (``result.rendered``); a failure
    leaves them to the parent's plain fallback and says so."""
    from autograder.engine.gradebook import render
    from autograder.engine.rerun import originals

    began = time.perf_counter()
    try:
        result.rendered = render(task.assignment, task.render, result, originals(task))
    except Exception as exc:  # nbgrader on this host: the scores are recorded all the same
        first = (str(exc).splitlines() or [""])[0][:200]
        result.warnings.append(f"nbgrader's autograded notebook and feedback could not be made "
                               f"({type(exc).__name__}: {first})")
    result.timings["render"] = time.perf_counter() - began
    if result.rendered is not None:  # the parent needs only which notebooks were valid
        result.valid_notebooks = {stem: {} for stem in result.valid_notebooks}


def _dedupe(lines: list[str]) -> list[str]:
    return list(dict.fromkeys(line for line in lines if line))


def cell_failures(cells: dict[str, CellResult]) -> list[str]:
    """One line per grade cell that lost points: its id and its first failure message."""
    lines = []
    for cell in cells.values():
        if cell.score < cell.points:
            first = cell.messages[0] if cell.messages else "failed"
            lines.append(f"{cell.grade_id}: {first}")
    return lines


def _reason(problems: list[str], notes: list[str], cells: dict[str, CellResult]) -> str:
    """The one-line reason shown in the summary: the first problem (notebook, loading, then failed checks),
    plus how many more there are."""
    lines = _dedupe(problems + notes)
    if not problems:
        lines += _dedupe(cell_failures(cells))
    if not lines:
        return ""
    more = f" (+{len(lines) - 1} more)" if len(lines) > 1 else ""
    return lines[0][:240] + more
