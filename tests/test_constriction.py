"""Constrictions: Sharvin/Wexler size, slab model, local critical fields, Lambda_Q*, phase slips."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.integrate import quad

import diffsc
from diffsc import (
    charge_imbalance_length,
    cone_resistance,
    constants,
    contact_radius,
    effective_relaxation_time,
    free_electron_resistivity,
    neck_iv,
    pair_breaking_time,
    penetration_depth_two_fluid,
    phase_slip_sites,
    phase_slip_voltage,
    sharvin_area,
    sharvin_resistance,
    slab_neck_profile,
    slab_neck_radius,
    superconducting_length,
    thermal_switching_currents,
    thermodynamic_critical_field,
    wexler_resistance,
)

hbar, k_B = constants.hbar, constants.k_B

PB = diffsc.material("Pb")
TH35 = math.radians(35)


def test_sharvin_pb_5_ohm():
    # physics ref. 7.1: R = 5 Ohm, free-electron lambda_F = 0.398 nm -> A = 130 nm^2, a = 6.4 nm
    lf = PB.fermi_wavelength
    assert lf == pytest.approx(0.398e-9, rel=1e-3)
    A = float(sharvin_area(5.0, lf))
    a = float(contact_radius(5.0, lf))
    assert A == pytest.approx(130e-18, rel=5e-3)
    assert a == pytest.approx(6.4e-9, rel=5e-3)  # the paper's "diameter 6 nm" is this radius
    assert A / lf**2 * math.pi == pytest.approx(12906.40373 / 5.0, rel=1e-9)  # N_ch = (h/2e^2)/R
    assert float(sharvin_resistance(A, lf)) == pytest.approx(5.0, rel=1e-12)


def test_wexler_limits_and_inverse():
    lf = PB.fermi_wavelength
    rho = float(free_electron_resistivity(10e-9, lf))
    assert rho == pytest.approx(4.87e-8, rel=1e-2)
    a = 8e-9
    rs = float(sharvin_resistance(math.pi * a**2, lf))
    # diffusive limit (l -> 0): Maxwell term rho/2a; ballistic (l >> a): Gamma -> 0.694
    r_diff = float(wexler_resistance(a, lf, mean_free_path=1e-15, resistivity=rho))
    r_ball = float(wexler_resistance(a, lf, mean_free_path=1e-3, resistivity=rho))
    assert r_diff - rs == pytest.approx(rho / (2 * a), rel=1e-6)
    assert r_ball - rs == pytest.approx(0.694 * rho / (2 * a), rel=1e-4)
    # inverse recovers the radius, and its implicit derivative matches finite differences
    R = float(wexler_resistance(a, lf, mean_free_path=10e-9, resistivity=rho))
    f = lambda RR: contact_radius(RR, lf, mean_free_path=10e-9, resistivity=rho)
    assert float(f(R)) == pytest.approx(a, rel=1e-10)
    fd = (float(f(R * (1 + 1e-6))) - float(f(R * (1 - 1e-6)))) / (2e-6 * R)
    assert float(jax.grad(f)(R)) == pytest.approx(fd, rel=1e-6)
    assert float(f(R)) > float(contact_radius(R, lf))  # diffusive term: a larger contact for the same R


def test_slab_model_conserves_volume_and_makes_a_staircase():
    a0, h, eps = 20e-9, 1e-9, 0.5
    z = jnp.linspace(0.0, 0.49e-9, 50)  # first plateau
    a = slab_neck_radius(z, a0, h, eps, 0.9)
    np.testing.assert_allclose(np.asarray(a) ** 2 * (h + np.asarray(z)), a0**2 * h, rtol=1e-12)
    z2 = jnp.linspace(0.0, 5e-9, 400)
    R = np.asarray(sharvin_resistance(math.pi * slab_neck_radius(z2, a0, h, eps, 0.9) ** 2, PB.fermi_wavelength))
    jumps = np.diff(R)
    assert np.all(jumps > 0)  # resistance only rises on stretching
    big = jumps / R[:-1] > 0.1  # in-plateau increments are ~1 % per grid step, yield jumps ~23 %
    assert big.sum() == 9  # 10 plateaus of length eps*h = 0.5 nm -> 9 steps inside (0, 5 nm)
    x, r = slab_neck_profile(6, a0, h, eps, 0.9)
    assert np.all(np.diff(np.asarray(r)[6:]) > 0) and float(x[6]) == 0.0
    np.testing.assert_allclose(np.asarray(r), np.asarray(r)[::-1])


def test_penetration_depth_and_superconducting_length_numbers():
    # physics ref. 7.3: lambda = 120 nm (dirty, 4.2 K); L_S = 457, 343, 274, 229 nm at 0.15..0.3 T
    lam = float(penetration_depth_two_fluid(4.2, PB))
    assert lam == pytest.approx(120e-9, rel=2e-3)
    assert float(thermodynamic_critical_field(4.2, PB)) == pytest.approx(0.053, rel=1e-2)
    LS = np.asarray(superconducting_length(jnp.array([0.15, 0.2, 0.25, 0.3]), 0.0, TH35, lam, 0.05))
    np.testing.assert_allclose(LS, [457e-9, 343e-9, 274e-9, 229e-9], rtol=3e-3)
    # exact form: zero when the narrowest disk itself is above its critical field 4 lambda Hc / a
    a = 5e-9
    assert float(superconducting_length(4 * lam * 0.05 / a * 1.01, a, TH35, lam, 0.05)) == 0.0


def test_charge_imbalance_length_numbers():
    # physics ref. 7.4: 228 nm; hbar/tau_PB = 0.2 k_B Tc reduces it by 1.80 (SS) or 1.84 (paper form)
    kw = dict(fermi_velocity=PB.fermi_velocity, mean_free_path=10e-9)
    L0 = float(charge_imbalance_length(4.2, 1.35e-3, 2.5e-11, **kw))
    assert L0 == pytest.approx(228e-9, rel=3e-3)
    tpb = hbar / (0.2 * k_B * 7.2)
    assert tpb == pytest.approx(5.3e-12, rel=1e-2)
    ss = float(charge_imbalance_length(4.2, 1.35e-3, 2.5e-11, tau_pb=tpb, **kw))
    pp = float(charge_imbalance_length(4.2, 1.35e-3, 2.5e-11, tau_pb=tpb, form="paper", **kw))
    assert L0 / ss == pytest.approx(1.80, abs=0.01)
    assert L0 / pp == pytest.approx(1.84, abs=0.01)
    # without pair breaking SS reduces to tau_E; the paper's form to tau_E / sqrt(2)
    assert float(effective_relaxation_time(2.5e-11)) == pytest.approx(2.5e-11, rel=1e-14)
    assert float(effective_relaxation_time(2.5e-11, 1e6, form="paper")) == pytest.approx(2.5e-11 / math.sqrt(2), rel=1e-9)
    # strong pair breaking: Lambda ~ H^(-1/2) when tau_PB ~ H^-2
    H = jnp.array([1.0, 4.0])
    L = charge_imbalance_length(4.2, 1.35e-3, 2.5e-11, tau_pb=pair_breaking_time(H, H_ref=0.01, strength_ref=1e-3), **kw)
    assert float(L[0] / L[1]) == pytest.approx(2.0, rel=1e-3)


def test_ls_and_lambda_q_cross_in_the_papers_field_range():
    # Fig. 3c inset: L_S falls below Lambda_Q* between 0.15 and 0.3 T (documented parameter choice:
    # lambda = lambda_L, Hc = 0.05 T, a = 3 nm, 35 deg; SS pair breaking 0.2 k_B Tc at 0.125 T ~ H^2)
    H = jnp.linspace(0.1, 0.4, 301)
    LS = superconducting_length(H, 3e-9, TH35, PB.london_depth, 0.05)
    tpb = pair_breaking_time(H, H_ref=0.125, strength_ref=0.2 * k_B * PB.Tc)
    LQ = charge_imbalance_length(4.2, 1.35e-3, 2.5e-11, fermi_velocity=PB.fermi_velocity, mean_free_path=10e-9, tau_pb=tpb)
    diff = np.asarray(LS - LQ)
    assert diff[0] > 0 and diff[-1] < 0
    H_cross = float(H[np.argmax(diff < 0)])
    assert 0.15 < H_cross < 0.30


def test_cone_resistance_matches_quadrature():
    rho, a = 4.9e-8, 3e-9
    got = float(cone_resistance(10e-9, 200e-9, a, TH35, rho))
    ref = quad(lambda x: rho / (math.pi * (a + x * math.tan(TH35)) ** 2), 10e-9, 200e-9)[0]
    assert got == pytest.approx(ref, rel=1e-10)


def _sites(H=0.12, n_sites=3):
    return phase_slip_sites(
        H, radius=3e-9, theta=TH35, penetration_depth=120e-9, Hc=0.05, charge_imbalance_length=100e-9,
        resistivity=4.9e-8, critical_current_density=2e10, n_sites=n_sites,
    )


def test_phase_slip_sites_and_sbt_voltage():
    s = _sites()
    LS = float(superconducting_length(0.12, 3e-9, TH35, 120e-9, 0.05))
    act = np.asarray(s.active)
    assert np.array_equal(act, np.abs(np.asarray(s.position)) < LS / 2)
    assert act.sum() >= 2
    # R_k by independent quadrature for one active site
    k = int(np.argmax(act))
    xk = float(s.position[k])
    f = lambda x: 4.9e-8 * math.exp(-abs(x - xk) / 100e-9) / (math.pi * (3e-9 + abs(x) * math.tan(TH35)) ** 2)
    ref = quad(f, -LS / 2, LS / 2, points=[xk, 0.0], limit=200)[0]
    assert float(s.resistance[k]) == pytest.approx(ref, rel=1e-6)
    # SBT: below the smallest Ic no voltage; above all, dV/dI = sum R_k; step R_k Ic_k / 2 at each
    Ic = np.sort(np.asarray(s.critical_current)[act])
    V = phase_slip_voltage(jnp.array([0.5 * Ic[0], 2 * Ic[-1]]), s)
    assert float(V[0]) == 0.0
    assert float(V[1]) == pytest.approx(float(jnp.sum(s.resistance * (2 * Ic[-1] - 0.5 * jnp.where(s.active, s.critical_current, 0)))), rel=1e-12)
    eps = 1e-9 * Ic[0]
    jump = float(phase_slip_voltage(Ic[0] + eps, s) - phase_slip_voltage(Ic[0] - eps, s))
    same = np.isclose(np.asarray(s.critical_current), Ic[0], rtol=1e-12)  # symmetric pair nucleates together
    assert same.sum() == 2
    assert jump == pytest.approx(float(np.asarray(s.resistance)[same].sum()) * Ic[0] / 2, rel=1e-6)
    # antisymmetry in current
    assert float(phase_slip_voltage(-2 * Ic[-1], s)) == pytest.approx(-float(V[1]), rel=1e-12)


def test_field_reduces_critical_currents_and_sites():
    lo, hi = _sites(0.10), _sites(0.20)
    assert int(hi.active.sum()) <= int(lo.active.sum())
    both = np.asarray(lo.active & hi.active)
    assert np.all(np.asarray(hi.critical_current)[both] < np.asarray(lo.critical_current)[both])


def test_thermal_switching_below_ic_and_reproducible():
    Ic = jnp.array([1e-4, 2e-4, jnp.inf])
    key = jax.random.PRNGKey(0)
    a = thermal_switching_currents(key, Ic, 0.3, 4.2)  # barrier ~ 800 k_B T
    b = thermal_switching_currents(key, Ic, 0.3, 4.2)
    c = thermal_switching_currents(jax.random.PRNGKey(1), Ic, 0.3, 4.2)
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    assert np.all(np.asarray(a[:2]) < np.asarray(Ic[:2])) and np.all(np.asarray(a[:2]) > 0.5 * np.asarray(Ic[:2]))
    assert np.all(np.abs(np.asarray(a[:2] - c[:2])) > 1e-4 * np.asarray(Ic[:2]))
    assert np.isinf(float(a[2]))
    # a huge barrier switches at Ic; larger barrier -> larger switching current
    hi = thermal_switching_currents(key, Ic[:2], 1e4, 4.2)
    np.testing.assert_allclose(np.asarray(hi), np.asarray(Ic[:2]), rtol=0.02)


def test_neck_iv_series_composition():
    s = _sites()
    Vc = jnp.linspace(1e-3, 4e-3, 7)
    I, G = Vc / 5.0, jnp.full(7, 0.2)
    V, R = neck_iv(Vc, I, G, s, series_resistance=0.3, width=1e-6)
    Vps = phase_slip_voltage(I, s, width=1e-6)
    np.testing.assert_allclose(np.asarray(V), np.asarray(Vc + Vps + 0.3 * I), rtol=1e-12)
    dps = jax.vmap(jax.grad(lambda i: phase_slip_voltage(i, s, width=1e-6)))(I)
    np.testing.assert_allclose(np.asarray(R), np.asarray(5.0 + dps + 0.3), rtol=1e-10)


@pytest.mark.parametrize(
    "call,name",
    [
        (lambda: sharvin_area(-1.0, 4e-10), "resistance"),
        (lambda: contact_radius(5.0, 0.0), "fermi_wavelength"),
        (lambda: superconducting_length(0.2, 3e-9, 2.0, 1e-7, 0.05), "theta"),
        (lambda: charge_imbalance_length(-1.0, 1e-3, 1e-11, fermi_velocity=1e6, mean_free_path=1e-8), "T"),
        (lambda: effective_relaxation_time(1e-11, form="nope"), "form"),
    ],
)
def test_bad_input_names_argument(call, name):
    with pytest.raises(Exception, match=f"`{name}`"):
        call()


# --- input validation (reliability issue): named errors instead of NaN / wrong numbers ---

_SITES_KW = dict(radius=3e-9, theta=TH35, penetration_depth=120e-9, Hc=0.05, charge_imbalance_length=100e-9,
                 resistivity=4.9e-8, critical_current_density=2e10)


@pytest.mark.parametrize(
    "name,value",
    [("theta", 0.0), ("theta", math.pi / 2), ("penetration_depth", 0.0), ("penetration_depth", -1e-7),
     ("Hc", 0.0), ("Hc", np.nan), ("resistivity", -4.9e-8), ("resistivity", 0.0), ("prefactor", 0.0),
     ("exclude_radius", -1e-9)],
)
def test_phase_slip_sites_checks_every_argument(name, value):
    # theta = 0 used to give all-NaN resistances and a negative resistivity negative resistances
    with pytest.raises(RuntimeError, match=f"`{name}`"):
        phase_slip_sites(0.12, **(_SITES_KW | {name: value}))
    f = jax.jit(lambda v: phase_slip_sites(0.12, **(_SITES_KW | {name: v})))
    with pytest.raises(Exception, match=f"`{name}`"):
        jax.block_until_ready(f(value))
    with pytest.raises(TypeError, match=f"`{name}`"):
        phase_slip_sites(0.12, **(_SITES_KW | {name: 1.0 + 1j}))
    with pytest.raises(ValueError, match=f"`{name}`"):  # scalars only: vmap for a batch
        phase_slip_sites(0.12, **(_SITES_KW | {name: np.full(3, 1e-7)}))


def test_phase_slip_voltage_checks_current_and_width():
    s = _sites()
    for bad in (np.nan, np.inf):
        with pytest.raises(RuntimeError, match="`I`"):
            phase_slip_voltage(jnp.array([1e-6, bad]), s)
    for bad in ("1e-6", None, True, 1e-6 + 0j):
        with pytest.raises(TypeError, match="`I`"):
            phase_slip_voltage(bad, s)
    with pytest.raises(RuntimeError, match="`width`"):
        phase_slip_voltage(1e-6, s, width=-1e-7)
    with pytest.raises(TypeError, match="`sites`"):
        phase_slip_voltage(1e-6, {"critical_current": 1.0})
    with pytest.raises(ValueError, match="`switching_currents`"):
        phase_slip_voltage(1e-6, s, jnp.ones(2))
    with pytest.raises(RuntimeError, match="`switching_currents`"):
        phase_slip_voltage(1e-6, s, jnp.full(s.critical_current.shape, jnp.nan))
    # width is a traced value now: the same numbers under jit (it used to fail to trace)
    I = jnp.linspace(-3e-4, 3e-4, 9)
    for w in (0.0, 1e-6):
        np.testing.assert_array_equal(np.asarray(jax.jit(phase_slip_voltage)(I, s, width=w)),
                                      np.asarray(phase_slip_voltage(I, s, width=w)))


def test_contact_radius_checks_mean_free_path_and_its_bracket():
    lf, rho = PB.fermi_wavelength, 4.9e-8
    for bad in (0.0, -1e-8, np.nan, np.inf):
        with pytest.raises(RuntimeError, match="`mean_free_path`"):
            contact_radius(5.0, lf, mean_free_path=bad, resistivity=rho)
    with pytest.raises(TypeError, match="`mean_free_path`"):
        contact_radius(5.0, lf, mean_free_path="1e-8", resistivity=rho)
    # a root outside [1e-12, 0.1] m was silently clamped to the bracket's edge; now an error naming
    # `resistance`, eagerly, under jit and under vmap (one bad element)
    for R in (1e-9, 1e12):
        with pytest.raises(RuntimeError, match="`resistance`"):
            contact_radius(R, lf, mean_free_path=10e-9, resistivity=rho)
    f = jax.jit(lambda R: contact_radius(R, lf, mean_free_path=10e-9, resistivity=rho))
    with pytest.raises(Exception, match="`resistance`"):
        jax.block_until_ready(f(1e-9))
    with pytest.raises(Exception, match="`resistance`"):
        jax.block_until_ready(jax.vmap(f)(jnp.array([5.0, 1e12, 5.0])))
    # inside the bracket nothing changed; broadcasting a scalar resistance over fermi_wavelength works
    a = contact_radius(jnp.array([5.0]), jnp.array([lf, 1.1 * lf]), mean_free_path=10e-9, resistivity=rho)
    assert a.shape == (2,) and float(a[0]) == pytest.approx(float(contact_radius(5.0, lf, mean_free_path=10e-9, resistivity=rho)), rel=1e-12)


@pytest.mark.parametrize(
    "call,names",
    [
        (lambda: sharvin_resistance(jnp.ones(3) * 1e-16, jnp.ones(4) * 4e-10), ("area", "fermi_wavelength")),
        (lambda: contact_radius(jnp.ones(3), jnp.ones(4) * 4e-10, resistivity=5e-8), ("resistance", "fermi_wavelength")),
        (lambda: wexler_resistance(jnp.ones(3) * 1e-8, 4e-10, mean_free_path=jnp.ones(4) * 1e-8, resistivity=5e-8),
         ("radius", "mean_free_path")),
        (lambda: superconducting_length(jnp.ones(3) * 0.2, 0.0, TH35, jnp.ones(4) * 1e-7, 0.05), ("H", "penetration_depth")),
        (lambda: cone_resistance(jnp.zeros(3), jnp.ones(4) * 1e-7, 3e-9, TH35, 5e-8), ("x1", "x2")),
        (lambda: charge_imbalance_length(jnp.ones(3) * 4.2, 1e-3, 1e-11, fermi_velocity=1e6, mean_free_path=1e-8,
                                         tau_pb=jnp.ones(4) * 1e-11), ("T", "tau_pb")),
        (lambda: diffsc.opening_angle(jnp.ones(3), jnp.ones(4)), ("x", "r")),
        (lambda: neck_iv(jnp.ones(3), jnp.ones(4), jnp.ones(3), _sites()), ("contact_voltage", "contact_current")),
        (lambda: thermal_switching_currents(jax.random.PRNGKey(0), jnp.ones(3), jnp.ones(4), 4.2),
         ("critical_current", "barrier")),
    ],
)
def test_mismatched_shapes_name_the_arguments(call, names):
    with pytest.raises(ValueError) as err:
        call()
    for n in names:
        assert f"`{n}`" in str(err.value)


@pytest.mark.parametrize(
    "call,name",
    [
        (lambda: diffsc.cone_radius(1e-8, 3e-9, 0.0), "theta"),  # a cone, not a cylinder
        (lambda: cone_resistance(2e-8, 1e-8, 3e-9, TH35, 5e-8), "x2"),  # x1 > x2: a negative resistance
        (lambda: cone_resistance(1e-8, 2e-8, 3e-9, TH35, -5e-8), "resistivity"),
        (lambda: diffsc.opening_angle(jnp.array([-1e-8, 1e-8]), jnp.array([3e-9, 4e-9])), "x"),  # one |x|
        (lambda: diffsc.opening_angle(jnp.array([0.0, 1e-8]), jnp.array([3e-9, -4e-9])), "r"),
        (lambda: slab_neck_radius(1e-9, 2e-8, 1e-9, 0.5, 0.0), "jump"),
        (lambda: slab_neck_profile(3, 2e-8, 1e-9, 0.5, 0.0), "jump"),
        (lambda: slab_neck_profile(3, 2e-8, 1e-9, -0.5, 0.9), "yield_strain"),
        (lambda: slab_neck_profile(True, 2e-8, 1e-9, 0.5, 0.9), "n_slabs"),
        (lambda: slab_neck_profile(-1, 2e-8, 1e-9, 0.5, 0.9), "n_slabs"),
        (lambda: penetration_depth_two_fluid(PB.Tc, PB), "T"),  # lambda diverges at Tc
        (lambda: penetration_depth_two_fluid(4.2, PB, mean_free_path=0.0), "mean_free_path"),
        (lambda: diffsc.disk_critical_field(5e-9, 1e-7, -0.05), "Hc"),
        (lambda: diffsc.disk_critical_field(5e-9, 1e-7, 0.05, prefactor=0.0), "prefactor"),
        (lambda: superconducting_length(0.2, 3e-9, TH35, 1e-7, "0.05"), "Hc"),
        (lambda: pair_breaking_time(0.2, H_ref=0.0, strength_ref=1e-3), "H_ref"),
        (lambda: pair_breaking_time(0.2, H_ref=0.1, strength_ref=np.inf), "strength_ref"),
        (lambda: diffsc.phase_slip_barrier(1e-16, 1e-7, -0.05), "Hc"),
        (lambda: effective_relaxation_time(1e-11, form=None), "form"),
        (lambda: thermal_switching_currents(jax.random.PRNGKey(0), jnp.array([1e-4, jnp.nan]), 0.3, 4.2),
         "critical_current"),
        (lambda: thermal_switching_currents(jax.random.PRNGKey(0), jnp.ones(2), 0.3, 4.2, sweep_rate=0.0),
         "sweep_rate"),
        (lambda: thermal_switching_currents(jax.random.PRNGKey(0), jnp.ones(2), 0.3, 4.2, n_grid=1), "n_grid"),
        (lambda: neck_iv(jnp.ones(2), jnp.ones(2), jnp.array([0.2, 0.0]), _sites()), "contact_conductance"),
        (lambda: neck_iv(jnp.ones(2), jnp.ones(2), jnp.ones(2), _sites(), series_resistance=-1.0),
         "series_resistance"),
    ],
)
def test_out_of_range_input_names_argument(call, name):
    with pytest.raises(Exception, match=f"`{name}`"):
        jax.block_until_ready(call())


def test_valid_edges_still_work():
    # x1 = x2 is an empty segment; T = 0 and above Tc for Hc; theta just below pi/2
    assert float(cone_resistance(1e-8, 1e-8, 3e-9, TH35, 5e-8)) == 0.0
    assert float(thermodynamic_critical_field(10.0, PB)) == 0.0
    assert np.isfinite(float(penetration_depth_two_fluid(0.0, PB)))
    assert np.isfinite(float(diffsc.cone_radius(1e-8, 3e-9, 1.5)))
    x, r = slab_neck_profile(0, 2e-8, 1e-9, 0.5, 0.9)
    assert x.shape == r.shape == (1,)
    Isw = thermal_switching_currents(jax.random.PRNGKey(0), jnp.array([0.0, 1e-4]), 0.3, 4.2)
    assert float(Isw[0]) == 0.0 and 0 < float(Isw[1]) < 1e-4
