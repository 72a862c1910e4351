"""Seeded 2-D data sets of the lectures: the classic scikit-learn clustering comparisons.

Built on scikit-learn's generators with the parameters of its examples "Comparing different clustering
algorithms on toy datasets" (blobs, varied, aniso, moons, circles) and "Demonstration of k-means
assumptions" (unbalanced). The data are not standardised.
"""

from __future__ import annotations

import numbers

import numpy as np
from sklearn import datasets as _sk

__all__ = ["DATASET_NAMES", "make_dataset"]

DATASET_NAMES = ("blobs", "varied", "aniso", "unbalanced", "moons", "circles")

_ANISO_TRANSFORM = np.array([[0.6, -0.6], [-0.4, 0.8]])
_UNBALANCED_SHARES = np.array([500, 100, 10])  # cluster sizes of the k-means-assumptions example


def _unbalanced_sizes(n_samples: int) -> list[int]:
    sizes = np.maximum(np.floor(n_samples * _UNBALANCED_SHARES / _UNBALANCED_SHARES.sum()), 1).astype(int)
    sizes[0] += n_samples - sizes.sum()
    return sizes.tolist()


def make_dataset(name: str, n_samples: int = 500, random_state: int | None = 0
                 ) -> tuple[np.ndarray, np.ndarray]:
    """One of the lectures' synthetic 2-D clustering data sets.

    Parameters
    ----------
    name : {"blobs", "varied", "aniso", "unbalanced", "moons", "circles"}
        ``blobs``: three isotropic Gaussian blobs (``make_blobs``);
        ``varied``: three blobs with standard deviations 1.0, 2.5, 0.5;
        ``aniso``: three blobs sheared by ``[[0.6, -0.6], [-0.4, 0.8]]`` (elongated, correlated clusters);
        ``unbalanced``: three blobs with sizes in the ratio 500 : 100 : 10;
        ``moons``: two interleaving half circles (noise 0.05);
        ``circles``: two concentric circles (radius ratio 0.5, noise 0.05).
        The scikit-learn examples use ``random_state=170`` for varied/aniso/unbalanced and 30 for the rest.
    n_samples : int, default 500
        Total number of points (>= 3).
    random_state : int or None, default 0

    Returns
    -------
    X : ndarray (n_samples, 2) of float64
    y : ndarray (n_samples,) of int
        The generating cluster of each point.

    Raises
    ------
    ValueError
        For an unknown ``name`` (the message lists the valid ones) or ``n_samples < 3``.
    """
    if name not in DATASET_NAMES:
        raise ValueError(f"unknown dataset {name!r}; valid names are {', '.join(DATASET_NAMES)}")
    if isinstance(n_samples, bool) or not isinstance(n_samples, numbers.Integral) or n_samples < 3:
        raise ValueError(f"n_samples must be an integer >= 3, got {n_samples!r}")
    n_samples = int(n_samples)
    if name == "blobs":
        X, y = _sk.make_blobs(n_samples=n_samples, random_state=random_state)
    elif name == "varied":
        X, y = _sk.make_blobs(n_samples=n_samples, cluster_std=[1.0, 2.5, 0.5], random_state=random_state)
    elif name == "aniso":
        X, y = _sk.make_blobs(n_samples=n_samples, random_state=random_state)
        X = X @ _ANISO_TRANSFORM
    elif name == "unbalanced":
        X, y = _sk.make_blobs(n_samples=_unbalanced_sizes(n_samples), random_state=random_state)
    elif name == "moons":
        X, y = _sk.make_moons(n_samples=n_samples, noise=0.05, random_state=random_state)
    else:
        X, y = _sk.make_circles(n_samples=n_samples, factor=0.5, noise=0.05, random_state=random_state)
    return np.ascontiguousarray(X, dtype=np.float64), np.asarray(y, dtype=np.int64)
