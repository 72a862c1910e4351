"""Part 1: logsumexp and softmax (every check, also of a shape or of untouched inputs, needs right values)."""

from __future__ import annotations

import numpy as np
import pytest

from autograder.hw2.common import expect_close, expect_correct, expect_finite, rng, values
from mlcourse import mixture as ref

SHAPES = ((1, 1), (6, 3), (40, 7), (3, 12))


def _inputs(scale: float = 5.0):
    for seed, (N, K) in enumerate(SHAPES):
        yield rng(seed).normal(scale=scale, size=(N, K))


def _extreme() -> dict[str, np.ndarray]:
    gen = rng(50)
    return {
        "entries around +1e4": 1e4 + gen.normal(size=(20, 4)),
        "entries around -1e4": -1e4 + gen.normal(size=(20, 4)),
        "entries spread over [-1e4, 1e4]": gen.uniform(-1e4, 1e4, size=(20, 4)),
    }


# --------------------------------------------------------------------------------------------- logsumexp
@pytest.mark.part("test_logsumexp_values")
def test_logsumexp_returns_one_float_per_row(student):
    """logsumexp returns a float array of shape (N,)"""
    for a in _inputs():
        expect_correct(student.logsumexp(a), (a.shape[0],), ref.logsumexp(a),
                       f"logsumexp of an array of shape {a.shape}", strict=True, rtol=1e-10)


@pytest.mark.part("test_logsumexp_values")
def test_logsumexp_agrees_with_the_definition(student):
    """logsumexp agrees with log(sum(exp(a))) on random inputs"""
    for a in _inputs():
        out = values(student.logsumexp(a), (a.shape[0],), "logsumexp")
        expect_close(out, ref.logsumexp(a), f"logsumexp on random inputs of shape {a.shape}", rtol=1e-10)


@pytest.mark.part("test_logsumexp_stable")
def test_logsumexp_is_stable_for_large_positive_entries(student):
    """logsumexp is finite and accurate for entries around +1e4 (and spread over +-1e4)"""
    cases = _extreme()
    for what in ("entries around +1e4", "entries spread over [-1e4, 1e4]"):
        a = cases[what]
        out = values(student.logsumexp(a), (a.shape[0],), "logsumexp")
        expect_finite(out, f"logsumexp of rows with {what} (overflow: subtract the row maximum first)")
        expect_close(out, ref.logsumexp(a), f"logsumexp of rows with {what}", rtol=1e-12)


@pytest.mark.part("test_logsumexp_stable")
def test_logsumexp_is_stable_for_large_negative_entries(student):
    """logsumexp is finite and accurate for entries around -1e4"""
    a = _extreme()["entries around -1e4"]
    out = values(student.logsumexp(a), (a.shape[0],), "logsumexp")
    expect_finite(out, "logsumexp of rows with entries around -1e4 (underflow: subtract the row maximum)")
    expect_close(out, ref.logsumexp(a), "logsumexp of rows with entries around -1e4", rtol=1e-12)


@pytest.mark.part("test_logsumexp_values")
def test_logsumexp_leaves_its_input_unchanged(student):
    """logsumexp does not modify its argument"""
    a = rng(9).normal(size=(10, 4))
    expect_correct(student.logsumexp(a), (10,), ref.logsumexp(a), "logsumexp given a read-only array",
                   rtol=1e-10)


# ----------------------------------------------------------------------------------------------- softmax
@pytest.mark.part("test_softmax_values")
def test_softmax_keeps_the_shape(student):
    """softmax returns a float array of the shape of its input"""
    for a in _inputs():
        expect_correct(student.softmax(a), a.shape, ref.softmax(a), f"softmax of an array of shape {a.shape}",
                       strict=True, rtol=1e-10, atol=1e-14)


@pytest.mark.part("test_softmax_values")
def test_softmax_agrees_with_the_definition(student):
    """softmax agrees with exp(a) / sum(exp(a)) row by row on random inputs"""
    for a in _inputs():
        out = values(student.softmax(a), a.shape, "softmax")
        expect_close(out, ref.softmax(a), f"softmax on random inputs of shape {a.shape}", rtol=1e-10,
                     atol=1e-14)


@pytest.mark.part("test_softmax_values")
def test_softmax_rows_sum_to_one(student):
    """every row of softmax is a probability vector (non-negative, sums to 1)"""
    for a in _inputs(scale=20.0):
        out = expect_correct(student.softmax(a), a.shape, ref.softmax(a),
                             f"softmax of an array of shape {a.shape} with entries up to about 60",
                             rtol=1e-10, atol=1e-14)
        assert np.all(out >= 0), "softmax returned negative entries"
        assert np.allclose(out.sum(axis=1), 1.0, rtol=0, atol=1e-12), \
            "the rows of softmax do not sum to 1 (normalise along axis=1, each row separately)"


@pytest.mark.part("test_softmax_stable")
def test_softmax_is_stable_for_large_entries(student):
    """softmax is finite and accurate for entries as large as +-1e4"""
    for what, a in _extreme().items():
        out = values(student.softmax(a), a.shape, "softmax")
        expect_finite(out, f"softmax of rows with {what} (subtract the row maximum first)")
        expect_close(out, ref.softmax(a), f"softmax of rows with {what}", rtol=1e-10, atol=1e-14)


@pytest.mark.part("test_softmax_values")
def test_softmax_leaves_its_input_unchanged(student):
    """softmax does not modify its argument"""
    a = rng(9).normal(size=(10, 4))
    expect_correct(student.softmax(a), (10, 4), ref.softmax(a), "softmax given a read-only array", rtol=1e-10,
                   atol=1e-14)
