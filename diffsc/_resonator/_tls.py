r"""Two-level-system (TLS) contributions to a superconducting resonator's frequency and loss.

Standard resonant-TLS theory [Phillips, Rep. Prog. Phys. 50, 1657 (1987); Gao, PhD thesis,
Caltech (2008), ch. 5; Pappas et al., IEEE TAS 21, 871 (2011)] for a resonator whose electric
field fills a fraction $F$ of a host with TLS loss tangent $\delta_0$ (the product $F\delta_0$ is
the only combination that enters; dimensionless):

$$\frac{f(T)-f(T\to0)}{f}=\frac{F\delta_0}{\pi}\Big[\mathrm{Re}\,\psi\Big(\frac12
+\frac{hf}{2\pi j\,k_BT}\Big)-\ln\frac{hf}{2\pi k_BT}\Big],\qquad
\frac1{Q_{TLS}}=F\delta_0\,\frac{\tanh(hf/2k_BT)}{(1+\langle n\rangle/n_c)^{\beta}},$$

with $\psi$ the digamma function of a complex argument, $\langle n\rangle$ the photon number in
the resonator ([`photon_number`][diffsc.photon_number]) and $n_c$ the critical photon number. Standard theory
gives $\beta=1/2$; measured films often show $\beta<1/2$ (interacting TLS).

**Convention of the frequency shift.** The bracket is referred to $T\to0$ (it vanishes there, as
$-\frac{1}{24}(2\pi k_BT/hf)^2$), so a fit's $f_0$ is the resonance frequency at $T\to0$ without
TLS shift. Some papers write $\ln(hf/k_BT)$ instead of $\ln(hf/2\pi k_BT)$; that differs by the
constant $\ln 2\pi$ times $F\delta_0/\pi$, i.e. only redefines $f_0$. The shift is power
independent (resonant TLS saturate in loss only); it first falls as $T$ rises (the familiar dip,
minimum at $k_BT\approx0.44\,hf$) and then grows as $\frac{F\delta_0}{\pi}[\ln(k_BT/hf)+
\ln(\pi/2)-\gamma_E]$.

The real part of $\psi(\tfrac12+jy)$ is evaluated by a private complex digamma (recurrence to
shift the real part above 10, then the asymptotic Bernoulli series; ~1e-15 relative), in a form
in which the $\ln y$ of the bracket cancels analytically, so the bracket keeps full relative
precision at $T\to0$ (where it is $\sim-1/24y^2$) and its derivative in $T$ is exact.
"""

from __future__ import annotations

import jax.numpy as jnp

from .._core._constants import h, k_B
from .._core._dtypes import as_complex
from .._core._validation import check_broadcast, check_nonnegative, check_positive

# Bernoulli numbers B_2, B_4, ..., B_16 divided by their index 2n (asymptotic series of psi).
_BERNOULLI_OVER_2N = (
    1.0 / 6.0 / 2.0,
    -1.0 / 30.0 / 4.0,
    1.0 / 42.0 / 6.0,
    -1.0 / 30.0 / 8.0,
    5.0 / 66.0 / 10.0,
    -691.0 / 2730.0 / 12.0,
    7.0 / 6.0 / 14.0,
    -3617.0 / 510.0 / 16.0,
)
_SHIFT = 10  # psi(z) = psi(z + 10) - sum_{k<10} 1/(z + k): asymptotic series at Re z >= 10
_Y_MAX = 1e150  # beyond it the bracket (~ -1/24 y^2 < 1e-301) is evaluated at y = 1e150


def _asymptotic_tail(inv_w):
    r"""$\sum_{n=1}^{8}\frac{B_{2n}}{2n}w^{-2n}$ (Horner in $w^{-2}$), complex."""
    inv2 = inv_w * inv_w
    acc = jnp.zeros_like(inv2)
    for c in reversed(_BERNOULLI_OVER_2N):
        acc = (acc + c) * inv2
    return acc


def _digamma_complex(z):
    r"""Digamma $\psi(z)$ of a complex argument with $\mathrm{Re}\,z>0$ (and $|z|<10^{150}$).

    $\psi(z)=\psi(z+N)-\sum_{k=0}^{N-1}\frac1{z+k}$ with $N=10$, then
    $\psi(w)\simeq\ln w-\frac1{2w}-\sum_{n=1}^{8}\frac{B_{2n}}{2n\,w^{2n}}$ at $w=z+N$
    (remainder $<10^{-14}$ for $\mathrm{Re}\,w\ge10$). JAX has no complex digamma.
    """
    z = jnp.asarray(z, dtype=complex)
    recurrence = sum(1.0 / (z + k) for k in range(_SHIFT))
    w = z + _SHIFT
    inv_w = 1.0 / w
    return jnp.log(w) - 0.5 * inv_w - _asymptotic_tail(inv_w) - recurrence


def _tls_bracket(y):
    r"""$B(y)=\mathrm{Re}\,\psi(\tfrac12+jy)-\ln y$ for $y>0$ (real, cancellation-free).

    With $a=N+\tfrac12$ and $w=a+jy$: $\mathrm{Re}\ln w-\ln y=\tfrac12\ln(1+a^2/y^2)$ and
    $\mathrm{Re}\frac1{z+k}=\frac{k+1/2}{(k+1/2)^2+y^2}$, so no term is of order $\ln y$ and
    $B\to-1/24y^2$ keeps its relative precision (~1e-13) for $y\to\infty$.
    """
    y = jnp.clip(y, 1e-100, _Y_MAX)
    a = _SHIFT + 0.5
    log_part = 0.5 * jnp.log1p((a / y) ** 2)
    recurrence = sum((k + 0.5) / ((k + 0.5) ** 2 + y * y) for k in range(_SHIFT))
    w = a + 1j * as_complex(y)
    inv_w = 1.0 / w
    series = jnp.real(0.5 * inv_w + _asymptotic_tail(inv_w))
    return log_part - series - recurrence


def _reduced_frequency(freq, T):
    r"""$y=hf/(2\pi k_BT)$ (dimensionless)."""
    return h * freq / (2.0 * jnp.pi * k_B * T)


def _tls_shift_core(freq, T, F_delta0):
    """Unvalidated [`tls_frequency_shift`][diffsc.tls_frequency_shift] (for use inside fits); 0 at T = 0 exactly."""
    positive = T > 0
    T_safe = jnp.where(positive, T, 1.0)  # finite values and gradients at T = 0
    bracket = _tls_bracket(_reduced_frequency(freq, T_safe))
    return F_delta0 / jnp.pi * jnp.where(positive, bracket, 0.0)


def _tls_loss_core(freq, T, photon_number, F_delta0, n_c, beta):
    """Unvalidated [`tls_loss`][diffsc.tls_loss] (for use inside fits); tanh -> 1 at T = 0 exactly."""
    saturation = jnp.exp(-beta * jnp.log1p(photon_number / n_c))
    positive = T > 0
    T_safe = jnp.where(positive, T, 1.0)  # finite values and gradients at T = 0
    thermal = jnp.where(positive, jnp.tanh(0.5 * h * freq / (k_B * T_safe)), 1.0)
    return F_delta0 * thermal * saturation


def tls_frequency_shift(freq, T, *, F_delta0):
    r"""Fractional resonance-frequency shift caused by resonant two-level systems.

    $$\frac{\delta f}{f}=\frac{f(T)-f(T\to0)}{f}=\frac{F\delta_0}{\pi}\Big[\mathrm{Re}\,
    \psi\Big(\frac12+\frac{hf}{2\pi j\,k_BT}\Big)-\ln\frac{hf}{2\pi k_BT}\Big]$$

    [Gao, PhD thesis, Caltech (2008), Eq. 5.19; Pappas et al., IEEE TAS 21, 871 (2011);
    Phillips, Rep. Prog. Phys. 50, 1657 (1987)]. Referred to $T\to0$, where it vanishes as
    $-\frac{F\delta_0}{24\pi}\big(\frac{2\pi k_BT}{hf}\big)^2$; minimum near $k_BT\approx0.44\,hf$;
    for $k_BT\gg hf$ it grows as
    $\frac{F\delta_0}{\pi}\big[\ln\frac{k_BT}{hf}+\ln\frac{\pi}{2}-\gamma_E\big]$. Papers
    writing $\ln(hf/k_BT)$ differ by the constant $-(F\delta_0/\pi)\ln2\pi$ (a shift of
    $f(T\to0)$). Power independent in standard TLS theory.

    **Arguments** (real, finite, broadcast against each other; bad input raises an error naming
    the argument, eagerly and under ``jit``/``vmap``):

    - `freq`: resonance frequency $f$, Hz (> 0).
    - `T`: temperature, K (>= 0; the shift vanishes as $T^2$ for $T\to0$ and is 0 at $T=0$).
    - `F_delta0`: filling factor times TLS loss tangent, $F\delta_0$, dimensionless (>= 0).

    **Returns:** $\delta f/f$, dimensionless, broadcast shape. ``jit``/``vmap``/``grad`` safe.
    """
    freq = check_positive(freq, "freq", "Hz", dtype=float)
    T = check_nonnegative(T, "T", "K", dtype=float)
    F_delta0 = check_nonnegative(F_delta0, "F_delta0", dtype=float)
    check_broadcast(("freq", freq), ("T", T), ("F_delta0", F_delta0))
    return _tls_shift_core(*jnp.broadcast_arrays(freq, T, F_delta0))


def tls_loss(freq, T, photon_number=0.0, *, F_delta0, n_c=1.0, beta=0.5):
    r"""Internal loss $1/Q_{TLS}$ of resonant two-level systems.

    $$\frac1{Q_{TLS}}=F\delta_0\,\frac{\tanh\big(hf/2k_BT\big)}{\big(1+\langle n\rangle/n_c
    \big)^{\beta}}$$

    [Gao, PhD thesis, Caltech (2008), Eq. 5.13; Pappas et al., IEEE TAS 21, 871 (2011)]. Limits:
    $T\to0$, $\langle n\rangle\ll n_c$: $F\delta_0$; $\langle n\rangle=n_c$: $2^{-\beta}F\delta_0$;
    $k_BT\gg hf$: $F\delta_0\,hf/2k_BT$. Standard (non-interacting) TLS theory gives $\beta=1/2$;
    smaller values are common in measured films. The photon number follows from the readout
    power with [`photon_number`][diffsc.photon_number].

    **Arguments** (real, finite, broadcast against each other; bad input raises an error naming
    the argument, eagerly and under ``jit``/``vmap``):

    - `freq`: resonance frequency $f$, Hz (> 0).
    - `T`: temperature, K (>= 0; $T=0$ gives the ground-state limit $\tanh\to1$).
    - `photon_number`: mean photon number $\langle n\rangle$ in the resonator (>= 0).
    - `F_delta0`: filling factor times TLS loss tangent, dimensionless (>= 0).
    - `n_c`: critical photon number, dimensionless (> 0).
    - `beta`: saturation exponent $\beta$, dimensionless (>= 0; default 1/2).

    **Returns:** $1/Q_{TLS}$, dimensionless, broadcast shape. ``jit``/``vmap``/``grad`` safe.
    """
    freq = check_positive(freq, "freq", "Hz", dtype=float)
    T = check_nonnegative(T, "T", "K", dtype=float)
    n = check_nonnegative(photon_number, "photon_number", dtype=float)
    F_delta0 = check_nonnegative(F_delta0, "F_delta0", dtype=float)
    n_c = check_positive(n_c, "n_c", dtype=float)
    beta = check_nonnegative(beta, "beta", dtype=float)
    check_broadcast(("freq", freq), ("T", T), ("photon_number", n), ("F_delta0", F_delta0),
                    ("n_c", n_c), ("beta", beta))
    return _tls_loss_core(*jnp.broadcast_arrays(freq, T, n, F_delta0, n_c, beta))
