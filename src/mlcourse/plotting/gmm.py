"""Plots for the Gaussian-mixture lectures: covariance ellipses, density contours, EM convergence and
"after iteration 1, 2, ..." panels. Matplotlib's object-oriented API only (pass an ``Axes``, get artists back;
:func:`plot_em_iterations` returns a ``Figure``); nothing here calls ``pyplot.show``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.colors import to_rgb
from matplotlib.contour import QuadContourSet
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Ellipse

__all__ = ["plot_density_contours", "plot_em_iterations", "plot_gmm_ellipses", "plot_loglik"]

#: Component colours (matplotlib's "tab10" cycle), reused by every plot so component k keeps its colour.
COMPONENT_COLORS = ("tab:blue", "tab:red", "tab:green", "tab:orange", "tab:purple", "tab:brown",
                    "tab:pink", "tab:gray", "tab:olive", "tab:cyan")


def _component_color(k: int) -> str:
    return COMPONENT_COLORS[k % len(COMPONENT_COLORS)]


def _as_components(mu: Any, Sigma: Any, dims: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Means (K, 2) and covariances (K, 2, 2) of the two plotted dimensions."""
    mu = np.asarray(mu, dtype=np.float64)
    Sigma = np.asarray(Sigma, dtype=np.float64)
    if mu.ndim == 1:
        mu = mu[None]
    if Sigma.ndim == 2:
        Sigma = Sigma[None]
    if mu.ndim != 2 or Sigma.ndim != 3 or Sigma.shape != (mu.shape[0], mu.shape[1], mu.shape[1]):
        raise ValueError(f"mu must be (K, D) and Sigma (K, D, D) (or a single (D,) and (D, D)); got shapes "
                         f"{mu.shape} and {Sigma.shape}")
    if mu.shape[1] < 2:
        raise ValueError("ellipses need at least two dimensions")
    idx = list(dims)
    if len(idx) != 2 or not all(0 <= d < mu.shape[1] for d in idx):
        raise ValueError(f"dims must be two feature indices below D={mu.shape[1]}, got {dims}")
    if not (np.isfinite(mu).all() and np.isfinite(Sigma).all()):
        raise ValueError("mu and Sigma must be finite")
    return mu[:, idx], Sigma[:, idx][:, :, idx]


def ellipse_geometry(Sigma2: np.ndarray, n_std: float) -> tuple[float, float, float]:
    """(width, height, angle in degrees) of the ``n_std`` contour of a 2x2 covariance.

    The axes of the ellipse are the eigenvectors of ``Sigma2``; its full lengths are ``2 n_std sqrt(lambda)``
    (``width`` along the largest-eigenvalue direction, at ``angle`` from the x axis).
    """
    values, vectors = np.linalg.eigh(0.5 * (Sigma2 + Sigma2.T))
    if values[0] < -1e-12 * max(abs(values[1]), 1.0):
        raise ValueError(f"covariance is not positive semi-definite (eigenvalues {values})")
    values = np.maximum(values, 0.0)
    major = vectors[:, 1]
    angle = float(np.degrees(np.arctan2(major[1], major[0])))
    return 2 * n_std * float(np.sqrt(values[1])), 2 * n_std * float(np.sqrt(values[0])), angle


def plot_gmm_ellipses(ax: Axes, mu: Any, Sigma: Any, weights: Any = None,
                      n_std: float | Sequence[float] = (1, 2), *, dims: tuple[int, int] = (0, 1),
                      colors: Sequence[Any] | None = None, mark_means: bool = True,
                      **ellipse_kwargs: Any) -> list[Ellipse]:
    """Draw each component's ``n_std``-standard-deviation contour ellipses (from the eigendecomposition).

    Parameters
    ----------
    ax : matplotlib Axes
    mu : array_like (K, D) or (D,)
    Sigma : array_like (K, D, D) or (D, D)
        Full covariances (expand diag/tied/spherical first, e.g. with
        :func:`mlcourse.mixture.gaussian.expand_to_full`).
    weights : array_like (K,), optional
        Mixing weights: heavier components are drawn more opaque.
    n_std : float or sequence of float, default (1, 2)
        Contours at these Mahalanobis radii.
    dims : (int, int), default (0, 1)
        The two features to draw (the marginal ellipse of those two).
    colors : sequence of colours, optional
        One per component; default :data:`COMPONENT_COLORS`.
    mark_means : bool, default True
        Also mark each mean with an "x".
    **ellipse_kwargs
        Passed to :class:`matplotlib.patches.Ellipse` (e.g. ``linewidth``, ``linestyle``).

    Returns
    -------
    list of Ellipse
        Component-major: for component k, one ellipse per ``n_std``; ``width = 2 n sqrt(lambda_max)``.
    """
    mu2, Sigma2 = _as_components(mu, Sigma, dims)
    K = mu2.shape[0]
    radii = [float(n_std)] if np.isscalar(n_std) else [float(n) for n in n_std]
    if not radii or min(radii) <= 0:
        raise ValueError(f"n_std must be positive, got {n_std}")
    if weights is None:
        opacity = np.ones(K)
    else:
        w = np.asarray(weights, dtype=np.float64)
        if w.shape != (K,) or not np.isfinite(w).all() or (w < 0).any():
            raise ValueError(f"weights must be {K} non-negative numbers, got {weights!r}")
        opacity = 0.3 + 0.7 * w / max(w.max(), np.finfo(float).tiny)
    patches = []
    for k in range(K):
        color = colors[k] if colors is not None else _component_color(k)
        for radius in radii:
            width, height, angle = ellipse_geometry(Sigma2[k], radius)
            options = {"facecolor": "none", "edgecolor": color, "linewidth": 1.5,
                       "alpha": float(opacity[k]), **ellipse_kwargs}
            patch = Ellipse(tuple(mu2[k]), width, height, angle=angle, **options)
            ax.add_patch(patch)
            patches.append(patch)
        if mark_means:
            ax.plot(mu2[k, 0], mu2[k, 1], marker="x", color=color, markersize=8, linestyle="none")
    ax.autoscale_view()
    return patches


def _label_axes(ax: Axes, feature_names: Sequence[str] | None, title: str | None) -> None:
    names = feature_names if feature_names is not None else ("$x_1$", "$x_2$")
    ax.set_xlabel(names[0])
    ax.set_ylabel(names[1])
    if title is not None:
        ax.set_title(title)


def plot_density_contours(ax: Axes, score_fn_or_model: Callable[[np.ndarray], np.ndarray] | Any, X: Any,
                          *, n_grid: int = 200, levels: int | Sequence[float] = 12, margin: float = 0.1,
                          log_density: bool = True, show_data: bool = True,
                          feature_names: Sequence[str] | None = None,
                          title: str | None = "Log-density contours", **contour_kwargs: Any
                          ) -> QuadContourSet:
    """Contour lines of a 2-D density over the bounding box of ``X`` (plus ``margin``).

    Parameters
    ----------
    ax : matplotlib Axes
    score_fn_or_model : callable or fitted model
        ``f(points (M, 2)) -> log-density (M,)``, or an object with ``score_samples`` (e.g. a fitted
        :class:`~mlcourse.mixture.GaussianMixture`).
    X : array_like (N, 2)
        The data: sets the plotted region, and is scattered when ``show_data``.
    n_grid : int, default 200
        Grid points per axis.
    levels : int or sequence of float, default 12
        An int spaces that many levels evenly over the top 15 nats of the log-density (or over the
        density's range when ``log_density=False``); a sequence gives the levels themselves.
    margin : float, default 0.1
        Fraction of the data's range added on every side.
    log_density : bool, default True
        Contour ``log p(x)`` (evenly spaced rings) or ``p(x)``.
    show_data : bool, default True
    feature_names : (str, str), optional
        Axis labels; default ``$x_1$``, ``$x_2$``.
    title : str or None
    **contour_kwargs
        Passed to :meth:`matplotlib.axes.Axes.contour`.

    Returns
    -------
    QuadContourSet
    """
    score = getattr(score_fn_or_model, "score_samples", score_fn_or_model)
    if not callable(score):
        raise ValueError("score_fn_or_model must be a function of points (M, 2) or have score_samples")
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or X.shape[1] != 2 or len(X) == 0 or not np.isfinite(X).all():
        raise ValueError(f"X must be a finite (N, 2) array, got shape {X.shape}")
    lo, hi = X.min(axis=0), X.max(axis=0)
    pad = margin * np.where(hi > lo, hi - lo, 1.0)
    xs = np.linspace(lo[0] - pad[0], hi[0] + pad[0], n_grid)
    ys = np.linspace(lo[1] - pad[1], hi[1] + pad[1], n_grid)
    gx, gy = np.meshgrid(xs, ys)
    Z = np.asarray(score(np.column_stack([gx.ravel(), gy.ravel()])), dtype=np.float64).reshape(gx.shape)
    if not log_density:
        Z = np.exp(Z)
    if isinstance(levels, int | np.integer):
        top = float(Z.max())
        bottom = max(float(Z.min()), top - 15.0) if log_density else float(Z.min())
        levels = np.linspace(bottom, top, int(levels) + 1, endpoint=False)[1:]
    options = {"cmap": "viridis", **contour_kwargs}
    contours = ax.contour(gx, gy, Z, levels=levels, **options)
    if show_data:
        ax.scatter(X[:, 0], X[:, 1], s=6, color="0.3", alpha=0.6)
    _label_axes(ax, feature_names, title)
    return contours


def plot_loglik(ax: Axes, history: Sequence[float], *, label: str | None = None,
                title: str | None = "EM convergence", ylabel: str = "log-likelihood",
                **line_kwargs: Any) -> Line2D:
    """The log-likelihood after each EM iteration (e.g. ``GaussianMixture.lower_bounds_`` or
    ``fit_gmm(...)["loglik"]``), which EM never decreases.

    Returns
    -------
    Line2D
    """
    values = np.asarray(history, dtype=np.float64)
    if values.ndim != 1 or len(values) == 0 or not np.isfinite(values).all():
        raise ValueError("history must be a non-empty sequence of finite numbers")
    options = {"marker": "o", "markersize": 3, **line_kwargs}
    (line,) = ax.plot(np.arange(len(values)), values, label=label, **options)
    ax.set_xlabel("EM iteration")
    ax.set_ylabel(ylabel)
    if title is not None:
        ax.set_title(title)
    if label is not None:
        ax.legend()
    return line


def _snapshot_parameters(snapshot: Mapping[str, Any]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    for names in (("weights", "means", "covariances"), ("pi", "mu", "Sigma")):
        if all(name in snapshot for name in names):
            return tuple(np.asarray(snapshot[name], dtype=np.float64) for name in names)
    raise ValueError("each snapshot must hold weights/means/covariances (GaussianMixture.snapshots_) or "
                     "pi/mu/Sigma")


def plot_em_iterations(X: Any, snapshots: Sequence[Mapping[str, Any]],
                       iterations: Sequence[int] = (0, 1, 2, 3, 4, 5, 6, 20), *, ncols: int = 4,
                       n_std: float | Sequence[float] = (1, 2), dims: tuple[int, int] = (0, 1),
                       feature_names: Sequence[str] | None = None, panel_size: float = 3.0) -> Figure:
    """A figure of panels showing the mixture after selected EM iterations (Bishop's Figure 9.8 style).

    Each panel scatters ``X`` coloured by the responsibilities under that iteration's parameters (a blend
    of the component colours) and draws the components' covariance ellipses.

    Parameters
    ----------
    X : array_like (N, D), D >= 2
    snapshots : sequence of mappings
        ``snapshots[i]`` = parameters after ``i`` iterations (``snapshots[0]``: the initialisation), with
        keys ``weights``, ``means``, ``covariances`` (full) -- as in ``GaussianMixture(keep_snapshots=True)
        .snapshots_`` -- or ``pi``, ``mu``, ``Sigma``.
    iterations : sequence of int, default (0, 1, 2, 3, 4, 5, 6, 20)
        Which iterations to show. An iteration past the last snapshot (EM converged earlier) shows the
        last one, and its title says so.
    ncols : int, default 4
    n_std, dims
        As in :func:`plot_gmm_ellipses`.
    feature_names : (str, str), optional
    panel_size : float, default 3.0
        Inches per panel.

    Returns
    -------
    matplotlib.figure.Figure
        One titled, labelled panel per entry of ``iterations`` (shared axis limits).
    """
    from mlcourse.mixture import e_step  # the plots use the reference E-step

    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or X.shape[1] < 2:
        raise ValueError(f"X must be (N, D) with D >= 2, got shape {X.shape}")
    if len(snapshots) == 0:
        raise ValueError("snapshots is empty (fit with GaussianMixture(keep_snapshots=True))")
    iterations = [int(i) for i in iterations]
    if not iterations or min(iterations) < 0:
        raise ValueError("iterations must be a non-empty sequence of integers >= 0")
    names = feature_names if feature_names is not None else (f"$x_{dims[0] + 1}$", f"$x_{dims[1] + 1}$")
    nrows = -(-len(iterations) // ncols)
    ncols = min(ncols, len(iterations))
    fig = Figure(figsize=(panel_size * ncols, panel_size * nrows), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False, sharex=True, sharey=True)
    last = len(snapshots) - 1
    for ax, requested in zip(axes.flat, iterations, strict=False):
        shown = min(requested, last)
        pi, mu, Sigma = _snapshot_parameters(snapshots[shown])
        gamma = e_step(X, pi, mu, Sigma)[0]
        palette = np.array([to_rgb(_component_color(k)) for k in range(len(pi))])
        ax.scatter(X[:, dims[0]], X[:, dims[1]], s=8, c=np.clip(gamma @ palette, 0, 1), alpha=0.7,
                   linewidths=0)
        plot_gmm_ellipses(ax, mu, Sigma, weights=pi, n_std=n_std, dims=dims)
        if shown == 0:
            title = "initialisation"
        elif shown < requested:
            title = f"iteration {shown} (converged)"
        else:
            title = f"after iteration {shown}"
        ax.set_title(title)
        ax.set_xlabel(names[0])
        ax.set_ylabel(names[1])
        ax.tick_params(labelbottom=True, labelleft=True)
    for ax in list(axes.flat)[len(iterations):]:
        ax.set_visible(False)
    return fig
