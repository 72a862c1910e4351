"""A pre-warmed fork server for sandboxed workers (``python -m autograder.engine.zygote``).

Starting Python and importing NumPy and matplotlib costs about half a second per worker; forking a process
that has already imported them costs a few milliseconds. The zygote is started once per grading process with a
scrubbed environment, imports the assignment's libraries (never the course's reference modules or hidden
tests: it refuses to start if a preload pulls one in), and then only forks. Each child confines itself exactly
like an ``exec``-started worker (:func:`autograder.engine.worker.serve_connection`) before reading any student
code, so the two ways of starting a worker give the same sandbox and the same results.

Control protocol (a Unix socket on the zygote's stdin, frames as in :mod:`autograder.engine.protocol`):
``{"op": "fork", "workdir": ...}`` with two file descriptors attached (the worker's request and response
pipes) -> ``{"pid": ...}``; ``{"op": "wait", "pid": ..., "timeout": seconds or null}`` ->
``{"status": int or null, "maxrss": KiB}``. End of input stops the zygote (and, through their parent-death
signal, its workers).
"""

from __future__ import annotations

import importlib
import os
import socket
import subprocess
import sys
import threading
import time

from autograder.engine.protocol import HEADER, pack, unpack_body


def _recv_frame(sock: socket.socket, with_fds: int = 0) -> tuple[dict | None, list[int]]:
    fds: list[int] = []
    header = b""
    while len(header) < HEADER.size:
        if with_fds and not header:
            data, got, _, _ = socket.recv_fds(sock, HEADER.size, with_fds)
            fds += got
        else:
            data = sock.recv(HEADER.size - len(header))
        if not data:
            return None, fds
        header += data
    (size,) = HEADER.unpack(header)
    body = b""
    while len(body) < size:
        chunk = sock.recv(size - len(body))
        if not chunk:
            return None, fds
        body += chunk
    return unpack_body(body), fds


# ---------------------------------------------------------------- zygote process
def _child(workdir: str, fd_in: int, fd_out: int, control: socket.socket) -> None:
    code = 1
    try:
        os.setsid()
        control.close()
        null = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(null, fd)
        os.close(null)
        os.chdir(workdir)
        from autograder.engine.worker import serve_connection

        code = serve_connection(fd_in, fd_out)
    finally:
        os._exit(code)


def serve(control: socket.socket) -> int:
    setup, _ = _recv_frame(control)
    if setup is None:
        return 1
    blocked = tuple(setup.get("blocked", ()))
    loaded = []
    for name in setup.get("preload", []):
        try:
            importlib.import_module(name)
        except Exception:
            continue
        ours = ("autograder", "autograder.plain")
        leaked = sorted(m for m in sys.modules if any(m == b or m.startswith(b + ".") for b in blocked)
                        and not m.startswith("autograder.engine") and m not in ours)
        if leaked:
            control.sendall(pack({"ready": False, "bad_preload": name, "error":
                                  f"preloading {name} imports {', '.join(leaked[:3])}"}))
            return 1
        loaded.append(name)
    import autograder.engine.worker  # noqa: F401  (so that children need not import it)

    control.sendall(pack({"ready": True, "preloaded": loaded}))
    while True:
        request, fds = _recv_frame(control, with_fds=2)
        if request is None:
            return 0
        if request.get("op") == "fork" and len(fds) == 2:
            pid = os.fork()
            if pid == 0:
                _child(str(request["workdir"]), fds[0], fds[1], control)
            for fd in fds:
                os.close(fd)
            control.sendall(pack({"pid": pid}))
        elif request.get("op") == "wait":
            for fd in fds:
                os.close(fd)
            control.sendall(pack(_wait(int(request["pid"]), request.get("timeout"))))
        else:
            for fd in fds:
                os.close(fd)
            control.sendall(pack({"error": "unknown request"}))


def _wait(pid: int, timeout: float | None) -> dict:
    end = None if timeout is None else time.monotonic() + float(timeout)
    while True:
        try:
            done, status, usage = os.wait4(pid, os.WNOHANG if end is not None else 0)
        except ChildProcessError:
            return {"status": None, "maxrss": 0, "gone": True}
        if done:
            return {"status": status, "maxrss": int(usage.ru_maxrss)}
        if time.monotonic() > end:
            return {"status": None, "maxrss": 0}
        time.sleep(0.005)


def main() -> int:
    control = socket.socket(fileno=os.dup(0))
    null = os.open(os.devnull, os.O_RDWR)
    os.dup2(null, 0)
    os.close(null)
    return serve(control)


# ---------------------------------------------------------------- trusted side
class ZygoteSpawner:
    """Starts workers by asking this process's zygote to fork (falls back to ``exec`` if it cannot start)."""

    name = "zygote"

    def __init__(self, config) -> None:
        from autograder.engine.proxy import ExecSpawner

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
        from autograder.engine.proxy import worker_env

        for _ in range(len(preload) + 1):
            ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
            home = os.getcwd() if os.access(os.getcwd(), os.W_OK) else "/"
            env = worker_env(home)
            proc = subprocess.Popen([sys.executable, "-m", "autograder.engine.zygote"], stdin=theirs.fileno(),
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
                                    close_fds=True, start_new_session=True, cwd="/")
            theirs.close()
            ours.settimeout(120)
            try:
                ours.sendall(pack({"preload": preload, "blocked": self.config.blocked_modules()}))
                hello, _ = _recv_frame(ours)
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
        reply, _ = _recv_frame(self.sock)
        if reply is None:
            raise OSError("the zygote stopped")
        return reply

    def spawn(self, workdir: str, max_bytes: int):
        from autograder.engine.proxy import WorkerHandle

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


if __name__ == "__main__":
    sys.exit(main())
