"""The course site (``mlcourse.build.site``, ``mlcourse.build.slides``): how notebooks are staged for Sphinx,
and the built site of a miniature course (links, downloads, folded code and answers, search, slides, no CDN).

The browser checks of the same site are in ``test_site_browser``.
"""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

import nbformat
import pytest
from build_support import ROOT, read, real_notebooks
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook
from site_support import build_site_course, make_site_course

from mlcourse.build import site, slides
from mlcourse.build.cache import StepStamps


def _nb(*cells) -> nbformat.NotebookNode:
    return new_notebook(cells=list(cells))


# -- staging (no Sphinx) ----------------------------------------------------------------------------------
def test_split_title_puts_the_title_in_its_own_cell():
    nb = _nb(new_markdown_cell("# Title\n\nIntro text."), new_code_cell("x = 1"))
    assert site.split_title(nb) == 1
    assert [c.source for c in nb.cells[:2]] == ["# Title", "Intro text."]


def test_answers_fold_into_one_toggle_per_run():
    answer = {"tags": ["exercise-answer"]}
    nb = _nb(new_markdown_cell("**Exercise.**"), new_markdown_cell("*Answer.* 2", metadata=answer),
             new_code_cell("print(2)", metadata=answer), new_markdown_cell("Prose."),
             new_markdown_cell("*Answer.* 3", metadata=answer))
    assert site.fold_answers(nb) == 2
    sources = [c.source for c in nb.cells]
    assert sources[1].startswith('<details class="mlcourse-answer">') and "Show answer" in sources[1]
    assert sources[2:5] == ["*Answer.* 2", "print(2)", "</details>"]
    assert sources[5] == "Prose." and sources[6].startswith("<details") and sources[-1] == "</details>"


def test_an_answer_with_a_heading_stays_outside_the_toggle():
    nb = _nb(new_markdown_cell("## Answers\n\ntext", metadata={"tags": ["exercise-answer"]}))
    assert site.fold_answers(nb) == 0 and len(nb.cells) == 1


def test_jupyter_and_raw_anchor_links_point_at_myst_heading_anchors():
    nb = _nb(new_markdown_cell("[a](#1.-Why-derivatives) [b](#newton) [c](#elsewhere)"),
             new_markdown_cell("<a id=\"newton\"></a>\n## 2. Newton's method\n\ntext"),
             new_markdown_cell("## 1. Why derivatives"))
    assert site.fix_local_links(nb) == 2
    assert nb.cells[0].source == "[a](#1-why-derivatives) [b](#2-newtons-method) [c](#elsewhere)"


def test_site_config_of_the_repository_links_every_lecture_to_a_released_homework():
    config = site.SiteConfig.load(ROOT)
    lectures = {Path(rel).stem for rel in real_notebooks("lectures/")}
    assert set(config.practice) == lectures
    released = {p.parent.name for p in (ROOT / "assignments").glob("*/*.ipynb")}
    assert all(config.practice[stem] and set(config.practice[stem]) <= released for stem in lectures)
    assert config.practice["01-autodiff"] == ["hw1"]
    assert config.practice["02-gmm-derivations"] == config.practice["03-em-implementation"] == ["hw2"]


@pytest.mark.parametrize("rel", real_notebooks("lectures/"))
def test_lectures_fold_their_plotting_code(rel):
    nb = read(ROOT / rel)
    hidden = [c for c in nb.cells if c.cell_type == "code" and "hide-input" in c.metadata.get("tags", [])]
    plotting = [c for c in nb.cells if c.cell_type == "code" and c.source.startswith(("fig, ", "fig = "))
                and "exercise-answer" not in c.metadata.get("tags", [])]  # cells that only draw
    assert hidden, f"{rel} tags no cell hide-input"
    assert all("hide-input" in c.metadata.get("tags", []) for c in plotting), \
        f"{rel}: a plotting cell is not tagged hide-input"


def test_slide_types_follow_headings_and_keep_the_authors_choice():
    nb = _nb(new_markdown_cell("# Title"), new_markdown_cell("text"),
             new_code_cell("plot()", metadata={"tags": ["hide-input"]}),
             new_code_cell("shown()"), new_markdown_cell("## Section"),
             new_markdown_cell("*Answer.*", metadata={"tags": ["exercise-answer"]}),
             new_code_cell("check()", metadata={"tags": ["exercise-answer"]}),
             new_markdown_cell("note", metadata={"slideshow": {"slide_type": "notes"}}))
    nb.cells[3].outputs = [nbformat.v4.new_output("stream", text="out\n")]
    typed = slides.assign_slide_types(nb)
    kinds = [(c.source, c.metadata["slideshow"]["slide_type"]) for c in typed.cells]
    # the folded cell without outputs has nothing to show on a slide
    assert kinds == [("# Title", "slide"), ("text", "subslide"), ("shown()", "subslide"),
                     ("## Section", "slide"), ("*Answer.*", "fragment"), ("check()", "-"), ("note", "notes")]
    assert "slideshow" not in nb.cells[0].metadata  # the input is not modified


# -- the built site of a miniature course -----------------------------------------------------------------
@pytest.fixture(scope="module")
def course(tmp_path_factory) -> dict:
    root = make_site_course(tmp_path_factory.mktemp("site-course") / "course")
    report, log = build_site_course(root)
    assert report.ok, log
    return {"root": root, "out": root / "_build", "site": root / "_build" / "site", "log": log}


def _page(course, href: str) -> str:
    return (course["site"] / href).read_text(encoding="utf-8")


def _download(course, page_href: str) -> Path:
    link = re.compile(r'<a class="reference download internal" download="" href="([^"]+)"')
    match = link.search(_page(course, page_href))
    assert match, f"{page_href} offers no download"
    return (course["site"] / page_href).parent / match.group(1)


@pytest.mark.slow
def test_sphinx_renders_the_cached_outputs_without_executing(course):
    conf = (course["out"] / "cache" / "site" / "src" / "conf.py").read_text()
    assert "nb_execution_mode = 'off'" in conf and "'myst_nb'" in conf and "sphinx_book_theme" in conf
    page = _page(course, "lectures/02-answers.html")
    assert "fitted slope 2.000" in page  # the output the build's execution cached
    assert not (course["out"] / ".jupyter_cache").exists()


@pytest.mark.slow
def test_lecture_pages_link_homework_download_and_slides(course):
    page = _page(course, "lectures/02-answers.html")
    assert page.count('href="../assignments/demo/demo.html"') >= 2, "top and bottom links to the homework"
    assert 'href="../slides/02-answers.html"' in page
    downloaded = _download(course, "lectures/02-answers.html")
    assert downloaded.read_bytes() == (course["root"] / "lectures" / "02-answers.ipynb").read_bytes()
    homework = _page(course, "assignments/demo/demo.html")
    for lecture in ("01-demo", "02-answers"):
        assert f'href="../../lectures/{lecture}.html"' in homework, "the homework links back to its lectures"
    released = course["root"] / "assignments" / "demo" / "demo.ipynb"
    assert _download(course, "assignments/demo/demo.html").read_bytes() == released.read_bytes()


@pytest.mark.slow
def test_folded_code_and_answers(course):
    page = _page(course, "lectures/02-answers.html")
    folded = re.findall(r'<details class="[^"]*hide above-input">(.*?)</details>', page, re.S)
    assert len(folded) == 1 and "folded plotting code" in folded[0]
    assert re.search(r"</details>\s*<div class=\"cell_output[^>]*>\s*<img", page), "the figure stays visible"
    answers = re.findall(r'<details class="mlcourse-answer">\s*<summary>Show answer</summary>(.*?)</details>',
                         page, re.S)
    assert len(answers) == 1 and "The intercept is" in answers[0] and "answer check 1.0" in answers[0]


@pytest.mark.slow
def test_navigation_toc_search_and_in_page_links(course):
    page = _page(course, "lectures/02-answers.html")
    assert 'href="#fitting-a-line"' in page and 'href="#summary"' in page  # links written for Jupyter
    top = re.search(r'<nav class="mlcourse-prev-next-top.*?</nav>', page, re.S)
    assert top and re.search(r'href="01-demo\.html".*?Demo lecture', top.group(0), re.S), "previous, on top"
    bottom = page[page.index('<footer class="prev-next-footer'):]
    assert re.search(r'href="01-demo\.html".*?Demo lecture', bottom, re.S), "previous, at the bottom"
    assert 'href="../assignments/demo/demo.html"' in top.group(0), "next (the homework), on top"
    index = _page(course, "index.html")
    for href in ("lectures/01-demo.html", "lectures/02-answers.html", "assignments/demo/demo.html"):
        assert f'href="{href}"' in index, index
    assert (course["site"] / "search.html").is_file()
    searchindex = (course["site"] / "searchindex.js").read_text()
    assert "maximis" in searchindex and "02-answers" in searchindex  # stemmed terms, the page


@pytest.mark.slow
def test_slide_decks_use_the_local_reveal_js(course):
    deck = _page(course, "slides/02-answers.html")
    assert '<script src="reveal.js/dist/reveal.js"></script>' in deck
    assert (course["site"] / "slides" / "reveal.js" / "dist" / "reveal.js").is_file()
    assert (course["site"] / "slides" / "reveal.js" / "plugin" / "notes" / "notes.js").is_file()
    assert 'href="../lectures/02-answers.html"' in deck and "data:image/png;base64," in deck
    assert "folded plotting code" not in deck, "hide-input code is not on the slides (its figure is)"
    assert deck.count("<section") >= 4


@pytest.mark.slow
def test_nothing_is_loaded_from_the_network(course):
    external = re.compile(r"<(?:script|img|iframe)[^>]+src=\"(?:https?:)?//|<link[^>]+href=\"(?:https?:)?//"
                          r"|@import url\((?:https?:)?//|require\.js|unpkg|cdn\.", re.I)
    pages = sorted(course["site"].rglob("*.html"))
    assert len(pages) >= 6
    for path in pages:
        if "_static" in path.parts:
            continue
        text = path.read_text(encoding="utf-8")
        assert not external.search(text), f"{path}: {external.search(text).group(0)}"
    for css in (course["site"] / "_static").glob("**/*.css"):
        if "mathjax" not in css.parts:
            assert not re.search(r"@import url\(['\"]?https?:", css.read_text(errors="replace")), css


@pytest.mark.slow
def test_unchanged_rebuild_skips_the_site_and_a_prose_edit_rebuilds_one_page(course):
    root, site_dir = course["root"], course["site"]
    before = {p: p.stat().st_mtime_ns for p in site_dir.rglob("*.html")}
    report, log = build_site_course(root)
    assert report.ok and "(0 rendered)" in log, log
    assert {p: p.stat().st_mtime_ns for p in site_dir.rglob("*.html")} == before
    path = root / "lectures" / "02-answers.ipynb"
    nb = read(path)
    nb.cells[1].source += "\n\nA remark added later."
    nbformat.write(nb, path)
    report, log = build_site_course(root)
    assert report.ok and "(1 rendered)" in log, log
    assert [n.status for n in report.notebooks] == ["cached", "cached"], log
    assert "A remark added later." in _page(course, "lectures/02-answers.html")
    stamps = json.loads((course["out"] / "cache" / "steps.json").read_text())
    assert {"site", "site:mathjax", "site:reveal", "site:slides:02-answers.html"} <= set(stamps)


def test_site_config_defaults_without_a_table(tmp_path):
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n')
    config = site.SiteConfig.load(tmp_path)
    assert config.practice == {} and config.title
    assert tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mlcourse"]["site"]["title"]


def test_step_stamps_skip_a_second_mathjax_copy(tmp_path):
    stamps = StepStamps(tmp_path / "steps.json")
    assert site.install_mathjax(tmp_path / "site", stamps) is True
    assert site.install_mathjax(tmp_path / "site", stamps) is False
    assert (tmp_path / "site" / "_static" / "mathjax" / "MathJax.js").is_file()


def test_sphinx_warnings_are_read_from_the_log(tmp_path):
    assert site.sphinx_warnings(tmp_path) == []
    log = "reading sources\nlectures/x.ipynb:3: WARNING: 'myst' cross-reference target not found: 'nowhere'\n"
    (tmp_path / "sphinx.log").write_text(log + "done\n")
    (warning,) = site.sphinx_warnings(tmp_path)
    assert "nowhere" in warning
