"""Content hashes that decide what the build has to redo.

A notebook is re-executed only when its *execution key* changes. The key hashes everything that can change
its outputs and nothing that cannot:

- the code cells' source and tags, the kernel name and the notebook's path in the repository;
- the other files in the notebook's folder (data it may read);
- the reference package ``src/mlcourse`` (minus this build package, which does not run inside kernels);
- the installed distributions with their versions and the Python version (the effective lock file);
- :data:`EXECUTOR_VERSION`, bumped whenever the executor's kernel environment changes.

Markdown cells are not part of the key: editing prose re-renders the site but reuses the cached outputs.
"""

from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

#: Bump when the executor changes how kernels run (environment, seeds, backends).
EXECUTOR_VERSION = "2"

_SKIP_DIRS = {"__pycache__", ".ipynb_checkpoints", ".pytest_cache", ".ruff_cache", ".hypothesis"}
_SKIP_SUFFIXES = {".pyc", ".pyo"}


def sha256_text(*parts: str) -> str:
    """Hex SHA-256 of ``parts`` joined unambiguously (each part is length-prefixed)."""
    digest = hashlib.sha256()
    for part in parts:
        data = part.encode()
        digest.update(f"{len(data)}:".encode())
        digest.update(data)
    return digest.hexdigest()


def iter_tree(root: Path, *, exclude: Iterable[Path] = (), suffix_filter: str | None = None,
              skip_suffixes: Iterable[str] = ()) -> list[Path]:
    """Regular files under ``root`` in a stable order, skipping caches and hidden entries.

    Parameters
    ----------
    root : Path
        Folder to walk (a missing folder yields nothing).
    exclude : iterable of Path
        Folders whose contents are skipped.
    suffix_filter : str, optional
        Keep only files with this suffix.
    skip_suffixes : iterable of str
        Suffixes to leave out (in addition to compiled Python files).
    """
    if not root.is_dir():
        return []
    excluded = {p.resolve() for p in exclude}
    skipped = _SKIP_SUFFIXES | set(skip_suffixes)
    files = []
    for path in sorted(root.rglob("*")):
        rel_parts = path.relative_to(root).parts
        if any(part.startswith(".") or part in _SKIP_DIRS for part in rel_parts):
            continue
        if any(parent in excluded for parent in path.resolve().parents) or not path.is_file():
            continue
        if path.suffix in skipped or (suffix_filter and path.suffix != suffix_filter):
            continue
        files.append(path)
    return files


def hash_files(files: Iterable[Path], base: Path) -> str:
    """Hash of the files' paths (relative to ``base``) and contents."""
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.relative_to(base).as_posix().encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def hash_tree(root: Path, **kwargs: Any) -> str:
    """Hash of every file under ``root`` (see :func:`iter_tree` for the options)."""
    return hash_files(iter_tree(root, **kwargs), root)


def package_hash(root: Path) -> str:
    """Hash of the reference package ``src/mlcourse`` without ``mlcourse.build``."""
    package = root / "src" / "mlcourse"
    return hash_tree(package, exclude=[package / "build"])


def environment_hash() -> str:
    """Hash of the installed distributions (their ``name-version.dist-info`` folders) and of Python.

    Reading the folder names of ``sys.path`` is a few milliseconds; parsing every distribution's metadata
    would take a second on a cold disk cache. The project itself (an editable install whose source is hashed
    separately) is left out.
    """
    names = set()
    for entry in sys.path:
        folder = Path(entry or ".")
        if not entry or not folder.is_dir():
            continue
        for item in folder.iterdir():
            if item.name.endswith((".dist-info", ".egg-info")) and not item.name.startswith("mlcourse"):
                names.add(item.name)
    return sha256_text(sys.version, *sorted(names))


def code_fingerprint(nb: Mapping[str, Any]) -> list[str]:
    """The parts of a notebook that its execution depends on, as strings.

    Code cells' source and tags, in order, and the kernel name.
    """
    kernel = nb.get("metadata", {}).get("kernelspec", {}).get("name", "python3")
    parts = [f"kernel={kernel}"]
    for cell in nb.get("cells", []):
        if cell.get("cell_type") != "code":
            continue
        source = cell.get("source", "")
        if isinstance(source, list):
            source = "".join(source)
        tags = sorted(cell.get("metadata", {}).get("tags", []))
        parts.append(json.dumps({"source": source, "tags": tags}, sort_keys=True))
    return parts


def notebook_key(nb: Mapping[str, Any], rel_path: str, *, folder_hash: str, package: str,
                 environment: str) -> str:
    """The execution key of one notebook (see the module docstring).

    Parameters
    ----------
    nb : mapping
        The notebook (nbformat 4 JSON structure).
    rel_path : str
        Its path relative to the repository root, POSIX style.
    folder_hash : str
        :func:`hash_tree` of the notebook's folder without notebooks (data files it may read).
    package, environment : str
        :func:`package_hash` and :func:`environment_hash`.
    """
    return sha256_text(f"executor={EXECUTOR_VERSION}", f"path={rel_path}", f"folder={folder_hash}",
                       f"package={package}", f"environment={environment}", *code_fingerprint(nb))


def folder_hash(folder: Path) -> str:
    """Hash of the non-notebook files in ``folder`` and below (data a notebook may read)."""
    return hash_tree(folder, skip_suffixes={".ipynb"})


def write_if_changed(path: Path, data: bytes) -> bool:
    """Write ``data`` to ``path`` unless it already holds exactly that; return whether it wrote."""
    if path.is_file() and path.stat().st_size == len(data) and path.read_bytes() == data:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    tmp.replace(path)
    return True


class StepStamps:
    """Keys of the build steps that last succeeded, kept in one JSON file.

    A step (releasing, grading one assignment, rendering one page) is skipped when its input key and the
    hash of its outputs both match what was recorded after its last successful run.

    Parameters
    ----------
    path : Path
        The JSON file.
    force : bool
        Treat every step as out of date (a forced rebuild still records the new keys).
    """

    def __init__(self, path: Path, *, force: bool = False) -> None:
        self.path = path
        self.force = force
        try:
            self._data: dict[str, dict[str, str]] = json.loads(path.read_text())
        except (OSError, ValueError):
            self._data = {}

    def is_current(self, step: str, key: str, output_hash: str | None = None) -> bool:
        """Whether ``step`` last succeeded with ``key`` and produced outputs hashing to ``output_hash``."""
        entry = self._data.get(step)
        if self.force or not entry or entry.get("key") != key:
            return False
        return output_hash is None or entry.get("output") == output_hash

    def record(self, step: str, key: str, output_hash: str | None = None) -> None:
        """Remember that ``step`` succeeded with ``key`` and save the file."""
        self._data[step] = {"key": key} if output_hash is None else {"key": key, "output": output_hash}
        text = json.dumps(self._data, indent=1, sort_keys=True) + "\n"
        write_if_changed(self.path, text.encode())
