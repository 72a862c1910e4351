"""Commit-ready notebooks: no outputs, no execution counts, stable metadata.

``python -m mlcourse.build normalize [PATH ...]`` rewrites notebooks in this form (all notebooks under
``lectures/`` and ``solutions/`` when no path is given); ``--check`` only reports. A normalised notebook is
what ``nbformat.write`` produces for it, with

- code cells: ``outputs = []`` and ``execution_count = None``;
- cell metadata limited to :data:`CELL_METADATA_KEYS` (nbgrader's keys, tags, slideshow, locking);
  empty ``tags`` lists dropped;
- notebook metadata limited to :data:`NOTEBOOK_METADATA_KEYS`, ``language_info`` reduced to its name and
  a ``python3`` kernelspec when none is set;
- nbformat 4.5 with a cell id on every cell (missing ids are derived from the cell's position and source,
  existing ids are kept).

nbgrader keeps these keys when it generates the release, so a release generated from normalised sources is
normalised too.
"""

from __future__ import annotations

import copy
import hashlib
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat

CELL_METADATA_KEYS = frozenset({"nbgrader", "tags", "slideshow", "deletable", "editable"})
NOTEBOOK_METADATA_KEYS = frozenset({"kernelspec", "language_info", "title", "authors"})
DEFAULT_KERNELSPEC = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}


@dataclass
class NormalizeResult:
    """What normalising one notebook changed (or would change)."""

    path: Path
    problems: list[str] = field(default_factory=list)
    changed: bool = False


def _cell_id(index: int, source: str) -> str:
    return f"c{index:03d}-" + hashlib.sha1(source.encode()).hexdigest()[:8]


def normalize_notebook(nb: nbformat.NotebookNode) -> tuple[nbformat.NotebookNode, list[str]]:
    """Return a normalised copy of ``nb`` and the list of problems that were fixed.

    Parameters
    ----------
    nb : NotebookNode
        A notebook read with ``nbformat.read(..., as_version=4)``.

    Returns
    -------
    (NotebookNode, list of str)
        The normalised notebook and human-readable descriptions of what differed.
    """
    nb = copy.deepcopy(nb)
    problems: list[str] = []
    if nb.nbformat_minor < 5:
        problems.append(f"nbformat 4.{nb.nbformat_minor} (want 4.5, with cell ids)")
        nb.nbformat_minor = 5
    meta = nb.metadata
    for key in sorted(set(meta) - NOTEBOOK_METADATA_KEYS):
        problems.append(f"notebook metadata {key!r}")
        del meta[key]
    if "kernelspec" not in meta:
        problems.append("no kernelspec")
        meta["kernelspec"] = nbformat.from_dict(DEFAULT_KERNELSPEC)
    lang = meta.get("language_info")
    if lang is not None and set(lang) != {"name"}:
        problems.append("volatile language_info (Python version etc.)")
        meta["language_info"] = nbformat.from_dict({"name": lang.get("name", "python")})
    seen_ids: set[str] = set()
    for index, cell in enumerate(nb.cells):
        where = f"cell {index + 1}"
        if cell.get("id") in seen_ids or not cell.get("id"):
            problems.append(f"{where}: missing or duplicate id")
            cell["id"] = _cell_id(index, cell.source)
        seen_ids.add(cell["id"])
        for key in sorted(set(cell.metadata) - CELL_METADATA_KEYS):
            problems.append(f"{where}: metadata {key!r}")
            del cell.metadata[key]
        if "tags" in cell.metadata and not cell.metadata["tags"]:
            problems.append(f"{where}: empty tags")
            del cell.metadata["tags"]
        if cell.cell_type == "code":
            if cell.get("outputs"):
                problems.append(f"{where}: outputs")
            if cell.get("execution_count") is not None:
                problems.append(f"{where}: execution count")
            cell.outputs = []
            cell.execution_count = None
    return nb, problems


def normalized_text(nb: nbformat.NotebookNode) -> str:
    """The exact file content ``nbformat.write`` produces for ``nb`` (with trailing newline)."""
    text = nbformat.writes(nb)
    return text if text.endswith("\n") else text + "\n"


def normalize_file(path: Path, *, check: bool = False) -> NormalizeResult:
    """Normalise the notebook at ``path`` in place (or only report with ``check=True``)."""
    original = path.read_text(encoding="utf-8")
    nb, problems = normalize_notebook(nbformat.reads(original, as_version=4))
    text = normalized_text(nb)
    result = NormalizeResult(path, problems, changed=text != original)
    if result.changed and not problems:
        result.problems.append("formatting (not what nbformat.write produces)")
    if result.changed and not check:
        path.write_text(text, encoding="utf-8")
    return result


def default_notebooks(root: Path) -> list[Path]:
    """The committed source notebooks: everything under ``lectures/`` and ``solutions/``."""
    found: list[Path] = []
    for folder in ("lectures", "solutions"):
        found += [p for p in sorted((root / folder).rglob("*.ipynb"))
                  if ".ipynb_checkpoints" not in p.parts]
    return found


def tracked_notebooks(root: Path) -> list[str]:
    """Notebooks tracked by git (``git ls-files '*.ipynb'``), as POSIX paths relative to ``root``.

    Outside a git checkout, every notebook below ``root`` except those in hidden folders and ``_build/``.
    """
    try:
        proc = subprocess.run(["git", "ls-files", "-z", "--", "*.ipynb"], cwd=root, capture_output=True,
                              text=True, check=True, timeout=60)
        return sorted(p for p in proc.stdout.split("\0") if p)
    except (OSError, subprocess.SubprocessError):
        return sorted(p.relative_to(root).as_posix() for p in root.rglob("*.ipynb")
                      if not any(part.startswith((".", "_build")) for part in p.relative_to(root).parts))


def normalize_paths(paths: Iterable[Path], *, check: bool = False) -> list[NormalizeResult]:
    """Normalise (or check) each notebook in ``paths``; folders are searched for ``*.ipynb``."""
    results = []
    for path in paths:
        files = sorted(path.rglob("*.ipynb")) if path.is_dir() else [path]
        results += [normalize_file(f, check=check) for f in files
                    if ".ipynb_checkpoints" not in f.parts]
    return results


def problems_of(nb_json: dict[str, Any] | nbformat.NotebookNode) -> list[str]:
    """What :func:`normalize_notebook` would fix in ``nb_json`` (empty when it is normalised)."""
    return normalize_notebook(nbformat.from_dict(nb_json))[1]
