"""HW2's top-level tasks, reference solutions: fit a GMM by EM, and colour-quantise an image with one.

``fit_gmm`` runs the package's one EM driver (:func:`~mlcourse.mixture.em.run_em`, also behind
:class:`~mlcourse.mixture.GaussianMixture`) on the reference :func:`~mlcourse.mixture.e_step` and
:func:`~mlcourse.mixture.m_step`; ``quantize_image`` is a thin layer over the estimator.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from mlcourse.mixture._validation import (
    check_data,
    check_int,
    check_n_components,
    check_nonnegative,
    check_random_state,
)
from mlcourse.mixture.em import e_step, m_step, run_em
from mlcourse.mixture.estimator import GaussianMixture, initial_responsibilities

__all__ = ["QUANTIZE_FIT_PIXELS", "fit_gmm", "quantize_image"]

#: quantize_image fits on at most this many randomly chosen pixels, then labels every pixel.
QUANTIZE_FIT_PIXELS = 10_000


def fit_gmm(X: Any, K: int, max_iter: int = 100, tol: float = 1e-6, seed: int = 0) -> dict[str, Any]:
    """Fit a K-component full-covariance Gaussian mixture by EM.

    Initialisation (our choice; the homework leaves it to the student): responsibilities are the one-hot
    labels of a k-means run seeded with k-means++ (``seed``); the first M-step turns them into parameters.
    Iterations stop when the *mean per-sample* log-likelihood improves by less than ``tol`` (scikit-learn's
    convention) or after ``max_iter`` iterations (silently: ``loglik`` shows how far it got). The covariances
    carry ``reg=1e-6`` on the diagonal.

    Parameters
    ----------
    X : array_like (N, D)
    K : int
    max_iter : int, default 100
    tol : float, default 1e-6
    seed : int, default 0

    Returns
    -------
    dict
        ``pi`` (K,), ``mu`` (K, D), ``Sigma`` (K, D, D): the fitted parameters; ``gamma`` (N, K): their
        responsibilities; ``loglik``: list of floats, the total log-likelihood ``sum_n log p(x_n)`` of the
        initial parameters and after every iteration -- ``loglik[-1]`` belongs to the returned parameters,
        and the list never decreases.
    """
    X = check_data(X)
    K = check_n_components(K, X.shape[0], "K")
    max_iter = check_int(max_iter, "max_iter", 0)
    tol = check_nonnegative(tol, "tol")
    reg = 1e-6
    start = m_step(X, initial_responsibilities(X, K, "kmeans", check_random_state(seed)), reg)

    def expectation(params: tuple[np.ndarray, np.ndarray, np.ndarray]) -> tuple[float, np.ndarray]:
        gamma, loglik = e_step(X, *params)
        return loglik, gamma

    run = run_em(start, expectation, lambda gamma: m_step(X, gamma, reg), n_samples=X.shape[0],
                 max_iter=max_iter, tol=tol)
    gamma, loglik = e_step(X, *run.params)  # the returned parameters' own responsibilities and loglik
    pi, mu, Sigma = run.params
    return {"pi": pi, "mu": mu, "Sigma": Sigma, "gamma": gamma, "loglik": [*run.logliks, loglik]}


def _check_image(image: Any) -> np.ndarray:
    arr = np.asarray(image)
    if arr.ndim != 3 or arr.shape[2] != 3:
        raise ValueError(f"image must have shape (H, W, 3) (an RGB image), got shape {arr.shape}")
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ValueError(f"image is empty, shape {arr.shape}")
    if arr.dtype != np.uint8:
        if not np.issubdtype(arr.dtype, np.integer) or arr.min() < 0 or arr.max() > 255:
            raise ValueError(f"image must hold 8-bit colour values (dtype uint8, 0..255), got dtype "
                             f"{arr.dtype}")
    return arr


def quantize_image(image: Any, K: int, max_iter: int = 20, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Reduce an RGB image to at most K colours with a Gaussian mixture over pixel colours.

    Pixels are scaled to [0, 1] (divided by 255) so ``reg_covar=1e-6`` is small next to the colour
    variances; a full-covariance mixture is fitted on at most :data:`QUANTIZE_FIT_PIXELS` randomly chosen
    pixels (``seed``; k-means initialisation, ``max_iter`` EM iterations), every pixel is assigned to its most
    probable component, and replaced by that component's mean colour (rescaled, rounded, clipped to 0..255).

    Parameters
    ----------
    image : array_like (H, W, 3) of uint8
    K : int
        Number of colours (components).
    max_iter : int, default 20
    seed : int, default 0

    Returns
    -------
    quantized : ndarray (H, W, 3) of uint8
        At most K distinct colours.
    labels : ndarray (H * W,) of int
        Component of each pixel, in row-major (``image.reshape(-1, 3)``) order.
    """
    arr = _check_image(image)
    H, W, _ = arr.shape
    pixels = arr.reshape(-1, 3).astype(np.float64) / 255.0
    K = check_n_components(K, len(pixels), "K")
    max_iter = check_int(max_iter, "max_iter", 1)
    rng = check_random_state(seed)
    if len(pixels) > QUANTIZE_FIT_PIXELS:
        subset = pixels[rng.choice(len(pixels), size=QUANTIZE_FIT_PIXELS, replace=False)]
    else:
        subset = pixels
    model = GaussianMixture(K, covariance_type="full", max_iter=max_iter, tol=0.0, init_params="kmeans",
                            random_state=rng).fit(subset)
    labels = model.predict(pixels)
    palette = np.clip(np.rint(model.means_ * 255.0), 0, 255).astype(np.uint8)
    return palette[labels].reshape(H, W, 3), labels
