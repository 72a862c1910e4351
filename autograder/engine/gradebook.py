"""nbgrader bookkeeping: artefacts made where a submission is graded, the gradebook written in bulk.

nbgrader keeps doing what it is good at: the gradebook (SQLite by default, any SQLAlchemy URL), submission
records, manually graded cells, autograded notebooks for formgrader, feedback, ``nbgrader export``. What it no
longer does is run code: its autograde pipeline is configured with :class:`EngineScores` in place of
``Execute``, so no student code and no hidden test ever runs in a kernel. Instead, each autograded test cell
receives the engine's result as its output (the pass/fail lines and the score as the cell's value, which is
how nbgrader records partial credit); hidden-test regions are removed from the cells.

The work is split in two, so that the parent does almost nothing one submission at a time:

* **Where the submission was graded** (a pool process or a Dask worker, the trusted side), :func:`render` runs
  nbgrader's own ``autograde`` and ``generate_feedback`` for that one student against a *private* course: a
  scratch folder and SQLite gradebook of the grading process, made once per process from a
  :class:`RenderSpec` (the assignment's source notebooks, the course's ``nbgrader_config.py``, the due date)
  and holding, for the student being rendered, the manual scores, extra credit, comments and extension the
  course's gradebook had when the batch started (:meth:`Bookkeeper.job`). The result (:class:`Rendered`) is
  plain data: the files of ``autograded/<student>/<assignment>/`` and ``feedback/<student>/<assignment>/``
  exactly as nbgrader wrote them, and the values nbgrader's autograde wrote into the private gradebook (auto
  scores, automatic comments, late penalties).
* **The parent** (:class:`Bookkeeper`) puts those files in place (a folder swap) and queues the values;
  :meth:`Bookkeeper.flush` writes every queued student into the course's gradebook in **one transaction**
  (SQLAlchemy through nbgrader's ORM; SQLite additionally guarded by a file lock, so concurrent ``course
  grade`` runs on one gradebook do not interleave their writes; PostgreSQL takes concurrent transactions).
  Only automatic fields are written (``auto_score``, ``needs_manual_grade``, ``auto_comment``, the late
  penalty, the submission's timestamp): manual scores, comments and extra credit are never touched.
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import html
import json
import os
import re
import shutil
import signal
import sys
import tempfile
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import timedelta
from pathlib import Path
from typing import Any, ClassVar

from autograder.engine.grade import SubmissionResult
from autograder.engine.notebooks import Assignment
from autograder.engine.report import atomic_write
from mlcourse.checks import strip_hidden

#: Seconds one nbgrader step (autograde or feedback of one student) may take before it is abandoned.
STEP_SECONDS = 120


class GenerateRefused(RuntimeError):
    """nbgrader's ``generate_assignment`` refused to put the assignment into the gradebook; ``reason`` is
    nbgrader's own one-line explanation."""

    def __init__(self, reason: str, details: str) -> None:
        super().__init__(f"{reason}\n{details}")
        self.reason = reason


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

#: A folder's files as plain data: relative path -> (bytes, permission bits).
Files = dict[str, tuple[bytes, int]]


def read_extras(source: Path, notebooks: bool = False) -> tuple[Files, list[str]]:
    """The regular files of a submission folder that nbgrader's autograde copies along (``timestamp.txt``,
    ``submission_secret.txt``, data files; notebooks only if ``notebooks``); links are refused, not followed.
    Returns the files and notes about what was left out."""
    notes: list[str] = []
    found: list[Path] = []
    files: Files = {}
    total = 0
    for folder, dirs, names in os.walk(source, followlinks=False):  # linked folders are never entered
        dirs[:] = sorted(d for d in dirs if d not in IGNORED and not d.startswith(".ipynb"))
        found += [Path(folder) / f for f in sorted(names)]
        found += [Path(folder) / d for d in dirs if (Path(folder) / d).is_symlink()]
    for path in found:
        rel = path.relative_to(source)
        if rel.name in IGNORED or (path.suffix == ".ipynb" and not notebooks):
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
        files[rel.as_posix()] = (path.read_bytes(), 0o644)
    return files, notes


def read_folder(folder: Path) -> Files:
    """Every regular file under ``folder`` with its permission bits (what nbgrader wrote there)."""
    files: Files = {}
    for path in sorted(Path(folder).rglob("*")):
        if path.is_file() and not path.is_symlink():
            files[path.relative_to(folder).as_posix()] = (path.read_bytes(), path.stat().st_mode & 0o7777)
    return files


def write_files(folder: Path, files: Files, modes: bool = True) -> None:
    """Write ``files`` under ``folder`` (paths are relative and never leave it)."""
    for rel, (data, mode) in files.items():
        target = folder / rel
        if Path(rel).is_absolute() or ".." in Path(rel).parts:
            raise ValueError(f"refusing to write {rel!r} outside {folder}")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        if modes:
            os.chmod(target, mode)


def replace_folder(folder: Path, files: Files) -> None:
    """Make ``folder`` hold exactly ``files``: written beside it first, then swapped in (``os.replace``), as
    nbgrader's ``--force`` replaces a student's autograded or feedback folder."""
    folder = Path(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    fresh = Path(tempfile.mkdtemp(prefix=f".{folder.name}.new-", dir=folder.parent))
    old = folder.parent / f".{folder.name}.old-{os.getpid()}-{time.monotonic_ns()}"
    try:
        write_files(fresh, files)
        os.chmod(fresh, 0o755)
        if folder.exists():
            os.replace(folder, old)
        os.replace(fresh, folder)
    finally:
        shutil.rmtree(fresh, ignore_errors=True)
        shutil.rmtree(old, ignore_errors=True)


@dataclass
class Workspace:
    """Where nbgrader reads and writes for one run.

    Attributes
    ----------
    root : Path
        nbgrader's ``CourseDirectory.root``: the instructor's course, or the engine's own scratch course
        (``OUT/nbgrader``) when grading a folder outside any course, or a grading process's private course.
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


@dataclass(frozen=True)
class RenderSpec:
    """What a grading process needs to make nbgrader's artefacts of one assignment (plain data, shipped with
    every task; the private course it describes is built once per process and reused).

    Attributes
    ----------
    assignment, course_id : str
    source_files : Files
        The assignment's nbgrader source folder (hidden-test regions are stripped before nbgrader sees them).
    master_files : Files
        The non-notebook files of the course's ``source/<assignment>/`` that nbgrader's autograde copies into
        every autograded folder.
    config_text : str or None
        The course's ``nbgrader_config.py``.
    duedate : str or None
        The assignment's due date in the course's gradebook (ISO, UTC).
    feedback : bool
        Make the feedback pages.
    key : str
        Identifies the spec (the private course is rebuilt when it changes).
    alembic_version : str or None
        The gradebook schema's version, as nbgrader stamps a new gradebook (read from the course's, so that
        no grading process has to ask ``alembic`` in a subprocess, as nbgrader does, which costs seconds).
    workdir : str or None
        The batch's scratch folder: a grading process on the same machine makes its private course there,
        inside what the sandbox denies to student code (elsewhere, e.g. on a Dask worker, in the system's
        temporary folder, hidden by the sandbox's private root).
    """

    assignment: str
    course_id: str
    source_files: Files
    master_files: Files
    config_text: str | None
    duedate: str | None
    feedback: bool
    key: str
    workdir: str | None = None
    alembic_version: str | None = None


@dataclass
class RenderJob:
    """One student's part of the rendering: the spec, the submission's timestamp and other files, and what the
    course's gradebook held for the student when the batch started (``prior``: ``grades`` and ``comments`` by
    ``(notebook, cell)``, ``extension`` in seconds)."""

    spec: RenderSpec
    timestamp: str | None = None
    extras: Files = field(default_factory=dict)
    prior: dict = field(default_factory=dict)
    extras_dir: str | None = None  #: the submission folder whose other files :meth:`loaded` reads

    def loaded(self) -> RenderJob:
        """This job with the submission folder's other files read (:func:`read_extras`): a local grading
        process reads them itself, so the parent never holds every student's data files at once."""
        if self.extras_dir is None:
            return self
        folder = Path(self.extras_dir)
        files = read_extras(folder)[0] if folder.is_dir() and not folder.is_symlink() else {}
        return replace(self, extras=files, extras_dir=None)


@dataclass
class Rendered:
    """nbgrader's artefacts for one student, made where the submission was graded.

    ``autograded`` is ``None`` when nbgrader's autograde could not process the submission; ``grades`` maps
    ``(notebook, cell)`` to the ``auto_score`` nbgrader wrote, ``comments`` to the ``auto_comment``,
    ``penalties`` maps a notebook to its late penalty; ``seconds`` is the time it took.
    """

    autograded: Files | None
    feedback: Files
    grades: dict[tuple[str, str], float | None]
    comments: dict[tuple[str, str], str | None]
    penalties: dict[str, float | None]
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0


class Nbgrader:
    """nbgrader's own ``generate_assignment``, ``autograde`` and ``generate_feedback`` on one workspace.

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
            if sqlite is not None and not sqlite.exists():
                _new_gradebook(self.db_url, _alembic_head())
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
            raise GenerateRefused(_first_exception(result), _last_lines(result, 30))

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

    def feedback_folder(self, student: str) -> Path:
        """``<feedback>/<student>/<assignment>`` as nbgrader's ``generate_feedback`` writes it."""
        return Path(self.api.coursedir.format_path(self.api.coursedir.feedback_directory, student,
                                                   self.assignment.name))

    def autograded_folder(self, student: str) -> Path:
        """``<autograded>/<student>/<assignment>`` as nbgrader's ``autograde`` writes it."""
        return Path(self.api.coursedir.format_path(self.api.coursedir.autograded_directory, student,
                                                   self.assignment.name))

    def _manual(self, stem: str) -> set[str]:
        """Grade ids of the source notebook's hand-graded cells (whose student outputs graders see)."""
        return {c.grade_id for c in self.assignment.manual_cells if c.notebook == stem}

    # -------------------------------------------------------------- one student (private course)
    @classmethod
    def private(cls, assignment: Assignment, spec: RenderSpec) -> Nbgrader:
        """A private course of this process for ``spec`` (scratch folder and SQLite gradebook), ready to
        render. The source notebooks are removed again once nbgrader has read them."""
        local = Path(spec.workdir) if spec.workdir and Path(spec.workdir).is_dir() else None
        base = Path(tempfile.mkdtemp(prefix=f"render-{os.getpid()}-", dir=local))
        atexit.register(shutil.rmtree, base, True)
        source = base / "source-notebooks" / spec.assignment
        source.mkdir(parents=True)
        write_files(source, spec.source_files, modes=False)
        root = base / "course"
        write_files(root / "source" / spec.assignment, spec.master_files, modes=False)
        config_file = None
        if spec.config_text is not None:
            config_file = base / "config" / "nbgrader_config.py"
            config_file.parent.mkdir()
            config_file.write_text(spec.config_text, encoding="utf-8")
        ws = Workspace(root, base / "staging", config_file, f"sqlite:///{base / 'gradebook.db'}",
                       spec.course_id, standalone=True, feedback_dir=root / "feedback")
        _new_gradebook(ws.db_url, spec.alembic_version or _alembic_head())
        steps = cls(assignment, source, ws, spec.feedback)
        try:
            steps.prepare()
        finally:  # the solutions are needed only to make the private gradebook
            shutil.rmtree(source, ignore_errors=True)
            shutil.rmtree(ws.staging / "source", ignore_errors=True)
        if spec.duedate:
            from nbgrader.api import Gradebook

            with warnings.catch_warnings(), Gradebook(steps.db_url, steps.course_id) as gb:
                warnings.simplefilter("ignore")
                gb.update_or_create_assignment(spec.assignment, duedate=spec.duedate)
        return steps

    def _stage(self, result: SubmissionResult, timestamp: str | None, extras: Files,
               originals: dict[str, dict] | None) -> Path:
        """The copy of one submission that nbgrader's autograde reads (in the staging folder)."""
        from autograder.engine.outputs import with_student_outputs

        folder = self.ws.staging / "submitted" / result.student / self.assignment.name
        if folder.exists():  # left by an earlier rendering of this student
            shutil.rmtree(folder)
        folder.mkdir(parents=True)
        write_files(folder, {k: v for k, v in extras.items() if not k.endswith(".ipynb")}, modes=False)
        for stem, notebook in result.valid_notebooks.items():
            merged = with_student_outputs(notebook, (originals or {}).get(stem), self._manual(stem))
            (folder / f"{stem}.ipynb").write_text(json.dumps(merged, ensure_ascii=False), encoding="utf-8")
        if timestamp and not (folder / "timestamp.txt").is_file():
            (folder / "timestamp.txt").write_text(timestamp + "\n")
        return folder

    def _seed(self, student: str, timestamp: str | None, prior: dict) -> None:
        """The student's submission in the private gradebook with what the course's gradebook held (manual
        scores, extra credit, comments, extension), so nbgrader's steps see what they would see there."""
        from nbgrader.api import Gradebook, MissingEntry

        name = self.assignment.name
        grades, comments = prior.get("grades", {}), prior.get("comments", {})
        with Gradebook(self.db_url, self.course_id) as gb:
            gb.update_or_create_student(student)
            with contextlib.suppress(MissingEntry):
                gb.remove_submission(name, student)
            extra = {}
            if timestamp:
                with contextlib.suppress(Exception):  # an unreadable timestamp is nbgrader's to ignore
                    from nbgrader.utils import parse_utc

                    extra["timestamp"] = parse_utc(timestamp)
            submission = gb.add_submission(name, student, **extra)
            if prior.get("extension") is not None:
                submission.extension = timedelta(seconds=float(prior["extension"]))
            for notebook in submission.notebooks:
                for grade in notebook.grades:
                    manual, extra_credit = grades.get((notebook.name, grade.name), (None, None))
                    grade.manual_score, grade.extra_credit = manual, extra_credit
                for comment in notebook.comments:
                    comment.manual_comment = comments.get((notebook.name, comment.name))
            gb.db.commit()

    def render(self, result: SubmissionResult, job: RenderJob, originals: dict[str, dict] | None) -> Rendered:
        """nbgrader's autograde and feedback of one student in this private course; what they wrote."""
        from nbgrader.api import Gradebook

        began = time.perf_counter()
        name, student = self.assignment.name, result.student
        staged = self._stage(result, job.timestamp, job.extras, originals)
        notes: list[str] = []
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                self._seed(student, job.timestamp, job.prior)
                summary = summary_lines(result)
                for stem in self.assignment.notebooks:
                    self.engine_scores.pending[(student, stem)] = {
                        "cells": {c.grade_id: {"score": c.score, "lines": _lines(c)}
                                  for c in result.cells.values() if c.notebook == stem},
                        "summary": summary,
                        "manual": self._manual(stem),
                    }
                outcome = self._step("autograde", self.api.autograde, name, student, force=True, create=True)
                autograded = outcome is None
                if outcome:
                    notes.append(f"nbgrader could not process the submission: {outcome}")
                with Gradebook(self.db_url, self.course_id) as gb:
                    write_engine_scores(gb, self.assignment, result)
                    gb.db.commit()
                for stem in self.assignment.notebooks:
                    self.engine_scores.pending.pop((student, stem), None)
                feedback: Files = {}
                if self.feedback:
                    target = self.feedback_folder(student)
                    shutil.rmtree(target, ignore_errors=True)
                    outcome = self._step("generate_feedback", self.api.generate_feedback, name, student,
                                         force=True) if autograded else "not autograded"
                    feedback = read_folder(target) if target.is_dir() else {}
                    for stem in self.assignment.notebooks:
                        page = f"{stem}.html"
                        if outcome or page not in feedback:
                            plain = fallback_feedback(self.assignment, result, stem)
                            feedback[page] = (plain.encode(), 0o644)
                    if outcome and autograded:
                        notes.append(f"nbgrader generate_feedback failed ({outcome}); wrote a plain feedback "
                                     "page")
                folder = self.autograded_folder(student)
                files = read_folder(folder) if autograded and folder.is_dir() else None
                grades, comments, penalties = {}, {}, {}
                with Gradebook(self.db_url, self.course_id) as gb:
                    submission = gb.find_submission(name, student)
                    for notebook in submission.notebooks:
                        for grade in notebook.grades:
                            grades[(notebook.name, grade.name)] = grade.auto_score
                        for comment in notebook.comments:
                            comments[(notebook.name, comment.name)] = comment.auto_comment
                        penalties[notebook.name] = notebook.late_submission_penalty
                    gb.remove_submission(name, student)
        finally:
            for stem in self.assignment.notebooks:
                self.engine_scores.pending.pop((student, stem), None)
            shutil.rmtree(staged, ignore_errors=True)
            shutil.rmtree(self.autograded_folder(student), ignore_errors=True)
            shutil.rmtree(self.feedback_folder(student), ignore_errors=True)
        return Rendered(files, feedback, grades, comments, penalties, notes, time.perf_counter() - began)

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


def _alembic_head() -> str:
    """The gradebook schema version nbgrader stamps a new gradebook with (its ``alembic heads``, read
    in-process instead of in a subprocess)."""
    import nbgrader
    from alembic.script import ScriptDirectory

    return ScriptDirectory(str(Path(nbgrader.__file__).parent / "alembic")).get_current_head()


def _new_gradebook(db_url: str, version: str) -> None:
    """An empty gradebook stamped with schema ``version``: what nbgrader's ``Gradebook`` makes of a new
    database, without its ``alembic heads`` subprocess."""
    from nbgrader.api import Base
    from sqlalchemy import create_engine, text

    engine = create_engine(db_url, future=True)
    try:
        Base.metadata.create_all(bind=engine)
        with engine.begin() as connection:
            connection.execute(text("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL)"))
            connection.execute(text("INSERT INTO alembic_version (version_num) VALUES (:v)"), {"v": version})
    finally:
        engine.dispose()


def write_engine_scores(gb, assignment: Assignment, result: SubmissionResult) -> None:
    """The engine's auto scores into an open gradebook (also for submissions nbgrader could not process);
    manual scores, comments and extra credit are never touched. No commit."""
    from nbgrader.api import MissingEntry

    name, student = assignment.name, result.student
    gb.update_or_create_student(student)
    try:
        gb.find_submission(name, student)
    except MissingEntry:
        gb.add_submission(name, student)
    for cell in assignment.cells:
        grade = gb.find_grade(cell.grade_id, cell.notebook, name, student)
        if cell.auto:
            grade.auto_score = result.cells[cell.grade_id].score if cell.grade_id in result.cells else 0.0
            grade.needs_manual_grade = grade.manual_score is not None
        elif cell.notebook not in result.valid_notebooks:
            grade.auto_score = 0.0  # nothing submitted to grade by hand
            grade.needs_manual_grade = False


#: Private courses of this process, by :attr:`RenderSpec.key`.
_PRIVATE: dict[str, Nbgrader] = {}


def render(assignment: Assignment, job: RenderJob, result: SubmissionResult,
           originals: dict[str, dict] | None = None) -> Rendered | None:
    """nbgrader's artefacts of one graded submission, made in this (grading) process; ``None`` when there is
    no notebook to process. Runs no student code: nbgrader only reads the notebook."""
    if not result.valid_notebooks:
        return None
    steps = _PRIVATE.get(job.spec.key)
    if steps is None:
        steps = _PRIVATE[job.spec.key] = Nbgrader.private(assignment, job.spec)
    return steps.render(result, job.loaded(), originals)


@dataclass
class Entry:
    """One student's queued gradebook values: ``grades`` maps ``(notebook, cell)`` to ``(auto_score,
    needs_manual_grade)`` (``None``: nbgrader's rule, needed when a manual score exists or no auto score)."""

    student: str
    timestamp: str | None
    grades: dict[tuple[str, str], tuple[float | None, bool | None]]
    comments: dict[tuple[str, str], str | None] = field(default_factory=dict)
    penalties: dict[str, float | None] = field(default_factory=dict)


class Bookkeeper:
    """The parent's side: puts each student's rendered files in place and writes the gradebook in bulk.

    Parameters
    ----------
    assignment : Assignment
    source_dir : Path
        The assignment's nbgrader source notebooks (``solutions/<assignment>/``).
    workspace : Workspace
        The course (or the engine's own workspace) the results go to.
    feedback : bool
        Generate HTML feedback.
    master_dir : Path, optional
        The course's ``source/<assignment>/`` (its non-notebook files go into every autograded folder).
    """

    def __init__(self, assignment: Assignment, source_dir: Path, workspace: Workspace,
                 feedback: bool = True, master_dir: Path | None = None) -> None:
        self.assignment = assignment
        self.source_dir = Path(source_dir)
        self.master_dir = master_dir
        self.ws = workspace
        self.db_url = workspace.db_url
        self.course_id = workspace.course_id
        self.feedback = feedback
        self.nbgrader = Nbgrader(assignment, source_dir, workspace, feedback)
        self.spec: RenderSpec | None = None
        self.prior: dict[str, dict] = {}
        self.pending: list[Entry] = []
        self.transactions = 0  # gradebook transactions committed by flush()
        self.written = 0  # students written by them
        self._gb = None

    @property
    def api(self):
        return self.nbgrader.api

    def prepare(self) -> None:
        """Make sure the gradebook knows the assignment, then read (in one pass) what the grading processes
        need: the due date and every student's manual work."""
        import hashlib

        from nbgrader.api import Gradebook

        self.nbgrader.prepare()
        source, _ = read_extras(self.source_dir, notebooks=True)
        master = read_extras(self.master_dir)[0] if self.master_dir and self.master_dir.is_dir() else {}
        config_file = self.ws.config_file
        config_text = Path(config_file).read_text(encoding="utf-8") \
            if config_file and Path(config_file).is_file() else None
        with warnings.catch_warnings(), Gradebook(self.db_url, self.course_id) as gb:
            warnings.simplefilter("ignore")
            found = gb.find_assignment(self.assignment.name)
            duedate = found.duedate.isoformat() if found.duedate else None
            version = None
            with contextlib.suppress(Exception):
                from sqlalchemy import text

                version = gb.db.execute(text("SELECT version_num FROM alembic_version")).scalar()
            for submission in found.submissions:
                prior = _prior(submission)
                if prior:
                    self.prior[submission.student.id] = prior
        digest = hashlib.sha256(json.dumps([sorted((k, v[0].hex()) for k, v in {**source, **master}.items()),
                                            config_text, duedate, self.feedback, self.course_id]).encode())
        self.spec = RenderSpec(self.assignment.name, self.course_id, source, master, config_text, duedate,
                               self.feedback, digest.hexdigest(), str(self.ws.staging), version)

    def job(self, student: str, timestamp: str | None = None, extras: Path | None = None,
            lazy: bool = False) -> RenderJob:
        """What the grading process needs to render ``student``: the folder's other files are read here or,
        with ``lazy`` (grading processes on this machine), by the grading process (``RenderJob.loaded``)."""
        assert self.spec is not None, "call prepare() first"
        prior = self.prior.get(student, {})
        if extras is None or not extras.is_dir():
            return RenderJob(self.spec, timestamp, {}, prior)
        if lazy:
            return RenderJob(self.spec, timestamp, {}, prior, extras_dir=str(extras))
        return RenderJob(self.spec, timestamp, read_extras(extras)[0], prior)

    def feedback_folder(self, student: str) -> Path:
        return self.nbgrader.feedback_folder(student)

    def autograded_folder(self, student: str) -> Path:
        return self.nbgrader.autograded_folder(student)

    def record(self, result: SubmissionResult, timestamp: str | None = None, extras: Path | None = None,
               originals: dict[str, dict] | None = None) -> list[str]:
        """Put one student's autograded notebook and feedback in place and queue the gradebook values (written
        by :meth:`flush`); returns notes.

        Parameters
        ----------
        result : SubmissionResult
            With :attr:`~autograder.engine.grade.SubmissionResult.rendered` from the grading process (when
            absent, only the engine's scores are recorded, with a plain feedback page).
        timestamp : str, optional
            The submission's ``timestamp.txt`` content.
        extras, originals
            Unused (the grading process had them); kept for callers of the earlier signature.
        """
        assert self.api is not None, "call prepare() first"
        student = result.student
        rendered = getattr(result, "rendered", None)
        notes = list(rendered.notes) if rendered is not None else []
        if rendered is not None and rendered.autograded is not None:
            replace_folder(self.autograded_folder(student), rendered.autograded)
        if self.feedback:
            if rendered is not None and rendered.feedback:
                replace_folder(self.feedback_folder(student), rendered.feedback)
            else:
                target = self.feedback_folder(student)
                for stem in self.assignment.notebooks:
                    atomic_write(target / f"{stem}.html", fallback_feedback(self.assignment, result, stem))
        grades: dict[tuple[str, str], tuple[float | None, bool | None]] = {}
        if rendered is not None:
            for (notebook, cell), value in rendered.grades.items():
                grades[(notebook, cell)] = (value, False if notebook not in result.valid_notebooks else None)
        for cell in self.assignment.cells:  # the engine's scores, as write_engine_scores writes them
            if cell.auto:
                score = result.cells[cell.grade_id].score if cell.grade_id in result.cells else 0.0
                grades[(cell.notebook, cell.grade_id)] = (score, None)
            elif cell.notebook not in result.valid_notebooks:
                grades[(cell.notebook, cell.grade_id)] = (0.0, False)
        self.pending.append(Entry(student, timestamp, grades,
                                  dict(rendered.comments) if rendered is not None else {},
                                  dict(rendered.penalties) if rendered is not None else {}))
        return notes

    # -------------------------------------------------------------- the gradebook, in bulk
    def flush(self) -> dict[str, str]:
        """Write every queued student in one transaction; returns ``{student: reason}`` for those that could
        not be written (after a failed transaction each student is retried alone, so one bad entry costs only
        itself)."""
        batch, self.pending = self.pending, []
        if not batch:
            return {}
        try:
            self._write(batch)
            return {}
        except Exception as exc:
            if len(batch) == 1:
                return {batch[0].student: _why(exc)}
        failures = {}
        for entry in batch:
            try:
                self._write([entry])
            except Exception as exc:
                failures[entry.student] = _why(exc)
        return failures

    def _write(self, batch: list[Entry]) -> None:
        from nbgrader.api import Gradebook

        with self._locked(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if self._gb is None:
                self._gb = Gradebook(self.db_url, self.course_id)
            gb = self._gb
            try:
                _write_batch(gb.db, gb.find_assignment(self.assignment.name), batch)
                gb.db.commit()
            except BaseException:
                with contextlib.suppress(Exception):
                    gb.db.rollback()
                with contextlib.suppress(Exception):
                    gb.close()
                self._gb = None
                raise
        self.transactions += 1
        self.written += len(batch)

    def close(self) -> None:
        if self._gb is not None:
            with contextlib.suppress(Exception):
                self._gb.close()
            self._gb = None

    def _locked(self):
        return self.nbgrader._locked()


def _why(exc: BaseException) -> str:
    return f"not recorded in the gradebook ({type(exc).__name__}: {(str(exc).splitlines() or [''])[0][:200]})"


def _prior(submission) -> dict:
    """A submission's manual work (only what is set): grades, comments, extension."""
    grades, comments = {}, {}
    for notebook in submission.notebooks:
        for grade in notebook.grades:
            if grade.manual_score is not None or grade.extra_credit is not None:
                grades[(notebook.name, grade.name)] = (grade.manual_score, grade.extra_credit)
        for comment in notebook.comments:
            if comment.manual_comment is not None:
                comments[(notebook.name, comment.name)] = comment.manual_comment
    prior: dict = {}
    if grades:
        prior["grades"] = grades
    if comments:
        prior["comments"] = comments
    if submission.extension is not None:
        prior["extension"] = submission.extension.total_seconds()
    return prior


def _write_batch(db, assignment, batch: list[Entry]) -> None:
    """The queued values of ``batch`` into the open session (no commit) with a fixed number of statements,
    whatever the batch size: SQLAlchemy Core ``executemany`` on nbgrader's tables. Missing students and
    submissions are created with the rows nbgrader's ``add_submission`` creates (one notebook row per
    notebook, a grade per grade or task cell, a comment per solution or task cell); on existing ones only the
    automatic fields are updated, so manual scores, comments and extra credit are never touched."""
    from nbgrader.api import Comment, Grade, Student, SubmittedAssignment, SubmittedNotebook, new_uuid
    from nbgrader.utils import parse_utc
    from sqlalchemy import bindparam, insert, select, update

    grade_t, comment_t = Grade.__table__, Comment.__table__
    notebook_t, submission_t, student_t = SubmittedNotebook.__table__, SubmittedAssignment.__table__, \
        Student.__table__
    notebooks = [(nb.id, nb.name, [(c.id, c.name) for c in (*nb.grade_cells, *nb.task_cells)],
                  [(c.id, c.name) for c in (*nb.solution_cells, *nb.task_cells)])
                 for nb in assignment.notebooks]
    entries = {entry.student: entry for entry in batch}  # a student twice in a batch: the later result
    ids = sorted(entries)

    def stamp(entry: Entry):
        if entry.timestamp:
            with contextlib.suppress(Exception):  # as nbgrader: an unreadable timestamp.txt is no timestamp
                return parse_utc(entry.timestamp)
        return None

    known = set(db.execute(select(student_t.c.id).where(student_t.c.id.in_(ids))).scalars())
    if set(ids) - known:
        db.execute(insert(student_t), [{"id": s} for s in ids if s not in known])
    existing = dict(db.execute(select(submission_t.c.student_id, submission_t.c.id).where(
        submission_t.c.assignment_id == assignment.id, submission_t.c.student_id.in_(ids))).all())

    new_subs, new_nbs, new_grades, new_comments = [], [], [], []
    for student in ids:
        if student in existing:
            continue
        entry, sub_id = entries[student], new_uuid()
        new_subs.append({"id": sub_id, "assignment_id": assignment.id, "student_id": student,
                         "timestamp": stamp(entry)})
        for nb_id, nb_name, graded, commented in notebooks:
            snb = new_uuid()
            new_nbs.append({"id": snb, "assignment_id": sub_id, "notebook_id": nb_id, "flagged": False,
                            "late_submission_penalty": entry.penalties.get(nb_name)})
            for cell_id, cell in graded:
                value, needs = entry.grades.get((nb_name, cell), (None, None))
                new_grades.append({"id": new_uuid(), "notebook_id": snb, "cell_id": cell_id,
                                   "auto_score": value, "manual_score": None, "extra_credit": None,
                                   "needs_manual_grade": needs if needs is not None else value is None})
            for cell_id, cell in commented:
                new_comments.append({"id": new_uuid(), "notebook_id": snb, "cell_id": cell_id,
                                     "auto_comment": entry.comments.get((nb_name, cell)),
                                     "manual_comment": None})
    for table, rows in ((submission_t, new_subs), (notebook_t, new_nbs), (grade_t, new_grades),
                        (comment_t, new_comments)):
        if rows:
            db.execute(insert(table), rows)
    if not existing:
        return

    by_sub = {sub_id: student for student, sub_id in existing.items()}
    nb_names = {nb_id: nb_name for nb_id, nb_name, _, _ in notebooks}
    cell_names = {cell_id: cell for _, _, graded, commented in notebooks
                  for cell_id, cell in graded + commented}
    stamps = [{"sid": sub_id, "ts": stamp(entries[student])} for student, sub_id in existing.items()
              if stamp(entries[student]) is not None]
    if stamps:
        db.execute(update(submission_t).where(submission_t.c.id == bindparam("sid"))
                   .values(timestamp=bindparam("ts")), stamps)
    nb_rows = db.execute(select(notebook_t.c.id, notebook_t.c.assignment_id, notebook_t.c.notebook_id).where(
        notebook_t.c.assignment_id.in_(list(by_sub)))).all()
    where = {snb: (entries[by_sub[sub_id]], nb_names.get(nb_id)) for snb, sub_id, nb_id in nb_rows}
    penalties = [{"nid": snb, "p": entry.penalties[nb]} for snb, (entry, nb) in where.items()
                 if nb in entry.penalties]
    if penalties:
        db.execute(update(notebook_t).where(notebook_t.c.id == bindparam("nid"))
                   .values(late_submission_penalty=bindparam("p")), penalties)
    grades = []
    for gid, snb, cell_id, manual in db.execute(select(grade_t.c.id, grade_t.c.notebook_id, grade_t.c.cell_id,
                                                       grade_t.c.manual_score).where(
            grade_t.c.notebook_id.in_(list(where)))).all():
        entry, nb = where[snb]
        key = (nb, cell_names.get(cell_id))
        if key in entry.grades:
            value, needs = entry.grades[key]
            grades.append({"gid": gid, "auto": value,
                           "needs": needs if needs is not None else (manual is not None or value is None)})
    if grades:
        db.execute(update(grade_t).where(grade_t.c.id == bindparam("gid"))
                   .values(auto_score=bindparam("auto"), needs_manual_grade=bindparam("needs")), grades)
    comments = []
    for cid, snb, cell_id in db.execute(select(comment_t.c.id, comment_t.c.notebook_id, comment_t.c.cell_id)
                                        .where(comment_t.c.notebook_id.in_(list(where)))).all():
        entry, nb = where[snb]
        key = (nb, cell_names.get(cell_id))
        if key in entry.comments:
            comments.append({"cid": cid, "text": entry.comments[key]})
    if comments:
        db.execute(update(comment_t).where(comment_t.c.id == bindparam("cid"))
                   .values(auto_comment=bindparam("text")), comments)


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
    from nbgrader.api import Gradebook

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
            submissions = {sub.student_id: sub for sub in found.submissions}  # one query, not one per student
            everyone = sorted(gb.students, key=lambda s: s.id)
            graded: dict = {}
            for index, student in enumerate(everyone):
                if index % GRADES_CHUNK == 0:  # the grades of the next students, in one query
                    chunk = [s.id for s in everyone[index:index + GRADES_CHUNK]]
                    graded = _assignment_grades(gb, found, chunk)
                row: dict[str, object] = {"student_id": student.id, "first_name": student.first_name or "",
                                          "last_name": student.last_name or "", "email": student.email or "",
                                          "max_score": _round(max_score)}
                submission = submissions.get(student.id)
                if submission is None:
                    rows.append({**row, "status": "no submission", "score": 0})
                    continue
                totals = {"auto_score": 0.0, "manual_score": 0.0, "extra_credit": 0.0, "score": 0.0}
                for notebook, cell, _ in cells:
                    grade = graded.get((student.id, notebook, cell)) or \
                        gb.find_grade(cell, notebook, assignment, student.id)
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


#: Students whose grades :func:`final_grades` reads in one query (bounds its memory, not its speed).
GRADES_CHUNK = 50


def _assignment_grades(gb, assignment, students: list[str]) -> dict[tuple[str, str, str], Any]:
    """The grades of ``students`` in ``assignment`` by (student, notebook, cell), in one query."""
    from nbgrader.api import Grade, SubmittedAssignment, SubmittedNotebook

    cells = {c.id: (nb.name, c.name) for nb in assignment.notebooks for c in nb.grade_cells}
    query = (gb.db.query(Grade, SubmittedAssignment.student_id)
             .join(SubmittedNotebook, Grade.notebook_id == SubmittedNotebook.id)
             .join(SubmittedAssignment, SubmittedNotebook.assignment_id == SubmittedAssignment.id)
             .filter(SubmittedAssignment.assignment_id == assignment.id,
                     SubmittedAssignment.student_id.in_(students)))
    return {(student, *cells[grade.cell_id]): grade for grade, student in query if grade.cell_id in cells}


def _round(value: float | None) -> float | int | str:
    if value is None:
        return ""
    value = round(float(value), 6)
    return int(value) if value == int(value) else value


def _last_lines(outcome: dict, n: int) -> str:
    text = (outcome.get("error") or "") + "\n" + (outcome.get("log") or "")
    return "\n".join(text.strip().splitlines()[-n:])


def _first_exception(outcome: dict) -> str:
    """The first ``SomeError: message`` line of an nbgrader step's log (the cause; nbgrader's own wrapping
    exceptions come later), else :func:`_error_line`."""
    text = (outcome.get("log") or "") + "\n" + (outcome.get("error") or "")
    for line in text.splitlines():
        found = re.match(r"\s*(?:[\w.]+\.)?(\w*(?:Error|Exception)): (\S.*)$", line)
        if found and "see the the above traceback" not in line and "see the above traceback" not in line:
            return f"{found[1]}: {found[2].strip()}"[:300]
    return _error_line(outcome)


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
