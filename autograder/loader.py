"""Turn a submitted notebook into a ``student`` object, in this process.

This is the one place that does so in-process. It serves instructors debugging one submission
(``pytest autograder/hw2 --submission path.ipynb``), the in-kernel hidden cells of nbgrader's own
autograde, and the project's tests. The grading engine replaces it with a sandboxed proxy that offers the
same methods
(see ``CONTRIBUTING.md``: "The harness API used by hidden tests").

Only the notebook's *non-test* code cells run: nbgrader test cells (``grade`` without ``solution``) and cells
tagged ``skip-grading`` (timing demos, plots) are left out. IPython magics and shell escapes are dropped.
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
import signal
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from autograder.plain import (
    StudentError,
    StudentMutation,
    StudentTimeout,
    is_readonly_write,
    mutation_message,
    readonly,
    student_raised,
    to_plain,
)

#: Per-call time limit (seconds) for calls into student code in-process.
CALL_TIMEOUT = 60.0
SKIP_TAG = "skip-grading"


def is_test_cell(cell: dict) -> bool:
    """An nbgrader autograded test cell: a grade cell that is not a solution cell."""
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return bool(meta.get("grade")) and not meta.get("solution")


def student_cells(notebook: dict) -> list[tuple[int, str]]:
    """The (index, source) of the code cells that define the student's code, magics removed."""
    cells = []
    for index, cell in enumerate(notebook.get("cells", [])):
        if cell.get("cell_type") != "code" or is_test_cell(cell):
            continue
        if SKIP_TAG in cell.get("metadata", {}).get("tags", []):
            continue
        source = cell.get("source", "")
        source = "".join(source) if isinstance(source, list) else source
        lines = [ln for ln in source.splitlines() if not ln.lstrip().startswith(("%", "!"))]
        cells.append((index, "\n".join(lines)))
    return cells


def read_notebook(path: str | Path) -> dict:
    """Read a notebook as JSON, with a clear error when it is missing or not a notebook."""
    path = Path(path)
    if not path.is_file():
        raise StudentError(f"notebook {path.name} is missing")
    try:
        notebook = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise StudentError(f"{path.name} is not a valid notebook (not JSON: {exc})") from None
    if not isinstance(notebook, dict) or not isinstance(notebook.get("cells"), list):
        raise StudentError(f"{path.name} is not a valid notebook (no list of cells)")
    return notebook


@contextlib.contextmanager
def _quiet_limited(seconds: float | None) -> Iterator[None]:
    """Silence stdout/stderr and warnings, and raise StudentTimeout after ``seconds`` (main thread only)."""
    use_alarm = bool(seconds) and threading.current_thread() is threading.main_thread()

    def _expire(signum: int, frame: Any) -> None:
        raise StudentTimeout(f"took longer than {seconds:g} s")

    previous = signal.signal(signal.SIGALRM, _expire) if use_alarm else None
    if use_alarm:
        signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()), \
                warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        if use_alarm:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)


def _fresh(args: Any) -> Any:
    """The caller's arguments as the student's code receives them: a deep copy in which every NumPy array is
    read-only for good (:func:`autograder.plain.readonly`), so an in-place write fails inside the student's
    function and never reaches the caller's values."""
    return readonly(copy.deepcopy(args))


class _InProcessObjects:
    """The in-process side of the harness's checks on the student's own objects (``harness.evaluate``):
    the objects themselves, under the call time limit. (The engine's ``SandboxedStudent`` offers the same
    methods with the objects kept in its sandboxed worker.)"""

    def remote_global(self, name: str) -> Any:
        if name not in self._ns:
            raise student_raised(f"{name} is not defined", "NameError", f"name {name!r} is not defined")
        return self._ns[name]

    def remote_plain(self, value: Any, what: str = "your code") -> Any:
        return to_plain(value, what)

    @contextlib.contextmanager
    def checking(self) -> Iterator[None]:
        with _quiet_limited(self._timeout):
            yield


class InProcessStudent(_InProcessObjects):
    """The student's namespace behind the harness API: ``student.<function>(*plain_args)`` and friends.

    Every call receives fresh copies of its arguments in which each NumPy array is read-only for good, so a
    function that writes into an argument (``X -= mu``, ``X[...] = ...``, ``out=X``) fails there, and the call
    raises :class:`~autograder.plain.StudentMutation`: changing an input is impossible, not reported.

    Parameters
    ----------
    namespace : dict
        Globals in which the student's cells ran.
    load_errors : list of str
        One line per cell that raised while loading (the rest of the notebook still counts).
    call_timeout : float
        Seconds allowed per call.
    """

    def __init__(self, namespace: dict, load_errors: list[str] | None = None,
                 call_timeout: float = CALL_TIMEOUT, code: list[str] | None = None) -> None:
        self._ns = namespace
        self.load_errors = list(load_errors or [])
        self._timeout = call_timeout
        self._code = list(code or [])

    def code_cells(self) -> list[str]:
        """The student's code as read by the trusted side: the notebook's code cells (``load_student``) or the
        kernel's input history (``student_from_namespace``); empty when unknown. For static checks."""
        return list(self._code)

    def _lookup(self, name: str) -> Callable[..., Any]:
        fn = self._ns.get(name)
        if fn is None:
            raise StudentError(f"{name} is not defined: define it in the notebook (check the spelling)")
        if not callable(fn):
            raise StudentError(f"{name} is defined but is not a function")
        return fn

    def _invoke(self, name: str, fn: Callable[..., Any], args: tuple, kwargs: dict,
                timer: list[float] | None = None) -> Any:
        """Call ``fn`` under the time limit; a failure becomes a StudentError that names ``name``.

        With ``timer``, the CPU seconds of this process during the call alone (the student's function and the
        conversion of its result to plain data; CPU time, so the load of other processes does not count) are
        appended to it, and the result is returned already plain: an array filled after the function
        returned (by a thread it started) cannot hide work from the clock.
        """
        try:
            with _quiet_limited(self._timeout):
                if timer is None:
                    return fn(*args, **kwargs)
                start = time.process_time()
                result = to_plain(fn(*args, **kwargs), name)
                timer.append(time.process_time() - start)
                return result
        except StudentTimeout as exc:
            raise StudentTimeout(f"{name} {exc}") from None
        except StudentError:
            raise
        except NotImplementedError:
            raise StudentError(f"{name} is not implemented yet (it raises NotImplementedError)") from None
        except RecursionError:
            raise StudentError(f"{name} raised RecursionError (infinite recursion?)") from None
        except Exception as exc:
            if is_readonly_write(exc):
                raise StudentMutation(mutation_message(name)) from None
            raise StudentError(f"{name} raised {type(exc).__name__}: {_first_line(exc)}") from None

    def __getattr__(self, name: str) -> Callable[..., Any]:
        if name.startswith("_"):
            raise AttributeError(name)

        def call(*args: Any, **kwargs: Any) -> Any:
            fn = self._lookup(name)
            result = self._invoke(name, fn, _fresh(args), _fresh(kwargs))
            return to_plain(result, name)

        call.__name__ = name
        return call

    def eval(self, expr: str) -> Any:
        """Evaluate a (trusted) expression string in the student's namespace; return plain data."""
        namespace = self._ns

        def run() -> Any:
            return eval(compile(expr, "<check>", "eval"), namespace)

        return to_plain(self._invoke(expr, run, (), {}), expr)

    def time_calls(self, name: str, calls: list[tuple]) -> list[tuple[float, Any]]:
        """Call ``name(*args)`` once for each ``args`` in ``calls``; ``(seconds, plain result)`` per call.

        Every call gets its own fresh read-only copy of its arguments, made before its clock starts; the
        clock (``time.process_time``, CPU seconds of this process) runs around that call alone, including
        the conversion of its result to plain data. Every result is returned so that the caller can check
        it (a memoised or wrong answer cannot hide behind a fast time).
        """
        fn = self._lookup(name)
        out = []
        for args in calls:
            call_args, seconds = _fresh(tuple(args)), []
            result = self._invoke(name, fn, call_args, {}, timer=seconds)
            out.append((seconds[0], result))
        return out

    def time_call(self, name: str, args: tuple, repeat: int = 5) -> float:
        """Best CPU seconds of ``repeat`` calls of ``name(*args)`` (prefer :meth:`time_calls`)."""
        return min(seconds for seconds, _ in self.time_calls(name, [args] * max(1, int(repeat))))


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:200] if text else ""


def load_namespace(notebook: dict, filename: str = "notebook",
                   cell_timeout: float = CALL_TIMEOUT) -> tuple[dict, list[str]]:
    """Run a notebook's student cells in a fresh namespace; return it and one line per failing cell."""
    import matplotlib

    matplotlib.use("Agg")
    namespace: dict[str, Any] = {"__name__": "__student__"}
    errors = []
    for index, source in student_cells(notebook):
        try:
            code = compile(source, f"<{filename} cell {index}>", "exec")
            with _quiet_limited(cell_timeout):
                exec(code, namespace)
        except StudentTimeout:
            errors.append(f"cell {index} took longer than {cell_timeout:g} s and was stopped")
        except SyntaxError as exc:
            errors.append(f"cell {index} has a syntax error (line {exc.lineno}): {exc.msg}")
        except Exception as exc:
            errors.append(f"cell {index} raised {type(exc).__name__}: {_first_line(exc)}")
    return namespace, errors


def load_student(path: str | Path, call_timeout: float = CALL_TIMEOUT) -> InProcessStudent:
    """Load a submitted notebook's student cells in-process and wrap them in the harness API."""
    notebook = read_notebook(path)
    namespace, errors = load_namespace(notebook, Path(path).name, call_timeout)
    code = [source for _, source in student_cells(notebook)]
    return InProcessStudent(namespace, errors, call_timeout, code)


def student_from_namespace(namespace: dict, call_timeout: float = CALL_TIMEOUT) -> InProcessStudent:
    """Wrap an existing namespace (a kernel's ``globals()``) in the harness API; its code is the kernel's
    input history (IPython's ``_ih``), when there is one."""
    history = namespace.get("_ih")
    code = [source for source in history if isinstance(source, str)] if isinstance(history, list) else []
    return InProcessStudent(namespace, [], call_timeout, code)


__all__ = ["InProcessStudent", "is_test_cell", "load_namespace", "load_student", "read_notebook",
           "student_cells", "student_from_namespace"]
