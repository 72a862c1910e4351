"""HW2's library rule: the graded functions use NumPy and Python's standard library only.

The rule is checked statically, in the trusted process, on the submission's code as the trusted side read it
(``student.code_cells()``: the notebook file's code cells for the grading engine and ``load_student``, the
kernel's input history inside nbgrader's autograde), so both graders apply it to the same text. A graded
function *uses* a module when its body imports it, or names something a module-level import bound to it, or
calls a helper of the student's (a function or lambda that is not itself graded) that does; a dynamic import
(``__import__``, ``importlib``, ``exec``, ``eval``) counts as a module that is not allowed. Every grade cell
of a function that uses another library scores 0, with a message that names the library; the other functions
are not affected (``e_step`` calling the student's own ``logsumexp`` does not inherit its verdict).
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterable

#: Top-level modules the graded functions may use.
ALLOWED = frozenset({"numpy"}) | frozenset(sys.stdlib_module_names) - {"importlib"}
#: Names that import or run code that no static check can see.
DYNAMIC = frozenset({"__import__", "importlib", "exec", "eval", "compile"})

_Function = ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda


def _parse(source: str) -> ast.Module | None:
    lines = [line for line in source.splitlines() if not line.lstrip().startswith(("%", "!"))]
    try:
        return ast.parse("\n".join(lines))
    except SyntaxError:
        return None


def _imported(node: ast.Import | ast.ImportFrom) -> list[tuple[str, str]]:
    """(bound name, top-level module) of an import statement."""
    if isinstance(node, ast.ImportFrom):
        module = "." if node.level else (node.module or "").split(".")[0]
        return [(alias.asname or alias.name, module) for alias in node.names]
    return [(alias.asname or alias.name.split(".")[0], alias.name.split(".")[0]) for alias in node.names]


def _definitions(sources: Iterable[str]) -> tuple[dict[str, str], dict[str, _Function]]:
    """Module-level names bound by imports (name -> module) and the functions and lambdas defined, the last
    binding of each name winning, in the order of ``sources``."""
    modules: dict[str, str] = {}
    functions: dict[str, _Function] = {}
    for source in sources:
        tree = _parse(source)
        if tree is None:
            continue
        for node in tree.body:
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                for name, module in _imported(node):
                    modules[name] = module
                    functions.pop(name, None)
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                functions[node.name] = node
                modules.pop(node.name, None)
            elif isinstance(node, ast.Assign):
                for target in node.targets:
                    if isinstance(target, ast.Name):
                        modules.pop(target.id, None)
                        functions.pop(target.id, None)
                        if isinstance(node.value, ast.Lambda):
                            functions[target.id] = node.value
    return modules, functions


def _used(function: _Function, modules: dict[str, str], functions: dict[str, _Function],
          graded: frozenset[str], seen: set[str]) -> str | None:
    """The first module that is not allowed which ``function`` uses (itself or through helpers), or None."""
    for node in ast.walk(function):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            for _, module in _imported(node):
                if module not in ALLOWED:
                    return module
        elif isinstance(node, ast.Name):
            if node.id in DYNAMIC:
                return node.id
            if node.id in modules and modules[node.id] not in ALLOWED:
                return modules[node.id]
            if node.id in functions and node.id not in graded and node.id not in seen:
                seen.add(node.id)
                found = _used(functions[node.id], modules, functions, graded, seen)
                if found:
                    return found
    return None


def violations(sources: Iterable[str], graded: Iterable[str]) -> dict[str, str]:
    """For each graded function that uses a module outside :data:`ALLOWED`: that module.

    Parameters
    ----------
    sources : iterable of str
        The submission's code cells (or a kernel's inputs), in order; cells that do not parse are skipped.
    graded : iterable of str
        Names of the functions the assignment grades.

    Returns
    -------
    dict of str to str
        Function name -> the first such module found (``"."`` for a relative import).
    """
    graded = frozenset(graded)
    modules, functions = _definitions(list(sources))
    found = {}
    for name in sorted(graded & set(functions)):
        module = _used(functions[name], modules, functions, graded, {name})
        if module:
            found[name] = module
    return found


def message(function: str, module: str) -> str:
    """The student-facing reason a function's cells score 0."""
    what = f"{module} (a dynamic import)" if module in DYNAMIC else module
    return (f"{function} uses {what}, but only NumPy and Python's standard library may be used in your "
            "solutions, so its tests do not count")


def cell_functions() -> dict[str, list[str]]:
    """Grade cell id -> the student's functions it judges (from the generated ``mlcourse.checks.hw2``)."""
    from mlcourse.checks.hw2 import FUNCTIONS, SOURCES

    derived = {cell.removeprefix("test_") for cell in SOURCES}  # FUNCTIONS also maps these to their cell
    cells: dict[str, list[str]] = {}
    for name, ids in FUNCTIONS.items():
        if not name.startswith("test_") and name not in derived:
            for cell in ids:
                cells.setdefault(cell, []).append(name)
    return cells
