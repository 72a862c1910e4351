"""The student's objects, operated on from the trusted side (:class:`Remote`).

A hidden test that needs the student's own objects (a ``Dual`` number, a class, a function that takes a
function) never runs in the student's process: it runs here, in the trusted grading process, and each
operation on a student's object is one request to the sandboxed worker (``x + y`` becomes ``apply add``,
``x.val`` becomes ``apply getattr``, ``Dual(2.0, 1.0)`` becomes ``apply call``). Results that are plain data
(numbers, arrays, tuples of them) come back as values; anything else stays in the worker behind a numbered
handle and comes back as another :class:`Remote`.

A trusted function handed to the student's code (``derivative(f, 2.0)``) reaches the worker as a stub: each
call of the stub is a call back to this process, where the function runs and where its calls are counted, so
nothing the student's code can reach (the stub's closure, the stack, the worker's memory) holds a count or a
verdict. What the student's code controls is exactly what it returns.
"""

from __future__ import annotations

import builtins
from typing import Any

from autograder.plain import StudentRaised


class Remote:
    """One object of the student's, living in the sandboxed worker of ``owner`` (a ``SandboxedStudent``)."""

    __slots__ = ("_key", "_owner")

    def __init__(self, owner: Any, key: int) -> None:
        object.__setattr__(self, "_owner", owner)
        object.__setattr__(self, "_key", key)

    def _apply(self, fn: str, *args: Any, **kwargs: Any) -> Any:
        return self._owner.remote_apply(fn, args, kwargs)

    # -- attributes and calls
    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        try:
            return self._apply("getattr", self, name)
        except StudentRaised as exc:
            if exc.type_name == "AttributeError":
                raise AttributeError(f"your object has no attribute {name!r}") from None
            raise

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("the hidden tests do not change your objects")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._apply("call", self, *args, **kwargs)

    def __repr__(self) -> str:
        return "<an object of your code>"

    __hash__ = object.__hash__

    # -- conversions (each must give the built-in type, as Python requires)
    def __bool__(self) -> bool:
        return _exact(self._apply("bool", self), bool)

    def __float__(self) -> float:
        return float(_exact(self._apply("float", self), float))

    def __int__(self) -> int:
        return _exact(self._apply("int", self), int)

    def __index__(self) -> int:
        return _exact(self._apply("index", self), int)

    def __complex__(self) -> complex:
        return _exact(self._apply("complex", self), complex)

    def __len__(self) -> int:
        return _exact(self._apply("len", self), int)

    def __iter__(self):
        return iter(_exact(self._apply("list", self), list))

    def __getitem__(self, key: Any) -> Any:
        return self._apply("getitem", self, key)

    def __contains__(self, item: Any) -> bool:
        return bool(self._apply("contains", self, item))


def _exact(value: Any, kind: type) -> Any:
    if kind is float and type(value) is int:
        return float(value)
    if type(value) is not kind:
        raise TypeError(f"your object converted to {kind.__name__} gave {type(value).__name__}")
    return value


def _binary(name: str):
    def forward(self: Remote, other: Any) -> Any:
        return self._apply(name, self, other)

    def reflected(self: Remote, other: Any) -> Any:
        return self._apply(name, other, self)

    return forward, reflected


for _name, _dunder in (("add", "add"), ("sub", "sub"), ("mul", "mul"), ("truediv", "truediv"),
                       ("floordiv", "floordiv"), ("mod", "mod"), ("pow", "pow"), ("matmul", "matmul"),
                       ("and_", "and"), ("or_", "or"), ("xor", "xor")):
    _forward, _reflected = _binary(_name)
    setattr(Remote, f"__{_dunder}__", _forward)
    setattr(Remote, f"__r{_dunder}__", _reflected)

for _name in ("lt", "le", "gt", "ge", "eq", "ne"):
    setattr(Remote, f"__{_name}__", _binary(_name)[0])

for _name in ("neg", "pos", "abs", "invert"):
    setattr(Remote, f"__{_name}__", (lambda op: lambda self: self._apply(op, self))(_name))


def remote_type(obj: Any, *rest: Any) -> Any:
    """``type(obj)`` that gives the student's class (as a :class:`Remote`) for a student's object."""
    if isinstance(obj, Remote) and not rest:
        return obj._apply("type", obj)
    return builtins.type(obj, *rest)
