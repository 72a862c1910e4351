"""Part 3: gaussian_logpdf, log_joint, e_step, m_step; each also without a Python loop over the points.

"Broadcasting is the lesson": every function of this part has a grade cell of its own for not looping in
Python over the points (:mod:`autograder.hw2.speed`; 16 of the part's 30 points), next to the cells for its
values and its stability; the speed counts only for results that are right on the timed inputs (to 1e-5:
``autograder.hw2.speed.TIMED_RTOL``).
"""

from __future__ import annotations

import numpy as np
import pytest

from autograder.hw2 import checks
from autograder.hw2.common import (
    CASES,
    expect_array,
    expect_close,
    expect_correct,
    expect_finite,
    far_points,
    near_singular_cov,
    points_from,
    random_gmm,
    random_points,
    rng,
    unpack,
    values,
)
from autograder.hw2.speed import assert_no_loop_over_points
from mlcourse import mixture as ref

LOGPDF, LOGPDF_EXTREME, LOGPDF_FAST = ("test_gaussian_logpdf_values", "test_gaussian_logpdf_extreme",
                                      "test_gaussian_logpdf_no_loop")
JOINT, JOINT_EXTREME, JOINT_FAST = "test_log_joint_values", "test_log_joint_extreme", "test_log_joint_no_loop"
GAMMA, LOGLIK, ESTEP_FAST = "test_e_step_responsibilities", "test_e_step_loglik", "test_e_step_no_loop"
MSTEP_PI, MSTEP_MU = "test_m_step_weights", "test_m_step_means"
MSTEP_COVS, MSTEP_FAST = "test_m_step_covariances", "test_m_step_no_loop"


# --------------------------------------------------------------------------------------- gaussian_logpdf
@pytest.mark.part(LOGPDF)
def test_gaussian_logpdf_returns_a_float_array(student):
    """gaussian_logpdf returns a float array of shape (N,)"""
    checks.logpdf_shape(student, "gaussian_logpdf")


@pytest.mark.part(LOGPDF, weight=3)
def test_gaussian_logpdf_values(student):
    """gaussian_logpdf agrees with the reference on random inputs (1-D to 4-D, full covariances)"""
    checks.logpdf_values(student, "gaussian_logpdf")


@pytest.mark.part(LOGPDF_EXTREME)
def test_gaussian_logpdf_near_singular_covariance(student):
    """gaussian_logpdf is accurate for a nearly singular covariance"""
    checks.logpdf_near_singular(student, "gaussian_logpdf")


@pytest.mark.part(LOGPDF_EXTREME)
def test_gaussian_logpdf_far_points(student):
    """gaussian_logpdf is finite and accurate for points far from the mean"""
    checks.logpdf_far(student, "gaussian_logpdf")


@pytest.mark.part(LOGPDF)
def test_gaussian_logpdf_leaves_its_inputs_unchanged(student):
    """gaussian_logpdf does not modify its arguments"""
    checks.logpdf_no_mutation(student, "gaussian_logpdf")


@pytest.mark.part(LOGPDF_FAST)
def test_gaussian_logpdf_does_not_loop_over_the_points(student):
    """gaussian_logpdf does not loop in Python over the points (much faster than a loop, N=8000)"""
    assert_no_loop_over_points(student, "gaussian_logpdf")


# --------------------------------------------------------------------------------------------- log_joint
def _log_joint(student, X, pi, mu, Sigma, strict=False):
    N, K = X.shape[0], len(pi)
    return (expect_array if strict else values)(student.log_joint(X, pi, mu, Sigma), (N, K),
                                                f"log_joint for N={N}, K={K}")


@pytest.mark.part(JOINT)
def test_log_joint_returns_an_n_by_k_array(student):
    """log_joint returns a float array of shape (N, K)"""
    for seed, N, D, K in CASES:
        gen = rng(seed)
        pi, mu, Sigma = random_gmm(gen, K, D)
        X = random_points(gen, N, D)
        expect_close(_log_joint(student, X, pi, mu, Sigma, strict=True), ref.log_joint(X, pi, mu, Sigma),
                     f"log_joint for N={N}, K={K}")


@pytest.mark.part(JOINT, weight=2)
def test_log_joint_values(student):
    """log_joint agrees with log(pi_k) + log N(x_n | mu_k, Sigma_k) on random mixtures"""
    for seed, N, D, K in CASES:
        gen = rng(seed)
        pi, mu, Sigma = random_gmm(gen, K, D)
        X = random_points(gen, N, D)
        expect_close(_log_joint(student, X, pi, mu, Sigma), ref.log_joint(X, pi, mu, Sigma),
                     f"log_joint on random mixtures in {D}-D with K={K}")


@pytest.mark.part(JOINT_EXTREME)
def test_log_joint_far_points(student):
    """log_joint is finite and accurate for points far from every component"""
    gen = rng(120)
    pi, mu, Sigma = random_gmm(gen, 3, 2)
    X = far_points(gen, 15, 2)
    out = _log_joint(student, X, pi, mu, Sigma)
    expect_finite(out, "log_joint of points far from every component (work with log-densities)")
    expect_close(out, ref.log_joint(X, pi, mu, Sigma), "log_joint of points far from every component")


@pytest.mark.part(JOINT_EXTREME)
def test_log_joint_near_singular_covariance(student):
    """log_joint is accurate when one component has a nearly singular covariance"""
    gen = rng(121)
    pi, mu, Sigma = random_gmm(gen, 2, 3)
    Sigma[1] = near_singular_cov(gen, 3)
    X = points_from(gen, mu[1], Sigma[1], 20)
    out = _log_joint(student, X, pi, mu, Sigma)
    expect_finite(out, "log_joint with a nearly singular covariance")
    expect_close(out, ref.log_joint(X, pi, mu, Sigma),
                 "log_joint with a nearly singular covariance (condition number 1e8)", rtol=1e-6, atol=1e-6)


@pytest.mark.part(JOINT)
def test_log_joint_leaves_its_inputs_unchanged(student):
    """log_joint does not modify its arguments"""
    gen = rng(122)
    pi, mu, Sigma = random_gmm(gen, 3, 2)
    X = random_points(gen, 10, 2)
    expect_correct(student.log_joint(X, pi, mu, Sigma), (10, 3), ref.log_joint(X, pi, mu, Sigma),
                   "log_joint given read-only arrays X, pi, mu and Sigma")


@pytest.mark.part(JOINT_FAST)
def test_log_joint_does_not_loop_over_the_points(student):
    """log_joint does not loop in Python over the points (much faster than a loop, N=8000)"""
    assert_no_loop_over_points(student, "log_joint")


# ------------------------------------------------------------------------------------------------ e_step
def _loglik(student, X, pi, mu, Sigma) -> float:
    """The log-likelihood from the student's e_step (its gamma is judged by the responsibilities' cell)."""
    loglik = unpack(student.e_step(X, pi, mu, Sigma), 2, "e_step")[1]
    if isinstance(loglik, np.ndarray) and loglik.shape == () and loglik.dtype.kind == "f":
        loglik = float(loglik)
    if isinstance(loglik, int) and not isinstance(loglik, bool):
        loglik = float(loglik)
    shape = f" of shape {loglik.shape}" if isinstance(loglik, np.ndarray) else ""
    assert isinstance(loglik, float), \
        ("the log-likelihood from e_step should be one float (the sum over all points); "
         f"got a {type(loglik).__name__}{shape}")
    return loglik


@pytest.mark.part(GAMMA)
def test_e_step_returns_a_float_gamma(student):
    """e_step returns a tuple whose gamma is a float array of shape (N, K)"""
    for seed, N, D, K in CASES:
        gen = rng(seed)
        pi, mu, Sigma = random_gmm(gen, K, D)
        X = random_points(gen, N, D)
        gamma = unpack(student.e_step(X, pi, mu, Sigma), 2, "e_step")[0]
        gamma = expect_array(gamma, (N, K), f"gamma from e_step for N={N}, K={K}")
        expect_close(gamma, ref.e_step(X, pi, mu, Sigma)[0], f"gamma from e_step for N={N}, K={K}", atol=1e-9)


@pytest.mark.part(GAMMA, weight=2)
def test_e_step_responsibilities(student):
    """e_step's responsibilities agree with the reference on random mixtures"""
    checks.estep_values(student, "e_step")


@pytest.mark.part(LOGLIK, weight=2)
def test_e_step_loglik(student):
    """e_step's log-likelihood agrees with the reference on random mixtures"""
    for seed, N, D, K in CASES:
        gen = rng(seed)
        pi, mu, Sigma = random_gmm(gen, K, D)
        X = random_points(gen, N, D)
        loglik = _loglik(student, X, pi, mu, Sigma)
        assert np.isclose(loglik, ref.e_step(X, pi, mu, Sigma)[1], rtol=1e-10, atol=1e-10), \
            f"the log-likelihood from e_step is wrong on a random mixture in {D}-D with K={K} " \
            "(it should be the sum over points of logsumexp of the log-joint row)"


@pytest.mark.part(GAMMA)
def test_e_step_far_points(student):
    """e_step's responsibilities are finite and accurate for points far from every component"""
    checks.estep_far(student, "e_step")


@pytest.mark.part(LOGLIK)
def test_e_step_loglik_far_points(student):
    """e_step's log-likelihood is finite and accurate for points far from every component"""
    gen = rng(130)
    pi, mu, Sigma = random_gmm(gen, 3, 2)
    X = far_points(gen, 12, 2, distance=300.0)
    loglik = _loglik(student, X, pi, mu, Sigma)
    assert np.isfinite(loglik), \
        "the log-likelihood from e_step is not finite for points far from every component"
    assert np.isclose(loglik, ref.e_step(X, pi, mu, Sigma)[1], rtol=1e-10), \
        "the log-likelihood from e_step is wrong for points far from every component"


@pytest.mark.part(GAMMA)
def test_e_step_leaves_its_inputs_unchanged(student):
    """e_step does not modify its arguments"""
    checks.estep_no_mutation(student, "e_step")


@pytest.mark.part(ESTEP_FAST)
def test_e_step_does_not_loop_over_the_points(student):
    """e_step does not loop in Python over the points (much faster than a loop, N=8000)"""
    assert_no_loop_over_points(student, "e_step")


# ------------------------------------------------------------------------------------------------ m_step
@pytest.mark.part(MSTEP_PI)
def test_m_step_weights(student):
    """m_step computes the weights pi like the reference"""
    checks.mstep_param(student, "m_step", 0)


@pytest.mark.part(MSTEP_MU)
def test_m_step_means(student):
    """m_step computes the means mu like the reference"""
    checks.mstep_param(student, "m_step", 1)


@pytest.mark.part(MSTEP_COVS)
def test_m_step_covariances(student):
    """m_step computes the covariances Sigma like the reference (default reg=1e-6)"""
    checks.mstep_param(student, "m_step", 2)


@pytest.mark.part(MSTEP_COVS)
def test_m_step_reg_argument(student):
    """m_step adds its reg argument to the diagonal of every covariance"""
    checks.mstep_reg(student, "m_step")


@pytest.mark.part(MSTEP_COVS)
def test_m_step_component_on_identical_points(student):
    """m_step keeps Sigma invertible (reg * I) for a component on identical points"""
    checks.mstep_degenerate(student, "m_step")


@pytest.mark.part(MSTEP_COVS)
def test_m_step_leaves_its_inputs_unchanged(student):
    """m_step does not modify its arguments"""
    checks.mstep_no_mutation(student, "m_step", 2)


@pytest.mark.part(MSTEP_FAST)
def test_m_step_does_not_loop_over_the_points(student):
    """m_step does not loop in Python over the points (much faster than a loop, N=8000)"""
    assert_no_loop_over_points(student, "m_step")
