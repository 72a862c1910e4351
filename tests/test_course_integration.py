"""``course grade`` inside a real nbgrader course, end to end, with nbgrader's own exchange and tools.

An instructor's course in a temporary folder: ``nbgrader generate_assignment``/``release_assignment``,
three students ``fetch_assignment`` and ``submit`` (each with their own HOME), ``collect``; then
``course grade hw1`` in the course root, and nbgrader's unchanged tools on the result: ``export``, manual
grading through the Gradebook API, ``generate_feedback``, ``release_feedback``, ``fetch_feedback``. Finally
the build's demo grading (what ``make course`` runs) and a forced regrade must leave every grade where it
was.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from mlcourse.build import grade as build_grade
from mlcourse.build.release import tool_env

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "autograder" / "fixtures" / "hw1"
STUDENTS = {"ann": "correct.ipynb", "ben": "product_rule_wrong.ipynb", "cat": None}  # None: the release as is
PNG = base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\0" * 32).decode()


def run(cmd: list[str], cwd: Path, home: Path | None = None, ok: tuple[int, ...] = (0,)) -> str:
    env = tool_env()
    if home is not None:
        env["HOME"] = str(home)
        env["JUPYTER_DATA_DIR"] = str(home / ".jupyter-data")
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=600, check=False)
    assert proc.returncode in ok, f"{cmd} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout + proc.stderr


def nbgrader(*args: str, cwd: Path, home: Path | None = None) -> str:
    return run([sys.executable, "-m", "nbgrader", *args], cwd, home)


def course_grade(*args: str, cwd: Path, ok: tuple[int, ...] = (0, 1)) -> str:
    return run([sys.executable, "-m", "autograder.cli", "grade", *args], cwd, ok=ok)


def _with_plot(notebook: dict) -> dict:
    """The student's notebook with a plot (and a script that must never reach graders) in the hand-graded
    ``error_plot`` cell."""
    for cell in notebook["cells"]:
        if cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") == "error_plot":
            cell["outputs"] = [{"output_type": "display_data", "metadata": {},
                                "data": {"image/png": PNG, "text/html": "<script>alert('x')</script>",
                                         "text/plain": "<Figure>"}}]
    return notebook


def _gradebook(course: Path):
    from nbgrader.api import Gradebook

    return Gradebook(f"sqlite:///{course / 'gradebook.db'}", "ml101")


def _formgrader_pages(course: Path) -> dict[str, str]:
    """Every student's manual-grading page of hw1, as formgrader serves it from a real Jupyter server on
    localhost in the course folder (the page that answered HTTP 500 when the engine graded beside the
    course)."""
    import os
    import socket
    import time
    import urllib.request

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    token = "course-integration"
    cmd = [sys.executable, "-m", "jupyter", "server", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
           f"--ServerApp.token={token}", f"--ServerApp.root_dir={course}"]
    if os.geteuid() == 0:
        cmd.append("--allow-root")
    server = subprocess.Popen(cmd, cwd=course, env=tool_env(), stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)

    def get(path: str) -> str:
        url = f"http://127.0.0.1:{port}/{path}?token={token}"
        with urllib.request.urlopen(url, timeout=30) as response:  # raises for HTTP 500
            return response.read().decode()

    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                listing = json.loads(get("formgrader/api/submitted_notebooks/hw1/hw1"))
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise
                time.sleep(0.5)
        return {entry["student"]: get(f"formgrader/submissions/{entry['id']}/") for entry in listing}
    finally:
        server.terminate()
        server.wait(timeout=30)


def _everything(course: Path) -> dict:
    """Every score, comment and extra credit of hw1 in the gradebook."""
    with _gradebook(course) as gb:
        data = {}
        for student in STUDENTS:
            for nb in gb.find_assignment("hw1").notebooks:
                for cell in nb.grade_cells:
                    g = gb.find_grade(cell.name, nb.name, "hw1", student)
                    data[(student, cell.name)] = (g.auto_score, g.manual_score, g.extra_credit)
                for cell in nb.solution_cells:
                    c = gb.find_comment(cell.name, nb.name, "hw1", student)
                    data[(student, cell.name, "comment")] = c.manual_comment
        return data


def test_grading_inside_an_nbgrader_course_keeps_every_grade(tmp_path):
    course, exchange = tmp_path / "course", tmp_path / "exchange"
    (course / "source").mkdir(parents=True)
    shutil.copytree(ROOT / "solutions" / "hw1", course / "source" / "hw1")
    (course / "nbgrader_config.py").write_text(
        "c = get_config()\n"
        "c.CourseDirectory.course_id = 'ml101'\n"
        f"c.Exchange.root = {str(exchange)!r}\n")
    nbgrader("generate_assignment", "hw1", "--force", cwd=course)
    nbgrader("release_assignment", "hw1", cwd=course)
    flags = ["--course=ml101", f"--Exchange.root={exchange}"]
    for student, fixture in STUDENTS.items():
        home = tmp_path / "home" / student
        home.mkdir(parents=True)
        nbgrader("fetch_assignment", "hw1", *flags, cwd=home, home=home)
        mine = home / "hw1" / "hw1.ipynb"
        notebook = json.loads((FIXTURES / fixture).read_text() if fixture else mine.read_text())
        mine.write_text(json.dumps(_with_plot(notebook) if student == "ann" else notebook))
        nbgrader("submit", "hw1", *flags, f"--student={student}", cwd=home, home=home)
    nbgrader("collect", "hw1", cwd=course)
    for student in STUDENTS:
        assert (course / "submitted" / student / "hw1" / "submission_secret.txt").is_file()

    # Grade in the course root: the course's submitted/, gradebook, autograded/ and feedback/.
    course_grade("hw1", "--workers", "2", "--quiet", cwd=course)
    for student in STUDENTS:
        folder = course / "autograded" / student / "hw1"
        for name in ("hw1.ipynb", "timestamp.txt", "submission_secret.txt"):
            assert (folder / name).is_file(), (student, name)
        assert (folder / "submission_secret.txt").read_text() == \
            (course / "submitted" / student / "hw1" / "submission_secret.txt").read_text()
        assert (course / "feedback" / student / "hw1" / "hw1.html").is_file()
    autograded = json.loads((course / "autograded" / "ann" / "hw1" / "hw1.ipynb").read_text())
    plot = next(c for c in autograded["cells"]
                if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") == "error_plot")
    data = {k: "".join(v) if isinstance(v, list) else v for k, v in plot["outputs"][0]["data"].items()}
    assert data == {"image/png": PNG, "text/plain": "<Figure>"}  # the plot, never the HTML/script
    out = course / "grades" / "hw1"
    with (out / "grades.csv").open(newline="") as handle:
        table = {r["student_id"]: r for r in csv.DictReader(handle)}
    full = float(table["ann"]["max_score"])
    assert float(table["ann"]["score"]) == full and table["cat"]["score"] == "0"
    assert 0 < float(table["ben"]["score"]) < full
    summary = json.loads((out / "summary.json").read_text())
    assert summary["state"] == "finished" and summary["counts"] == {"graded": 3}
    key = json.loads((out / ".course-grade-state.json").read_text())["key"]
    course_grade("hw1", "--workers", "2", "--quiet", cwd=course)  # nothing changed: nothing regraded
    if json.loads((out / ".course-grade-state.json").read_text())["key"] == key:  # (unless someone edited
        assert json.loads((out / "summary.json").read_text())["counts"] == {"unchanged": 3}  # the grader)
    assert not (out / "gradebook.db").exists() and not (out / "nbgrader").exists() \
        and not (out / "feedback").exists(), "inside a course, --out holds only the engine's own files"

    # formgrader (a real Jupyter server) shows every student's manual-grading page, with the plot to grade
    pages = _formgrader_pages(course)
    assert set(pages) == set(STUDENTS)
    assert PNG in pages["ann"] and "alert('x')" not in pages["ann"]
    assert not any("BEGIN HIDDEN TESTS" in page or "hidden_score" in page for page in pages.values())

    # nbgrader's own export sees the grades.
    nbgrader("export", "--to=export.csv", cwd=course)
    with (course / "export.csv").open(newline="") as handle:
        exported = {r["student_id"]: float(r["score"]) for r in csv.DictReader(handle)}
    assert exported["ann"] >= full and set(exported) == set(STUDENTS)

    # A grader's work in formgrader, through nbgrader's Gradebook API.
    with _gradebook(course) as gb:
        gb.find_grade("error_plot", "hw1", "hw1", "ann").manual_score = 2.5
        gb.find_grade("test_newton_converges", "hw1", "hw1", "ann").extra_credit = 1.0
        gb.find_grade("test_dual_product", "hw1", "hw1", "ben").manual_score = 3.0
        gb.find_comment("explain_v_shape", "hw1", "hw1", "ann").manual_comment = "Clear explanation."
        gb.db.commit()
    before = _everything(course)
    assert before[("ann", "error_plot")][1] == 2.5
    assert before[("ann", "test_newton_converges")][1:] == (None, 1.0)

    # Feedback with nbgrader's unchanged commands, back to a student.
    nbgrader("generate_feedback", "hw1", "--force", cwd=course)
    nbgrader("release_feedback", "hw1", cwd=course)
    home = tmp_path / "home" / "ann"
    nbgrader("fetch_feedback", "hw1", *flags, "--student=ann", cwd=home, home=home)
    fetched = list((home / "hw1" / "feedback").glob("*/hw1.html"))
    assert fetched and "Clear explanation." in fetched[0].read_text()

    # The build's demo grading (make course) touches nothing of the course; a regrade keeps every grade.
    digest = hashlib.sha256((course / "gradebook.db").read_bytes()).hexdigest()
    build_dir = tmp_path / "build"
    result = build_grade.grade_with_engine(ROOT, "hw1", build_grade.demo_course(build_dir) / "hw1", workers=2)
    assert result.rows and hashlib.sha256((course / "gradebook.db").read_bytes()).hexdigest() == digest
    assert _everything(course) == before

    course_grade("hw1", "--force", "--workers", "2", "--quiet", cwd=course)
    assert _everything(course) == before
    with (out / "final_grades.csv").open(newline="") as handle:
        final = {r["student_id"]: r for r in csv.DictReader(handle)}
    assert final["ann"]["error_plot:manual"] == "2.5" and final["ann"]["test_newton_converges:extra"] == "1"
    assert float(final["ann"]["score"]) == pytest.approx(full + 1 + 2.5)  # auto + extra credit + manual
    assert final["ann"]["late"] == "no" and final["ann"]["timestamp"]
