"""EM for Gaussian mixtures, broadcasting flavour (full covariances; HW2's reference), and the EM driver.

E-step
    ``gamma_nk = pi_k N(x_n | mu_k, Sigma_k) / sum_j pi_j N(x_n | mu_j, Sigma_j)``, computed in log-space
    as the row-wise softmax of the log-joint; the total log-likelihood ``sum_n log p(x_n)`` is its
    row-wise log-sum-exp, summed.
M-step
    the weighted maximum-likelihood estimates ``N_k = sum_n gamma_nk``, ``pi_k = N_k / N``,
    ``mu_k = sum_n gamma_nk x_n / N_k``,
    ``Sigma_k = sum_n gamma_nk (x_n - mu_k)(x_n - mu_k)^T / N_k + reg I``.
Driver
    :func:`run_em` iterates any E-step and M-step in scikit-learn's order; :class:`~mlcourse.mixture.
    GaussianMixture` runs it on the blocked kernels (:mod:`._blocked`), :func:`~mlcourse.mixture.fit_gmm` on
    :func:`e_step` and :func:`m_step`.

The loops version of the same two steps is in :mod:`mlcourse.mixture.loops`; the two agree to 1e-10.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import numpy as np

from mlcourse.mixture._validation import check_data, check_nonnegative, check_responsibilities
from mlcourse.mixture.gaussian import checked_full_parameters, log_joint
from mlcourse.mixture.stats import logsumexp

__all__ = ["COUNT_GUARD", "EMRun", "covariances_of_type", "e_step", "m_step", "run_em"]

#: Added to every ``N_k`` (as scikit-learn does): an empty component gets ``mu_k = 0`` and
#: ``Sigma_k = reg I`` instead of 0 / 0 = NaN.
COUNT_GUARD = 10 * np.finfo(np.float64).eps

Params = TypeVar("Params")
Stats = TypeVar("Stats")


def e_step(X: Any, pi: Any, mu: Any, Sigma: Any) -> tuple[np.ndarray, float]:
    """E-step: responsibilities and the total log-likelihood under (pi, mu, Sigma).

    Parameters
    ----------
    X : array_like (N, D)
    pi : array_like (K,)
        Mixing weights (non-negative, summing to one).
    mu : array_like (K, D)
    Sigma : array_like (K, D, D)
        Symmetric positive definite covariances.

    Returns
    -------
    gamma : ndarray (N, K)
        Responsibilities ``p(z_n = k | x_n)``; rows sum to one.
    loglik : float
        ``sum_n log sum_k pi_k N(x_n | mu_k, Sigma_k)`` (a total, not a mean).
    """
    X, pi, mu, Sigma = checked_full_parameters(X, pi, mu, Sigma)
    log_p = log_joint(X, pi, mu, Sigma)  # (N, K): log pi_k + log N(x_n | mu_k, Sigma_k)
    log_px = logsumexp(log_p, axis=1)  # (N,): log p(x_n)
    gamma = np.exp(log_p - log_px[:, None])
    return gamma, float(np.sum(log_px))


def covariances_of_type(scatter: np.ndarray, nk: np.ndarray, reg: float, covariance_type: str
                        ) -> np.ndarray:
    """Covariances of ``covariance_type``'s shape from each component's weighted scatter about its mean.

    ``scatter_k = sum_n gamma_nk (x_n - mu_k)(x_n - mu_k)^T / N_k`` (K, D, D), symmetrised here; full keeps
    it, tied averages it with weights ``N_k``, diag keeps its diagonal, spherical the mean of that diagonal;
    ``reg`` is then added to every variance.
    """
    D = scatter.shape[-1]
    diag = np.arange(D)
    scatter = 0.5 * (scatter + scatter.transpose(0, 2, 1))
    if covariance_type == "full":
        cov = scatter
        cov[:, diag, diag] += reg
    elif covariance_type == "tied":
        cov = np.einsum("k,kij->ij", nk, scatter) / nk.sum()
        cov[diag, diag] += reg
    elif covariance_type == "diag":
        cov = scatter[:, diag, diag] + reg
    else:
        cov = scatter[:, diag, diag].mean(axis=1) + reg
    return cov


def m_step(X: Any, gamma: Any, reg: float = 1e-6) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """M-step: weighted maximum-likelihood mixture parameters from responsibilities.

    Parameters
    ----------
    X : array_like (N, D)
    gamma : array_like (N, K)
        Responsibilities: non-negative, rows summing to one.
    reg : float, default 1e-6
        Ridge added to the diagonal of every covariance (keeps them positive definite when a component
        collapses onto one point or a line).

    Returns
    -------
    pi : ndarray (K,)
        ``N_k / N``.
    mu : ndarray (K, D)
        ``sum_n gamma_nk x_n / N_k``.
    Sigma : ndarray (K, D, D)
        ``sum_n gamma_nk (x_n - mu_k)(x_n - mu_k)^T / N_k + reg I``.

    Notes
    -----
    ``N_k`` carries scikit-learn's ``10 * machine epsilon`` guard (:data:`COUNT_GUARD`), so a component with
    no responsibility gets ``mu_k = 0`` and ``Sigma_k = reg I`` instead of NaN (0 / 0).
    """
    X = check_data(X)
    gamma = check_responsibilities(gamma, X.shape[0])
    reg = check_nonnegative(reg, "reg")
    Nk = gamma.sum(axis=0) + COUNT_GUARD  # (K,)
    mu = gamma.T @ X / Nk[:, None]  # (K, D)
    diff = X[None, :, :] - mu[:, None, :]  # (K, N, D): x_n - mu_k
    weighted = gamma.T[:, :, None] * diff  # gamma_nk (x_n - mu_k)
    scatter = weighted.transpose(0, 2, 1) @ diff / Nk[:, None, None]  # (K, D, D)
    Sigma = covariances_of_type(scatter, Nk, reg, "full")
    return Nk / Nk.sum(), mu, Sigma


@dataclass(frozen=True)
class EMRun(Generic[Params]):
    """The outcome of :func:`run_em`.

    Attributes
    ----------
    params
        The parameters after the last M-step.
    logliks : list of float
        Total log-likelihood at every E-step: ``logliks[i]`` is that of the parameters after ``i`` M-steps
        (so the last entry belongs to the parameters *before* the last M-step, as in scikit-learn).
    converged : bool
        Whether the change of the mean log-likelihood fell below ``tol``.
    n_iter : int
        Iterations run.
    """

    params: Params
    logliks: list[float]
    converged: bool
    n_iter: int


def run_em(params: Params, e_step: Callable[[Params], tuple[float, Stats]],
           m_step: Callable[[Stats], Params], *, n_samples: int, max_iter: int, tol: float,
           on_iteration: Callable[[int, Params], None] | None = None) -> EMRun[Params]:
    """The EM loop, in scikit-learn's order: E-step, M-step, test on the change of the log-likelihood.

    Parameters
    ----------
    params
        Initial parameters, in whatever form ``e_step`` takes.
    e_step : callable
        ``e_step(params) -> (loglik, stats)``: the total log-likelihood of ``params`` and what the M-step
        needs (responsibilities, or sufficient statistics).
    m_step : callable
        ``m_step(stats) -> params``.
    n_samples : int
        ``N``; the convergence test compares mean per-sample log-likelihoods.
    max_iter : int
        At most this many iterations (0: none).
    tol : float
        Stop when the mean log-likelihood changes by less than ``tol`` (``tol=0`` runs ``max_iter``).
    on_iteration : callable, optional
        Called as ``on_iteration(i, params)`` after the ``i``-th M-step (snapshots for figures).

    Returns
    -------
    EMRun
    """
    logliks: list[float] = []
    previous, converged, n_iter = -math.inf, False, 0
    for n_iter in range(1, max_iter + 1):
        loglik, stats = e_step(params)
        logliks.append(float(loglik))
        params = m_step(stats)
        if on_iteration is not None:
            on_iteration(n_iter, params)
        lower_bound = loglik / n_samples
        if abs(lower_bound - previous) < tol:
            converged = True
            break
        previous = lower_bound
    return EMRun(params, logliks, converged, n_iter)
