"""Gradescope autograder bundles: ``course gradescope <assignment> --out DIR`` writes ``DIR/autograder.zip``.

Gradescope unpacks the zip into ``/autograder/source``, runs ``setup.sh`` once (as root, on its Ubuntu image)
and ``run_autograder`` for every submission (files in ``/autograder/submission``), reading
``/autograder/results/results.json`` (Gradescope's autograder specification: ``score``, ``max_score``,
``execution_time``, ``output``, ``visibility``, ``stdout_visibility``, ``tests``). The zip holds:

``setup.sh``
    Installs the locked grader environment: uv (the version of ``requirements/dev.lock``), a CPython 3.11 of
    uv's (Ubuntu 22.04's own is 3.10) under ``/opt/uv-python`` (readable by the sandbox's uid), the venv
    ``/autograder/venv`` from ``requirements/grader.lock`` (hashes checked), this repository without its
    dependencies; then grades the released notebook once so that the calibration (the reference solution
    graded under the limits) is cached for every later run.
``run_autograder``
    ``python -m autograder.gradescope run``: copies the submission's notebooks into a one-student folder,
    grades it with the engine (``course grade ... --no-nbgrader``: sandboxed worker, hidden suite in the
    trusted process) and writes ``results/results.json`` with ``execution_time`` and the tests' visibility of
    the bundle (``--visibility``, default ``after_published``: students see the total at once, the checks once
    grades are published). An engine failure still writes a results.json (score 0, the reason).
``repo/``
    ``pyproject.toml``, ``README.md``, the lock, ``src/mlcourse`` (without ``build``), ``autograder/`` (the
    engine, the assignment's hidden suite; no fixtures, no other assignment's suite) and
    ``solutions/<assignment>/`` (points and the calibration's reference solution, never shown to students).
``gradescope.json``
    The assignment and the visibilities.

The root ``/autograder`` is ``$MLCOURSE_AUTOGRADER_ROOT`` when set, and the interpreter
``$MLCOURSE_AUTOGRADER_PYTHON`` (default ``<root>/venv/bin/python``), so that a test can run
``run_autograder`` against a temporary folder laid out like ``/autograder``.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import re
import shutil
import stat
import sys
import tempfile
import time
import zipfile
from pathlib import Path

from autograder.assignments import assignment_names

REPO = Path(__file__).resolve().parents[1]

#: Gradescope's visibility settings (of the whole result and of each test).
VISIBILITIES = ("hidden", "after_due_date", "after_published", "visible")

#: Environment variables that relocate ``/autograder`` and choose the interpreter (tests).
ROOT_ENV, PYTHON_ENV = "MLCOURSE_AUTOGRADER_ROOT", "MLCOURSE_AUTOGRADER_PYTHON"

#: The one student of a Gradescope run (the engine's student id; Gradescope knows who it is).
STUDENT = "submission"

CONFIG = "gradescope.json"
CALIBRATION = "calibration"

SETUP_SH = """#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder image (Ubuntu 22.04 or 24.04).
set -euxo pipefail
SOURCE=/autograder/source
export DEBIAN_FRONTEND=noninteractive UV_PYTHON_INSTALL_DIR=/opt/uv-python
apt-get update
apt-get install -y --no-install-recommends python3 python3-venv ca-certificates
python3 -m venv /opt/uv-tool
/opt/uv-tool/bin/pip install --quiet "uv=={uv_version}"
UV=/opt/uv-tool/bin/uv
"$UV" python install 3.11
"$UV" venv --python 3.11 /autograder/venv
PY=/autograder/venv/bin/python
"$UV" pip install --python "$PY" --require-hashes -r "$SOURCE/repo/requirements/grader.lock"
"$UV" pip install --python "$PY" --no-deps -e "$SOURCE/repo"
chmod -R a+rX /opt/uv-python /autograder/venv "$SOURCE"
# Grade the released notebook once: the calibration (reference solution under the limits) is then cached.
cd "$SOURCE/repo"
/autograder/venv/bin/python -m autograder.gradescope calibrate --root /autograder
"""

RUN_AUTOGRADER = """#!/usr/bin/env bash
# Gradescope runs this for every submission (/autograder/submission -> /autograder/results/results.json).
set -uo pipefail
ROOT="${MLCOURSE_AUTOGRADER_ROOT:-/autograder}"
PYTHON="${MLCOURSE_AUTOGRADER_PYTHON:-$ROOT/venv/bin/python}"
cd "$ROOT/source/repo"
export PYTHONPATH="$ROOT/source/repo/src:$ROOT/source/repo${PYTHONPATH:+:$PYTHONPATH}"
exec "$PYTHON" -m autograder.gradescope run --root "$ROOT"
"""


class BundleError(ValueError):
    """A usage error of ``course gradescope``: one line, exit code 2."""


# --------------------------------------------------------------------------------------------- the bundle
def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add ``gradescope <assignment> --out DIR [--visibility V] [--result-visibility V]`` to ``course``.

    Parameters
    ----------
    subparsers : argparse._SubParsersAction
        The ``course`` command's subparsers.

    Returns
    -------
    argparse.ArgumentParser
        The new subcommand's parser.
    """
    p = subparsers.add_parser("gradescope", help="write a Gradescope autograder bundle (autograder.zip)",
                              description="Write DIR/autograder.zip for a Gradescope programming assignment: "
                                          "setup.sh installs the locked grader environment, run_autograder "
                                          "grades the submitted notebook with the engine and writes "
                                          "results.json.")
    p.add_argument("assignment", help="assignment id, e.g. hw2")
    p.add_argument("--out", type=Path, required=True, help="folder for autograder.zip")
    p.add_argument("--visibility", choices=VISIBILITIES, default="after_published",
                   help="when students see each check's result (default after_published)")
    p.add_argument("--result-visibility", choices=VISIBILITIES, default="visible",
                   help="when students see the total score and summary (default visible)")
    return p


def run(args: argparse.Namespace) -> int:
    """``course gradescope``: write the bundle; 0 on success, 2 (one line on stderr) on a usage error."""
    try:
        path = bundle(args.assignment, args.out, visibility=args.visibility,
                      result_visibility=args.result_visibility)
    except BundleError as exc:
        print(f"course gradescope: {exc}", file=sys.stderr)
        return 2
    print(path)
    return 0


def _lock_version(lock: Path, name: str) -> str:
    match = re.search(rf"^{re.escape(name)}==(\S+)", lock.read_text(), re.M)
    if not match:
        raise BundleError(f"{lock.relative_to(REPO)} pins no {name}: run make lock")
    return match.group(1)


def _repo_files(assignment: str) -> list[Path]:
    """The repository files the bundle ships, relative to the repository."""
    skip_dirs = {"__pycache__", ".ipynb_checkpoints", "fixtures"}
    suites = set(assignment_names(REPO))  # every other assignment's hidden suite stays out
    files = [Path("pyproject.toml"), Path("README.md"), Path("nbgrader_config.py"),
             Path("requirements") / "grader.lock"]
    for top in (Path("src") / "mlcourse", Path("autograder")):
        for path in sorted((REPO / top).rglob("*")):
            rel = path.relative_to(REPO)
            parts = set(rel.parts)
            if not path.is_file() or parts & skip_dirs or path.suffix == ".pyc":
                continue
            if rel.parts[:3] == ("src", "mlcourse", "build"):
                continue
            if rel.parts[0] == "autograder" and len(rel.parts) > 2 and rel.parts[1] in suites - {assignment}:
                continue
            files.append(rel)
    files += sorted(p.relative_to(REPO) for p in (REPO / "solutions" / assignment).glob("*.ipynb"))
    files += sorted(p.relative_to(REPO) for p in (REPO / "assignments" / assignment).glob("*.ipynb"))
    return [f for f in files if (REPO / f).is_file()]


def bundle(assignment: str, out: Path, visibility: str = "after_published",
           result_visibility: str = "visible") -> Path:
    """Write ``out/autograder.zip`` for ``assignment``.

    Parameters
    ----------
    assignment : str
        Assignment id with a hidden suite ``autograder/<assignment>/`` and source ``solutions/<assignment>/``.
    out : Path
        Folder for the zip (created if needed).
    visibility : str
        Gradescope visibility of each check (one of :data:`VISIBILITIES`).
    result_visibility : str
        Gradescope visibility of the whole result.

    Returns
    -------
    Path
        The zip.
    """
    known = assignment_names(REPO)
    if not (REPO / "autograder" / assignment).is_dir() or not any((REPO / "solutions" / assignment).glob(
            "*.ipynb")):
        raise BundleError(f"unknown assignment {assignment!r} (known assignments: {', '.join(known)})")
    for v in (visibility, result_visibility):
        if v not in VISIBILITIES:
            raise BundleError(f"visibility {v!r} is not one of {', '.join(VISIBILITIES)}")
    lock = REPO / "requirements" / "grader.lock"
    if not lock.is_file():
        raise BundleError("requirements/grader.lock is missing: run make lock")
    uv_version = _lock_version(REPO / "requirements" / "dev.lock", "uv")
    config = {"assignment": assignment, "visibility": visibility, "result_visibility": result_visibility,
              "notebooks": sorted(p.name for p in (REPO / "solutions" / assignment).glob("*.ipynb"))}
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    target = out / "autograder.zip"
    partial = out / "autograder.zip.partial"
    with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as z:
        _add_text(z, "setup.sh", SETUP_SH.replace("{uv_version}", uv_version), executable=True)
        _add_text(z, "run_autograder", RUN_AUTOGRADER, executable=True)
        _add_text(z, CONFIG, json.dumps(config, indent=1) + "\n")
        for rel in _repo_files(assignment):
            z.write(REPO / rel, f"repo/{rel.as_posix()}")
    os.replace(partial, target)
    return target


def _add_text(z: zipfile.ZipFile, name: str, text: str, executable: bool = False) -> None:
    info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
    info.external_attr = ((0o755 if executable else 0o644) | stat.S_IFREG) << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    z.writestr(info, text)


# ----------------------------------------------------------------------------------- inside Gradescope
def _config(root: Path) -> dict:
    return json.loads((root / "source" / CONFIG).read_text())


def _stage(files: list[Path], notebooks: list[str], folder: Path) -> list[str]:
    """Copy the submitted notebooks into ``folder/<STUDENT>/``; a single notebook of another name is renamed
    to the assignment's single notebook. Returns notes for the student."""
    student = folder / STUDENT
    student.mkdir(parents=True)
    notes = []
    by_name = {f.name: f for f in files}
    if len(notebooks) == 1 and notebooks[0] not in by_name and len(files) == 1:
        notes.append(f"graded your notebook {files[0].name} as {notebooks[0]}")
        by_name = {notebooks[0]: files[0]}
    for name, path in by_name.items():
        shutil.copyfile(path, student / name)
    missing = [n for n in notebooks if n not in by_name]
    if missing:
        notes.append(f"expected notebook(s) not submitted: {', '.join(missing)}")
    return notes


def _submitted(root: Path) -> list[Path]:
    folder = root / "submission"
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts
                  and not p.is_symlink() and p.is_file())


def _grade(assignment: str, submissions: Path, out: Path) -> tuple[int, str]:
    """``course grade <assignment> SUBMISSIONS --out OUT --no-nbgrader --workers 1 --quiet``: (exit code,
    stderr)."""
    from autograder.cli import main as course

    stderr = io.StringIO()
    with contextlib.redirect_stderr(stderr):
        code = course(["grade", assignment, str(submissions), "--out", str(out), "--no-nbgrader",
                       "--no-feedback", "--workers", "1", "--quiet"])
    return code, stderr.getvalue()


def _failure(config: dict, message: str, seconds: float) -> dict:
    return {"score": 0, "execution_time": round(seconds, 2), "output": message,
            "visibility": config.get("result_visibility", "visible"), "stdout_visibility": "hidden",
            "tests": []}


def grade_submission(root: Path) -> dict:
    """Grade ``root/submission`` and write ``root/results/results.json``.

    Parameters
    ----------
    root : Path
        The folder laid out like ``/autograder`` (``source/``, ``submission/``, ``results/``).

    Returns
    -------
    dict
        The results written.
    """
    began = time.monotonic()
    config = _config(root)
    assignment = config["assignment"]
    results_dir = root / "results"
    results_dir.mkdir(parents=True, exist_ok=True)
    try:
        files = _submitted(root)
        if not files:
            results = _failure(config, "No notebook (.ipynb) was submitted: upload "
                                       f"{', '.join(config['notebooks'])}.", time.monotonic() - began)
        else:
            with tempfile.TemporaryDirectory(prefix="gradescope-") as tmp:
                notes = _stage(files, config["notebooks"], Path(tmp) / "submissions")
                out = Path(tmp) / "out"
                out.mkdir()
                cached = root / "source" / CALIBRATION / ".calibration.json"
                if cached.is_file():
                    shutil.copyfile(cached, out / ".calibration.json")
                code, stderr = _grade(assignment, Path(tmp) / "submissions", out)
                produced = out / STUDENT / "results.json"
                if not produced.is_file():
                    reason = (stderr.strip().splitlines() or [f"exit code {code}"])[-1]
                    results = _failure(config, f"The autograder could not grade this submission ({reason}); "
                                               "your instructor has been told.", time.monotonic() - began)
                else:
                    results = json.loads(produced.read_text())
                    for test in results.get("tests", []):
                        test["visibility"] = config["visibility"]
                    results["visibility"] = config["result_visibility"]
                    if notes:
                        results["output"] = "\n".join([*notes, results.get("output", "")])
                    if config["visibility"] != "visible":
                        when = _when(config["visibility"])
                        results["output"] += f"\nEach check's result is shown {when}."
                    results["execution_time"] = round(time.monotonic() - began, 2)
    except Exception as exc:  # never leave Gradescope without a results.json
        results = _failure(config, f"The autograder failed ({type(exc).__name__}); your instructor has been "
                                   "told.", time.monotonic() - began)
        print(f"autograder.gradescope: {type(exc).__name__}: {exc}", file=sys.stderr)
    target = results_dir / "results.json"
    target.write_text(json.dumps(results, indent=1, ensure_ascii=False) + "\n")
    return results


def _when(visibility: str) -> str:
    return {"hidden": "to instructors only", "after_due_date": "after the due date",
            "after_published": "once grades are published"}.get(visibility, "now")


def calibrate(root: Path) -> int:
    """Grade the released notebook once into ``root/source/calibration`` (the calibration is cached there and
    copied into every later run); 0 when the reference solution gets full marks."""
    config = _config(root)
    assignment = config["assignment"]
    release = sorted((root / "source" / "repo" / "assignments" / assignment).glob("*.ipynb"))
    with tempfile.TemporaryDirectory(prefix="gradescope-") as tmp:
        _stage(release, config["notebooks"], Path(tmp) / "submissions")
        out = root / "source" / CALIBRATION
        out.mkdir(parents=True, exist_ok=True)
        code, stderr = _grade(assignment, Path(tmp) / "submissions", out)
    if not (out / ".calibration.json").is_file():
        print(f"autograder.gradescope: calibration failed (exit {code}): {stderr.strip()}", file=sys.stderr)
        return 2
    return 0


def main(argv: list[str] | None = None) -> int:
    """``python -m autograder.gradescope {gradescope,run,calibrate}`` (run, calibrate: inside Gradescope)."""
    parser = argparse.ArgumentParser(prog="python -m autograder.gradescope")
    sub = parser.add_subparsers(dest="command", required=True)
    add_parser(sub)
    for name, text in (("run", "grade ROOT/submission into ROOT/results/results.json"),
                       ("calibrate", "cache the calibration in ROOT/source/calibration (setup.sh)")):
        p = sub.add_parser(name, help=text)
        p.add_argument("--root", type=Path, default=Path(os.environ.get(ROOT_ENV, "/autograder")))
    args = parser.parse_args(argv)
    if args.command == "gradescope":
        return run(args)
    if args.command == "calibrate":
        return calibrate(args.root)
    grade_submission(args.root)
    return 0


if __name__ == "__main__":
    sys.exit(main())
