"""Every committed lecture and solution notebook runs top to bottom, deterministically, through the build.

The notebooks are executed once per test session by the build's own executor (``build_support.session_build``,
two kernels at a time, into a temporary build folder); these tests read its results. A failing cell fails
its notebook's test with the notebook, the cell number and the traceback.

Determinism: each notebook's outputs are compared with an independent execution: the entry for the same
execution key in the repository's ``_build/cache`` when a previous ``make course`` left one, otherwise a
second execution, as long as the total first-run time of those notebooks stays within
``MLCOURSE_DETERMINISM_BUDGET`` seconds (default 120); notebooks beyond it are skipped with that reason.
Cells tagged ``nondeterministic`` are not compared.
"""

from __future__ import annotations

import io
import os
import shutil
import tempfile
from pathlib import Path

import nbformat
import pytest
from build_support import ROOT, read, real_notebooks, session_build

from mlcourse.build import BuildOptions, build
from mlcourse.build.compare import output_differences

pytestmark = pytest.mark.slow

NOTEBOOKS = real_notebooks("lectures/", "solutions/")
SOLUTIONS = real_notebooks("solutions/")
BUDGET = float(os.environ.get("MLCOURSE_DETERMINISM_BUDGET", "120"))


@pytest.fixture(scope="module")
def built():
    return session_build()


def _executed(built, rel: str) -> nbformat.NotebookNode:
    result = built.result(rel)
    if result.failure is not None:
        pytest.skip(f"{rel} did not execute (test_notebook_runs_top_to_bottom reports why)")
    return read(result.executed)


@pytest.mark.parametrize("rel", NOTEBOOKS)
def test_notebook_runs_top_to_bottom(built, rel):
    result = built.result(rel)
    if result.failure is not None:
        pytest.fail(result.failure.format(), pytrace=False)
    assert result.status in {"executed", "cached"} and result.executed.is_file()


@pytest.mark.parametrize("rel", SOLUTIONS)
def test_test_cells_write_nothing_to_stderr(built, rel):
    nb = _executed(built, rel)
    grade_cells = [(i, c) for i, c in enumerate(nb.cells)
                   if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("grade")]
    noisy = [f"cell {i + 1} ({c.metadata['nbgrader'].get('grade_id')}): {o.text.strip()[:300]}"
             for i, c in grade_cells for o in c.outputs
             if o.output_type == "stream" and o.name == "stderr"]
    assert not noisy, f"{rel}: test cells wrote to stderr (warnings?):\n" + "\n".join(noisy)


@pytest.fixture(scope="module")
def second_run(built):
    """Independent executions to compare with: cached references or a second, budgeted build."""
    references: dict[str, Path] = {}
    todo = []
    for rel in built.notebooks:
        result = built.result(rel)
        if result.failure is not None:
            continue
        cached = ROOT / "_build" / "cache" / "notebooks" / f"{result.key}.ipynb"
        if cached.is_file():
            references[rel] = cached
        else:
            todo.append((result.seconds, rel))
    chosen, spent = [], 0.0
    for seconds, rel in sorted(todo):
        if spent + seconds <= BUDGET:
            chosen.append(rel)
            spent += seconds
    out = Path(tempfile.mkdtemp(prefix="mlcourse-determinism-"))
    if chosen:
        build(BuildOptions(root=ROOT, out=out, jobs=2, force=True, stages=("execute",), select=chosen,
                           stream=io.StringIO()))
        references.update({rel: out / "executed" / rel for rel in chosen})
    yield references
    shutil.rmtree(out, ignore_errors=True)


@pytest.mark.parametrize("rel", NOTEBOOKS)
def test_outputs_are_identical_across_executions(built, second_run, rel):
    first = _executed(built, rel)
    if rel not in second_run:
        pytest.skip(f"{rel}: beyond MLCOURSE_DETERMINISM_BUDGET={BUDGET:.0f} s of re-execution "
                    "(run `make course` once to compare against its cache instead)")
    if not second_run[rel].is_file():
        pytest.fail(f"{rel} ran once but failed when executed a second time", pytrace=False)
    differences = output_differences(first, read(second_run[rel]))
    assert not differences, (f"{rel}: outputs differ between two executions; seed the randomness or tag "
                             f"the cell 'nondeterministic':\n" + "\n".join(differences))
