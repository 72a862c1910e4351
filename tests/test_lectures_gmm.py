"""Static checks of the GMM lectures (02, 03) that executing them does not catch.

``tests/test_notebooks.py`` runs every notebook; these fast checks read the committed sources only: the
table of contents matches the section headings, figure cells title and label their axes, timing cells are
tagged ``nondeterministic``, randomness is seeded, and the notebooks import the reference code instead of
redefining it.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import quote

import nbformat
import pytest

import mlcourse.mixture

ROOT = Path(__file__).resolve().parents[1]
LECTURES = ["lectures/02-gmm-derivations.ipynb", "lectures/03-em-implementation.ipynb"]

FIGURE = re.compile(r"plt\.subplots\(|plot_em_iterations\(")
TIMING = re.compile(r"time_call\(|perf_counter\(|timeit|speedup\(")
LINK = re.compile(r"\[([^\]]+)\]\(#([^)]+)\)")


def _notebook(rel: str) -> nbformat.NotebookNode:
    path = ROOT / rel
    if not path.is_file():
        pytest.skip(f"{rel} is not in this checkout")
    return nbformat.read(path, as_version=4)


def _anchor(heading: str) -> str:
    """The id Jupyter and nbconvert give a markdown heading."""
    return quote(heading.strip().replace(" ", "-"), safe="?/:@!$&'()*+,;=")


def _code_cells(nb: nbformat.NotebookNode) -> list[tuple[int, nbformat.NotebookNode]]:
    return [(i, c) for i, c in enumerate(nb.cells) if c.cell_type == "code"]


@pytest.mark.parametrize("rel", LECTURES)
def test_table_of_contents_links_every_section_in_order(rel):
    nb = _notebook(rel)
    assert nb.cells[0].cell_type == "markdown" and nb.cells[0].source.startswith("# "), "title first"
    links = LINK.findall(nb.cells[0].source)
    assert links, f"{rel}: the first cell has no table of contents"
    headings = [line[3:].strip() for c in nb.cells if c.cell_type == "markdown"
                for line in c.source.splitlines() if line.startswith("## ")]
    assert [target for _, target in links] == [_anchor(h) for h in headings], (
        f"{rel}: table of contents and '## ' headings differ")
    for (text, _), heading in zip(links, headings, strict=True):
        assert heading.endswith(text), f"{rel}: link text {text!r} does not match heading {heading!r}"
    numbered = [h for h in headings if h[0].isdigit()]
    assert [int(h.split(".")[0]) for h in numbered] == list(range(1, len(numbered) + 1))


@pytest.mark.parametrize("rel", LECTURES)
def test_learning_goals_follow_the_contents(rel):
    nb = _notebook(rel)
    assert "Learning goals" in nb.cells[1].source


@pytest.mark.parametrize("rel", LECTURES)
def test_figure_cells_have_titles_labels_and_are_shown(rel):
    nb = _notebook(rel)
    figure_cells = [(i, c) for i, c in _code_cells(nb) if FIGURE.search(c.source)]
    assert len(figure_cells) >= 5, f"{rel}: expected figures"
    for i, cell in figure_cells:
        src = cell.source
        # plot_em_iterations titles and labels every panel itself
        titled = "set_title" in src or "title=" in src or "plot_em_iterations(" in src
        assert titled, f"{rel}: cell {i + 1} makes a figure without titles"
        assert ("set_xlabel" in src or "feature_names=" in src or "plot_loglik(" in src), (
            f"{rel}: cell {i + 1} makes a figure without axis labels")
        assert "set_ylabel" in src or "feature_names=" in src or "plot_loglik(" in src, (
            f"{rel}: cell {i + 1} makes a figure without y labels")
        assert "plt.show()" in src or "display(fig)" in src, f"{rel}: cell {i + 1} never shows its figure"
        assert "plt.plot(" not in src and "plt.title(" not in src, f"{rel}: cell {i + 1}: use the OO API"


@pytest.mark.parametrize("rel", LECTURES)
def test_timing_cells_are_tagged_nondeterministic(rel):
    nb = _notebook(rel)
    for i, cell in _code_cells(nb):
        tagged = "nondeterministic" in cell.metadata.get("tags", [])
        assert tagged == bool(TIMING.search(cell.source)), (
            f"{rel}: cell {i + 1}: timing cells, and only those, are tagged 'nondeterministic'")


@pytest.mark.parametrize("rel", LECTURES)
def test_randomness_is_seeded_and_the_reference_is_imported(rel):
    nb = _notebook(rel)
    code = "\n".join(c.source for _, c in _code_cells(nb))
    unseeded = re.search(r"np\.random\.(?!default_rng\()", code)
    assert unseeded is None, f"{rel}: use np.random.default_rng(seed)"
    assert "default_rng()" not in code, f"{rel}: unseeded generator"
    assert "from mlcourse.mixture import" in code
    redefined = {name for name in mlcourse.mixture.__all__ if re.search(rf"^def {name}\(", code, re.M)}
    assert not redefined, f"{rel}: redefines library functions {sorted(redefined)}; import them from mlcourse"
