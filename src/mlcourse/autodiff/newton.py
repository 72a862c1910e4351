"""Newton's method with derivatives by AD: scalar roots, systems of equations, and minimisation."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from .transforms import collect_output, hessian, jacfwd, jvp, value_and_grad

#: Armijo constant of the backtracking line search (sufficient decrease).
ARMIJO = 1e-4
#: The line search gives up when the step fraction falls below this.
MIN_STEP_FRACTION = 1e-14


def newton(f: Callable[[Any], Any], x0: float, tol: float = 1e-12, max_iter: int = 50) -> float:
    """Root of a scalar function by Newton's method, ``x <- x - f(x) / f'(x)``, ``f'`` by forward mode.

    Parameters
    ----------
    f : callable
        Scalar function of one real number.
    x0 : float
        Starting point.
    tol : float, default 1e-12
        Converged when the step is at most ``tol * (1 + |x|)`` (or ``f(x) == 0``).
    max_iter : int, default 50
        Maximum number of Newton steps.

    Returns
    -------
    float
        The root.

    Raises
    ------
    RuntimeError
        If the iteration does not converge within ``max_iter`` steps, meets ``f'(x) = 0``, or leaves the
        finite numbers.

    Examples
    --------
    >>> round(newton(lambda x: x * x - 2.0, 1.0), 12)
    1.414213562373
    """
    x = float(x0)
    fx = math.nan
    for it in range(max_iter):
        fx, dfx = jvp(f, (x,), (1.0,))
        fx, dfx = float(fx), float(dfx)
        if not (math.isfinite(fx) and math.isfinite(dfx)):
            raise RuntimeError(f"Newton's method: f or f' is not finite at x = {x!r} (iteration {it})")
        if fx == 0.0:
            return x
        if dfx == 0.0:
            raise RuntimeError(f"Newton's method: f'(x) = 0 at x = {x!r} (iteration {it}); no Newton step")
        step = fx / dfx
        x -= step
        if not math.isfinite(x):
            raise RuntimeError(f"Newton's method diverged (iteration {it})")
        if abs(step) <= tol * (1.0 + abs(x)):
            return x
    raise RuntimeError(f"Newton's method did not converge in {max_iter} iterations "
                       f"(last x = {x!r}, f(x) = {fx!r})")


def _evaluate(F: Callable[[Any], Any], x: np.ndarray) -> np.ndarray:
    return np.asarray(collect_output(F(x)), dtype=np.float64).reshape(-1)


def newton_system(F: Callable[[Any], Any], x0: Any, tol: float = 1e-12, max_iter: int = 50) -> np.ndarray:
    """Root of ``F: R^n -> R^n`` by Newton's method with the Jacobian by forward mode (``jacfwd``).

    Each step solves ``J(x) p = -F(x)`` and backtracks along ``p`` until ``||F||²/2`` decreases enough
    (Armijo condition).

    Parameters
    ----------
    F : callable
        Function of a 1-D array returning an array (or list) of the same length.
    x0 : array_like
        Starting point.
    tol : float, default 1e-12
        Converged when the step's largest component is at most ``tol * (1 + max|x|)``, or ``F(x) == 0``.
    max_iter : int, default 50
        Maximum number of Newton steps.

    Returns
    -------
    ndarray
        The root.

    Raises
    ------
    RuntimeError
        If the Jacobian is singular, the line search fails, or there is no convergence in ``max_iter``
        steps.
    """
    x = np.array(x0, dtype=np.float64).reshape(-1)
    jacobian = jacfwd(F)
    Fx = _evaluate(F, x)
    for it in range(max_iter):
        if not np.all(np.isfinite(Fx)):
            raise RuntimeError(f"newton_system: F(x) is not finite at iteration {it}")
        if not np.any(Fx):
            return x
        J = np.asarray(jacobian(x), dtype=np.float64).reshape(Fx.size, x.size)
        try:
            p = np.linalg.solve(J, -Fx)
        except np.linalg.LinAlgError as err:
            raise RuntimeError(f"newton_system: singular Jacobian at iteration {it}, x = {x}") from err
        if np.max(np.abs(p)) <= tol * (1.0 + np.max(np.abs(x))):
            return x + p
        merit = 0.5 * float(Fx @ Fx)
        t = 1.0
        while True:
            x_new = x + t * p
            F_new = _evaluate(F, x_new)
            if np.all(np.isfinite(F_new)) and 0.5 * float(F_new @ F_new) <= (1.0 - 2.0 * ARMIJO * t) * merit:
                break
            t *= 0.5
            if t < MIN_STEP_FRACTION:
                raise RuntimeError(f"newton_system: the line search found no decrease of ||F|| at "
                                   f"iteration {it}, x = {x}")
        x, Fx = x_new, F_new
        if np.max(np.abs(t * p)) <= tol * (1.0 + np.max(np.abs(x))):
            return x
    raise RuntimeError(f"newton_system did not converge in {max_iter} iterations (last x = {x}, "
                       f"max|F(x)| = {np.max(np.abs(Fx)):.3g})")


def _descent_direction(H: np.ndarray, g: np.ndarray) -> np.ndarray:
    """Newton direction ``-(H + tau I)^{-1} g`` with the smallest ``tau >= 0`` making ``H + tau I``
    positive definite (Nocedal & Wright, Algorithm 3.3), so the step always goes downhill."""
    H = 0.5 * (H + H.T)
    beta = 1e-3 * max(1.0, float(np.max(np.abs(np.diag(H)))))
    min_diag = float(np.min(np.diag(H)))
    tau = 0.0 if min_diag > 0 else beta - min_diag
    eye = np.eye(H.shape[0])
    for _ in range(100):
        try:
            L = np.linalg.cholesky(H + tau * eye)
            break
        except np.linalg.LinAlgError:
            tau = max(2.0 * tau, beta)
    else:
        return -g
    return -np.linalg.solve(L.T, np.linalg.solve(L, g))


def newton_minimize(f: Callable[[Any], Any], x0: Any, tol: float = 1e-10, max_iter: int = 100,
                    callback: Callable[[np.ndarray], None] | None = None) -> Any:
    """Minimiser of a smooth function by Newton's method: gradient by reverse mode, Hessian by
    forward-over-reverse, backtracking (Armijo) line search.

    Where the Hessian is not positive definite a multiple of the identity is added, so every step is a
    descent step.

    Parameters
    ----------
    f : callable
        Scalar function of a float or a 1-D array.
    x0 : float or array_like
        Starting point.
    tol : float, default 1e-10
        Converged when ``max|grad f(x)| <= tol * max(1, |f(x)|)``.
    max_iter : int, default 100
        Maximum number of Newton steps.
    callback : callable, optional
        Called with (a copy of) every iterate, starting with ``x0``.

    Returns
    -------
    float or ndarray
        The minimiser (a float when ``x0`` is a scalar).

    Raises
    ------
    RuntimeError
        If the line search fails or there is no convergence within ``max_iter`` steps.

    Examples
    --------
    >>> rosenbrock = lambda x: (1.0 - x[0]) ** 2 + 100.0 * (x[1] - x[0] ** 2) ** 2
    >>> newton_minimize(rosenbrock, [-1.2, 1.0]).round(8)
    array([1., 1.])
    """
    scalar = np.ndim(x0) == 0
    fn: Callable[[Any], Any] = (lambda v: f(v[0])) if scalar else f
    x = np.array(x0, dtype=np.float64).reshape(-1)
    value_and_gradient = value_and_grad(fn)
    hess = hessian(fn)
    for it in range(max_iter + 1):
        fx, g = value_and_gradient(x)
        if callback is not None:
            callback(x[0] if scalar else x.copy())
        if not (math.isfinite(fx) and np.all(np.isfinite(g))):
            raise RuntimeError(f"newton_minimize: f or its gradient is not finite at iteration {it}")
        if np.max(np.abs(g)) <= tol * max(1.0, abs(fx)):
            return float(x[0]) if scalar else x
        if it == max_iter:
            break
        p = _descent_direction(np.asarray(hess(x), dtype=np.float64).reshape(x.size, x.size), g)
        slope = float(g @ p)
        t = 1.0
        while True:
            x_new = x + t * p
            f_new = float(fn(x_new))
            if math.isfinite(f_new) and f_new <= fx + ARMIJO * t * slope:
                break
            t *= 0.5
            if t < MIN_STEP_FRACTION:
                raise RuntimeError(f"newton_minimize: the line search found no decrease at iteration {it}, "
                                   f"x = {x}, max|grad| = {np.max(np.abs(g)):.3g}")
        x = x_new
    raise RuntimeError(f"newton_minimize did not converge in {max_iter} iterations (last x = {x}, "
                       f"max|grad| = {np.max(np.abs(g)):.3g})")
