"""The estimator's cache-blocked kernels (``mlcourse.mixture._blocked``) compute what the plain broadcasting
reference (``gaussian.log_joint``, ``em.e_step``, ``em.m_step``) states: equal to 1e-10 (relative)."""

import warnings

import numpy as np
import pytest

from mlcourse.mixture import (
    ConvergenceWarning,
    GaussianMixture,
    _blocked,
    compute_precision_cholesky,
    e_step,
    estimate_gaussian_parameters,
    fit_gmm,
    log_joint,
    m_step,
)
from mlcourse.mixture.em import COUNT_GUARD, covariances_of_type

RTOL = 1e-10


def random_problem(seed, N, K, D, offset=0.0):
    rng = np.random.default_rng(seed)
    pi = rng.dirichlet(np.ones(K))
    mu = rng.normal(scale=3, size=(K, D)) + offset
    A = rng.normal(size=(K, D, D))
    Sigma = A @ A.transpose(0, 2, 1) / D + 0.5 * np.eye(D)
    X = rng.normal(scale=3, size=(N, D)) + offset
    return X, pi, mu, Sigma


def kernel_components(X, pi, mu, Sigma):
    design = _blocked.Design(X)
    prec = compute_precision_cholesky(Sigma, "full")
    cov_chol = np.linalg.cholesky(Sigma)
    return design, _blocked.components(mu, prec, "full", pi, design.shift, cov_chol=cov_chol)


# N = 20000 with K = 3, D = 3 spans several blocks; the offset puts the data far from the origin.
CASES = [(0, 300, 3, 2, 0.0), (1, 20_000, 3, 3, 0.0), (2, 2_000, 5, 4, 1e4), (3, 500, 1, 1, 0.0)]


@pytest.mark.parametrize("seed,N,K,D,offset", CASES)
def test_blocked_log_joint_equals_the_reference(seed, N, K, D, offset):
    X, pi, mu, Sigma = random_problem(seed, N, K, D, offset)
    got = _blocked.log_joint(*kernel_components(X, pi, mu, Sigma))
    np.testing.assert_allclose(got, log_joint(X, pi, mu, Sigma), rtol=RTOL)


@pytest.mark.parametrize("seed,N,K,D,offset", CASES)
def test_blocked_responsibilities_equal_the_reference_e_step(seed, N, K, D, offset):
    X, pi, mu, Sigma = random_problem(seed, N, K, D, offset)
    gamma, loglik = _blocked.responsibilities(*kernel_components(X, pi, mu, Sigma))
    gamma_ref, loglik_ref = e_step(X, pi, mu, Sigma)
    np.testing.assert_allclose(gamma, gamma_ref, rtol=RTOL, atol=1e-300)
    assert loglik == pytest.approx(loglik_ref, rel=RTOL)


@pytest.mark.parametrize("seed,N,K,D,offset", CASES)
def test_fused_em_sweep_equals_reference_e_step_then_m_step(seed, N, K, D, offset):
    X, pi, mu, Sigma = random_problem(seed, N, K, D, offset)
    design, comps = kernel_components(X, pi, mu, Sigma)
    loglik, S = _blocked.em_statistics(design, comps)
    nk, means, cov = _blocked.parameters_from_statistics(S, comps, 1e-6, "full", design.shift)
    gamma, loglik_ref = e_step(X, pi, mu, Sigma)
    pi_ref, mu_ref, Sigma_ref = m_step(X, gamma, 1e-6)
    assert loglik == pytest.approx(loglik_ref, rel=RTOL)
    np.testing.assert_allclose(nk / nk.sum(), pi_ref, rtol=RTOL)
    np.testing.assert_allclose(means, mu_ref, rtol=RTOL, atol=RTOL * np.abs(mu_ref).max())
    np.testing.assert_allclose(cov, Sigma_ref, rtol=RTOL, atol=RTOL * np.abs(Sigma_ref).max())


@pytest.mark.parametrize("ct", ["full", "tied", "diag", "spherical"])
def test_blocked_m_step_from_responsibilities_equals_the_reference_formula(ct):
    X, pi, mu, Sigma = random_problem(4, 3_000, 3, 3)
    gamma = e_step(X, pi, mu, Sigma)[0]
    nk, means, cov = estimate_gaussian_parameters(X, gamma, 1e-6, ct)
    Nk = gamma.sum(axis=0) + COUNT_GUARD
    mu_ref = gamma.T @ X / Nk[:, None]
    diff = X[None] - mu_ref[:, None]
    scatter = np.einsum("nk,knd,kne->kde", gamma, diff, diff) / Nk[:, None, None]
    np.testing.assert_allclose(nk, Nk, rtol=RTOL)
    np.testing.assert_allclose(means, mu_ref, rtol=RTOL)
    np.testing.assert_allclose(cov, covariances_of_type(scatter, Nk, 1e-6, ct), rtol=RTOL)
    if ct == "full":
        np.testing.assert_allclose(cov, m_step(X, gamma, 1e-6)[2], rtol=RTOL)


@pytest.mark.parametrize("max_iter", [0, 1, 7, 100])
def test_fit_gmm_and_the_estimator_run_the_same_em(max_iter):
    """One driver: reference steps (fit_gmm) and fused kernels (GaussianMixture) give one trajectory."""
    X = random_problem(5, 600, 3, 2)[0]
    result = fit_gmm(X, 3, max_iter=max_iter, tol=1e-6, seed=3)
    model = GaussianMixture(3, max_iter=max_iter, tol=1e-6, reg_covar=1e-6, random_state=3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X)
    np.testing.assert_allclose(result["pi"], model.weights_, rtol=1e-8)
    np.testing.assert_allclose(result["mu"], model.means_, rtol=1e-8)
    np.testing.assert_allclose(result["Sigma"], model.covariances_, rtol=1e-8)
    np.testing.assert_allclose(result["loglik"][:-1], np.array(model.lower_bounds_) * len(X), rtol=1e-10)
    assert len(result["loglik"]) == model.n_iter_ + 1
