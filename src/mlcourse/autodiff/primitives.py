"""Primitive operations: the NumPy evaluation and, for elementwise ones, the local derivative rule.

Every operation on a tracer ends up here. A :class:`Primitive` evaluates itself on plain numbers and arrays
with NumPy (or the ``math`` module for Python floats), and hands tracer arguments to the tracer of the
highest level (:meth:`~._tracer.Tracer._apply`).

Elementwise primitives carry a *linear rule* per argument, ``lin(t, *args, out) = t * d out / d arg``. Because
multiplying elementwise by the partial derivative is its own adjoint, the same rule gives the forward-mode
tangent (``t`` a tangent, in :mod:`.dual`) and the reverse-mode cotangent (``t`` a cotangent, in
:mod:`.tape`; summed over broadcast axes afterwards). The rules are written with the primitives themselves,
so they are differentiable again (Hessians, nested transforms). Structural primitives (reductions,
indexing, reshapes, matrix products) have their own forward rule in :mod:`.dual` and reverse rule in
:mod:`.tape`.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable
from typing import Any

import numpy as np

from ._tracer import Tracer, is_constant, primal

LN2 = math.log(2.0)
LN10 = math.log(10.0)


class Primitive:
    """One differentiable operation.

    Parameters
    ----------
    name : str
        NumPy-style name, shown in error messages and in the recorded graph (``Var.op``).
    impl : callable
        Evaluation on plain values: ``impl(*args, **params)``.
    lin : tuple of callables, optional
        For elementwise primitives, one rule per argument: ``lin[i](t, *args, out)`` is ``t`` times the
        partial derivative of the output with respect to argument ``i``.
    """

    __slots__ = ("impl", "lin", "name")

    def __init__(self, name: str, impl: Callable[..., Any],
                 lin: tuple[Callable[..., Any], ...] | None = None) -> None:
        self.name = name
        self.impl = impl
        self.lin = lin

    def __call__(self, *args: Any, **params: Any) -> Any:
        top = None
        for a in args:
            if isinstance(a, Tracer) and (top is None or a._level > top._level):
                top = a
        if top is None:
            return self.impl(*args, **params)
        for a in args:
            if not isinstance(a, Tracer) and not is_constant(a):
                raise TypeError(f"{self.name}: cannot combine a {type(top).__name__} with a "
                                f"{type(a).__name__} (only real numbers and arrays)")
        return top._apply(self, args, params)

    def __repr__(self) -> str:
        return f"Primitive({self.name!r})"


def _scalar_or_numpy(math_f: Callable[[float], float], np_f: np.ufunc) -> Callable[[Any], Any]:
    def impl(x: Any) -> Any:
        return math_f(x) if type(x) is float else np_f(x)
    impl.__name__ = np_f.__name__
    return impl


def _sigmoid_impl(x: Any) -> Any:
    if type(x) is float:
        if x >= 0.0:
            return 1.0 / (1.0 + math.exp(-x))
        e = math.exp(x)
        return e / (1.0 + e)
    if np.iscomplexobj(x):  # complex-step differentiation through sigmoid
        return 1.0 / (1.0 + np.exp(-x))
    e = np.exp(-np.abs(x))
    return np.where(np.asarray(x) >= 0, 1.0, e) / (1.0 + e)


def _power_impl(x: Any, y: Any) -> Any:
    out = x ** y
    if type(out) is complex:
        raise ValueError(f"a negative number ({x!r}) raised to a non-integer power ({y!r}) is not real")
    return out


def _logaddexp_impl(x: Any, y: Any) -> Any:
    """``log(exp(x) + exp(y))`` as ``max(x, y) + log1p(exp(-|x - y|))``.

    NumPy's ``np.logaddexp`` evaluates this formula one element at a time; with NumPy's vectorised ``exp``
    and ``log1p`` it is several times faster on large arrays. Non-finite inputs go to ``np.logaddexp``
    (which handles ``-inf`` and ``inf`` without warnings).
    """
    if type(x) is float and type(y) is float:
        if x == y:
            return x + LN2
        return max(x, y) + math.log1p(math.exp(-abs(x - y)))
    x, y = np.asarray(x), np.asarray(y)
    if x.dtype.kind != "f" or y.dtype.kind != "f" or max(x.size, y.size) < 64 \
            or not (np.isfinite(x).all() and np.isfinite(y).all()):
        return np.logaddexp(x, y)
    out = np.maximum(x, y)
    d = np.subtract(x, y)
    np.abs(d, out=d)
    np.negative(d, out=d)
    np.exp(d, out=d)
    np.log1p(d, out=d)
    out += d
    return out


def _sign(x: Any) -> Any:
    return np.sign(primal(x))


def _replace_zero(x: Any) -> Any:
    """``x`` with zeros replaced by one, so that ``0 * log(x)`` terms vanish at ``x = 0``."""
    p = primal(x)
    if np.ndim(p) == 0:
        return x if p != 0 else 1.0
    return where(x, 1.0, cond=p != 0)


def _pow_dx(t: Any, x: Any, y: Any, out: Any) -> Any:
    if not isinstance(y, Tracer) and np.ndim(y) == 0:
        if y == 0:
            return t * 0.0
        if y == 1:
            return t
        if y == 2:
            return t * (2.0 * x)
        return t * (y * x ** (y - 1))
    y_minus_1 = where(y - 1.0, 1.0, cond=primal(y) != 0)  # 0 * x**-1 would be nan at x = 0
    return t * (y * x ** y_minus_1)


def _balance(x: Any, y: Any, greater: bool) -> Any:
    """Weight of the first argument in the derivative of max / min (ties share it equally)."""
    px, py = primal(x), primal(y)
    wins = px > py if greater else px < py
    return wins * 1.0 + (px == py) * 0.5


def _unary(name: str, math_f: Callable[[float], float], np_f: np.ufunc,
           rule: Callable[[Any, Any, Any], Any]) -> Primitive:
    return Primitive(name, _scalar_or_numpy(math_f, np_f), (rule,))


# ---------------------------------------------------------------------------------- elementwise
negative = Primitive("negative", operator.neg, (lambda t, x, out: -t,))
positive = Primitive("positive", operator.pos, (lambda t, x, out: t,))
absolute = Primitive("absolute", abs, (lambda t, x, out: t * _sign(x),))
sin = _unary("sin", math.sin, np.sin, lambda t, x, out: t * cos(x))
cos = _unary("cos", math.cos, np.cos, lambda t, x, out: -(t * sin(x)))
tan = _unary("tan", math.tan, np.tan, lambda t, x, out: t * (1.0 + out * out))
exp = _unary("exp", math.exp, np.exp, lambda t, x, out: t * out)
log = _unary("log", math.log, np.log, lambda t, x, out: t / x)
sqrt = _unary("sqrt", math.sqrt, np.sqrt, lambda t, x, out: t / (2.0 * out))
tanh = _unary("tanh", math.tanh, np.tanh, lambda t, x, out: t * (1.0 - out * out))
# s (1 - s) written as s * sigmoid(-x): no cancellation in 1 - s when s is close to 1
sigmoid = Primitive("sigmoid", _sigmoid_impl, (lambda t, x, out: t * (out * sigmoid(-x)),))
log1p = _unary("log1p", math.log1p, np.log1p, lambda t, x, out: t / (1.0 + x))
expm1 = _unary("expm1", math.expm1, np.expm1, lambda t, x, out: t * (out + 1.0))
square = Primitive("square", np.square, (lambda t, x, out: t * (2.0 * x),))
sinh = _unary("sinh", math.sinh, np.sinh, lambda t, x, out: t * cosh(x))
cosh = _unary("cosh", math.cosh, np.cosh, lambda t, x, out: t * sinh(x))
arctan = _unary("arctan", math.atan, np.arctan, lambda t, x, out: t / (1.0 + x * x))
arcsin = _unary("arcsin", math.asin, np.arcsin, lambda t, x, out: t / sqrt(1.0 - x * x))
arccos = _unary("arccos", math.acos, np.arccos, lambda t, x, out: -(t / sqrt(1.0 - x * x)))
log2 = _unary("log2", math.log2, np.log2, lambda t, x, out: t / (x * LN2))
log10 = _unary("log10", math.log10, np.log10, lambda t, x, out: t / (x * LN10))
exp2 = Primitive("exp2", np.exp2, (lambda t, x, out: t * (out * LN2),))

add = Primitive("add", operator.add, (lambda t, x, y, out: t, lambda t, x, y, out: t))
subtract = Primitive("subtract", operator.sub, (lambda t, x, y, out: t, lambda t, x, y, out: -t))
multiply = Primitive("multiply", operator.mul, (lambda t, x, y, out: t * y, lambda t, x, y, out: t * x))
true_divide = Primitive("true_divide", operator.truediv,
                        (lambda t, x, y, out: t / y, lambda t, x, y, out: -(t * out) / y))
power = Primitive("power", _power_impl,
                  (_pow_dx, lambda t, x, y, out: t * (out * log(_replace_zero(x)))))
logaddexp = Primitive("logaddexp", _logaddexp_impl,
                      (lambda t, x, y, out: t * exp(x - out), lambda t, x, y, out: t * exp(y - out)))
maximum = Primitive("maximum", np.maximum,
                    (lambda t, x, y, out: t * _balance(x, y, True),
                     lambda t, x, y, out: t * _balance(y, x, True)))
minimum = Primitive("minimum", np.minimum,
                    (lambda t, x, y, out: t * _balance(x, y, False),
                     lambda t, x, y, out: t * _balance(y, x, False)))


# ---------------------------------------------------------------------------------- structural
def _is_basic_index(index: Any) -> bool:
    items = index if isinstance(index, tuple) else (index,)
    return all(i is None or i is Ellipsis or isinstance(i, int | slice | np.integer)
               or (isinstance(i, np.ndarray) and i.dtype == bool) for i in items)


def _scatter_impl(g: Any, index: Any, shape: tuple[int, ...]) -> np.ndarray:
    out = np.zeros(shape)
    if _is_basic_index(index):  # no element is selected twice: plain assignment
        out[index] = g
    else:
        np.add.at(out, index, g)
    return out


reshape = Primitive("reshape", lambda x, shape: np.reshape(x, shape))
transpose = Primitive("transpose", lambda x, axes: np.transpose(x, axes))
getitem = Primitive("getitem", lambda x, index: x[index])
#: The adjoint of indexing: a zero array of ``shape`` with ``g`` added at ``index``.
scatter = Primitive("scatter", _scatter_impl)
sum = Primitive("sum", lambda x, axis, keepdims: np.sum(x, axis=axis, keepdims=keepdims))
broadcast_to = Primitive("broadcast_to", lambda x, shape: np.broadcast_to(x, shape))
matmul = Primitive("matmul", np.matmul)
#: ``np.where(cond, x, y)`` with the (non-differentiable) condition as a parameter.
where = Primitive("where", lambda x, y, cond: np.where(cond, x, y))
stack = Primitive("stack", lambda *xs, axis: np.stack(xs, axis=axis))
concatenate = Primitive("concatenate", lambda *xs, axis: np.concatenate(xs, axis=axis))
amax = Primitive("amax", lambda x, axis, keepdims: np.max(x, axis=axis, keepdims=keepdims))
amin = Primitive("amin", lambda x, axis, keepdims: np.min(x, axis=axis, keepdims=keepdims))

#: NumPy ufuncs with a derivative rule.
UFUNCS: dict[np.ufunc, Primitive] = {
    np.negative: negative, np.positive: positive, np.absolute: absolute, np.sin: sin, np.cos: cos,
    np.tan: tan, np.exp: exp, np.log: log, np.sqrt: sqrt, np.tanh: tanh, np.log1p: log1p,
    np.expm1: expm1, np.square: square, np.sinh: sinh, np.cosh: cosh, np.arctan: arctan,
    np.arcsin: arcsin, np.arccos: arccos, np.log2: log2, np.log10: log10, np.exp2: exp2,
    np.add: add, np.subtract: subtract, np.multiply: multiply, np.true_divide: true_divide,
    np.power: power, np.logaddexp: logaddexp, np.maximum: maximum, np.minimum: minimum,
    np.matmul: matmul,
}

#: NumPy ufuncs that are piecewise constant: evaluated on the primal values, derivative zero.
NONDIFF_UFUNCS: set[np.ufunc] = {
    np.less, np.less_equal, np.greater, np.greater_equal, np.equal, np.not_equal, np.sign, np.floor,
    np.ceil, np.trunc, np.rint, np.isfinite, np.isnan, np.isinf, np.signbit, np.logical_and,
    np.logical_or, np.logical_not, np.logical_xor,
}
