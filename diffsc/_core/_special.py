r"""Special functions shared by the physics modules (pure ``jax.numpy``; jit/vmap/grad).

Complete elliptic integrals in the parameter convention of ``scipy.special`` ($m=k^2$):
$$K(m)=\int_0^{\pi/2}\frac{d\theta}{\sqrt{1-m\sin^2\theta}},\qquad
E(m)=\int_0^{\pi/2}\sqrt{1-m\sin^2\theta}\,d\theta,$$
by the arithmetic–geometric mean (Abramowitz & Stegun 17.6): $a_0=1$, $b_0=\sqrt{1-m}$,
$c_0^2=m$, $a_{n+1}=\frac{a_n+b_n}2$, $b_{n+1}=\sqrt{a_nb_n}$, $c_{n+1}=\frac{a_n-b_n}2$;
$$K=\frac{\pi}{2a_\infty},\qquad E=K\Big(1-\sum_{n\ge0}2^{n-1}c_n^2\Big).$$
A fixed number of steps (default 14; the AGM converges quadratically), unrolled, so the
functions are differentiable by ordinary automatic differentiation. Accuracy: ~1e-15 relative
for $0\le m\le1-10^{-12}$ (tested against SciPy); $m<0$ is also valid. $m\to1$: $K$ diverges
logarithmically, and at $m=1$ the finite value of the last step is returned
($1-m$ is floored at 1e-300), not ``inf``.
"""

from __future__ import annotations

import jax.numpy as jnp

_AGM_STEPS = 14


def ellipke(m, iterations: int = _AGM_STEPS):
    r"""Complete elliptic integrals $(K(m), E(m))$ of parameter $m=k^2$ (dimensionless, $m<1$),
    by the AGM (module docstring); the SciPy convention of ``ellipk``/``ellipe``."""
    m = jnp.asarray(m)
    a = jnp.ones_like(m)
    b = jnp.sqrt(jnp.maximum(1.0 - m, 1e-300))
    total = 0.5 * m
    power = 0.5
    for _ in range(iterations):
        a, b, c = 0.5 * (a + b), jnp.sqrt(a * b), 0.5 * (a - b)
        power = power * 2.0
        total = total + power * c**2
    K = 0.5 * jnp.pi / a
    return K, K * (1.0 - total)


def ellipk(m, iterations: int = _AGM_STEPS):
    r"""Complete elliptic integral of the first kind $K(m)$, parameter $m=k^2$ (SciPy convention)."""
    return ellipke(m, iterations)[0]


def ellipe(m, iterations: int = _AGM_STEPS):
    r"""Complete elliptic integral of the second kind $E(m)$, parameter $m=k^2$ (SciPy convention)."""
    return ellipke(m, iterations)[1]
