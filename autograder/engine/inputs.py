"""Finding submissions: nbgrader's ``submitted/`` layout, a folder of notebooks, or a zip of either.

Layouts recognised in a folder (or in a zip, after safe extraction):

* nbgrader: ``[submitted/]<student>/<assignment>/<notebook>.ipynb`` (+ ``timestamp.txt``);
* a folder of notebooks: ``<student>.ipynb`` (student id = file name without extension);
* one folder per student (a Gradescope export): ``<student>/**/<notebook>.ipynb``.

Student ids are reduced to ``[A-Za-z0-9_-]`` (other runs become ``-``), as nbgrader needs them in paths.
A zip is extracted with no absolute paths, no ``..``, no links, and limits on member count and total size.
"""

from __future__ import annotations

import re
import shutil
import stat
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from autograder.engine.notebooks import Assignment

MAX_MEMBERS = 20_000
SKIP = ("__MACOSX", ".ipynb_checkpoints")


@dataclass
class Submission:
    """One student's submission as found on disk (nothing parsed yet)."""

    student: str
    notebooks: dict[str, Path | None]  # notebook stem -> file (None: missing)
    problems: list[str] = field(default_factory=list)
    timestamp: str | None = None
    origin: str = ""


def student_id(name: str) -> str:
    """A path-safe student id from a file or folder name."""
    return re.sub(r"[^A-Za-z0-9_-]+", "-", name).strip("-") or "student"


def _visible(path: Path) -> bool:
    return not path.name.startswith(".") and path.name not in SKIP


def _notebooks_in(folder: Path, recursive: bool) -> list[Path]:
    pattern = "**/*.ipynb" if recursive else "*.ipynb"
    return sorted(p for p in folder.glob(pattern) if p.is_file()
                  and all(_visible(part) for part in [p, *p.relative_to(folder).parents] if part.name))


def _match(found: list[Path], assignment: Assignment, where: str) -> tuple[dict[str, Path | None], list[str]]:
    """Map found notebooks onto the assignment's notebook names; report what is missing or extra."""
    by_stem = {p.stem: p for p in found}
    notebooks: dict[str, Path | None] = {}
    problems = []
    if len(assignment.notebooks) == 1 and len(found) == 1:
        return {assignment.notebooks[0]: found[0]}, []
    for stem in assignment.notebooks:
        notebooks[stem] = by_stem.get(stem)
        if notebooks[stem] is None:
            others = sorted(p.name for p in found if p.stem not in assignment.notebooks)
            hint = f" (found: {', '.join(others[:3])})" if others else ""
            problems.append(f"notebook {stem}.ipynb is missing from {where}{hint}")
    return notebooks, problems


def _unique(students: list[Submission]) -> list[Submission]:
    seen: dict[str, int] = {}
    for sub in sorted(students, key=lambda s: (s.student, s.origin)):
        count = seen.get(sub.student, 0)
        seen[sub.student] = count + 1
        if count:
            sub.student = f"{sub.student}-{count + 1}"
    return sorted(students, key=lambda s: s.student)


def discover(path: str | Path, assignment: Assignment, scratch: Path, max_total_mb: int = 4096) \
        -> list[Submission]:
    """All submissions in ``path`` (a folder or a zip), sorted by student id."""
    path = Path(path)
    if path.is_file() and zipfile.is_zipfile(path):
        target = scratch / "unzipped"
        safe_extract(path, target, max_total_mb)
        path = target
    elif path.is_file():
        raise ValueError(f"{path} is neither a folder nor a zip file of submissions")
    if not path.is_dir():
        raise ValueError(f"no submissions: {path} does not exist")
    # Descend through wrappers: a course root, or a zip holding one folder.
    while True:
        if (path / "submitted").is_dir():
            path = path / "submitted"
            continue
        entries = [p for p in path.iterdir() if _visible(p)]
        if len(entries) == 1 and entries[0].is_dir() and not _is_student_dir(entries[0], assignment) \
                and not _is_nbgrader_layout(path, assignment):
            path = entries[0]
            continue
        break
    if _is_nbgrader_layout(path, assignment):
        return _unique([_nbgrader_student(d, assignment) for d in sorted(path.iterdir())
                        if d.is_dir() and _visible(d)])
    top = _notebooks_in(path, recursive=False)
    if top:
        if len(assignment.notebooks) != 1:
            raise ValueError("a folder of notebooks works for single-notebook assignments only; use "
                             "nbgrader's submitted/<student>/<assignment>/ layout")
        return _unique([Submission(student_id(p.stem), {assignment.notebooks[0]: p}, origin=str(p))
                        for p in top])
    students = []
    for folder in sorted(d for d in path.iterdir() if d.is_dir() and _visible(d)):
        found = _notebooks_in(folder, recursive=True)
        notebooks, problems = _match(found, assignment, folder.name)
        if not found:
            problems = ["no notebook was submitted"]
        students.append(Submission(student_id(folder.name), notebooks, problems, origin=str(folder)))
    if not students:
        raise ValueError(f"no submissions found in {path}")
    return _unique(students)


def _is_student_dir(folder: Path, assignment: Assignment) -> bool:
    return (folder / assignment.name).is_dir() or bool(_notebooks_in(folder, recursive=False))


def _is_nbgrader_layout(path: Path, assignment: Assignment) -> bool:
    return any((d / assignment.name).is_dir() for d in path.iterdir() if d.is_dir() and _visible(d))


def _nbgrader_student(folder: Path, assignment: Assignment) -> Submission:
    inner = folder / assignment.name
    if not inner.is_dir():
        return Submission(student_id(folder.name), {nb: None for nb in assignment.notebooks},
                          [f"no {assignment.name}/ folder was submitted"], origin=str(folder))
    found = _notebooks_in(inner, recursive=False)
    by_stem = {p.stem: p for p in found}
    notebooks = {stem: by_stem.get(stem) for stem in assignment.notebooks}
    problems = []
    for stem, found_path in notebooks.items():
        if found_path is None:
            others = sorted(p.name for p in found if p.stem not in assignment.notebooks)
            hint = f" (found: {', '.join(others[:3])})" if others else ""
            problems.append(f"notebook {stem}.ipynb is missing{hint}")
    stamp = inner / "timestamp.txt"
    timestamp = stamp.read_text(errors="replace").strip()[:100] if stamp.is_file() else None
    return Submission(student_id(folder.name), notebooks, problems, timestamp, origin=str(folder))


def safe_extract(archive: Path, target: Path, max_total_mb: int) -> None:
    """Extract ``archive`` into ``target`` refusing path traversal, links, and oversized contents."""
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    with zipfile.ZipFile(archive) as zf:
        members = zf.infolist()
        if len(members) > MAX_MEMBERS:
            raise ValueError(f"{archive.name} holds {len(members)} files, more than {MAX_MEMBERS}")
        total = 0
        for info in members:
            name = PurePosixPath(info.filename.replace("\\", "/"))
            if name.is_absolute() or ".." in name.parts or any(":" in p for p in name.parts):
                raise ValueError(f"{archive.name}: unsafe path {info.filename!r}")
            mode = (info.external_attr >> 16) & 0o170000
            if mode and not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
                raise ValueError(f"{archive.name}: {info.filename!r} is a link or device, not a file")
            if info.is_dir():
                continue
            total += info.file_size
            if total > max_total_mb << 20:
                raise ValueError(f"{archive.name} expands to more than {max_total_mb} MiB")
            dest = target.joinpath(*name.parts)
            if not dest.resolve().is_relative_to(target.resolve()):
                raise ValueError(f"{archive.name}: unsafe path {info.filename!r}")
            dest.parent.mkdir(parents=True, exist_ok=True)
            written = 0
            with zf.open(info) as src, open(dest, "wb") as out:
                while chunk := src.read(1 << 20):
                    written += len(chunk)
                    if written > info.file_size or total - info.file_size + written > max_total_mb << 20:
                        raise ValueError(f"{archive.name}: {info.filename!r} is larger than it claims")
                    out.write(chunk)
