"""The similarity checker: disguised copies rank above independent solutions, copies of the reference are
flagged, release code is never evidence, and untrusted names and files cannot break the output.

The corpus is built by ``autograder/fixtures/similarity/make_corpus.py``: four independent correct HW2
solutions in different styles, and five disguised copies (renamed, reordered, commented, reformatted, all
at once) of two of them and of the reference solution.
"""

from __future__ import annotations

import csv
import importlib.util
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from autograder.similarity import REFERENCE, REFERENCE_FLAG, compare, similarity
from autograder.similarity.cli import main
from autograder.similarity.fingerprint import document, release_kgrams
from autograder.similarity.sources import notebook_code

ROOT = Path(__file__).resolve().parents[1]
RELEASE = ROOT / "assignments" / "hw2" / "hw2.ipynb"
SOURCE = ROOT / "solutions" / "hw2" / "hw2.ipynb"
HOSTILE = "<img src=x onerror=alert(1)>"


def _corpus_module():
    path = ROOT / "autograder" / "fixtures" / "similarity" / "make_corpus.py"
    spec = importlib.util.spec_from_file_location("make_similarity_corpus", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def corpus():
    return _corpus_module()


@pytest.fixture(scope="module")
def comparison(corpus, tmp_path_factory):
    folder = tmp_path_factory.mktemp("corpus")
    paths = corpus.write(folder, corpus.corpus())
    return compare("hw2", paths, RELEASE, [SOURCE])


def _split(pairs, family):
    copies, others = [], []
    for p in pairs:
        if p.student_b != REFERENCE:
            (copies if family(p.student_a) == family(p.student_b) else others).append(p)
    return copies, others


def test_the_corpus_solutions_are_correct(corpus):
    from autograder.loader import load_namespace
    from mlcourse import mixture

    rng = np.random.default_rng(0)
    X, gamma = rng.normal(size=(30, 2)), rng.dirichlet(np.ones(3), size=30)
    pi, mu = np.array([0.2, 0.3, 0.5]), rng.normal(size=(3, 2))
    Sigma = np.array([np.eye(2), [[2.0, 0.5], [0.5, 1.0]], [[1.0, -0.3], [-0.3, 0.5]]])
    for name, nb in corpus.corpus().items():
        ns, errors = load_namespace(nb, name)
        assert not errors, (name, errors)
        assert np.allclose(ns["e_step"](X, pi, mu, Sigma)[0], mixture.e_step(X, pi, mu, Sigma)[0]), name
        assert np.allclose(ns["e_step_loop"](X, pi, mu, Sigma), mixture.e_step(X, pi, mu, Sigma)[0]), name
        for got, want in zip(ns["m_step"](X, gamma), mixture.m_step(X, gamma), strict=True):
            assert np.allclose(got, want), name


def test_every_copy_pair_ranks_above_every_independent_pair(comparison, corpus):
    copies, others = _split(comparison.pairs, corpus.family)
    assert len(copies) == 2 * 15 + 10 and len(others) > 0  # two originals + 5 copies each, 5 reference copies
    worst_copy = min(copies, key=lambda p: p.similarity)
    best_other = max(others, key=lambda p: p.similarity)
    assert worst_copy.similarity > best_other.similarity + 0.4, (worst_copy, best_other)
    ranks = {(p.student_a, p.student_b): i for i, p in enumerate(comparison.pairs)}
    assert max(ranks[(p.student_a, p.student_b)] for p in copies) < \
        min(ranks[(p.student_a, p.student_b)] for p in others)


def test_copies_of_the_reference_are_flagged_and_independent_solutions_are_not(comparison, corpus):
    to_ref = {p.student_a: p.similarity for p in comparison.pairs if p.student_b == REFERENCE}
    assert set(to_ref) == {d.name for d in comparison.documents} - {REFERENCE}
    copies = {s: v for s, v in to_ref.items() if corpus.family(s) == "reference"}
    others = {s: v for s, v in to_ref.items() if corpus.family(s) != "reference"}
    assert len(copies) == 5 and min(copies.values()) >= REFERENCE_FLAG + 0.3, copies
    independent = {s: v for s, v in others.items() if s in corpus.INDEPENDENT}
    assert max(independent.values()) < REFERENCE_FLAG - 0.1, independent


def test_release_code_comments_names_and_formatting_are_not_evidence():
    release = release_kgrams(notebook_code(RELEASE))
    given = [("cell", code) for code in notebook_code(RELEASE)]
    assert document("unchanged", given, release).tokens == []
    body = ("def f(a, b):\n    total = a + b * 2\n    for i in range(3):\n"
            "        total += np.sum(a[i], axis=0)\n    return np.linalg.cholesky(total)\n")
    disguised = "def g(x,y):  # mine\n    '''docstring'''\n    t=x+y*7\n    for k in range(10) :\n" \
                "        t += np.sum(x[k],axis=1)\n\n\n    return np.linalg.cholesky( t )\n"
    a, b = document("a", [("c", body)], release), document("b", [("c", disguised)], release)
    assert [t.norm for t in a.tokens] == [t.norm for t in b.tokens]
    assert np.array_equal(a.fingerprints, b.fingerprints) and len(a.fingerprints) > 0
    other_api = body.replace("cholesky", "inv")  # which library function is called is evidence
    assert not np.array_equal(document("c", [("c", other_api)], release).hashes, a.hashes)


def _nbgrader_layout(root: Path, corpus) -> Path:
    submitted = root / "submitted"
    notebooks = corpus.corpus()
    for student, name in [("ann", "einsum_style"), ("bob", "cholesky_style"),
                          (HOSTILE, "cholesky_style__disguised")]:
        folder = submitted / student / "hw2"
        folder.mkdir(parents=True)
        (folder / "hw2.ipynb").write_text(json.dumps(notebooks[name]), encoding="utf-8")
    for student, data in [("broken", b'{"cells": [ not json'), ("not_a_notebook", b'{"cells": 3}'),
                          ("binary", b"\xff\xfe\x00garbage")]:
        folder = submitted / student / "hw2"
        folder.mkdir(parents=True)
        (folder / "hw2.ipynb").write_bytes(data)
    return submitted


def test_outputs_escape_untrusted_names_and_skip_unreadable_submissions(tmp_path, corpus):
    submitted = _nbgrader_layout(tmp_path, corpus)
    out = tmp_path / "out"
    pairs = similarity("hw2", submitted, RELEASE, [SOURCE], out)
    students = {"ann", "bob", HOSTILE}
    assert len(pairs) == 3 + 3  # three student pairs, three with the reference
    assert [p.similarity for p in pairs] == sorted((p.similarity for p in pairs), reverse=True)
    assert pairs[0].similarity > 0.9 and {pairs[0].student_a, pairs[0].student_b} == {"bob", HOSTILE}
    with (out / "similarity.csv").open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert {r["student_a"] for r in rows} | {r["student_b"] for r in rows} == students | {REFERENCE}
    assert all(0.0 <= float(r["similarity"]) <= 1.0 for r in rows)
    skipped = (out / "skipped.csv").read_text(encoding="utf-8")
    for student in ("broken", "not_a_notebook", "binary"):
        assert student in skipped
    page = (out / "similarity.html").read_text(encoding="utf-8")
    assert HOSTILE not in page and "&lt;img src=x onerror=alert(1)&gt;" in page
    assert "<script" not in page and "http://" not in page and "https://" not in page
    assert "<mark>" in page and "data:image/png;base64," in page
    assert "evidence for a human to weigh" in page


def test_command_line(tmp_path, corpus, capsys):
    folder = tmp_path / "subs"
    notebooks = corpus.corpus()
    corpus.write(folder, {k: notebooks[k] for k in ("einsum_style", "class_style", "class_style__renamed")})
    shutil.copy(ROOT / "autograder" / "fixtures" / "attacks" / "hw2" / "invalid_json.ipynb", folder)
    assert main(["hw2", str(folder), "--out", str(tmp_path / "out"), "--top", "2"]) == 0
    assert "skipped: invalid_json" in capsys.readouterr().err
    rows = (tmp_path / "out" / "similarity.csv").read_text().splitlines()
    assert rows[0] == "student_a,student_b,similarity" and len(rows) == 1 + 3 + 3
    assert rows[1].startswith("class_style,class_style__renamed,")
    assert main(["hw9", str(folder)]) == 2
    assert main(["hw2", str(tmp_path / "nowhere")]) == 2
