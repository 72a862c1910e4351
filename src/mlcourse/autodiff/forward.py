"""Forward-mode helpers of the autodiff homework: ``derivative`` and ``gradient`` with dual numbers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ._base import as_value, shape_of
from ._tracer import Tracer
from .transforms import jvp


def derivative(f: Callable[[Any], Any], x: float) -> float:
    """Derivative of a scalar function at ``x`` by one forward-mode sweep (``Dual(x, 1)``).

    Parameters
    ----------
    f : callable
        Function of one real number, written with arithmetic and the functions of this package (or
        NumPy's).
    x : float
        Point of evaluation.

    Returns
    -------
    float
        ``f'(x)``.

    Examples
    --------
    >>> derivative(lambda x: x ** 3, 2.0)
    12.0
    """
    xv = as_value(x)
    if shape_of(xv) != ():
        raise TypeError(f"derivative needs a scalar x, got shape {shape_of(xv)}; use gradient or jacfwd")
    out, tangent = jvp(f, (xv,), (1.0,))
    if shape_of(out) != ():
        raise TypeError(f"derivative needs a scalar-valued f, got shape {shape_of(out)}; use jacfwd")
    return tangent


def gradient(f: Callable[[Any], Any], x: Any) -> np.ndarray:
    """Gradient of a scalar function of a vector by forward mode, one sweep per coordinate.

    Sweep ``j`` evaluates ``f`` on a dual array with tangent ``e_j`` (the ``j``-th unit vector) and reads
    off the partial derivative ``df/dx_j``.

    Parameters
    ----------
    f : callable
        Function of an array (indexing, arithmetic, ``np.sum``, ... work on the dual array it receives).
    x : array_like
        Point of evaluation.

    Returns
    -------
    ndarray
        The gradient, shape of ``x``.

    Examples
    --------
    >>> from mlcourse.autodiff import sin
    >>> gradient(lambda x: x[0] * x[1] + sin(x[0]), [0.0, 2.0])
    array([3., 0.])
    """
    xv = as_value(x)
    shape = shape_of(xv)
    partials = []
    for j in range(int(np.prod(shape, dtype=np.int64))):
        e = np.zeros(shape)
        e.flat[j] = 1.0
        out, tangent = jvp(f, (xv,), (e if shape else 1.0,))
        if shape_of(out) != ():
            raise TypeError(f"gradient needs a scalar-valued f, got shape {shape_of(out)}; use jacfwd")
        partials.append(tangent)
    if any(isinstance(p, Tracer) for p in partials):
        return np.reshape(np.stack(partials), shape)
    return np.array(partials, dtype=np.float64).reshape(shape)
