"""Code similarity across a batch of submissions: evidence for a human to weigh, never a grade.

``course similarity <assignment> SUBMISSIONS --out DIR`` (or :func:`similarity`) compares every pair of
students' code cells, and every student with the reference solution (the pseudo-student ``reference``), after
removing what the release notebook gave everyone and normalising names, literals, comments and formatting
(:mod:`autograder.similarity.fingerprint`: tokens, k-gram hashing and winnowing as in MOSS). It writes

* ``DIR/similarity.csv``: ``student_a, student_b, similarity`` (0 to 1), one row per pair, most similar first;
  pairs with ``reference`` have ``reference`` as ``student_b``;
* ``DIR/similarity.html``: one offline file: the ranked pairs, each opening a side-by-side view with the
  matching code highlighted, and a histogram of every student's highest similarity;
* ``DIR/skipped.csv``: submissions that could not be read (not JSON, not a notebook, ...) and why.

Two students' similarity is the Jaccard index of their fingerprint sets; a student's similarity with the
reference is the share of the student's fingerprints found in the reference. Independent correct solutions
of a tightly specified homework share idioms, so a high number is a reason to read two notebooks side by
side, not a finding.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the heavy modules are imported when used: ``course --help`` stays fast
    import numpy as np

    from autograder.engine.notebooks import Assignment
    from autograder.similarity.fingerprint import Document
    from autograder.similarity.sources import Code

REPO = Path(__file__).resolve().parents[2]
#: The pseudo-student holding the reference solution.
REFERENCE = "reference"

#: A student whose share of fingerprints found in the reference is at least this is flagged "looks like the
#: reference": in the test corpus (tests/test_similarity.py) disguised copies of the reference reach 0.96 or
#: more, independent correct HW2 solutions at most 0.33 (the homework's contract makes some code common).
REFERENCE_FLAG = 0.5

EVIDENCE = ("Similarity is evidence for a human to weigh, not a verdict: independent correct solutions of a "
            "tightly specified homework share idioms, and a high score is a reason to read both notebooks "
            "side by side. Nothing here changes a grade.")


@dataclass(frozen=True)
class Pair:
    """One compared pair (``student_b`` is ``reference`` for comparisons with the reference)."""

    student_a: str
    student_b: str
    similarity: float


@dataclass
class Comparison:
    """Everything one run computed (what the CSV and the HTML are written from)."""

    assignment: str
    documents: list[Document]
    pairs: list[Pair]
    skipped: list[Code]
    scores: np.ndarray  # (n, n), in the order of ``documents``


def compare(assignment: Assignment | str, submissions: str | Path | list[Path],
            release_notebook: Path | list[Path], reference_sources: list[Path]) -> Comparison:
    """Fingerprint every submission and the reference, and score every pair (nothing written)."""
    from autograder.engine.batch_report import as_assignment
    from autograder.similarity.fingerprint import document, pair_scores, release_kgrams
    from autograder.similarity.sources import notebook_code, read_submissions, reference_cells

    assignment = as_assignment(assignment)
    releases = [release_notebook] if isinstance(release_notebook, (str, Path)) else list(release_notebook)
    release = release_kgrams([code for path in releases for code in notebook_code(Path(path))])
    codes = read_submissions(submissions, assignment)
    usable = [c for c in codes if c.cells and c.student != REFERENCE]
    skipped = [c for c in codes if not c.cells or c.student == REFERENCE]
    for c in skipped:
        if c.student == REFERENCE:
            c.problems.append(f"the id {REFERENCE!r} is the reference solution's; rename the submission")
    docs = [document(c.student, c.cells, release) for c in usable]
    ref_cells = reference_cells(list(reference_sources), assignment)
    if ref_cells:
        docs.append(document(REFERENCE, ref_cells, release))
    ref = {len(docs) - 1} if ref_cells else set()
    scores = pair_scores(docs, containment_of=ref)
    pairs = [Pair(docs[i].name, docs[j].name, round(float(scores[i, j]), 6))
             for i in range(len(docs)) for j in range(i + 1, len(docs))]
    pairs.sort(key=lambda p: (-p.similarity, p.student_a, p.student_b))
    return Comparison(assignment.name, docs, pairs, skipped, scores)


def similarity(assignment: Assignment | str, submissions: str | Path | list[Path],
               release_notebook: Path | list[Path], reference_sources: list[Path], out_dir: Path,
               top: int = 100) -> list[Pair]:
    """Compare every pair of submissions (and each with the reference); write the CSV and the HTML.

    Parameters
    ----------
    assignment : Assignment or str
        The assignment (or its name: ``solutions/<name>`` is its source).
    submissions : path or list of paths
        Anything ``course grade`` accepts, or a list of notebook files.
    release_notebook : path or list of paths
        The release notebook(s): their code is what every student was given, and is not compared.
    reference_sources : list of paths
        Source notebooks (their solution cells) and Python files forming the pseudo-student ``reference``;
        empty for no reference.
    out_dir : Path
        Receives ``similarity.csv``, ``similarity.html`` and ``skipped.csv``.
    top : int
        Pairs shown side by side in the HTML (the CSV has them all).

    Returns
    -------
    list of Pair
        Every pair, most similar first.
    """
    from autograder.similarity.html import write_outputs

    result = compare(assignment, submissions, release_notebook, reference_sources)
    write_outputs(Path(out_dir), result, top=top)
    return result.pairs


def main(argv: list[str] | None = None) -> int:
    """``python -m autograder.similarity <assignment> SUBMISSIONS --out DIR``."""
    from autograder.similarity.cli import main as cli_main

    return cli_main(argv)


__all__ = ["EVIDENCE", "REFERENCE", "REFERENCE_FLAG", "Comparison", "Pair", "compare", "main", "similarity"]
