"""Notebooks on the trusted side: the assignment's source (grade cells, points) and a submission's code.

Points always come from the **source** notebook's nbgrader metadata, never from a submission, whose locked
cells a student may have deleted, duplicated, retyped or edited. A submission contributes only the code of its
non-test cells; locked read-only cells (the provided imports, data loading) are restored from the source, as
nbgrader does.
"""

from __future__ import annotations

import ast
import copy
import importlib.util
import json
from dataclasses import dataclass, field
from pathlib import Path

from autograder.loader import SKIP_TAG, student_cells
from mlcourse.checks import strip_hidden


class NotebookProblem(Exception):
    """A submitted notebook that cannot be used (missing, too large, not a notebook); one-line message."""


@dataclass(frozen=True)
class GradeCell:
    """One nbgrader grade cell of the source notebook."""

    grade_id: str
    notebook: str
    points: float
    auto: bool  # an autograded test cell (grade, not solution); else graded by hand


@dataclass
class Assignment:
    """What the engine needs to know about an assignment (plain data: shipped to every worker)."""

    name: str
    suite: str
    notebooks: list[str]
    cells: list[GradeCell]
    locked: dict[str, dict[str, dict]] = field(default_factory=dict)
    imports: list[str] = field(default_factory=list)
    kinds: dict[str, dict[str, str]] = field(default_factory=dict)  # notebook -> grade_id -> cell type

    @property
    def auto_cells(self) -> list[GradeCell]:
        return [c for c in self.cells if c.auto]

    @property
    def manual_cells(self) -> list[GradeCell]:
        return [c for c in self.cells if not c.auto]

    @property
    def max_score(self) -> float:
        return round(sum(c.points for c in self.auto_cells), 6)


def _source(cell: dict) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else str(source)


def _imports(code: str) -> list[str]:
    code = "\n".join(line for line in code.splitlines() if not line.lstrip().startswith(("%", "!")))
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return []
    names = []
    for node in tree.body:
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.append(node.module)
    return names


def load_assignment(name: str, source_dir: str | Path, suite_dir: str | Path) -> Assignment:
    """Read ``source_dir/*.ipynb`` (nbgrader source notebooks) into an :class:`Assignment`."""
    source_dir, suite_dir = Path(source_dir), Path(suite_dir)
    paths = sorted(source_dir.glob("*.ipynb"))
    if not paths:
        raise ValueError(f"no source notebooks for assignment {name!r} in {source_dir}")
    if not suite_dir.is_dir():
        raise ValueError(f"no hidden suite for assignment {name!r}: expected tests in {suite_dir}")
    cells, locked, imports, seen, kinds = [], {}, [], set(), {}
    for path in paths:
        notebook = json.loads(path.read_text(encoding="utf-8"))
        stem = path.stem
        locked[stem], kinds[stem] = {}, {}
        for cell in notebook.get("cells", []):
            meta = cell.get("metadata", {}).get("nbgrader", {})
            grade_id = meta.get("grade_id")
            if grade_id:
                kinds[stem][grade_id] = cell.get("cell_type", "code")
            if cell.get("cell_type") == "code" and SKIP_TAG not in cell.get("metadata", {}).get("tags", []):
                imports += _imports(strip_hidden(_source(cell)))
            if not grade_id:
                continue
            if meta.get("grade"):
                if grade_id in seen:
                    raise ValueError(f"grade cell id {grade_id!r} appears twice in {name}")
                seen.add(grade_id)
                auto = not meta.get("solution") and cell.get("cell_type") == "code"
                cells.append(GradeCell(grade_id, stem, float(meta.get("points", 0)), auto))
            elif meta.get("locked") and not meta.get("solution") and cell.get("cell_type") == "code":
                locked[stem][grade_id] = {"source": strip_hidden(_source(cell)),
                                          "tags": list(cell.get("metadata", {}).get("tags", []))}
    return Assignment(name, str(suite_dir), [p.stem for p in paths], cells, locked, _preloadable(imports),
                      kinds)


def _preloadable(names: list[str]) -> list[str]:
    """Modules a worker zygote may import in advance: installed, third-party, in first-seen order."""
    out = []
    for module in dict.fromkeys(names):
        top = module.split(".")[0]
        if top in ("autograder",) or module in out:
            continue
        try:
            if importlib.util.find_spec(top) is None:
                continue
        except (ImportError, ValueError):
            continue
        out.append(module)
    return out


def parse_submission(data: bytes, filename: str, max_mb: int) -> dict:
    """A submitted notebook's JSON, or :class:`NotebookProblem` with a one-line reason."""
    if len(data) > max_mb << 20:
        raise NotebookProblem(f"{filename} is {len(data) / 2**20:.0f} MiB, more than the {max_mb} MiB "
                              "allowed")
    try:
        notebook = json.loads(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise NotebookProblem(f"{filename} is not a valid notebook (not UTF-8 text)") from None
    except (json.JSONDecodeError, RecursionError) as exc:
        detail = f": {exc.msg} at line {exc.lineno}" if isinstance(exc, json.JSONDecodeError) else ""
        raise NotebookProblem(f"{filename} is not a valid notebook (not JSON{detail})") from None
    if not isinstance(notebook, dict) or not isinstance(notebook.get("cells"), list) \
            or not all(isinstance(c, dict) for c in notebook["cells"]):
        raise NotebookProblem(f"{filename} is not a valid notebook (no list of cells)")
    return notebook


def submission_code(notebook: dict, assignment: Assignment, stem: str) -> list[tuple[int, str]]:
    """The (index, source) of the code to run from a submission: its non-test code cells, with locked
    read-only cells restored from the source notebook."""
    restored = copy.deepcopy(notebook)
    locked = assignment.locked.get(stem, {})
    for cell in restored["cells"]:
        meta = cell.get("metadata", {})
        if not isinstance(meta, dict):
            cell["metadata"] = meta = {}
        nbmeta = meta.get("nbgrader", {})
        if not isinstance(nbmeta, dict):
            meta.pop("nbgrader", None)
            continue
        if not isinstance(meta.get("tags", []), list):
            meta["tags"] = []
        source = cell.get("source", "")
        if not isinstance(source, (str, list)) or (isinstance(source, list)
                                                   and not all(isinstance(s, str) for s in source)):
            cell["source"] = ""
        grade_id = nbmeta.get("grade_id")
        if isinstance(grade_id, str) and grade_id in locked and cell.get("cell_type") == "code" \
                and not nbmeta.get("grade") and not nbmeta.get("solution"):
            cell["source"] = locked[grade_id]["source"]
            meta["tags"] = list(locked[grade_id]["tags"])
    return student_cells(restored)


def for_nbgrader(notebook: dict, assignment: Assignment, stem: str) -> dict:
    """The copy of a submission handed to nbgrader's bookkeeping: no outputs (nbgrader clears them anyway),
    cells whose type a student changed given their source type back and duplicated grade ids dropped (what
    nbgrader's ``OverwriteCells`` and ``DeduplicateIds`` do, but its validation refuses such notebooks before
    they run), and malformed nbgrader metadata dropped."""
    clean = copy.deepcopy(notebook)
    kinds = assignment.kinds.get(stem, {})
    seen: set[str] = set()
    for cell in clean.get("cells", []):
        meta = cell.get("metadata")
        if not isinstance(meta, dict):
            cell["metadata"] = meta = {}
        nbmeta = meta.get("nbgrader")
        if nbmeta is not None and (not isinstance(nbmeta, dict)
                                   or not isinstance(nbmeta.get("grade_id", ""), str)):
            del meta["nbgrader"]
            nbmeta = None
        grade_id = nbmeta.get("grade_id") if nbmeta else None
        if grade_id in seen:  # a duplicated cell: like nbgrader's DeduplicateIds, keep only the first
            del meta["nbgrader"]
            grade_id = None
        elif grade_id:
            seen.add(grade_id)
        if grade_id in kinds and cell.get("cell_type") != kinds[grade_id]:
            cell["cell_type"] = kinds[grade_id]
        if cell.get("cell_type") == "code":
            cell["outputs"] = []
            cell["execution_count"] = None
        else:
            cell.pop("outputs", None)
            cell.pop("execution_count", None)
    return clean
