"""Finite differences (forward, central, complex step) and the error-versus-step-size curve.

With step ``h`` and machine epsilon ``eps`` (about 2.2e-16) the error of a difference quotient is roughly

* forward  ``(f(x+h) - f(x)) / h``:        ``h |f''| / 2``   truncation  ``+ 2 eps |f| / h``  round-off,
  smallest near ``h* = 2 sqrt(eps |f| / |f''|)``, i.e. about ``sqrt(eps)`` for well-scaled ``f``;
* central  ``(f(x+h) - f(x-h)) / (2h)``:   ``h² |f'''| / 6``                ``+ eps |f| / h``,
  smallest near ``h* = (3 eps |f| / |f'''|)^(1/3)``, i.e. about ``eps^(1/3)``;
* complex step ``Im f(x + ih) / h``: truncation ``h² |f'''| / 6`` and no subtraction, hence no round-off
  growth; any tiny ``h`` (default ``1e-20``) gives full precision for real-analytic ``f``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

EPS = float(np.finfo(np.float64).eps)


def forward_difference(f: Callable[[float], float], x: float, h: float | None = None) -> float:
    """Forward difference ``(f(x + h) - f(x)) / h``.

    Parameters
    ----------
    f : callable
        Scalar function.
    x : float
        Point of evaluation.
    h : float, optional
        Step; default ``sqrt(eps) * max(1, |x|)``.

    Returns
    -------
    float
        Approximation of ``f'(x)`` with error ``O(h)``.
    """
    x = float(x)
    if h is None:
        h = math.sqrt(EPS) * max(1.0, abs(x))
    return float((f(x + h) - f(x)) / h)


def central_difference(f: Callable[[float], float], x: float, h: float | None = None) -> float:
    """Central difference ``(f(x + h) - f(x - h)) / (2 h)``.

    Parameters
    ----------
    f : callable
        Scalar function.
    x : float
        Point of evaluation.
    h : float, optional
        Step; default ``eps**(1/3) * max(1, |x|)``.

    Returns
    -------
    float
        Approximation of ``f'(x)`` with error ``O(h²)``.
    """
    x = float(x)
    if h is None:
        h = EPS ** (1.0 / 3.0) * max(1.0, abs(x))
    return float((f(x + h) - f(x - h)) / (2.0 * h))


def complex_step(f: Callable[[complex], complex], x: float, h: float = 1e-20) -> float:
    """Complex-step derivative ``Im f(x + i h) / h``.

    ``f`` must accept complex numbers and be real-analytic (no ``abs``, comparisons, ``math`` functions;
    NumPy's functions and this package's elementary functions are fine).

    Parameters
    ----------
    f : callable
        Scalar function, real on the real axis.
    x : float
        Point of evaluation.
    h : float, default 1e-20
        Imaginary step.

    Returns
    -------
    float
        Approximation of ``f'(x)`` with error ``O(h²)`` and no cancellation.
    """
    return float(np.imag(f(complex(float(x), h))) / h)


@dataclass(frozen=True)
class FiniteDifferenceErrors:
    """Errors of the three difference quotients over a range of steps (see :func:`finite_difference_errors`).

    Attributes
    ----------
    h : ndarray
        Steps.
    forward, central, complex_step : ndarray
        Absolute errors ``|approximation - f'(x)|`` for each step (``complex_step`` is all-NaN when ``f``
        does not accept complex numbers).
    h_opt_forward, h_opt_central : float
        Rule-of-thumb optimal steps ``sqrt(eps) * max(1, |x|)`` and ``eps**(1/3) * max(1, |x|)``.
    model_forward, model_central : ndarray or None
        Error models ``h |f''| / 2 + 2 eps |f| / h`` and ``h² |f'''| / 6 + eps |f| / h`` (``f''``, ``f'''``
        by forward-mode AD), or None when ``f`` cannot be differentiated by :mod:`mlcourse.autodiff`.
    h_model_forward, h_model_central : float or None
        Minimisers of the error models, ``2 sqrt(eps |f| / |f''|)`` and ``(3 eps |f| / |f'''|)^(1/3)``.
    """

    h: np.ndarray
    forward: np.ndarray
    central: np.ndarray
    complex_step: np.ndarray
    h_opt_forward: float
    h_opt_central: float
    model_forward: np.ndarray | None = None
    model_central: np.ndarray | None = None
    h_model_forward: float | None = None
    h_model_central: float | None = None

    @property
    def h_best_forward(self) -> float:
        """The step with the smallest measured forward-difference error."""
        return float(self.h[np.nanargmin(self.forward)])

    @property
    def h_best_central(self) -> float:
        """The step with the smallest measured central-difference error."""
        return float(self.h[np.nanargmin(self.central)])


def _higher_derivatives(f: Callable[[Any], Any], x: float) -> tuple[float, float] | None:
    from .forward import derivative  # local: forward imports the transforms, which import this package

    try:
        d2 = derivative(lambda t: derivative(f, t), x)
        d3 = derivative(lambda t: derivative(lambda s: derivative(f, s), t), x)
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    return abs(float(d2)), abs(float(d3))


def finite_difference_errors(f: Callable[[Any], Any], df: float | Callable[[float], float], x: float,
                             hs: Any = None) -> FiniteDifferenceErrors:
    """Error of forward, central and complex-step differences as a function of the step ``h``.

    The lecture's plot: the forward and central errors fall with ``h`` (truncation) until round-off takes
    over and they rise again like ``1/h``; the minimum sits near ``sqrt(eps)`` (forward) and ``eps^(1/3)``
    (central). The complex step has no round-off term.

    Parameters
    ----------
    f : callable
        Scalar function (complex-capable for the complex-step curve).
    df : float or callable
        The exact derivative ``f'(x)``, or a function computing it.
    x : float
        Point of evaluation.
    hs : array_like, optional
        Steps; default ``np.logspace(-16, 0, 81)``.

    Returns
    -------
    FiniteDifferenceErrors
    """
    x = float(x)
    exact = float(df(x)) if callable(df) else float(df)
    h = np.logspace(-16, 0, 81) if hs is None else np.asarray(hs, dtype=np.float64)
    if h.ndim != 1 or not np.all(h > 0):
        raise ValueError("hs must be a one-dimensional array of positive steps")
    fwd = np.array([abs(forward_difference(f, x, s) - exact) for s in h])
    cen = np.array([abs(central_difference(f, x, s) - exact) for s in h])
    try:
        cs = np.array([abs(complex_step(f, x, s) - exact) for s in h])
    except TypeError:
        cs = np.full(h.shape, np.nan)
    scale = max(1.0, abs(x))
    fields: dict[str, Any] = {}
    derivs = _higher_derivatives(f, x)
    if derivs is not None:
        d2, d3 = derivs
        fx = abs(float(np.real(f(x))))
        fields["model_forward"] = h * d2 / 2.0 + 2.0 * EPS * fx / h
        fields["model_central"] = h ** 2 * d3 / 6.0 + EPS * fx / h
        if d2 > 0 and fx > 0:
            fields["h_model_forward"] = 2.0 * math.sqrt(EPS * fx / d2)
        if d3 > 0 and fx > 0:
            fields["h_model_central"] = (3.0 * EPS * fx / d3) ** (1.0 / 3.0)
    return FiniteDifferenceErrors(h=h, forward=fwd, central=cen, complex_step=cs,
                                  h_opt_forward=math.sqrt(EPS) * scale,
                                  h_opt_central=EPS ** (1.0 / 3.0) * scale, **fields)
