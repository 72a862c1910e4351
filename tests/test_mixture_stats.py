"""logsumexp and softmax against scipy.special and closed forms."""

import math

import numpy as np
import pytest
import scipy.special

from mlcourse.mixture import logsumexp, softmax
from mlcourse.mixture.stats import exp_normalize_


@pytest.fixture
def a():
    return np.random.default_rng(0).normal(scale=30, size=(50, 7))


def test_logsumexp_matches_scipy_row_wise(a):
    out = logsumexp(a)
    assert out.shape == (50,)
    np.testing.assert_allclose(out, scipy.special.logsumexp(a, axis=1), rtol=1e-13)


def test_logsumexp_axis_keyword(a):
    np.testing.assert_allclose(logsumexp(a, axis=0), scipy.special.logsumexp(a, axis=0), rtol=1e-13)
    np.testing.assert_allclose(logsumexp(a, axis=-1), scipy.special.logsumexp(a, axis=-1), rtol=1e-13)


def test_logsumexp_of_a_vector_is_a_float():
    value = logsumexp(np.log([1.0, 2.0, 3.0]))
    assert isinstance(value, float)
    assert value == pytest.approx(math.log(6.0), rel=1e-15)


@pytest.mark.parametrize("scale", [1e4, -1e4, 1e300])
def test_logsumexp_is_stable_for_huge_magnitudes(scale):
    # closed form: log(e^c + e^c + e^(c - log 2)) = c + log(2.5)
    a = np.array([[scale, scale, scale - math.log(2.0)]])
    assert logsumexp(a)[0] == pytest.approx(scale + math.log(2.5), rel=1e-15)


def test_logsumexp_with_minus_infinity_entries():
    a = np.array([[0.0, -np.inf, 0.0], [-np.inf, -np.inf, -np.inf]])
    out = logsumexp(a)
    assert out[0] == pytest.approx(math.log(2.0), rel=1e-15)
    assert out[1] == -np.inf


def test_logsumexp_rejects_scalars():
    with pytest.raises(ValueError, match="at least one axis"):
        logsumexp(3.0)


def test_softmax_matches_scipy_and_rows_sum_to_one(a):
    out = softmax(a)
    np.testing.assert_allclose(out, scipy.special.softmax(a, axis=1), rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(out.sum(axis=1), 1.0, rtol=1e-14)


@pytest.mark.parametrize("shift", [1e4, -1e4])
def test_softmax_is_stable_and_shift_invariant(shift):
    a = np.array([[0.0, -math.log(3.0)]]) + shift  # closed form: (3/4, 1/4)
    np.testing.assert_allclose(softmax(a), [[0.75, 0.25]], rtol=1e-12)


def test_softmax_axis_zero(a):
    np.testing.assert_allclose(softmax(a, axis=0), scipy.special.softmax(a, axis=0), rtol=1e-12,
                               atol=1e-300)


def test_in_place_column_normalisation_is_softmax_and_logsumexp(a):
    L = a.T.copy()
    lse = exp_normalize_(L, axis=0)
    np.testing.assert_allclose(lse, scipy.special.logsumexp(a, axis=1), rtol=1e-13)
    np.testing.assert_allclose(L.T, scipy.special.softmax(a, axis=1), rtol=1e-12, atol=1e-300)


def test_in_place_normalisation_floor_only_touches_negligible_entries():
    a = np.array([[0.0, -1000.0, -5.0]])
    L = a.T.copy()
    lse = exp_normalize_(L, axis=0, floor=-600.0)
    assert lse[0] == pytest.approx(scipy.special.logsumexp(a), rel=1e-15)
    assert L[1, 0] == pytest.approx(math.exp(-600.0) / (1 + math.exp(-5.0)), rel=1e-12)
    np.testing.assert_allclose(L[[0, 2], 0], scipy.special.softmax(a)[0, [0, 2]], rtol=1e-15)
