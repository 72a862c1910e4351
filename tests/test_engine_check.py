"""The student-side ``check(name)`` helper and its generated visible-test modules."""

from __future__ import annotations

from pathlib import Path

import pytest

from autograder.loader import load_namespace, read_notebook
from mlcourse.check import check
from mlcourse.checks import extract, generate

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "autograder" / "fixtures"


def namespace(assignment: str, fixture: str) -> dict:
    path = FIXTURES / assignment / f"{fixture}.ipynb"
    if not path.is_file():
        pytest.skip(f"no fixture {path}")
    ns, _ = load_namespace(read_notebook(path), path.name)
    return ns


def test_the_visible_check_modules_are_up_to_date():
    for path, text in generate(ROOT).items():
        assert path.is_file() and path.read_text(encoding="utf-8") == text, \
            f"{path.name} is stale: run python -m mlcourse.checks"


def test_check_passes_a_correct_function_and_leaves_the_namespace_alone(capsys):
    ns = namespace("hw2", "correct")
    before = set(ns)
    result = check("e_step", namespace=ns)
    assert result and result.lines[:3] == ["✓ test_e_step_responsibilities: the visible tests pass",
                                           "✓ test_e_step_loglik: the visible tests pass",
                                           "✓ test_e_step_no_loop: the visible tests pass"]
    assert set(ns) == before
    assert "all its visible tests in hw2 pass" in capsys.readouterr().out


def test_check_explains_a_failure_in_one_line():
    ns = namespace("hw2", "e_step_loop_forgot_log_pi")
    result = check("e_step_loop", namespace=ns, quiet=True)
    assert not result
    assert result.lines[0].startswith("✗ test_e_step_loop_values: x = 1 lies halfway between the two means")
    assert result.lines[1] == "✓ test_e_step_loop_far_points: the visible tests pass"  # each behaviour alone
    ns["softmax"] = lambda a: (_ for _ in ()).throw(NotImplementedError())
    assert check("softmax", namespace=ns, quiet=True).lines == [
        "✗ test_softmax_values: not implemented yet (it raises NotImplementedError)",
        "✗ test_softmax_stable: not implemented yet (it raises NotImplementedError)"]
    del ns["softmax"]
    assert "name 'softmax' is not defined - run the cell that defines it first" in \
        check("test_softmax_values", namespace=ns, quiet=True).lines[0]


def test_check_finds_the_callers_variables_and_the_assignment():
    ns = namespace("hw1", "correct")
    exec("from mlcourse.check import check\nresult = check('Dual', quiet=True)", ns)
    assert ns["result"] and [line[:2] for line in ns["result"].lines[:2]] == ["✓ ", "✓ "]
    wrong = namespace("hw1", "product_rule_wrong")
    assert not check("Dual", namespace=wrong, quiet=True)
    with pytest.raises(ValueError, match="no visible tests for 'e_stp'"):
        check("e_stp", namespace={})


def test_check_is_shown_once_and_arrays_in_messages_are_never_cut(capsys):
    import numpy as np

    ns = namespace("hw2", "correct")
    ns["softmax"] = lambda a: np.full(np.shape(a), 0.5) + np.arange(np.shape(a)[1])  # rows do not sum to 1
    result = check("softmax", namespace=ns)
    printed = capsys.readouterr().out
    assert printed.count("test_softmax_values") == printed.count("test_softmax_stable") == 1
    assert repr(result) == "CheckResult('softmax', passed=False)"
    assert hasattr(result, "_ipython_display_")  # Jupyter shows the printed lines only, not the result again
    line = result.lines[0]
    assert "\n" not in line and line.count("[") == line.count("]"), line


def test_check_names_a_changed_input_and_warns_about_lists():
    import numpy as np

    ns = namespace("hw2", "correct")
    real = ns["softmax"]

    def softmax(a):
        a -= np.max(a, axis=1, keepdims=True)  # in place: changes the caller's array
        return real(a)

    ns["softmax"] = softmax
    changed = ("softmax changed one of its arguments in place (X -= ... or X[...] = ...); work on a copy "
               "(X - mu is a new array)")
    assert check("softmax", namespace=ns, quiet=True).lines == [f"✗ test_softmax_values: {changed}",
                                                                  f"✗ test_softmax_stable: {changed}"]
    ns["softmax"] = real
    real_lse = ns["logsumexp"]
    ns["logsumexp"] = lambda a: list(real_lse(a))
    result = check("logsumexp", namespace=ns, quiet=True)
    assert result  # the visible tests pass with a list ...
    assert any(line.startswith("⚠ logsumexp returned a Python list") for line in result.lines)  # ... but


def test_a_name_with_cells_of_its_own_checks_only_those():
    """``check("sin")`` runs sin's cell, not those of cos defined in the same solution cell; a name without
    cells of its own (a helper) and the solution cell's id run every test cell after it."""
    def cell(grade_id: str, source: str, solution: bool) -> dict:
        meta = {"grade": not solution, "solution": solution, "grade_id": grade_id}
        return {"cell_type": "code", "metadata": {"nbgrader": meta}, "source": source}

    notebook = {"cells": [
        cell("elementary", "def helper(x):\n    pass\ndef sin(x):\n    pass\ndef cos(x):\n    pass\n", True),
        cell("test_sin", "assert sin(0) == 0\n", False),
        cell("test_sin_chain", "assert sin(sin(0)) == 0\n", False),
        cell("test_cos", "assert cos(0) == 1\n", False),
        cell("test_cosh_like", "assert cos(0) > 0\n", False),
    ]}
    sources, functions = extract(notebook)
    assert functions["sin"] == ["test_sin", "test_sin_chain"]
    assert functions["cos"] == ["test_cos"]  # test_cosh_like is not one of cos's own cells (no "_" after cos)
    everything = ["test_sin", "test_sin_chain", "test_cos", "test_cosh_like"]
    assert functions["helper"] == everything and functions["elementary"] == everything
    assert sources["test_cos"] == "assert cos(0) == 1\n"
