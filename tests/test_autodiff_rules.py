"""The rule table: every primitive has its derivative rules, the scalar fast path is the rules' own result."""

import math
import pickle

import numpy as np
import pytest

import mlcourse.autodiff as ad
from mlcourse.autodiff import primitives, structural
from mlcourse.autodiff._tracer import UFUNCS
from mlcourse.autodiff.primitives import Primitive


def all_primitives():
    found = {}
    for module in (primitives, structural):
        for value in vars(module).values():
            if isinstance(value, Primitive):
                found[value.name] = value
    return found


def test_every_primitive_has_rules_for_both_modes():
    prims = all_primitives()
    assert len(prims) > 40
    for name, prim in prims.items():
        assert prim.lin is not None or (prim.jvp is not None and prim.vjp is not None), name


def test_every_differentiable_ufunc_maps_to_a_primitive_with_rules():
    for ufunc, prim in UFUNCS.items():
        assert prim.lin is not None or prim.jvp is not None, ufunc.__name__


def test_a_primitive_without_rules_names_itself_in_both_modes():
    bare = Primitive("bare", lambda x, scale: x * scale)
    with pytest.raises(TypeError, match="bare has no forward-mode"):
        ad.jvp(lambda x: bare(x, scale=2.0), (np.ones(2),), (np.ones(2),))
    with pytest.raises(TypeError, match="bare has no reverse-mode"):
        ad.grad(lambda x: np.sum(bare(x, scale=2.0)))(np.ones(2))


FUNCTIONS = [
    ("sin", lambda x: ad.sin(x)), ("cos", lambda x: ad.cos(x)), ("tan", lambda x: ad.tan(x)),
    ("exp", lambda x: ad.exp(x)), ("log", lambda x: ad.log(x)), ("sqrt", lambda x: ad.sqrt(x)),
    ("tanh", lambda x: ad.tanh(x)), ("sigmoid", lambda x: ad.sigmoid(x)), ("log1p", lambda x: ad.log1p(x)),
    ("expm1", lambda x: ad.expm1(x)), ("square", lambda x: np.square(x)), ("abs", lambda x: abs(x - 1.0)),
    ("product", lambda x: x * (x + 2.0)), ("quotient", lambda x: (x + 1.0) / (x * x + 3.0)),
    ("rquotient", lambda x: 2.0 / x), ("power", lambda x: x ** 3), ("real power", lambda x: x ** 2.5),
    ("dual power", lambda x: x ** x), ("rpower", lambda x: 2.0 ** x), ("difference", lambda x: 1 - x - x),
    ("negative", lambda x: -x), ("maximum", lambda x: np.maximum(x, 0.3)),
]


@pytest.mark.parametrize("name,f", FUNCTIONS, ids=[n for n, _ in FUNCTIONS])
def test_scalar_fast_path_equals_the_array_path(name, f):
    """A float dual takes the fast path, a (1,)-array dual the general one: same rules, same numbers."""
    x = 0.7
    scalar = f(ad.Dual(x, 1.0))
    array = f(ad.Dual(np.array([x]), np.array([1.0])))
    assert type(scalar.val) is float and type(scalar.der) is float
    assert scalar.val == pytest.approx(float(array.val[0]), rel=1e-15)
    assert scalar.der == pytest.approx(float(array.der[0]), rel=1e-14)
    assert scalar.der == pytest.approx(ad.grad(f)(x), rel=1e-14)


def test_scalar_fast_path_keeps_python_float_semantics():
    with pytest.raises(ZeroDivisionError):
        ad.Dual(1.0, 1.0) / ad.Dual(0.0, 1.0)
    with pytest.raises(ValueError):
        ad.log(ad.Dual(-1.0, 1.0))
    with pytest.raises(ValueError, match="not real"):
        ad.Dual(-2.0, 1.0) ** 0.5
    assert math.isclose(ad.derivative(lambda x: ad.sin(x) * x ** 2 / (1.0 + x), 0.3),
                        (math.cos(0.3) * 0.09 + math.sin(0.3) * 0.6) / 1.3
                        - math.sin(0.3) * 0.09 / 1.3**2, rel_tol=1e-14)


def test_every_dual_is_made_by_one_constructor():
    calls = []
    from mlcourse.autodiff import dual

    original = dual._dual

    def counting(*args):
        calls.append(args)
        return original(*args)

    dual._dual = counting
    try:
        x = ad.Dual(np.array([1.0, 2.0]), np.array([1.0, 0.0]))
        y = ad.Dual(0.5, 1.0)
        _ = (x * 2.0, np.sin(x), y * y, ad.sin(y), -y, x.sum(), ad.jacfwd(lambda v: v * v)(np.ones(2)))
    finally:
        dual._dual = original
    assert len(calls) >= 8


def test_dual_copies_and_pickles():
    d = ad.Dual(np.array([1.0, 2.0]), np.array([0.5, 0.25]))
    back = pickle.loads(pickle.dumps(d))
    np.testing.assert_array_equal(back.val, d.val)
    np.testing.assert_array_equal(back.der, d.der)
