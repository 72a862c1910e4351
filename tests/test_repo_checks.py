"""Repository hygiene: committed notebooks are normalised, the release is in sync, ruff is clean, CI is wired.

Fix a failing normalisation check with ``.venv/bin/python -m mlcourse.build normalize PATH``; a stale release
with ``make course`` (or ``nbgrader generate_assignment <assignment> --force``).
"""

from __future__ import annotations

import shutil
import sys

import nbformat
import pytest
from build_support import ROOT, make_course, read, run, write_notebook
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from mlcourse.build.normalize import normalize_file, normalized_text, problems_of, tracked_notebooks
from mlcourse.build.release import assignment_names, generate_fresh, release_differences

TRACKED = [rel for rel in tracked_notebooks(ROOT)
           if not rel.startswith("autograder/fixtures/") and (ROOT / rel).is_file()]
RUFF_PATHS = [p for p in ("src", "autograder", "tests", "benchmarks", "lectures", "solutions")
              if (ROOT / p).exists()]


# -- committed notebooks --------------------------------------------------------------------------------
@pytest.mark.parametrize("rel", TRACKED)
def test_committed_notebook_has_no_outputs_and_stable_metadata(rel):
    result = normalize_file(ROOT / rel, check=True)
    assert not result.changed, (f"{rel}: {'; '.join(result.problems)}\n"
                                f"fix: .venv/bin/python -m mlcourse.build normalize {rel}")


def _messy_notebook() -> nbformat.NotebookNode:
    nb = new_notebook(cells=[
        new_markdown_cell("# Title", metadata={"jupyter": {"source_hidden": True}}),
        new_code_cell("print(1)", execution_count=3, metadata={"tags": ["keep"], "ExecuteTime": {"x": 1},
                                                              "nbgrader": {"grade": False}},
                      outputs=[nbformat.v4.new_output("stream", name="stdout", text="1\n")]),
        new_code_cell("x = 2", metadata={"tags": [], "scrolled": True}),
    ], metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
                 "language_info": {"name": "python", "version": "3.11.7"}, "widgets": {}})
    return nb


def test_normalize_strips_outputs_counts_and_volatile_metadata(tmp_path):
    path = tmp_path / "messy.ipynb"
    nbformat.write(_messy_notebook(), path)
    problems = normalize_file(path, check=True).problems
    for expected in ("cell 2: outputs", "cell 2: execution count", "cell 2: metadata 'ExecuteTime'",
                     "cell 1: metadata 'jupyter'", "cell 3: empty tags", "notebook metadata 'widgets'",
                     "volatile language_info (Python version etc.)"):
        assert expected in problems, problems
    before = path.read_text()
    assert normalize_file(path, check=True).changed and path.read_text() == before, "--check writes nothing"
    assert normalize_file(path).changed
    nb = read(path)
    assert nb.cells[1].outputs == [] and nb.cells[1].execution_count is None
    assert nb.cells[1].metadata == {"tags": ["keep"], "nbgrader": {"grade": False}}
    assert nb.metadata.language_info == {"name": "python"} and "widgets" not in nb.metadata
    assert [c.source for c in nb.cells] == ["# Title", "print(1)", "x = 2"]
    assert not normalize_file(path).changed and problems_of(nb) == []
    assert path.read_text() == normalized_text(nb)


def test_normalize_command_line(tmp_path):
    path = tmp_path / "lectures" / "messy.ipynb"
    path.parent.mkdir()
    nbformat.write(_messy_notebook(), path)
    cmd = [sys.executable, "-m", "mlcourse.build", "normalize"]
    check = run([*cmd, "--check", str(path)], cwd=tmp_path)
    assert check.returncode == 1 and "would change" in check.stdout, check.stdout + check.stderr
    fix = run([*cmd, str(path.parent)], cwd=tmp_path)
    assert fix.returncode == 0 and "1 rewritten" in fix.stdout, fix.stdout + fix.stderr
    again = run([*cmd, "--check", str(path)], cwd=tmp_path)
    assert again.returncode == 0 and "0 to fix" in again.stdout, again.stdout


# -- the release ----------------------------------------------------------------------------------------
@pytest.mark.slow
def test_release_equals_a_fresh_nbgrader_generation(tmp_path):
    names = assignment_names(ROOT)
    generated = generate_fresh(ROOT, tmp_path / "course") if names else tmp_path / "none"
    differences = release_differences(generated, ROOT / "assignments", names)
    assert not differences, ("assignments/ is not what nbgrader generates from solutions/ "
                             "(run `make course`):\n" + "\n".join(differences))


@pytest.mark.slow
def test_release_comparison_detects_a_stale_release(tmp_path):
    course = make_course(tmp_path / "course", lecture=False, fixtures=False)
    generated = generate_fresh(course, tmp_path / "fresh")
    names = assignment_names(course)
    assert names == ["demo", "extra"]
    committed = tmp_path / "committed"
    shutil.copytree(generated, committed)
    assert release_differences(generated, committed, names) == []
    nb = read(committed / "demo" / "demo.ipynb")
    nb.cells[2].source += "\nassert square(0) == 0"
    nbformat.write(nb, committed / "demo" / "demo.ipynb")
    (committed / "extra" / "extra.ipynb").unlink()
    write_notebook(committed / "orphan" / "orphan.ipynb", [new_markdown_cell("# Orphan")])
    differences = release_differences(generated, committed, names)
    assert differences == ["assignments/orphan/ has no source in solutions/orphan/",
                           "assignments/demo/demo.ipynb: cell 3: source differs",
                           "assignments/extra/extra.ipynb is missing"], differences


# -- ruff -----------------------------------------------------------------------------------------------
def test_ruff_is_clean_on_code_tests_and_notebooks():
    proc = run([sys.executable, "-m", "ruff", "check", "--no-cache", *RUFF_PATHS], cwd=ROOT)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_ruff_checks_notebooks_with_the_project_config(tmp_path):
    write_notebook(tmp_path / "lectures" / "bad.ipynb",
                   [new_code_cell("def f():\n    unused = 1\n    return 2")])
    (tmp_path / "bad.py").write_text("import os\n")
    proc = run([sys.executable, "-m", "ruff", "check", "--no-cache", "--config", str(ROOT / "pyproject.toml"),
                "lectures", "bad.py"], cwd=tmp_path)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "bad.ipynb" in proc.stdout and "F841" in proc.stdout and "bad.py" in proc.stdout, proc.stdout


# -- CI wiring ------------------------------------------------------------------------------------------
def test_ci_runs_the_readme_commands():
    readme = (ROOT / "README.md").read_text()
    assert "make course" in readme and "make test" in readme
    assert "make test" in (ROOT / ".ci" / "run").read_text()
    workflow = (ROOT / ".github" / "workflows" / "ci.yml").read_text()
    for needle in ("make test", "make course", "actions/setup-python", "actions/cache", "~/.cache/pip",
                   "_build/cache", "actions/upload-artifact", "_build/site"):
        assert needle in workflow, f"ci.yml lacks {needle!r}"
    hooks = (ROOT / ".pre-commit-config.yaml").read_text()
    assert "mlcourse.build normalize" in hooks and "ruff" in hooks
