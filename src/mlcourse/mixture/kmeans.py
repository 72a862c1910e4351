"""k-means (Lloyd's algorithm) with k-means++ seeding.

k-means is EM with hard assignments: the "E-step" gives each point wholly to its nearest centre (a
responsibility of 0 or 1), the "M-step" moves each centre to the mean of its points. It is the limit of EM for
a mixture of spherical Gaussians with equal weights and a shared variance ``s^2 -> 0``. It also serves as the
default initialisation of :class:`~mlcourse.mixture.GaussianMixture`.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from mlcourse.mixture._blocked import single_threaded_blas
from mlcourse.mixture._validation import (
    check_data,
    check_int,
    check_n_components,
    check_nonnegative,
    check_random_state,
)

__all__ = ["KMeans", "kmeans", "kmeans_plusplus"]


def _squared_distances(X: np.ndarray, centers: np.ndarray, x_sq: np.ndarray | None = None) -> np.ndarray:
    """``|x_n - c_k|^2`` (N, K) via ``|x|^2 - 2 x.c + |c|^2`` (one matrix product), clipped at zero."""
    if x_sq is None:
        x_sq = np.einsum("nd,nd->n", X, X)
    d2 = X @ centers.T
    d2 *= -2.0
    d2 += x_sq[:, None]
    d2 += np.einsum("kd,kd->k", centers, centers)
    np.maximum(d2, 0.0, out=d2)
    return d2


def kmeans_plusplus(X: Any, n_clusters: int, *, random_state: Any = None,
                    n_local_trials: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Greedy k-means++ seeding (Arthur & Vassilvitskii 2007, as in scikit-learn).

    The first centre is a uniformly random point; each next one is chosen among ``n_local_trials``
    candidates drawn with probability proportional to the squared distance to the nearest centre so far,
    keeping the candidate that lowers the total squared distance most.

    Returns
    -------
    centers : ndarray (n_clusters, D)
    indices : ndarray (n_clusters,)
        Rows of ``X`` the centres were taken from.
    """
    X = check_data(X)
    n_samples = X.shape[0]
    n_clusters = check_n_components(n_clusters, n_samples, "n_clusters")
    rng = check_random_state(random_state)
    if n_local_trials is None:
        n_local_trials = 2 + int(math.log(n_clusters))
    x_sq = np.einsum("nd,nd->n", X, X)

    indices = np.empty(n_clusters, dtype=np.intp)
    indices[0] = rng.integers(n_samples)
    closest = _squared_distances(X, X[indices[:1]], x_sq)[:, 0]
    for c in range(1, n_clusters):
        potential = closest.sum()
        if potential <= 0:  # all points coincide with chosen centres: any unused point will do
            unused = np.setdiff1d(np.arange(n_samples), indices[:c])
            indices[c] = rng.choice(unused)
        else:
            draws = rng.uniform(size=n_local_trials) * potential
            candidates = np.minimum(np.searchsorted(np.cumsum(closest), draws), n_samples - 1)
            trial = np.minimum(closest[None, :], _squared_distances(X, X[candidates], x_sq).T)
            best = int(np.argmin(trial.sum(axis=1)))
            indices[c] = candidates[best]
        closest = np.minimum(closest, _squared_distances(X, X[indices[c:c + 1]], x_sq)[:, 0])
    return X[indices].copy(), indices


def _lloyd(X: np.ndarray, centers: np.ndarray, max_iter: int, tol: float
           ) -> tuple[np.ndarray, np.ndarray, float, int]:
    """Lloyd iterations from ``centers``: (centers, labels, inertia, n_iter)."""
    n_samples, n_features = X.shape
    K = centers.shape[0]
    x_sq = np.einsum("nd,nd->n", X, X)
    labels = np.full(n_samples, -1)
    centers = centers.copy()
    n_iter = 0
    while n_iter < max_iter:
        n_iter += 1
        # "E-step": each point to its nearest centre.
        d2 = _squared_distances(X, centers, x_sq)
        new_labels = np.argmin(d2, axis=1)
        if np.array_equal(new_labels, labels):
            break  # assignments are a fixed point: the centres cannot move any more
        labels = new_labels
        # "M-step": each centre to the mean of its points; an empty cluster takes the worst-served point.
        counts = np.bincount(labels, minlength=K)
        sums = np.stack([np.bincount(labels, weights=X[:, d], minlength=K) for d in range(n_features)],
                        axis=1)
        new_centers = centers.copy()
        filled = counts > 0
        new_centers[filled] = sums[filled] / counts[filled, None]
        if not filled.all():
            distance_to_own = d2[np.arange(n_samples), labels]
            far = np.argsort(distance_to_own)[::-1]
            for k, point in zip(np.flatnonzero(~filled), far, strict=False):
                new_centers[k] = X[point]
        shift = float(((new_centers - centers) ** 2).sum())
        centers = new_centers
        if shift <= tol:
            break
    labels = np.argmin(_squared_distances(X, centers, x_sq), axis=1)
    inertia = float(((X - centers[labels]) ** 2).sum())
    return centers, labels, inertia, n_iter


def _resolve_init(X: np.ndarray, n_clusters: int, init: Any, n_init: Any) -> tuple[Any, int]:
    if isinstance(init, str):
        if init not in ("k-means++", "random"):
            raise ValueError(f"init must be 'k-means++', 'random' or an array of centres, got {init!r}")
        if n_init == "auto":
            n_init = 1 if init == "k-means++" else 10
        return init, check_int(n_init, "n_init", 1)
    centers = np.asarray(init, dtype=np.float64)
    if centers.shape != (n_clusters, X.shape[1]):
        raise ValueError(f"init centres must have shape {(n_clusters, X.shape[1])}, got {centers.shape}")
    if not np.isfinite(centers).all():
        raise ValueError("init centres contain NaN or infinite values")
    return centers, 1


def kmeans(X: Any, n_clusters: int, *, init: Any = "k-means++", n_init: int | str = "auto",
           max_iter: int = 300, tol: float = 1e-4, random_state: Any = None
           ) -> tuple[np.ndarray, np.ndarray, float]:
    """k-means clustering by Lloyd's algorithm; the best of ``n_init`` runs (lowest inertia).

    Parameters
    ----------
    X : array_like (N, D)
    n_clusters : int
    init : {"k-means++", "random"} or array_like (n_clusters, D), default "k-means++"
        Seeding: greedy k-means++, ``n_clusters`` distinct random points, or given centres.
    n_init : int or "auto", default "auto"
        Number of seeded runs: "auto" is 1 for k-means++ or given centres, 10 for random.
    max_iter : int, default 300
    tol : float, default 1e-4
        Stop when the centres move by less than ``tol`` times the mean per-feature variance of X (squared
        Frobenius norm, as scikit-learn), or when the assignments no longer change.
    random_state : int, Generator or None

    Returns
    -------
    centers : ndarray (n_clusters, D)
    labels : ndarray (N,) of int
    inertia : float
        ``sum_n |x_n - c_{label_n}|^2``.
    """
    result = KMeans(n_clusters, init=init, n_init=n_init, max_iter=max_iter, tol=tol,
                    random_state=random_state).fit(X)
    return result.cluster_centers_, result.labels_, result.inertia_


class KMeans:
    """k-means estimator (Lloyd's algorithm), mirroring scikit-learn's ``KMeans``.

    Parameters
    ----------
    n_clusters : int, default 8
    init, n_init, max_iter, tol, random_state
        As in :func:`kmeans`.

    Attributes
    ----------
    cluster_centers_ : ndarray (n_clusters, D)
    labels_ : ndarray (N,)
    inertia_ : float
    n_iter_ : int
    """

    def __init__(self, n_clusters: int = 8, *, init: Any = "k-means++", n_init: int | str = "auto",
                 max_iter: int = 300, tol: float = 1e-4, random_state: Any = None) -> None:
        self.n_clusters = n_clusters
        self.init = init
        self.n_init = n_init
        self.max_iter = max_iter
        self.tol = tol
        self.random_state = random_state

    def __repr__(self) -> str:
        return f"KMeans(n_clusters={self.n_clusters}, init={self.init!r}, n_init={self.n_init!r})"

    def fit(self, X: Any, y: Any = None) -> KMeans:
        """Cluster ``X``; sets ``cluster_centers_``, ``labels_``, ``inertia_``, ``n_iter_``."""
        X = check_data(X)
        n_clusters = check_n_components(self.n_clusters, X.shape[0], "n_clusters")
        max_iter = check_int(self.max_iter, "max_iter", 1)
        tol = check_nonnegative(self.tol, "tol") * float(np.var(X, axis=0).mean())
        init, n_init = _resolve_init(X, n_clusters, self.init, self.n_init)
        rng = check_random_state(self.random_state)
        best = None
        with single_threaded_blas():
            for _ in range(n_init):
                if isinstance(init, np.ndarray):
                    start = init
                elif init == "k-means++":
                    start = kmeans_plusplus(X, n_clusters, random_state=rng)[0]
                else:
                    start = X[rng.choice(X.shape[0], size=n_clusters, replace=False)]
                run = _lloyd(X, start, max_iter, tol)
                if best is None or run[2] < best[2]:
                    best = run
        self.cluster_centers_, self.labels_, self.inertia_, self.n_iter_ = best
        return self

    def predict(self, X: Any) -> np.ndarray:
        """Index of the nearest centre for each row of ``X``."""
        if not hasattr(self, "cluster_centers_"):
            raise ValueError("this KMeans instance is not fitted yet; call fit(X) first")
        X = check_data(X)
        if X.shape[1] != self.cluster_centers_.shape[1]:
            raise ValueError(f"X has {X.shape[1]} features, but KMeans was fitted with "
                             f"{self.cluster_centers_.shape[1]}")
        return np.argmin(_squared_distances(X, self.cluster_centers_), axis=1)

    def fit_predict(self, X: Any, y: Any = None) -> np.ndarray:
        """``fit(X).labels_``."""
        return self.fit(X).labels_
