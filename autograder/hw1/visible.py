"""The visible tests of the HW1 notebook, replayed in the student's namespace.

In nbgrader's autograde a test cell whose visible asserts fail raises before its hidden region runs, and
nbgrader gives the cell 0 points. The hidden suite mirrors this: every hidden test of a grade cell first
requires that cell's visible tests to pass (see ``conftest.py``), so the grading engine and nbgrader agree.

``SOURCES`` is the visible part (everything above ``### BEGIN HIDDEN TESTS``) of each test cell of
``solutions/hw1/hw1.ipynb``, as generated into ``mlcourse.checks.hw1`` for the students' ``check()`` helper
(``python -m mlcourse.checks``; ``tests/test_engine_check.py`` checks it is current). The visible tests are
public (students see them), so running them with ``exec`` in (a copy of) the student's namespace reveals
nothing.
"""

from __future__ import annotations

from typing import Any

from autograder.hw1.common import describe, describe_raised, run
from autograder.plain import StudentError
from mlcourse.checks.hw1 import SOURCES

__all__ = ["SOURCES", "expression", "failure"]


def expression(part: str) -> str:
    """The expression that runs the visible tests of ``part`` in a copy of the student's namespace."""
    return f"exec({SOURCES[part]!r}, dict(globals()))"


def failure(student: Any, part: str) -> str | None:
    """Why the visible tests of grade cell ``part`` fail for ``student`` (``None`` when they pass)."""
    try:
        out = run(student, expression(part))
    except StudentError as exc:
        return describe(exc)
    if out[0] == "value":
        return None
    if out[1] == "AssertionError":  # a visible assert: its own (public) message
        return out[2] or "a visible test fails"
    return describe_raised(out[1], out[2])
