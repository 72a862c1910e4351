"""GaussianMixture: parity with scikit-learn from identical initial parameters, EM monotonicity, the
estimator interface and its errors."""

import warnings

import numpy as np
import pytest
import sklearn.mixture
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from threadpoolctl import threadpool_limits

from mlcourse.mixture import ConvergenceWarning, GaussianMixture, NotFittedError

COVARIANCE_TYPES = ["full", "tied", "diag", "spherical"]


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """Tiny problems: threaded BLAS/OpenMP only adds waits on a busy machine (for scikit-learn too)."""
    with threadpool_limits(1):
        yield


def clustered_data(seed=0, N=300, D=3, K=3):
    rng = np.random.default_rng(seed)
    centers = rng.normal(scale=4, size=(K, D))
    z = rng.integers(K, size=N)
    A = rng.normal(size=(K, D, D)) * 0.7
    return centers[z] + np.einsum("nij,nj->ni", A[z], rng.normal(size=(N, D)))


def initial_parameters(X, K, ct, seed=1):
    rng = np.random.default_rng(seed)
    D = X.shape[1]
    weights = rng.dirichlet(np.full(K, 5.0))
    means = X[rng.choice(len(X), K, replace=False)]
    precisions = {"full": np.stack([np.eye(D) * (0.5 + k) for k in range(K)]),
                  "tied": np.eye(D) * 0.7,
                  "diag": rng.uniform(0.3, 2.0, size=(K, D)),
                  "spherical": rng.uniform(0.3, 2.0, size=K)}[ct]
    return {"weights_init": weights, "means_init": means, "precisions_init": precisions}


def fit_both(X, K, ct, **kwargs):
    ours = GaussianMixture(K, covariance_type=ct, **kwargs).fit(X)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # sklearn's ConvergenceWarning for tol=0 runs
        theirs = sklearn.mixture.GaussianMixture(K, covariance_type=ct, **kwargs).fit(X)
    return ours, theirs


def assert_rel(ours, theirs, rtol=1e-8):
    ours, theirs = np.asarray(ours), np.asarray(theirs)
    assert ours.shape == theirs.shape
    scale = np.abs(theirs).max()
    assert np.abs(ours - theirs).max() <= rtol * scale, f"max rel diff {np.abs(ours - theirs).max() / scale}"


@pytest.mark.parametrize("ct", COVARIANCE_TYPES)
def test_parity_with_sklearn_from_identical_initial_parameters(ct):
    X = clustered_data()
    ours, theirs = fit_both(X, 3, ct, tol=0.0, max_iter=30, **initial_parameters(X, 3, ct))
    for name in ("weights_", "means_", "covariances_", "precisions_cholesky_", "precisions_"):
        assert_rel(getattr(ours, name), getattr(theirs, name))
    assert ours.lower_bound_ == pytest.approx(theirs.lower_bound_, rel=1e-8)
    assert_rel(ours.lower_bounds_, theirs.lower_bounds_)
    assert ours.n_iter_ == theirs.n_iter_ == 30
    assert ours.converged_ is theirs.converged_ is False


@pytest.mark.parametrize("ct", COVARIANCE_TYPES)
def test_parity_of_the_fitted_model_methods(ct):
    X = clustered_data(seed=2)
    ours, theirs = fit_both(X, 3, ct, tol=1e-6, max_iter=200, **initial_parameters(X, 3, ct, seed=3))
    assert ours.n_iter_ == theirs.n_iter_ and ours.converged_ and theirs.converged_
    Y = clustered_data(seed=4, N=50)
    assert_rel(ours.score_samples(Y), theirs.score_samples(Y))
    assert ours.score(Y) == pytest.approx(theirs.score(Y), rel=1e-8)
    np.testing.assert_allclose(ours.predict_proba(Y), theirs.predict_proba(Y), atol=1e-8)
    np.testing.assert_array_equal(ours.predict(Y), theirs.predict(Y))
    assert ours.bic(Y) == pytest.approx(theirs.bic(Y), rel=1e-8)
    assert ours.aic(Y) == pytest.approx(theirs.aic(Y), rel=1e-8)


def test_parity_on_badly_scaled_data_far_from_the_origin():
    X = 1e4 + 1e-2 * clustered_data(seed=5)
    ours, theirs = fit_both(X, 3, "full", tol=0.0, max_iter=20, weights_init=np.full(3, 1 / 3),
                            means_init=X[:3], precisions_init=np.stack([np.eye(3) * 1e3] * 3))
    assert_rel(ours.means_, theirs.means_, rtol=1e-12)
    assert_rel(ours.covariances_, theirs.covariances_, rtol=1e-6)
    assert ours.lower_bound_ == pytest.approx(theirs.lower_bound_, rel=1e-8)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1), per_component=st.integers(15, 40), D=st.integers(1, 4),
       K=st.integers(1, 4), ct=st.sampled_from(COVARIANCE_TYPES),
       init=st.sampled_from(["kmeans", "random", "random_from_data"]))
def test_log_likelihood_never_decreases(seed, per_component, D, K, ct, init):
    # EM's ascent theorem is about the exact M-step. reg_covar adds a ridge to every covariance, which
    # perturbs that step by about (reg_covar / smallest eigenvalue)^2: where a component collapses onto a
    # few points the bound can drop (with N = 10..12 points, 51 of 5184 fits lost up to 6e-6 relative).
    # With at least 15 points per component none of 4608 fits lost more than rounding (4e-10 relative).
    N = per_component * K
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(N, D)) * rng.uniform(0.1, 10, size=D) + rng.integers(0, 3, size=(N, 1)) * 2.0
    model = GaussianMixture(K, covariance_type=ct, init_params=init, tol=0.0, max_iter=25,
                            reg_covar=1e-6, random_state=seed).fit(X)
    history = np.array(model.lower_bounds_)
    assert np.isfinite(history).all()
    assert np.all(np.diff(history) >= -1e-9 * np.abs(history[:-1]))


@pytest.mark.parametrize("init", ["kmeans", "k-means++", "random", "random_from_data"])
def test_every_initialisation_finds_well_separated_clusters(init):
    X = clustered_data(seed=6, K=3)
    ours = GaussianMixture(3, init_params=init, n_init=3, tol=1e-8, max_iter=500, random_state=0).fit(X)
    theirs = sklearn.mixture.GaussianMixture(3, n_init=5, tol=1e-8, max_iter=500, random_state=0).fit(X)
    assert ours.converged_
    assert ours.score(X) == pytest.approx(theirs.score(X), rel=1e-6)
    np.testing.assert_allclose(ours.weights_.sum(), 1.0, rtol=1e-14)


def test_more_initialisations_never_give_a_worse_lower_bound():
    X = clustered_data(seed=7, K=4)
    one = GaussianMixture(4, init_params="random", random_state=3, max_iter=40).fit(X)
    five = GaussianMixture(4, init_params="random", n_init=5, random_state=3, max_iter=40).fit(X)
    assert five.lower_bound_ >= one.lower_bound_


def test_snapshots_record_every_iteration():
    X = clustered_data(seed=8)
    init = initial_parameters(X, 3, "full")
    model = GaussianMixture(3, tol=1e-4, keep_snapshots=True, **init).fit(X)
    assert len(model.snapshots_) == model.n_iter_ + 1
    first, last = model.snapshots_[0], model.snapshots_[-1]
    assert first["iteration"] == 0 and last["iteration"] == model.n_iter_
    np.testing.assert_array_equal(first["means"], init["means_init"])
    np.testing.assert_allclose(first["covariances"], np.linalg.inv(init["precisions_init"]), rtol=1e-12)
    np.testing.assert_array_equal(last["means"], model.means_)
    np.testing.assert_array_equal(last["covariances"], model.covariances_)


def test_snapshots_hold_full_covariances_for_diag():
    X = clustered_data(seed=9)
    model = GaussianMixture(2, covariance_type="diag", keep_snapshots=True, max_iter=3, tol=0,
                            random_state=0).fit(X)
    np.testing.assert_allclose(model.snapshots_[-1]["covariances"],
                               np.stack([np.diag(v) for v in model.covariances_]))


def test_zero_iterations_keep_the_initial_parameters():
    X = clustered_data(seed=10)
    init = initial_parameters(X, 3, "diag")
    model = GaussianMixture(3, covariance_type="diag", max_iter=0, **init).fit(X)
    assert model.n_iter_ == 0 and model.lower_bound_ == -np.inf and model.lower_bounds_ == []
    np.testing.assert_array_equal(model.means_, init["means_init"])
    np.testing.assert_allclose(model.covariances_, 1 / init["precisions_init"], rtol=1e-14)


def test_sample_follows_the_fitted_mixture():
    X = clustered_data(seed=11)
    model = GaussianMixture(3, random_state=0).fit(X)
    Y, labels = model.sample(30_000)
    assert Y.shape == (30_000, 3) and labels.shape == (30_000,)
    freq = np.bincount(labels, minlength=3) / len(labels)
    assert np.all(np.abs(freq - model.weights_) <= 5 * np.sqrt(model.weights_ / len(labels)))
    for k in range(3):
        se = np.sqrt(np.diag(model.covariances_[k]) / (labels == k).sum())
        assert np.all(np.abs(Y[labels == k].mean(axis=0) - model.means_[k]) <= 5 * se)


def test_collapsing_component_gives_no_nan():
    # three distinct points for three components: each collapses onto a point, covariance = reg_covar I
    X = np.repeat(np.array([[0.0, 0.0], [5.0, 5.0], [10.0, 0.0]]), 20, axis=0)
    model = GaussianMixture(3, random_state=0, max_iter=20, tol=0).fit(X)
    for name in ("weights_", "means_", "covariances_", "lower_bounds_"):
        assert np.isfinite(getattr(model, name)).all()
    np.testing.assert_allclose(model.covariances_, np.stack([1e-6 * np.eye(2)] * 3), rtol=1e-6, atol=1e-15)


def test_convergence_warning_only_when_tol_is_positive():
    X = clustered_data(seed=12)
    with pytest.warns(ConvergenceWarning, match="did not converge"):
        GaussianMixture(3, max_iter=2, tol=1e-12, random_state=0).fit(X)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        GaussianMixture(3, max_iter=2, tol=0, random_state=0).fit(X)


# ----------------------------------------------------------------------------- bad input
def test_unknown_covariance_type():
    with pytest.raises(ValueError, match="unknown covariance_type 'round'"):
        GaussianMixture(2, covariance_type="round").fit(clustered_data())


def test_more_components_than_samples():
    with pytest.raises(ValueError, match=r"n_components=5 is larger than the number of samples n_samples=4"):
        GaussianMixture(5).fit(np.arange(8.0).reshape(4, 2))


def test_nan_in_X():
    X = clustered_data()
    X[3, 1] = np.nan
    with pytest.raises(ValueError, match=r"X contains NaN or inf.*\(first: NaN at index \(3, 1\)\)"):
        GaussianMixture(2).fit(X)


def test_unknown_init_params():
    with pytest.raises(ValueError, match="unknown init_params 'magic'"):
        GaussianMixture(2, init_params="magic").fit(clustered_data())


def test_bad_initial_weights():
    with pytest.raises(ValueError, match="weights_init must sum to 1"):
        GaussianMixture(2, weights_init=[0.5, 0.7]).fit(clustered_data())


def test_initial_precision_not_positive_definite_names_the_component():
    precisions = np.stack([np.eye(3), np.diag([1.0, -1.0, 1.0])])
    with pytest.raises(ValueError, match=r"component 1\) is not positive definite"):
        GaussianMixture(2, precisions_init=precisions, means_init=np.zeros((2, 3)),
                        weights_init=[0.5, 0.5]).fit(clustered_data())


def test_singular_covariance_without_regularisation_is_a_clear_error():
    X = np.repeat(np.array([[0.0, 0.0], [1.0, 1.0], [2.0, 2.0]]), 5, axis=0)  # all on a line
    with pytest.raises(ValueError, match=r"component \d\) is not positive definite.*increase reg_covar"):
        GaussianMixture(1, reg_covar=0.0).fit(X)


def test_negative_tol_and_bad_max_iter():
    X = clustered_data()
    with pytest.raises(ValueError, match="tol must be a finite number >= 0"):
        GaussianMixture(2, tol=-1).fit(X)
    with pytest.raises(ValueError, match="max_iter must be an integer >= 0"):
        GaussianMixture(2, max_iter=2.5).fit(X)


def test_methods_need_a_fitted_model():
    with pytest.raises(NotFittedError, match="not fitted"):
        GaussianMixture(2).predict(clustered_data())


def test_predict_checks_the_number_of_features():
    model = GaussianMixture(2, random_state=0).fit(clustered_data())
    with pytest.raises(ValueError, match="X has 2 features, but the mixture was fitted with 3"):
        model.predict(np.zeros((4, 2)))
