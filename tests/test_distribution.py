"""What each audience installs (issue #16).

* The student package (``python -m mlcourse.build.student_wheel``) holds the student-facing modules only:
  no hidden tests, solutions, fixtures, grading engine or build tooling, and it provides every ``mlcourse``
  import of the released homework notebooks and the lectures; ``environment-student.yml`` and
  ``requirements/student.lock`` agree with it.
* ``course gradescope`` bundles, and their ``run_autograder`` scores as ``course grade`` does.
* ``course grade --scheduler`` without Dask says in one line which extra to install.
"""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from autograder.assignments import assignment_names
from mlcourse.build import student_wheel

ROOT = Path(__file__).resolve().parents[1]

#: Strings that only hidden tests or solutions contain.
FORBIDDEN_TEXT = ("@pytest.mark.part", "hidden_score", "### BEGIN SOLUTION", "### END SOLUTION")

#: Import names whose distribution has another name.
DISTRIBUTION_OF = {"sklearn": "scikit-learn", "IPython": "ipykernel", "PIL": "pillow"}


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    return student_wheel.build(tmp_path_factory.mktemp("student-wheel"))


@pytest.fixture(scope="module")
def installed(wheel, tmp_path_factory) -> Path:
    """The wheel unpacked as pip installs it (``--target``), without its dependencies."""
    target = tmp_path_factory.mktemp("student-site")
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index",
                    "--disable-pip-version-check", "--target", str(target), str(wheel)], check=True)
    return target


def _names(wheel: Path) -> list[str]:
    with zipfile.ZipFile(wheel) as z:
        return z.namelist()


def notebook_imports(pattern: str) -> dict[str, set[str]]:
    """Notebook -> the import statements (``import x`` / ``from x import y`` as ``x`` or ``x.y``) of its code
    cells (IPython magics and shell lines skipped)."""
    found: dict[str, set[str]] = {}
    for path in sorted(ROOT.glob(pattern)):
        names: set[str] = set()
        for cell in json.loads(path.read_text())["cells"]:
            if cell["cell_type"] != "code":
                continue
            source = "".join(cell["source"])
            source = "\n".join("" if line.lstrip().startswith(("%", "!")) else line
                               for line in source.splitlines())
            for node in ast.walk(ast.parse(source)):
                if isinstance(node, ast.Import):
                    names |= {alias.name for alias in node.names}
                elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                    names.add(node.module)
                    names |= {f"{node.module}.{alias.name}" for alias in node.names}
        found[str(path.relative_to(ROOT))] = names
    return found


def test_student_wheel_holds_no_grader_solution_or_tooling(wheel):
    names = _names(wheel)
    assert any(n == "mlcourse/check.py" for n in names)
    bad = [n for n in names if n.startswith(("autograder/", "solutions/", "mlcourse/build/", "tests/"))
           or n.endswith("__main__.py") or "/fixtures/" in n or n.endswith((".ipynb", ".pyc"))]
    assert not bad, f"the student wheel ships {bad}"
    packages = {n.split("/")[0] for n in names if not n.split("/")[0].endswith((".dist-info", ".data"))}
    assert packages == {"mlcourse"}, f"the student wheel ships top-level {packages - {'mlcourse'}}"
    with zipfile.ZipFile(wheel) as z:
        for name in names:
            text = z.read(name).decode("utf-8", errors="replace")
            for marker in FORBIDDEN_TEXT:
                assert marker not in text, f"{name} in the student wheel contains {marker!r}"


def test_student_wheel_holds_no_line_of_the_hidden_suites(wheel):
    """No distinctive code line of the hidden tests (``autograder/<assignment>/test_*.py``) is shipped, except
    the visible checks the suites take from ``mlcourse.checks`` (students see those in the release). Imports,
    signatures and short lines are not distinctive."""
    with zipfile.ZipFile(wheel) as z:
        shipped = {line.strip() for n in z.namelist() if n.endswith(".py")
                   for line in z.read(n).decode().splitlines()}
    visible = {line.strip() for p in (ROOT / "src" / "mlcourse" / "checks").glob("hw*.py")
               for line in p.read_text().splitlines()}
    leaked = []
    for suite in sorted(p for p in (ROOT / "autograder").glob("hw*") if p.is_dir()):
        for path in sorted(suite.rglob("test_*.py")):
            for line in path.read_text().splitlines():
                code = line.strip()
                distinctive = len(code) >= 40 and not code.startswith(("#", "import ", "from ", "def ", ")"))
                if distinctive and code in shipped and code not in visible:
                    leaked.append(f"{path.relative_to(ROOT)}: {code}")
    assert not leaked, "hidden-suite lines in the student wheel:\n" + "\n".join(leaked[:20])


def test_student_wheel_provides_what_the_notebooks_import(wheel, installed):
    imports = notebook_imports("assignments/*/*.ipynb") | notebook_imports("lectures/*.ipynb")
    assert imports and any(k.startswith("assignments/") for k in imports)
    ours = sorted({n for names in imports.values() for n in names if n.split(".")[0] == "mlcourse"})
    assert "mlcourse.datasets" in ours and "mlcourse.autodiff" in ours
    # Import each (module or attribute of a module) from the unpacked wheel, never from the repository.
    script = "\n".join([
        "import importlib, sys",
        "import mlcourse",
        f"assert mlcourse.__file__.startswith({str(installed)!r}), mlcourse.__file__",
        "from mlcourse.check import check  # what the homework tells students to import",
        f"for name in {ours!r}:",
        "    try:",
        "        importlib.import_module(name)",
        "    except ModuleNotFoundError:",
        "        module, _, attr = name.rpartition('.')",
        "        assert hasattr(importlib.import_module(module), attr), name",
        "import pkgutil",
        "for info in pkgutil.walk_packages(mlcourse.__path__, 'mlcourse.'):",
        "    importlib.import_module(info.name)",
        "bad = sorted(m for m in sys.modules",
        "             if m.split('.')[0] == 'autograder' or m.startswith('mlcourse.build'))",
        "assert not bad, bad",
    ])
    env = {**os.environ, "PYTHONPATH": str(installed), "MPLBACKEND": "Agg"}
    done = subprocess.run([sys.executable, "-c", script], cwd=installed, env=env, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]

    # Third-party imports: in the standard library or among the student environment's packages.
    provided = set(student_environment_packages()) | {"pillow"}  # pillow: a dependency of matplotlib
    third = sorted({n.split(".")[0] for names in imports.values() for n in names} - {"mlcourse"}
                   - set(sys.stdlib_module_names))
    unprovided = [n for n in third if DISTRIBUTION_OF.get(n, n).lower() not in provided]
    assert not unprovided, f"the notebooks import {unprovided}, which the student environment lacks"


def wheel_requirements(wheel: Path) -> tuple[dict[str, str], dict[str, str]]:
    """(requirements, extras' requirements) of the wheel's METADATA, name -> bound."""
    with zipfile.ZipFile(wheel) as z:
        meta = next(z.read(n).decode() for n in z.namelist() if n.endswith(".dist-info/METADATA"))
    plain, extra = {}, {}
    for line in meta.splitlines():
        if line.startswith("Requires-Dist:"):
            req = line.split(":", 1)[1].strip()
            name, spec = _normalise(req)
            (extra if "extra ==" in req else plain)[name] = spec
    return plain, extra


def _normalise(requirement: str) -> tuple[str, str]:
    match = re.match(r"^\s*([A-Za-z0-9_.\-]+)\s*([^;]*)", requirement)
    assert match, requirement
    return re.sub(r"[-_.]+", "-", match.group(1)).lower(), match.group(2).replace(" ", "").strip("()")


def student_environment_packages() -> dict[str, str]:
    from test_environment import environment_packages

    return environment_packages("environment-student.yml")


def test_student_wheel_requires_the_library_dependencies_only(wheel):
    from test_environment import pyproject_packages

    plain, extra = wheel_requirements(wheel)
    assert plain == pyproject_packages(extras=()), "the student wheel must require pyproject's runtime deps"
    assert set(extra) == {"autograd"}
    heavy = {"nbgrader", "dask", "distributed", "pytest", "sphinx", "nbconvert", "jupyter"} & set(plain)
    assert not heavy, f"the student wheel requires grading or build tools: {heavy}"


def test_student_environment_and_lock_agree_with_the_wheel(wheel):
    from packaging.specifiers import SpecifierSet
    from test_environment import lock_pins, pyproject_packages

    plain, extra = wheel_requirements(wheel)
    env = student_environment_packages()
    wanted = plain | extra
    jupyter = {n: s for n, s in pyproject_packages().items() if n in ("jupyter", "ipykernel")}
    assert env == wanted | jupyter, "environment-student.yml must list the student wheel's requirements, " \
                                    "its [lectures] extra and jupyter/ipykernel, with pyproject's bounds"
    text = (ROOT / "environment-student.yml").read_text()
    assert f"./dist/{wheel.name}" in text, f"environment-student.yml must install ./dist/{wheel.name}"
    pins = lock_pins("student.lock")
    missing = sorted(set(wanted) - set(pins))
    assert not missing, f"requirements/student.lock lacks {missing}: run make lock"
    outside = {n: pins[n] for n, s in wanted.items() if any(v not in SpecifierSet(s) for v, *_ in pins[n])}
    assert not outside, f"requirements/student.lock pins versions outside the bounds: {outside}"
    assert not {"nbgrader", "dask", "pytest"} & set(pins)


def test_scheduler_without_dask_names_the_extra(tmp_path):
    script = ("import sys; sys.modules['distributed'] = None\n"
              "from autograder.cli import main\n"
              f"sys.exit(main(['grade', 'hw1', '--demo', '--no-nbgrader', '--quiet', '--out', "
              f"{str(tmp_path)!r}, '--scheduler', 'tcp://127.0.0.1:9']))")
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "pip install 'mlcourse[cluster]'" in lines[0], done.stderr


# ------------------------------------------------------------------------------------------- Gradescope
@pytest.fixture(scope="module")
def gradescope_zip(tmp_path_factory) -> Path:
    from autograder.gradescope import bundle

    return bundle("hw1", tmp_path_factory.mktemp("gradescope"), visibility="after_published")


def test_gradescope_bundle_layout(gradescope_zip):
    with zipfile.ZipFile(gradescope_zip) as z:
        names = z.namelist()
        modes = {i.filename: i.external_attr >> 16 for i in z.infolist()}
        setup = z.read("setup.sh").decode()
        config = json.loads(z.read("gradescope.json"))
    assert {"setup.sh", "run_autograder", "gradescope.json", "repo/requirements/grader.lock",
            "repo/solutions/hw1/hw1.ipynb", "repo/autograder/hw1/test_dual.py"} <= set(names)
    assert modes["setup.sh"] & 0o111 and modes["run_autograder"] & 0o111
    assert not [n for n in names if "/fixtures/" in n or n.startswith(("repo/autograder/hw2/", "repo/tests/",
                                                                       "repo/src/mlcourse/build/"))]
    assert "--require-hashes -r \"$SOURCE/repo/requirements/grader.lock\"" in setup
    assert config == {"assignment": "hw1", "visibility": "after_published", "result_visibility": "visible",
                      "notebooks": ["hw1.ipynb"]}


def test_gradescope_unknown_assignment_is_one_line(tmp_path, capsys):
    import argparse

    from autograder.gradescope import add_parser, run

    parser = argparse.ArgumentParser()
    add_parser(parser.add_subparsers(dest="command"))
    assert run(parser.parse_args(["gradescope", "hw9", "--out", str(tmp_path)])) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and all(name in err[0] for name in assignment_names())


@pytest.mark.slow
def test_run_autograder_scores_like_course_grade(gradescope_zip, tmp_path):
    """run_autograder in a folder laid out like /autograder, for two demo submissions, gives the scores (per
    check) of ``course grade`` on the same notebooks, with execution_time and the bundle's visibility."""
    from autograder.cli import main as course

    root = tmp_path / "autograder"
    (root / "source").mkdir(parents=True)
    with zipfile.ZipFile(gradescope_zip) as z:
        z.extractall(root / "source")
    env = {**os.environ, "MLCOURSE_AUTOGRADER_ROOT": str(root), "MLCOURSE_AUTOGRADER_PYTHON": sys.executable}
    # setup.sh's last step (the rest installs the environment, which this test already runs in)
    done = subprocess.run([sys.executable, "-m", "autograder.gradescope", "calibrate", "--root", str(root)],
                          cwd=root / "source" / "repo", env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    fixtures = ROOT / "autograder" / "fixtures" / "hw1"
    demo = tmp_path / "demo"
    demo.mkdir()
    found = {}
    for name in ("correct", "product_rule_wrong"):
        shutil.copyfile(fixtures / f"{name}.ipynb", demo / f"{name}.ipynb")
        shutil.rmtree(root / "submission", ignore_errors=True)
        shutil.rmtree(root / "results", ignore_errors=True)
        (root / "submission").mkdir()
        (root / "results").mkdir()
        shutil.copyfile(fixtures / f"{name}.ipynb", root / "submission" / "hw1.ipynb")
        done = subprocess.run(["bash", str(root / "source" / "run_autograder")], env=env, capture_output=True,
                              text=True, timeout=900)
        assert done.returncode == 0, done.stderr
        found[name] = json.loads((root / "results" / "results.json").read_text())
    out = tmp_path / "grades"
    out.mkdir()
    shutil.copyfile(root / "source" / "calibration" / ".calibration.json", out / ".calibration.json")
    assert course(["grade", "hw1", str(demo), "--out", str(out), "--no-nbgrader", "--quiet"]) == 0
    expected = json.loads((fixtures / "expected.json").read_text())
    for name, results in found.items():
        graded = json.loads((out / name / "results.json").read_text())
        assert results["score"] == graded["score"] == sum(expected[name].values())
        assert [(t["name"], t["score"]) for t in results["tests"]] == \
               [(t["name"], t["score"]) for t in graded["tests"]]
        assert results["execution_time"] > 0 and results["max_score"] == graded["max_score"]
        assert {t["visibility"] for t in results["tests"]} == {"after_published"}
        assert results["visibility"] == "visible"
