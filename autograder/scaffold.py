"""``course new-assignment NAME [--title TITLE]``: a new assignment as a working, gradable unit.

Writes the hand-written parts of an assignment (see :mod:`autograder.assignments`), each a small working
example to edit:

``solutions/<a>/<a>.ipynb``
    a setup cell, one function with a solution region, one test cell with visible checks and a hidden region
    calling :func:`autograder.harness.hidden_score` with the cell's points;
``autograder/<a>/``
    the hidden suite: ``__init__.py``, ``conftest.py`` (the visible-test gate, read from the source notebook,
    :mod:`autograder.visible`) and ``test_<function>.py`` (one part);
``autograder/fixtures/<a>/fixtures.json`` and ``expected.json``
    two buggy fixtures, and the expected score of each fixture per grade cell;

then generates the rest exactly as after any edit of the source notebook: the release
(``nbgrader generate_assignment``), the students' visible checks ``src/mlcourse/checks/<a>.py`` and the
fixtures (:mod:`autograder.fixture_builder`). ``tests/test_assignments.py`` passes for the result.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from autograder import fixture_builder
from autograder.assignments import REPO, AssignmentFiles, check_name

#: The example's grade cell and its points.
POINTS = 10
METADATA = {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
            "language_info": {"name": "python"}}


def _nbgrader(grade_id: str, *, grade: bool = False, solution: bool = False, locked: bool = False,
              points: int | None = None) -> dict:
    meta = {"grade": grade, "grade_id": grade_id, "locked": locked, "schema_version": 3,
            "solution": solution, "task": False}
    if points is not None:
        meta["points"] = points
    return {"nbgrader": meta}


def source_notebook(name: str, title: str) -> nbformat.NotebookNode:
    """The example source notebook of assignment ``name``."""
    cells = [
        new_markdown_cell(f"# {title}\n\nFill in every cell marked `# YOUR CODE HERE`, then run the whole "
                          "notebook: the visible tests below each function must pass. Hidden tests check "
                          "more when your work is graded."),
        new_code_cell("# Setup (read-only): the imports the visible tests use.\nimport numpy as np",
                      metadata=_nbgrader("setup", locked=True)),
        new_markdown_cell(f"## Part 1 — `scale` ({POINTS} points)\n\nWrite `scale(x, factor)`: every entry "
                          "of the NumPy array `x` multiplied by `factor`, as a new array of the same shape "
                          "(do not change `x`)."),
        new_code_cell('def scale(x, factor):\n    """`x` (a NumPy array) times the number `factor`, as a new '
                      'array."""\n    ### BEGIN SOLUTION\n    return np.asarray(x, dtype=float) * factor\n'
                      "    ### END SOLUTION",
                      metadata=_nbgrader("scale", solution=True)),
        new_code_cell(f"# Visible tests: scale ({POINTS} points)\n"
                      "x = np.array([1.0, -2.0, 0.5])\n"
                      "assert np.shape(scale(x, 2.0)) == (3,), \"scale should keep the shape of x\"\n"
                      "assert np.allclose(scale(x, 2.0), [2.0, -4.0, 1.0]), "
                      "\"scale(x, 2) should double every entry\"\n"
                      "print(\"Visible tests passed.\")\n\n"
                      "### BEGIN HIDDEN TESTS\n"
                      "from autograder.harness import hidden_score\n\n"
                      f'hidden_score("{name}", "test_scale", globals(), points={POINTS})\n'
                      "### END HIDDEN TESTS",
                      metadata=_nbgrader("test_scale", grade=True, locked=True, points=POINTS)),
    ]
    for cell in cells:
        cell["id"] = cell.metadata.get("nbgrader", {}).get("grade_id") or "intro"
    cells[2]["id"] = "part1"
    return new_notebook(cells=cells, metadata=METADATA)


SUITE_INIT = '"""Hidden tests of {name}: one module per function, each test marked with its grade cell."""\n'

SUITE_CONFTEST = '''"""{name} suite: a grade cell's hidden tests count only when its visible tests pass (as in
nbgrader, where a failing visible assert stops the cell before its hidden region)."""

from __future__ import annotations

from autograder.visible import notebook_gate

_visible_failures, _visible_gate = notebook_gate(__file__)
'''

SUITE_TESTS = '''"""Hidden tests of ``scale`` (grade cell ``test_scale``): run in the trusted process, on the
student's function through the ``student`` fixture; failure messages say what was checked, never the expected
values."""

from __future__ import annotations

import numpy as np
import pytest

from autograder.harness import mutates_inputs

RNG = np.random.default_rng(20240)


@pytest.mark.part("test_scale")
def test_scales_every_entry(student):
    """scale multiplies every entry by the factor"""
    for shape, factor in (((5,), -1.5), ((3, 4), 0.25), ((2, 3, 2), 7.0)):
        x = RNG.normal(size=shape)
        got = student.scale(x, factor)
        assert np.shape(got) == shape, f"scale of an array of shape {{shape}} should keep that shape"
        assert np.allclose(got, x * factor, rtol=1e-12, atol=0.0), \\
            f"scale(x, {{factor}}) is wrong for an array of shape {{shape}}"


@pytest.mark.part("test_scale")
def test_leaves_its_input_alone(student):
    """scale does not change x"""
    x = RNG.normal(size=(4, 3))
    assert np.allclose(student.scale(x, 3.0), 3.0 * x), "scale(x, 3) is wrong"
    assert not mutates_inputs(student, "scale", x, 3.0), "scale should return a new array, not change x"
'''

#: Two realistic bugs: one the visible tests catch (the cell scores 0), one only a hidden test catches.
FIXTURES_SPEC = {"answers": {}, "bugs": {
    "scale_adds_the_factor": {"scale": [["np.asarray(x, dtype=float) * factor",
                                         "np.asarray(x, dtype=float) + factor"]]},
    "scale_ignores_the_sign": {"scale": [["* factor", "* abs(factor)"]]},
}}


def _expected(points: int) -> dict[str, dict[str, float]]:
    return {"correct": {"test_scale": float(points)}, "scale_adds_the_factor": {"test_scale": 0.0},
            "scale_ignores_the_sign": {"test_scale": points / 2},  # one of the two hidden tests fails
            "unchanged_release": {"test_scale": 0.0}}


def new_assignment(name: str, root: Path = REPO, title: str | None = None) -> list[Path]:
    """Write assignment ``name`` into the repository ``root`` and generate its release, checks and fixtures.

    Parameters
    ----------
    name : str
        The assignment id (e.g. ``"hw3"``): a lower-case identifier not used yet.
    root : Path
        The repository (holding ``nbgrader_config.py``); default: the one holding this package.
    title : str, optional
        The notebook's title (default: ``"Homework <name>"``).

    Returns
    -------
    list of Path
        Every file written, hand-written parts first.

    Raises
    ------
    ValueError
        An invalid or existing name, or a ``root`` that is not a course repository; nothing is written.
    """
    check_name(name)
    root = Path(root).resolve()
    if not (root / "nbgrader_config.py").is_file():
        raise ValueError(f"{root} is not the course repository (no nbgrader_config.py there)")
    files = AssignmentFiles(name, root)
    taken = [p for p in (files.source.parent, files.suite, files.fixtures, files.release.parent, files.checks)
             if p.exists()]
    if taken:
        where = ", ".join(str(p.relative_to(root)) for p in taken)
        raise ValueError(f"assignment {name!r} exists already ({where}); choose another name")
    title = title or f"Homework {name}"
    folders = (files.source.parent, files.suite, files.fixtures, files.release.parent)
    try:
        return _write(files, title)
    except BaseException:
        for folder in folders:  # leave nothing half made: all of these were new
            shutil.rmtree(folder, ignore_errors=True)
        files.checks.unlink(missing_ok=True)
        raise


def _write(files: AssignmentFiles, title: str) -> list[Path]:
    from mlcourse.build.release import generate
    from mlcourse.checks import render

    name = files.name
    notebook = source_notebook(name, title)
    texts = {
        files.source: nbformat.writes(notebook).rstrip("\n") + "\n",
        files.suite / "__init__.py": SUITE_INIT.format(name=name),
        files.suite / "conftest.py": SUITE_CONFTEST.format(name=name),
        files.suite / "test_scale.py": SUITE_TESTS.format(name=name),
        files.fixtures / fixture_builder.SPEC: json.dumps(FIXTURES_SPEC, indent=2) + "\n",
        files.fixtures / "expected.json": json.dumps(_expected(POINTS), indent=2) + "\n",
    }
    for path, text in texts.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    with tempfile.TemporaryDirectory(prefix=f"new-assignment-{name}-") as tmp:
        generate(files.root, db=Path(tmp) / "gradebook.db", assignment=name)
    files.checks.parent.mkdir(parents=True, exist_ok=True)
    files.checks.write_text(render(name, json.loads(texts[files.source])), encoding="utf-8")
    written = [*texts, files.release, files.checks]
    return written + fixture_builder.write(files)
