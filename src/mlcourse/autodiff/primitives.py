"""Primitive operations and their derivative rules: the one table of the package.

Every operation on a tracer ends up in a :class:`Primitive`. It evaluates itself on plain numbers and arrays
with NumPy (or the ``math`` module for Python floats), and hands tracer arguments to the tracer of the highest
level (``_apply`` of :class:`~.dual.Dual` or :class:`~.tape.Var`), which applies the primitive's rules:

:func:`deflinear`
    For elementwise primitives, one *linear rule* per argument, ``lin(t, *args, out) = t * d out / d arg``.
    Multiplying elementwise by the partial derivative is its own adjoint, so the same rule gives the
    forward-mode tangent (``t`` a tangent) and the reverse-mode cotangent (``t`` a cotangent, summed over
    broadcast axes afterwards), and on Python floats it is the scalar fast path of :class:`~.dual.Dual`.
:func:`defjvp` / :func:`defvjp`
    For structural primitives (reductions, indexing, reshapes, matrix products, ``where``), the forward rule
    ``jvp(tangents, vals, out, k, **params)`` and the reverse rule ``vjp(g, i, vals, out, **params)``
    (as autograd's ``defjvp`` / ``defvjp``). They live next to their primitives in :mod:`.structural`.

Rules are written with the primitives themselves, so they are differentiable again (Hessians, nested
transforms). This module holds every elementwise primitive with its rule and its NumPy ufunc
(:data:`UFUNCS`): adding an elementwise function touches this file only.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable
from typing import Any

import numpy as np

from ._base import TracerBase, is_constant, primal, shape_of, unbroadcast

LN2 = math.log(2.0)
LN10 = math.log(10.0)

#: ``jvp(tangents, vals, out, k, **params) -> tangent`` (``tangents[i]`` is None for a constant argument).
JVPRule = Callable[..., Any]
#: ``vjp(g, i, vals, out, **params) -> cotangent of argument i``.
VJPRule = Callable[..., Any]


class Primitive:
    """One differentiable operation and its derivative rules.

    Parameters
    ----------
    name : str
        NumPy-style name, shown in error messages and in the recorded graph (``Var.op``).
    impl : callable
        Evaluation on plain values: ``impl(*args, **params)``.

    Attributes
    ----------
    lin : tuple of callables or None
        Elementwise primitives: one linear rule per argument (:func:`deflinear`).
    jvp, vjp : callable or None
        Structural primitives: the forward and the reverse rule (:func:`defjvp`, :func:`defvjp`).
    """

    __slots__ = ("impl", "jvp", "lin", "name", "vjp")

    def __init__(self, name: str, impl: Callable[..., Any]) -> None:
        self.name = name
        self.impl = impl
        self.lin: tuple[Callable[..., Any], ...] | None = None
        self.jvp: JVPRule | None = None
        self.vjp: VJPRule | None = None

    def __call__(self, *args: Any, **params: Any) -> Any:
        if len(args) == 1:  # one argument: a tracer is the top, anything else is evaluated
            a = args[0]
            if isinstance(a, TracerBase):
                return a._apply(self, args, params)
            return self.impl(a, **params) if params else self.impl(a)
        top = None
        for a in args:
            if isinstance(a, TracerBase) and (top is None or a._level > top._level):
                top = a
        if top is None:
            return self.impl(*args, **params)
        for a in args:
            if not isinstance(a, TracerBase) and not is_constant(a):
                raise TypeError(f"{self.name}: cannot combine a {type(top).__name__} with a "
                                f"{type(a).__name__} (only real numbers and arrays)")
        return top._apply(self, args, params)

    def __repr__(self) -> str:
        return f"Primitive({self.name!r})"

    def forward_rule(self) -> JVPRule:
        """The structural forward rule; a ``TypeError`` names the primitive when it has none."""
        if self.jvp is None:
            raise TypeError(f"{self.name} has no forward-mode derivative rule")
        return self.jvp

    def reverse_rule(self) -> VJPRule:
        """The structural reverse rule; a ``TypeError`` names the primitive when it has none."""
        if self.vjp is None:
            raise TypeError(f"{self.name} has no reverse-mode derivative rule")
        return self.vjp


def deflinear(prim: Primitive, *partials: Callable[..., Any]) -> Primitive:
    """Register an elementwise primitive's linear rules, one per argument: ``partials[i](t, *args, out)`` is
    ``t`` times the partial derivative of the output with respect to argument ``i``. Returns ``prim``."""
    prim.lin = partials
    return prim


def defjvp(prim: Primitive, rule: JVPRule) -> Primitive:
    """Register a structural primitive's forward rule ``rule(tangents, vals, out, k, **params)``: the tangent
    of the output from the arguments' tangents (``None`` for constants; ``k`` tangent directions or None)."""
    prim.jvp = rule
    return prim


def defvjp(prim: Primitive, rule: VJPRule) -> Primitive:
    """Register a structural primitive's reverse rule ``rule(g, i, vals, out, **params)``: the cotangent of
    argument ``i`` from the output's cotangent ``g``."""
    prim.vjp = rule
    return prim


def elementwise(name: str, impl: Callable[..., Any], *partials: Callable[..., Any]) -> Primitive:
    """An elementwise primitive with its linear rules (:func:`deflinear`)."""
    return deflinear(Primitive(name, impl), *partials)


def _scalar_or_numpy(math_f: Callable[[float], float], np_f: np.ufunc) -> Callable[[Any], Any]:
    def impl(x: Any) -> Any:
        return math_f(x) if type(x) is float or type(x) is int else np_f(x)
    impl.__name__ = np_f.__name__
    return impl


def _sigmoid_impl(x: Any) -> Any:
    if type(x) is int:
        x = float(x)
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
    if type(y) is float or type(y) is int or (not isinstance(y, TracerBase) and np.ndim(y) == 0):
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
    """An elementwise function of one argument: ``math_f`` on Python floats, ``np_f`` otherwise."""
    return deflinear(Primitive(name, _scalar_or_numpy(math_f, np_f)), rule)


# ---------------------------------------------------------------------------------- elementwise
negative = elementwise("negative", operator.neg, lambda t, x, out: -t)
positive = elementwise("positive", operator.pos, lambda t, x, out: t)
absolute = elementwise("absolute", abs, lambda t, x, out: t * _sign(x))
sin = _unary("sin", math.sin, np.sin, lambda t, x, out: t * cos(x))
cos = _unary("cos", math.cos, np.cos, lambda t, x, out: -(t * sin(x)))
tan = _unary("tan", math.tan, np.tan, lambda t, x, out: t * (1.0 + out * out))
exp = _unary("exp", math.exp, np.exp, lambda t, x, out: t * out)
log = _unary("log", math.log, np.log, lambda t, x, out: t / x)
sqrt = _unary("sqrt", math.sqrt, np.sqrt, lambda t, x, out: t / (2.0 * out))
tanh = _unary("tanh", math.tanh, np.tanh, lambda t, x, out: t * (1.0 - out * out))
# s (1 - s) written as s * sigmoid(-x): no cancellation in 1 - s when s is close to 1
sigmoid = elementwise("sigmoid", _sigmoid_impl, lambda t, x, out: t * (out * sigmoid(-x)))
log1p = _unary("log1p", math.log1p, np.log1p, lambda t, x, out: t / (1.0 + x))
expm1 = _unary("expm1", math.expm1, np.expm1, lambda t, x, out: t * (out + 1.0))
square = elementwise("square", np.square, lambda t, x, out: t * (2.0 * x))
sinh = _unary("sinh", math.sinh, np.sinh, lambda t, x, out: t * cosh(x))
cosh = _unary("cosh", math.cosh, np.cosh, lambda t, x, out: t * sinh(x))
arctan = _unary("arctan", math.atan, np.arctan, lambda t, x, out: t / (1.0 + x * x))
arcsin = _unary("arcsin", math.asin, np.arcsin, lambda t, x, out: t / sqrt(1.0 - x * x))
arccos = _unary("arccos", math.acos, np.arccos, lambda t, x, out: -(t / sqrt(1.0 - x * x)))
log2 = _unary("log2", math.log2, np.log2, lambda t, x, out: t / (x * LN2))
log10 = _unary("log10", math.log10, np.log10, lambda t, x, out: t / (x * LN10))
exp2 = elementwise("exp2", np.exp2, lambda t, x, out: t * (out * LN2))

add = elementwise("add", operator.add, lambda t, x, y, out: t, lambda t, x, y, out: t)
subtract = elementwise("subtract", operator.sub, lambda t, x, y, out: t, lambda t, x, y, out: -t)
multiply = elementwise("multiply", operator.mul, lambda t, x, y, out: t * y, lambda t, x, y, out: t * x)
true_divide = elementwise("true_divide", operator.truediv,
                          lambda t, x, y, out: t / y, lambda t, x, y, out: -(t * out) / y)
power = elementwise("power", _power_impl, _pow_dx, lambda t, x, y, out: t * (out * log(_replace_zero(x))))
logaddexp = elementwise("logaddexp", _logaddexp_impl,
                        lambda t, x, y, out: t * exp(x - out), lambda t, x, y, out: t * exp(y - out))
maximum = elementwise("maximum", np.maximum,
                      lambda t, x, y, out: t * _balance(x, y, True),
                      lambda t, x, y, out: t * _balance(y, x, True))
minimum = elementwise("minimum", np.minimum,
                      lambda t, x, y, out: t * _balance(x, y, False),
                      lambda t, x, y, out: t * _balance(y, x, False))


#: ``np.where(cond, x, y)`` with the (non-differentiable) condition as a parameter: elementwise, but the
#: unselected branch must get an exact zero (not ``0 * g``, which is NaN where ``g`` is infinite).
where = Primitive("where", lambda x, y, cond: np.where(cond, x, y))


def _jvp_where(ts: list[Any], vals: list[Any], out: Any, k: int | None, cond: Any) -> Any:
    c = cond[..., None] if k is not None and np.ndim(cond) else cond
    tx = 0.0 if ts[0] is None else ts[0]
    ty = 0.0 if ts[1] is None else ts[1]
    return np.where(c, tx, ty)


def _vjp_where(g: Any, i: int, vals: list[Any], out: Any, cond: Any) -> Any:
    picked = np.where(cond, g, 0.0) if i == 0 else np.where(cond, 0.0, g)
    return unbroadcast(picked, shape_of(vals[i]))


defjvp(where, _jvp_where)
defvjp(where, _vjp_where)

#: NumPy ufuncs with an elementwise derivative rule (``np.matmul`` is in :mod:`.structural`).
UFUNCS: dict[np.ufunc, Primitive] = {
    np.negative: negative, np.positive: positive, np.absolute: absolute, np.sin: sin, np.cos: cos,
    np.tan: tan, np.exp: exp, np.log: log, np.sqrt: sqrt, np.tanh: tanh, np.log1p: log1p,
    np.expm1: expm1, np.square: square, np.sinh: sinh, np.cosh: cosh, np.arctan: arctan,
    np.arcsin: arcsin, np.arccos: arccos, np.log2: log2, np.log10: log10, np.exp2: exp2,
    np.add: add, np.subtract: subtract, np.multiply: multiply, np.true_divide: true_divide,
    np.power: power, np.logaddexp: logaddexp, np.maximum: maximum, np.minimum: minimum,
}

#: NumPy ufuncs that are piecewise constant: evaluated on the primal values, derivative zero.
NONDIFF_UFUNCS: frozenset[np.ufunc] = frozenset({
    np.less, np.less_equal, np.greater, np.greater_equal, np.equal, np.not_equal, np.sign, np.floor,
    np.ceil, np.trunc, np.rint, np.isfinite, np.isnan, np.isinf, np.signbit, np.logical_and,
    np.logical_or, np.logical_not, np.logical_xor,
})
