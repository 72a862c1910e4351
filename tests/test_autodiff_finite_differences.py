"""Finite differences: exact cases, orders of accuracy, the error-versus-step curve and its plot."""

import itertools
import math
import warnings

import matplotlib.pyplot as plt
import numpy as np
import pytest

from mlcourse.autodiff import (
    central_difference,
    complex_step,
    exp,
    finite_difference_errors,
    forward_difference,
    sin,
)
from mlcourse.plotting.ad import plot_finite_difference_errors

EPS = np.finfo(float).eps


def test_quadratic_is_exact_with_a_power_of_two_step():
    # (x+h)^2 - x^2 = 2xh + h^2: forward gives 2x + h, central gives 2x, complex step gives 2x
    h = 2.0 ** -10
    assert forward_difference(lambda x: x * x, 3.0, h) == 6.0 + h
    assert central_difference(lambda x: x * x, 3.0, h) == 6.0
    assert complex_step(lambda x: x * x, 3.0) == 6.0


@pytest.mark.parametrize(("method", "order"), [(forward_difference, 1), (central_difference, 2)])
def test_order_of_accuracy(method, order):
    # in the truncation-dominated range, halving h divides the error by 2**order
    exact = math.cos(1.0)
    errors = [abs(method(math.sin, 1.0, h) - exact) for h in (1e-2, 5e-3, 2.5e-3)]
    for coarse, fine in itertools.pairwise(errors):
        assert coarse / fine == pytest.approx(2.0 ** order, rel=0.05)


def test_default_steps_are_near_optimal():
    assert forward_difference(math.exp, 1.0) == pytest.approx(math.e, rel=1e-7)
    assert central_difference(math.exp, 1.0) == pytest.approx(math.e, rel=1e-10)


def test_complex_step_has_no_cancellation():
    f = lambda x: exp(x) / (np.cos(x) ** 3 + np.sin(x) ** 3)  # noqa: E731  (Squire & Trapp's test function)
    x = 1.5
    exact = (math.exp(x) * (math.cos(x) ** 3 + math.sin(x) ** 3)
             - math.exp(x) * (-3 * math.cos(x) ** 2 * math.sin(x) + 3 * math.sin(x) ** 2 * math.cos(x))) \
        / (math.cos(x) ** 3 + math.sin(x) ** 3) ** 2
    for h in (1e-8, 1e-20, 1e-100):
        assert complex_step(f, x, h) == pytest.approx(exact, rel=1e-14)
    assert isinstance(complex_step(f, x), float)


def test_error_curve_minima_sit_near_the_theoretical_steps():
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no overflow / division warnings along the way
        errs = finite_difference_errors(exp, math.exp, 1.0, np.logspace(-14, -1, 131))
    assert errs.h_opt_forward == pytest.approx(math.sqrt(EPS))
    assert errs.h_opt_central == pytest.approx(EPS ** (1 / 3))
    # the measured optimum is within a factor 10 of the theory (the curves are noisy at the bottom)
    assert errs.h_opt_forward / 10 < errs.h_best_forward < errs.h_opt_forward * 10
    assert errs.h_opt_central / 10 < errs.h_best_central < errs.h_opt_central * 10
    # for exp at 1, |f| = |f''| = |f'''| = e: the model optima are 2 sqrt(eps) and (3 eps)^(1/3)
    assert errs.h_model_forward == pytest.approx(2 * math.sqrt(EPS), rel=1e-12)
    assert errs.h_model_central == pytest.approx((3 * EPS) ** (1 / 3), rel=1e-12)
    # truncation regime: the measured errors follow the leading-order models
    mid = (errs.h > 1e-5) & (errs.h < 1e-2)
    np.testing.assert_allclose(errs.forward[mid], errs.model_forward[mid], rtol=0.01)
    mid = (errs.h > 1e-3) & (errs.h < 1e-2)
    np.testing.assert_allclose(errs.central[mid], errs.model_central[mid], rtol=0.01)
    # round-off regime: the error grows as h shrinks; the complex step stays at full precision
    assert errs.forward[0] > 1e3 * errs.forward[np.argmin(abs(errs.h - 1e-8))]
    assert np.max(errs.complex_step[errs.h < 1e-8]) <= 4 * EPS * math.e


def test_error_curve_without_complex_or_ad_support():
    errs = finite_difference_errors(math.sin, math.cos(0.5), 0.5, [1e-4, 1e-6])  # math.sin: no complex, no AD
    assert np.all(np.isnan(errs.complex_step))
    assert errs.model_forward is None and errs.h_model_central is None
    assert errs.forward.shape == (2,)


def test_error_curve_rejects_bad_steps():
    with pytest.raises(ValueError):
        finite_difference_errors(sin, math.cos, 0.5, [1e-3, 0.0])


def test_plot_draws_three_curves_and_the_optimal_steps():
    errs = finite_difference_errors(exp, math.exp, 1.0)
    ax = plot_finite_difference_errors(errs, title="exp at 1")
    labels = [line.get_label() for line in ax.get_lines()]
    assert {"forward", "central", "complex step"} <= set(labels)
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
    vertical = [line.get_xdata()[0] for line in ax.get_lines() if line.get_linestyle() == "--"]
    assert vertical == pytest.approx([errs.h_opt_forward, errs.h_opt_central])
    plt.close(ax.figure)
