"""Resonator forward models: S21 forms, coupling Q, absorbed power, stored energy, geometry, Touchstone."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from helpers import central_difference

from diffsc import (
    CPW,
    Microstrip,
    absorbed_power,
    calibrate_geometry,
    constants,
    coupled_resonance_frequency,
    coupling_capacitance,
    coupling_q,
    linearised_response,
    loaded_q,
    photon_number,
    read_touchstone,
    resonator_from_conductivity,
    resonator_response,
    s21_ideal,
    s21_notch,
    stored_energy,
    surface_impedance,
    write_touchstone,
)

dbm_to_watt, h_SI, mu_0 = constants.dbm_to_watt, constants.h_SI, constants.mu_0

F0 = 5.28e9
SIGMA_N = 1.0 / 0.9e-8  # S/m, sample A


def test_coupling_q_sample_values():
    # physics reference §5.3: sample A 7.5 fF, 5.28 GHz -> 2.03e4 (Table: 20100); B -> 5.3e4 (54285)
    assert abs(float(coupling_q(5.28e9, 7.5e-15)) / 2.03e4 - 1) < 3e-3
    assert abs(float(coupling_q(6.62e9, 3.7e-15)) / 5.3e4 - 1) < 5e-3
    # inverse relation
    np.testing.assert_allclose(coupling_capacitance(5.28e9, coupling_q(5.28e9, 7.5e-15)), 7.5e-15, rtol=1e-12)


def test_coupler_pull_matches_qc_form():
    # omega0 = omega_half (1 - omega Cg Z0/pi) = omega_half (1 - 1/sqrt(pi Qc)) at omega = omega_half
    fh, cg = 5.3e9, 7.5e-15
    f0 = coupled_resonance_frequency(fh, cg)
    np.testing.assert_allclose(f0, fh * (1 - 1 / np.sqrt(np.pi * coupling_q(fh, cg))), rtol=1e-14)
    assert f0 < fh


@pytest.mark.parametrize("qi,qc", [(1e6, 2e4), (2e4, 2e4), (5e3, 5e4)])
def test_eq19_equals_eq20(qi, qc):
    f = np.linspace(F0 * (1 - 5e-4), F0 * (1 + 5e-4), 301)
    s = s21_ideal(f, F0, qi, qc)
    Q = qi * qc / (qi + qc)
    y = f / F0 - 1
    form1 = (Q / qi + 2j * Q * y) / (1 + 2j * Q * y)  # Eq. 19, first form
    np.testing.assert_allclose(s, form1, rtol=0, atol=1e-10)
    s2 = 1 + ((Q / qi) ** 2 - 1) / (1 + 4 * Q**2 * y**2)  # Eq. 20
    np.testing.assert_allclose(np.abs(s) ** 2, s2, rtol=0, atol=1e-10)
    # minimum on resonance equals Q/Qi
    np.testing.assert_allclose(np.abs(s21_ideal(F0, F0, qi, qc)), Q / qi, rtol=1e-14)


def test_notch_reduces_to_ideal_and_geometry_of_circle():
    f = np.linspace(F0 * (1 - 3e-4), F0 * (1 + 3e-4), 101)
    np.testing.assert_allclose(s21_notch(f, F0, 3e4, 2e4), s21_ideal(f, F0, 3e4, 2e4), rtol=1e-14)
    # after removing a, alpha, tau the data lie on a circle through 1 with diameter Ql/|Qc|
    qi, qc, phi, a, alpha, tau = 5e4, 2e4, 0.4, 0.2, 1.3, 40e-9
    z = s21_notch(f, F0, qi, qc, phi=phi, a=a, alpha=alpha, delay=tau)
    zn = np.asarray(z) / (a * np.exp(1j * (alpha - 2 * np.pi * f * tau)))
    Ql = 1 / (1 / qi + np.cos(phi) / qc)
    centre = 1 - 0.5 * Ql / qc * np.exp(1j * phi)
    np.testing.assert_allclose(np.abs(zn - centre), 0.5 * Ql / qc, rtol=1e-12)


def test_absorbed_power_limits_and_network_formula():
    P = dbm_to_watt(-80.0)
    # critical coupling: half of the readout power
    np.testing.assert_allclose(absorbed_power(P, 2e4, 2e4), P / 2, rtol=1e-14)
    # Eq. 22 with Z_in = Z0 Qc/(2Qi) (Eq. 18) equals Eq. 23
    for qi, qc in [(1e6, 2e4), (1e4, 2e4)]:
        z0 = 50.0
        zin = z0 * qc / (2 * qi)
        np.testing.assert_allclose(absorbed_power(P, qi, qc), 4 * z0 * P * zin / (2 * zin + z0) ** 2, rtol=1e-13)
    # energy balance: P_abs = omega E_s / Qi on and off resonance
    f = F0 * (1 + 1e-5)
    for qi in [1e6, 3e4]:
        pa = absorbed_power(P, qi, 2e4, freq=f, f_res=F0)
        es = stored_energy(P, qi, 2e4, F0, freq=f)
        np.testing.assert_allclose(pa, 2 * np.pi * F0 * es / qi, rtol=1e-13)
    # Qi/Qi_qp factor (Eq. 25) and rise >10x between Qi >> Qc and Qi ~ Qc (paper)
    np.testing.assert_allclose(absorbed_power(P, 1e5, 2e4, Qi_qp=4e5), absorbed_power(P, 1e5, 2e4) / 4, rtol=1e-14)
    assert absorbed_power(P, 2e4, 2e4) / absorbed_power(P, 1e6, 2e4) > 10
    with pytest.raises(ValueError):
        absorbed_power(P, 1e5, 2e4, freq=F0)


def test_stored_energy_paper_footnote():
    # physics reference §5.5: -64 dBm, Q ~ Qc = 20100, 5.28 GHz -> 0.48 fJ, 1.4e8 photons
    P = dbm_to_watt(-64.0)
    E = float(stored_energy(P, 1e9, 20100.0, 5.28e9))
    assert abs(E / 0.48e-15 - 1) < 0.01
    n = float(photon_number(P, 1e9, 20100.0, 5.28e9))
    np.testing.assert_allclose(n, E / (h_SI * 5.28e9), rtol=1e-12)
    assert 1.3e8 < n < 1.5e8


def test_bad_input_names_argument():
    with pytest.raises(Exception, match="Qi"):
        s21_ideal(F0, F0, -1.0, 2e4)
    with pytest.raises(Exception, match="Cg"):
        jax.jit(coupling_q)(F0, -1e-15)
    with pytest.raises(Exception, match="f_res"):
        s21_notch(F0, jnp.nan, 1e5, 2e4)


def test_loaded_q_gradient():
    g = jax.grad(lambda qi: loaded_q(qi, 2e4))(3e4)
    np.testing.assert_allclose(g, (2e4 / (3e4 + 2e4)) ** 2, rtol=1e-12)


# ---------------------------------------------------------------- surface impedance, geometry


def _sigma_al():
    s2 = 24.1 * SIGMA_N  # pi Delta / h nu at T = 0, 5.57 GHz
    return 1e-5 * SIGMA_N, s2


def film_surface_impedance(s1, s2, f, d):
    """Z_s (Ohm/sq) from sigma in S/m through diffsc.surface_impedance."""
    return surface_impedance(f, s1 / SIGMA_N, s2 / SIGMA_N, thickness=d, resistivity=1 / SIGMA_N)


def test_surface_impedance_limits():
    f = 5.57e9
    s1, s2 = _sigma_al()
    # thin limit Zs -> 1/(sigma d)
    d = 2e-9
    zs = complex(film_surface_impedance(s1, s2, f, d))
    np.testing.assert_allclose(zs, 1 / ((s1 - 1j * s2) * d), rtol=2e-3)
    # thick limit Zs -> j omega mu0 lambda (1 - j sigma1/(2 sigma2))
    lam = 1 / np.sqrt(mu_0 * 2 * np.pi * f * s2)
    zs = complex(film_surface_impedance(s1, s2, f, 50 * lam))
    np.testing.assert_allclose(zs, 1j * 2 * np.pi * f * mu_0 * lam * (1 - 1j * s1 / (2 * s2)), rtol=1e-9)
    assert zs.real > 0 and zs.imag > 0
    # dirty-limit lambda(0) of sample A ~ 92 nm (physics reference §5.1)
    assert 88e-9 < lam < 96e-9


def test_half_wave_line_parallel_plate():
    f = 5.57e9
    s1, s2 = _sigma_al()
    zs = film_surface_impedance(s1, s2, f, 60e-9)
    ms = Microstrip(width=3e-6, dielectric_thickness=1e-6, thickness=60e-9, length=9.84e-3, eps_eff=6.0)
    r = resonator_response(zs, f, ms)
    L = mu_0 * 1e-6 / 3e-6 + 2 * zs.imag / (2 * np.pi * f) / 3e-6
    C = 8.8541878128e-12 * 6.0 * 3e-6 / 1e-6
    np.testing.assert_allclose(r.f_res, 1 / (2 * 9.84e-3 * np.sqrt(L * C)), rtol=1e-10)
    # Qi = omega L'/R' for r << 1, and = beta / (2 alpha) of the propagation constant
    w = 2 * np.pi * r.f_res
    zr, w, L = (np.asarray(a) for a in (zs.real, w, L))  # a NumPy reference (strict promotion)
    gamma = np.sqrt((2 * zr / 3e-6 + 1j * w * L) * (1j * w * C))
    np.testing.assert_allclose(r.Qi, gamma.imag / (2 * gamma.real), rtol=1e-8)
    np.testing.assert_allclose(gamma.imag * 9.84e-3, np.pi, rtol=1e-10)
    # calibration to the paper's 5.57 GHz
    cal = calibrate_geometry(ms, zs, f, 5.57e9)
    np.testing.assert_allclose(resonator_response(zs, f, cal).f_res, 5.57e9, rtol=1e-9)
    assert 0.1 < float(r.alpha_k) < 0.5


def test_cpw_geometric_inductance_and_impedance():
    # w = 10, s = 6 um on eps_r = 11.7: conformal mapping gives Z0 ~ 50 Ohm
    cpw = CPW(width=10e-6, gap=6e-6, thickness=100e-9, length=5e-3, eps_r=11.7)
    z0 = np.sqrt(cpw.geometric_inductance() / cpw.capacitance())
    assert 47 < z0 < 53
    v = 1 / np.sqrt(cpw.geometric_inductance() * cpw.capacitance())
    np.testing.assert_allclose(v, 299792458.0 / np.sqrt((11.7 + 1) / 2), rtol=1e-12)
    # geometry factor: positive, strip dominated, falls with width
    g1 = CPW(3e-6, 2e-6, 60e-9, 1e-3).geometry_factor()
    g2 = CPW(6e-6, 4e-6, 60e-9, 1e-3).geometry_factor()
    assert g1 > g2 > 0 and g1 > 1 / 3e-6


@pytest.mark.parametrize("geom", ["microstrip", "cpw"])
def test_linearised_response_matches_exact(geom):
    f = 5.57e9
    d = 5e-9  # thin film: gamma = -1
    g = (Microstrip(3e-6, 1e-6, d, 9.84e-3, 6.0) if geom == "microstrip" else CPW(3e-6, 2e-6, d, 9.84e-3, 10.0))
    s1, s2 = _sigma_al()
    # evaluate sigma at the resonance: calibrate the line to resonate at f
    g = calibrate_geometry(g, film_surface_impedance(s1, s2, f, d), f, f)
    rho = 1 / SIGMA_N
    base = resonator_from_conductivity(s1 * rho, s2 * rho, f, g, resistivity=rho)
    ds1, ds2 = 0.2 * s1, -1e-4 * s2
    new = resonator_from_conductivity((s1 + ds1) * rho, (s2 + ds2) * rho, f, g, resistivity=rho)
    df, dinv = linearised_response(s1, s2, ds1, ds2, base.alpha_k)
    np.testing.assert_allclose(new.f_res / base.f_res - 1, df, rtol=2e-2)
    np.testing.assert_allclose(1 / new.Qi - 1 / base.Qi, dinv, rtol=2e-2)
    # Qi follows sigma2/sigma1 (1/Qi = alpha_k sigma1/sigma2 in the thin limit)
    np.testing.assert_allclose(1 / base.Qi, base.alpha_k * s1 / s2, rtol=2e-2)


def test_geometry_gradients_finite_difference():
    f = 5.57e9
    s1, s2 = _sigma_al()
    ms = Microstrip(3e-6, 1e-6, 60e-9, 9.84e-3, 6.0)

    def fres(s2_):
        return resonator_from_conductivity(s1 / SIGMA_N, s2_ / SIGMA_N, f, ms, resistivity=1 / SIGMA_N).f_res

    g = jax.grad(fres)(s2)
    fd = central_difference(fres, s2, rel_step=1e-6)
    np.testing.assert_allclose(g, fd, rtol=1e-6)
    assert g > 0  # more superfluid -> less kinetic inductance -> higher f_res


# ---------------------------------------------------------------- Touchstone


@pytest.mark.parametrize("fmt", ["RI", "MA", "DB"])
def test_touchstone_roundtrip(tmp_path, fmt):
    f = np.linspace(5.27e9, 5.29e9, 51)
    s21 = np.asarray(s21_notch(f, F0, 5e4, 2e4, phi=0.2, a=0.5, alpha=0.3, delay=30e-9))
    p = tmp_path / "res.s2p"
    write_touchstone(p, f, {"S21": s21, "S11": 0.1 * s21}, fmt=fmt)
    freq, s = read_touchstone(p)
    np.testing.assert_allclose(freq, f, rtol=1e-12)
    np.testing.assert_allclose(s["S21"], s21, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(s["S11"], 0.1 * s21, rtol=1e-10, atol=1e-12)
    assert s["Z0"] == 50.0


def test_touchstone_handwritten_s1p_and_errors(tmp_path):
    p = tmp_path / "a.s1p"
    p.write_text("! comment\n# MHz S MA R 75\n1000 0.5 90 ! trailing\n2000 1.0 -180\n")
    f, s = read_touchstone(p)
    np.testing.assert_allclose(f, [1e9, 2e9])
    np.testing.assert_allclose(s["S11"], [0.5j, -1.0], atol=1e-15)
    assert s["Z0"] == 75.0
    bad = tmp_path / "b.s2p"
    bad.write_text("# GHz S RI R 50\n1 0 0 0\n")
    with pytest.raises(ValueError, match="do not fit"):
        read_touchstone(bad)


# ---------------------------------------------------------------- input validation

_MS = Microstrip(3e-6, 1e-6, 60e-9, 9.84e-3, 6.0)
_ZS = 1e-4 + 1e-3j
_LINE_FUNCS = {
    "resonator_response": (resonator_response, dict(freq=5e9), dict(Zs=_ZS, geometry=_MS)),
    "resonator_from_conductivity": (
        resonator_from_conductivity, dict(sigma1=1e-3, sigma2=24.0, freq=5e9, resistivity=0.9e-8),
        dict(geometry=_MS)),
    "linearised_response": (
        linearised_response, dict(sigma1=1e-3, sigma2=24.0, dsigma1=1e-4, dsigma2=-1e-2,
                                  alpha_k=0.3, gamma=-1.0), {}),
    "calibrate_geometry": (calibrate_geometry, dict(freq=5e9, f_target=5.5e9),
                           dict(Zs=_ZS, geometry=_MS)),
}
_LINE_OUT_OF_RANGE = {"freq": 0.0, "sigma1": -1e-3, "sigma2": 0.0, "resistivity": -1e-8,
                      "alpha_k": 1.5, "gamma": 0.0, "f_target": -5e9, "dsigma1": np.inf,
                      "dsigma2": -np.inf}


def _named_error(fn, kwargs, bad, jit):
    if jit and not any(isinstance(v, str) for v in bad.values()):
        run = lambda: jax.jit(lambda b: fn(**{**kwargs, **b}))(bad)
    elif jit:
        run = lambda: jax.jit(lambda: fn(**{**kwargs, **bad}))()
    else:
        run = lambda: fn(**{**kwargs, **bad})
    with pytest.raises(Exception) as info:
        jax.block_until_ready(run())
    for n in bad:
        assert f"`{n}`" in str(info.value), (n, str(info.value)[:300])


@pytest.mark.parametrize("jit", [False, True], ids=["eager", "jit"])
@pytest.mark.parametrize("case", ["complex", "string", "empty", "nan", "range", "shapes"])
@pytest.mark.parametrize("func", list(_LINE_FUNCS))
def test_line_model_bad_input_matrix(func, case, jit):
    """Complex, string, empty, NaN, out-of-range and non-broadcasting input names the argument."""
    fn, real, fixed = _LINE_FUNCS[func]
    if case == "shapes":
        a, b = (["Zs", "freq"] if "Zs" in fixed else list(real)[:2])
        bad = {a: np.full(3, {**real, **fixed}[a]), b: np.full(4, {**real, **fixed}[b])}
        _named_error(fn, {**real, **fixed}, bad, jit)
        return
    for name, t in real.items():
        value = {"complex": t + 1e-3j * abs(t), "string": str(t), "empty": np.zeros(0),
                 "nan": np.nan, "range": _LINE_OUT_OF_RANGE[name]}[case]
        _named_error(fn, {**real, **fixed}, {name: value}, jit)


@pytest.mark.parametrize("jit", [False, True], ids=["eager", "jit"])
@pytest.mark.parametrize("value", ["1e-3j", None, np.zeros(0, complex), complex(np.nan, 1e-3),
                                   -1e-4 + 1e-3j, 1e-4 - 1e-3j, 1e-4 + 0j])
def test_surface_impedance_argument_is_checked(value, jit):
    if jit and (value is None or isinstance(value, str)):
        pytest.skip("not an array")
    _named_error(resonator_response, dict(Zs=_ZS, freq=5e9, geometry=_MS), {"Zs": value}, jit)


def test_zero_sigma2_and_bad_geometry_are_rejected():
    with pytest.raises(Exception, match="`sigma2`"):
        jax.block_until_ready(resonator_from_conductivity(1e-3, 0.0, 5e9, _MS, resistivity=1e-8))
    with pytest.raises(TypeError, match="`geometry`"):
        resonator_response(_ZS, 5e9, "cpw")
    with pytest.raises(Exception, match="`width`"):
        CPW(width=-1e-6, gap=6e-6, thickness=50e-9, length=1e-2)
    with pytest.raises(Exception, match="`eps_eff`"):
        Microstrip(3e-6, 1e-6, 60e-9, 9.84e-3, eps_eff=np.nan)
    with pytest.raises(Exception, match="`thickness`"):
        jax.block_until_ready(jax.jit(lambda t: CPW(10e-6, 6e-6, t, 1e-2))(jnp.array(-5e-8)))
    # valid edge values: sigma1 = 0 (lossless: Qi = inf), gamma = -1 and -1/2, alpha_k = 0 and 1
    assert np.isinf(resonator_from_conductivity(0.0, 24.0, 5e9, _MS, resistivity=1e-8).Qi)
    df, _ = linearised_response(1e-3, 24.0, 0.0, -1e-2, jnp.array([0.0, 1.0]), gamma=-0.5)
    np.testing.assert_allclose(df, [0.0, 0.25 * -1e-2 / 24.0], rtol=1e-14)


def test_cable_delay_old_name_tau_still_works_with_a_deprecation_warning():
    from diffsc import s11_reflection

    f = np.linspace(F0 - 2e5, F0 + 2e5, 11)
    new = s21_notch(f, F0, 5e4, 2e4, phi=0.2, delay=30e-9)
    with pytest.warns(DeprecationWarning, match="`tau` is deprecated.*`delay`"):
        old = s21_notch(f, F0, 5e4, 2e4, phi=0.2, tau=30e-9)
    np.testing.assert_array_equal(old, new)
    with pytest.warns(DeprecationWarning):
        old11 = s11_reflection(f, F0, 5e4, 2e4, tau=30e-9)
    np.testing.assert_array_equal(old11, s11_reflection(f, F0, 5e4, 2e4, delay=30e-9))
    with pytest.raises(TypeError, match="pass `delay` only"):
        s21_notch(f, F0, 5e4, 2e4, tau=30e-9, delay=1e-9)
