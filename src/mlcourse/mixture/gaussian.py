"""Gaussian log-densities (the broadcasting reference of HW2) and the covariance parameterisations.

The formula, in one place (:func:`log_normalizer`, :func:`gaussian_logpdf`): with ``Sigma = L L^T``
(Cholesky) and ``z = L^{-1} (x - mu)`` (one triangular solve),

    log N(x | mu, Sigma) = -D/2 log(2 pi) - sum_d log L_dd - |z|^2 / 2,

since ``log det Sigma = 2 sum_d log L_dd`` (:func:`log_det_cholesky`, the one log-determinant). The loop
flavour (:mod:`.loops`) and the estimator's blocked kernels (:mod:`._blocked`) take the normalising constant
from here.

For the estimator, a covariance ``Sigma = L L^T`` (Cholesky, ``L`` lower triangular) is never inverted: the
*precision Cholesky* ``P = L^{-T}`` (upper triangular, from one triangular solve) whitens,
``y = P^T (x - mu)`` has identity covariance, and

    log N(x | mu, Sigma) = -D/2 log(2 pi) + sum_d log P_dd - |y|^2 / 2,

because ``log det Sigma = 2 sum_d log L_dd = -2 sum_d log P_dd``. This is scikit-learn's parameterisation
(``precisions_cholesky_``), so parameters move between the two libraries unchanged.

Covariance types and the shapes of their parameters (K components, D features):

==========  =================  ============================================
full        (K, D, D)          one general covariance per component
tied        (D, D)             one covariance shared by all components
diag        (K, D)             per-component variances of each feature
spherical   (K,)               one variance per component
==========  =================  ============================================
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from mlcourse.mixture._validation import (
    check_covariance,
    check_covariance_type,
    check_covariances,
    check_data,
    check_finite,
    check_mean,
    check_means,
    check_weights,
)

__all__ = [
    "LOG_2PI",
    "compute_log_det_cholesky",
    "compute_precision_cholesky",
    "covariances_from_precisions_cholesky",
    "expand_to_full",
    "gaussian_logpdf",
    "log_det_cholesky",
    "log_joint",
    "log_normalizer",
    "precisions_cholesky_from_precisions",
]

LOG_2PI = math.log(2.0 * math.pi)


def expand_to_full(params: np.ndarray, covariance_type: str, n_components: int, n_features: int
                   ) -> np.ndarray:
    """Write covariance-like parameters of any type as K full (D, D) matrices (a read-only view for tied).

    Works for covariances, their Cholesky factors and precision Cholesky factors alike: diag and spherical
    entries go on the diagonal, a tied matrix is repeated K times.
    """
    arr = np.asarray(params, dtype=np.float64)
    if covariance_type == "full":
        return arr
    if covariance_type == "tied":
        return np.broadcast_to(arr, (n_components, n_features, n_features))
    if covariance_type == "spherical":
        arr = np.repeat(arr[:, None], n_features, axis=1)
    out = np.zeros((n_components, n_features, n_features))
    idx = np.arange(n_features)
    out[:, idx, idx] = arr
    return out


def _not_positive_definite(matrix: np.ndarray, which: str) -> ValueError:
    smallest = float(np.linalg.eigvalsh((matrix + matrix.T) / 2)[0])
    return ValueError(
        f"{which} is not positive definite: its Cholesky factorisation failed (smallest eigenvalue "
        f"{smallest:.3g}). This happens when a component collapses onto too few or (nearly) collinear "
        f"points: increase reg_covar (the ridge added to each diagonal; `reg` in m_step), use fewer "
        f"components, or scale the data."
    )


def _cholesky(matrices: np.ndarray, names: list[str]) -> np.ndarray:
    """Batched lower Cholesky factors; a ValueError names the first matrix that is not positive definite."""
    try:
        factors = np.linalg.cholesky(matrices)
    except np.linalg.LinAlgError:
        factors = None
    if factors is None or not np.isfinite(factors).all():
        for k, matrix in enumerate(matrices):
            try:
                if np.isfinite(np.linalg.cholesky(matrix)).all():
                    continue
            except np.linalg.LinAlgError:
                pass
            raise _not_positive_definite(matrix, names[k]) from None
    return factors


def _solve_identity(T: np.ndarray, lower: bool) -> np.ndarray:
    """``T^{-1}`` of a stack of triangular factors: the solution of ``T Z = I`` (as scikit-learn computes
    it; never an inverse of the covariance itself), with the zero triangle kept exactly zero."""
    Z = np.linalg.solve(T, np.broadcast_to(np.eye(T.shape[-1]), T.shape))
    return np.tril(Z) if lower else np.triu(Z)


def factorize(covariances: np.ndarray, covariance_type: str, n_components: int, n_features: int,
              name: str = "covariance", indexed: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Cholesky factors of covariance parameters.

    Returns
    -------
    cov_chol : ndarray (K, D, D)
        Lower Cholesky factor ``L_k`` of each component's covariance, as full matrices.
    prec_chol : ndarray, covariance_type's shape
        The precision Cholesky ``P = L^{-T}`` (what :func:`compute_precision_cholesky` returns).

    Raises
    ------
    ValueError
        Naming the first component whose covariance is not positive definite (``name[k]``; just ``name``
        with ``indexed=False``, for a single matrix).
    """
    cov = np.asarray(covariances, dtype=np.float64)
    if covariance_type in ("full", "tied"):
        mats = cov if covariance_type == "full" else cov[None]
        if covariance_type == "tied":
            names = [f"the tied {name}"]
        else:
            names = [f"{name}[{k}] (component {k})" if indexed else name for k in range(len(mats))]
        L = _cholesky(mats, names)
        P = _solve_identity(L, lower=True).transpose(0, 2, 1)
        if covariance_type == "tied":
            return expand_to_full(L[0], "tied", n_components, n_features), P[0]
        return L, P
    if (cov <= 0).any():
        k = int(np.argwhere(cov <= 0)[0][0])
        raise ValueError(f"the {covariance_type} variance of component {k} is not positive; "
                         f"increase reg_covar or scale the data")
    std = np.sqrt(cov)
    return expand_to_full(std, covariance_type, n_components, n_features), 1.0 / std


def compute_precision_cholesky(covariances: Any, covariance_type: str) -> np.ndarray:
    """Precision Cholesky factors ``P = L^{-T}`` of covariances (scikit-learn's ``precisions_cholesky_``).

    Parameters
    ----------
    covariances : array_like
        (K, D, D) full, (D, D) tied, (K, D) diag, (K,) spherical.
    covariance_type : {"full", "tied", "diag", "spherical"}

    Returns
    -------
    ndarray, same shape as ``covariances``
        Upper-triangular ``P_k`` with ``P_k P_k^T = Sigma_k^{-1}`` (full, tied); ``1 / sqrt(variance)``
        (diag, spherical).

    Raises
    ------
    ValueError
        If a covariance is not positive definite; the message names the component.
    """
    covariance_type = check_covariance_type(covariance_type)
    cov = np.asarray(covariances, dtype=np.float64)
    check_finite(cov, "covariances")
    n_components = 1 if covariance_type == "tied" else cov.shape[0]
    n_features = 1 if covariance_type == "spherical" else cov.shape[-1]
    return factorize(cov, covariance_type, n_components, n_features)[1]


def precisions_cholesky_from_precisions(precisions: Any, covariance_type: str) -> np.ndarray:
    """Precision Cholesky factors ``P`` (upper triangular, ``P P^T = Lambda``) from precision matrices.

    The Cholesky factor of the row-and-column-reversed matrix, reversed back, is upper triangular
    (scikit-learn's construction, so ``precisions_init`` means the same in both libraries).
    """
    covariance_type = check_covariance_type(covariance_type)
    prec = np.asarray(precisions, dtype=np.float64)
    if covariance_type in ("full", "tied"):
        mats = prec if covariance_type == "full" else prec[None]
        flipped = mats[:, ::-1, ::-1]
        names = ([f"precisions[{k}] (component {k})" for k in range(len(mats))]
                 if covariance_type == "full" else ["the tied precision"])
        U = _cholesky(np.ascontiguousarray(flipped), names)[:, ::-1, ::-1]
        return np.ascontiguousarray(U if covariance_type == "full" else U[0])
    if (prec <= 0).any():
        raise ValueError(f"{covariance_type} precisions must be positive")
    return np.sqrt(prec)


def covariances_from_precisions_cholesky(precisions_cholesky: np.ndarray, covariance_type: str
                                         ) -> tuple[np.ndarray, np.ndarray]:
    """Covariances (covariance_type's shape) and their full lower Cholesky factors ``L = P^{-T}``."""
    P = np.asarray(precisions_cholesky, dtype=np.float64)
    if covariance_type in ("full", "tied"):
        mats = P if covariance_type == "full" else P[None]
        L = _solve_identity(mats, lower=False).transpose(0, 2, 1)
        cov = L @ L.transpose(0, 2, 1)
        return (cov, L) if covariance_type == "full" else (cov[0], L[0])
    return 1.0 / P**2, 1.0 / P


def log_det_cholesky(factors: np.ndarray) -> np.ndarray | float:
    """``sum_d log T_dd`` of triangular factors ``T`` (..., D, D): half the log-determinant of ``T T^T``.

    The one log-determinant of the package: ``log det Sigma = 2 log_det_cholesky(L)`` for ``Sigma = L L^T``,
    and ``-2 log_det_cholesky(P)`` for a precision Cholesky ``P = L^{-T}``.
    """
    return np.log(np.diagonal(factors, axis1=-2, axis2=-1)).sum(axis=-1)


def log_normalizer(half_log_det: Any, n_features: int) -> Any:
    """``log`` of the Gaussian's normalising constant: ``-D/2 log(2 pi) - log det(Sigma) / 2``.

    ``half_log_det`` is ``log det(Sigma) / 2`` (:func:`log_det_cholesky` of the covariance's Cholesky
    factor); the log-density is this minus half the squared Mahalanobis distance.
    """
    return -0.5 * n_features * LOG_2PI - half_log_det


def compute_log_det_cholesky(matrix_chol: np.ndarray, covariance_type: str, n_features: int
                             ) -> np.ndarray:
    """``sum_d log P_dd`` per component (``= -log det(Sigma_k) / 2`` for a precision Cholesky)."""
    P = np.asarray(matrix_chol, dtype=np.float64)
    if covariance_type in ("full", "tied"):
        return log_det_cholesky(P)
    if covariance_type == "diag":
        return np.log(P).sum(axis=1)
    return n_features * np.log(P)


def checked_full_parameters(X: Any, pi: Any, mu: Any, Sigma: Any
                            ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Validate HW2-style (X, pi, mu, Sigma) with full covariances; returns float64 arrays."""
    X = check_data(X)
    pi = check_weights(pi)
    mu = check_means(mu, len(pi), X.shape[1])
    Sigma = check_covariances(Sigma, len(pi), X.shape[1], "full")
    return X, pi, mu, Sigma


def _logpdf(X: np.ndarray, mu_k: np.ndarray, L: np.ndarray) -> np.ndarray:
    """``log N(x_n | mu_k, L L^T)`` for every row of ``X`` (no checks): the formula of the lecture."""
    z = np.linalg.solve(L, (X - mu_k).T)  # (D, N): z_n = L^{-1} (x_n - mu_k), so |z_n|^2 is the Mahalanobis
    squared_distances = np.sum(z**2, axis=0)  # distance (x_n - mu_k)^T Sigma_k^{-1} (x_n - mu_k)
    return log_normalizer(log_det_cholesky(L), X.shape[1]) - 0.5 * squared_distances


def gaussian_logpdf(X: Any, mu_k: Any, Sigma_k: Any) -> np.ndarray:
    """Log-density of one Gaussian at every row of ``X``; broadcasting, no loop over points.

    ``log N(x | mu, Sigma) = -D/2 log(2 pi) - sum_d log L_dd - |z|^2 / 2`` with ``Sigma = L L^T`` and
    ``L z = x - mu``: a Cholesky factorisation and a triangular solve, never an inverse or a determinant.

    Parameters
    ----------
    X : array_like (N, D)
    mu_k : array_like (D,)
    Sigma_k : array_like (D, D)
        Symmetric positive definite.

    Returns
    -------
    ndarray (N,)
        ``log N(x_n | mu_k, Sigma_k)``.

    Raises
    ------
    ValueError
        On shape mismatches, NaN/inf, or a covariance that is not symmetric positive definite.
    """
    X = check_data(X)
    mu_k = check_mean(mu_k, X.shape[1])
    Sigma_k = check_covariance(Sigma_k, X.shape[1])
    L = factorize(Sigma_k[None], "full", 1, X.shape[1], name="Sigma_k", indexed=False)[0][0]
    return _logpdf(X, mu_k, L)


def log_joint(X: Any, pi: Any, mu: Any, Sigma: Any) -> np.ndarray:
    """``log pi_k + log N(x_n | mu_k, Sigma_k)`` for every sample and component (full covariances).

    Parameters
    ----------
    X : array_like (N, D)
    pi : array_like (K,)
        Mixing weights, summing to one.
    mu : array_like (K, D)
    Sigma : array_like (K, D, D)

    Returns
    -------
    ndarray (N, K)
        The log-joint ``log p(x_n, z_n = k)``; its row-wise :func:`~mlcourse.mixture.logsumexp` is
        ``log p(x_n)`` and its row-wise :func:`~mlcourse.mixture.softmax` the responsibilities. A zero
        weight gives ``-inf``.
    """
    X, pi, mu, Sigma = checked_full_parameters(X, pi, mu, Sigma)
    L = factorize(Sigma, "full", len(pi), X.shape[1], name="Sigma")[0]
    with np.errstate(divide="ignore"):  # log(0) = -inf: a component that can never be chosen
        log_pi = np.log(pi)
    return log_pi + np.stack([_logpdf(X, mu[k], L[k]) for k in range(len(pi))], axis=1)
