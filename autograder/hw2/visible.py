"""The visible tests of the HW2 notebook, replayed through the ``student`` object.

In nbgrader's autograde a test cell whose visible asserts fail raises before its hidden region runs, and
nbgrader gives the cell 0 points. The hidden suite mirrors this: every hidden test of a grade cell first
requires that cell's visible tests to pass (see ``conftest.py``), so the grading engine and nbgrader agree.

Each function below repeats, with the same inputs and the same messages, the visible asserts of one test
cell of ``solutions/hw2/hw2.ipynb`` (``tests/test_hw2.py`` checks that both agree on every fixture).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np


def _logsumexp(s: Any) -> None:
    a = np.array([[0.0, 0.0], [1.0, 2.0], [-1.0, 5.0]])
    out = s.logsumexp(a)
    assert np.shape(out) == (3,), \
        f"logsumexp of a (3, 2) array should have shape (3,), one value per row; got {np.shape(out)}"
    assert np.isclose(out[0], np.log(2.0)), f"logsumexp([0, 0]) should be log(2) = 0.6931; got {out[0]}"
    assert np.allclose(out, np.log(np.sum(np.exp(a), axis=1))), \
        "for small entries logsumexp(a) should equal np.log(np.sum(np.exp(a), axis=1))"


def _softmax(s: Any) -> None:
    a = np.array([[0.0, 0.0], [0.0, np.log(3.0)], [5.0, 5.0]])
    out = s.softmax(a)
    assert np.shape(out) == (3, 2), f"softmax should keep the shape of its input (3, 2); got {np.shape(out)}"
    assert np.allclose(out[0], [0.5, 0.5]), f"softmax([0, 0]) should be [0.5, 0.5]; got {out[0]}"
    assert np.allclose(out[1], [0.25, 0.75]), f"softmax([0, log 3]) should be [0.25, 0.75]; got {out[1]}"
    assert np.allclose(np.sum(out, axis=1), 1.0), \
        f"every row of softmax should sum to 1; got row sums {np.sum(out, axis=1)}"


def _logpdf(name: str) -> Callable[[Any], None]:
    def check(s: Any) -> None:
        fn = getattr(s, name)
        X = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 2.0]])
        out = fn(X, np.zeros(2), np.eye(2))
        assert np.shape(out) == (3,), f"{name} of 3 points should have shape (3,); got {np.shape(out)}"
        expected = -np.log(2 * np.pi) - 0.5 * np.array([0.0, 1.0, 4.0])
        assert np.allclose(out, expected), \
            f"with mu = 0 and Sigma = I in 2-D, log N(x) = -log(2 pi) - |x|^2 / 2 = {expected}; got {out}"
        mu, S = np.array([1.0, -1.0]), np.array([[2.0, 0.5], [0.5, 1.0]])
        r = X - mu
        expected = -0.5 * (2 * np.log(2 * np.pi) + np.log(np.linalg.det(S))
                           + np.sum(r @ np.linalg.inv(S) * r, axis=1))
        assert np.allclose(fn(X, mu, S), expected), f"with a full covariance the result should be {expected}"
    return check


_X1 = np.array([[1.0], [0.0], [3.0]])
_PI1 = np.array([0.25, 0.75])
_MU1 = np.array([[0.0], [2.0]])


def _e_step_loop(s: Any) -> None:
    g = s.e_step_loop(_X1, _PI1, _MU1, np.array([[[1.0]], [[1.0]]]))
    assert np.shape(g) == (3, 2), \
        f"e_step_loop with N=3 points and K=2 components should return shape (3, 2); got {np.shape(g)}"
    assert np.allclose(np.sum(g, axis=1), 1.0), \
        f"every row of the responsibilities should sum to 1; got row sums {np.sum(g, axis=1)}"
    assert np.allclose(g[0], [0.25, 0.75]), \
        ("x = 1 lies halfway between the two means (equal variances), so its responsibilities should equal "
         f"pi = [0.25, 0.75]; got {g[0]}")
    assert g[1][0] > 0.5 > g[2][0], \
        "x = 0 should belong mostly to component 0 and x = 3 mostly to component 1"


_X2 = np.array([[0.0, 0.0], [2.0, 0.0], [0.0, 4.0], [2.0, 4.0]])
_G2 = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0], [0.0, 1.0]])


def _m_step_hard(s: Any, name: str) -> None:
    fn = getattr(s, name)
    pi, mu, Sigma = fn(_X2, _G2, 0.0)
    assert np.shape(pi) == (2,) and np.shape(mu) == (2, 2) and np.shape(Sigma) == (2, 2, 2), \
        (f"{name} should return pi (K,), mu (K, D), Sigma (K, D, D) = (2,), (2, 2), (2, 2, 2); "
         f"got {np.shape(pi)}, {np.shape(mu)}, {np.shape(Sigma)}")
    assert np.allclose(pi, [0.5, 0.5]), \
        f"each component has half of the points, so pi should be [0.5, 0.5]; got {pi}"
    assert np.allclose(mu, [[1.0, 0.0], [1.0, 4.0]]), \
        f"the means should be the averages of each component's points, [[1, 0], [1, 4]]; got {mu}"


def _m_step_loop(s: Any) -> None:
    _m_step_hard(s, "m_step_loop")
    _, _, Sigma = s.m_step_loop(_X2, _G2, 0.0)
    assert np.allclose(Sigma, [[[1.0, 0.0], [0.0, 0.0]]] * 2), \
        ("with reg=0 each covariance should be [[1, 0], [0, 0]] (variance of {0, 2} around the new mean 1); "
         f"got {Sigma}")
    _, _, Sigma = s.m_step_loop(_X2, _G2)
    assert np.allclose(np.asarray(Sigma)[:, 1, 1], 1e-6, rtol=0, atol=1e-12), \
        "with the default reg=1e-6 the zero variances should become 1e-6"


def _m_step(s: Any) -> None:
    _m_step_hard(s, "m_step")
    _, _, Sigma = s.m_step(_X2, _G2, 0.0)
    assert np.allclose(Sigma, [[[1.0, 0.0], [0.0, 0.0]]] * 2), \
        f"with reg=0 each covariance should be [[1, 0], [0, 0]]; got {Sigma}"
    _, _, Sigma = s.m_step(_X2, _G2)
    assert np.allclose(np.asarray(Sigma)[:, 1, 1], 1e-6, rtol=0, atol=1e-12), \
        "with the default reg=1e-6 the zero variances should become 1e-6"
    gamma = np.array([[0.9, 0.1], [0.6, 0.4], [0.2, 0.8], [0.5, 0.5]])
    pi, mu, _ = s.m_step(_X2, gamma)
    assert np.allclose(pi, [0.55, 0.45]), f"pi_k should be the column means of gamma, [0.55, 0.45]; got {pi}"
    assert np.allclose(mu[0], [1.0, 2.8 / 2.2]), \
        ("mu_0 should be the gamma-weighted average of the points, [1.0, 2.8 / 2.2] = [1.0, 1.2727]; "
         f"got {mu[0]}")


def _log_joint(s: Any) -> None:
    var = np.array([1.0, 4.0])
    lj = s.log_joint(_X1, _PI1, _MU1, np.array([[[1.0]], [[4.0]]]))
    assert np.shape(lj) == (3, 2), \
        f"log_joint with N=3 points and K=2 components should return shape (3, 2); got {np.shape(lj)}"
    expected = np.log(_PI1) - 0.5 * np.log(2 * np.pi * var) - 0.5 * (_X1 - _MU1[:, 0]) ** 2 / var
    assert np.allclose(lj, expected), \
        ("log_joint[n, k] should be log(pi_k) + log N(x_n | mu_k, Sigma_k) = "
         f"{expected.tolist()}; got {np.asarray(lj).tolist()}")


def _e_step(s: Any) -> None:
    result = s.e_step(_X1, _PI1, _MU1, np.array([[[1.0]], [[1.0]]]))
    assert isinstance(result, tuple) and len(result) == 2, "e_step should return a tuple (gamma, loglik)"
    g, ll = result
    assert np.shape(g) == (3, 2), f"gamma should have shape (N, K) = (3, 2); got {np.shape(g)}"
    assert np.allclose(g[0], [0.25, 0.75]), \
        ("x = 1 lies halfway between the two means, so its responsibilities should equal pi = [0.25, 0.75]; "
         f"got {g[0]}")
    assert np.allclose(np.sum(g, axis=1), 1.0), "every row of gamma should sum to 1"
    dens = _PI1 * np.exp(-0.5 * (_X1 - _MU1[:, 0]) ** 2) / np.sqrt(2 * np.pi)
    want = np.sum(np.log(np.sum(dens, axis=1)))
    assert np.ndim(ll) == 0 and np.isclose(ll, want), \
        f"loglik should be the number sum_n log sum_k pi_k N(x_n | mu_k, Sigma_k) = {want:.6f}; got {ll}"


def _fit_gmm(s: Any) -> None:
    gen = np.random.default_rng(1)
    X = np.concatenate([gen.normal(-5.0, 1.0, size=(100, 1)), gen.normal(5.0, 1.0, size=(100, 1))])
    fit = s.fit_gmm(X, 2, 500, 1e-10)
    assert isinstance(fit, dict), f"fit_gmm should return a dict; got {type(fit).__name__}"
    missing = {"pi", "mu", "Sigma", "gamma", "loglik"} - set(fit)
    assert not missing, f"the dict returned by fit_gmm is missing the key(s) {sorted(missing)}"
    shapes = (np.shape(fit["pi"]), np.shape(fit["mu"]), np.shape(fit["Sigma"]))
    assert shapes == ((2,), (2, 1), (2, 1, 1)), \
        ("for N=200 points in D=1 and K=2, pi, mu, Sigma should have shapes (2,), (2, 1), (2, 1, 1); "
         f"got {shapes[0]}, {shapes[1]}, {shapes[2]}")
    assert np.shape(fit["gamma"]) == (200, 2), \
        f"gamma should have shape (N, K) = (200, 2); got {np.shape(fit['gamma'])}"
    assert isinstance(fit["loglik"], list) and len(fit["loglik"]) >= 2, \
        "loglik should be the list of the log-likelihoods of all E-steps"
    assert np.isclose(np.sum(fit["pi"]), 1.0), "the weights pi should sum to 1"
    assert np.allclose(np.sort(np.asarray(fit["mu"])[:, 0]), [-5.0, 5.0], atol=0.5), \
        ("two clusters around -5 and +5: the means should be close to them; "
         f"got {np.sort(np.asarray(fit['mu'])[:, 0])}")


def _sample_gmm(s: Any) -> None:
    mu = np.array([[0.0, 0.0], [10.0, 10.0]])
    X, z = s.sample_gmm(1000, np.array([0.5, 0.5]), mu, np.array([1e-4 * np.eye(2)] * 2), 0)
    assert np.shape(X) == (1000, 2) and np.shape(z) == (1000,), \
        ("sample_gmm(1000, ...) in 2-D should return X (1000, 2) and z (1000,); "
         f"got {np.shape(X)} and {np.shape(z)}")
    assert set(np.unique(z)) == {0, 1}, \
        "with pi = [0.5, 0.5] both components 0 and 1 should appear in z (and nothing else)"
    assert np.allclose(X, mu[np.asarray(z, dtype=int)], atol=0.1), \
        "with tiny covariances every sample should lie next to the mean of its component z"


def _quantize_image(s: Any) -> None:
    gen = np.random.default_rng(0)
    img = np.zeros((8, 8, 3), dtype=np.uint8)
    img[:, :4] = (200, 30, 30)
    img[:, 4:] = (30, 30, 200)
    img = np.clip(img + gen.integers(-3, 4, size=img.shape), 0, 255).astype(np.uint8)
    q, labels = s.quantize_image(img, 2)
    assert np.shape(q) == (8, 8, 3), \
        f"quantized should have the shape of the image (8, 8, 3); got {np.shape(q)}"
    assert np.shape(labels) == (64,), f"labels should have shape (H * W,) = (64,); got {np.shape(labels)}"
    n_colours = len(np.unique(np.reshape(q, (-1, 3)), axis=0))
    assert n_colours <= 2, f"with K=2 the quantized image should have at most 2 colours; got {n_colours}"
    assert np.max(np.abs(np.asarray(q, dtype=float) - img)) <= 10, \
        ("a red half and a blue half (plus noise): every quantized pixel should be within 10 levels of the "
         "original")


#: grade cell id -> its visible tests.
CHECKS: dict[str, Callable[[Any], None]] = {
    "test_logsumexp": _logsumexp,
    "test_softmax": _softmax,
    "test_gaussian_logpdf_loop": _logpdf("gaussian_logpdf_loop"),
    "test_e_step_loop": _e_step_loop,
    "test_m_step_loop": _m_step_loop,
    "test_gaussian_logpdf": _logpdf("gaussian_logpdf"),
    "test_log_joint": _log_joint,
    "test_e_step": _e_step,
    "test_m_step": _m_step,
    "test_fit_gmm": _fit_gmm,
    "test_sample_gmm": _sample_gmm,
    "test_quantize_image": _quantize_image,
}


def failure(student: Any, part: str) -> str | None:
    """Why the visible tests of grade cell ``part`` fail for ``student`` (``None`` when they pass)."""
    try:
        CHECKS[part](student)
    except AssertionError as exc:
        return (str(exc).strip().splitlines() or ["a visible test fails"])[0]
    except Exception as exc:  # StudentError (raised, missing, not plain data) or a result of the wrong kind
        text = (str(exc).strip().splitlines() or [""])[0]
        return text if type(exc).__name__.startswith("Student") and text else \
            f"the visible tests raise {type(exc).__name__}"
    return None
