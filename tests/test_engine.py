"""The grading engine's parts: protocol, sandboxed worker, proxy, notebooks, inputs (fast, toy code)."""

from __future__ import annotations

import base64
import io
import json
import os
import pickle
import textwrap
import zipfile

import numpy as np
import pytest
from test_grading import STUDENTS as TOY_NOTEBOOKS
from test_grading import toy_assignment, toy_notebook

from autograder import harness
from autograder.engine import protocol
from autograder.engine.inputs import discover, safe_extract
from autograder.engine.notebooks import (
    Assignment,
    GradeCell,
    NotebookProblem,
    load_assignment,
    parse_submission,
    submission_code,
)
from autograder.engine.proxy import SandboxConfig, SandboxedStudent, clean, describe_status
from autograder.loader import student_from_namespace
from autograder.plain import DualValue, StudentError, StudentTimeout
from mlcourse.checks import strip_hidden

FAST = SandboxConfig().with_limits(call_cpu=1.0, cell_cpu=1.0, wall_factor=1.5, wall_grace=1.5,
                                   memory_mb=1024)
#: For tests of the CPU-time limit: a wall-clock deadline that a busy loop never meets first, however loaded
#: the machine (on 2 busy cores a process may get well under 1 CPU-second in FAST's 3 wall-clock seconds).
CPU_FIRST = FAST.with_limits(wall_grace=60.0)


def sandbox(*cells: str, config: SandboxConfig = FAST) -> SandboxedStudent:
    return SandboxedStudent([(i, textwrap.dedent(c)) for i, c in enumerate(cells)], "toy.ipynb", config)


# ------------------------------------------------------------------------------------------- protocol
def test_plain_data_round_trips_through_the_protocol():
    value = (1, 2.5, float("nan"), -np.inf, True, None, "text", 1 + 2j, [np.arange(6.0).reshape(2, 3)],
             {"a": np.array([1, 2], dtype=np.int32), "b": (np.array(True),)}, DualValue(1.0, np.ones(2)))
    frame = protocol.pack({"value": protocol.encode(value)})
    back = protocol.decode(protocol.unpack_body(frame[protocol.HEADER.size:])["value"])
    assert back[:2] == (1, 2.5) and np.isnan(back[2]) and back[3] == -np.inf
    assert back[4:8] == (True, None, "text", 1 + 2j)
    assert np.array_equal(back[8][0], value[8][0]) and back[9]["a"].dtype == np.int32
    assert isinstance(back[10], DualValue) and np.array_equal(back[10].der, np.ones(2))


@pytest.mark.parametrize("data", [
    {"a": base64.b64encode(pickle.dumps(np.array([object()], dtype=object))).decode()},
    {"pickle": "gASV"}, {"t": [1], "d": []}, {"d": [[1, 2]]}, {"a": "not base64!!"}, {"c": ["x", 1]},
    {"dual": ["a", 1]},
])
def test_the_trusted_side_refuses_anything_but_plain_data(data):
    with pytest.raises(protocol.ProtocolError):
        protocol.decode(data)


def test_object_and_structured_arrays_are_refused():
    for array in (np.array([object()], dtype=object), np.zeros(2, dtype=[("x", float)]), np.array(["a"])):
        buffer = io.BytesIO()
        np.save(buffer, array, allow_pickle=True)
        with pytest.raises(protocol.ProtocolError):
            protocol.decode({"a": base64.b64encode(buffer.getvalue()).decode()})


def test_frames_larger_than_the_cap_are_refused_before_reading_them():
    read, write = os.pipe()
    os.write(write, protocol.HEADER.pack(10**12))
    reader = protocol.FrameReader(read, max_bytes=1 << 20)
    with pytest.raises(protocol.ProtocolError, match="larger than"):
        reader.read(deadline=__import__("time").monotonic() + 1)
    os.close(read)
    os.close(write)


def test_worker_text_is_cleaned_to_one_short_line():
    assert clean("first\nsecond") == "first"
    assert clean("\x1b[31mred\x07") == "[31mred"
    assert len(clean("x" * 1000)) == 300
    assert describe_status(9) == "killed by signal 9 (SIGKILL) - out of memory, or the process killed itself"
    assert describe_status(3 << 8) == "exit code 3"


# ------------------------------------------------------------------------------------------- the proxy
def test_the_proxy_offers_the_in_process_api():
    code = """
    import numpy as np
    class Dual:
        def __init__(self, val, der=0.0):
            self.val, self.der = val, der
    def double(x, scale=1.0):
        return 2 * x * scale
    def scale_in_place(x):
        x *= 2
        return x
    """
    ns: dict = {}
    exec(textwrap.dedent(code), ns)
    local = student_from_namespace(ns)
    with sandbox(code) as remote:
        assert remote.load_errors == []
        for student in (local, remote):
            assert np.array_equal(student.double(np.arange(3.0)), [0.0, 2.0, 4.0])
            assert student.double(2.0, scale=3.0) == 12.0
            assert student.eval("Dual(2.0, 1.0)") == DualValue(2.0, 1.0)
            x = np.ones(3)
            assert harness.mutates_inputs(student, "scale_in_place", x)
            assert not harness.mutates_inputs(student, "double", x)
            assert np.array_equal(x, np.ones(3))
            assert 0 < harness.time_call(student, "double", x, repeat=3) < 1
            with pytest.raises(StudentError, match="nope is not defined"):
                student.nope(1)


def test_the_sandbox_hides_the_course_and_blocks_escapes(repo_root):
    code = f"""
    import os, sys
    def tries():
        out = {{}}
        attempts = {{
            "read solutions": lambda: open({str(repo_root / "solutions" / "hw2" / "hw2.ipynb")!r}).read(10),
            "read suite": lambda: open({str(repo_root / "autograder" / "harness.py")!r}).read(10),
            "list repo": lambda: os.listdir({str(repo_root)!r}),
            "write repo": lambda: open({str(repo_root / "PWNED")!r}, "w").write("x"),
            "reference": lambda: __import__("mlcourse.mixture"),
            "suite module": lambda: __import__("autograder.harness"),
            "socket": lambda: __import__("socket").create_connection(("127.0.0.1", 22), timeout=1),
            "subprocess": lambda: __import__("subprocess").run(["true"]),
            "system": lambda: os.system("true"),
            "fork": lambda: os.fork(),
            "ctypes": lambda: __import__("ctypes").CDLL(None),
            "thread": lambda: __import__("threading").Thread(target=print).start(),
        }}
        for name, attempt in attempts.items():
            try:
                attempt()
                out[name] = "ALLOWED"
            except BaseException as exc:
                out[name] = type(exc).__name__
        out["write tmp"] = open("scratch.txt", "w").write("ok")
        out["uid"], out["cwd"] = os.getuid(), os.getcwd()
        return out
    """
    with sandbox(code) as student:
        out = student.tries()
        steps = student.stats.sandbox["steps"]
    assert "ALLOWED" not in out.values(), out
    assert out["write tmp"] == 2
    if os.geteuid() == 0 and "private root (chroot)" in steps:
        assert out["uid"] != 0 and out["cwd"] == "/tmp/work"
        assert "network namespace" in steps and "no new processes or threads" in steps
    assert not (repo_root / "PWNED").exists()


def test_an_infinite_loop_costs_only_that_function():
    with sandbox("def spin():\n    while True:\n        pass", "def ok():\n    return 1",
                 config=CPU_FIRST) as student:
        with pytest.raises(StudentTimeout, match=r"spin did not finish within its time limit \(1 s of CPU"):
            student.spin()
        assert student.ok() == 1
        assert student.stats.starts == 1  # stopped inside the worker, no restart needed


def test_code_that_swallows_the_timeout_or_sleeps_is_killed_and_the_worker_restarted():
    code = """
    import time
    def stubborn():
        while True:
            try:
                while True:
                    pass
            except BaseException:
                pass
    def sleepy():
        time.sleep(60)
    def ok():
        return 2
    """
    with sandbox(code) as student:
        for name in ("stubborn", "sleepy"):
            with pytest.raises(StudentTimeout, match=rf"{name} did not finish within its time limit"):
                getattr(student, name)()
            assert student.ok() == 2
        assert student.stats.starts == 3


def test_exits_and_kills_end_one_call_and_the_next_call_gets_a_fresh_worker():
    code = """
    import os, signal, sys
    def leave():
        os._exit(7)
    def die():
        signal.raise_signal(signal.SIGKILL)
    def bye():
        sys.exit(0)
    def ok():
        return 3
    """
    with sandbox(code) as student:
        with pytest.raises(StudentError, match=r"leave ended the grading process \(exit code 7\)"):
            student.leave()
        assert student.ok() == 3
        with pytest.raises(StudentError, match=r"die ended the grading process \(killed by signal 9"):
            student.die()
        with pytest.raises(StudentError, match=r"bye called exit\(\) / sys.exit\(\)"):
            student.bye()
        assert student.ok() == 3


def test_cells_that_kill_or_hang_the_worker_while_loading_are_skipped():
    student = sandbox("import os\nA = 1", "os._exit(0)",
                      "while True:\n    try:\n        while True:\n            pass\n"
                      "    except BaseException:\n        pass", "import time\ntime.sleep(60)",
                      "def f():\n    return A + 1", "raise ValueError('broken cell')")
    with student:
        assert student.f() == 2
        assert student.load_errors == [
            "cell 1 ended the grading process (exit code 0); it was skipped",
            "cell 2 took longer than 3 s and was stopped; it was skipped",
            "cell 3 took longer than 3 s and was stopped; it was skipped",
            "cell 5 raised ValueError: broken cell",
        ]


def test_memory_limits_and_oversized_results_are_reported():
    code = """
    import numpy as np
    def hog():
        return np.ones((2**16, 2**16))
    def big():
        return np.zeros(3 * 2**20)
    def ok():
        return 4
    """
    with sandbox(code, config=FAST.with_limits(response_mb=16)) as student:
        with pytest.raises(StudentError, match=r"hog ran out of memory \(the limit is 1024 MiB\)"):
            student.hog()
        with pytest.raises(StudentError, match=r"big: response of \d+ MiB is larger than the 16 MiB allowed"):
            student.big()
        assert student.ok() == 4


def test_lies_and_monkeypatching_do_not_reach_the_trusted_side():
    code = """
    import builtins, json
    import numpy as np
    class Liar(np.ndarray):
        def __eq__(self, other):
            return True
    def liar():
        return np.zeros(3).view(Liar)
    def thing():
        return object()
    builtins.isinstance = lambda obj, cls: True
    builtins.type = lambda obj: float
    np.save = None
    json.dumps = lambda *a, **k: '"forged"'
    def honest():
        return np.arange(3.0)
    """
    with sandbox(code) as student:
        result = student.liar()
        assert type(result) is np.ndarray and not np.array_equal(result, np.ones(3))
        with pytest.raises(StudentError, match="returned an object of type object"):
            student.thing()
        assert np.array_equal(student.honest(), np.arange(3.0))


def test_unseeded_randomness_is_repeatable():
    code = """
    import os, random
    import numpy as np
    def draw():
        return [np.random.default_rng().random(), np.random.rand(), random.random(), random.Random().random(),
                int.from_bytes(os.urandom(4), "little")]
    """
    with sandbox(code) as first, sandbox(code) as second:
        assert first.draw() == second.draw()


def test_exec_spawning_gives_the_same_sandbox():
    with sandbox("def f(x):\n    return x + 1", config=SandboxConfig(spawn="exec")) as student:
        assert student.f(1) == 2
        assert "audit hook" in student.stats.sandbox["steps"]


def test_the_toy_suite_scores_the_same_in_process_and_sandboxed(tmp_path):
    suite = tmp_path / "toy"
    suite.mkdir()
    (suite / "test_toy.py").write_text(textwrap.dedent('''
        import numpy as np
        import pytest

        @pytest.mark.part("test_double")
        def test_values(student):
            """double doubles"""
            assert np.array_equal(student.double(np.arange(3.0)), [0, 2, 4]), "double(x) should be 2 * x"

        @pytest.mark.part("test_double", weight=3)
        def test_spin(student):
            student.spin()
    '''))
    code = "import numpy as np\ndef double(x):\n    return x + x\ndef spin():\n    while True:\n        pass"
    ns: dict = {}
    exec(code, ns)
    from autograder.loader import InProcessStudent

    local = harness.run_suite(suite, InProcessStudent(ns, call_timeout=1.0))
    with sandbox(code, config=CPU_FIRST) as student:
        remote = harness.run_suite(suite, student)
    assert local["test_double"].fraction == remote["test_double"].fraction == 0.25
    assert remote["test_double"].messages == [
        "spin did not finish within its time limit (1 s of CPU time) and was stopped"]


# ------------------------------------------------------------------------------------------- notebooks
def _cell(source, kind="code", **nbgrader):
    meta = {"nbgrader": nbgrader} if nbgrader else {}
    cell = {"cell_type": kind, "metadata": meta, "source": source}
    if kind == "code":
        cell.update(outputs=[], execution_count=None)
    return cell


def _assignment(tmp_path) -> Assignment:
    source = tmp_path / "source"
    source.mkdir()
    nb = {"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [
        _cell("import numpy as np", grade_id="setup", grade=False, solution=False, locked=True),
        _cell("def f():\n    ### BEGIN SOLUTION\n    return 1\n    ### END SOLUTION", grade_id="f",
              grade=False, solution=True),
        _cell("assert f() == 1\n### BEGIN HIDDEN TESTS\nhidden_score('x', 'test_f', globals(), points=4)\n"
              "### END HIDDEN TESTS", grade_id="test_f", grade=True, solution=False, locked=True, points=4),
        _cell("Why?", "markdown", grade_id="why", grade=True, solution=True, points=2),
    ]}
    (source / "toy.ipynb").write_text(json.dumps(nb))
    (tmp_path / "suite").mkdir()
    return load_assignment("toy", source, tmp_path / "suite")


def test_points_come_from_the_source_and_locked_cells_are_restored(tmp_path):
    assignment = _assignment(tmp_path)
    assert assignment.cells == [GradeCell("test_f", "toy", 4.0, True), GradeCell("why", "toy", 2.0, False)]
    assert assignment.max_score == 4.0 and assignment.imports == ["numpy"]
    submitted = {"cells": [
        _cell("import numpy as np\nnp.allclose = None", grade_id="setup", grade=False, solution=False,
              locked=True),
        _cell("def f():\n    return 2", grade_id="f", grade=False, solution=True),
        _cell("f = lambda: 1", grade_id="test_f", grade=True, solution=False, points=1000),
    ]}
    assert submission_code(submitted, assignment, "toy") == [(0, "import numpy as np"),
                                                             (1, "def f():\n    return 2")]


def test_hidden_regions_are_stripped():
    source = "assert x\n### BEGIN HIDDEN TESTS\nsecret()\n### END HIDDEN TESTS\nprint('done')\n"
    assert strip_hidden(source) == "assert x\nprint('done')\n"


@pytest.mark.parametrize("data, message", [
    (b"{\"cells\": [", "not a valid notebook (not JSON"), (b"\xff\xfe", "not UTF-8"),
    (b"[1, 2]", "no list of cells"), (b"x" * (2 << 20), "more than the 1 MiB allowed"),
])
def test_broken_notebooks_get_a_one_line_reason(data, message):
    with pytest.raises(NotebookProblem, match=message.replace("(", r"\(")):
        parse_submission(data, "hw.ipynb", max_mb=1)


# ------------------------------------------------------------------------------------------- inputs
def test_submission_layouts_are_recognised(tmp_path):
    assignment = _assignment(tmp_path)
    nbgrader = tmp_path / "course" / "submitted"
    (nbgrader / "bob" / "toy").mkdir(parents=True)
    (nbgrader / "bob" / "toy" / "toy.ipynb").write_text("{}")
    (nbgrader / "bob" / "toy" / "timestamp.txt").write_text("2024-01-01 10:00:00\n")
    (nbgrader / "eve" / "toy").mkdir(parents=True)
    (nbgrader / "eve" / "toy" / "other.ipynb").write_text("{}")
    found = discover(tmp_path / "course", assignment, tmp_path / "scratch")
    assert [(s.student, s.timestamp, s.problems) for s in found] == [
        ("bob", "2024-01-01 10:00:00", []),
        ("eve", None, ["notebook toy.ipynb is missing (found: other.ipynb)"])]
    flat = tmp_path / "flat"
    flat.mkdir()
    for name in ("Ann Lee.ipynb", "ann-lee.ipynb", "zed.ipynb"):
        (flat / name).write_text("{}")
    # "Ann Lee" is not a safe id: it gets a distinct derived id, so it can never take "ann-lee"'s
    ids = sorted(s.student for s in discover(flat, assignment, tmp_path / "scratch"))
    assert ids[1:] == ["ann-lee", "zed"] and ids[0].startswith("Ann-Lee~"), ids
    archive = tmp_path / "export.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("export/submission_1/toy.ipynb", "{}")
        zf.writestr("export/submission_2/work/mine.ipynb", "{}")
        zf.writestr("export/submission_2/submission_metadata.yml", "x")
    found = discover(archive, assignment, tmp_path / "scratch")
    assert [(s.student, sorted(s.notebooks)) for s in found] == [("submission_1", ["toy"]),
                                                                 ("submission_2", ["toy"])]


@pytest.mark.parametrize("member", ["../evil.ipynb", "/abs/evil.ipynb", "a/../../evil.ipynb"])
def test_zips_cannot_write_outside_their_folder(tmp_path, member):
    archive = tmp_path / "bad.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr(member, "{}")
    with pytest.raises(ValueError, match="unsafe path"):
        safe_extract(archive, tmp_path / "out", max_total_mb=10)
    assert not (tmp_path / "evil.ipynb").exists()


def test_zip_bombs_are_refused(tmp_path):
    archive = tmp_path / "bomb.zip"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("a.ipynb", b"0" * (3 << 20))
    with pytest.raises(ValueError, match="expands to more than 1 MiB"):
        safe_extract(archive, tmp_path / "out", max_total_mb=1)


def test_without_namespaces_the_audit_hook_still_guards_the_course(repo_root):
    """Where namespaces are unavailable (the fallback), the audit hook alone keeps the course unreadable."""
    config = SandboxConfig(limits=FAST.with_limits(cell_cpu=20).limits, namespaces=False, drop_user=False)
    code = f"""
    import os
    import mlcourse.datasets
    def tries():
        out = {{}}
        for name, path in [("solution", {str(repo_root / "solutions" / "hw2" / "hw2.ipynb")!r}),
                           ("suite", {str(repo_root / "autograder" / "harness.py")!r}),
                           ("reference",
                            {str(repo_root / "src" / "mlcourse" / "mixture" / "__init__.py")!r})]:
            try:
                open(path).read(1)
                out[name] = "ALLOWED"
            except BaseException as exc:
                out[name] = type(exc).__name__
        return out
    """
    with sandbox(code, config=config) as student:
        assert student.load_errors == []
        assert student.tries() == {"solution": "PermissionError", "suite": "PermissionError",
                                   "reference": "PermissionError"}
        assert "private root (chroot)" not in student.stats.sandbox["steps"]


DEGRADED = r'''
import errno, json, os, sys, tempfile
from autograder.engine import proxy
from autograder.engine.sandbox import confine

def refuse(*args, **kwargs):
    raise OSError(errno.EPERM, "Operation not permitted")

confine._Mounter.mount = refuse  # a container without CAP_SYS_ADMIN, or a user namespace AppArmor disarmed
workdir = tempfile.mkdtemp(dir=sys.argv[1])
setup = proxy.SandboxConfig().setup(workdir)
state = confine.isolate(setup)
confine.install_guards(setup, state, os.getcwd())
out = {"state": state.as_dict(), "uid": os.getuid(), "home": os.getcwd() == workdir}
with open("scratch.txt", "w") as handle:
    out["write home"] = handle.write("ok")
for name, attempt in [("read solutions", lambda: open(sys.argv[2]).read(1)),
                      ("list course", lambda: os.listdir(os.path.dirname(sys.argv[2]))),
                      ("write tmp", lambda: open(os.path.join(sys.argv[1], "PWNED"), "w")),
                      ("socket", lambda: __import__("socket").socket(__import__("socket").AF_INET))]:
    try:
        attempt()
        out[name] = "ALLOWED"
    except BaseException as exc:
        out[name] = type(exc).__name__
sys.stdout.write(json.dumps(out))
'''


def test_a_host_that_refuses_mounts_degrades_to_the_audit_hook_not_to_a_failure(repo_root):
    """Where mounts are refused, the worker still starts: own uid (as root), home, limits, audit hook."""
    import shutil
    import subprocess
    import sys
    import tempfile

    base = tempfile.mkdtemp(prefix="course-sandboxes-")  # like the engine's: 0711 under /tmp
    os.chmod(base, 0o711)
    try:
        proc = subprocess.run([sys.executable, "-c", DEGRADED, base,
                               str(repo_root / "solutions" / "hw2" / "hw2.ipynb")],
                              capture_output=True, text=True, timeout=120, cwd="/")
        assert proc.returncode == 0, proc.stderr
        out = json.loads(proc.stdout)
    finally:
        shutil.rmtree(base, ignore_errors=True)
    state = out["state"]
    assert "private root (Operation not permitted)" in state["missing"], state
    assert "private root (chroot)" not in state["steps"]
    assert {"rlimits", "audit hook"} <= set(state["steps"]), state
    assert out["home"] and out["write home"] == 2
    assert {out[k] for k in ("read solutions", "list course", "write tmp", "socket")} == {"PermissionError"}
    dropped = out["uid"] != 0 and any(step.startswith("uid ") for step in state["steps"])
    if os.geteuid() == 0:  # its own uid, unless that uid could not load Python (then it says why not)
        assert dropped or any("cannot read" in m for m in state["missing"]), state
    if dropped or os.geteuid() != 0:
        assert "no new processes or threads" in state["steps"], state


def test_machine_code_written_by_the_student_cannot_be_loaded(tmp_path):
    """C-library loaders are blocked on import (cffi) or audited (ctypes), and a compiled extension module the
    student writes into the sandbox cannot be mapped: its folder is on a noexec mount."""
    import base64
    import shutil
    import subprocess
    import sysconfig

    assert shutil.which("gcc"), "this test compiles a tiny extension module with gcc"
    source = tmp_path / "evil.c"
    source.write_text('#include <Python.h>\nstatic struct PyModuleDef m = {PyModuleDef_HEAD_INIT, "evil", '
                      'NULL, -1, NULL};\nPyMODINIT_FUNC PyInit_evil(void) { return PyModule_Create(&m); }\n')
    subprocess.run(["gcc", "-shared", "-fPIC", f"-I{sysconfig.get_paths()['include']}", str(source), "-o",
                    str(tmp_path / "evil.so")], check=True)
    data = base64.b64encode((tmp_path / "evil.so").read_bytes()).decode()
    code = f"""
    import base64, importlib.util, os
    open("evil.so", "wb").write(base64.b64decode("{data}"))
    OUT = {{}}
    try:
        spec = importlib.util.spec_from_file_location("evil", os.path.abspath("evil.so"))
        importlib.util.module_from_spec(spec)
        OUT["extension"] = "loaded"
    except Exception as exc:
        OUT["extension"] = type(exc).__name__
    for name in ("cffi", "_cffi_backend"):
        try:
            __import__(name)
            OUT[name] = "loaded"
        except Exception as exc:
            OUT[name] = type(exc).__name__
    def out():
        return OUT
    """
    with sandbox(code) as student:
        out = student.out()
        steps = student.stats.sandbox["steps"]
    assert out["cffi"] == out["_cffi_backend"] == "ImportError", out
    if "private root (chroot)" in steps:
        assert out["extension"] == "ImportError", out


def test_the_untrusted_side_imports_nothing_of_the_trusted_side():
    """autograder.engine.sandbox (worker, confine, zygote) needs only the shared modules: a reviewer audits
    what runs next to student code in one place, and no import cycle ties it to the trusted side."""
    import subprocess
    import sys

    code = ("import sys, autograder.engine.sandbox.worker, autograder.engine.sandbox.zygote; "
            "print(' '.join(sorted(m for m in sys.modules if m.startswith('autograder'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.split()
    shared = {"autograder", "autograder.plain", "autograder.engine", "autograder.engine.protocol"}
    untrusted = {"autograder.engine.sandbox", "autograder.engine.sandbox.worker",
                 "autograder.engine.sandbox.confine", "autograder.engine.sandbox.zygote"}
    assert set(out) == shared | untrusted, sorted(set(out) - shared - untrusted)


def test_subclasses_of_plain_types_cross_as_their_plain_values_and_huge_ints_are_just_numbers():
    """A namedtuple, an OrderedDict, an IntEnum or a NumPy scalar is honest code: it arrives as the plain
    value (never with its methods); an int too large for the protocol is a (wrong) number, not a crash."""
    code = """
    import collections, enum
    import numpy as np
    Pair = collections.namedtuple("Pair", "gamma loglik")
    class Colour(enum.IntEnum):
        RED = 3
    class Sneaky(tuple):
        def __iter__(self):
            return iter((0.0, 0.0))
    def pair():
        return Pair(np.eye(2), np.float32(-1.5))
    def ordered():
        return collections.OrderedDict(pi=np.array([0.5, 0.5]), loglik=[np.float64(-2.0)])
    def colour():
        return Colour.RED
    def huge():
        return 10 ** 400, -(10 ** 30)
    def sneaky():
        return Sneaky((1.0, 2.0))
    """
    with sandbox(code) as student:
        gamma, loglik = student.pair()
        assert type(gamma) is np.ndarray and np.array_equal(gamma, np.eye(2)) and loglik == -1.5
        got = student.ordered()
        assert type(got) is dict and got["loglik"] == [-2.0] and np.array_equal(got["pi"], [0.5, 0.5])
        assert student.colour() == 3 and type(student.colour()) is int
        assert student.huge() == (float("inf"), -1e30)
        assert student.sneaky() == (1.0, 2.0)  # read through tuple's own methods, not the override
        assert student.stats.starts == 1


def test_timed_calls_count_the_workers_cpu_including_work_hidden_in_untimed_steps():
    """time_calls measures the worker's CPU time from outside (a sleep costs nothing, load adds nothing), and
    work moved into the untimed steps around a call (a patched ``stage`` handler) is charged to the call."""
    code = """
    import gc, time
    import numpy as np

    def burn(seconds):
        start = time.process_time()
        while time.process_time() - start < seconds:
            pass

    def sleeper(x):
        time.sleep(0.3)
        return x

    def burner(x):
        burn(0.2)
        return x

    def cheat(x):
        return x

    def patch():
        worker = next(o for o in gc.get_objects() if type(o).__name__ == "Worker" and hasattr(o, "op_stage"))
        original = type(worker).op_stage

        def op_stage(self, request):
            burn(0.4)  # do the work while the trusted side is not timing the call
            return original(self, request)

        type(worker).op_stage = op_stage
        return True
    """
    x = np.arange(4.0)
    with sandbox(code, config=CPU_FIRST) as student:
        [(slept, out)] = harness.time_calls(student, "sleeper", [(x,)])
        assert slept < 0.1 and np.array_equal(out, x)
        [(burnt, _)] = harness.time_calls(student, "burner", [(x,)])
        assert burnt >= 0.15
        assert student.patch() is True
        [(cheated, _)] = harness.time_calls(student, "cheat", [(x,)])
        assert cheated >= 0.3, cheated


# ------------------------------------------------------------------ bookkeeping at scale (issue #18)
# the toy course of tests/test_grading.py: its suite and notebooks (alice full marks, bob 3/4 + 2/2, dave 0)
TOY_STUDENTS = {name: TOY_NOTEBOOKS[name] for name in ("alice", "bob", "dave")}


def _toy_course(base) -> dict:
    source, suite = toy_assignment(base)
    subs = base / "submissions"
    for name, nb in TOY_STUDENTS.items():
        (subs / name / "toy").mkdir(parents=True)
        (subs / name / "toy" / "toy.ipynb").write_text(json.dumps(nb, indent=1))
    (subs / "alice" / "toy" / "timestamp.txt").write_text("2026-11-02 09:30:00.000000 UTC\n")
    return {"source": source, "suite": suite, "subs": subs}


def _batch_options(toy: dict, out, **extra):
    from autograder.engine.batch import BatchOptions
    from autograder.engine.limits import Limits

    return BatchOptions("toy", toy["subs"], out, workers=2, source_dir=toy["source"], suite_dir=toy["suite"],
                        limits=Limits(call_cpu=2.0, cell_cpu=2.0), progress=False, calibrate=False,
                        **extra)


def _gradebook_contents(db_url: str) -> dict:
    """Every automatic and manual value of the toy assignment, per student and cell."""
    from nbgrader.api import Gradebook

    data = {}
    with Gradebook(db_url, "mlcourse") as gb:
        for submission in gb.find_assignment("toy").submissions:
            student = submission.student.id
            data[student, "timestamp"] = submission.timestamp
            for notebook in submission.notebooks:
                data[student, notebook.name, "late"] = notebook.late_submission_penalty
                for g in notebook.grades:
                    data[student, g.name] = (g.auto_score, g.manual_score, g.extra_credit,
                                             g.needs_manual_grade)
                for c in notebook.comments:
                    data[student, c.name, "comment"] = (c.auto_comment, c.manual_comment)
    return data


def _grader_work(db_url: str) -> None:
    """What graders do in formgrader between two runs."""
    from nbgrader.api import Gradebook

    with Gradebook(db_url, "mlcourse") as gb:
        gb.find_grade("explain", "toy", "toy", "alice").manual_score = 0.5
        gb.find_grade("test_double", "toy", "toy", "bob").extra_credit = 1.0
        gb.find_grade("test_square", "toy", "toy", "bob").manual_score = 1.5
        gb.find_comment("double", "toy", "toy", "alice").manual_comment = "Neat."
        gb.db.commit()


def _nbgrader_one_student_at_a_time(toy: dict, results, db_url: str, work) -> None:
    """The reference: each result recorded by nbgrader's own ``autograde`` in the gradebook itself, one
    student after the other (what the engine did before grading processes rendered), then the engine's
    scores written on top."""
    from nbgrader.api import Gradebook

    from autograder.engine.gradebook import Nbgrader, Workspace, _lines, summary_lines, write_engine_scores
    from autograder.engine.notebooks import for_nbgrader

    assignment = load_assignment("toy", toy["source"], toy["suite"])
    ws = Workspace(work / "course", work / "staging", None, db_url, "mlcourse", standalone=True,
                   feedback_dir=work / "feedback")
    steps = Nbgrader(assignment, toy["source"], ws, feedback=False)
    steps.prepare()
    for result in results:
        folder = ws.staging / "submitted" / result.student / "toy"
        folder.mkdir(parents=True, exist_ok=True)
        for name in ("toy.ipynb", "timestamp.txt"):
            if (toy["subs"] / result.student / "toy" / name).is_file():
                data = (toy["subs"] / result.student / "toy" / name).read_bytes()
                if name.endswith(".ipynb"):
                    data = json.dumps(for_nbgrader(parse_submission(data, name, 20, assignment=assignment),
                                                   assignment, "toy")).encode()
                (folder / name).write_bytes(data)
        steps.engine_scores.pending[(result.student, "toy")] = {
            "cells": {c.grade_id: {"score": c.score, "lines": _lines(c)} for c in result.cells.values()},
            "summary": summary_lines(result), "manual": {"explain"}}
        assert steps.api.autograde("toy", result.student, force=True, create=True)["success"]
        result.valid_notebooks = {"toy": {}}
        with Gradebook(db_url, "mlcourse") as gb:
            write_engine_scores(gb, assignment, result)
            gb.db.commit()


@pytest.mark.slow
def test_the_bulk_gradebook_equals_nbgrader_recording_each_student_and_keeps_manual_work(tmp_path):
    from autograder.engine.batch import run_batch

    toy = _toy_course(tmp_path)
    out = tmp_path / "out"
    options = _batch_options(toy, out, flush_every=1000, flush_seconds=3600.0)  # one transaction per run
    first = run_batch(options)
    engine_db = f"sqlite:///{out / 'gradebook.db'}"
    _grader_work(engine_db)
    second = run_batch(_batch_options(toy, out, flush_every=1000, flush_seconds=3600.0, force=True))
    assert first.exit_code == second.exit_code == 0

    reference_db = f"sqlite:///{tmp_path / 'reference.db'}"
    _nbgrader_one_student_at_a_time(toy, first.results, reference_db, tmp_path / "ref1")
    _grader_work(reference_db)
    _nbgrader_one_student_at_a_time(toy, second.results, reference_db, tmp_path / "ref2")
    engine, reference = _gradebook_contents(engine_db), _gradebook_contents(reference_db)
    assert engine == reference
    assert engine["alice", "explain"][1] == 0.5 and engine["bob", "test_double"][2] == 1.0  # kept
    assert engine["alice", "double", "comment"][1] == "Neat."
    assert engine["alice", "test_double"][0] == 4 and engine["bob", "test_double"][0] == 3  # the suite's
    assert engine["dave", "test_square"][0] == 0 and engine["alice", "timestamp"] is not None

    timings = json.loads((out / "timings.json").read_text())
    assert timings["gradebook_transactions"] == 1 and timings["gradebook_students_written"] == 3
    serial = timings["parent_serial_seconds"]
    assert serial["total"] == pytest.approx(sum(serial["parts"].values()), abs=1e-3)
    assert serial["per_submission"] == pytest.approx(serial["total"] / 3, abs=1e-4)
    assert set(serial["parts"]) == {"jobs", "collect", "gradebook_write", "tables", "final_tables"}
    feedback = (out / "feedback" / "bob" / "toy" / "toy.html").read_text()
    assert "double(x) should return 2 * x" in feedback and "<html" in feedback.lower()
    autograded = json.loads((out / "nbgrader" / "autograded" / "alice" / "toy" / "toy.ipynb").read_text())
    assert any("Score: 4 / 4" in "".join(o.get("text", "")) for c in autograded["cells"]
               for o in c.get("outputs", []))


@pytest.mark.slow
def test_an_interrupted_batch_writes_every_finished_student_into_the_gradebook(tmp_path):
    import signal
    import subprocess
    import sys
    import time

    toy = _toy_course(tmp_path)
    for n in range(2):  # still being graded when the batch is interrupted
        nb = toy_notebook("    import time\n    time.sleep(300)\n    return 2 * x", "    return x * x")
        (toy["subs"] / f"slow{n}" / "toy").mkdir(parents=True)
        (toy["subs"] / f"slow{n}" / "toy" / "toy.ipynb").write_text(json.dumps(nb))
    out = tmp_path / "out"
    script = textwrap.dedent(f"""
        import sys
        from pathlib import Path
        from autograder.engine.batch import BatchOptions, run_batch
        from autograder.engine.limits import Limits
        options = BatchOptions("toy", Path({str(toy['subs'])!r}), Path({str(out)!r}), workers=2,
                               source_dir=Path({str(toy['source'])!r}), suite_dir=Path({str(toy['suite'])!r}),
                               limits=Limits(call_cpu=200.0, cell_cpu=200.0), progress=False,
                               calibrate=False, flush_every=1000, flush_seconds=3600.0)
        try:
            run_batch(options)
        except KeyboardInterrupt:
            sys.exit(130)
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)
    deadline = time.monotonic() + 240
    finished = [out / s / "results.json" for s in TOY_STUDENTS]
    while not all(p.is_file() for p in finished) and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.5)
    assert all(p.is_file() for p in finished), proc.poll()
    db = out / "gradebook.db"
    assert not db.is_file() or not _gradebook_contents(f"sqlite:///{db}")  # nothing written yet
    proc.send_signal(signal.SIGTERM)
    output, _ = proc.communicate(timeout=120)
    assert proc.returncode == 130, output
    contents = _gradebook_contents(f"sqlite:///{db}")
    assert {key[0] for key in contents} == set(TOY_STUDENTS)  # every finished student, and only those
    assert contents["alice", "test_double"][0] == 4 and contents["bob", "test_double"][0] == 3
    summary = json.loads((out / "summary.json").read_text())
    assert summary["state"] == "interrupted"
    for student in TOY_STUDENTS:
        assert (out / "feedback" / student / "toy" / "toy.html").is_file()


def test_a_local_render_job_carries_the_folder_not_its_files(tmp_path):
    """Each student's data files are read by the grading process (lazy job), never held by the parent for the
    whole batch; the files read are those an eager job carries, links left out."""
    from autograder.engine.gradebook import RenderJob, read_extras

    folder = tmp_path / "submitted" / "alice" / "hw2"
    (folder / "data").mkdir(parents=True)
    (folder / "hw2.ipynb").write_text("{}")
    (folder / "timestamp.txt").write_text("2030-01-01 12:00:00 UTC\n")
    (folder / "data" / "points.csv").write_bytes(b"1,2\n" * 1000)
    (folder / "elsewhere").symlink_to("/etc/hostname")
    lazy = RenderJob(None, "2030-01-01 12:00:00 UTC", {}, {}, extras_dir=str(folder))
    assert lazy.extras == {}
    files = lazy.loaded().extras
    assert files == read_extras(folder)[0]
    assert sorted(files) == ["data/points.csv", "timestamp.txt"]  # no notebook, no link
    assert files["data/points.csv"][0] == b"1,2\n" * 1000 and lazy.loaded().extras_dir is None
    (tmp_path / "linked").symlink_to(folder)
    assert RenderJob(None, extras_dir=str(tmp_path / "linked")).loaded().extras == {}
    assert RenderJob(None, extras_dir=str(tmp_path / "gone")).loaded().extras == {}
