r"""Time-domain simulation of the coupled electrical and thermal equations, demodulated like a lock-in.

Physics reference §6.2 (paper Eqs. 1–2 with the source term restored). An ideal current source
imposes $I(t)=I_{dc}+I_0\cos\omega t$; only the thermal equation is integrated,
$$C\frac{dT}{dt}=I(t)^2R(T,I(t))-G\,(T-T_b),$$
with a fixed-step fourth-order Runge–Kutta scheme inside ``lax.scan`` (differentiable by
reverse-mode through the finite number of steps, and ``vmap``-able over parameters). The voltage
$V=I\,[R(T,I)+R_{wiring}]+L\,dI/dt$ of the last ``n_measure`` whole periods (after ``n_settle``
periods of transient) is demodulated at harmonics $h\omega$:
$$V_h=\frac2N\sum_nV(t_n)e^{-jh\omega t_n},\qquad Z_h=V_h/I_0,$$
so $Z_1$ is what a lock-in reports as the impedance ($e^{+j\omega t}$ convention) and $Z_3$ the
third-harmonic response. Units: s, Hz, K, A, Ohm, J/K, W/K, H.
"""

from __future__ import annotations

import math

import equinox as eqx
import jax
import jax.numpy as jnp

from .._core._dtypes import as_complex
from .._core._validation import check_nonnegative, check_positive
from ._impedance import angular_frequency, peak_current


class LockInResult(eqx.Module):
    r"""Output of [`simulate_lock_in`][diffsc.simulate_lock_in].

    **Fields:** ``harmonics`` (static tuple of ints $h$); ``Z`` complex $Z_h=V_h/I_0$ (Ohm), last axis
    over harmonics; ``V_dc`` mean voltage (V); ``T_mean`` mean temperature (K); ``T_amplitude``
    complex temperature amplitudes $T_h$ (K) at the same harmonics; ``time`` (s), ``T`` (K), ``V``
    (V), ``current`` (A): the measured window sampled at ``steps_per_period`` points per period.
    """

    harmonics: tuple = eqx.field(static=True)
    Z: jax.Array
    V_dc: jax.Array
    T_mean: jax.Array
    T_amplitude: jax.Array
    time: jax.Array
    T: jax.Array
    V: jax.Array
    current: jax.Array

    def harmonic(self, h: int):
        """Complex impedance (Ohm) at harmonic ``h``."""
        return self.Z[..., self.harmonics.index(h)]


@eqx.filter_jit
def simulate_lock_in(
    resistance,
    *,
    freq,
    I_ac,
    I_dc=0.0,
    T_bath,
    C,
    G,
    B=0.0,
    L=0.0,
    R_wiring=0.0,
    i_rms: bool = False,
    omega_is_f: bool = False,
    n_settle: int = 30,
    n_measure: int = 2,
    steps_per_period: int = 256,
    harmonics: tuple = (1, 2, 3),
    T0=None,
) -> LockInResult:
    r"""Integrate $C\,dT/dt=I^2R(T,I)-G(T-T_b)$ under $I=I_{dc}+I_0\cos\omega t$ and demodulate.

    **Arguments:**

    - ``resistance``: callable ``R(T, I, B)`` in Ohm (e.g. a [`TransitionModel`][diffsc.TransitionModel]; any
      ``eqx.Module`` is a pytree, so ``vmap``/``grad`` reach its parameters).
    - ``freq`` Hz (scalar); ``I_ac`` AC amplitude (A, peak, or rms if ``i_rms``); ``I_dc`` A;
      ``T_bath`` K; ``C`` J/K; ``G`` W/K; ``B`` T; ``L`` H; ``R_wiring`` Ohm.
    - ``n_settle``, ``n_measure``, ``steps_per_period``: static ints; the transient must have died
      out after ``n_settle`` periods (a few $\tau_I=C/(G-I^2R_T)$) and the step must resolve
      $\tau_I$ (RK4 error $\propto(\Delta t/\tau_I)^4$).
    - ``harmonics``: static tuple of harmonic numbers to demodulate.
    - ``T0``: initial temperature (K); default $T_b+P(T_b)/G$ with the mean Joule power at $T_b$.

    **Returns:** [`LockInResult`][diffsc.LockInResult]. For a small AC on a DC bias, $Z_1$ tends to the linear
    (E3) impedance; for a pure AC drive to the ``excitation="pure_ac"`` form.
    """
    T_bath = check_positive(T_bath, "T_bath", "K")
    C = check_positive(C, "C", "J/K")
    G = check_positive(G, "G", "W/K")
    freq = check_positive(freq, "freq", "Hz")
    I0 = peak_current(check_nonnegative(I_ac, "I_ac", "A"), i_rms)
    I_dc = jnp.asarray(I_dc, float)
    L = check_nonnegative(L, "L", "H")
    R_wiring = check_nonnegative(R_wiring, "R_wiring", "Ohm")
    omega = angular_frequency(freq, omega_is_f)
    period = 2.0 * math.pi / omega
    dt = period / steps_per_period

    def current(t):
        return I_dc + I0 * jnp.cos(omega * t)

    def rhs(T, t):
        i = current(t)
        return (i**2 * resistance(T, i, B) - G * (T - T_bath)) / C

    def rk4(T, n):
        t = n * dt
        k1 = rhs(T, t)
        k2 = rhs(T + 0.5 * dt * k1, t + 0.5 * dt)
        k3 = rhs(T + 0.5 * dt * k2, t + 0.5 * dt)
        k4 = rhs(T + dt * k3, t + dt)
        T_new = T + dt / 6.0 * (k1 + 2.0 * k2 + 2.0 * k3 + k4)
        return T_new, T_new

    if T0 is None:
        p_mean = (I_dc**2 + 0.5 * I0**2) * resistance(T_bath, jnp.sqrt(I_dc**2 + 0.5 * I0**2), B)
        T0 = T_bath + p_mean / G
    T0 = jnp.asarray(T0, float) + 0.0 * T_bath
    n_settle_steps = n_settle * steps_per_period
    n_meas = n_measure * steps_per_period
    T_start, _ = jax.lax.scan(rk4, T0, jnp.arange(n_settle_steps, dtype=float))
    # The measured window starts at t = 0 modulo a period (whole periods settled), sample at t_n.
    idx = jnp.arange(n_meas, dtype=float)
    _, T_tail = jax.lax.scan(rk4, T_start, idx + n_settle_steps)
    T_meas = jnp.concatenate([T_start[None], T_tail[:-1]])
    t = idx * dt
    i = current(t)
    didt = -I0 * omega * jnp.sin(omega * t)
    V = i * (resistance(T_meas, i, B) + R_wiring) + L * didt
    h = jnp.asarray(harmonics, float)
    phase = jnp.exp(-1j * as_complex(omega) * as_complex(h[:, None]) * as_complex(t[None, :]))
    V_h = 2.0 / n_meas * (phase @ as_complex(V))
    T_h = 2.0 / n_meas * (phase @ as_complex(T_meas))
    return LockInResult(
        harmonics=tuple(harmonics),
        Z=V_h / as_complex(I0),
        V_dc=jnp.mean(V),
        T_mean=jnp.mean(T_meas),
        T_amplitude=T_h,
        time=t,
        T=T_meas,
        V=V,
        current=i,
    )
