r"""Fixed Gauss rules and singularity-removing substitutions.

Every rule here has a *static* number of nodes (so shapes are fixed under ``jit``) and nodes that
are smooth functions of the interval end points (so ``grad`` flows through the limits). Nodes of
Gauss–Legendre rules are computed once at import with ``numpy.polynomial.legendre.leggauss``.

Two substitutions remove the inverse-square-root singularities met in BCS integrals:

* **Sine rule** for a finite interval with inverse-square-root ends,
  $$\int_a^b\frac{g(E)}{\sqrt{(E-a)(b-E)}}\,dE=\int_{-\pi/2}^{\pi/2}g\Big(\tfrac{a+b}{2}
  +\tfrac{b-a}{2}\sin\theta\Big)\,d\theta,$$
  Gauss–Legendre in $\theta$ (a Gauss–Chebyshev rule in $E$); exponential convergence for
  smooth $g$.
* **Graded cosh rule** for a semi-infinite piece starting at the gap edge,
  $$\int_\Delta^{E_{max}}\frac{g(E)}{\sqrt{E^2-\Delta^2}}\,dE=\int_0^{t_{max}}g(\Delta\cosh u)\,
  a\cosh t\,dt,\qquad E=\Delta\cosh u,\ u=a\sinh t .$$
  $E=\Delta\cosh u$ removes the gap-edge singularity of $\rho(E)$; the second map $u=a\sinh t$
  resolves an inner layer of width $u\sim a$ (e.g. the $\ln(\Delta/\hbar\omega)$ layer of the
  Mattis–Bardeen scattering integral, where $g\propto1/\sqrt{a^2+u^2}$ is integrated exactly) and
  grades the nodes geometrically in $u$ beyond it.
"""

from __future__ import annotations

import functools

import jax.numpy as jnp
import numpy as np


@functools.cache
def _leggauss(n: int) -> tuple[np.ndarray, np.ndarray]:
    x, w = np.polynomial.legendre.leggauss(n)
    return x, w


# Precompute the sizes used across diffsc at import time.
for _n in (16, 32, 48, 64, 96, 128, 160, 192, 256):
    _leggauss(_n)


def gauss_legendre(n: int, a=-1.0, b=1.0):
    r"""Nodes and weights of the ``n``-point Gauss–Legendre rule on $[a,b]$.

    $\int_a^b F(x)\,dx\approx\sum_i w_iF(x_i)$, exact for polynomials of degree $2n-1$.
    ``n`` is static (Python int); ``a``, ``b`` may be traced scalars.

    **Returns:** ``(x, w)``, two arrays of shape ``(n,)``.
    """
    x, w = _leggauss(int(n))
    half = 0.5 * (b - a)
    mid = 0.5 * (a + b)
    return mid + half * jnp.asarray(x), half * jnp.asarray(w)


def sine_rule(n: int, a, b):
    r"""Rule for $\int_a^b g(E)\,[(E-a)(b-E)]^{-1/2}\,dE$ on a finite interval.

    With $E=c+r\sin\theta$, $c=(a+b)/2$, $r=(b-a)/2$ the weight $[(E-a)(b-E)]^{-1/2}dE=d\theta$,
    so $\int\approx\sum_iw_ig(E_i)$.

    **Returns:** ``(E, w, lower, upper)`` with ``lower = E - a`` $=r(1+\sin\theta)$ and
    ``upper = b - E`` $=r(1-\sin\theta)$ computed without cancellation (shape ``(n,)`` each).
    """
    th, w = gauss_legendre(n, -0.5 * jnp.pi, 0.5 * jnp.pi)
    r = 0.5 * (b - a)
    # 1 +- sin(theta) without cancellation near theta = -+pi/2.
    one_plus = 2.0 * jnp.sin(0.5 * th + 0.25 * jnp.pi) ** 2
    one_minus = 2.0 * jnp.cos(0.5 * th + 0.25 * jnp.pi) ** 2
    return a + r * one_plus, w, r * one_plus, r * one_minus


def cosh_rule(n: int, gap, scale, t_max):
    r"""Rule for $\int_\Delta^{E_{max}}g(E)\,(E^2-\Delta^2)^{-1/2}\,dE$, graded at the gap edge.

    Substitution $E=\Delta\cosh u$, $u=a\sinh t$, $t\in[0,t_{max}]$, so that
    $E_{max}=\Delta\cosh(a\sinh t_{max})$ and $\int\approx\sum_iw_ig(E_i)$ with
    $w_i=a\cosh t_i\,w^{GL}_i$.

    **Arguments:** ``n`` (static), ``gap`` $\Delta$ (> 0), ``scale`` $a$ (> 0, width in $u$ of
    the resolved inner layer), ``t_max`` (>= 0).

    **Returns:** ``(E, w, u)``: energies, weights and $u$ (so that
    $\sqrt{E^2-\Delta^2}=\Delta\sinh u$ and $E-\Delta=2\Delta\sinh^2(u/2)$ can be formed exactly).
    """
    t, w = gauss_legendre(n, 0.0, t_max)
    u = scale * jnp.sinh(t)
    return gap * jnp.cosh(u), w * scale * jnp.cosh(t), u


def upper_t(gap, scale, e_max):
    r"""$t_{max}$ of `cosh_rule` such that the rule ends at $E_{max}\ (\ge\Delta)$."""
    ratio = jnp.maximum(e_max / gap, 1.0)
    u_max = jnp.log(ratio + jnp.sqrt((ratio - 1.0) * (ratio + 1.0)))
    return jnp.arcsinh(u_max / scale)


def unit_gauss_legendre(n: int) -> tuple[np.ndarray, np.ndarray]:
    r"""Nodes $s_i$ and weights $w_i$ of the ``n``-point Gauss–Legendre rule on $[0,1]$ (NumPy
    float64 constants, fixed at trace time): $\int_0^1F(s)\,ds\approx\sum_iw_iF(s_i)$."""
    x, w = _leggauss(int(n))
    return 0.5 * (x + 1.0), 0.5 * w


def node_sum(weights, values):
    r"""$\sum_iw_iv_i$ over the last axis of ``values`` (``weights``: a static NumPy vector).

    Written as a chain of scalar multiply-adds rather than ``jnp.sum(w * v)``: XLA:CPU (jaxlib
    0.10) lowers that reduction (under ``vmap``, over the minor axis of a batch of points) to a
    YNNPACK library fusion that is not split across threads, and the thermal Mattis–Bardeen
    kernels ran 2.8x slower with it, for the same numbers, than with the ordinary (threaded) fused
    loop this form produces (2-core CPU). On GPU both forms fuse into one kernel.
    """
    weights = np.asarray(weights, dtype=float)
    total = weights[0] * values[..., 0]
    for i in range(1, weights.shape[0]):
        total = total + weights[i] * values[..., i]
    return total
