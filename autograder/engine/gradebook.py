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
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from autograder.engine.grade import SubmissionResult
from autograder.engine.notebooks import Assignment
from autograder.engine.report import atomic_write
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
    from nbformat import from_dict
    from nbformat.v4 import new_markdown_cell, new_output
    from nbgrader import utils
    from nbgrader.preprocessors import NbGraderPreprocessor

    from autograder.engine.outputs import safe_outputs

    class EngineScores(NbGraderPreprocessor):
        """Replaces ``Execute`` in nbgrader's autograde: test cells get the engine's results as output;
        hand-graded code cells keep the student's outputs reduced to inert content (plots and text for
        graders); every other cell has none."""

        pending: ClassVar[dict[tuple[str, str], dict]] = {}

        def preprocess(self, nb, resources):
            key = (resources["nbgrader"]["student"], resources["nbgrader"]["notebook"])
            data = self.pending.get(key, {"cells": {}, "summary": []})
            for cell in nb.cells:
                if cell.cell_type != "code":
                    continue
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
                elif cell.metadata.get("nbgrader", {}).get("grade_id") in data.get("manual", ()):
                    cell.outputs = [from_dict(o) for o in safe_outputs(cell.get("outputs", []))]
                else:
                    cell.outputs = []
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


#: Files of a submission folder that are never copied along (nbgrader's own ``CourseDirectory.ignore``).
IGNORED = (".ipynb_checkpoints", "__pycache__", "feedback", ".DS_Store")
#: Largest total size of the non-notebook files copied from one submission folder.
EXTRA_BYTES = 50 << 20


def copy_extras(source: Path, target: Path) -> list[str]:
    """Copy the regular non-notebook files of a submission folder (``timestamp.txt``,
    ``submission_secret.txt``, data files) as nbgrader's autograde would; links are refused, not followed.
    Returns notes about what was left out."""
    notes, total = [], 0
    found = []
    for folder, dirs, files in os.walk(source, followlinks=False):  # linked folders are never entered
        dirs[:] = sorted(d for d in dirs if d not in IGNORED and not d.startswith(".ipynb"))
        found += [Path(folder) / f for f in sorted(files)]
        found += [Path(folder) / d for d in dirs if (Path(folder) / d).is_symlink()]
    for path in found:
        rel = path.relative_to(source)
        if rel.name in IGNORED or path.suffix == ".ipynb":
            continue
        if path.is_symlink():
            notes.append(f"{rel} is a link and was not copied")
            continue
        if not path.is_file():
            continue
        total += path.stat().st_size
        if total > EXTRA_BYTES:
            notes.append(f"{rel} and later files were not copied (more than {EXTRA_BYTES >> 20} MiB)")
            break
        dest = target / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, dest)
    return notes


@dataclass
class Workspace:
    """Where nbgrader reads and writes for one run.

    Attributes
    ----------
    root : Path
        nbgrader's ``CourseDirectory.root``: the instructor's course, or the engine's own scratch course
        (``OUT/nbgrader``) when grading a folder outside any course.
    staging : Path
        The engine's own folder (in its scratch space) holding each student's copy handed to nbgrader's
        autograde as ``submitted_directory``; the course's ``submitted/`` is never written.
    config_file : Path or None
        The course's ``nbgrader_config.py``.
    db_url, course_id : str
        The gradebook.
    standalone : bool
        The engine's own workspace: its ``source``, ``release``, ``autograded`` folders live inside ``root``
        and feedback goes to ``feedback_dir``.
    feedback_dir : Path or None
        Feedback folder (standalone only; a course uses its configured ``feedback_directory``).
    """

    root: Path
    staging: Path
    config_file: Path | None
    db_url: str
    course_id: str = "mlcourse"
    standalone: bool = True
    feedback_dir: Path | None = None


class Bookkeeper:
    """Writes results into the gradebook and produces autograded notebooks and feedback with nbgrader.

    Parameters
    ----------
    assignment : Assignment
    source_dir : Path
        The assignment's nbgrader source notebooks (``solutions/<assignment>/``).
    workspace : Workspace
        Where nbgrader works (see :class:`Workspace`).
    feedback : bool
        Generate HTML feedback.
    """

    def __init__(self, assignment: Assignment, source_dir: Path, workspace: Workspace,
                 feedback: bool = True) -> None:
        self.assignment = assignment
        self.source_dir = Path(source_dir)
        self.ws = workspace
        self.db_url = workspace.db_url
        self.course_id = workspace.course_id
        self.feedback = feedback
        self.api = None
        self.engine_scores = None
        self.warnings: list[str] = []

    # -------------------------------------------------------------- setup
    def _config(self, generating: bool = False):
        from traitlets.config import Config
        from traitlets.config.loader import PyFileConfigLoader

        config = Config()
        if self.ws.config_file and Path(self.ws.config_file).is_file():
            loader = PyFileConfigLoader(Path(self.ws.config_file).name, str(Path(self.ws.config_file).parent))
            config.merge(loader.load_config())
        from nbconvert.preprocessors import ClearMetadataPreprocessor
        from nbgrader.preprocessors import (
            AssignLatePenalties,
            CheckCellMetadata,
            DeduplicateIds,
            IgnorePattern,
            LimitOutput,
            OverwriteCells,
            OverwriteKernelspec,
            SaveAutoGrades,
        )

        if self.engine_scores is None:
            self.engine_scores = _engine_scores_class()
        config.CourseDirectory.root = str(self.ws.root)
        config.CourseDirectory.db_url = self.db_url
        config.CourseDirectory.course_id = self.course_id
        config.CourseDirectory.assignment_id = ""
        config.CourseDirectory.student_id = "*"
        config.CourseDirectory.submitted_directory = str(self.ws.staging / "submitted")
        if self.ws.standalone:
            config.CourseDirectory.source_directory = "source"
            config.CourseDirectory.release_directory = "release"
            config.CourseDirectory.autograded_directory = "autograded"
            config.CourseDirectory.feedback_directory = str(self.ws.feedback_dir or self.ws.root / "feedback")
            config.Exchange.root = str(self.ws.root / "exchange")  # never used; keeps nbgrader from warning
        if generating:  # generate_assignment from the engine's own copy, into the engine's own release
            config.CourseDirectory.source_directory = str(self.ws.staging / "source")
            config.CourseDirectory.release_directory = str(self.ws.staging / "release")
        # nbgrader's sanitising without ClearOutput: EngineScores keeps inert outputs of hand-graded cells
        config.Autograde.sanitize_preprocessors = [DeduplicateIds, OverwriteKernelspec, OverwriteCells,
                                                   CheckCellMetadata]
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

        self.ws.root.mkdir(parents=True, exist_ok=True)
        (self.ws.staging / "submitted").mkdir(parents=True, exist_ok=True)
        if self.ws.standalone:
            (self.ws.root / "exchange").mkdir(exist_ok=True)
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
        """``generate_assignment`` from the engine's own copy of the source without hidden-test regions, into
        the engine's own release folder (the course's release is never written)."""
        from nbgrader.apps import NbGraderAPI

        source = self.ws.staging / "source" / self.assignment.name
        shutil.copytree(self.source_dir, source, dirs_exist_ok=True,
                        ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
        for path in source.glob("*.ipynb"):
            notebook = json.loads(path.read_text(encoding="utf-8"))
            for cell in notebook.get("cells", []):
                text = cell.get("source", "")
                text = "".join(text) if isinstance(text, list) else text
                if "BEGIN HIDDEN TESTS" in text:
                    cell["source"] = strip_hidden(text)
            path.write_text(json.dumps(notebook, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        api = NbGraderAPI(config=self._config(generating=True))
        api.log.setLevel("ERROR")
        result = api.generate_assignment(self.assignment.name, force=True, create=True)
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
    def _stage(self, result: SubmissionResult, timestamp: str | None, extras: Path | None,
               originals: dict[str, dict] | None) -> tuple[Path, list[str]]:
        """The copy of one submission that nbgrader's autograde reads (in the engine's staging folder)."""
        from autograder.engine.outputs import with_student_outputs

        folder = self.ws.staging / "submitted" / result.student / self.assignment.name
        if folder.exists():  # left by this run (a student graded twice in one run)
            shutil.rmtree(folder)
        folder.mkdir(parents=True)
        notes = copy_extras(extras, folder) if extras is not None and extras.is_dir() else []
        for stem, notebook in result.valid_notebooks.items():
            merged = with_student_outputs(notebook, (originals or {}).get(stem), self._manual(stem))
            (folder / f"{stem}.ipynb").write_text(json.dumps(merged, ensure_ascii=False), encoding="utf-8")
        if timestamp and not (folder / "timestamp.txt").is_file():
            (folder / "timestamp.txt").write_text(timestamp + "\n")
        return folder, notes

    def record(self, result: SubmissionResult, timestamp: str | None = None, extras: Path | None = None,
               originals: dict[str, dict] | None = None) -> list[str]:
        """Write one student's results (gradebook, autograded notebook, feedback); returns notes.

        Parameters
        ----------
        result : SubmissionResult
        timestamp : str, optional
            The submission's ``timestamp.txt`` content.
        extras : Path, optional
            The student's submission folder: its other files (``timestamp.txt``, ``submission_secret.txt``)
            are copied along, as nbgrader does, so that ``release_feedback`` and ``fetch_feedback`` work.
        originals : dict, optional
            The submitted notebooks (stem -> JSON) whose inert outputs of hand-graded cells are kept.
        """
        assert self.api is not None, "call prepare() first"
        name, student = self.assignment.name, result.student
        _, notes = self._stage(result, timestamp, extras, originals)
        summary = summary_lines(result)
        for stem in self.assignment.notebooks:
            self.engine_scores.pending[(student, stem)] = {
                "cells": {c.grade_id: {"score": c.score, "lines": _lines(c)}
                          for c in result.cells.values() if c.notebook == stem},
                "summary": summary,
                "manual": self._manual(stem),
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
            target = self.feedback_folder(student)
            outcome = self._step("generate_feedback", self.api.generate_feedback, name, student,
                                 force=True) if autograded else "not autograded"
            for stem in self.assignment.notebooks:
                page = target / f"{stem}.html"
                if outcome or not page.is_file():
                    atomic_write(page, fallback_feedback(self.assignment, result, stem))
            if outcome and autograded:
                notes.append(f"nbgrader generate_feedback failed ({outcome}); wrote a plain feedback page")
        return notes

    def _manual(self, stem: str) -> set[str]:
        """Grade ids of the source notebook's hand-graded cells (whose student outputs graders see)."""
        return {c.grade_id for c in self.assignment.manual_cells if c.notebook == stem}

    def feedback_folder(self, student: str) -> Path:
        """``<feedback>/<student>/<assignment>`` as nbgrader's ``generate_feedback`` writes it."""
        return Path(self.api.coursedir.format_path(self.api.coursedir.feedback_directory, student,
                                                   self.assignment.name))

    def autograded_folder(self, student: str) -> Path:
        """``<autograded>/<student>/<assignment>`` as nbgrader's ``autograde`` writes it."""
        return Path(self.api.coursedir.format_path(self.api.coursedir.autograded_directory, student,
                                                   self.assignment.name))

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
        """The engine's auto scores, directly (also for submissions nbgrader could not process). Manual
        scores, comments and extra credit are never touched."""
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


def gradebook_students(db_url: str, course_id: str) -> list[str]:
    """Every student id the gradebook knows (empty when it does not exist yet)."""
    from nbgrader.api import Gradebook

    sqlite = _sqlite_path(db_url)
    if sqlite is not None and not sqlite.is_file():
        return []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with Gradebook(db_url, course_id) as gb:
            return sorted(s.id for s in gb.students)


def final_grades(db_url: str, course_id: str, assignment: str) -> tuple[list[str], list[dict[str, object]]]:
    """The LMS table of one assignment, read through nbgrader's Gradebook API.

    One row per student of the gradebook: per grade cell its ``auto``, ``manual``, ``extra`` credit and
    ``score`` (nbgrader's: manual if set, else auto, plus extra credit), then the totals, ``max_score``,
    the submission ``timestamp``, ``late`` (seconds past the due date, extensions included),
    ``late_penalty`` and ``needs_manual_grade``. Students without a submission get empty cells and
    ``status = no submission``.
    """
    from nbgrader.api import Gradebook, MissingEntry

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with Gradebook(db_url, course_id) as gb:
            found = gb.find_assignment(assignment)
            cells = [(nb.name, c.name, c.max_score) for nb in found.notebooks for c in nb.grade_cells]
            header = ["student_id", "first_name", "last_name", "email", "status"]
            for _, cell, _ in cells:
                header += [f"{cell}:auto", f"{cell}:manual", f"{cell}:extra", f"{cell}:score"]
            header += ["auto_score", "manual_score", "extra_credit", "score", "max_score", "timestamp",
                       "late", "seconds_late", "late_penalty", "needs_manual_grade"]
            max_score = sum(m for _, _, m in cells)
            rows = []
            for student in sorted(gb.students, key=lambda s: s.id):
                row: dict[str, object] = {"student_id": student.id, "first_name": student.first_name or "",
                                          "last_name": student.last_name or "", "email": student.email or "",
                                          "max_score": _round(max_score)}
                try:
                    submission = gb.find_submission(assignment, student.id)
                except MissingEntry:
                    rows.append({**row, "status": "no submission", "score": 0})
                    continue
                totals = {"auto_score": 0.0, "manual_score": 0.0, "extra_credit": 0.0, "score": 0.0}
                for notebook, cell, _ in cells:
                    grade = gb.find_grade(cell, notebook, assignment, student.id)
                    row[f"{cell}:auto"] = _round(grade.auto_score)
                    row[f"{cell}:manual"] = _round(grade.manual_score)
                    row[f"{cell}:extra"] = _round(grade.extra_credit)
                    row[f"{cell}:score"] = _round(grade.score)
                    totals["auto_score"] += grade.auto_score or 0.0
                    totals["manual_score"] += grade.manual_score or 0.0
                    totals["extra_credit"] += grade.extra_credit or 0.0
                    totals["score"] += grade.score or 0.0
                seconds_late = submission.total_seconds_late
                penalty = submission.late_submission_penalty or 0.0
                row.update({k: _round(v) for k, v in totals.items()})
                row.update(status="submitted", score=_round(max(0.0, totals["score"] - penalty)),
                           timestamp=submission.timestamp.isoformat(sep=" ") if submission.timestamp else "",
                           late="yes" if seconds_late > 0 else "no", seconds_late=_round(seconds_late),
                           late_penalty=_round(penalty),
                           needs_manual_grade=bool(submission.needs_manual_grade))
                rows.append(row)
    return header, rows


def _round(value: float | None) -> float | int | str:
    if value is None:
        return ""
    value = round(float(value), 6)
    return int(value) if value == int(value) else value


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
