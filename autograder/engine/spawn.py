"""Starting sandboxed workers (trusted side): where the sandbox draws its lines, and two ways to start one.

:class:`SandboxConfig` is built once per batch in the trusted process and sent to every worker as its
``setup`` frame. A worker is started either with ``python -m autograder.engine.sandbox.worker``
(:class:`ExecSpawner`) or forked by a pre-warmed zygote (:class:`ZygoteSpawner`, the fork server being
:mod:`autograder.engine.sandbox.zygote`); either way it confines itself before it reads any student code.
:class:`WorkerHandle` is the trusted side's handle on one running worker.
"""

from __future__ import annotations

import atexit
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from autograder.engine.limits import Limits
from autograder.engine.protocol import Closed, Expired, FrameReader, pack, recv_frame, write_all

REPO = Path(__file__).resolve().parents[2]
#: ``mlcourse`` modules student code may import while graded (the rest is reference implementation).
ALLOWED_MLCOURSE = ("__init__", "datasets", "plotting", "timing", "check", "checks", "py.typed")
#: Also foreign-function interfaces that load C code without an audit event (ctypes is audited instead).
ALWAYS_BLOCKED = ("autograder", "mlcourse.mixture", "mlcourse.autodiff", "mlcourse.build",
                  "cffi", "_cffi_backend")
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
    """Starts each worker as ``python -m autograder.engine.sandbox.worker`` (no shell, scrubbed env)."""

    name = "exec"

    def __init__(self, config: SandboxConfig) -> None:
        self.config = config

    def spawn(self, workdir: str, max_bytes: int) -> WorkerHandle:
        read_req, write_req = os.pipe()
        read_resp, write_resp = os.pipe()
        try:
            proc = subprocess.Popen(
                [sys.executable, "-m", "autograder.engine.sandbox.worker"], stdin=read_req, stdout=write_resp,
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


def temp_base() -> str:
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
                spawner = ZygoteSpawner(config)
            else:
                spawner = ExecSpawner(config)
            _SPAWNERS[key] = spawner
        return spawner


# ---------------------------------------------------------------- the zygote, from the trusted side
class ZygoteSpawner:
    """Starts workers by asking this process's zygote to fork (falls back to ``exec`` if it cannot start)."""

    name = "zygote"

    def __init__(self, config) -> None:
        self.config = config
        self.fallback = ExecSpawner(config)
        self.lock = threading.Lock()
        self.proc: subprocess.Popen | None = None
        self.sock: socket.socket | None = None
        self.preloaded: list[str] = []
        self.broken = False
        self.error: str | None = None
        self._start(list(config.preload))

    def _start(self, preload: list[str]) -> None:
        for _ in range(len(preload) + 1):
            ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
            home = os.getcwd() if os.access(os.getcwd(), os.W_OK) else "/"
            env = worker_env(home)
            proc = subprocess.Popen([sys.executable, "-m", "autograder.engine.sandbox.zygote"],
                                    stdin=theirs.fileno(), stdout=subprocess.DEVNULL,
                                    stderr=subprocess.DEVNULL, env=env, close_fds=True,
                                    start_new_session=True, cwd="/")
            theirs.close()
            ours.settimeout(120)
            try:
                ours.sendall(pack({"preload": preload, "blocked": self.config.blocked_modules()}))
                hello, _ = recv_frame(ours)
            except OSError:
                hello = None
            if hello and hello.get("ready"):
                ours.settimeout(None)
                self.proc, self.sock, self.preloaded = proc, ours, list(hello.get("preloaded", []))
                return
            ours.close()
            proc.kill()
            proc.wait()
            bad = hello.get("bad_preload") if hello else None
            self.error = (hello or {}).get("error", "the zygote did not start")
            if bad in preload:
                preload = [p for p in preload if p != bad]
                continue
            break
        self.broken = True

    def _exchange(self, message: dict, fds: list[int] | None = None) -> dict:
        assert self.sock is not None
        data = pack(message)
        if fds:
            socket.send_fds(self.sock, [data], fds)
        else:
            self.sock.sendall(data)
        reply, _ = recv_frame(self.sock)
        if reply is None:
            raise OSError("the zygote stopped")
        return reply

    def spawn(self, workdir: str, max_bytes: int):
        if self.broken:
            return self.fallback.spawn(workdir, max_bytes)
        read_req, write_req = os.pipe()
        read_resp, write_resp = os.pipe()
        try:
            with self.lock:
                reply = self._exchange({"op": "fork", "workdir": workdir}, [read_req, write_resp])
        except OSError as exc:
            self.broken, self.error = True, f"zygote failed: {exc}"
            for fd in (read_req, write_req, read_resp, write_resp):
                os.close(fd)
            return self.fallback.spawn(workdir, max_bytes)
        finally:
            if not self.broken:
                os.close(read_req)
                os.close(write_resp)
        return WorkerHandle(int(reply["pid"]), write_req, read_resp, max_bytes, workdir, self._reap)

    def _reap(self, pid: int, deadline: float | None) -> tuple[int | None, int]:
        timeout = None if deadline is None else max(0.0, deadline - time.monotonic())
        try:
            with self.lock:
                reply = self._exchange({"op": "wait", "pid": pid, "timeout": timeout})
        except OSError:
            return None, 0
        status = reply.get("status")
        return (int(status) if isinstance(status, int) else None), int(reply.get("maxrss") or 0)

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None
        if self.proc is not None:
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.proc = None
