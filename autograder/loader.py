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

from autograder.plain import StudentError, StudentTimeout, to_plain

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


def _copy_args(args: tuple) -> tuple:
    return copy.deepcopy(args)


class InProcessStudent:
    """The student's namespace behind the harness API: ``student.<function>(*plain_args)`` and friends.

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
                 call_timeout: float = CALL_TIMEOUT) -> None:
        self._ns = namespace
        self.load_errors = list(load_errors or [])
        self._timeout = call_timeout

    def _lookup(self, name: str) -> Callable[..., Any]:
        fn = self._ns.get(name)
        if fn is None:
            raise StudentError(f"{name} is not defined: define it in the notebook (check the spelling)")
        if not callable(fn):
            raise StudentError(f"{name} is defined but is not a function")
        return fn

    def _invoke(self, name: str, fn: Callable[..., Any], args: tuple, kwargs: dict) -> Any:
        try:
            with _quiet_limited(self._timeout):
                return fn(*args, **kwargs)
        except StudentTimeout as exc:
            raise StudentTimeout(f"{name} {exc}") from None
        except NotImplementedError:
            raise StudentError(f"{name} is not implemented yet (it raises NotImplementedError)") from None
        except RecursionError:
            raise StudentError(f"{name} raised RecursionError (infinite recursion?)") from None
        except Exception as exc:
            raise StudentError(f"{name} raised {type(exc).__name__}: {_first_line(exc)}") from None

    def __getattr__(self, name: str) -> Callable[..., Any]:
        if name.startswith("_"):
            raise AttributeError(name)

        def call(*args: Any, **kwargs: Any) -> Any:
            fn = self._lookup(name)
            result = self._invoke(name, fn, _copy_args(args), copy.deepcopy(kwargs))
            return to_plain(result, name)

        call.__name__ = name
        return call

    def eval(self, expr: str) -> Any:
        """Evaluate a (trusted) expression string in the student's namespace; return plain data."""
        namespace = self._ns

        def run() -> Any:
            return eval(compile(expr, "<check>", "eval"), namespace)

        return to_plain(self._invoke(expr, run, (), {}), expr)

    def time_call(self, name: str, args: tuple, repeat: int = 5) -> float:
        """Best wall-clock seconds of one call of ``name(*args)`` over ``repeat`` calls."""
        fn = self._lookup(name)
        best = float("inf")
        for _ in range(repeat):
            call_args = _copy_args(args)
            start = time.perf_counter()
            self._invoke(name, fn, call_args, {})
            best = min(best, time.perf_counter() - start)
        return best

    def call_with_inputs(self, name: str, args: tuple) -> tuple[Any, tuple]:
        """Call ``name(*args)`` and return ``(result, args as they are after the call)``."""
        fn = self._lookup(name)
        call_args = _copy_args(args)
        result = self._invoke(name, fn, call_args, {})
        return to_plain(result, name), tuple(to_plain(a, name) for a in call_args)


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
    return InProcessStudent(namespace, errors, call_timeout)


def student_from_namespace(namespace: dict, call_timeout: float = CALL_TIMEOUT) -> InProcessStudent:
    """Wrap an existing namespace (a kernel's ``globals()``) in the harness API."""
    return InProcessStudent(namespace, [], call_timeout)


__all__ = ["InProcessStudent", "is_test_cell", "load_namespace", "load_student", "read_notebook",
           "student_cells", "student_from_namespace"]
