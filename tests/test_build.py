"""The course build (``python -m mlcourse.build``) on a miniature course made in a temporary folder.

These tests do not depend on the real notebooks: they check the machinery (execution, cache, release,
grading, site, failure reports, determinism) end to end.
"""

from __future__ import annotations

import csv
import io
import os
import re
import sys
import time
from pathlib import Path

import nbformat
import pytest
from build_support import KERNELSPEC, make_course, read, run, write_notebook
from nbformat.v4 import new_code_cell, new_markdown_cell

from mlcourse.build import BuildOptions, build
from mlcourse.build.cache import code_fingerprint, notebook_key
from mlcourse.build.compare import output_differences
from mlcourse.build.execute import NONDETERMINISTIC_TAG

pytestmark = pytest.mark.slow


def _build(root: Path, **kw) -> tuple[object, str]:
    stream = io.StringIO()
    report = build(BuildOptions(root=root, out=root / "_build", stream=stream, **kw))
    return report, stream.getvalue()


#: The mini course's hidden suite for ``demo`` (its test cell ``test_square``, 2 points), for the engine.
DEMO_SUITE = '''import pytest


@pytest.mark.part("test_square")
def test_square(student):
    """square squares"""
    assert student.square(3) == 9 and student.square(-2) == 4, "square(x) should be x * x"
'''


@pytest.fixture(scope="module")
def course(tmp_path_factory) -> dict:
    """A miniature course built once, with every stage; later tests rebuild it incrementally."""
    root = make_course(tmp_path_factory.mktemp("mini") / "course")
    (root / "autograder" / "demo").mkdir()
    (root / "autograder" / "demo" / "test_square.py").write_text(DEMO_SUITE)
    start = time.perf_counter()
    report, log = _build(root)
    return {"root": root, "out": root / "_build", "report": report, "log": log,
            "seconds": time.perf_counter() - start}


def test_full_build_executes_releases_grades_and_renders(course):
    root, out, log = course["root"], course["out"], course["log"]
    assert course["report"].ok, log
    # a progress line per notebook, with its time
    for rel in ("lectures/01-demo.ipynb", "solutions/demo/demo.ipynb", "solutions/extra/extra.ipynb"):
        assert re.search(rf"\[\d/3\] executed +\d+\.\d s  {re.escape(rel)}", log), log
        executed = read(out / "executed" / rel)
        assert all(c.execution_count for c in executed.cells if c.cell_type == "code")
    lecture = read(out / "executed" / "lectures/01-demo.ipynb")
    assert "0.12573022" in lecture.cells[2].outputs[0].text  # seeded draw, printed
    figure = out / "figures" / "lectures" / "01-demo" / "cell04-1.png"
    assert figure.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and figure.stat().st_size > 1000
    # release: solution replaced by the stub, hidden tests removed
    released = read(root / "assignments" / "demo" / "demo.ipynb")
    assert "raise NotImplementedError()" in released.cells[1].source
    assert "HIDDEN" not in released.cells[2].source and "square(-2)" not in released.cells[2].source
    # grading: course grade, with the mini course's own hidden suite, source notebook and fixtures
    with (out / "demo-course" / "demo" / "grades.csv").open(newline="") as handle:
        grades = {row["student_id"]: row for row in csv.DictReader(handle)}
    assert set(grades) == {"perfect", "wrong"}, grades
    assert float(grades["perfect"]["test_square"]) == 2.0 and float(grades["wrong"]["test_square"]) == 0.0
    assert "== grade: 2 assignments with course grade" in log
    assert "grade extra: no demo submissions in autograder/fixtures/extra/ - skipped" in log
    # site (Sphinx + MyST-NB): index with a table of contents, local MathJax, the figure as an image file
    index = (out / "site" / "index.html").read_text()
    assert 'href="lectures/01-demo.html"' in index and "Demo lecture" in index
    for anchor in ("Sampling", "Containers"):
        assert f'href="lectures/01-demo.html#{anchor.lower()}"' in index, index
    assert 'href="assignments/demo/demo.html"' in index and 'href="assignments/extra/extra.html"' in index
    page = (out / "site" / "lectures" / "01-demo.html").read_text()
    assert 'src="../_static/mathjax/MathJax.js?config=' in page
    images = re.findall(r'<img [^>]*src="\.\./(_images/[^"]+\.png)"', page)
    assert images and (out / "site" / images[0]).read_bytes()[:4] == b"\x89PNG", page
    assert not re.search(r"<script[^>]+src=\"https?:", page), "the site must not load scripts from a CDN"
    assert (out / "site" / "_static" / "mathjax" / "MathJax.js").is_file()
    assignment_page = (out / "site" / "assignments" / "demo" / "demo.html").read_text()
    assert 'src="../../_static/mathjax/MathJax.js' in assignment_page


def test_unchanged_rebuild_only_hashes_and_copies(course):
    root, out = course["root"], course["out"]
    before = {p: p.stat().st_mtime_ns for p in (out / "site").rglob("*.html")}
    start = time.perf_counter()
    report, log = _build(root)
    seconds = time.perf_counter() - start
    assert report.ok, log
    assert [n.status for n in report.notebooks] == ["cached"] * 3, log
    assert "release: demo, extra up to date" in log and "grade demo: up to date" in log, log
    assert "(0 rendered)" in log, log
    assert {p: p.stat().st_mtime_ns for p in (out / "site").rglob("*.html")} == before
    assert seconds < 10, f"unchanged rebuild took {seconds:.1f} s"


def test_markdown_edit_reuses_outputs_and_updates_the_site(course):
    root, out = course["root"], course["out"]
    path = root / "lectures" / "01-demo.ipynb"
    nb = read(path)
    nb.cells[0].source += "\n\nA sentence added later."
    nbformat.write(nb, path)
    report, log = _build(root)
    assert report.ok and report.notebooks[0].status == "cached", log
    assert "A sentence added later." in (out / "site" / "lectures" / "01-demo.html").read_text()
    assert "A sentence added later." in read(out / "executed" / "lectures/01-demo.ipynb").cells[0].source
    assert "(1 rendered)" in log, log


def test_code_edit_reexecutes_only_that_notebook(course):
    root, out = course["root"], course["out"]
    path = root / "lectures" / "01-demo.ipynb"
    nb = read(path)
    nb.cells.append(new_code_cell("print('new cell', 6 * 7)"))
    nbformat.write(nb, path)
    report, log = _build(root)
    statuses = {n.rel: n.status for n in report.notebooks}
    assert statuses == {"lectures/01-demo.ipynb": "executed", "solutions/demo/demo.ipynb": "cached",
                        "solutions/extra/extra.ipynb": "cached"}, log
    assert read(out / "executed" / "lectures/01-demo.ipynb").cells[-1].outputs[0].text == "new cell 42\n"


def test_reference_package_change_reexecutes_everything(course):
    root = course["root"]
    (root / "src" / "mlcourse" / "helpers.py").write_text("ANSWER = 42\n")
    report, log = _build(root, stages=("execute",))
    assert [n.status for n in report.notebooks] == ["executed"] * 3, log
    (root / "src" / "mlcourse" / "build").mkdir()
    (root / "src" / "mlcourse" / "build" / "tool.py").write_text("# the build does not run in kernels\n")
    report, log = _build(root, stages=("execute",))
    assert [n.status for n in report.notebooks] == ["cached"] * 3, log


def test_execution_key_covers_code_tags_and_inputs():
    cells = [new_markdown_cell("# T"), new_code_cell("x = 1", metadata={"tags": ["a"]})]
    nb = nbformat.v4.new_notebook(cells=cells, metadata={"kernelspec": dict(KERNELSPEC)})
    base = {"folder_hash": "f", "package": "p", "environment": "e"}
    key = notebook_key(nb, "lectures/t.ipynb", **base)
    prose = nbformat.from_dict(nb)
    prose.cells[0].source = "# Another title"
    assert notebook_key(prose, "lectures/t.ipynb", **base) == key
    code = nbformat.from_dict(nb)
    code.cells[1].source = "x = 2"
    tags = nbformat.from_dict(nb)
    tags.cells[1].metadata["tags"] = ["b"]
    assert len(code_fingerprint(nb)) == 2
    variants = [notebook_key(code, "lectures/t.ipynb", **base),
                notebook_key(tags, "lectures/t.ipynb", **base),
                notebook_key(nb, "lectures/u.ipynb", **base)]
    variants += [notebook_key(nb, "lectures/t.ipynb", **(base | {k: "changed"})) for k in base]
    assert len({*variants, key}) == len(variants) + 1


def test_failing_cell_fails_the_build_with_notebook_cell_and_traceback(tmp_path):
    root = make_course(tmp_path / "course", assignment=False)
    write_notebook(root / "lectures" / "02-broken.ipynb", [
        new_markdown_cell("# Broken"),
        new_code_cell("def ratio(a, b):\n    return a / b"),
        new_code_cell("ratio(1, 0)"),
        new_code_cell("print('never reached')"),
    ])
    proc = run([sys.executable, "-m", "mlcourse.build", "--root", str(root), "--stages", "execute,site"],
               cwd=root)
    text = proc.stdout + proc.stderr
    assert proc.returncode == 1, text
    assert "lectures/02-broken.ipynb: cell 3 of 4" in text, text
    assert "ZeroDivisionError" in text and "return a / b" in text and "ratio(1, 0)" in text, text
    assert "\x1b[" not in proc.stdout, "tracebacks are plain text when not on a terminal"
    assert "BUILD FAILED" in text and "lectures/01-demo.ipynb" in text  # the other notebook still ran
    partial = read(root / "_build" / "failed" / "lectures" / "02-broken.ipynb")
    assert partial.cells[2].outputs[0].output_type == "error" and not partial.cells[3].outputs
    assert not (root / "_build" / "site" / "index.html").exists(), "no site from a failed build"


def test_two_executions_give_identical_outputs(tmp_path):
    root = make_course(tmp_path / "course", assignment=False)
    _build(root, stages=("execute",))
    a = read(root / "_build" / "executed" / "lectures" / "01-demo.ipynb")
    second, log = _build(root, stages=("execute",), force=True)
    assert second.notebooks[0].status == "executed", log
    b = read(root / "_build" / "executed" / "lectures" / "01-demo.ipynb")
    assert output_differences(a, b) == []
    assert any("image/png" in o.get("data", {}) for c in a.cells for o in c.get("outputs", []))


def test_output_comparison_sees_nondeterminism_unless_the_cell_is_tagged(tmp_path):
    root = make_course(tmp_path / "course", assignment=False, lecture=False)
    cells = [new_code_cell("import os\nprint(os.urandom(8).hex())"), new_code_cell("print(object())")]
    write_notebook(root / "lectures" / "03-random.ipynb", cells)
    _build(root, stages=("execute",))
    a = read(root / "_build" / "executed" / "lectures" / "03-random.ipynb")
    _build(root, stages=("execute",), force=True)
    b = read(root / "_build" / "executed" / "lectures" / "03-random.ipynb")
    assert [d.split(":")[0] for d in output_differences(a, b)] == ["cell 1", "cell 2"]
    for nb in (a, b):
        nb.cells[0].metadata["tags"] = [NONDETERMINISTIC_TAG]
    assert [d.split(":")[0] for d in output_differences(a, b)] == ["cell 2"]


def test_stream_chunks_are_merged_so_flush_timing_does_not_matter(tmp_path):
    root = make_course(tmp_path / "course", assignment=False, lecture=False)
    write_notebook(root / "lectures" / "04-chunks.ipynb", [
        new_code_cell("import sys, time\nprint('first', flush=True)\ntime.sleep(0.3)\nprint('second')"),
        new_code_cell("print('out', flush=True)\nprint('err', file=sys.stderr, flush=True)\n"
                      "time.sleep(0.3)\nprint('more', flush=True)"),
    ])
    report, log = _build(root, stages=("execute",))
    assert report.ok, log
    cells = read(root / "_build" / "executed" / "lectures" / "04-chunks.ipynb").cells
    assert [(o.name, o.text) for o in cells[0].outputs] == [("stdout", "first\nsecond\n")]
    assert [(o.name, o.text) for o in cells[1].outputs] == [("stdout", "out\n"), ("stderr", "err\n"),
                                                            ("stdout", "more\n")]


def test_demo_grading_never_touches_the_course_gradebook_or_course_grade_outputs(tmp_path, monkeypatch):
    """The build's grading (what ``make course`` runs) writes only into its own ``_build/demo-course/``:
    the course root's gradebook, ``autograded/``, ``feedback/`` and ``course grade``'s outputs stay intact."""
    import subprocess as sp

    from mlcourse.build import grade

    root = tmp_path / "course"
    precious = {root / "gradebook.db": b"real grades",
                root / "autograded" / "ann" / "hw1" / "hw1.ipynb": b"{}",
                root / "feedback" / "ann" / "hw1" / "hw1.html": b"<p>",
                root / "grades" / "hw1" / "grades.csv": b"student_id\nann\n",
                root / "_build" / "grades" / "hw1" / "grades.csv": b"student_id\nann\n"}
    for path, data in precious.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    out_dir = grade.demo_course(root / "_build") / "hw1"
    (out_dir / "earlier").mkdir(parents=True)  # a previous build's files are kept, not wiped
    calls = []

    def fake_run(cmd, **kwargs):
        calls.append(cmd)
        (out_dir / "grades.csv").write_text("student_id,score,max_score\ncorrect,10,10\n")
        return sp.CompletedProcess(cmd, 1, "", "")  # 1: some demo submission failed to run (expected)

    monkeypatch.setattr(grade.subprocess, "run", fake_run)
    result = grade.grade_with_engine(root, "hw1", out_dir, workers=2)
    assert result.rows == [{"student_id": "correct", "score": "10", "max_score": "10"}]
    (cmd,) = calls
    at, here = cmd.index("grade"), root.resolve()  # the repository's own demo submissions, source and suite
    assert cmd[at + 1:at + 3] == ["hw1", str(here / "autograder" / "fixtures" / "hw1")]
    assert cmd[cmd.index("--source") + 1] == str(here / "solutions" / "hw1")
    assert cmd[cmd.index("--suite") + 1] == str(here / "autograder" / "hw1")
    assert cmd[cmd.index("--out") + 1] == str(out_dir)
    db = cmd[cmd.index("--db-url") + 1]
    assert db == f"sqlite:///{out_dir.resolve() / 'gradebook.db'}"
    assert "MLCOURSE_DB_URL" not in grade.tool_env()
    assert (out_dir / "earlier").is_dir()
    for path, data in precious.items():
        assert path.read_bytes() == data, path
    with pytest.raises(grade.GradeError):
        monkeypatch.setattr(grade.subprocess, "run", lambda cmd, **kw: sp.CompletedProcess(cmd, 2, "", "bad"))
        grade.grade_with_engine(root, "hw1", out_dir, workers=2)


def test_a_demo_course_graded_with_other_grade_cells_is_moved_aside_not_deleted(tmp_path, monkeypatch):
    """nbgrader cannot change the cells of a graded assignment: the build's scratch course of an assignment
    whose grade cells changed is kept next to a new one (``make course`` after the cells were split)."""
    from nbgrader.api import Gradebook

    from mlcourse.build.grade import retire_if_cells_changed

    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}:{os.environ['PATH']}")  # nbgrader runs alembic
    source = tmp_path / "solutions" / "toy"
    source.mkdir(parents=True)
    cell = new_code_cell("assert True", metadata={"nbgrader": {
        "grade": True, "solution": False, "locked": True, "points": 1, "grade_id": "test_new",
        "schema_version": 3}})
    nbformat.write(nbformat.v4.new_notebook(cells=[cell]), source / "toy.ipynb")
    out = tmp_path / "demo-course" / "toy"
    out.mkdir(parents=True)
    (out / "grades.csv").write_text("student_id,score\nann,1\n")
    with Gradebook(f"sqlite:///{out / 'gradebook.db'}") as gb:
        gb.add_assignment("toy")
        gb.add_notebook("toy", "toy")
        gb.add_grade_cell("test_new", "toy", "toy", max_score=1, cell_type="code")
    assert retire_if_cells_changed(out, "toy", source) is None and out.is_dir()  # same cells: it stays

    cell.metadata["nbgrader"]["grade_id"] = "test_split_a"
    nbformat.write(nbformat.v4.new_notebook(cells=[cell]), source / "toy.ipynb")
    aside = retire_if_cells_changed(out, "toy", source)
    assert aside is not None and not out.exists() and aside.parent == out.parent
    assert aside.name.startswith("toy.replaced-") and (aside / "grades.csv").read_text().endswith("ann,1\n")
    assert retire_if_cells_changed(out, "toy", source) is None  # nothing there any more: nothing to do
