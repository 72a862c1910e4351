"""Parts 4-6: fit_gmm (judged by the converged solution), sample_gmm (by distribution), quantize_image.

fit_gmm is judged on what does not depend on luck: the best of a few seeds must be the maximum-likelihood
mixture, a fixed point of EM, with a history that never decreases and ends at it (``test_fit_gmm_converged``,
``test_fit_gmm_history``); only ``test_fit_gmm_init`` (2 of 10 points) asks that every seed finds the good
optimum of well-separated clusters. Likewise quantize_image is judged on the best of three seeds.

A property that a trivial function also has (the right keys and shapes, a log-likelihood that never
decreases, labels of the right type, data left unchanged, ...) counts only together with a correct result on
the same inputs: the Old Faithful maximum-likelihood fit, a sample with the right distribution, a quantised
image as good as a GMM fit's.
"""

from __future__ import annotations

import numpy as np
import pytest

from autograder.hw2.common import (
    best_permutation,
    expect_array,
    reference_quantization_error,
    sample_image,
    type_name,
)
from mlcourse import datasets
from mlcourse import mixture as ref

FIT, HISTORY, INIT = "test_fit_gmm_converged", "test_fit_gmm_history", "test_fit_gmm_init"
SAMPLE, SAMPLE_COVS, SAMPLE_SEED = ("test_sample_gmm_components", "test_sample_gmm_covariances",
                                    "test_sample_gmm_seed")
QUANT_TYPES, QUANT_COLOURS, QUANT = ("test_quantize_image_types", "test_quantize_image_colours",
                                     "test_quantize_image_error")


# ----------------------------------------------------------------------------------------------- fit_gmm
def _faithful():
    return np.asarray(datasets.load_old_faithful(), dtype=float)


def _mle() -> dict:
    return {key: np.asarray(value, dtype=float) if key != "loglik" else float(value)
            for key, value in datasets.OLD_FAITHFUL_MLE.items()}


def _fit_result(fit, N: int, D: int, K: int) -> dict:
    assert isinstance(fit, dict), f"fit_gmm should return a dict; got {type_name(fit)}"
    missing = {"pi", "mu", "Sigma", "gamma", "loglik"} - set(fit)
    assert not missing, f"the dict returned by fit_gmm is missing the key(s) {sorted(missing)}"
    out = {"pi": expect_array(fit["pi"], (K,), "fit_gmm(...)['pi']"),
           "mu": expect_array(fit["mu"], (K, D), "fit_gmm(...)['mu']"),
           "Sigma": expect_array(fit["Sigma"], (K, D, D), "fit_gmm(...)['Sigma']"),
           "gamma": expect_array(fit["gamma"], (N, K), "fit_gmm(...)['gamma']")}
    history = fit["loglik"]
    assert isinstance(history, list) and len(history) >= 1, \
        f"fit_gmm(...)['loglik'] should be a non-empty list of floats; got {type_name(history)}"
    assert all(isinstance(v, float) for v in history), \
        "fit_gmm(...)['loglik'] should contain Python floats (one log-likelihood per E-step)"
    assert all(np.isfinite(v) for v in history), "fit_gmm(...)['loglik'] contains inf or nan"
    out["loglik"] = history
    for key in ("pi", "mu", "Sigma", "gamma"):
        assert np.all(np.isfinite(out[key])), f"fit_gmm(...)['{key}'] contains inf or nan"
    return out


#: Old Faithful is fitted with these seeds; the fit whose mixture has the highest log-likelihood is judged (so
#: an unlucky initialisation does not cost the points).
FAITHFUL_SEEDS = (0, 1, 2)


def faithful_fits(student, memo) -> list[dict]:
    """The student's fits of Old Faithful (K=2), converged tightly; shared by the tests of one run."""
    X = _faithful()

    def fit(seed: int):
        return memo.get(("fit", "faithful", seed), lambda: student.fit_gmm(X, 2, 1000, 1e-10, seed))

    return [_fit_result(fit(seed), X.shape[0], 2, 2) for seed in FAITHFUL_SEEDS]


def _loglik(X: np.ndarray, fit: dict) -> float:
    """The log-likelihood of a fit's mixture, computed here (-inf when its parameters are not valid)."""
    try:
        return float(ref.e_step(X, fit["pi"], fit["mu"], fit["Sigma"])[1])
    except (ValueError, np.linalg.LinAlgError):
        return -np.inf


def best_fit(X: np.ndarray, fits: list[dict]) -> dict:
    """The fit whose mixture has the highest log-likelihood (computed here, never the student's number)."""
    return max(fits, key=lambda fit: _loglik(X, fit))


def faithful_fit(student, memo) -> dict:
    """The better of the student's Old Faithful fits (by the log-likelihood of the returned mixture)."""
    return best_fit(_faithful(), faithful_fits(student, memo))


def faithful_mle(student, memo) -> dict:
    """The better Old Faithful fit, which must be the maximum-likelihood mixture (any labelling)."""
    fit, mle = faithful_fit(student, memo), _mle()
    order = list(best_permutation(fit["mu"], mle["mu"]))
    assert np.allclose(fit["pi"][order], mle["pi"], rtol=0, atol=1e-3), \
        "fit_gmm on Old Faithful: the weights pi are not those of the maximum-likelihood solution"
    assert np.allclose(fit["mu"][order], mle["mu"], rtol=1e-3, atol=1e-3), \
        "fit_gmm on Old Faithful: the means are not those of the maximum-likelihood solution"
    assert np.allclose(fit["Sigma"][order], mle["Sigma"], rtol=1e-2, atol=1e-3), \
        "fit_gmm on Old Faithful: the covariances are not those of the maximum-likelihood solution"
    return fit


@pytest.mark.part(FIT)
def test_fit_gmm_returns_the_fitted_mixture(student, memo):
    """fit_gmm returns a dict with pi, mu, Sigma, gamma of the right shapes and loglik, a list of floats"""
    faithful_mle(student, memo)


@pytest.mark.part(HISTORY, weight=2)
def test_fit_gmm_loglik_never_decreases(student, memo):
    """the log-likelihood history of fit_gmm on Old Faithful never decreases"""
    faithful_mle(student, memo)  # a history counts only for a fit that finds the maximum
    for fit in faithful_fits(student, memo):
        history = np.array(fit["loglik"])
        assert len(history) >= 2, \
            "fit_gmm(...)['loglik'] should hold the log-likelihood of every E-step (at least 2)"
        drops = np.diff(history) < -1e-9 * np.abs(history[:-1])
        assert not np.any(drops), \
            f"the log-likelihood history decreases at {int(drops.sum())} step(s); EM never decreases it " \
            "(check the order of E- and M-steps, and that you store the log-likelihood, not its negative)"


@pytest.mark.part(FIT, weight=3)
def test_fit_gmm_finds_the_old_faithful_mle(student, memo):
    """fit_gmm converges to Old Faithful's maximum-likelihood mixture (any labelling; best of seeds 0-2)"""
    faithful_mle(student, memo)


@pytest.mark.part(HISTORY)
def test_fit_gmm_final_loglik(student, memo):
    """the last log-likelihood of fit_gmm is Old Faithful's maximum and belongs to the returned mixture"""
    fit, mle, X = faithful_fit(student, memo), _mle(), _faithful()
    assert abs(fit["loglik"][-1] - mle["loglik"]) <= 1e-4 * abs(mle["loglik"]), \
        "fit_gmm on Old Faithful: the last entry of loglik is not the maximum log-likelihood"
    own = ref.e_step(X, fit["pi"], fit["mu"], fit["Sigma"])[1]
    assert abs(fit["loglik"][-1] - own) <= 1e-6 * abs(own), \
        ("fit_gmm on Old Faithful: the last entry of loglik is not the log-likelihood of the returned pi, mu "
         "and Sigma")


@pytest.mark.part(FIT)
def test_fit_gmm_gamma_matches_the_parameters(student, memo):
    """fit_gmm returns the responsibilities of its final mixture"""
    fit, X = faithful_mle(student, memo), _faithful()
    gamma = ref.e_step(X, fit["pi"], fit["mu"], fit["Sigma"])[0]
    assert np.allclose(fit["gamma"], gamma, rtol=0, atol=1e-3), \
        "fit_gmm(...)['gamma'] are not the responsibilities of the returned pi, mu and Sigma"


@pytest.mark.part(FIT)
def test_fit_gmm_recovers_three_separated_clusters(student, memo):
    """fit_gmm recovers three well-separated clusters (best of seeds 0-2; any labelling)"""
    pi = np.array([0.5, 0.3, 0.2])
    mu = np.array([[0.0, 0.0], [8.0, 1.0], [2.0, 9.0]])
    Sigma = np.array([[[1.0, 0.3], [0.3, 1.0]], [[0.6, 0.0], [0.0, 1.5]], [[1.2, -0.4], [-0.4, 0.8]]])
    X = ref.sample_gmm(600, pi, mu, Sigma, seed=7)[0]
    fits = [_fit_result(memo.get(("fit", "three", seed), lambda s=seed: student.fit_gmm(X, 3, 300, 1e-8, s)),
                        600, 2, 3) for seed in (0, 1, 2)]
    fit = best_fit(X, fits)
    order = list(best_permutation(fit["mu"], mu))
    assert np.allclose(fit["mu"][order], mu, atol=0.35) and np.allclose(fit["pi"][order], pi, atol=0.05), \
        "fit_gmm did not find three clearly separated clusters (check the initialisation: distinct means)"


@pytest.mark.part(FIT)
def test_fit_gmm_leaves_x_unchanged(student, memo):
    """fit_gmm does not modify X (it fits Old Faithful given as a read-only array)"""
    faithful_mle(student, memo)


@pytest.mark.part(FIT)
def test_fit_gmm_returns_a_fixed_point_of_em(student, memo):
    """the mixture fit_gmm returns on Old Faithful is a fixed point of EM (one more E- and M-step keeps it)"""
    fit, X = faithful_mle(student, memo), _faithful()
    again = ref.m_step(X, ref.e_step(X, fit["pi"], fit["mu"], fit["Sigma"])[0])
    for label, mine, next_one in zip(("pi", "mu", "Sigma"), (fit["pi"], fit["mu"], fit["Sigma"]), again,
                                     strict=True):
        assert np.allclose(mine, next_one, rtol=1e-3, atol=1e-4), \
            f"fit_gmm on Old Faithful: one more EM step changes {label}, so the fit has not converged"


#: Well-separated clusters on which random data points as initial means often end in a poor local optimum
#: (two means in one cluster), while k-means++ seeding finds every cluster with every seed: (centres, points
#: per cluster, seed of the sample).
INIT_PROBLEMS = ((np.array([[0.0, 0.0], [6.0, 0.0], [0.0, 6.0], [6.0, 6.0]]), 100, 11),)
INIT_SEEDS = range(10)


@pytest.mark.part(INIT)
def test_fit_gmm_initialisation_finds_every_cluster_with_every_seed(student, memo):
    """with every seed 0-9, fit_gmm puts one mean at each of 4 well-separated clusters"""
    for centres, n, sample_seed in INIT_PROBLEMS:
        K, D = centres.shape
        X = ref.sample_gmm(n * K, np.full(K, 1.0 / K), centres, np.array([0.5 * np.eye(D)] * K),
                           seed=sample_seed)[0]
        for seed in INIT_SEEDS:
            raw = memo.get(("fit", "init", K, seed),
                           lambda X=X, K=K, s=seed: student.fit_gmm(X, K, 300, 1e-8, s))
            fit = _fit_result(raw, n * K, D, K)
            distance = np.linalg.norm(fit["mu"][None, :, :] - centres[:, None, :], axis=2)  # (centre, mean)
            assert np.all(np.min(distance, axis=1) < 0.5), \
                (f"{K} well-separated clusters: with seed={seed} fit_gmm ends without a mean at every "
                 "cluster (a poor local optimum: spread the initial means out, e.g. with k-means++ seeding)")


# -------------------------------------------------------------------------------------------- sample_gmm
_S_PI = np.array([0.5, 0.3, 0.2])
_S_MU = np.array([[0.0, 0.0], [4.0, 1.0], [1.0, 5.0]])
_S_SIGMA = np.array([[[1.0, 0.6], [0.6, 1.0]], [[0.5, 0.0], [0.0, 0.2]], [[0.3, -0.2], [-0.2, 1.0]]])
_S_N = 60_000


def _sample(student, memo, seed: int = 0):
    result = memo.get(("sample", seed), lambda: student.sample_gmm(_S_N, _S_PI, _S_MU, _S_SIGMA, seed))
    assert isinstance(result, (tuple, list)) and len(result) == 2, "sample_gmm should return a tuple (X, z)"
    X = expect_array(result[0], (_S_N, 2), f"X from sample_gmm({_S_N}, ...) in 2-D")
    z = expect_array(result[1], (_S_N,), f"z from sample_gmm({_S_N}, ...)", kind="iu")
    assert z.min() >= 0 and z.max() < 3, "z from sample_gmm should hold component indices 0, ..., K-1"
    assert np.all(np.isfinite(X)), "X from sample_gmm contains inf or nan"
    return X, z


def _frequencies(z: np.ndarray) -> None:
    freq = np.bincount(z, minlength=3) / _S_N
    assert np.all(np.abs(freq - _S_PI) <= 5 * np.sqrt(_S_PI * (1 - _S_PI) / _S_N)), \
        "the components in z do not occur with the frequencies pi (draw z from Categorical(pi))"


def _means(X: np.ndarray, z: np.ndarray) -> None:
    for k in range(3):
        Xk = X[z == k]
        assert len(Xk) > 100, "sample_gmm: some component hardly ever occurs in z"
        se = np.sqrt(np.diag(_S_SIGMA[k]) / len(Xk))
        assert np.all(np.abs(Xk.mean(axis=0) - _S_MU[k]) <= 5 * se), \
            "the samples of a component do not have that component's mean (X[z == k] should centre on mu[k])"


def _covariances(X: np.ndarray, z: np.ndarray) -> None:
    for k in range(3):
        Xk = X[z == k]
        assert len(Xk) > 100, "sample_gmm: some component hardly ever occurs in z"
        S = _S_SIGMA[k]
        se = np.sqrt((np.outer(np.diag(S), np.diag(S)) + S**2) / len(Xk))
        assert np.all(np.abs(np.cov(Xk, rowvar=False) - S) <= 6 * se), \
            "the samples of a component do not have that component's covariance " \
            "(use mu_k + L_k eps with Sigma_k = L_k L_k^T, not Sigma_k itself)"


def _right_sample(student, memo, seed: int = 0):
    """The sample for ``seed``; it must be distributed like the mixture (frequencies, means, covariances)."""
    X, z = _sample(student, memo, seed)
    _frequencies(z)
    _means(X, z)
    _covariances(X, z)
    return X, z


@pytest.mark.part(SAMPLE_COVS)
def test_sample_gmm_returns_points_and_labels(student, memo):
    """sample_gmm returns X (n, D) floats and z (n,) integers in 0..K-1, distributed like the mixture"""
    _right_sample(student, memo)


@pytest.mark.part(SAMPLE)
def test_sample_gmm_component_frequencies(student, memo):
    """the components of sample_gmm occur with frequencies pi"""
    _frequencies(_sample(student, memo)[1])


@pytest.mark.part(SAMPLE)
def test_sample_gmm_component_means(student, memo):
    """the samples of every component of sample_gmm have mean mu_k"""
    _means(*_sample(student, memo))


@pytest.mark.part(SAMPLE_COVS)
def test_sample_gmm_component_covariances(student, memo):
    """the samples of every component of sample_gmm have covariance Sigma_k"""
    _covariances(*_sample(student, memo))


@pytest.mark.part(SAMPLE_SEED)
def test_sample_gmm_is_reproducible(student, memo):
    """sample_gmm gives the same sample for the same seed and a different one for another seed"""
    X0, z0 = _sample(student, memo, 0)
    _frequencies(z0)  # reproducible *and* drawn from the right components: a constant is reproducible too
    _means(X0, z0)  # (the covariances, which the seed does not touch, are judged in their own cell)
    again = student.sample_gmm(_S_N, _S_PI, _S_MU, _S_SIGMA, 0)
    assert isinstance(again, (tuple, list)) and len(again) == 2 and np.array_equal(again[0], X0) \
        and np.array_equal(again[1], z0), \
        "sample_gmm with the same seed gave a different sample (use np.random.default_rng(seed))"
    X1, _ = _sample(student, memo, 1)
    assert not np.array_equal(X0, X1), "sample_gmm gave the same sample for seeds 0 and 1"


# ---------------------------------------------------------------------------------------- quantize_image
QUANT_K = 4


def _raw_quantized(student, memo, seed: int = 0):
    return memo.get(("quantize", seed), lambda: student.quantize_image(sample_image(), QUANT_K, 20, seed))


def _quantized(student, memo, seed: int = 0):
    img = sample_image()
    H, W, _ = img.shape
    result = _raw_quantized(student, memo, seed)
    assert isinstance(result, (tuple, list)) and len(result) == 2, \
        "quantize_image should return a tuple (quantized, labels)"
    q, labels = result
    assert isinstance(q, np.ndarray) and q.shape == (H, W, 3), \
        f"quantized should be an array of the image's shape {(H, W, 3)}; got {type_name(q)}"
    labels = np.asarray(labels)
    assert (labels.shape == (H * W,) and labels.dtype.kind in "iu") or \
        (labels.dtype.kind == "f" and np.all(labels == np.round(labels))), \
        f"labels from quantize_image should be {H * W} integers (one per pixel); got {type_name(labels)}"
    labels = labels.astype(int)
    assert labels.min() >= 0 and labels.max() < QUANT_K, "labels should be component indices 0, ..., K-1"
    return img, q, labels


def _mse(q: np.ndarray, img: np.ndarray) -> float:
    return float(np.mean((q.astype(float) - img.astype(float)) ** 2))


#: GMM colour palettes have several local optima: a correct fit's squared error varies by up to ~2x between
#: seeds (and a k-means-initialised reference tends to sit at the low end). So the student's best of three
#: seeds is compared with the reference's best of three, with a factor of 2.
QUANT_SEEDS, QUANT_FACTOR = (0, 1, 2), 2.0


def _good_quantization(student, memo) -> None:
    """The best squared error of the student's quantisations (seeds 0-2) is comparable to the reference's."""
    best = min(_mse(_quantized(student, memo, seed)[1], sample_image()) for seed in QUANT_SEEDS)
    assert best <= QUANT_FACTOR * reference_quantization_error(QUANT_K, 20, QUANT_SEEDS) + 1.0, \
        "quantize_image reproduces the image much worse than a GMM fit should (mean squared error too large)"


@pytest.mark.part(QUANT_TYPES, weight=2)
def test_quantize_image_types(student, memo):
    """quantize_image returns a uint8 image of the input's shape and integer labels (H*W,)"""
    _good_quantization(student, memo)  # types count only for a good quantisation
    img, q, _ = _quantized(student, memo)
    labels = _raw_quantized(student, memo)[1]
    assert q.dtype == np.uint8, f"quantized should have dtype uint8 like the image; got {q.dtype}"
    expect_array(labels, (img.shape[0] * img.shape[1],), "labels from quantize_image", kind="iu")


@pytest.mark.part(QUANT_COLOURS, weight=2)
def test_quantize_image_one_colour_per_label(student, memo):
    """quantize_image uses at most K colours, one per label"""
    _good_quantization(student, memo)
    _, q, labels = _quantized(student, memo)
    pixels = q.reshape(-1, 3)
    assert len(np.unique(pixels, axis=0)) <= QUANT_K, f"quantized has more than K={QUANT_K} colours"
    for k in np.unique(labels):
        assert np.all(pixels[labels == k] == pixels[labels == k][0]), \
            "pixels with the same label have different colours in quantized"


@pytest.mark.part(QUANT_COLOURS, weight=2)
def test_quantize_image_colours_are_means(student, memo):
    """each colour of quantize_image is (close to) the mean colour of the pixels with its label"""
    _good_quantization(student, memo)
    img, q, labels = _quantized(student, memo)
    pixels, original = q.reshape(-1, 3).astype(float), img.reshape(-1, 3).astype(float)
    present = np.unique(labels)
    means = np.array([original[labels == k].mean(axis=0) for k in present])
    for i, k in enumerate(present):
        colour = pixels[labels == k][0]
        nearest = int(np.argmin(np.sum((means - colour) ** 2, axis=1)))
        # Soft responsibilities make mu_k differ a little from the mean of the hard-assigned pixels.
        assert nearest == i and np.all(np.abs(colour - means[i]) <= 25.0), \
            ("a colour of quantized is not the mean colour of the pixels with its label (mu_k, scaled to "
             "0..255)")


@pytest.mark.part(QUANT, weight=3)
def test_quantize_image_error_comparable_to_reference(student, memo):
    """the squared error of quantize_image is comparable to the reference's (K=4, best of seeds 0-2)"""
    _good_quantization(student, memo)


@pytest.mark.part(QUANT)
def test_quantize_image_leaves_the_image_unchanged(student, memo):
    """quantize_image does not modify the image (it quantises one given as a read-only array)"""
    _good_quantization(student, memo)
