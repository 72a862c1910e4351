"""Input checks shared by the mixture code: every public function validates here, with messages that name
the argument, the expected shape and what was found, so a student (or a hidden test) sees *what* is wrong.

The numerical kernels (``_blocked``) never validate: they trust their callers.
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

COVARIANCE_TYPES = ("full", "tied", "diag", "spherical")


def check_data(X: Any, name: str = "X", min_samples: int = 1) -> np.ndarray:
    """Return ``X`` as a C-contiguous float64 array of shape (n_samples, n_features).

    Raises
    ------
    ValueError
        If ``X`` is not numeric, not 2-D, has fewer than ``min_samples`` rows or no columns, or holds NaN or
        infinite values.
    """
    try:
        arr = np.asarray(X, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be a numeric array of shape (n_samples, n_features): {exc}") from exc
    if arr.ndim == 1:
        raise ValueError(
            f"{name} must be 2-D of shape (n_samples, n_features), got a 1-D array of shape {arr.shape}; "
            f"use {name}.reshape(-1, 1) for one feature or {name}.reshape(1, -1) for one sample"
        )
    if arr.ndim != 2:
        raise ValueError(f"{name} must be 2-D of shape (n_samples, n_features), got shape {arr.shape}")
    if arr.shape[0] < min_samples:
        raise ValueError(f"{name} needs at least {min_samples} sample(s) (rows), got shape {arr.shape}")
    if arr.shape[1] == 0:
        raise ValueError(f"{name} needs at least one feature (column), got shape {arr.shape}")
    check_finite(arr, name)
    return np.ascontiguousarray(arr)


def check_finite(arr: np.ndarray, name: str) -> None:
    """Raise a ValueError naming the first NaN or infinite entry of ``arr``."""
    finite = np.isfinite(arr)
    if not finite.all():
        where = tuple(int(i) for i in np.argwhere(~finite)[0])
        kind = "NaN" if np.isnan(arr[where]) else "infinite"
        raise ValueError(f"{name} contains NaN or infinite values (first: {kind} at index {where})")


def check_int(value: Any, name: str, minimum: int) -> int:
    """Return ``value`` as an int, checking it is an integer >= ``minimum`` (bools are rejected)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value}")
    return int(value)


def check_nonnegative(value: Any, name: str) -> float:
    """Return ``value`` as a float, checking it is a finite real number >= 0."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not np.isfinite(value) \
            or value < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    return float(value)


def check_covariance_type(covariance_type: Any) -> str:
    """Return ``covariance_type`` if it is one of :data:`COVARIANCE_TYPES`."""
    if covariance_type not in COVARIANCE_TYPES:
        raise ValueError(
            f"unknown covariance_type {covariance_type!r}; choose one of {', '.join(COVARIANCE_TYPES)}"
        )
    return covariance_type


def check_n_components(n_components: Any, n_samples: int, name: str = "n_components") -> int:
    """Check 1 <= n_components <= n_samples."""
    k = check_int(n_components, name, 1)
    if k > n_samples:
        raise ValueError(
            f"{name}={k} is larger than the number of samples n_samples={n_samples}; "
            f"a mixture needs at least one sample per component"
        )
    return k


def _as_float_array(value: Any, name: str) -> np.ndarray:
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be a numeric array: {exc}") from exc
    return arr


def _check_shape(arr: np.ndarray, shape: tuple[int, ...], name: str, meaning: str) -> None:
    if arr.shape != shape:
        raise ValueError(f"{name} must have shape {shape} {meaning}, got shape {arr.shape}")


def check_weights(pi: Any, n_components: int | None = None, name: str = "pi") -> np.ndarray:
    """Mixing weights: shape (K,), finite, in [0, 1], summing to one (to 1e-8)."""
    arr = _as_float_array(pi, name)
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-D array of shape (K,), got shape {arr.shape}")
    if n_components is not None:
        _check_shape(arr, (n_components,), name, "(K,) with K components")
    check_finite(arr, name)
    if (arr < 0).any() or (arr > 1).any():
        raise ValueError(f"{name} must lie in [0, 1], got min {arr.min():.3g} and max {arr.max():.3g}")
    total = float(arr.sum())
    if abs(total - 1.0) > 1e-8:
        raise ValueError(f"{name} must sum to 1 (mixing weights), got sum {total:.10g}")
    return arr


def check_means(mu: Any, n_components: int, n_features: int, name: str = "mu") -> np.ndarray:
    """Component means: shape (K, D), finite."""
    arr = _as_float_array(mu, name)
    _check_shape(arr, (n_components, n_features), name, "(K, D): one mean per component")
    check_finite(arr, name)
    return arr


def check_mean(mu_k: Any, n_features: int, name: str = "mu_k") -> np.ndarray:
    """One mean vector: shape (D,), finite."""
    arr = _as_float_array(mu_k, name)
    _check_shape(arr, (n_features,), name, "(D,) matching the columns of X")
    check_finite(arr, name)
    return arr


def covariance_shape(covariance_type: str, n_components: int, n_features: int) -> tuple[int, ...]:
    """Shape of the covariance (or precision) parameters for ``covariance_type``."""
    return {
        "full": (n_components, n_features, n_features),
        "tied": (n_features, n_features),
        "diag": (n_components, n_features),
        "spherical": (n_components,),
    }[covariance_type]


def check_covariances(Sigma: Any, n_components: int, n_features: int, covariance_type: str = "full",
                      name: str = "Sigma") -> np.ndarray:
    """Covariance parameters of ``covariance_type``'s shape: finite, symmetric (full/tied), positive (diag,
    spherical). Positive definiteness of full matrices is checked by the Cholesky factorisation, which
    names the failing component."""
    arr = _as_float_array(Sigma, name)
    shape = covariance_shape(covariance_type, n_components, n_features)
    _check_shape(arr, shape, name, f"for covariance_type={covariance_type!r}")
    check_finite(arr, name)
    if covariance_type in ("full", "tied"):
        mats = arr.reshape(-1, n_features, n_features)
        scale = np.abs(mats).max(axis=(1, 2))
        asym = np.abs(mats - mats.transpose(0, 2, 1)).max(axis=(1, 2))
        bad = np.flatnonzero(asym > 1e-8 * np.maximum(scale, np.finfo(float).tiny))
        if bad.size:
            which = f"{name}[{bad[0]}]" if covariance_type == "full" else name
            raise ValueError(f"{which} is not symmetric (max |S - S.T| = {asym[bad[0]]:.3g}); "
                             "a covariance matrix must be symmetric positive definite")
    elif (arr <= 0).any():
        k = int(np.argwhere(arr <= 0)[0][0])
        raise ValueError(f"{name} must be positive ({covariance_type} variances); component {k} has "
                         f"a value <= 0. Increase reg_covar or scale the data.")
    return arr


def check_covariance(Sigma_k: Any, n_features: int, name: str = "Sigma_k") -> np.ndarray:
    """One full covariance matrix (D, D)."""
    arr = _as_float_array(Sigma_k, name)
    _check_shape(arr, (n_features, n_features), name, "(D, D) matching the columns of X")
    return check_covariances(arr[None], 1, n_features, "full", name=name)[0]


def check_responsibilities(gamma: Any, n_samples: int, name: str = "gamma") -> np.ndarray:
    """Responsibilities: shape (N, K), finite, non-negative, each row summing to one (to 1e-6)."""
    arr = _as_float_array(gamma, name)
    if arr.ndim != 2 or arr.shape[0] != n_samples or arr.shape[1] == 0:
        raise ValueError(f"{name} must have shape (N, K) with N={n_samples} rows (one per sample in X), "
                         f"got shape {arr.shape}")
    check_finite(arr, name)
    if (arr < 0).any():
        raise ValueError(f"{name} must be non-negative (responsibilities are probabilities)")
    sums = arr.sum(axis=1)
    bad = np.flatnonzero(np.abs(sums - 1.0) > 1e-6)
    if bad.size:
        raise ValueError(f"each row of {name} must sum to 1 (responsibilities are probabilities); row "
                         f"{bad[0]} sums to {sums[bad[0]]:.10g}")
    return np.ascontiguousarray(arr)


def check_random_state(random_state: Any) -> np.random.Generator:
    """A NumPy ``Generator`` from None, an int, a ``SeedSequence`` or a ``Generator``."""
    if isinstance(random_state, np.random.Generator):
        return random_state
    if random_state is None or isinstance(random_state, np.random.SeedSequence) or (
            isinstance(random_state, numbers.Integral) and not isinstance(random_state, bool)):
        return np.random.default_rng(random_state)
    raise ValueError(f"random_state must be None, an int or a numpy.random.Generator, got {random_state!r}")
