"""Inputs and comparisons shared by the HW2 hidden tests (trusted side only).

Every input is generated here from a fixed seed; every comparison raises an ``AssertionError`` whose
message says what was checked and what went wrong, never the expected values.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Sequence

import numpy as np

#: Tight agreement with the reference for well-conditioned inputs.
RTOL, ATOL = 1e-8, 1e-10


def rng(seed: int) -> np.random.Generator:
    """The generator every hidden input comes from (offset so it never equals a student's own seed)."""
    return np.random.default_rng(20_250 + seed)


def random_gmm(gen: np.random.Generator, K: int, D: int, scale: float = 3.0):
    """Random mixture parameters: Dirichlet weights, spread means, well-conditioned full covariances."""
    pi = gen.dirichlet(np.full(K, 2.0))
    mu = gen.normal(scale=scale, size=(K, D))
    A = gen.normal(size=(K, D, D))
    Sigma = A @ np.swapaxes(A, 1, 2) / D + 0.5 * np.eye(D)
    return pi, mu, Sigma


def random_points(gen: np.random.Generator, N: int, D: int, scale: float = 4.0) -> np.ndarray:
    """N points spread over the region of the random mixtures."""
    return gen.normal(scale=scale, size=(N, D))


def random_gamma(gen: np.random.Generator, N: int, K: int) -> np.ndarray:
    """Valid responsibilities: non-negative rows that sum to one."""
    return gen.dirichlet(np.full(K, 0.7), size=N)


#: (seed, N, D, K) of the random problems: one or several points, 1 to 4 dimensions, 1 to 5 components.
CASES: Sequence[tuple[int, int, int, int]] = ((0, 30, 2, 3), (1, 25, 1, 2), (2, 40, 3, 4), (3, 12, 2, 1),
                                              (4, 1, 2, 2), (5, 35, 4, 5))


def near_singular_cov(gen: np.random.Generator, D: int, smallest: float = 1e-8) -> np.ndarray:
    """A covariance whose smallest eigenvalue is ``smallest`` (condition number about 1/smallest)."""
    Q, _ = np.linalg.qr(gen.normal(size=(D, D)))
    eig = np.geomspace(1.0, smallest, D)
    return (Q * eig) @ Q.T


def points_from(gen: np.random.Generator, mu: np.ndarray, Sigma: np.ndarray, N: int) -> np.ndarray:
    """N draws from N(mu, Sigma), via the eigendecomposition (fine for near-singular Sigma)."""
    eig, Q = np.linalg.eigh(Sigma)
    return mu + (gen.normal(size=(N, len(mu))) * np.sqrt(np.clip(eig, 0, None))) @ Q.T


def far_points(gen: np.random.Generator, N: int, D: int, distance: float = 1e3) -> np.ndarray:
    """N points about ``distance`` away from the origin in random directions (far from every component)."""
    u = gen.normal(size=(N, D))
    return distance * u / np.linalg.norm(u, axis=1, keepdims=True)


# ---------------------------------------------------------------------------------------------- checks
def type_name(x) -> str:
    if isinstance(x, np.ndarray):
        return f"an array of shape {x.shape} and dtype {x.dtype}"
    return f"a {type(x).__name__}"


def expect_array(x, shape: tuple, what: str, kind: str = "f") -> np.ndarray:
    """``x`` is an ndarray of ``shape`` whose dtype kind is in ``kind`` (float by default)."""
    assert isinstance(x, np.ndarray), f"{what} should be a NumPy array of shape {shape}; got {type_name(x)}"
    assert x.shape == tuple(shape), f"{what} should have shape {tuple(shape)}; got {x.shape}"
    kinds = {"f": "floating-point", "iu": "integer", "u": "unsigned integer", "b": "boolean"}
    assert x.dtype.kind in kind, f"{what} should have a {kinds.get(kind, kind)} dtype; got {x.dtype}"
    return x


def values(x, shape: tuple, what: str) -> np.ndarray:
    """``x`` as a float array of ``shape`` (lists are accepted here: the type is judged by its own test)."""
    try:
        arr = np.asarray(x, dtype=float)
    except (TypeError, ValueError):
        raise AssertionError(f"{what} should be an array of numbers of shape {tuple(shape)}; "
                             f"got {type_name(x)}") from None
    assert arr.shape == tuple(shape), f"{what} should have shape {tuple(shape)}; got {arr.shape}"
    return arr


def expect_finite(x: np.ndarray, what: str) -> None:
    assert np.all(np.isfinite(x)), f"{what} contains inf or nan"


def expect_close(got, want, what: str, rtol: float = RTOL, atol: float = ATOL) -> None:
    """``got`` (already shape-checked) agrees with the reference ``want``; the message names no values."""
    got = np.asarray(got, dtype=float)
    assert got.shape == np.shape(want), f"{what}: wrong shape {got.shape}"
    if not np.allclose(got, want, rtol=rtol, atol=atol):
        bad = ~np.isclose(got, want, rtol=rtol, atol=atol)
        nonfinite = " (some values are inf or nan)" if not np.all(np.isfinite(got[bad])) else ""
        raise AssertionError(f"{what}: {int(bad.sum())} of {bad.size} values are wrong{nonfinite}")


def expect_correct(x, shape: tuple, want, what: str, strict: bool = False, rtol: float = RTOL,
                   atol: float = ATOL) -> np.ndarray:
    """``x`` has ``shape`` (``strict``: is also a float ndarray) and agrees with the reference ``want``.

    A check of a property that a trivial function also has (a shape, a dtype, rows that sum to one, inputs
    left unchanged) goes through this first: such a property counts only for a correct result.
    """
    arr = (expect_array if strict else values)(x, shape, what)
    expect_close(arr, want, what, rtol=rtol, atol=atol)
    return arr


def unpack(result, n: int, what: str) -> tuple:
    """A tuple (or list) of ``n`` results."""
    assert isinstance(result, (tuple, list)) and len(result) == n, \
        f"{what} should return a tuple of {n} values; got {type_name(result)}" + \
        (f" of length {len(result)}" if isinstance(result, (tuple, list)) else "")
    return tuple(result)


def best_permutation(mu_got: np.ndarray, mu_want: np.ndarray) -> tuple[int, ...]:
    """The relabelling of the student's components that best matches the reference means."""
    K = len(mu_want)
    scale = np.std(mu_want, axis=0) + 1e-12 if K > 1 else np.ones(mu_want.shape[1])
    return min(itertools.permutations(range(K)),
               key=lambda p: float(np.sum(((mu_got[list(p)] - mu_want) / scale) ** 2)))


@functools.cache
def sample_image() -> np.ndarray:
    """The image quantize_image is tested on: every 16th pixel of scikit-learn's ``china.jpg`` (uint8).

    Decoded once per process (it is the same for every submission) and read-only: every caller shares it.
    """
    from sklearn.datasets import load_sample_image

    image = np.ascontiguousarray(load_sample_image("china.jpg")[::16, ::16])
    image.setflags(write=False)
    return image


@functools.cache
def reference_quantization_error(K: int, n_iter: int, seeds: tuple[int, ...]) -> float:
    """The reference's best mean squared error quantising :func:`sample_image` (K colours, ``n_iter`` EM
    iterations, best of ``seeds``): the same for every submission, so computed once per process."""
    from mlcourse import mixture as ref

    image = sample_image().astype(float)
    return min(float(np.mean((ref.quantize_image(sample_image(), K, n_iter, seed)[0] - image) ** 2))
               for seed in seeds)
