"""BCS equilibrium: gap equation, n_qp, heat capacity — against independent SciPy references."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from helpers import central_difference
from scipy import integrate, optimize, special

import diffsc
from diffsc import constants, electronic_heat_capacity, reduced_gap, thermal_nqp
from diffsc._core._roots import bracketed_root  # internal: the previous solver, kept as a reference
from diffsc._superconductor._bcs import (  # internal: the residual and the Newton loop
    _gap_equation,
    _newton,
    reduced_critical_temperature,
)

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


# --- the gap solver against independent references ---------------------------------------------
#
# Near Tc the gap equation is ill-conditioned: R(ln d) has slope ~ -2(1 - t), so a round-off
# eps |ln d| in R moves ln d by ~1e-15 / (1 - t). Every comparison below allows that much.

_GL160_X, _GL160_W = np.polynomial.legendre.leggauss(160)


def _previous_residual(log_d, args, cutoff):
    """The residual of the solver this package used before (one 160-node Gauss–Legendre panel)."""
    tau, w = args
    d = jnp.exp(log_d)
    x = 1.0 + 46.0 * tau / d + 0.05
    u_top = jnp.log(x + jnp.sqrt(x * x - 1.0))
    if cutoff:
        u_d = jnp.arcsinh(w / d)
        lhs, u_top = u_d - jnp.arcsinh(w), jnp.minimum(u_top, u_d)
    else:
        lhs = -log_d
    u = 0.5 * u_top * (1.0 + _GL160_X)
    return lhs - u_top * jnp.sum(_GL160_W * jax.nn.sigmoid(-d * jnp.cosh(u) / tau))


def _previous_reduced_gap(tau, w, cutoff):
    """The previous solver: Chandrupatla's bracketed root in ln d on [-40, 0], to 4 eps."""

    def one(t, ww):
        r = bracketed_root(lambda y, a: _previous_residual(y, a, cutoff), -40.0, 0.0, (t, ww),
                           xatol=4 * np.finfo(float).eps)
        return jnp.where(r.bracketed, jnp.exp(r.root), 0.0)

    return np.asarray(jax.jit(jnp.vectorize(one))(jnp.asarray(tau), jnp.asarray(w)))


def _scipy_quad_reduced_gap(tau, w=None):
    """ln(1/d) = 2 int_0^inf f(d cosh u / tau) du (w: Debye cutoff u <= arcsinh(w/d)) by quad +
    brentq in ln d, both near round-off."""

    def resid(y):
        d = math.exp(y)
        upper, lhs = math.acosh(1.0 + 46.0 * tau / d), -y
        if w is not None:
            u_d = math.asinh(w / d)
            upper, lhs = min(upper, u_d), u_d - math.asinh(w)
        integrand = lambda u: special.expit(-d * math.cosh(u) / tau)  # noqa: E731
        return lhs - 2 * integrate.quad(integrand, 0, upper, epsabs=1e-16, epsrel=1e-14, limit=200)[0]

    return math.exp(optimize.brentq(resid, -30.0, 0.0, xtol=1e-16, rtol=8.9e-16))


def _tau_c(w, cutoff):
    return float(reduced_critical_temperature(w)) if cutoff else TAU_C


# (debye ratio, cutoff): the cutoff-free form, Pb's w = 6.7 (the cutoff binds) and Al's w = 203
SOLVER_CASES = [(1.0, False), (6.7, True), (203.0, True)]


@pytest.mark.filterwarnings("ignore::scipy.integrate.IntegrationWarning")
@pytest.mark.parametrize("w,cutoff", [(1.0, False), (6.7, True)])
def test_gap_equation_integral_and_derivatives(w, cutoff):
    """The solver's residual R(ln d) = lhs - 2 int_0^U f(d cosh u / tau) du against scipy.quad, for
    d / tau from 1e-10 (the series part spans u up to 22) to 100, and dR, d2R against differences."""
    tau = 0.5
    log_d = np.log(tau * np.array([1e-10, 1e-6, 1e-3, 0.1, 0.5, 0.74, 1.0, 3.0, 20.0, 100.0]))
    r, dr, d2r, _ = _gap_equation(jnp.asarray(log_d), jnp.full(log_d.shape, tau), jnp.full(log_d.shape, w), cutoff)
    for y, ours in zip(log_d, np.asarray(r), strict=True):
        d = math.exp(y)
        upper, lhs = math.acosh(1.0 + 46.0 * tau / d + 0.05), -y
        if cutoff:
            upper, lhs = min(upper, math.asinh(w / d)), math.asinh(w / d) - math.asinh(w)
        integral = integrate.quad(lambda u, d=d: special.expit(-d * math.cosh(u) / tau), 0.0, upper,
                                  epsabs=1e-16, epsrel=1e-14, limit=400)[0]
        assert ours == pytest.approx(lhs - 2 * integral, rel=1e-14, abs=4e-15)
    for k, deriv in ((0, dr), (1, d2r)):
        step = lambda s, k=k: np.asarray(_gap_equation(  # noqa: E731
            jnp.asarray(log_d + s), jnp.full(log_d.shape, tau), jnp.full(log_d.shape, w), cutoff)[k])
        fd = (step(1e-6) - step(-1e-6)) / 2e-6
        np.testing.assert_allclose(deriv, fd, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("w,cutoff", SOLVER_CASES)
def test_reduced_gap_agrees_with_the_previous_bracketed_solver(w, cutoff):
    t = np.concatenate([np.linspace(0.0, 0.99, 100), 1 - np.logspace(-2.5, -7, 10)])
    tau = t * _tau_c(w, cutoff)
    ours = np.asarray(reduced_gap(tau, w if cutoff else jnp.inf, cutoff=cutoff))
    previous = _previous_reduced_gap(tau, np.full_like(tau, w), cutoff)
    # measured: <= 5e-13 for t <= 0.999, 4e-8 at 1 - t = 1e-7 (conditioning)
    np.testing.assert_array_less(np.abs(ours / previous - 1), 1e-13 + 1e-14 / (1 - t))


@pytest.mark.filterwarnings("ignore::scipy.integrate.IntegrationWarning")
@pytest.mark.parametrize("w,cutoff", SOLVER_CASES)
def test_reduced_gap_matches_scipy_quad_to_round_off(w, cutoff):
    t = np.array([0.05, 0.12, 0.15, 0.3, 0.5, 0.7, 0.9, 0.95, 0.99])
    tau = t * _tau_c(w, cutoff)
    ours = np.asarray(reduced_gap(tau, w if cutoff else jnp.inf, cutoff=cutoff))
    ref = np.array([_scipy_quad_reduced_gap(x, w if cutoff else None) for x in tau])
    # measured: <= 1e-15 up to t = 0.9, 3e-14 at t = 0.99
    np.testing.assert_array_less(np.abs(ours / ref - 1), 1e-13 + 1e-15 / (1 - t))


def test_gap_at_very_low_temperature():
    # 1 - d ~ sqrt(2 pi tau) exp(-1/tau): below 1e-16 for t < 0.05, 5e-6 at t = 0.15
    for name in ["Al", "Pb"]:
        m = diffsc.material(name)
        for cutoff in (True, False):
            T = jnp.array([0.0, 1e-6, 1e-3, 0.02, 0.05]) * m.Tc
            np.testing.assert_allclose(diffsc.gap(T, m, cutoff=cutoff), m.gap0, rtol=2e-16)
            g = jax.vmap(jax.grad(lambda t, c=cutoff, m=m: diffsc.gap(t, m, cutoff=c)))(T)
            assert np.all(np.isfinite(g)) and np.all(np.abs(g) < 1e-12 * m.gap0 / m.Tc)
    al = diffsc.material("Al")
    T = 0.15 * al.Tc  # d gap / dT ~ -4e-8 eV/K, exponentially small but resolved
    auto = float(jax.grad(lambda t: diffsc.gap(t, al))(T))
    assert auto < 0
    assert auto == pytest.approx(central_difference(lambda t: diffsc.gap(t, al), T, rel_step=1e-4), rel=1e-6)


def test_gap_close_to_tc_follows_ginzburg_landau():
    # d = 3.0633 tau_c sqrt(1 - t) (1 - 0.41 (1 - t) + ...), resolved down to 1 - t = 1e-10
    slope = np.sqrt(8 * np.pi**2 / (7 * zeta3)) * TAU_C
    omt = np.logspace(-4, -10, 7)
    d = np.asarray(reduced_gap((1 - omt) * TAU_C, cutoff=False))
    np.testing.assert_array_less(np.abs(d / (slope * np.sqrt(omt)) - 1), 0.5 * omt + 1e-15 / omt)


@pytest.mark.parametrize("name,cutoff", [("Al", False), ("Al", True), ("Pb", True)])
def test_gap_temperature_derivative_near_tc(name, cutoff):
    m = diffsc.material(name)
    g = lambda t: diffsc.gap(t, m, cutoff=cutoff)  # noqa: E731
    for omt in [1e-2, 1e-4, 1e-6]:
        T = m.Tc * (1 - omt)
        auto = float(jax.grad(g)(T))
        # a step well inside Tc - T; measured agreement 1e-7 (the O(h^2) error of the difference)
        assert auto == pytest.approx(central_difference(g, T, rel_step=1e-3 * omt), rel=1e-6)
        # and the Ginzburg–Landau law d Delta / dT = -Delta / (2 (Tc - T)) to O(1 - t)
        assert auto == pytest.approx(-float(g(T)) / (2 * (m.Tc - T)), rel=max(omt, 2e-5))


def test_gap_gradients_with_a_binding_cutoff():
    # Pb: Omega_D = 6.7 gap0, the integral ends at the cutoff; its moving end enters every derivative
    pb = diffsc.material("Pb")
    grads = jax.grad(lambda m: diffsc.gap(4.0, m))(pb)
    for field, step in [("Tc", 1e-6), ("gap0", 1e-6), ("debye_energy", 1e-5)]:
        fd = central_difference(
            lambda v, field=field: diffsc.gap(4.0, pb.replace(**{field: v})), getattr(pb, field), rel_step=step
        )
        assert float(getattr(grads, field)) == pytest.approx(fd, rel=1e-6), field
    w = 6.7
    for t in (0.3, 0.9):
        tau = t * _tau_c(w, True)
        for arg in (0, 1):
            auto = float(jax.grad(lambda a, b: reduced_gap(a, b), argnums=arg)(tau, w))
            fd = central_difference(lambda v, arg=arg, tau=tau: reduced_gap(*((v, w) if arg == 0 else (tau, v))),
                                    (tau, w)[arg], rel_step=1e-6)
            assert auto == pytest.approx(fd, rel=1e-6)


def test_gap_second_derivative_and_modes_agree():
    al = diffsc.material("Al")
    d_gap = jax.grad(lambda t: diffsc.gap(t, al))
    for T in [0.3, 0.8, 1.1]:
        auto = float(jax.grad(d_gap)(T))
        assert auto == pytest.approx(central_difference(d_gap, T, rel_step=1e-5), rel=1e-6)
    T = jnp.linspace(0.1, 1.15, 9)
    rev = jax.vmap(d_gap)(T)
    fwd = jnp.diagonal(jax.jacfwd(lambda t: diffsc.gap(t, al))(T))
    np.testing.assert_allclose(rev, fwd, rtol=1e-13)
    np.testing.assert_allclose(rev, [float(d_gap(float(t))) for t in T], rtol=1e-13)


@pytest.mark.parametrize("name", ["Al", "Nb", "Pb"])
def test_gap_solver_needs_few_evaluations(name):
    """The speed of the solver, counted rather than timed: the batch needs 2 evaluations of the gap
    equation for any T up to 0.999 Tc, at most 3 down to 1 - t = 1e-12. Closer to Tc R is round-off
    (and for Pb's cutoff the closed-form tau_c is off by exp(-2 w / tau_c) ~ 1e-11): measured 5."""
    m = diffsc.material(name)
    ranges = [(np.linspace(0.0, 0.999, 2000), 2), (1 - np.logspace(-3, -12, 60), 3),
              (1 - np.logspace(-12, -16, 40), 6)]
    for cutoff in (False, True):
        w = m.debye_energy / m.gap0 if cutoff else 1.0
        tau_c = _tau_c(w, cutoff)
        solve = jax.jit(lambda x, c=cutoff, w=w, tc=tau_c: _newton(x, jnp.full_like(x, w), jnp.full_like(x, tc), c))
        for t, most in ranges:
            _, found, steps = solve(jnp.asarray(t * tau_c))
            assert bool(jnp.all(found)) and int(steps) <= most, (cutoff, t[0], int(steps))


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
