r"""Electrothermal impedance of a current-carrying sample at its resistive transition.

Physics reference §6 (seed paper S-ETI, Eqs. 1–4, and Irwin & Hilton's TES model). A sample whose
resistance $R(T,I)$ depends steeply on temperature heats itself with the measurement current; the
temperature oscillation feeds back on the voltage and produces a (negative, with $e^{+j\omega t}$)
thermal reactance at frequencies of order $G/C$.

Two excitation models share one Debye-relaxation form
$$Z(\omega)=j\omega L+R_{wiring}+R_\infty+\frac{K}{g+j s\,\omega C},$$

- ``"dc_bias"`` (paper Eq. 3 = IH05, small AC on a DC bias $I$): $R_\infty=R(1+\beta)$,
  $K=(2+\beta)I^2RR_T$, $g=G-I^2R_T$, $s=1$;
- ``"pure_ac"`` (lock-in current $I_0\cos\omega t$, no DC bias, first harmonic, small-heating
  harmonic balance, $\beta$ neglected; see docs/electrothermal.md, §Pure AC excitation): $R_\infty=\bar R$,
  $K=I_0^2\bar RR_T/4$, $g=G-\tfrac12I_0^2R_T$, $s=2$ (the Joule power oscillates at $2\omega$).

with $R_T=\partial R/\partial T=\alpha R/T$. Units: frequencies in Hz, $R$ in Ohm, $T$ in K, $I$ in A,
$C$ in J/K, $G$ in W/K, $L$ in H. Time harmonics $e^{+j\omega t}$: an inductance adds $+j\omega L$,
the thermal reactance is negative. Every function is pure JAX (``jit``/``vmap``/``grad``) and
broadcasts its arguments. Float32 inputs are safe here (tested against float64 to 1e-4 relative).
"""

from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp

from .._core._dtypes import as_complex
from .._core._validation import check_broadcast, check_finite, check_nonnegative, check_positive

EXCITATIONS = ("dc_bias", "pure_ac")


def angular_frequency(freq, omega_is_f: bool = False):
    r"""$\omega=2\pi f$ (rad/s) from ``freq`` (Hz).

    ``omega_is_f=True`` returns $\omega=f$ numerically; it exists only to reproduce numbers that the
    seed paper appears to have computed with $\omega$ set equal to $f$ (docs/electrothermal.md, §Paper consistency notes).
    """
    freq = jnp.asarray(freq)
    return freq if omega_is_f else 2.0 * math.pi * freq


def peak_current(I, i_rms: bool = False):
    r"""Peak amplitude $I_0$ (A): ``I`` itself, or $\sqrt2\,I$ if ``i_rms`` (lock-ins report rms)."""
    I = jnp.asarray(I)
    return math.sqrt(2.0) * I if i_rms else I


def _check_excitation(excitation):
    if excitation not in EXCITATIONS:
        raise ValueError(f"diffsc: `excitation` must be one of {EXCITATIONS}, got {excitation!r}.")


def _real(check, x, name: str, unit: str = ""):
    """``check(x, name, unit)`` (a `diffsc._core._validation` check); a Python number stays one.

    A Python ``int``/``float`` is checked right here in Python (so that the error is raised at
    call or trace time, also when it is a constant inside ``jit``) and returned as a Python float:
    weakly typed, it does not promote float32 arrays to float64 (the defaults ``beta=0.0``,
    ``L=0.0``, ...), so the model stays float32-safe. Arrays keep their floating dtype (integers
    become float) and carry the check's ``equinox.error_if`` under ``jit``/``vmap``.
    """
    if not isinstance(x, int | float) or isinstance(x, bool):
        return check(x, name, unit)
    x = float(x)
    in_unit = f" ({unit})" if unit else ""
    if not math.isfinite(x):
        raise ValueError(f"diffsc: argument `{name}` contains NaN or inf{in_unit}.")
    if check is check_positive and not x > 0:
        raise ValueError(f"diffsc: argument `{name}` must be > 0{in_unit}.")
    if check is check_nonnegative and not x >= 0:
        raise ValueError(f"diffsc: argument `{name}` must be >= 0{in_unit}.")
    if check not in (check_positive, check_nonnegative, check_finite):
        raise NotImplementedError(check)
    return x


def _operating_point(R, T, I, alpha, beta, G):
    """Validate the operating point (R, T, I, alpha, beta, G); see `_real`."""
    return (
        _real(check_positive, R, "R", "Ohm"),
        _real(check_positive, T, "T", "K"),
        _real(check_finite, I, "I", "A"),
        _real(check_finite, alpha, "alpha"),
        _real(check_finite, beta, "beta"),
        _real(check_positive, G, "G", "W/K"),
    )


def _debye(R, T, I, alpha, beta, G, excitation, i_rms):
    """Unvalidated `debye_parameters`."""
    I = peak_current(I, i_rms)
    R_T = alpha * R / T
    if excitation == "dc_bias":
        return jnp.asarray(R * (1.0 + beta)), (2.0 + beta) * I**2 * R * R_T, G - I**2 * R_T, 1.0
    return jnp.asarray(R), 0.25 * I**2 * R * R_T, G - 0.5 * I**2 * R_T, 2.0


def debye_parameters(*, R, T, I, alpha, beta=0.0, G, excitation="dc_bias", i_rms=False):
    r"""Parameters $(R_\infty, K, g, s)$ of the thermal Debye term $K/(g+js\omega C)$.

    See the module docstring for the two excitations. With $R_T=\alpha R/T$:
    dc_bias: $R_\infty=R(1+\beta)$, $K=(2+\beta)I^2RR_T$ (W Ohm/K), $g=G-I^2R_T$ (W/K), $s=1$;
    pure_ac: $R_\infty=R$, $K=I_0^2RR_T/4$, $g=G-I_0^2R_T/2$, $s=2$ ($\beta$ ignored).

    **Arguments** (real, broadcast together): ``R`` Ohm (> 0), ``T`` K (> 0), ``I`` A (peak, or
    rms if ``i_rms``; any sign, only $I^2$ enters), ``alpha``, ``beta`` dimensionless (finite,
    any sign), ``G`` W/K (> 0). **Returns:** ``(R_inf [Ohm], K [Ohm W/K], g [W/K], s)``.
    """
    _check_excitation(excitation)
    R, T, I, alpha, beta, G = _operating_point(R, T, I, alpha, beta, G)
    check_broadcast(("R", R), ("T", T), ("I", I), ("alpha", alpha), ("beta", beta), ("G", G))
    return _debye(R, T, I, alpha, beta, G, excitation, i_rms)


def electrothermal_impedance(
    freq,
    *,
    R,
    T,
    I,
    alpha,
    beta=0.0,
    C,
    G,
    L=0.0,
    R_wiring=0.0,
    excitation: str = "dc_bias",
    i_rms: bool = False,
    omega_is_f: bool = False,
):
    r"""Linearised (small-signal) impedance of a sample at its transition, Ohm (complex).

    DC bias (paper Eq. 3, IH05; default):
    $$Z(\omega)=j\omega L+R_{wiring}+R(1+\beta)+\frac{R\mathcal L}{1-\mathcal L}
    \frac{2+\beta}{1+j\omega\tau_I},\quad \mathcal L=\frac{I^2R\alpha}{GT},\ \tau_I=\frac{C}{G-I^2R_T},$$
    equivalently $\mathrm{Im}\,Z=\omega L-\omega C(2+\beta)I^2RR_T/[(G-I^2R_T)^2+\omega^2C^2]$ (E4).
    Pure AC lock-in drive (``excitation="pure_ac"``, first harmonic, docs/electrothermal.md, §Pure AC excitation):
    $$Z_1(\omega)=j\omega L+R_{wiring}+R+\frac{I_0^2RR_T/4}{G-\tfrac12I_0^2R_T+2j\omega C}.$$
    Limits: $Z(0)=R_{wiring}+R(1+\beta)+A$ with $A=K/g$ the DC $dV/dI$ excess, and
    $Z-j\omega L\to R_{wiring}+R(1+\beta)$ as $\omega\to\infty$.

    **Arguments** (real, finite, broadcast together; complex, string, boolean, empty or
    non-broadcasting input raises an error naming the argument):

    - ``freq`` Hz (>= 0; $\omega=2\pi f$ unless ``omega_is_f``);
    - ``R`` Ohm (> 0, at the operating point); ``T`` K (> 0);
    - ``I`` A (DC bias, or AC peak amplitude; rms if ``i_rms``; any sign, only $I^2$ enters);
    - ``alpha`` $=\partial\ln R/\partial\ln T$ and ``beta`` $=\partial\ln R/\partial\ln I$
      (dimensionless, any sign);
    - ``C`` J/K (> 0); ``G`` W/K (> 0); ``L`` H (>= 0, wiring + kinetic); ``R_wiring`` Ohm (>= 0).

    **Returns:** complex impedance, Ohm ($e^{+j\omega t}$: thermal reactance < 0). Float32-safe
    (floating inputs keep their dtype). The model is stable only for $g=G-I^2R_T>0$ (loop gain
    $<1$); it is evaluated regardless.
    """
    _check_excitation(excitation)
    freq = _real(check_nonnegative, freq, "freq", "Hz")
    R, T, I, alpha, beta, G = _operating_point(R, T, I, alpha, beta, G)
    C = _real(check_positive, C, "C", "J/K")
    L = _real(check_nonnegative, L, "L", "H")
    R_wiring = _real(check_nonnegative, R_wiring, "R_wiring", "Ohm")
    check_broadcast(
        ("freq", freq), ("R", R), ("T", T), ("I", I), ("alpha", alpha), ("beta", beta),
        ("C", C), ("G", G), ("L", L), ("R_wiring", R_wiring),
    )
    return _impedance_kernel(freq, R, T, I, alpha, beta, C, G, L, R_wiring, excitation, i_rms,
                             omega_is_f)


# One compiled program per shape, also for eager calls (op by op: ~10 small compilations).
@functools.partial(jax.jit, static_argnames=("excitation", "i_rms", "omega_is_f"))
def _impedance_kernel(freq, R, T, I, alpha, beta, C, G, L, R_wiring, excitation, i_rms, omega_is_f):
    R_inf, K, g, s = _debye(R, T, I, alpha, beta, G, excitation, i_rms)
    omega = angular_frequency(freq, omega_is_f)
    denom = as_complex(g) + 1j * as_complex(s * omega * C)
    return as_complex(R_wiring + R_inf) + as_complex(K) / denom + 1j * as_complex(omega) * as_complex(L)


def _loop_gain(R, T, I, alpha, G, i_rms):
    return peak_current(I, i_rms) ** 2 * R * alpha / (G * T)


def loop_gain(*, R, T, I, alpha, G, i_rms=False):
    r"""Electrothermal loop gain $\mathcal L=I^2R\alpha/(GT)=I^2R_T/G$ (dimensionless).

    **Arguments** (real, finite, broadcast together): ``R`` Ohm (> 0), ``T`` K (> 0), ``I`` A
    (peak, or rms with ``i_rms``; any sign), ``alpha`` (dimensionless, any sign), ``G`` W/K (> 0).
    Stable for $\mathcal L<1$.
    """
    R, T, I, alpha, _, G = _operating_point(R, T, I, alpha, 0.0, G)
    check_broadcast(("R", R), ("T", T), ("I", I), ("alpha", alpha), ("G", G))
    return _loop_gain(R, T, I, alpha, G, i_rms)


def thermal_time_constants(*, R, T, I, alpha, C, G, i_rms=False):
    r"""Natural and current-biased thermal time constants $(\tau,\tau_I)$, s.

    $\tau=C/G$, $\tau_I=\tau/(1-\mathcal L)=C/(G-I^2R_T)$ (docs/electrothermal.md, §Symbols and units).

    **Arguments** (real, finite, broadcast together): ``R`` Ohm (> 0), ``T`` K (> 0), ``I`` A
    (any sign), ``alpha`` (any sign), ``C`` J/K (> 0), ``G`` W/K (> 0).
    """
    R, T, I, alpha, _, G = _operating_point(R, T, I, alpha, 0.0, G)
    C = _real(check_positive, C, "C", "J/K")
    check_broadcast(("R", R), ("T", T), ("I", I), ("alpha", alpha), ("C", C), ("G", G))
    ell = _loop_gain(R, T, I, alpha, G, i_rms)
    tau = C / G
    return tau, tau / (1.0 - ell)


def reactance_extremum(
    *, R, T, I, alpha, beta=0.0, C, G, excitation="dc_bias", i_rms=False, omega_is_f=False
):
    r"""Frequency (Hz) and value (Ohm) of the thermal reactance extremum (a minimum, < 0).

    $\mathrm{Im}[K/(g+js\omega C)]$ is extremal at $s\omega^*C=g$ with value $-K/(2g)=-A/2$, so
    $f^*=g/(2\pi sC)$: $f^*=(G-I^2R_T)/(2\pi C)$ for DC bias, half of $(G-\tfrac12I_0^2R_T)/(2\pi C)$
    for the pure-AC drive. With ``omega_is_f`` the returned frequency is $\omega^*$ itself.
    Inductance is not included.

    **Arguments** (real, finite, broadcast together): ``R`` Ohm (> 0), ``T`` K (> 0), ``I`` A
    (any sign), ``alpha``, ``beta`` (any sign), ``C`` J/K (> 0), ``G`` W/K (> 0).
    **Returns:** ``(f_star [Hz], im_z_min [Ohm])``.
    """
    _check_excitation(excitation)
    R, T, I, alpha, beta, G = _operating_point(R, T, I, alpha, beta, G)
    C = _real(check_positive, C, "C", "J/K")
    check_broadcast(
        ("R", R), ("T", T), ("I", I), ("alpha", alpha), ("beta", beta), ("C", C), ("G", G)
    )
    _, K, g, s = _debye(R, T, I, alpha, beta, G, excitation, i_rms)
    omega_star = g / (s * C)
    f_star = omega_star if omega_is_f else omega_star / (2.0 * math.pi)
    return f_star, -0.5 * K / g
