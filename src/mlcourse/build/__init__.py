"""The course build behind ``make course`` (``python -m mlcourse.build``).

Executes every lecture and solution notebook into ``_build/`` (cached by content hash), regenerates the
nbgrader release, grades the demo submissions in a scratch course of its own (``_build/demo-course/``, never
the course root's gradebook) and renders the HTML site into
``_build/site/``. ``python -m mlcourse.build normalize`` strips outputs and volatile metadata from notebooks
before they are committed.

Modules
-------
cache
    Content hashes (execution keys) and step stamps.
execute
    nbclient execution in a reproducible kernel environment, failure reports.
release
    ``nbgrader generate_assignment`` and the comparison of a release with a fresh one.
grade
    The demo submissions, graded by the grading engine (``course grade``).
site
    The course site: Sphinx + MyST-NB + sphinx-book-theme over the executed notebooks (search, navigation,
    folded code and answers, downloads), offline MathJax.
slides
    A reveal.js slide deck per lecture (nbconvert's slides exporter, reveal.js served locally).
normalize
    Commit-ready notebooks.
compare
    Cell-by-cell comparison of notebooks (determinism, release equality).
pipeline
    The stages put together.
"""

from mlcourse.build.pipeline import STAGES, BuildOptions, BuildReport, build

__all__ = ["STAGES", "BuildOptions", "BuildReport", "build"]
