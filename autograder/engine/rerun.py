"""What was graded before: fingerprints of a run and of each submission, and who a submission is.

A run's key hashes what a score depends on (source notebooks, hidden suite, grading code, limits, gradebook);
a submission's hash is its notebooks' bytes, problems and timestamp. A submission with the same hash under the
same key is not graded again (unless ``--force``).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from autograder.engine.grade import GradeTask
from autograder.engine.inputs import Submission


def hash_files(*folders: Path) -> str:
    digest = hashlib.sha256()
    for folder in folders:
        for path in sorted(Path(folder).rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts and ".ipynb_checkpoints" not in path.parts:
                digest.update(path.relative_to(folder).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def code_hash() -> str:
    """The grading code itself (``autograder`` without its fixtures, and the ``mlcourse`` reference): a change
    there makes earlier results non-reusable."""
    import mlcourse

    digest = hashlib.sha256()
    for package in (Path(__file__).resolve().parents[1], Path(mlcourse.__file__).resolve().parent):
        for path in sorted(package.rglob("*.py")):
            if "fixtures" not in path.relative_to(package).parts:
                digest.update(path.relative_to(package).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def submission_hash(task: GradeTask, timestamp: str | None) -> str:
    """What a submission is for "already graded?": its notebooks' bytes, problems and timestamp."""
    digest = hashlib.sha256()
    for stem in sorted(task.notebooks):
        data = task.notebooks[stem]
        known = task.digests.get(stem)  # bytes left to be read where the task runs
        digest.update(stem.encode() + b"\0" + (known if known is not None else
                                               b"-" if data is None else hashlib.sha256(data).digest()))
    digest.update(json.dumps([sorted(task.problems), timestamp or ""]).encode())
    return digest.hexdigest()


def read_json(path: Path) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def identity(sub: Submission) -> dict[str, str]:
    """``original_name``, ``name``, ``sid``, ``email`` of a submission (when discovery knows them)."""
    meta = getattr(sub, "metadata", None) or {}
    meta = meta if isinstance(meta, dict) else {}
    return {"original_name": str(getattr(sub, "display_name", "") or sub.student),
            **{k: str(meta.get(k) or "") for k in ("name", "sid", "email")}}


def originals(task: GradeTask) -> dict[str, dict]:
    """The submitted notebooks as JSON (for the outputs graders see); unreadable ones are left out."""
    found = {}
    for stem, data in task.notebooks.items():
        if data is None:
            continue
        try:
            notebook = json.loads(data.decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError):
            continue
        if isinstance(notebook, dict):
            found[stem] = notebook
    return found
