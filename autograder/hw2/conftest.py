"""HW2 suite: a grade cell's hidden tests count only when its visible tests pass.

nbgrader gives a test cell 0 points when its visible asserts raise (the hidden region never runs); this gate
makes the suite score the same way, so nbgrader's autograde and the grading engine agree on every cell.
"""

from __future__ import annotations

import pytest

from autograder.harness import visible_gate
from autograder.hw2 import visible

_visible_failures, _visible_gate = visible_gate(visible.CHECKS, lambda s, cell: visible.failure(s, cell))


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
