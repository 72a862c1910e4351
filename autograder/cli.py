"""``course``: the course's command line (console script declared in ``pyproject.toml``).

``course grade <assignment> [SUBMISSIONS] [--course DIR] [--out DIR] [--student ID] [--force] ...``

Where it grades:

* **In an nbgrader course** (the current folder holds ``nbgrader_config.py``, or ``--course DIR``, or
  SUBMISSIONS is a course root or its ``submitted/``): the course's configuration, its ``submitted/`` by
  default, its gradebook (``CourseDirectory.db_url``), and nbgrader's own ``autograded/<student>/<a>/`` and
  ``feedback/<student>/<a>/``, so ``nbgrader export``, formgrader and ``generate/release_feedback`` work
  unchanged. ``--out`` (default ``<course>/grades/<a>``) receives only the engine's own files.
* **A folder or zip outside any course** (``course grade <a> SUBMISSIONS --out DIR``): nbgrader's bookkeeping
  happens in a workspace of the engine's own under ``DIR/nbgrader``, the gradebook is ``DIR/gradebook.db``
  unless ``--db-url`` or ``MLCOURSE_DB_URL`` says otherwise, feedback goes to ``DIR/feedback``.
* ``--demo``: the demo submissions ``autograder/fixtures/<a>/`` (default ``--out _build/demo-grades/<a>``).

``DIR`` receives ``grades.csv``, ``<student>/results.json`` (Gradescope format), ``summary.txt``,
``summary.json``, ``timings.json`` and ``final_grades.csv``. Exit codes: see :data:`EXIT_CODES`.

``course new-assignment NAME [--title TITLE]`` writes a new assignment as a working unit
(:mod:`autograder.scaffold`); ``course fixtures NAME [--check]`` rebuilds (or checks) the submission fixtures
of an assignment declared in ``autograder/fixtures/NAME/fixtures.json`` (:mod:`autograder.fixture_builder`).
Both exit 2 with one line naming the fix on a bad name.
"""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path

from autograder.engine.limits import Limits

REPO = Path(__file__).resolve().parents[1]

#: What ``course grade`` exits with.
EXIT_CODES = {
    0: "every submission was graded",
    1: "some submission failed to run, was refused, or was not recorded in the gradebook (see summary)",
    2: "usage or configuration error: nothing was graded (the message names the fix)",
    130: "interrupted (Ctrl-C or SIGTERM): finished students' results are on disk",
}

LAYOUTS = ("nbgrader's submitted/<student>/<assignment>/*.ipynb (or the course folder holding submitted/), "
           "a folder of <student>.ipynb files, a folder per student (<student>/**/*.ipynb, a Gradescope "
           "export), or a .zip of any of these")


class Usage(Exception):
    """A usage or configuration error: one line, exit code 2."""


def _grade_parser(sub: argparse._SubParsersAction) -> None:
    defaults = Limits()
    codes = "; ".join(f"{k}: {v}" for k, v in EXIT_CODES.items())
    p = sub.add_parser("grade", help="grade a batch of submissions (hidden tests in a sandbox)",
                       description="Grade submissions: nbgrader bookkeeping, hidden tests against each "
                                   "submission's code in a sandboxed worker, grades.csv, Gradescope "
                                   "results.json and HTML feedback. Run it in the nbgrader course folder "
                                   "(or pass --course) to grade into that course.",
                       epilog=f"Exit codes: {codes}.")
    p.add_argument("assignment", help="assignment id, e.g. hw2")
    p.add_argument("submissions", nargs="?", type=Path,
                   help="submitted/ folder, folder of .ipynb files, or a zip (default: the course's "
                        "submitted/ folder)")
    p.add_argument("--course", type=Path, default=None,
                   help="the nbgrader course folder (holding nbgrader_config.py); default: the current "
                        "folder when it is one")
    p.add_argument("--demo", action="store_true",
                   help="grade the demo submissions autograder/fixtures/<assignment>/ (outside any course)")
    p.add_argument("--out", type=Path, default=None,
                   help="folder for grades.csv, results.json, summaries (default: "
                        "<course>/grades/<assignment>, grades/<assignment> outside a course, "
                        "_build/demo-grades/<assignment> with --demo)")
    p.add_argument("--student", action="append", default=None, metavar="ID",
                   help="grade only this student (repeatable); the others keep their last results")
    p.add_argument("--force", action="store_true",
                   help="regrade unchanged submissions too, and grade even if the reference solution does "
                        "not get full marks under the limits")
    p.add_argument("--workers", type=int, default=None, help="parallel grading processes (default: cores)")
    p.add_argument("--scheduler", default=None,
                   help="Dask scheduler address (tcp://host:port): grade on that cluster instead")
    p.add_argument("--scheduler-timeout", type=float, default=60.0,
                   help="seconds to wait for a Dask worker to join the scheduler (default 60)")
    p.add_argument("--db-url", default=None,
                   help="gradebook SQLAlchemy URL (default: the course's CourseDirectory.db_url; outside a "
                        "course $MLCOURSE_DB_URL or sqlite:///OUT/gradebook.db)")
    p.add_argument("--source", type=Path, default=None,
                   help="source notebooks (default: the course's source folder, else solutions/<assignment>)")
    p.add_argument("--suite", type=Path, default=None, help="hidden suite (default: autograder/<assignment>)")
    p.add_argument("--course-id", default=None,
                   help="nbgrader course id (default: the course's, or mlcourse outside a course)")
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
    p.add_argument("--similarity", action="store_true",
                   help="also compare the submissions' code pairwise (OUT/similarity/, a section of "
                        "OUT/report.html): evidence for a human to weigh, never part of a grade")
    p.add_argument("--quiet", action="store_true", help="no progress bar or summary")


def _assignment_parsers(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("new-assignment", help="start a new assignment: notebook, hidden suite, fixtures",
                       description="Write a new assignment (a working example to edit: source notebook, "
                                   "hidden suite, fixtures and expected scores), then generate its release, "
                                   "visible checks and fixtures (CONTRIBUTING.md, 'Adding an assignment').")
    p.add_argument("name", help="assignment id, e.g. hw3 (lower-case letters, digits, _)")
    p.add_argument("--title", default=None, help="the notebook's title (default: 'Homework NAME')")
    p.add_argument("--root", type=Path, default=REPO, help="the course repository (default: this one)")
    f = sub.add_parser("fixtures", help="rebuild an assignment's submission fixtures from fixtures.json",
                       description="Rebuild autograder/fixtures/NAME/*.ipynb: the release with the solutions "
                                   "filled in and the bugs of fixtures.json applied.")
    f.add_argument("name", help="assignment id")
    f.add_argument("--check", action="store_true", help="only report stale fixtures (exit 1 when any)")
    f.add_argument("--root", type=Path, default=REPO, help="the course repository (default: this one)")


def _new_assignment(args: argparse.Namespace) -> int:
    from autograder.scaffold import new_assignment

    try:
        written = new_assignment(args.name, args.root, args.title)
    except ValueError as exc:
        print(f"course new-assignment: {exc}", file=sys.stderr)
        return 2
    root = Path(args.root).resolve()
    for path in written:
        print("wrote", path.relative_to(root))
    print(f"next: edit solutions/{args.name}/{args.name}.ipynb, autograder/{args.name}/test_*.py, "
          f"autograder/fixtures/{args.name}/fixtures.json and expected.json (CONTRIBUTING.md, "
          "'Adding an assignment')")
    return 0


def _fixtures(args: argparse.Namespace) -> int:
    from autograder import fixture_builder
    from autograder.assignments import AssignmentFiles, assignment_names

    root = Path(args.root).resolve()
    if args.name not in assignment_names(root):
        print(f"course fixtures: unknown assignment {args.name!r} (known assignments: "
              f"{', '.join(assignment_names(root)) or 'none'})", file=sys.stderr)
        return 2
    files = AssignmentFiles(args.name, root)
    try:
        if args.check:
            problems = fixture_builder.stale(files)
            for line in problems:
                print(line)
            return 1 if problems else 0
        for path in fixture_builder.write(files):
            print("wrote", path.relative_to(root))
    except (ValueError, OSError) as exc:
        print(f"course fixtures: {exc}", file=sys.stderr)
        return 2
    return 0


def _sigterm(signum, frame) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="course", description="Course tools.")
    sub = parser.add_subparsers(dest="command", required=True)
    _grade_parser(sub)
    from autograder.similarity.cli import add_parser as similarity_parser
    from autograder.similarity.cli import run as similarity_run

    similarity_parser(sub)
    from autograder.gradescope import add_parser as gradescope_parser
    from autograder.gradescope import run as gradescope_run

    gradescope_parser(sub)
    _assignment_parsers(sub)
    args = parser.parse_args(argv)
    if args.command == "new-assignment":
        return _new_assignment(args)
    if args.command == "fixtures":
        return _fixtures(args)
    if args.command == "similarity":
        return similarity_run(args)
    if args.command == "gradescope":
        return gradescope_run(args)
    if args.command == "grade":
        previous = signal.signal(signal.SIGTERM, _sigterm) if _main_thread() else None
        try:
            return _grade(args)
        except Usage as exc:
            print(f"course grade: {exc}", file=sys.stderr)
            return 2
        except KeyboardInterrupt:
            print("course grade: interrupted; every finished student's results are on disk (exit 130)",
                  file=sys.stderr)
            return 130
        finally:
            if previous is not None:
                signal.signal(signal.SIGTERM, previous)
    parser.error(f"unknown command {args.command}")  # pragma: no cover
    return 2


def _main_thread() -> bool:
    import threading

    return threading.current_thread() is threading.main_thread()


def _known(course) -> str:
    from autograder.engine.course import known_assignments

    return ", ".join(known_assignments(course, REPO)) or "none"


def _check_submissions(path: Path) -> None:
    """One line naming the fix for a path that does not exist or holds no notebook."""
    if not path.exists():
        raise Usage(f"no submissions at {path}: it does not exist (give {LAYOUTS})")
    if path.is_dir():
        found = next((p for p in path.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts), None)
        if found is None:
            raise Usage(f"no notebooks in {path}; accepted layouts: {LAYOUTS}")


def _resolve(args: argparse.Namespace):
    """(course or None, submissions, default out) from the arguments and the current folder."""
    from autograder.engine.course import CourseError, course_of, is_course, load_course

    name = args.assignment

    def load(root: Path):
        try:
            return load_course(root, db_url=args.db_url, course_id=args.course_id)
        except CourseError as exc:
            raise Usage(str(exc)) from None

    if args.demo:
        if args.submissions is not None or args.course is not None:
            raise Usage("--demo grades the demo submissions outside any course; drop SUBMISSIONS/--course "
                        "or --demo")
        _refuse_a_course_gradebook(args.db_url)
        fixtures = REPO / "autograder" / "fixtures" / name
        if not fixtures.is_dir():
            raise Usage(f"no demo submissions for assignment {name!r} (known assignments: {_known(None)})")
        return None, fixtures, Path("_build") / "demo-grades" / name
    if args.course is not None:
        if not is_course(args.course):
            raise Usage(f"{args.course} is not an nbgrader course (no nbgrader_config.py there); run "
                        "nbgrader quickstart or point --course at the folder holding nbgrader_config.py")
        course = load(args.course)
        return course, args.submissions or course.submitted, course.root / "grades" / name
    if args.submissions is not None:
        root = course_of(args.submissions)
        if root is not None:
            course = load(root)
            return course, args.submissions, course.root / "grades" / name
        _refuse_a_course_gradebook(args.db_url)
        return None, args.submissions, Path("grades") / name
    here = Path.cwd()
    if not is_course(here):
        raise Usage(f"nothing to grade: {here} is not an nbgrader course (no nbgrader_config.py); run in the "
                    "course folder, pass --course DIR or SUBMISSIONS, or --demo for the demo submissions")
    course = load(here)
    if not course.submitted.is_dir():
        raise Usage(f"the course at {course.root} has no {course.submitted_directory}/ folder yet: run "
                    f"nbgrader collect {name} first, give SUBMISSIONS, or --demo for the demo submissions")
    return course, course.submitted, course.root / "grades" / name


def _refuse_a_course_gradebook(db_url: str | None) -> None:
    """Outside a course, a ``--db-url`` naming a course's own SQLite gradebook would leave formgrader without
    the autograded notebooks (they would go under ``--out``): ask for ``--course`` instead."""
    from autograder.engine.course import is_course

    if db_url and db_url.startswith("sqlite:///"):
        folder = Path(db_url[len("sqlite:///"):]).resolve().parent
        if is_course(folder):
            raise Usage(f"{db_url} is the gradebook of the nbgrader course {folder}: grade into that course "
                        f"with --course {folder} (autograded notebooks and feedback then go where formgrader "
                        "looks for them)")


def _grade(args: argparse.Namespace) -> int:
    from autograder.engine.batch import BatchOptions, run_batch

    if args.workers is not None and args.workers < 1:
        raise Usage("--workers must be at least 1")
    if args.suite is None and not (REPO / "autograder" / args.assignment).is_dir():
        raise Usage(f"unknown assignment {args.assignment!r}: no hidden suite autograder/{args.assignment}/ "
                    f"(known assignments: {_known(None)}); check the name or pass --suite")
    course, submissions, default_out = _resolve(args)
    name = args.assignment
    _check_submissions(Path(submissions))
    source = args.source or (course.folder("source") / name if course else None)
    if not (source and any(Path(source).glob("*.ipynb"))) and not (REPO / "solutions" / name).is_dir():
        where = f" in {source}" if args.source else ""
        raise Usage(f"no source notebooks for assignment {name!r}{where} (known assignments: "
                    f"{_known(course)}); check the name or pass --source")
    limits = Limits(call_cpu=args.call_timeout, cell_cpu=args.cell_timeout, memory_mb=args.memory_mb,
                    submission_wall=args.submission_timeout)
    options = BatchOptions(
        assignment=name, submissions=Path(submissions), out=args.out or default_out, workers=args.workers,
        scheduler=args.scheduler, db_url=args.db_url, source_dir=args.source, suite_dir=args.suite,
        course_id=args.course_id or "mlcourse", limits=limits, spawn=args.spawn,
        bookkeeping=not args.no_nbgrader, feedback=not args.no_feedback, progress=not args.quiet,
        course=course, students=args.student, force=args.force, scheduler_timeout=args.scheduler_timeout)
    try:
        report = run_batch(options)
    except ValueError as exc:  # no such assignment, no submissions, unsafe zip, scheduler, calibration...
        raise Usage(str(exc).splitlines()[0] if str(exc) else type(exc).__name__) from None
    _instructor_view(args, report, Path(submissions), Path(source) if source else None)
    return report.exit_code


def _instructor_view(args: argparse.Namespace, report, submissions: Path, source: Path | None) -> None:
    """``OUT/report.html`` (and, with ``--similarity``, ``OUT/similarity/``): written after the grades, and
    never able to fail the batch (their errors are warnings)."""
    from autograder.engine.batch_report import report_from_outputs

    out, name = Path(report.out), args.assignment
    try:
        if args.similarity:
            from autograder.similarity import similarity

            release = sorted((REPO / "assignments" / name).glob("*.ipynb"))
            reference = sorted(Path(source).glob("*.ipynb")) if source else \
                sorted((REPO / "solutions" / name).glob("*.ipynb"))
            similarity(report.assignment, submissions, release, reference, out / "similarity")
        report_from_outputs(out, report.assignment)
    except Exception as exc:  # the grades are on disk already: say what is missing and go on
        print(f"course grade: warning: the instructor's report was not written ({type(exc).__name__}: "
              f"{(str(exc).splitlines() or [''])[0][:200]})", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
