"""Forward mode: the :class:`Dual` number ``val + der·ε`` with ``ε² = 0``.

A ``Dual`` carries a primal value (float or float64 array) and a tangent. The tangent ``der`` is either

* one direction: ``der.shape == val.shape`` (``Dual(2.0, 1.0)``, ``Dual(x, e_j)``), or
* a vector of ``k`` directions at once: ``der.shape == val.shape + (k,)``
  (``Dual(2.0, [1.0, 0.0])``; ``jacfwd`` seeds all columns of the Jacobian in one sweep this way).

Every operation pushes the tangent through with the rules registered on its primitive (:mod:`.primitives`,
:mod:`.structural`): an elementwise primitive's linear rules multiply the tangent by the local partial
derivatives, a structural primitive's forward rule applies the same linear map to the tangent. Scalar code
(Python floats, one tangent) takes a fast path that evaluates the same linear rules on floats, skipping the
array bookkeeping. Every ``Dual`` is made by :func:`_dual`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import primitives as P
from ._base import as_value, shape_of
from ._tracer import Tracer, _binary

_new = object.__new__

#: Levels of the forward-mode sweeps in progress (innermost last). A ``Dual`` built with the constructor
#: while a sweep runs belongs to that sweep, so ``f = lambda x: Dual(F(x.val), dF(x.val) * x.der)`` works
#: with ``derivative(f, x)``.
FORWARD_LEVELS: list[int] = []


def _operator(prim: P.Primitive, reflected: bool = False) -> Any:
    """A Python operator of :class:`Dual` (``other op self`` when ``reflected``): the scalar fast path, else
    the general path of tracers."""
    if reflected:
        def op(self: Dual, other: Any) -> Any:
            d = _scalar_binary(prim, other, self)
            return _binary(prim, other, self) if d is None else d
    else:
        def op(self: Dual, other: Any) -> Any:
            d = _scalar_binary(prim, self, other)
            return _binary(prim, self, other) if d is None else d
    op.__name__ = f"__{'r' if reflected else ''}{prim.name}__"
    return op


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

    __slots__ = ("_k", "_scalar", "der")
    der: Any
    _k: int | None
    _scalar: bool  # a Python-float value with one Python-float tangent: the scalar fast path applies

    def __new__(cls, val: Any, der: Any = 0.0) -> Dual:
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
        return _dual(val, der, k, FORWARD_LEVELS[-1] if FORWARD_LEVELS else 0,
                     k is None and type(val) is float and type(der) is float)

    def __repr__(self) -> str:
        return f"Dual(val={self.val!r}, der={self.der!r})"

    # ------------------------------------------------------------------ rule application
    def _apply(self, prim: P.Primitive, args: tuple[Any, ...], params: dict[str, Any]) -> Any:
        if self._scalar and prim.lin is not None and not params:
            if len(args) == 1:  # the scalar fast path of a function of one argument
                x = self.val
                out = prim.impl(x)
                return _scalar_dual(out, prim.lin[0](self.der, x, out), self._level)
            if len(args) == 2:
                fast = _scalar_binary(prim, *args)
                if fast is not None:
                    return fast
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
            der = prim.forward_rule()(tans, vals, out, k, **params)
        return _normalized(out, der, k, level)

    # ------------------------------------------------------------------ operators: scalar fast path first
    __add__, __radd__ = _operator(P.add), _operator(P.add, reflected=True)
    __sub__, __rsub__ = _operator(P.subtract), _operator(P.subtract, reflected=True)
    __mul__, __rmul__ = _operator(P.multiply), _operator(P.multiply, reflected=True)
    __truediv__, __rtruediv__ = _operator(P.true_divide), _operator(P.true_divide, reflected=True)
    __pow__, __rpow__ = _operator(P.power), _operator(P.power, reflected=True)

    def __neg__(self) -> Any:
        return self._apply(P.negative, (self,), {})

    def __getnewargs__(self) -> tuple[Any, Any]:  # copy and pickle
        return self.val, self.der


def _dual(val: Any, der: Any, k: int | None, level: int, scalar: bool) -> Dual:
    """The one place a ``Dual`` is made: from parts that are already consistent (``der`` has shape
    ``val.shape``, or ``val.shape + (k,)``; ``scalar``: both are Python floats and ``k`` is None)."""
    d = _new(Dual)
    d.val = val
    d.der = der
    d._k = k
    d._level = level
    d._scalar = scalar
    return d


def _scalar_binary(prim: P.Primitive, a: Any, b: Any) -> Dual | None:
    """The scalar fast path of a function of two arguments: floats and scalar one-tangent duals (``_scalar``)
    of one level, the tangent from the primitive's own linear rules evaluated on floats. ``None`` for
    anything else (then the general path handles it)."""
    ta, tb = type(a), type(b)
    lin = prim.lin
    if ta is Dual and a._scalar:
        x = a.val
        if tb is Dual:
            if not b._scalar or b._level != a._level:
                return None
            y = b.val
            out = prim.impl(x, y)
            return _scalar_dual(out, lin[0](a.der, x, y, out) + lin[1](b.der, x, y, out),  # type: ignore[index]
                                a._level)
        if tb is float or tb is int:
            out = prim.impl(x, b)
            return _scalar_dual(out, lin[0](a.der, x, b, out), a._level)  # type: ignore[index]
    elif (ta is float or ta is int) and tb is Dual and b._scalar:
        y = b.val
        out = prim.impl(a, y)
        return _scalar_dual(out, lin[1](b.der, a, y, out), b._level)  # type: ignore[index]
    return None


def _scalar_dual(val: Any, der: Any, level: int) -> Dual:
    """A scalar one-tangent dual from a rule's float (or NumPy scalar) results."""
    return _dual(val if type(val) is float else float(val), der if type(der) is float else float(der), None,
                 level, True)


def _normalized(val: Any, der: Any, k: int | None, level: int) -> Dual:
    """A dual from a rule's results: NumPy scalars become floats, a tangent is broadcast to its shape."""
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
    return _dual(val, der, k, level, k is None and type(val) is float and type(der) is float)


def make_dual(val: Any, der: Any, k: int | None, level: int) -> Dual:
    """A dual at trace ``level`` (used by the transforms; ``der`` has shape ``val.shape (+ (k,))``)."""
    return _normalized(as_value(val), as_value(der), k, level)


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


__all__ = ["FORWARD_LEVELS", "Dual", "forward_sweep", "make_dual"]
