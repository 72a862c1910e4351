"""Grading a whole batch: submissions in parallel (processes or a Dask cluster), bookkeeping in the parent.

Each submission is one :func:`autograder.engine.grade.grade_submission` task. Tasks run in a process pool
(``workers`` processes; each drives its own sandboxed workers) or on a Dask cluster (``scheduler``); the
parent collects results as they finish, writes them to the gradebook one at a time (the only writer), writes
``results.json`` and feedback, and shows progress. The final outputs are sorted by student id, and a
submission's result does not depend on which process graded it or when, so any worker count gives the same
files.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import re
import shutil
import statistics
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from autograder.engine.grade import CellResult, GradeTask, SubmissionResult, grade_submission
from autograder.engine.inputs import Submission, discover
from autograder.engine.limits import Limits
from autograder.engine.notebooks import Assignment, load_assignment
from autograder.engine.progress import Progress
from autograder.engine.proxy import REPO, SandboxConfig, spawner_for
from autograder.engine.report import summary, write_csv, write_results


def default_workers() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


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


@dataclass
class BatchReport:
    assignment: Assignment
    results: list[SubmissionResult]
    seconds: float
    out: Path
    workers: str
    warnings: list[str] = field(default_factory=list)
    sandbox: dict = field(default_factory=dict)

    def scores(self) -> dict[str, dict[str, float]]:
        """student -> grade cell -> score (what must not depend on the worker count)."""
        return {r.student: {c: v.score for c, v in sorted(r.cells.items())} for r in self.results}


def _failed(task: GradeTask, reason: str) -> SubmissionResult:
    cells = {c.grade_id: CellResult(c.grade_id, c.notebook, c.points, 0.0, note=reason)
             for c in task.assignment.auto_cells}
    return SubmissionResult(task.student, "failed", reason, cells, [reason])


def _warm(config: SandboxConfig) -> None:
    """Pool initializer: start this process's zygote before the first submission arrives."""
    spawner_for(config)


def make_tasks(assignment: Assignment, submissions: list[Submission],
               config: SandboxConfig) -> list[GradeTask]:
    """One task per submission, with the notebooks' bytes (too-large files are refused unread)."""
    tasks = []
    limit = config.limits.notebook_mb
    for sub in submissions:
        problems, files = list(sub.problems), {}
        for stem, path in sub.notebooks.items():
            if path is not None and path.stat().st_size > limit << 20:
                problems.append(f"{stem}.ipynb is {path.stat().st_size / 2**20:.0f} MiB, more than the "
                                f"{limit} MiB allowed")
                files[stem] = None
            else:
                files[stem] = None if path is None else path.read_bytes()
        tasks.append(GradeTask(assignment, sub.student, files, problems, config))
    return tasks


def run_batch(options: BatchOptions) -> BatchReport:
    """Grade every submission; write ``grades.csv``, ``<student>/results.json``, feedback and the summary."""
    start = time.monotonic()
    stream = options.stream or sys.stderr
    name = options.assignment
    source_dir = Path(options.source_dir or REPO / "solutions" / name)
    suite_dir = Path(options.suite_dir or REPO / "autograder" / name)
    assignment = load_assignment(name, source_dir, suite_dir)
    out = Path(options.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix="course-grade-"))
    db_url = options.db_url or os.environ.get("MLCOURSE_DB_URL") or f"sqlite:///{out / 'gradebook.db'}"
    denied = [str(out), str(Path(options.submissions).resolve()), str(scratch)]
    if db_url.startswith("sqlite:///"):
        denied.append(str(Path(db_url[len("sqlite:///"):]).resolve().parent))
    preload = ["numpy", "matplotlib", "matplotlib.pyplot", *assignment.imports]
    config = SandboxConfig(limits=options.limits, denied=denied, spawn=options.spawn,
                           preload=list(dict.fromkeys(preload)))
    try:
        submissions = discover(options.submissions, assignment, scratch)
        tasks = make_tasks(assignment, submissions, config)
        stamps = {s.student: s.timestamp for s in submissions}
        workers = options.workers or default_workers()
        label = f"Dask at {options.scheduler}" if options.scheduler else f"{workers} worker(s)"
        bookkeeper = None
        if options.bookkeeping:
            from autograder.engine.gradebook import Bookkeeper

            bookkeeper = Bookkeeper(assignment, source_dir, out / "nbgrader", out / "feedback", db_url,
                                    options.course_id, options.nbgrader_config, options.feedback)
        results: list[SubmissionResult] = []
        warnings: list[str] = []
        progress = None

        def collect(result: SubmissionResult) -> None:
            if bookkeeper is not None:
                began = time.perf_counter()
                try:
                    notes = bookkeeper.record(result, stamps.get(result.student))
                except Exception as exc:  # the gradebook went away mid-batch: keep the grades, say so
                    notes = [f"not recorded in the gradebook ({type(exc).__name__}: "
                             f"{(str(exc).splitlines() or [''])[0][:200]})"]
                result.timings["gradebook"] = time.perf_counter() - began
                warnings.extend(f"{result.student}: {n}" for n in notes)
            write_results(out, assignment, result)
            warnings.extend(f"{result.student}: {w}" for w in result.warnings)
            results.append(result)
            progress.update(f"{result.student} {result.score:g}/{assignment.max_score:g}"
                            + ("" if result.status == "graded" else " (failed)"))

        if options.scheduler:
            finished = _run_dask(options.scheduler, tasks)
        else:
            finished = _run_pool(workers, config, tasks)
        try:
            if bookkeeper is not None:
                try:
                    bookkeeper.prepare()  # overlaps with the first submissions being graded
                except Exception as exc:
                    first = (str(exc).splitlines() or [""])[0][:300]
                    raise ValueError(
                        f"the gradebook {_redact(db_url)} cannot be used ({type(exc).__name__}: {first}); "
                        "check --db-url or MLCOURSE_DB_URL (a postgresql:// URL also needs a driver: "
                        "pip install 'psycopg[binary]'), or grade without it: --no-nbgrader") from exc
            progress = Progress(len(tasks), f"grading {name}", stream, enabled=options.progress)
            for task, outcome in finished:
                collect(outcome if isinstance(outcome, SubmissionResult) else _failed(task, outcome))
            progress.close()
        finally:
            finished.close()
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    results.sort(key=lambda r: r.student)
    write_csv(out / "grades.csv", assignment, results)
    seconds = time.monotonic() - start
    report = BatchReport(assignment, results, seconds, out, label, sorted(set(warnings)))
    text = summary(assignment, results, seconds, label)
    notes = "".join(f"warning: {w}\n" for w in report.warnings)
    (out / "summary.txt").write_text(text + "\n" + notes, encoding="utf-8")
    (out / "timings.json").write_text(json.dumps(timing_report(report), indent=1) + "\n", encoding="utf-8")
    if options.progress:
        stream.write(text + "\n")
        for warning in report.warnings[:20]:
            stream.write(f"warning: {warning}\n")
        stream.flush()
    return report


def _redact(url: str) -> str:
    """A database URL without its password."""
    return re.sub(r"(://[^:/@]+):.*@", r"\1:***@", url)


def _run_pool(workers: int, config: SandboxConfig, tasks: list[GradeTask]):
    """Yield (task, result or reason) as submissions finish in a pool of ``workers`` processes."""
    context = multiprocessing.get_context("spawn")
    executor = ProcessPoolExecutor(max_workers=min(workers, max(1, len(tasks))), mp_context=context,
                                   initializer=_warm, initargs=(config,))
    futures = {executor.submit(grade_submission, task): task for task in tasks}

    def generate():
        try:
            for future in as_completed(futures):
                task = futures[future]
                try:
                    yield task, future.result()
                except Exception as exc:  # a grading process died: report, keep going
                    yield task, f"internal grading error ({type(exc).__name__}: {str(exc)[:200]})"
        finally:
            executor.shutdown(wait=True, cancel_futures=True)

    gen = generate()
    return _Closing(gen, lambda: executor.shutdown(wait=True, cancel_futures=True))


def _run_dask(address: str, tasks: list[GradeTask]):
    """Yield (task, result or reason) as a Dask cluster finishes submissions."""
    from distributed import Client
    from distributed import as_completed as dask_completed

    client = Client(address, timeout="30s")
    futures = client.map(grade_submission, tasks, pure=False,
                         key=[f"grade-{t.assignment.name}-{t.student}-{i}" for i, t in enumerate(tasks)])
    by_key = {f.key: t for f, t in zip(futures, tasks, strict=True)}

    def generate():
        try:
            for future in dask_completed(futures):
                task = by_key[future.key]
                try:
                    yield task, future.result()
                except Exception as exc:
                    yield task, f"internal grading error ({type(exc).__name__}: {str(exc)[:200]})"
        finally:
            client.close()

    def stop() -> None:
        client.cancel(futures)
        client.close()

    return _Closing(generate(), stop)


class _Closing:
    """An iterator of finished tasks that can also be stopped early (cancelling what is left)."""

    def __init__(self, generator, stop) -> None:
        self.generator, self.stop = generator, stop
        self.started = False

    def __iter__(self):
        self.started = True
        return self.generator

    def close(self) -> None:
        self.generator.close()
        if not self.started:
            self.stop()


def timing_report(report: BatchReport) -> dict:
    """Where the time went (sums and means per phase) and how large the sandboxed workers got."""
    phases = ["kernel_start", "execution", "hidden_tests", "gradebook", "grading_total"]
    per = {p: [r.timings.get(p, 0.0) for r in report.results] for p in phases}
    rss = [r.peak_rss_kb for r in report.results if r.peak_rss_kb]
    sandboxes = {tuple(r.sandbox.get("steps", [])): r.sandbox for r in report.results if r.sandbox}
    return {
        "submissions": len(report.results),
        "seconds": round(report.seconds, 3),
        "workers": report.workers,
        "phase_seconds_total": {p: round(sum(v), 3) for p, v in per.items()},
        "phase_seconds_mean": {p: round(statistics.fmean(v), 4) if v else 0.0 for p, v in per.items()},
        "worker_peak_rss_mib": {"max": round(max(rss) / 1024, 1) if rss else 0.0,
                                "mean": round(statistics.fmean(rss) / 1024, 1) if rss else 0.0},
        "sandbox": [s for s in sandboxes.values()][:3],
        "per_student": {r.student: {**{p: round(r.timings.get(p, 0.0), 4) for p in phases},
                                    "peak_rss_mib": round(r.peak_rss_kb / 1024, 1)} for r in report.results},
    }
