"""Plain data: the only values that pass between a student's code and the trusted hidden tests.

Whatever a student's function returns is converted here before a test sees it: NumPy arrays become base-class
``ndarray`` copies with a numeric or boolean dtype (an ``ndarray`` subclass whose ``__eq__`` lies loses its
class), NumPy scalars become Python numbers, containers are converted item by item, and a dual number
(anything with numeric ``.val`` and ``.der``) becomes a :class:`DualValue`. Anything else is refused with a
:class:`StudentError` that says what came back.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import numpy as np

#: Largest array (in elements) accepted from student code; larger results are refused, not copied.
MAX_ELEMENTS = 20_000_000


class DualValue(NamedTuple):
    """A student's dual number as plain data: primal value and derivative (float or array)."""

    val: Any
    der: Any


class StudentError(Exception):
    """The student's code raised, was missing, or returned something that is not plain data.

    The message is written for the student and names the function involved.
    """


class StudentTimeout(StudentError):
    """A call into the student's code exceeded its time limit."""


def _array(obj: Any, where: str) -> np.ndarray:
    if obj.dtype.kind not in "biufc":
        raise StudentError(f"{where} returned an array of dtype {obj.dtype}; expected numbers")
    if obj.size > MAX_ELEMENTS:
        raise StudentError(f"{where} returned an array of {obj.size} elements, more than allowed")
    # np.array(..., subok=False) drops any ndarray subclass (and with it overridden __eq__ etc.).
    return np.array(obj, copy=True, subok=False)


def to_plain(obj: Any, where: str = "your function", _depth: int = 0) -> Any:
    """Convert a value returned by student code to plain data, or raise :class:`StudentError`.

    Parameters
    ----------
    obj : Any
        The value.
    where : str
        Names the function in error messages, e.g. ``"e_step"``.

    Returns
    -------
    Any
        ``None``, ``bool``, ``int``, ``float``, ``complex``, ``str``, ``ndarray``, :class:`DualValue`, or
        tuples, lists and dicts (string keys) of these.
    """
    if _depth > 20:
        raise StudentError(f"{where} returned a structure nested too deeply")
    if obj is None or type(obj) in (bool, int, float, complex, str):
        return obj
    if isinstance(obj, np.ndarray):
        return _array(obj, where)
    if isinstance(obj, np.generic):
        if obj.dtype.kind not in "biufc":
            raise StudentError(f"{where} returned a NumPy {obj.dtype} scalar; expected a number")
        return obj.item()
    if type(obj) in (tuple, list):
        if len(obj) > 10_000:
            raise StudentError(f"{where} returned a sequence of {len(obj)} items, more than allowed")
        items = [to_plain(x, where, _depth + 1) for x in obj]
        return tuple(items) if type(obj) is tuple else items
    if type(obj) is dict:
        out = {}
        for key, value in obj.items():
            if type(key) is not str:
                raise StudentError(f"{where} returned a dict with a non-string key {type(key).__name__}")
            out[key] = to_plain(value, where, _depth + 1)
        return out
    if _is_dual(obj):
        return DualValue(_number(obj.val, where, _depth), _number(obj.der, where, _depth))
    if isinstance(obj, (int, float)):  # subclasses of the built-in numbers: keep the number, drop the class
        return float(obj) if isinstance(obj, float) else int(obj)
    raise StudentError(f"{where} returned an object of type {type(obj).__name__}; "
                       "expected numbers, NumPy arrays, or tuples/lists/dicts of them")


def _is_dual(obj: Any) -> bool:
    try:
        return hasattr(obj, "val") and hasattr(obj, "der")
    except Exception:  # a property that raises is not a dual number
        return False


def _number(value: Any, where: str, depth: int) -> Any:
    plain = to_plain(value, where, depth + 1)
    if isinstance(plain, (bool, str)) or not isinstance(plain, (int, float, complex, np.ndarray)):
        raise StudentError(f"{where} returned a dual number whose parts are not numbers")
    return plain


def is_finite_number(x: Any) -> bool:
    """True for a real, finite int or float (not bool)."""
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)
