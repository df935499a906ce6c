"""Pair-breaking photons (h nu_s > 2 gap) as an extra drive of the kinetic steady state."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import diffsc
from diffsc import constants
from diffsc._kinetic import _collisions as co  # internal: collision kernels
from diffsc._kinetic import _steady_state as ss  # internal: the solver's reduced problem

e, h = constants.e, constants.h

AL = diffsc.material("Al")
FREQ, FREQ_S, TAU_ESC, T = 5.57e9, 120e9, 0.17e-9, 0.12
OPTS = dict(tau_esc=TAU_ESC, n_bins=64, pair_breaking_freq=FREQ_S, throw=False)


def solve(P_s, P=0.0, **kw):
    return diffsc.kinetic_steady_state(AL, T, FREQ, P, pair_breaking_power_density=P_s,
                                       **{**OPTS, **kw})


def test_energy_and_number_balance():
    """P_qp->ph = P_ph->bath = P_abs + P_s; the photons' net quasiparticle generation equals
    the net recombination, and is (just below) two quasiparticles per absorbed photon of the
    lattice energy."""
    P_s, P = 10.0, 100.0
    s = solve(P_s, P)
    assert bool(s.success)
    np.testing.assert_allclose(s.power_to_bath, P + P_s, rtol=1e-6)
    np.testing.assert_allclose(s.power_qp_to_phonons, P + P_s, rtol=1e-6)
    args = [jnp.asarray(a) for a in (T, FREQ, P, TAU_ESC, 0.0)]
    grid, p, _, _ = ss._problem(AL, *args, None, None, ss.SolverOptions.from_kwargs(n_bins=64),
                                jnp.asarray(P_s), jnp.asarray(FREQ_S))
    v, gap = jnp.log(s.f / (1 - s.f)), s.gap / AL.gap0
    r = co.rates(v, gap, grid, p)
    recombination = -4 * AL.N0 * AL.gap0 * jnp.sum(s.dos * s.f * r["recombination"]) * grid.delta / AL.tau0
    np.testing.assert_allclose(s.pair_generation_rate, recombination, rtol=1e-8)
    hnu_s = p.pair_breaking_bins.astype(float) * grid.delta * AL.gap0  # eV: the photon energy rounded to the lattice
    assert abs(float(hnu_s) / (h * FREQ_S) - 1) < 0.5 * float(grid.delta) / float(hnu_s / AL.gap0)
    photons = P_s / (hnu_s * e)  # absorbed photons per m^3 per s
    # at 120 mK almost every absorbed photon breaks a pair (few quasiparticles to absorb it)
    assert 0.999 * 2 * photons < float(s.pair_generation_rate) < 2 * photons


def test_strong_drive_is_recombination_limited_and_beats_subgap_photons():
    """Pair breaking creates quasiparticles directly: at 120 mK 10 W/m^3 of it gives >100x the
    n_qp of the same sub-gap power; at strong drive n_qp ~ sqrt(P_s) (generation = R n_qp^2)."""
    lo, hi = solve(10.0), solve(1000.0)
    sub = solve(0.0, 10.0)
    assert bool(lo.success) and bool(hi.success) and bool(sub.success)
    assert float(lo.nqp) > 100 * float(sub.nqp)
    np.testing.assert_allclose(hi.nqp / lo.nqp, 10.0, rtol=0.05)
    assert float(hi.gap) < float(lo.gap) < float(sub.gap)  # more quasiparticles, smaller gap


def test_jacobian_with_pair_breaking_matches_autodiff():
    args = [jnp.asarray(a) for a in (0.2, FREQ, 30.0, TAU_ESC, 0.0)]
    grid, p, _, x0 = ss._problem(AL, *args, None, None, ss.SolverOptions.from_kwargs(n_bins=40),
                                 jnp.asarray(50.0), jnp.asarray(FREQ_S))
    v = x0[:-1] + 0.3 * jnp.sin(jnp.arange(40.0))
    gap = x0[-1] * 0.999
    R, J, _ = co.residual_jacobian(v, gap, grid, p)
    Jad = jax.jacfwd(co.residual)(v, gap, grid, p)
    np.testing.assert_allclose(J, Jad, atol=1e-12 * float(jnp.max(jnp.abs(Jad))))
    # the pair-breaking term is really in the residual
    R0 = co.residual(v, gap, grid, p.replace(pair_breaking_power=None, pair_breaking_bins=None))
    assert float(jnp.max(jnp.abs(R - R0))) > 1e-3 * float(jnp.max(jnp.abs(R)))


def test_implicit_gradient_in_pair_breaking_power():
    def nqp(P_s):
        return solve(P_s).nqp

    g = jax.grad(nqp)(100.0)
    fd = (nqp(100.0 * 1.001) - nqp(100.0 * 0.999)) / 0.2
    np.testing.assert_allclose(g, fd, rtol=1e-5)


def test_bad_pair_breaking_input_named():
    with pytest.raises(Exception, match="pair_breaking_freq"):
        solve(1.0, pair_breaking_freq=40e9)  # h nu_s < 2 gap: not pair breaking
    with pytest.raises(ValueError, match="pair_breaking_freq"):
        diffsc.kinetic_steady_state(AL, T, FREQ, 0.0, tau_esc=TAU_ESC, n_bins=64,
                                    pair_breaking_power_density=1.0)
    with pytest.raises(Exception, match="pair_breaking_power_density"):
        solve(-1.0)
