"""What forward-mode ``Dual`` numbers and reverse-mode ``Var`` nodes share.

Both are *tracers*: objects that stand in for a number or an array while a function runs, carry the primal
value in ``.val``, and turn every NumPy operation on them into a call of a :class:`~.primitives.Primitive`.
Each tracer belongs to a *level*; when tracers of different levels meet in one operation the highest level
is the outer differentiation and the others are treated as constants at that level. This is what makes
nested transforms (``jacfwd(grad(f))``, ``jacrev(grad(f))``, ``derivative`` of a ``derivative``) correct
instead of confusing one perturbation with another.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from . import numpy_support as NP
from . import primitives as P
from . import structural as S
from ._base import TracerBase, is_constant, primal, shape_of

#: NumPy ufuncs with a derivative rule, and the ones that are piecewise constant (derivative zero).
UFUNCS: dict[np.ufunc, P.Primitive] = {**P.UFUNCS, **S.UFUNCS}
NONDIFF_UFUNCS = P.NONDIFF_UFUNCS


class Tracer(TracerBase):
    """Base class of :class:`~.dual.Dual` and :class:`~.tape.Var`: NumPy protocol and Python operators.

    Subclasses provide ``_apply(prim, args, params)``, called on the tracer of the highest level among
    ``args``: it evaluates the primitive on the values and attaches the derivative information of that
    level (a tangent for ``Dual``, a tape node with VJPs for ``Var``). Tracers of lower levels and plain
    arrays are constants at that level.
    """

    __slots__ = ()

    # ------------------------------------------------------------------ array-like metadata
    @property
    def shape(self) -> tuple[int, ...]:
        """Shape of the primal value (``()`` for a scalar)."""
        return shape_of(self.val)

    @property
    def ndim(self) -> int:
        """Number of array dimensions of the primal value."""
        return len(shape_of(self.val))

    @property
    def size(self) -> int:
        """Number of elements of the primal value."""
        return int(np.prod(shape_of(self.val), dtype=np.int64))

    @property
    def T(self) -> Any:
        """Transposed array (reversed axes)."""
        return NP.transpose(self)

    def __len__(self) -> int:
        shape = shape_of(self.val)
        if not shape:
            raise TypeError(f"len() of a scalar {type(self).__name__}")
        return shape[0]

    def __iter__(self) -> Iterator[Any]:
        shape = shape_of(self.val)
        if not shape:
            raise TypeError(f"iteration over a scalar {type(self).__name__}")
        return (self[i] for i in range(shape[0]))

    def __bool__(self) -> bool:
        return bool(primal(self))

    def __getitem__(self, index: Any) -> Any:
        return S.getitem(self, index=_check_index(index))

    # ------------------------------------------------------------------ methods like ndarray's
    def sum(self, axis: Any = None, keepdims: bool = False) -> Any:
        """Sum of the elements over ``axis``."""
        return NP.sum(self, axis=axis, keepdims=keepdims)

    def mean(self, axis: Any = None, keepdims: bool = False) -> Any:
        """Arithmetic mean over ``axis``."""
        return NP.mean(self, axis=axis, keepdims=keepdims)

    def max(self, axis: Any = None, keepdims: bool = False) -> Any:
        """Largest element over ``axis`` (ties share the derivative)."""
        return NP.amax(self, axis=axis, keepdims=keepdims)

    def min(self, axis: Any = None, keepdims: bool = False) -> Any:
        """Smallest element over ``axis`` (ties share the derivative)."""
        return NP.amin(self, axis=axis, keepdims=keepdims)

    def reshape(self, *shape: Any) -> Any:
        """Same data, new shape (``-1`` allowed once)."""
        if len(shape) == 1 and isinstance(shape[0], tuple | list):
            shape = tuple(shape[0])
        return NP.reshape(self, shape)

    def transpose(self, *axes: Any) -> Any:
        """Permute the axes (reverse them by default)."""
        if len(axes) == 1 and (axes[0] is None or isinstance(axes[0], tuple | list)):
            axes = axes[0]
        return NP.transpose(self, axes or None)

    def ravel(self) -> Any:
        """Flattened to one dimension."""
        return NP.reshape(self, (-1,))

    flatten = ravel

    def squeeze(self, axis: Any = None) -> Any:
        """Remove axes of length one."""
        return NP.squeeze(self, axis)

    def dot(self, other: Any) -> Any:
        """``np.dot(self, other)``."""
        return NP.dot(self, other)

    # ------------------------------------------------------------------ Python operators
    def __add__(self, other: Any) -> Any:
        return _binary(P.add, self, other)

    def __radd__(self, other: Any) -> Any:
        return _binary(P.add, other, self)

    def __sub__(self, other: Any) -> Any:
        return _binary(P.subtract, self, other)

    def __rsub__(self, other: Any) -> Any:
        return _binary(P.subtract, other, self)

    def __mul__(self, other: Any) -> Any:
        return _binary(P.multiply, self, other)

    def __rmul__(self, other: Any) -> Any:
        return _binary(P.multiply, other, self)

    def __truediv__(self, other: Any) -> Any:
        return _binary(P.true_divide, self, other)

    def __rtruediv__(self, other: Any) -> Any:
        return _binary(P.true_divide, other, self)

    def __pow__(self, other: Any) -> Any:
        return _binary(P.power, self, other)

    def __rpow__(self, other: Any) -> Any:
        return _binary(P.power, other, self)

    def __matmul__(self, other: Any) -> Any:
        return _binary(S.matmul, self, other)

    def __rmatmul__(self, other: Any) -> Any:
        return _binary(S.matmul, other, self)

    def __neg__(self) -> Any:
        return P.negative(self)

    def __pos__(self) -> Any:
        return P.positive(self)

    def __abs__(self) -> Any:
        return P.absolute(self)

    # comparisons look at the primal value only (piecewise-constant results have derivative zero)
    def __lt__(self, other: Any) -> Any:
        return primal(self) < primal(other)

    def __le__(self, other: Any) -> Any:
        return primal(self) <= primal(other)

    def __gt__(self, other: Any) -> Any:
        return primal(self) > primal(other)

    def __ge__(self, other: Any) -> Any:
        return primal(self) >= primal(other)

    def __eq__(self, other: Any) -> Any:  # type: ignore[override]
        return primal(self) == primal(other)

    def __ne__(self, other: Any) -> Any:  # type: ignore[override]
        return primal(self) != primal(other)

    __hash__ = None  # type: ignore[assignment]  # equality compares values, so tracers are unhashable

    # operations that would silently drop the derivative are refused
    def __float__(self) -> float:
        raise TypeError(f"float() of a {type(self).__name__} would drop its derivative; use .val for the "
                        "value, and mlcourse.autodiff's or NumPy's functions instead of the math module")

    __int__ = __float__  # type: ignore[assignment]
    __complex__ = __float__  # type: ignore[assignment]

    # ------------------------------------------------------------------ NumPy protocols
    def __array_ufunc__(self, ufunc: np.ufunc, method: str, *inputs: Any, **kwargs: Any) -> Any:
        name = f"numpy.{ufunc.__name__}" + ("" if method == "__call__" else f".{method}")
        kind = type(self).__name__
        if method != "__call__":
            raise TypeError(f"{name} is not supported for {kind} (only plain ufunc calls are)")
        if kwargs.get("out") is not None:
            raise TypeError(f"{name}(..., out=...) (an in-place update) is not supported for {kind}")
        kwargs.pop("out", None)
        if kwargs.pop("dtype", None) not in (None, float, np.float64) or kwargs:
            raise TypeError(f"{name} with keyword arguments is not supported for {kind}")
        if any(isinstance(x, np.ndarray) and x.dtype == object for x in inputs):
            return _object_fallback(ufunc, inputs, name)
        prim = UFUNCS.get(ufunc)
        if prim is not None:
            return prim(*inputs)
        if ufunc in NONDIFF_UFUNCS:
            return ufunc(*(primal(x) for x in inputs))
        raise TypeError(f"{name} is not supported by mlcourse.autodiff ({kind}): no derivative rule")

    def __array_function__(self, func: Any, types: Any, args: Any, kwargs: Any) -> Any:
        handler = NP.FUNCTIONS.get(func)
        if handler is None:
            raise TypeError(f"numpy.{func.__name__} is not supported by mlcourse.autodiff "
                            f"({type(self).__name__})")
        return handler(*args, **kwargs)

    # elementwise methods, so that NumPy's object arrays of scalar tracers work too (np.sin(obj_array))
    def sin(self) -> Any:
        return P.sin(self)

    def cos(self) -> Any:
        return P.cos(self)

    def tan(self) -> Any:
        return P.tan(self)

    def exp(self) -> Any:
        return P.exp(self)

    def log(self) -> Any:
        return P.log(self)

    def sqrt(self) -> Any:
        return P.sqrt(self)

    def tanh(self) -> Any:
        return P.tanh(self)


def _check_index(index: Any) -> Any:
    items = index if isinstance(index, tuple) else (index,)
    for item in items:
        if isinstance(item, Tracer):
            raise TypeError(f"a {type(item).__name__} cannot be used as an index")
    return index


def _binary(prim: Any, a: Any, b: Any) -> Any:
    for x in (a, b):
        if not isinstance(x, Tracer) and not is_constant(x):
            return NotImplemented
    # NumPy scalars behave like Python floats (e.g. division by a zero scalar raises ZeroDivisionError)
    if isinstance(a, np.generic):
        a = float(a)
    if isinstance(b, np.generic):
        b = float(b)
    return prim(a, b)


def _object_fallback(ufunc: np.ufunc, inputs: Any, name: str) -> Any:
    """NumPy object arrays of scalar tracers: let NumPy's object loop call the Python operators."""
    wrapped = []
    for x in inputs:
        if isinstance(x, Tracer):
            if x.ndim:
                raise TypeError(f"{name} mixes an array-valued {type(x).__name__} with an object array; "
                                "use one array-valued tracer (np.stack) instead")
            box = np.empty((), dtype=object)
            box[()] = x
            x = box
        wrapped.append(x)
    return ufunc(*wrapped)
