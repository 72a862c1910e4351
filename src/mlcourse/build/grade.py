"""Grade the demo submissions (``autograder/fixtures/<assignment>/*.ipynb``) into ``_build/demo-course/``.

The build grades with the project's grading engine (``course grade``, module ``autograder.cli``) in a scratch
course of its own, ``_build/demo-course/<assignment>/`` (its own gradebook, autograded notebooks and
feedback), never in the repository's course folder, never in a real gradebook (``MLCOURSE_DB_URL`` is
dropped) and never in ``course grade``'s outputs. Nothing is deleted: a rebuild regrades into the same
scratch course, unless the assignment's grade cells changed since it was graded (nbgrader cannot change the
cells of a graded assignment): then the old scratch course is moved aside, next to it, and a new one made.
"""

from __future__ import annotations

import csv
import json
import sqlite3
import subprocess
import sys
import time
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


def source_grade_ids(source_dir: Path) -> set[tuple[str, str]]:
    """``(notebook, grade id)`` of every nbgrader grade cell of the source notebooks in ``source_dir``."""
    ids = set()
    for path in sorted(Path(source_dir).glob("*.ipynb")):
        for cell in json.loads(path.read_text(encoding="utf-8")).get("cells", []):
            meta = cell.get("metadata", {}).get("nbgrader", {})
            if meta.get("grade"):
                ids.add((path.stem, meta["grade_id"]))
    return ids


def retire_if_cells_changed(out_dir: Path, assignment: str, source_dir: Path) -> Path | None:
    """Move the scratch course ``out_dir`` aside when its gradebook graded ``assignment`` with other grade
    cells than ``source_dir`` has now; return where it went (``None`` when it stays)."""
    db = Path(out_dir) / "gradebook.db"
    if not db.is_file():
        return None
    query = ("SELECT notebook.name, base_cell.name FROM grade_cells"
             " JOIN base_cell ON grade_cells.id = base_cell.id"
             " JOIN notebook ON base_cell.notebook_id = notebook.id"
             " JOIN assignment ON notebook.assignment_id = assignment.id WHERE assignment.name = ?")
    connection = sqlite3.connect(f"file:{db.resolve()}?mode=ro", uri=True)  # nbgrader's schema, read only
    try:
        graded = set(connection.execute(query, (assignment,)).fetchall())
    except sqlite3.DatabaseError:  # not an nbgrader gradebook: not ours to move
        return None
    finally:
        connection.close()
    if not graded or graded == source_grade_ids(source_dir):
        return None
    aside = Path(out_dir).with_name(f"{Path(out_dir).name}.replaced-{time.strftime('%Y%m%d-%H%M%S')}")
    Path(out_dir).rename(aside)
    return aside


def grade_with_engine(root: Path, assignment: str, out_dir: Path, *, workers: int,
                      timeout: float = 3600) -> GradeResult:
    """Grade the demo submissions with ``course grade`` into ``out_dir`` (see :func:`engine_command`).

    Exit code 1 (some demo submission failed to run: some fixtures are broken on purpose) is a success;
    anything else raises :class:`GradeError`.
    """
    out_dir = Path(out_dir)
    aside = retire_if_cells_changed(out_dir, assignment, Path(root) / "solutions" / assignment)
    out_dir.mkdir(parents=True, exist_ok=True)
    cmd = engine_command(root, assignment, out_dir, workers)
    proc = subprocess.run(cmd, cwd=root, env=tool_env(), capture_output=True, text=True,
                          timeout=timeout, check=False)
    (out_dir / "course-grade.log").write_text(proc.stdout + proc.stderr)
    if proc.returncode not in (0, 1):
        raise GradeError(f"course grade {assignment} failed (exit {proc.returncode}):\n"
                         f"{proc.stdout}{proc.stderr}")
    notes = [f"the grade cells changed since the last build: the old demo course is {aside}"] if aside else []
    return GradeResult(assignment, "course grade", out_dir, len(fixture_notebooks(root, assignment)),
                       read_grades(out_dir / "grades.csv"), notes)


def describe(result: GradeResult) -> str:
    """One line per student: ``student score/max``."""
    lines = []
    for row in result.rows:
        student = row.get("student_id") or row.get("student") or "?"
        score, max_score = row.get("score", "?"), row.get("max_score", "?")
        lines.append(f"    {student:<24} {score}/{max_score}")
    return "\n".join(lines + [f"    note: {n}" for n in result.notes])
