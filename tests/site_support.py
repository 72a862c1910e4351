"""A miniature course for the site tests (``test_site``, ``test_site_browser``).

Two lectures, one of them with folded code (``hide-input``), a worked answer (``exercise-answer``) and
in-page links written for Jupyter, a released homework, and ``[tool.mlcourse.site]`` saying which homework
practises which lecture.

Imported by those modules (pytest puts ``tests/`` on ``sys.path``); not a test module itself.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

from build_support import make_course, solution_cells, write_notebook
from nbformat.v4 import new_code_cell, new_markdown_cell

from mlcourse.build import BuildOptions, BuildReport, build

PRACTICE = '[tool.mlcourse.site.practice]\n"01-demo" = ["demo"]\n"02-answers" = ["demo"]\n'


def answers_cells() -> list:
    """A lecture with a contents link, a folded plotting cell, an exercise and its worked answer."""
    return [
        new_markdown_cell("# Answers lecture\n\nContents: [the fit](#1.-Fitting-a-line), "
                          "[the end](#summary).\n\nThe model is $y = a x + b$."),
        new_markdown_cell("## 1. Fitting a line\n\n"
                          "Least squares solves $\\min_{a,b} \\sum_n (y_n - a x_n - b)^2$."),
        new_code_cell("import numpy as np\nimport matplotlib.pyplot as plt\n\n"
                      "x = np.linspace(0, 1, 21)\ny = 2 * x + 1\nslope, intercept = np.polyfit(x, y, 1)\n"
                      "print(f'fitted slope {slope:.3f}')"),
        new_code_cell("fig, ax = plt.subplots(figsize=(4, 3))\nax.plot(x, y, 'o')\n"
                      "ax.set_title('folded plotting code')\nplt.show()",
                      metadata={"tags": ["hide-input"]}),
        new_markdown_cell("**Exercise 1.1 (predict, then run).** What intercept does the fit find?"),
        new_markdown_cell("*Answer.* The intercept is $b = 1$ exactly: the data lie on the line.",
                          metadata={"tags": ["exercise-answer"]}),
        new_code_cell("print('answer check', round(intercept, 6))\nassert abs(intercept - 1) < 1e-9",
                      metadata={"tags": ["exercise-answer"]}),
        new_markdown_cell("<a id=\"summary\"></a>\n## 2. Summary\n\nExpectation maximisation comes later."),
    ]


def make_site_course(root: Path) -> Path:
    """The miniature course (see the module docstring), not built."""
    make_course(root, assignment=False)
    write_notebook(root / "lectures" / "02-answers.ipynb", answers_cells())
    write_notebook(root / "assignments" / "demo" / "demo.ipynb", solution_cells())  # a stand-in release
    pyproject = root / "pyproject.toml"
    text = re.sub(r"\[tool\.mlcourse\.site\.practice\]\n(?:\"[^\n]*\n)*", PRACTICE, pyproject.read_text())
    assert PRACTICE in text, "pyproject.toml has no [tool.mlcourse.site.practice] table to replace"
    pyproject.write_text(text)
    return root


def build_site_course(root: Path) -> tuple[BuildReport, str]:
    """Execute the course's lectures and build its site; return the report and the log."""
    stream = io.StringIO()
    report = build(BuildOptions(root=root, out=root / "_build", stages=("execute", "site"), stream=stream))
    return report, stream.getvalue()
