"""How submissions are found and who they belong to (``autograder/engine/inputs.py``), and which notebooks are
refused before grading (``autograder/engine/notebooks.py``). Every fixture is built in a temporary folder."""

from __future__ import annotations

import json
import os
import stat
import threading
import time
import unicodedata
import zipfile
from pathlib import Path

import pytest

from autograder.engine import inputs
from autograder.engine.inputs import Submission, discover, is_safe_id, nbgrader_id_problem, safe_extract
from autograder.engine.notebooks import (
    Assignment,
    NotebookProblem,
    for_nbgrader,
    load_assignment,
    parse_submission,
    submission_code,
)

HW2 = Assignment("hw2", "", ["hw2"], [])
NOTEBOOK = json.dumps({"cells": [{"cell_type": "code", "source": "x = 1", "metadata": {}, "outputs": []}],
                       "metadata": {}, "nbformat": 4, "nbformat_minor": 5})


def _write(path: Path, text: str = NOTEBOOK) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def _find(path: Path, tmp_path: Path, assignment: Assignment = HW2) -> list[Submission]:
    return discover(path, assignment, tmp_path / "scratch")


def _by_name(found: list[Submission]) -> dict[str, Submission]:
    return {s.display_name: s for s in found}


def _graded(sub: Submission) -> bool:
    return all(p is not None for p in sub.notebooks.values()) and bool(sub.notebooks)


def _refused(sub: Submission) -> bool:
    return all(p is None for p in sub.notebooks.values()) and bool(sub.problems)


def _notebook(cells: list[dict], metadata: dict | None = None) -> dict:
    return {"cells": cells, "metadata": metadata or {}, "nbformat": 4, "nbformat_minor": 5}


def _cell(source: str = "", grade_id: str | None = None, **meta) -> dict:
    nbgrader = {"grade_id": grade_id, "grade": False, "solution": True, **meta}
    metadata = {"nbgrader": nbgrader} if grade_id else {}
    return {"cell_type": "code", "source": source, "metadata": metadata, "outputs": [],
            "execution_count": None}


# ------------------------------------------------------------------------------------- rule 1: nbgrader ids
def test_nbgrader_student_ids_are_never_rewritten(tmp_path):
    names = ["müller", "a b", "a+b", "a-b", "Alice", "alice", "x!", "O'Brien"]
    for name in names:
        _write(tmp_path / "course" / "submitted" / name / "hw2" / "hw2.ipynb")
    found = _find(tmp_path / "course", tmp_path)
    assert sorted(s.student for s in found) == sorted(names)
    assert all(s.student == s.display_name and _graded(s) and not s.problems for s in found)


@pytest.mark.parametrize("name", ["", ".", "..", "a/b", "a\x00b"])
def test_ids_nbgrader_cannot_use_in_paths_are_refused(name):
    assert nbgrader_id_problem(name)


@pytest.mark.parametrize("name", ["alice", "a b", "müller", "-x", ".x", "a+b"])
def test_ordinary_nbgrader_ids_are_accepted(name):
    assert nbgrader_id_problem(name) is None


# ------------------------------------------------------------------------------------- rule 2: derived ids
def test_safe_names_are_kept_including_unicode_letters(tmp_path):
    for name in ("müller", "José_García", "李雷", "s1234567", "anne.marie"):
        _write(tmp_path / "flat" / f"{name}.ipynb")
    found = _find(tmp_path / "flat", tmp_path)
    assert sorted(s.student for s in found) == sorted(["müller", "José_García", "李雷", "s1234567",
                                                       "anne.marie"])
    assert all(s.display_name == f"{s.student}.ipynb" for s in found)


def test_an_unsafe_name_cannot_take_another_students_id(tmp_path):
    flat = tmp_path / "flat"
    _write(flat / "alice.ipynb", NOTEBOOK.replace("x = 1", "x = 'alice'"))
    _write(flat / "alice!.ipynb")
    found = _by_name(_find(flat, tmp_path))
    assert found["alice.ipynb"].student == "alice"
    assert found["alice.ipynb"].notebooks["hw2"] == flat / "alice.ipynb"
    impostor = found["alice!.ipynb"].student
    assert impostor not in ("alice", "alice-2", "alice-")
    assert found["alice!.ipynb"].notebooks["hw2"] == flat / "alice!.ipynb"
    # the same name gets the same id on every run, whatever else is in the folder
    again = tmp_path / "again"
    _write(again / "alice!.ipynb")
    assert _find(again, tmp_path)[0].student == impostor
    # ... and a file named like that id cannot take it either: nobody ever gets another's id
    _write(again / f"{impostor}.ipynb")
    both = _by_name(_find(again, tmp_path))
    assert both["alice!.ipynb"].student == impostor
    assert both[f"{impostor}.ipynb"].student != impostor


def test_names_that_sanitise_alike_get_distinct_ids_and_a_safe_name_keeps_its_own(tmp_path):
    for name in ("a b", "a+b", "a-b", "a--b"):
        _write(tmp_path / "flat" / f"{name}.ipynb")
    found = _by_name(_find(tmp_path / "flat", tmp_path))
    assert found["a-b.ipynb"].student == "a-b" and found["a--b.ipynb"].student == "a--b"
    ids = [s.student for s in found.values()]
    assert len(set(ids)) == 4
    assert found["a b.ipynb"].student not in ("a-b", "a-b-2", "a--b")
    assert found["a+b.ipynb"].student not in ("a-b", "a-b-2", "a--b")
    assert all(_graded(s) for s in found.values())


def test_derived_ids_are_usable_in_paths():
    for name in ("a/b", "..", "x\x00y", "   ", "😀", "con:"):
        taken: set[str] = set()
        derived = inputs.derived_id(name, taken)
        assert derived and "/" not in derived and "\x00" not in derived and derived not in (".", "..")
        assert not is_safe_id(derived)  # so no plain name can ever be equal to it


@pytest.mark.parametrize("first, second", [
    ("Alice", "alice"),
    ("müller", unicodedata.normalize("NFD", "müller")),
    ("ﬁsh", "fish"),  # NFKC folds the ligature
])
def test_names_differing_only_by_case_or_unicode_form_are_both_refused(tmp_path, first, second):
    assert first != second
    flat = tmp_path / "flat"
    _write(flat / f"{first}.ipynb")
    _write(flat / f"{second}.ipynb")
    _write(flat / "bob.ipynb")
    found = _by_name(_find(flat, tmp_path))
    assert found["bob.ipynb"].student == "bob" and _graded(found["bob.ipynb"])
    for name in (first, second):
        sub = found[f"{name}.ipynb"]
        assert _refused(sub)
        assert repr(f"{first}.ipynb") in sub.problems[0] and repr(f"{second}.ipynb") in sub.problems[0]
    assert found[f"{first}.ipynb"].student != found[f"{second}.ipynb"].student


def test_student_folders_keep_safe_unicode_names(tmp_path):
    _write(tmp_path / "folders" / "müller" / "work" / "hw2.ipynb")
    _write(tmp_path / "folders" / "ann lee" / "hw2.ipynb")
    found = _by_name(_find(tmp_path / "folders", tmp_path))
    assert found["müller"].student == "müller" and _graded(found["müller"])
    assert found["ann lee"].student not in ("ann lee", "ann-lee") and _graded(found["ann lee"])


# ------------------------------------------------------------------------------------- rule 4: links etc.
def test_a_link_to_the_instructors_notebook_is_refused_and_never_read(tmp_path):
    secret = _write(tmp_path / "solutions" / "hw2.ipynb", NOTEBOOK.replace("x = 1", "SOLUTION = 42"))
    flat = tmp_path / "flat"
    _write(flat / "alice.ipynb")
    (flat / "mallory.ipynb").symlink_to(secret)
    found = _by_name(_find(flat, tmp_path))
    mallory = found["mallory.ipynb"]
    assert mallory.student == "mallory" and _refused(mallory)
    assert "mallory.ipynb is a symbolic link; links are not followed" in mallory.problems[0]
    assert all(p is None or not p.is_symlink() for s in found.values() for p in s.notebooks.values())
    assert _graded(found["alice.ipynb"])


def test_links_are_refused_in_every_layout_and_at_any_depth(tmp_path):
    outside = tmp_path / "outside"
    secret = _write(outside / "hw2.ipynb")
    course = tmp_path / "course" / "submitted"
    _write(course / "alice" / "hw2" / "hw2.ipynb")
    (course / "bob" / "hw2").mkdir(parents=True)
    (course / "bob" / "hw2" / "hw2.ipynb").symlink_to(secret)
    (course / "carol").mkdir()
    (course / "carol" / "hw2").symlink_to(outside, target_is_directory=True)
    (course / "dave").symlink_to(tmp_path / "outside", target_is_directory=True)
    _write(course / "erin" / "hw2" / "hw2.ipynb")
    (course / "erin" / "hw2" / "data").mkdir()
    (course / "erin" / "hw2" / "data" / "x.csv").symlink_to("/etc/passwd")
    found = _by_name(_find(tmp_path / "course", tmp_path))
    assert sorted(s.student for s in found.values()) == ["alice", "bob", "carol", "dave", "erin"]
    assert _graded(found["alice"]) and not found["alice"].problems
    for name, label in (("bob", "bob/hw2/hw2.ipynb"), ("carol", "carol/hw2"), ("dave", "dave")):
        assert _refused(found[name]), name
        assert f"{label} is a symbolic link" in found[name].problems[0]
    assert _graded(found["erin"])
    assert any("erin/hw2/data/x.csv is a symbolic link" in p for p in found["erin"].problems)


def test_a_linked_student_folder_is_refused_in_a_folder_per_student(tmp_path):
    _write(tmp_path / "outside" / "hw2.ipynb")
    folders = tmp_path / "folders"
    _write(folders / "alice" / "hw2.ipynb")
    (folders / "mallory").symlink_to(tmp_path / "outside", target_is_directory=True)
    (folders / "bob").mkdir()
    (folders / "bob" / "hw2.ipynb").symlink_to(tmp_path / "outside" / "hw2.ipynb")
    found = _by_name(_find(folders, tmp_path))
    assert _graded(found["alice"])
    assert _refused(found["mallory"]) and "symbolic link" in found["mallory"].problems[0]
    assert found["bob"].notebooks["hw2"] is None
    assert "bob/hw2.ipynb is a symbolic link" in found["bob"].problems[0]


def _discover_with_deadline(path: Path, tmp_path: Path, seconds: float = 20.0) -> list[Submission]:
    """Reading a FIFO would block forever: run discovery in a thread and fail if it does not return."""
    box: dict = {}
    thread = threading.Thread(target=lambda: box.setdefault("found", _find(path, tmp_path)), daemon=True)
    thread.start()
    thread.join(seconds)
    assert "found" in box, "discover() blocked (it opened a FIFO)"
    return box["found"]


def test_fifos_are_refused_not_read(tmp_path):
    flat = tmp_path / "flat"
    _write(flat / "alice.ipynb")
    os.mkfifo(flat / "pipe.ipynb")
    found = _by_name(_discover_with_deadline(flat, tmp_path))
    assert _refused(found["pipe.ipynb"]) and "pipe.ipynb is a named pipe" in found["pipe.ipynb"].problems[0]
    course = tmp_path / "course" / "submitted"
    _write(course / "bob" / "hw2" / "hw2.ipynb")
    os.mkfifo(course / "bob" / "hw2" / "timestamp.txt")
    os.mkfifo(course / "bob" / "hw2" / "extra.ipynb")
    bob = _discover_with_deadline(tmp_path / "course", tmp_path)[0]
    assert _graded(bob) and bob.timestamp is None
    assert any("bob/hw2/timestamp.txt is a named pipe" in p for p in bob.problems)
    assert any("bob/hw2/extra.ipynb is a named pipe" in p for p in bob.problems)


def test_hidden_files_are_reported_never_skipped_silently(tmp_path):
    flat = tmp_path / "flat"
    _write(flat / "alice.ipynb")
    _write(flat / ".carol.ipynb")
    found = _by_name(_find(flat, tmp_path))
    assert _refused(found[".carol.ipynb"]) and "starts with '.'" in found[".carol.ipynb"].problems[0]
    assert found[".carol.ipynb"].student not in ("alice", ".carol", "")

    folders = tmp_path / "folders"
    _write(folders / "bob" / ".hw2.ipynb")
    _write(folders / "dan" / "hw2.ipynb")
    _write(folders / "dan" / ".ipynb_checkpoints" / "hw2-checkpoint.ipynb")
    _write(folders / "__MACOSX" / "dan" / "._hw2.ipynb")
    _write(folders / ".notes.txt", "x")
    found = _find(folders, tmp_path)
    subs = _by_name(found)
    assert set(subs) == {"bob", "dan"}
    assert subs["bob"].notebooks["hw2"] is None
    assert any("bob/.hw2.ipynb" in p and "starts with '.'" in p for p in subs["bob"].problems)
    assert _graded(subs["dan"]) and subs["dan"].notebooks["hw2"] == folders / "dan" / "hw2.ipynb"
    assert subs["dan"].problems == []  # checkpoints and __MACOSX are the only silent skips
    assert any(".notes.txt" in w for w in found.warnings)


# ------------------------------------------------------------------------------------- rule 5: zips
def _link_member(zf: zipfile.ZipFile, name: str, target: str) -> None:
    info = zipfile.ZipInfo(name)
    info.create_system = 3
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    zf.writestr(info, target)


def test_a_hostile_zip_member_costs_only_that_member(tmp_path):
    archive = tmp_path / "export.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("alice/hw2.ipynb", NOTEBOOK)
        zf.writestr("bob/hw2.ipynb", NOTEBOOK)
        zf.writestr("bob/../../evil.ipynb", NOTEBOOK)
        zf.writestr("/abs/evil.ipynb", NOTEBOOK)
        zf.writestr("C:/evil.ipynb", NOTEBOOK)
        zf.writestr("carol/../../../evil.ipynb", NOTEBOOK)
    scratch = tmp_path / "deep" / "scratch"
    found = discover(archive, HW2, scratch)
    subs = _by_name(found)
    assert _graded(subs["alice"]) and not subs["alice"].problems
    assert _graded(subs["bob"]) and any("unsafe path" in p for p in subs["bob"].problems)
    assert _refused(subs["carol"]) and "unsafe path" in subs["carol"].problems[0]
    assert sum("unsafe path" in w for w in found.warnings) == 2
    assert not list(tmp_path.rglob("evil.ipynb"))
    assert not Path("/abs/evil.ipynb").exists()


def test_a_symlink_member_of_a_zip_is_refused(tmp_path):
    archive = tmp_path / "export.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("alice/hw2.ipynb", NOTEBOOK)
        _link_member(zf, "carol/hw2.ipynb", "/work/main/solutions/hw2/hw2.ipynb")
    subs = _by_name(_find(archive, tmp_path))
    assert _graded(subs["alice"])
    assert _refused(subs["carol"]) and "symbolic link" in subs["carol"].problems[0]
    assert not any(p.is_symlink() for p in (tmp_path / "scratch").rglob("*"))

    flat = tmp_path / "flat.zip"
    with zipfile.ZipFile(flat, "w") as zf:
        zf.writestr("alice.ipynb", NOTEBOOK)
        _link_member(zf, "dave.ipynb", "../../solutions/hw2/hw2.ipynb")
    subs = _by_name(_find(flat, tmp_path))
    assert _graded(subs["alice.ipynb"])
    assert subs["dave.ipynb"].student == "dave" and _refused(subs["dave.ipynb"])
    assert "symbolic link" in subs["dave.ipynb"].problems[0]


def test_oversized_members_are_skipped_but_a_too_large_total_refuses_the_archive(tmp_path):
    archive = tmp_path / "big.zip"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("alice/hw2.ipynb", NOTEBOOK)
        zf.writestr("bob/hw2.ipynb", b" " * (3 << 20))
    skipped = safe_extract(archive, tmp_path / "out", max_total_mb=100, strict=False, max_member_mb=1)
    assert [s.parts for s in skipped] == [("bob", "hw2.ipynb")]
    assert (tmp_path / "out" / "alice" / "hw2.ipynb").is_file()
    assert not (tmp_path / "out" / "bob" / "hw2.ipynb").exists()
    with pytest.raises(ValueError, match="expands to more than 2 MiB"):
        safe_extract(archive, tmp_path / "out2", max_total_mb=2, strict=False)


def test_strict_extraction_still_refuses_a_hostile_archive(tmp_path):
    archive = tmp_path / "bad.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("ok.ipynb", NOTEBOOK)
        zf.writestr("../evil.ipynb", NOTEBOOK)
    with pytest.raises(ValueError, match="unsafe path"):
        safe_extract(archive, tmp_path / "out", max_total_mb=10)
    assert not (tmp_path / "evil.ipynb").exists()


# ------------------------------------------------------------------------------------- rule 3: gradescope
GRADESCOPE = """\
---
submission_1001:
  :submitters:
  - :name: Alice Smith
    :sid: '12345'
    :email: alice@uni.example
  :created_at: 2024-03-01 09:15:30.123456000 -08:00
  :score: 0.0
  :status: processed
submission_1002:
  :submitters:
  - :name: Bob Jones
    :sid: ''
    :email: bob.jones@uni.example
  :created_at: 2024-03-01 10:00:00.000000000 -08:00
submission_1003:
  :submitters:
  - :name: Carol
    :sid: '777'
    :email: carol@uni.example
  - :name: Dan
    :sid: '778'
    :email: dan@uni.example
  :created_at: 2024-03-02 11:00:00.000000000 -08:00
submission_1004:
  :submitters:
  - :name: Erin
    :sid: '999'
    :email: erin@uni.example
submission_1005:
  :submitters:
  - :name: Erin Again
    :sid: '999'
    :email: erin2@uni.example
"""


def _gradescope_export(root: Path, metadata: str = GRADESCOPE) -> Path:
    export = root / "assignment_42_export"
    for number in range(1001, 1007):
        _write(export / f"submission_{number}" / "hw2.ipynb")
    _write(export / "submission_metadata.yml", metadata)
    return export


@pytest.mark.parametrize("parser", ["pyyaml", "fallback"])
def test_a_gradescope_export_is_named_by_its_metadata(tmp_path, monkeypatch, parser):
    if parser == "fallback":
        monkeypatch.setattr(inputs, "yaml", None)
    found = _find(_gradescope_export(tmp_path), tmp_path)
    subs = _by_name(found)
    assert set(subs) == {f"submission_{n}" for n in range(1001, 1007)}
    assert subs["submission_1001"].student == "12345"
    assert subs["submission_1001"].metadata["submitters"] == [
        {"name": "Alice Smith", "sid": "12345", "email": "alice@uni.example"}]
    assert subs["submission_1001"].metadata["name"] == "Alice Smith"
    assert subs["submission_1001"].metadata["email"] == "alice@uni.example"
    assert subs["submission_1001"].timestamp.startswith("2024-03-01 09:15:30")
    assert subs["submission_1002"].student == "bob.jones"  # no SID: the e-mail's local part
    assert subs["submission_1003"].student == "submission_1003"  # a group: the folder
    assert [p["name"] for p in subs["submission_1003"].metadata["submitters"]] == ["Carol", "Dan"]
    # the same SID twice is not unique: each falls back to its e-mail
    assert {subs["submission_1004"].student, subs["submission_1005"].student} == {"erin", "erin2"}
    assert subs["submission_1006"].student == "submission_1006" and subs["submission_1006"].metadata == {}
    assert all(_graded(s) for s in found) and found.warnings == []


@pytest.mark.parametrize("text", ["submission_1001: [unclosed\n  - : :", "- just\n- a list\n", "\x00\x01"])
def test_a_broken_gradescope_metadata_file_is_reported_not_fatal(tmp_path, text):
    found = _find(_gradescope_export(tmp_path, text), tmp_path)
    assert sorted(s.student for s in found) == [f"submission_{n}" for n in range(1001, 1007)]
    assert all(_graded(s) for s in found)
    assert any("submission_metadata.yml" in w for w in found.warnings)


def test_a_gradescope_sid_cannot_take_another_submissions_folder_name(tmp_path):
    metadata = ("submission_1001:\n  :submitters:\n  - :name: M\n    :sid: submission_1002\n"
                "    :email: m@x\n")
    found = _by_name(_find(_gradescope_export(tmp_path, metadata), tmp_path))
    assert found["submission_1002"].student == "submission_1002"
    assert found["submission_1001"].student != "submission_1002"
    assert len({s.student for s in found.values()}) == len(found)


# ------------------------------------------------------------------------------------- refused notebooks
def test_a_notebook_with_60000_cells_is_refused_before_nbgrader(tmp_path):
    data = json.dumps(_notebook([_cell("x = 1") for _ in range(60_000)])).encode()
    started = time.perf_counter()
    with pytest.raises(NotebookProblem) as info:
        parse_submission(data, "hw2.ipynb", max_mb=200)
    assert "60000 cells" in str(info.value) and "\n" not in str(info.value)
    assert time.perf_counter() - started < 60  # generous: the point is that it is refused, not parsed on


def test_a_notebook_with_huge_metadata_is_refused_before_nbgrader():
    blob = "A" * (30 << 20)
    for notebook in (_notebook([_cell("x = 1")], {"widgets": {"state": blob}}),
                     _notebook([dict(_cell("x = 1"), metadata={"junk": [blob[:1 << 20]] * 30})])):
        with pytest.raises(NotebookProblem, match="metadata") as info:
            parse_submission(json.dumps(notebook).encode(), "hw2.ipynb", max_mb=200)
        assert "\n" not in str(info.value)


def test_deeply_nested_metadata_and_outputs_cannot_crash_the_grading_process():
    nested = '{"a": ' * 900 + "{}" + "}" * 900  # json reads it; copying it recursively would fail
    text = json.dumps(_notebook([dict(_cell("x = 1"), metadata={"m": "NESTED"})])).replace('"NESTED"', nested)
    try:
        parse_submission(text.encode(), "hw2.ipynb", max_mb=200)
    except NotebookProblem as exc:
        assert "nested" in str(exc) or "not a valid notebook" in str(exc)
    else:
        pytest.fail("deeply nested metadata was accepted")
    deep: dict = {}
    node = deep
    for _ in range(5000):
        node["a"] = {}
        node = node["a"]
    notebook = _notebook([dict(_cell("x = 1"), outputs=[{"output_type": "display_data", "data": deep}])])
    assert submission_code(notebook, HW2, "hw2") == [(0, "x = 1")]
    assert for_nbgrader(notebook, HW2, "hw2")["cells"][0]["outputs"] == []


def test_an_ordinary_notebook_passes_the_caps(repo_root):
    data = (repo_root / "solutions" / "hw2" / "hw2.ipynb").read_bytes()
    assert parse_submission(data, "hw2.ipynb", max_mb=200)["cells"]


def _assignments(tmp_path: Path) -> tuple[Assignment, dict, dict]:
    ids = {"hwa": ["setup", "read_data", "test_read_data", "fit", "test_fit"],
           "hwb": ["setup", "e_step", "test_e_step", "m_step", "test_m_step", "plot"]}
    notebooks = {}
    for name, grade_ids in ids.items():
        test = [gid.startswith("test_") for gid in grade_ids]
        notebooks[name] = _notebook([_cell(f"# {gid}", gid, grade=t, solution=not t, points=1)
                                     for gid, t in zip(grade_ids, test, strict=True)])
        _write(tmp_path / "source" / name / f"{name}.ipynb", json.dumps(notebooks[name]))
    (tmp_path / "suite").mkdir()
    assignment = load_assignment("hwb", tmp_path / "source" / "hwb", tmp_path / "suite")
    return assignment, notebooks["hwa"], notebooks["hwb"]


def test_another_assignments_notebook_is_named_in_one_line(tmp_path):
    assignment, hwa, hwb = _assignments(tmp_path)
    with pytest.raises(NotebookProblem, match="this looks like hwa, not hwb") as info:
        parse_submission(json.dumps(hwa).encode(), "hwb.ipynb", max_mb=200, assignment=assignment)
    assert "\n" not in str(info.value)
    assert parse_submission(json.dumps(hwb).encode(), "hwb.ipynb", max_mb=200, assignment=assignment)
    # a hwb notebook that kept only two of its cells and borrowed one of hwa's is still hwb's
    mixed = _notebook([hwb["cells"][1], hwb["cells"][2], hwa["cells"][3]])
    assert parse_submission(json.dumps(mixed).encode(), "hwb.ipynb", max_mb=200, assignment=assignment)
    # a notebook without nbgrader metadata is graded as it is
    plain = _notebook([_cell("def e_step(): pass")])
    assert parse_submission(json.dumps(plain).encode(), "hwb.ipynb", max_mb=200, assignment=assignment)


def test_the_hw1_notebook_submitted_as_hw2_says_so(repo_root):
    hw2 = load_assignment("hw2", repo_root / "solutions" / "hw2", repo_root / "autograder" / "hw2")
    hw1 = load_assignment("hw1", repo_root / "solutions" / "hw1", repo_root / "autograder" / "hw1")
    fixture = (repo_root / "autograder" / "fixtures" / "hw1" / "correct.ipynb").read_bytes()
    with pytest.raises(NotebookProblem, match="this looks like hw1, not hw2"):
        parse_submission(fixture, "hw2.ipynb", max_mb=200, assignment=hw2)
    assert parse_submission(fixture, "hw1.ipynb", max_mb=200, assignment=hw1)
    own = (repo_root / "autograder" / "fixtures" / "hw2" / "correct.ipynb").read_bytes()
    assert parse_submission(own, "hw2.ipynb", max_mb=200, assignment=hw2)
    with pytest.raises(NotebookProblem, match="this looks like hw2, not hw1"):
        parse_submission(own, "hw1.ipynb", max_mb=200, assignment=hw1)


def test_reading_a_submitted_file_never_follows_a_link_or_blocks(tmp_path):
    good = _write(tmp_path / "alice.ipynb")
    assert inputs.read_submission_file(good, max_mb=1) == NOTEBOOK.encode()
    (tmp_path / "link.ipynb").symlink_to(good)
    os.mkfifo(tmp_path / "pipe.ipynb")
    _write(tmp_path / "big.ipynb", "x" * (2 << 20))
    for name, reason in (("link", "symbolic link"), ("pipe", "named pipe"), ("big", "more than the 1 MiB")):
        with pytest.raises(ValueError, match=reason):
            inputs.read_submission_file(tmp_path / f"{name}.ipynb", max_mb=1)


def test_undecodable_file_names_give_writable_ids_and_reasons(tmp_path):
    flat = tmp_path / "flat"
    flat.mkdir()
    with open(os.path.join(os.fsencode(flat), b"caf\xe9.ipynb"), "w") as handle:
        handle.write(NOTEBOOK)
    (course := tmp_path / "course" / "submitted").mkdir(parents=True)
    os.makedirs(os.path.join(os.fsencode(course), b"b\xffd", b"hw2"))
    _write(course / "ok" / "hw2" / "hw2.ipynb")
    for found in (_find(flat, tmp_path), _find(tmp_path / "course", tmp_path)):
        for sub in found:
            for text in (sub.student, sub.display_name, *sub.problems):
                text.encode("utf-8")  # would raise for undecodable bytes
    weird = [s for s in _find(tmp_path / "course", tmp_path) if s.student != "ok"]
    assert len(weird) == 1 and _refused(weird[0]) and "not valid UTF-8" in weird[0].problems[0]


def test_hidden_notebooks_and_odd_entries_in_nbgrader_folders_are_reported(tmp_path):
    course = tmp_path / "course" / "submitted"
    _write(course / "alice" / "hw2" / ".hw2.ipynb")
    (course / "bob").mkdir(parents=True)
    _write(course / "bob" / "hw2", "not a folder")
    _write(course / "carol" / "hw2" / "hw2.ipynb")
    subs = _by_name(_find(tmp_path / "course", tmp_path))
    assert subs["alice"].notebooks == {"hw2": None} and "alice/hw2/.hw2.ipynb" in subs["alice"].problems[0]
    assert _refused(subs["bob"]) and "bob/hw2 is not a folder" in subs["bob"].problems[0]
    assert _graded(subs["carol"])


def test_a_gradescope_export_with_assignment_subfolders_is_still_named_by_its_metadata(tmp_path):
    export = tmp_path / "export"
    _write(export / "submission_1" / "hw2" / "hw2.ipynb")
    _write(export / "submission_2" / "hw2" / "hw2.ipynb")
    _write(export / "submission_metadata.yml", "submission_1:\n  :submitters:\n  - :name: Z\n    :sid: z1\n"
                                               "    :email: z@x\n")
    subs = _by_name(_find(export, tmp_path))
    assert subs["submission_1"].student == "z1" and subs["submission_2"].student == "submission_2"
    assert all(_graded(s) for s in subs.values())


def test_a_linked_gradescope_metadata_file_is_not_read(tmp_path):
    elsewhere = _write(tmp_path / "elsewhere.yml", GRADESCOPE)
    export = _gradescope_export(tmp_path)
    (export / "submission_metadata.yml").unlink()
    (export / "submission_metadata.yml").symlink_to(elsewhere)
    found = _find(export, tmp_path)
    assert sorted(s.student for s in found) == [f"submission_{n}" for n in range(1001, 1007)]
    assert any("submission_metadata.yml is a symbolic link" in w for w in found.warnings)


def test_huge_or_deeply_nested_sources_are_refused():
    huge = _notebook([_cell("x = 1\n" * (3 << 20))])
    with pytest.raises(NotebookProblem, match="cell sources"):
        parse_submission(json.dumps(huge).encode(), "hw2.ipynb", max_mb=200)
    nested = '["x", ' * 900 + '"y"' + "]" * 900
    text = json.dumps(_notebook([_cell("SOURCE")])).replace('"SOURCE"', nested)
    with pytest.raises(NotebookProblem, match=r"nested|not a valid notebook"):
        parse_submission(text.encode(), "hw2.ipynb", max_mb=200)
