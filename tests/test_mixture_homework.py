"""fit_gmm, sample_gmm and quantize_image (HW2's top level)."""

import numpy as np
import pytest
import sklearn.mixture
from sklearn.datasets import load_sample_image
from threadpoolctl import threadpool_limits

from mlcourse.datasets import load_old_faithful
from mlcourse.mixture import e_step, fit_gmm, quantize_image, sample_gmm


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    with threadpool_limits(1):
        yield


@pytest.fixture(scope="module")
def faithful_fit():
    return fit_gmm(load_old_faithful(), 2, max_iter=1000, tol=1e-10, seed=0)


def test_fit_gmm_returns_the_contract_dict(faithful_fit):
    assert set(faithful_fit) == {"pi", "mu", "Sigma", "gamma", "loglik"}
    assert faithful_fit["pi"].shape == (2,) and faithful_fit["mu"].shape == (2, 2)
    assert faithful_fit["Sigma"].shape == (2, 2, 2) and faithful_fit["gamma"].shape == (272, 2)
    assert isinstance(faithful_fit["loglik"], list) and len(faithful_fit["loglik"]) >= 2
    assert all(type(v) is float for v in faithful_fit["loglik"])


def test_fit_gmm_reaches_the_maximum_found_by_sklearn(faithful_fit):
    X = load_old_faithful()
    best = sklearn.mixture.GaussianMixture(2, n_init=10, tol=1e-10, max_iter=1000, random_state=0).fit(X)
    assert faithful_fit["loglik"][-1] == pytest.approx(best.score(X) * len(X), rel=1e-9)
    order = np.argsort(faithful_fit["mu"][:, 0])
    np.testing.assert_allclose(faithful_fit["mu"][order], best.means_[np.argsort(best.means_[:, 0])],
                               rtol=1e-5)


def test_fit_gmm_history_never_decreases_and_ends_at_the_returned_model(faithful_fit):
    history = np.array(faithful_fit["loglik"])
    assert np.all(np.diff(history) >= -1e-9 * np.abs(history[:-1]))
    gamma, loglik = e_step(load_old_faithful(), faithful_fit["pi"], faithful_fit["mu"], faithful_fit["Sigma"])
    assert history[-1] == pytest.approx(loglik, rel=1e-12)
    np.testing.assert_allclose(faithful_fit["gamma"], gamma, atol=1e-12)


def test_fit_gmm_zero_iterations_returns_the_initialisation():
    X = load_old_faithful()
    result = fit_gmm(X, 2, max_iter=0)
    assert len(result["loglik"]) == 1
    assert result["loglik"][0] == pytest.approx(e_step(X, result["pi"], result["mu"], result["Sigma"])[1])


def test_fit_gmm_does_not_modify_X():
    X = load_old_faithful()
    before = X.copy()
    fit_gmm(X, 2, max_iter=5)
    np.testing.assert_array_equal(X, before)


def test_fit_gmm_rejects_too_many_components():
    with pytest.raises(ValueError, match="K=5 is larger than the number of samples"):
        fit_gmm(np.zeros((3, 2)), 5)


# ----------------------------------------------------------------------------- sample_gmm
PI = np.array([0.5, 0.3, 0.2])
MU = np.array([[0.0, 0.0], [4.0, 1.0], [1.0, 5.0]])
SIGMA = np.array([[[1.0, 0.6], [0.6, 1.0]], [[0.5, 0.0], [0.0, 0.2]], [[0.3, -0.2], [-0.2, 1.0]]])
N = 40_000


@pytest.fixture(scope="module")
def sample():
    return sample_gmm(N, PI, MU, SIGMA, seed=0)


def test_sample_gmm_shapes_and_labels(sample):
    X, z = sample
    assert X.shape == (N, 2) and X.dtype == np.float64
    assert z.shape == (N,) and np.issubdtype(z.dtype, np.integer) and set(np.unique(z)) == {0, 1, 2}


def test_sample_gmm_component_frequencies(sample):
    freq = np.bincount(sample[1], minlength=3) / N
    assert np.all(np.abs(freq - PI) <= 5 * np.sqrt(PI * (1 - PI) / N))


def test_sample_gmm_component_moments(sample):
    X, z = sample
    for k in range(3):
        Xk = X[z == k]
        S = SIGMA[k]
        assert np.all(np.abs(Xk.mean(axis=0) - MU[k]) <= 5 * np.sqrt(np.diag(S) / len(Xk)))
        se = np.sqrt((np.outer(np.diag(S), np.diag(S)) + S**2) / len(Xk))
        assert np.all(np.abs(np.cov(Xk, rowvar=False) - S) <= 5 * se)


def test_sample_gmm_mixture_moments(sample):
    # closed form of the mixture's mean and covariance
    mean = PI @ MU
    cov = np.einsum("k,kij->ij", PI, SIGMA + np.einsum("ki,kj->kij", MU - mean, MU - mean))
    np.testing.assert_allclose(sample[0].mean(axis=0), mean, atol=5 * np.sqrt(np.diag(cov).max() / N))
    np.testing.assert_allclose(np.cov(sample[0], rowvar=False), cov, atol=0.1)


def test_sample_gmm_is_reproducible_per_seed(sample):
    X, z = sample_gmm(N, PI, MU, SIGMA, seed=0)
    np.testing.assert_array_equal(X, sample[0])
    np.testing.assert_array_equal(z, sample[1])
    assert not np.array_equal(sample_gmm(N, PI, MU, SIGMA, seed=1)[0], X)


def test_sample_gmm_rejects_a_bad_covariance():
    with pytest.raises(ValueError, match=r"Sigma\[0\].*not positive definite"):
        sample_gmm(10, [1.0], [[0.0, 0.0]], [[[1.0, 2.0], [2.0, 1.0]]])


# ----------------------------------------------------------------------------- quantize_image
@pytest.fixture(scope="module")
def china():
    return load_sample_image("china.jpg")


@pytest.mark.parametrize("K", [1, 4, 9])
def test_quantize_image_small(china, K):
    img = np.ascontiguousarray(china[::16, ::16])
    before = img.copy()
    q, labels = quantize_image(img, K, max_iter=20, seed=0)
    np.testing.assert_array_equal(img, before)
    assert q.shape == img.shape and q.dtype == np.uint8
    assert labels.shape == (img.shape[0] * img.shape[1],) and np.issubdtype(labels.dtype, np.integer)
    pixels = q.reshape(-1, 3)
    assert len(np.unique(pixels, axis=0)) <= K
    for k in np.unique(labels):
        assert (pixels[labels == k] == pixels[labels == k][0]).all()  # one colour per label
        # the colour is (close to) the mean colour of the pixels with that label
        assert np.abs(pixels[labels == k][0] - img.reshape(-1, 3)[labels == k].mean(axis=0)).max() <= 12


def test_quantize_image_more_colours_reduce_the_error(china):
    img = np.ascontiguousarray(china[::8, ::8])
    errors = [np.mean((quantize_image(img, K)[0].astype(float) - img) ** 2) for K in (2, 8)]
    assert errors[1] < 0.5 * errors[0]


def test_quantize_image_full_size_photo(china):
    q, labels = quantize_image(china, 8, max_iter=20, seed=0)
    assert q.shape == china.shape and labels.shape == (china.shape[0] * china.shape[1],)
    assert len(np.unique(q.reshape(-1, 3), axis=0)) <= 8


@pytest.mark.parametrize("image,message", [(np.zeros((4, 4)), r"shape \(H, W, 3\)"),
                                           (np.zeros((4, 4, 3)), "dtype uint8")])
def test_quantize_image_rejects_bad_images(image, message):
    with pytest.raises(ValueError, match=message):
        quantize_image(image, 2)
