"""Plain data: the only values that pass between a student's code and the trusted hidden tests.

Whatever a student's function returns is converted here before a test sees it: NumPy arrays become base-class
``ndarray`` copies with a numeric or boolean dtype (an ``ndarray`` subclass whose ``__eq__`` lies loses its
class), NumPy scalars become Python numbers, containers are converted item by item, and a dual number
(anything with numeric ``.val`` and ``.der``) becomes a :class:`DualValue`. Anything else is refused with a
:class:`StudentError` that says what came back.
"""

from __future__ import annotations

import builtins
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


class StudentMutation(StudentError):
    """The student's function changed one of its (read-only) array arguments in place."""


class StudentRaised(StudentError):
    """The student's code raised an exception; ``type_name`` is the nearest built-in exception class.

    Raised on the trusted side for an operation on the student's objects (see
    :mod:`autograder.engine.remote`): ``type_name`` and ``text`` describe the exception, never the test code
    that triggered it.
    """

    def __init__(self, message: str, type_name: str = "Exception", text: str = "") -> None:
        super().__init__(message)
        self.type_name, self.text = type_name, text


_RAISED: dict[str, type] = {}


def student_raised(message: str, type_name: str, text: str = "") -> StudentRaised:
    """A :class:`StudentRaised` that is also an instance of the built-in exception ``type_name`` (when it is
    one), so that trusted code written as ``try: ... except RuntimeError:`` sees the student's exception as
    it would in plain Python."""
    kind = _RAISED.get(type_name)
    if kind is None:
        base = getattr(builtins, type_name, None)
        kind = StudentRaised
        if isinstance(base, type) and issubclass(base, Exception) and base is not Exception:
            try:
                kind = type(f"StudentRaised[{type_name}]", (StudentRaised, base), {})
            except TypeError:  # a built-in whose layout cannot be combined (OSError): plain StudentRaised
                kind = StudentRaised
        _RAISED[type_name] = kind
    return kind(message, type_name, text)


def builtin_name(exc: BaseException) -> str:
    """The name of the nearest built-in exception class of ``exc`` (a student's class never names itself)."""
    try:
        for cls in type.__getattribute__(type(exc), "__mro__"):
            if isinstance(cls, type) and cls.__module__ == "builtins" and issubclass(cls, BaseException):
                return cls.__name__
    except Exception:
        pass
    return "Exception"


def mutation_message(where: str) -> str:
    """The student-facing text for a function that wrote into one of its read-only array arguments (the
    same text as the students' ``check()``)."""
    from mlcourse.check import changed_input_message

    return changed_input_message(where)


def timeout_message(what: str, cpu: float) -> str:
    """The student-facing text for a call stopped at its time limit: the same whichever clock stopped it (the
    worker's CPU timer, or the grader's wall-clock backstop on a loaded machine), so regrades agree."""
    return f"{what} did not finish within its time limit ({cpu:g} s of CPU time) and was stopped"


def is_readonly_write(exc: BaseException) -> bool:
    """Whether ``exc`` is NumPy's refusal to write into a read-only array (an in-place change of an input)."""
    if type(exc) is not ValueError:
        return False
    try:
        text = str(exc)
    except Exception:
        return False
    return "read-only" in text or "WRITEABLE" in text


def readonly(value: Any) -> Any:
    """``value`` with every array replaced by a read-only copy whose buffer cannot be made writeable again.

    The copy's memory belongs to an immutable ``bytes`` object, so ``a.flags.writeable = True`` raises: an
    in-place write by the student's function fails inside that function (:func:`is_readonly_write`), which
    makes changing an input impossible rather than something the student's process reports.
    """
    if isinstance(value, np.ndarray) and type(value) is np.ndarray and value.dtype.kind in "biufc":
        frozen = np.frombuffer(np.ascontiguousarray(value).tobytes(), dtype=value.dtype)
        return frozen.reshape(value.shape)
    if type(value) is tuple:
        return tuple(readonly(v) for v in value)
    if type(value) is list:
        return [readonly(v) for v in value]
    if type(value) is dict:
        return {k: readonly(v) for k, v in value.items()}
    return value


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
    kind = type(obj)
    if obj is None or kind in (bool, float, complex, str):
        return obj
    if kind is int:
        return _int(obj)
    if isinstance(obj, np.ndarray):
        return _array(obj, where)
    if isinstance(obj, np.generic):
        if obj.dtype.kind not in "biufc":
            raise StudentError(f"{where} returned a NumPy {obj.dtype} scalar; expected a number")
        return to_plain(obj.item(), where, _depth + 1)
    if kind in (tuple, list):
        return _sequence(obj, kind is tuple, where, _depth)
    if kind is dict:
        return _mapping(obj, where, _depth)
    if _is_dual(obj):
        return DualValue(_number(obj.val, where, _depth), _number(obj.der, where, _depth))
    # Subclasses of the built-in containers and numbers (a namedtuple, an OrderedDict, an IntEnum) cross as
    # their plain values, read through the base classes' own methods (never the subclass's overrides).
    if isinstance(obj, int):
        return _int(int.__int__(obj))
    if isinstance(obj, float):
        return float.__float__(obj)
    if isinstance(obj, complex):
        return complex(complex.__getattribute__(obj, "real"), complex.__getattribute__(obj, "imag"))
    if isinstance(obj, tuple):
        return _sequence(tuple(tuple.__iter__(obj)), True, where, _depth)
    if isinstance(obj, list):
        return _sequence(list(list.__iter__(obj)), False, where, _depth)
    if isinstance(obj, dict):
        return _mapping(dict(dict.items(obj)), where, _depth)
    raise StudentError(f"{where} returned an object of type {type(obj).__name__}; "
                       "expected numbers, NumPy arrays, or tuples/lists/dicts of them")


def _int(value: int) -> int | float:
    """An int as plain data; one too large for a 64-bit number becomes a float (inf if it overflows)."""
    if -(2**63) <= value < 2**63:
        return value
    try:
        return float(value)
    except OverflowError:
        return math.inf if value > 0 else -math.inf


def _sequence(items: Any, as_tuple: bool, where: str, depth: int) -> tuple | list:
    if len(items) > 10_000:
        raise StudentError(f"{where} returned a sequence of {len(items)} items, more than allowed")
    out = [to_plain(x, where, depth + 1) for x in items]
    return tuple(out) if as_tuple else out


def _mapping(obj: dict, where: str, depth: int) -> dict:
    if len(obj) > 10_000:
        raise StudentError(f"{where} returned a dict of {len(obj)} items, more than allowed")
    out = {}
    for key, value in dict.items(obj):
        if type(key) is not str:
            if not isinstance(key, str):
                raise StudentError(f"{where} returned a dict with a non-string key {type(key).__name__}")
            key = str.__str__(key)
        out[key] = to_plain(value, where, depth + 1)
    return out


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
