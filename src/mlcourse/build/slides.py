"""Lecture slide decks: nbconvert's reveal.js exporter over the executed lecture, entirely offline.

Each lecture becomes ``site/slides/<lecture>.html``. Cells carry the usual ``slideshow.slide_type``
metadata; where an author set none, :func:`assign_slide_types` derives it: a level-1 or level-2 heading
starts a new slide, every other cell a sub-slide below it (navigate down), and a worked answer appears as a
fragment after the exercise. Cells tagged ``hide-input`` show their outputs only; ``remove-cell`` cells are
dropped.

reveal.js is a copy of the one the ``sphinx-revealjs`` package ships (``site/slides/reveal.js/``), MathJax
the site's copy; the template drops nbconvert's require.js, jQuery and mermaid tags (CDN URLs), so a deck
opens without a network.
"""

from __future__ import annotations

import copy
import hashlib
import re
import shutil
from importlib import metadata
from pathlib import Path

import nbformat

from mlcourse.build.cache import StepStamps, sha256_text, write_if_changed

ANSWER_TAG = "exercise-answer"
SLIDES_DIR = "slides"
REVEAL_DIR = "reveal.js"
MATHJAX_URL = "../_static/mathjax/MathJax.js?config=TeX-AMS-MML_HTMLorMML-full,Safe"

TEMPLATE = r"""{%- extends 'index.html.j2' -%}
{%- block html_head_js -%}
<link rel="icon" href="data:,">
<script>window.MathJax = {"HTML-CSS": {availableFonts: [], webFont: "STIX-Web", imageFont: null,
  preferredFont: null,
  styles: {"@font-face": {"font-family": "MathJax_Blank", src: "local('MathJax_Blank')"}}},
  tex2jax: {inlineMath: [["$", "$"], ["\\(", "\\)"]], displayMath: [["$$", "$$"], ["\\[", "\\]"]],
            processEscapes: true, processEnvironments: true,
            ignoreClass: "tex2jax_ignore|highlight|jp-RenderedText"},
  messageStyle: "none", showMathMenu: false};</script>
{%- endblock html_head_js -%}
{%- block html_head_js_mathjax -%}
<script src="{{ resources.mlcourse_mathjax_url }}"></script>
{%- endblock html_head_js_mathjax -%}
{%- block html_head_css -%}
<style>
.MJX_Assistive_MathML, .MJX_Assistive_MathML * { font-family: serif !important; }
.reveal .slides > section, .reveal .slides > section > section { height: 100%; overflow-y: auto; }
.reveal .jp-OutputArea-output img { max-height: 62vh; width: auto; }
.mlcourse-back { position: fixed; top: 0.6em; left: 0.8em; z-index: 30; font: 15px system-ui, sans-serif; }
.mlcourse-back a { color: #2a76dd; text-decoration: none; }
</style>
{%- endblock html_head_css -%}
{%- block body_header -%}
<body class="jp-Notebook" data-jp-theme-light="true" data-jp-theme-name="JupyterLab Light">
<div class="mlcourse-back"><a href="{{ resources.mlcourse_lecture_href }}">&larr; lecture page</a></div>
<main>
<div class="reveal">
<div class="slides">
{%- endblock body_header -%}
{%- block footer_js -%}
<script src="{{ resources.reveal.url_prefix }}/dist/reveal.js"></script>
<script src="{{ resources.reveal.url_prefix }}/plugin/notes/notes.js"></script>
<script>
Reveal.initialize({
  controls: true, progress: true, history: true, hash: true, center: false,
  transition: "none", slideNumber: "c/t", width: 1280, height: 800, margin: 0.04,
  plugins: [RevealNotes]
});
Reveal.on("slidechanged", function (event) {
  if (window.MathJax && window.MathJax.Hub) {
    window.MathJax.Hub.Queue(["Rerender", window.MathJax.Hub, event.currentSlide]);
  }
});
</script>
{%- endblock footer_js -%}
"""


def deck_href(stem: str) -> str:
    """Where the deck of lecture ``stem`` lives, relative to the site root."""
    return f"{SLIDES_DIR}/{stem}.html"


def reveal_source() -> Path:
    """The reveal.js distribution shipped by ``sphinx-revealjs``."""
    import sphinx_revealjs

    return Path(sphinx_revealjs.__file__).parent / "_static" / "revealjs"


def install_reveal(site: Path, stamps: StepStamps) -> bool:
    """Copy reveal.js (``dist/`` and the notes plugin) into ``site/slides/reveal.js`` unless it is there."""
    target = site / SLIDES_DIR / REVEAL_DIR
    version = metadata.version("sphinx-revealjs")
    if stamps.is_current("site:reveal", version) and (target / "dist" / "reveal.js").is_file():
        return False
    if target.exists():
        shutil.rmtree(target)
    source = reveal_source()
    shutil.copytree(source / "dist", target / "dist", ignore=shutil.ignore_patterns("*.map", "*.esm.js"))
    shutil.copytree(source / "plugin" / "notes", target / "plugin" / "notes",
                    ignore=shutil.ignore_patterns("*.esm.js"))
    stamps.record("site:reveal", version)
    return True


def _heading_level(source: str) -> int:
    match = re.match(r"\s*(?:<a [^>]*></a>\s*)?(#{1,6}) ", source)
    return len(match.group(1)) if match else 0


def assign_slide_types(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """A copy of ``nb`` with a ``slideshow.slide_type`` on every cell that has none (see the module doc)."""
    nb = copy.deepcopy(nb)
    cells = []
    previous_answer = False
    for cell in nb.cells:
        tags = cell.metadata.get("tags", [])
        if "remove-cell" in tags:
            continue
        if "hide-input" in tags and cell.cell_type == "code":
            if not cell.get("outputs"):
                continue
        show = cell.metadata.get("slideshow", {})
        if not show.get("slide_type"):
            level = _heading_level(cell.source) if cell.cell_type == "markdown" else 0
            if level in (1, 2):
                kind = "slide"
            elif ANSWER_TAG in tags:
                kind = "fragment" if not previous_answer else "-"
            else:
                kind = "subslide"
            cell.metadata["slideshow"] = {"slide_type": kind}
        previous_answer = ANSWER_TAG in tags
        cells.append(cell)
    nb.cells = cells
    return nb


class _Exporter:
    """nbconvert's slides exporter with the offline template (created once)."""

    _instance = None

    @classmethod
    def get(cls):
        if cls._instance is None:
            from jinja2 import DictLoader
            from nbconvert import SlidesExporter
            from nbconvert.preprocessors import TagRemovePreprocessor

            exporter = SlidesExporter(template_name="reveal", template_file="mlcourse-slides.html.j2",
                                      extra_loaders=[DictLoader({"mlcourse-slides.html.j2": TEMPLATE})],
                                      reveal_url_prefix=REVEAL_DIR, reveal_theme="white",
                                      reveal_transition="none", exclude_input_prompt=True,
                                      exclude_output_prompt=True)
            exporter.register_preprocessor(TagRemovePreprocessor(remove_input_tags={"hide-input"},
                                                                 remove_cell_tags={"remove-cell"},
                                                                 enabled=True), enabled=True)
            cls._instance = exporter
        return cls._instance


def render_deck(nb: nbformat.NotebookNode, title: str, lecture_href: str) -> str:
    """The HTML of the slide deck of the executed lecture ``nb``."""
    exporter = _Exporter.get()
    resources = {"metadata": {"name": title}, "mlcourse_mathjax_url": MATHJAX_URL,
                 "mlcourse_lecture_href": lecture_href}
    body, _ = exporter.from_notebook_node(assign_slide_types(nb), resources=resources)
    return body


def write_deck(nb: nbformat.NotebookNode, target: Path, title: str, lecture_href: str) -> bool:
    """Render the deck into ``target``; return whether the file changed."""
    return write_if_changed(target, render_deck(nb, title, lecture_href).encode())


def build_deck(source: Path, target: Path, title: str, lecture_href: str, stamps: StepStamps) -> bool:
    """Render the deck of the executed lecture ``source`` into ``target`` unless it is up to date."""
    text = source.read_text(encoding="utf-8")
    key = sha256_text(text, title, lecture_href, TEMPLATE, metadata.version("nbconvert"),
                      metadata.version("sphinx-revealjs"))
    step = f"site:slides:{target.name}"
    current = target.is_file() and hashlib.sha256(target.read_bytes()).hexdigest()
    if current and stamps.is_current(step, key, current):
        return False
    html = render_deck(nbformat.reads(text, as_version=4), title, lecture_href)
    write_if_changed(target, html.encode())
    stamps.record(step, key, hashlib.sha256(html.encode()).hexdigest())
    return True


def remove_stale(site: Path, stems: set[str]) -> None:
    """Delete decks of lectures that no longer exist."""
    folder = site / SLIDES_DIR
    for path in folder.glob("*.html") if folder.is_dir() else []:
        if path.stem not in stems:
            path.unlink()
