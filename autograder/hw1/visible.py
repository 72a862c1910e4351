"""The visible tests of the HW1 notebook, replayed in the student's namespace.

In nbgrader's autograde a test cell whose visible asserts fail raises before its hidden region runs, and
nbgrader gives the cell 0 points. The hidden suite mirrors this: every hidden test of a grade cell first
requires that cell's visible tests to pass (see ``conftest.py``), so the grading engine and nbgrader agree.

``SOURCES`` holds, verbatim, the visible part (everything above ``### BEGIN HIDDEN TESTS``) of each test cell
of ``solutions/hw1/hw1.ipynb``; ``tests/test_hw1.py`` checks that both agree. The visible tests are public
(students see them), so running them with ``exec`` in (a copy of) the student's namespace reveals nothing.
"""

from __future__ import annotations

from typing import Any

from autograder.hw1.common import describe, describe_raised, run
from autograder.plain import StudentError

#: grade cell id -> the source of its visible tests.
SOURCES: dict[str, str] = {
    'test_dual_arithmetic': r'''
# Visible tests: Dual arithmetic (20 points)
x, y = Dual(2.0, 1.0), Dual(3.0, 0.5)
check_dual(x + y, 5.0, 1.5, "Dual(2, 1) + Dual(3, 0.5)")
check_dual(x - y, -1.0, 0.5, "Dual(2, 1) - Dual(3, 0.5)")
check_dual(x * y, 6.0, 4.0, "Dual(2, 1) * Dual(3, 0.5)  (product rule)")
check_dual(x / y, 2 / 3, 2 / 9, "Dual(2, 1) / Dual(3, 0.5)  (quotient rule)")
check_dual(-x, -2.0, -1.0, "-Dual(2, 1)")
check_dual(x + 1, 3.0, 1.0, "Dual(2, 1) + 1")
check_dual(1 + x, 3.0, 1.0, "1 + Dual(2, 1)  (a number on the left)")
check_dual(3 - x, 1.0, -1.0, "3 - Dual(2, 1)")
check_dual(2 * x, 4.0, 2.0, "2 * Dual(2, 1)")
check_dual(1 / x, 0.5, -0.25, "1 / Dual(2, 1)")
check_dual(x * x * x - 2 * x, 4.0, 10.0, "x*x*x - 2*x at x = Dual(2, 1)")
assert x < y and x <= 2.0 and y > x and 3.0 >= y and x == 2.0, \
    "comparisons should compare the values .val (and return True or False)"
print("Visible tests passed.")
''',
    'test_dual_pow': r'''
# Visible tests: powers (10 points)
x = Dual(2.0, 1.0)
check_dual(x ** 3, 8.0, 12.0, "Dual(2, 1) ** 3")
check_dual(x ** -1, 0.5, -0.25, "Dual(2, 1) ** -1")
check_dual(Dual(4.0, 1.0) ** 0.5, 2.0, 0.25, "Dual(4, 1) ** 0.5")
check_dual(x ** Dual(3.0, 0.0), 8.0, 12.0, "Dual(2, 1) ** Dual(3, 0)")
check_dual(x ** Dual(3.0, 0.5), 8.0, 8 * (0.5 * math.log(2) + 1.5), "Dual(2, 1) ** Dual(3, 0.5)")
check_dual(2 ** Dual(3.0, 1.0), 8.0, 8 * math.log(2), "2 ** Dual(3, 1)")
print("Visible tests passed.")
''',
    'test_elementary': r'''
# Visible tests: elementary functions (15 points)
a = Dual(0.5, 1.0)
check_number(sin(0.5), math.sin(0.5), "sin(0.5)")
check_number(log(2.0), math.log(2.0), "log(2.0)")
check_dual(sin(a), math.sin(0.5), math.cos(0.5), "sin(Dual(0.5, 1))")
check_dual(cos(a), math.cos(0.5), -math.sin(0.5), "cos(Dual(0.5, 1))")
check_dual(exp(Dual(1.0, 2.0)), math.e, 2 * math.e, "exp(Dual(1, 2))")
check_dual(log(Dual(2.0, 1.0)), math.log(2.0), 0.5, "log(Dual(2, 1))")
check_dual(sqrt(Dual(4.0, 1.0)), 2.0, 0.25, "sqrt(Dual(4, 1))")
check_dual(sin(exp(a)), math.sin(math.exp(0.5)), math.cos(math.exp(0.5)) * math.exp(0.5),
           "sin(exp(Dual(0.5, 1)))  (chain rule)")
print("Visible tests passed.")
''',
    'test_derivative_gradient': r'''
# Visible tests: derivative and gradient (15 points)
check_number(derivative(lambda x: x ** 3, 2.0), 12.0, "derivative(lambda x: x ** 3, 2.0)")
check_number(derivative(lambda x: exp(sin(x)), 0.0), 1.0, "derivative of exp(sin(x)) at 0")
check_number(derivative(lambda x: 5.0, 1.0), 0.0, "derivative of a constant function")
g = gradient(lambda x: x[0] ** 2 + x[1] ** 3, [1.0, 2.0])
assert isinstance(g, np.ndarray) and g.shape == (2,), \
    f"gradient should return a NumPy array of shape (2,), got {type(g).__name__} {g!r}"
assert np.allclose(g, [2.0, 12.0]), f"gradient of x0**2 + x1**3 at (1, 2): expected [2, 12], got {g}"
g = gradient(lambda x: sin(x[0]) + exp(x[2]), np.array([0.5, 1.0, 0.0]))
assert np.allclose(g, [math.cos(0.5), 0.0, 1.0]), \
    f"gradient of sin(x0) + exp(x2) at (0.5, 1, 0): expected [cos(0.5), 0, 1], got {g}"
print("Visible tests passed.")
''',
    'test_finite_differences': r'''
# Visible tests: finite differences (8 points)
def square(t):
    return t * t


check_number(forward_difference(square, 3.0, 0.5), 6.5, "forward_difference(t*t, 3.0, h=0.5)")
check_number(central_difference(square, 3.0, 0.5), 6.0, "central_difference(t*t, 3.0, h=0.5)")
check_number(forward_difference(math.exp, 0.0, 1e-6), 1.0, "forward_difference(exp, 0.0, h=1e-6)",
             rtol=1e-5)
check_number(central_difference(math.sin, 0.0, 1e-4), 1.0, "central_difference(sin, 0.0, h=1e-4)",
             rtol=1e-8)
print("Visible tests passed.")
''',
    'test_newton': r'''
# Visible tests: Newton's method (15 points)
check_number(newton(lambda x: x ** 2 - 2.0, 1.0), math.sqrt(2.0), "newton for x**2 - 2 from 1.0", rtol=1e-12)
check_number(newton(lambda x: cos(x) - x, 1.0), 0.7390851332151607, "newton for cos(x) - x from 1.0",
             rtol=1e-12)
try:
    newton(lambda x: x ** 2 + 1.0, 0.5)
except RuntimeError:
    pass
else:
    raise AssertionError("newton for x**2 + 1 (no real root) should raise RuntimeError")
print("Visible tests passed.")
''',
}


def expression(part: str) -> str:
    """The expression that runs the visible tests of ``part`` in a copy of the student's namespace."""
    return f"exec({SOURCES[part]!r}, dict(globals()))"


def failure(student: Any, part: str) -> str | None:
    """Why the visible tests of grade cell ``part`` fail for ``student`` (``None`` when they pass)."""
    try:
        out = run(student, expression(part))
    except StudentError as exc:
        return describe(exc)
    if out[0] == "value":
        return None
    if out[1] == "AssertionError":  # a visible assert: its own (public) message
        return out[2] or "a visible test fails"
    return describe_raised(out[1], out[2])
