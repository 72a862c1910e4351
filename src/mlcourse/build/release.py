"""The nbgrader release: ``assignments/`` generated from the source notebooks in ``solutions/``."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat

from mlcourse.build.cache import iter_tree
from mlcourse.build.compare import notebook_differences


class ReleaseError(RuntimeError):
    """nbgrader failed; the message holds its output."""


def assignment_names(root: Path) -> list[str]:
    """Assignments with source notebooks: the folders of ``solutions/`` that contain ``*.ipynb``."""
    source = root / "solutions"
    if not source.is_dir():
        return []
    return sorted(d.name for d in source.iterdir()
                  if d.is_dir() and not d.name.startswith(".") and any(d.glob("*.ipynb")))


def tool_env() -> dict[str, str]:
    """Environment for nbgrader subprocesses: the interpreter's ``bin`` first on ``PATH``.

    nbgrader runs ``alembic`` by name when it creates a gradebook; without the virtual environment on
    ``PATH`` (``.venv/bin/python -m ...`` does not put it there) that fails.
    """
    env = dict(os.environ)
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    env.pop("MLCOURSE_DB_URL", None)  # the build never writes into a real gradebook
    return env


def run_nbgrader(course_root: Path, args: list[str], *, db: Path,
                 timeout: float = 1800) -> subprocess.CompletedProcess[str]:
    """Run ``nbgrader ARGS`` for the course at ``course_root`` with the gradebook ``db`` (SQLite).

    Raises
    ------
    ReleaseError
        When nbgrader exits non-zero (its output is in the message).
    """
    db.parent.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "nbgrader", *args, f"--CourseDirectory.root={course_root}",
           f"--CourseDirectory.db_url=sqlite:///{db}"]
    proc = subprocess.run(cmd, cwd=course_root, env=tool_env(), capture_output=True, text=True,
                          timeout=timeout, check=False)
    if proc.returncode != 0:
        raise ReleaseError(f"nbgrader {' '.join(args)} failed (exit {proc.returncode}):\n"
                           f"{proc.stdout}{proc.stderr}")
    return proc


def generate(course_root: Path, *, db: Path, assignment: str = "*") -> None:
    """``nbgrader generate_assignment ASSIGNMENT --force`` (``*``: every assignment)."""
    run_nbgrader(course_root, ["generate_assignment", assignment, "--force"], db=db)


def generate_fresh(root: Path, workdir: Path) -> Path:
    """Generate the release of ``root``'s ``solutions/`` in a scratch copy of the course.

    Only ``nbgrader_config.py`` and ``solutions/`` are copied to ``workdir``; the repository is not touched.

    Returns
    -------
    Path
        ``workdir / "assignments"``, the freshly generated release.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    shutil.copy2(root / "nbgrader_config.py", workdir / "nbgrader_config.py")
    shutil.copytree(root / "solutions", workdir / "solutions",
                    ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
    if assignment_names(workdir):
        generate(workdir, db=workdir / "gradebook.db")
    return workdir / "assignments"


def release_differences(generated: Path, committed: Path, assignments: list[str]) -> list[str]:
    """How the committed release differs from a generated one, file by file and cell by cell.

    Parameters
    ----------
    generated, committed : Path
        The two ``assignments/`` folders.
    assignments : list of str
        The assignments that must be there (those with sources).

    Returns
    -------
    list of str
        One line per difference; empty when they are equal.
    """
    problems = []
    extra = sorted(set(d.name for d in committed.iterdir() if d.is_dir() and not d.name.startswith("."))
                   - set(assignments)) if committed.is_dir() else []
    problems += [f"assignments/{name}/ has no source in solutions/{name}/" for name in extra]
    for name in assignments:
        new_dir, old_dir = generated / name, committed / name
        new_files = {p.relative_to(new_dir).as_posix() for p in iter_tree(new_dir)}
        old_files = {p.relative_to(old_dir).as_posix() for p in iter_tree(old_dir)}
        problems += [f"assignments/{name}/{f} is missing" for f in sorted(new_files - old_files)]
        problems += [f"assignments/{name}/{f} is not generated" for f in sorted(old_files - new_files)]
        for rel in sorted(new_files & old_files):
            new, old = new_dir / rel, old_dir / rel
            if rel.endswith(".ipynb"):
                diffs = notebook_differences(nbformat.read(new, as_version=4),
                                             nbformat.read(old, as_version=4))
                problems += [f"assignments/{name}/{rel}: {d}" for d in diffs]
            elif new.read_bytes() != old.read_bytes():
                problems.append(f"assignments/{name}/{rel}: content differs")
    return problems
