"""Command line of the course build.

``python -m mlcourse.build [build] [options]``
    Execute the notebooks, regenerate the release, grade the demo submissions, render the site (all
    cached). Exits 1 when a notebook cell or a step fails, after printing where and why.
``python -m mlcourse.build normalize [--check] [PATH ...]``
    Strip outputs and execution counts and set stable metadata (default: all notebooks under
    ``lectures/`` and ``solutions/``). With ``--check`` nothing is written; exits 1 when a file would change.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from mlcourse.build import normalize
from mlcourse.build.pipeline import STAGES, BuildOptions, build


def find_root(start: Path) -> Path:
    """The nearest folder at or above ``start`` holding ``nbgrader_config.py`` and ``pyproject.toml``."""
    for folder in (start, *start.parents):
        if (folder / "nbgrader_config.py").is_file() and (folder / "pyproject.toml").is_file():
            return folder
    raise SystemExit(f"no course repository (nbgrader_config.py + pyproject.toml) at or above {start}")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m mlcourse.build", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command")
    b = sub.add_parser("build", help="build the course (the default command)")
    b.add_argument("--root", type=Path, help="repository root (default: found from the current folder)")
    b.add_argument("--out", type=Path, help="build folder (default: ROOT/_build)")
    b.add_argument("-j", "--jobs", type=int, default=min(4, os.cpu_count() or 1),
                   help="notebooks executed at the same time (default: %(default)s)")
    b.add_argument("--force", action="store_true", help="ignore the caches")
    b.add_argument("--stages", default=",".join(STAGES),
                   help="comma-separated subset of %(default)s")
    b.add_argument("--timeout", type=int, default=600, help="seconds per cell (default: %(default)s)")
    b.add_argument("notebooks", nargs="*", help="execute only these notebooks (paths from ROOT)")
    n = sub.add_parser("normalize", help="strip outputs and volatile metadata from notebooks")
    n.add_argument("--check", action="store_true", help="only report; exit 1 if a file would change")
    n.add_argument("paths", nargs="*", type=Path, help="notebooks or folders (default: lectures/ solutions/)")
    return parser


def _normalize(args: argparse.Namespace) -> int:
    paths = args.paths or normalize.default_notebooks(find_root(Path.cwd()))
    results = normalize.normalize_paths(paths, check=args.check)
    changed = [r for r in results if r.changed]
    for r in changed:
        verb = "would change" if args.check else "normalised"
        print(f"{verb} {r.path}: {'; '.join(r.problems)}")
    print(f"{len(results)} notebooks checked, {len(changed)} {'to fix' if args.check else 'rewritten'}")
    return 1 if args.check and changed else 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m mlcourse.build``."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] not in {"build", "normalize", "-h", "--help"}:
        argv.insert(0, "build")
    args = _parser().parse_args(argv)
    if args.command == "normalize":
        return _normalize(args)
    root = (args.root or find_root(Path.cwd())).resolve()
    stages = [s.strip() for s in args.stages.split(",") if s.strip()]
    unknown = sorted(set(stages) - set(STAGES))
    if unknown:
        _parser().error(f"unknown stages {unknown}; choose from {', '.join(STAGES)}")
    options = BuildOptions(root=root, out=(args.out or root / "_build").resolve(), jobs=max(1, args.jobs),
                           force=args.force, stages=stages, timeout=args.timeout,
                           select=args.notebooks or None,
                           color=sys.stdout.isatty())
    report = build(options)
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
