"""Complete elliptic integrals (diffsc._core._special) against SciPy, and their derivatives."""

import jax
import jax.numpy as jnp
import numpy as np
from scipy import special

from diffsc._core._special import ellipe, ellipk, ellipke  # internal: the elliptic integrals


def test_elliptic_integrals_match_scipy():
    """K(m), E(m) to 1e-14 relative over m in [-5, 1 - 1e-12] (parameter convention m = k^2)."""
    m = np.concatenate([np.linspace(-5.0, 0.999, 301), 1.0 - np.geomspace(1e-3, 1e-12, 40)])
    K, E = ellipke(jnp.asarray(m))
    np.testing.assert_allclose(K, special.ellipk(m), rtol=1e-14)
    np.testing.assert_allclose(E, special.ellipe(m), rtol=1e-14)
    np.testing.assert_array_equal(ellipk(jnp.asarray(m)), K)
    np.testing.assert_array_equal(ellipe(jnp.asarray(m)), E)


def test_elliptic_limits_and_legendre_relation():
    """K(0) = E(0) = pi/2, E(1) -> 1, and Legendre's relation
    E K' + E' K - K K' = pi/2 (K' = K(1 - m))."""
    np.testing.assert_allclose(ellipke(0.0), (np.pi / 2, np.pi / 2), rtol=1e-15)
    np.testing.assert_allclose(ellipe(1.0 - 1e-15), 1.0, rtol=1e-12)
    m = jnp.linspace(0.01, 0.99, 25)
    K, E = ellipke(m)
    Kp, Ep = ellipke(1.0 - m)
    np.testing.assert_allclose(E * Kp + Ep * K - K * Kp, np.pi / 2, rtol=1e-14)


def test_elliptic_derivatives():
    """dK/dm = (E - (1-m) K) / (2 m (1-m)), dE/dm = (E - K) / (2 m), through jit and vmap."""
    m = jnp.linspace(0.05, 0.95, 19)
    dK = jax.jit(jax.vmap(jax.grad(ellipk)))(m)
    dE = jax.jit(jax.vmap(jax.grad(ellipe)))(m)
    K, E = special.ellipk(m), special.ellipe(m)
    np.testing.assert_allclose(dK, (E - (1 - m) * K) / (2 * m * (1 - m)), rtol=1e-12)
    np.testing.assert_allclose(dE, (E - K) / (2 * m), rtol=1e-12)
