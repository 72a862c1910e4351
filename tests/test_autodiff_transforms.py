"""JAX-style transforms: signatures, shapes, argnums, errors, and agreement of the three derivative routes."""

import math

import numpy as np
import pytest

from mlcourse.autodiff import (
    complex_step,
    derivative,
    exp,
    grad,
    hessian,
    jacfwd,
    jacrev,
    jvp,
    log,
    sin,
    sqrt,
    tanh,
    value_and_grad,
    vjp,
)

RNG = np.random.default_rng(2024)
A = RNG.standard_normal((3, 3))
B = RNG.standard_normal(3)


def quadratic(x):
    return 0.5 * x @ A @ x + B @ x


def test_grad_of_a_quadratic_form_is_closed_form():
    x = RNG.standard_normal(3)
    np.testing.assert_allclose(grad(quadratic)(x), 0.5 * (A + A.T) @ x + B, rtol=1e-13)


def test_hessian_of_a_quadratic_form_is_its_symmetric_part():
    H = hessian(quadratic)(RNG.standard_normal(3))
    np.testing.assert_allclose(H, 0.5 * (A + A.T), rtol=1e-13, atol=1e-15)


def test_grad_returns_float_for_scalar_and_fresh_array_for_array_input():
    g = grad(lambda x: x ** 3)(2.0)
    assert isinstance(g, float) and g == pytest.approx(12.0)
    x = np.arange(3.0)
    gx = grad(lambda v: np.mean(v))(x)  # the backward pass broadcasts a view; the result must be writable
    assert gx.dtype == np.float64 and gx.shape == (3,) and gx.flags.writeable
    gx[0] = 99.0
    np.testing.assert_allclose(grad(lambda v: np.mean(v))(x), np.full(3, 1.0 / 3.0))
    assert grad(lambda v: v * v)(3) == pytest.approx(6.0)  # integer input: float64 throughout


def test_grad_argnums_and_kwargs():
    f = lambda x, y, scale=1.0: scale * np.sum(x * y ** 2)  # noqa: E731
    x, y = np.array([1.0, 2.0]), np.array([3.0, -1.0])
    np.testing.assert_allclose(grad(f)(x, y), y ** 2)
    np.testing.assert_allclose(grad(f, argnums=1)(x, y, scale=2.0), 4.0 * x * y)
    gx, gy = grad(f, argnums=(0, 1))(x, y)
    np.testing.assert_allclose(gx, y ** 2)
    np.testing.assert_allclose(gy, 2 * x * y)
    np.testing.assert_allclose(grad(f, argnums=-1)(x, y), 2 * x * y)
    with pytest.raises(ValueError, match="argnums"):
        grad(f, argnums=2)(x, y)


def test_grad_of_unused_argument_and_constant_function_is_zero():
    gx, gy = grad(lambda x, y: np.sum(x ** 2), argnums=(0, 1))(np.ones(2), np.ones(3))
    np.testing.assert_array_equal(gx, [2.0, 2.0])
    np.testing.assert_array_equal(gy, np.zeros(3))
    assert grad(lambda x: 5.0)(1.0) == 0.0


def test_grad_of_non_scalar_output_raises_type_error_pointing_to_jacrev_and_vjp():
    with pytest.raises(TypeError, match=r"(?s)scalar.*jacrev.*vjp"):
        grad(lambda x: x * 2.0)(np.ones(3))


def test_value_and_grad():
    value, g = value_and_grad(lambda x: np.sum(np.sin(x)))(np.array([0.5, 1.0]))
    assert value == pytest.approx(math.sin(0.5) + math.sin(1.0), rel=1e-15)
    np.testing.assert_allclose(g, np.cos([0.5, 1.0]), rtol=1e-15)


def test_jvp_is_jacobian_times_tangent():
    f = lambda x, y: np.sin(x) * y + x ** 2  # noqa: E731
    x, y = RNG.standard_normal(4), RNG.standard_normal(4)
    u, v = RNG.standard_normal(4), RNG.standard_normal(4)
    out, tangent = jvp(f, (x, y), (u, v))
    np.testing.assert_allclose(out, f(x, y))
    np.testing.assert_allclose(tangent, (np.cos(x) * y + 2 * x) * u + np.sin(x) * v, rtol=1e-14)
    Jx, Jy = jacfwd(f, argnums=(0, 1))(x, y)
    np.testing.assert_allclose(tangent, Jx @ u + Jy @ v, rtol=1e-13)


def test_jvp_checks_its_arguments():
    with pytest.raises(TypeError, match="tuple"):
        jvp(np.sin, 1.0, 1.0)
    with pytest.raises(ValueError, match="shape"):
        jvp(np.sin, (np.ones(2),), (np.ones(3),))


def test_vjp_pulls_back_any_cotangent_and_can_be_called_again():
    f = lambda x, y: np.tanh(np.outer(x, y))  # noqa: E731
    x, y = RNG.standard_normal(3), RNG.standard_normal(2)
    out, vjp_fun = vjp(f, x, y)
    np.testing.assert_allclose(out, f(x, y))
    Jx, Jy = jacrev(f, argnums=(0, 1))(x, y)
    for _ in range(2):
        ct = RNG.standard_normal((3, 2))
        gx, gy = vjp_fun(ct)
        np.testing.assert_allclose(gx, np.tensordot(ct, Jx, axes=2), rtol=1e-13)
        np.testing.assert_allclose(gy, np.tensordot(ct, Jy, axes=2), rtol=1e-13)
    with pytest.raises(ValueError, match="shape"):
        vjp_fun(np.ones(3))


@pytest.mark.parametrize(("f", "x", "shape"), [
    (lambda x: x ** 2, 3.0, ()),
    (lambda x: np.sum(x ** 2), np.ones(4), (4,)),
    (lambda x: np.stack([x, x ** 2, np.sin(x)]), 0.5, (3,)),
    (lambda x: np.sin(x), np.ones(4), (4, 4)),
    (lambda x: x[:2] * x[1:, :1], np.ones((3, 2)), (2, 2, 3, 2)),
    (lambda x: x @ x.T, np.ones((2, 3)), (2, 2, 2, 3)),
])
def test_jacobian_shape_is_output_dims_then_input_dims(f, x, shape):
    for jac in (jacfwd, jacrev):
        assert np.shape(jac(f)(x)) == shape


def test_jacobian_of_a_map_closed_form():
    # polar -> cartesian: J = [[cos t, -r sin t], [sin t, r cos t]]
    f = lambda p: np.stack([p[0] * np.cos(p[1]), p[0] * np.sin(p[1])])  # noqa: E731
    r, t = 2.0, 0.7
    expected = [[math.cos(t), -r * math.sin(t)], [math.sin(t), r * math.cos(t)]]
    for jac in (jacfwd, jacrev):
        np.testing.assert_allclose(jac(f)(np.array([r, t])), expected, rtol=1e-15)


def test_functions_returning_lists_are_stacked():
    f = lambda v: [v[0] * v[1], sin(v[0]), 2.0]  # noqa: E731
    expected = [[2.0, 1.0], [math.cos(1.0), 0.0], [0.0, 0.0]]
    for jac in (jacfwd, jacrev):
        np.testing.assert_allclose(jac(f)(np.array([1.0, 2.0])), expected, rtol=1e-15)


def test_hessian_is_symmetric_and_matches_closed_form():
    # f = x0^2 x1 + exp(x0 x1): H = [[2 x1 + x1^2 e, 2 x0 + e + x0 x1 e], [., x0^2 e]]
    f = lambda x: x[0] ** 2 * x[1] + exp(x[0] * x[1])  # noqa: E731
    x0, x1 = 0.3, -1.1
    e = math.exp(x0 * x1)
    expected = [[2 * x1 + x1 ** 2 * e, 2 * x0 + e + x0 * x1 * e], [2 * x0 + e + x0 * x1 * e, x0 ** 2 * e]]
    H = hessian(f)(np.array([x0, x1]))
    np.testing.assert_allclose(H, expected, rtol=1e-14)
    np.testing.assert_array_equal(H, H.T)
    np.testing.assert_allclose(jacrev(grad(f))(np.array([x0, x1])), expected, rtol=1e-14)


def test_hessian_needs_a_single_argnum():
    with pytest.raises(TypeError):
        hessian(lambda x, y: x * y, argnums=(0, 1))


def test_nested_reverse_mode_does_not_confuse_perturbations():
    assert grad(lambda x: x * grad(lambda y: x + y)(1.0))(1.0) == pytest.approx(1.0)
    assert grad(lambda x: grad(lambda y: x * y ** 2)(x))(3.0) == pytest.approx(4 * 3.0)  # d/dx 2x^2
    assert grad(lambda x: jvp(lambda y: y ** 3, (x,), (1.0,))[1])(2.0) == pytest.approx(12.0)


SCALAR_FUNCTIONS = {
    "polynomial": (lambda x: 3 * x ** 4 - 2 * x ** 3 + x - 7, lambda x: 12 * x ** 3 - 6 * x ** 2 + 1),
    "quotient": (lambda x: (x ** 2 + 1) / (x - 3), lambda x: (2 * x * (x - 3) - (x ** 2 + 1)) / (x - 3) ** 2),
    "nested": (lambda x: exp(sin(x) ** 2) * log(x ** 2 + 1),
               lambda x: math.exp(math.sin(x) ** 2) * (2 * math.sin(x) * math.cos(x) * math.log(x * x + 1)
                                                       + 2 * x / (x * x + 1))),
    "sqrt tanh": (lambda x: sqrt(1 + tanh(x) ** 2), lambda x: math.tanh(x) * (1 - math.tanh(x) ** 2)
                  / math.sqrt(1 + math.tanh(x) ** 2)),
    "power tower": (lambda x: x ** x, lambda x: x ** x * (math.log(x) + 1)),
}


@pytest.mark.parametrize("name", sorted(SCALAR_FUNCTIONS))
@pytest.mark.parametrize("x", [0.4, 1.3, 2.2])
def test_forward_reverse_and_complex_step_agree_with_closed_form(name, x):
    f, df = SCALAR_FUNCTIONS[name]
    exact = df(x)
    assert derivative(f, x) == pytest.approx(exact, rel=1e-13)
    assert grad(f)(x) == pytest.approx(exact, rel=1e-13)
    assert jacfwd(f)(x) == pytest.approx(exact, rel=1e-13)
    assert complex_step(f, x) == pytest.approx(exact, rel=1e-13)
