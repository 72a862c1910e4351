"""The course's grading stage: hidden pytest suites, the harness that scores them, and the grading engine.

Hidden suites live in ``autograder/<assignment>/``; submission fixtures in ``autograder/fixtures/``.
See ``autograder/README.md`` for the grading engine and its threat model.
"""
