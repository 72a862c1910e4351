"""The visible tests of the HW1 notebook, replayed on the trusted side against the student's objects.

In nbgrader's autograde a test cell whose visible asserts fail raises before its hidden region runs, and
nbgrader gives the cell 0 points. The hidden suite mirrors this: every hidden test of a grade cell first
requires that cell's visible tests to pass (see ``conftest.py``), so the grading engine and nbgrader agree.

``SOURCES`` is the visible part (everything above ``### BEGIN HIDDEN TESTS``) of each test cell of
``solutions/hw1/hw1.ipynb``, as generated into ``mlcourse.checks.hw1`` for the students' ``check()`` helper
(``python -m mlcourse.checks``; ``tests/test_engine_check.py`` checks it is current). They run here, in the
trusted process (:func:`autograder.harness.evaluate`), with the helpers of the source notebook's locked setup
cell (``check_number``, ``check_dual``) defined here too: a submission that redefines the helpers, ``exec``
or anything in its builtins changes nothing about the verdict.
"""

from __future__ import annotations

import ast
import functools
import json
from pathlib import Path
from typing import Any

from autograder import harness
from autograder.hw1.common import describe, describe_raised
from autograder.plain import StudentError, StudentRaised
from mlcourse.checks.hw1 import SOURCES

__all__ = ["SOURCES", "failure", "helpers"]

SOURCE_NOTEBOOK = Path(__file__).resolve().parents[2] / "solutions" / "hw1" / "hw1.ipynb"


@functools.cache
def helpers() -> dict[str, Any]:
    """``math``, ``np`` and the check helpers of the source notebook's locked ``setup`` cell, defined here."""
    notebook = json.loads(SOURCE_NOTEBOOK.read_text(encoding="utf-8"))
    setup = next(c for c in notebook["cells"]
                 if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") == "setup")
    source = "".join(setup["source"]) if isinstance(setup["source"], list) else setup["source"]
    tree = ast.parse(source)
    tree.body = [node for node in tree.body if isinstance(node, ast.FunctionDef)]
    namespace: dict[str, Any] = {"math": __import__("math"), "np": __import__("numpy")}
    exec(compile(tree, "<hw1 setup helpers>", "exec"), namespace)
    namespace.pop("__builtins__", None)
    return namespace


def failure(student: Any, part: str) -> str | None:
    """Why the visible tests of grade cell ``part`` fail for ``student`` (``None`` when they pass)."""
    try:
        harness.evaluate(student, SOURCES[part], helpers(), mode="exec")
    except AssertionError as exc:  # a visible assert: its own (public) message
        return (str(exc).strip().splitlines() or [""])[0][:300] or "a visible test fails"
    except StudentRaised as exc:
        return describe_raised(exc.type_name, exc.text)
    except StudentError as exc:
        return describe(exc)
    return None
