r"""Superconducting materials: parameters and presets.

A [`Material`][diffsc.Material] is an immutable ``equinox.Module`` of floats, so it can be passed through
``jit``, batched with ``vmap`` and differentiated with ``grad`` (every numeric field is a leaf).
Unknown parameters are ``None``; functions that need one raise a clear error naming it.

Sources (see docs/bcs.md, §Materials):

* Kaplan et al., PRB 14, 4854 (1976) [K76] for $\tau_0$, $\tau_0^{ph}$, $N_0$ (dressed: bare
  value times $Z_1(0)$);
* de Visser et al., PRL 112, 047004 (2014) [S-Al] for the Al resonator film;
* Goldie & Withington, SuST 26, 015004 (2013) [GW13];
* Semenov et al. and Kihlstrom (1985) for NbN; the electrothermal NbSe2 paper for 2H-NbSe2;
* free-electron values for Fermi wavelengths and velocities.
"""

from __future__ import annotations

import dataclasses
import math

import equinox as eqx
import jax.numpy as jnp

from .._core._constants import bcs_gap_ratio, k_B


class Material(eqx.Module):
    r"""Parameters of a superconductor, SI units with energies in eV.

    **Fields:**

    - `name`: label (static, not a JAX leaf).
    - `Tc`: critical temperature, K.
    - `gap0`: zero-temperature gap $\Delta_0$, eV.
    - `N0`: single-spin density of states at $E_F$ (dressed), 1/(eV m^3).
    - `tau0`: characteristic electron–phonon time $\tau_0$ (Kaplan), s.
    - `tau0_ph`: phonon pair-breaking time $\tau_0^{ph}$ (Kaplan), s.
    - `debye_energy`: $\Omega_D = k_B\Theta_D$, eV.
    - `N_ion`: ions (formula units) per volume, 1/m^3.
    - `london_depth`: London penetration depth $\lambda_L(0)$, m.
    - `coherence_length`: BCS coherence length $\xi_0$, m.
    - `fermi_wavelength`: $\lambda_F = 2\pi/k_F$, m.
    - `fermi_velocity`: $v_F$, m/s.
    - `resistivity`: normal-state resistivity $\rho_N$ just above $T_c$, Ohm m.
    - `Hc0`: thermodynamic critical field $\mu_0 H_c(0)$, T.
    - `mean_free_path`: elastic mean free path $\ell$, m.

    Use `replace` to change fields (``al.replace(tau0=400e-9)``).
    """

    name: str = eqx.field(static=True)
    Tc: float
    gap0: float
    N0: float | None = None
    tau0: float | None = None
    tau0_ph: float | None = None
    debye_energy: float | None = None
    N_ion: float | None = None
    london_depth: float | None = None
    coherence_length: float | None = None
    fermi_wavelength: float | None = None
    fermi_velocity: float | None = None
    resistivity: float | None = None
    Hc0: float | None = None
    mean_free_path: float | None = None

    def __check_init__(self):
        for field in ("Tc", "gap0"):
            value = getattr(self, field)
            if isinstance(value, (int, float)) and not value > 0:
                raise ValueError(f"diffsc.Material `{field}` must be > 0, got {value!r}.")
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if f.name != "name" and isinstance(value, (int, float)) and not math.isfinite(value):
                raise ValueError(f"diffsc.Material `{f.name}` must be finite, got {value!r}.")

    def replace(self, **fields) -> Material:
        """Return a copy with the given fields replaced (unknown names raise ``TypeError``)."""
        names = {f.name for f in dataclasses.fields(self)}
        unknown = set(fields) - names
        if unknown:
            raise TypeError(
                f"diffsc.Material has no field(s) {sorted(unknown)}; fields: {sorted(names)}"
            )
        return dataclasses.replace(self, **fields)

    def require(self, field: str):
        """Return a field's value, raising a clear ``ValueError`` if it is unknown (None)."""
        value = getattr(self, field)
        if value is None:
            raise ValueError(
                f"diffsc: material {self.name!r} has no `{field}`; set it with "
                f"material.replace({field}=...)."
            )
        return value

    @property
    def gap_ratio(self):
        r"""$\Delta_0/(k_B T_c)$; 1.764 in weak-coupling BCS."""
        return self.gap0 / (k_B * self.Tc)

    @property
    def sommerfeld_gamma(self):
        r"""Electronic specific-heat coefficient $\gamma=\frac{2\pi^2}{3}N_0k_B^2$, J/(K^2 m^3)."""
        from .._core._constants import e

        return 2.0 * math.pi**2 / 3.0 * self.require("N0") * k_B**2 * e

    @property
    def tau0_ph_energy_conserving(self):
        r"""$\tau_0^{ph}$ for which the kinetic equations conserve energy exactly, s.

        $$\tau_0^{ph}=\frac{9N_{ion}\tau_0(k_BT_c)^3}{2\pi N_0\Delta_0\Omega_D^3}$$
        (docs/bcs.md, §The energy-conserving phonon pair-breaking time). Al: 0.270 ns for $\Theta_D$=420 K.
        """
        kTc = k_B * self.Tc
        return (
            9.0
            * self.require("N_ion")
            * self.require("tau0")
            * kTc**3
            / (2.0 * jnp.pi * self.require("N0") * self.gap0 * self.require("debye_energy") ** 3)
        )


def _weak(Tc):
    return bcs_gap_ratio * k_B * Tc


_PRESETS: dict[str, dict] = {
    # S-Al Table 1 (60 nm film on sapphire); Theta_D = 420 K; N_ion of bulk Al. S-Al fixes N0 V
    # from the measured Tc, so gap0 = 1.764 k_B Tc = 177.8 ueV (the paper quotes 177 ueV = 1.76 kTc).
    "Al": dict(
        Tc=1.17,
        gap0=_weak(1.17),
        N0=1.72e28,
        tau0=440e-9,
        tau0_ph=0.26e-9,
        debye_energy=k_B * 420.0,
        N_ion=6.02e28,
        london_depth=16e-9,
        coherence_length=1.6e-6,
        fermi_wavelength=0.36e-9,
        fermi_velocity=2.03e6,
        resistivity=0.9e-8,
        Hc0=10.5e-3,
    ),
    # Pb: gap from S-Pb; N0 free-electron x (1+lambda_ep); K76 times (recalled, order of magnitude).
    "Pb": dict(
        Tc=7.2,
        gap0=1.35e-3,
        N0=2.7e28,
        tau0=0.196e-9,
        tau0_ph=0.034e-9,
        debye_energy=k_B * 105.0,
        N_ion=3.30e28,
        london_depth=37e-9,
        coherence_length=83e-9,
        fermi_wavelength=2 * math.pi / 1.58e10,
        fermi_velocity=1.83e6,
        resistivity=2.0e-9,
        Hc0=80.3e-3,
        mean_free_path=10e-9,
    ),
    "Nb": dict(
        Tc=9.2,
        gap0=1.50e-3,
        N0=9.0e28,
        tau0=0.149e-9,
        tau0_ph=0.00417e-9,
        debye_energy=k_B * 275.0,
        N_ion=5.56e28,
        london_depth=39e-9,
        coherence_length=38e-9,
        fermi_velocity=1.37e6,
        resistivity=1.5e-8,
        Hc0=199e-3,
    ),
    "Ta": dict(
        Tc=4.47,
        gap0=0.70e-3,
        N0=6.9e28,
        tau0=1.78e-9,
        tau0_ph=0.0227e-9,
        debye_energy=k_B * 240.0,
        N_ion=5.52e28,
        london_depth=35e-9,
        Hc0=83e-3,
    ),
    "NbN": dict(
        Tc=15.8,
        gap0=2.56e-3,
        N0=2.56e28,
        tau0=0.022e-9,
        tau0_ph=0.006e-9,
        debye_energy=k_B * 330.0,
        N_ion=4.77e28,
        london_depth=250e-9,
        resistivity=2.0e-6,
    ),
    # TiN film: Tc varies strongly with growth; kinetic parameters unknown.
    "TiN": dict(Tc=1.5, gap0=_weak(1.5), N_ion=5.1e28, london_depth=500e-9, resistivity=1.0e-6),
    # 2H-NbSe2 (S-ETI): two-gap; a single effective gap of 1.1 meV [uncertain].
    "NbSe2": dict(
        Tc=7.2,
        gap0=1.1e-3,
        debye_energy=k_B * 220.0,
        N_ion=1.55e28,
        london_depth=200e-9,
        coherence_length=10e-9,
        mean_free_path=100e-9,
    ),
}


def material(name: str) -> Material:
    """Return a preset [`Material`][diffsc.Material] by name ("Al", "Pb", "Nb", "Ta", "NbN", "TiN", "NbSe2").

    Values are defaults from the literature (module docstring); override any with
    ``material("Al").replace(tau0=...)``.
    """
    try:
        params = _PRESETS[name]
    except KeyError:
        raise ValueError(
            f"diffsc: unknown material {name!r}; presets: {sorted(_PRESETS)}"
        ) from None
    return Material(name=name, **params)


def material_names() -> list[str]:
    """Names of the available presets."""
    return sorted(_PRESETS)
