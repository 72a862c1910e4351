"""Checks shared by the loop and broadcast flavours of the same function (Part 2 and Part 3).

Each function takes the ``student`` object and the name of the student's function, calls it with seeded
inputs and compares with :mod:`mlcourse.mixture` here, in the trusted process. Every check, also one of a
shape or of unchanged inputs, requires the result to be correct on its own inputs: a function that returns
zeros, a constant or answers for the visible tests' inputs only passes none of them.

Unchanged inputs: every array reaches the student's function read-only (see ``autograder.loader``), so a
function that writes into an argument raises :class:`~autograder.plain.StudentMutation` on every call; the
``*_no_mutation`` checks give that its own test and message.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from autograder.hw2.common import (
    ATOL,
    CASES,
    RTOL,
    expect_array,
    expect_close,
    expect_correct,
    expect_finite,
    far_points,
    near_singular_cov,
    points_from,
    random_gamma,
    random_gmm,
    random_points,
    rng,
    unpack,
    values,
)
from mlcourse import mixture as ref

# -------------------------------------------------------------------------- log-density of one component


def logpdf_shape(student: Any, name: str) -> None:
    for seed, N, D, K in CASES:
        gen = rng(seed)
        _, mu, Sigma = random_gmm(gen, K, D)
        X = random_points(gen, N, D)
        want = ref.gaussian_logpdf(X, mu[0], Sigma[0])
        expect_correct(getattr(student, name)(X, mu[0], Sigma[0]), (N,), want,
                       f"{name} of {N} points in {D}-D", strict=True)


def logpdf_values(student: Any, name: str) -> None:
    for seed, N, D, K in CASES:
        gen = rng(seed)
        _, mu, Sigma = random_gmm(gen, K, D)
        X = random_points(gen, N, D)
        for k in range(K):
            out = values(getattr(student, name)(X, mu[k], Sigma[k]), (N,), name)
            expect_close(out, ref.gaussian_logpdf(X, mu[k], Sigma[k]),
                         f"{name} on random points, means and full covariances in {D}-D")


def logpdf_near_singular(student: Any, name: str) -> None:
    for seed, D in ((60, 2), (61, 3)):
        gen = rng(seed)
        mu = gen.normal(size=D)
        Sigma = near_singular_cov(gen, D)
        X = points_from(gen, mu, Sigma, 20)
        out = values(getattr(student, name)(X, mu, Sigma), (20,), name)
        expect_finite(out, f"{name} with a nearly singular covariance")
        expect_close(out, ref.gaussian_logpdf(X, mu, Sigma),
                     f"{name} with a nearly singular covariance (condition number 1e8)", rtol=1e-6, atol=1e-6)


def logpdf_far(student: Any, name: str) -> None:
    for seed, D in ((70, 2), (71, 3)):
        gen = rng(seed)
        _, mu, Sigma = random_gmm(gen, 1, D)
        X = mu[0] + far_points(gen, 15, D)
        out = values(getattr(student, name)(X, mu[0], Sigma[0]), (15,), name)
        expect_finite(out, f"{name} of points far from the mean (work with the log-density, not the density)")
        expect_close(out, ref.gaussian_logpdf(X, mu[0], Sigma[0]), f"{name} of points far from the mean")


def logpdf_no_mutation(student: Any, name: str) -> None:
    gen = rng(80)
    _, mu, Sigma = random_gmm(gen, 1, 3)
    X = random_points(gen, 10, 3)
    expect_correct(getattr(student, name)(X, mu[0], Sigma[0]), (10,), ref.gaussian_logpdf(X, mu[0], Sigma[0]),
                   f"{name} given read-only arrays X, mu_k and Sigma_k")


# ------------------------------------------------------------------------------------------------ E-step
def responsibilities(result: Any, name: str, N: int, K: int, strict: bool = False) -> np.ndarray:
    """gamma from ``e_step_loop`` (an array) or ``e_step`` (a tuple); ``strict``: must be a float ndarray."""
    if name == "e_step":
        result = unpack(result, 2, "e_step")[0]
    return (expect_array if strict else values)(result, (N, K),
                                                f"the responsibilities from {name} for N={N}, K={K}")


def _estep_cases(student: Any, name: str, strict: bool = False) -> Iterator[tuple]:
    """For each of ``CASES``: ``(N, D, K, gamma from name, the reference's gamma)`` on a random mixture."""
    for seed, N, D, K in CASES:
        gen = rng(seed)
        pi, mu, Sigma = random_gmm(gen, K, D)
        X = random_points(gen, N, D)
        gamma = responsibilities(getattr(student, name)(X, pi, mu, Sigma), name, N, K, strict)
        yield N, D, K, gamma, ref.e_step(X, pi, mu, Sigma)[0]


def estep_shape(student: Any, name: str) -> None:
    for N, _, K, gamma, want in _estep_cases(student, name, strict=True):
        expect_close(gamma, want, f"the responsibilities from {name} for N={N}, K={K}", atol=1e-9)


def estep_values(student: Any, name: str, rows: bool = False) -> None:
    """The responsibilities from ``name`` equal the reference's (``rows``: and every row is a probability
    vector)."""
    for _, D, K, gamma, want in _estep_cases(student, name):
        expect_close(gamma, want,
                     f"the responsibilities from {name} on random mixtures in {D}-D with K={K}", atol=1e-9)
        if rows:
            assert np.all(gamma >= 0) and np.allclose(gamma.sum(axis=1), 1.0, rtol=0, atol=1e-10), \
                f"the rows of the responsibilities from {name} are not probability vectors (>= 0, summing " \
                "to 1)"


def estep_rows(student: Any, name: str) -> None:
    """:func:`estep_values`, and every row of the responsibilities is a probability vector."""
    estep_values(student, name, rows=True)


def estep_far(student: Any, name: str) -> None:
    for seed, D, K in ((90, 2, 3), (91, 3, 2)):
        gen = rng(seed)
        pi, mu, Sigma = random_gmm(gen, K, D)
        X = far_points(gen, 12, D, distance=300.0)
        gamma = responsibilities(getattr(student, name)(X, pi, mu, Sigma), name, 12, K)
        expect_finite(gamma, f"the responsibilities from {name} for points far from every component "
                             "(compute them in log space with logsumexp)")
        expect_close(gamma, ref.e_step(X, pi, mu, Sigma)[0],
                     f"the responsibilities from {name} for points far from every component", atol=1e-8)


def estep_no_mutation(student: Any, name: str) -> None:
    gen = rng(95)
    pi, mu, Sigma = random_gmm(gen, 3, 2)
    X = random_points(gen, 10, 2)
    gamma = responsibilities(getattr(student, name)(X, pi, mu, Sigma), name, 10, 3)
    expect_close(gamma, ref.e_step(X, pi, mu, Sigma)[0],
                 f"the responsibilities from {name} given read-only arrays X, pi, mu and Sigma", atol=1e-9)


# ------------------------------------------------------------------------------------------------ M-step
def mstep_result(result: Any, name: str, K: int, D: int, strict: bool = False
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    pi, mu, Sigma = unpack(result, 3, name)
    check = expect_array if strict else values
    return (check(pi, (K,), f"pi from {name}"), check(mu, (K, D), f"mu from {name}"),
            check(Sigma, (K, D, D), f"Sigma from {name}"))


def _mstep_cases():
    for seed, N, D, K in CASES:
        if N < 2:
            continue
        gen = rng(seed)
        yield D, K, random_points(gen, N, D), random_gamma(gen, N, K)


def _mstep_one(student: Any, name: str, X: np.ndarray, gamma: np.ndarray, which: int) -> np.ndarray:
    """The ``which``-th of ``name(X, gamma)``'s pi, mu, Sigma, as a float ndarray of its shape (only that one
    is judged: a wrong Sigma does not cost the weights)."""
    K, D = gamma.shape[1], X.shape[1]
    label, shape = (("pi", (K,)), ("mu", (K, D)), ("Sigma", (K, D, D)))[which]
    result = unpack(getattr(student, name)(X, gamma), 3, name)
    return expect_array(result[which], shape, f"{label} from {name}")


def mstep_param(student: Any, name: str, which: int) -> None:
    """pi (``which=0``), mu (1) or Sigma (2) from ``name`` is a float array equal to the reference's."""
    label = ("pi", "mu", "Sigma")[which]
    for D, K, X, gamma in _mstep_cases():
        got = _mstep_one(student, name, X, gamma, which)
        want = ref.m_step(X, gamma)[which]
        detail = " (it should include reg=1e-6 on the diagonal, and use the new means)" if which == 2 else ""
        expect_close(got, want, f"{label} from {name} on random data and responsibilities in {D}-D with "
                                f"K={K}{detail}", rtol=RTOL, atol=ATOL)


def mstep_reg(student: Any, name: str) -> None:
    for D, K, X, gamma in _mstep_cases():
        for reg in (0.0, 1e-3, 0.5):
            result = unpack(getattr(student, name)(X, gamma, reg), 3, name)
            got = values(result[2], (K, D, D), f"Sigma from {name}")
            expect_close(got, ref.m_step(X, gamma, reg)[2],
                         f"Sigma from {name} with an explicit reg argument (add reg to every diagonal entry)")


def mstep_degenerate(student: Any, name: str) -> None:
    """A component responsible only for identical points: its covariance is reg * I, still invertible."""
    gen = rng(100)
    X = np.vstack([np.tile([[1.0, -2.0]], (5, 1)), random_points(gen, 15, 2)])
    gamma = np.zeros((20, 2))
    gamma[:5, 0] = 1.0
    gamma[5:, 1] = 1.0
    Sigma = values(unpack(getattr(student, name)(X, gamma), 3, name)[2], (2, 2, 2), f"Sigma from {name}")
    expect_finite(Sigma, f"Sigma from {name} when a component sits on identical points")
    expect_close(Sigma, ref.m_step(X, gamma)[2],
                 f"Sigma from {name} when a component sits on identical points (the covariance must be "
                 "reg * I there, not singular)", atol=1e-12)
    assert np.all(np.linalg.eigvalsh(Sigma) > 0), \
        f"Sigma from {name} is not positive definite when a component sits on identical points"


def mstep_no_mutation(student: Any, name: str, which: int) -> None:
    """Given read-only X and gamma, ``name`` still returns the right ``which``-th parameter."""
    gen = rng(110)
    X = random_points(gen, 12, 2)
    gamma = random_gamma(gen, 12, 3)
    label = ("pi", "mu", "Sigma")[which]
    expect_close(_mstep_one(student, name, X, gamma, which), ref.m_step(X, gamma)[which],
                 f"{label} from {name} given read-only arrays X and gamma")
