"""One builder for every assignment's submission fixtures: the release with student code filled in.

``course fixtures <a>`` (``--check`` only reports) writes ``autograder/fixtures/<a>/<name>.ipynb`` from

* the release ``assignments/<a>/<a>.ipynb`` (as a student receives it),
* the source notebook's solution regions (``### BEGIN SOLUTION`` ... ``### END SOLUTION``), filled into the
  release's stubs in order, and
* ``autograder/fixtures/<a>/fixtures.json``, the assignment's declared fixtures::

      {"answers": {"<markdown solution cell id>": "a written answer"},
       "bugs": {"<fixture>": {"<solution cell id>": [["old", "new"], {"regex": "...", "new": "..."}]},
                "<fixture>": {"<solution cell id>": {"body": "the whole solution region, replaced"}},
                "<fixture>": {"<solution cell id>": {"cell": "the whole cell, written from scratch"}},
                "<fixture>": {"<solution cell id>": {"like": ["<fixture>", "<solution cell id>"]}}}}

  A cell's change is a list of text edits of the filled-in cell, applied in order (each ``old`` text, or
  ``regex``, must occur exactly once, so a fixture that no longer fits the solution fails loudly instead of
  silently testing nothing); or ``body``, the code of the cell's one solution region; or ``cell``, the
  cell's whole source (code that replaces the given functions as well, e.g. trivial code); or ``like``, the
  same change as another fixture's cell (one text for code two fixtures or two functions share).

``correct`` (every region filled in) and ``unchanged_release`` (the release as is) are always built. The
expected score of every fixture per grade cell is written by hand in ``expected.json``: it is the
specification the tests check, not something this builder computes.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import nbformat

from autograder.assignments import AssignmentFiles

SPEC = "fixtures.json"
REGION = re.compile(r"^[ \t]*### BEGIN SOLUTION\n(.*?)\n[ \t]*### END SOLUTION[ \t]*$", re.S | re.M)
STUB = re.compile(r"^([ \t]*)# YOUR CODE HERE\n[ \t]*raise NotImplementedError\(\)[ \t]*$", re.M)


class FixtureError(ValueError):
    """A declared fixture does not fit the notebooks (names the fixture, the cell and the edit)."""


def spec(files: AssignmentFiles) -> dict[str, Any]:
    """The assignment's ``fixtures.json`` (empty answers and bugs when there is none)."""
    path = files.fixtures / SPEC
    data = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    unknown = set(data) - {"answers", "bugs"}
    if unknown:
        raise FixtureError(f"{path}: unknown keys {sorted(unknown)} (expected 'answers' and 'bugs')")
    return {"answers": data.get("answers", {}), "bugs": data.get("bugs", {})}


def solution_regions(source: nbformat.NotebookNode) -> dict[str, list[str]]:
    """Solution code cell id -> the bodies of its ``### BEGIN/END SOLUTION`` regions, in order."""
    regions = {}
    for cell in source.cells:
        if cell.cell_type == "code" and cell.metadata.get("nbgrader", {}).get("solution"):
            bodies = REGION.findall(cell.source)
            if not bodies:
                raise FixtureError(f"solution cell {cell.id} has no BEGIN/END SOLUTION region")
            regions[cell.id] = bodies
    return regions


def _edit(source: str, edits: list, where: str) -> str:
    for item in edits:
        if isinstance(item, dict) and set(item) == {"regex", "new"}:
            pattern = re.compile(item["regex"], re.S | re.M)
            if len(pattern.findall(source)) != 1:
                raise FixtureError(f"{where}: {item['regex']!r} does not match exactly once")
            source = pattern.sub(lambda _, new=item["new"]: new, source)
        elif isinstance(item, (list, tuple)) and len(item) == 2:
            old, new = item
            if source.count(old) != 1:
                raise FixtureError(f"{where}: the solution does not contain {old!r} exactly once")
            source = source.replace(old, new)
        else:
            raise FixtureError(f"{where}: an edit is [old, new] or {{\"regex\": ..., \"new\": ...}}, "
                               f"not {item!r}")
    return source


def _fill(source: str, bodies: list[str], where: str) -> str:
    stubs = STUB.findall(source)
    if len(stubs) != len(bodies):
        raise FixtureError(f"{where}: {len(stubs)} stubs in the release for {len(bodies)} solution regions")
    parts = iter(bodies)
    return STUB.sub(lambda _: next(parts), source)


def submission(release: nbformat.NotebookNode, regions: dict[str, list[str]] | None,
               bugs: dict[str, Any], answers: dict[str, str], name: str) -> nbformat.NotebookNode:
    """The release with its stubs filled in (unless ``regions`` is None) and ``bugs`` applied."""
    nb = copy.deepcopy(release)
    if regions is None:
        return nb
    unknown = set(bugs) - set(regions)
    if unknown:
        raise FixtureError(f"fixture {name}: no solution code cell {sorted(unknown)}")
    for cell in nb.cells:
        if not cell.metadata.get("nbgrader", {}).get("solution"):
            continue
        where = f"fixture {name}, cell {cell.id}"
        if cell.cell_type == "code":
            bodies, bug = regions[cell.id], bugs.get(cell.id, [])
            if isinstance(bug, dict) and set(bug) == {"cell"}:
                cell.source = bug["cell"].strip("\n")
                continue
            if isinstance(bug, dict):
                if set(bug) != {"body"} or len(bodies) != 1:
                    raise FixtureError(f"{where}: {{\"body\": ...}} replaces the one solution region of a "
                                       f"cell; {{\"cell\": ...}} the whole cell (not {sorted(bug)})")
                bodies, bug = [bug["body"].strip("\n")], []
            cell.source = _edit(_fill(cell.source, bodies, where), bug, where)
        elif cell.id in answers:
            cell.source = answers[cell.id]
    return nb


def build(files: AssignmentFiles) -> dict[str, nbformat.NotebookNode]:
    """Every fixture of the assignment by name."""
    source = nbformat.read(files.source, as_version=4)
    release = nbformat.read(files.release, as_version=4)
    declared = spec(files)
    regions = solution_regions(source)
    fixtures = {"correct": submission(release, regions, {}, declared["answers"], "correct"),
                "unchanged_release": submission(release, None, {}, {}, "unchanged_release")}
    for name, bugs in declared["bugs"].items():
        if name in fixtures:
            raise FixtureError(f"fixture {name!r} is built anyway; give the bug another name")
        bugs = {cell: resolve(declared["bugs"], name, cell) for cell in bugs}
        fixtures[name] = submission(release, regions, bugs, declared["answers"], name)
    return fixtures


def resolve(bugs: dict[str, dict[str, Any]], fixture: str, cell: str) -> Any:
    """The change of ``cell`` in ``fixture``, following ``{"like": [fixture, cell]}`` references.

    Raises
    ------
    FixtureError
        A reference to an undeclared fixture or cell, or a cycle of references.
    """
    seen = [(fixture, cell)]
    change = bugs[fixture][cell]
    while isinstance(change, dict) and "like" in change:
        target = change["like"]
        where = f"fixture {seen[-1][0]}, cell {seen[-1][1]}"
        if set(change) != {"like"} or not (isinstance(target, list) and len(target) == 2):
            raise FixtureError(f"{where}: a reference is {{\"like\": [fixture, cell]}}, not {change!r}")
        if target[0] not in bugs or target[1] not in bugs[target[0]]:
            raise FixtureError(f"{where}: {target} is not a declared change (fixtures.json)")
        if tuple(target) in seen:
            raise FixtureError(f"{where}: the references {[*seen, tuple(target)]} form a cycle")
        seen.append(tuple(target))
        change = bugs[target[0]][target[1]]
    return change


def text_of(nb: nbformat.NotebookNode) -> str:
    """The committed form of a fixture."""
    return nbformat.writes(nb).rstrip("\n") + "\n"


def stale(files: AssignmentFiles) -> list[str]:
    """The fixtures whose committed file differs from what :func:`build` makes (or is missing or extra)."""
    built = {name: text_of(nb) for name, nb in build(files).items()}
    committed = {p.stem: p for p in files.fixtures.glob("*.ipynb")}
    problems = [f"{name}.ipynb is not declared (fixtures.json)"
                for name in sorted(set(committed) - set(built))]
    for name, text in built.items():
        path = committed.get(name)
        if path is None or path.read_text(encoding="utf-8") != text:
            problems.append(f"{name}.ipynb is {'missing' if path is None else 'stale'}")
    return problems


def write(files: AssignmentFiles) -> list[Path]:
    """Write every fixture into ``autograder/fixtures/<a>/``; return the paths written."""
    files.fixtures.mkdir(parents=True, exist_ok=True)
    written = []
    for name, nb in build(files).items():
        path = files.fixtures / f"{name}.ipynb"
        path.write_text(text_of(nb), encoding="utf-8")
        written.append(path)
    return written
