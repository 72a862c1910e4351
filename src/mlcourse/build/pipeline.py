"""The course build: execute notebooks (cached), release, grade the demo submissions, render the site.

Layout of the build folder (``_build/`` by default, git-ignored)::

    executed/<path>.ipynb          every lecture and solution notebook, executed
    figures/<path>/cellNN-K.png    the figures of those notebooks, as files
    failed/<path>.ipynb            a notebook that raised, executed up to the failing cell
    logs/<path>.log                the kernel process's own stderr
    demo-course/<assignment>/      the build's own scratch course: the demo submissions' grades.csv,
                                   per-student results, gradebook and feedback (never the repository's)
    site/index.html                the HTML site (Sphinx + MyST-NB: lectures, released assignments, search,
                                   slides/ decks, offline MathJax and reveal.js)
    cache/site/                    the site's staged Sphinx sources, Sphinx's environment and log
    jupyter_execute/               MyST-NB's copies of the notebooks' output images (it writes them there)
    cache/notebooks/<key>.ipynb    executed notebooks by execution key (see mlcourse.build.cache)
    cache/steps.json               keys of the release, grading and page-rendering steps
    build.json                     what the last build did, per notebook, with timings
"""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

import nbformat

from autograder.assignments import is_assignment
from mlcourse.build import cache, execute, grade, release, site

STAGES = ("execute", "release", "grade", "site")


@dataclass
class BuildOptions:
    """What to build, where, and how.

    Parameters
    ----------
    root : Path
        The repository (holds ``lectures/``, ``solutions/``, ``nbgrader_config.py``).
    out : Path
        The build folder.
    jobs : int
        Notebooks executed at the same time (and the grading engine's ``--workers``).
    force : bool
        Ignore every cache: execute, release, grade and render again.
    stages : sequence of str
        Which of :data:`STAGES` to run.
    timeout : int
        Seconds one cell may run.
    select : sequence of str, optional
        Execute only these notebooks (paths relative to ``root``); the cache is then not pruned.
    color : bool
        Keep the kernels' colours in tracebacks.
    stream : text stream
        Where progress goes.
    """

    root: Path
    out: Path
    jobs: int = 2
    force: bool = False
    stages: Sequence[str] = STAGES
    timeout: int = 600
    select: Sequence[str] | None = None
    color: bool = False
    stream: TextIO = field(default_factory=lambda: sys.stdout)


@dataclass
class NotebookResult:
    """What happened to one notebook."""

    rel: str
    status: str  # "executed", "cached" or "failed"
    seconds: float
    key: str
    executed: Path | None = None
    failure: execute.CellFailure | None = None


@dataclass
class BuildReport:
    """Everything one build did."""

    notebooks: list[NotebookResult] = field(default_factory=list)
    grades: list[grade.GradeResult] = field(default_factory=list)
    pages: list[site.Page] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        """No notebook failed and no step raised."""
        return not self.errors and all(n.status != "failed" for n in self.notebooks)


def source_notebooks(root: Path) -> list[str]:
    """Every lecture and solution notebook, as paths relative to ``root`` (POSIX)."""
    found = []
    for folder in ("lectures", "solutions"):
        found += [p.relative_to(root).as_posix() for p in sorted((root / folder).rglob("*.ipynb"))
                  if not any(part.startswith(".") for part in p.relative_to(root).parts)]
    return found


class Build:
    """One run of the build (see :func:`build`)."""

    def __init__(self, options: BuildOptions) -> None:
        self.o = options
        self.root, self.out = options.root.resolve(), options.out.resolve()
        self.report = BuildReport()
        self.stamps = cache.StepStamps(self.out / "cache" / "steps.json", force=options.force)
        self._environment: str | None = None
        self.rels = list(options.select) if options.select is not None else source_notebooks(self.root)

    # -- helpers ---------------------------------------------------------------------------------------
    def say(self, line: str) -> None:
        print(line, file=self.o.stream, flush=True)

    @property
    def environment(self) -> str:
        if self._environment is None:
            self._environment = cache.environment_hash()
        return self._environment

    # -- execute ---------------------------------------------------------------------------------------
    def execute(self) -> list[NotebookResult]:
        """Execute (or take from the cache) every lecture and solution notebook."""
        rels = self.rels
        store = self.out / "cache" / "notebooks"
        package = cache.package_hash(self.root)
        folders: dict[Path, str] = {}
        jobs: list[execute.Job] = []
        keys: dict[str, str] = {}
        total, done = len(rels), 0
        workers = max(1, min(self.o.jobs, total))
        self.say(f"== execute: {total} notebooks ({workers} at a time)")
        for rel in rels:
            path = self.root / rel
            try:
                nb = nbformat.read(path, as_version=4)
            except (OSError, ValueError, nbformat.ValidationError) as exc:
                done += 1
                failure = execute.notebook_failure(rel, exc)
                self.say(f"[{done}/{total}] FAILED      0.0 s  {rel}\n{failure.format()}")
                self.report.notebooks.append(NotebookResult(rel, "failed", 0.0, "", None, failure))
                continue
            folder = path.parent
            if folder not in folders:
                folders[folder] = cache.folder_hash(folder)
            keys[rel] = key = cache.notebook_key(nb, rel, folder_hash=folders[folder], package=package,
                                                 environment=self.environment)
            start = time.perf_counter()
            executed = None if self.o.force else self._from_cache(store / f"{key}.ipynb", nb)
            if executed is None:
                jobs.append(execute.Job(rel, nb, folder, self.out / "logs" / f"{rel}.log"))
                continue
            target = self._publish(rel, executed)
            done += 1
            seconds = time.perf_counter() - start
            self.say(f"[{done}/{total}] cached   {seconds:6.1f} s  {rel}")
            self.report.notebooks.append(NotebookResult(rel, "cached", seconds, key, target))

        def on_done(job: execute.Job, ex: execute.Execution) -> None:
            nonlocal done
            done += 1
            if ex.failure is None:
                cache.write_if_changed(store / f"{keys[job.rel]}.ipynb", nbformat.writes(ex.nb).encode())
                target = self._publish(job.rel, ex.nb)
                self.say(f"[{done}/{total}] executed {ex.seconds:6.1f} s  {job.rel}")
                self.report.notebooks.append(NotebookResult(job.rel, "executed", ex.seconds,
                                                            keys[job.rel], target))
            else:
                failed = self.out / "failed" / job.rel
                cache.write_if_changed(failed, nbformat.writes(ex.nb).encode())
                self.say(f"[{done}/{total}] FAILED   {ex.seconds:6.1f} s  {job.rel}\n"
                         f"{ex.failure.format(color=self.o.color)}\n"
                         f"    partial outputs: {failed}\n    kernel log: {job.log_path}")
                self.report.notebooks.append(NotebookResult(job.rel, "failed", ex.seconds,
                                                            keys[job.rel], None, ex.failure))

        env = execute.kernel_env(self.out / "cache" / "kernel")
        execute.run_jobs(jobs, workers=workers, env=env, timeout=self.o.timeout, on_done=on_done)
        for folder, before in folders.items():
            if jobs and cache.folder_hash(folder) != before:
                self.say(f"warning: executing notebooks changed files in {folder.relative_to(self.root)}/;"
                         " notebooks should write to a temporary folder (the cache key includes it)")
        if self.o.select is None:  # forget what no current notebook needs
            used = set(keys.values())
            for entry in store.glob("*.ipynb") if store.is_dir() else []:
                if entry.stem not in used:
                    entry.unlink()
            executed_dir = self.out / "executed"
            for entry in executed_dir.rglob("*.ipynb") if executed_dir.is_dir() else []:
                if entry.relative_to(executed_dir).as_posix() not in keys:
                    entry.unlink()
        order = {rel: i for i, rel in enumerate(rels)}
        self.report.notebooks.sort(key=lambda r: order[r.rel])
        return self.report.notebooks

    @staticmethod
    def _from_cache(entry: Path, source: nbformat.NotebookNode) -> nbformat.NotebookNode | None:
        """``source`` with the outputs cached in ``entry``, or None when there is no usable entry."""
        if not entry.is_file():
            return None
        try:
            return execute.graft_outputs(source, nbformat.read(entry, as_version=4))
        except (OSError, ValueError, nbformat.ValidationError):  # damaged entry: execute again
            return None

    def _publish(self, rel: str, nb: nbformat.NotebookNode) -> Path:
        """Write the executed notebook and its figures into the build folder."""
        target = self.out / "executed" / rel
        cache.write_if_changed(target, nbformat.writes(nb).encode())
        stale = self.out / "failed" / rel
        if stale.is_file():
            stale.unlink()
        figures = self.out / "figures" / rel.removesuffix(".ipynb")
        wanted = set()
        for index, cell in enumerate(nb.cells):
            for k, output in enumerate(cell.get("outputs", [])):
                data = output.get("data", {})
                for mime, ext in (("image/png", "png"), ("image/svg+xml", "svg"), ("image/jpeg", "jpg")):
                    if mime in data:
                        name = f"cell{index + 1:02d}-{k + 1}.{ext}"
                        raw = data[mime]
                        blob = raw.encode() if ext == "svg" else base64.b64decode(raw)
                        cache.write_if_changed(figures / name, blob)
                        wanted.add(name)
        for old in figures.glob("*") if figures.is_dir() else []:
            if old.name not in wanted:
                old.unlink()
        return target

    # -- release ---------------------------------------------------------------------------------------
    def release(self) -> None:
        """Regenerate ``assignments/`` from ``solutions/`` with nbgrader (skipped when up to date)."""
        names = release.assignment_names(self.root)
        if not names:
            self.say("== release: no assignments in solutions/ - skipped")
            return
        key = cache.sha256_text(cache.hash_tree(self.root / "solutions"),
                                (self.root / "nbgrader_config.py").read_text(), self.environment)
        assignments = self.root / "assignments"
        if self.stamps.is_current("release", key, cache.hash_tree(assignments)):
            self.say(f"== release: {', '.join(names)} up to date (assignments/)")
            return
        start = time.perf_counter()
        try:
            release.generate(self.root, db=self.out / "release" / "gradebook.db")
        except release.ReleaseError as exc:
            self.say(f"== release: FAILED\n{exc}")
            self.report.errors.append("nbgrader generate_assignment failed")
            return
        self.stamps.record("release", key, cache.hash_tree(assignments))
        self.say(f"== release: {', '.join(names)} -> assignments/ (nbgrader generate_assignment) "
                 f"{time.perf_counter() - start:.1f} s")
        orphans = [d.name for d in assignments.iterdir() if d.is_dir() and d.name not in names]
        for name in sorted(orphans):
            self.say(f"warning: assignments/{name}/ has no source in solutions/{name}/")

    # -- grade -----------------------------------------------------------------------------------------
    def grade(self) -> None:
        """Grade each assignment's demo submissions into the build's scratch course
        ``demo-course/<assignment>/`` (never the repository's gradebook or ``course grade``'s outputs)."""
        names = release.assignment_names(self.root)
        self.say(f"== grade: {len(names)} assignments with course grade")
        for name in names:
            if not grade.fixture_notebooks(self.root, name):
                self.say(f"grade {name}: no demo submissions in autograder/fixtures/{name}/ - skipped")
                continue
            if not is_assignment(self.root, name):
                self.say(f"grade {name}: no hidden suite autograder/{name}/test_*.py - skipped")
                continue
            key = cache.sha256_text("course grade", cache.hash_tree(self.root / "solutions" / name),
                                    cache.hash_tree(self.root / "autograder"),
                                    cache.package_hash(self.root),
                                    (self.root / "nbgrader_config.py").read_text(), self.environment)
            out_dir = grade.demo_course(self.out) / name
            if self.stamps.is_current(f"grade:{name}", key, cache.hash_tree(out_dir)):
                self.say(f"grade {name}: up to date ({out_dir.relative_to(self.out.parent)})")
                continue
            start = time.perf_counter()
            try:  # one assignment at a time: the engine grades with its own --workers
                result = grade.grade_with_engine(self.root, name, out_dir, workers=self.o.jobs)
            except (grade.GradeError, subprocess.TimeoutExpired) as exc:
                self.say(f"grade {name}: FAILED after {time.perf_counter() - start:.1f} s\n{exc}")
                self.report.errors.append(f"grading {name} failed")
                continue
            self.report.grades.append(result)
            self.stamps.record(f"grade:{name}", key, cache.hash_tree(out_dir))
            seconds = time.perf_counter() - start
            self.say(f"grade {name}: {result.submissions} submissions -> "
                     f"{out_dir.relative_to(self.out.parent)}/grades.csv {seconds:.1f} s\n"
                     f"{grade.describe(result)}")

    # -- site ------------------------------------------------------------------------------------------
    def site(self) -> None:
        """Build the site (Sphinx + MyST-NB, slide decks) from the executed lectures and the released
        assignments into ``site/`` (see :mod:`mlcourse.build.site`)."""
        # every lecture with an executed copy (building a selection keeps the other pages)
        executed = self.out / "executed"
        lectures = [(rel, executed / rel) for rel in source_notebooks(self.root)
                    if rel.startswith("lectures/") and (rel in self.rels or (executed / rel).is_file())]
        missing = [rel for rel, path in lectures if not path.is_file()]
        if missing:
            self.report.errors.append(f"site: not executed yet: {', '.join(missing)}")
            self.say(f"== site: FAILED, not executed yet: {', '.join(missing)}")
            return
        start = time.perf_counter()
        pages = site.collect_pages(lectures, self.root / "assignments", root=self.root)
        try:
            work, config = self.out / "cache" / "site", site.SiteConfig.load(self.root)
            rendered = site.build_site(pages, self.out / "site", self.stamps, work=work, config=config)
        except (site.SiteError, subprocess.TimeoutExpired) as exc:
            self.report.errors.append("site: sphinx-build failed")
            self.say(f"== site: FAILED\n{exc}")
            return
        self.report.pages = pages
        self.say(f"== site: {len(pages)} pages ({len(rendered)} rendered) -> "
                 f"{(self.out / 'site' / 'index.html')} {time.perf_counter() - start:.1f} s")
        warnings = site.sphinx_warnings(work) if rendered else []
        if warnings:
            self.say(f"site: {len(warnings)} Sphinx warnings, the first: {warnings[0]}\n"
                     f"    full log: {work / 'sphinx.log'}")

    # -- all -------------------------------------------------------------------------------------------
    def run(self) -> BuildReport:
        """Run the selected stages; stop after the execute stage when a notebook failed."""
        start = time.perf_counter()
        unknown = set(self.o.stages) - set(STAGES)
        if unknown:
            raise ValueError(f"unknown stages {sorted(unknown)}; choose from {STAGES}")
        for stage in STAGES:
            if stage not in self.o.stages:
                continue
            getattr(self, stage)()
            if not self.report.ok:
                break
        self.report.seconds = time.perf_counter() - start
        self._write_summary()
        return self.report

    def _write_summary(self) -> None:
        r = self.report
        data = {"ok": r.ok, "seconds": round(r.seconds, 2), "errors": r.errors,
                "notebooks": [{"path": n.rel, "status": n.status, "seconds": round(n.seconds, 2),
                               "key": n.key} for n in r.notebooks]}
        cache.write_if_changed(self.out / "build.json", (json.dumps(data, indent=1) + "\n").encode())
        counts = {s: sum(n.status == s for n in r.notebooks) for s in ("executed", "cached", "failed")}
        summary = ", ".join(f"{v} {k}" for k, v in counts.items() if v) or "no notebooks"
        if r.ok:
            self.say(f"== built in {r.seconds:.1f} s ({summary})")
            return
        self.say(f"== BUILD FAILED after {r.seconds:.1f} s ({summary})")
        for n in r.notebooks:
            if n.failure is not None:
                f = n.failure
                where = f"cell {f.cell_index + 1} raised " if f.cell_index >= 0 else ""
                self.say(f"   {f.notebook}: {where}{f.ename}: {f.evalue}")
        for error in r.errors:
            self.say(f"   {error}")


def build(options: BuildOptions) -> BuildReport:
    """Run the course build described by ``options`` and return what it did."""
    return Build(options).run()
