"""The code compared: students' code cells, the release notebook's code, the reference solution's code.

Submissions are found and read exactly as ``course grade`` finds and reads them
(:func:`autograder.engine.inputs.discover`, :func:`~autograder.engine.inputs.read_submission_file`,
:func:`~autograder.engine.notebooks.parse_submission`, :func:`~autograder.engine.notebooks.submission_code`):
the same layouts, the same student ids, the same refusals (not JSON, not a notebook, too large, another
assignment's notebook), each reported with its one-line reason and skipped.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from autograder.engine.inputs import discover, read_submission_file
from autograder.engine.notebooks import Assignment, NotebookProblem, parse_submission, submission_code
from autograder.loader import student_cells

#: Largest notebook read, in MiB (as ``course grade``'s default).
MAX_NOTEBOOK_MB = 200


@dataclass
class Code:
    """The code cells of one student: ``(label, source)`` pairs, or the reasons nothing could be read."""

    student: str
    cells: list[tuple[str, str]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def _cells(notebook: dict, assignment: Assignment, stem: str) -> list[tuple[str, str]]:
    return [(f"{stem}.ipynb, cell {index}", source)
            for index, source in submission_code(notebook, assignment, stem) if source.strip()]


def _read(student: str, notebooks: dict[str, Path | None], assignment: Assignment,
          problems: list[str]) -> Code:
    code = Code(student, problems=list(problems))
    for stem, path in notebooks.items():
        if path is None:
            continue
        try:
            data = read_submission_file(path, MAX_NOTEBOOK_MB)
            notebook = parse_submission(data, f"{stem}.ipynb", MAX_NOTEBOOK_MB, assignment=assignment)
        except (ValueError, NotebookProblem) as exc:
            code.problems.append(str(exc))
            continue
        code.cells += _cells(notebook, assignment, stem)
    if not code.cells and not code.problems:
        code.problems.append("no code cells")
    return code


def read_submissions(source: str | Path | list[Path], assignment: Assignment) -> list[Code]:
    """Every submission's code, sorted by student id.

    Parameters
    ----------
    source : path or list of paths
        Anything ``course grade`` accepts (nbgrader's ``submitted/``, a folder of notebooks or of student
        folders, a zip), or a list of notebook files (student id = file name without ``.ipynb``).
    assignment : Assignment
        The assignment (its notebooks and locked cells).

    Raises
    ------
    ValueError
        Only when ``source`` itself is unusable (does not exist, holds no submission).
    """
    if isinstance(source, (list, tuple)):
        if len(assignment.notebooks) != 1:
            raise ValueError("a list of notebook files needs a single-notebook assignment")
        found: dict[str, Code] = {}
        for path in map(Path, source):
            if path.stem in found:
                found[path.stem].problems.append(f"two files are named {path.name}: compare folders instead")
                continue
            found[path.stem] = _read(path.stem, {assignment.notebooks[0]: path}, assignment, [])
        return sorted(found.values(), key=lambda c: c.student)
    with tempfile.TemporaryDirectory(prefix="course-similarity-") as scratch:
        return [_read(s.student, s.notebooks, assignment, s.problems)
                for s in discover(source, assignment, Path(scratch))]


def notebook_code(path: Path) -> list[str]:
    """The non-test code cells of a trusted notebook (the release, a source notebook), magics removed."""
    notebook = json.loads(Path(path).read_text(encoding="utf-8"))
    return [source for _, source in student_cells(notebook)]


def reference_cells(sources: list[Path], assignment: Assignment) -> list[tuple[str, str]]:
    """The pseudo-student ``reference``: the solution cells of source notebooks (read as a student's, so the
    release's stubs and docstrings drop out the same way) and whole Python files (``mlcourse.mixture``'s)."""
    cells: list[tuple[str, str]] = []
    for path in map(Path, sources):
        if path.suffix == ".py":
            cells.append((path.name, path.read_text(encoding="utf-8")))
        else:
            notebook = json.loads(path.read_text(encoding="utf-8"))
            stem = path.stem if path.stem in assignment.notebooks else assignment.notebooks[0]
            cells += [(f"solution {label}", src) for label, src in _cells(notebook, assignment, stem)]
    return cells
