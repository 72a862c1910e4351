"""Visible checks of hw1: generated from solutions/hw1/ by ``python -m mlcourse.checks``; do not edit."""
# ruff: noqa: E501

SOURCES = {
    'test_dual_arithmetic': '# Visible tests: Dual arithmetic (20 points)\nx, y = Dual(2.0, 1.0), Dual(3.0, 0.5)\ncheck_dual(x + y, 5.0, 1.5, "Dual(2, 1) + Dual(3, 0.5)")\ncheck_dual(x - y, -1.0, 0.5, "Dual(2, 1) - Dual(3, 0.5)")\ncheck_dual(x * y, 6.0, 4.0, "Dual(2, 1) * Dual(3, 0.5)  (product rule)")\ncheck_dual(x / y, 2 / 3, 2 / 9, "Dual(2, 1) / Dual(3, 0.5)  (quotient rule)")\ncheck_dual(-x, -2.0, -1.0, "-Dual(2, 1)")\ncheck_dual(x + 1, 3.0, 1.0, "Dual(2, 1) + 1")\ncheck_dual(1 + x, 3.0, 1.0, "1 + Dual(2, 1)  (a number on the left)")\ncheck_dual(3 - x, 1.0, -1.0, "3 - Dual(2, 1)")\ncheck_dual(2 * x, 4.0, 2.0, "2 * Dual(2, 1)")\ncheck_dual(1 / x, 0.5, -0.25, "1 / Dual(2, 1)")\ncheck_dual(x * x * x - 2 * x, 4.0, 10.0, "x*x*x - 2*x at x = Dual(2, 1)")\nassert x < y and x <= 2.0 and y > x and 3.0 >= y and x == 2.0, \\\n    "comparisons should compare the values .val (and return True or False)"\nprint("Visible tests passed.")\n',
    'test_dual_pow': '# Visible tests: powers (10 points)\nx = Dual(2.0, 1.0)\ncheck_dual(x ** 3, 8.0, 12.0, "Dual(2, 1) ** 3")\ncheck_dual(x ** -1, 0.5, -0.25, "Dual(2, 1) ** -1")\ncheck_dual(Dual(4.0, 1.0) ** 0.5, 2.0, 0.25, "Dual(4, 1) ** 0.5")\ncheck_dual(x ** Dual(3.0, 0.0), 8.0, 12.0, "Dual(2, 1) ** Dual(3, 0)")\ncheck_dual(x ** Dual(3.0, 0.5), 8.0, 8 * (0.5 * math.log(2) + 1.5), "Dual(2, 1) ** Dual(3, 0.5)")\ncheck_dual(2 ** Dual(3.0, 1.0), 8.0, 8 * math.log(2), "2 ** Dual(3, 1)")\nprint("Visible tests passed.")\n',
    'test_elementary': '# Visible tests: elementary functions (15 points)\na = Dual(0.5, 1.0)\ncheck_number(sin(0.5), math.sin(0.5), "sin(0.5)")\ncheck_number(log(2.0), math.log(2.0), "log(2.0)")\ncheck_dual(sin(a), math.sin(0.5), math.cos(0.5), "sin(Dual(0.5, 1))")\ncheck_dual(cos(a), math.cos(0.5), -math.sin(0.5), "cos(Dual(0.5, 1))")\ncheck_dual(exp(Dual(1.0, 2.0)), math.e, 2 * math.e, "exp(Dual(1, 2))")\ncheck_dual(log(Dual(2.0, 1.0)), math.log(2.0), 0.5, "log(Dual(2, 1))")\ncheck_dual(sqrt(Dual(4.0, 1.0)), 2.0, 0.25, "sqrt(Dual(4, 1))")\ncheck_dual(sin(exp(a)), math.sin(math.exp(0.5)), math.cos(math.exp(0.5)) * math.exp(0.5),\n           "sin(exp(Dual(0.5, 1)))  (chain rule)")\nprint("Visible tests passed.")\n',
    'test_derivative_gradient': '# Visible tests: derivative and gradient (15 points)\ncheck_number(derivative(lambda x: x ** 3, 2.0), 12.0, "derivative(lambda x: x ** 3, 2.0)")\ncheck_number(derivative(lambda x: exp(sin(x)), 0.0), 1.0, "derivative of exp(sin(x)) at 0")\ncheck_number(derivative(lambda x: 5.0, 1.0), 0.0, "derivative of a constant function")\ng = gradient(lambda x: x[0] ** 2 + x[1] ** 3, [1.0, 2.0])\nassert isinstance(g, np.ndarray) and g.shape == (2,), \\\n    f"gradient should return a NumPy array of shape (2,), got {type(g).__name__} {g!r}"\nassert np.allclose(g, [2.0, 12.0]), f"gradient of x0**2 + x1**3 at (1, 2): expected [2, 12], got {g}"\ng = gradient(lambda x: sin(x[0]) + exp(x[2]), np.array([0.5, 1.0, 0.0]))\nassert np.allclose(g, [math.cos(0.5), 0.0, 1.0]), \\\n    f"gradient of sin(x0) + exp(x2) at (0.5, 1, 0): expected [cos(0.5), 0, 1], got {g}"\nprint("Visible tests passed.")\n',
    'test_finite_differences': '# Visible tests: finite differences (8 points)\ndef square(t):\n    return t * t\n\n\ncheck_number(forward_difference(square, 3.0, 0.5), 6.5, "forward_difference(t*t, 3.0, h=0.5)")\ncheck_number(central_difference(square, 3.0, 0.5), 6.0, "central_difference(t*t, 3.0, h=0.5)")\ncheck_number(forward_difference(math.exp, 0.0, 1e-6), 1.0, "forward_difference(exp, 0.0, h=1e-6)",\n             rtol=1e-5)\ncheck_number(central_difference(math.sin, 0.0, 1e-4), 1.0, "central_difference(sin, 0.0, h=1e-4)",\n             rtol=1e-8)\nprint("Visible tests passed.")\n',
    'test_newton': '# Visible tests: Newton\'s method (15 points)\ncheck_number(newton(lambda x: x ** 2 - 2.0, 1.0), math.sqrt(2.0), "newton for x**2 - 2 from 1.0", rtol=1e-12)\ncheck_number(newton(lambda x: cos(x) - x, 1.0), 0.7390851332151607, "newton for cos(x) - x from 1.0",\n             rtol=1e-12)\ntry:\n    newton(lambda x: x ** 2 + 1.0, 0.5)\nexcept RuntimeError:\n    pass\nelse:\n    raise AssertionError("newton for x**2 + 1 (no real root) should raise RuntimeError")\nprint("Visible tests passed.")\n',
}

FUNCTIONS = {'Dual': ['test_dual_arithmetic', 'test_dual_pow'],
 'as_dual': ['test_dual_arithmetic', 'test_dual_pow'],
 'central_difference': ['test_finite_differences'],
 'cos': ['test_elementary'],
 'derivative': ['test_derivative_gradient'],
 'derivative_gradient': ['test_derivative_gradient'],
 'dual_arithmetic': ['test_dual_arithmetic'],
 'dual_class': ['test_dual_arithmetic', 'test_dual_pow'],
 'dual_pow': ['test_dual_pow'],
 'elementary': ['test_elementary'],
 'exp': ['test_elementary'],
 'finite_differences': ['test_finite_differences'],
 'forward_difference': ['test_finite_differences'],
 'forward_sweeps': ['test_derivative_gradient'],
 'gradient': ['test_derivative_gradient'],
 'log': ['test_elementary'],
 'newton': ['test_newton'],
 'sin': ['test_elementary'],
 'sqrt': ['test_elementary'],
 'test_derivative_gradient': ['test_derivative_gradient'],
 'test_dual_arithmetic': ['test_dual_arithmetic'],
 'test_dual_pow': ['test_dual_pow'],
 'test_elementary': ['test_elementary'],
 'test_finite_differences': ['test_finite_differences'],
 'test_newton': ['test_newton']}
