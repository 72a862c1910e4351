"""The built site in headless Chromium: pages load, images are real, MathJax typesets, no console errors.

Chromium (Debian's ``chromium``) is installed with apt-get when it is missing and the tests run as root;
the tests are skipped, with the reason, only when it cannot be installed. Each page is served from
``127.0.0.1`` (no network is used) with a probe script injected at the top of ``<head>``; after the page
loaded and MathJax's queue ran, the probe writes what it saw into ``<pre id="mlcourse-probe">``, which
``--dump-dom`` returns. Console messages are read from Chromium's log as well.
"""

from __future__ import annotations

import functools
import io
import json
import os
import re
import shutil
import subprocess
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from build_support import make_course, read, real_notebooks, session_build, solution_cells, write_notebook

from mlcourse.build import BuildOptions, build

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
    var scripts = document.querySelectorAll('script[type^="math/tex"]'), rendered = 0;
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
                            scripts: scripts.length, rendered: rendered,
                            errors: document.querySelectorAll('.MathJax_Error, merror').length}};
    var pre = document.createElement('pre');
    pre.id = 'mlcourse-probe';
    pre.textContent = JSON.stringify(result);
    document.body.appendChild(pre);
  }
  window.addEventListener('load', function () {
    if (window.MathJax && window.MathJax.Hub) { window.MathJax.Hub.Queue(finish); } else { finish(); }
  });
})();
"""

_RESULT = re.compile(r'<pre id="mlcourse-probe">(.*?)</pre>', re.S)
_CONSOLE = re.compile(r':CONSOLE[^\]]*\] "(.*)", source: (\S+)')
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


def probe_pages(chromium: str, site: Path, hrefs: list[str], workdir: Path) -> dict[str, dict]:
    """Open each page of a copy of ``site`` in headless Chromium; return what the probe saw per href.

    A page whose probe did not report maps to ``{"errors": ["page did not finish loading ..."]}``.
    """
    copy = workdir / "site"
    shutil.copytree(site, copy)
    for href in hrefs:
        page = copy / href
        text = page.read_text(encoding="utf-8")
        assert "<head>" in text, f"{href} has no <head>"
        probed = text.replace("<head>", f"<head>\n<script>{PROBE}</script>", 1)
        page.with_suffix(".probe.html").write_text(probed, encoding="utf-8")
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_QuietHandler, directory=str(copy)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    results = {}
    try:
        for n, href in enumerate(hrefs):
            url = f"http://127.0.0.1:{server.server_port}/{Path(href).with_suffix('.probe.html').as_posix()}"
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
@pytest.fixture(scope="module")
def demo_site(tmp_path_factory) -> Path:
    root = make_course(tmp_path_factory.mktemp("site") / "course", assignment=False)
    write_notebook(root / "assignments" / "demo" / "demo.ipynb", solution_cells())  # a stand-in release
    report = build(BuildOptions(root=root, out=root / "_build", stages=("execute", "site"),
                                stream=io.StringIO()))
    assert report.ok
    return root / "_build"


def test_demo_site_renders_in_chromium(chromium, demo_site, tmp_path):
    hrefs = ["index.html", "lectures/01-demo.html", "assignments/demo/demo.html"]
    results = probe_pages(chromium, demo_site / "site", hrefs, tmp_path)
    lecture = results["lectures/01-demo.html"]
    assert page_problems(lecture, math=True, min_images=1) == [], lecture
    assert lecture["mathjax"]["scripts"] >= 2 and lecture["mathjax"]["version"].startswith("2.7")
    assert lecture["title"] == "Demo lecture" and "../index.html" in lecture["links"]
    assert page_problems(results["assignments/demo/demo.html"], math=True, min_images=0) == []
    index = results["index.html"]
    assert page_problems(index, math=False, min_images=0) == [], index
    assert {"lectures/01-demo.html", "lectures/01-demo.html#Sampling",
            "assignments/demo/demo.html"} <= set(index["links"])


def test_probe_reports_broken_pages(chromium, demo_site, tmp_path):
    site = tmp_path / "broken"
    shutil.copytree(demo_site / "site", site)
    page = site / "lectures" / "01-demo.html"
    text = page.read_text()
    text = text.replace("../mathjax/MathJax.js", "https://cdn.example.invalid/MathJax.js")
    text = text.replace("<main>", '<main><img src="missing.png"><script>console.error("boom")</script>', 1)
    page.write_text(text)
    problems = page_problems(probe_pages(chromium, site, ["lectures/01-demo.html"], tmp_path / "probe")
                             ["lectures/01-demo.html"], math=True, min_images=2)
    joined = "\n".join(problems)
    assert "MathJax did not load" in joined, joined
    assert "missing.png" in joined and "boom" in joined and "cdn.example.invalid" in joined, joined


# -- the real lectures ----------------------------------------------------------------------------------
LECTURES = real_notebooks("lectures/")


@pytest.fixture(scope="module")
def real_site(chromium, tmp_path_factory) -> dict[str, dict]:
    built = session_build()
    site = built.out / "site"
    if not (site / "index.html").is_file():
        pytest.fail(f"the session build rendered no site:\n{built.log}", pytrace=False)
    hrefs = ["index.html"] + [f"lectures/{Path(rel).stem}.html" for rel in LECTURES
                              if (site / "lectures" / f"{Path(rel).stem}.html").is_file()]
    return probe_pages(chromium, site, hrefs, tmp_path_factory.mktemp("real-site"))


def test_real_index_page(real_site):
    index = real_site["index.html"]
    assert page_problems(index, math=False, min_images=0) == [], index
    for rel in LECTURES:
        assert f"lectures/{Path(rel).stem}.html" in index["links"], f"index does not link {rel}"


@pytest.mark.parametrize("rel", LECTURES)
def test_real_lecture_page(real_site, rel):
    href = f"lectures/{Path(rel).stem}.html"
    if href not in real_site:
        pytest.fail(f"{href} was not rendered (did {rel} execute? see test_notebooks)", pytrace=False)
    math, figures = notebook_expectations(session_build().out / "executed" / rel)
    problems = page_problems(real_site[href], math=math, min_images=figures)
    assert not problems, f"{href}:\n" + "\n".join(problems)
