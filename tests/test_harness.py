"""The hidden-test harness: loading a notebook, plain-data conversion, scoring per grade cell, messages."""

import json
import textwrap

import numpy as np
import pytest

from autograder import harness
from autograder.loader import load_student, student_cells, student_from_namespace
from autograder.plain import DualValue, StudentError, StudentMutation, StudentTimeout, to_plain

SUITE = '''
import numpy as np
import pytest


@pytest.mark.part("test_double")
def test_double_values(student):
    """double doubles its input"""
    x = np.arange(4.0)
    assert np.array_equal(student.double(x), 2 * x), "double(x) should return 2 * x elementwise"


@pytest.mark.part("test_double", weight=3)
def test_double_shape(student):
    x = np.ones((2, 3))
    assert student.double(x).shape == (2, 3), "double(x) should keep the shape of x"


@pytest.mark.part("test_square")
def test_square(student):
    """square squares"""
    secret = 49.0
    assert np.isclose(student.square(7.0), secret)
'''


def notebook(*cells):
    def cell(src, grade=False, solution=False, tags=()):
        meta = {"tags": list(tags)}
        if grade or solution:
            meta["nbgrader"] = {"grade": grade, "solution": solution, "grade_id": "x", "points": 1}
        return {"cell_type": "code", "metadata": meta, "source": src, "outputs": [],
                "execution_count": None}
    return {"nbformat": 4, "nbformat_minor": 5, "metadata": {},
            "cells": [cell(*c) if isinstance(c, tuple) else cell(c) for c in cells]}


@pytest.fixture
def suite(tmp_path):
    folder = tmp_path / "toy"
    folder.mkdir()
    (folder / "test_toy.py").write_text(textwrap.dedent(SUITE))
    return folder


def write(tmp_path, nb):
    path = tmp_path / "sub.ipynb"
    path.write_text(json.dumps(nb))
    return path


def test_correct_student_scores_full_marks(suite, tmp_path):
    path = write(tmp_path, notebook("import numpy as np\ndef double(x):\n    return 2 * x",
                                    "def square(x):\n    return x * x"))
    results = harness.run_suite(suite, load_student(path))
    assert harness.score(results, {"test_double": 10, "test_square": 5}) == {"test_double": 10,
                                                                            "test_square": 5}


def test_partial_credit_is_the_passed_weight_fraction(suite, tmp_path):
    # Right shape, wrong values: the shape test (weight 3 of 4) passes.
    path = write(tmp_path, notebook("def double(x):\n    return x + 1", "def square(x):\n    return 0"))
    results = harness.run_suite(suite, load_student(path))
    assert results["test_double"].fraction == pytest.approx(0.75)
    assert harness.score(results, {"test_double": 8, "test_square": 5}) == {"test_double": 6.0,
                                                                           "test_square": 0.0}
    assert results["test_double"].messages == ["double(x) should return 2 * x elementwise"]


def test_messages_never_show_expected_values_or_test_source(suite, tmp_path):
    path = write(tmp_path, notebook("def double(x):\n    return 2 * x", "def square(x):\n    return 1.0"))
    message = harness.run_suite(suite, load_student(path), parts=["test_square"])["test_square"].messages
    assert message == ["square squares: failed (AssertionError)"]
    assert "49" not in message[0] and "secret" not in message[0]


def test_missing_and_unimplemented_functions_fail_with_a_reason(suite, tmp_path):
    path = write(tmp_path, notebook("def square(x):\n    raise NotImplementedError()"))
    results = harness.run_suite(suite, load_student(path))
    assert results["test_double"].fraction == 0 and results["test_square"].fraction == 0
    assert "double is not defined" in results["test_double"].messages[0]
    assert "square is not implemented yet" in results["test_square"].messages[0]


def test_test_cells_and_skip_tagged_cells_are_not_loaded(tmp_path):
    nb = notebook("a = 1", ("assert False", True, False), ("b = 2", False, False, ("skip-grading",)),
                  ("def f():\n    return a", True, True))
    assert [i for i, _ in student_cells(nb)] == [0, 3]


def test_a_broken_cell_does_not_stop_the_rest(tmp_path):
    path = write(tmp_path, notebook("1/0", "def square(x):\n    return x * x", "def broken(:"))
    student = load_student(path)
    assert student.square(3.0) == 9.0
    assert len(student.load_errors) == 2
    assert "ZeroDivisionError" in student.load_errors[0] and "syntax error" in student.load_errors[1]


def test_calls_time_out(tmp_path):
    path = write(tmp_path, notebook("def spin():\n    while True:\n        pass"))
    student = load_student(path, call_timeout=0.3)
    with pytest.raises(StudentTimeout, match=r"spin took longer than 0\.3 s"):
        student.spin()


def test_student_output_and_warnings_are_swallowed(capfd):
    ns = {"np": np}
    exec("import sys\ndef noisy(x):\n    print('All tests passed!', file=sys.stderr)\n"
         "    return np.log(np.zeros(2))", ns)
    out = student_from_namespace(ns).noisy(1.0)
    assert np.all(np.isneginf(out))
    captured = capfd.readouterr()
    assert captured.err == "" and "All tests passed" not in captured.out


def test_lying_results_become_plain_data():
    class Liar(np.ndarray):
        def __eq__(self, other):
            return True

    liar = np.zeros(3).view(Liar)
    plain = to_plain(liar)
    assert type(plain) is np.ndarray and not np.array_equal(plain, np.ones(3))
    assert to_plain((np.float64(1.5), [np.int64(2)], {"a": None})) == (1.5, [2], {"a": None})
    with pytest.raises(StudentError, match="object of type"):
        to_plain(object(), "f")
    with pytest.raises(StudentError, match="dtype object"):
        to_plain(np.array([object()]), "f")


def test_eval_returns_dual_numbers_as_plain_values():
    ns = {}
    exec("class Dual:\n    def __init__(self, v, d):\n        self.val, self.der = v, d\n", ns)
    assert student_from_namespace(ns).eval("Dual(2.0, np_one)" .replace("np_one", "1")) == \
        DualValue(2.0, 1)


MUTATORS = {
    "scale": "def scale(x):\n    x *= 2\n    return x",
    "assign": "def assign(x):\n    x[0] = 5.0\n    return x",
    "out": "def out(x):\n    return np.exp(x, out=x)",
    "nested": "def nested(pair, *, k=None):\n    pair[1][0][:] = 0\n    return 1.0",
    "keyword": "def keyword(x, *, k):\n    k += 1\n    return 1.0",
    "unlock": "def unlock(x):\n    x.flags.writeable = True\n    x[0] = 5.0\n    return x",
}


@pytest.mark.parametrize("name", sorted(MUTATORS))
def test_arrays_reach_the_student_read_only_so_writing_to_one_fails_there(name):
    ns = {"np": np}
    exec(MUTATORS[name] + "\ndef pure(x, *, k=None):\n    return 2 * x", ns)
    student = student_from_namespace(ns)
    x = np.ones(3)
    args, kwargs = {"nested": (((1.0, [x, x]),), {}), "keyword": ((x,), {"k": x})}.get(name, ((x,), {}))
    # (unlock: the buffer of the copy belongs to an immutable bytes object, so the flag cannot be set back)
    with pytest.raises(StudentMutation, match=rf"^{name} changed one of its arguments in place"):
        getattr(student, name)(*args, **kwargs)
    if not kwargs:
        assert harness.mutates_inputs(student, name, *args)
    assert np.array_equal(x, np.ones(3)), "the caller's array never changes"
    assert np.array_equal(student.pure(x, k=x), 2 * x) and not harness.mutates_inputs(student, "pure", x)


def test_time_calls_times_each_call_alone_with_fresh_inputs_and_returns_every_result():
    ns = {}
    # CPU work, not a sleep: the student's calls are measured in CPU time (load does not lengthen them)
    exec("import time\nseen = []\ndef f(x):\n    seen.append(x)\n    start = time.process_time()\n"
         "    while time.process_time() - start < 0.02 * x[0]:\n        pass\n    return 2 * x", ns)
    student = student_from_namespace(ns)
    x = np.array([1.0, 2.0])
    timed = harness.time_calls(student, "f", [(x,), (2 * x,)])
    assert [result.tolist() for _, result in timed] == [[2.0, 4.0], [4.0, 8.0]]
    assert 0.02 <= timed[0][0] < timed[1][0] and timed[1][0] >= 0.04
    assert ns["seen"][0] is not ns["seen"][1] and not ns["seen"][0].flags.writeable
    assert 0.02 <= harness.time_call(student, "f", x, repeat=2) < timed[1][0]


def test_hidden_score_for_the_kernel_prints_checks_and_returns_points(suite, monkeypatch, capsys):
    monkeypatch.setattr(harness, "suite_dir", lambda assignment: suite)
    ns = {}
    exec("def double(x):\n    return x + 1", ns)
    assert harness.hidden_score("toy", "test_double", ns, points=4) == 3.0
    printed = capsys.readouterr().out.splitlines()
    assert "✗ double(x) should return 2 * x elementwise" in printed
    assert "✓ double shape" in printed


def test_unknown_part_and_suite_are_clear_errors(suite):
    with pytest.raises(ValueError, match="no hidden tests for part"):
        harness.run_suite(suite, student_from_namespace({}), parts=["test_nope"])
    with pytest.raises(ValueError, match="no hidden suite for assignment"):
        harness.suite_dir("no-such-assignment")
