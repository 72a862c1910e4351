"""Plots for the automatic-differentiation lecture: the finite-difference error curve."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from mlcourse.autodiff import FiniteDifferenceErrors

#: Errors below this are drawn at this height (an exact result would vanish from a log axis).
ERROR_FLOOR = 1e-17


def plot_finite_difference_errors(errors: FiniteDifferenceErrors, ax: Axes | None = None,
                                  show_model: bool = True, title: str | None = None) -> Axes:
    """Log-log plot of the error of forward, central and complex-step differences against the step ``h``.

    Parameters
    ----------
    errors : FiniteDifferenceErrors
        From :func:`mlcourse.autodiff.finite_difference_errors`.
    ax : matplotlib Axes, optional
        Where to draw; a new figure by default.
    show_model : bool, default True
        Also draw the truncation + round-off error models (dotted) when available.
    title : str, optional
        Axes title.

    Returns
    -------
    matplotlib Axes

    Notes
    -----
    The dashed vertical lines mark the rule-of-thumb optimal steps ``sqrt(eps)`` and ``eps^(1/3)`` (scaled
    by ``max(1, |x|)``). Errors that are exactly zero are drawn at ``ERROR_FLOOR``.
    """
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(6.0, 4.0))
    h = errors.h
    curves = [("forward", errors.forward, "C0"), ("central", errors.central, "C1"),
              ("complex step", errors.complex_step, "C2")]
    for label, err, colour in curves:
        if np.all(np.isnan(err)):
            continue
        ax.loglog(h, np.maximum(err, ERROR_FLOOR), "o-", ms=3, lw=1, color=colour, label=label)
    if show_model:
        for model, colour in ((errors.model_forward, "C0"), (errors.model_central, "C1")):
            if model is not None:
                ax.loglog(h, np.maximum(model, ERROR_FLOOR), ":", color=colour, lw=1.5)
    for h_opt, colour, text in ((errors.h_opt_forward, "C0", r"$\sqrt{\epsilon}$"),
                                (errors.h_opt_central, "C1", r"$\epsilon^{1/3}$")):
        ax.axvline(h_opt, color=colour, ls="--", lw=1)
        ax.annotate(text, (h_opt, 1.0), xycoords=("data", "axes fraction"), xytext=(3, -12),
                    textcoords="offset points", color=colour)
    ax.set_xlabel("step $h$")
    ax.set_ylabel("absolute error")
    if title:
        ax.set_title(title)
    ax.legend(loc="lower left")
    return ax
