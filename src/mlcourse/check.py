"""``check("e_step")``: run the visible tests of one function of your homework, with friendly messages.

In a homework notebook::

    from mlcourse.check import check
    check("e_step")          # the visible tests of e_step, wherever they are in the notebook
    check("test_e_step_loglik")  # one test cell, by its id

The visible tests are the ones in your notebook's test cells (``mlcourse/checks/<assignment>.py`` holds a
copy); they run on a copy of your notebook's variables, so nothing you defined is changed. Passing them does
not guarantee full marks: the autograder also runs hidden tests.

As in grading, your functions receive read-only copies of their array arguments: a function that changes an
input in place is told so (instead of failing later with a puzzling wrong value), and one that returns a
Python list where the hidden tests need a NumPy array gets a warning.
"""

from __future__ import annotations

import contextlib
import importlib
import inspect
import io
import os
import pkgutil
import traceback
from dataclasses import dataclass, field
from typing import Any

import numpy as np

import mlcourse.checks as _checks


@dataclass
class CheckResult:
    """What ``check`` found: ``passed`` (also the truth value) and one line per test cell."""

    name: str
    passed: bool
    lines: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return self.passed

    def __str__(self) -> str:
        return "\n".join(self.lines)

    def __repr__(self) -> str:
        return f"CheckResult({self.name!r}, passed={self.passed})"

    def _ipython_display_(self) -> None:
        """Shown once in a notebook: ``check`` has printed the lines already."""


def _assignments() -> dict[str, Any]:
    found = {}
    for info in pkgutil.iter_modules(_checks.__path__):
        if not info.name.startswith("_"):
            found[info.name] = importlib.import_module(f"mlcourse.checks.{info.name}")
    return found


def _which(name: str, assignment: str | None) -> tuple[str, Any]:
    modules = _assignments()
    if assignment is not None:
        if assignment not in modules:
            raise ValueError(f"no visible checks for assignment {assignment!r}; known: {sorted(modules)}")
        candidates = [assignment]
    else:
        candidates = [a for a, m in modules.items() if name in m.FUNCTIONS]
        if len(candidates) > 1:
            here = os.getcwd()
            narrowed = [a for a in candidates if a in here]
            candidates = narrowed or candidates
    if not candidates or name not in modules[candidates[0]].FUNCTIONS:
        known = sorted(n for m in modules.values() for n in m.FUNCTIONS if not n.startswith("test_"))
        raise ValueError(f"there are no visible tests for {name!r}; check the spelling (known: "
                         f"{', '.join(known)})")
    if len(candidates) > 1:
        raise ValueError(f"{name!r} is in several assignments ({', '.join(candidates)}): "
                         f"pass assignment=..., e.g. check({name!r}, assignment={candidates[0]!r})")
    return candidates[0], modules[candidates[0]]


def _caller_namespace() -> dict:
    frame = inspect.currentframe()
    try:
        caller = frame.f_back.f_back  # check() -> _caller_namespace()
        return caller.f_globals
    finally:
        del frame


class InputChanged(Exception):
    """Your function wrote into one of its array arguments."""


def changed_input_message(name: str) -> str:
    """What a student is told when ``name`` wrote into one of its array arguments (also by the grader)."""
    return (f"{name} changed one of its arguments in place (X -= ... or X[...] = ...); work on a copy "
            "(X - mu is a new array)")


def _frozen(value: Any) -> Any:
    """A read-only copy of an array (its buffer cannot be made writeable again); other values unchanged."""
    if type(value) is np.ndarray and value.dtype.kind in "biufc":
        return np.frombuffer(np.ascontiguousarray(value).tobytes(), dtype=value.dtype).reshape(value.shape)
    return value


def _returns_list(value: Any) -> bool:
    return type(value) is list or (type(value) is tuple and any(type(v) is list for v in value))


def _guarded(name: str, fn: Any, warnings: list[str]) -> Any:
    """``fn`` called with read-only array arguments; an in-place write becomes :class:`InputChanged`."""

    def call(*args: Any, **kwargs: Any) -> Any:
        try:
            result = fn(*[_frozen(a) for a in args], **{k: _frozen(v) for k, v in kwargs.items()})
        except ValueError as exc:
            if "read-only" in str(exc):
                raise InputChanged(changed_input_message(name)) from None
            raise
        if _returns_list(result):
            note = (f"⚠ {name} returned a Python list; the hidden tests need a NumPy array "
                    "(return np.asarray(...))")
            if note not in warnings:
                warnings.append(note)
        return result

    call.__name__ = getattr(fn, "__name__", name)
    return call


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _failure(exc: BaseException, source: str) -> str:
    if isinstance(exc, InputChanged):
        return str(exc)
    if isinstance(exc, AssertionError) and str(exc).strip():
        return _one_line(str(exc))
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == "<visible tests>"]
    line = source.splitlines()[frames[-1].lineno - 1].strip() if frames and frames[-1].lineno else ""
    if isinstance(exc, NameError):
        return f"{exc} - run the cell that defines it first"
    if isinstance(exc, NotImplementedError):
        return "not implemented yet (it raises NotImplementedError)"
    where = f" in `{line}`" if line else ""
    text = (str(exc).strip().splitlines() or [""])[0]
    return f"{type(exc).__name__}{where}" + (f": {text}" if text else "")


def check(name: str, assignment: str | None = None, namespace: dict | None = None,
          quiet: bool = False) -> CheckResult:
    """Run the visible tests of ``name`` (a function, a class, or a test cell id) and print the outcome.

    Parameters
    ----------
    name : str
        e.g. ``"e_step"``, ``"Dual"`` or ``"test_e_step_loglik"``.
    assignment : str, optional
        ``"hw1"``, ``"hw2"``...; found from ``name`` when omitted.
    namespace : dict, optional
        Where your definitions are; by default the variables of the notebook (or module) calling ``check``.
    quiet : bool
        Return the result without printing it.

    Returns
    -------
    CheckResult
        Truthy when every visible test passed.
    """
    which, module = _which(name, assignment)
    namespace = _caller_namespace() if namespace is None else namespace
    lines, passed, warnings = [], True, []
    for grade_id in module.FUNCTIONS[name]:
        source = module.SOURCES[grade_id]
        scratch = dict(namespace)  # the tests' own variables stay out of the notebook
        for fn_name in module.FUNCTIONS:
            fn = scratch.get(fn_name)
            if inspect.isfunction(fn):
                scratch[fn_name] = _guarded(fn_name, fn, warnings)
        try:
            code = compile(source, "<visible tests>", "exec")
            # arrays in messages print on one line (summarised), so no message is cut inside an array
            with contextlib.redirect_stdout(io.StringIO()), np.printoptions(linewidth=10**6, threshold=20,
                                                                            edgeitems=3):
                exec(code, scratch)
        except Exception as exc:
            passed = False
            lines.append(f"✗ {grade_id}: {_failure(exc, source)}")
        else:
            lines.append(f"✓ {grade_id}: the visible tests pass")
    lines += warnings
    if passed:
        lines.append(f"{name}: all its visible tests in {which} pass (the hidden tests check more)")
    result = CheckResult(name, passed, lines)
    if not quiet:
        print(result)
    return result


__all__ = ["CheckResult", "check"]
