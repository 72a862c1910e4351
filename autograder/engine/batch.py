"""Grading a whole batch: submissions in parallel (processes or a Dask cluster); the parent only records.

Each submission is one :func:`autograder.engine.grade.grade_submission` task. Tasks run in a process pool
(``workers`` processes; each drives its own sandboxed workers) or on a Dask cluster (``scheduler``). The
grading process also makes nbgrader's artefacts of the submission (autograded notebook, feedback page,
gradebook values; :func:`autograder.engine.gradebook.render`). The parent collects results as they finish:
for each it puts the files in place and writes ``results.json``; then, at a checkpoint, it writes every
collected student into the gradebook in **one transaction** and rewrites the state file, ``grades.csv`` and
``summary.json`` atomically. A checkpoint comes when no further result is ready for
``BatchOptions.flush_seconds``, after ``flush_every`` students, at the end and on SIGINT/SIGTERM, so a run
that is interrupted keeps every finished student's grade, and one that is killed loses at most the last
fraction of a second. The final outputs are sorted by student id, and a submission's result does not depend
on which process graded it or when, so any worker count gives the same files.

Inside an nbgrader course (:class:`~autograder.engine.course.Course`) nbgrader's own folders are used:
``autograded/<student>/<assignment>/`` and ``feedback/<student>/<assignment>/`` with every file nbgrader's
later steps need, and the course's gradebook. Submissions whose content and timestamp are those last graded
are skipped unless ``force``; the reference solution is graded first under the same limits (calibration).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from autograder.engine.course import Course
from autograder.engine.grade import CellResult, GradeTask, SubmissionResult
from autograder.engine.inputs import Submission, discover, read_submission_file
from autograder.engine.limits import Limits
from autograder.engine.notebooks import Assignment, load_assignment
from autograder.engine.pools import DaskPool, Interrupts, ProcessPool, UsageError, default_workers
from autograder.engine.progress import Progress
from autograder.engine.proxy import REPO, SandboxConfig
from autograder.engine.report import (
    atomic_write,
    empty_row,
    mark_stale,
    result_row,
    summary,
    summary_data,
    write_csv,
    write_final_grades,
    write_results,
)
from autograder.engine.rerun import code_hash, hash_files, identity, read_json, submission_hash

#: Exit codes of ``course grade`` (also in ``summary.json``).
EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
STATE_FILE = ".course-grade-state.json"
CALIBRATION_FILE = ".calibration.json"
REFERENCE = "_reference_solution"


@dataclass
class BatchOptions:
    """Everything ``course grade`` can be told (see ``autograder/cli.py`` for the command line)."""

    assignment: str
    submissions: Path
    out: Path
    workers: int | None = None
    scheduler: str | None = None
    db_url: str | None = None
    source_dir: Path | None = None
    suite_dir: Path | None = None
    course_id: str = "mlcourse"
    nbgrader_config: Path | None = REPO / "nbgrader_config.py"
    limits: Limits = field(default_factory=Limits)
    spawn: str = "zygote"
    bookkeeping: bool = True
    feedback: bool = True
    progress: bool = True
    stream: TextIO | None = None
    course: Course | None = None  # grade inside this nbgrader course (its gradebook and folders)
    students: list[str] | None = None  # grade only these (``--student``)
    force: bool = False  # regrade unchanged submissions; grade even if the reference solution fails
    calibrate: bool = True
    connect_timeout: float = 5.0  # seconds to reach a Dask scheduler
    scheduler_timeout: float = 60.0  # seconds to wait for a Dask worker
    flush_every: int = 50  # gradebook: one transaction for at most this many finished students ...
    flush_seconds: float = 0.5  # ... written once no result arrived for this long (or this much later)


@dataclass
class BatchReport:
    assignment: Assignment
    results: list[SubmissionResult]
    seconds: float
    out: Path
    workers: str
    warnings: list[str] = field(default_factory=list)
    sandbox: dict = field(default_factory=dict)
    rows: list[dict] = field(default_factory=list)
    exit_code: int = EXIT_OK
    others: dict[str, list[str]] = field(default_factory=dict)  # status -> students not graded this run
    parent: dict = field(default_factory=dict)  # the parent's serial work (see timing_report)

    def scores(self) -> dict[str, dict[str, float]]:
        """student -> grade cell -> score (what must not depend on the worker count)."""
        return {r.student: {c: v.score for c, v in sorted(r.cells.items())} for r in self.results}


def _failed(task: GradeTask, reason: str) -> SubmissionResult:
    cells = {c.grade_id: CellResult(c.grade_id, c.notebook, c.points, 0.0, note=reason)
             for c in task.assignment.auto_cells}
    return SubmissionResult(task.student, "failed", reason, cells, [reason])


def make_tasks(assignment: Assignment, submissions: list[Submission],
               config: SandboxConfig, lazy: bool = False) -> list[GradeTask]:
    """One task per submission, with the notebooks' bytes (too-large files are refused unread); ``lazy``:
    only their digests, the bytes are read again where the task runs (a local pool), so the parent's memory
    does not grow with the number of submissions."""
    tasks = []
    limit = config.limits.notebook_mb
    for sub in submissions:
        problems, files, paths, digests = list(sub.problems), {}, {}, {}
        for stem, path in sub.notebooks.items():
            files[stem] = None
            if path is None:
                continue
            try:  # never through a link, never blocking on a FIFO, never more than the cap
                data = read_submission_file(path, limit)
            except ValueError as exc:
                problems.append(str(exc))
                continue
            if lazy:
                paths[stem], digests[stem] = str(path), hashlib.sha256(data).digest()
            else:
                files[stem] = data
        tasks.append(GradeTask(assignment, sub.student, files, problems, config, paths=paths,
                               digests=digests))
    return tasks


# ------------------------------------------------------------------------------------------- the batch
def run_batch(options: BatchOptions) -> BatchReport:
    """Grade every submission; write ``grades.csv``, ``<student>/results.json``, feedback and the summary.

    Raises
    ------
    UsageError, ValueError
        Nothing could be graded as asked (unknown assignment, no submissions, gradebook, scheduler or
        calibration problems): exit code 2.
    KeyboardInterrupt
        Interrupted (SIGINT or SIGTERM); every finished student's results are on disk, no process started
        by the run is left.
    """
    with Interrupts() as interrupts:
        return _Batch(options, interrupts).run()


class _Batch:
    def __init__(self, options: BatchOptions, interrupts: Interrupts) -> None:
        self.o = options
        self.interrupts = interrupts
        self.stream = options.stream or sys.stderr
        self.start = time.monotonic()
        #: seconds the parent spent: once (setup), and per submission (the rest)
        self.serial = dict.fromkeys(("setup", "jobs", "collect", "gradebook_write", "tables", "final_tables"),
                                    0.0)

    # ------------------------------------------------------------------ setup
    def _paths(self) -> None:
        o, name = self.o, self.o.assignment
        course = o.course
        default_source = course.folder("source") / name if course else None
        if o.source_dir:
            self.source_dir = Path(o.source_dir)
        elif default_source is not None and any(default_source.glob("*.ipynb")):
            self.source_dir = default_source
        else:
            self.source_dir = REPO / "solutions" / name
        self.suite_dir = Path(o.suite_dir or REPO / "autograder" / name)
        self.assignment = load_assignment(name, self.source_dir, self.suite_dir)
        self.out = Path(o.out).resolve()
        if course is not None:
            self.db_url = course.db_url
        else:
            self.db_url = (o.db_url or os.environ.get("MLCOURSE_DB_URL")
                           or f"sqlite:///{self.out / 'gradebook.db'}")

    def run(self) -> BatchReport:
        self._paths()
        o = self.o
        self.out.mkdir(parents=True, exist_ok=True)
        scratch = Path(tempfile.mkdtemp(prefix="course-grade-"))
        try:
            return self._run(scratch)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
            if o.progress:
                self.stream.flush()

    def _config(self, scratch: Path) -> SandboxConfig:
        denied = [str(self.out), str(Path(self.o.submissions).resolve()), str(scratch)]
        if self.o.course is not None:
            denied.append(str(self.o.course.root))
        if self.db_url.startswith("sqlite:///"):
            denied.append(str(Path(self.db_url[len("sqlite:///"):]).resolve().parent))
        preload = ["numpy", "matplotlib", "matplotlib.pyplot", *self.assignment.imports]
        return SandboxConfig(limits=self.o.limits, denied=denied, spawn=self.o.spawn,
                             preload=list(dict.fromkeys(preload)))

    def _run_key(self) -> str:
        limits = json.dumps(self.o.limits.to_dict(), sort_keys=True)
        return hashlib.sha256("\0".join([
            hash_files(self.source_dir), hash_files(self.suite_dir), code_hash(), limits, self.db_url,
            str(self.o.course.root if self.o.course else ""), str(self.o.bookkeeping), str(self.o.feedback),
        ]).encode()).hexdigest()

    def _autograded_dir(self, student: str) -> Path:
        if self.o.course is not None:
            return self.o.course.folder("autograded") / student / self.assignment.name
        return self.out / "nbgrader" / "autograded" / student / self.assignment.name

    def _select(self, submissions: list[Submission]) -> list[Submission]:
        wanted = list(dict.fromkeys(self.o.students or []))
        if not wanted:
            return submissions
        found = {s.student for s in submissions}
        unknown = [s for s in wanted if s not in found]
        if unknown:
            known = ", ".join(sorted(found)[:20]) or "none"
            raise UsageError(f"no submission from {', '.join(unknown)} (students found: {known})")
        return [s for s in submissions if s.student in wanted]

    # ------------------------------------------------------------------ the run
    def _run(self, scratch: Path) -> BatchReport:
        o, assignment, out = self.o, self.assignment, self.out
        config = self._config(scratch)
        everyone = discover(o.submissions, assignment, scratch)
        selected = self._select(everyone)
        tasks_all = make_tasks(assignment, selected, config, lazy=not o.scheduler)
        subs = {s.student: s for s in everyone}
        stamps = {s.student: s.timestamp for s in everyone}
        state_path = out / STATE_FILE
        state = read_json(state_path)
        key = self._run_key()
        prior = state.get("students", {}) if isinstance(state.get("students"), dict) else {}
        same_key = state.get("key") == key
        previous = prior if same_key else {}  # only results graded exactly so can be reused
        rows: dict[str, dict] = {}
        hashes = {t.student: submission_hash(t, stamps.get(t.student)) for t in tasks_all}
        tasks, unchanged = [], []
        for task in tasks_all:
            old = previous.get(task.student, {})
            if not o.force and not o.students and old.get("hash") == hashes[task.student] and old.get("row") \
                    and (out / task.student / "results.json").is_file() \
                    and (not o.bookkeeping or self._autograded_dir(task.student).is_dir()
                         or old["row"].get("status") == "failed"):
                unchanged.append(task.student)
                rows[task.student] = {**old["row"], "status": "unchanged"}
            else:
                tasks.append(task)
                old_row = prior.get(task.student, {}).get("row")
                rows[task.student] = {**old_row, "status": "pending"} if old_row else \
                    empty_row(assignment, task.student, "pending", "not graded yet in this run")
        others: dict[str, list[str]] = {"unchanged": unchanged}
        chosen = {s.student for s in selected}
        not_selected = sorted(s.student for s in everyone if s.student not in chosen)
        for student in not_selected:
            old = prior.get(student, {}).get("row")
            if old:
                rows[student] = {**old, "status": "not selected"}
        others["not selected"] = not_selected
        new_state = {"key": key, "assignment": assignment.name,
                     "students": {s: (v if same_key else {"row": v.get("row")}) for s, v in prior.items()
                                  if isinstance(v, dict) and v.get("row")}}

        workers = o.workers or default_workers()
        label = f"Dask at {o.scheduler}" if o.scheduler else f"{workers} worker(s)"
        results: list[SubmissionResult] = []
        warnings: list[str] = list(getattr(everyone, "warnings", []))  # ignored files, unreadable metadata
        gradebook_misses: list[str] = []
        status = {"exit": EXIT_OK, "state": "running"}

        def persist() -> None:
            """grades.csv, summary.json and the state file as they are now (atomically)."""
            write_csv(out / "grades.csv", assignment, list(rows.values()))
            data = summary_data(assignment, results, list(rows.values()), time.monotonic() - self.start,
                                label, status["exit"], status["state"], sorted(set(warnings)))
            atomic_write(out / "summary.json", json.dumps(data, indent=1) + "\n")
            atomic_write(state_path, json.dumps(new_state, indent=1, sort_keys=True) + "\n")

        bookkeeper = None
        if o.bookkeeping and (tasks or o.course is not None):
            from autograder.engine.gradebook import Bookkeeper, Workspace

            if o.course is not None:
                workspace = Workspace(o.course.root, scratch / "nbgrader", o.course.config_file, self.db_url,
                                      o.course.course_id, standalone=False)
                master = o.course.folder("source") / assignment.name
            else:
                workspace = Workspace(out / "nbgrader", scratch / "nbgrader", o.nbgrader_config, self.db_url,
                                      o.course_id, standalone=True, feedback_dir=out / "feedback")
                master = None
            bookkeeper = Bookkeeper(assignment, self.source_dir, workspace, o.feedback, master_dir=master)

        progress = None
        serial = self.serial  # what the parent does one submission at a time, in seconds
        unsaved: list[SubmissionResult] = []  # collected, not yet in the gradebook and the tables
        shared: dict[str, Any] = {}  # strings and sandbox reports every kept result repeats (one copy each)
        last_save = [time.monotonic()]

        def save() -> None:
            """One checkpoint: the gradebook entries of every collected student in one transaction, then the
            state file, grades.csv and summary.json (atomically)."""
            began = time.perf_counter()
            batch = list(unsaved)
            unsaved.clear()
            failures = bookkeeper.flush() if bookkeeper is not None else {}
            flushed = time.perf_counter()
            serial["gradebook_write"] += flushed - began
            for result in batch:
                result.timings["gradebook"] = result.timings.get("gradebook", 0.0) + \
                    (flushed - began) / max(1, len(batch))
                if result.student in failures:
                    warnings.append(f"{result.student}: {failures[result.student]}")
                    gradebook_misses.append(result.student)
                elif result.student not in gradebook_misses:
                    new_state["students"][result.student] = {"hash": hashes.get(result.student),
                                                             "row": rows[result.student]}
            persist()
            serial["tables"] += time.perf_counter() - flushed
            last_save[0] = time.monotonic()

        def collect(task: GradeTask, result: SubmissionResult) -> None:
            with self.interrupts.critical():
                began = time.perf_counter()
                if bookkeeper is not None:
                    try:
                        notes = bookkeeper.record(result, stamps.get(result.student))
                    except Exception as exc:  # the gradebook went away mid-batch: keep the grades, say so
                        notes = [f"not recorded in the gradebook ({type(exc).__name__}: "
                                 f"{(str(exc).splitlines() or [''])[0][:200]})"]
                        gradebook_misses.append(result.student)
                    result.timings["gradebook"] = time.perf_counter() - began
                    warnings.extend(f"{result.student}: {n}" for n in notes)
                write_results(out, assignment, result)
                warnings.extend(f"{result.student}: {w}" for w in result.warnings)
                result = result.kept(shared)  # its files are in place now: keep only the scores
                results.append(result)
                rows[result.student] = result_row(assignment, result, identity(subs[result.student])) \
                    if result.student in subs else result_row(assignment, result)
                unsaved.append(result)
                serial["collect"] += time.perf_counter() - began
                if len(unsaved) >= o.flush_every or time.monotonic() - last_save[0] >= o.flush_seconds:
                    save()
            progress.update(f"{result.student} {result.score:g}/{assignment.max_score:g}"
                            + ("" if result.status == "graded" else " (failed)"))

        pool = None
        try:
            if tasks:
                pool = DaskPool(o.scheduler, o.connect_timeout, o.scheduler_timeout, self.stream) \
                    if o.scheduler else ProcessPool(workers, config, len(tasks))
                if o.calibrate:
                    self._calibrate(pool, config)
            if bookkeeper is not None:
                began = time.perf_counter()
                prepare(bookkeeper)  # while the grading processes warm up
                serial["setup"] += time.perf_counter() - began
                began = time.perf_counter()
                for task in tasks:  # what each grading process needs to make nbgrader's artefacts itself
                    sub = subs.get(task.student)
                    inner = Path(sub.origin) / assignment.name if sub is not None and sub.origin else None
                    extras = inner if inner is not None and not inner.is_symlink() and inner.is_dir() \
                        else None
                    task.render = bookkeeper.job(task.student, stamps.get(task.student), extras,
                                                 lazy=not o.scheduler)  # Dask workers may be elsewhere
                serial["jobs"] += time.perf_counter() - began
            finished = pool.run(tasks, idle=o.flush_seconds) if pool is not None else iter(())
            progress = Progress(len(tasks), f"grading {assignment.name}", self.stream, enabled=o.progress)
            if pool is not None:
                for task, outcome in finished:
                    if task is None:  # nothing more is ready: write what was collected
                        if unsaved:
                            with self.interrupts.critical():
                                save()
                        continue
                    if not isinstance(outcome, SubmissionResult):
                        outcome = _failed(task, outcome)
                    collect(task, outcome)
            with self.interrupts.critical():
                save()
            progress.close()
        except KeyboardInterrupt:
            if pool is not None:
                pool.close(kill=True)
                pool = None
            status.update(exit=EXIT_INTERRUPTED, state="interrupted")
            with self.interrupts.critical():
                save()  # every collected student reaches the gradebook and the tables
            raise
        except BaseException:  # a gradebook that cannot be used, a full disk: stop now, not after the batch
            if pool is not None:
                pool.close(kill=True)
                pool = None
            raise
        finally:
            if pool is not None:
                pool.close()
            if bookkeeper is not None:
                bookkeeper.close()
        began = time.perf_counter()  # the end-of-run tables grow with the number of students too
        self._others(rows, others, subs, new_state["students"], bookkeeper)
        results.sort(key=lambda r: r.student)
        failed = any(r.status != "graded" for r in results) or bool(gradebook_misses)
        status.update(exit=EXIT_FAILED if failed else EXIT_OK, state="finished")
        if bookkeeper is not None:
            self._final_grades(warnings)
        persist()
        serial["final_tables"] += time.perf_counter() - began
        seconds = time.monotonic() - self.start
        report = BatchReport(assignment, results, seconds, out, label, sorted(set(warnings)),
                             rows=sorted(rows.values(), key=lambda r: str(r["student_id"])),
                             exit_code=status["exit"], others={k: v for k, v in others.items() if v},
                             parent={"serial": dict(self.serial),
                                     "transactions": bookkeeper.transactions if bookkeeper else 0,
                                     "students_written": bookkeeper.written if bookkeeper else 0})
        text = summary(assignment, results, seconds, label, report.others)
        notes = "".join(f"warning: {w}\n" for w in report.warnings)
        atomic_write(out / "summary.txt", text + "\n" + notes)
        atomic_write(out / "timings.json", json.dumps(timing_report(report), indent=1) + "\n")
        if o.progress:
            self.stream.write(text + "\n")
            for warning in report.warnings[:20]:
                self.stream.write(f"warning: {warning}\n")
            self.stream.flush()
        return report

    def _others(self, rows: dict[str, dict], others: dict[str, list[str]], subs: dict[str, Submission],
                previous: dict, bookkeeper) -> None:
        """Rows for students not graded in this run: stale results, and gradebook students without a
        submission."""
        assignment = self.assignment
        stale = sorted(s for s in previous if s not in subs)
        for student in stale:
            rows[student] = {**previous[student].get("row", empty_row(assignment, student, "", "")),
                             "status": "stale",
                             "reason": "not among this run's submissions: the scores are from an earlier run"}
            mark_stale(self.out, student, f"{student} was not among the submissions of the run at "
                                          f"{time.strftime('%Y-%m-%d %H:%M:%S')}: results.json is from an "
                                          "earlier run and is not current.")
        old_rows = {p.parent.name for p in self.out.glob("*/results.json")}
        for student in sorted(old_rows - set(subs) - set(stale)):  # results of runs before the state file
            mark_stale(self.out, student, f"{student} was not among the submissions of the run at "
                                          f"{time.strftime('%Y-%m-%d %H:%M:%S')}; not current.")
        others["stale"] = stale
        missing: list[str] = []
        if bookkeeper is not None:
            from autograder.engine.gradebook import gradebook_students

            try:
                known = gradebook_students(self.db_url, bookkeeper.course_id)
            except Exception:  # the gradebook is optional for this table
                known = []
            missing = [s for s in known if s not in subs and s not in rows]
            for student in missing:
                rows[student] = empty_row(assignment, student, "no submission",
                                          "in the gradebook, but not among this run's submissions")
        others["no submission"] = missing

    def _final_grades(self, warnings: list[str]) -> None:
        from autograder.engine.gradebook import final_grades

        course_id = self.o.course.course_id if self.o.course else self.o.course_id
        try:
            header, table = final_grades(self.db_url, course_id, self.assignment.name)
        except Exception as exc:
            warnings.append(f"final_grades.csv not written ({type(exc).__name__}: "
                            f"{(str(exc).splitlines() or [''])[0][:200]})")
            return
        write_final_grades(self.out / "final_grades.csv", table, header)

    # ------------------------------------------------------------------ calibration
    def _calibrate(self, pool, config: SandboxConfig) -> None:
        """Grade the reference solution under the run's limits (cached); stop when it loses points."""
        assignment = self.assignment
        limits = json.dumps(self.o.limits.to_dict(), sort_keys=True)
        parts = [hash_files(self.source_dir), hash_files(self.suite_dir), code_hash(), limits]
        key = hashlib.sha256("\0".join(parts).encode()).hexdigest()
        cache_path = self.out / CALIBRATION_FILE
        cache = read_json(cache_path)
        entry = cache.get(key)
        if not isinstance(entry, dict):
            files = {stem: (self.source_dir / f"{stem}.ipynb").read_bytes() for stem in assignment.notebooks}
            task = GradeTask(assignment, REFERENCE, files, [], config)
            began = time.monotonic()
            if self.o.progress:
                self.stream.write(f"calibrating: grading the reference solution of {assignment.name} under "
                                  "these limits (cached once done)\n")
                self.stream.flush()
            outcome = next(iter(pool.run([task])))[1]
            result = outcome if isinstance(outcome, SubmissionResult) else _failed(task, outcome)
            entry = {"score": result.score, "max_score": assignment.max_score, "reason": result.reason,
                     "seconds": round(time.monotonic() - began, 2)}
            cache = {key: entry}
            atomic_write(cache_path, json.dumps(cache, indent=1) + "\n")
        if entry["score"] + 1e-9 < entry["max_score"]:
            message = (f"the reference solution (source notebooks in {self.source_dir}) scores "
                       f"{entry['score']:g}/{entry['max_score']:g} under these limits ({entry['reason']}); "
                       "raise --memory-mb / --call-timeout / --cell-timeout / --submission-timeout, fix the "
                       "suite, or grade anyway with --force")
            if not self.o.force:
                raise UsageError(message)
            self.stream.write(f"warning: {message}\n")


def prepare(bookkeeper) -> None:
    """Open the gradebook (and add the assignment); :class:`UsageError` with the fix when it cannot be."""
    from autograder.engine.gradebook import GenerateRefused

    try:
        bookkeeper.prepare()
    except GenerateRefused as exc:  # the gradebook works; nbgrader will not take this version of the notebook
        name = bookkeeper.assignment.name
        fix = ("its grade cells differ from the version the gradebook already holds submissions for, and "
               "nbgrader never adds or removes cells of such an assignment (recorded grades would be "
               f"orphaned): grade with {name}'s source notebook as it was released to the students, or "
               "release the changed notebook under a new assignment name"
               if "submissions associated" in exc.reason
               else "fix the source notebook as nbgrader's message says and run again")
        raise UsageError(f"nbgrader refused to add assignment {name} to the gradebook "
                         f"{_redact(bookkeeper.db_url)}: {exc.reason}. Nothing was graded; {fix}.") from exc
    except Exception as exc:
        first = (str(exc).splitlines() or [""])[0][:300]
        raise UsageError(
            f"the gradebook {_redact(bookkeeper.db_url)} cannot be used ({type(exc).__name__}: {first}); "
            "check --db-url, the course's CourseDirectory.db_url or MLCOURSE_DB_URL (a postgresql:// URL "
            "also needs a driver: pip install 'psycopg[binary]'), or grade without it: --no-nbgrader"
        ) from exc


def _redact(url: str) -> str:
    """A database URL without its password."""
    return re.sub(r"(://[^:/@]+):.*@", r"\1:***@", url)


def timing_report(report: BatchReport) -> dict:
    """Where the time went (sums and means per phase), how large the sandboxed workers got, and what the
    parent did one submission at a time (``parent_serial_seconds``: collecting results, putting files in
    place, gradebook transactions, tables; ``setup_seconds`` is once per run)."""
    phases = ["kernel_start", "execution", "hidden_tests", "render", "gradebook", "grading_total"]
    per = {p: [r.timings.get(p, 0.0) for r in report.results] for p in phases}
    rss = [r.peak_rss_kb for r in report.results if r.peak_rss_kb]
    sandboxes = {tuple(r.sandbox.get("steps", [])): r.sandbox for r in report.results if r.sandbox}
    serial = report.parent.get("serial", {})
    serial_total = sum(v for k, v in serial.items() if k != "setup")
    n = len(report.results)
    return {
        "submissions": len(report.results),
        "seconds": round(report.seconds, 3),
        "workers": report.workers,
        "phase_seconds_total": {p: round(sum(v), 3) for p, v in per.items()},
        "phase_seconds_mean": {p: round(statistics.fmean(v), 4) if v else 0.0 for p, v in per.items()},
        "worker_peak_rss_mib": {"max": round(max(rss) / 1024, 1) if rss else 0.0,
                                "mean": round(statistics.fmean(rss) / 1024, 1) if rss else 0.0},
        "sandbox": [s for s in sandboxes.values()][:3],
        "parent_serial_seconds": {"total": round(serial_total, 4),
                                  "per_submission": round(serial_total / n, 5) if n else 0.0,
                                  "parts": {k: round(v, 4) for k, v in serial.items() if k != "setup"},
                                  "setup_seconds": round(serial.get("setup", 0.0), 3)},
        "gradebook_transactions": report.parent.get("transactions", 0),
        "gradebook_students_written": report.parent.get("students_written", 0),
        "per_student": {r.student: {**{p: round(r.timings.get(p, 0.0), 4) for p in phases},
                                    "peak_rss_mib": round(r.peak_rss_kb / 1024, 1)} for r in report.results},
    }
