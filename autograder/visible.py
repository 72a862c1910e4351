"""A source notebook's visible tests, replayed on the trusted side: the visible-test gate of a hidden suite.

In nbgrader's autograde a test cell whose visible asserts fail raises before its hidden region runs, and the
cell scores 0. A hidden suite mirrors this with :func:`autograder.harness.visible_gate`; this module gives
any suite that gate straight from its source notebook, with nothing to keep in sync by hand::

    # autograder/<a>/conftest.py
    from autograder.visible import notebook_gate

    _visible_failures, _visible_gate = notebook_gate(__file__)

The visible part of every test cell (everything above ``### BEGIN HIDDEN TESTS``, the same text as the
students' ``mlcourse.checks.<a>.SOURCES``) runs here, in the trusted process, through
:func:`autograder.harness.evaluate` on the student's objects, with ``math``, ``np`` and the functions defined
by the notebook's locked setup cells (its check helpers) defined here too: a submission that redefines the
helpers or its builtins changes nothing about the verdict. Two options fit the gate to an assignment:

``plain_calls=True``
    the notebook's functions that a visible test calls (``name(...)``) are called as ``student.<name>``:
    fresh read-only arguments and plain results (NumPy arrays, floats, dicts), so a function that writes into
    an argument fails here as in the engine (HW2). Otherwise names are the student's objects themselves,
    operated on from here (HW1's ``Dual``).
``explain``
    ``explain(exc)`` words what the student's code did (a :class:`~autograder.plain.StudentError`) for the
    student; the default is :func:`describe` (:func:`own_message` with ``plain_calls``, whose messages name
    the function). HW1 passes its own (``autograder.hw1.common.explain``).

A suite whose tests need the gate's :class:`NotebookVisibleTests` (e.g. to switch it off) keeps it in its
conftest: ``VISIBLE = NotebookVisibleTests.of_suite(__file__, ...)`` and
``_visible_failures, _visible_gate = VISIBLE.gate()``.
"""

from __future__ import annotations

import ast
import json
import math
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from autograder import harness
from autograder.loader import student_cells
from autograder.plain import StudentError, StudentMutation, StudentRaised, StudentTimeout
from mlcourse.checks import extract


def describe(exc: StudentError) -> str:
    """What the student's code did, in student-facing words (never the check's code)."""
    if isinstance(exc, StudentRaised):
        if exc.type_name == "NotImplementedError":
            return "not implemented yet (your code raises NotImplementedError)"
        return f"your code raised {exc.type_name}" + (f" ({exc.text})" if exc.text else "")
    if isinstance(exc, StudentMutation):  # its message is written for students
        return (str(exc).strip().splitlines() or [""])[0][:300]
    if isinstance(exc, StudentTimeout):
        return "your code did not finish within the time limit (an endless loop?)"
    return "your code failed while the visible tests ran"


def own_message(exc: StudentError) -> str:
    """The first line of the exception's own message (for plain calls: it names the function, e.g.
    ``logsumexp is not implemented yet (it raises NotImplementedError)``)."""
    text = (str(exc).strip().splitlines() or [""])[0]
    if text:
        return text
    return f"your code raised {exc.type_name}" if isinstance(exc, StudentRaised) else "your code failed"


class NotebookVisibleTests:
    """The visible tests of the source notebook at ``path``, runnable against a ``student``.

    Parameters
    ----------
    path : Path
        An nbgrader source notebook.
    plain_calls : bool
        Call the notebook's functions as ``student.<name>`` (plain data in and out) instead of operating on
        the student's objects from here.
    explain : callable, optional
        ``explain(exc) -> str``, the student-facing account of a :class:`~autograder.plain.StudentError`;
        :func:`own_message` with ``plain_calls``, else :func:`describe`.
    """

    def __init__(self, path: Path, *, plain_calls: bool = False,
                 explain: Callable[[StudentError], str] | None = None) -> None:
        notebook = json.loads(Path(path).read_text(encoding="utf-8"))
        self.sources, functions = extract(notebook)
        self.plain_calls = plain_calls
        self.functions = [name for name in functions if not name.startswith("test_")]
        self.explain = explain or (own_message if plain_calls else describe)
        self.helpers: dict[str, Any] = {"math": math, "np": np}
        for index, source in student_cells(notebook):  # code cells, magics removed
            meta = notebook["cells"][index].get("metadata", {}).get("nbgrader", {})
            if meta.get("locked") and not meta.get("solution"):
                tree = ast.parse(source)
                tree.body = [node for node in tree.body if isinstance(node, ast.FunctionDef)]
                exec(compile(tree, f"<{Path(path).name} setup helpers>", "exec"), self.helpers)
        self.helpers.pop("__builtins__", None)

    @classmethod
    def of_suite(cls, conftest: str | Path, **options: Any) -> NotebookVisibleTests:
        """The visible tests that gate the suite whose ``conftest.py`` is ``conftest``: the suite
        ``<root>/autograder/<a>/`` is gated by ``<root>/solutions/<a>/<a>.ipynb``."""
        suite = Path(conftest).resolve().parent
        return cls(suite.parents[1] / "solutions" / suite.name / f"{suite.name}.ipynb", **options)

    def names(self, student: Any, part: str) -> dict[str, Any]:
        """The trusted names of grade cell ``part``'s visible tests: the helpers and, with ``plain_calls``,
        ``student.<name>`` for each of the notebook's functions they call."""
        if not self.plain_calls:
            return self.helpers
        called = [name for name in self.functions if re.search(rf"(?<![\w.]){name}\(", self.sources[part])]
        return {**self.helpers, **{name: getattr(student, name) for name in called}}

    def failure(self, student: Any, part: str) -> str | None:
        """Why the visible tests of grade cell ``part`` fail for ``student`` (``None`` when they pass)."""
        try:
            harness.evaluate(student, self.sources[part], self.names(student, part), mode="exec")
        except AssertionError as exc:  # a visible assert: its own (public) message
            return (str(exc).strip().splitlines() or [""])[0][:300] or "a visible test fails"
        except StudentError as exc:
            return self.explain(exc)
        return None

    def gate(self) -> tuple:
        """The ``(_visible_failures, _visible_gate)`` fixtures of :func:`autograder.harness.visible_gate`
        (:meth:`failure` is looked up at call time, so a test can swap it)."""
        return harness.visible_gate(self.sources, lambda student, part: self.failure(student, part))


def notebook_gate(conftest: str | Path, **options: Any) -> tuple:
    """The ``(_visible_failures, _visible_gate)`` fixtures of the suite whose ``conftest.py`` is ``conftest``,
    gated by its source notebook (``options``: those of :class:`NotebookVisibleTests`)."""
    return NotebookVisibleTests.of_suite(conftest, **options).gate()
