"""The elementary functions of the course: work on floats, arrays, :class:`~.dual.Dual` and
:class:`~.tape.Var`.

``sin, cos, tan, exp, log, sqrt, tanh, sigmoid`` (and ``log1p``, ``expm1``) are the primitives of
:mod:`.primitives` under their course names: a Python float (or int) gives a float (computed with
:mod:`math`, so a domain error such as ``log(-1.0)`` raises ``ValueError``), an array or a complex number goes
to NumPy (complex numbers make complex-step differentiation possible), and a dual number or a reverse-mode
node gets the primitive's derivative rule. ``np.sin(x)`` etc. do the same for tracers.
"""

from __future__ import annotations

from typing import Any

from . import primitives as P


def sin(x: Any) -> Any:
    """Sine; derivative ``cos(x)``."""
    return P.sin(x)


def cos(x: Any) -> Any:
    """Cosine; derivative ``-sin(x)``."""
    return P.cos(x)


def tan(x: Any) -> Any:
    """Tangent; derivative ``1 + tan(x)**2``."""
    return P.tan(x)


def exp(x: Any) -> Any:
    """Exponential; derivative ``exp(x)``."""
    return P.exp(x)


def log(x: Any) -> Any:
    """Natural logarithm; derivative ``1 / x``."""
    return P.log(x)


def sqrt(x: Any) -> Any:
    """Square root; derivative ``1 / (2 sqrt(x))`` (infinite at 0: ``ZeroDivisionError`` for a scalar)."""
    return P.sqrt(x)


def tanh(x: Any) -> Any:
    """Hyperbolic tangent; derivative ``1 - tanh(x)**2``."""
    return P.tanh(x)


def sigmoid(x: Any) -> Any:
    """Logistic function ``1 / (1 + exp(-x))`` (no overflow); derivative ``s(x) (1 - s(x)) = s(x) s(-x)``."""
    return P.sigmoid(x)


def log1p(x: Any) -> Any:
    """``log(1 + x)``, accurate for small ``x``; derivative ``1 / (1 + x)``."""
    return P.log1p(x)


def expm1(x: Any) -> Any:
    """``exp(x) - 1``, accurate for small ``x``; derivative ``exp(x)``."""
    return P.expm1(x)


__all__ = ["cos", "exp", "expm1", "log", "log1p", "sigmoid", "sin", "sqrt", "tan", "tanh"]
