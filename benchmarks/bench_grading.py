"""Grading throughput: plain sequential ``nbgrader autograde`` vs ``course grade`` (this engine), one run.

A corpus of HW2 submissions (``BENCH_GRADING_N``, default 40) is built from the demo submissions in
``autograder/fixtures/hw2/`` (correct, buggy and slow ones, copied under distinct student ids). The same
corpus is graded twice in scratch course folders:

* **nbgrader**: ``nbgrader generate_assignment`` then ``nbgrader autograde hw2``, as a course would run it:
  every notebook executed top to bottom in its own kernel, the hidden tests scored in the kernel;
* **engine**: ``course grade hw2`` with the default number of workers (one per core): hidden tests in a
  trusted process against sandboxed workers, nbgrader for bookkeeping and feedback.

The table reports submissions per minute and their ratio, whether both give identical scores per grade
cell, where the engine's time goes, and memory (peak RSS of the sandboxed workers and of the largest process
of each run). ``main(out_dir)`` writes ``out_dir/grading.md``.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "autograder" / "fixtures" / "hw2"


def corpus(folder: Path, n: int) -> dict[str, str]:
    """``submitted/<id>/hw2/hw2.ipynb`` for ``n`` students cycling through the demo submissions."""
    fixtures = sorted(FIXTURES.glob("*.ipynb"))
    students = {}
    for i in range(n):
        fixture = fixtures[i % len(fixtures)]
        student = f"s{i:03d}-{fixture.stem}"[:60].replace("_", "-")
        target = folder / student / "hw2"
        target.mkdir(parents=True)
        shutil.copy(fixture, target / "hw2.ipynb")
        students[student] = fixture.stem
    return students


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    env.pop("MLCOURSE_DB_URL", None)
    return env


def _run(cmd: list[str], cwd: Path, log: Path) -> tuple[float, int, int]:
    """Run ``cmd``; (wall seconds, exit code, peak RSS in MiB of the largest process it waited for)."""
    start = time.perf_counter()
    with log.open("w") as handle:
        proc = subprocess.Popen(cmd, cwd=cwd, env=_env(), stdout=handle, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
    return time.perf_counter() - start, proc.returncode, int(usage.ru_maxrss / 1024)


def nbgrader_baseline(work: Path, n: int) -> dict:
    course = work / "nbgrader-course"
    (course / "source").mkdir(parents=True)
    shutil.copytree(ROOT / "solutions" / "hw2", course / "source" / "hw2")
    db = f"sqlite:///{course / 'gradebook.db'}"
    common = [f"--CourseDirectory.root={course}", f"--CourseDirectory.db_url={db}",
              "--CourseDirectory.source_directory=source", "--CourseDirectory.release_directory=release"]
    shutil.copy(ROOT / "nbgrader_config.py", course / "nbgrader_config.py")
    nbgrader = [sys.executable, "-m", "nbgrader"]
    seconds, code, _ = _run([*nbgrader, "generate_assignment", "hw2", "--force", *common], course,
                            work / "nbgrader-generate.log")
    if code:
        raise RuntimeError(f"nbgrader generate_assignment failed; see {work / 'nbgrader-generate.log'}")
    students = corpus(course / "submitted", n)
    seconds, code, rss = _run([*nbgrader, "autograde", "hw2", "--force", *common], course,
                              work / "nbgrader-autograde.log")
    scores = _gradebook_scores(db)
    return {"seconds": seconds, "exit": code, "rss_mib": rss, "scores": scores, "students": students}


def _gradebook_scores(db_url: str) -> dict[str, dict[str, float]]:
    from nbgrader.api import Gradebook

    scores: dict[str, dict[str, float]] = {}
    with Gradebook(db_url, "mlcourse") as gb:
        assignment = gb.find_assignment("hw2")
        cells = [(c.name, nb.name) for nb in assignment.notebooks for c in nb.grade_cells
                 if not c.cell_type == "markdown"]
        for submission in assignment.submissions:
            student = submission.student.id
            scores[student] = {}
            for cell, notebook in cells:
                grade = gb.find_grade(cell, notebook, "hw2", student)
                scores[student][cell] = float(grade.auto_score or 0.0)
    return scores


def engine_run(work: Path, n: int) -> dict:
    course = work / "engine-course"
    students = corpus(course / "submitted", n)
    out = work / "engine-out"
    seconds, code, rss = _run([sys.executable, "-m", "autograder.cli", "grade", "hw2",
                               str(course / "submitted"), "--out", str(out)], ROOT, work / "engine.log")
    scores: dict[str, dict[str, float]] = {}
    grades = out / "grades.csv"
    if grades.is_file():
        with grades.open(newline="") as handle:
            for row in csv.DictReader(handle):
                scores[row["student_id"]] = {k: float(v) for k, v in row.items() if k.startswith("test_")}
    timings = json.loads((out / "timings.json").read_text()) if (out / "timings.json").is_file() else {}
    db = out / "gradebook.db"
    db_scores = _gradebook_scores(f"sqlite:///{db}") if db.is_file() else {}
    return {"seconds": seconds, "exit": code, "rss_mib": rss, "scores": scores, "db_scores": db_scores,
            "timings": timings, "students": students}


def _differences(a: dict, b: dict) -> list[str]:
    diffs = []
    for student in sorted(set(a) | set(b)):
        for cell in sorted(set(a.get(student, {})) | set(b.get(student, {}))):
            x, y = a.get(student, {}).get(cell), b.get(student, {}).get(cell)
            if x is None or y is None or abs(x - y) > 1e-6:
                diffs.append(f"{student} {cell}: nbgrader {x}, engine {y}")
    return diffs


def main(out_dir: Path) -> Path:
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    n = int(os.environ.get("BENCH_GRADING_N", "40"))
    cores = len(os.sched_getaffinity(0))
    work = Path(tempfile.mkdtemp(prefix="bench-grading-"))
    try:
        engine = engine_run(work, n)
        base = nbgrader_baseline(work, n)
        if engine["exit"]:
            raise RuntimeError(f"course grade failed:\n{(work / 'engine.log').read_text()[-3000:]}")
        diffs = _differences(base["scores"], engine["scores"])
        db_diffs = _differences(engine["scores"], engine["db_scores"])
    finally:
        logs = {name: (work / name).read_text()[-4000:] for name in ("engine.log", "nbgrader-autograde.log")
                if (work / name).is_file()}
        shutil.rmtree(work, ignore_errors=True)
    rate_base = 60 * n / base["seconds"]
    rate_engine = 60 * n / engine["seconds"]
    t = engine["timings"]
    phases = t.get("phase_seconds_total", {})
    means = t.get("phase_seconds_mean", {})
    rss = t.get("worker_peak_rss_mib", {})
    sandbox = ", ".join(t.get("sandbox", [{}])[0].get("steps", [])) if t.get("sandbox") else "?"
    lines = [
        "# Grading throughput: plain nbgrader vs `course grade`",
        "",
        f"{n} HW2 submissions (the {len(list(FIXTURES.glob('*.ipynb')))} demo submissions of "
        "`autograder/fixtures/hw2/`: correct, buggy, slow; copied under distinct ids), "
        f"{cores} cores, measured in one run ({time.strftime('%Y-%m-%d %H:%M')}).",
        "",
        "| | plain `nbgrader autograde` (sequential) | `course grade` (default workers) |",
        "|---|---:|---:|",
        f"| wall time | {base['seconds']:.1f} s | {engine['seconds']:.1f} s |",
        f"| submissions per minute | {rate_base:.1f} | {rate_engine:.1f} |",
        f"| **ratio (engine / nbgrader)** | 1.0 | **{rate_engine / rate_base:.2f}x** |",
        f"| largest process, peak RSS | {base['rss_mib']} MiB | {engine['rss_mib']} MiB |",
        f"| scores per grade cell | reference | {'identical' if not diffs else f'{len(diffs)} differ'} |",
        "",
        f"Target: at least 3x nbgrader's submissions per minute with identical scores: "
        f"**{'met' if rate_engine >= 3 * rate_base and not diffs else 'NOT met'}**.",
        "",
        "## Where the engine's time goes",
        "",
        "Summed over submissions (grading runs in parallel, so the sum exceeds the wall time; the gradebook "
        "phase runs in the parent, one student at a time, overlapping with grading):",
        "",
        "| phase | total | mean per submission |",
        "|---|---:|---:|",
    ]
    labels = {"kernel_start": "start sandboxed worker (fork from zygote, confine)",
              "execution": "execute the notebook's code cells",
              "hidden_tests": "hidden tests (trusted pytest)",
              "gradebook": "nbgrader bookkeeping + feedback (parent)",
              "grading_total": "grading one submission, all in"}
    for key, label in labels.items():
        lines.append(f"| {label} | {phases.get(key, 0):.1f} s | {means.get(key, 0):.3f} s |")
    lines += [
        "",
        f"Sandboxed worker memory (peak RSS per worker): mean {rss.get('mean', 0)} MiB, "
        f"max {rss.get('max', 0)} MiB. Sandbox: {sandbox}.",
        "",
        "Plain nbgrader executes every cell of each notebook in a fresh kernel (including the notebook's "
        "demos) and runs the hidden tests inside the student's kernel; the engine runs only the code cells "
        "that define the student's functions, in a worker forked from a pre-warmed zygote, runs the hidden "
        "tests in a trusted process, grades submissions in parallel, and uses nbgrader only for the "
        "gradebook and feedback (no kernel).",
        "",
        "Gradebook written by the engine agrees with its grades.csv: "
        f"{'yes' if not db_diffs else db_diffs[:5]}.",
    ]
    if diffs:
        lines += ["", "Score differences (nbgrader vs engine):", ""] + [f"- {d}" for d in diffs[:40]]
    if base["exit"]:
        lines += ["", f"nbgrader autograde exited with {base['exit']}:", "", "```",
                  logs.get("nbgrader-autograde.log", "")[-1500:], "```"]
    path = out_dir / "grading.md"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


if __name__ == "__main__":
    print(main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "benchmarks" / "results"))
