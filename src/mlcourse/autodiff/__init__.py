"""Automatic differentiation for the course: forward mode, reverse mode, finite differences, Newton.

Types
-----
Dual
    Forward-mode dual number ``val + der·ε`` (``.val``, ``.der``); ``der`` may hold one tangent (shape of
    ``val``) or a vector of ``k`` tangents (shape ``val.shape + (k,)``). Works on floats and NumPy arrays
    (``np.sin(x)``, broadcasting, indexing, ``@`` ...).
Var
    Reverse-mode graph node (``.val``/``.value``, ``.op``, ``.parents``, ``.index``), recorded on a
Tape
    (``.nodes`` in evaluation order, ``.backward(output, seed, wrt)``), the Wengert list the backward pass
    walks in reverse.

Functions
---------
Homework 1 (forward mode):
    ``derivative(f, x)``, ``gradient(f, x)``, ``newton(f, x0, tol=1e-12, max_iter=50)``,
    ``forward_difference(f, x, h)``, ``central_difference(f, x, h)``, ``complex_step(f, x, h=1e-20)``.
Elementary functions (floats, arrays, ``Dual``, ``Var``):
    ``sin, cos, tan, exp, log, sqrt, tanh, sigmoid`` (and ``log1p, expm1``).
Transforms with JAX's signatures:
    ``grad(f, argnums=0)``, ``value_and_grad``, ``jvp(f, primals, tangents)``, ``vjp(f, *primals)``,
    ``jacfwd``, ``jacrev`` (Jacobian shape: output dims, then input dims), ``hessian`` (forward-over-reverse).
Finite-difference study:
    ``finite_difference_errors(f, df, x, hs)``, plotted by
    ``mlcourse.plotting.plot_finite_difference_errors``.
Newton's method:
    ``newton`` (scalar roots), ``newton_system`` (systems, Jacobian by AD), ``newton_minimize`` (gradient
    and Hessian by AD, backtracking line search).
Lecture helpers:
    ``evaluation_trace(f, *args)`` (the primal/tangent/adjoint table of a scalar function) and
    ``record_graph(f, *args)`` (the recorded :class:`Tape`, to draw the graph).

Unsupported operations (``math.sin`` on a dual, NumPy functions without a derivative rule, in-place updates)
raise ``TypeError`` naming the operation rather than silently dropping the derivative.
"""

from .dual import Dual
from .elementary import cos, exp, expm1, log, log1p, sigmoid, sin, sqrt, tan, tanh
from .finite_differences import (
    FiniteDifferenceErrors,
    central_difference,
    complex_step,
    finite_difference_errors,
    forward_difference,
)
from .forward import derivative, gradient
from .newton import newton, newton_minimize, newton_system
from .tape import Tape, Var
from .trace import TraceRow, evaluation_trace, record_graph
from .transforms import grad, hessian, jacfwd, jacrev, jvp, value_and_grad, vjp

__all__ = [
    "Dual",
    "FiniteDifferenceErrors",
    "Tape",
    "TraceRow",
    "Var",
    "central_difference",
    "complex_step",
    "cos",
    "derivative",
    "evaluation_trace",
    "exp",
    "expm1",
    "finite_difference_errors",
    "forward_difference",
    "grad",
    "gradient",
    "hessian",
    "jacfwd",
    "jacrev",
    "jvp",
    "log",
    "log1p",
    "newton",
    "newton_minimize",
    "newton_system",
    "record_graph",
    "sigmoid",
    "sin",
    "sqrt",
    "tan",
    "tanh",
    "value_and_grad",
    "vjp",
]
