"""HW1 suite: a grade cell's hidden tests count only when its visible tests pass.

nbgrader gives a test cell 0 points when its visible asserts raise (the hidden region never runs); this gate
makes the suite score the same way, so nbgrader's autograde and the grading engine agree on every cell. The
gate replays the source notebook's visible tests on the trusted side (:mod:`autograder.visible`), operating
on the student's objects (``Dual``) from here, with HW1's wording of what the student's code raised.
"""

from __future__ import annotations

from autograder.hw1.common import explain
from autograder.visible import NotebookVisibleTests

#: The gate's visible tests (``tests/test_hw1.py`` swaps ``VISIBLE.failure`` to switch the gate off).
VISIBLE = NotebookVisibleTests.of_suite(__file__, explain=explain)
_visible_failures, _visible_gate = VISIBLE.gate()
