"""Newton's method with AD derivatives: classic root-finding and minimisation problems with known answers."""

import itertools
import math

import numpy as np
import pytest

from mlcourse.autodiff import Dual, cos, exp, newton, newton_minimize, newton_system, sin


@pytest.mark.parametrize(("f", "x0", "root"), [
    (lambda x: x * x - 2.0, 1.0, math.sqrt(2.0)),
    (lambda x: cos(x) - x, 1.0, 0.7390851332151607),          # the Dottie number
    (lambda x: x ** 3 - 2 * x - 5, 2.0, 2.0945514815423265),   # Wallis' cubic
    (lambda x: exp(x) - 10.0, 0.0, math.log(10.0)),
    (lambda x: x * x, 1.0, 0.0),                               # double root: linear convergence
])
def test_newton_finds_known_roots(f, x0, root):
    x = newton(f, x0)
    assert isinstance(x, float)
    assert x == pytest.approx(root, rel=1e-12, abs=1e-9)


def test_newton_accepts_functions_that_build_their_own_duals():
    # the homework's style: f applies the chain rule itself with the Dual constructor
    f = lambda x: Dual(x.val ** 2 - 2.0, 2.0 * x.val * x.der) if isinstance(x, Dual) else x ** 2 - 2.0  # noqa: E731
    assert newton(f, 1.0) == pytest.approx(math.sqrt(2.0), rel=1e-15)


def test_newton_raises_when_there_is_no_real_root():
    with pytest.raises(RuntimeError, match="did not converge"):
        newton(lambda x: x * x + 1.0, 0.5)


def test_newton_raises_on_a_zero_derivative():
    with pytest.raises(RuntimeError, match="f'"):
        newton(lambda x: x * x - 1.0, 0.0)


def test_newton_raises_when_convergence_is_too_slow():
    # a triple root: the error shrinks by 2/3 per step, too slowly for tol=1e-12 within 50 steps
    with pytest.raises(RuntimeError, match="did not converge"):
        newton(lambda x: x ** 3, 1.0)
    assert abs(newton(lambda x: x ** 3, 1.0, max_iter=200)) < 1e-11


def test_newton_respects_max_iter():
    with pytest.raises(RuntimeError):
        newton(lambda x: x * x - 2.0, 100.0, max_iter=3)
    assert newton(lambda x: x * x - 2.0, 100.0, max_iter=20) == pytest.approx(math.sqrt(2.0))


def test_newton_system_circle_and_line():
    F = lambda v: np.stack([v[0] ** 2 + v[1] ** 2 - 4.0, v[0] - v[1]])  # noqa: E731
    np.testing.assert_allclose(newton_system(F, [1.0, 0.5]), [math.sqrt(2.0), math.sqrt(2.0)], rtol=1e-14)


def test_newton_system_with_a_list_valued_function_and_a_far_start():
    # x = cos(y), y = sin(x) ... written as a residual list; the line search handles the far start
    F = lambda v: [v[0] - cos(v[1]), v[1] - sin(v[0])]  # noqa: E731
    x, y = newton_system(F, [10.0, -7.0])
    assert x == pytest.approx(math.cos(y), abs=1e-14) and y == pytest.approx(math.sin(x), abs=1e-14)


def test_newton_system_raises_on_a_singular_jacobian_or_no_root():
    with pytest.raises(RuntimeError, match="singular"):
        newton_system(lambda v: np.stack([v[0] + v[1], 2 * v[0] + 2 * v[1] - 1.0]), [0.0, 0.0])
    with pytest.raises(RuntimeError):
        newton_system(lambda v: np.stack([v[0] ** 2 + 1.0, v[1]]), [0.3, 0.0])


def rosenbrock(x):
    return (1.0 - x[0]) ** 2 + 100.0 * (x[1] - x[0] ** 2) ** 2


@pytest.mark.parametrize("x0", [[-1.2, 1.0], [2.0, -1.0], [0.0, 3.0]])
def test_newton_minimize_rosenbrock(x0):
    path = []
    x = newton_minimize(rosenbrock, x0, callback=path.append)
    np.testing.assert_allclose(x, [1.0, 1.0], rtol=1e-10)
    assert len(path) < 60
    values = [rosenbrock(p) for p in path]
    assert all(b <= a for a, b in itertools.pairwise(values))  # the line search only goes down


def test_newton_minimize_takes_one_step_on_a_quadratic():
    rng = np.random.default_rng(5)
    M = rng.standard_normal((4, 4))
    A, b = M @ M.T + 4 * np.eye(4), rng.standard_normal(4)
    path = []
    x = newton_minimize(lambda v: 0.5 * v @ A @ v - b @ v, np.zeros(4), callback=path.append)
    np.testing.assert_allclose(x, np.linalg.solve(A, b), rtol=1e-12)
    assert len(path) == 2  # the start and the minimiser


def test_newton_minimize_scalar_and_indefinite_start():
    # f = x^4 - 3x has f'' = 12x^2 = 0 at the start x = 0: the modified Hessian still gives a descent step
    x = newton_minimize(lambda x: x ** 4 - 3.0 * x, 0.0)
    assert isinstance(x, float) and x == pytest.approx((3.0 / 4.0) ** (1.0 / 3.0), rel=1e-10)
    # f = x^2 - y^2 + y^4 near its saddle (0, 0), where the Hessian is indefinite: the minimisers are
    # (0, +-1/sqrt(2)), and a plain Newton step would head for the saddle
    x = newton_minimize(lambda v: v[0] ** 2 - v[1] ** 2 + v[1] ** 4, [0.5, 0.1])
    np.testing.assert_allclose(np.abs(x), [0.0, 1 / math.sqrt(2)], atol=1e-10)


def test_newton_minimize_raises_when_it_cannot_converge():
    with pytest.raises(RuntimeError, match="did not converge"):
        newton_minimize(lambda v: v[0] + v[1] ** 2, [0.0, 1.0], max_iter=20)  # unbounded below
    with pytest.raises(RuntimeError, match="did not converge"):
        newton_minimize(rosenbrock, [-1.2, 1.0], max_iter=3)
