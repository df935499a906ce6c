r"""Energy lattice of the kinetic equations (reduced units: energies in units of $\Delta_0$).

Quasiparticle bins are centred on a fixed lattice $E_i=(k_0/2+i)\,\delta$, $i=0..N-1$, with
$\delta=h\nu/m$ ($m$ integer bins per photon) and $k_0=\mathrm{round}(2\Delta_{th}/\delta)$ fixed by
the thermal gap. Bin $i$ covers $[E_i-\delta/2,E_i+\delta/2]\cap[\Delta,\infty)$ and carries the
bin-integrated BCS density of states
$$\bar\rho_i=\delta^{-1}\Big[\sqrt{b_i^2-\Delta^2}-\sqrt{a_i^2-\Delta^2}\Big],\quad
a_i=\max(E_i-\tfrac\delta2,\Delta),\ b_i=\max(E_i+\tfrac\delta2,\Delta).$$
Because the lattice does not move with $\Delta$, every transfer is exact on the lattice:
scattering $E_l-E_i=(l-i)\delta$, photons $E_i+h\nu=E_{i+m}$, recombination
$E_i+E_k=(k_0+i+k)\delta$ on the phonon lattice $\Omega_j=j\delta$ ($j=0..3N-2$). The gap enters
only through $\bar\rho_i$ and the coherence factors, so it can move continuously (self-consistent
gap, implicit derivatives) without re-gridding; conservation laws and detailed balance stay exact.
"""

from __future__ import annotations

import equinox as eqx
import jax.numpy as jnp
from jaxtyping import Array, Float, Int


class GridOptions(eqx.Module):
    r"""Static choice of the kinetic lattice (hashable: a static argument of ``jit``).

    **Fields:**

    - `n_bins`: number $N$ of quasiparticle bins (>= 16).
    - `bins_per_photon`: $m=h\nu/\delta$, a positive int, or None (chosen so that $N\delta$ spans
      the energy extent, `make_grid`).

    The energy extent is not an option here: it is a physical value (eV) that may be traced.
    """

    n_bins: int = eqx.field(default=500, static=True, converter=int)
    bins_per_photon: int | None = eqx.field(default=None, static=True)

    def __check_init__(self):
        if self.n_bins < 16:
            raise ValueError(f"diffsc: argument `n_bins` must be >= 16, got {self.n_bins}.")


class Grid(eqx.Module):
    """Kinetic energy lattice in reduced units (energies / gap0)."""

    delta: Float[Array, ""]
    k0: Int[Array, ""]
    m: Int[Array, ""]
    n_bins: int = eqx.field(static=True)

    @property
    def n_phonons(self) -> int:
        return 3 * self.n_bins - 1

    @property
    def energies(self):
        # integer lattice indices cast explicitly to the default float (strict dtype promotion)
        return (0.5 * self.k0.astype(float) + jnp.arange(self.n_bins, dtype=float)) * self.delta

    @property
    def phonon_energies(self):
        return jnp.arange(self.n_phonons, dtype=float) * self.delta


def _safe_sqrt(x):
    pos = x > 0
    return jnp.where(pos, jnp.sqrt(jnp.where(pos, x, 1.0)), 0.0)


def sqrt_diff_squares(x, y):
    r"""$\sqrt{x^2-y^2}$ for $x\ge y\ge0$ (0 if $x\le y$), formed as $\sqrt{(x-y)(x+y)}$.

    Not ``x*x - y*y``: a compiler that contracts it to a fused multiply-add returns the rounding
    error of $y^2$ (~1e-16) instead of 0 at $x=y$, and the square root turns that into ~1e-8;
    for the bin that contains the gap this was a 2e-8 noise in its DOS that stalled Newton at
    a relative residual of ~1e-9 under ``jit``."""
    return _safe_sqrt((x - y) * (x + y))


def bin_dos(grid: Grid, gap):
    r"""Bin-averaged BCS DOS $\bar\rho_i$ (dimensionless) on the lattice for gap $\Delta$ (reduced)."""
    E = grid.energies
    d = grid.delta
    a = jnp.maximum(E - 0.5 * d, gap)
    b = jnp.maximum(E + 0.5 * d, gap)
    return (sqrt_diff_squares(b, gap) - sqrt_diff_squares(a, gap)) / d


def make_grid(hnu, gap_thermal, kT, n_bins: int, bins_per_photon, extent):
    """Choose the lattice (reduced units). ``bins_per_photon`` static int or None; ``extent`` the
    energy span above the gap (reduced), traced; integer choices carry no derivative."""
    if bins_per_photon is None:
        m = jnp.maximum(jnp.round(hnu * n_bins / extent), 1.0).astype(int)
    else:
        m = jnp.asarray(int(bins_per_photon))
    delta = hnu / m.astype(jnp.result_type(hnu))
    k0 = jnp.round(2.0 * jax_stop(gap_thermal) / jax_stop(delta)).astype(int)
    return Grid(delta=delta, k0=k0, m=m, n_bins=n_bins)


def jax_stop(x):
    import jax

    return jax.lax.stop_gradient(x)
