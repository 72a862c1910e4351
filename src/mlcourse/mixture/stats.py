"""Numerically stable log-sum-exp and softmax: the two reductions every log-space E-step needs.

``log sum_k exp(a_k) = m + log sum_k exp(a_k - m)`` with ``m = max_k a_k``: after the shift the largest term
is ``exp(0) = 1``, so nothing overflows, and the terms that underflow to 0 are the ones that cannot matter.
"""

from __future__ import annotations

from typing import Any

import numpy as np

#: Log-responsibilities below this (relative to a row's largest) are raised to it before ``exp`` inside the
#: EM kernels: ``exp(-600) ~ 2.7e-261`` is far below anything float64 arithmetic can see next to 1, but keeps
#: the products ``r * x * x`` out of the subnormal range, where x86 arithmetic is ~100x slower.
EXP_FLOOR = -600.0


def _as_array(a: Any) -> np.ndarray:
    arr = np.asarray(a, dtype=np.float64)
    if arr.ndim == 0 or arr.size == 0:
        raise ValueError(f"expected a non-empty array with at least one axis, got shape {arr.shape}")
    return arr


def logsumexp(a: Any, axis: int = -1) -> np.ndarray | float:
    """Row-wise ``log(sum(exp(a), axis))`` without overflow or underflow.

    Parameters
    ----------
    a : array_like, shape (N, K) (or any shape)
        Values in log-space; ``-inf`` entries contribute nothing.
    axis : int, default -1
        The axis to reduce (the components, for an (N, K) log-joint).

    Returns
    -------
    ndarray of shape (N,)
        ``a``'s shape without ``axis``; a float for 1-D input. A row of only ``-inf`` gives ``-inf``.

    Examples
    --------
    >>> logsumexp(np.array([[1e4, 1e4], [-1e4, -1e4]]))   # naive exp overflows / underflows
    array([ 10000.69314718, -9999.30685282])
    """
    arr = _as_array(a)
    m = np.max(arr, axis=axis, keepdims=True)
    m[~np.isfinite(m)] = 0.0  # all -inf rows (and +inf) need no shift; avoids inf - inf
    with np.errstate(divide="ignore"):  # log(0) = -inf is the right answer for an all -inf row
        out = np.log(np.sum(np.exp(arr - m), axis=axis, keepdims=True)) + m
    out = np.squeeze(out, axis=axis)
    return float(out) if out.ndim == 0 else out


def softmax(a: Any, axis: int = -1) -> np.ndarray:
    """Row-wise ``exp(a) / sum(exp(a), axis)``, computed as ``exp(a - logsumexp(a))``.

    Parameters
    ----------
    a : array_like, shape (N, K)
        Log-weights, e.g. the log-joint ``log pi_k + log N(x_n | mu_k, Sigma_k)``.
    axis : int, default -1
        The axis that sums to one.

    Returns
    -------
    ndarray of shape (N, K)
        Non-negative, each row summing to one (the responsibilities, for a log-joint).
    """
    arr = _as_array(a)
    lse = np.expand_dims(np.asarray(logsumexp(arr, axis=axis)), axis)
    return np.exp(arr - lse)


def normalize_exp_columns_(L: np.ndarray, floor: float | None = EXP_FLOOR) -> np.ndarray:
    """In place, for the EM kernels: turn log-weights ``L`` (K, b) into column-wise softmax probabilities.

    Returns the column-wise log-sum-exp, shape (b,). Same mathematics as :func:`logsumexp` and
    :func:`softmax`, but with no temporaries of ``L``'s size and entries assumed finite; with ``floor``,
    shifted log-weights below it are raised to it first (see :data:`EXP_FLOOR`).
    """
    m = L.max(axis=0)
    L -= m
    if floor is not None:
        np.maximum(L, floor, out=L)
    np.exp(L, out=L)
    total = L.sum(axis=0)
    L /= total
    return np.log(total) + m
