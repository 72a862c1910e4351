"""The trusted side of the sandbox: :class:`SandboxedStudent`, a drop-in for ``InProcessStudent``.

It offers exactly the harness API (``student.<name>(*args)``, ``time_calls``, the operations on the student's
objects used by :func:`autograder.harness.evaluate`, ``load_errors``) while the student's code runs in a
separate confined worker process. Every response is validated here
(:func:`autograder.engine.protocol.decode`, then ``to_plain``); time is measured here.

Failures become the harness's exceptions with one-line, student-facing reasons:

* a call over its CPU limit is stopped inside the worker (:class:`StudentTimeout`, the worker lives on);
* a call over its wall-clock limit, or a worker that dies (``os._exit``, a signal, the kernel's OOM killer),
  is killed and reported for that call only; the next call starts a fresh worker and reloads the notebook;
* a cell that kills or hangs the worker while loading is skipped on reload, so the rest still counts.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import re
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from autograder.engine.protocol import Closed, Expired, ProtocolError, decode, encode, pack, unpack_body
from autograder.engine.spawn import (  # noqa: F401  (REPO, SandboxConfig, spawner_for: the engine's API)
    REPO,
    SandboxConfig,
    WorkerHandle,
    describe_status,
    spawner_for,
    temp_base,
)
from autograder.plain import (
    StudentError,
    StudentMutation,
    StudentRaised,
    StudentTimeout,
    mutation_message,
    student_raised,
    timeout_message,
    to_plain,
)

HANDSHAKE_SECONDS = 60.0


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


def _cpu_seconds(pid: int) -> float | None:
    """CPU seconds used so far by all threads of process ``pid``, from the kernel (None if unreadable)."""
    total = 0
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/schedstat", "rb") as handle:
                total += int(handle.read().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    return total / 1e9


def _transport_allowance(data: Any) -> float:
    """Generous seconds for moving ``data`` (tagged plain data) across the pipe and decoding it on the other
    side: four times what framing and decoding it takes here, plus 2 ms."""
    start = time.perf_counter()
    decode(unpack_body(pack({"value": data})[8:])["value"])
    return 4.0 * (time.perf_counter() - start) + 0.002


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
        self._callbacks: dict[int, Any] = {}
        self._globals: dict[str, Any] = {}
        self.stats = SandboxStats()
        self._start()

    # -------------------------------------------------------------- public API (as InProcessStudent)
    def code_cells(self) -> list[str]:
        """The code cells this worker runs, as the trusted side read them from the notebook (for static
        checks)."""
        return [source for _, source in self._cells]

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

    def time_calls(self, name: str, calls: list[tuple]) -> list[tuple[float, Any]]:
        """Call ``name(*args)`` once for each ``args`` in ``calls``; ``(seconds, result)`` for each call.

        A call is three requests: ``stage`` (the arguments are sent and decoded), ``run`` (the call itself;
        its result is converted to plain data before the reply) and ``take`` (the result is sent back, so
        every timed result can be checked: a memoised or wrong answer cannot hide behind a fast time).

        The seconds are the worker's **CPU time** during ``run``, read from outside by the kernel's own
        accounting (``/proc/<pid>/task/*/schedstat``), so neither the load of the machine nor anything the
        student's code does can shorten them; where that is unavailable, the wall-clock time measured here.
        Since the worker is within the student's reach (its request handlers can be patched to work during
        ``stage`` or ``take``), the time those take beyond what moving their data costs (measured here, on
        the same data, with a generous allowance) is charged to the call as well."""
        cpu = self._limits.call_cpu
        out = []
        for args in calls:
            payload = _plain_args(list(args), name)
            marks = [self._clock()]
            self._request({"op": "stage", "name": name, "args": payload, "cpu": cpu}, name)
            marks.append(self._clock())
            self._request({"op": "run", "cpu": cpu}, name)
            marks.append(self._clock())
            raw = self._request({"op": "take"}, name)
            marks.append(self._clock())
            value = self._value(raw, name)
            if any(m[0] is None for m in marks) or len({m[1] for m in marks}) > 1:  # no CPU clock; restart
                stage, run, take = (marks[i + 1][2] - marks[i][2] for i in range(3))
            else:
                stage, run, take = (marks[i + 1][0] - marks[i][0] for i in range(3))
            seconds = run + max(0.0, stage - _transport_allowance(payload)) \
                + max(0.0, take - _transport_allowance(raw))
            out.append((seconds, value))
        return out

    def _clock(self) -> tuple[float | None, int | None, float]:
        """(the worker's CPU seconds or None, its pid, wall-clock seconds)."""
        pid = self._worker.pid if self._worker is not None else None
        return (_cpu_seconds(pid) if pid is not None else None), pid, time.perf_counter()

    def time_call(self, name: str, args: tuple, repeat: int = 5) -> float:
        """Best seconds (see :meth:`time_calls`) of ``repeat`` calls of ``name(*args)``."""
        return min(seconds for seconds, _ in self.time_calls(name, [args] * max(1, int(repeat))))

    # -------------------------------------------------------------- the student's objects, from here
    def remote_global(self, name: str) -> Any:
        """The student's global ``name``: plain data, or a :class:`~autograder.engine.remote.Remote`."""
        if name not in self._globals:
            self._globals[name] = self._import(self._request({"op": "global", "name": str(name)}, name))
        return self._globals[name]

    def remote_apply(self, fn: str, args: tuple, kwargs: dict | None = None) -> Any:
        """Apply one of the worker's operations (``add``, ``getattr``, ``call``, ...) to the arguments."""
        message = {"op": "apply", "fn": fn, "args": [self._export(a) for a in args],
                   "kwargs": {"d": [[str(k), self._export(v)] for k, v in (kwargs or {}).items()]},
                   "what": "your code", "cpu": self._limits.call_cpu}
        return self._import(self._request(message, "your code"))

    def remote_plain(self, value: Any, what: str = "your code") -> Any:
        """``value`` (which may hold the student's objects) as plain data, converted in the worker."""
        message = {"op": "plain", "value": self._export(value), "what": what}
        return self._value(self._request(message, what), what)

    @contextlib.contextmanager
    def checking(self) -> Iterator[None]:
        """One check on the student's objects: what the worker kept for it is dropped afterwards."""
        try:
            yield
        finally:
            try:
                self.remote_forget()
            except StudentError:
                pass

    def remote_forget(self) -> None:
        """Let the worker drop every object kept for the trusted side (after a check)."""
        self._callbacks.clear()
        self._globals.clear()
        if self._worker is not None:
            self._request({"op": "forget"}, "your code")

    def _export(self, value: Any) -> Any:
        from autograder.engine.remote import Remote

        if isinstance(value, Remote):
            if value._owner is not self:
                raise TypeError("an object of another submission")
            return {"h": value._key}
        if type(value) in (list, tuple):
            items = [self._export(v) for v in value]
            return items if type(value) is list else {"t": items}
        if callable(value) and not isinstance(value, type):
            key = len(self._callbacks) + 1
            self._callbacks[key] = value
            return {"fn": key}
        return _plain_args(value, "a check")

    def _import(self, data: Any, depth: int = 0) -> Any:
        from autograder.engine.remote import Remote

        if depth > 24:
            raise StudentError("your code returned a structure nested too deeply")
        if type(data) is dict and len(data) == 1:
            (tag, body), = data.items()
            if tag == "h" and type(body) is int:
                return Remote(self, body)
            if tag == "t" and type(body) is list:
                return tuple(self._import(v, depth + 1) for v in body)
        if type(data) is list:
            return [self._import(v, depth + 1) for v in data]
        return self._value(data, "your code")

    def _answer_callback(self, worker: WorkerHandle, frame: dict, deadline: float) -> None:
        """Run the trusted function the student's code called (counted here), and send its result back."""
        function = self._callbacks.get(frame.get("callback"))
        if function is None:
            raise ProtocolError("a call back to an unknown function")
        try:
            args = [self._import(a) for a in frame.get("args", [])]
            pairs = frame.get("kwargs", {}).get("d", []) if isinstance(frame.get("kwargs"), dict) else []
            kwargs = {str(k): self._import(v) for k, v in pairs}
            reply = {"op": "cb_return", "value": self._export(function(*args, **kwargs))}
        except StudentRaised as exc:  # the student's own code raised inside the function: pass it on
            reply = {"op": "cb_raise", "type": exc.type_name, "message": exc.text}
        except (StudentTimeout, StudentMutation):
            raise
        except StudentError as exc:
            reply = {"op": "cb_raise", "type": "TypeError", "message": clean(exc, 200)}
        except Exception as exc:  # the function itself failed on what it was given
            reply = {"op": "cb_raise", "type": type(exc).__name__, "message": clean(exc, 200)}
        if self._worker is not worker:
            raise StudentError("your code stopped while it was being checked")
        worker.send(reply, deadline)

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
        base = self._config.temp_base or temp_base()
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
            # A cell's clock starts when the worker says it starts that cell; the worker may only move
            # forward through the cells it was sent, and the submission's budget bounds the whole load.
            order = [i for i, _ in cells]
            position = -1
            cell_deadline = time.monotonic() + cell_wall
            try:
                worker.send({"id": rid, "op": "load", "cells": cells, "filename": self._filename,
                             "cell_cpu": self._limits.cell_cpu}, min(cell_deadline, self._budget_end))
                while True:
                    frame = worker.reader.read(min(cell_deadline, self._budget_end))
                    if frame.get("id") != rid:
                        raise ProtocolError("unexpected frame")
                    if "cell" in frame and "ok" not in frame:
                        index = frame["cell"]
                        if type(index) is not int or index not in order[position + 1:]:
                            raise ProtocolError("the notebook reported cells out of order")
                        position, current = order.index(index), index
                        cell_deadline = time.monotonic() + cell_wall
                        continue
                    break
            except Expired:
                self._discard()
                if time.monotonic() >= self._budget_end:
                    self._dead = "grading this submission ran out of time while loading the notebook"
                    return
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
            while True:
                frame = worker.reader.read(deadline)
                if frame.get("id") != rid:
                    raise ProtocolError("a response did not match its request")
                if "callback" not in frame:
                    break
                self._answer_callback(worker, frame, deadline)
        except Expired:
            self._discard()
            raise StudentTimeout(timeout_message(what, cpu)) from None
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
        if kind == "mutation":  # the text is ours: the worker only says which kind of failure it was
            raise StudentMutation(mutation_message(what))
        if kind == "memory":
            self._discard()  # free whatever the student's code still holds
        exc_type = frame.get("exc")
        if isinstance(exc_type, str) and exc_type.isidentifier():
            raise student_raised(error, exc_type, clean(frame.get("text"), 200))
        raise StudentError(error)


def load_sandboxed(path: str | Path, config: SandboxConfig | None = None) -> SandboxedStudent:
    """Read a notebook (trusted side) and load its student cells in a sandboxed worker."""
    from autograder.loader import read_notebook, student_cells

    notebook = read_notebook(path)
    return SandboxedStudent(student_cells(notebook), Path(path).name, config)


__all__ = ["SandboxConfig", "SandboxedStudent", "load_sandboxed"]
