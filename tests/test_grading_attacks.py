"""Adversarial HW2 and HW1 submissions, each assignment's graded end to end in one parallel batch
(:func:`grade_attacks`): exact scores, no leaks, no damage.

The fixtures are ``autograder/fixtures/attacks/<a>/*.ipynb`` (the correct demo submission plus one attack
each, see ``make_attacks.py``); ``expected.json`` holds the score the honest parts deserve. Two HW2 attacks
are built here: a 50 MB output cell and a submission folder without the notebook.
"""

from __future__ import annotations

import csv
import hashlib
import html
import importlib.util
import io
import json
import re
import shutil
import time
import tokenize
from pathlib import Path

import pytest

from autograder.assignments import assignment_names
from autograder.cli import main

ROOT = Path(__file__).resolve().parents[1]
ATTACKS = ROOT / "autograder" / "fixtures" / "attacks" / "hw2"
ATTACKS_HW1 = ATTACKS.parent / "hw1"
LIMITS = ["--call-timeout", "3", "--cell-timeout", "5", "--memory-mb", "1024", "--workers", "2"]

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not (ROOT / "solutions" / "hw2").is_dir()
                                 or not (ROOT / "autograder" / "hw2").is_dir(),
                                 reason="HW2 is not there yet")]


def _builder(folder: Path = ATTACKS):
    spec = importlib.util.spec_from_file_location(f"make_attacks_{folder.name}", folder / "make_attacks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("assignment", [a for a in assignment_names(ROOT)
                                        if (ATTACKS.parent / a / "make_attacks.py").is_file()])
def test_the_attack_fixtures_are_up_to_date(assignment):
    folder = ATTACKS.parent / assignment
    builder = _builder(folder)
    for name, nb in builder.build().items():
        assert (folder / f"{name}.ipynb").read_text(encoding="utf-8") == builder.text_of(nb), \
            f"{name}.ipynb is stale: run python autograder/fixtures/attacks/{assignment}/make_attacks.py"


def _digest(folder: Path) -> str:
    h = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
        h.update(path.as_posix().encode() + path.read_bytes())
    return h.hexdigest()


def _suite_code(assignment: str = "hw2") -> list[str]:
    """Code lines of the hidden suite (strings and comments removed): must never reach a student."""
    lines = []
    for path in sorted((ROOT / "autograder" / assignment).glob("*.py")):
        by_line: dict[int, list[str]] = {}
        for tok in tokenize.generate_tokens(io.StringIO(path.read_text()).readline):
            if tok.type in (tokenize.NAME, tokenize.OP, tokenize.NUMBER):
                by_line.setdefault(tok.start[0], []).append(tok.string)
        for parts in by_line.values():
            text = " ".join(parts)
            if len(parts) >= 6 and not text.startswith(("import", "from", "def ", "class ", "@")):
                lines.append(text)
    return lines


def _text(page: str) -> str:
    page = re.sub(r"(?s)<(style|script)\b.*?</\1>", " ", page)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


def _code_tokens(text: str) -> str:
    return " ".join(re.findall(r"[A-Za-z_][A-Za-z0-9_]*|\d+(?:\.\d+)?|[^\sA-Za-z0-9_]", text))


def grade_attacks(tmp_path_factory, assignment: str, *options: str,
                  extra: dict[str, dict[str, str]] | None = None) -> dict:
    """Grade every attack fixture of ``assignment`` (plus ``extra``: student -> {file name: text}) as the
    ``submitted/`` folder of one course, with ``LIMITS`` and ``options``, in one ``course grade`` batch."""
    base = tmp_path_factory.mktemp(f"attacks-{assignment}")
    submitted = base / "course" / "submitted"
    for path in sorted((ATTACKS.parent / assignment).glob("*.ipynb")):
        folder = submitted / path.stem / assignment
        folder.mkdir(parents=True)
        shutil.copy(path, folder / f"{assignment}.ipynb")
    for student, files in (extra or {}).items():
        (submitted / student / assignment).mkdir(parents=True)
        for file_name, text in files.items():
            (submitted / student / assignment / file_name).write_text(text)
    before = {"solutions": _digest(ROOT / "solutions"), "suite": _digest(ROOT / "autograder" / assignment),
              "submissions": _digest(submitted)}
    out = base / "out"
    start = time.monotonic()
    code = main(["grade", assignment, str(base / "course"), "--out", str(out), *LIMITS, *options])
    return {"code": code, "out": out, "submitted": submitted, "before": before, "base": base,
            "seconds": time.monotonic() - start}


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    """HW2's attacks, and two built here: a 50 MB output cell and a submission folder without the notebook."""
    return grade_attacks(tmp_path_factory, "hw2", extra={
        "huge_output": {"hw2.ipynb": json.dumps(_builder().huge_output(50))},
        "missing_notebook": {"README.txt": "oops"}})


def _rows(out: Path) -> dict[str, dict[str, str]]:
    with (out / "grades.csv").open(newline="") as handle:
        return {row["student_id"]: row for row in csv.DictReader(handle)}


def _expected(folder: Path) -> dict[str, dict]:
    """The expected results of a folder of fixtures (``expected.json``, without its ``_`` notes)."""
    data = json.loads((folder / "expected.json").read_text())
    return {k: v for k, v in data.items() if not k.startswith("_")}


def _full_marks(assignment: str) -> dict[str, float]:
    """Grade cell -> the points of the correct demo submission of ``assignment``."""
    correct = _expected(ROOT / "autograder" / "fixtures" / assignment)["correct"]
    return {cell: float(points) for cell, points in correct.items()}


EXPECTED = _expected(ATTACKS)
EXPECTED_HW1 = _expected(ATTACKS_HW1)


def test_the_batch_finishes_and_grades_or_reports_every_submission(batch):
    assert batch["code"] == 1  # invalid_json and missing_notebook fail to run, on purpose
    assert set(_rows(batch["out"])) == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_attack_scores_exactly_what_its_honest_parts_deserve(batch, name):
    spec = EXPECTED[name]
    row = _rows(batch["out"])[name]
    full = _full_marks("hw2")
    assert float(row["score"]) == spec["score"], row
    assert row["status"] == spec.get("status", "graded"), row
    if "lost" in spec:
        lost = {c: float(row[c]) for c in full if float(row[c]) != full[c]}
        assert lost == spec["lost"], row
    assert spec["reason"] in row["reason"], row["reason"]
    assert "\n" not in row["reason"]
    if float(row["score"]) < sum(full.values()):  # every failure has a one-line reason
        assert row["reason"]


def test_every_failure_is_explained_in_the_feedback(batch):
    rows = _rows(batch["out"])
    for name, row in rows.items():
        page = batch["out"] / "feedback" / name / "hw2" / "hw2.html"
        assert page.is_file(), name
        if row["reason"]:
            first = row["reason"].split(" (+")[0][:80]
            assert first in _text(page.read_text()), (name, first)
        result = json.loads((batch["out"] / name / "results.json").read_text())
        assert result["score"] == float(row["score"]) and result["max_score"] == 85


def test_nothing_leaks_to_students(batch):
    out = batch["out"]
    notebooks = [ROOT / "solutions" / "hw2" / "hw2.ipynb", *ATTACKS.glob("*.ipynb")]
    public = " ".join(_code_tokens("".join(c["source"]) if isinstance(c["source"], list) else c["source"])
                      for path in notebooks if path.stem != "invalid_json"
                      for c in json.loads(path.read_text())["cells"])
    code = [line for line in map(_code_tokens, _suite_code()) if line not in public]  # the suite's own code
    assert len(code) > 20
    student_facing = [p for p in out.rglob("*") if p.is_file() and (p.suffix in (".html", ".csv", ".txt")
                                                                      or p.name == "results.json")]
    for path in student_facing:
        text = path.read_text(errors="replace")
        flat = _code_tokens(_text(text) if path.suffix == ".html" else text)
        for line in code:
            assert line not in flat, (path, line)
        assert "BEGIN HIDDEN TESTS" not in text and "hidden_score(" not in text, path
    # What the student's code said (outputs) never shows: only the engine's lines are in the test cells.
    autograded = out / "nbgrader" / "autograded"
    for notebook in autograded.rglob("*.ipynb"):
        for cell in json.loads(notebook.read_text())["cells"]:
            for output in cell.get("outputs", []):
                text = json.dumps(output)
                assert "LEAKED" not in text and "All tests passed" not in text, notebook
                assert "85/85" not in text, notebook
                assert "BEGIN SOLUTION" not in text and "PWNED" not in text, notebook
                assert "visible tests for softmax passed" not in text, notebook
    graded = {name for name, row in _rows(out).items() if row["status"] == "graded"}
    assert {p.name for p in autograded.iterdir()} == graded  # nbgrader's bookkeeping took even tampered ones
    fake = json.loads((autograded / "fake_output" / "hw2" / "hw2.ipynb").read_text())
    softmax = next(c for c in fake["cells"]
                   if c["metadata"].get("nbgrader", {}).get("grade_id") == "test_softmax_values")
    text = softmax["outputs"][0]["text"]
    assert ("".join(text) if isinstance(text, list) else text).startswith("✗ ")


def test_nothing_outside_the_sandbox_was_changed(batch):
    from nbgrader.api import Gradebook

    before = batch["before"]
    assert _digest(ROOT / "solutions") == before["solutions"]
    assert _digest(ROOT / "autograder" / "hw2") == before["suite"]
    assert _digest(batch["submitted"]) == before["submissions"]
    assert not list(batch["base"].rglob("PWNED*")) and not (ROOT / "PWNED.txt").exists()
    rows = _rows(batch["out"])
    cells = [c for c in next(iter(rows.values())) if c.startswith("test_")]
    with Gradebook(f"sqlite:///{batch['out'] / 'gradebook.db'}", "mlcourse") as gb:
        for name, row in rows.items():
            for cell in cells:
                assert gb.find_grade(cell, "hw2", "hw2", name).auto_score == float(row[cell]), (name, cell)
            assert gb.find_submission("hw2", name).score == float(row["score"]), name


def test_regrading_gives_identical_results_with_one_worker(batch, tmp_path):
    """Unseeded randomness and time-outs do not make results depend on the run or the worker count."""
    subset = tmp_path / "submitted"
    for name in ("unseeded_randomness", "infinite_loop", "lying_objects"):
        shutil.copytree(batch["submitted"] / name, subset / name)
    out = tmp_path / "out"
    limits = [a for a in LIMITS if a not in ("--workers", "2")]
    assert main(["grade", "hw2", str(subset), "--out", str(out), "--workers", "1", "--no-nbgrader", "--quiet",
                 *limits]) == 0
    for name in ("unseeded_randomness", "infinite_loop", "lying_objects"):
        assert (out / name / "results.json").read_text() == \
            (batch["out"] / name / "results.json").read_text(), name


# ------------------------------------------------------------------------------------------------ HW1
# Attacks on the places where a verdict could be computed within the student's reach: checks run in the
# student's namespace, call counts kept where the student's code can reach them, hidden tests on the stack,
# and a worker that lies about its progress (see autograder/fixtures/attacks/hw1/make_attacks.py).
#: Each submission's grading budget: count_tamper (gc.get_objects() in every derivative call) needs ~13 s of
#: it on an idle machine, so 50 s leaves room for a loaded one, and still ends slow_cells long before the
#: 112 s its cells ask for.
SUBMISSION_BUDGET = 50


@pytest.fixture(scope="module")
def batch_hw1(tmp_path_factory):
    return grade_attacks(tmp_path_factory, "hw1", "--submission-timeout", str(SUBMISSION_BUDGET), "--quiet")


@pytest.mark.parametrize("name", sorted(EXPECTED_HW1))
def test_each_hw1_attack_scores_exactly_what_its_honest_parts_deserve(batch_hw1, name):
    spec = EXPECTED_HW1[name]
    row = _rows(batch_hw1["out"])[name]
    full = _full_marks("hw1")
    lost = {c: float(row[c]) for c in full if float(row[c]) != full[c]}
    assert (float(row["score"]), lost) == (spec["score"], spec["lost"]), row
    assert spec["reason"] in row["reason"], row["reason"]


def test_the_submission_budget_bounds_a_notebook_that_stalls_while_loading(batch_hw1):
    """slow_cells sleeps 8 x 14 s (each cell under its own limit): the load must stop at the submission's
    budget, so the whole batch ends long before the 112 s the cells ask for."""
    assert batch_hw1["code"] in (0, 1)
    assert batch_hw1["seconds"] < SUBMISSION_BUDGET + 40


def test_nothing_of_the_hw1_suite_reaches_a_student(batch_hw1):
    """stack_leak raises exceptions built from everything on the worker's stack and in its memory: the
    hidden tests never run there, so no line of them can be in what the student sees."""
    code = [line for line in map(_code_tokens, _suite_code("hw1"))]
    assert len(code) > 20
    leak = batch_hw1["out"] / "stack_leak"
    pages = [*leak.rglob("*.json"), *(batch_hw1["out"] / "feedback" / "stack_leak").rglob("*.html")]
    assert pages
    for path in pages:
        text = path.read_text(errors="replace")
        assert "LEAK" in text  # the student's own message is shown to them ...
        flat = _code_tokens(_text(text) if path.suffix == ".html" else text)
        for line in code:  # ... but nothing of the hidden suite is in it
            assert line not in flat, (path, line)
        for fragment in ("m.sin(t)", "m.log(1.0 + t * t)", "calls.append", "type(x)(", '__import__("math")'):
            assert fragment not in text, (path, fragment)
