"""Plots of the course (matplotlib, object-oriented API): Gaussian-mixture figures and AD error curves."""

from mlcourse.plotting.ad import plot_finite_difference_errors
from mlcourse.plotting.gmm import (
    plot_density_contours,
    plot_em_iterations,
    plot_gmm_ellipses,
    plot_loglik,
)

__all__ = [
    "plot_density_contours",
    "plot_em_iterations",
    "plot_finite_difference_errors",
    "plot_gmm_ellipses",
    "plot_loglik",
]
