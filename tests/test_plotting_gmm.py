"""GMM plots (Agg backend): the artists exist and have the geometry the covariances imply."""

import math

import numpy as np
import pytest
from matplotlib.contour import QuadContourSet
from matplotlib.figure import Figure
from matplotlib.patches import Ellipse

from mlcourse.datasets import load_old_faithful
from mlcourse.mixture import GaussianMixture
from mlcourse.plotting import plot_density_contours, plot_em_iterations, plot_gmm_ellipses, plot_loglik


@pytest.fixture
def ax():
    return Figure().subplots()


@pytest.fixture(scope="module")
def faithful_model():
    X = load_old_faithful()
    model = GaussianMixture(2, init_params="random_from_data", random_state=1, tol=1e-6, max_iter=200,
                            keep_snapshots=True).fit(X)
    return X, model


def test_ellipses_of_an_axis_aligned_covariance(ax):
    patches = plot_gmm_ellipses(ax, [[1.0, 2.0]], [[[4.0, 0.0], [0.0, 1.0]]], n_std=(1, 2))
    assert len(patches) == 2 and all(isinstance(p, Ellipse) for p in patches)
    for patch, n in zip(patches, (1, 2), strict=True):
        assert patch.center == pytest.approx((1.0, 2.0))
        assert patch.width == pytest.approx(2 * n * 2.0) and patch.height == pytest.approx(2 * n * 1.0)
        assert patch.angle % 180 == pytest.approx(0.0, abs=1e-9)
    assert all(p in ax.patches for p in patches)


def test_ellipse_widths_are_two_n_std_sqrt_eigenvalues(ax):
    rng = np.random.default_rng(0)
    A = rng.normal(size=(3, 2, 2))
    Sigma = A @ A.transpose(0, 2, 1) + 0.1 * np.eye(2)
    mu = rng.normal(size=(3, 2))
    patches = plot_gmm_ellipses(ax, mu, Sigma, n_std=(1, 2, 3))
    assert len(patches) == 9
    for k in range(3):
        values, vectors = np.linalg.eigh(Sigma[k])
        expected_angle = math.degrees(math.atan2(vectors[1, 1], vectors[0, 1])) % 180
        for j, n in enumerate((1, 2, 3)):
            patch = patches[3 * k + j]
            assert patch.width == pytest.approx(2 * n * math.sqrt(values[1]), rel=1e-12)
            assert patch.height == pytest.approx(2 * n * math.sqrt(values[0]), rel=1e-12)
            assert patch.angle % 180 == pytest.approx(expected_angle, abs=1e-9)
            assert patch.center == pytest.approx(tuple(mu[k]))


def test_forty_five_degree_ellipse(ax):
    (patch,) = plot_gmm_ellipses(ax, [0.0, 0.0], [[2.0, 1.0], [1.0, 2.0]], n_std=1)
    assert patch.angle % 180 == pytest.approx(45.0)
    assert patch.width == pytest.approx(2 * math.sqrt(3.0)) and patch.height == pytest.approx(2.0)


def test_ellipses_of_selected_dimensions_and_weights(ax):
    Sigma = np.stack([np.diag([1.0, 9.0, 4.0]), np.diag([1.0, 1.0, 1.0])])
    patches = plot_gmm_ellipses(ax, np.zeros((2, 3)), Sigma, weights=[0.9, 0.1], n_std=1, dims=(1, 2))
    assert patches[0].width == pytest.approx(6.0) and patches[0].height == pytest.approx(4.0)
    assert patches[0].get_alpha() > patches[1].get_alpha()


def test_ellipses_reject_mismatched_shapes(ax):
    with pytest.raises(ValueError, match=r"mu must be \(K, D\) and Sigma \(K, D, D\)"):
        plot_gmm_ellipses(ax, np.zeros((2, 2)), np.stack([np.eye(2)] * 3))


def test_density_contours_from_a_model_and_from_a_function(ax, faithful_model):
    X, model = faithful_model
    contours = plot_density_contours(ax, model, X, n_grid=60, levels=8)
    assert isinstance(contours, QuadContourSet) and len(contours.levels) == 8
    assert ax.get_xlabel() and ax.get_ylabel() and ax.get_title()
    assert len(ax.collections) >= 2  # contour lines and the data scatter
    other = Figure().subplots()
    same = plot_density_contours(other, model.score_samples, X, n_grid=60, levels=8, show_data=False)
    np.testing.assert_allclose(same.levels, contours.levels)


def test_density_contour_levels_lie_in_the_top_of_the_log_density(ax, faithful_model):
    X, model = faithful_model
    contours = plot_density_contours(ax, model, X, n_grid=50, levels=5)
    top = model.score_samples(X).max()
    assert contours.levels.max() < top + 0.5 and contours.levels.min() > top - 16


def test_density_contours_reject_non_2d_data(ax):
    with pytest.raises(ValueError, match=r"finite \(N, 2\)"):
        plot_density_contours(ax, lambda p: np.zeros(len(p)), np.zeros((5, 3)))


def test_loglik_plot(ax, faithful_model):
    history = faithful_model[1].lower_bounds_
    line = plot_loglik(ax, history)
    np.testing.assert_allclose(line.get_ydata(), history)
    np.testing.assert_array_equal(line.get_xdata(), np.arange(len(history)))
    assert ax.get_xlabel() == "EM iteration" and ax.get_ylabel() == "log-likelihood" and ax.get_title()


def test_loglik_rejects_empty_history(ax):
    with pytest.raises(ValueError, match="non-empty"):
        plot_loglik(ax, [])


def test_em_iteration_panels(faithful_model):
    X, model = faithful_model
    iterations = (0, 1, 2, 3, 4, 5, 6, 20)
    fig = plot_em_iterations(X, model.snapshots_, iterations=iterations)
    assert isinstance(fig, Figure)
    panels = [a for a in fig.axes if a.get_visible()]
    assert len(panels) == len(iterations)
    assert panels[0].get_title() == "initialisation" and panels[1].get_title() == "after iteration 1"
    last = min(20, len(model.snapshots_) - 1)
    expected = f"after iteration {last}" if last == 20 else f"iteration {last} (converged)"
    assert panels[-1].get_title() == expected
    for panel in panels:
        assert panel.get_xlabel() and panel.get_ylabel()
        assert sum(isinstance(p, Ellipse) for p in panel.patches) == 2 * 2  # 2 components x n_std=(1, 2)
        assert len(panel.collections) == 1 and len(panel.collections[0].get_offsets()) == len(X)
    # the last panel's ellipses are the fitted model's
    final = model.snapshots_[last]
    width = 2 * 2 * math.sqrt(np.linalg.eigvalsh(final["covariances"][0])[1])
    assert panels[-1].patches[1].width == pytest.approx(width)


def test_em_iteration_panels_accept_hw2_keys():
    X = load_old_faithful()
    snap = {"pi": np.array([0.5, 0.5]), "mu": np.array([[2.0, 55.0], [4.3, 80.0]]),
            "Sigma": np.stack([np.diag([0.1, 30.0])] * 2)}
    fig = plot_em_iterations(X, [snap], iterations=(0, 3), ncols=2)
    titles = [a.get_title() for a in fig.axes]
    assert titles == ["initialisation", "initialisation"]


def test_em_iteration_panels_reject_empty_snapshots():
    with pytest.raises(ValueError, match="snapshots is empty"):
        plot_em_iterations(load_old_faithful(), [])
