r"""Thin superconducting films: surface impedance, kinetic inductance, penetration depth.

Local electrodynamics, time dependence $e^{+j\omega t}$, complex conductivity
$\sigma=\sigma_N(s_1-js_2)$ with $s_{1,2}=\sigma_{1,2}/\sigma_N$ from
[`mattis_bardeen`][diffsc.mattis_bardeen] and $\sigma_N=1/\rho_N$. A film of thickness $d$ whose back side
faces a high-impedance medium has [Kerr 1996; docs/mattis_bardeen.md, §Physics]
$$Z_s=\sqrt{\frac{j\omega\mu_0}{\sigma}}\coth\!\big(\sqrt{j\omega\mu_0\sigma}\,d\big)
\quad(\Omega/\square),$$
principal branches, so $R_s=\mathrm{Re}\,Z_s>0$ and $X_s=\mathrm{Im}\,Z_s>0$ (inductive).
Limits: $d\ll\lambda$: $Z_s\to1/(\sigma d)$; $d\gg\lambda$: $Z_s\to\sqrt{j\omega\mu_0/\sigma}
\approx j\omega\mu_0\lambda(1-js_1/2s_2)$ with $\lambda=(\mu_0\omega\sigma_N s_2)^{-1/2}$.
"""

from __future__ import annotations

import jax.numpy as jnp

from .._core._constants import hbar, k_B, mu_0
from .._core._dtypes import as_complex
from .._core._validation import check_broadcast, check_nonnegative, check_positive


def _coth(z):
    # coth z = (1 + e^{-2z}) / (1 - e^{-2z}) for Re z > 0; stable for large |z| and small |z|.
    q = jnp.exp(-2.0 * z)
    return (1.0 + q) / -jnp.expm1(-2.0 * z)


def surface_impedance(freq, sigma1, sigma2, *, thickness, resistivity):
    r"""Surface impedance $Z_s$ of a film, Ohm per square (complex, $e^{+j\omega t}$).

    $$Z_s=\sqrt{\frac{j\omega\mu_0}{\sigma}}\coth\!\big(\sqrt{j\omega\mu_0\sigma}\,d\big),\qquad
      \sigma=\frac{s_1-js_2}{\rho_N},$$
    principal square roots ($\mathrm{Re}\,Z_s,\mathrm{Im}\,Z_s>0$ for $s_1,s_2>0$).

    **Arguments** (real, finite, broadcast together):

    - `freq`: $\nu=\omega/2\pi$, Hz (> 0).
    - `sigma1`, `sigma2`: $\sigma_1/\sigma_N$ (>= 0) and $\sigma_2/\sigma_N$ (>= 0), dimensionless.
    - `thickness`: film thickness $d$, m (> 0).
    - `resistivity`: normal-state resistivity $\rho_N=1/\sigma_N$, Ohm m (> 0).

    **Returns:** complex $Z_s=R_s+jX_s$, Ohm/sq. Thin film ($d\ll\lambda$):
    $Z_s\approx\rho_N/[d(s_1-js_2)]$; normal metal ($s_1=1,s_2=0$, $d\ll\delta_{skin}$):
    $Z_s\approx\rho_N/d=R_\square$.
    """
    freq = check_positive(freq, "freq", "Hz", dtype=float)
    sigma1 = check_nonnegative(sigma1, "sigma1", dtype=float)
    sigma2 = check_nonnegative(sigma2, "sigma2", dtype=float)
    d = check_positive(thickness, "thickness", "m", dtype=float)
    rho = check_positive(resistivity, "resistivity", "Ohm m", dtype=float)
    check_broadcast(("freq", freq), ("sigma1", sigma1), ("sigma2", sigma2), ("thickness", d),
                    ("resistivity", rho))
    omega = 2.0 * jnp.pi * freq
    omega, sigma1, sigma2, d, rho = map(as_complex, (omega, sigma1, sigma2, d, rho))
    sigma = (sigma1 - 1j * sigma2) / rho
    k = jnp.sqrt(1j * omega * mu_0 * sigma)  # first quadrant
    return 1j * omega * mu_0 / k * _coth(k * d)


def kinetic_inductance(freq, sigma2, *, sheet_resistance):
    r"""Kinetic inductance per square of a thin film from $\sigma_2$, H/sq.

    $$L_{k,\square}=\frac{R_\square}{\omega\,\sigma_2/\sigma_N},\qquad R_\square=\rho_N/d,$$
    the thin-film ($d\ll\lambda$), $\sigma_1\ll\sigma_2$ limit of $\mathrm{Im}\,Z_s/\omega$.

    **Arguments** (real, finite, broadcast together): `freq` in Hz (> 0), `sigma2`
    $=\sigma_2/\sigma_N$ (dimensionless, > 0), `sheet_resistance` $R_\square$ in Ohm/sq (> 0).
    **Returns:** H/sq.
    """
    freq = check_positive(freq, "freq", "Hz", dtype=float)
    sigma2 = check_positive(sigma2, "sigma2", dtype=float)
    R = check_positive(sheet_resistance, "sheet_resistance", "Ohm", dtype=float)
    check_broadcast(("freq", freq), ("sigma2", sigma2), ("sheet_resistance", R))
    return R / (2.0 * jnp.pi * freq * sigma2)


def _tanh_factor(T, gap):
    positive = T > 0
    kT = k_B * jnp.where(positive, T, 1.0)
    return jnp.where(positive, jnp.tanh(0.5 * gap / kT), 1.0)


def kinetic_inductance_bcs(T, gap, *, sheet_resistance):
    r"""Low-frequency BCS kinetic inductance per square, H/sq.

    $$L_{k,\square}=\frac{\hbar R_\square}{\pi\Delta\tanh(\Delta/2k_BT)}$$
    (Mattis–Bardeen $\sigma_2$ for $\hbar\omega\ll\Delta$). S-Al sample A: $R_\square=0.15$ Ohm,
    $\Delta=177$ µeV gives 0.178 pH/sq.

    **Arguments** (real, finite, broadcast together): `T` in K (>= 0), `gap` $\Delta$ in eV
    (> 0), `sheet_resistance` in Ohm/sq (> 0). **Returns:** H/sq.
    """
    T = check_nonnegative(T, "T", "K", dtype=float)
    gap = check_positive(gap, "gap", "eV", dtype=float)
    R = check_positive(sheet_resistance, "sheet_resistance", "Ohm", dtype=float)
    check_broadcast(("T", T), ("gap", gap), ("sheet_resistance", R))
    return hbar * R / (jnp.pi * gap * _tanh_factor(T, gap))


def penetration_depth(freq, sigma2, *, resistivity):
    r"""Magnetic penetration depth from $\sigma_2$ (local limit), m.

    $$\lambda=\big(\mu_0\,\omega\,\sigma_2\big)^{-1/2}=\Big(\frac{\rho_N}{\mu_0\omega\,s_2}\Big)^{1/2}.$$

    **Arguments** (real, finite, broadcast together): `freq` in Hz (> 0), `sigma2`
    $=s_2=\sigma_2/\sigma_N$ (dimensionless, > 0), `resistivity` $\rho_N$ in Ohm m (> 0).
    **Returns:** m.
    """
    freq = check_positive(freq, "freq", "Hz", dtype=float)
    sigma2 = check_positive(sigma2, "sigma2", dtype=float)
    rho = check_positive(resistivity, "resistivity", "Ohm m", dtype=float)
    check_broadcast(("freq", freq), ("sigma2", sigma2), ("resistivity", rho))
    return jnp.sqrt(rho / (mu_0 * 2.0 * jnp.pi * freq * sigma2))


def penetration_depth_bcs(T, gap, *, resistivity):
    r"""Dirty-limit BCS penetration depth at low frequency, m.

    $$\lambda(T)=\sqrt{\frac{\hbar\rho_N}{\pi\mu_0\Delta\tanh(\Delta/2k_BT)}}$$
    (S-Al sample A, $\rho_N=0.9\ \mu\Omega$ cm, $\Delta=177$ µeV: 92 nm).

    **Arguments** (real, finite, broadcast together): `T` in K (>= 0), `gap` in eV (> 0),
    `resistivity` $\rho_N$ in Ohm m (> 0). **Returns:** m.
    """
    T = check_nonnegative(T, "T", "K", dtype=float)
    gap = check_positive(gap, "gap", "eV", dtype=float)
    rho = check_positive(resistivity, "resistivity", "Ohm m", dtype=float)
    check_broadcast(("T", T), ("gap", gap), ("resistivity", rho))
    # hbar [eV s] / gap [eV] = seconds; the result is SI.
    return jnp.sqrt(hbar * rho / (jnp.pi * mu_0 * gap * _tanh_factor(T, gap)))

