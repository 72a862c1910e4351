"""Notebooks on the trusted side: the assignment's source (grade cells, points) and a submission's code.

Points always come from the **source** notebook's nbgrader metadata, never from a submission, whose locked
cells a student may have deleted, duplicated, retyped or edited. A submission contributes only the code of its
non-test cells; locked read-only cells (the provided imports, data loading) are restored from the source, as
nbgrader does.

A submission is refused with a one-line reason, before anything else (and nbgrader's bookkeeping in the
parent) spends time on it, when it is too large, not a notebook, has more than ``MAX_CELLS`` cells, more than
``MAX_METADATA_MB`` of notebook and cell metadata (or metadata nested more than ``MAX_NESTING`` deep), more
than ``MAX_SOURCE_MB`` of cell sources or ``MAX_ATTACHMENTS_MB`` of attachments, or when it is another
assignment's notebook (its grade-cell ids are those of a sibling assignment's source notebooks).
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

MAX_CELLS = 2000  # a released notebook has ~50; nbgrader's bookkeeping costs ~2 ms per cell
MAX_METADATA_MB = 2  # notebook + cell metadata; nbgrader's bookkeeping costs ~1 s per MiB
MAX_NESTING = 64  # depth of metadata and attachments
MAX_SOURCE_MB = 8  # all cell sources (rendered with highlighting in feedback)
MAX_ATTACHMENTS_MB = 32  # images pasted into markdown cells
MAX_SIBLINGS = 50  # other assignments whose source notebooks are read to recognise a wrong submission


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
    others: dict[str, list[str]] = field(default_factory=dict)  # sibling assignment -> its grade ids

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
                      kinds, _sibling_grade_ids(source_dir))


def _grade_ids(path: Path) -> list[str]:
    """The nbgrader grade ids of a notebook file, in order ([] if unreadable or larger than 20 MiB)."""
    try:
        if path.is_symlink() or path.stat().st_size > 20 << 20:
            return []
        notebook = json.loads(path.read_bytes())
    except (OSError, ValueError, RecursionError):
        return []
    return [gid for gid in (_nbgrader_meta(c).get("grade_id") for c in _cells(notebook))
            if isinstance(gid, str) and gid]


def _sibling_grade_ids(source_dir: Path) -> dict[str, list[str]]:
    """Grade ids of the other assignments next to ``source_dir`` (``solutions/<name>/`` or nbgrader's
    ``source/<name>/``), to recognise one assignment's notebook submitted as another's."""
    out: dict[str, list[str]] = {}
    try:
        here = source_dir.resolve()
        siblings = sorted(d for d in source_dir.parent.iterdir()
                          if d.is_dir() and not d.is_symlink() and not d.name.startswith(".")
                          and d.resolve() != here)
    except OSError:
        return out
    for folder in siblings[:MAX_SIBLINGS]:
        ids = [gid for path in sorted(folder.glob("*.ipynb"))[:20] for gid in _grade_ids(path)]
        if ids:
            out[folder.name] = list(dict.fromkeys(ids))
    return out


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


def _cells(notebook: object) -> list[dict]:
    cells = notebook.get("cells") if isinstance(notebook, dict) else None
    return [c for c in cells if isinstance(c, dict)] if isinstance(cells, list) else []


def _nbgrader_meta(cell: dict) -> dict:
    meta = cell.get("metadata")
    nbmeta = meta.get("nbgrader") if isinstance(meta, dict) else None
    return nbmeta if isinstance(nbmeta, dict) else {}


class _TooDeep(Exception):
    pass


def _json_size(values: list, budget: int) -> int:
    """The approximate JSON size of ``values``, counted without recursion; stops once above ``budget``.
    Raises ``_TooDeep`` for nesting deeper than ``MAX_NESTING``."""
    size, stack = 0, [(v, 0) for v in values]
    while stack and size <= budget:
        value, depth = stack.pop()
        if isinstance(value, str):
            size += len(value) + 2
        elif isinstance(value, (dict, list)):
            if depth >= MAX_NESTING:
                raise _TooDeep
            items = value.items() if isinstance(value, dict) else enumerate(value)
            for key, item in items:
                size += len(key) + 4 if isinstance(key, str) else 1
                stack.append((item, depth + 1))
            size += 2
        else:
            size += 8
    return size


def notebook_limits_problem(notebook: dict, filename: str, max_cells: int = MAX_CELLS,
                            max_metadata_mb: float = MAX_METADATA_MB) -> str | None:
    """Why a parsed notebook is too big for grading and nbgrader's bookkeeping, or ``None``.

    Parameters
    ----------
    notebook : dict
        The submission's JSON (a dict with a list of cells).
    filename : str
        The name used in the reason.
    max_cells, max_metadata_mb : int, float
        The caps on the number of cells and on the size of all metadata (notebook and cells).
    """
    cells = notebook["cells"]
    if len(cells) > max_cells:
        return (f"{filename} has {len(cells)} cells, more than the {max_cells} allowed; remove the extra "
                "cells and resubmit")
    rest = ("outputs", "metadata", "attachments")  # outputs are never copied, sent or measured
    metadata = [{k: v for k, v in notebook.items() if k != "cells"}] + [c.get("metadata") for c in cells]
    checks = [("metadata", metadata, max_metadata_mb, "; clear it (e.g. widget state) and resubmit"),
              ("attachments", [c.get("attachments") for c in cells], MAX_ATTACHMENTS_MB, ""),
              ("cell sources", [{k: v for k, v in c.items() if k not in rest} for c in cells], MAX_SOURCE_MB,
               "")]
    for what, values, cap, hint in checks:
        try:
            size = _json_size(values, int(cap * 2**20))
        except _TooDeep:
            return f"{filename} has {what} nested more than {MAX_NESTING} levels deep; it cannot be graded"
        if size > cap * 2**20:
            return f"{filename} holds more than {cap:g} MiB of {what} (allowed: {cap:g} MiB){hint}"
    return None


def wrong_assignment(notebook: dict, assignment: Assignment) -> str | None:
    """``"this looks like hw1, not hw2 ..."`` when a submission's grade-cell ids are mostly those of another
    known assignment (``assignment.others``) rather than this one's; else ``None``."""
    ids = {gid for gid in (_nbgrader_meta(c).get("grade_id") for c in _cells(notebook))
           if isinstance(gid, str)}
    own = {gid for kinds in assignment.kinds.values() for gid in kinds}
    mine = len(ids & own)
    best: tuple[int, str, list[str]] | None = None
    for other, other_ids in sorted(assignment.others.items()):
        hits = [gid for gid in other_ids if gid in ids and gid not in own]
        if len(hits) >= 2 and len(hits) > 2 * mine and (best is None or len(hits) > best[0]):
            best = (len(hits), other, hits)
    if best is None:
        return None
    count, other, hits = best
    shown = ", ".join(hits[:3]) + (", …" if count > 3 else "")
    return (f"this looks like {other}, not {assignment.name}: it has {count} of {other}'s grade cells "
            f"({shown}) and {mine} of {assignment.name}'s; submit your {assignment.name} notebook")


def parse_submission(data: bytes, filename: str, max_mb: int, *, assignment: Assignment | None = None,
                     max_cells: int = MAX_CELLS, max_metadata_mb: float = MAX_METADATA_MB) -> dict:
    """A submitted notebook's JSON, or :class:`NotebookProblem` with a one-line reason.

    Parameters
    ----------
    data : bytes
        The file's content.
    filename : str
        The name used in reasons.
    max_mb : int
        Largest file accepted, in MiB.
    assignment : Assignment, optional
        When given, a notebook of another known assignment is refused ("this looks like hw1, not hw2").
    max_cells, max_metadata_mb : int, float
        See :func:`notebook_limits_problem`.
    """
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
    problem = notebook_limits_problem(notebook, filename, max_cells, max_metadata_mb)
    if problem is None and assignment is not None:
        wrong = wrong_assignment(notebook, assignment)
        problem = f"{filename}: {wrong}" if wrong else None
    if problem:
        raise NotebookProblem(problem)
    return notebook


def _without_outputs(notebook: dict) -> dict:
    """A deep copy of a notebook without its cells' outputs (never copied: they may be huge or deep)."""
    clean = {key: copy.deepcopy(value) for key, value in notebook.items() if key != "cells"}
    clean["cells"] = [{key: ([] if key == "outputs" else copy.deepcopy(value)) for key, value in cell.items()}
                      for cell in notebook.get("cells", [])]
    return clean


def submission_code(notebook: dict, assignment: Assignment, stem: str) -> list[tuple[int, str]]:
    """The (index, source) of the code to run from a submission: its non-test code cells, with locked
    read-only cells restored from the source notebook."""
    restored = _without_outputs(notebook)
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
    clean = _without_outputs(notebook)
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
