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

* The data are stored once per fit as ``XT``: a row of ones, then the data centred at their mean,
  transposed: (D+1, N). For each block, batched matrix products ``A @ XT[:, block]`` whiten it for every
  component at once: with ``A_k = [-P_k^T mu_k | P_k^T]`` the result is ``y_k = P_k^T (x - mu_k)`` (identity
  covariance), and the squared norms of the ``y_k`` (one ``einsum`` pass) are the Mahalanobis distances.
  ``P_k^T`` is lower triangular, so rows ``[lo, hi)`` of ``y_k`` need only the first ``hi + 1`` rows of
  ``XT``: the rows are whitened in bands of about :data:`_BAND` rows, one product each, which skips most
  of the multiply-adds with the zero triangle (a third of all of them at D = 16) for a few more calls.
* The M-step accumulates ``sum_n r_nk [y;1][y;1]^T`` -- again batched products per block -- i.e. the
  scatter of each component *about its current mean, in whitened coordinates*. The matrix is symmetric:
  the products compute its lower triangle in bands of about :data:`_BAND` columns (each band from its
  diagonal down; 63% of the matrix at D = 16) and the upper triangle is mirrored once per pass.
  Converting back (``L_k (.) L_k^T``) and moving to the new mean is exact algebra, and it keeps the
  covariance update accurate however far the data sit from the origin (no ``E[xx^T] - mu mu^T``
  cancellation).
* Blocks are small enough that the (D+1, K, block) buffers stay in cache, and they are made once per fit
  (:meth:`Design.scratch`); all temporaries are reused and every elementwise step is in place; log-space
  throughout (:func:`~mlcourse.mixture.stats.exp_normalize_`, the package's one log-sum-exp).
* BLAS is held to one thread inside the passes (and during ``GaussianMixture.fit`` / ``KMeans.fit``): the
  per-block products are small, and on few cores OpenBLAS's spinning worker threads otherwise fight the
  elementwise NumPy work for the CPU; on a loaded machine a tiny threaded BLAS call can even wait a whole
  scheduler time slice (~25 ms) for its worker.
* Instead, the fused EM sweep cuts its blocks into fixed chunks, each summed into its own accumulator;
  the chunks' sums are added in chunk order at the end. For large problems (enough work and at least
  :data:`_MIN_SHARED_CHUNKS` chunks), when the machine has a CPU to spare (two or more, load below their
  number), a worker thread takes chunks too (NumPy releases the GIL inside every product and elementwise
  loop):
  the two threads claim the next chunk in turn, and the calling thread never waits for the worker (a
  chunk the worker has not finished when the rest are done is summed again by the calling thread), so a
  worker that gets no CPU on a busy machine costs next to nothing. Which thread sums a chunk never changes
  its value, so the results are the same bit for bit with or without the worker (:data:`THREADS` sets the
  most threads a sweep uses).
* Responsibilities are floored at ``exp(-600)`` of each sample's largest inside the fit (never in the public
  E-step): far below float64 resolution, but it keeps the products out of slow subnormal arithmetic.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from functools import cached_property, lru_cache
from itertools import pairwise
from typing import Any, TypeVar

import numpy as np

from mlcourse.mixture.em import COUNT_GUARD, covariances_of_type
from mlcourse.mixture.gaussian import expand_to_full, log_det_cholesky, log_normalizer
from mlcourse.mixture.stats import EXP_FLOOR, exp_normalize_

#: Target number of float64 entries of one (D+1, K, block) buffer (2 MiB; the two of a sweep stay in L3).
#: Measured on 2-core AMD EPYC (1 MiB L2): 0.5 and 1 MiB buffers were 5-15% slower at D = 16 (more, shorter
#: products and more Python calls per sweep), 3-4 MiB slower again.
_BUFFER_ENTRIES = 1 << 18
_MIN_BLOCK, _MAX_BLOCK = 256, 16384
#: A block may grow by up to this factor to take in what would otherwise be a short last block (one pass of
#: Python calls fewer: N = 10,000 at K = 8, D = 16 is five blocks of 2,000, not five of 1,927 and one of 365).
_BLOCK_SLACK = 1.25
#: Rows per band of the whitening products and columns per band of the statistics products. Narrower
#: bands skip more of the zero (whitening) or mirrored (statistics) triangle but make more, smaller
#: products; measured at D = 16 (2-core AMD EPYC), four bands per matrix beat one, two, three and six.
_BAND = 4

#: The most threads one EM sweep uses (1: always in the calling thread). The results do not depend on it.
THREADS = 2
#: ``N K (D+1)^2`` below which a sweep stays in the calling thread: waking a worker for a small problem
#: costs more (~50 us) than it saves.
_THREAD_WORK = 4_000_000
#: At most this many chunks per sweep (each has a (K, D+1, D+1) accumulator); at least one block each.
_MAX_CHUNKS = 64
#: A sweep of fewer chunks stays in the calling thread. The calling thread redoes the chunk the worker still
#: holds at the end, so with few, long chunks (N = 10,000 at D = 16 is 2 to 5 blocks) a worker that loses
#: its CPU for a moment costs a fifth of the sweep or more, and the two threads' handovers cost more than
#: they save: measured slower than one thread on the 2-core machine at N = 10,000.
_MIN_SHARED_CHUNKS = 8

_controller: Any = None
_blas_depth = 0  # how many single_threaded_blas contexts are open (only the outermost sets the limits)
_blas_lock = threading.Lock()
_executor: tuple[int, ThreadPoolExecutor] | None = None  # (the pid that made it, the pool): not across fork
T = TypeVar("T")


@contextmanager
def single_threaded_blas() -> Iterator[None]:
    """Limit BLAS to one thread for the duration (no-op when threadpoolctl is unavailable).

    Re-entrant: inside another ``single_threaded_blas`` (``GaussianMixture.fit`` around its sweeps) it does
    nothing, since setting and restoring the limits costs ~0.3 ms, a tenth of a small EM iteration.
    """
    global _controller, _blas_depth
    if _controller is None:
        try:
            import scipy.linalg  # noqa: F401  (load SciPy's BLAS before taking the snapshot)
            from threadpoolctl import ThreadpoolController
            _controller = ThreadpoolController()
        except ImportError:  # pragma: no cover - threadpoolctl ships with scikit-learn
            _controller = False
    with _blas_lock:
        outermost = _blas_depth == 0
        _blas_depth += 1
    try:
        context = _controller.limit(limits=1, user_api="blas") if _controller and outermost else nullcontext()
        with context:
            yield
    finally:
        with _blas_lock:
            _blas_depth -= 1


def _spare_cpu() -> bool:
    """Whether a second CPU is likely free: this process may run on two or more, and the machine's load
    (runnable threads, averaged over the last minute) is below their number. On a busy machine a second
    thread of ours would only take turns with the first on the same CPU."""
    try:
        cpus = len(os.sched_getaffinity(0))
        load = os.getloadavg()[0]
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        return False
    return cpus >= 2 and load < cpus


def _worker() -> ThreadPoolExecutor | None:
    """This process's one-thread pool that helps with sweeps; None when ``THREADS < 2`` or no CPU is free."""
    global _executor
    if THREADS < 2 or not _spare_cpu():
        return None
    if _executor is None or _executor[0] != os.getpid():  # a forked child must not wait on its parent's
        _executor = (os.getpid(), ThreadPoolExecutor(max_workers=1, thread_name_prefix="mlcourse-em"))
    return _executor[1]


def _share(task: Callable[[int, int], T], n_tasks: int, work: int) -> list[T]:
    """``[task(slot, i) for i in range(n_tasks)]``, shared with the worker thread when it pays.

    The calling thread (``slot`` 0) and, when ``work`` is large enough, there are at least
    :data:`_MIN_SHARED_CHUNKS` tasks and :func:`_worker` gives one, the worker thread (``slot`` 1) claim
    the next ``i`` in turn. The calling thread never waits for the worker:
    a task the worker has claimed but not finished when the calling thread runs out of tasks (the worker
    may have no CPU at all on a busy machine) is computed again by the calling thread, and the first value
    kept. So ``task`` must give the same value whichever thread computes it; ``slot`` only tells it whose
    buffers it may use.
    """
    lock = threading.Lock()
    values: list[Any] = [None] * n_tasks
    done = [False] * n_tasks
    claimed = [0]

    def claim() -> int:
        with lock:
            i = claimed[0]
            claimed[0] = min(i + 1, n_tasks)
            return i

    def keep(i: int, value: T) -> None:
        with lock:
            if not done[i]:
                values[i], done[i] = value, True

    def run(slot: int) -> None:
        while (i := claim()) < n_tasks:
            keep(i, task(slot, i))

    worker = _worker() if work >= _THREAD_WORK and n_tasks >= _MIN_SHARED_CHUNKS else None
    if worker is not None:
        try:
            worker.submit(run, 1)
        except RuntimeError:  # no thread can be started (process limits, interpreter shutting down)
            pass
    try:
        run(0)
        for i in range(n_tasks):  # what the worker still holds: do it here rather than wait
            if not done[i]:
                keep(i, task(0, i))
    finally:
        with lock:
            claimed[0] = n_tasks  # after a failure too: nothing more for the worker to claim
    return values


class Design:
    """The data, centred at their mean, transposed and led by a row of ones: ``XT`` (D+1, N).

    Built once per fit (one pass over X); every kernel reads blocks of columns of ``XT``: row 0 is all
    ones, rows ``1..D`` are ``(x - shift)^T``.
    """

    __slots__ = ("XT", "_scratch", "n_features", "n_samples", "shift")

    def __init__(self, X: np.ndarray) -> None:
        n_samples, n_features = X.shape
        self.n_samples, self.n_features = n_samples, n_features
        self._scratch: dict[tuple[int, int], tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
        self.shift = X.mean(axis=0)
        self.XT = np.empty((n_features + 1, n_samples))
        self.XT[0] = 1.0
        np.subtract(X.T, self.shift[:, None], out=self.XT[1:])

    def _n_blocks(self, n_components: int) -> int:
        target = max(_BUFFER_ENTRIES // (n_components * (self.n_features + 1)), _MIN_BLOCK)
        return max(-(-self.n_samples // int(target * _BLOCK_SLACK)), -(-self.n_samples // _MAX_BLOCK), 1)

    def block_size(self, n_components: int) -> int:
        """Samples per block (the longest): one (D+1, K, block) buffer stays in cache (up to
        :data:`_BLOCK_SLACK` times the target, so that the blocks come out even); never more than N."""
        return max(1, -(-self.n_samples // self._n_blocks(n_components)))

    def scratch(self, slot: int, n_components: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Block buffers ``(y, work, L)`` for the sweeps of one thread (``slot``), kept for the whole fit:
        fresh megabyte buffers every iteration would cost their page faults again each time.

        ``y`` (D+1, K, block) has its last row set to ones (the kernels never write it), ``work`` is the same
        shape, ``L`` (K, block). Feature-major: the responsibilities (K, block) scale each of the D+1 rows
        ``y[d]`` as one contiguous run, and each component's (D+1, block) matrix ``y[:, k]`` is still an
        ordinary BLAS operand (leading dimension K * block).
        """
        key = (slot, n_components)
        if key not in self._scratch:
            K, D, size = n_components, self.n_features, self.block_size(n_components)
            y = np.empty((D + 1, K, size))
            y[D] = 1.0
            self._scratch[key] = (y, np.empty((D + 1, K, size)), np.empty((K, size)))
        return self._scratch[key]

    def blocks(self, n_components: int) -> Iterator[tuple[int, int]]:
        """(start, stop) of consecutive blocks of (nearly) equal length, at most :meth:`block_size`."""
        n_blocks = self._n_blocks(n_components)
        for i in range(n_blocks):
            yield self.n_samples * i // n_blocks, self.n_samples * (i + 1) // n_blocks


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
        """``A`` (K, D, D+1): ``A_k [1; x] = P_k^T (x - mu_k)``."""
        K, D = self.means.shape
        A = np.empty((K, D, D + 1))
        PT = self.prec_chol.transpose(0, 2, 1)
        A[:, :, 1:] = PT
        A[:, :, 0] = -np.einsum("kij,kj->ki", PT, self.means)
        return A

    def log_constants(self) -> np.ndarray:
        """``log pi_k + sum_d log P_dd - D/2 log 2 pi``: the log-joint without its ``-|y|^2/2`` part."""
        return self.log_weights + log_normalizer(-self.log_det, self.means.shape[1])

    @cached_property
    def whitening(self) -> list[tuple[int, int, np.ndarray]]:
        """Bands ``(lo, hi, A[:, lo:hi, :hi+1])`` for :meth:`_Sweep.whiten`, computed once for all its sweeps.

        ``P_k^T`` is lower triangular (always, unless a caller passed other factors), so rows ``[lo, hi)``
        of ``y_k`` need only ``[1; x_1 .. x_hi]``; factors that are not triangular whiten in one band, the
        plain product.
        """
        A = self.affine()
        D = self.means.shape[1]
        upper = not self.prec_chol[:, _strictly_lower(D)].any()
        return [(lo, hi, np.ascontiguousarray(A[:, lo:hi, :hi + 1])) for lo, hi in (_bands(D) if upper
                                                                                    else ((0, D),))]


@lru_cache(maxsize=64)
def _bands(n: int) -> tuple[tuple[int, int], ...]:
    """``range(n)`` cut into consecutive bands ``(lo, hi)`` of about :data:`_BAND`."""
    count = max(1, round(n / _BAND))
    cuts = [round(n * i / count) for i in range(count + 1)]
    return tuple(pairwise(cuts))


@lru_cache(maxsize=64)
def _strictly_lower(n: int) -> np.ndarray:
    """Boolean (n, n) mask of the entries below the diagonal."""
    mask = np.tri(n, n, -1, dtype=bool)
    mask.setflags(write=False)
    return mask


@lru_cache(maxsize=64)
def _upper_indices(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Row and column indices of the entries above the diagonal of an (n, n) matrix."""
    return np.triu_indices(n, 1)


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
    """Reusable per-pass buffers and the block kernels (whiten + log-joint, accumulate statistics)."""

    def __init__(self, design: Design, comps: Components, slot: int = 0) -> None:
        K, D = comps.means.shape
        self.design, self.K, self.D = design, K, D
        self.bands = comps.whitening
        self.const = comps.log_constants()
        # y holds [y; 1]: the ones row makes the statistics carry N_k and sum(r y) too
        self.y, self.work, self.L = design.scratch(slot, K)
        # S is symmetric: each band of columns [lo, hi) from its diagonal down; _mirror() fills the rest.
        self.columns = [(lo, hi, np.empty((K, D + 1 - lo, hi - lo))) for lo, hi in _bands(D + 1)]

    def whiten(self, start: int, stop: int) -> np.ndarray:
        """``self.y[:, k] = [P_k^T (x - mu_k); 1]`` for the block's samples (batched products); returns the
        block's (D+1, K, b) view."""
        y, XT = self.y[:, :, :stop - start], self.design.XT[:, start:stop]
        per_component = y.transpose(1, 0, 2)
        for lo, hi, A in self.bands:
            np.matmul(A, XT[:hi + 1], out=per_component[:, lo:hi])
        return y

    def log_joint(self, start: int, stop: int) -> np.ndarray:
        """Whiten the block into ``self.y`` and return its log-joint, (K, b), in a reused buffer."""
        D = self.D
        y, L = self.whiten(start, stop), self.L[:, :stop - start]
        np.einsum("dkn,dkn->kn", y[:D], y[:D], out=L)  # |y|^2 in one pass, no temporary
        L *= -0.5
        L += self.const[:, None]
        return L

    def accumulate(self, R: np.ndarray, S: np.ndarray) -> None:
        """``S_k += sum_n R_kn [y_kn; 1][y_kn; 1]^T`` for the block in ``self.y`` (the lower triangle and
        parts of the upper one; :func:`_mirror` completes the upper triangle once the sweep is done)."""
        b = R.shape[1]
        y, work = self.y[:, :, :b], self.work[:, :, :b]
        np.multiply(y, R, out=work)
        y, work = y.transpose(1, 0, 2), work.transpose(1, 0, 2)  # (K, D+1, b) views
        for lo, hi, out in self.columns:
            S[:, lo:, lo:hi] += np.matmul(work[:, lo:], y[:, lo:hi].transpose(0, 2, 1), out=out)


def _mirror(S: np.ndarray) -> np.ndarray:
    """Complete statistics of :meth:`_Sweep.accumulate`: the upper triangle from the lower one."""
    rows, cols = _upper_indices(S.shape[-1])
    S[:, rows, cols] = S[:, cols, rows]
    return S


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


def _em_chunk(sweep: _Sweep, blocks: Sequence[tuple[int, int]]) -> tuple[float, np.ndarray]:
    """The fused sweep over some blocks (with ``sweep``'s buffers): the log-likelihood of their samples and
    their statistics (upper triangle not complete)."""
    S = np.zeros((sweep.K, sweep.D + 1, sweep.D + 1))
    loglik = 0.0
    for start, stop in blocks:
        L = sweep.log_joint(start, stop)
        loglik += float(exp_normalize_(L, axis=0, floor=EXP_FLOOR, finite=True).sum())
        sweep.accumulate(L, S)
    return loglik, S


def em_statistics(design: Design, comps: Components) -> tuple[float, np.ndarray]:
    """One fused EM sweep: total log-likelihood under ``comps`` and the whitened statistics ``S``.

    ``S`` (K, D+1, D+1) holds, for each component, ``sum_n r_nk [y;1][y;1]^T`` with ``y = P_k^T (x - mu_k)``
    (see :func:`parameters_from_statistics`). Responsibilities below ``exp(EXP_FLOOR)`` of a sample's largest
    are raised to that floor: invisible in float64 sums, and it keeps the arithmetic out of subnormals.
    The blocks are summed in fixed chunks, added in order at the end (two threads may share the chunks; see
    the module docstring): the same values whichever thread summed which chunk.
    """
    K, D = comps.means.shape
    blocks = list(design.blocks(K))
    per_chunk = -(-len(blocks) // _MAX_CHUNKS)
    chunks = [blocks[i:i + per_chunk] for i in range(0, len(blocks), per_chunk)]
    sweeps: dict[int, _Sweep] = {}  # one per thread (slot), made when that thread takes its first chunk

    def chunk(slot: int, i: int) -> tuple[float, np.ndarray]:
        sweep = sweeps.get(slot)
        if sweep is None:
            sweep = sweeps[slot] = _Sweep(design, comps, slot)
        return _em_chunk(sweep, chunks[i])

    with single_threaded_blas():
        sums = _share(chunk, len(chunks), work=design.n_samples * K * (D + 1) ** 2)
    loglik, S = sums[0][0], sums[0][1].copy()
    for chunk_loglik, chunk_S in sums[1:]:
        loglik += chunk_loglik
        S += chunk_S
    return loglik, _mirror(S)


def statistics_from_responsibilities(design: Design, resp: np.ndarray) -> tuple[np.ndarray, Components]:
    """M-step statistics for given responsibilities (N, K): two passes, exact centring.

    Pass one computes ``N_k`` and the means; pass two accumulates the scatter about those means (identity
    whitening). Returns ``S`` and the components (means, ``cov_chol = I``) it is relative to.
    """
    K, D = resp.shape[1], design.n_features
    with single_threaded_blas():
        sums = design.XT @ resp  # (D+1, K): N_k and sum_n r_nk x_n
        means = (sums[1:] / (sums[0] + COUNT_GUARD)).T
        eye = np.broadcast_to(np.eye(D), (K, D, D))
        comps = Components(log_weights=np.zeros(K), means=means, prec_chol=eye, log_det=np.zeros(K),
                           cov_chol=eye)
        S = np.zeros((K, D + 1, D + 1))
        sweep = _Sweep(design, comps)
        for start, stop in design.blocks(K):
            sweep.whiten(start, stop)  # y = x - mu_k
            sweep.accumulate(np.ascontiguousarray(resp[start:stop].T), S)
    return _mirror(S), comps


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
