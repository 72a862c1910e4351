"""What the HW1 hidden tests share (trusted side only).

Every check is an **expression string** built here and evaluated here, in the trusted process, by
:func:`autograder.harness.evaluate`: its free names are the student's objects (kept in the sandboxed worker
and operated on from here), its built-ins are the trusted ones, and the functions it hands to the student's
code (lambdas) run here when the student's code calls them, so their call logs live here too. The result
comes back as plain data (a float, a bool, an array, or an :class:`~autograder.plain.DualValue`). Expected
values are computed here with :mod:`mlcourse.autodiff` (and closed forms).

Two kinds of expressions keep a bug in one part from costing points in another:

* ``Dual`` arithmetic and powers are only used by the tests of part 1;
* the functions handed to ``derivative``, ``gradient`` and ``newton`` are *self-contained*: they apply the
  chain rule themselves (``type(x)(F(x.val), F'(x.val) * x.der)``) and use only the student's ``Dual``
  constructor, ``.val`` and ``.der`` — so those tests judge the seeding, the sweeps and the iteration, not the
  student's arithmetic. They record how they were called, and stop a run-away loop after a budget of
  evaluations.

Messages: :func:`evaluate` turns an exception of the student's code into an ``AssertionError`` that names the
check in words and the (built-in class of the) exception the student's code raised, never the expression
(test code) or an expected value.
"""

from __future__ import annotations

import math
import random
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from autograder import harness
from autograder.plain import DualValue, StudentError, StudentRaised, StudentTimeout
from mlcourse import autodiff as ad

#: Agreement with the reference (values of moderate size, a few operations deep).
RTOL, ATOL = 1e-9, 1e-12

#: Binds ``m`` to the math module inside an expression: ``with_math("m.sin(1.0)")``.
MATH = '__import__("math")'


def rng(seed: int) -> random.Random:
    """The generator every hidden input comes from (offset so it never equals a student's own seed)."""
    return random.Random(10_110 + seed)


def num(x: float) -> str:
    """A float as source text that evaluates to exactly the same float."""
    return repr(float(x))


def dual_src(val: float, der: float) -> str:
    return f"Dual({num(val)}, {num(der)})"


# --------------------------------------------------------------------------------------- student errors
def describe_raised(name: str, text: str) -> str:
    """A student-facing account of an exception raised by the student's code."""
    if name == "NotImplementedError":
        return "not implemented yet (your code raises NotImplementedError)"
    if name == "StudentTimeout":  # the in-process time limit fired inside the guard
        return "your code did not finish within the time limit (an endless loop?)"
    if name == "RecursionError":
        return "your code raised RecursionError (infinite recursion?)"
    return f"your code raised {name}" + (f" ({text})" if text else "")


def describe(exc: StudentError) -> str:
    """A student-facing account of a :class:`StudentError` from a guarded check (a time limit, a result that
    is not plain data, ...) without the expression that caused it (test code)."""
    if isinstance(exc, StudentTimeout):
        return "your code did not finish within the time limit (an endless loop?)"
    text = (str(exc).strip().splitlines() or [""])[0]
    for pattern in (r"\b(returned .+)", r"\b(ran out of memory.*)", r"\b(called exit\(\).*)"):
        match = re.search(pattern, text)
        if match:
            return f"your code {match.group(1)}"
    return "your code failed (it returned something that is not a number, a NumPy array or a Dual)"


def explain(exc: StudentError) -> str:
    """The visible-test gate's account of an exception from the student's code (``autograder.visible``)."""
    return describe_raised(exc.type_name, exc.text) if isinstance(exc, StudentRaised) else describe(exc)


def run(student: Any, expr: str) -> tuple:
    """Evaluate ``expr`` here, in the trusted process, on the student's objects
    (:func:`autograder.harness.evaluate`): ``("value", v)`` or ``("raised", type name, text)``.

    Raises :class:`StudentError` for time limits, crashes and results that are not plain data."""
    try:
        return ("value", harness.evaluate(student, expr))
    except StudentRaised as exc:
        return ("raised", exc.type_name, exc.text)


def evaluate(student: Any, expr: str, what: str) -> Any:
    """The value of ``expr`` in the student's namespace; any failure becomes an ``AssertionError`` whose
    message starts with ``what``."""
    try:
        out = run(student, expr)
    except StudentError as exc:
        raise AssertionError(f"{what}: {describe(exc)}") from None
    if out[0] == "raised":
        raise AssertionError(f"{what}: {describe_raised(out[1], out[2])}")
    return out[1]


def expect_raises(student: Any, expr: str, exc_name: str, what: str) -> None:
    """Evaluating ``expr`` must raise exactly ``exc_name`` inside the student's code."""
    try:
        out = run(student, expr)
    except StudentError as exc:
        raise AssertionError(f"{what}: should raise {exc_name}, but {describe(exc)}") from None
    if out[0] == "value":
        raise AssertionError(f"{what}: should raise {exc_name}, but it returned a result")
    if out[1] != exc_name:
        raise AssertionError(f"{what}: should raise {exc_name}, but {describe_raised(out[1], out[2])}")


def type_name(x: Any) -> str:
    if isinstance(x, DualValue):
        return "a Dual"
    if isinstance(x, np.ndarray):
        return f"a NumPy array of shape {x.shape}"
    if x is None:
        return "None"
    name = type(x).__name__
    return f"{'an' if name[:1].lower() in 'aeiou' else 'a'} {name}"


def is_real(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def close(got: Any, want: float, rtol: float = RTOL, atol: float = ATOL) -> bool:
    return is_real(got) and math.isclose(got, want, rel_tol=rtol, abs_tol=atol)


def expect_number(got: Any, want: float, what: str, rtol: float = RTOL, atol: float = ATOL) -> None:
    assert is_real(got), f"{what}: should be a number, but it is {type_name(got)}"
    assert math.isfinite(got) or not math.isfinite(want), f"{what}: the result is {got} (not finite)"
    assert close(got, want, rtol, atol), f"{what}: the result is wrong"


def expect_dual(got: Any, want: Any, what: str, rtol: float = RTOL, atol: float = ATOL) -> None:
    """``got`` is a Dual (plain :class:`DualValue`) agreeing with the reference dual ``want``."""
    assert isinstance(got, DualValue), f"{what}: should be a Dual, but it is {type_name(got)}"
    assert is_real(got.val) and is_real(got.der), f"{what}: .val and .der should be floats"
    assert close(got.val, float(want.val), rtol, atol), f"{what}: the value .val is wrong"
    assert close(got.der, float(want.der), rtol, atol), f"{what}: the derivative .der is wrong"


def expect_duals(got: Any, want: Sequence[Any], what: str, rtol: float = RTOL, atol: float = ATOL) -> None:
    """A tuple of Duals, each agreeing with the reference; the message counts the wrong ones."""
    assert isinstance(got, tuple) and len(got) == len(want), f"{what}: unexpected result"
    wrong_type = sum(not isinstance(g, DualValue) for g in got)
    assert not wrong_type, f"{what}: {wrong_type} of {len(want)} results are not Duals"
    bad_val = sum(not close(g.val, float(w.val), rtol, atol) for g, w in zip(got, want, strict=True))
    bad_der = sum(not close(g.der, float(w.der), rtol, atol) for g, w in zip(got, want, strict=True))
    assert not bad_val, f"{what}: the value .val is wrong in {bad_val} of {len(want)} cases"
    assert not bad_der, f"{what}: the derivative .der is wrong in {bad_der} of {len(want)} cases"


def reference_eval(expr: str) -> Any:
    """Evaluate a check's expression with the reference implementation (trusted)."""
    namespace = {"__builtins__": __builtins__, "Dual": ad.Dual, "sin": ad.sin, "cos": ad.cos, "exp": ad.exp,
                 "log": ad.log, "sqrt": ad.sqrt, "derivative": ad.derivative, "gradient": ad.gradient,
                 "newton": ad.newton, "forward_difference": ad.forward_difference,
                 "central_difference": ad.central_difference}
    return eval(compile(expr, "<reference>", "eval"), namespace)


# ------------------------------------------------------------------------------ self-contained functions
@dataclass(frozen=True)
class Prim:
    """A scalar function given by source text of its value and derivative in ``t`` (``m`` is math), and
    the same function written with the reference library (for expected values)."""

    name: str
    value: str
    deriv: str
    ref: Callable[[Any], Any]

    def source(self) -> str:
        """A one-argument lambda: on a Dual it returns ``Dual(F(x.val), F'(x.val) * x.der)`` built with the
        argument's own type, on a float ``F(x)``. Needs ``m`` (math) in scope."""
        F, dF = f"(lambda t: {self.value})", f"(lambda t: {self.deriv})"
        return (f"(lambda x: type(x)({F}(x.val), {dF}(x.val) * x.der) "
                f"if hasattr(x, 'der') else {F}(x))")


def affine(a: float, b: float) -> Prim:
    return Prim(f"affine({a}, {b})", f"{num(a)} * t + {num(b)}", num(a), lambda x: a * x + b)


PRIMS: tuple[Prim, ...] = (
    Prim("sin", "m.sin(t)", "m.cos(t)", ad.sin),
    Prim("cos", "m.cos(t)", "-m.sin(t)", ad.cos),
    Prim("exp", "m.exp(t)", "m.exp(t)", ad.exp),
    Prim("tanh", "m.tanh(t)", "1.0 - m.tanh(t) ** 2", ad.tanh),
    Prim("cube", "t * t * t", "3.0 * t * t", lambda x: x * x * x),
    Prim("log(1+t^2)", "m.log(1.0 + t * t)", "2.0 * t / (1.0 + t * t)", lambda x: ad.log(1.0 + x * x)),
    Prim("sqrt(1+t^2)", "m.sqrt(1.0 + t * t)", "t / m.sqrt(1.0 + t * t)", lambda x: ad.sqrt(1.0 + x * x)),
    Prim("1/(1+t^2)", "1.0 / (1.0 + t * t)", "-2.0 * t / (1.0 + t * t) ** 2", lambda x: 1.0 / (1.0 + x * x)),
)


def compose(prims: Sequence[Prim]) -> tuple[str, Callable[[Any], Any]]:
    """``f = prims[0] ∘ prims[1] ∘ ...`` as lambda source (needs ``m``) and as a reference function."""
    body = "x"
    for p in reversed(prims):
        body = f"{p.source()}({body})"

    def ref(x: Any) -> Any:
        for p in reversed(prims):
            x = p.ref(x)
        return x

    return f"(lambda x: {body})", ref


def random_composition(gen: random.Random, depth: int) -> tuple[str, Callable[[Any], Any]]:
    """A random composition of ``depth`` primitives, each squeezed by a random affine map (keeps
    arguments moderate, so every composition is smooth and well scaled)."""
    chain: list[Prim] = []
    for _ in range(depth):
        chain.append(gen.choice(PRIMS))
        chain.append(affine(round(gen.uniform(-1.5, 1.5), 3) or 0.5, round(gen.uniform(-1.0, 1.0), 3)))
    return compose(chain)


def random_field(gen: random.Random, n: int) -> tuple[str, object]:
    """A random F: R^n -> R, a sum of terms c * G(x_i) * H(x_j), as a self-contained lambda over a sequence
    (needs ``m``) and as a reference function of an array."""
    terms = []
    for _ in range(n + 1):
        terms.append((round(gen.uniform(-2.0, 2.0), 3) or 1.0, gen.randrange(n), gen.randrange(n),
                      gen.choice(PRIMS), gen.choice(PRIMS)))
    value = " + ".join(f"{num(c)} * (lambda t: {G.value})(u[{i}]) * (lambda t: {H.value})(u[{j}])"
                       for c, i, j, G, H in terms)
    partials = []
    for k in range(n):
        parts = []
        for c, i, j, G, H in terms:
            if i == k:
                parts.append(f"{num(c)} * (lambda t: {G.deriv})(u[{i}]) * (lambda t: {H.value})(u[{j}])")
            if j == k:
                parts.append(f"{num(c)} * (lambda t: {G.value})(u[{i}]) * (lambda t: {H.deriv})(u[{j}])")
        partials.append(" + ".join(parts) or "0.0")
    F, dF = f"(lambda u: {value})", f"(lambda u: [{', '.join(partials)}])"
    # f(v): v is a sequence of Duals and/or floats; builds the result with the type of the Duals it got.
    source = (f"(lambda v: (lambda u, d, duals: type(duals[0])({F}(u), "
              f"sum(g * e for g, e in zip({dF}(u), d))) "
              f"if duals else {F}(u))([float(getattr(e, 'val', e)) for e in v], "
              f"[float(getattr(e, 'der', 0.0)) for e in v], [e for e in v if hasattr(e, 'der')]))")

    def ref(x):
        total = 0.0
        for c, i, j, G, H in terms:
            total = total + c * G.ref(x[i]) * H.ref(x[j])
        return total

    return source, ref


def with_math(expr: str) -> str:
    """``expr`` with ``m`` bound to the math module."""
    return f"(lambda m: {expr})({MATH})"


#: Evaluations after which a recorded function stops a run-away loop (raises OverflowError).
BUDGET = 400


def recorded(fn_src: str, log: str = "calls") -> str:
    """``fn_src`` (a one-argument lambda) wrapped to append ``(is_dual, val, der)`` of every argument to the
    list named ``log``, and to raise ``OverflowError`` once it has been called more than :data:`BUDGET`
    times."""
    stop = (f"(_ for _ in ()).throw(OverflowError('f was evaluated more than {BUDGET} times "
            "(an endless loop?)'))")
    entry = "(hasattr(x, 'der'), float(getattr(x, 'val', x)), float(getattr(x, 'der', 0.0)))"
    return f"(lambda x: {log}.append({entry}) or ({fn_src}(x) if len({log}) <= {BUDGET} else {stop}))"


def recording(expr: str, log: str = "calls") -> str:
    """``(expr, calls)``: evaluate ``expr`` (which may use :func:`recorded` functions) and return the log."""
    return f"(lambda {log}: ({expr}, {log}))([])"
