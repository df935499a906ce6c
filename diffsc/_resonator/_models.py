r"""Notch-type (shunt-coupled) resonators: $S_{21}$ models, coupling $Q$, absorbed power.

Physics reference §5.3–5.5; de Visser et al., PRL 112, 047004 (2014), supplement Eqs. 6–25 (with
the typos listed in the reference corrected); Khalil et al., JAP 111, 054510 (2012); Probst et al.,
RSI 86, 024706 (2015).

Conventions: time harmonics $e^{+j\omega t}$; frequencies in Hz; powers in W (use
`diffsc.constants.dbm_to_watt`); energies in J for stored energy (stated per function).
All functions are pure ``jax.numpy`` and broadcast over their arguments, so they run under
``jit``/``vmap``/``grad``. Float32 is safe for plotting only: $Q\,(f/f_r-1)$ needs float64 at
$Q\gtrsim10^5$.
"""

from __future__ import annotations

import functools

import equinox as eqx
import jax
import jax.numpy as jnp

from .._core._constants import h_SI
from .._core._deprecation import renamed
from .._core._dtypes import as_complex
from .._core._validation import (
    check_broadcast,
    check_finite,
    check_in_range,
    check_nonnegative,
    check_positive,
)


def loaded_q(Qi, Qc):
    r"""Loaded quality factor $1/Q = 1/Q_i + 1/Q_c$ (dimensionless).

    **Arguments:** `Qi` internal and `Qc` coupling quality factor (dimensionless, > 0).
    """
    Qi = check_positive(Qi, "Qi")
    Qc = check_positive(Qc, "Qc")
    check_broadcast(("Qi", Qi), ("Qc", Qc))
    return Qi * Qc / (Qi + Qc)


def s21_ideal(freq, f_res, Qi, Qc):
    r"""Transmission past an ideal shunt-coupled resonator (paper supplement Eq. 19).

    $$S_{21}=\frac{Q/Q_i+2jQy}{1+2jQy}=1-\frac{Q/Q_c}{1+2jQy},\qquad y=\frac{f-f_{res}}{f_{res}},
    \qquad \frac1Q=\frac1{Q_i}+\frac1{Q_c}.$$
    $|S_{21}|^2 = 1+(S_{21,min}^2-1)/(1+4Q^2y^2)$ with $S_{21,min}=Q/Q_i$ (Eq. 20).

    **Arguments:**

    - `freq`: probe frequency, Hz.
    - `f_res`: resonance frequency $f_{res}$ (including the coupler's pull), Hz.
    - `Qi`, `Qc`: internal and coupling quality factors (dimensionless).

    **Returns:** complex $S_{21}$ (dimensionless), broadcast shape of the arguments.
    """
    freq = check_positive(freq, "freq", "Hz")
    f_res = check_positive(f_res, "f_res", "Hz")
    Qi, Qc = check_positive(Qi, "Qi"), check_positive(Qc, "Qc")
    check_broadcast(("freq", freq), ("f_res", f_res), ("Qi", Qi), ("Qc", Qc))
    Q = loaded_q(Qi, Qc)
    y = _detuning(freq, f_res)
    return 1.0 - as_complex(Q / Qc) / (1.0 + 2j * as_complex(Q) * as_complex(y))


def _detuning(freq, f_res):
    r"""Fractional detuning $y=f/f_{res}-1$, computed as $(f-f_{res})/f_{res}$.

    Near resonance $f-f_{res}$ is exact (Sterbenz), so $y$ keeps full relative precision; the
    form $f/f_{res}-1$ cancels and loses ~$\log_{10}(1/|y|)$ digits (1e-10 relative at
    $y=10^{-6}$, the linewidth of a $Q=10^6$ resonator).
    """
    return (freq - f_res) / f_res


def s21_notch(freq, f_res, Qi, Qc, *, phi=0.0, a=1.0, alpha=0.0, delay=0.0, tau=None):
    r"""General complex notch model used on measured data (Khalil et al.; Probst et al.).

    $$S_{21}(f)=a\,e^{j\alpha}e^{-2\pi jf\tau_d}\Big[1-\frac{(Q_l/|Q_c|)\,e^{j\phi}}
    {1+2jQ_l(f/f_{res}-1)}\Big],\qquad \frac1{Q_l}=\frac1{Q_i}+\frac{\cos\phi}{|Q_c|}.$$
    Here `Qc` is the magnitude $|Q_c|$ of the complex coupling quality factor
    $Q_c e^{-j\phi}$; the "diameter-corrected" coupling factor is
    $Q_c^{\rm eff} = |Q_c|/\cos\phi$ (Khalil). Reduces to [`s21_ideal`][diffsc.s21_ideal] for
    $a=1$, $\alpha=\tau_d=\phi=0$.

    **Arguments:**

    - `freq`: probe frequency, Hz.
    - `f_res`: resonance frequency, Hz.
    - `Qi`: internal quality factor; `Qc`: $|Q_c|$ (dimensionless, > 0).
    - `phi`: impedance-mismatch rotation, rad, $|\phi|<\pi/2$ (so that $Q_c^{\rm eff}>0$).
    - `a`: off-resonance amplitude (dimensionless, > 0); `alpha`: phase offset, rad.
    - `delay`: cable delay $\tau_d$, s (`tau`: its deprecated old name).

    **Returns:** complex $S_{21}$, broadcast shape of the arguments.
    """
    delay = renamed("s21_notch", "tau", "delay", tau, delay, 0.0)
    return _circle_response(freq, f_res, Qi, Qc, phi, a, alpha, delay, diameter=1.0)


def _circle_response(freq, f_res, Qi, Qc, phi, a, alpha, delay, *, diameter):
    r"""The resonance circle $a e^{j\alpha}e^{-2\pi jf\tau_d}[1-k(Q_l/|Q_c|)e^{j\phi}/(1+2jQ_ly)]$
    with $k$ = `diameter` (1 notch, 2 reflection), arguments checked and named."""
    freq = check_positive(freq, "freq", "Hz")
    f_res = check_positive(f_res, "f_res", "Hz")
    Qi = check_positive(Qi, "Qi")
    Qc = check_positive(Qc, "Qc")
    a = check_positive(a, "a")
    phi = check_in_range(phi, "phi", -jnp.pi / 2, jnp.pi / 2, closed=False, unit="rad",
                         msg="must lie in (-pi/2, pi/2), where Qc_eff = Qc/cos(phi) > 0")
    alpha, delay = check_finite(alpha, "alpha", "rad"), check_finite(delay, "delay", "s")
    check_broadcast(("freq", freq), ("f_res", f_res), ("Qi", Qi), ("Qc", Qc), ("phi", phi),
                    ("a", a), ("alpha", alpha), ("delay", delay))
    return _circle_kernel(freq, f_res, Qi, Qc, phi, a, alpha, delay, diameter)


# One compiled program per shape, also for eager calls (op by op it was ~20 small compilations,
# ~2 s before the first result; one program is also what the on-disk cache can keep).
@functools.partial(jax.jit, static_argnames="diameter")
def _circle_kernel(freq, f_res, Qi, Qc, phi, a, alpha, delay, diameter):
    Ql = 1.0 / (1.0 / Qi + jnp.cos(phi) / Qc)
    env = as_complex(a) * jnp.exp(1j * as_complex(alpha - 2.0 * jnp.pi * freq * delay))
    return env * (1.0 - as_complex(diameter * (Ql / Qc)) * jnp.exp(1j * as_complex(phi))
                  / (1.0 + 2j * as_complex(Ql) * as_complex(_detuning(freq, f_res))))


def s11_reflection(freq, f_res, Qi, Qc, *, phi=0.0, a=1.0, alpha=0.0, delay=0.0, tau=None):
    r"""Reflection $S_{11}$ of a one-port (reflection-coupled) resonator (Probst et al. 2015).

    $$S_{11}(f)=a\,e^{j\alpha}e^{-2\pi jf\tau_d}\Big[1-\frac{2(Q_l/|Q_c|)\,e^{j\phi}}
    {1+2jQ_l(f/f_{res}-1)}\Big],\qquad \frac1{Q_l}=\frac1{Q_i}+\frac{\cos\phi}{|Q_c|}.$$
    The circle has twice the diameter of the notch ([`s21_notch`][diffsc.s21_notch]); at resonance with
    $\phi=0$, $S_{11}=(Q_c-Q_i)/(Q_c+Q_i)$: zero at critical coupling, and the circle encloses the
    origin (the phase winds once) when overcoupled, $Q_i>Q_c$.

    **Arguments:** as [`s21_notch`][diffsc.s21_notch] (`freq`, `f_res` in Hz; `Qi`, `Qc` = $|Q_c|$; `phi`,
    `alpha` in rad; `a` > 0; `delay` in s, `tau` its deprecated old name). **Returns:** complex $S_{11}$, broadcast shape.
    """
    delay = renamed("s11_reflection", "tau", "delay", tau, delay, 0.0)
    return _circle_response(freq, f_res, Qi, Qc, phi, a, alpha, delay, diameter=2.0)


def coupling_q(freq, Cg, Z0=50.0):
    r"""Coupling quality factor of a half-wave line with coupling capacitor (supplement Eq. 16).

    $$Q_c=\frac{\pi}{(\omega C_g Z_0)^2},\qquad \omega=2\pi f.$$
    Sample A (7.5 fF, 5.28 GHz, 50 Ω): $Q_c=2.03\times10^4$ (paper Table 1: 20100).

    **Arguments:** `freq` resonance frequency (Hz), `Cg` coupling capacitance (F), `Z0` line
    impedance (Ohm). **Returns:** $Q_c$ (dimensionless).
    """
    freq = check_positive(freq, "freq", "Hz")
    Cg = check_positive(Cg, "Cg", "F")
    Z0 = check_positive(Z0, "Z0", "Ohm")
    check_broadcast(("freq", freq), ("Cg", Cg), ("Z0", Z0))
    return jnp.pi / (2.0 * jnp.pi * freq * Cg * Z0) ** 2


def coupling_capacitance(freq, Qc, Z0=50.0):
    r"""Inverse of [`coupling_q`][diffsc.coupling_q]: $C_g=\sqrt{\pi/Q_c}/(\omega Z_0)$, F.

    **Arguments:** `freq` (Hz), `Qc` (dimensionless), `Z0` (Ohm).
    """
    freq = check_positive(freq, "freq", "Hz")
    Qc = check_positive(Qc, "Qc")
    Z0 = check_positive(Z0, "Z0", "Ohm")
    check_broadcast(("freq", freq), ("Qc", Qc), ("Z0", Z0))
    return jnp.sqrt(jnp.pi / Qc) / (2.0 * jnp.pi * freq * Z0)


def coupled_resonance_frequency(f_half, Cg, Z0=50.0):
    r"""Resonance of the half-wave line pulled down by its coupler (supplement Eq. 13).

    $$\omega_0=\omega_{1/2}\Big(1-\frac{\omega_{1/2}C_gZ_0}{\pi}\Big)
    =\omega_{1/2}\Big(1-\frac{1}{\sqrt{\pi Q_c}}\Big).$$

    **Arguments:** `f_half` bare half-wave frequency (Hz), `Cg` (F), `Z0` (Ohm), with
    $2f_{1/2}C_gZ_0<1$ (the first-order pull is meaningful only while small).
    **Returns:** $f_0$, Hz.
    """
    f_half = check_positive(f_half, "f_half", "Hz")
    Cg = check_positive(Cg, "Cg", "F")
    Z0 = check_positive(Z0, "Z0", "Ohm")
    check_broadcast(("f_half", f_half), ("Cg", Cg), ("Z0", Z0))
    pull = 2.0 * f_half * Cg * Z0
    Cg = eqx.error_if(Cg, jnp.any(pull >= 1.0), "diffsc: argument `Cg` (F) is too large for "
                      "`f_half` and `Z0`: the coupler pull 2 f_half Cg Z0 must be < 1.")
    return f_half * (1.0 - 2.0 * f_half * Cg * Z0)


def absorbed_power(P_read, Qi, Qc, *, freq=None, f_res=None, Qi_qp=None):
    r"""Power absorbed in the resonator (supplement Eqs. 22–25), W.

    $$P_{abs}=\frac{P_{read}}{2}\,\frac{4Q^2}{Q_iQ_c}\,\frac{1}{1+4Q^2y^2}\,\frac{Q_i}{Q_{i,qp}},
    \qquad y = f/f_{res}-1 .$$
    On resonance ($y=0$, the paper's case) and with $Q_i=Q_c$ this is $P_{read}/2$. The factor
    $Q_i/Q_{i,qp}$ (Eq. 25) keeps only the part dissipated by quasiparticles when other loss
    channels ($1/Q_i = 1/Q_{i,qp} + 1/Q_i^*$, Eq. 24) are present; leave `Qi_qp=None` for the
    paper's choice $Q_i/Q_{i,qp}=1$. The off-resonance factor $1/(1+4Q^2y^2)$ is the standard
    generalisation; pass `freq` and `f_res` to use it.

    **Arguments:**

    - `P_read`: readout power at the resonator's feedline, W.
    - `Qi`: total internal quality factor; `Qc`: coupling quality factor (dimensionless).
    - `freq`, `f_res`: probe and resonance frequency, Hz (both or neither).
    - `Qi_qp`: quasiparticle-limited internal quality factor (dimensionless) or None.

    **Returns:** $P_{abs}$ (W); divide by the absorbing volume for W/m^3.
    """
    P_read = check_nonnegative(P_read, "P_read", "W")
    Qi, Qc = check_positive(Qi, "Qi"), check_positive(Qc, "Qc")
    if (freq is None) != (f_res is None):
        raise ValueError("diffsc.absorbed_power: give both `freq` and `f_res` or neither.")
    named = [("P_read", P_read), ("Qi", Qi), ("Qc", Qc)]
    if freq is not None:
        freq, f_res = check_positive(freq, "freq", "Hz"), check_positive(f_res, "f_res", "Hz")
        named += [("freq", freq), ("f_res", f_res)]
    if Qi_qp is not None:
        Qi_qp = check_positive(Qi_qp, "Qi_qp")
        named += [("Qi_qp", Qi_qp)]
    check_broadcast(*named)
    Q = loaded_q(Qi, Qc)
    p = 0.5 * P_read * 4.0 * Q**2 / (Qi * Qc)
    if freq is not None:
        y = _detuning(freq, f_res)
        p = p / (1.0 + 4.0 * Q**2 * y**2)
    if Qi_qp is not None:
        p = p * Qi / Qi_qp
    return p


def stored_energy(P_read, Qi, Qc, f_res, *, freq=None):
    r"""Energy stored in the resonator, J.

    $$E_s=\frac{2Q^2}{Q_c}\frac{P_{read}}{\omega_{res}}\frac{1}{1+4Q^2y^2},$$
    from energy balance $P_{abs}=\omega E_s/Q_i$ with [`absorbed_power`][diffsc.absorbed_power]. Check: −64 dBm,
    $Q\approx Q_c=20100$, 5.28 GHz → 0.48 fJ (paper footnote: 0.55 fJ).

    **Arguments:** `P_read` (W), `Qi`, `Qc` (dimensionless), `f_res` (Hz), `freq` probe
    frequency (Hz, default on resonance). **Returns:** $E_s$, J.
    """
    P_read = check_nonnegative(P_read, "P_read", "W")
    f_res = check_positive(f_res, "f_res", "Hz")
    Qi, Qc = check_positive(Qi, "Qi"), check_positive(Qc, "Qc")
    named = [("P_read", P_read), ("Qi", Qi), ("Qc", Qc), ("f_res", f_res)]
    if freq is not None:
        freq = check_positive(freq, "freq", "Hz")
        named.append(("freq", freq))
    check_broadcast(*named)
    Q = loaded_q(Qi, Qc)
    e = 2.0 * Q**2 / Qc * P_read / (2.0 * jnp.pi * f_res)
    if freq is not None:
        y = _detuning(freq, f_res)
        e = e / (1.0 + 4.0 * Q**2 * y**2)
    return e


def photon_number(P_read, Qi, Qc, f_res, *, freq=None):
    r"""Mean number of photons in the resonator, $\langle n\rangle = E_s/(h f_{res})$.

    **Arguments:** as [`stored_energy`][diffsc.stored_energy]. **Returns:** dimensionless.
    """
    return stored_energy(P_read, Qi, Qc, f_res, freq=freq) / (h_SI * f_res)


def effective_coupling_q(Qc, phi):
    r"""Khalil's diameter-corrected coupling quality factor $Q_c^{\rm eff}=|Q_c|/\cos\phi$.

    **Arguments:** `Qc` = $|Q_c|$ (dimensionless, > 0), `phi` (rad, $|\phi|<\pi/2$).
    **Returns:** dimensionless, > 0.
    """
    Qc = check_positive(Qc, "Qc")
    phi = check_in_range(phi, "phi", -jnp.pi / 2, jnp.pi / 2, closed=False, unit="rad")
    check_broadcast(("Qc", Qc), ("phi", phi))
    return Qc / jnp.cos(phi)
