"""Static checks of ``lectures/01-autodiff.ipynb`` that executing it (``test_notebooks``) does not cover.

- the table of contents lists every numbered section, in order, and each link lands on an anchor directly
  followed by the heading it names;
- every figure cell gives its plot a title and axis labels and shows it;
- cells that measure wall-clock time are tagged ``nondeterministic`` (the determinism check skips them);
- the lecture takes its derivatives from ``mlcourse.autodiff`` rather than defining its own AD types;
- the committed file has no outputs and the course's notebook metadata.

Reads the notebook's source only (no kernel), so it runs in milliseconds.
"""

from __future__ import annotations

import re

import nbformat
import pytest

NOTEBOOK = "lectures/01-autodiff.ipynb"
TOC_LINK = re.compile(r"^(\d+)\. \[([^\]]+)\]\(#([\w-]+)\)$", re.M)
ANCHOR = re.compile(r'^<a id="([\w-]+)"></a>\n## (\d+)\. (.+)$', re.M)
TIMING = re.compile(r"\b(time_call|perf_counter|timeit|time\.time)\(")


@pytest.fixture(scope="module")
def nb(repo_root):
    return nbformat.read(repo_root / NOTEBOOK, as_version=4)


def _code(nb):
    return [(i, c) for i, c in enumerate(nb.cells) if c.cell_type == "code"]


def test_table_of_contents_matches_the_section_headings(nb):
    toc = TOC_LINK.findall(nb.cells[0].source)
    assert toc, "the first cell should hold the table of contents (numbered links to #anchors)"
    sections = [m for c in nb.cells if c.cell_type == "markdown" for m in ANCHOR.findall(c.source)]
    assert [(key, num, title) for num, title, key in toc] == sections, (
        "table of contents and section headings differ (number, title or anchor)")
    assert [int(num) for num, _, _ in toc] == list(range(1, len(toc) + 1)), "sections are numbered 1, 2, ..."
    headings = [line for c in nb.cells if c.cell_type == "markdown"
                for line in c.source.splitlines() if line.startswith("## ")]
    assert len(headings) == len(toc), f"level-2 headings missing from the table of contents: {headings}"


def test_topics_of_the_issue_are_covered(nb):
    titles = " ".join(title.lower() for c in nb.cells if c.cell_type == "markdown"
                      for _, title in re.findall(r"^## (\d+)\. (.+)$", c.source, re.M))
    for topic in ("newton", "divided differences", "dual numbers", "polynomials", "several variables",
                  "evaluation trace", "realisations", "forward mode and reverse mode", "jacobians",
                  "hessian", "optimisation", "divided differences are still"):
        assert topic in titles, f"no section on {topic!r}"


def test_every_figure_has_a_title_axis_labels_and_is_shown(nb):
    figures = [(i, c) for i, c in _code(nb) if "plt.subplots(" in c.source]
    assert len(figures) >= 6
    for i, cell in figures:
        for call in ("set_title(", "set_xlabel(", "set_ylabel(", "plt.show()"):
            assert call in cell.source, f"figure cell {i + 1} lacks {call}"


def test_timing_cells_are_tagged_nondeterministic(nb):
    timed = [(i, c) for i, c in _code(nb) if TIMING.search(c.source)]
    assert timed, "the n-vs-m cost argument should be timed"
    for i, cell in timed:
        assert "nondeterministic" in cell.metadata.get("tags", []), f"cell {i + 1} prints wall-clock times"
        assert "assert " not in cell.source, f"cell {i + 1}: no assertions on timings"


def test_uses_the_reference_library_and_a_seeded_rng(nb):
    source = "\n".join(c.source for _, c in _code(nb))
    assert "import mlcourse.autodiff as ad" in source and "default_rng(0)" in source
    assert "np.random.seed" not in source and "np.random.rand" not in source
    for definition in ("class Dual", "class Var", "class Tape", "def grad(", "def jvp(", "def vjp(",
                       "def jacfwd(", "def jacrev(", "def hessian(", "def newton("):
        assert definition not in source, f"the lecture re-implements mlcourse.autodiff: {definition!r}"


def test_committed_without_outputs(nb):
    assert dict(nb.metadata) == {"kernelspec": {"display_name": "Python 3", "language": "python",
                                                "name": "python3"},
                                 "language_info": {"name": "python"}}
    for i, cell in _code(nb):
        assert cell.outputs == [] and cell.execution_count is None, f"cell {i + 1} has outputs"
