"""Where the grading runs: a pool of processes that die with the parent, or a Dask cluster; and signals.

:class:`ProcessPool` spawns ``workers`` grading processes; each asks Linux to SIGKILL it when the parent dies
(:func:`die_with_parent`), ignores Ctrl-C (the parent stops the pool) and starts its sandbox zygote early
(:func:`_warm`). :class:`DaskPool` connects to a scheduler with a short timeout and waits for a worker, saying
so. Both yield ``(task, result or reason)`` as submissions finish (and, when asked with ``idle``,
``(None, None)`` whenever no result is ready, so the caller can write what it holds) and can be closed,
killing what runs.
:class:`Interrupts` turns SIGINT and SIGTERM into :class:`KeyboardInterrupt` outside critical sections.
"""

from __future__ import annotations

import contextlib
import ctypes
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from typing import TextIO

from autograder.engine.grade import GradeTask, SubmissionResult, grade_submission
from autograder.engine.proxy import SandboxConfig, spawner_for


class UsageError(ValueError):
    """Nothing can be graded as asked (exit code 2); the message names the fix."""


def default_workers() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


PR_SET_PDEATHSIG = 1


def die_with_parent(parent: int | None = None) -> None:
    """Ask Linux to SIGKILL this process when its parent dies (best effort; nothing elsewhere)."""
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):  # pragma: no cover - no libc prctl
        return
    if parent is not None and os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(1)


def _warm(config: SandboxConfig, parent: int | None = None) -> None:
    """Pool initializer: die with the parent, ignore Ctrl-C (the parent stops the pool), and start this
    process's zygote before the first submission arrives."""
    die_with_parent(parent)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    spawner_for(config)


class Interrupts:
    """SIGINT and SIGTERM raise :class:`KeyboardInterrupt`, but never inside a :meth:`critical` section
    (one student's gradebook write): there the signal is remembered and raised when the section ends."""

    def __init__(self) -> None:
        self.depth, self.pending, self.previous = 0, False, {}

    def __enter__(self) -> Interrupts:
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self.previous[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc) -> None:
        for sig, handler in self.previous.items():
            signal.signal(sig, handler)

    def _handle(self, signum, frame) -> None:
        if self.depth:
            self.pending = True
            return
        raise KeyboardInterrupt

    @contextlib.contextmanager
    def critical(self) -> Iterator[None]:
        self.depth += 1
        try:
            yield
        finally:
            self.depth -= 1
        if not self.depth and self.pending:
            self.pending = False
            raise KeyboardInterrupt


class ProcessPool:
    """``workers`` spawned grading processes that die with the parent (see :func:`_warm`)."""

    def __init__(self, workers: int, config: SandboxConfig, tasks: int) -> None:
        context = multiprocessing.get_context("spawn")
        self.executor = ProcessPoolExecutor(max_workers=min(workers, max(1, tasks)), mp_context=context,
                                            initializer=_warm, initargs=(config, os.getpid()))

    def run(self, tasks: list[GradeTask], idle: float | None = None
            ) -> Iterator[tuple[GradeTask | None, SubmissionResult | str | None]]:
        """Submit ``tasks`` now; the iterator yields (task, result or reason) as submissions finish, and
        ``(None, None)`` after every ``idle`` seconds without one (if ``idle`` is given)."""
        futures = {self.executor.submit(grade_submission, task): task for task in tasks}
        return self._finished(futures, idle)

    @staticmethod
    def _finished(futures: dict, idle: float | None = None
                  ) -> Iterator[tuple[GradeTask | None, SubmissionResult | str | None]]:
        waiting = set(futures)
        try:
            while waiting:
                done, waiting = wait(waiting, timeout=idle, return_when=FIRST_COMPLETED)
                if not done:
                    yield None, None
                    continue
                for future in sorted(done, key=lambda f: futures[f].student):
                    task = futures.pop(future)  # the result is not kept here once handed over
                    try:
                        outcome = future.result()
                    except Exception as exc:  # a grading process died: report, keep going
                        outcome = f"internal grading error ({type(exc).__name__}: {str(exc)[:200]})"
                    del future
                    yield task, outcome
        finally:
            for future in futures:
                future.cancel()

    def close(self, kill: bool = False) -> None:
        """Stop the pool; ``kill``: SIGKILL its processes now (their zygotes and workers follow)."""
        processes = list((getattr(self.executor, "_processes", None) or {}).values())
        if kill:
            for process in processes:
                with contextlib.suppress(Exception):
                    process.kill()
        self.executor.shutdown(wait=not kill, cancel_futures=True)
        if kill:
            for process in processes:
                with contextlib.suppress(Exception):
                    process.join(timeout=5)


class DaskPool:
    """A Dask cluster: connects within ``connect_timeout`` s, waits up to ``scheduler_timeout`` s for a
    worker (saying so), and raises :class:`UsageError` with the fix when either fails."""

    def __init__(self, address: str, connect_timeout: float, scheduler_timeout: float,
                 stream: TextIO) -> None:
        import logging

        for name in ("distributed", "distributed.client", "distributed.comm", "tornado"):
            logging.getLogger(name).setLevel(logging.CRITICAL)
        try:
            from distributed import Client
        except ImportError:
            raise UsageError("--scheduler needs Dask's distributed package, which is not installed: pip "
                             "install 'mlcourse[cluster]' (or grade locally without --scheduler)") from None

        try:
            self.client = Client(address, timeout=f"{connect_timeout}s")
        except (OSError, TimeoutError, ValueError) as exc:
            raise UsageError(f"cannot reach the Dask scheduler at {address} within {connect_timeout:g} s "
                             f"({type(exc).__name__}); start it (dask scheduler; then dask worker {address}) "
                             "or fix --scheduler, or grade locally without --scheduler") from None
        self.futures: list = []
        try:
            if not self.client.scheduler_info().get("workers"):
                stream.write(f"waiting up to {scheduler_timeout:g} s for a Dask worker to join {address} "
                             f"(start one: dask worker {address}) ...\n")
                stream.flush()
                self.client.wait_for_workers(1, timeout=scheduler_timeout)
        except (TimeoutError, OSError):
            self.client.close()
            raise UsageError(f"no Dask worker joined the scheduler at {address} within "
                             f"{scheduler_timeout:g} s; start workers (dask worker {address}) or raise "
                             "--scheduler-timeout") from None
        except BaseException:
            self.client.close()
            raise

    def run(self, tasks: list[GradeTask], idle: float | None = None
            ) -> Iterator[tuple[GradeTask | None, SubmissionResult | str | None]]:
        """As :meth:`ProcessPool.run`; with ``idle``, ``(None, None)`` whenever no further result is ready."""
        from distributed import as_completed as dask_completed

        stamp = time.monotonic_ns()
        futures = self.client.map(grade_submission, tasks, pure=False,
                                  key=[f"grade-{t.assignment.name}-{t.student}-{stamp}-{i}"
                                       for i, t in enumerate(tasks)])
        self.futures += futures
        by_key = {f.key: t for f, t in zip(futures, tasks, strict=True)}
        return self._finished(futures, by_key, dask_completed, idle)

    @staticmethod
    def _finished(futures, by_key, dask_completed, idle: float | None = None
                  ) -> Iterator[tuple[GradeTask | None, SubmissionResult | str | None]]:
        finished = dask_completed(futures)
        for future in finished:
            task = by_key.pop(future.key)
            try:
                outcome = future.result()
            except Exception as exc:
                outcome = f"internal grading error ({type(exc).__name__}: {str(exc)[:200]})"
            future.release()  # the cluster forgets the result once it is here
            yield task, outcome
            if idle is not None and not finished.has_ready():
                yield None, None

    def close(self, kill: bool = False) -> None:
        with contextlib.suppress(Exception):
            if self.futures:
                self.client.cancel(self.futures)
        with contextlib.suppress(Exception):
            self.client.close(timeout=5 if kill else None)
