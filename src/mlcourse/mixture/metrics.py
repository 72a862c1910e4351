"""Cluster-quality scores."""

from __future__ import annotations

from typing import Any

import numpy as np

from mlcourse.mixture._validation import check_data

__all__ = ["silhouette_samples", "silhouette_score"]

_BLOCK_ENTRIES = 1 << 21  # float64 entries of one (block, N, D) difference tensor (16 MiB)


def silhouette_samples(X: Any, labels: Any) -> np.ndarray:
    """Silhouette coefficient of every sample (Euclidean distance).

    ``s_n = (b_n - a_n) / max(a_n, b_n)``, with ``a_n`` the mean distance from ``x_n`` to the *other*
    points of its cluster and ``b_n`` the smallest mean distance to the points of another cluster. A point
    alone in its cluster has ``s_n = 0`` (Rousseeuw 1987; scikit-learn's convention).

    Returns
    -------
    ndarray (N,) in [-1, 1]
    """
    X = check_data(X)
    labels = np.asarray(labels)
    if labels.shape != (X.shape[0],):
        raise ValueError(f"labels must have shape (N,) = ({X.shape[0]},), got {labels.shape}")
    classes, codes = np.unique(labels, return_inverse=True)
    n_samples, n_labels = X.shape[0], len(classes)
    if not 2 <= n_labels <= n_samples - 1:
        raise ValueError(f"the silhouette needs 2 <= number of labels <= n_samples - 1; got {n_labels} "
                         f"label(s) for {n_samples} samples")
    counts = np.bincount(codes, minlength=n_labels)
    onehot = np.zeros((n_samples, n_labels))
    onehot[np.arange(n_samples), codes] = 1.0

    block = max(1, _BLOCK_ENTRIES // (n_samples * X.shape[1]))
    s = np.empty(n_samples)
    for start in range(0, n_samples, block):
        rows = slice(start, min(start + block, n_samples))
        distances = np.sqrt(((X[rows, None, :] - X[None, :, :]) ** 2).sum(axis=2))  # exact, no cancellation
        cluster_sums = distances @ onehot  # (b, n_labels): total distance to each cluster
        own = codes[rows]
        idx = np.arange(len(own))
        own_size = counts[own]
        a = cluster_sums[idx, own] / np.maximum(own_size - 1, 1)
        cluster_sums /= counts
        cluster_sums[idx, own] = np.inf
        b = cluster_sums.min(axis=1)
        denominator = np.maximum(a, b)
        with np.errstate(invalid="ignore", divide="ignore"):
            s_rows = np.where(denominator > 0, (b - a) / denominator, 0.0)
        s[rows] = np.where(own_size > 1, s_rows, 0.0)
    return s


def silhouette_score(X: Any, labels: Any) -> float:
    """Mean silhouette coefficient over all samples (see :func:`silhouette_samples`); higher is better."""
    return float(silhouette_samples(X, labels).mean())
