"""Physics tests of the Chang–Scalapino kinetic solver (diffsc._kinetic)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import diffsc
from diffsc import bose, constants, fermi, kinetic_steady_state
from diffsc._kinetic import _collisions as co  # internal: collision kernels
from diffsc._kinetic import _grid as gr  # internal: the energy lattice
from diffsc._kinetic import _steady_state as ss  # internal: the solver's reduced problem

e, h = constants.e, constants.h

AL = diffsc.material("Al")
FREQ = 5.57e9
TAU_ESC = 0.17e-9
OPTS = dict(tau_esc=TAU_ESC, n_bins=96, throw=False)


def solve(T, P, **kw):
    return kinetic_steady_state(AL, T, FREQ, P, **{**OPTS, **kw})


@pytest.mark.parametrize("T", [0.06, 0.32, 1.0])
def test_zero_drive_is_thermal(T):
    s = solve(T, 0.0)
    assert bool(s.success)
    np.testing.assert_allclose(s.f, fermi(s.energies, T), rtol=1e-10)
    m = s.n_bath > 1e-250
    np.testing.assert_allclose(s.n[m], bose(s.phonon_energies, T)[m], rtol=1e-10)
    assert abs(float(s.gap - s.gap_thermal)) < 1e-8 * float(s.gap)


def _setup(T, P, N=48):
    gap_th = diffsc.gap(T, AL) / AL.gap0
    p = ss._reduced_params(AL, T, TAU_ESC, "energy_conserving", gap_thermal=gap_th,
                           power=P / (4 * AL.N0 * AL.gap0**2 / AL.tau0 * e),
                           phonon_injection=jnp.zeros(()))
    grid = gr.make_grid(h * FREQ / AL.gap0, gap_th, p.kT, N, None, 4.0)
    return grid, p.replace(phonon_injection=jnp.zeros(grid.n_phonons)), gap_th


def test_conservation_identities_random_state():
    """Scattering and photons conserve n_qp; qp->phonon power equals the phonon gain for an
    arbitrary (f, n) with the energy-conserving tau0_ph (physics reference §3.6)."""
    grid, p, gap = _setup(0.3, 1e3)
    rng = np.random.default_rng(0)
    v = jnp.asarray(-grid.energies / 0.05 + rng.normal(0, 1, grid.n_bins))
    w = jnp.asarray(-grid.phonon_energies / 0.06 + rng.normal(0, 1, grid.n_phonons))
    f = jax.nn.sigmoid(v)
    rho = gr.bin_dos(grid, gap)
    d = grid.delta
    rs, rr = co.collision_rates(v, w, gap, grid, p)
    scale = jnp.sum(rho * f * jnp.abs(rs))
    assert abs(float(jnp.sum(rho * f * rs))) < 1e-12 * float(scale)
    q, Z = co._drive_q(v, gap, grid)
    assert abs(float(jnp.sum(rho * f * q))) < 1e-12 * float(jnp.sum(rho * f * jnp.abs(q)))
    # phonon gain from the same (f, n): dn/dt|qp = -Gamma_qp n + S_qp
    gamma_qp, S_qp = co.phonon_rates(v, gap, grid, p)
    L = grid.n_phonons
    n = jnp.where(jnp.arange(L) > 0, jnp.exp(w), 0.0)
    ndot = -gamma_qp * n + S_qp
    Om = grid.phonon_energies
    gain = p.K_s / (2 * p.K_p) * jnp.sum(Om**3 * ndot) * d
    loss = -jnp.sum(grid.energies * rho * d * f * (rs + rr))
    np.testing.assert_allclose(gain, loss, rtol=1e-6)


@pytest.mark.parametrize("T, P", [(0.12, 100.0), (0.2, 1e3), (0.32, 1e4)])
def test_drive_conserves_quasiparticles_on_the_solution(T, P):
    """On converged solutions: the sub-gap drive moves quasiparticles but creates none,
    sum_i rho_i I_i dE = 0 to round-off of the gross photon rates, in the solver's own
    discretisation; and the absorbed power it carries is P_abs (bin-wise sum, no pair form)."""
    s = solve(T, P, n_bins=96, continuation=4)
    assert bool(s.success)
    grid, p, unit_P, _ = ss._problem(AL, jnp.asarray(T), jnp.asarray(FREQ), jnp.asarray(P),
                                     jnp.asarray(TAU_ESC), jnp.zeros(()), None, None,
                                     ss.SolverOptions.from_kwargs(n_bins=96))
    f = np.asarray(s.f)
    v = jnp.asarray(np.log(f) - np.log1p(-f))
    gap = s.gap / AL.gap0
    q, _ = co._drive_q(v, gap, grid)
    rho = gr.bin_dos(grid, gap)
    B = s.drive_rate * AL.tau0  # reduced drive strength of the solution
    rate = B * rho * f * q * grid.delta  # photon-induced d(n_qp)/dt per bin, reduced
    assert abs(float(jnp.sum(rate))) < 1e-12 * float(jnp.sum(jnp.abs(rate)))
    absorbed = float(jnp.sum(grid.energies * rate)) * unit_P
    np.testing.assert_allclose(absorbed, P, rtol=1e-7)


@pytest.mark.parametrize("T", [0.06, 0.3])
def test_thermal_escape_power_matches_the_eliminated_phonons(T):
    """The start's explicit escape power of a thermal f at T* (detailed balance: n from Gamma
    alone, three matrix-vector products) equals the general phonon elimination (log-space
    sources over Gamma) to round-off, with injected phonons and a gap off its thermal value."""
    grid, p, gap = _setup(T, 10.0, N=64)
    p = p.replace(phonon_injection=p.phonon_injection.at[100].set(1e-3))
    power = co.thermal_escape_power(0.98 * gap, grid, p)
    for r in (1.0, 1.5, 3.0):
        kts = r * p.kT
        w, _ = co.log_phonons(-grid.energies / kts, 0.98 * gap, grid, p)
        ref = jnp.sum(co.phonon_escape_power(w, grid, p)[0]) * grid.delta
        np.testing.assert_allclose(power(kts), ref, rtol=1e-12)
    assert float(power(2 * p.kT)) > float(power(p.kT)) > 0.0  # hotter qp: more power


def test_jacobian_matches_autodiff():
    grid, p, gap = _setup(0.2, 100.0, N=40)
    v = -grid.energies / 0.07 + 0.3 * jnp.sin(jnp.arange(40.0))
    R, J, scale = co.residual_jacobian(v, gap * 1.001, grid, p)
    np.testing.assert_allclose(scale, co.residual_and_scale(v, gap * 1.001, grid, p)[1], rtol=1e-12)
    Jad = jax.jacfwd(co.residual)(v, gap * 1.001, grid, p)
    np.testing.assert_allclose(J, Jad, atol=1e-12 * float(jnp.max(jnp.abs(Jad))))


def test_power_balance_and_paper_320mK():
    T, P = 0.32, 1e4
    s = solve(T, P)
    assert bool(s.success), float(s.residual_norm)
    np.testing.assert_allclose(s.power_to_bath, P, rtol=1e-6)
    np.testing.assert_allclose(s.power_qp_to_phonons, P, rtol=1e-6)
    # grid-consistent sigma1 identity P = 4 N0 B (h f)^2 sigma1/sigma_N
    hf = h * FREQ
    P_id = 4 * AL.N0 * s.drive_rate * hf**2 * s.sigma1_grid * e
    np.testing.assert_allclose(P_id, P, rtol=1e-9)
    # Fig. 2: the drive depletes the states between gap and gap + h f ...
    m = int(round(hf / float(s.bin_width)))
    f_th = fermi(s.energies, T)
    assert float(jnp.min(s.f[:m] / f_th[:m])) < 0.98
    # ... and Fig. 3e: the self-consistent gap is enhanced at high T_bath
    assert float(s.gap_shift) > 0


def test_gradients_match_finite_differences():
    T, P = 0.32, 1e4

    def nqp(T):
        return solve(T, P).nqp

    def gap_of_P(P):
        return solve(T, P).gap

    g = jax.grad(nqp)(T)
    hT = 1e-4
    fd = (nqp(T + hT) - nqp(T - hT)) / (2 * hT)
    np.testing.assert_allclose(g, fd, rtol=1e-4)
    gP = jax.grad(gap_of_P)(P)
    fdP = (gap_of_P(P * 1.001) - gap_of_P(P * 0.999)) / (0.002 * P)
    np.testing.assert_allclose(gP, fdP, rtol=1e-3)


def test_reported_rates_are_those_of_the_solution_and_differentiable():
    """The phonons, collision rates and tau_qp come from the solver's last residual evaluation
    (no new one); they must equal a fresh evaluation at the returned f and gap, and carry
    implicit derivatives: d(power to bath)/d(absorbed power) = 1 (energy balance), and
    d tau_qp / d tau_esc against finite differences."""
    T, P = 0.24, 300.0
    s = solve(T, P, self_consistent_gap=True)
    assert bool(s.success)
    args = [jnp.asarray(a) for a in (T, FREQ, P, TAU_ESC, 0.0)]
    grid, p, unit_P, _ = ss._problem(AL, *args, None, None, ss.SolverOptions.from_kwargs(n_bins=96))
    v, gap = jnp.log(s.f / (1 - s.f)), s.gap / AL.gap0
    w, gamma = co.log_phonons(v, gap, grid, p)
    _, n, _ = co.phonon_escape_power(w, grid, p)
    np.testing.assert_allclose(s.n[1:], n[1:], rtol=1e-9)
    rs, rr = co.collision_rates(v, w, gap, grid, p)
    rho = co.bin_dos(grid, gap)
    P_qp = -jnp.sum(grid.energies * rho * grid.delta * s.f * (rs + rr)) * unit_P
    np.testing.assert_allclose(s.power_qp_to_phonons, P_qp, rtol=1e-9)

    def outputs(theta):  # one forward-mode derivative program for both checks
        s = solve(T, theta[0], tau_esc=theta[1])
        return jnp.stack([s.power_to_bath, s.tau_qp])

    theta = jnp.array([P, TAU_ESC])
    jac = jax.jacfwd(outputs)(theta)
    np.testing.assert_allclose(jac[0, 0], 1.0, rtol=1e-6)
    hx = jnp.array([0.0, 1e-3 * TAU_ESC])
    fd = (outputs(theta + hx)[1] - outputs(theta - hx)[1]) / (2 * hx[1])
    g = jac[1, 1]
    np.testing.assert_allclose(g, fd, rtol=1e-5)
    assert abs(float(g)) > 0


def test_failure_is_reported():
    s = solve(0.32, 1e4, max_steps=1, continuation=0)
    assert not bool(s.success) and int(s.result) == int(diffsc.RESULTS.max_steps_reached)
    with pytest.raises(Exception, match="did not converge"):
        kinetic_steady_state(AL, 0.32, FREQ, 1e4, tau_esc=TAU_ESC, n_bins=96, max_steps=1,
                             continuation=0, throw=True)
    # the package-wide default is throw=False: the same solve returns, flagged
    s = kinetic_steady_state(AL, 0.32, FREQ, 1e4, tau_esc=TAU_ESC, n_bins=96, max_steps=1,
                             continuation=0)
    assert not bool(s.success) and int(s.result) == 1


def test_bad_input_named():
    with pytest.raises(Exception, match="tau_esc"):
        solve(0.3, 1.0, tau_esc=-1.0)


# h*freq above 2*gap(0.3 K); too few bins to reach 3*gap; a pair-breaking photon below 2*gap
_BAD_PROBLEMS = [
    (dict(), 0.3, 1.5e11, "sub-gap"),
    (dict(n_bins=16, bins_per_photon=64), 0.3, FREQ, "energy grid is too short"),
    (dict(pair_breaking_power_density=1.0, pair_breaking_freq=5e10), 0.3, FREQ,
     "pair_breaking_freq"),
    (dict(), 1.3, FREQ, "T_bath` must be < Tc"),
]


@pytest.mark.parametrize("kw, T, freq, match", _BAD_PROBLEMS)
def test_bad_problem_raises_eagerly_and_under_jit(kw, T, freq, match):
    """Checks that need the gap or the grid: an eager call raises InvalidArgumentError (decided
    in NumPy from the flags the compiled solve returns); under jit, equinox's runtime error."""
    with pytest.raises(diffsc.InvalidArgumentError, match=match):
        kinetic_steady_state(AL, T, freq, 1.0, **{**OPTS, **kw})
    with pytest.raises(Exception, match=match):
        jax.jit(lambda t: kinetic_steady_state(AL, t, freq, 1.0, **{**OPTS, **kw}).nqp)(T)


@pytest.mark.parametrize("kw", [dict(), dict(pair_breaking_power_density=1.0,
                                             pair_breaking_freq=1.5e11,
                                             phonon_power_density=1.0, phonon_energy=1e-3)])
def test_compiled_solve_has_no_host_callback(kw):
    """JAX's persistent compilation cache skips programs with host callbacks (equinox.error_if):
    the compiled solve must hold none, or every new process recompiles it (~8 s)."""
    args = ss._check_common(AL, 0.32, FREQ, TAU_ESC, None)
    T, f, tau, ext = args
    Ps = fs = Om = None
    if kw:
        Ps, fs, Om = jnp.asarray(1.0), jnp.asarray(1.5e11), jnp.asarray(1e-3)
    lowered = ss._solve_compiled.lower(
        AL, T, f, jnp.asarray(10.0), tau, jnp.asarray(1.0 if kw else 0.0), Om, ext, Ps, fs,
        options=ss.SolverOptions.from_kwargs(n_bins=32, throw=True))
    assert "callback" not in lowered.as_text()


def test_low_temperature_drive_creates_quasiparticles_and_suppresses_the_gap():
    """S-Al Fig. 2-3 at 120 mK: excess quasiparticles growing sub-linearly with power,
    self-consistent gap suppressed; at 320 mK the gap is enhanced."""
    opts = dict(tau_esc=TAU_ESC, n_bins=64, energy_extent=4 * AL.gap0, continuation=2, throw=False)
    fn = jax.jit(jax.vmap(lambda t, p: kinetic_steady_state(AL, t, FREQ, p, **opts)))
    s = fn(jnp.array([0.12, 0.12, 0.32]), jnp.array([10.0, 100.0, 100.0]))
    assert bool(jnp.all(s.success))
    nqp, nqp_th = np.asarray(s.nqp), np.asarray(s.nqp_thermal)
    assert nqp[0] > 5 * nqp_th[0] and nqp[1] > 5 * nqp[0]
    assert 0.3 < np.log(nqp[1] / nqp[0]) / np.log(10.0) < 1.0  # sub-linear (P^0.86 on this grid)
    shift = np.asarray(s.gap - s.gap_thermal)
    assert shift[1] < shift[0] < 0  # suppression grows with power at 120 mK
    assert shift[2] > 0  # enhancement at 320 mK
    np.testing.assert_allclose(np.asarray(s.power_to_bath), [10.0, 100.0, 100.0], rtol=1e-6)


def test_gap_bin_dos_is_exact_under_jit():
    """The bin that contains the gap has rho = sqrt(b^2 - gap^2)/delta exactly, also when the
    compiler contracts products to fused multiply-adds (formed as sqrt((b-gap)(b+gap)); the naive
    b*b - gap*gap left a 2e-8 noise that stalled Newton at a residual of ~1e-9)."""
    grid, p, gap = _setup(0.24, 100.0, N=64)
    gaps = gap * (1.0 + jnp.linspace(-1e-6, 1e-6, 7))
    rho = jax.jit(jax.vmap(lambda g: gr.bin_dos(grid, g)))(gaps)
    E, d = np.asarray(grid.energies), float(grid.delta)
    for g, r in zip(np.asarray(gaps), np.asarray(rho), strict=True):
        k = int(np.searchsorted(E + 0.5 * d, g))  # bin with E - d/2 < gap < E + d/2
        b = E[k] + 0.5 * d
        np.testing.assert_allclose(r[k], np.sqrt((b - g) * (b + g)) / d, rtol=1e-14)
        assert np.all(r[:k] == 0.0)


def test_newton_converges_quadratically_to_round_off():
    """At 240 mK and 100 W/m^3 the solve reaches a relative rate residual of 1e-13 within a
    few Newton steps (before the fix above it stalled at 1e-9 after 400 steps)."""
    s = solve(0.24, 100.0, n_bins=64, rtol=1e-13, continuation=0, max_steps=30)
    assert bool(s.success) and int(s.n_steps) < 15, (float(s.residual_norm), int(s.n_steps))


def test_same_shapes_compile_once():
    """A batch (vmap over T_bath and power) and repeated calls with new values reuse one
    compiled program per static configuration."""
    cache = ss._solve_compiled._cached
    fn = jax.jit(jax.vmap(lambda t, p: kinetic_steady_state(AL, t, FREQ, p, **OPTS).nqp))
    fn(jnp.array([0.3, 0.32]), jnp.array([10.0, 20.0]))
    n0 = cache._cache_size()
    compiled = fn._cache_size()
    for T, P in [(0.31, 5.0), (0.33, 40.0)]:
        fn(jnp.array([T, T + 0.01]), jnp.array([P, 2 * P]))
    assert fn._cache_size() == compiled and cache._cache_size() == n0


def test_converges_over_the_issue_range_from_a_thermal_start():
    """T_bath from 0.05 Tc to 0.9 Tc and powers from 0 to strong drive (1e5 W/m^3) on the
    default grid extent: every point converges (below ~0.2 K through the physical-time
    fallback) and conserves energy to 1e-6; at and below 0.1 K the drive creates many times
    the thermal quasiparticle number (the sign of the small change at 160 mK needs a finer grid
    than this one, see docs/kinetic.md)."""
    opts = dict(tau_esc=TAU_ESC, n_bins=48, throw=False)
    fn = jax.jit(lambda t, p: kinetic_steady_state(AL, t, FREQ, p, **opts))
    Tc = float(AL.Tc)
    for T in (0.05 * Tc, 0.1, 0.16, 0.9 * Tc):
        for P in (1.0, 100.0, 1e5):
            s = fn(T, P)
            assert bool(s.success), (T, P, int(s.n_steps), float(s.residual_norm))
            assert float(s.residual_norm) <= 1e-10
            # atol: near Tc 1 W/m^3 is a difference of thermal phonon flows ~1e6 times larger
            np.testing.assert_allclose(float(s.power_to_bath), P, rtol=1e-6, atol=1e-5)
            np.testing.assert_allclose(float(s.power_qp_to_phonons), P, rtol=1e-6, atol=1e-5)
            if T <= 0.1:
                assert float(s.nqp) > 10.0 * float(s.nqp_thermal)
