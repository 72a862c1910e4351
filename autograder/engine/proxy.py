"""The trusted side of the sandbox: :class:`SandboxedStudent`, a drop-in for ``InProcessStudent``.

It offers exactly the harness API (``student.<name>(*args)``, ``eval``, ``time_call``, ``call_with_inputs``,
``load_errors``) while the student's code runs in a separate confined worker process. Every response is
validated here (:func:`autograder.engine.protocol.decode`, then ``to_plain``); time is measured here.

Failures become the harness's exceptions with one-line, student-facing reasons:

* a call over its CPU limit is stopped inside the worker (:class:`StudentTimeout`, the worker lives on);
* a call over its wall-clock limit, or a worker that dies (``os._exit``, a signal, the kernel's OOM killer),
  is killed and reported for that call only; the next call starts a fresh worker and reloads the notebook;
* a cell that kills or hangs the worker while loading is skipped on reload, so the rest still counts.
"""

from __future__ import annotations

import atexit
import itertools
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from autograder.engine.limits import Limits
from autograder.engine.protocol import (
    Closed,
    Expired,
    FrameReader,
    ProtocolError,
    decode,
    encode,
    pack,
    write_all,
)
from autograder.plain import StudentError, StudentTimeout, to_plain

REPO = Path(__file__).resolve().parents[2]
#: ``mlcourse`` modules student code may import while graded (the rest is reference implementation).
ALLOWED_MLCOURSE = ("__init__", "datasets", "plotting", "timing", "check", "checks", "py.typed")
ALWAYS_BLOCKED = ("autograder", "mlcourse.mixture", "mlcourse.autodiff", "mlcourse.build")
HANDSHAKE_SECONDS = 60.0


def _package_dir(name: str) -> str | None:
    import importlib.util

    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return os.path.realpath(next(iter(spec.submodule_search_locations)))


@dataclass
class SandboxConfig:
    """Where the sandbox draws its lines; built once per batch in the trusted process.

    Attributes
    ----------
    limits : Limits
    course_root : str
        The course repository: nothing of it is visible to student code except the allowed ``mlcourse``
        modules (and the virtual environment, if it lives there).
    denied : list of str
        More paths to hide (the output folder, the submissions, the gradebook): used by the audit hook when
        namespaces are unavailable (with a private root they do not exist anyway).
    namespaces, drop_user : bool
        Try the network/mount namespaces and private root; drop to an unprivileged uid when root.
    spawn : {"zygote", "exec"}
        Fork workers from a pre-warmed zygote (fast) or start each with ``python -m`` (simple).
    preload : list of str
        Modules the zygote imports before forking (the assignment's own imports, checked not to pull in
        anything blocked).
    """

    limits: Limits = field(default_factory=Limits)
    course_root: str = str(REPO)
    denied: list[str] = field(default_factory=list)
    namespaces: bool = True
    drop_user: bool = True
    uid_base: int = 1_500_000_000
    spawn: str = "zygote"
    preload: list[str] = field(default_factory=lambda: ["numpy", "matplotlib", "matplotlib.pyplot"])
    allowed_mlcourse: tuple[str, ...] = ALLOWED_MLCOURSE
    temp_base: str | None = None

    def with_limits(self, **changes: Any) -> SandboxConfig:
        return replace(self, limits=replace(self.limits, **changes))

    def packages(self) -> dict[str, str]:
        found = _package_dir("mlcourse")
        return {"mlcourse": found} if found else {}

    def blocked_modules(self) -> list[str]:
        blocked = set(ALWAYS_BLOCKED)
        for name, folder in self.packages().items():
            for entry in os.listdir(folder):
                stem = entry.removesuffix(".py")
                if stem not in self.allowed_mlcourse and entry != "__pycache__" and stem.isidentifier():
                    blocked.add(f"{name}.{stem}")
        return sorted(blocked)

    def setup(self, workdir: str) -> dict:
        """The ``setup`` frame for one worker whose private folder is ``workdir``."""
        packages = self.packages()
        allowed_paths = [sys.prefix, sys.base_prefix, workdir]
        for folder in packages.values():
            allowed_paths += [os.path.join(folder, e) for e in os.listdir(folder)
                              if e.removesuffix(".py") in self.allowed_mlcourse]
        temp_root = os.path.dirname(workdir)
        return {
            "op": "setup",
            "limits": self.limits.to_dict(),
            "root_dir": workdir,
            "fallback_home": workdir,
            "secret_roots": [self.course_root],
            "packages": packages,
            "allowed": {name: [e for e in os.listdir(folder)
                               if e.removesuffix(".py") in self.allowed_mlcourse]
                        for name, folder in packages.items()},
            "blocked_modules": self.blocked_modules(),
            "denied_paths": sorted({self.course_root, temp_root, *self.denied}),
            "allowed_paths": allowed_paths,
            "listable_paths": list(packages.values()),
            "namespaces": self.namespaces,
            "drop_user": self.drop_user,
            "uid_base": self.uid_base,
            "mpl_cache": _mpl_cache_dir(),
        }


_MPL_CACHE: list[str | None] = []


def _mpl_cache_dir() -> str | None:
    """matplotlib's cache folder with a built font list (copied into each worker: no rebuild per worker)."""
    if not _MPL_CACHE:
        try:
            import matplotlib
            from matplotlib import font_manager  # noqa: F401  (builds the font list if needed)

            _MPL_CACHE.append(matplotlib.get_cachedir())
        except Exception:
            _MPL_CACHE.append(None)
    return _MPL_CACHE[0]


def worker_env(workdir: str) -> dict[str, str]:
    """A scrubbed environment: no secrets, one thread per BLAS, fixed hash seed, headless matplotlib."""
    paths = [str(REPO)]
    mlcourse = _package_dir("mlcourse")
    if mlcourse:
        paths.append(os.path.dirname(mlcourse))
    return {
        "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8", "HOME": workdir, "TMPDIR": workdir,
        "PYTHONHASHSEED": "0", "PYTHONDONTWRITEBYTECODE": "1", "PYTHONNOUSERSITE": "1",
        "PYTHONPATH": os.pathsep.join(paths), "MPLBACKEND": "Agg", "OMP_NUM_THREADS": "1",
        "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "NUMEXPR_NUM_THREADS": "1",
        "VECLIB_MAXIMUM_THREADS": "1",
    }


def describe_status(status: int | None) -> str:
    """An exit status as a phrase: ``exit code 0`` or ``killed by signal 9 (SIGKILL)``."""
    if status is None:
        return "it stopped responding"
    if os.WIFSIGNALED(status):
        number = os.WTERMSIG(status)
        try:
            name = signal.Signals(number).name
        except ValueError:
            name = "unknown"
        hint = " - out of memory, or the process killed itself" if number == signal.SIGKILL else ""
        if number == signal.SIGXCPU:
            hint = " - the CPU time for the whole submission ran out"
        return f"killed by signal {number} ({name}){hint}"
    if os.WIFEXITED(status):
        return f"exit code {os.WEXITSTATUS(status)}"
    return f"status {status}"


# ---------------------------------------------------------------- spawning workers
class WorkerHandle:
    """One running worker: its pipes, pid and how to stop and reap it."""

    def __init__(self, pid: int, fd_write: int, fd_read: int, max_bytes: int, workdir: str,
                 reap) -> None:
        self.pid, self.fd_write, self.workdir = pid, fd_write, workdir
        self.reader = FrameReader(fd_read, max_bytes)
        self._reap = reap
        self.status: int | None = None
        self.maxrss_kb = 0
        self.closed = False

    def send(self, message: dict, deadline: float) -> None:
        write_all(self.fd_write, pack(message), deadline)

    def kill(self) -> None:
        for kill, target in ((os.killpg, self.pid), (os.kill, self.pid)):
            try:
                kill(target, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass

    def close(self, graceful: bool = True) -> None:
        """Stop the worker (asking first when ``graceful``), reap it, record status and peak memory."""
        if self.closed:
            return
        self.closed = True
        if graceful:
            try:
                self.send({"op": "exit"}, time.monotonic() + 1.0)
            except (Expired, Closed):
                pass
            self.status, self.maxrss_kb = self._reap(self.pid, time.monotonic() + 2.0)
            if self.status is None:
                graceful = False
        if not graceful:
            self.kill()
            self.status, self.maxrss_kb = self._reap(self.pid, None)
        for fd in (self.fd_write, self.reader.fd):
            try:
                os.close(fd)
            except OSError:
                pass
        shutil.rmtree(self.workdir, ignore_errors=True)


def _reap_child(pid: int, deadline: float | None) -> tuple[int | None, int]:
    """waitpid with an optional deadline; (status or None if still running, peak RSS in KiB)."""
    while True:
        try:
            done, status, usage = os.wait4(pid, os.WNOHANG if deadline is not None else 0)
        except ChildProcessError:
            return None, 0
        if done:
            return status, int(usage.ru_maxrss)
        if deadline is None or time.monotonic() > deadline:
            return None, 0
        time.sleep(0.01)


class ExecSpawner:
    """Starts each worker as ``python -m autograder.engine.worker`` (no shell, scrubbed environment)."""

    name = "exec"

    def __init__(self, config: SandboxConfig) -> None:
        self.config = config

    def spawn(self, workdir: str, max_bytes: int) -> WorkerHandle:
        read_req, write_req = os.pipe()
        read_resp, write_resp = os.pipe()
        try:
            proc = subprocess.Popen(
                [sys.executable, "-m", "autograder.engine.worker"], stdin=read_req, stdout=write_resp,
                stderr=subprocess.DEVNULL, cwd=workdir, env=worker_env(workdir), close_fds=True,
                start_new_session=True)
        finally:
            os.close(read_req)
            os.close(write_resp)
        proc.returncode = 0  # we reap it ourselves with wait4 (peak memory); keep Popen from trying
        return WorkerHandle(proc.pid, write_req, read_resp, max_bytes, workdir, _reap_child)

    def close(self) -> None:
        pass


_SPAWNERS: dict[tuple, Any] = {}
_SPAWNERS_LOCK = threading.Lock()
_TEMP: list[str] = []


def _temp_base() -> str:
    """This process's folder for workers' private folders (its own, so nothing else shares the parent).

    Mode 0711: a worker that runs under its own uid without a private root can enter its own folder (whose
    random name it is told) but cannot list the others."""
    with _SPAWNERS_LOCK:
        if not _TEMP:
            _TEMP.append(tempfile.mkdtemp(prefix="course-sandboxes-"))
            os.chmod(_TEMP[0], 0o711)
            atexit.register(shutil.rmtree, _TEMP[0], True)
        return _TEMP[0]


def shutdown_spawners() -> None:
    """Stop this process's zygotes (also done at exit)."""
    with _SPAWNERS_LOCK:
        spawners = list(_SPAWNERS.values())
        _SPAWNERS.clear()
    for spawner in spawners:
        spawner.close()


atexit.register(shutdown_spawners)


def spawner_for(config: SandboxConfig):
    """One spawner per configuration and process (the zygote is reused by all submissions here)."""
    key = (config.spawn, tuple(config.preload), config.course_root)
    with _SPAWNERS_LOCK:
        spawner = _SPAWNERS.get(key)
        if spawner is None or getattr(spawner, "broken", False):
            if config.spawn == "zygote":
                from autograder.engine.zygote import ZygoteSpawner

                spawner = ZygoteSpawner(config)
            else:
                spawner = ExecSpawner(config)
            _SPAWNERS[key] = spawner
        return spawner


# ---------------------------------------------------------------- the proxy
@dataclass
class SandboxStats:
    """Where one submission's sandbox time went, and how big its workers got."""

    starts: int = 0
    start_seconds: float = 0.0
    load_seconds: float = 0.0
    call_seconds: float = 0.0
    calls: int = 0
    peak_rss_kb: int = 0
    sandbox: dict = field(default_factory=dict)


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def clean(text: Any, limit: int = 300) -> str:
    """Untrusted text from the worker as one printable line of at most ``limit`` characters."""
    line = (str(text).strip().splitlines() or [""])[0] if text is not None else ""
    line = _CONTROL.sub("", line)
    return line if len(line) <= limit else line[:limit - 1] + "…"


def _plain_args(values: Any, what: str) -> Any:
    try:
        return encode(to_plain(values, what))
    except (StudentError, ProtocolError) as exc:  # a hidden test passed something that is not plain data
        raise TypeError(f"hidden test passed a value that is not plain data to {what}: {exc}") from None


class SandboxedStudent:
    """The student's notebook code behind the harness API, executed in a sandboxed worker.

    Parameters
    ----------
    cells : list of (int, str)
        The notebook's code cells to run (index, source), chosen by the trusted side
        (``autograder.loader.student_cells``).
    filename : str
        Names the notebook in messages.
    config : SandboxConfig
    """

    def __init__(self, cells: list[tuple[int, str]], filename: str = "notebook",
                 config: SandboxConfig | None = None) -> None:
        self._cells = [(int(i), str(src)) for i, src in cells]
        self._filename = filename
        self._config = config or SandboxConfig()
        self._limits = self._config.limits
        self._spawner = spawner_for(self._config)
        self._worker: WorkerHandle | None = None
        self._skip: dict[int, str] = {}
        self._errors: dict[int, str] = {}
        self._ids = itertools.count(1)
        self._dead: str | None = None
        self._budget_end = time.monotonic() + self._limits.submission_wall
        self.stats = SandboxStats()
        self._start()

    # -------------------------------------------------------------- public API (as InProcessStudent)
    @property
    def load_errors(self) -> list[str]:
        """One line per cell that failed while loading (the rest of the notebook still counts)."""
        merged = {**self._errors, **self._skip}
        lines = [merged[i] for i in sorted(merged)]
        if self._dead:
            lines.append(self._dead)
        return lines

    def __getattr__(self, name: str):
        if name.startswith("_"):
            raise AttributeError(name)

        def call(*args: Any, **kwargs: Any) -> Any:
            message = {"op": "call", "name": name, "args": _plain_args(list(args), name),
                       "kwargs": _plain_args(dict(kwargs), name), "cpu": self._limits.call_cpu}
            return self._value(self._request(message, name), name)

        call.__name__ = name
        return call

    def eval(self, expr: str) -> Any:
        """Evaluate a (trusted) expression string in the student's namespace; return plain data."""
        message = {"op": "eval", "expr": str(expr), "cpu": self._limits.call_cpu}
        return self._value(self._request(message, expr), expr)

    def time_call(self, name: str, args: tuple, repeat: int = 5) -> float:
        """Best wall-clock seconds of one call of ``name(*args)``, measured here around each call."""
        self._request({"op": "stage", "name": name, "args": _plain_args(list(args), name),
                       "cpu": self._limits.call_cpu}, name)
        best = float("inf")
        for _ in range(max(1, int(repeat))):
            start = time.perf_counter()
            self._request({"op": "run"}, name)
            best = min(best, time.perf_counter() - start)
        return best

    def call_with_inputs(self, name: str, args: tuple) -> tuple[Any, tuple]:
        """Call ``name(*args)`` and return ``(result, args as they are after the call)``."""
        message = {"op": "call_inputs", "name": name, "args": _plain_args(list(args), name),
                   "cpu": self._limits.call_cpu}
        value = self._request(message, name)
        try:
            result, after = decode(value)
        except (ProtocolError, TypeError, ValueError):
            raise StudentError(f"{name} returned a value that is not plain data") from None
        return to_plain(result, name), tuple(to_plain(a, name) for a in after)

    def close(self) -> None:
        """Stop the worker; safe to call twice."""
        if self._worker is not None:
            worker, self._worker = self._worker, None
            worker.close()
            self.stats.peak_rss_kb = max(self.stats.peak_rss_kb, worker.maxrss_kb)

    def __enter__(self) -> SandboxedStudent:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass

    # -------------------------------------------------------------- internals
    def _value(self, value: Any, what: str) -> Any:
        try:
            return to_plain(decode(value), what)
        except ProtocolError as exc:
            raise StudentError(f"{what} returned a value that is not plain data ({exc})") from None

    def _discard(self, graceful: bool = False) -> int | None:
        worker, self._worker = self._worker, None
        if worker is None:
            return None
        worker.close(graceful=graceful)
        self.stats.peak_rss_kb = max(self.stats.peak_rss_kb, worker.maxrss_kb)
        return worker.status

    def _spawn(self) -> WorkerHandle:
        if self.stats.starts > self._limits.max_restarts:
            raise StudentError(f"your notebook was restarted {self._limits.max_restarts} times "
                               "(crashes or time-outs); the remaining checks were not run")
        self.stats.starts += 1
        start = time.monotonic()
        base = self._config.temp_base or _temp_base()
        os.makedirs(base, mode=0o700, exist_ok=True)
        workdir = tempfile.mkdtemp(prefix="sandbox-", dir=base)
        os.chmod(workdir, 0o700)
        worker = self._spawner.spawn(workdir, self._limits.response_mb << 20)
        deadline = time.monotonic() + HANDSHAKE_SECONDS
        try:
            worker.send(self._config.setup(workdir), deadline)
            hello = worker.reader.read(deadline)
        except (Expired, Closed, ProtocolError) as exc:
            worker.close(graceful=False)
            raise RuntimeError(f"the sandbox did not start ({type(exc).__name__}, "
                               f"{describe_status(worker.status)})") from None
        if not hello.get("ready"):
            worker.close(graceful=False)
            raise RuntimeError(f"the sandbox could not be set up: {clean(hello.get('error'))}")
        self.stats.sandbox = hello.get("sandbox", {}) if isinstance(hello.get("sandbox"), dict) else {}
        self.stats.start_seconds += time.monotonic() - start
        return worker

    def _start(self) -> None:
        """Start a worker and load the notebook, skipping cells that killed or hung earlier workers."""
        while True:
            if time.monotonic() > self._budget_end:
                self._dead = "grading this submission ran out of time while loading the notebook"
                return
            try:
                worker = self._spawn()
            except StudentError as exc:
                self._dead = str(exc)
                return
            self._worker = worker
            start = time.monotonic()
            cells = [(i, src) for i, src in self._cells if i not in self._skip]
            rid = next(self._ids)
            cell_wall = self._limits.wall(self._limits.cell_cpu)
            current: int | None = None
            try:
                worker.send({"id": rid, "op": "load", "cells": cells, "filename": self._filename,
                             "cell_cpu": self._limits.cell_cpu}, time.monotonic() + cell_wall)
                while True:
                    frame = worker.reader.read(time.monotonic() + cell_wall)
                    if frame.get("id") != rid:
                        raise ProtocolError("unexpected frame")
                    if "cell" in frame and "ok" not in frame:
                        current = frame["cell"] if isinstance(frame["cell"], int) else current
                        continue
                    break
            except Expired:
                self._discard()
                self._blame(current, f"took longer than {cell_wall:g} s and was stopped")
                continue
            except Closed:
                status = self._discard()
                self._blame(current, f"ended the grading process ({describe_status(status)})")
                continue
            except ProtocolError as exc:
                self._discard()
                self._blame(current, f"broke the grading protocol ({exc})")
                continue
            finally:
                self.stats.load_seconds += time.monotonic() - start
            value = frame.get("value") if frame.get("ok") else None
            errors = value.get("errors", []) if isinstance(value, dict) else []
            heavy = value.get("heavy", []) if isinstance(value, dict) else []
            self._errors = {}
            for item in errors if isinstance(errors, list) else []:
                if isinstance(item, list) and len(item) == 2 and isinstance(item[0], int):
                    self._errors[item[0]] = clean(item[1])
            fresh = [i for i in heavy if isinstance(i, int) and i not in self._skip]
            if fresh:  # a cell ran out of memory: reload without it in a fresh process
                for index in fresh:
                    self._skip[index] = self._errors.get(index) or f"cell {index} ran out of memory"
                self._discard()
                continue
            return

    def _blame(self, index: int | None, what: str) -> None:
        if index is None or index in self._skip:
            self._dead = f"your notebook could not be loaded: it {what}"
            return
        self._skip[index] = f"cell {index} {what}; it was skipped"

    def _request(self, message: dict, what: str) -> Any:
        if self._worker is None and self._dead is None:
            if time.monotonic() > self._budget_end:
                raise StudentError(f"{what} was not run: grading this submission ran out of time")
            self._start()
        if self._dead is not None or self._worker is None:
            raise StudentError(f"{what} could not be checked: {self._dead}")
        if time.monotonic() > self._budget_end:
            self._discard()
            raise StudentError(f"{what} was not run: grading this submission ran out of time")
        worker = self._worker
        rid = next(self._ids)
        message = dict(message, id=rid)
        cpu = float(message.get("cpu", self._limits.call_cpu))
        wall = self._limits.wall(cpu)
        start = time.monotonic()
        deadline = min(start + wall, self._budget_end + 1.0)
        try:
            worker.send(message, deadline)
            frame = worker.reader.read(deadline)
            if frame.get("id") != rid:
                raise ProtocolError("a response did not match its request")
        except Expired:
            self._discard()
            raise StudentTimeout(f"{what} took longer than {wall:g} s and was stopped") from None
        except Closed:
            status = self._discard()
            raise StudentError(f"{what} ended the grading process ({describe_status(status)})") from None
        except ProtocolError as exc:
            self._discard()
            raise StudentError(f"{what}: {exc}") from None
        finally:
            self.stats.calls += 1
            self.stats.call_seconds += time.monotonic() - start
        if frame.get("ok") is True:
            return frame.get("value")
        kind, error = frame.get("kind"), clean(frame.get("error")) or f"{what} failed"
        if kind == "timeout":
            raise StudentTimeout(error)
        if kind == "memory":
            self._discard()  # free whatever the student's code still holds
        raise StudentError(error)


def load_sandboxed(path: str | Path, config: SandboxConfig | None = None) -> SandboxedStudent:
    """Read a notebook (trusted side) and load its student cells in a sandboxed worker."""
    from autograder.loader import read_notebook, student_cells

    notebook = read_notebook(path)
    return SandboxedStudent(student_cells(notebook), Path(path).name, config)


__all__ = ["SandboxConfig", "SandboxedStudent", "load_sandboxed"]
