"""Part 2: gaussian_logpdf_loop, e_step_loop, m_step_loop (compared with mlcourse.mixture).

One grade cell per behaviour: a function's values, its stability for extreme inputs, and for the M-step the
weights, the means and the covariances each on their own, so a mistake costs the points of what it breaks.
"""

from __future__ import annotations

import pytest

from autograder.hw2 import checks

LOGPDF, LOGPDF_EXTREME = "test_gaussian_logpdf_loop_values", "test_gaussian_logpdf_loop_extreme"
ESTEP, ESTEP_FAR = "test_e_step_loop_values", "test_e_step_loop_far_points"
WEIGHTS, MEANS, COVS = "test_m_step_loop_weights", "test_m_step_loop_means", "test_m_step_loop_covariances"


# ---------------------------------------------------------------------------------- gaussian_logpdf_loop
@pytest.mark.part(LOGPDF)
def test_gaussian_logpdf_loop_returns_a_float_array(student):
    """gaussian_logpdf_loop returns a float array of shape (N,)"""
    checks.logpdf_shape(student, "gaussian_logpdf_loop")


@pytest.mark.part(LOGPDF, weight=3)
def test_gaussian_logpdf_loop_values(student):
    """gaussian_logpdf_loop agrees with the reference on random inputs (1-D to 4-D, full covariances)"""
    checks.logpdf_values(student, "gaussian_logpdf_loop")


@pytest.mark.part(LOGPDF_EXTREME)
def test_gaussian_logpdf_loop_near_singular_covariance(student):
    """gaussian_logpdf_loop is accurate for a nearly singular covariance"""
    checks.logpdf_near_singular(student, "gaussian_logpdf_loop")


@pytest.mark.part(LOGPDF_EXTREME)
def test_gaussian_logpdf_loop_far_points(student):
    """gaussian_logpdf_loop is finite and accurate for points far from the mean"""
    checks.logpdf_far(student, "gaussian_logpdf_loop")


@pytest.mark.part(LOGPDF)
def test_gaussian_logpdf_loop_leaves_its_inputs_unchanged(student):
    """gaussian_logpdf_loop does not modify its arguments"""
    checks.logpdf_no_mutation(student, "gaussian_logpdf_loop")


# ------------------------------------------------------------------------------------------ e_step_loop
@pytest.mark.part(ESTEP)
def test_e_step_loop_returns_an_n_by_k_array(student):
    """e_step_loop returns a float array of shape (N, K)"""
    checks.estep_shape(student, "e_step_loop")


@pytest.mark.part(ESTEP, weight=3)
def test_e_step_loop_values(student):
    """e_step_loop agrees with the reference responsibilities on random mixtures"""
    checks.estep_values(student, "e_step_loop")


@pytest.mark.part(ESTEP)
def test_e_step_loop_rows_are_probabilities(student):
    """the rows of e_step_loop are non-negative and sum to 1"""
    checks.estep_rows(student, "e_step_loop")


@pytest.mark.part(ESTEP_FAR)
def test_e_step_loop_far_points(student):
    """e_step_loop is finite and accurate for points far from every component"""
    checks.estep_far(student, "e_step_loop")


@pytest.mark.part(ESTEP)
def test_e_step_loop_leaves_its_inputs_unchanged(student):
    """e_step_loop does not modify its arguments"""
    checks.estep_no_mutation(student, "e_step_loop")


# ------------------------------------------------------------------------------------------ m_step_loop
@pytest.mark.part(WEIGHTS, weight=2)
def test_m_step_loop_weights(student):
    """m_step_loop computes the weights pi like the reference"""
    checks.mstep_param(student, "m_step_loop", 0)


@pytest.mark.part(MEANS)
def test_m_step_loop_means(student):
    """m_step_loop computes the means mu like the reference"""
    checks.mstep_param(student, "m_step_loop", 1)


@pytest.mark.part(COVS)
def test_m_step_loop_covariances(student):
    """m_step_loop computes the covariances Sigma like the reference (default reg=1e-6)"""
    checks.mstep_param(student, "m_step_loop", 2)


@pytest.mark.part(COVS)
def test_m_step_loop_reg_argument(student):
    """m_step_loop adds its reg argument to the diagonal of every covariance"""
    checks.mstep_reg(student, "m_step_loop")


@pytest.mark.part(WEIGHTS)
def test_m_step_loop_leaves_its_inputs_unchanged(student):
    """m_step_loop does not modify its arguments"""
    checks.mstep_no_mutation(student, "m_step_loop", 0)
