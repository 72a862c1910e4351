"""The visible tests of the HW2 notebook, replayed on the trusted side against the student's objects.

In nbgrader's autograde a test cell whose visible asserts fail raises before its hidden region runs, and
nbgrader gives the cell 0 points. The hidden suite mirrors this: every hidden test of a grade cell first
requires that cell's visible tests to pass (see ``conftest.py``), so the grading engine and nbgrader agree.

``SOURCES`` is the visible part (everything above ``### BEGIN HIDDEN TESTS``) of each test cell of
``solutions/hw2/hw2.ipynb``, as generated into ``mlcourse.checks.hw2`` for the students' ``check()`` helper
(``python -m mlcourse.checks``; ``tests/test_engine_check.py`` checks it is current): one source for the
notebook, ``check()`` and this gate. They run here, in the trusted process
(:func:`autograder.harness.evaluate`), with the trusted ``np``; the student's functions are called through
the ``student`` object, so their arguments arrive read-only and their results come back as plain values
(NumPy arrays, floats, dicts).
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from autograder import harness
from autograder.plain import StudentError, StudentRaised
from mlcourse.checks.hw2 import FUNCTIONS, SOURCES

__all__ = ["SOURCES", "failure", "helpers"]


def helpers(student: Any, source: str) -> dict[str, Any]:
    """The names the visible tests ``source`` use besides their own variables: the trusted ``np``, and each
    of the student's functions it calls as ``student.<name>`` (fresh read-only arguments, plain results: a
    function that writes into an argument fails here, in nbgrader's kernel and in the engine alike)."""
    called = [name for name in FUNCTIONS if not name.startswith("test_")
              and re.search(rf"(?<![\w.]){name}\(", source)]
    return {"np": np, **{name: getattr(student, name) for name in called}}


def failure(student: Any, part: str) -> str | None:
    """Why the visible tests of grade cell ``part`` fail for ``student`` (``None`` when they pass)."""
    try:
        harness.evaluate(student, SOURCES[part], helpers(student, SOURCES[part]), mode="exec")
    except AssertionError as exc:  # a visible assert: its own (public) message
        return (str(exc).strip().splitlines() or [""])[0][:300] or "a visible test fails"
    except StudentRaised as exc:
        text = (str(exc).strip().splitlines() or [""])[0]
        return text or f"your code raised {exc.type_name}"
    except StudentError as exc:  # a time limit, a crash, a changed input, a result that is not plain data
        return (str(exc).strip().splitlines() or [""])[0] or "your code failed"
    return None
