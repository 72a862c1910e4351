"""Reverse mode, forward mode and Hessians against autograd (an independent implementation).

Each case is one function written once against a NumPy-like module ``xp``: it runs with plain ``numpy`` on
our tracers and with ``autograd.numpy`` for the reference. Inputs are random (seeded) and cover
broadcasting, matrix products of every rank combination, indexing (basic, advanced with repeats, boolean),
reshape/transpose, sums and means over axes, reused intermediate results, max/min, where, stack/concatenate.
"""

import autograd
import autograd.numpy as anp
import numpy as np
import pytest

from mlcourse.autodiff import grad, gradient, hessian, jacfwd, jacrev, sigmoid, value_and_grad


def _logsumexp(xp, a, axis):
    m = xp.max(a, axis=axis, keepdims=True)
    return xp.log(xp.sum(xp.exp(a - m), axis=axis)) + xp.squeeze(m, axis)


# name -> (function of xp and the inputs returning a scalar, input shapes)
SCALAR_CASES = {
    "broadcast row": (lambda xp, a, b: xp.sum(xp.sin(a * b + a)), [(3, 4), (4,)]),
    "broadcast column": (lambda xp, a, b: xp.sum(a / (1.5 + b ** 2)), [(3, 4), (3, 1)]),
    "broadcast scalar": (lambda xp, a, b: xp.sum(xp.exp(a * b) - b), [(2, 3), ()]),
    "broadcast both ways": (lambda xp, a, b: xp.sum(xp.tanh(a - b) ** 2), [(3, 1), (1, 4)]),
    "matmul 2d@2d": (lambda xp, a, b: xp.sum(xp.tanh(a @ b)), [(3, 4), (4, 2)]),
    "matmul 2d@1d": (lambda xp, a, b: xp.sum(xp.cos(a @ b)), [(3, 4), (4,)]),
    "matmul 1d@2d": (lambda xp, a, b: xp.sum(xp.sin(a @ b)), [(4,), (4, 2)]),
    "matmul 1d@1d": (lambda xp, a, b: xp.sin(a @ b), [(4,), (4,)]),
    "matmul batched@2d": (lambda xp, a, b: xp.sum(xp.sin(a @ b)), [(2, 3, 4), (4, 5)]),
    "matmul batched@batched": (lambda xp, a, b: xp.sum(xp.sin(xp.matmul(a, b))), [(2, 3, 4), (2, 4, 5)]),
    "matmul 1d@batched": (lambda xp, a, b: xp.sum(xp.sin(a @ b)), [(4,), (2, 4, 3)]),
    "matmul batched@1d": (lambda xp, a, b: xp.sum(xp.sin(a @ b)), [(2, 3, 4), (4,)]),
    "dot and outer": (lambda xp, a, b: xp.sum(xp.dot(a, b) ** 2) + xp.sum(xp.outer(b[0], a[1])),
                      [(3, 4), (4, 3)]),
    "basic indexing": (lambda xp, a: xp.sum(a[1:, ::2] ** 2) + a[0, 1] * a[-1, -1] + xp.sum(a[..., 2]),
                       [(3, 4)]),
    "newaxis": (lambda xp, a: xp.sum(xp.sin(a[:, None, :] * a[None, :, :])), [(3, 4)]),
    "repeated fancy index": (lambda xp, a: xp.sum(a[[0, 0, 2]] * a[[1, 1, 0]]) + xp.sum(a[[0, 2], [1, 1]]),
                             [(3, 4)]),
    "boolean mask": (lambda xp, a: xp.sum(a[a > 0] ** 2), [(3, 4)]),
    "reshape transpose": (lambda xp, a: xp.sum(xp.sin(a.reshape(4, 3).T) * xp.arange(12.0).reshape(3, 4)),
                          [(3, 4)]),
    "transpose axes": (lambda xp, a: xp.sum(xp.sin(xp.transpose(a, (2, 0, 1)))
                                            * xp.arange(24.0).reshape(4, 2, 3)), [(2, 3, 4)]),
    "ravel swapaxes": (lambda xp, a: xp.sum(xp.cos(xp.swapaxes(a, 0, 2)).ravel() * xp.arange(24.0)),
                       [(2, 3, 4)]),
    "sum axis keepdims": (lambda xp, a: xp.sum(xp.sum(a ** 2, axis=1, keepdims=True) * a), [(3, 4)]),
    "sum negative axes": (lambda xp, a: xp.sum(xp.sin(xp.sum(a, axis=(-1, 0))) ** 2), [(2, 3, 4)]),
    "mean axes": (lambda xp, a: xp.mean(xp.mean(xp.cos(a), axis=0) ** 2) + a.mean(), [(3, 4)]),
    "reused node": (lambda xp, a: (lambda s: xp.sum(s * s + xp.exp(s) * s) + xp.sum(s))(xp.sin(a)), [(5,)]),
    "max min": (lambda xp, a: xp.sum(xp.max(a, axis=0) ** 2) + xp.min(a) + xp.max(a), [(3, 4)]),
    "maximum minimum": (lambda xp, a, b: xp.sum(xp.maximum(a, b) ** 2 + xp.minimum(a, 0.1 * b)),
                        [(3, 4), (4,)]),
    "where": (lambda xp, a, b: xp.sum(xp.where(a > 0, a ** 2, -a * b)), [(3, 4), (4,)]),
    "stack concatenate": (lambda xp, a, b: xp.sum(xp.stack([a, b * a], axis=1) ** 2)
                          + xp.sum(xp.concatenate([a, b[None, :]], axis=0) ** 3), [(3, 4), (4,)]),
    "logsumexp": (lambda xp, a: xp.sum(_logsumexp(xp, 3.0 * a, axis=1)), [(4, 5)]),
    "elementary": (lambda xp, a: xp.sum(xp.tan(0.3 * a) + xp.sqrt(xp.exp(a)) + xp.log(1.0 + a ** 2)
                                        + xp.tanh(a) + xp.log1p(a ** 2) + xp.expm1(a) + xp.abs(a)
                                        + xp.arctan(a) + xp.sinh(a) * xp.cosh(a) + xp.square(a)),
                   [(6,)]),
    "powers": (lambda xp, a, b: xp.sum(xp.exp(a) ** b + a ** 3 + xp.exp(b) ** 0.5 + 2.0 ** a),
               [(3, 4), (4,)]),
    "division": (lambda xp, a, b: xp.sum((a + 3.0) / (b ** 2 + 1.0) - 1.0 / (a ** 2 + 2.0)), [(3, 4), (4,)]),
    "logistic loss": (lambda xp, w, X: xp.mean(xp.logaddexp(0.0, X @ w) - (X[:, 0] > 0) * (X @ w)),
                      [(4,), (20, 4)]),
    "norm": (lambda xp, a: xp.linalg.norm(a) + xp.sum(xp.linalg.norm(a, axis=1) ** 3), [(3, 4)]),
}


def _inputs(shapes, seed):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(s) if s else float(rng.standard_normal()) for s in shapes]


@pytest.mark.parametrize("name", sorted(SCALAR_CASES))
def test_reverse_mode_gradient_matches_autograd(name):
    fun, shapes = SCALAR_CASES[name]
    for seed in range(2):
        args = _inputs(shapes, seed)
        argnums = tuple(range(len(args)))
        value, ours = value_and_grad(lambda *a: fun(np, *a), argnums)(*args)
        assert value == pytest.approx(float(fun(anp, *args)), rel=1e-12)
        for i, g in enumerate(ours):
            expected = autograd.grad(lambda *a: fun(anp, *a), i)(*args)
            assert np.shape(g) == np.shape(args[i])
            np.testing.assert_allclose(g, expected, rtol=1e-10, atol=1e-12, err_msg=f"{name}: argument {i}")


@pytest.mark.parametrize("name", sorted(SCALAR_CASES))
def test_forward_mode_gradient_matches_autograd(name):
    fun, shapes = SCALAR_CASES[name]
    args = _inputs(shapes, seed=7)
    argnums = tuple(range(len(args)))
    ours = jacfwd(lambda *a: fun(np, *a), argnums)(*args)  # all directions at once (vector tangents)
    for i, g in enumerate(ours):
        expected = autograd.grad(lambda *a: fun(anp, *a), i)(*args)
        np.testing.assert_allclose(g, expected, rtol=1e-10, atol=1e-12, err_msg=f"{name}: argument {i}")
    if np.ndim(args[0]):  # and one sweep per coordinate with a single tangent (HW1's gradient)
        swept = gradient(lambda x: fun(np, x, *args[1:]), args[0])
        np.testing.assert_allclose(swept, ours[0], rtol=1e-10, atol=1e-12)


HESSIAN_CASES = ["broadcast row", "matmul 2d@1d", "matmul 1d@2d", "basic indexing", "repeated fancy index",
                 "reshape transpose", "sum axis keepdims", "mean axes", "reused node", "logsumexp",
                 "elementary", "powers", "division", "logistic loss", "stack concatenate", "where",
                 "transpose axes", "matmul batched@batched", "norm", "max min"]


@pytest.mark.parametrize("name", HESSIAN_CASES)
def test_hessian_forward_over_reverse_and_reverse_over_reverse_match_autograd(name):
    fun, shapes = SCALAR_CASES[name]
    args = _inputs(shapes, seed=3)
    f = lambda x: fun(np, x, *args[1:])  # noqa: E731
    fwd_rev = hessian(f)(args[0])
    rev_rev = jacrev(grad(f))(args[0])
    expected = autograd.hessian(lambda x: fun(anp, x, *args[1:]))(args[0])
    shape = np.shape(args[0])
    assert np.shape(fwd_rev) == shape + shape
    np.testing.assert_allclose(fwd_rev, expected, rtol=1e-9, atol=1e-11)
    np.testing.assert_allclose(rev_rev, expected, rtol=1e-9, atol=1e-11)
    flat = np.reshape(fwd_rev, (int(np.prod(shape)), -1))
    np.testing.assert_allclose(flat, flat.T, rtol=1e-10, atol=1e-12)


VECTOR_CASES = {
    "elementwise": (lambda xp, a: xp.sin(a) * a, (5,)),
    "matrix out": (lambda xp, a: xp.tanh(a[:, None] * a[None, :3]), (4,)),
    "matrix in": (lambda xp, a: xp.sum(a ** 2, axis=0) + a[0], (3, 2)),
    "softmax": (lambda xp, a: xp.exp(a - _logsumexp(xp, a[None, :], axis=1)), (5,)),
    "matmul": (lambda xp, a: a.T @ a, (3, 2)),
}


@pytest.mark.parametrize("name", sorted(VECTOR_CASES))
def test_jacobians_match_autograd(name):
    fun, shape = VECTOR_CASES[name]
    x = np.random.default_rng(11).standard_normal(shape)
    expected = autograd.jacobian(lambda v: fun(anp, v))(x)
    out_shape = np.shape(fun(np, x))
    for jac in (jacfwd, jacrev):
        J = jac(lambda v: fun(np, v))(x)
        assert J.shape == out_shape + shape  # output dimensions first, then input dimensions
        np.testing.assert_allclose(J, expected, rtol=1e-10, atol=1e-12)


def test_sigmoid_against_its_autograd_formula():
    x = np.linspace(-30.0, 30.0, 13)
    expected = autograd.elementwise_grad(lambda v: 0.5 * (anp.tanh(0.5 * v) + 1.0))(x)
    np.testing.assert_allclose(grad(lambda v: np.sum(sigmoid(v)))(x), expected, rtol=1e-9, atol=1e-300)
    np.testing.assert_allclose(jacfwd(lambda v: np.sum(sigmoid(v)))(x), expected, rtol=1e-9, atol=1e-300)
