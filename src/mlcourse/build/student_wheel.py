"""The package students install: ``python -m mlcourse.build.student_wheel --out DIR``.

Builds the wheel of the distribution ``mlcourse-student`` (import name ``mlcourse``, as in the lectures and
the homework notebooks) from an allow-list of this repository's modules, staged into a temporary project with
its own ``pyproject.toml``:

* **in**: :data:`STUDENT_MODULES` — what the released homework notebooks (``assignments/*/*.ipynb``) and the
  lectures import, and what those modules import in turn (``tests/test_distribution.py`` checks both);
* **never**: ``autograder/`` (hidden suites, grading engine, fixtures), ``solutions/``, ``mlcourse.build``
  (this tooling), ``mlcourse.checks.__main__`` (regenerates the visible checks from the solutions), caches.

Its dependencies are the repository's runtime dependencies (``[project] dependencies`` of ``pyproject.toml``,
same bounds), plus the extra ``[lectures]`` for what only the lecture notebooks import (``autograd``). The
reference implementations (:mod:`mlcourse.autodiff`, :mod:`mlcourse.mixture`) are in it because the lectures
and the plotting helpers import them; while graded, a submission cannot use them (the sandbox hides them).

``--requirements`` prints the wheel's requirements (one per line, extras included) instead of building, for
``make lock`` (``requirements/student.lock``).
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
SRC = ROOT / "src" / "mlcourse"

#: The distribution name of the student package.
DIST_NAME = "mlcourse-student"

#: Modules and packages of ``src/mlcourse`` the student package ships (paths relative to it).
STUDENT_MODULES = (
    "__init__.py",
    "autodiff",
    "mixture",
    "datasets",
    "plotting",
    "timing.py",
    "check.py",
    "checks",
)

#: Never shipped, even inside an allowed package.
EXCLUDED = ("__main__.py", "__pycache__", "*.pyc", ".ipynb_checkpoints")

#: Extras of the student package: name -> requirement names taken (with their bounds) from pyproject.toml.
EXTRAS = {"lectures": ("autograd",)}

#: Package data shipped with the wheel (as in the repository's pyproject.toml).
PACKAGE_DATA = {"mlcourse": ["datasets/data/*.csv", "datasets/data/*.md"]}


def _name(requirement: str) -> str:
    match = re.match(r"\s*([A-Za-z0-9_.\-]+)", requirement)
    assert match, requirement
    return re.sub(r"[-_.]+", "-", match.group(1)).lower()


def requirements(root: Path = ROOT) -> tuple[list[str], dict[str, list[str]]]:
    """The student package's requirements and extras, with the bounds of the repository's pyproject.toml.

    Parameters
    ----------
    root : Path
        The repository (holding ``pyproject.toml``).

    Returns
    -------
    dependencies : list of str
        The repository's ``[project] dependencies``.
    extras : dict of str to list of str
        :data:`EXTRAS`, each name resolved to its requirement in any of the repository's extras.
    """
    meta = tomllib.loads((root / "pyproject.toml").read_text())["project"]
    everything = {_name(r): r for extra in meta.get("optional-dependencies", {}).values() for r in extra}
    extras = {}
    for extra, names in EXTRAS.items():
        missing = [n for n in names if n not in everything]
        if missing:
            raise ValueError(f"pyproject.toml names no {missing} in any extra (needed by the student "
                             f"package's [{extra}])")
        extras[extra] = [everything[n] for n in names]
    return list(meta["dependencies"]), extras


def _version(root: Path) -> str:
    return tomllib.loads((root / "pyproject.toml").read_text())["project"]["version"]


def stage(dest: Path, root: Path = ROOT) -> Path:
    """Copy the allowed modules into ``dest/src/mlcourse`` and write ``dest/pyproject.toml``.

    Parameters
    ----------
    dest : Path
        An empty folder for the staged project.
    root : Path
        The repository.

    Returns
    -------
    Path
        ``dest``.
    """
    src = root / "src" / "mlcourse"
    target = dest / "src" / "mlcourse"
    target.mkdir(parents=True)
    for entry in STUDENT_MODULES:
        path = src / entry
        if path.is_dir():
            shutil.copytree(path, target / entry, ignore=shutil.ignore_patterns(*EXCLUDED))
        else:
            shutil.copy2(path, target / entry)
    deps, extras = requirements(root)
    toml_list = lambda items: "[" + ", ".join(f'"{r}"' for r in items) + "]"  # noqa: E731
    lines = [
        "[build-system]",
        'requires = ["setuptools>=61"]',
        'build-backend = "setuptools.build_meta"',
        "",
        "[project]",
        f'name = "{DIST_NAME}"',
        f'version = "{_version(root)}"',
        'description = "The course package for students: autodiff, Gaussian mixtures, datasets, plotting and '
        'check() for the homework."',
        'requires-python = ">=3.11"',
        'license = {text = "MIT"}',
        f"dependencies = {toml_list(deps)}",
        "",
        "[project.optional-dependencies]",
        *(f"{name} = {toml_list(reqs)}" for name, reqs in extras.items()),
        "",
        "[tool.setuptools.packages.find]",
        'where = ["src"]',
        'include = ["mlcourse*"]',
        "",
        "[tool.setuptools.package-data]",
        *(f"{pkg} = {toml_list(globs)}" for pkg, globs in PACKAGE_DATA.items()),
        "",
    ]
    (dest / "pyproject.toml").write_text("\n".join(lines))
    (dest / "README.md").write_text(f"# {DIST_NAME}\n\nThe course package for students; built from the "
                                    "course repository by `python -m mlcourse.build.student_wheel`.\n")
    return dest


def _can_build_in_place() -> bool:
    """Whether this interpreter has a setuptools that builds the staged project without build isolation."""
    import importlib.util

    try:
        import setuptools
    except ImportError:
        return False
    major, minor = (int(x) for x in setuptools.__version__.split(".")[:2])
    has_bdist_wheel = (major, minor) >= (70, 1) or importlib.util.find_spec("wheel") is not None
    return major >= 61 and has_bdist_wheel


def build(out: Path, root: Path = ROOT, quiet: bool = True) -> Path:
    """Build the student wheel into ``out``.

    Parameters
    ----------
    out : Path
        Folder for the wheel (created if needed).
    root : Path
        The repository.
    quiet : bool
        Hide pip's output unless the build fails.

    Returns
    -------
    Path
        The wheel file.
    """
    out = Path(out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="mlcourse-student-") as tmp:
        staged = stage(Path(tmp) / "project", root)
        wheels = Path(tmp) / "wheels"
        command = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--disable-pip-version-check",
                   "-w", str(wheels), str(staged)]
        if _can_build_in_place():
            command.insert(4, "--no-build-isolation")
        done = subprocess.run(command, capture_output=quiet, text=True)
        if done.returncode:
            raise RuntimeError(f"pip wheel failed for the student package:\n{done.stdout}{done.stderr}")
        (built,) = wheels.glob("*.whl")
        wheel = out / built.name
        shutil.copy2(built, wheel)
    return wheel


def main(argv: list[str] | None = None) -> int:
    """``python -m mlcourse.build.student_wheel [--out DIR | --requirements]``."""
    parser = argparse.ArgumentParser(prog="python -m mlcourse.build.student_wheel",
                                     description="Build the student package (mlcourse-student): the "
                                                 "course library without hidden tests, solutions, grader "
                                                 "or tooling.")
    parser.add_argument("--out", type=Path, default=Path("dist"), help="folder for the wheel (default dist/)")
    parser.add_argument("--requirements", action="store_true",
                        help="print the package's requirements (extras included) instead, for make lock")
    args = parser.parse_args(argv)
    if args.requirements:
        deps, extras = requirements()
        print("\n".join(deps + [r for reqs in extras.values() for r in reqs]))
        return 0
    wheel = build(args.out)
    print(wheel)
    return 0


if __name__ == "__main__":
    sys.exit(main())
