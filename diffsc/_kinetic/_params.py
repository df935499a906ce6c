r"""The physics of one kinetic problem in reduced units, as a typed ``equinox.Module``.

Reduced units (``_grid``, ``_collisions``): energies in units of $\Delta_0$, times in units of
$\tau_0$ (the material's electron–phonon time), power densities in units of
$4N_0\Delta_0^2/\tau_0$ (`_steady_state._problem` returns that unit in W/m^3). Every
field is a JAX array (a leaf: traced under ``jit``, differentiated by the implicit rule of
`_solver.make_root`) except the two optional pair-breaking fields, which are None when
there are no pair-breaking photons (a structural, static choice).
"""

from __future__ import annotations

import dataclasses

import equinox as eqx
from jaxtyping import Array, Float, Int


class ReducedParams(eqx.Module):
    r"""Reduced physics parameters of the Chang–Scalapino equations (docs/kinetic.md, §Model and time scales).

    **Fields** (all dimensionless numbers in reduced units):

    - `K_s`: electron–phonon coefficient $K_s=(\Delta_0/k_BT_c)^3$.
    - `K_p`: phonon pair-breaking/scattering coefficient $K_p=\tau_0/(\pi\tau_0^{ph})$.
    - `escape_rate`: phonon escape rate $e_s=\tau_0/\tau_{esc}$ (per $\tau_0$).
    - `kT`: bath temperature $k_BT_b/\Delta_0$.
    - `debye`: Debye energy $\Omega_D/\Delta_0$ (cutoff of the gap equation).
    - `gap_thermal`: $\Delta_{BCS}(T_b)/\Delta_0$ (the held gap, and the lattice origin).
    - `power`: absorbed sub-gap photon power density $P_{abs}$, in $4N_0\Delta_0^2/\tau_0$.
    - `phonon_injection`: injected phonons $J_j$ per $\tau_0$ at each phonon lattice energy
      $\Omega_j=j\delta$, shape (3N-1,) (zeros without injected phonons).
    - `pair_breaking_power`: absorbed pair-breaking photon power density $P_s$, in
      $4N_0\Delta_0^2/\tau_0$, or None (no pair-breaking photons).
    - `pair_breaking_bins`: pair-breaking photon energy in lattice bins, $m_s=h\nu_s/\delta$
      (integer array), or None.
    - `gap_edge_drive_weight`: weight $w$ of the gap-edge bin's photon-absorption loss in the
      sub-gap drive (static float; 1: number-conserving, 0.5: the published code's convention;
      `_collisions._drive_terms`).
    """

    K_s: Float[Array, ""]
    K_p: Float[Array, ""]
    escape_rate: Float[Array, ""]
    kT: Float[Array, ""]
    debye: Float[Array, ""]
    gap_thermal: Float[Array, ""]
    power: Float[Array, ""]
    phonon_injection: Float[Array, " L"]
    pair_breaking_power: Float[Array, ""] | None = None
    pair_breaking_bins: Int[Array, ""] | None = None
    gap_edge_drive_weight: float = eqx.field(default=1.0, static=True)

    @property
    def has_pair_breaking(self) -> bool:
        """Whether pair-breaking photons drive the film (a static, Python bool)."""
        return self.pair_breaking_power is not None

    def replace(self, **changes) -> ReducedParams:
        """A copy with the named fields replaced."""
        return dataclasses.replace(self, **changes)

    def scaled_drive(self, frac) -> ReducedParams:
        """The same problem with every drive (sub-gap and pair-breaking photons, injected
        phonons) scaled by `frac` (the continuation stages of `_solver.solve`)."""
        return self.replace(
            power=self.power * frac,
            phonon_injection=self.phonon_injection * frac,
            pair_breaking_power=(
                None if self.pair_breaking_power is None else self.pair_breaking_power * frac
            ),
        )
