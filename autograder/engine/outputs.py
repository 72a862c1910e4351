"""Student outputs that graders may see: those of cells graded by hand (plots, printed answers), made safe.

The engine never *reads* outputs to score anything, but written answers and plots must reach graders in
formgrader and students in their feedback, as with plain nbgrader (which regenerates them by executing).
Outputs of autograded test cells are always replaced by the engine's lines; the code cells graded by hand
(grade cells of the *source* notebook that are not autograded: a plot, a printed answer) keep their outputs,
and every other cell has none (what a student prints elsewhere, a fake "All tests passed", never shows).
Kept outputs are reduced to inert types: text streams, ``text/plain``, PNG and JPEG images (base64 text),
and error names/messages/tracebacks. HTML, JavaScript, SVG, widgets and anything else are dropped, sizes are
capped, and nbgrader's ``LimitOutput`` later truncates long streams and tracebacks.
"""

from __future__ import annotations

import base64
import binascii
import copy
import re

#: MIME types kept in ``display_data`` / ``execute_result`` outputs.
SAFE_MIME = ("text/plain", "image/png", "image/jpeg")
MAX_TEXT = 100_000  # characters per text item
MAX_IMAGE = 4 << 20  # base64 characters per image
MAX_OUTPUTS = 50  # per cell
_B64 = re.compile(r"[A-Za-z0-9+/=\s]*")


def _text(value: object) -> str | None:
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        value = "".join(value)
    return value if isinstance(value, str) else None


def _image(value: object) -> str | None:
    text = _text(value)
    if text is None or len(text) > MAX_IMAGE or not _B64.fullmatch(text):
        return None
    try:
        base64.b64decode("".join(text.split()), validate=True)
    except (binascii.Error, ValueError):
        return None
    return text


def safe_output(output: object) -> dict | None:
    """One output reduced to inert content, or ``None`` when nothing safe is left."""
    if not isinstance(output, dict):
        return None
    kind = output.get("output_type")
    if kind == "stream":
        text = _text(output.get("text"))
        name = output.get("name") if output.get("name") in ("stdout", "stderr") else "stdout"
        return None if text is None else {"output_type": "stream", "name": name, "text": text[:MAX_TEXT]}
    if kind in ("display_data", "execute_result"):
        data = output.get("data")
        if not isinstance(data, dict):
            return None
        kept = {}
        for mime in SAFE_MIME:
            if mime not in data:
                continue
            value = _image(data[mime]) if mime.startswith("image/") else _text(data[mime])
            if value is not None:
                kept[mime] = value if mime.startswith("image/") else value[:MAX_TEXT]
        if not kept:
            return None
        clean = {"output_type": kind, "data": kept, "metadata": {}}
        if kind == "execute_result":
            clean["execution_count"] = None
        return clean
    if kind == "error":
        trace = output.get("traceback")
        lines = [t[:MAX_TEXT] for t in trace if isinstance(t, str)][:200] if isinstance(trace, list) else []
        return {"output_type": "error", "ename": str(_text(output.get("ename")) or "Error")[:200],
                "evalue": str(_text(output.get("evalue")) or "")[:MAX_TEXT], "traceback": lines}
    return None


def safe_outputs(outputs: object) -> list[dict]:
    """A cell's outputs with only inert content (see :func:`safe_output`)."""
    if not isinstance(outputs, list):
        return []
    kept = [o for o in (safe_output(x) for x in outputs[:MAX_OUTPUTS * 4]) if o is not None]
    return kept[:MAX_OUTPUTS]


def _meta(cell: dict) -> dict:
    meta = cell.get("metadata")
    nb = meta.get("nbgrader") if isinstance(meta, dict) else None
    return nb if isinstance(nb, dict) else {}


def grade_id(cell: dict) -> str | None:
    """The cell's nbgrader grade id, if it has a well-formed one."""
    value = _meta(cell).get("grade_id")
    return value if isinstance(value, str) else None


def with_student_outputs(clean: dict, original: dict | None, manual: set[str]) -> dict:
    """``clean`` (the copy handed to nbgrader, without outputs) with the safe outputs of ``original``'s
    hand-graded code cells (grade ids in ``manual``, from the source notebook) put back. Cells are matched by
    position (the clean copy has the same cells in the same order); a notebook whose cell count differs is
    returned unchanged."""
    if not isinstance(original, dict):
        return clean
    cells, before = clean.get("cells"), original.get("cells")
    if not isinstance(cells, list) or not isinstance(before, list) or len(cells) != len(before):
        return clean
    merged = copy.deepcopy(clean)
    for cell, old in zip(merged["cells"], before, strict=True):
        if not isinstance(old, dict) or cell.get("cell_type") != "code" or old.get("cell_type") != "code":
            continue
        if grade_id(cell) not in manual or grade_id(old) != grade_id(cell):
            continue
        cell["outputs"] = safe_outputs(old.get("outputs"))
    return merged
