"""E-step and M-step, loop and broadcast flavours: against scipy / closed forms and each other (1e-10)."""

import math

import numpy as np
import pytest
import scipy.special
from scipy.stats import multivariate_normal

from mlcourse.mixture import (
    e_step,
    e_step_loop,
    estimate_gaussian_parameters,
    m_step,
    m_step_loop,
)


def random_spd(rng, D, scale=1.0):
    A = rng.normal(size=(D, D))
    return scale * (A @ A.T / D + 0.5 * np.eye(D))


def random_problem(seed, N=80, K=3, D=2):
    rng = np.random.default_rng(seed)
    pi = rng.dirichlet(np.ones(K))
    mu = rng.normal(scale=3, size=(K, D))
    Sigma = np.stack([random_spd(rng, D) for _ in range(K)])
    X = rng.normal(scale=3, size=(N, D))
    return X, pi, mu, Sigma


def reference_log_joint(X, pi, mu, Sigma):
    return np.column_stack([math.log(p) + multivariate_normal(m, S).logpdf(X)
                            for p, m, S in zip(pi, mu, Sigma, strict=True)])


def weighted_mle(X, gamma, reg):
    """Closed-form weighted MLE via numpy's weighted covariance (np.cov with aweights, bias=True)."""
    Nk = gamma.sum(axis=0)
    mu = (gamma.T @ X) / Nk[:, None]
    Sigma = np.stack([np.atleast_2d(np.cov(X.T, aweights=gamma[:, k], bias=True))
                      for k in range(gamma.shape[1])])
    return Nk / len(X), mu, Sigma + reg * np.eye(X.shape[1])


@pytest.mark.parametrize("seed,K,D", [(0, 3, 2), (1, 1, 3), (2, 5, 4)])
def test_e_step_matches_scipy_closed_form(seed, K, D):
    X, pi, mu, Sigma = random_problem(seed, K=K, D=D)
    gamma, loglik = e_step(X, pi, mu, Sigma)
    lj = reference_log_joint(X, pi, mu, Sigma)
    np.testing.assert_allclose(gamma, scipy.special.softmax(lj, axis=1), rtol=1e-10, atol=1e-14)
    assert isinstance(loglik, float)
    assert loglik == pytest.approx(scipy.special.logsumexp(lj, axis=1).sum(), rel=1e-12)


@pytest.mark.parametrize("seed,K,D", [(3, 2, 2), (4, 4, 3), (5, 6, 1)])
def test_e_step_loop_and_broadcast_agree_to_1e_10(seed, K, D):
    X, pi, mu, Sigma = random_problem(seed, K=K, D=D)
    np.testing.assert_allclose(e_step_loop(X, pi, mu, Sigma), e_step(X, pi, mu, Sigma)[0],
                               rtol=1e-10, atol=1e-10)


def test_e_step_when_every_density_underflows():
    # points ~1e3 standard deviations from every component: N(x) underflows, log-space must not
    X = np.array([[1e3, 1e3], [-1e3, 0.0]])
    pi, mu, Sigma = np.array([0.5, 0.5]), np.array([[0.0, 0.0], [1.0, 0.0]]), np.stack([np.eye(2)] * 2)
    gamma, loglik = e_step(X, pi, mu, Sigma)
    lj = reference_log_joint(X, pi, mu, Sigma)
    assert np.isfinite(gamma).all() and np.isfinite(loglik)
    np.testing.assert_allclose(gamma, scipy.special.softmax(lj, axis=1), rtol=1e-12)
    np.testing.assert_allclose(e_step_loop(X, pi, mu, Sigma), gamma, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("seed,K,D", [(6, 3, 2), (7, 1, 4), (8, 4, 3)])
def test_m_step_matches_the_weighted_mle(seed, K, D):
    X, *_ = random_problem(seed, K=K, D=D)
    gamma = np.random.default_rng(seed).dirichlet(np.ones(K), size=len(X))
    for got, want in zip(m_step(X, gamma, reg=1e-3), weighted_mle(X, gamma, 1e-3), strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14)


def test_m_step_default_reg_is_1e_6():
    X, *_ = random_problem(9)
    gamma = np.random.default_rng(9).dirichlet(np.ones(3), size=len(X))
    np.testing.assert_allclose(m_step(X, gamma)[2], weighted_mle(X, gamma, 1e-6)[2], rtol=1e-12)
    np.testing.assert_allclose(m_step_loop(X, gamma)[2], weighted_mle(X, gamma, 1e-6)[2], rtol=1e-12)


@pytest.mark.parametrize("seed,K,D", [(10, 2, 2), (11, 3, 5), (12, 5, 1)])
def test_m_step_loop_and_broadcast_agree_to_1e_10(seed, K, D):
    X, *_ = random_problem(seed, K=K, D=D)
    gamma = np.random.default_rng(seed).dirichlet(np.full(K, 0.3), size=len(X))
    for loop, broadcast in zip(m_step_loop(X, gamma, reg=1e-4), m_step(X, gamma, reg=1e-4), strict=True):
        np.testing.assert_allclose(loop, broadcast, rtol=1e-10, atol=1e-10)


def test_m_step_is_accurate_for_tight_clusters_far_from_the_origin():
    # scatter ~1e-6 around 1e5: an E[xx^T] - mu mu^T shortcut would lose every digit
    rng = np.random.default_rng(13)
    X = 1e5 + np.concatenate([rng.normal(scale=1e-3, size=(40, 2)),
                              1.0 + rng.normal(scale=1e-3, size=(40, 2))])
    gamma = np.zeros((80, 2))
    gamma[:40, 0] = gamma[40:, 1] = 1.0
    _, mu, Sigma = m_step(X, gamma, reg=0.0)
    _, mu_ref, Sigma_ref = weighted_mle(X, gamma, 0.0)
    np.testing.assert_allclose(mu, mu_ref, rtol=1e-14)
    np.testing.assert_allclose(Sigma, Sigma_ref, rtol=1e-8, atol=1e-16)


def test_empty_component_gives_finite_parameters():
    X, *_ = random_problem(14)
    gamma = np.zeros((len(X), 3))
    gamma[:, 0] = 0.4
    gamma[:, 1] = 0.6  # component 2 has no responsibility at all
    for pi, mu, Sigma in (m_step(X, gamma), m_step_loop(X, gamma)):
        assert np.isfinite(pi).all() and np.isfinite(mu).all() and np.isfinite(Sigma).all()
        assert pi[2] == pytest.approx(0.0, abs=1e-15)
        np.testing.assert_allclose(Sigma[2], 1e-6 * np.eye(2))
        np.testing.assert_allclose(pi.sum(), 1.0, rtol=1e-15)


def test_collapsed_component_stays_positive_definite():
    X, *_ = random_problem(15)
    gamma = np.full((len(X), 2), 0.5)
    gamma[0] = [0.0, 1.0]
    gamma[1:, 1] = 0.0
    gamma[1:, 0] = 1.0  # component 1 owns a single point: zero scatter, covariance reg * I
    pi, mu, Sigma = m_step(X, gamma)
    np.testing.assert_allclose(mu[1], X[0], rtol=1e-14)
    np.testing.assert_allclose(Sigma[1], 1e-6 * np.eye(2), atol=1e-20)
    gamma_next, loglik = e_step(X, pi, mu, Sigma)  # the next E-step copes with the spike
    assert np.isfinite(gamma_next).all() and np.isfinite(loglik)


def test_e_step_with_a_zero_weight_component():
    X, pi, mu, Sigma = random_problem(16)
    pi = np.array([0.5, 0.5, 0.0])
    gamma, loglik = e_step(X, pi, mu, Sigma)
    assert np.all(gamma[:, 2] == 0.0) and np.isfinite(loglik)
    np.testing.assert_allclose(e_step_loop(X, pi, mu, Sigma), gamma, atol=1e-12)


@pytest.mark.parametrize("ct", ["full", "tied", "diag", "spherical"])
def test_estimate_gaussian_parameters_by_covariance_type(ct):
    X, *_ = random_problem(17, N=60, K=3, D=3)
    resp = np.random.default_rng(17).dirichlet(np.ones(3), size=60)
    pi_full, mu_full, cov_full = weighted_mle(X, resp, 0.0)
    nk, means, cov = estimate_gaussian_parameters(X, resp, 1e-3, ct)
    np.testing.assert_allclose(nk, resp.sum(axis=0), rtol=1e-13)
    np.testing.assert_allclose(means, mu_full, rtol=1e-12)
    expected = {"full": cov_full + 1e-3 * np.eye(3),
                "tied": np.einsum("k,kij->ij", pi_full, cov_full) + 1e-3 * np.eye(3),
                "diag": np.diagonal(cov_full, axis1=1, axis2=2) + 1e-3,
                "spherical": np.diagonal(cov_full, axis1=1, axis2=2).mean(axis=1) + 1e-3}[ct]
    np.testing.assert_allclose(cov, expected, rtol=1e-12)


# ----------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("fn", [m_step, m_step_loop])
class TestMStepValidation:
    def test_rows_must_sum_to_one(self, fn):
        with pytest.raises(ValueError, match=r"row 1 sums to 0\.5"):
            fn(np.zeros((3, 2)), np.array([[1.0, 0.0], [0.25, 0.25], [0.0, 1.0]]))

    def test_gamma_needs_one_row_per_sample(self, fn):
        with pytest.raises(ValueError, match=r"gamma must have shape \(N, K\) with N=3"):
            fn(np.zeros((3, 2)), np.full((4, 2), 0.5))

    def test_negative_responsibilities(self, fn):
        with pytest.raises(ValueError, match="non-negative"):
            fn(np.zeros((2, 2)), np.array([[1.5, -0.5], [0.5, 0.5]]))

    def test_negative_reg(self, fn):
        with pytest.raises(ValueError, match="reg must be a finite number >= 0"):
            fn(np.zeros((2, 2)), np.full((2, 2), 0.5), reg=-1.0)

    def test_nan_in_X(self, fn):
        with pytest.raises(ValueError, match="X contains NaN"):
            fn(np.array([[0.0, np.nan], [1.0, 1.0]]), np.full((2, 2), 0.5))


@pytest.mark.parametrize("fn", [e_step, e_step_loop])
class TestEStepValidation:
    def test_weights_must_be_a_distribution(self, fn):
        X, _, mu, Sigma = random_problem(18)
        with pytest.raises(ValueError, match="pi must lie in"):
            fn(X, np.array([1.5, -0.25, -0.25]), mu, Sigma)

    def test_sigma_shape(self, fn):
        X, pi, mu, _ = random_problem(18)
        with pytest.raises(ValueError, match=r"Sigma must have shape \(3, 2, 2\)"):
            fn(X, pi, mu, np.stack([np.eye(2)] * 2))

    def test_X_features_must_match_means(self, fn):
        _, pi, mu, Sigma = random_problem(18)
        with pytest.raises(ValueError, match=r"mu must have shape \(3, 4\)"):
            fn(np.zeros((5, 4)), pi, mu, Sigma)

    def test_not_positive_definite_covariance_names_component(self, fn):
        X, pi, mu, Sigma = random_problem(18)
        Sigma = Sigma.copy()
        Sigma[1] = np.array([[1.0, 3.0], [3.0, 1.0]])
        with pytest.raises(ValueError, match=r"Sigma\[1\].*not positive definite.*reg_covar"):
            fn(X, pi, mu, Sigma)


def test_estimate_gaussian_parameters_rejects_negative_resp():
    with pytest.raises(ValueError, match="resp must be non-negative"):
        estimate_gaussian_parameters(np.zeros((2, 2)), -np.ones((2, 1)), 1e-6, "full")
