"""nbgrader bookkeeping for the engine's results; runs in the parent process only, one student at a time.

nbgrader keeps doing what it is good at: the gradebook (SQLite by default, any SQLAlchemy URL), submission
records, manually graded cells, autograded notebooks for formgrader, feedback, ``nbgrader export``. What it no
longer does is run code: its autograde pipeline is configured with :class:`EngineScores` in place of
``Execute``, so no student code and no hidden test ever runs in a kernel. Instead, each autograded test cell
receives the engine's result as its output (the pass/fail lines and the score as the cell's value, which is
how nbgrader records partial credit); hidden-test regions are removed from the cells. The scores are then
written once more directly (``Gradebook.find_grade``) so that submissions nbgrader cannot process (missing or
broken notebooks) get their grades too.

Only the parent process writes, one student at a time, and SQLite gradebooks are additionally guarded by a
file lock, so concurrent ``course grade`` runs on one gradebook do not interleave their writes.
"""

from __future__ import annotations

import contextlib
import fcntl
import html
import json
import os
import shutil
import signal
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

from autograder.engine.grade import SubmissionResult
from autograder.engine.notebooks import Assignment
from mlcourse.checks import strip_hidden

#: Seconds one nbgrader step (autograde or feedback of one student) may take before it is abandoned.
STEP_SECONDS = 120


class StepTimeout(Exception):
    pass


@contextlib.contextmanager
def _time_limit(seconds: float) -> Iterator[None]:
    """Abandon a step that hangs (the parent's main thread only; elsewhere no limit)."""
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def expire(signum: int, frame: Any) -> None:
        raise StepTimeout(f"took longer than {seconds:g} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _engine_scores_class():
    """Build the preprocessor class lazily (importing nbgrader costs seconds; workers never need it)."""
    from nbformat.v4 import new_markdown_cell, new_output
    from nbgrader import utils
    from nbgrader.preprocessors import NbGraderPreprocessor

    class EngineScores(NbGraderPreprocessor):
        """Replaces ``Execute`` in nbgrader's autograde: test cells get the engine's results as output."""

        pending: ClassVar[dict[tuple[str, str], dict]] = {}

        def preprocess(self, nb, resources):
            key = (resources["nbgrader"]["student"], resources["nbgrader"]["notebook"])
            data = self.pending.get(key, {"cells": {}, "summary": []})
            for cell in nb.cells:
                if cell.cell_type != "code":
                    continue
                cell.outputs = []
                cell.execution_count = None
                if utils.is_grade(cell) and not utils.is_solution(cell):
                    cell.source = strip_hidden(cell.source)
                    grade_id = cell.metadata["nbgrader"]["grade_id"]
                    entry = data["cells"].get(grade_id, {"score": 0.0, "lines": ["✗ not graded"]})
                    text = "\n".join(entry["lines"]) + "\n"
                    cell.outputs = [
                        new_output("stream", name="stdout", text=text),
                        new_output("execute_result", data={"text/plain": repr(float(entry["score"]))},
                                   execution_count=None),
                    ]
            if data["summary"]:
                body = html.escape("\n".join(data["summary"]))
                nb.cells.insert(0, new_markdown_cell(
                    "### Autograder summary\n\n<pre style=\"white-space: pre-wrap\">" + body + "</pre>",
                    metadata={"autograder_summary": True}))
            return nb, resources

    return EngineScores


def _lines(cell_result) -> list[str]:
    lines = []
    for test in cell_result.tests:
        lines.append(("✓ " + test.name) if test.passed else ("✗ " + test.message))
    if cell_result.note:
        lines.append("✗ " + cell_result.note)
    lines.append(f"Score: {cell_result.score:g} / {cell_result.points:g}")
    return lines[:60]


def summary_lines(result: SubmissionResult) -> list[str]:
    """The summary shown at the top of the feedback: total, then every problem on one line."""
    from autograder.engine.grade import cell_failures

    lines = [f"Autograded score: {result.score:g} / {result.max_score:g}"]
    lines += [f"- {note}" for note in result.notes[:40]]
    lines += [f"- {line}" for line in cell_failures(result.cells)[:40]]
    return lines


def _sqlite_path(db_url: str) -> Path | None:
    if db_url.startswith("sqlite:///"):
        return Path(db_url[len("sqlite:///"):])
    return None


class Bookkeeper:
    """Writes results into the gradebook and produces autograded notebooks and feedback with nbgrader.

    Parameters
    ----------
    assignment : Assignment
    source_dir : Path
        The assignment's nbgrader source notebooks (``solutions/<assignment>/``).
    workspace : Path
        nbgrader's course root for this run (``submitted/``, ``autograded/``, ``release/``).
    feedback_dir : Path
        Where ``<student>/<assignment>/<notebook>.html`` goes.
    db_url : str
        The gradebook (any SQLAlchemy URL).
    course_id : str
    config_file : Path or None
        The course's ``nbgrader_config.py`` (stubs, locking), loaded and then pointed at ``workspace``.
    feedback : bool
        Generate HTML feedback.
    """

    def __init__(self, assignment: Assignment, source_dir: Path, workspace: Path, feedback_dir: Path,
                 db_url: str, course_id: str = "mlcourse", config_file: Path | None = None,
                 feedback: bool = True) -> None:
        self.assignment = assignment
        self.source_dir = Path(source_dir)
        self.workspace = Path(workspace)
        self.feedback_dir = Path(feedback_dir)
        self.db_url = db_url
        self.course_id = course_id
        self.config_file = config_file
        self.feedback = feedback
        self.api = None
        self.engine_scores = None
        self.warnings: list[str] = []

    # -------------------------------------------------------------- setup
    def _config(self):
        from traitlets.config import Config
        from traitlets.config.loader import PyFileConfigLoader

        config = Config()
        if self.config_file and Path(self.config_file).is_file():
            loader = PyFileConfigLoader(Path(self.config_file).name, str(Path(self.config_file).parent))
            config.merge(loader.load_config())
        from nbconvert.preprocessors import ClearMetadataPreprocessor
        from nbgrader.preprocessors import (
            AssignLatePenalties,
            CheckCellMetadata,
            IgnorePattern,
            LimitOutput,
            SaveAutoGrades,
        )

        self.engine_scores = _engine_scores_class()
        config.CourseDirectory.root = str(self.workspace)
        config.CourseDirectory.db_url = self.db_url
        config.CourseDirectory.course_id = self.course_id
        config.CourseDirectory.assignment_id = ""
        config.CourseDirectory.source_directory = "source"
        config.CourseDirectory.release_directory = "release"
        config.CourseDirectory.submitted_directory = "submitted"
        config.CourseDirectory.autograded_directory = "autograded"
        config.CourseDirectory.feedback_directory = str(self.feedback_dir)
        config.Exchange.root = str(self.workspace / "exchange")  # never used; keeps nbgrader from warning
        config.Autograde.autograde_preprocessors = [self.engine_scores, IgnorePattern,
                                                    ClearMetadataPreprocessor, LimitOutput, SaveAutoGrades,
                                                    AssignLatePenalties, CheckCellMetadata]
        return config

    def prepare(self) -> None:
        """Import nbgrader, create the workspace and make sure the gradebook knows the assignment."""
        bindir = os.path.dirname(sys.executable)  # nbgrader runs `alembic` when it creates a gradebook
        if bindir not in os.environ.get("PATH", "").split(os.pathsep):
            os.environ["PATH"] = bindir + os.pathsep + os.environ.get("PATH", "")
        from nbgrader.apps import NbGraderAPI

        self.workspace.mkdir(parents=True, exist_ok=True)
        (self.workspace / "exchange").mkdir(exist_ok=True)
        sqlite = _sqlite_path(self.db_url)
        if sqlite is not None:
            sqlite.parent.mkdir(parents=True, exist_ok=True)
        self.api = NbGraderAPI(config=self._config())
        self.api.log.setLevel("ERROR")
        with self._locked(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if not self._assignment_known():
                self._generate()

    def _assignment_known(self) -> bool:
        from nbgrader.api import Gradebook, MissingEntry

        with Gradebook(self.db_url, self.course_id) as gb:
            try:
                assignment = gb.find_assignment(self.assignment.name)
            except MissingEntry:
                return False
            known = {(c.name, nb.name) for nb in assignment.notebooks for c in nb.grade_cells}
        return {(c.grade_id, c.notebook) for c in self.assignment.cells} <= known

    def _generate(self) -> None:
        """``generate_assignment`` from a copy of the source without hidden-test regions, then drop the copy
        (the gradebook stores the released cells; solutions need not stay in the workspace)."""
        source = self.workspace / "source" / self.assignment.name
        if source.exists():
            shutil.rmtree(source)
        shutil.copytree(self.source_dir, source, ignore=shutil.ignore_patterns(".ipynb_checkpoints",
                                                                               "__pycache__"))
        for path in source.glob("*.ipynb"):
            notebook = json.loads(path.read_text(encoding="utf-8"))
            for cell in notebook.get("cells", []):
                text = cell.get("source", "")
                text = "".join(text) if isinstance(text, list) else text
                if "BEGIN HIDDEN TESTS" in text:
                    cell["source"] = strip_hidden(text)
            path.write_text(json.dumps(notebook, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        try:
            result = self.api.generate_assignment(self.assignment.name, force=True, create=True)
        finally:
            for path in source.glob("*.ipynb"):
                path.unlink()
        if not result["success"]:
            raise RuntimeError("nbgrader generate_assignment failed:\n" + _last_lines(result, 30))

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        sqlite = _sqlite_path(self.db_url)
        if sqlite is None:
            yield
            return
        with open(str(sqlite) + ".lock", "a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    # -------------------------------------------------------------- per student
    def record(self, result: SubmissionResult, timestamp: str | None = None) -> list[str]:
        """Write one student's results (gradebook, autograded notebook, feedback); returns notes."""
        assert self.api is not None, "call prepare() first"
        notes = []
        name, student = self.assignment.name, result.student
        folder = self.workspace / "submitted" / student / name
        if folder.exists():
            shutil.rmtree(folder)
        folder.mkdir(parents=True)
        for stem, notebook in result.valid_notebooks.items():
            (folder / f"{stem}.ipynb").write_text(json.dumps(notebook, ensure_ascii=False), encoding="utf-8")
        if timestamp:
            (folder / "timestamp.txt").write_text(timestamp + "\n")
        summary = summary_lines(result)
        for stem in self.assignment.notebooks:
            self.engine_scores.pending[(student, stem)] = {
                "cells": {c.grade_id: {"score": c.score, "lines": _lines(c)}
                          for c in result.cells.values() if c.notebook == stem},
                "summary": summary,
            }
        autograded = False
        with self._locked(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if result.valid_notebooks:
                outcome = self._step("autograde", self.api.autograde, name, student, force=True, create=True)
                autograded = outcome is None
                if outcome:
                    notes.append(f"nbgrader could not process the submission: {outcome}")
            self._write_scores(result)
        for stem in self.assignment.notebooks:
            self.engine_scores.pending.pop((student, stem), None)
        if self.feedback:
            target = self.feedback_dir / student / name
            outcome = self._step("generate_feedback", self.api.generate_feedback, name, student,
                                 force=True) if autograded else "not autograded"
            for stem in self.assignment.notebooks:
                page = target / f"{stem}.html"
                if outcome or not page.is_file():
                    target.mkdir(parents=True, exist_ok=True)
                    page.write_text(fallback_feedback(self.assignment, result, stem), encoding="utf-8")
            if outcome and autograded:
                notes.append(f"nbgrader generate_feedback failed ({outcome}); wrote a plain feedback page")
        return notes

    def _step(self, what: str, fn, *args, **kwargs) -> str | None:
        """Run one nbgrader API call; ``None`` on success, else a one-line reason."""
        try:
            with _time_limit(STEP_SECONDS), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                outcome = fn(*args, **kwargs)
        except StepTimeout as exc:
            return f"nbgrader {what} {exc}"
        except Exception as exc:  # nbgrader bugs on odd notebooks must not stop the batch
            first = str(exc).splitlines()[0][:200] if str(exc) else ""
            return f"nbgrader {what} raised {type(exc).__name__}: {first}"
        if outcome.get("success"):
            return None
        return _error_line(outcome)

    def _write_scores(self, result: SubmissionResult) -> None:
        from nbgrader.api import Gradebook, MissingEntry

        name, student = self.assignment.name, result.student
        with Gradebook(self.db_url, self.course_id) as gb:
            gb.update_or_create_student(student)
            try:
                gb.find_submission(name, student)
            except MissingEntry:
                gb.add_submission(name, student)
            for cell in self.assignment.cells:
                grade = gb.find_grade(cell.grade_id, cell.notebook, name, student)
                if cell.auto:
                    grade.auto_score = result.cells[cell.grade_id].score if cell.grade_id in result.cells \
                        else 0.0
                    grade.needs_manual_grade = grade.manual_score is not None
                elif cell.notebook not in result.valid_notebooks:
                    grade.auto_score = 0.0  # nothing submitted to grade by hand
                    grade.needs_manual_grade = False
            gb.db.commit()


def _last_lines(outcome: dict, n: int) -> str:
    text = (outcome.get("error") or "") + "\n" + (outcome.get("log") or "")
    return "\n".join(text.strip().splitlines()[-n:])


def _error_line(outcome: dict) -> str:
    text = (outcome.get("error") or outcome.get("log") or "").strip().splitlines()
    for line in reversed(text):
        line = line.strip()
        if line and ("Error" in line or "error" in line or "Exception" in line) and "Traceback" not in line \
                and "Please see" not in line:
            return line[:240]
    return (text[-1][:240] if text else "failed")


def fallback_feedback(assignment: Assignment, result: SubmissionResult, stem: str) -> str:
    """A plain HTML feedback page for submissions nbgrader could not process (all text escaped)."""
    rows = []
    for cell in result.cells.values():
        if cell.notebook != stem:
            continue
        lines = "".join(f"<li>{html.escape(line)}</li>" for line in _lines(cell))
        rows.append(f"<h3>{html.escape(cell.grade_id)}: {cell.score:g} / {cell.points:g}</h3>"
                    f"<ul>{lines}</ul>")
    notes = "".join(f"<li>{html.escape(n)}</li>" for n in result.notes)
    return ("<!DOCTYPE html>\n<html><head><meta charset='utf-8'><title>"
            f"{html.escape(assignment.name)} feedback for {html.escape(result.student)}</title></head><body>"
            f"<h1>{html.escape(assignment.name)}: {result.score:g} / {result.max_score:g}</h1>"
            f"<h2>Problems</h2><ul>{notes or '<li>none</li>'}</ul>{''.join(rows)}</body></html>\n")
