"""The E-step and the M-step, broadcasting flavour (full covariances; HW2's reference).

E-step
    ``gamma_nk = pi_k N(x_n | mu_k, Sigma_k) / sum_j pi_j N(x_n | mu_j, Sigma_j)``, computed in log-space
    as the row-wise softmax of the log-joint; the total log-likelihood ``sum_n log p(x_n)`` is its
    row-wise log-sum-exp, summed.
M-step
    the weighted maximum-likelihood estimates ``N_k = sum_n gamma_nk``, ``pi_k = N_k / N``,
    ``mu_k = sum_n gamma_nk x_n / N_k``,
    ``Sigma_k = sum_n gamma_nk (x_n - mu_k)(x_n - mu_k)^T / N_k + reg I``.

The loops version of the same two steps is in :mod:`mlcourse.mixture.loops`; the two agree to 1e-10.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from mlcourse.mixture import _blocked
from mlcourse.mixture._validation import (
    check_covariance_type,
    check_data,
    check_finite,
    check_nonnegative,
    check_responsibilities,
)
from mlcourse.mixture.gaussian import _full_components, checked_full_parameters

__all__ = ["e_step", "estimate_gaussian_parameters", "m_step"]


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
    design = _blocked.Design(X)
    return _blocked.responsibilities(design, _full_components(design, pi, mu, Sigma))


def fit_parameters(design: _blocked.Design, resp: np.ndarray, reg_covar: float, covariance_type: str
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Unchecked M-step on a :class:`~mlcourse.mixture._blocked.Design`: (nk, means, covariances)."""
    S, comps = _blocked.statistics_from_responsibilities(design, resp)
    return _blocked.parameters_from_statistics(S, comps, reg_covar, covariance_type, design.shift)


def estimate_gaussian_parameters(X: Any, resp: Any, reg_covar: float, covariance_type: str
                                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Weighted maximum-likelihood Gaussian parameters for any covariance type (scikit-learn's M-step).

    Parameters
    ----------
    X : array_like (N, D)
    resp : array_like (N, K)
        Non-negative weights (responsibilities; rows need not sum to one, e.g. a one-hot initialisation).
    reg_covar : float
        Added to every variance (the diagonal of each covariance).
    covariance_type : {"full", "tied", "diag", "spherical"}

    Returns
    -------
    nk : ndarray (K,)
        ``sum_n resp_nk`` plus ``10 eps`` (so an empty component gives finite parameters, as in sklearn).
    means : ndarray (K, D)
    covariances : ndarray, covariance_type's shape
    """
    covariance_type = check_covariance_type(covariance_type)
    X = check_data(X)
    resp = np.asarray(resp, dtype=np.float64)
    if resp.ndim != 2 or resp.shape[0] != X.shape[0] or resp.shape[1] == 0:
        raise ValueError(f"resp must have shape (N, K) with N={X.shape[0]}, got shape {resp.shape}")
    check_finite(resp, "resp")
    if (resp < 0).any():
        raise ValueError("resp must be non-negative")
    reg_covar = check_nonnegative(reg_covar, "reg_covar")
    return fit_parameters(_blocked.Design(X), np.ascontiguousarray(resp), reg_covar, covariance_type)


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
    ``N_k`` carries scikit-learn's ``10 * machine epsilon`` guard, so a component with no responsibility
    gets ``mu_k = 0`` and ``Sigma_k = reg I`` instead of NaN (0 / 0).
    """
    X = check_data(X)
    gamma = check_responsibilities(gamma, X.shape[0])
    reg = check_nonnegative(reg, "reg")
    nk, mu, Sigma = fit_parameters(_blocked.Design(X), gamma, reg, "full")
    return nk / nk.sum(), mu, Sigma
