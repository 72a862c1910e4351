"""``course similarity <assignment> SUBMISSIONS --out DIR``: the command line of the similarity checker.

``autograder/cli.py`` adds the subcommand with :func:`add_parser` and runs it with :func:`run`; ``python -m
autograder.similarity`` runs :func:`main` on its own. Exit codes: 0 written (whatever the similarities are:
similarity decides nothing), 2 usage error (unknown assignment, no submissions; one line, no traceback).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from autograder.similarity import EVIDENCE, REPO, similarity


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add ``similarity`` to ``course``'s subcommands; returns its parser."""
    p = subparsers.add_parser(
        "similarity", help="code similarity across submissions (evidence for a human, never a grade)",
        description="Compare every pair of submissions' code (and each with the reference solution) after "
                    "removing the release's code and normalising names, literals, comments and formatting; "
                    "write DIR/similarity.csv and DIR/similarity.html. " + EVIDENCE)
    p.add_argument("assignment", help="assignment id, e.g. hw2")
    p.add_argument("submissions", type=Path,
                   help="submitted/ folder, folder of .ipynb files or of student folders, or a zip")
    p.add_argument("--out", type=Path, default=None,
                   help="folder for similarity.csv/.html (default: grades/<assignment>/similarity)")
    p.add_argument("--release", type=Path, action="append", default=None,
                   help="release notebook(s) whose code every student was given (default: "
                        "assignments/<assignment>/*.ipynb)")
    p.add_argument("--reference", type=Path, action="append", default=None,
                   help="source notebook or Python file forming the pseudo-student 'reference' (repeatable; "
                        "default: solutions/<assignment>/*.ipynb)")
    p.add_argument("--no-reference", action="store_true", help="do not compare with the reference solution")
    p.add_argument("--top", type=int, default=100, help="pairs shown side by side in the HTML (default 100)")
    return p


def run(args: argparse.Namespace) -> int:
    """Run ``course similarity`` from parsed arguments; returns the exit code."""
    name = args.assignment
    source = REPO / "solutions" / name
    if not source.is_dir():
        print(f"course similarity: unknown assignment {name!r} (no {source})", file=sys.stderr)
        return 2
    if not Path(args.submissions).exists():
        print(f"course similarity: no submissions at {args.submissions}: it does not exist", file=sys.stderr)
        return 2
    release = args.release or sorted((REPO / "assignments" / name).glob("*.ipynb"))
    reference = [] if args.no_reference else (args.reference or sorted(source.glob("*.ipynb")))
    out = args.out or Path("grades") / name / "similarity"
    start = time.perf_counter()
    try:
        pairs = similarity(name, args.submissions, release, reference, out, top=args.top)
    except ValueError as exc:
        print(f"course similarity: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}",
              file=sys.stderr)
        return 2
    print(f"course similarity: {len(pairs)} pairs compared in {time.perf_counter() - start:.1f} s; "
          f"{out / 'similarity.html'}, {out / 'similarity.csv'}", file=sys.stderr)
    skipped = (out / "skipped.csv").read_text(encoding="utf-8").splitlines()[1:]
    for line in skipped:
        print(f"  skipped: {line}", file=sys.stderr)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m autograder.similarity")
    sub = parser.add_subparsers(dest="command", required=True)
    add_parser(sub)
    return run(parser.parse_args(["similarity", *(sys.argv[1:] if argv is None else argv)]))


if __name__ == "__main__":
    sys.exit(main())
