"""Gaussian log-densities (loop and broadcast flavours, every covariance type) against scipy.stats."""

import math

import numpy as np
import pytest
from scipy.stats import multivariate_normal

from mlcourse.mixture import (
    compute_log_det_cholesky,
    compute_precision_cholesky,
    estimate_log_gaussian_prob,
    gaussian_logpdf,
    gaussian_logpdf_loop,
    log_joint,
    precisions_cholesky_from_precisions,
)


def random_spd(rng, D, scale=1.0):
    A = rng.normal(size=(D, D))
    return scale * (A @ A.T / D + 0.5 * np.eye(D))


def random_mixture(rng, K, D):
    pi = rng.dirichlet(np.ones(K))
    mu = rng.normal(scale=3, size=(K, D))
    Sigma = np.stack([random_spd(rng, D) for _ in range(K)])
    return pi, mu, Sigma


@pytest.mark.parametrize("D", [1, 2, 5])
def test_gaussian_logpdf_both_flavours_match_scipy(D):
    rng = np.random.default_rng(D)
    X = rng.normal(scale=2, size=(40, D))
    mu, Sigma = rng.normal(size=D), random_spd(rng, D)
    expected = multivariate_normal(mu, Sigma).logpdf(X).reshape(-1)
    np.testing.assert_allclose(gaussian_logpdf(X, mu, Sigma), expected, rtol=1e-12)
    np.testing.assert_allclose(gaussian_logpdf_loop(X, mu, Sigma), expected, rtol=1e-12)


def test_loop_and_broadcast_log_densities_agree_to_1e_10():
    rng = np.random.default_rng(1)
    for D in (2, 3, 7):
        X = rng.normal(scale=3, size=(60, D))
        mu, Sigma = rng.normal(size=D), random_spd(rng, D, scale=0.2)
        np.testing.assert_allclose(gaussian_logpdf_loop(X, mu, Sigma), gaussian_logpdf(X, mu, Sigma),
                                   rtol=1e-10, atol=1e-10)


def test_logpdf_closed_form_standard_normal_far_away():
    # log N(x | 0, I) = -D/2 log 2 pi - |x|^2 / 2, exactly, even where the density underflows
    X = np.array([[0.0, 0.0], [1e3, -1e3]])
    expected = -math.log(2 * math.pi) - 0.5 * (X**2).sum(axis=1)
    np.testing.assert_allclose(gaussian_logpdf(X, np.zeros(2), np.eye(2)), expected, rtol=1e-15)
    np.testing.assert_allclose(gaussian_logpdf_loop(X, np.zeros(2), np.eye(2)), expected, rtol=1e-15)


def test_logpdf_of_data_far_from_the_origin():
    rng = np.random.default_rng(2)
    X = 1e6 + rng.normal(scale=1e-2, size=(50, 3))
    mu, Sigma = X.mean(axis=0), random_spd(rng, 3, scale=1e-4)
    expected = multivariate_normal(mu, Sigma).logpdf(X)
    np.testing.assert_allclose(gaussian_logpdf(X, mu, Sigma), expected, rtol=1e-9)


def test_log_joint_is_log_weight_plus_log_density():
    rng = np.random.default_rng(3)
    pi, mu, Sigma = random_mixture(rng, 4, 3)
    X = rng.normal(scale=3, size=(30, 3))
    expected = np.column_stack([math.log(pi[k]) + multivariate_normal(mu[k], Sigma[k]).logpdf(X)
                                for k in range(4)])
    np.testing.assert_allclose(log_joint(X, pi, mu, Sigma), expected, rtol=1e-12)


def test_log_joint_with_a_zero_weight_is_minus_infinity_without_warnings():
    rng = np.random.default_rng(4)
    _, mu, Sigma = random_mixture(rng, 2, 2)
    out = log_joint(rng.normal(size=(5, 2)), np.array([1.0, 0.0]), mu, Sigma)
    assert np.isfinite(out[:, 0]).all() and np.all(out[:, 1] == -np.inf)


def _expanded_covariances(ct, cov, K, D):
    if ct == "full":
        return cov
    if ct == "tied":
        return np.stack([cov] * K)
    if ct == "diag":
        return np.stack([np.diag(c) for c in cov])
    return np.stack([c * np.eye(D) for c in cov])


@pytest.mark.parametrize("ct", ["full", "tied", "diag", "spherical"])
def test_estimate_log_gaussian_prob_every_covariance_type_matches_scipy(ct):
    rng = np.random.default_rng(5)
    K, D = 3, 4
    cov = {"full": np.stack([random_spd(rng, D) for _ in range(K)]), "tied": random_spd(rng, D),
           "diag": rng.uniform(0.2, 2.0, size=(K, D)), "spherical": rng.uniform(0.2, 2.0, size=K)}[ct]
    means = rng.normal(size=(K, D))
    X = rng.normal(scale=2, size=(25, D))
    full = _expanded_covariances(ct, cov, K, D)
    expected = np.column_stack([multivariate_normal(means[k], full[k]).logpdf(X) for k in range(K)])
    prec_chol = compute_precision_cholesky(cov, ct)
    np.testing.assert_allclose(estimate_log_gaussian_prob(X, means, prec_chol, ct), expected, rtol=1e-12)


@pytest.mark.parametrize("ct", ["full", "tied"])
def test_precision_cholesky_is_upper_triangular_factor_of_the_inverse(ct):
    rng = np.random.default_rng(6)
    cov = np.stack([random_spd(rng, 3) for _ in range(2)]) if ct == "full" else random_spd(rng, 3)
    P = compute_precision_cholesky(cov, ct)
    mats, Ps = (cov, P) if ct == "full" else (cov[None], P[None])
    for S, Pk in zip(mats, Ps, strict=True):
        np.testing.assert_allclose(Pk, np.triu(Pk))
        np.testing.assert_allclose(Pk @ Pk.T, np.linalg.inv(S), rtol=1e-12, atol=1e-14)
        # log det: sum log diag(P) = -log det(Sigma) / 2
    expected = -0.5 * np.linalg.slogdet(mats)[1]
    np.testing.assert_allclose(np.atleast_1d(compute_log_det_cholesky(P, ct, 3)), expected, rtol=1e-12)


def test_precision_cholesky_of_variances():
    var = np.array([[4.0, 0.25]])
    np.testing.assert_allclose(compute_precision_cholesky(var, "diag"), [[0.5, 2.0]])
    np.testing.assert_allclose(compute_precision_cholesky(np.array([9.0]), "spherical"), [1 / 3])


def test_precisions_cholesky_from_precisions_is_upper_triangular():
    rng = np.random.default_rng(7)
    prec = np.stack([random_spd(rng, 4) for _ in range(3)])
    U = precisions_cholesky_from_precisions(prec, "full")
    for Uk, Pk in zip(U, prec, strict=True):
        np.testing.assert_allclose(Uk, np.triu(Uk))
        np.testing.assert_allclose(Uk @ Uk.T, Pk, rtol=1e-12)


# ----------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("fn", [gaussian_logpdf, gaussian_logpdf_loop])
class TestLogpdfValidation:
    def test_nan_in_X(self, fn):
        X = np.zeros((3, 2))
        X[1, 0] = np.nan
        with pytest.raises(ValueError, match="X contains NaN or infinite"):
            fn(X, np.zeros(2), np.eye(2))

    def test_infinite_X(self, fn):
        with pytest.raises(ValueError, match="NaN or infinite"):
            fn(np.array([[np.inf, 0.0]]), np.zeros(2), np.eye(2))

    def test_one_dimensional_X(self, fn):
        with pytest.raises(ValueError, match=r"2-D.*reshape"):
            fn(np.zeros(3), np.zeros(1), np.eye(1))

    def test_mean_of_wrong_length(self, fn):
        with pytest.raises(ValueError, match=r"mu_k must have shape \(2,\)"):
            fn(np.zeros((3, 2)), np.zeros(3), np.eye(2))

    def test_covariance_of_wrong_shape(self, fn):
        with pytest.raises(ValueError, match=r"Sigma_k must have shape \(2, 2\)"):
            fn(np.zeros((3, 2)), np.zeros(2), np.eye(3))

    def test_asymmetric_covariance(self, fn):
        with pytest.raises(ValueError, match="not symmetric"):
            fn(np.zeros((3, 2)), np.zeros(2), np.array([[1.0, 0.5], [0.0, 1.0]]))

    def test_covariance_not_positive_definite(self, fn):
        with pytest.raises(ValueError, match=r"not positive definite.*reg_covar"):
            fn(np.zeros((3, 2)), np.zeros(2), np.array([[1.0, 2.0], [2.0, 1.0]]))


def test_not_positive_definite_names_the_component():
    Sigma = np.stack([np.eye(2), np.eye(2), np.array([[1.0, 0.0], [0.0, -1.0]])])
    with pytest.raises(ValueError, match=r"Sigma\[2\] \(component 2\) is not positive definite"):
        log_joint(np.zeros((4, 2)), np.full(3, 1 / 3), np.zeros((3, 2)), Sigma)


def test_weights_must_sum_to_one():
    with pytest.raises(ValueError, match="pi must sum to 1"):
        log_joint(np.zeros((4, 2)), np.array([0.5, 0.6]), np.zeros((2, 2)), np.stack([np.eye(2)] * 2))


def test_means_must_match_the_number_of_components():
    with pytest.raises(ValueError, match=r"mu must have shape \(2, 2\)"):
        log_joint(np.zeros((4, 2)), np.array([0.5, 0.5]), np.zeros((3, 2)), np.stack([np.eye(2)] * 2))


def test_unknown_covariance_type():
    with pytest.raises(ValueError, match="unknown covariance_type 'banana'"):
        estimate_log_gaussian_prob(np.zeros((3, 2)), np.zeros((1, 2)), np.ones(1), "banana")


def test_precisions_cholesky_of_the_wrong_shape():
    with pytest.raises(ValueError, match=r"precisions_cholesky must have shape \(2, 3\)"):
        estimate_log_gaussian_prob(np.zeros((3, 3)), np.zeros((2, 3)), np.ones((2, 2)), "diag")
