"""The course site: Sphinx with MyST-NB and sphinx-book-theme over the notebooks the build executed.

The site stage never executes anything. It *stages* a Sphinx source folder (``cache/site/src/`` in the build
folder) from the executed lectures (``executed/lectures/*.ipynb``, the build cache's outputs) and the released
homework notebooks (``assignments/<hw>/<hw>.ipynb``), runs ``sphinx-build`` on it with MyST-NB's execution
mode ``off``, and adds one reveal.js slide deck per lecture (:mod:`mlcourse.build.slides`). What a student
gets:

- sphinx-book-theme's sidebar table of contents, previous/next links with page titles above and below
  each page, an in-page table of contents, and Sphinx's own offline full-text search (``search.html``);
- code cells tagged ``hide-input`` folded behind a "Show code cell source" toggle (figures and outputs
  stay visible) and each run of ``exercise-answer`` cells folded behind one "Show answer" toggle;
- under each page title, links to the homework that practises the lecture (or, on a homework page, to
  the lectures it practises), a download of the page's notebook (the lecture's committed source, or the
  released student notebook), and the lecture's slide deck.

Which homework practises which lecture, and the site's title, come from ``[tool.mlcourse.site]`` in
``pyproject.toml`` (see :class:`SiteConfig`). Nothing is loaded from the network: the theme bundles its
assets, MathJax 2.7 is a copy of ``jupyter-server-mathjax``'s files in ``_static/mathjax/`` and reveal.js a
copy of the one ``sphinx-revealjs`` ships. The whole stage is skipped when its inputs (staged sources,
configuration, tool versions) and its outputs are unchanged; otherwise Sphinx rebuilds incrementally
(its environment is kept in ``cache/site/doctrees/``).
"""

from __future__ import annotations

import copy
import hashlib
import re
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

import nbformat

from mlcourse.build import slides
from mlcourse.build.cache import StepStamps, hash_files, sha256_text, write_if_changed

#: MathJax 2 configuration file of the local copy (the one the old site and nbconvert use).
MATHJAX_CONFIG = "TeX-AMS-MML_HTMLorMML-full,Safe"

#: ``window.MathJax`` before MathJax.js loads. Only the STIX-Web fonts are shipped, and MathJax's
#: font-detection face ``MathJax_Blank`` (``url('about:blank')``, which Chrome blocks with a console error) is
#: replaced by a ``local()`` face that never fetches anything. Only Sphinx's math nodes are typeset.
MATHJAX_WINDOW_CONFIG = {
    "HTML-CSS": {"availableFonts": [], "webFont": "STIX-Web", "imageFont": None, "preferredFont": None,
                 "styles": {"@font-face": {"font-family": "MathJax_Blank", "src": "local('MathJax_Blank')"}}},
    "tex2jax": {"inlineMath": [["\\(", "\\)"]], "displayMath": [["\\[", "\\]"]], "processEscapes": True,
                "processClass": "math|mathjax_process",
                "ignoreClass": "tex2jax_ignore|mathjax_ignore|bd-container"},
    "showMathMenu": False,
}

#: The tool versions that shape the pages (part of the site's key).
TOOLS = ("sphinx", "myst-nb", "myst-parser", "sphinx-book-theme", "pydata-sphinx-theme", "nbconvert",
         "jupyter-server-mathjax", "sphinx-revealjs")

ANSWER_TAG = "exercise-answer"
HIDE_INPUT_TAG = "hide-input"

#: Page styles and behaviour added to the theme's.
SITE_CSS = """\
.mlcourse-links { font-size: 0.95em; border-left: 4px solid var(--pst-color-primary);
  background: var(--pst-color-surface); padding: 0.5em 1em; margin: 0.5em 0 1.5em 0; }
.mlcourse-links p { margin: 0.2em 0; }
.mlcourse-links a.download code { font-family: inherit; font-size: inherit; font-weight: 600;
  background: none; border: none; padding: 0; color: inherit; }
details.mlcourse-answer { border: 1px solid var(--pst-color-border); border-radius: 4px;
  margin: 0.5em 0 1.5em 0; padding: 0 0.8em; }
details.mlcourse-answer > summary { cursor: pointer; font-weight: 600; color: var(--pst-color-primary);
  padding: 0.4em 0; }
details.mlcourse-answer[open] > summary { border-bottom: 1px solid var(--pst-color-border);
  margin-bottom: 0.6em; }
.mlcourse-prev-next-top .prev-next-area { margin: 0 0 1.2em 0; font-size: 0.85em; }
.mlcourse-prev-next-top .prev-next-area a p.prev-next-title { font-size: 1em; }
/* wide screens show the sidebar with its own search field: no second, empty top bar */
@media (min-width: 960px) { #pst-header { display: none !important; } }
/* MathJax's hidden, accessible MathML copy would otherwise ask for TeX web fonts that are not shipped */
.MJX_Assistive_MathML, .MJX_Assistive_MathML * { font-family: serif !important; }
"""

#: Math in a folded answer is typeset again when the answer opens (MathJax 2 cannot measure hidden math).
SITE_JS = """\
document.addEventListener("toggle", function (event) {
  var el = event.target;
  if (el.tagName === "DETAILS" && el.open && window.MathJax && window.MathJax.Hub) {
    window.MathJax.Hub.Queue(["Rerender", window.MathJax.Hub, el]);
  }
}, true);
"""


#: The theme's layout with the previous/next links (page titles) above the article as well as below it.
LAYOUT = """\
{% extends "!layout.html" %}
{%- block docs_body %}
{%- if prev or next %}
<nav class="mlcourse-prev-next-top d-print-none" aria-label="Previous and next page">
{% include "components/prev-next.html" %}
</nav>
{%- endif %}
{{ super() }}
{%- endblock docs_body %}
"""

FAVICON = """<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32">\
<rect width="32" height="32" rx="6" fill="#2a76dd"/>\
<text x="16" y="24" font-size="22" text-anchor="middle" fill="#fff" font-family="serif">&#8706;</text></svg>
"""


class SiteError(RuntimeError):
    """Sphinx (or a slide deck) failed; the message holds its output."""


@dataclass
class SiteConfig:
    """What ``[tool.mlcourse.site]`` in ``pyproject.toml`` says about the site.

    ``practice`` maps a lecture's file stem to the assignments that practise it, for example
    ``{"01-autodiff": ["hw1"]}``; the reverse links (homework to lectures) follow from it.
    """

    title: str = "Automatic differentiation and Gaussian mixtures"
    practice: dict[str, list[str]] = field(default_factory=dict)

    @classmethod
    def load(cls, root: Path) -> SiteConfig:
        """Read the configuration of the course at ``root`` (defaults when there is none)."""
        try:
            data = tomllib.loads((root / "pyproject.toml").read_text())
        except (OSError, tomllib.TOMLDecodeError):
            return cls()
        table = data.get("tool", {}).get("mlcourse", {}).get("site", {})
        practice = {str(k): [str(a) for a in v] for k, v in table.get("practice", {}).items()}
        return cls(title=str(table.get("title", cls.title)), practice=practice)


@dataclass
class Page:
    """One notebook page of the site."""

    kind: str  # "lecture" or "assignment"
    group: str  # assignment name, or "" for lectures
    source: Path  # executed (lectures) or released (assignments) notebook: what the page shows
    href: str  # relative to the site root, POSIX
    title: str = ""
    sections: list[tuple[str, str]] = field(default_factory=list)  # (anchor, text) of level-2 headings
    download: Path | None = None  # the notebook offered for download (committed lecture, released homework)

    @property
    def docname(self) -> str:
        """Sphinx's name of the page (its path without suffix)."""
        return self.href.removesuffix(".html")

    @property
    def stem(self) -> str:
        return Path(self.href).stem


def notebook_title(nb: nbformat.NotebookNode, fallback: str) -> str:
    """The text of the notebook's first level-1 Markdown heading, else ``fallback``."""
    for cell in nb.cells:
        if cell.cell_type != "markdown":
            continue
        for line in cell.source.splitlines():
            if line.startswith("# "):
                return line[2:].strip()
    return fallback


def collect_pages(executed_lectures: Sequence[tuple[str, Path]], assignments_dir: Path,
                  root: Path | None = None) -> list[Page]:
    """Pages for the executed lectures (``(rel path, executed file)``) and the released notebooks.

    ``root`` (default: the parent of ``assignments_dir``) holds the committed lectures offered for download.
    """
    root = root or assignments_dir.parent
    pages = [Page("lecture", "", path, f"lectures/{Path(rel).with_suffix('.html').name}",
                  download=root / rel) for rel, path in executed_lectures]
    if assignments_dir.is_dir():
        for folder in sorted(d for d in assignments_dir.iterdir() if d.is_dir()):
            for nb_path in sorted(folder.glob("*.ipynb")):
                pages.append(Page("assignment", folder.name, nb_path,
                                  f"assignments/{folder.name}/{nb_path.with_suffix('.html').name}",
                                  download=nb_path))
    return pages


# -- staging -----------------------------------------------------------------------------------------------
def _md(source: str) -> nbformat.NotebookNode:
    return nbformat.v4.new_markdown_cell(source)


def _rel(target: str, page: Page) -> str:
    """``target`` (a path from the site root) relative to ``page``'s folder."""
    depth = page.href.count("/")
    return "../" * depth + target


def split_title(nb: nbformat.NotebookNode) -> int:
    """Put the first level-1 heading in a cell of its own; return the index after that cell (0 if none)."""
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "markdown":
            continue
        lines = cell.source.splitlines()
        for k, line in enumerate(lines):
            if line.startswith("# "):
                before, rest = "\n".join(lines[:k]).strip(), "\n".join(lines[k + 1:]).strip()
                cells = ([_md(before)] if before else []) + [_md(line)] + ([_md(rest)] if rest else [])
                nb.cells[index:index + 1] = cells
                return index + (2 if before else 1)
        return 0
    return 0


def fold_answers(nb: nbformat.NotebookNode, label: str = "Show answer") -> int:
    """Wrap each run of consecutive ``exercise-answer`` cells in one ``<details>`` toggle.

    A Markdown cell with a heading ends a run and stays visible (a section cannot start inside a toggle).
    Returns the number of toggles.
    """
    cells, run, count = [], [], 0

    def flush() -> None:
        nonlocal count
        if run:
            cells.append(_md(f'<details class="mlcourse-answer">\n<summary>{label}</summary>'))
            cells.extend(run)
            cells.append(_md("</details>"))
            run.clear()
            count += 1

    for cell in nb.cells:
        tags = cell.metadata.get("tags", [])
        heading = cell.cell_type == "markdown" and re.search(r"^#{1,6} ", cell.source, re.M)
        if ANSWER_TAG in tags and not heading:
            run.append(cell)
            continue
        flush()
        cells.append(cell)
    flush()
    nb.cells = cells
    return count


def _heading_slug(text: str) -> str:
    from myst_parser.slugs import github_slugify

    plain = re.sub(r"[*_`]|\$[^$]*\$", "", text).strip()
    return github_slugify(plain)


def fix_local_links(nb: nbformat.NotebookNode) -> int:
    """Point in-page links written for Jupyter (``#1.-Heading-text``) or for raw ``<a id="x"></a>`` anchors
    at the anchors MyST gives the headings; return how many links changed."""
    anchors: dict[str, str] = {}
    for cell in nb.cells:
        if cell.cell_type != "markdown":
            continue
        pending: list[str] = []
        for line in cell.source.splitlines():
            raw = re.findall(r'<a\s+(?:id|name)="([^"]+)"\s*>\s*</a>', line)
            heading = re.match(r"(#{1,6}) (.+)", line)
            if heading:
                text = heading.group(2).strip()
                slug = _heading_slug(text)
                for anchor in [*pending, *raw, text.replace(" ", "-")]:
                    anchors.setdefault(anchor, slug)
                pending = []
            elif raw:
                pending += raw
            elif line.strip():
                pending = []
    changed = 0

    def repl(match: re.Match) -> str:
        nonlocal changed
        target = anchors.get(match.group(1))
        if target is None or target == match.group(1):
            return match.group(0)
        changed += 1
        return f"](#{target})"

    for cell in nb.cells:
        if cell.cell_type == "markdown":
            cell.source = re.sub(r"\]\(#([^)\s]+)\)", repl, cell.source)
    return changed


def related(page: Page, pages: Sequence[Page], config: SiteConfig) -> list[Page]:
    """The homework that practises a lecture page, or the lectures a homework page practises."""
    if page.kind == "lecture":
        wanted = config.practice.get(page.stem, [])
        return [p for p in pages if p.kind == "assignment" and p.group in wanted]
    return [p for p in pages if p.kind == "lecture" and page.group in config.practice.get(p.stem, [])]


def _doc_links(page: Page, targets: Sequence[Page]) -> str:
    return ", ".join(f"[{p.title}]({_rel(p.docname, page)}.ipynb)" for p in targets)


def links_cell(page: Page, pages: Sequence[Page], config: SiteConfig, download: str) -> str:
    """The Markdown of the link box under a page's title."""
    lines = []
    others = related(page, pages, config)
    name = Path(download).name
    if page.kind == "lecture":
        if others:
            lines.append(f"**Practise it:** {_doc_links(page, others)}")
        deck = _rel(slides.deck_href(page.stem), page)
        lines.append(f"**Download:** {{download}}`{name} <{download}>` (this lecture's notebook)"
                     f' · **Slides:** <a class="mlcourse-slides" href="{deck}">open the slide deck</a>')
    else:
        if others:
            lines.append(f"**Practises:** {_doc_links(page, others)}")
        lines.append(f"**Download:** {{download}}`{name} <{download}>` (the student notebook: open it in "
                     "Jupyter, fill in your solutions, submit it)")
    body = "\n\n".join(lines)
    return f"```{{container}} mlcourse-links\n{body}\n```"


def page_notebook(page: Page, pages: Sequence[Page], config: SiteConfig) -> nbformat.NotebookNode:
    """The notebook Sphinx renders for ``page``: its title, a link box, the cells with answers folded."""
    nb = copy.deepcopy(nbformat.read(page.source, as_version=4))
    download = _rel(f"_notebooks/{page.docname}.ipynb", page)
    at = split_title(nb)
    nb.cells.insert(at, _md(links_cell(page, pages, config, download)))
    fix_local_links(nb)
    fold_answers(nb)
    others = related(page, pages, config)
    if page.kind == "lecture" and others:
        practise = f"**Practise it:** {_doc_links(page, others)}"
        nb.cells.append(_md(f"```{{container}} mlcourse-links\n{practise}\n```"))
    for index, cell in enumerate(nb.cells):  # stable ids for the cells added here
        cell["id"] = f"site-{index}"
    return nb


def index_markdown(pages: Sequence[Page], config: SiteConfig) -> str:
    """The landing page: what the course is, and the table of contents (also shown in the sidebar)."""
    lectures = [p for p in pages if p.kind == "lecture"]
    homework = [p for p in pages if p.kind == "assignment"]
    lines = [f"# {config.title}", "",
             "Lectures with their worked examples (code folded where it is not the point, answers behind "
             "*Show answer*), the homework that practises them, and a slide deck per lecture. "
             "Every page offers its notebook for download.", ""]
    if lectures:
        lines += ["```{toctree}", ":caption: Lectures", ":maxdepth: 2", "",
                  *[p.docname for p in lectures], "```", ""]
    else:
        lines += ["No lectures yet.", ""]
    if homework:
        lines += ["```{toctree}", ":caption: Homework", ":maxdepth: 1", "",
                  *[p.docname for p in homework], "```", ""]
    else:
        lines += ["No released assignments yet.", ""]
    return "\n".join(lines)


def conf_py(config: SiteConfig) -> str:
    """The ``conf.py`` of the staged source folder (generated, so it can be hashed and read by hand)."""
    settings = {
        "project": config.title,
        "author": "",
        "copyright": "",
        "extensions": ["myst_nb"],
        "exclude_patterns": ["_notebooks/**", "**/.ipynb_checkpoints"],
        "nb_execution_mode": "off",  # the build's cache is the one source of executed outputs
        "nb_merge_streams": True,
        "myst_enable_extensions": ["dollarmath", "amsmath"],
        "myst_heading_anchors": 3,
        "suppress_warnings": ["myst.header", "mystnb.unknown_mime_type"],
        "html_theme": "sphinx_book_theme",
        "html_title": config.title,
        "html_static_path": ["_static"],
        "templates_path": ["_templates"],
        "html_css_files": ["mlcourse.css"],
        "html_js_files": ["mlcourse.js"],
        "html_copy_source": False,
        "html_show_sourcelink": False,
        "html_last_updated_fmt": None,
        "html_favicon": "_static/favicon.svg",  # a page without one asks for /favicon.ico (a 404)
        "html_context": {"default_mode": "light"},  # else the theme logs an error for an unset mode
        "html_theme_options": {
            "home_page_in_toc": True,
            "show_navbar_depth": 1,
            "show_toc_level": 2,
            "use_download_button": False,
            "use_fullscreen_button": True,
            "use_repository_button": False,
            "use_source_button": False,
            "search_bar_text": "Search the course...",
            "navigation_with_keys": False,
            "article_header_start": ["toggle-primary-sidebar"],
        },
        "mathjax_path": f"mathjax/MathJax.js?config={MATHJAX_CONFIG}",
        "mathjax3_config": MATHJAX_WINDOW_CONFIG,  # emitted as window.MathJax = {...}, which MathJax 2 reads
        "mathjax_options": {"async": "async"},
    }
    lines = ['"""Generated by mlcourse.build.site: edit that module, not this file."""', ""]
    lines += [f"{name} = {value!r}" for name, value in settings.items()]
    return "\n".join(lines) + "\n"


def stage(pages: Sequence[Page], src: Path, config: SiteConfig) -> str:
    """Write Sphinx's source folder ``src`` (unchanged files keep their time stamps); return its hash."""
    wanted: dict[str, bytes] = {
        "conf.py": conf_py(config).encode(),
        "index.md": index_markdown(pages, config).encode(),
        "_static/mlcourse.css": SITE_CSS.encode(),
        "_static/mlcourse.js": SITE_JS.encode(),
        "_static/favicon.svg": FAVICON.encode(),
        "_templates/layout.html": LAYOUT.encode(),
    }
    for page in pages:
        nb = page_notebook(page, pages, config)
        wanted[f"{page.docname}.ipynb"] = nbformat.writes(nb).encode()
        if page.download is not None and page.download.is_file():
            wanted[f"_notebooks/{page.docname}.ipynb"] = page.download.read_bytes()
    for rel, data in wanted.items():
        write_if_changed(src / rel, data)
    for path in sorted(src.rglob("*"), reverse=True):
        rel = path.relative_to(src).as_posix()
        if path.is_file() and rel not in wanted:
            path.unlink()
        elif path.is_dir() and not any(path.iterdir()):
            path.rmdir()
    return sha256_text(*(f"{rel}:{hashlib.sha256(data).hexdigest()}" for rel, data in sorted(wanted.items())))


# -- assets --------------------------------------------------------------------------------------------------
def mathjax_source() -> Path:
    """The MathJax 2.7 files shipped by ``jupyter-server-mathjax``."""
    import jupyter_server_mathjax

    return Path(jupyter_server_mathjax.__file__).parent / "static"


def install_tree(source: Path, target: Path, stamps: StepStamps, step: str, version: str,
                 marker: str) -> bool:
    """Copy ``source`` to ``target`` unless ``version`` is there already; return whether it copied."""
    if stamps.is_current(step, version) and (target / marker).is_file():
        return False
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(source, target)
    stamps.record(step, version)
    return True


def install_mathjax(site: Path, stamps: StepStamps) -> bool:
    """Copy MathJax into ``site/_static/mathjax`` unless that version is there."""
    return install_tree(mathjax_source(), site / "_static" / "mathjax", stamps, "site:mathjax",
                        metadata.version("jupyter-server-mathjax"), "MathJax.js")


def tool_versions() -> str:
    """Versions of the tools that shape the pages."""
    found = []
    for name in TOOLS:
        try:
            found.append(f"{name}={metadata.version(name)}")
        except metadata.PackageNotFoundError:
            found.append(f"{name}=missing")
    return ",".join(found)


def _pages_hash(site: Path) -> str:
    return hash_files(sorted(p for p in site.rglob("*.html") if "_static" not in p.relative_to(site).parts),
                      site)


def _html_digests(site: Path, hrefs: Sequence[str]) -> dict[str, str]:
    return {h: hashlib.sha256((site / h).read_bytes()).hexdigest() if (site / h).is_file() else ""
            for h in hrefs}


def run_sphinx(src: Path, site: Path, doctrees: Path, log: Path) -> None:
    """``sphinx-build -b html`` (incremental) in a separate process; raise :class:`SiteError` on failure."""
    cmd = [sys.executable, "-m", "sphinx", "-b", "html", "-q", "-j", "1", "-d", str(doctrees), str(src),
           str(site)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=1800, check=False)
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text(proc.stdout + proc.stderr, encoding="utf-8")
    if proc.returncode != 0:
        raise SiteError(f"sphinx-build failed (exit {proc.returncode}); log: {log}\n{proc.stderr[-4000:]}")


def sphinx_warnings(work: Path) -> list[str]:
    """The warnings of the last ``sphinx-build`` run in ``work`` (broken links, unknown roles, ...)."""
    try:
        text = (work / "sphinx.log").read_text(encoding="utf-8")
    except OSError:
        return []
    return [line for line in text.splitlines() if "WARNING" in line or "ERROR" in line]


_SECTION = re.compile(
    r'<li class="toctree-l2"><a class="reference internal" href="([^"#]+)#([^"]+)">(.*?)</a>', re.S)


def _sections_from_index(site: Path) -> dict[str, list[tuple[str, str]]]:
    text = (site / "index.html").read_text(encoding="utf-8") if (site / "index.html").is_file() else ""
    found: dict[str, list[tuple[str, str]]] = {}
    for href, anchor, title in _SECTION.findall(text):
        text_only = re.sub(r"<[^>]+>", "", title).strip()
        found.setdefault(href.removesuffix(".html"), []).append((anchor, text_only))
    return found


def build_site(pages: Sequence[Page], site: Path, stamps: StepStamps, *, work: Path,
               config: SiteConfig | None = None) -> list[str]:
    """Build the site into ``site``: stage, Sphinx, MathJax, slide decks; skip when nothing changed.

    Parameters
    ----------
    pages : sequence of Page
        From :func:`collect_pages`.
    site : Path
        The HTML output folder (Sphinx's output folder; ``slides/`` and ``_static/mathjax/`` are added).
    stamps : StepStamps
        The build's step stamps.
    work : Path
        Folder for the staged sources (``src/``), Sphinx's environment (``doctrees/``) and its log.
    config : SiteConfig, optional
        Title and homework links (default: nothing practises anything).

    Returns
    -------
    list of str
        The pages (hrefs) whose HTML changed in this run; an unchanged course renders nothing.
    """
    config = config or SiteConfig()
    for page in pages:
        page.title = page.title or notebook_title(nbformat.read(page.source, as_version=4), page.stem)
    src, doctrees = work / "src", work / "doctrees"
    staged = stage(pages, src, config)
    key = sha256_text(staged, tool_versions(), slides.TEMPLATE, sys.version)
    hrefs = [p.href for p in pages]
    site_ok = (site / "index.html").is_file() and all((site / h).is_file() for h in hrefs)
    if site_ok and stamps.is_current("site", key, _pages_hash(site)):
        install_mathjax(site, stamps)
        slides.install_reveal(site, stamps)
        _set_sections(pages, site)
        return []
    before = _html_digests(site, hrefs)
    if (site / "mathjax").is_dir():  # the hand-written generator's copy (now under _static/)
        shutil.rmtree(site / "mathjax")
    run_sphinx(src, site, doctrees, work / "sphinx.log")
    install_mathjax(site, stamps)
    slides.install_reveal(site, stamps)
    for page in pages:
        if page.kind == "lecture":
            slides.build_deck(page.source, site / slides.deck_href(page.stem), page.title,
                              lecture_href=f"../{page.href}", stamps=stamps)
    slides.remove_stale(site, {p.stem for p in pages if p.kind == "lecture"})
    for stale in (site / folder for folder in ("lectures", "assignments")):
        for path in stale.rglob("*.html") if stale.is_dir() else []:
            if path.relative_to(site).as_posix() not in hrefs:
                path.unlink()
    stamps.record("site", key, _pages_hash(site))
    _set_sections(pages, site)
    after = _html_digests(site, hrefs)
    return [h for h in hrefs if before[h] != after[h]]


def _set_sections(pages: Sequence[Page], site: Path) -> None:
    sections = _sections_from_index(site)
    for page in pages:
        page.sections = sections.get(page.docname, [])
