"""Old Faithful (shipped CSV, its MLE) and the seeded synthetic data sets."""

import hashlib
import re
from importlib import resources

import numpy as np
import pytest
import sklearn.datasets
import sklearn.mixture
from threadpoolctl import threadpool_limits

from mlcourse.datasets import DATASET_NAMES, OLD_FAITHFUL_MLE, load_old_faithful, make_dataset


def test_old_faithful_shape_and_known_values():
    X = load_old_faithful()
    assert X.shape == (272, 2) and X.dtype == np.float64
    # first rows and column means of R's datasets::faithful
    np.testing.assert_array_equal(X[:3], [[3.6, 79.0], [1.8, 54.0], [3.333, 74.0]])
    np.testing.assert_allclose(X.mean(axis=0), [3.487783, 70.897059], atol=5e-7)
    assert X[:, 0].min() == 1.6 and X[:, 0].max() == 5.1 and X[:, 1].min() == 43 and X[:, 1].max() == 96


def test_old_faithful_returns_a_fresh_array():
    X = load_old_faithful()
    X[0, 0] = -1.0
    assert load_old_faithful()[0, 0] == 3.6


def test_old_faithful_csv_checksum_matches_the_provenance_note():
    data = resources.files("mlcourse.datasets").joinpath("data")
    digest = hashlib.sha256(data.joinpath("faithful.csv").read_bytes()).hexdigest()
    note = data.joinpath("README.md").read_text(encoding="utf-8")
    assert re.search(r"SHA-256:\*\*\s*`([0-9a-f]{64})`", note).group(1) == digest
    assert "Härdle" in note and "plotnine" in note


def test_old_faithful_mle_agrees_with_sklearn_from_many_restarts():
    X = load_old_faithful()
    with threadpool_limits(1):
        best = sklearn.mixture.GaussianMixture(2, n_init=15, init_params="random", reg_covar=0.0,
                                               tol=1e-12, max_iter=3000, random_state=123).fit(X)
    order = np.argsort(best.means_[:, 0])
    assert best.score(X) * len(X) == pytest.approx(OLD_FAITHFUL_MLE["log_likelihood"], rel=1e-12)
    np.testing.assert_allclose(OLD_FAITHFUL_MLE["weights"], best.weights_[order], rtol=1e-6)
    np.testing.assert_allclose(OLD_FAITHFUL_MLE["means"], best.means_[order], rtol=1e-6)
    np.testing.assert_allclose(OLD_FAITHFUL_MLE["covariances"], best.covariances_[order], rtol=1e-5)


def test_old_faithful_mle_matches_the_published_values():
    np.testing.assert_allclose(OLD_FAITHFUL_MLE["pi"], [0.356, 0.644], atol=1e-3)
    np.testing.assert_allclose(OLD_FAITHFUL_MLE["mu"], [[2.04, 54.5], [4.29, 80.0]], atol=0.05)
    assert OLD_FAITHFUL_MLE["loglik"] == pytest.approx(-1130.264, abs=1e-3)
    assert OLD_FAITHFUL_MLE["mean_log_likelihood"] * 272 == pytest.approx(OLD_FAITHFUL_MLE["loglik"])


def test_old_faithful_mle_is_read_only():
    with pytest.raises(TypeError):
        OLD_FAITHFUL_MLE["weights"] = None
    with pytest.raises(ValueError):
        OLD_FAITHFUL_MLE["means"][0, 0] = 0.0


@pytest.mark.parametrize("name", DATASET_NAMES)
def test_make_dataset_shapes_and_seeding(name):
    X, y = make_dataset(name, n_samples=200, random_state=3)
    assert X.shape == (200, 2) and X.dtype == np.float64 and y.shape == (200,)
    assert np.issubdtype(y.dtype, np.integer) and np.isfinite(X).all()
    X2, y2 = make_dataset(name, n_samples=200, random_state=3)
    np.testing.assert_array_equal(X, X2)
    np.testing.assert_array_equal(y, y2)
    assert not np.array_equal(X, make_dataset(name, n_samples=200, random_state=4)[0])


def test_make_dataset_default_size_and_labels():
    assert make_dataset("blobs")[0].shape == (500, 2)
    assert set(make_dataset("moons")[1]) == {0, 1} and set(make_dataset("varied")[1]) == {0, 1, 2}


def test_make_dataset_reuses_sklearn_generators():
    X, y = make_dataset("moons", n_samples=300, random_state=30)
    X_ref, y_ref = sklearn.datasets.make_moons(n_samples=300, noise=0.05, random_state=30)
    np.testing.assert_array_equal(X, X_ref)
    np.testing.assert_array_equal(y, y_ref)
    X, _ = make_dataset("aniso", n_samples=300, random_state=170)
    X_ref, _ = sklearn.datasets.make_blobs(n_samples=300, random_state=170)
    np.testing.assert_allclose(X, X_ref @ [[0.6, -0.6], [-0.4, 0.8]])


def test_circles_have_two_radii():
    X, y = make_dataset("circles", n_samples=1000, random_state=0)
    radius = np.linalg.norm(X, axis=1)
    assert radius[y == 0].mean() == pytest.approx(1.0, abs=0.02)
    assert radius[y == 1].mean() == pytest.approx(0.5, abs=0.02)


def test_unbalanced_cluster_sizes():
    _, y = make_dataset("unbalanced", n_samples=610)
    np.testing.assert_array_equal(np.bincount(y), [500, 100, 10])


def test_varied_blobs_have_different_spreads():
    X, y = make_dataset("varied", n_samples=3000, random_state=170)
    spreads = sorted(X[y == k].std(axis=0).mean() for k in range(3))
    np.testing.assert_allclose(spreads, [0.5, 1.0, 2.5], rtol=0.1)


def test_unknown_dataset_lists_the_valid_names():
    with pytest.raises(ValueError, match="valid names are blobs, varied, aniso, unbalanced, moons, circles"):
        make_dataset("spirals")


def test_make_dataset_rejects_tiny_sizes():
    with pytest.raises(ValueError, match="n_samples must be an integer >= 3"):
        make_dataset("blobs", n_samples=2)
