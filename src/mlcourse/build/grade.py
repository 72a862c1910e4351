"""Grade the demo submissions (``autograder/fixtures/<assignment>/*.ipynb``) into ``_build/demo-course/``.

The build grades in a scratch course of its own, ``_build/demo-course/<assignment>/`` (its own gradebook,
autograded notebooks and feedback), never in the repository's course folder, never in a real gradebook
(``MLCOURSE_DB_URL`` is dropped) and never in ``course grade``'s outputs. Nothing is deleted: a rebuild
regrades into the same scratch course.

The project's grading engine (``course grade --demo``, module ``autograder.cli``) is used when it is
importable; until it is, nbgrader's own ``autograde`` runs in a temporary copy of the course.
"""

from __future__ import annotations

import csv
import importlib.util
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from mlcourse.build.release import ReleaseError, generate, run_nbgrader, tool_env

#: Seconds one cell of a demo submission may run under the nbgrader fallback.
FALLBACK_CELL_TIMEOUT = 60


class GradeError(RuntimeError):
    """The grading command failed; the message holds its output."""


@dataclass
class GradeResult:
    """Outcome of grading one assignment's demo submissions."""

    assignment: str
    engine: str
    out_dir: Path
    submissions: int
    rows: list[dict[str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def fixture_notebooks(root: Path, assignment: str) -> list[Path]:
    """The demo submissions of ``assignment`` (may be empty)."""
    return sorted((root / "autograder" / "fixtures" / assignment).glob("*.ipynb"))


def engine_available() -> bool:
    """Whether the grading engine's command-line module ``autograder.cli`` can be imported."""
    try:
        return importlib.util.find_spec("autograder.cli") is not None
    except ImportError:
        return False


def read_grades(csv_path: Path) -> list[dict[str, str]]:
    """Rows of a ``grades.csv`` (empty if there is none)."""
    if not csv_path.is_file():
        return []
    with csv_path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def demo_course(build_dir: Path) -> Path:
    """The build's own scratch course: ``<build>/demo-course`` (one folder per assignment inside)."""
    return Path(build_dir) / "demo-course"


def engine_command(root: Path, assignment: str, out_dir: Path, workers: int) -> list[str]:
    """``course grade ASSIGNMENT --demo --out OUT_DIR --db-url sqlite:///OUT_DIR/gradebook.db --workers N
    --similarity``: the demo submissions, graded outside any course into ``OUT_DIR`` and its own gradebook,
    with the instructor's report (``report.html``) and the code-similarity comparison."""
    return [sys.executable, "-m", "autograder.cli", "grade", assignment, "--demo", "--out", str(out_dir),
            "--db-url", f"sqlite:///{Path(out_dir).resolve() / 'gradebook.db'}", "--workers", str(workers),
            "--similarity", "--quiet"]


def grade_with_engine(root: Path, assignment: str, out_dir: Path, *, workers: int,
                      timeout: float = 3600) -> GradeResult:
    """Grade the demo submissions with ``course grade --demo`` into ``out_dir`` (see :func:`engine_command`).

    Exit code 1 (some demo submission failed to run: some fixtures are broken on purpose) is a success;
    anything else raises :class:`GradeError`.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    cmd = engine_command(root, assignment, out_dir, workers)
    proc = subprocess.run(cmd, cwd=root, env=tool_env(), capture_output=True, text=True,
                          timeout=timeout, check=False)
    (out_dir / "course-grade.log").write_text(proc.stdout + proc.stderr)
    if proc.returncode not in (0, 1):
        raise GradeError(f"course grade {assignment} failed (exit {proc.returncode}):\n"
                         f"{proc.stdout}{proc.stderr}")
    return GradeResult(assignment, "course grade", out_dir, len(fixture_notebooks(root, assignment)),
                       read_grades(out_dir / "grades.csv"))


def _student_id(stem: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "-", stem).strip("-") or "student"


def grade_with_nbgrader(root: Path, assignment: str, out_dir: Path, workdir: Path) -> GradeResult:
    """nbgrader ``autograde`` of the demo submissions in a scratch course at ``workdir``.

    Each fixture ``<name>.ipynb`` becomes the submission of student ``<name>`` (renamed to the
    assignment's notebook name when the assignment has a single notebook). Writes
    ``OUT_DIR/grades.csv``, ``OUT_DIR/autograded/<student>/`` and ``OUT_DIR/nbgrader.log``.
    """
    source = root / "solutions" / assignment
    fixtures = fixture_notebooks(root, assignment)
    shutil.copy2(root / "nbgrader_config.py", workdir / "nbgrader_config.py")
    shutil.copytree(source, workdir / "solutions" / assignment,
                    ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
    db = workdir / "gradebook.db"
    generate(workdir, db=db, assignment=assignment)
    names = sorted(p.name for p in source.glob("*.ipynb"))
    for fixture in fixtures:
        target = names[0] if len(names) == 1 else fixture.name
        dest = workdir / "submitted" / _student_id(fixture.stem) / assignment / target
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(fixture, dest)
    notes = []
    cmd = [sys.executable, "-m", "nbgrader", "autograde", assignment, "--force",
           f"--CourseDirectory.root={workdir}", f"--CourseDirectory.db_url=sqlite:///{db}",
           f"--Execute.timeout={FALLBACK_CELL_TIMEOUT}"]
    proc = subprocess.run(cmd, cwd=workdir, env=tool_env(), capture_output=True, text=True,
                          timeout=3600, check=False)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "nbgrader.log").write_text(proc.stdout + proc.stderr)
    if proc.returncode != 0:
        notes.append(f"nbgrader autograde reported errors (exit {proc.returncode}); "
                     f"see {out_dir / 'nbgrader.log'}")
    partial = out_dir / ".grades.csv.tmp"
    try:
        run_nbgrader(workdir, ["export", f"--to={partial}"], db=db)
    except ReleaseError as exc:
        raise GradeError(str(exc)) from exc
    os.replace(partial, out_dir / "grades.csv")
    if (workdir / "autograded").is_dir():
        shutil.copytree(workdir / "autograded", out_dir / "autograded", dirs_exist_ok=True)
    rows = read_grades(out_dir / "grades.csv")
    graded = {row.get("student_id") for row in rows}
    missing = sorted(_student_id(f.stem) for f in fixtures if _student_id(f.stem) not in graded)
    if missing:
        notes.append(f"not graded: {', '.join(missing)}")
    return GradeResult(assignment, "nbgrader autograde", out_dir, len(fixtures), rows, notes)


def describe(result: GradeResult) -> str:
    """One line per student: ``student score/max``."""
    lines = []
    for row in result.rows:
        student = row.get("student_id") or row.get("student") or "?"
        score, max_score = row.get("score", "?"), row.get("max_score", "?")
        lines.append(f"    {student:<24} {score}/{max_score}")
    return "\n".join(lines + [f"    note: {n}" for n in result.notes])
