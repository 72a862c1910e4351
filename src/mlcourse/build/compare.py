"""Cell-by-cell comparisons of notebooks: determinism of outputs, equality of releases.

Both functions expect notebooks read with ``nbformat.read``/``nbformat.reads`` (multiline strings joined).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from mlcourse.build.execute import NONDETERMINISTIC_TAG


def _source(cell: Mapping[str, Any]) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else source


def _canonical(value: Any) -> str:
    """Order-independent JSON text of ``value``.

    Compare notebooks read with ``nbformat.read``, which joins multiline strings, so that
    ``"ab"`` and ``["a", "b"]`` cannot differ.
    """
    return json.dumps(value, sort_keys=True)


def output_differences(first: Mapping[str, Any], second: Mapping[str, Any]) -> list[str]:
    """Where two executions of the same notebook disagree (text, images, execution counts).

    Cells tagged :data:`~mlcourse.build.execute.NONDETERMINISTIC_TAG` in either notebook are skipped.

    Returns
    -------
    list of str
        One line per differing cell (empty when the outputs are identical).
    """
    a, b = first.get("cells", []), second.get("cells", [])
    if len(a) != len(b):
        return [f"cell count differs: {len(a)} vs {len(b)}"]
    problems = []
    for index, (x, y) in enumerate(zip(a, b, strict=True)):
        if x.get("cell_type") != "code":
            continue
        tags = set(x.get("metadata", {}).get("tags", [])) | set(y.get("metadata", {}).get("tags", []))
        if NONDETERMINISTIC_TAG in tags:
            continue
        if _source(x) != _source(y):
            problems.append(f"cell {index + 1}: different source")
            continue
        if x.get("execution_count") != y.get("execution_count"):
            problems.append(f"cell {index + 1}: execution count {x.get('execution_count')} vs "
                            f"{y.get('execution_count')}")
        out_x, out_y = x.get("outputs", []), y.get("outputs", [])
        if _canonical(out_x) != _canonical(out_y):
            problems.append(f"cell {index + 1}: outputs differ ({_describe(out_x, out_y)})")
    return problems


def _describe(out_x: list[Any], out_y: list[Any]) -> str:
    if len(out_x) != len(out_y):
        return f"{len(out_x)} vs {len(out_y)} outputs"
    for k, (p, q) in enumerate(zip(out_x, out_y, strict=True)):
        if _canonical(p) == _canonical(q):
            continue
        kinds = sorted(set(p.get("data", {})) | set(q.get("data", {}))) or [p.get("output_type", "?")]
        for kind in kinds:
            if _canonical(p.get("data", {}).get(kind)) != _canonical(q.get("data", {}).get(kind)):
                return f"output {k + 1}, {kind}"
        return f"output {k + 1}, {p.get('output_type')}"
    return "metadata"


def notebook_differences(first: Mapping[str, Any], second: Mapping[str, Any]) -> list[str]:
    """Every difference between two notebooks: metadata, and each cell's type, id, metadata, source, outputs.

    Returns
    -------
    list of str
        One line per difference (empty when the notebooks are equal up to the multiline-string form).
    """
    problems = []
    for key in ("nbformat", "nbformat_minor"):
        if first.get(key) != second.get(key):
            problems.append(f"{key}: {first.get(key)} vs {second.get(key)}")
    if _canonical(first.get("metadata", {})) != _canonical(second.get("metadata", {})):
        problems.append("notebook metadata differs")
    a, b = first.get("cells", []), second.get("cells", [])
    if len(a) != len(b):
        problems.append(f"cell count: {len(a)} vs {len(b)}")
    for index, (x, y) in enumerate(zip(a, b, strict=False)):
        for field in ("cell_type", "id", "metadata", "source", "outputs", "execution_count",
                      "attachments"):
            if _canonical(x.get(field)) != _canonical(y.get(field)):
                problems.append(f"cell {index + 1}: {field} differs")
    return problems
