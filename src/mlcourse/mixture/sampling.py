"""Drawing samples from a Gaussian mixture (ancestral sampling)."""

from __future__ import annotations

from typing import Any

import numpy as np

from mlcourse.mixture._validation import (
    check_covariances,
    check_int,
    check_means,
    check_random_state,
    check_weights,
)
from mlcourse.mixture.gaussian import factorize

__all__ = ["sample_gmm"]


def sample_gmm(n: int, pi: Any, mu: Any, Sigma: Any, seed: Any = 0) -> tuple[np.ndarray, np.ndarray]:
    """Draw ``n`` samples from a Gaussian mixture: ``z ~ Categorical(pi)``, then ``x ~ N(mu_z, Sigma_z)``.

    Parameters
    ----------
    n : int
        Number of samples (>= 0).
    pi : array_like (K,)
    mu : array_like (K, D)
    Sigma : array_like (K, D, D)
        Symmetric positive definite.
    seed : int, numpy.random.Generator or None, default 0

    Returns
    -------
    X : ndarray (n, D)
    z : ndarray (n,) of int
        The component each sample was drawn from.

    Notes
    -----
    ``x = mu_z + L_z e`` with ``Sigma_z = L_z L_z^T`` (Cholesky) and ``e ~ N(0, I)``.
    """
    n = check_int(n, "n", 0)
    pi = check_weights(pi)
    mu = np.asarray(mu, dtype=np.float64)
    if mu.ndim != 2:
        raise ValueError(f"mu must have shape (K, D), got shape {mu.shape}")
    K, D = mu.shape
    mu = check_means(mu, len(pi), D)
    Sigma = check_covariances(Sigma, K, D, "full")
    L, _ = factorize(Sigma, "full", K, D, name="Sigma")
    rng = check_random_state(seed)
    z = rng.choice(K, size=n, p=pi / pi.sum())
    X = rng.standard_normal((n, D))
    for k in range(K):
        rows = z == k
        X[rows] = X[rows] @ L[k].T + mu[k]
    return X, z
