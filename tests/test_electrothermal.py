"""Electrothermal forward models: (E3) limits and reference numbers, pure-AC form, transition
models, and the time-domain lock-in simulation against the linear models (physics reference §6)."""

import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from helpers import assert_close, central_difference
from scipy import integrate

import diffsc
from diffsc import electrothermal_impedance, reactance_extremum, simulate_lock_in
from diffsc._electrothermal._impedance import debye_parameters  # internal: Debye form

# Physics reference §6.8 reference evaluation (Fig. 5 parameters, R = 0.75 mOhm, I = 20 mA).
REF = dict(R=0.75e-3, T=7.2, I=0.02, alpha=65.0, beta=15.0, C=4.09e-8, G=1.5e-5)


def test_reference_numbers():
    ell = diffsc.loop_gain(R=REF["R"], T=REF["T"], I=REF["I"], alpha=REF["alpha"], G=REF["G"])
    tau, tau_i = diffsc.thermal_time_constants(
        R=REF["R"], T=REF["T"], I=REF["I"], alpha=REF["alpha"], C=REF["C"], G=REF["G"]
    )
    f_star, im_min = reactance_extremum(**REF)
    z0, zinf = electrothermal_impedance(jnp.array([0.0, 1e12]), **REF).real
    assert_close(ell, 0.181, rtol=3e-3, what="loop gain")
    assert_close(tau, 2.73e-3, rtol=2e-3, what="tau")
    assert_close(tau_i, 3.33e-3, rtol=2e-3, what="tau_I")
    assert_close(f_star, 47.8, rtol=1e-3, what="f*")
    assert_close(im_min, -1.40e-3, rtol=4e-3, what="Im Z min")
    assert_close(z0, 14.81e-3, rtol=1e-3, what="Z(0)")
    assert_close(zinf, 12.0e-3, rtol=1e-6, what="Z(inf)")
    # G/C alone gives 58.4 Hz
    assert_close(REF["G"] / REF["C"] / (2 * math.pi), 58.4, rtol=1e-3)


@pytest.mark.parametrize("excitation", ["dc_bias", "pure_ac"])
def test_limits_and_extremum(excitation):
    p = dict(REF, L=3e-6, R_wiring=2e-4, excitation=excitation)
    r_inf, K, g, s = debye_parameters(
        R=p["R"],
        T=p["T"],
        I=p["I"],
        alpha=p["alpha"],
        beta=p["beta"],
        G=p["G"],
        excitation=excitation,
    )
    A = K / g
    z0 = electrothermal_impedance(0.0, **p)
    assert_close(z0.real, p["R_wiring"] + r_inf + A, rtol=1e-12)
    assert abs(z0.imag) < 1e-15
    f_hi = 1e9
    zhi = electrothermal_impedance(f_hi, **p)
    assert_close(zhi.real, p["R_wiring"] + r_inf, rtol=1e-9)
    assert_close(zhi.imag, 2 * math.pi * f_hi * p["L"], rtol=1e-9)
    if excitation == "dc_bias":
        assert_close(r_inf, p["R"] * (1 + p["beta"]), rtol=1e-14)
    # Extremum of the thermal reactance: dense scan vs closed form (value -A/2).
    f = jnp.logspace(-1, 4, 20001)
    im = electrothermal_impedance(f, **dict(p, L=0.0)).imag
    f_star, im_min = reactance_extremum(**{k: p[k] for k in REF}, excitation=excitation)
    assert_close(f[jnp.argmin(im)], f_star, rtol=2e-3)
    assert_close(jnp.min(im), im_min, rtol=1e-6)
    assert_close(im_min, -A / 2, rtol=1e-12)


def test_pure_ac_halves_the_frequency():
    f_dc, _ = reactance_extremum(**dict(REF, beta=0.0), excitation="dc_bias")
    f_ac, _ = reactance_extremum(**dict(REF, beta=0.0, I=1e-6), excitation="pure_ac")
    f_dc0, _ = reactance_extremum(**dict(REF, beta=0.0, I=1e-6), excitation="dc_bias")
    assert f_dc < f_dc0  # positive feedback slows the DC-biased response
    assert_close(f_ac, f_dc0 / 2, rtol=1e-9, what="pure AC: omega* = G_eff/(2C)")


def test_kramers_kronig_zero_frequency():
    """Re Z(0) - Re Z(inf) = -(2/pi) int_0^inf Im Z(w)/w dw (causal Debye response)."""
    p = dict(REF)
    z = lambda w: complex(electrothermal_impedance(w / (2 * math.pi), **p))
    # substitute w = exp(u) so the integrand is Im Z(e^u) du
    val, _ = integrate.quad(lambda u: z(math.exp(u)).imag, -10, 25, limit=200)
    lhs = z(0.0).real - z(1e14).real
    assert_close(-2 / math.pi * val, lhs, rtol=1e-6)


def test_omega_is_f_and_rms():
    f = jnp.array([5.0, 50.0, 500.0])
    z_paper = electrothermal_impedance(f, **REF, omega_is_f=True)
    z_true = electrothermal_impedance(f / (2 * math.pi), **REF)
    assert_close(z_paper, z_true, rtol=1e-12)
    z_rms = electrothermal_impedance(f, **dict(REF, I=REF["I"] / math.sqrt(2)), i_rms=True)
    assert_close(z_rms, electrothermal_impedance(f, **REF), rtol=1e-12)


def test_float32_agrees_with_float64():
    f64 = jnp.logspace(0, 3, 50)
    z64 = electrothermal_impedance(f64, **REF, L=3e-6)
    p32 = {k: jnp.asarray(v, jnp.float32) for k, v in REF.items()}
    z32 = electrothermal_impedance(f64.astype(jnp.float32), **p32, L=jnp.float32(3e-6))
    assert z32.dtype == jnp.complex64
    assert_close(z32.real, z64.real, rtol=1e-5)
    assert_close(z32.imag, z64.imag, rtol=1e-4, atol=1e-5 * float(jnp.max(jnp.abs(z64.imag))))


def test_gradients_vs_finite_differences():
    def im(C):
        return electrothermal_impedance(40.0, **dict(REF, C=C)).imag

    def re_alpha(a):
        return electrothermal_impedance(40.0, **dict(REF, alpha=a)).real

    assert_close(jax.grad(im)(REF["C"]), central_difference(im, REF["C"]), rtol=1e-6)
    assert_close(jax.grad(re_alpha)(65.0), central_difference(re_alpha, 65.0), rtol=1e-6)


@pytest.mark.parametrize("name,value", [("C", -1e-8), ("G", -1e-5), ("R", 0.0), ("freq", -1.0)])
def test_bad_input_names_argument(name, value):
    p = dict(REF)
    freq = 10.0
    if name == "freq":
        freq = value
    else:
        p[name] = value
    with pytest.raises(Exception, match=f"`{name}`"):
        jax.block_until_ready(electrothermal_impedance(freq, **p))
    with pytest.raises(Exception, match=f"`{name}`"):
        jax.block_until_ready(jax.jit(lambda q: electrothermal_impedance(freq, **q))(p))


# ---------------------------------------------------------------------------------------------
# Transition models
# ---------------------------------------------------------------------------------------------


def test_transition_model_derivatives():
    m = diffsc.TransitionModel(
        R_n=1.5e-3, Tc=7.2, width=0.05, dTc_dB=1.3, width_B=0.5, width_I=4.0, shift_I=30.0
    )
    T = jnp.linspace(6.9, 7.4, 11)
    I, B = 0.02, 0.1
    Tm = 7.2 - 1.3 * B - 30.0 * I**2
    w = math.sqrt(0.05**2 + (0.5 * B) ** 2 + (4.0 * I) ** 2)
    x = (T - Tm) / w
    R = m(T, I, B)
    assert_close(R, 1.5e-3 * 0.5 * (1 + jax.scipy.special.erf(x)), rtol=1e-12)
    dRdT = 1.5e-3 * jnp.exp(-(x**2)) / (w * math.sqrt(math.pi))
    assert_close(m.dR_dT(T, I, B), dRdT, rtol=1e-10)
    assert_close(m.alpha(T, I, B), T * dRdT / R, rtol=1e-10)
    # beta: dR/dI = dR/dx * dx/dI with dTm/dI = -2 kappa I, dw/dI = wI^2 I / w
    dxdI = (2 * 30.0 * I) / w - x * (4.0**2 * I) / w**2
    beta = I * (dRdT * w) * dxdI / R
    assert_close(m.beta(T, I, B), beta, rtol=1e-9)
    # The field lowers the midpoint (R = R_n/2 there) and broadens the transition.
    assert_close(m(7.2 - 1.3 * 0.3, 0.0, 0.3), 0.75e-3, rtol=1e-12)
    assert float(m.dR_dT(7.2 - 1.3 * 0.3, 0.0, 0.3)) < float(m.dR_dT(7.2, 0.0, 0.0))


@pytest.mark.parametrize("shape", ["erf", "tanh"])
def test_transition_model_closed_form_derivatives_equal_autodiff(shape):
    """The closed-form dR/dT, dR/dI, alpha, beta equal autodiff of R(T, I, B); they differentiate."""
    m = diffsc.TransitionModel(R_n=1.5e-3, Tc=7.2, width=0.05, dTc_dB=1.3, width_B=0.5,
                               width_I=4.0, shift_I=30.0, R_res=2e-6, shape=shape)
    T = jnp.linspace(6.6, 7.6, 41)
    I, B = 0.02, 0.1
    R = m(T, I, B)
    dRdT = jax.vmap(jax.grad(lambda t: m.resistance(t, I, B)))(T)
    dRdI = jax.vmap(jax.grad(lambda i, t: m.resistance(t, i, B)), (None, 0))(I, T)
    # Autodiff of tanh uses 1 - tanh^2, which cancels in the tails (|x| ~ 5 here: ~1e-12
    # relative); the closed form uses 1/cosh^2 and is checked against NumPy at 1e-13 below.
    rtol = {"erf": 1e-13, "tanh": 3e-12}[shape]
    assert_close(m.dR_dT(T, I, B), dRdT, rtol=rtol, atol=1e-30)
    assert_close(m.dR_dI(T, I, B), dRdI, rtol=10 * rtol, atol=1e-30)
    assert_close(m.alpha(T, I, B), T * dRdT / R, rtol=rtol)
    assert_close(m.beta(T, I, B), I * dRdI / R, rtol=10 * rtol, atol=1e-30)
    if shape == "tanh":
        w = math.sqrt(0.05**2 + (0.5 * B) ** 2 + (4.0 * I) ** 2)
        x = (np.asarray(T) - (7.2 - 1.3 * B - 30.0 * I**2)) / w
        assert_close(m.dR_dT(T, I, B), (1.5e-3 - 2e-6) * 0.5 / np.cosh(x) ** 2 / w, rtol=1e-13)
    assert_close(jax.jit(m.alpha)(T, I, B), m.alpha(T, I, B), rtol=1e-13)  # fused rounding
    # Second derivative through the closed form = second derivative of R by autodiff.
    d2 = jax.vmap(jax.grad(lambda t: m.dR_dT(t, I, B)))(T)
    d2_ref = jax.vmap(jax.grad(jax.grad(lambda t: m.resistance(t, I, B))))(T)
    assert_close(d2, d2_ref, rtol=1e-10, atol=1e-12 * float(jnp.max(jnp.abs(d2_ref))))
    with pytest.raises(Exception, match="T"):
        m.alpha(-1.0)


def test_tabulated_transition_recovers_model():
    m = diffsc.gaussian_transition(1.5e-3, 7.2, 0.1)
    Td = np.linspace(6.8, 7.6, 161)
    rng = np.random.default_rng(3)
    Rd = np.asarray(m(Td)) + 2e-7 * rng.normal(size=Td.shape)
    tab = diffsc.TabulatedTransition.from_data(Td, Rd)
    T = jnp.linspace(7.0, 7.4, 21)
    assert_close(tab(T), m(T), rtol=0, atol=2e-6)
    peak = float(jnp.max(m.dR_dT(T)))
    assert_close(tab.dR_dT(T), m.dR_dT(T), rtol=0, atol=0.05 * peak)
    with pytest.raises(Exception, match="outside the temperature range"):
        jax.block_until_ready(tab(7.7))
    with pytest.raises(ValueError, match="same shape"):
        diffsc.TabulatedTransition.from_data(Td, Rd[:-1])


def test_transition_midpoint_is_Tc_and_old_name_T_c_warns():
    """`Tc` as in Material.Tc; the old `T_c` (keyword and attribute) still works, with a warning."""
    kw = dict(R_n=1.5e-3, width=0.06, dTc_dB=1.3)
    m = diffsc.TransitionModel(Tc=7.2, **kw)
    assert m == diffsc.TransitionModel(1.5e-3, 7.2, 0.06, 1.3)  # positional order unchanged
    T = jnp.linspace(7.0, 7.4, 5)
    with pytest.warns(DeprecationWarning, match="`T_c` is deprecated.*`Tc`"):
        old = diffsc.TransitionModel(T_c=7.2, **kw)
    assert old == m
    with pytest.warns(DeprecationWarning, match="attribute `T_c` is deprecated.*`Tc`"):
        assert m.T_c == 7.2
    with pytest.warns(DeprecationWarning, match="`T_c` is deprecated.*`Tc`"):
        g_old = diffsc.gaussian_transition(1.5e-3, T_c=7.2, fwhm=0.1)
    np.testing.assert_array_equal(g_old(T), diffsc.gaussian_transition(1.5e-3, 7.2, 0.1)(T))
    with pytest.raises(TypeError, match="pass `Tc` only"):
        diffsc.TransitionModel(Tc=7.2, T_c=7.1, **kw)
    with pytest.raises(TypeError, match="pass `Tc` only"):
        diffsc.gaussian_transition(1.5e-3, 7.2, 0.1, T_c=7.1)
    with pytest.raises(TypeError, match="missing required argument `Tc`"):
        diffsc.TransitionModel(**kw)
    with pytest.raises(TypeError, match="missing required argument `width`"):
        diffsc.TransitionModel(R_n=1.5e-3, Tc=7.2)
    with pytest.raises(TypeError, match="missing required argument `fwhm`"):
        diffsc.gaussian_transition(1.5e-3, 7.2)
    with pytest.raises(Exception, match="`Tc`"):
        diffsc.TransitionModel(Tc=-1.0, **kw)
    # Models stay pytrees: tree_at, jit and vmap rebuild them without the constructor.
    m2 = eqx.tree_at(lambda x: x.Tc, m, 7.0)
    assert m2.Tc == 7.0 and m2.width == m.width
    assert_close(jax.jit(lambda mod, t: mod(t))(m2, T), m2(T), rtol=0)
    built = jax.jit(lambda tc: diffsc.TransitionModel(Tc=tc, **kw))(jnp.asarray(7.0))
    assert_close(built(T), m2(T), rtol=0)
    tcs = jnp.array([7.0, 7.2, 7.4])
    batch = jax.vmap(lambda tc: diffsc.TransitionModel(Tc=tc, **kw))(tcs)
    assert batch.Tc.shape == (3,)
    r = jax.vmap(lambda mod: mod(7.2))(batch)
    assert_close(r, [m2(7.2), m(7.2), diffsc.TransitionModel(Tc=7.4, **kw)(7.2)], rtol=1e-15)
    dR = jax.grad(lambda tc: eqx.tree_at(lambda x: x.Tc, m, tc)(7.25))(7.2)
    assert_close(dR, -m.dR_dT(7.25), rtol=1e-12)


# ---------------------------------------------------------------------------------------------
# Time domain
# ---------------------------------------------------------------------------------------------

C_TD, G_TD = 4.09e-8, 1.5e-5


def _sim(model, freqs, I_ac, I_dc, T_bath):
    run = lambda f: simulate_lock_in(
        model, freq=f, I_ac=I_ac, I_dc=I_dc, T_bath=T_bath, C=C_TD, G=G_TD, steps_per_period=192
    )
    return jax.vmap(run)(freqs)


def test_time_domain_small_signal_matches_e3():
    """A small AC on a DC bias reproduces (E3) with alpha, beta from R(T, I) at the mean T."""
    m = diffsc.TransitionModel(R_n=1.5e-3, Tc=7.2, width=0.1, width_I=3.0)
    freqs = jnp.array([20.0, 48.0, 200.0])
    I_dc = 0.02
    res = _sim(m, freqs, jnp.asarray(2e-5), jnp.asarray(I_dc), jnp.asarray(7.15))
    T = res.T_mean
    z = electrothermal_impedance(
        freqs,
        R=m(T, I_dc),
        T=T,
        I=I_dc,
        alpha=m.alpha(T, I_dc),
        beta=m.beta(T, I_dc),
        C=C_TD,
        G=G_TD,
    )
    z1 = res.Z[:, 0]
    assert_close(z1.real, z.real, rtol=1e-5)
    assert_close(z1.imag, z.imag, rtol=1e-4)
    # second and third harmonics vanish to second order in the small amplitude
    assert float(jnp.max(jnp.abs(res.Z[:, 2]))) < 1e-3 * float(jnp.max(jnp.abs(z)))


def test_time_domain_pure_ac_harmonic_balance():
    """Pure AC drive: Z_1 -> the pure-AC form (omega* halved), 3-omega voltage present."""
    m = diffsc.TransitionModel(R_n=1.5e-3, Tc=7.2, width=0.1)
    freqs = jnp.array([30.0, 58.0, 300.0])
    I0 = 0.02
    res = _sim(m, freqs, jnp.asarray(I0), jnp.asarray(0.0), jnp.asarray(7.15))
    T = res.T_mean
    z = electrothermal_impedance(
        freqs, R=m(T), T=T, I=I0, alpha=m.alpha(T), C=C_TD, G=G_TD, excitation="pure_ac"
    )
    z1 = res.Z[:, 0]
    assert_close(z1.imag, z.imag, rtol=2e-2)
    assert_close(z1.real, z.real, rtol=1e-3)
    # The DC-bias formula at the same current overestimates the reactance several-fold.
    z_e3 = electrothermal_impedance(freqs, R=m(T), T=T, I=I0, alpha=m.alpha(T), C=C_TD, G=G_TD)
    assert float(jnp.min(z_e3.imag)) < 3 * float(jnp.min(z1.imag))
    # Even harmonics vanish (R even in I), the third does not.
    assert float(jnp.max(jnp.abs(res.Z[:, 1]))) < 1e-12
    assert float(jnp.min(jnp.abs(res.Z[:, 2]))) > 1e-3 * float(jnp.max(jnp.abs(z1)))


# ---------------------------------------------------------------------------------------------
# Input validation: every bad argument is named, eagerly and under jit
# ---------------------------------------------------------------------------------------------

_ET_KW = dict(REF, freq=40.0)
_ET_FUNCS = {
    "electrothermal_impedance": (electrothermal_impedance, _ET_KW),
    "loop_gain": (diffsc.loop_gain, {k: REF[k] for k in ("R", "T", "I", "alpha", "G")}),
    "thermal_time_constants": (
        diffsc.thermal_time_constants, {k: REF[k] for k in ("R", "T", "I", "alpha", "C", "G")}
    ),
    "reactance_extremum": (reactance_extremum, REF),
    "gaussian_transition": (diffsc.gaussian_transition, dict(R_n=1.5e-3, Tc=7.2, fwhm=0.1)),
    "TransitionModel": (diffsc.TransitionModel, dict(R_n=1.5e-3, Tc=7.2, width=0.06)),
}
# (function, argument, invalid value): out-of-range values and NaN/inf
_ET_RANGE = [
    ("electrothermal_impedance", "freq", -1.0),
    ("electrothermal_impedance", "R", 0.0),
    ("electrothermal_impedance", "L", -1e-9),
    ("electrothermal_impedance", "R_wiring", -1.0),
    ("electrothermal_impedance", "I", np.inf),
    ("electrothermal_impedance", "beta", np.nan),
    ("loop_gain", "T", -7.2),
    ("loop_gain", "alpha", np.nan),
    ("thermal_time_constants", "C", 0.0),
    ("reactance_extremum", "G", -1e-5),
    ("gaussian_transition", "R_n", np.inf),
    ("gaussian_transition", "Tc", 0.0),
    ("gaussian_transition", "fwhm", -0.1),
    ("TransitionModel", "R_res", -1e-6),
    ("TransitionModel", "width", np.nan),
]


def _expect_named_error(fn, kwargs, names, value_of, jit):
    """Call ``fn(**kwargs)`` with ``value_of[name]`` replacing each named argument; the error
    must name every one of ``names`` (under jit: arrays traced, strings closed over)."""
    bad = {n: value_of[n] for n in names}
    if jit and not any(isinstance(v, str) for v in bad.values()):
        run = lambda: jax.jit(lambda b: fn(**{**kwargs, **b}))(bad)
    elif jit:
        run = lambda: jax.jit(lambda: fn(**{**kwargs, **bad}))()
    else:
        run = lambda: fn(**{**kwargs, **bad})
    with pytest.raises(Exception) as info:
        jax.block_until_ready(run())
    for n in names:
        assert f"`{n}`" in str(info.value), (n, str(info.value)[:300])


@pytest.mark.parametrize("jit", [False, True], ids=["eager", "jit"])
@pytest.mark.parametrize("case", ["complex", "string", "empty", "bool"])
@pytest.mark.parametrize("func", list(_ET_FUNCS))
def test_non_real_input_is_named(func, case, jit):
    fn, kw = _ET_FUNCS[func]
    for name, typical in kw.items():
        value = {"complex": typical + 1e-3j * abs(typical), "string": str(typical),
                 "empty": np.zeros(0), "bool": True}[case]
        if case == "bool" and jit:
            continue  # a traced boolean array is covered by the eager case
        _expect_named_error(fn, kw, [name], {name: value}, jit)


@pytest.mark.parametrize("jit", [False, True], ids=["eager", "jit"])
@pytest.mark.parametrize("func,name,value", _ET_RANGE)
def test_out_of_range_input_is_named(func, name, value, jit):
    fn, kw = _ET_FUNCS[func]
    _expect_named_error(fn, kw, [name], {name: value}, jit)


@pytest.mark.parametrize("jit", [False, True], ids=["eager", "jit"])
@pytest.mark.parametrize("func", list(_ET_FUNCS))
def test_mismatched_shapes_name_both_arguments(func, jit):
    fn, kw = _ET_FUNCS[func]
    a, b = list(kw)[:2]
    _expect_named_error(fn, kw, [a, b], {a: np.full(3, kw[a]), b: np.full(4, kw[b])}, jit)


def test_bad_element_in_vmap_batch_is_named():
    ps = {k: jnp.full(3, v) for k, v in REF.items()}
    ps["C"] = ps["C"].at[1].set(-1.0)
    with pytest.raises(Exception, match="`C`"):
        jax.block_until_ready(jax.jit(jax.vmap(lambda p: electrothermal_impedance(10.0, **p)))(ps))
    fw = jnp.array([0.1, jnp.nan, 0.2])
    with pytest.raises(Exception, match="`fwhm`"):
        jax.block_until_ready(jax.jit(jax.vmap(lambda w: diffsc.gaussian_transition(1.0, 7.0, w)))(fw))


def test_current_sign_is_irrelevant_and_float32_defaults_stay_float32():
    """Only I^2 enters: a negative bias current is valid and gives the same numbers."""
    neg = dict(REF, I=-REF["I"])
    assert_close(electrothermal_impedance(40.0, **neg), electrothermal_impedance(40.0, **REF), rtol=0)
    assert_close(diffsc.loop_gain(**{k: neg[k] for k in ("R", "T", "I", "alpha", "G")}),
                 diffsc.loop_gain(**{k: REF[k] for k in ("R", "T", "I", "alpha", "G")}), rtol=0)
    # Python-number defaults (beta, L, R_wiring) do not promote float32 arrays.
    p32 = {k: jnp.asarray(v, jnp.float32) for k, v in REF.items() if k != "beta"}
    assert electrothermal_impedance(jnp.float32(40.0), **p32).dtype == jnp.complex64
    m = diffsc.gaussian_transition(1.5e-3, 7.2, 0.1)
    assert m(jnp.linspace(7.0, 7.4, 5, dtype=jnp.float32)).dtype == jnp.float32
