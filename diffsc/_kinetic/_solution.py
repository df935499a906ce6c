"""Result object of the kinetic steady-state solver."""

from __future__ import annotations

import equinox as eqx
import jax.numpy as jnp
from jaxtyping import Array, Bool, Float, Int

from .._core._results import RESULTS as _RESULTS

# The one enumeration of solver outcomes (codes 0-2 are the kinetic solver's, unchanged).
RESULTS = _RESULTS


class KineticSolution(eqx.Module):
    r"""Steady state of the kinetic equations (SI units, energies in eV).

    **Fields:**

    - `energies`: quasiparticle bin energies $E_i$, eV, shape (N,).
    - `f`: occupation $f(E_i)$ (dimensionless).
    - `dos`: bin-averaged BCS density of states $\bar\rho_i$ at the solution's gap.
    - `bin_width`: $\delta$, eV ($h\nu/\delta$ is an integer).
    - `phonon_energies`: $\Omega_j=j\delta$, eV, shape (3N-1,).
    - `n`: phonon occupation $n(\Omega_j)$; `n_bath`: $n_B(\Omega_j,T_b)$.
    - `phonon_power_spectrum`: $dP/d\Omega=D_{ph}\Omega(n-n_B)/\tau_{esc}$, W/(m^3 eV).
    - `gap`: $\Delta$ used (self-consistent or held), eV; `gap_thermal`: the gap of the same
      discretised gap equation with the Fermi function at $T_b$, eV.
    - `nqp`: $4N_0\sum_if_i\bar\rho_i\delta$, 1/m^3; `nqp_thermal`: same with the thermal $f$;
      `nqp_thermal_exact`: the exact integral $4N_0\int_\Delta^\infty\rho f\,dE$ of the thermal
      $f$ at the same gap (`gap_thermal`), 1/m^3. Their ratio is the grid's counting error
      (`nqp_discretisation_error`).
    - `tau_qp`: number-averaged recombination time $n_{qp}/\Gamma_r$, s.
    - `drive_rate`: the photon drive strength $B$ of the kinetic equation (S-Al Eq. 1), a rate, 1/s.
    - `absorbed_power` (sub-gap photons), `power_qp_to_phonons`, `power_to_bath`: W/m^3; in
      steady state $P_{qp\to ph}=P_{abs}+P_s$ and $P_{ph\to b}=P_{abs}+P_s+P_{ph}$.
    - `pair_breaking_power`: $P_s$, W/m^3, of the optional pair-breaking photons;
      `pair_breaking_rate`: their strength $B_s$, 1/s; `pair_generation_rate`: the net number of
      quasiparticles they create, $4N_0\int\rho I^s_{qp}dE$, 1/(m^3 s) (0 without them).
    - `drive_generation_rate`: the net number of quasiparticles the sub-gap drive creates,
      $4N_0\int\rho I_{qp}dE$, 1/(m^3 s): 0 to round-off (it only moves quasiparticles) except
      in the literature-compatibility mode ``gap_edge_drive_weight < 1``, where it is the
      spurious generation of that convention.
    - `sigma1_grid`: grid-consistent $\sigma_1/\sigma_N$ with
      $P_{abs}=4N_0B(h\nu)^2\sigma_1/\sigma_N$ (with ``gap_edge_drive_weight < 1`` it includes
      the energy of the spurious quasiparticles, so it is not the Mattis–Bardeen $\sigma_1$).
    - `freq`: drive frequency, Hz; `T_bath`: K.
    - `residual_norm`: max relative rate residual; `n_steps`: Newton steps (all stages);
      `result`: [`RESULTS`][diffsc.RESULTS] code; `success`: bool.
    """

    energies: Float[Array, " N"]
    f: Float[Array, " N"]
    dos: Float[Array, " N"]
    bin_width: Float[Array, ""]
    phonon_energies: Float[Array, " M"]
    n: Float[Array, " M"]
    n_bath: Float[Array, " M"]
    phonon_power_spectrum: Float[Array, " M"]
    gap: Float[Array, ""]
    gap_thermal: Float[Array, ""]
    nqp: Float[Array, ""]
    nqp_thermal: Float[Array, ""]
    nqp_thermal_exact: Float[Array, ""]
    tau_qp: Float[Array, ""]
    drive_rate: Float[Array, ""]
    absorbed_power: Float[Array, ""]
    pair_breaking_rate: Float[Array, ""]
    pair_breaking_power: Float[Array, ""]
    pair_generation_rate: Float[Array, ""]
    drive_generation_rate: Float[Array, ""]
    power_qp_to_phonons: Float[Array, ""]
    power_to_bath: Float[Array, ""]
    sigma1_grid: Float[Array, ""]
    freq: Float[Array, ""]
    T_bath: Float[Array, ""]
    residual_norm: Float[Array, ""]
    n_steps: Int[Array, ""]
    result: Int[Array, ""]
    success: Bool[Array, ""]

    @property
    def nqp_discretisation_error(self):
        r"""Relative error of the grid's quasiparticle count for the thermal $f$,
        `nqp_thermal` / `nqp_thermal_exact` - 1 (dimensionless): the bin sum
        $4N_0\sum_if_i\bar\rho_i\delta$ evaluates $f$ at the bin centres, and the gap-edge bin,
        whose DOS weight piles up at $E=\Delta$, sees $f(E_0)$ instead of $f$ near $\Delta$
        (about $+0.1$-$0.4$ % at 600 bins of $\Delta_0/125$, 320-120 mK; it shrinks with the bin
        width). The driven `nqp` has a counting error of the same order; at low temperature its
        dependence on the bin width can be larger (docs/kinetic.md, §Comparison with published
        simulations)."""
        return self.nqp_thermal / self.nqp_thermal_exact - 1.0

    @property
    def gap_shift(self):
        """Drive-induced gap change $\\Delta-\\Delta_{thermal}$, eV."""
        return self.gap - self.gap_thermal

    def sigma(self, freq=None):
        r"""Mattis–Bardeen $(\sigma_1/\sigma_N,\sigma_2/\sigma_N)$ at `freq` (Hz; default: the drive
        frequency) for this $f(E)$ and gap, via [`mattis_bardeen_nonequilibrium`][diffsc.mattis_bardeen_nonequilibrium]."""
        from .._superconductor._mattis_bardeen import mattis_bardeen_nonequilibrium

        freq = self.freq if freq is None else freq
        E = jnp.maximum(self.energies, self.gap * (1.0 + 1e-9))
        E = E.at[1:].set(jnp.maximum(E[1:], E[:-1] * (1.0 + 1e-12)))
        f = jnp.clip(self.f, 1e-300, 0.5 - 1e-12)
        return mattis_bardeen_nonequilibrium(freq, self.gap, E, f)
