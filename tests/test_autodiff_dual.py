"""Forward mode: the Dual number of the autodiff homework, against closed-form derivatives."""

import math

import numpy as np
import pytest

from mlcourse.autodiff import (
    Dual,
    cos,
    derivative,
    exp,
    gradient,
    log,
    sigmoid,
    sin,
    sqrt,
    tan,
    tanh,
)


def close(dual, val, der):
    return dual.val == pytest.approx(val, rel=1e-14, abs=1e-15) and \
        np.allclose(dual.der, der, rtol=1e-14, atol=1e-15)


def test_constructor_defaults_and_attributes():
    x = Dual(3)
    assert (x.val, x.der) == (3.0, 0.0)
    assert isinstance(x.val, float) and isinstance(x.der, float)
    y = Dual(2.5, 1)
    assert (y.val, y.der) == (2.5, 1.0)


@pytest.mark.parametrize(("expr", "val", "der"), [
    (lambda x: x + 2.0, 5.0, 1.0),
    (lambda x: 2.0 + x, 5.0, 1.0),
    (lambda x: x - 2.0, 1.0, 1.0),
    (lambda x: 2.0 - x, -1.0, -1.0),
    (lambda x: 4.0 * x, 12.0, 4.0),
    (lambda x: x * 4, 12.0, 4.0),
    (lambda x: x / 4.0, 0.75, 0.25),
    (lambda x: 6.0 / x, 2.0, -6.0 / 9.0),
    (lambda x: -x, -3.0, -1.0),
    (lambda x: +x, 3.0, 1.0),
    (lambda x: x * x * x, 27.0, 27.0),
    (lambda x: x ** 3, 27.0, 27.0),
    (lambda x: x ** -1, 1.0 / 3.0, -1.0 / 9.0),
    (lambda x: x ** 0.5, math.sqrt(3.0), 0.5 / math.sqrt(3.0)),
    (lambda x: x ** 0, 1.0, 0.0),
    (lambda x: 2.0 ** x, 8.0, 8.0 * math.log(2.0)),
    (lambda x: 2 ** x, 8.0, 8.0 * math.log(2.0)),
    (lambda x: x ** x, 27.0, 27.0 * (math.log(3.0) + 1.0)),
    (lambda x: x ** Dual(2.0), 9.0, 6.0),
    (lambda x: abs(-x), 3.0, 1.0),
    (lambda x: abs(x - 5.0), 2.0, -1.0),
    (lambda x: (x * x + 1.0) / (x - 1.0), 5.0, (2 * 3.0 * 2.0 - 10.0) / 4.0),
])
def test_arithmetic_rules(expr, val, der):
    assert close(expr(Dual(3.0, 1.0)), val, der)


def test_two_duals_combine_both_tangents():
    x, y = Dual(3.0, 1.0), Dual(2.0, 0.5)
    assert close(x * y, 6.0, 1.0 * 2.0 + 3.0 * 0.5)
    assert close(x / y, 1.5, (1.0 * 2.0 - 3.0 * 0.5) / 4.0)
    assert close(x - y, 1.0, 0.5)
    assert close(x ** y, 9.0, 2.0 * 3.0 * 1.0 + 9.0 * math.log(3.0) * 0.5)


def test_numpy_scalars_on_either_side():
    x = Dual(3.0, 1.0)
    assert close(np.float64(2.0) * x, 6.0, 2.0)
    assert close(x + np.float64(2.0), 5.0, 1.0)
    assert close(np.float64(6.0) / x, 2.0, -6.0 / 9.0)


def test_comparisons_compare_values_only():
    x, y = Dual(2.0, 100.0), Dual(3.0, -100.0)
    assert x < y and y > x and x <= 2.0 and 2.0 >= x and x == 2.0 and x != y
    assert Dual(2.0, 1.0) == Dual(2.0, 5.0)
    assert not (x > 2.0)
    assert bool(Dual(0.0, 1.0)) is False


@pytest.mark.parametrize("divide", [lambda x: 1.0 / x, lambda x: Dual(1.0, 1.0) / x, lambda x: x / x,
                                    lambda x: Dual(1.0) / Dual(x.val), lambda x: Dual(2.0, 1.0) / 0.0,
                                    lambda x: Dual(2.0, 1.0) / np.float64(0.0)])
def test_division_by_zero_dual_raises(divide):
    with pytest.raises(ZeroDivisionError):
        divide(Dual(0.0, 1.0))


@pytest.mark.parametrize(("f", "df"), [
    (sin, math.cos), (cos, lambda x: -math.sin(x)), (tan, lambda x: 1.0 / math.cos(x) ** 2),
    (exp, math.exp), (log, lambda x: 1.0 / x), (sqrt, lambda x: 0.5 / math.sqrt(x)),
    (tanh, lambda x: 1.0 / math.cosh(x) ** 2),
    (sigmoid, lambda x: math.exp(-x) / (1.0 + math.exp(-x)) ** 2),
])
@pytest.mark.parametrize("x", [0.3, 1.7])
def test_elementary_functions_closed_forms(f, df, x):
    y = f(Dual(x, 1.0))
    assert y.val == pytest.approx(f(x), rel=1e-15)
    assert y.der == pytest.approx(df(x), rel=1e-13)
    assert isinstance(f(x), float)
    assert f(np.array([x, x])) == pytest.approx([f(x), f(x)], rel=1e-15)
    if f is not sigmoid:  # the same through NumPy's ufunc
        assert getattr(np, f.__name__)(Dual(x, 1.0)).der == pytest.approx(df(x), rel=1e-13)


def test_elementary_functions_scale_the_tangent():
    y = sin(Dual(0.5, 3.0))
    assert y.der == pytest.approx(3.0 * math.cos(0.5), rel=1e-15)


def test_sigmoid_does_not_overflow():
    assert sigmoid(-800.0) == 0.0 and sigmoid(800.0) == 1.0
    d = sigmoid(Dual(-40.0, 1.0))
    assert d.der == pytest.approx(math.exp(-40.0), rel=1e-12)


def test_chain_rule_example_of_the_lecture():
    # f(x1, x2) = x1 x2 + sin(x1) at (2, 5): df/dx1 = x2 + cos(x1), df/dx2 = x1
    f = lambda x1, x2: x1 * x2 + sin(x1)  # noqa: E731
    assert f(Dual(2.0, 1.0), Dual(5.0, 0.0)).der == pytest.approx(5.0 + math.cos(2.0), rel=1e-15)
    assert f(Dual(2.0, 0.0), Dual(5.0, 1.0)).der == pytest.approx(2.0, rel=1e-15)


def test_vector_of_tangents_gives_the_gradient_in_one_sweep():
    x1, x2 = Dual(2.0, [1.0, 0.0]), Dual(5.0, [0.0, 1.0])
    y = x1 * x2 + sin(x1) + x2 / x1
    np.testing.assert_allclose(y.der, [5.0 + math.cos(2.0) - 5.0 / 4.0, 2.0 + 0.5], rtol=1e-14)


def test_vector_tangents_with_arrays_keep_the_tangent_axis_last():
    x = Dual(np.array([1.0, 2.0, 3.0]), np.eye(3))  # 3 values, 3 directions: the Jacobian in one sweep
    y = np.sin(x) * np.array([[1.0], [2.0]])          # broadcast to (2, 3)
    assert y.der.shape == (2, 3, 3)
    expected = np.array([[1.0], [2.0]])[:, :, None] * np.diag(np.cos([1.0, 2.0, 3.0]))[None]
    np.testing.assert_allclose(y.der, expected, rtol=1e-15)


def test_mixing_different_numbers_of_directions_is_an_error():
    with pytest.raises(ValueError, match="tangent directions"):
        Dual(1.0, [1.0, 0.0]) * Dual(np.ones(2), np.ones(2))


def test_bad_tangent_shape_is_an_error():
    with pytest.raises(ValueError):
        Dual(np.ones(3), np.ones(2))


def test_dual_arrays_broadcast_and_work_with_numpy_ufuncs():
    x = Dual(np.array([0.0, 1.0, 2.0]), np.ones(3))
    y = np.exp(x) * np.ones((2, 3)) + x ** 2
    assert y.val.shape == y.der.shape == (2, 3)
    np.testing.assert_allclose(y.der, np.broadcast_to(np.exp([0.0, 1.0, 2.0]) + 2 * np.array([0, 1, 2.0]),
                                                      (2, 3)), rtol=1e-15)
    s = np.sum(x * x)
    assert close(s, 5.0, 6.0)
    assert close(x[1] * x[2], 2.0, 3.0)
    assert [d.val for d in x] == [0.0, 1.0, 2.0] and len(x) == 3


def test_object_arrays_of_duals_work_elementwise():
    xs = np.array([Dual(1.0, 1.0), Dual(2.0, 0.0)])
    ys = np.sin(xs) * Dual(3.0, 1.0)
    assert close(ys[0], 3 * math.sin(1.0), 3 * math.cos(1.0) + math.sin(1.0))
    assert close(np.sum(xs), 3.0, 1.0)


def test_derivative_is_one_forward_sweep():
    assert derivative(lambda x: x ** 3, 2.0) == pytest.approx(12.0)
    assert derivative(lambda x: exp(sin(x)) * log(x), 1.3) == pytest.approx(
        math.exp(math.sin(1.3)) * (math.cos(1.3) * math.log(1.3) + 1.0 / 1.3), rel=1e-14)
    assert derivative(lambda x: 7.0, 1.0) == 0.0
    assert isinstance(derivative(lambda x: x * x, 3), float)


def test_gradient_sweeps_each_coordinate():
    f = lambda x: x[0] * x[1] + sin(x[0]) + x[2] ** 2  # noqa: E731
    g = gradient(f, [2.0, 5.0, -1.0])
    assert isinstance(g, np.ndarray) and g.shape == (3,)
    np.testing.assert_allclose(g, [5.0 + math.cos(2.0), 2.0, -2.0], rtol=1e-15)
    np.testing.assert_allclose(gradient(lambda x: np.sum(x ** 2), np.arange(4.0)), 2 * np.arange(4.0))
    np.testing.assert_allclose(gradient(lambda x: sum(xi * xi for xi in x), np.arange(3.0)),
                               2 * np.arange(3.0))


def test_nested_derivatives_do_not_confuse_perturbations():
    # d/dx [x * d/dy (x + y)] = d/dx [x] = 1 (a naive nesting of duals gives 2)
    assert derivative(lambda x: x * derivative(lambda y: x + y, 1.0), 1.0) == pytest.approx(1.0)
    assert derivative(lambda x: derivative(lambda y: y ** 4, x), 2.0) == pytest.approx(48.0)


@pytest.mark.parametrize(("operation", "message"), [
    (lambda x: math.sin(x), "float"),
    (lambda x: float(x), "float"),
    (lambda x: np.arccosh(x), "arccosh"),
    (lambda x: np.hypot(x, x), "hypot"),
    (lambda x: np.allclose(x, 1.0), "allclose"),
    (lambda x: np.add.reduce(Dual(np.ones(2), np.ones(2))), "reduce"),
    (lambda x: np.add(np.ones(1), x, out=np.ones(1)), "in-place"),
    (lambda x: np.cumsum(Dual(np.ones(2), np.ones(2))), "cumsum"),
    (lambda x: x * 1j, "complex"),
])
def test_unsupported_operations_raise_type_error(operation, message):
    with pytest.raises(TypeError, match=message):
        operation(Dual(1.5, 1.0))


def test_in_place_update_of_an_array_with_a_dual_is_refused():
    a = np.ones(2)
    with pytest.raises(TypeError, match="in-place"):
        a += Dual(1.0, 1.0)
    np.testing.assert_array_equal(a, [1.0, 1.0])


def test_domain_errors_are_loud():
    with pytest.raises(ValueError):
        log(Dual(-1.0, 1.0))
    with pytest.raises(ValueError):
        Dual(-8.0, 1.0) ** (1.0 / 3.0)


def test_duals_built_inside_the_function_join_the_sweep():
    # the homework's self-contained style: f builds Dual(F(x.val), F'(x.val) * x.der) with the constructor
    def square(x):
        return Dual(x.val ** 2, 2.0 * x.val * x.der) if isinstance(x, Dual) else x ** 2

    assert derivative(square, 3.0) == 6.0
    np.testing.assert_array_equal(gradient(lambda v: square(v[0]) + 5.0 * square(v[1]), [3.0, 1.0]),
                                  [6.0, 10.0])
