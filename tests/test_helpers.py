"""The suite's finite-difference helper: its answers are right before other tests rely on it."""

import jax
import jax.numpy as jnp
import numpy as np
from helpers import central_difference


def _f(x):
    """Quadratic in each variable on its own, so central differences along one variable are
    exact up to round-off."""
    a, b = x["a"], x["b"]
    return jnp.stack([a[0] ** 2 * b + 3.0 * a[1], a[0] * a[1] - b**2])


def test_central_difference_matches_jacfwd_looped_and_batched():
    x = {"a": jnp.asarray([0.7, -1.3]), "b": jnp.asarray(2.1)}
    exact = jax.jacfwd(_f)(x)
    looped = central_difference(_f, x, rel_step=1e-3)
    batched = central_difference(jax.vmap(_f), x, rel_step=1e-3, batched=True)
    for k in x:
        assert looped[k].shape == batched[k].shape == exact[k].shape
        np.testing.assert_allclose(looped[k], exact[k], rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(batched[k], looped[k], rtol=1e-13, atol=1e-15)


def test_central_difference_of_a_scalar_function():
    assert abs(central_difference(np.sin, 0.4) - np.cos(0.4)) < 1e-9
