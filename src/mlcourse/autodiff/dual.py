"""Forward mode: the :class:`Dual` number ``val + der·ε`` with ``ε² = 0``.

A ``Dual`` carries a primal value (float or float64 array) and a tangent. The tangent ``der`` is either

* one direction: ``der.shape == val.shape`` (``Dual(2.0, 1.0)``, ``Dual(x, e_j)``), or
* a vector of ``k`` directions at once: ``der.shape == val.shape + (k,)``
  (``Dual(2.0, [1.0, 0.0])``; ``jacfwd`` seeds all columns of the Jacobian in one sweep this way).

Every operation pushes the tangent through with the chain rule: elementwise operations multiply it by the
local partial derivative (the rules live in :mod:`.primitives`), structural ones (sums, indexing, reshapes,
matrix products) apply the same linear map to the tangent (the rules below).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import primitives as P
from ._tracer import Tracer, _binary, as_value, normalize_axes, primal, shape_of

_new = object.__new__

#: Levels of the forward-mode sweeps in progress (innermost last). A ``Dual`` built with the constructor
#: while a sweep runs belongs to that sweep, so ``f = lambda x: Dual(F(x.val), dF(x.val) * x.der)`` works
#: with ``derivative(f, x)``.
FORWARD_LEVELS: list[int] = []


class Dual(Tracer):
    """A dual number (or array of them) for forward-mode differentiation.

    Parameters
    ----------
    val : float or array_like
        Primal value; converted to ``float`` / a float64 array.
    der : float or array_like, default 0.0
        Tangent: a scalar (broadcast to ``val``'s shape), an array of ``val``'s shape, or an array of shape
        ``val.shape + (k,)`` for ``k`` tangent directions at once.

    Attributes
    ----------
    val : float or ndarray
        The primal value.
    der : float or ndarray
        The tangent (directional derivative(s)).

    Notes
    -----
    A dual built by the constructor inside a function that :func:`~.forward.derivative`, ``jvp`` or
    ``jacfwd`` is differentiating belongs to that differentiation (it carries the same perturbation ε);
    elsewhere it is an ordinary dual number.

    Arithmetic (``+ - * / **``, unary ``-``, ``abs``) works with floats, arrays and other duals on either
    side; comparisons compare ``val``; NumPy ufuncs (``np.sin(x)``), broadcasting, indexing, ``sum``,
    ``mean``, ``reshape``, ``@`` work elementwise / as for arrays. Dividing by a scalar dual whose value is
    zero raises ``ZeroDivisionError``. Unsupported NumPy operations raise ``TypeError``.

    Examples
    --------
    >>> x = Dual(2.0, 1.0)
    >>> y = x * x + 3.0 * x
    >>> (y.val, y.der)
    (10.0, 7.0)
    """

    __slots__ = ("_k", "der")
    der: Any
    _k: int | None

    def __init__(self, val: Any, der: Any = 0.0) -> None:
        val = as_value(val)
        der = as_value(der)
        vshape, dshape = shape_of(val), shape_of(der)
        if dshape == vshape:
            k = None
        elif dshape == ():
            k = None
            der = np.full(vshape, der) if not isinstance(der, Tracer) else np.broadcast_to(der, vshape)
        elif dshape[:-1] == vshape:
            k = dshape[-1]
        else:
            raise ValueError(f"Dual: der of shape {dshape} fits neither val's shape {vshape} nor "
                             f"{vshape} + (k,) for k tangent directions")
        self.val = val
        self.der = der
        self._k = k
        self._level = FORWARD_LEVELS[-1] if FORWARD_LEVELS else 0

    def __repr__(self) -> str:
        return f"Dual(val={self.val!r}, der={self.der!r})"

    # ------------------------------------------------------------------ generic rule application
    def _apply(self, prim: P.Primitive, args: tuple[Any, ...], params: dict[str, Any]) -> Any:
        level = self._level
        vals: list[Any] = []
        tans: list[Any] = []
        k: Any = False
        for a in args:
            if type(a) is Dual and a._level == level:
                vals.append(a.val)
                tans.append(a.der)
                if k is False:
                    k = a._k
                elif a._k != k:
                    raise ValueError(f"{prim.name}: duals with {k or 1} and {a._k or 1} tangent directions "
                                     "cannot be combined")
            else:
                vals.append(a)
                tans.append(None)
        out = prim(*vals, **params)
        if prim.lin is not None:
            if k is None:
                evals, eout = vals, out
            else:  # a trailing tangent axis: partial derivatives get a new last axis to broadcast
                evals, eout = [_expand(v) for v in vals], _expand(out)
            der = None
            for rule, t in zip(prim.lin, tans, strict=True):
                if t is not None:
                    term = rule(t, *evals, eout)
                    der = term if der is None else der + term
        else:
            der = _JVP[prim.name](tans, vals, out, k, **params)
        return _make(out, der, k, level)

    # ------------------------------------------------------------------ fast paths for scalar code
    def __add__(self, other: Any) -> Any:
        if self._k is None:
            if type(other) is Dual:
                if other._level == self._level and other._k is None:
                    return _raw(self.val + other.val, self.der + other.der, None, self._level)
            elif type(other) is float or type(other) is int:
                return _raw(self.val + other, self.der, None, self._level)
        return _binary(P.add, self, other)

    __radd__ = __add__

    def __sub__(self, other: Any) -> Any:
        if self._k is None:
            if type(other) is Dual:
                if other._level == self._level and other._k is None:
                    return _raw(self.val - other.val, self.der - other.der, None, self._level)
            elif type(other) is float or type(other) is int:
                return _raw(self.val - other, self.der, None, self._level)
        return _binary(P.subtract, self, other)

    def __rsub__(self, other: Any) -> Any:
        if self._k is None and (type(other) is float or type(other) is int):
            return _raw(other - self.val, -self.der, None, self._level)
        return _binary(P.subtract, other, self)

    def __mul__(self, other: Any) -> Any:
        if self._k is None:
            if type(other) is Dual:
                if other._level == self._level and other._k is None:
                    return _raw(self.val * other.val, self.der * other.val + self.val * other.der,
                                 None, self._level)
            elif type(other) is float or type(other) is int:
                return _raw(self.val * other, self.der * other, None, self._level)
        return _binary(P.multiply, self, other)

    __rmul__ = __mul__

    def __truediv__(self, other: Any) -> Any:
        if self._k is None:
            if type(other) is Dual:
                if other._level == self._level and other._k is None:
                    q = self.val / other.val
                    return _raw(q, (self.der - q * other.der) / other.val, None, self._level)
            elif type(other) is float or type(other) is int:
                return _raw(self.val / other, self.der / other, None, self._level)
        return _binary(P.true_divide, self, other)

    def __rtruediv__(self, other: Any) -> Any:
        if self._k is None and (type(other) is float or type(other) is int):
            q = other / self.val
            return _raw(q, -(q * self.der) / self.val, None, self._level)
        return _binary(P.true_divide, other, self)

    def __neg__(self) -> Any:
        if self._k is None:
            return _raw(-self.val, -self.der, None, self._level)
        return P.negative(self)

    def __pow__(self, other: Any) -> Any:
        if self._k is None and (type(other) is int or type(other) is float) and type(self.val) is float:
            x = self.val
            if other == 0:
                return _raw(1.0, 0.0 * self.der, None, self._level)
            out = x ** other
            if type(out) is complex:
                raise ValueError(f"a negative number ({x!r}) raised to a non-integer power ({other!r}) "
                                 "is not real")
            return _raw(out, (other * x ** (other - 1)) * self.der, None, self._level)
        return _binary(P.power, self, other)


def _make(val: Any, der: Any, k: int | None, level: int) -> Dual:
    """A dual without the constructor's checks (internal; ``der`` must already have the right shape)."""
    if type(val) is not float and not isinstance(val, np.ndarray | Tracer):
        val = float(val)  # NumPy scalars: keep Python-float semantics (ZeroDivisionError, exactness)
    elif type(val) is np.ndarray and val.ndim == 0:
        val = float(val)
    want = shape_of(val) if k is None else (*shape_of(val), k)
    if shape_of(der) != want:
        der = np.broadcast_to(der, want)
    elif type(der) is not float and not isinstance(der, np.ndarray | Tracer):
        der = float(der)
    elif type(der) is np.ndarray and der.ndim == 0:
        der = float(der)
    d = _new(Dual)
    d.val = val
    d.der = der
    d._k = k
    d._level = level
    return d


def _raw(val: Any, der: Any, k: int | None, level: int) -> Dual:
    """A dual from parts that are already consistent (the scalar fast paths)."""
    d = _new(Dual)
    d.val = val
    d.der = der
    d._k = k
    d._level = level
    return d


def make_dual(val: Any, der: Any, k: int | None, level: int) -> Dual:
    """A dual at trace ``level`` (used by the transforms; ``der`` has shape ``val.shape (+ (k,))``)."""
    return _make(as_value(val), as_value(der), k, level)


def forward_sweep(f: Any, args: Any, kwargs: Any, level: int) -> Any:
    """``f(*args, **kwargs)`` with ``level`` marked as the innermost forward sweep in progress."""
    FORWARD_LEVELS.append(level)
    try:
        return f(*args, **kwargs)
    finally:
        FORWARD_LEVELS.pop()


def _expand(v: Any) -> Any:
    """Give an array (not a scalar) a trailing length-1 axis, to broadcast against vector tangents."""
    return v[..., None] if shape_of(v) else v


def _tangent_index(index: Any, k: int | None) -> Any:
    if k is None:
        return index
    items = index if isinstance(index, tuple) else (index,)
    if any(i is Ellipsis for i in items):
        return (*items, slice(None))
    return index


def _ktail(k: int | None) -> tuple[int, ...]:
    return () if k is None else (k,)


def _zero_tangent(v: Any, k: int | None) -> np.ndarray:
    return np.zeros((*shape_of(v), *_ktail(k)))


# ---------------------------------------------------------------------------------- JVP rules
def _jvp_reshape(ts: list[Any], vals: list[Any], out: Any, k: int | None, shape: Any) -> Any:
    return np.reshape(ts[0], (*shape_of(out), *_ktail(k)))


def _jvp_transpose(ts: list[Any], vals: list[Any], out: Any, k: int | None, axes: Any) -> Any:
    if k is None:
        return np.transpose(ts[0], axes)
    nd = len(shape_of(vals[0]))
    axes = tuple(range(nd))[::-1] if axes is None else tuple(axes)
    return np.transpose(ts[0], (*axes, nd))


def _jvp_getitem(ts: list[Any], vals: list[Any], out: Any, k: int | None, index: Any) -> Any:
    return ts[0][_tangent_index(index, k)]


def _jvp_scatter(ts: list[Any], vals: list[Any], out: Any, k: int | None, index: Any,
                 shape: tuple[int, ...]) -> Any:
    return P.scatter(ts[0], index=_tangent_index(index, k), shape=(*shape, *_ktail(k)))


def _jvp_sum(ts: list[Any], vals: list[Any], out: Any, k: int | None, axis: Any, keepdims: bool) -> Any:
    if k is not None:
        axis = normalize_axes(axis, len(shape_of(vals[0])))
    return np.sum(ts[0], axis=axis, keepdims=keepdims)


def _jvp_broadcast_to(ts: list[Any], vals: list[Any], out: Any, k: int | None, shape: Any) -> Any:
    return np.broadcast_to(ts[0], (*shape, *_ktail(k)))


def _jvp_where(ts: list[Any], vals: list[Any], out: Any, k: int | None, cond: Any) -> Any:
    c = cond[..., None] if k is not None and np.ndim(cond) else cond
    tx = 0.0 if ts[0] is None else ts[0]
    ty = 0.0 if ts[1] is None else ts[1]
    return np.where(c, tx, ty)


def _jvp_stack(ts: list[Any], vals: list[Any], out: Any, k: int | None, axis: int) -> Any:
    axis = axis % len(shape_of(out))
    return np.stack([_zero_tangent(v, k) if t is None else t for t, v in zip(ts, vals, strict=True)],
                    axis=axis)


def _jvp_concatenate(ts: list[Any], vals: list[Any], out: Any, k: int | None, axis: int) -> Any:
    axis = axis % len(shape_of(out))
    return np.concatenate([_zero_tangent(v, k) if t is None else t for t, v in zip(ts, vals, strict=True)],
                          axis=axis)


def _jvp_extremum(ts: list[Any], vals: list[Any], out: Any, k: int | None, axis: Any, keepdims: bool,
                  reduce: Any) -> Any:
    x = primal(vals[0])
    hit = (x == reduce(x, axis=axis, keepdims=True)) * 1.0
    weight = hit / np.sum(hit, axis=axis, keepdims=True)
    if k is not None:
        weight = _expand(weight)
        axis = normalize_axes(axis, x.ndim)
    return np.sum(ts[0] * weight, axis=axis, keepdims=keepdims)


def _matmul_tangent_left(ta: Any, b: Any, na: int, nb: int, k: int | None) -> Any:
    """Tangent of ``a @ b`` from ``a``'s tangent ``ta``."""
    if k is None:
        return ta @ b
    if na == 1:  # ta: (n, k)
        r = np.transpose(ta) @ b  # (k,) or (..., k, p)
        return r if nb == 1 else np.swapaxes(r, -1, -2)
    return np.moveaxis(_leading_tangent(ta, nb - na) @ b, 0, -1)


def _matmul_tangent_right(a: Any, tb: Any, na: int, nb: int, k: int | None) -> Any:
    """Tangent of ``a @ b`` from ``b``'s tangent ``tb``."""
    if k is None or nb == 1:  # tb: (n, k) is a matrix, a @ tb already ends in the tangent axis
        return a @ tb
    return np.moveaxis(a @ _leading_tangent(tb, na - nb), 0, -1)


def _leading_tangent(t: Any, pad: int) -> Any:
    """Tangent axis first, then ``pad`` length-1 axes (so it sits left of the other operand's batch axes)."""
    t = np.moveaxis(t, -1, 0)
    if pad > 0:
        shape = shape_of(t)
        t = np.reshape(t, (shape[0], *([1] * pad), *shape[1:]))
    return t


def _jvp_matmul(ts: list[Any], vals: list[Any], out: Any, k: int | None) -> Any:
    a, b = vals
    na, nb = len(shape_of(a)), len(shape_of(b))
    if na == 0 or nb == 0:
        raise ValueError("matmul: input operand does not have enough dimensions")
    der = None
    if ts[0] is not None:
        der = _matmul_tangent_left(ts[0], b, na, nb, k)
    if ts[1] is not None:
        term = _matmul_tangent_right(a, ts[1], na, nb, k)
        der = term if der is None else der + term
    return der


_JVP: dict[str, Any] = {
    "reshape": _jvp_reshape,
    "transpose": _jvp_transpose,
    "getitem": _jvp_getitem,
    "scatter": _jvp_scatter,
    "sum": _jvp_sum,
    "broadcast_to": _jvp_broadcast_to,
    "where": _jvp_where,
    "stack": _jvp_stack,
    "concatenate": _jvp_concatenate,
    "amax": lambda ts, vals, out, k, axis, keepdims: _jvp_extremum(ts, vals, out, k, axis, keepdims, np.max),
    "amin": lambda ts, vals, out, k, axis, keepdims: _jvp_extremum(ts, vals, out, k, axis, keepdims, np.min),
    "matmul": _jvp_matmul,
}


def scalar_unary(x: Dual, f: Any, df: Any) -> Dual:
    """Fast path for ``f(x)`` on a scalar single-tangent dual: ``Dual(f(v), df(v) * der)`` with math funcs."""
    v = x.val
    return _raw(f(v), df(v) * x.der, None, x._level)


__all__ = ["FORWARD_LEVELS", "Dual", "forward_sweep", "make_dual"]
