"""The estimator's fast path: cache-blocked kernels for the E-step and the M-step's sufficient statistics.

They compute what :mod:`.gaussian` and :mod:`.em` state plainly (the reference; tests hold the two equal to
1e-10), organised for speed. Everything :class:`~mlcourse.mixture.GaussianMixture` (and its building blocks
``estimate_log_gaussian_prob``, ``estimate_gaussian_parameters``) computes with data goes through these
passes over blocks of a few hundred to a few thousand samples:

``log_joint``
    ``log pi_k + log N(x | mu_k, Sigma_k)`` for all samples, (N, K).
``responsibilities``
    the E-step: responsibilities (N, K) and the total log-likelihood.
``em_statistics``
    one fused EM sweep (the estimator's iteration): E-step and the M-step's weighted sums in the same
    pass, so the (N, K) responsibilities never exist in memory.
``statistics_from_responsibilities``
    the M-step's weighted sums for given responsibilities (``m_step``, initialisation).

``parameters_from_statistics`` then finishes the M-step for any covariance type.

How the work is shaped (why it is fast):

* The data are stored once per fit as ``XT``: centred at their mean, transposed (D+1, N), with a row of ones.
  For each block, **one batched matrix product** ``A @ XT[:, block]`` whitens it for every component at once:
  with ``A_k = [P_k^T | -P_k^T mu_k]`` the result is ``y_k = P_k^T (x - mu_k)`` (identity covariance), and the
  squared norms of the ``y_k`` are the Mahalanobis distances.
* The M-step accumulates ``sum_n r_nk [y;1][y;1]^T`` -- again one batched product per block -- i.e. the
  scatter of each component *about its current mean, in whitened coordinates*. Converting back
  (``L_k (.) L_k^T``) and moving to the new mean is exact algebra, and it keeps the covariance update
  accurate however far the data sit from the origin (no ``E[xx^T] - mu mu^T`` cancellation).
* Blocks are small enough that the (K, D+1, block) buffers stay in cache; all temporaries are reused and
  every elementwise step is in place; log-space throughout
  (:func:`~mlcourse.mixture.stats.exp_normalize_`, the package's one log-sum-exp).
* BLAS is held to one thread inside the passes (and during ``GaussianMixture.fit`` / ``KMeans.fit``): the
  per-block products are small, and on few cores OpenBLAS's spinning worker threads otherwise fight the
  elementwise NumPy work for the CPU; on a loaded machine a tiny threaded BLAS call can even wait a whole
  scheduler time slice (~25 ms) for its worker.
* Responsibilities are floored at ``exp(-600)`` of each sample's largest inside the fit (never in the public
  E-step): far below float64 resolution, but it keeps the products out of slow subnormal arithmetic.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from typing import Any

import numpy as np

from mlcourse.mixture.em import COUNT_GUARD, covariances_of_type
from mlcourse.mixture.gaussian import expand_to_full, log_det_cholesky, log_normalizer
from mlcourse.mixture.stats import EXP_FLOOR, exp_normalize_

#: Target number of float64 entries of one (K, D+1, block) buffer (512 KiB): three of them stay in L2/L3.
_BUFFER_ENTRIES = 1 << 16
_MIN_BLOCK, _MAX_BLOCK = 256, 16384

_controller: Any = None


@contextmanager
def single_threaded_blas() -> Iterator[None]:
    """Limit BLAS to one thread for the duration (no-op when threadpoolctl is unavailable)."""
    global _controller
    if _controller is None:
        try:
            import scipy.linalg  # noqa: F401  (load SciPy's BLAS before taking the snapshot)
            from threadpoolctl import ThreadpoolController
            _controller = ThreadpoolController()
        except ImportError:  # pragma: no cover - threadpoolctl ships with scikit-learn
            _controller = False
    context = _controller.limit(limits=1, user_api="blas") if _controller else nullcontext()
    with context:
        yield


class Design:
    """The data, centred at their mean, transposed and augmented with a row of ones: ``XT`` (D+1, N).

    Built once per fit (one pass over X); every kernel reads blocks of columns of ``XT``.
    """

    __slots__ = ("XT", "n_features", "n_samples", "shift")

    def __init__(self, X: np.ndarray) -> None:
        n_samples, n_features = X.shape
        self.n_samples, self.n_features = n_samples, n_features
        self.shift = X.mean(axis=0)
        self.XT = np.empty((n_features + 1, n_samples))
        np.subtract(X.T, self.shift[:, None], out=self.XT[:n_features])
        self.XT[n_features] = 1.0

    def blocks(self, n_components: int) -> Iterator[tuple[int, int]]:
        """(start, stop) of consecutive blocks sized so one (K, D+1, block) buffer stays in cache."""
        size = int(np.clip(_BUFFER_ENTRIES // (n_components * (self.n_features + 1)),
                           _MIN_BLOCK, _MAX_BLOCK))
        for start in range(0, self.n_samples, size):
            yield start, min(start + size, self.n_samples)


@dataclass(frozen=True)
class Components:
    """Mixture parameters in full form, in the design's centred coordinates.

    Attributes
    ----------
    log_weights : (K,)
    means : (K, D)
        ``mu_k - shift``.
    prec_chol : (K, D, D)
        Precision Cholesky factors ``P_k`` (tied/diag/spherical expanded to full matrices).
    log_det : (K,)
        ``sum_d log (P_k)_dd`` = ``-log det(Sigma_k) / 2``.
    cov_chol : (K, D, D) or None
        ``L_k = P_k^{-T}``; needed only to turn whitened statistics back into covariances.
    """

    log_weights: np.ndarray
    means: np.ndarray
    prec_chol: np.ndarray
    log_det: np.ndarray
    cov_chol: np.ndarray | None = None

    def affine(self) -> np.ndarray:
        """``A`` (K, D, D+1): ``A_k [x; 1] = P_k^T (x - mu_k)``."""
        K, D = self.means.shape
        A = np.empty((K, D, D + 1))
        PT = self.prec_chol.transpose(0, 2, 1)
        A[:, :, :D] = PT
        A[:, :, D] = -np.einsum("kij,kj->ki", PT, self.means)
        return A

    def log_constants(self) -> np.ndarray:
        """``log pi_k + sum_d log P_dd - D/2 log 2 pi``: the log-joint without its ``-|y|^2/2`` part."""
        return self.log_weights + log_normalizer(-self.log_det, self.means.shape[1])


def components(means: np.ndarray, prec_chol: np.ndarray, covariance_type: str, weights: np.ndarray,
               shift: np.ndarray, cov_chol: np.ndarray | None = None) -> Components:
    """Package parameters of any covariance type as full-form kernel components (centred at ``shift``)."""
    n_components, n_features = means.shape
    P = expand_to_full(prec_chol, covariance_type, n_components, n_features)
    with np.errstate(divide="ignore"):  # a zero weight is a component that can never be chosen
        log_weights = np.log(np.asarray(weights, dtype=np.float64))
    return Components(log_weights=log_weights, means=means - shift, prec_chol=P, log_det=log_det_cholesky(P),
                      cov_chol=cov_chol)


class _Sweep:
    """Reusable per-pass buffers and the two block kernels (whiten + log-joint, accumulate statistics)."""

    def __init__(self, design: Design, comps: Components) -> None:
        K, D = comps.means.shape
        self.design, self.K, self.D = design, K, D
        self.A = comps.affine()
        self.const = comps.log_constants()
        size = max(stop - start for start, stop in design.blocks(K))
        self.y = np.empty((K, D + 1, size))
        self.y[:, D] = 1.0  # [y; 1]: the ones row makes the statistics carry N_k and sum(r y) too
        self.work = np.empty((K, D + 1, size))
        self.L = np.empty((K, size))

    def whiten(self, start: int, stop: int) -> np.ndarray:
        """``self.y[k] = [P_k^T (x - mu_k); 1]`` for the block's samples: one batched product."""
        y = self.y[:, :, :stop - start]
        np.matmul(self.A, self.design.XT[:, start:stop], out=y[:, :self.D])
        return y

    def log_joint(self, start: int, stop: int) -> np.ndarray:
        """Whiten the block into ``self.y`` and return its log-joint, (K, b), in a reused buffer."""
        b, D = stop - start, self.D
        y, sq, L = self.whiten(start, stop), self.work[:, :D, :b], self.L[:, :b]
        np.square(y[:, :D], out=sq)
        np.add.reduce(sq, axis=1, out=L)
        L *= -0.5
        L += self.const[:, None]
        return L

    def accumulate(self, R: np.ndarray, S: np.ndarray) -> None:
        """``S_k += sum_n R_kn [y_kn; 1][y_kn; 1]^T`` for the block currently in ``self.y``."""
        b = R.shape[1]
        y, work = self.y[:, :, :b], self.work[:, :, :b]
        np.multiply(R[:, None, :], y, out=work)
        S += np.matmul(work, y.transpose(0, 2, 1))


def log_joint(design: Design, comps: Components) -> np.ndarray:
    """``log pi_k + log N(x_n | mu_k, Sigma_k)``, (N, K)."""
    out = np.empty((design.n_samples, comps.means.shape[0]))
    with single_threaded_blas():
        sweep = _Sweep(design, comps)
        for start, stop in design.blocks(sweep.K):
            out[start:stop] = sweep.log_joint(start, stop).T
    return out


def responsibilities(design: Design, comps: Components) -> tuple[np.ndarray, float]:
    """E-step: responsibilities (N, K) and the total log-likelihood ``sum_n log p(x_n)``."""
    gamma = np.empty((design.n_samples, comps.means.shape[0]))
    loglik = 0.0
    with single_threaded_blas():
        sweep = _Sweep(design, comps)
        for start, stop in design.blocks(sweep.K):
            L = sweep.log_joint(start, stop)
            loglik += float(exp_normalize_(L, axis=0, finite=True).sum())
            gamma[start:stop] = L.T
    return gamma, loglik


def em_statistics(design: Design, comps: Components) -> tuple[float, np.ndarray]:
    """One fused EM sweep: total log-likelihood under ``comps`` and the whitened statistics ``S``.

    ``S`` (K, D+1, D+1) holds, for each component, ``sum_n r_nk [y;1][y;1]^T`` with ``y = P_k^T (x - mu_k)``
    (see :func:`parameters_from_statistics`). Responsibilities below ``exp(EXP_FLOOR)`` of a sample's largest
    are raised to that floor: invisible in float64 sums, and it keeps the arithmetic out of subnormals.
    """
    K, D = comps.means.shape
    S = np.zeros((K, D + 1, D + 1))
    loglik = 0.0
    with single_threaded_blas():
        sweep = _Sweep(design, comps)
        for start, stop in design.blocks(K):
            L = sweep.log_joint(start, stop)
            loglik += float(exp_normalize_(L, axis=0, floor=EXP_FLOOR, finite=True).sum())
            sweep.accumulate(L, S)
    return loglik, S


def statistics_from_responsibilities(design: Design, resp: np.ndarray) -> tuple[np.ndarray, Components]:
    """M-step statistics for given responsibilities (N, K): two passes, exact centring.

    Pass one computes ``N_k`` and the means; pass two accumulates the scatter about those means (identity
    whitening). Returns ``S`` and the components (means, ``cov_chol = I``) it is relative to.
    """
    K, D = resp.shape[1], design.n_features
    with single_threaded_blas():
        sums = design.XT @ resp  # (D+1, K): sum_n r_nk x_n and N_k
        means = (sums[:D] / (sums[D] + COUNT_GUARD)).T
        eye = np.broadcast_to(np.eye(D), (K, D, D))
        comps = Components(log_weights=np.zeros(K), means=means, prec_chol=eye, log_det=np.zeros(K),
                           cov_chol=eye)
        S = np.zeros((K, D + 1, D + 1))
        sweep = _Sweep(design, comps)
        for start, stop in design.blocks(K):
            sweep.whiten(start, stop)  # y = x - mu_k
            sweep.accumulate(np.ascontiguousarray(resp[start:stop].T), S)
    return S, comps


def parameters_from_statistics(S: np.ndarray, comps: Components, reg_covar: float,
                               covariance_type: str, shift: np.ndarray
                               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The M-step from whitened statistics: (nk, means, covariances in ``covariance_type``'s shape).

    With ``S_k = sum_n r_nk [y;1][y;1]^T``, ``y = L_k^{-1} (x - mu_k)``:
    ``N_k = S_k[D, D]`` (plus :data:`~mlcourse.mixture.em.COUNT_GUARD`); the new mean is
    ``mu_k + L_k sum(r y) / N_k``; the weighted scatter about it is
    ``L_k (sum(r y y^T) / N_k) L_k^T - delta delta^T``, reduced to ``covariance_type`` by
    :func:`~mlcourse.mixture.em.covariances_of_type` as in the reference M-step.
    """
    D = comps.means.shape[1]
    nk = S[:, D, D] + COUNT_GUARD
    L = comps.cov_chol
    delta = np.einsum("kij,kj->ki", L, S[:, :D, D] / nk[:, None])
    scatter = L @ (S[:, :D, :D] / nk[:, None, None]) @ L.transpose(0, 2, 1)
    scatter -= delta[:, :, None] * delta[:, None, :]
    means = comps.means + delta + shift
    return nk, means, covariances_of_type(scatter, nk, reg_covar, covariance_type)
