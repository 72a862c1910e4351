"""The shared fixture builder (``autograder/fixture_builder.py``): every form of change that ``fixtures.json``
offers, on a small two-cell assignment written here, and the errors that name what does not fit.

That the builder reproduces the committed fixtures of every real assignment is part of the assignment contract
(``tests/test_assignments.py``, ``fixtures_are_up_to_date``).
"""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from autograder import fixture_builder
from autograder.assignments import AssignmentFiles
from autograder.fixture_builder import FixtureError

SOLUTION = {
    "ops": "def add(a, b):\n    ### BEGIN SOLUTION\n    return a + b\n    ### END SOLUTION\n\n\n"
           "def mul(a, b):\n    ### BEGIN SOLUTION\n    return a * b\n    ### END SOLUTION",
    "neg": "def neg(a):\n    ### BEGIN SOLUTION\n    return -a\n    ### END SOLUTION",
}
STUB = "    # YOUR CODE HERE\n    raise NotImplementedError()"
RELEASE = {
    "ops": f"def add(a, b):\n{STUB}\n\n\ndef mul(a, b):\n{STUB}",
    "neg": f"def neg(a):\n{STUB}",
}


def _notebook(sources: dict[str, str]) -> nbformat.NotebookNode:
    cells = []
    for cell_id, source in sources.items():
        cell = new_code_cell(source, metadata={"nbgrader": {"solution": True, "grade_id": cell_id}})
        cell["id"] = cell_id
        cells.append(cell)
    return new_notebook(cells=cells)


def _sources(nb: nbformat.NotebookNode) -> dict[str, str]:
    return {cell.id: cell.source for cell in nb.cells}


@pytest.fixture
def files(tmp_path: Path) -> AssignmentFiles:
    files = AssignmentFiles("toy", tmp_path)
    for path, nb in ((files.source, _notebook(SOLUTION)), (files.release, _notebook(RELEASE))):
        path.parent.mkdir(parents=True)
        nbformat.write(nb, path)
    files.fixtures.mkdir(parents=True)
    return files


def _build(files: AssignmentFiles, bugs: dict) -> dict[str, dict[str, str]]:
    (files.fixtures / fixture_builder.SPEC).write_text(json.dumps({"bugs": bugs}), encoding="utf-8")
    return {name: _sources(nb) for name, nb in fixture_builder.build(files).items()}


def test_correct_fills_every_stub_and_the_release_stays_as_is(files):
    built = _build(files, {})
    assert built["correct"] == {
        "ops": "def add(a, b):\n    return a + b\n\n\ndef mul(a, b):\n    return a * b",
        "neg": "def neg(a):\n    return -a"}
    assert built["unchanged_release"] == RELEASE


def test_each_form_of_change(files):
    built = _build(files, {
        "edits": {"ops": [["a + b", "a - b"], {"regex": r"a \* \w", "new": "b * b"}]},
        "body": {"neg": {"body": "\n    return a\n"}},
        "cell": {"ops": {"cell": "\nadd = mul = max\n"}},
        "like_cell": {"ops": {"like": ["cell", "ops"]}, "neg": {"like": ["body", "neg"]}},
        "chain": {"neg": {"like": ["like_cell", "neg"]}},
    })
    assert built["edits"]["ops"] == "def add(a, b):\n    return a - b\n\n\ndef mul(a, b):\n    return b * b"
    assert built["body"] == {"ops": built["correct"]["ops"], "neg": "def neg(a):\n    return a"}
    assert built["cell"] == {"ops": "add = mul = max", "neg": built["correct"]["neg"]}
    assert built["like_cell"] == {"ops": "add = mul = max", "neg": "def neg(a):\n    return a"}
    assert built["chain"]["neg"] == "def neg(a):\n    return a"


@pytest.mark.parametrize(("bugs", "message"), [
    ({"bug": {"ops": [["a / b", "b"]]}}, "fixture bug, cell ops: the solution does not contain 'a / b' "
                                         "exactly once"),
    ({"bug": {"ops": [{"regex": "a . b", "new": "0"}]}}, "fixture bug, cell ops: 'a . b' does not match "
                                                          "exactly once"),
    ({"bug": {"ops": {"body": "    return 0"}}}, "fixture bug, cell ops: {\"body\": ...} replaces the one "
                                                  "solution region of a cell"),
    ({"bug": {"neg": {"lines": "x"}}}, "not ['lines']"),
    ({"bug": {"nope": [["a", "b"]]}}, "fixture bug: no solution code cell ['nope']"),
    ({"bug": {"neg": {"like": ["other", "neg"]}}}, "fixture bug, cell neg: ['other', 'neg'] is not a "
                                                   "declared change"),
    ({"bug": {"neg": {"like": "other"}}}, "a reference is {\"like\": [fixture, cell]}"),
    ({"a": {"neg": {"like": ["b", "neg"]}}, "b": {"neg": {"like": ["a", "neg"]}}}, "form a cycle"),
    ({"correct": {"neg": {"body": "    return 0"}}}, "fixture 'correct' is built anyway"),
])
def test_a_change_that_does_not_fit_is_refused_naming_it(files, bugs, message):
    with pytest.raises(FixtureError) as excinfo:
        _build(files, bugs)
    assert message in str(excinfo.value)


def test_stale_names_missing_stale_and_undeclared_fixtures(files):
    (files.fixtures / fixture_builder.SPEC).write_text(json.dumps({"bugs": {"b": {"neg": {"body": "  0"}}}}))
    written = fixture_builder.write(files)
    assert sorted(p.name for p in written) == ["b.ipynb", "correct.ipynb", "unchanged_release.ipynb"]
    assert fixture_builder.stale(files) == []
    (files.fixtures / "b.ipynb").write_text("{}", encoding="utf-8")
    (files.fixtures / "correct.ipynb").unlink()
    (files.fixtures / "extra.ipynb").write_text("{}", encoding="utf-8")
    assert fixture_builder.stale(files) == ["extra.ipynb is not declared (fixtures.json)",
                                            "correct.ipynb is missing", "b.ipynb is stale"]
