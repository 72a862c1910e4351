"""k-means (Lloyd, k-means++) and the silhouette coefficient against scikit-learn."""

import numpy as np
import pytest
import sklearn.cluster
import sklearn.metrics
from threadpoolctl import threadpool_limits

from mlcourse.datasets import make_dataset
from mlcourse.mixture import KMeans, kmeans, kmeans_plusplus, silhouette_samples, silhouette_score


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    with threadpool_limits(1):
        yield


@pytest.fixture(scope="module")
def blobs():
    return make_dataset("blobs", n_samples=400, random_state=3)[0]


def test_lloyd_from_given_centres_matches_sklearn(blobs):
    X = make_dataset("varied", n_samples=500, random_state=1)[0]
    start = X[[0, 1, 2, 3]]
    ours = KMeans(4, init=start, tol=0.0, max_iter=300).fit(X)
    theirs = sklearn.cluster.KMeans(4, init=start, n_init=1, tol=0.0, max_iter=300,
                                    algorithm="lloyd").fit(X)
    np.testing.assert_array_equal(ours.labels_, theirs.labels_)
    np.testing.assert_allclose(ours.cluster_centers_, theirs.cluster_centers_, rtol=1e-10)
    assert ours.inertia_ == pytest.approx(theirs.inertia_, rel=1e-10)


def test_kmeans_plus_plus_finds_the_optimum_of_separated_blobs(blobs):
    _, labels, inertia = kmeans(blobs, 3, n_init=5, random_state=0)
    theirs = sklearn.cluster.KMeans(3, n_init=10, random_state=0).fit(blobs)
    assert inertia == pytest.approx(theirs.inertia_, rel=1e-10)
    assert sklearn.metrics.adjusted_rand_score(labels, theirs.labels_) == 1.0


def test_inertia_is_the_sum_of_squared_distances_to_assigned_centres(blobs):
    model = KMeans(5, random_state=1).fit(blobs)
    expected = sum(((blobs[model.labels_ == k] - c) ** 2).sum() for k, c in enumerate(model.cluster_centers_))
    assert model.inertia_ == pytest.approx(expected, rel=1e-12)


def test_the_result_is_a_fixed_point_of_hard_em(blobs):
    model = KMeans(4, tol=0.0, random_state=2).fit(blobs)  # run to convergence of the labels
    d2 = ((blobs[:, None, :] - model.cluster_centers_[None]) ** 2).sum(axis=2)
    np.testing.assert_array_equal(model.labels_, d2.argmin(axis=1))  # hard E-step: nearest centre
    for k in range(4):  # M-step: each centre is its cluster's mean
        np.testing.assert_allclose(model.cluster_centers_[k], blobs[model.labels_ == k].mean(axis=0),
                                   rtol=1e-12)
    np.testing.assert_array_equal(model.predict(blobs), model.labels_)


def test_n_init_keeps_the_best_run():
    X = make_dataset("unbalanced", n_samples=300, random_state=4)[0]
    single = [KMeans(6, init="random", n_init=1, random_state=seed).fit(X).inertia_ for seed in range(3)]
    best = KMeans(6, init="random", n_init=10, random_state=0).fit(X).inertia_
    assert best <= single[0] + 1e-9


def test_kmeans_plus_plus_picks_distinct_points(blobs):
    centers, indices = kmeans_plusplus(blobs, 6, random_state=0)
    assert len(set(indices.tolist())) == 6
    np.testing.assert_array_equal(centers, blobs[indices])


def test_empty_cluster_is_relocated_without_nan():
    X = np.array([[0.0, 0.0], [0.1, 0.0], [5.0, 5.0], [5.1, 5.0]])
    model = KMeans(3, init=np.array([[0.0, 0.0], [5.0, 5.0], [100.0, 100.0]]), max_iter=50).fit(X)
    assert np.isfinite(model.cluster_centers_).all()
    assert len(np.unique(model.labels_)) == 3


def test_kmeans_rejects_more_clusters_than_points():
    with pytest.raises(ValueError, match="n_clusters=5 is larger than the number of samples"):
        KMeans(5).fit(np.zeros((3, 2)))


def test_kmeans_rejects_a_bad_init():
    with pytest.raises(ValueError, match="init must be 'k-means\\+\\+', 'random'"):
        KMeans(2, init="forgy").fit(np.zeros((3, 2)))


# ----------------------------------------------------------------------------- silhouette
@pytest.mark.parametrize("name", ["blobs", "moons", "aniso"])
def test_silhouette_matches_sklearn(name):
    X, y = make_dataset(name, n_samples=300, random_state=5)
    labels = KMeans(3, random_state=0).fit(X).labels_
    for lab in (y, labels):
        assert silhouette_score(X, lab) == pytest.approx(sklearn.metrics.silhouette_score(X, lab), rel=1e-10)


def test_silhouette_samples_with_singleton_clusters_match_sklearn():
    rng = np.random.default_rng(6)
    X = rng.normal(size=(40, 3))
    labels = rng.integers(0, 4, size=40)
    labels[7] = 9  # a cluster of one point: s = 0
    np.testing.assert_allclose(silhouette_samples(X, labels), sklearn.metrics.silhouette_samples(X, labels),
                               rtol=1e-10, atol=1e-14)
    assert silhouette_samples(X, labels)[7] == 0.0


def test_silhouette_needs_at_least_two_labels():
    with pytest.raises(ValueError, match="2 <= number of labels <= n_samples - 1"):
        silhouette_score(np.zeros((5, 2)), np.zeros(5, dtype=int))
