"""Run a hidden pytest suite against one student and score it per grade cell.

A hidden suite is the pytest package ``autograder/<assignment>/``. Each test takes the ``student`` fixture and
is marked ``@pytest.mark.part("<grade cell id>", weight=1)``. A grade cell's score is its points times the
passed fraction of its tests' weight. Failure messages are the tests' own student-facing texts: assertion
rewriting is off, and for anything but an assertion or a :class:`StudentError` only the exception's type is
reported, so neither expected values nor test source reach a student.
"""

from __future__ import annotations

import builtins
import contextlib
import io
import types
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from autograder.plain import StudentError, StudentMutation, StudentRaised, builtin_name, student_raised

SUITES = Path(__file__).resolve().parent
INI = SUITES / "pytest.ini"


@dataclass
class PartResult:
    """Outcome of one grade cell's hidden tests."""

    name: str
    passed_weight: float = 0.0
    total_weight: float = 0.0
    messages: list[str] = field(default_factory=list)
    tests: list[tuple[str, bool, str]] = field(default_factory=list)
    weights: dict[str, float] = field(default_factory=dict)  # test name -> its weight in this part

    @property
    def fraction(self) -> float:
        """Passed share of the weight, in [0, 1] (0 for a part with no tests)."""
        return self.passed_weight / self.total_weight if self.total_weight else 0.0


def suite_dir(assignment: str) -> Path:
    """The hidden suite's folder for ``assignment``, with a clear error when there is none."""
    path = SUITES / assignment
    if not (path / "__init__.py").is_file() and not any(path.glob("test_*.py")):
        raise ValueError(f"no hidden suite for assignment {assignment!r}: expected tests in {path}")
    return path


def _message(item: pytest.Item, excinfo: pytest.ExceptionInfo) -> str:
    doc = (getattr(item, "obj", None).__doc__ or "").strip().splitlines() if hasattr(item, "obj") else []
    check = doc[0] if doc else item.name.removeprefix("test_").replace("_", " ")
    exc = excinfo.value
    first = (str(exc).strip().splitlines() or [""])[0][:500]
    # A bare ``assert`` has no student-facing text (and, rewritten, would show compared values).
    if isinstance(exc, (AssertionError, StudentError, pytest.fail.Exception)) and first \
            and not first.startswith("assert "):
        return first
    return f"{check}: failed ({type(exc).__name__})"


class _Collector:
    """pytest plugin: provides the student object, keeps the chosen parts, records outcomes."""

    def __init__(self, student: Any, parts: set[str] | None) -> None:
        self.student_obj = student
        self.parts = parts
        self.results: dict[str, PartResult] = {}
        self.unmarked: list[str] = []

    @staticmethod
    def _part(item: pytest.Item) -> tuple[str | None, float]:
        marker = item.get_closest_marker("part")
        if marker is None or not marker.args:
            return None, 0.0
        return str(marker.args[0]), float(marker.kwargs.get("weight", 1.0))

    def pytest_collection_modifyitems(self, config: pytest.Config, items: list[pytest.Item]) -> None:
        keep, drop = [], []
        for item in items:
            part, weight = self._part(item)
            if part is None:
                self.unmarked.append(item.nodeid)
                drop.append(item)
            elif self.parts is None or part in self.parts:
                keep.append(item)
                self.results.setdefault(part, PartResult(part)).total_weight += weight
            else:
                drop.append(item)
        items[:] = keep
        if drop:
            config.hook.pytest_deselected(items=drop)

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo):
        outcome = yield
        report = outcome.get_result()
        part, weight = self._part(item)
        if part is None or part not in self.results:
            return
        failed = report.failed or (call.when == "call" and report.skipped)
        if call.when == "call" or failed:
            result = self.results[part]
            if any(name == item.name for name, _, _ in result.tests):
                return  # setup passed/failed already recorded for this test
            result.weights[item.name] = weight
            if failed:
                text = _message(item, call.excinfo) if call.excinfo else "check failed"
                result.messages.append(text)
                result.tests.append((item.name, False, text))
            else:
                result.passed_weight += weight
                result.tests.append((item.name, True, ""))


def _fixture_plugin(student: Any) -> types.ModuleType:
    """A plugin module providing the ``student`` fixture (pytest collects fixtures from modules)."""
    module = types.ModuleType("autograder_student_fixture")

    @pytest.fixture(scope="session", name="student")
    def student_fixture() -> Any:
        return student

    module.student = student_fixture
    return module


def run_suite(assignment: str | Path, student: Any,
              parts: Iterable[str] | None = None) -> dict[str, PartResult]:
    """Run a hidden suite against ``student``; return each grade cell's result.

    Parameters
    ----------
    assignment : str or Path
        Assignment id (suite in ``autograder/<assignment>/``) or a suite folder.
    student : object
        Offers the harness API (``autograder.loader.InProcessStudent`` or the engine's proxy).
    parts : iterable of str, optional
        Grade-cell ids to run; all when omitted.

    Returns
    -------
    dict of str to PartResult
    """
    folder = Path(assignment) if isinstance(assignment, Path) else suite_dir(assignment)
    collector = _Collector(student, None if parts is None else set(parts))
    args = [str(folder), "-c", str(INI), "--rootdir", str(SUITES), "-s",
            "-p", "no:terminal", "-p", "no:warnings", "-p", "no:randomly", "--import-mode=importlib",
            "-p", "no:unraisableexception"]  # its gc.collect() at exit was 70% of a small run
    sink = io.StringIO()
    with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
        code = pytest.main(args, plugins=[collector, _fixture_plugin(student)])
    if code in (pytest.ExitCode.INTERNAL_ERROR, pytest.ExitCode.USAGE_ERROR):
        raise RuntimeError(f"the hidden suite {folder} could not run (pytest exit {int(code)}):\n"
                           f"{sink.getvalue()[-2000:]}")
    if collector.unmarked:
        raise RuntimeError(f"hidden tests without @pytest.mark.part: {collector.unmarked}")
    if parts is not None:
        missing = set(parts) - set(collector.results)
        if missing:
            raise ValueError(f"no hidden tests for part(s) {sorted(missing)} in {folder}")
    return collector.results


def score(results: dict[str, PartResult], points: dict[str, float]) -> dict[str, float]:
    """Points per grade cell: ``points[cell] * fraction`` (rounded to 1e-6)."""
    return {cell: round(points[cell] * results[cell].fraction, 6) for cell in results}


def hidden_score(assignment: str, part: str, namespace: dict, points: float) -> float:
    """Score one grade cell inside a notebook kernel (nbgrader's autograde); print the failed checks.

    This is what a source notebook's ``### BEGIN HIDDEN TESTS`` region calls, e.g.
    ``hidden_score("hw2", "test_e_step_loglik", globals(), points=2)``; its value, the cell's last expression,
    is nbgrader's partial credit. The grading engine does not rely on it: it scores the same suite against a
    sandboxed worker and overwrites these numbers.
    """
    from autograder.loader import student_from_namespace

    result = run_suite(assignment, student_from_namespace(namespace), parts=[part])[part]
    for name, passed, text in result.tests:
        print(("✓ " if passed else "✗ ") + (name.removeprefix("test_").replace("_", " ")
                                             if passed else text))
    return round(points * result.fraction, 6)


def visible_gate(cells: Collection[str], failure: Callable[[Any, str], str | None]) -> tuple:
    """Fixtures for a suite's conftest: a grade cell's hidden tests count only when its visible tests pass.

    nbgrader gives a test cell 0 points when its visible asserts raise (the hidden region never runs); this
    gate makes a hidden suite score the same way, so nbgrader's autograde and the grading engine agree.

    Parameters
    ----------
    cells : collection of str
        Grade-cell ids that have visible tests.
    failure : callable
        ``failure(student, cell)`` replays the cell's visible tests; ``None`` when they pass, else why not.
        Looked up at call time (pass a lambda) so tests can swap it.

    Returns
    -------
    tuple
        ``(_visible_failures, _visible_gate)``: assign both in the suite's ``conftest.py``.
    """

    @pytest.fixture(scope="session")
    def _visible_failures() -> dict:
        """Per grade cell (filled lazily): ``[why its visible tests fail or None, whether a failed check has
        already given that reason]``."""
        return {}

    @pytest.fixture(autouse=True)
    def _visible_gate(request: pytest.FixtureRequest, student: Any, _visible_failures: dict) -> None:
        marker = request.node.get_closest_marker("part")
        if marker is None or not marker.args or marker.args[0] not in cells:
            return
        cell = marker.args[0]
        if cell not in _visible_failures:
            _visible_failures[cell] = [failure(student, cell), False]
        entry = _visible_failures[cell]
        reason, told = entry
        if reason is not None:
            doc = (request.node.obj.__doc__ or "").strip().splitlines()
            check = doc[0] if doc else request.node.name.removeprefix("test_").replace("_", " ")
            entry[1] = True  # the reason once per cell: the cell's other checks point to it
            pytest.fail(f"{check}: not checked, because a visible test of this cell fails "
                        f"({'the one named above' if told else reason})", pytrace=False)

    return _visible_failures, _visible_gate


def time_call(student: Any, name: str, *args: Any, repeat: int = 5) -> float:
    """Best wall-clock seconds of one call of the student's ``name(*args)``, timed by the trusted side."""
    return student.time_call(name, args, repeat)


def time_calls(student: Any, name: str, calls: Iterable[tuple]) -> list[tuple[float, Any]]:
    """``(seconds, result)`` of one call of the student's ``name(*args)`` per ``args`` in ``calls``: fresh
    inputs per timed call, each timed alone by the trusted side, each result returned to be checked."""
    return student.time_calls(name, list(calls))


def mutates_inputs(student: Any, name: str, *args: Any) -> bool:
    """Whether the student's ``name(*args)`` writes into one of its array arguments.

    Arrays reach the student's code read-only, so such a write fails inside the function
    (:class:`~autograder.plain.StudentMutation`); nothing the student's process reports is believed."""
    try:
        getattr(student, name)(*args)
    except StudentMutation:
        return True
    except StudentError:
        return False
    return False


# ---------------------------------------------------------------- checks on the student's own objects
def evaluate(student: Any, source: str, helpers: dict | None = None, mode: str = "eval") -> Any:
    """Run a check's ``source`` here, in the trusted process, on the student's objects.

    Every free name of ``source`` that is neither a built-in nor one of ``helpers`` is the student's global
    of that name (through ``student.remote_global``: the object itself in-process, a
    :class:`~autograder.engine.remote.Remote` for a sandboxed student). Built-ins are the trusted ones,
    except that ``type(x)`` of a student's object is the student's class. Functions written in ``source``
    (lambdas, ``def``) run here when the student's code calls them.

    Parameters
    ----------
    student : object
        The harness API (``InProcessStudent`` or ``SandboxedStudent``).
    source : str
        An expression (``mode="eval"``) or statements (``mode="exec"``, e.g. a notebook's visible tests).
    helpers : dict, optional
        Trusted names available to ``source`` (check helpers, ``math``, ``np``).
    mode : {"eval", "exec"}

    Returns
    -------
    The expression's value as plain data (``None`` for ``exec``).

    Raises
    ------
    StudentRaised
        The student's code (or the check on what it returned) raised; ``type_name`` is the nearest built-in
        exception class.
    StudentError
        A time limit, a crash, or a result that is not plain data.
    AssertionError
        ``mode="exec"`` only: an assert of ``source`` or of a helper failed (its own message).
    """
    code = compile(source, "<check>", mode)
    with student.checking():
        namespace = _check_namespace(student, code, helpers or {})
        try:
            if mode == "exec":
                exec(code, namespace)
                return None
            return student.remote_plain(eval(code, namespace))
        except StudentError:
            raise
        except AssertionError:
            if mode == "exec":
                raise
            raise student_raised("your code raised AssertionError", "AssertionError", "") from None
        except Exception as exc:
            text = (str(exc).strip().splitlines() or [""])[0][:200]
            name = builtin_name(exc)
            raise student_raised(f"your code raised {name}", name, text) from None


def _free_names(code: types.CodeType) -> set[str]:
    names = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= _free_names(const)
    return names


def _check_namespace(student: Any, code: types.CodeType, helpers: dict) -> dict:
    from autograder.engine.remote import remote_type

    trusted_builtins = dict(vars(builtins))
    trusted_builtins["type"] = remote_type
    namespace = {"__builtins__": trusted_builtins, "__name__": "__check__", **helpers}
    for name in sorted(_free_names(code)):
        if name in namespace or name in trusted_builtins:
            continue
        try:
            namespace[name] = student.remote_global(name)
        except StudentRaised as exc:
            if exc.type_name != "NameError":
                raise
    return namespace
