"""The loop flavour of EM for Gaussian mixtures: plain Python loops over points, components and dimensions.

Written to be read next to the lecture's formulas, not to be fast (it is the yardstick HW2's speed checks
compare with); :mod:`mlcourse.mixture.em` computes the same numbers (to 1e-10) without a Python loop over
points. Still log-space and Cholesky throughout: the density is evaluated through ``Sigma = L L^T`` and a
forward substitution, never an inverse or a determinant. What is not a loop over the data -- the normalising
constant, the log-sum-exp, the ``N_k`` guard -- comes from the shared helpers (:mod:`.gaussian`,
:mod:`.stats`, :mod:`.em`).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from mlcourse.mixture._validation import (
    check_covariance,
    check_data,
    check_mean,
    check_nonnegative,
    check_responsibilities,
)
from mlcourse.mixture.em import COUNT_GUARD
from mlcourse.mixture.gaussian import checked_full_parameters, factorize, log_det_cholesky, log_normalizer
from mlcourse.mixture.stats import softmax

__all__ = ["e_step_loop", "gaussian_logpdf_loop", "m_step_loop"]


def _forward_substitution(L: np.ndarray, b: np.ndarray) -> list[float]:
    """Solve ``L z = b`` for lower-triangular ``L``, one unknown at a time."""
    D = len(b)
    z = [0.0] * D
    for i in range(D):
        total = b[i]
        for j in range(i):
            total -= L[i, j] * z[j]
        z[i] = total / L[i, i]
    return z


def gaussian_logpdf_loop(X: Any, mu_k: Any, Sigma_k: Any) -> np.ndarray:
    """``log N(x_n | mu_k, Sigma_k)`` for every row of ``X``, one point at a time.

    For each point: ``z = L^{-1} (x - mu)`` by forward substitution, then
    ``log N = -D/2 log(2 pi) - sum_d log L_dd - |z|^2 / 2``.

    Parameters
    ----------
    X : array_like (N, D)
    mu_k : array_like (D,)
    Sigma_k : array_like (D, D)

    Returns
    -------
    ndarray (N,)
    """
    X = check_data(X)
    N, D = X.shape
    mu_k = check_mean(mu_k, D)
    Sigma_k = check_covariance(Sigma_k, D)
    L = factorize(Sigma_k[None], "full", 1, D, name="Sigma_k", indexed=False)[0][0]  # Sigma_k = L L^T

    log_constant = log_normalizer(log_det_cholesky(L), D)  # -D/2 log(2 pi) - sum_d log L_dd

    out = np.empty(N)
    for n in range(N):
        diff = X[n] - mu_k
        z = _forward_substitution(L, diff)
        squared_distance = 0.0  # the Mahalanobis distance (x - mu)^T Sigma^{-1} (x - mu) = |z|^2
        for d in range(D):
            squared_distance += z[d] ** 2
        out[n] = log_constant - 0.5 * squared_distance
    return out


def e_step_loop(X: Any, pi: Any, mu: Any, Sigma: Any) -> np.ndarray:
    """E-step, loops over components and points: the responsibilities ``gamma`` (N, K).

    ``gamma_nk = exp(a_nk - logsumexp_j a_nj)`` with the log-joint ``a_nk = log pi_k + log N(x_n | mu_k,
    Sigma_k)``: the log-joint one point and one component at a time, then the row-wise
    :func:`~mlcourse.mixture.softmax` (subtracting each row's maximum first keeps ``exp`` from overflowing or
    underflowing).
    """
    X, pi, mu, Sigma = checked_full_parameters(X, pi, mu, Sigma)
    N, K = X.shape[0], len(pi)
    factorize(Sigma, "full", K, X.shape[1], name="Sigma")  # a clear error naming a bad component

    log_joint = np.empty((N, K))
    for k in range(K):
        log_pi_k = math.log(pi[k]) if pi[k] > 0 else -math.inf
        log_joint[:, k] = log_pi_k + gaussian_logpdf_loop(X, mu[k], Sigma[k])

    return softmax(log_joint, axis=1)


def m_step_loop(X: Any, gamma: Any, reg: float = 1e-6) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """M-step, loops over components and points: weighted maximum-likelihood (pi, mu, Sigma).

    ``N_k = sum_n gamma_nk``, ``pi_k = N_k / N``, ``mu_k = sum_n gamma_nk x_n / N_k``,
    ``Sigma_k = sum_n gamma_nk (x_n - mu_k)(x_n - mu_k)^T / N_k + reg I``.

    Takes the same ``reg=1e-6`` as :func:`~mlcourse.mixture.m_step` so the two flavours agree. ``N_k`` carries
    the same ``10 * machine epsilon`` guard (:data:`~mlcourse.mixture.em.COUNT_GUARD`, as scikit-learn does):
    an empty component gets ``mu_k = 0`` and ``Sigma_k = reg I`` instead of 0 / 0 = NaN.
    """
    X = check_data(X)
    gamma = check_responsibilities(gamma, X.shape[0])
    reg = check_nonnegative(reg, "reg")
    N, D = X.shape
    K = gamma.shape[1]

    Nk = np.empty(K)
    mu = np.zeros((K, D))
    Sigma = np.zeros((K, D, D))
    for k in range(K):
        Nk[k] = COUNT_GUARD
        for n in range(N):
            Nk[k] += gamma[n, k]

        for n in range(N):
            mu[k] += gamma[n, k] * X[n]
        mu[k] /= Nk[k]

        for n in range(N):
            diff = X[n] - mu[k]
            Sigma[k] += gamma[n, k] * np.outer(diff, diff)
        Sigma[k] /= Nk[k]
        for d in range(D):
            Sigma[k, d, d] += reg

    pi = Nk / Nk.sum()  # = N_k / N, since the rows of gamma sum to one
    return pi, mu, Sigma
