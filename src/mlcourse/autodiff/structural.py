"""Structural primitives -- reshapes, indexing, reductions, stacking, matrix products -- and their rules.

Each primitive is followed by its forward rule (:func:`~.primitives.defjvp`: the tangent of the output from
the arguments' tangents, ``None`` for a constant; with ``k`` tangent directions the tangents carry them in a
trailing axis) and its reverse rule (:func:`~.primitives.defvjp`: the cotangent of argument ``i`` from the
output's cotangent ``g``). Both are written with NumPy operations, so they work on tracers too and are
differentiable again.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._base import normalize_axes, primal, shape_of, unbroadcast
from .primitives import Primitive, defjvp, defvjp


def _ktail(k: int | None) -> tuple[int, ...]:
    """The trailing tangent axis of ``k`` directions (none for one tangent)."""
    return () if k is None else (k,)


def _zero_tangent(v: Any, k: int | None) -> np.ndarray:
    return np.zeros((*shape_of(v), *_ktail(k)))


def _keepdims_shape(shape: tuple[int, ...], axis: Any) -> tuple[int, ...]:
    axes = normalize_axes(axis, len(shape))
    return tuple(1 if d in axes else n for d, n in enumerate(shape))


# ---------------------------------------------------------------------------------- reshape, transpose
reshape = Primitive("reshape", lambda x, shape: np.reshape(x, shape))
defjvp(reshape, lambda ts, vals, out, k, shape: np.reshape(ts[0], (*shape_of(out), *_ktail(k))))
defvjp(reshape, lambda g, i, vals, out, shape: np.reshape(g, shape_of(vals[0])))

transpose = Primitive("transpose", lambda x, axes: np.transpose(x, axes))


def _jvp_transpose(ts: list[Any], vals: list[Any], out: Any, k: int | None, axes: Any) -> Any:
    if k is None:
        return np.transpose(ts[0], axes)
    nd = len(shape_of(vals[0]))
    axes = tuple(range(nd))[::-1] if axes is None else tuple(axes)
    return np.transpose(ts[0], (*axes, nd))


def _vjp_transpose(g: Any, i: int, vals: list[Any], out: Any, axes: Any) -> Any:
    return np.transpose(g) if axes is None else np.transpose(g, tuple(np.argsort(axes)))


defjvp(transpose, _jvp_transpose)
defvjp(transpose, _vjp_transpose)

broadcast_to = Primitive("broadcast_to", lambda x, shape: np.broadcast_to(x, shape))
defjvp(broadcast_to, lambda ts, vals, out, k, shape: np.broadcast_to(ts[0], (*shape, *_ktail(k))))
defvjp(broadcast_to, lambda g, i, vals, out, shape: unbroadcast(g, shape_of(vals[0])))


# ---------------------------------------------------------------------------------- indexing
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


def _tangent_index(index: Any, k: int | None) -> Any:
    """``index`` for a tangent with a trailing axis of ``k`` directions (an Ellipsis must not eat it)."""
    if k is None:
        return index
    items = index if isinstance(index, tuple) else (index,)
    if any(i is Ellipsis for i in items):
        return (*items, slice(None))
    return index


getitem = Primitive("getitem", lambda x, index: x[index])
#: The adjoint of indexing: a zero array of ``shape`` with ``g`` added at ``index``.
scatter = Primitive("scatter", _scatter_impl)
defjvp(getitem, lambda ts, vals, out, k, index: ts[0][_tangent_index(index, k)])
defvjp(getitem, lambda g, i, vals, out, index: scatter(g, index=index, shape=shape_of(vals[0])))
defjvp(scatter, lambda ts, vals, out, k, index, shape: scatter(ts[0], index=_tangent_index(index, k),
                                                               shape=(*shape, *_ktail(k))))
defvjp(scatter, lambda g, i, vals, out, index, shape: getitem(g, index=index))


# ---------------------------------------------------------------------------------- reductions
sum = Primitive("sum", lambda x, axis, keepdims: np.sum(x, axis=axis, keepdims=keepdims))


def _jvp_sum(ts: list[Any], vals: list[Any], out: Any, k: int | None, axis: Any, keepdims: bool) -> Any:
    if k is not None:
        axis = normalize_axes(axis, len(shape_of(vals[0])))
    return np.sum(ts[0], axis=axis, keepdims=keepdims)


def _vjp_sum(g: Any, i: int, vals: list[Any], out: Any, axis: Any, keepdims: bool) -> Any:
    shape = shape_of(vals[0])
    if not keepdims:
        g = np.reshape(g, _keepdims_shape(shape, axis))
    return np.broadcast_to(g, shape)


defjvp(sum, _jvp_sum)
defvjp(sum, _vjp_sum)


def _extremum_weight(x: Any, axis: Any, reduce: Any) -> Any:
    """Where ``x`` attains its max / min along ``axis``; ties share the derivative equally."""
    hit = (x == reduce(x, axis=axis, keepdims=True)) * 1.0
    return hit / np.sum(hit, axis=axis, keepdims=True)


def _extremum(name: str, reduce: Any) -> Primitive:
    """``np.max`` / ``np.min`` over ``axis`` with its forward and reverse rule."""
    prim = Primitive(name, lambda x, axis, keepdims: reduce(x, axis=axis, keepdims=keepdims))

    def jvp(ts: list[Any], vals: list[Any], out: Any, k: int | None, axis: Any, keepdims: bool) -> Any:
        x = primal(vals[0])
        weight = _extremum_weight(x, axis, reduce)
        if k is not None:
            weight = weight[..., None] if weight.ndim else weight
            axis = normalize_axes(axis, x.ndim)
        return np.sum(ts[0] * weight, axis=axis, keepdims=keepdims)

    def vjp(g: Any, i: int, vals: list[Any], out: Any, axis: Any, keepdims: bool) -> Any:
        x = primal(vals[0])
        if not keepdims:
            g = np.reshape(g, _keepdims_shape(np.shape(x), axis))
        return g * _extremum_weight(x, axis, reduce)

    return defvjp(defjvp(prim, jvp), vjp)


amax = _extremum("amax", np.max)
amin = _extremum("amin", np.min)


# ---------------------------------------------------------------------------------- stack, concatenate
stack = Primitive("stack", lambda *xs, axis: np.stack(xs, axis=axis))
concatenate = Primitive("concatenate", lambda *xs, axis: np.concatenate(xs, axis=axis))


def _filled(ts: list[Any], vals: list[Any], k: int | None) -> list[Any]:
    return [_zero_tangent(v, k) if t is None else t for t, v in zip(ts, vals, strict=True)]


def _vjp_concatenate(g: Any, i: int, vals: list[Any], out: Any, axis: int) -> Any:
    axis = axis % len(shape_of(out))
    start = 0
    for v in vals[:i]:
        start += shape_of(v)[axis]
    return g[(slice(None),) * axis + (slice(start, start + shape_of(vals[i])[axis]),)]


defjvp(stack, lambda ts, vals, out, k, axis: np.stack(_filled(ts, vals, k), axis=axis % len(shape_of(out))))
defvjp(stack, lambda g, i, vals, out, axis: g[(slice(None),) * (axis % len(shape_of(out))) + (i,)])
defjvp(concatenate, lambda ts, vals, out, k, axis: np.concatenate(_filled(ts, vals, k),
                                                                  axis=axis % len(shape_of(out))))
defvjp(concatenate, _vjp_concatenate)


# ---------------------------------------------------------------------------------- matrix product
matmul = Primitive("matmul", np.matmul)


def _leading_tangent(t: Any, pad: int) -> Any:
    """Tangent axis first, then ``pad`` length-1 axes (so it sits left of the other operand's batch axes)."""
    t = np.moveaxis(t, -1, 0)
    if pad > 0:
        shape = shape_of(t)
        t = np.reshape(t, (shape[0], *([1] * pad), *shape[1:]))
    return t


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


def _vector_matrix(g: Any, a: Any) -> Any:
    """``g @ a`` for a vector ``g`` (n,) and a matrix ``a`` (n, d), the cotangent of ``w`` in ``X @ w``.

    On arrays, ``np.einsum`` streams through the row-major ``a`` once; BLAS's transposed matrix-vector product
    (what ``g @ a`` calls) is several times slower there (``bench_autodiff``: 13 ms against 2.6 ms at
    100,000 x 100). Tracers (a second differentiation) take ``@``.
    """
    if type(g) is np.ndarray and type(a) is np.ndarray and g.dtype == np.float64 and a.dtype == np.float64:
        return np.einsum("n,nd->d", g, a)
    return g @ a


def _vjp_matmul(g: Any, i: int, vals: list[Any], out: Any) -> Any:
    a, b = vals
    na, nb = len(shape_of(a)), len(shape_of(b))
    if i == 0:
        if na == 1 and nb == 1:
            r = g * b
        elif nb == 1:  # (..., m, n) @ (n,) -> (..., m)
            r = np.reshape(g, (*shape_of(g), 1)) * b
        elif na == 1:  # (n,) @ (..., n, p) -> (..., p)
            r = b @ g if nb == 2 else (b @ np.reshape(g, (*shape_of(g), 1)))[..., 0]
        else:
            r = g @ np.swapaxes(b, -1, -2)
        return unbroadcast(r, shape_of(a))
    if na == 1 and nb == 1:
        r = g * a
    elif na == 1:
        gshape = shape_of(g)
        r = np.reshape(a, (-1, 1)) * np.reshape(g, (*gshape[:-1], 1, gshape[-1]))
    elif nb == 1:
        r = _vector_matrix(g, a) if na == 2 else \
            (np.reshape(g, (*shape_of(g)[:-1], 1, shape_of(g)[-1])) @ a)[..., 0, :]
    else:
        r = np.swapaxes(a, -1, -2) @ g
    return unbroadcast(r, shape_of(b))


defjvp(matmul, _jvp_matmul)
defvjp(matmul, _vjp_matmul)

#: The structural NumPy ufunc (the elementwise ones are :data:`~.primitives.UFUNCS`).
UFUNCS: dict[np.ufunc, Primitive] = {np.matmul: matmul}
