"""The bracketed scalar root finder (diffsc._core._roots): against scipy.optimize.brentq, its
implicit derivatives against finite differences, jit/vmap, and a bracket without a sign change."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import optimize

from diffsc._core._roots import bracketed_root  # internal: the bracketed root finder


def _cubic(x, a):
    return x**3 - a * x - 1.0


def _kepler(E, args):  # Kepler's equation E - e sin E = M
    e, M = args
    return E - e * jnp.sin(E) - M


def _steep(x, a):  # a root in a layer of width 1/a: hard for interpolation
    return jnp.tanh(a * (x - 0.3)) + 0.01


CASES = [
    (_cubic, 2.0, (1.0, 2.0), lambda x: x**3 - 2.0 * x - 1.0),
    (_kepler, (0.9, 1.3), (0.0, np.pi), lambda E: E - 0.9 * np.sin(E) - 1.3),
    (_steep, 1e4, (-1.0, 1.0), lambda x: np.tanh(1e4 * (x - 0.3)) + 0.01),
    (lambda x, a: jnp.exp(x) - a, 1e-30, (-100.0, 10.0), lambda x: np.exp(x) - 1e-30),
]


@pytest.mark.parametrize("fn, args, bracket, ref", CASES)
def test_matches_brentq(fn, args, bracket, ref):
    r = bracketed_root(fn, *bracket, args)
    x_ref = optimize.brentq(ref, *bracket, xtol=1e-300, rtol=4 * np.finfo(float).eps)
    assert bool(r.bracketed) and bool(r.converged)
    np.testing.assert_allclose(r.root, x_ref, rtol=1e-14)
    assert int(r.steps) < 60


def test_bracket_order_and_exact_zero_at_an_end():
    np.testing.assert_allclose(
        bracketed_root(_cubic, 2.0, 1.0, 2.0).root,
        bracketed_root(_cubic, 1.0, 2.0, 2.0).root,
        rtol=1e-15,
    )
    r = bracketed_root(lambda x, a: x - a, 0.0, 1.0, 1.0)  # root exactly at the upper end
    assert bool(r.converged) and float(r.root) == 1.0 and int(r.steps) == 0


def test_implicit_gradient_matches_finite_differences():
    """d x*/d theta = -f_theta / f_x, forward and reverse, and the second derivative."""

    def root(theta):
        return bracketed_root(_kepler, 0.0, np.pi, (theta[0], theta[1])).root

    theta = jnp.array([0.9, 1.3])
    g = jax.grad(root)(theta)
    h = 1e-6
    fd = [(root(theta + h * e) - root(theta - h * e)) / (2 * h) for e in jnp.eye(2)]
    np.testing.assert_allclose(g, fd, rtol=1e-8)
    np.testing.assert_allclose(jax.jacfwd(root)(theta), g, rtol=1e-14)
    hess = jax.hessian(root)(theta)
    fd2 = [
        (jax.grad(root)(theta + h * e) - jax.grad(root)(theta - h * e)) / (2 * h)
        for e in jnp.eye(2)
    ]
    np.testing.assert_allclose(hess, np.array(fd2), rtol=1e-6)


def test_jit_vmap_and_elementwise_arrays():
    a = jnp.linspace(0.5, 4.0, 7)
    fn = jax.jit(jax.vmap(lambda aa: bracketed_root(_cubic, 1.0, 3.0, aa).root))
    ref = [
        optimize.brentq(lambda x, aa=aa: x**3 - aa * x - 1.0, 1.0, 3.0, xtol=1e-15)
        for aa in np.asarray(a)
    ]
    np.testing.assert_allclose(fn(a), ref, rtol=1e-14)
    # an elementwise fn on arrays: one loop, every element its own root and derivative
    r = bracketed_root(_cubic, jnp.ones(7), 3.0 * jnp.ones(7), a)
    np.testing.assert_allclose(r.root, ref, rtol=1e-14)
    g = jax.grad(
        lambda aa: jnp.sum(bracketed_root(_cubic, jnp.ones(7), 3.0 * jnp.ones(7), aa).root)
    )(a)
    x = np.asarray(r.root)
    np.testing.assert_allclose(g, x / (3 * x**2 - np.asarray(a)), rtol=1e-12)


def test_no_sign_change_is_flagged_finite_and_has_zero_derivative():
    """f > 0 on the whole bracket: no iteration, the end with the smaller |f|, a finite value
    and a zero derivative (no NaN), and an error with throw=True (also under jit)."""
    fn = lambda x, a: (x - a) ** 2 + 1.0  # noqa: E731
    r = bracketed_root(fn, 1.0, 3.0, 0.5)
    assert not bool(r.bracketed) and not bool(r.converged) and int(r.steps) == 0
    assert float(r.root) == 1.0 and float(r.value) == fn(1.0, 0.5)
    g = jax.grad(lambda a: bracketed_root(fn, 1.0, 3.0, a).root)(0.5)
    assert float(g) == 0.0
    with pytest.raises(Exception, match="no root bracketed"):
        bracketed_root(fn, 1.0, 3.0, 0.5, throw=True)
    with pytest.raises(Exception, match="no root bracketed"):
        jax.jit(lambda a: bracketed_root(fn, 1.0, 3.0, a, throw=True).root)(0.5)
    # a NaN at an end is not a bracket either
    assert not bool(bracketed_root(lambda x, a: jnp.log(x) - a, -1.0, 3.0, 0.0).bracketed)
