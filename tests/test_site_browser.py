"""The built site in headless Chromium: pages load, images are real, MathJax typesets, no console errors;
search finds pages, folded code and answers open, downloads are notebooks, slide decks open and advance.

Chromium (Debian's ``chromium``) is installed with apt-get when it is missing and the tests run as root;
the tests are skipped, with the reason, only when it cannot be installed. Each page is served from
``127.0.0.1`` (no network is used) with a probe script injected at the top of ``<head>``; after the page
loaded and MathJax's queue ran, the probe (and then the page's *action*, a script that clicks, fetches or
navigates, when the test gives one) writes what it saw into ``<pre id="mlcourse-probe">``, which
``--dump-dom`` returns. Console messages are read from Chromium's log as well.
"""

from __future__ import annotations

import functools
import json
import os
import re
import shutil
import subprocess
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from build_support import ROOT, read, real_notebooks, session_build
from site_support import build_site_course, make_site_course

pytestmark = pytest.mark.slow

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--disable-extensions", "--enable-logging=stderr", "--v=0",
         "--virtual-time-budget=30000"]

PROBE = r"""
(function () {
  var errors = [];
  window.addEventListener('error', function (e) {
    var t = e.target;
    if (t && t !== window && (t.src || t.href)) { errors.push('failed to load ' + (t.src || t.href)); }
    else { errors.push('uncaught ' + e.message + ' at ' + e.filename + ':' + e.lineno); }
  }, true);
  window.addEventListener('unhandledrejection', function (e) {
    errors.push('unhandled rejection ' + e.reason);
  });
  var consoleError = console.error;
  console.error = function () {
    errors.push('console.error ' + Array.prototype.join.call(arguments, ' '));
    return consoleError.apply(console, arguments);
  };
  function blank(img) {
    try {
      var c = document.createElement('canvas');
      c.width = img.naturalWidth; c.height = img.naturalHeight;
      var ctx = c.getContext('2d'); ctx.drawImage(img, 0, 0);
      var d = ctx.getImageData(0, 0, c.width, c.height).data;
      for (var i = 4; i < d.length; i += 4) {
        if (d[i] !== d[0] || d[i + 1] !== d[1] || d[i + 2] !== d[2] || d[i + 3] !== d[3]) { return false; }
      }
      return true;
    } catch (err) { return 'unknown: ' + err; }
  }
  function finish() {
    performance.getEntriesByType('resource').forEach(function (e) {
      if (e.responseStatus === 0 || e.responseStatus >= 400) {
        errors.push('HTTP ' + e.responseStatus + ' for ' + e.name);
      }
    });
    var images = Array.prototype.map.call(document.images, function (img) {
      return {src: img.src.slice(0, 50), complete: img.complete, width: img.naturalWidth,
              height: img.naturalHeight, blank: img.naturalWidth ? blank(img) : null};
    });
    var all = document.querySelectorAll('script[type^="math/tex"]'), rendered = 0, folded = 0;
    var scripts = Array.prototype.filter.call(all, function (s) {
      if (s.closest('details:not([open])')) { folded++; return false; }  // typeset when opened
      return true;
    });
    scripts.forEach(function (s) {
      var frame = s.previousSibling;
      var shown = frame && frame.className && /MathJax/.test(frame.className) && frame.offsetWidth > 0;
      if (shown) { rendered++; }
    });
    var result = {errors: errors, images: images, title: document.title,
                  links: Array.prototype.map.call(document.querySelectorAll('a[href]'),
                                                  function (a) { return a.getAttribute('href'); }),
                  mathjax: {loaded: !!(window.MathJax && window.MathJax.Hub),
                            version: window.MathJax && window.MathJax.version,
                            scripts: scripts.length, rendered: rendered, folded: folded,
                            errors: document.querySelectorAll('.MathJax_Error, merror').length}};
    function report() {
      var pre = document.createElement('pre');
      pre.id = 'mlcourse-probe';
      pre.textContent = JSON.stringify(result);
      document.body.appendChild(pre);
    }
    if (!window.mlcourseAction) { report(); return; }
    try {
      window.mlcourseAction(function (actions) { result.actions = actions; report(); });
    } catch (err) { result.actions = {error: 'action raised ' + err}; report(); }
  }
  window.addEventListener('load', function () {
    if (window.MathJax && window.MathJax.Hub) { window.MathJax.Hub.Queue(finish); } else { finish(); }
  });
})();
"""

_RESULT = re.compile(r'<pre id="mlcourse-probe"[^>]*>(.*?)</pre>', re.S)  # the theme adds tabindex
#: Console warnings and errors in Chromium's log (console.log/info, such as the theme's "[PST]: ..." notes,
#: are INFO and not a problem).
_CONSOLE = re.compile(r':(?:WARNING|ERROR|FATAL):CONSOLE[^\]]*\] "(.*)", source: (\S+)')
_MATH = re.compile(r"\$[^$\n]+\$|\\\[|\\begin\{")


@pytest.fixture(scope="session")
def chromium() -> str:
    """Path of the browser: ``$CHROMIUM``, else Chromium or Chrome on PATH, else Debian's ``chromium``
    installed with apt-get (root only)."""
    names = [os.environ.get("CHROMIUM", ""), "chromium", "chromium-browser", "google-chrome",
             "google-chrome-stable"]
    found = next((shutil.which(name) for name in names if name and shutil.which(name)), None)
    if found:
        return found
    if not hasattr(os, "geteuid") or os.geteuid() != 0 or not shutil.which("apt-get"):
        pytest.skip("Chromium is not installed and cannot be installed here (needs root and apt-get): "
                    "apt-get install chromium")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    try:
        for cmd in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "chromium"]):
            proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=900, check=False)
            if proc.returncode != 0:
                pytest.skip(f"cannot install Chromium: {' '.join(cmd)} failed:\n{proc.stderr[-2000:]}")
    except subprocess.TimeoutExpired:
        pytest.skip("cannot install Chromium: apt-get timed out after 900 s")
    found = shutil.which("chromium")
    if not found:
        pytest.skip("apt-get install chromium succeeded but no chromium binary is on PATH")
    return found


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


def probe_pages(chromium: str, site: Path, hrefs: list[str], workdir: Path,
                actions: dict[str, str] | None = None) -> dict[str, dict]:
    """Open each page of a copy of ``site`` in headless Chromium; return what the probe saw per href.

    An href may carry a query (``search.html?q=EM``). ``actions`` maps an href to JavaScript defining
    ``window.mlcourseAction = function (done) {...}``: it runs after the probe and hands ``done`` what it
    found, which the result holds as ``"actions"``. A page whose probe did not report maps to
    ``{"errors": ["page did not finish loading ..."]}``.
    """
    actions = actions or {}
    copy = workdir / "site"
    shutil.copytree(site, copy)
    probes = []
    for n, href in enumerate(hrefs):
        path, _, query = href.partition("?")
        page = copy / path
        text = page.read_text(encoding="utf-8")
        assert "<head>" in text, f"{href} has no <head>"
        action = f"<script>{actions[href]}</script>" if href in actions else ""
        probed = text.replace("<head>", f"<head>\n<script>{PROBE}</script>{action}", 1)
        probe = page.with_name(f"{page.stem}.probe{n}.html")
        probe.write_text(probed, encoding="utf-8")
        probes.append(probe.relative_to(copy).as_posix() + (f"?{query}" if query else ""))
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_QuietHandler, directory=str(copy)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    results = {}
    try:
        for n, href in enumerate(hrefs):
            url = f"http://127.0.0.1:{server.server_port}/{probes[n]}"
            cmd = [chromium, *FLAGS, f"--user-data-dir={workdir / f'profile-{n}'}", "--dump-dom", url]
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=180, check=False)
            match = _RESULT.search(proc.stdout)
            if not match:
                results[href] = {"errors": [f"page did not finish loading (exit {proc.returncode}): "
                                            f"{proc.stderr[-1500:]}"], "images": [], "mathjax": {}}
                continue
            result = json.loads(match.group(1).replace("&quot;", '"').replace("&lt;", "<")
                                .replace("&gt;", ">").replace("&amp;", "&"))
            result["console"] = [f"{msg} ({src})" for msg, src in _CONSOLE.findall(proc.stderr)]
            results[href] = result
    finally:
        server.shutdown()
        server.server_close()
    return results


def page_problems(result: dict, *, math: bool, min_images: int) -> list[str]:
    """Everything wrong with one probed page (empty when it is fine)."""
    problems = list(result.get("errors", [])) + [f"console: {m}" for m in result.get("console", [])]
    images = result.get("images", [])
    if len(images) < min_images:
        problems.append(f"{len(images)} images on the page, the notebook has {min_images} figures")
    for img in images:
        if not img["complete"] or not img["width"] or not img["height"]:
            problems.append(f"image {img['src']} did not load ({img['width']}x{img['height']})")
        elif img["blank"] is not False:
            problems.append(f"image {img['src']} is blank ({img['blank']})")
    mj = result.get("mathjax", {})
    if math:
        if not mj.get("loaded"):
            problems.append("MathJax did not load")
        elif not mj.get("scripts") or mj.get("rendered") != mj.get("scripts"):
            problems.append(f"MathJax typeset {mj.get('rendered')} of {mj.get('scripts')} equations")
        if mj.get("errors"):
            problems.append(f"{mj['errors']} MathJax errors")
    return problems


def notebook_expectations(path: Path) -> tuple[bool, int]:
    """Whether a notebook has math in its Markdown, and how many raster figures (``<img>``) it outputs."""
    nb = read(path)
    math = any(c.cell_type == "markdown" and _MATH.search(c.source) for c in nb.cells)
    figures = sum(1 for c in nb.cells for o in c.get("outputs", [])
                  if {"image/png", "image/jpeg"} & set(o.get("data", {})))
    return math, figures


# -- the site of a miniature course -----------------------------------------------------------------------
#: Opens the first folded code cell and the first answer; measures what shows before and after.
TOGGLE_ACTION = r"""
window.mlcourseAction = function (done) {
  var out = {};
  var code = document.querySelector('details.hide.above-input');
  var answer = document.querySelector('details.mlcourse-answer');
  if (!code || !answer) {
    done({error: 'no folded code (' + !!code + ') or answer (' + !!answer + ')'});
    return;
  }
  var pre = code.querySelector('pre');
  var figure = code.parentElement.querySelector('.cell_output img');
  var answerText = answer.querySelector('p');
  var codeSummary = code.querySelector('summary').textContent.replace(/\s+/g, ' ').trim();
  // a closed <details> hides its content with content-visibility, which offsetHeight does not see
  var shown = function (el) { return el.checkVisibility() && el.offsetHeight > 0; };
  out.code = {folded: !code.open, summary: codeSummary, shownBefore: shown(pre),
              figureShown: figure ? shown(figure) : null};
  out.answer = {folded: !answer.open, summary: answer.querySelector('summary').textContent.trim(),
                shownBefore: shown(answerText)};
  code.querySelector('summary').click();
  answer.querySelector('summary').click();
  setTimeout(function () {
    out.code.open = code.open; out.code.shownAfter = shown(pre);
    out.answer.open = answer.open; out.answer.shownAfter = shown(answerText);
    var finish = function () {
      var scripts = answer.querySelectorAll('script[type^="math/tex"]'), rendered = 0;
      scripts.forEach(function (s) {
        var frame = s.previousSibling;
        if (frame && /MathJax/.test(frame.className || '') && frame.offsetWidth > 0) { rendered++; }
      });
      out.answer.math = scripts.length; out.answer.mathRendered = rendered;
      done(out);
    };
    if (window.MathJax && window.MathJax.Hub) { window.MathJax.Hub.Queue(finish); } else { finish(); }
  }, 500);
};
"""

#: Fetches every download link of the page and reads it as a notebook.
DOWNLOAD_ACTION = r"""
window.mlcourseAction = function (done) {
  var links = Array.prototype.slice.call(document.querySelectorAll('a.download'));
  Promise.all(links.map(function (a) {
    return fetch(a.href).then(function (r) { return r.json(); }).then(function (nb) {
      var outputs = nb.cells.reduce(function (n, c) { return n + (c.outputs || []).length; }, 0);
      return {href: a.getAttribute('href'), attribute: a.hasAttribute('download'), text: a.textContent.trim(),
              nbformat: nb.nbformat, cells: nb.cells.length, outputs: outputs};
    });
  })).then(function (found) { done({downloads: found}); },
           function (err) { done({error: 'download failed: ' + err}); });
};
"""

#: Waits for Sphinx's search to finish and lists the pages it found.
SEARCH_ACTION = r"""
window.mlcourseAction = function (done) {
  var tries = 0;
  (function poll() {
    var summary = document.querySelector('#search-results .search-summary, p.search-summary');
    var text = summary ? summary.textContent : '';
    if (/finished|found|did not match/i.test(text) || tries++ > 150) {
      var links = document.querySelectorAll('#search-results ul.search li > a, ul.search li a');
      done({summary: text, results: Array.prototype.map.call(links, function (a) {
        return a.getAttribute('href').split('?')[0].split('#')[0];
      })});
    } else { setTimeout(poll, 100); }
  })();
};
"""

#: Waits for reveal.js, then advances with the on-screen control and goes down one sub-slide.
SLIDES_ACTION = r"""
window.mlcourseAction = function (done) {
  var tries = 0;
  (function wait() {
    if (window.Reveal && Reveal.isReady && Reveal.isReady()) { go(); }
    else if (tries++ > 150) { done({ready: false}); }
    else { setTimeout(wait, 100); }
  })();
  function go() {
    var out = {ready: true, total: Reveal.getTotalSlides(), before: Reveal.getIndices()};
    var next = document.querySelector('.reveal .controls .navigate-right');
    out.control = !!next;
    if (next) { next.click(); }
    setTimeout(function () {
      out.after = Reveal.getIndices();
      Reveal.down();
      setTimeout(function () {
        out.down = Reveal.getIndices();
        var slide = Reveal.getCurrentSlide();
        out.visible = slide.offsetHeight > 0 && slide.offsetWidth > 0;
        out.text = slide.textContent.replace(/\s+/g, ' ').trim().slice(0, 120);
        done(out);
      }, 300);
    }, 300);
  }
};
"""


def toggle_problems(actions: dict) -> list[str]:
    """What is wrong with the folded code and answer of a page (see :data:`TOGGLE_ACTION`)."""
    if "error" in actions:
        return [actions["error"]]
    code, answer, problems = actions["code"], actions["answer"], []
    if not (code["folded"] and not code["shownBefore"] and code["open"] and code["shownAfter"]):
        problems.append(f"the folded code cell does not hide and then show its code: {code}")
    if "Show code" not in code["summary"]:
        problems.append(f"the code toggle reads {code['summary']!r}")
    if code["figureShown"] is False:
        problems.append("the figure of a folded code cell is hidden too")
    if not (answer["folded"] and not answer["shownBefore"] and answer["open"] and answer["shownAfter"]):
        problems.append(f"the answer does not hide and then show: {answer}")
    if answer["summary"] != "Show answer":
        problems.append(f"the answer toggle reads {answer['summary']!r}")
    if answer["mathRendered"] != answer["math"]:
        problems.append(f"MathJax typeset {answer['mathRendered']} of {answer['math']} answer equations")
    return problems


def slide_problems(actions: dict) -> list[str]:
    """What is wrong with a slide deck that should open and advance (see :data:`SLIDES_ACTION`)."""
    if not actions.get("ready"):
        return [f"reveal.js did not start: {actions}"]
    problems = []
    if actions["total"] < 3:
        problems.append(f"only {actions['total']} slides")
    if not actions["control"] or actions["after"]["h"] != actions["before"]["h"] + 1:
        problems.append(f"the next-slide control did not advance: {actions}")
    if not actions["visible"] or not actions["text"]:
        problems.append(f"the current slide is empty or hidden: {actions}")
    return problems


@pytest.fixture(scope="module")
def demo_site(tmp_path_factory) -> Path:
    root = make_site_course(tmp_path_factory.mktemp("site") / "course")
    report, log = build_site_course(root)
    assert report.ok, log
    return root / "_build"


DEMO_ACTIONS = {"lectures/02-answers.html": TOGGLE_ACTION,
                "assignments/demo/demo.html": DOWNLOAD_ACTION,
                "search.html?q=maximisation": SEARCH_ACTION,
                "slides/02-answers.html": SLIDES_ACTION}


@pytest.fixture(scope="module")
def demo_results(chromium, demo_site, tmp_path_factory) -> dict[str, dict]:
    hrefs = ["index.html", "lectures/01-demo.html", *DEMO_ACTIONS]
    return probe_pages(chromium, demo_site / "site", hrefs, tmp_path_factory.mktemp("demo-probe"),
                       actions=DEMO_ACTIONS)


def test_demo_site_renders_in_chromium(demo_results):
    lecture = demo_results["lectures/01-demo.html"]
    assert page_problems(lecture, math=True, min_images=1) == [], lecture
    assert lecture["mathjax"]["scripts"] >= 2 and lecture["mathjax"]["version"].startswith("2.7")
    assert lecture["title"].startswith("Demo lecture") and "../index.html" in lecture["links"]
    assert page_problems(demo_results["assignments/demo/demo.html"], math=True, min_images=0) == []
    index = demo_results["index.html"]
    assert page_problems(index, math=False, min_images=0) == [], index
    assert {"lectures/01-demo.html", "lectures/01-demo.html#sampling",
            "assignments/demo/demo.html"} <= set(index["links"])


def test_demo_code_and_answers_fold_and_open(demo_results):
    page = demo_results["lectures/02-answers.html"]
    assert page_problems(page, math=True, min_images=1) == [], page
    assert page["mathjax"]["folded"] >= 1, "the answer's math is folded away at first"
    assert toggle_problems(page["actions"]) == [], page["actions"]


def test_demo_pages_link_homework_and_slides(demo_results):
    lecture = demo_results["lectures/02-answers.html"]["links"]
    assert "../assignments/demo/demo.html" in lecture and "../slides/02-answers.html" in lecture
    assert "../../lectures/02-answers.html" in demo_results["assignments/demo/demo.html"]["links"]
    assert "01-demo.html" in lecture, "the previous page is linked"


def test_demo_downloads_are_notebooks(demo_results):
    found = demo_results["assignments/demo/demo.html"]["actions"]
    assert "error" not in found, found
    (download,) = found["downloads"]
    assert download["attribute"] and download["nbformat"] == 4 and download["cells"] == 3
    assert download["href"].endswith("/demo.ipynb") and download["outputs"] == 0


def test_demo_lecture_download(chromium, demo_site, tmp_path):
    result = probe_pages(chromium, demo_site / "site", ["lectures/02-answers.html"], tmp_path,
                         actions={"lectures/02-answers.html": DOWNLOAD_ACTION})["lectures/02-answers.html"]
    (download,) = result["actions"]["downloads"]
    assert download["href"].endswith("/02-answers.ipynb") and download["attribute"], download
    assert download["nbformat"] == 4 and download["cells"] == 8 and download["outputs"] == 0  # the source


def test_demo_search_finds_the_page(demo_results):
    search = demo_results["search.html?q=maximisation"]
    assert page_problems(search, math=False, min_images=0) == [], search
    assert "lectures/02-answers.html" in search["actions"]["results"], search["actions"]


def test_demo_slides_open_and_advance(demo_results):
    deck = demo_results["slides/02-answers.html"]
    assert page_problems(deck, math=False, min_images=1) == [], deck
    assert deck["mathjax"]["loaded"] and not deck["mathjax"]["errors"], deck["mathjax"]
    assert slide_problems(deck["actions"]) == [], deck["actions"]
    assert "../lectures/02-answers.html" in deck["links"]


def test_probe_reports_broken_pages(chromium, demo_site, tmp_path):
    site = tmp_path / "broken"
    shutil.copytree(demo_site / "site", site)
    page = site / "lectures" / "01-demo.html"
    text = page.read_text()
    assert "../_static/mathjax/MathJax.js" in text
    text = text.replace("../_static/mathjax/MathJax.js", "https://cdn.example.invalid/MathJax.js")
    broken = '<img src="missing.png"><script>console.error("boom")</script>'
    text = text.replace('<article class="bd-article">', f'<article class="bd-article">{broken}', 1)
    page.write_text(text)
    problems = page_problems(probe_pages(chromium, site, ["lectures/01-demo.html"], tmp_path / "probe")
                             ["lectures/01-demo.html"], math=True, min_images=2)
    joined = "\n".join(problems)
    assert "MathJax did not load" in joined, joined
    assert "missing.png" in joined and "boom" in joined and "cdn.example.invalid" in joined, joined


# -- the real lectures ----------------------------------------------------------------------------------
LECTURES = real_notebooks("lectures/")
ASSIGNMENTS = sorted(p.relative_to(ROOT / "assignments").with_suffix(".html").as_posix()
                     for p in (ROOT / "assignments").glob("*/*.ipynb"))
EM_SEARCH = "search.html?q=EM+algorithm"


@pytest.fixture(scope="module")
def real_site(chromium, tmp_path_factory) -> dict[str, dict]:
    built = session_build()
    site = built.out / "site"
    if not (site / "index.html").is_file():
        pytest.fail(f"the session build rendered no site:\n{built.log}", pytrace=False)
    actions = {EM_SEARCH: SEARCH_ACTION}
    for rel in LECTURES:
        stem = Path(rel).stem
        if (site / "lectures" / f"{stem}.html").is_file():
            actions[f"lectures/{stem}.html"] = TOGGLE_ACTION
            actions[f"slides/{stem}.html"] = SLIDES_ACTION
    for href in ASSIGNMENTS:
        if (site / "assignments" / href).is_file():
            actions[f"assignments/{href}"] = DOWNLOAD_ACTION
    return probe_pages(chromium, site, ["index.html", *actions], tmp_path_factory.mktemp("real-site"),
                       actions=actions)


def _rendered(real_site: dict, href: str, rel: str) -> dict:
    if href not in real_site:
        pytest.fail(f"{href} was not rendered (did {rel} execute? see test_notebooks)", pytrace=False)
    return real_site[href]


def test_real_index_page(real_site):
    index = real_site["index.html"]
    assert page_problems(index, math=False, min_images=0) == [], index
    for rel in LECTURES:
        assert f"lectures/{Path(rel).stem}.html" in index["links"], f"index does not link {rel}"


@pytest.mark.parametrize("rel", LECTURES)
def test_real_lecture_page(real_site, rel):
    href = f"lectures/{Path(rel).stem}.html"
    result = _rendered(real_site, href, rel)
    math, figures = notebook_expectations(session_build().out / "executed" / rel)
    problems = page_problems(result, math=math, min_images=figures)
    problems += toggle_problems(result.get("actions", {"error": "no action result"}))
    assert not problems, f"{href}:\n" + "\n".join(problems)


@pytest.mark.parametrize("rel", LECTURES)
def test_real_lecture_links_its_homework_and_slides(real_site, rel):
    from mlcourse.build.site import SiteConfig

    stem = Path(rel).stem
    links = _rendered(real_site, f"lectures/{stem}.html", rel)["links"]
    for hw in SiteConfig.load(ROOT).practice[stem]:
        assert f"../assignments/{hw}/{hw}.html" in links, f"{stem} does not link {hw}"
        assert f"../../lectures/{stem}.html" in real_site[f"assignments/{hw}/{hw}.html"]["links"]
    assert f"../slides/{stem}.html" in links
    assert any(link.startswith("../_downloads/") and link.endswith(f"/{stem}.ipynb") for link in links)


@pytest.mark.parametrize("rel", LECTURES)
def test_real_slides_open_and_advance(real_site, rel):
    deck = _rendered(real_site, f"slides/{Path(rel).stem}.html", rel)
    problems = page_problems(deck, math=False, min_images=1) + slide_problems(deck.get("actions", {}))
    assert deck["mathjax"].get("loaded") and not deck["mathjax"].get("errors"), deck["mathjax"]
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("href", ASSIGNMENTS)
def test_real_homework_page_offers_the_student_notebook(real_site, href):
    result = real_site[f"assignments/{href}"]
    assert page_problems(result, math=True, min_images=0) == [], result
    (download,) = result["actions"]["downloads"]
    released = json.loads((ROOT / "assignments" / href).with_suffix(".ipynb").read_text())
    assert download["attribute"] and download["cells"] == len(released["cells"]) and download["outputs"] == 0


def test_real_search_finds_the_em_page(real_site):
    search = real_site[EM_SEARCH]
    assert page_problems(search, math=False, min_images=0) == [], search
    assert "lectures/03-em-implementation.html" in search["actions"]["results"], search["actions"]
