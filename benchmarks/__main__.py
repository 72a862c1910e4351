"""Run the benchmarks: ``python -m benchmarks [name ...]`` (``make bench``).

Each ``benchmarks/bench_<name>.py`` defines ``main(out_dir: Path) -> Path`` that measures this project
side by side with its peer in one run and writes a Markdown table to ``out_dir/<name>.md``.
"""

import argparse
import importlib
import pkgutil
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def available() -> list[str]:
    return sorted(m.name[len("bench_"):] for m in pkgutil.iter_modules([str(HERE)])
                  if m.name.startswith("bench_"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("names", nargs="*", help=f"which to run (default: all of {available()})")
    parser.add_argument("--out", type=Path, default=HERE / "results", help="folder for the tables")
    args = parser.parse_args(argv)
    names = args.names or available()
    unknown = sorted(set(names) - set(available()))
    if unknown:
        parser.error(f"unknown benchmark(s) {unknown}; choose from {available()}")
    args.out.mkdir(parents=True, exist_ok=True)
    for name in names:
        start = time.perf_counter()
        print(f"== benchmark {name}", flush=True)
        path = importlib.import_module(f"benchmarks.bench_{name}").main(args.out)
        print(f"== {name}: {time.perf_counter() - start:.0f} s, results in {path}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
