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


def exp_normalize_(a: np.ndarray, axis: int = -1, floor: float | None = None, finite: bool = False
                   ) -> np.ndarray:
    """The one log-sum-exp: in place, ``a <- exp(a) / sum(exp(a), axis)``; returns ``log sum(exp(a), axis)``.

    :func:`logsumexp` and :func:`softmax` are this on a copy; the EM kernels call it on their (K, block)
    buffers, so it makes no temporaries of ``a``'s size.

    Parameters
    ----------
    a : ndarray of float64
        Log-weights; overwritten with the normalised weights (a row of only ``-inf`` becomes NaN).
    axis : int, default -1
        The axis to reduce.
    floor : float, optional
        Shifted log-weights below it are raised to it before ``exp`` (see :data:`EXP_FLOOR`).
    finite : bool, default False
        The caller guarantees that every row has a finite maximum (the EM kernels' log-joint): skip the
        guard for rows of only ``-inf``.

    Returns
    -------
    ndarray
        ``a``'s shape without ``axis``: the log-sum-exp, ``-inf`` for a row of only ``-inf``.
    """
    m = a.max(axis=axis, keepdims=True)  # the shift: the largest term becomes exp(0) = 1
    finite = finite or bool(np.isfinite(m).all())
    if not finite:
        m[~np.isfinite(m)] = 0.0  # all -inf rows (and +inf) need no shift; avoids inf - inf
    a -= m
    if floor is not None:
        np.maximum(a, floor, out=a)
    np.exp(a, out=a)
    total = a.sum(axis=axis, keepdims=True)  # >= 1 where the shift was finite
    if finite:
        a /= total
        lse = np.log(total)
    else:
        with np.errstate(divide="ignore", invalid="ignore"):  # an all -inf row: log 0 = -inf, 0 / 0 = nan
            a /= total
            lse = np.log(total)
    lse += m
    return lse.squeeze(axis=axis)


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
    out = exp_normalize_(_as_array(a).copy(), axis=axis)
    return float(out) if out.ndim == 0 else out


def softmax(a: Any, axis: int = -1) -> np.ndarray:
    """Row-wise ``exp(a) / sum(exp(a), axis)``, computed as ``exp(a - max) / sum(exp(a - max))``.

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
    out = _as_array(a).copy()
    exp_normalize_(out, axis=axis)
    return out
