"""``course``: the course's command line (console script declared in ``pyproject.toml``).

``course grade <assignment> [SUBMISSIONS] --out DIR [--workers N] [--db-url URL] [--scheduler ADDRESS]``

SUBMISSIONS is nbgrader's ``submitted/`` layout (or a course root holding one), a folder of ``.ipynb`` files
(student id = file name), a folder per student (Gradescope export), or a zip of any of these; by default the
demo submissions in ``autograder/fixtures/<assignment>/``. Writes ``DIR/grades.csv``,
``DIR/<student>/results.json`` (Gradescope format), ``DIR/feedback/<student>/<assignment>/*.html``,
``DIR/summary.txt``, ``DIR/timings.json``, the gradebook (``DIR/gradebook.db`` unless ``--db-url`` or
``MLCOURSE_DB_URL`` says otherwise) and nbgrader's autograded notebooks in ``DIR/nbgrader/autograded/``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from autograder.engine.limits import Limits

REPO = Path(__file__).resolve().parents[1]


def _grade_parser(sub: argparse._SubParsersAction) -> None:
    defaults = Limits()
    p = sub.add_parser("grade", help="grade a batch of submissions (hidden tests in a sandbox)",
                       description="Grade submissions: nbgrader bookkeeping, hidden tests against each "
                                   "submission's code in a sandboxed worker, grades.csv, Gradescope "
                                   "results.json and HTML feedback.")
    p.add_argument("assignment", help="assignment id, e.g. hw2")
    p.add_argument("submissions", nargs="?", type=Path,
                   help="submitted/ folder, folder of .ipynb files, or a zip (default: the demo submissions "
                        "in autograder/fixtures/<assignment>/)")
    p.add_argument("--out", type=Path, default=None,
                   help="output folder (default: _build/grades/<assignment>)")
    p.add_argument("--workers", type=int, default=None, help="parallel grading processes (default: cores)")
    p.add_argument("--scheduler", default=None,
                   help="Dask scheduler address (tcp://host:port): grade on that cluster instead")
    p.add_argument("--db-url", default=None,
                   help="gradebook SQLAlchemy URL (default: $MLCOURSE_DB_URL or sqlite:///OUT/gradebook.db)")
    p.add_argument("--source", type=Path, default=None,
                   help="source notebooks (default: solutions/<assignment>)")
    p.add_argument("--suite", type=Path, default=None, help="hidden suite (default: autograder/<assignment>)")
    p.add_argument("--course-id", default="mlcourse")
    p.add_argument("--no-nbgrader", action="store_true",
                   help="skip nbgrader bookkeeping (gradebook, feedback); write only grades.csv and "
                        "results.json")
    p.add_argument("--no-feedback", action="store_true", help="skip HTML feedback")
    p.add_argument("--call-timeout", type=float, default=defaults.call_cpu,
                   help=f"CPU seconds per call into student code (default {defaults.call_cpu:g})")
    p.add_argument("--cell-timeout", type=float, default=defaults.cell_cpu,
                   help=f"CPU seconds per notebook cell while loading (default {defaults.cell_cpu:g})")
    p.add_argument("--memory-mb", type=int, default=defaults.memory_mb,
                   help=f"address-space limit per sandboxed worker in MiB (default {defaults.memory_mb})")
    p.add_argument("--submission-timeout", type=float, default=defaults.submission_wall,
                   help=f"wall-clock budget per submission in seconds (default {defaults.submission_wall:g})")
    p.add_argument("--spawn", choices=["zygote", "exec"], default="zygote",
                   help="start sandboxed workers by forking a pre-warmed zygote (fast) or with python -m")
    p.add_argument("--quiet", action="store_true", help="no progress bar or summary")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="course", description="Course tools.")
    sub = parser.add_subparsers(dest="command", required=True)
    _grade_parser(sub)
    args = parser.parse_args(argv)
    if args.command == "grade":
        return _grade(args, parser)
    parser.error(f"unknown command {args.command}")  # pragma: no cover
    return 2


def _grade(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from autograder.engine.batch import BatchOptions, run_batch

    submissions = args.submissions or REPO / "autograder" / "fixtures" / args.assignment
    if not Path(submissions).exists():
        parser.error(f"no submissions at {submissions}")
    if args.workers is not None and args.workers < 1:
        parser.error("--workers must be at least 1")
    limits = Limits(call_cpu=args.call_timeout, cell_cpu=args.cell_timeout, memory_mb=args.memory_mb,
                    submission_wall=args.submission_timeout)
    options = BatchOptions(
        assignment=args.assignment, submissions=Path(submissions),
        out=args.out or Path("_build") / "grades" / args.assignment, workers=args.workers,
        scheduler=args.scheduler, db_url=args.db_url, source_dir=args.source, suite_dir=args.suite,
        course_id=args.course_id, limits=limits, spawn=args.spawn, bookkeeping=not args.no_nbgrader,
        feedback=not args.no_feedback, progress=not args.quiet)
    try:
        run_batch(options)
    except ValueError as exc:  # no such assignment, no submissions, unsafe zip...
        print(f"course grade: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
