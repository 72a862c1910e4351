"""A source notebook's visible tests, replayed on the trusted side: the visible-test gate of a hidden suite.

In nbgrader's autograde a test cell whose visible asserts fail raises before its hidden region runs, and the
cell scores 0. A hidden suite mirrors this with :func:`autograder.harness.visible_gate`; this module gives
any suite that gate straight from its source notebook, with nothing to keep in sync by hand::

    # autograder/<a>/conftest.py
    from autograder.visible import notebook_gate

    _visible_failures, _visible_gate = notebook_gate(__file__)

The visible part of every test cell (everything above ``### BEGIN HIDDEN TESTS``) runs here, in the trusted
process, through :func:`autograder.harness.evaluate` on the student's objects, with ``math``, ``np`` and the
functions defined by the notebook's locked setup cells (its check helpers) defined here too: a submission
that redefines the helpers or its builtins changes nothing about the verdict.
"""

from __future__ import annotations

import ast
import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from autograder import harness
from autograder.loader import is_test_cell
from autograder.plain import StudentError, StudentMutation, StudentRaised, StudentTimeout
from mlcourse.checks import extract


def _source(cell: dict) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else source


def _explain(exc: StudentRaised | StudentError) -> str:
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


class NotebookVisibleTests:
    """The visible tests of the source notebook at ``path``, runnable against a ``student``.

    Parameters
    ----------
    path : Path
        An nbgrader source notebook.
    """

    def __init__(self, path: Path) -> None:
        notebook = json.loads(Path(path).read_text(encoding="utf-8"))
        self.sources: dict[str, str] = extract(notebook)[0]
        self.helpers: dict[str, Any] = {"math": math, "np": np}
        for cell in notebook.get("cells", []):
            meta = cell.get("metadata", {}).get("nbgrader", {})
            if cell.get("cell_type") == "code" and meta.get("locked") and not meta.get("solution") \
                    and not is_test_cell(cell):
                tree = ast.parse(_source(cell))
                tree.body = [node for node in tree.body if isinstance(node, ast.FunctionDef)]
                exec(compile(tree, f"<{Path(path).name} setup helpers>", "exec"), self.helpers)
        self.helpers.pop("__builtins__", None)

    def failure(self, student: Any, part: str) -> str | None:
        """Why the visible tests of grade cell ``part`` fail for ``student`` (``None`` when they pass)."""
        try:
            harness.evaluate(student, self.sources[part], self.helpers, mode="exec")
        except AssertionError as exc:  # a visible assert: its own (public) message
            return (str(exc).strip().splitlines() or [""])[0][:300] or "a visible test fails"
        except (StudentRaised, StudentError) as exc:
            return _explain(exc)
        return None


def notebook_gate(conftest: str | Path) -> tuple:
    """The ``(_visible_failures, _visible_gate)`` fixtures of the suite whose ``conftest.py`` is ``conftest``.

    The suite ``<root>/autograder/<a>/`` is gated by the visible tests of ``<root>/solutions/<a>/<a>.ipynb``.
    """
    suite = Path(conftest).resolve().parent
    visible = NotebookVisibleTests(suite.parents[1] / "solutions" / suite.name / f"{suite.name}.ipynb")
    return harness.visible_gate(visible.sources, visible.failure)
