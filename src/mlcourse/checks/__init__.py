"""The visible tests of each homework, one module per assignment, for :func:`mlcourse.check.check`.

``mlcourse/checks/<assignment>.py`` is generated from the nbgrader source notebook
``solutions/<assignment>/*.ipynb`` (``python -m mlcourse.checks``; a test checks the modules are up to date)
and holds nothing secret: only what students already see in their notebook.

``SOURCES``
    grade cell id -> the visible part of that test cell (everything above ``### BEGIN HIDDEN TESTS``);
``FUNCTIONS``
    name -> the grade cells that check it: every name a solution cell defines (function or class), and the
    solution cell's own id, maps to the test cells that follow it; a name with cells of its own among them
    (``test_<name>`` or ``test_<name>_...``, any case) maps to those only (``sin`` -> ``test_sin``, not the
    cells of ``cos`` defined in the same solution cell).
"""

from __future__ import annotations

import ast
import json
import pprint
import re
from pathlib import Path

HIDDEN = re.compile(r"^[ \t]*### BEGIN HIDDEN TESTS.*?(^[ \t]*### END HIDDEN TESTS[^\n]*\n?|\Z)", re.S | re.M)


def strip_hidden(source: str) -> str:
    """``source`` without its ``### BEGIN HIDDEN TESTS`` ... ``### END HIDDEN TESTS`` regions (an unterminated
    region is removed to the end)."""
    return HIDDEN.sub("", source).rstrip() + ("\n" if source.endswith("\n") else "")


def _source(cell: dict) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else source


def _defined(code: str) -> list[str]:
    code = "\n".join(line for line in code.splitlines() if not line.lstrip().startswith(("%", "!")))
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return []
    return [node.name for node in tree.body
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))]


def extract(notebook: dict) -> tuple[dict[str, str], dict[str, list[str]]]:
    """``(SOURCES, FUNCTIONS)`` of a source notebook."""
    sources: dict[str, str] = {}
    functions: dict[str, list[str]] = {}
    current: list[str] = []
    for cell in notebook.get("cells", []):
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if cell.get("cell_type") != "code" or "skip-grading" in cell.get("metadata", {}).get("tags", []):
            continue
        if meta.get("solution"):
            current = list(dict.fromkeys([*_defined(_source(cell)),
                                          *([meta["grade_id"]] if meta.get("grade_id") else [])]))
            for name in current:
                functions.setdefault(name, [])
        elif meta.get("grade") and meta.get("grade_id"):
            grade_id = meta["grade_id"]
            sources[grade_id] = strip_hidden(_source(cell)).rstrip() + "\n"
            for name in current:
                if grade_id not in functions[name]:
                    functions[name].append(grade_id)
            functions.setdefault(grade_id, [grade_id])
            if grade_id.startswith("test_"):
                functions.setdefault(grade_id[len("test_"):], [grade_id])
    return sources, {name: _own(name, ids) for name, ids in functions.items() if ids}


def _own(name: str, ids: list[str]) -> list[str]:
    """The cells of ``ids`` named for ``name`` (``test_<name>``, ``test_<name>_...``), else all of ``ids``."""
    stem = f"test_{name.lower()}"
    own = [i for i in ids if i.lower() == stem or i.lower().startswith(stem + "_")]
    return own or ids


def render(assignment: str, notebook: dict) -> str:
    """The text of ``mlcourse/checks/<assignment>.py`` for a source notebook."""
    sources, functions = extract(notebook)
    lines = [f'"""Visible checks of {assignment}: generated from solutions/{assignment}/ by '
             '``python -m mlcourse.checks``; do not edit."""', "# ruff: noqa: E501", "",
             "SOURCES = {"]
    for grade_id, source in sources.items():
        lines.append(f"    {grade_id!r}: {source!r},")
    lines += ["}", "", "FUNCTIONS = " + pprint.pformat(functions, width=100, sort_dicts=True), ""]
    return "\n".join(lines)


def generate(root: Path) -> dict[Path, str]:
    """Every ``mlcourse/checks/<assignment>.py`` for the source notebooks under ``root/solutions``."""
    out = {}
    for folder in sorted(p for p in (root / "solutions").iterdir() if p.is_dir()):
        notebooks = sorted(folder.glob("*.ipynb"))
        if len(notebooks) != 1:
            continue
        notebook = json.loads(notebooks[0].read_text(encoding="utf-8"))
        out[Path(__file__).with_name(f"{folder.name}.py")] = render(folder.name, notebook)
    return out
