"""HW2 suite: a grade cell's hidden tests count only when its visible tests pass and when the functions it
judges keep to the library rule.

nbgrader gives a test cell 0 points when its visible asserts raise (the hidden region never runs); this gate
makes the suite score the same way, so nbgrader's autograde and the grading engine agree on every cell (the
source notebook's visible tests, replayed on the trusted side by :mod:`autograder.visible`). The library
rule (:mod:`autograder.hw2.libraries`) is judged from the submission's code as the trusted side read it; a
student object that offers no code (``code_cells``) is not judged by it.
"""

from __future__ import annotations

from typing import Any

import pytest

from autograder.hw2 import libraries
from autograder.visible import NotebookVisibleTests

#: The gate's visible tests (:mod:`autograder.visible`): the student's functions are called as plain-data
#: calls, so their arguments arrive read-only and their results come back as plain values.
VISIBLE = NotebookVisibleTests.of_suite(__file__, plain_calls=True)
_visible_failures, _visible_gate = VISIBLE.gate()

CELL_FUNCTIONS = libraries.cell_functions()


@pytest.fixture(scope="session")
def _library_violations(student: Any) -> dict[str, str]:
    """Function -> the library outside the rule that it uses (empty when the student offers no code)."""
    code_cells = getattr(type(student), "code_cells", None)
    if code_cells is None:
        return {}
    graded = {name for names in CELL_FUNCTIONS.values() for name in names}
    return libraries.violations(code_cells(student), graded)


@pytest.fixture(autouse=True)
def _library_gate(request: pytest.FixtureRequest, _visible_gate: None,
                  _library_violations: dict[str, str]) -> None:
    """After the visible gate (so a failing visible test keeps its own message): a cell of a function that
    uses a library outside the rule fails with a message naming it."""
    marker = request.node.get_closest_marker("part")
    if marker is None or not marker.args:
        return
    for function in CELL_FUNCTIONS.get(marker.args[0], ()):
        if function in _library_violations:
            pytest.fail(libraries.message(function, _library_violations[function]), pytrace=False)


class Memo:
    """Results of expensive calls, shared by the tests of one run (an exception is remembered too)."""

    def __init__(self) -> None:
        self._done: dict = {}

    def get(self, key, fn):
        if key not in self._done:
            try:
                self._done[key] = (True, fn())
            except Exception as exc:  # StudentError and friends: every test that needs the call fails alike
                self._done[key] = (False, exc)
        ok, value = self._done[key]
        if not ok:
            raise value
        return value


@pytest.fixture(scope="session")
def memo() -> Memo:
    """Shared results of slow student and reference calls (fits, quantised images)."""
    return Memo()
