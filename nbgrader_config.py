"""nbgrader configuration for the course.

``solutions/<assignment>/`` holds the nbgrader *source* notebooks and ``assignments/<assignment>/`` the
student release generated from them (``nbgrader generate_assignment <assignment>``); the release is
committed and a test checks it equals a fresh generation. The gradebook is SQLite by default; set
``MLCOURSE_DB_URL`` to any SQLAlchemy URL (e.g. ``postgresql://user@host/course``) to use another.

``course grade <assignment>`` run in this folder reads this file as nbgrader does (gradebook, folders); the
demo submissions are graded only with ``--demo``, and ``make course`` grades them in ``_build/demo-course/``,
never in this gradebook.
"""

import os

c = get_config()  # noqa: F821  (injected by traitlets when nbgrader loads this file)

c.CourseDirectory.root = os.path.dirname(os.path.abspath(__file__))
c.CourseDirectory.course_id = "mlcourse"
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "assignments"
c.CourseDirectory.db_url = os.environ.get(
    "MLCOURSE_DB_URL", "sqlite:///" + os.path.join(c.CourseDirectory.root, "gradebook.db")
)
c.CourseDirectory.assignment_id = ""

# Release: strip outputs, lock test/readonly cells, keep the notebooks' metadata stable.
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"
c.ClearOutput.enabled = True
c.LockCells.lock_grade_cells = True
c.LockCells.lock_readonly_cells = True

# Autograde: a generous per-cell timeout; the grading engine adds its own hard limits.
c.ExecutePreprocessor.timeout = 300
c.Execute.timeout = 300

# Feedback: students see each test cell's visible asserts and the pass/fail lines the hidden checks printed,
# never the hidden region itself (nbgrader's GetGrades first, then strip ### BEGIN/END HIDDEN TESTS).
c.GenerateFeedback.preprocessors = [
    "nbgrader.preprocessors.GetGrades",
    "nbgrader.preprocessors.ClearHiddenTests",
    "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor",
]
