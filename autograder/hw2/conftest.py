"""HW2 suite: a grade cell's hidden tests count only when its visible tests pass.

nbgrader gives a test cell 0 points when its visible asserts raise (the hidden region never runs); this gate
makes the suite score the same way, so nbgrader's autograde and the grading engine agree on every cell.
"""

from __future__ import annotations

import pytest

from autograder.hw2 import visible


@pytest.fixture(scope="session")
def _visible_failures() -> dict:
    """Per grade cell: ``None`` when its visible tests pass, else why not (filled lazily)."""
    return {}


@pytest.fixture(autouse=True)
def _visible_gate(request: pytest.FixtureRequest, student, _visible_failures: dict) -> None:
    marker = request.node.get_closest_marker("part")
    if marker is None or not marker.args or marker.args[0] not in visible.CHECKS:
        return
    part = marker.args[0]
    if part not in _visible_failures:
        _visible_failures[part] = visible.failure(student, part)
    reason = _visible_failures[part]
    if reason is not None:
        doc = (request.node.obj.__doc__ or "").strip().splitlines()
        check = doc[0] if doc else request.node.name.removeprefix("test_").replace("_", " ")
        pytest.fail(f"{check}: not checked, because a visible test of this cell fails ({reason})",
                    pytrace=False)


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
