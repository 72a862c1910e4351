"""Grade the demo submissions (``autograder/fixtures/<assignment>/*.ipynb``) into ``_build/demo-course/``.

The build grades with the project's grading engine (``course grade``, module ``autograder.cli``) in a scratch
course of its own, ``_build/demo-course/<assignment>/`` (its own gradebook, autograded notebooks and
feedback), never in the repository's course folder, never in a real gradebook (``MLCOURSE_DB_URL`` is
dropped) and never in ``course grade``'s outputs. Nothing is deleted: a rebuild regrades into the same
scratch course.
"""

from __future__ import annotations

import csv
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from mlcourse.build.release import tool_env


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
    """``course grade ASSIGNMENT ROOT/autograder/fixtures/ASSIGNMENT --source ROOT/solutions/ASSIGNMENT
    --suite ROOT/autograder/ASSIGNMENT --out OUT_DIR --db-url sqlite:///OUT_DIR/gradebook.db --workers N
    --similarity``: the demo submissions of the repository ``root`` (what ``--demo`` grades for the repository
    holding ``autograder``), graded outside any course into ``OUT_DIR`` and its own gradebook, with the
    instructor's report (``report.html``) and the code-similarity comparison."""
    root = Path(root).resolve()
    return [sys.executable, "-m", "autograder.cli", "grade", assignment,
            str(root / "autograder" / "fixtures" / assignment),
            "--source", str(root / "solutions" / assignment),
            "--suite", str(root / "autograder" / assignment), "--out", str(out_dir),
            "--db-url", f"sqlite:///{Path(out_dir).resolve() / 'gradebook.db'}", "--workers", str(workers),
            "--similarity", "--quiet"]


def grade_with_engine(root: Path, assignment: str, out_dir: Path, *, workers: int,
                      timeout: float = 3600) -> GradeResult:
    """Grade the demo submissions with ``course grade`` into ``out_dir`` (see :func:`engine_command`).

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


def describe(result: GradeResult) -> str:
    """One line per student: ``student score/max``."""
    lines = []
    for row in result.rows:
        student = row.get("student_id") or row.get("student") or "?"
        score, max_score = row.get("score", "?"), row.get("max_score", "?")
        lines.append(f"    {student:<24} {score}/{max_score}")
    return "\n".join(lines + [f"    note: {n}" for n in result.notes])
