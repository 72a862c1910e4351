"""Shared helpers of the build tests (``test_build*``, ``test_notebooks``, ``test_repo_checks``,
``test_site_browser``): small course factories and the once-per-session build of the real notebooks.

Imported by those modules (pytest puts ``tests/`` on ``sys.path``); not a test module itself.
"""

from __future__ import annotations

import atexit
import functools
import io
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from mlcourse.build import BuildOptions, BuildReport, build
from mlcourse.build.normalize import normalized_text, tracked_notebooks

ROOT = Path(__file__).resolve().parents[1]
KERNELSPEC = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}


def real_notebooks(*prefixes: str) -> list[str]:
    """Tracked notebooks under the given folders (``lectures/``, ``solutions/``), existing on disk.

    ``autograder/fixtures/`` (deliberately broken submissions) is never included.
    """
    return [rel for rel in tracked_notebooks(ROOT)
            if rel.startswith(prefixes) and not rel.startswith("autograder/fixtures/")
            and (ROOT / rel).is_file()]


def write_notebook(path: Path, cells: list, metadata: dict | None = None) -> Path:
    """Write a normalised nbformat-4.5 notebook with deterministic cell ids."""
    nb = new_notebook(cells=cells, metadata=metadata or {"kernelspec": dict(KERNELSPEC),
                                                        "language_info": {"name": "python"}})
    for index, cell in enumerate(nb.cells):
        cell["id"] = f"cell-{index}"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(normalized_text(nb), encoding="utf-8")
    return path


def lecture_cells(extra_markdown: str = "") -> list:
    """A small lecture exercising what real lectures do: math, a seeded RNG, a figure, dict and set output."""
    return [
        new_markdown_cell("# Demo lecture\n\nGaussian density $\\mathcal{N}(x \\mid \\mu, \\sigma^2)$."
                          + extra_markdown),
        new_markdown_cell("## Sampling\n\n$$\\log p(x) = -\\frac{(x-\\mu)^2}{2\\sigma^2}"
                          " - \\frac{1}{2}\\log(2\\pi\\sigma^2)$$\n\n"
                          "\\begin{align}\n\\gamma_{nk} &= \\frac{\\pi_k \\mathcal{N}(\\mathbf{x}_n \\mid "
                          "\\boldsymbol{\\mu}_k, \\boldsymbol{\\Sigma}_k)}{\\sum_{j} \\pi_j "
                          "\\mathcal{N}(\\mathbf{x}_n \\mid \\boldsymbol{\\mu}_j, \\boldsymbol{\\Sigma}_j)}"
                          " \\\\\n\\hat{\\theta} &= \\operatorname*{arg\\,max}_{\\theta \\in "
                          "\\mathbb{R}^d} \\int \\mathrm{d}x \\, \\mathfrak{g}(x) \\quad "
                          "\\text{for all } \\mathsf{k}, \\mathtt{t}\n\\end{align}"),
        new_code_cell("import numpy as np\nimport matplotlib.pyplot as plt\n\n"
                      "rng = np.random.default_rng(0)\nx = rng.normal(size=200)\nprint(x[:3], x.mean())"),
        new_code_cell("fig, ax = plt.subplots(figsize=(4, 3))\nax.hist(x, bins=20)\n"
                      "ax.set_title('histogram')\nplt.show()"),
        new_markdown_cell("## Containers"),
        new_code_cell("print({'b': 1, 'a': 2})\n"
                      "print(sorted({'x', 'y'}), {'alpha', 'beta', 'gamma', 'delta'})"),
    ]


def _nbgrader(**kw: object) -> dict:
    meta = {"schema_version": 3, "locked": False, "solution": False, "grade": False, "task": False}
    meta.update(kw)
    return {"nbgrader": meta}


def solution_cells() -> list:
    """A one-function nbgrader source notebook: a solution cell and a graded test cell (2 points)."""
    return [
        new_markdown_cell("# Demo homework\n\nWrite `square(x)` $= x^2$.",
                          metadata=_nbgrader(grade_id="intro", locked=True)),
        new_code_cell("def square(x):\n    ### BEGIN SOLUTION\n    return x * x\n    ### END SOLUTION",
                      metadata=_nbgrader(grade_id="square", solution=True)),
        new_code_cell("assert square(3) == 9\n### BEGIN HIDDEN TESTS\nassert square(-2) == 4\n"
                      "### END HIDDEN TESTS",
                      metadata=_nbgrader(grade_id="test_square", grade=True, locked=True, points=2)),
    ]


def make_course(root: Path, *, lecture: bool = True, assignment: bool = True,
                fixtures: bool = True) -> Path:
    """A miniature course repository at ``root`` (pyproject, nbgrader config, notebooks, fixtures)."""
    root.mkdir(parents=True, exist_ok=True)
    for name in ("pyproject.toml", "nbgrader_config.py"):
        shutil.copy2(ROOT / name, root / name)
    (root / "src" / "mlcourse").mkdir(parents=True)
    (root / "src" / "mlcourse" / "__init__.py").write_text('"""Stand-in reference package."""\n')
    if lecture:
        write_notebook(root / "lectures" / "01-demo.ipynb", lecture_cells())
    if assignment:
        write_notebook(root / "solutions" / "demo" / "demo.ipynb", solution_cells())
        write_notebook(root / "solutions" / "extra" / "extra.ipynb", solution_cells())
    if assignment and fixtures:
        fixture_dir = root / "autograder" / "fixtures" / "demo"
        write_notebook(fixture_dir / "perfect.ipynb", solution_cells())
        wrong = solution_cells()
        wrong[1].source = "def square(x):\n    return x + x"
        write_notebook(fixture_dir / "wrong.ipynb", wrong)
    return root


def read(path: Path) -> nbformat.NotebookNode:
    """``nbformat.read`` as version 4."""
    return nbformat.read(path, as_version=4)


@dataclass
class SessionBuild:
    """The real notebooks built once per test session (execute + site) into a temporary folder."""

    report: BuildReport
    out: Path
    log: str
    notebooks: list[str]

    def result(self, rel: str):
        """The build's :class:`~mlcourse.build.pipeline.NotebookResult` for ``rel``."""
        matches = [n for n in self.report.notebooks if n.rel == rel]
        assert matches, f"{rel} was not built; build log:\n{self.log}"
        return matches[0]


@functools.cache
def session_build() -> SessionBuild:
    """Execute every tracked lecture and solution notebook once (2 kernels at a time) and render the site.

    The repository is only read: outputs go to a temporary folder removed at exit; the release is the
    committed ``assignments/``.
    """
    out = Path(tempfile.mkdtemp(prefix="mlcourse-session-build-"))
    atexit.register(shutil.rmtree, out, True)
    notebooks = real_notebooks("lectures/", "solutions/")
    stream = io.StringIO()
    report = build(BuildOptions(root=ROOT, out=out, jobs=2, stages=("execute", "site"), select=notebooks,
                                stream=stream))
    return SessionBuild(report, out, stream.getvalue(), notebooks)


def run(cmd: list[str], cwd: Path, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    """Run ``cmd`` capturing text output (never raises on a non-zero exit)."""
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False)
