"""A pre-warmed fork server for sandboxed workers (``python -m autograder.engine.sandbox.zygote``).

Starting Python and importing NumPy and matplotlib costs about half a second per worker; forking a process
that has already imported them costs a few milliseconds. The zygote is started once per grading process with a
scrubbed environment, imports the assignment's libraries (never the course's reference modules or hidden
tests: it refuses to start if a preload pulls one in), and then only forks. Each child confines itself exactly
like an ``exec``-started worker (:func:`autograder.engine.sandbox.worker.serve_connection`) before reading
any student code, so the two ways of starting a worker give the same sandbox and the same results.

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
import sys
import time

from autograder.engine.protocol import pack, recv_frame


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
        from autograder.engine.sandbox.worker import serve_connection

        code = serve_connection(fd_in, fd_out)
    finally:
        os._exit(code)


def serve(control: socket.socket) -> int:
    setup, _ = recv_frame(control)
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
    import autograder.engine.sandbox.worker  # noqa: F401  (so that children need not import it)

    control.sendall(pack({"ready": True, "preloaded": loaded}))
    while True:
        request, fds = recv_frame(control, with_fds=2)
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


if __name__ == "__main__":
    sys.exit(main())
