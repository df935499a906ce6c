"""BCS equilibrium: gap equation, n_qp, heat capacity — against independent SciPy references."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from helpers import central_difference
from scipy import integrate, optimize, special

import diffsc
from diffsc import constants, electronic_heat_capacity, reduced_gap, thermal_nqp

bcs_gap_ratio, k_B, zeta3 = constants.bcs_gap_ratio, constants.k_B, constants.zeta3

TAU_C = 1.0 / bcs_gap_ratio  # k Tc / Delta0 in weak coupling


def _scipy_reduced_gap(t):
    """Cutoff-free gap equation ln(1/d) = 2 sum (-1)^(k+1) K0(k d / tau), solved with brentq."""
    tau = t * TAU_C

    def resid(d):
        k = np.arange(1, 400)
        return np.log(1 / d) - 2 * np.sum((-1.0) ** (k + 1) * special.k0(k * d / tau))

    return optimize.brentq(resid, 0.05, 1.0, xtol=1e-15, rtol=1e-15)


@pytest.mark.parametrize("t", [0.3, 0.5, 0.7, 0.9, 0.95, 0.99])
def test_reduced_gap_matches_bessel_series(t):
    ours = float(reduced_gap(t * TAU_C, cutoff=False))
    assert ours == pytest.approx(_scipy_reduced_gap(t), rel=1e-9)


def test_gap_table_of_reference():
    # physics reference §2.2 (5 decimals)
    table = [0.99712, 0.95688, 0.82877, 0.52634, 0.38032, 0.17295]
    ours = reduced_gap(jnp.array([0.3, 0.5, 0.7, 0.9, 0.95, 0.99]) * TAU_C, cutoff=False)
    np.testing.assert_allclose(ours, table, atol=6e-6)


def test_gap_ratio_1764_from_closing_temperature():
    # The gap equation itself must close at k Tc = Delta0 / 1.763877 (pi e^-gamma).
    just_below = reduced_gap(TAU_C * (1 - 1e-6), cutoff=False)
    just_above = reduced_gap(TAU_C * (1 + 1e-6), cutoff=False)
    assert float(just_below) > 0 and float(just_above) == 0.0
    assert float(reduced_gap(1e-3, cutoff=False)) == pytest.approx(1.0, abs=1e-12)


def test_gap_near_tc_ginzburg_landau():
    # Delta = sqrt(8 pi^2 / (7 zeta3)) k Tc sqrt(1 - t) = 3.0633 k Tc sqrt(1 - t)
    t = 1 - 1e-4
    expected = np.sqrt(8 * np.pi**2 / (7 * zeta3)) * TAU_C * np.sqrt(1 - t)
    assert float(reduced_gap(t * TAU_C, cutoff=False)) == pytest.approx(expected, rel=2e-4)


def test_cutoff_and_cutoff_free_agree_to_order_gap_over_debye_squared():
    al = diffsc.material("Al")
    T = jnp.linspace(0.05, 1.1, 12)
    a = diffsc.gap(T, al, cutoff=True)
    b = diffsc.gap(T, al, cutoff=False)
    eps = (al.gap0 / al.debye_energy) ** 2
    assert float(jnp.max(jnp.abs(a - b)) / al.gap0) < 5 * eps
    assert float(jnp.max(jnp.abs(a - b)) / al.gap0) > 0  # the cutoff is really applied


def test_cutoff_gap_closes_at_material_tc():
    # Pb has Omega_D only ~6.7 gap0: the cutoff shifts Tc unless T is scaled with tau_c(w)
    pb = diffsc.material("Pb")
    assert float(diffsc.gap(pb.Tc * (1 - 1e-5), pb)) > 0
    assert float(diffsc.gap(pb.Tc * (1 + 1e-5), pb)) == 0.0


def test_gap_zero_at_and_above_tc_and_gap0_at_zero():
    for name in ["Al", "Pb", "Nb"]:
        m = diffsc.material(name)
        g = diffsc.gap(jnp.array([0.0, m.Tc, 1.5 * m.Tc]), m)
        assert float(g[0]) == pytest.approx(m.gap0, rel=1e-12)
        # at Tc itself: round-off leaves d ~ sqrt(1e-16), and the closed-form tau_c(w) is exact up
        # to exp(-2 w / tau_c) (Pb, w = 6.7: d ~ 6e-6)
        assert float(g[1]) < 1e-5 * m.gap0 and float(g[2]) == 0.0
        assert float(diffsc.gap(0.999 * m.Tc, m)) > 0


def test_gap_implicit_gradient_matches_finite_differences():
    al = diffsc.material("Al")
    for T in [0.3, 0.8, 1.1]:
        auto = float(jax.grad(lambda t: diffsc.gap(t, al))(T))
        fd = central_difference(lambda t: diffsc.gap(t, al), T, rel_step=1e-6)
        assert auto == pytest.approx(fd, rel=1e-6)
    # gradient w.r.t. material parameters (Tc, gap0, debye_energy)
    grads = jax.grad(lambda m: diffsc.gap(0.8, m))(al)
    # d gap / d debye_energy is ~1e-8: it needs a larger step to rise above round-off
    for field, step in [("Tc", 1e-6), ("gap0", 1e-6), ("debye_energy", 1e-3)]:
        fd = central_difference(
            lambda v, field=field: diffsc.gap(0.8, al.replace(**{field: v})), getattr(al, field), rel_step=step
        )
        assert float(getattr(grads, field)) == pytest.approx(fd, rel=1e-5), field


def test_gap_jit_and_vmap_over_materials():
    al = diffsc.material("Al")
    Tcs = jnp.array([1.0, 1.17, 1.3])
    mats = jax.vmap(lambda tc: al.replace(Tc=tc, gap0=bcs_gap_ratio * k_B * tc))(Tcs)
    g = jax.jit(jax.vmap(lambda m: diffsc.gap(0.5, m)))(mats)
    expected = [
        float(diffsc.gap(0.5, al.replace(Tc=float(tc), gap0=bcs_gap_ratio * k_B * float(tc))))
        for tc in Tcs
    ]
    np.testing.assert_allclose(g, expected, rtol=1e-13)


def test_thermal_nqp_matches_bessel_series_and_low_t_limit():
    N0, gap = 1.74e28, 180e-6
    for T in [0.05, 0.12, 0.2, 0.5, 1.0]:
        a = gap / (k_B * T)
        k = np.arange(1, 400)
        series = 4 * N0 * gap * np.sum((-1.0) ** (k + 1) * special.k1(k * a))
        assert float(thermal_nqp(T, gap, N0)) == pytest.approx(series, rel=1e-10)
        low_t = 2 * N0 * np.sqrt(2 * np.pi * k_B * T * gap) * np.exp(-a)
        assert abs(low_t / series - 1) < 3 * k_B * T / (8 * gap) + 1e-3 * (T > 0.3)
    # reference value of physics §2.3 at 120 mK (0.10593 per um^3)
    assert float(thermal_nqp(0.12, gap, N0)) / 1e18 == pytest.approx(0.10593, rel=5e-5)
    assert float(thermal_nqp(0.0, gap, N0)) == 0.0


@pytest.mark.parametrize("t,ref", [(0.3, 0.2353), (0.5, 0.9463), (0.8, 1.9152), (0.95, 2.3068)])
def test_heat_capacity_table(t, ref):
    m = diffsc.material("Al")
    T = t * m.Tc
    c = electronic_heat_capacity(T, m, cutoff=False) / (m.sommerfeld_gamma * T)
    assert float(c) == pytest.approx(ref, abs=1e-4)


def test_heat_capacity_jump_and_normal_state():
    m = diffsc.material("Al")
    gamma_Tc = m.sommerfeld_gamma * m.Tc
    below = float(electronic_heat_capacity(m.Tc * (1 - 1e-6), m, cutoff=False)) / gamma_Tc
    above = float(electronic_heat_capacity(m.Tc * (1 + 1e-6), m, cutoff=False)) / gamma_Tc
    assert above == pytest.approx(1.0, rel=1e-5)
    assert below - above == pytest.approx(12 / (7 * zeta3), rel=1e-3)


def test_heat_capacity_equals_t_ds_dt_of_bcs_entropy():
    """C = T dS/dT with S = -4 N0 k int dxi [f ln f + (1-f) ln(1-f)], by scipy quad + FD."""
    m = diffsc.material("Al")
    N0 = m.N0

    def entropy(T):
        g = float(diffsc.gap(T, m, cutoff=False))
        kT = k_B * T

        def integrand(xi):
            E = np.hypot(xi, g)
            f = special.expit(-E / kT)
            return -(special.xlogy(f, f) + special.xlogy(1 - f, 1 - f))

        val = integrate.quad(integrand, 0, 60 * kT + g, epsabs=0, epsrel=1e-13, limit=400)[0]
        return 4 * N0 * k_B * val * diffsc.constants.e  # J/(K m^3)

    T = 0.7
    c_fd = T * central_difference(entropy, T, rel_step=1e-4)
    assert float(electronic_heat_capacity(T, m, cutoff=False)) == pytest.approx(c_fd, rel=1e-6)


def test_dos_and_occupations():
    E = jnp.array([0.5, 1.5, 3.0]) * 1e-3
    rho = diffsc.quasiparticle_dos(E, 1e-3)
    np.testing.assert_allclose(rho, [0.0, 1.5 / np.sqrt(1.25), 3 / np.sqrt(8)], rtol=1e-14)
    # Dynes: sub-gap states appear, far above the gap rho -> sharp value
    rho_d = diffsc.quasiparticle_dos(E, 1e-3, dynes=1e-6)
    assert 0 < float(rho_d[0]) < 1e-2 and float(rho_d[2]) == pytest.approx(float(rho[2]), rel=1e-6)
    # broadening conserves the number of states: int_0^X (rho_G - 1) dE equals the sharp BCS
    # value sqrt(X^2 - gap^2) - X (-2.5e-6 eV here) up to O(Gamma)
    x = jnp.linspace(0, 0.2, 2_000_001)
    integral = jnp.trapezoid(diffsc.quasiparticle_dos(x, 1e-3, dynes=1e-5) - 1.0, x)
    assert float(integral) == pytest.approx(np.sqrt(0.2**2 - 1e-6) - 0.2, rel=1e-4)
    # detailed balance identity used by the kinetic equations: f(E)[1-f(E+W)] n(W) = f(E+W)[1-f(E)] (n+1)
    T, E0, W = 0.2, 2e-4, 5e-5
    f, fp, n = diffsc.fermi(E0, T), diffsc.fermi(E0 + W, T), diffsc.bose(W, T)
    assert float(f * (1 - fp) * n) == pytest.approx(float(fp * (1 - f) * (n + 1)), rel=1e-13)


@pytest.mark.parametrize(
    "call,match",
    [
        (lambda: diffsc.gap(-0.1, diffsc.material("Al")), "`T` must be >= 0"),
        (lambda: diffsc.gap(jnp.nan, diffsc.material("Al")), "`T` contains NaN"),
        (lambda: diffsc.quasiparticle_dos(1e-3, -1e-4), "`gap` must be > 0"),
        (lambda: thermal_nqp(0.1, 1e-4, -1.0), "`N0` must be > 0"),
        (lambda: jax.jit(lambda t: diffsc.gap(t, diffsc.material("Al")))(-1.0), "`T` must be >= 0"),
    ],
)
def test_bad_input_names_the_argument(call, match):
    with pytest.raises(Exception, match=match):
        jax.block_until_ready(call())
