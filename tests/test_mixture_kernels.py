"""The estimator's cache-blocked kernels (``mlcourse.mixture._blocked``) compute what the plain broadcasting
reference (``gaussian.log_joint``, ``em.e_step``, ``em.m_step``) states: equal to 1e-10 (relative)."""

import itertools
import warnings

import numpy as np
import pytest

from mlcourse.mixture import (
    ConvergenceWarning,
    GaussianMixture,
    _blocked,
    compute_precision_cholesky,
    e_step,
    estimate_gaussian_parameters,
    fit_gmm,
    log_joint,
    m_step,
)
from mlcourse.mixture.em import COUNT_GUARD, covariances_of_type

RTOL = 1e-10


def random_problem(seed, N, K, D, offset=0.0, scale=1.0):
    """Data and parameters; ``scale`` multiplies every length (variances by scale**2)."""
    rng = np.random.default_rng(seed)
    pi = rng.dirichlet(np.ones(K))
    mu = rng.normal(scale=3 * scale, size=(K, D)) + offset
    A = rng.normal(size=(K, D, D))
    Sigma = (A @ A.transpose(0, 2, 1) / D + 0.5 * np.eye(D)) * scale**2
    X = rng.normal(scale=3 * scale, size=(N, D)) + offset
    return X, pi, mu, Sigma


def kernel_components(X, pi, mu, Sigma):
    design = _blocked.Design(X)
    prec = compute_precision_cholesky(Sigma, "full")
    cov_chol = np.linalg.cholesky(Sigma)
    return design, _blocked.components(mu, prec, "full", pi, design.shift, cov_chol=cov_chol)


def block_size(K, D):
    """The kernels' block size for K components in D dimensions (the first block of a long data set)."""
    design = _blocked.Design(np.zeros((1, D)))
    design.n_samples = 10**7
    start, stop = next(design.blocks(K))
    return stop - start


# (seed, N, K, D, offset, scale). N = 20000 with K = 3, D = 3 and N = 10007 with K = 8, D = 16 span several
# blocks (neither N a multiple of the block size); the offset puts the data far from the origin; scale
# 1e-4 / 1e4 makes the variances tiny (~1e-8) / huge (~1e8); K = 1 and D = 1 are the degenerate shapes.
CASES = [(0, 300, 3, 2, 0.0, 1.0), (1, 20_000, 3, 3, 0.0, 1.0), (2, 2_000, 5, 4, 1e4, 1.0),
         (3, 500, 1, 1, 0.0, 1.0), (4, 10_007, 8, 16, 0.0, 1.0), (5, 3_001, 2, 5, 0.0, 1e-4),
         (6, 3_001, 3, 3, 0.0, 1e4), (7, 1_000, 1, 7, 50.0, 1.0), (8, 2_500, 4, 1, 0.0, 1e-3)]


def test_the_cases_cover_several_blocks_and_a_partial_one():
    for _, N, K, D, _, _ in (CASES[1], CASES[4]):
        size = block_size(K, D)
        assert N > size and N % size, (N, K, D, size)  # >= 2 blocks: a sweep has several chunks


@pytest.mark.parametrize("seed,N,K,D,offset,scale", CASES)
def test_blocked_log_joint_equals_the_reference(seed, N, K, D, offset, scale):
    X, pi, mu, Sigma = random_problem(seed, N, K, D, offset, scale)
    got = _blocked.log_joint(*kernel_components(X, pi, mu, Sigma))
    expected = log_joint(X, pi, mu, Sigma)
    np.testing.assert_allclose(got, expected, rtol=RTOL, atol=RTOL * np.abs(expected).max())


@pytest.mark.parametrize("seed,N,K,D,offset,scale", CASES)
def test_blocked_responsibilities_equal_the_reference_e_step(seed, N, K, D, offset, scale):
    X, pi, mu, Sigma = random_problem(seed, N, K, D, offset, scale)
    gamma, loglik = _blocked.responsibilities(*kernel_components(X, pi, mu, Sigma))
    gamma_ref, loglik_ref = e_step(X, pi, mu, Sigma)
    np.testing.assert_allclose(gamma, gamma_ref, rtol=RTOL, atol=1e-300)
    assert loglik == pytest.approx(loglik_ref, rel=RTOL)


@pytest.mark.parametrize("seed,N,K,D,offset,scale", CASES)
def test_fused_em_sweep_equals_reference_e_step_then_m_step(seed, N, K, D, offset, scale):
    X, pi, mu, Sigma = random_problem(seed, N, K, D, offset, scale)
    design, comps = kernel_components(X, pi, mu, Sigma)
    loglik, S = _blocked.em_statistics(design, comps)
    nk, means, cov = _blocked.parameters_from_statistics(S, comps, 1e-6, "full", design.shift)
    gamma, loglik_ref = e_step(X, pi, mu, Sigma)
    pi_ref, mu_ref, Sigma_ref = m_step(X, gamma, 1e-6)
    assert loglik == pytest.approx(loglik_ref, rel=RTOL)
    np.testing.assert_allclose(nk / nk.sum(), pi_ref, rtol=RTOL)
    np.testing.assert_allclose(means, mu_ref, rtol=RTOL, atol=RTOL * np.abs(mu_ref).max())
    np.testing.assert_allclose(cov, Sigma_ref, rtol=RTOL, atol=RTOL * np.abs(Sigma_ref).max())


@pytest.mark.parametrize("ct", ["full", "tied", "diag", "spherical"])
def test_blocked_m_step_from_responsibilities_equals_the_reference_formula(ct):
    X, pi, mu, Sigma = random_problem(4, 3_000, 3, 3)
    gamma = e_step(X, pi, mu, Sigma)[0]
    nk, means, cov = estimate_gaussian_parameters(X, gamma, 1e-6, ct)
    Nk = gamma.sum(axis=0) + COUNT_GUARD
    mu_ref = gamma.T @ X / Nk[:, None]
    diff = X[None] - mu_ref[:, None]
    scatter = np.einsum("nk,knd,kne->kde", gamma, diff, diff) / Nk[:, None, None]
    np.testing.assert_allclose(nk, Nk, rtol=RTOL)
    np.testing.assert_allclose(means, mu_ref, rtol=RTOL)
    np.testing.assert_allclose(cov, covariances_of_type(scatter, Nk, 1e-6, ct), rtol=RTOL)
    if ct == "full":
        np.testing.assert_allclose(cov, m_step(X, gamma, 1e-6)[2], rtol=RTOL)


@pytest.mark.parametrize("max_iter", [0, 1, 7, 100])
def test_fit_gmm_and_the_estimator_run_the_same_em(max_iter):
    """One driver: reference steps (fit_gmm) and fused kernels (GaussianMixture) give one trajectory."""
    X = random_problem(5, 600, 3, 2)[0]
    result = fit_gmm(X, 3, max_iter=max_iter, tol=1e-6, seed=3)
    model = GaussianMixture(3, max_iter=max_iter, tol=1e-6, reg_covar=1e-6, random_state=3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X)
    np.testing.assert_allclose(result["pi"], model.weights_, rtol=1e-8)
    np.testing.assert_allclose(result["mu"], model.means_, rtol=1e-8)
    np.testing.assert_allclose(result["Sigma"], model.covariances_, rtol=1e-8)
    np.testing.assert_allclose(result["loglik"][:-1], np.array(model.lower_bounds_) * len(X), rtol=1e-10)
    assert len(result["loglik"]) == model.n_iter_ + 1


@pytest.mark.parametrize("D", [1, 2, 5, 7, 9, 16, 23])
def test_fused_statistics_are_the_weighted_scatter_of_the_whitened_data(D):
    """S_k = sum_n r_nk [y;1][y;1]^T with y = P_k^T (x - mu_k), computed here in one einsum (the kernel
    whitens in bands of rows, computes each symmetric matrix's lower triangle in bands of columns and
    mirrors the rest; these D give one to six bands)."""
    X, pi, mu, Sigma = random_problem(9, 1_500, 3, D)
    design, comps = kernel_components(X, pi, mu, Sigma)
    _, S = _blocked.em_statistics(design, comps)
    gamma = e_step(X, pi, mu, Sigma)[0]
    P = compute_precision_cholesky(Sigma, "full")
    y = np.einsum("kde,nd->kne", P, X) - np.einsum("kde,kd->ke", P, mu)[:, None, :]  # (K, N, D)
    y1 = np.concatenate([y, np.ones((3, len(X), 1))], axis=2)
    expected = np.einsum("nk,kni,knj->kij", gamma, y1, y1)
    np.testing.assert_allclose(S, expected, rtol=RTOL, atol=RTOL * np.abs(expected).max())


def test_factors_that_are_not_triangular_whiten_with_the_whole_matrix():
    """The kernels skip the zero upper triangle of P_k^T; given full (non-triangular) factors they must not:
    the log-joint is then log pi + sum log P_dd - D/2 log 2 pi - |P^T (x - mu)|^2 / 2 with all of P."""
    rng = np.random.default_rng(10)
    K, D = 3, 6
    X = rng.normal(size=(700, D))
    mu, pi = rng.normal(size=(K, D)), rng.dirichlet(np.ones(K))
    P = rng.normal(size=(K, D, D)) + 3 * np.eye(D)  # positive diagonal, dense
    design = _blocked.Design(X)
    got = _blocked.log_joint(design, _blocked.components(mu, P, "full", pi, design.shift))
    y = np.einsum("kde,nd->nke", P, X) - np.einsum("kde,kd->ke", P, mu)
    expected = (np.log(pi) + np.log(np.diagonal(P, axis1=1, axis2=2)).sum(axis=1)
                - 0.5 * D * np.log(2 * np.pi) - 0.5 * (y**2).sum(axis=2))
    np.testing.assert_allclose(got, expected, rtol=RTOL)


@pytest.fixture
def forced_worker(monkeypatch):
    """Make every sweep offer its chunks to the worker thread, whatever the machine and problem size."""
    monkeypatch.setattr(_blocked, "THREADS", 2)
    monkeypatch.setattr(_blocked, "_spare_cpu", lambda: True)
    monkeypatch.setattr(_blocked, "_THREAD_WORK", 0)
    monkeypatch.setattr(_blocked, "_MIN_SHARED_CHUNKS", 2)


def test_share_computes_every_task_and_the_worker_takes_some(forced_worker):
    import threading
    import time

    ran = []

    def task(slot, i):
        ran.append((i, slot, threading.get_ident()))
        time.sleep(0.005)  # releases the GIL, as NumPy does inside its loops
        return i * i

    assert _blocked._share(task, 40, work=1) == [i * i for i in range(40)]
    assert {i for i, _, _ in ran} == set(range(40))
    assert {slot for _, slot, _ in ran} == {0, 1}
    assert len({thread for _, _, thread in ran}) == 2
    # The calling thread redoes at most the one task the worker still holds at the end.
    assert len(ran) <= 41


def test_share_never_waits_for_the_worker(forced_worker):
    """A worker stuck inside a task (no CPU on a busy machine) must not hold up the sweep: the caller
    computes that task too and returns while the worker is still in it."""
    import threading

    started, release, finished = threading.Event(), threading.Event(), threading.Event()

    def task(slot, i):
        if slot == 1:
            started.set()
            release.wait(60)
            finished.set()
        elif i == 0:
            assert started.wait(60), "the worker never started"
        return i * 10

    try:
        values = _blocked._share(task, 6, work=1)
        assert not finished.is_set()  # returned while the worker was still inside its task
    finally:
        release.set()
    assert values == [i * 10 for i in range(6)]


def test_a_sweep_of_few_chunks_stays_in_the_calling_thread(forced_worker, monkeypatch):
    """Below _MIN_SHARED_CHUNKS tasks the worker is not offered any, however much work they are (with 8 it
    takes some: test_share_computes_every_task_and_the_worker_takes_some)."""
    import threading
    import time

    monkeypatch.setattr(_blocked, "_MIN_SHARED_CHUNKS", 8)
    ran = []

    def task(slot, i):
        ran.append((slot, threading.get_ident()))
        time.sleep(0.005)  # releases the GIL: a worker offered these tasks would take some
        return i

    assert _blocked._share(task, 7, work=10**12) == list(range(7))
    assert ran == [(0, threading.get_ident())] * 7


def test_blocks_cover_the_samples_evenly():
    """Consecutive blocks cover every sample once; no block exceeds the cap, and a short tail is folded in."""
    for N, K, D in [(10_000, 8, 16), (10_007, 3, 16), (1, 2, 2), (255, 1, 1), (3 * 16_384 + 1, 1, 2),
                    (200_000, 8, 16)]:
        design = _blocked.Design(np.zeros((N, D)))
        blocks = list(design.blocks(K))
        assert blocks[0][0] == 0 and blocks[-1][1] == N
        assert all(stop == start for (_, stop), (start, _) in itertools.pairwise(blocks))
        sizes = [stop - start for start, stop in blocks]
        assert max(sizes) <= min(design.block_size(K), _blocked._MAX_BLOCK)
        assert max(sizes) - min(sizes) <= 1, (N, K, D, sizes)
    design = _blocked.Design(np.zeros((10_000, 16)))
    assert len(list(design.blocks(8))) == 5  # not five full blocks and a short sixth


def test_share_passes_on_a_failure_of_either_thread(forced_worker):
    def task(slot, i):
        if i == 5:
            raise ZeroDivisionError("task 5")

    with pytest.raises(ZeroDivisionError, match="task 5"):
        _blocked._share(task, 10, work=1)


@pytest.mark.parametrize("seed,N,K,D", [(11, 10_007, 8, 16), (12, 30_001, 2, 3), (13, 700, 3, 2)])
def test_em_sweep_gives_the_same_bits_with_and_without_the_worker(forced_worker, monkeypatch, seed, N, K, D):
    X, pi, mu, Sigma = random_problem(seed, N, K, D)
    design, comps = kernel_components(X, pi, mu, Sigma)
    threaded = [_blocked.em_statistics(design, comps) for _ in range(3)]
    monkeypatch.setattr(_blocked, "THREADS", 1)
    alone = _blocked.em_statistics(design, comps)
    for loglik, S in threaded:
        assert loglik == alone[0]
        np.testing.assert_array_equal(S, alone[1])


def _record_slots(slot, i, slots=[]):  # noqa: B006 - one list per process, read back by the caller
    import time

    slots.append(slot)
    time.sleep(0.005)
    return slots


def _sweep_in_child(X, pi, mu, Sigma, queue):
    _blocked._spare_cpu = lambda: True
    _blocked._THREAD_WORK = 0
    loglik, S = _blocked.em_statistics(*kernel_components(X, pi, mu, Sigma))
    _blocked._share(_record_slots, 40, work=1)
    queue.put((loglik, S, set(_record_slots(-1, -1))))


def test_a_forked_child_gets_its_own_worker(forced_worker):
    """The parent's worker thread does not exist in a forked child: the child makes its own, which takes a
    share of the tasks, and sums to the same values."""
    import multiprocessing

    X, pi, mu, Sigma = random_problem(14, 5_000, 4, 5)
    expected = _blocked.em_statistics(*kernel_components(X, pi, mu, Sigma))  # the parent's pool exists now
    assert _blocked._executor is not None
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    child = context.Process(target=_sweep_in_child, args=(X, pi, mu, Sigma, queue))
    child.start()
    loglik, S, slots = queue.get(timeout=120)
    child.join(timeout=60)
    assert child.exitcode == 0
    assert loglik == expected[0]
    np.testing.assert_array_equal(S, expected[1])
    assert {0, 1} <= slots


def test_nested_single_threaded_blas_sets_the_limits_once(monkeypatch):
    with _blocked.single_threaded_blas():  # makes the controller
        pass
    calls = []
    real = _blocked._controller.limit
    monkeypatch.setattr(_blocked._controller, "limit", lambda **kw: calls.append(kw) or real(**kw))
    with _blocked.single_threaded_blas():
        with _blocked.single_threaded_blas():
            pass
        with _blocked.single_threaded_blas():
            pass
    assert calls == [{"limits": 1, "user_api": "blas"}]
    with _blocked.single_threaded_blas():
        pass
    assert len(calls) == 2
