"""``similarity.csv``, ``skipped.csv`` and ``similarity.html`` (one offline file, no JavaScript).

The HTML ranks the pairs; each of the ``top`` most similar opens (a ``<details>`` element) a side-by-side view
of both students' code with the shared k-grams highlighted. Two histograms (embedded PNGs) show every
student's highest similarity to another student and every student's similarity to the reference. Student ids,
code and reasons are untrusted: every one of them is HTML-escaped (and CSV cells that a spreadsheet would
evaluate are quoted, as in ``grades.csv``).
"""

from __future__ import annotations

import html
from pathlib import Path

import numpy as np

from autograder.engine.batch_report import figure_uri, histogram
from autograder.engine.report import atomic_write, csv_text
from autograder.similarity import EVIDENCE, REFERENCE, REFERENCE_FLAG, Comparison
from autograder.similarity.fingerprint import Document, shared_spans

_STYLE = """body{font-family:system-ui,sans-serif;margin:2em auto;max-width:1400px;padding:0 1em;color:#222}
table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 8px;text-align:left}
th{background:#f2f2f2}
td.n{text-align:right}.note{background:#fff8e1;padding:.6em 1em;border-left:4px solid #f0b400}
.side{display:flex;gap:1em}.side>div{flex:1;min-width:0}pre{background:#fafafa;border:1px solid #ddd;
padding:.5em;font-size:12px;overflow-x:auto;white-space:pre}mark{background:#ffd54f}summary{cursor:pointer}
img{max-width:100%}"""


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def highlighted(doc: Document, spans: list[tuple[int, int]]) -> str:
    """``doc.text`` as escaped HTML, the tokens in ``spans`` (token index ranges) inside ``<mark>``; a mark
    never covers text that was not compared (a comment, a docstring, release code between two tokens)."""
    lines = doc.text.splitlines(keepends=True)
    starts = np.cumsum([0] + [len(line) for line in lines])

    def offset(position: tuple[int, int]) -> int:
        row, col = position
        return int(starts[min(row - 1, len(lines))]) + col

    ranges: list[list[int]] = []
    for first, stop in spans:
        for token in doc.tokens[first:stop]:
            begin, end = offset(token.start), offset(token.end)
            if ranges and begin >= ranges[-1][1] and not doc.text[ranges[-1][1]:begin].strip():
                ranges[-1][1] = end
            elif not ranges or begin >= ranges[-1][1]:
                ranges.append([begin, end])
    pieces, cursor = [], 0
    for begin, end in ranges:
        pieces.append(_e(doc.text[cursor:begin]) + "<mark>" + _e(doc.text[begin:end]) + "</mark>")
        cursor = end
    pieces.append(_e(doc.text[cursor:]))
    return "".join(pieces)


def _side_by_side(a: Document, b: Document) -> str:
    spans_a, spans_b = shared_spans(a, b)
    return (f"<div class=side><div><b>{_e(a.name)}</b><pre>{highlighted(a, spans_a)}</pre></div>"
            f"<div><b>{_e(b.name)}</b><pre>{highlighted(b, spans_b)}</pre></div></div>")


def best_matches(result: Comparison) -> tuple[dict[str, float], dict[str, float]]:
    """Every student's highest similarity to another student, and their similarity to the reference."""
    names = [d.name for d in result.documents]
    ref = names.index(REFERENCE) if REFERENCE in names else None
    students = [i for i, n in enumerate(names) if i != ref]
    scores = result.scores
    best = {names[i]: float(max((scores[i, j] for j in students if j != i), default=0.0)) for i in students}
    to_ref = {names[i]: float(scores[i, ref]) for i in students} if ref is not None else {}
    return best, to_ref


def _figure(best: dict[str, float], to_ref: dict[str, float], assignment: str) -> str:
    import matplotlib.pyplot as plt

    panels = 2 if to_ref else 1
    fig, axes = plt.subplots(1, panels, figsize=(5.5 * panels, 3.4), squeeze=False)
    bins = np.linspace(0, 1, 21)
    histogram(axes[0, 0], list(best.values()), bins, xlabel="highest similarity to another student",
              title=f"{assignment}: each student's closest match")
    if to_ref:
        histogram(axes[0, 1], list(to_ref.values()), bins, color="C1",
                  xlabel="share of the student's code in the reference",
                  title="Similarity to the reference solution")
        axes[0, 1].axvline(REFERENCE_FLAG, color="C3", linestyle="--", label=f"flag at {REFERENCE_FLAG:g}")
        axes[0, 1].legend()
    fig.tight_layout()
    return figure_uri(fig)


def render(result: Comparison, top: int = 100) -> str:
    """The whole ``similarity.html``."""
    docs = {d.name: d for d in result.documents}
    best, to_ref = best_matches(result)
    name = _e(result.assignment)
    out = [f"<!doctype html><html><head><meta charset='utf-8'><title>{name}: code similarity</title>"
           f"<style>{_STYLE}</style></head><body><h1>{name}: code similarity</h1>",
           f"<p class=note>{_e(EVIDENCE)}</p>",
           f"<p>{len(best)} students compared ({len(result.pairs)} pairs, including each student with the "
           f"reference solution); {len(result.skipped)} submissions skipped. Code given in the release, "
           "comments, docstrings, names, literals and formatting are ignored. Two students: share of common "
           "fingerprints (Jaccard); a student and the reference: share of the student's fingerprints found "
           "in the reference.</p>"]
    if best:
        out.append(f"<img alt='histograms of the highest similarities' src='{_figure(best, to_ref, name)}'>")
    flagged = sorted(((s, n) for n, s in to_ref.items() if s >= REFERENCE_FLAG), reverse=True)
    if to_ref:
        out.append(f"<h2>Close to the reference solution (at least {REFERENCE_FLAG:g})</h2>")
        out.append("<p>" + (", ".join(f"{_e(n)} ({s:.2f})" for s, n in flagged) or "None.") + "</p>")
    out.append(f"<h2>The {min(top, len(result.pairs))} most similar pairs</h2><p>Open a pair to see both "
               "notebooks' code side by side, shared code highlighted. All pairs are in similarity.csv.</p>")
    for rank, pair in enumerate(result.pairs[:top], 1):
        a, b = docs[pair.student_a], docs[pair.student_b]
        out.append(f"<details><summary>{rank}. {_e(a.name)} &harr; {_e(b.name)}: "
                   f"<b>{pair.similarity:.3f}</b></summary>{_side_by_side(a, b)}</details>")
    out.append("<h2>Skipped submissions</h2>")
    if result.skipped:
        out.append("<table><tr><th>student</th><th>why</th></tr>" + "".join(
            f"<tr><td>{_e(c.student)}</td><td>{_e('; '.join(c.problems))}</td></tr>" for c in result.skipped)
            + "</table>")
    else:
        out.append("<p>None.</p>")
    out.append("</body></html>")
    return "\n".join(out) + "\n"


def write_outputs(out: Path, result: Comparison, top: int = 100) -> tuple[Path, Path, Path]:
    """Write ``similarity.csv``, ``skipped.csv`` and ``similarity.html`` into ``out`` (atomically)."""
    out.mkdir(parents=True, exist_ok=True)
    rows = [{"student_a": p.student_a, "student_b": p.student_b, "similarity": f"{p.similarity:.4f}"}
            for p in result.pairs]
    csv_path, skipped_path, html_path = out / "similarity.csv", out / "skipped.csv", out / "similarity.html"
    atomic_write(csv_path, csv_text(["student_a", "student_b", "similarity"], rows))
    atomic_write(skipped_path, csv_text(["student", "reason"], [
        {"student": c.student, "reason": "; ".join(c.problems)} for c in result.skipped]))
    atomic_write(html_path, render(result, top))
    return csv_path, skipped_path, html_path
