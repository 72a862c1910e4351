"""The ground floor of the package: values, trace levels, and what a primitive needs to know of a tracer.

A *tracer* (:class:`~.dual.Dual`, :class:`~.tape.Var`) stands in for a number or an array while a function
runs; it carries the primal value in ``.val`` and belongs to a *level*. :class:`TracerBase` is all that
:class:`~.primitives.Primitive` needs to see (``_level``, ``val``, ``_apply``); the operators and the NumPy
protocols are added by :class:`~._tracer.Tracer`, which sits above the primitives. Nothing here imports the
rest of the package.
"""

from __future__ import annotations

import itertools
import numbers
from typing import Any

import numpy as np

_LEVELS = itertools.count(1)


def new_level() -> int:
    """A fresh trace level, higher than every level handed out before."""
    return next(_LEVELS)


def shape_of(x: Any) -> tuple[int, ...]:
    """Shape of an array, a tracer or a number (``()``)."""
    if type(x) is float:
        return ()
    return getattr(x, "shape", ())


def primal(x: Any) -> Any:
    """The plain value under any number of tracer layers."""
    while isinstance(x, TracerBase):
        x = x.val
    return x


def is_constant(x: Any) -> bool:
    """Whether ``x`` may take part in an operation with a tracer as a (real) constant."""
    if isinstance(x, np.ndarray):
        return x.dtype.kind in "biuf"
    if isinstance(x, np.generic):
        return x.dtype.kind in "biuf"
    return isinstance(x, numbers.Real)


def as_value(x: Any) -> Any:
    """Normalise an input to a float, a float64 array, or a tracer (left alone)."""
    if isinstance(x, TracerBase):
        return x
    if isinstance(x, bool | int | float | np.integer | np.floating | np.bool_):
        return float(x)
    arr = np.asarray(x)
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"mlcourse.autodiff works on real numbers; got {type(x).__name__} "
                        f"of dtype {arr.dtype}")
    if arr.ndim == 0:
        return float(arr)
    return arr.astype(np.float64, copy=False)


def unbroadcast(g: Any, shape: tuple[int, ...]) -> Any:
    """Sum a cotangent over the axes that broadcasting added, so that it gets ``shape`` back."""
    gshape = shape_of(g)
    if gshape == shape:
        return g
    lead = len(gshape) - len(shape)
    if lead >= 0:
        axes = tuple(range(lead)) + tuple(lead + i for i, n in enumerate(shape)
                                          if n == 1 and gshape[lead + i] != 1)
        if axes:
            g = np.sum(g, axis=axes, keepdims=False)
            if shape_of(g) != shape:
                g = np.reshape(g, shape)
            return g
    return np.broadcast_to(g, shape)


def normalize_axes(axis: Any, ndim: int) -> tuple[int, ...]:
    """``axis`` (None, int or tuple, possibly negative) as a tuple of non-negative ints."""
    if axis is None:
        return tuple(range(ndim))
    if isinstance(axis, tuple | list):
        return tuple(int(a) % ndim if ndim else int(a) for a in axis)
    return (int(axis) % ndim if ndim else int(axis),)


class TracerBase:
    """A value being traced: its primal value ``val`` and its trace ``_level``.

    Subclasses provide ``_apply(prim, args, params)``, called by a :class:`~.primitives.Primitive` on the
    tracer of the highest level among its arguments: it evaluates the primitive on the values and attaches the
    derivative information of that level (a tangent for ``Dual``, a tape node for ``Var``), using the rules
    registered on the primitive. Tracers of lower levels and plain arrays are constants at that level.
    """

    __slots__ = ("_level", "val")
    val: Any
    _level: int

    def _apply(self, prim: Any, args: tuple[Any, ...], params: dict[str, Any]) -> Any:
        raise NotImplementedError
