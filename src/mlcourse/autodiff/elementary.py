"""The elementary functions of the course: work on floats, arrays, :class:`~.dual.Dual` and
:class:`~.tape.Var`.

``sin, cos, tan, exp, log, sqrt, tanh, sigmoid`` (and ``log1p``, ``expm1``): a Python float gives a float
(computed with :mod:`math`, so a domain error such as ``log(-1.0)`` raises ``ValueError``), an array or a
complex number goes to NumPy (complex numbers make complex-step differentiation possible), and a dual
number or a reverse-mode node gets the derivative rule of :mod:`.primitives`. ``np.sin(x)`` etc. do the same
for tracers.
"""

from __future__ import annotations

import math
from typing import Any

from . import primitives as P
from .dual import Dual, scalar_unary


def _sigmoid_float(v: float) -> float:
    return P._sigmoid_impl(v)


def sin(x: Any) -> Any:
    """Sine; derivative ``cos(x)``."""
    if type(x) is float or type(x) is int:
        return math.sin(x)
    if type(x) is Dual and x._k is None and type(x.val) is float:
        return scalar_unary(x, math.sin, math.cos)
    return P.sin(x)


def cos(x: Any) -> Any:
    """Cosine; derivative ``-sin(x)``."""
    if type(x) is float or type(x) is int:
        return math.cos(x)
    if type(x) is Dual and x._k is None and type(x.val) is float:
        return scalar_unary(x, math.cos, lambda v: -math.sin(v))
    return P.cos(x)


def tan(x: Any) -> Any:
    """Tangent; derivative ``1 + tan(x)**2``."""
    if type(x) is float or type(x) is int:
        return math.tan(x)
    if type(x) is Dual and x._k is None and type(x.val) is float:
        return scalar_unary(x, math.tan, lambda v: 1.0 + math.tan(v) ** 2)
    return P.tan(x)


def exp(x: Any) -> Any:
    """Exponential; derivative ``exp(x)``."""
    if type(x) is float or type(x) is int:
        return math.exp(x)
    if type(x) is Dual and x._k is None and type(x.val) is float:
        return scalar_unary(x, math.exp, math.exp)
    return P.exp(x)


def log(x: Any) -> Any:
    """Natural logarithm; derivative ``1 / x``."""
    if type(x) is float or type(x) is int:
        return math.log(x)
    if type(x) is Dual and x._k is None and type(x.val) is float:
        return scalar_unary(x, math.log, lambda v: 1.0 / v)
    return P.log(x)


def sqrt(x: Any) -> Any:
    """Square root; derivative ``1 / (2 sqrt(x))`` (infinite at 0: ``ZeroDivisionError`` for a scalar)."""
    if type(x) is float or type(x) is int:
        return math.sqrt(x)
    if type(x) is Dual and x._k is None and type(x.val) is float:
        return scalar_unary(x, math.sqrt, lambda v: 0.5 / math.sqrt(v))
    return P.sqrt(x)


def tanh(x: Any) -> Any:
    """Hyperbolic tangent; derivative ``1 - tanh(x)**2``."""
    if type(x) is float or type(x) is int:
        return math.tanh(x)
    if type(x) is Dual and x._k is None and type(x.val) is float:
        return scalar_unary(x, math.tanh, lambda v: 1.0 - math.tanh(v) ** 2)
    return P.tanh(x)


def sigmoid(x: Any) -> Any:
    """Logistic function ``1 / (1 + exp(-x))`` (no overflow); derivative ``s(x) (1 - s(x)) = s(x) s(-x)``."""
    if type(x) is float or type(x) is int:
        return _sigmoid_float(float(x))
    if type(x) is Dual and x._k is None and type(x.val) is float:
        s = _sigmoid_float(x.val)
        return scalar_unary(x, lambda v: s, lambda v: s * _sigmoid_float(-v))
    return P.sigmoid(x)


def log1p(x: Any) -> Any:
    """``log(1 + x)``, accurate for small ``x``; derivative ``1 / (1 + x)``."""
    return math.log1p(x) if type(x) is float or type(x) is int else P.log1p(x)


def expm1(x: Any) -> Any:
    """``exp(x) - 1``, accurate for small ``x``; derivative ``exp(x)``."""
    return math.expm1(x) if type(x) is float or type(x) is int else P.expm1(x)


__all__ = ["cos", "exp", "expm1", "log", "log1p", "sigmoid", "sin", "sqrt", "tan", "tanh"]
