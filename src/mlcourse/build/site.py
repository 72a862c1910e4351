"""The HTML site: executed lectures and released assignments, an index page, offline MathJax.

Pages are rendered with nbconvert's ``lab`` template, with figures embedded as data URIs. Nothing is
loaded from the network: require.js (unused without widgets) is dropped and MathJax 2.7 is served from a copy
of the files shipped by the ``jupyter-server-mathjax`` package in ``site/mathjax/``. The site contains no
timestamps, so an unchanged course renders to identical files.
"""

from __future__ import annotations

import hashlib
import html
import os
import re
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

import nbformat

from mlcourse.build.cache import StepStamps, sha256_text, write_if_changed

MATHJAX_CONFIG = "TeX-AMS-MML_HTMLorMML-full,Safe"

PAGE_TEMPLATE = """\
{%- extends 'index.html.j2' -%}
{#- no require.js (only widgets need it, and it would come from a CDN); no favicon request -#}
{%- block html_head_js_requirejs -%}
<link rel="icon" href="data:,">
{%- endblock html_head_js_requirejs -%}
{%- block extra_css -%}
{#- MathJax's hidden, accessible MathML copy would otherwise ask for TeX web fonts that are not shipped -#}
<style>.MJX_Assistive_MathML, .MJX_Assistive_MathML * { font-family: serif !important; }</style>
{%- endblock extra_css -%}
{%- block html_head_js_mathjax -%}
<script>{{ resources.mlcourse_mathjax_config }}</script>
{{ super() }}
{%- endblock html_head_js_mathjax -%}
{%- block body_header -%}
{{ super() }}
<nav class="mlcourse-nav" style="padding: 0.5em 1em; border-bottom: 1px solid #ddd;">
<a href="{{ resources.mlcourse_nav.index }}">&larr; Course index</a>
{%- if resources.mlcourse_nav.prev %} | <a href="{{ resources.mlcourse_nav.prev }}">previous</a>{% endif -%}
{%- if resources.mlcourse_nav.next %} | <a href="{{ resources.mlcourse_nav.next }}">next</a>{% endif %}
</nav>
{%- endblock body_header -%}
"""

#: MathJax 2 configuration (read by MathJax.js when it loads). Only the STIX-Web fonts are shipped, and
#: MathJax's font-detection face ``MathJax_Blank`` (``url('about:blank')``, which Chrome blocks with a
#: console error) is replaced by a ``local()`` face that never fetches anything.
MATHJAX_WINDOW_CONFIG = """window.MathJax = {
  "HTML-CSS": {
    availableFonts: [], webFont: "STIX-Web", imageFont: null, preferredFont: null,
    styles: {"@font-face": {"font-family": "MathJax_Blank", src: "local('MathJax_Blank')"}}
  },
  showMathMenu: false
};"""

INDEX_STYLE = """
body { font-family: system-ui, sans-serif; max-width: 52em; margin: 2em auto; padding: 0 1em;
       line-height: 1.5; color: #222; }
h1 { font-size: 1.8em; } h2 { margin-top: 1.5em; border-bottom: 1px solid #ddd; }
ul.toc-sections { font-size: 0.92em; color: #444; }
"""

_HEADING = re.compile(r'<h([12]) id="([^"]+)"[^>]*>(.*?)(?:<a class="anchor-link"[^>]*>.*?</a>)?</h\1>',
                      re.S)
_TAG = re.compile(r"<[^>]+>")


@dataclass
class Page:
    """One notebook page of the site."""

    kind: str  # "lecture" or "assignment"
    group: str  # assignment name, or "" for lectures
    source: Path  # executed (lectures) or released (assignments) notebook
    href: str  # relative to the site root, POSIX
    title: str = ""
    sections: list[tuple[str, str]] = field(default_factory=list)  # (anchor, text) of level-2 headings


def notebook_title(nb: nbformat.NotebookNode, fallback: str) -> str:
    """The text of the notebook's first level-1 Markdown heading, else ``fallback``."""
    for cell in nb.cells:
        if cell.cell_type != "markdown":
            continue
        for line in cell.source.splitlines():
            if line.startswith("# "):
                return line[2:].strip()
    return fallback


def mathjax_source() -> Path:
    """The MathJax 2.7 files shipped by ``jupyter-server-mathjax``."""
    import jupyter_server_mathjax

    return Path(jupyter_server_mathjax.__file__).parent / "static"


def install_mathjax(site: Path, stamps: StepStamps) -> bool:
    """Copy MathJax into ``site/mathjax`` unless that version is there; return whether it copied."""
    version = metadata.version("jupyter-server-mathjax")
    target = site / "mathjax"
    if stamps.is_current("site:mathjax", version) and (target / "MathJax.js").is_file():
        return False
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(mathjax_source(), target)
    stamps.record("site:mathjax", version)
    return True


def _rel(target: str, page_href: str) -> str:
    return Path(os.path.relpath(target, Path(page_href).parent.as_posix() or ".")).as_posix()


class Renderer:
    """nbconvert HTML export with the course template (created once, reused for every page)."""

    def __init__(self) -> None:
        from jinja2 import DictLoader
        from nbconvert import HTMLExporter

        self.exporter = HTMLExporter(template_name="lab", template_file="mlcourse-page.html.j2",
                                     extra_loaders=[DictLoader({"mlcourse-page.html.j2": PAGE_TEMPLATE})])

    def render(self, nb: nbformat.NotebookNode, page: Page, nav: dict[str, str]) -> str:
        """The HTML of ``page``; ``nav`` holds the relative links ``index``, ``prev`` and ``next``."""
        self.exporter.mathjax_url = _rel("mathjax/MathJax.js", page.href) + f"?config={MATHJAX_CONFIG}"
        resources = {"metadata": {"name": page.title}, "mlcourse_nav": nav,
                     "mlcourse_mathjax_config": MATHJAX_WINDOW_CONFIG}
        body, _ = self.exporter.from_notebook_node(nb, resources=resources)
        return body


def page_sections(page_html: str) -> list[tuple[str, str]]:
    """(anchor, text) of the level-2 headings of a rendered page."""
    return [(anchor, html.unescape(_TAG.sub("", text)).strip())
            for level, anchor, text in _HEADING.findall(page_html) if level == "2"]


def render_pages(pages: Sequence[Page], site: Path, stamps: StepStamps) -> list[str]:
    """Render every page into ``site`` (skipping unchanged ones); return the hrefs actually rendered."""
    renderer: Renderer | None = None
    rendered = []
    for page in pages:
        nb = nbformat.read(page.source, as_version=4)
        page.title = page.title or notebook_title(nb, page.source.stem)
        siblings = [p for p in pages if p.kind == page.kind]
        pos = siblings.index(page)
        nav = {"index": _rel("index.html", page.href),
               "prev": _rel(siblings[pos - 1].href, page.href) if pos > 0 else "",
               "next": _rel(siblings[pos + 1].href, page.href) if pos + 1 < len(siblings) else ""}
        target = site / page.href
        text = nbformat.writes(nb)
        key = sha256_text(text, page.title, repr(sorted(nav.items())), page.href, PAGE_TEMPLATE,
                          MATHJAX_WINDOW_CONFIG, metadata.version("nbconvert"))
        out_hash = hashlib.sha256(target.read_bytes()).hexdigest() if target.is_file() else ""
        if not (target.is_file() and stamps.is_current(f"site:{page.href}", key, out_hash)):
            renderer = renderer or Renderer()
            page_html = renderer.render(nb, page, nav)
            write_if_changed(target, page_html.encode())
            stamps.record(f"site:{page.href}", key, hashlib.sha256(page_html.encode()).hexdigest())
            rendered.append(page.href)
        page.sections = page_sections(target.read_text(encoding="utf-8"))
    return rendered


def index_html(pages: Sequence[Page], title: str) -> str:
    """The index page: a table of contents of the lectures (with their sections) and the assignments."""
    esc = html.escape
    lines = ["<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8" />',
             '<meta name="viewport" content="width=device-width, initial-scale=1.0">',
             '<link rel="icon" href="data:,">', f"<title>{esc(title)}</title>",
             f"<style>{INDEX_STYLE}</style>", "</head>", "<body>",
             f"<h1>{esc(title)}</h1>", '<nav id="toc">', "<h2>Lectures</h2>"]
    lectures = [p for p in pages if p.kind == "lecture"]
    if lectures:
        lines.append('<ol class="toc-lectures">')
        for page in lectures:
            lines.append(f'<li><a href="{esc(page.href)}">{esc(page.title)}</a>')
            if page.sections:
                lines.append('<ul class="toc-sections">')
                lines += [f'<li><a href="{esc(page.href)}#{esc(anchor)}">{esc(text)}</a></li>'
                          for anchor, text in page.sections]
                lines.append("</ul>")
            lines.append("</li>")
        lines.append("</ol>")
    else:
        lines.append("<p>No lectures yet.</p>")
    lines.append("<h2>Assignments</h2>")
    groups = sorted({p.group for p in pages if p.kind == "assignment"})
    if groups:
        lines.append('<ul class="toc-assignments">')
        for group in groups:
            links = ", ".join(f'<a href="{esc(p.href)}">{esc(p.title)}</a>'
                              for p in pages if p.kind == "assignment" and p.group == group)
            lines.append(f"<li><strong>{esc(group)}</strong>: {links}</li>")
        lines.append("</ul>")
    else:
        lines.append("<p>No released assignments yet.</p>")
    lines += ["</nav>", "</body>", "</html>", ""]
    return "\n".join(lines)


def collect_pages(executed_lectures: Sequence[tuple[str, Path]], assignments_dir: Path) -> list[Page]:
    """Pages for the executed lectures (``(rel path, executed file)``) and the released notebooks."""
    pages = [Page("lecture", "", path, f"lectures/{Path(rel).with_suffix('.html').name}")
             for rel, path in executed_lectures]
    if assignments_dir.is_dir():
        for folder in sorted(d for d in assignments_dir.iterdir() if d.is_dir()):
            for nb_path in sorted(folder.glob("*.ipynb")):
                pages.append(Page("assignment", folder.name, nb_path,
                                  f"assignments/{folder.name}/{nb_path.with_suffix('.html').name}"))
    return pages


def build_site(pages: Sequence[Page], site: Path, stamps: StepStamps,
               title: str = "Automatic differentiation and Gaussian mixtures") -> list[str]:
    """Render the site into ``site``: pages, index, MathJax; remove pages that no longer exist.

    Returns
    -------
    list of str
        The pages (hrefs) rendered in this run; unchanged pages are not re-rendered.
    """
    site.mkdir(parents=True, exist_ok=True)
    install_mathjax(site, stamps)
    rendered = render_pages(pages, site, stamps)
    write_if_changed(site / "index.html", index_html(pages, title).encode())
    wanted = {p.href for p in pages}
    for folder in ("lectures", "assignments"):
        for stale in (site / folder).rglob("*.html") if (site / folder).is_dir() else []:
            if stale.relative_to(site).as_posix() not in wanted:
                stale.unlink()
    return rendered
