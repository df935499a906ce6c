"""Electrothermal inverse problems: spectrum fits (Fig. 5, Fig. 3) and C(T) from Im Z(T) (§6.7)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from helpers import assert_close

import diffsc
from diffsc import electrothermal_impedance, fit_impedance_spectrum, recover_heat_capacity

FIG5 = dict(C=4.09e-8, G=1.5e-5, alpha=65.0, beta=15.0)
OP = dict(R=0.75e-3, T=7.2, I=0.02)
FREQ = jnp.logspace(0, np.log10(2000.0), 25)


def test_fig5_fit_recovers_truth_within_sigma():
    """Complex Z(omega) at one current, alpha known from R(T): C, G, beta within their sigma."""
    z = electrothermal_impedance(FREQ, **OP, **FIG5)
    sig = 0.01 * float(-z.imag.min())
    rng = np.random.default_rng(0)
    n = 6
    noise = sig * (rng.normal(size=(n, FREQ.size)) + 1j * rng.normal(size=(n, FREQ.size)))
    p0 = dict(C=6e-8, G=1.2e-5, alpha=65.0, beta=10.0)
    fit = jax.vmap(
        lambda d: fit_impedance_spectrum(
            FREQ, d, **OP, params0=p0, free=("C", "G", "beta"), sigma=sig, part="complex"
        )
    )(z[None, :] + jnp.asarray(noise))
    assert bool(jnp.all(fit.success))
    pulls = np.stack(
        [(np.asarray(fit.params[k]) - FIG5[k]) / np.asarray(fit.std[k]) for k in ("C", "G", "beta")]
    )
    assert np.all(np.abs(pulls) < 4.0), pulls
    assert np.mean(pulls**2) < 2.5, pulls  # chi^2 of the pulls consistent with 1 per fit
    rel = np.asarray(fit.std["C"]) / FIG5["C"]
    assert np.all(rel < 0.02)


def test_scale_degeneracy_is_reported():
    """Z is invariant under (C, G, alpha) -> k (C, G, alpha): a 4-parameter fit is undetermined."""
    z = electrothermal_impedance(FREQ, **OP, **FIG5)
    z2 = electrothermal_impedance(
        FREQ, **OP, C=2 * FIG5["C"], G=2 * FIG5["G"], alpha=2 * FIG5["alpha"], beta=FIG5["beta"]
    )
    assert_close(z2, z, rtol=1e-12)
    fit = fit_impedance_spectrum(
        FREQ, z.imag, **OP, params0=dict(FIG5, C=5e-8), free=("C", "G", "alpha", "beta"), sigma=1e-6
    )
    worst = max(float(fit.std[k]) / abs(float(fit.params[k])) for k in ("C", "G", "alpha"))
    assert not np.isfinite(worst) or worst > 1e3


def test_g_versus_pressure_batched():
    """Fig. 3: one Im Z(omega) curve per exchange-gas pressure, one vmapped fit of (C, G)."""
    p = jnp.logspace(-2, np.log10(5.0), 6)  # mbar
    G_true = 1.5e-5 + 2.0e-4 * p / (p + 0.5)
    z = jax.vmap(lambda g: electrothermal_impedance(FREQ, **OP, **dict(FIG5, G=g)).imag)(G_true)
    sig = 1e-3 * float(-z.min())
    rng = np.random.default_rng(5)
    data = z + sig * rng.normal(size=z.shape)
    fit = jax.vmap(
        lambda d: fit_impedance_spectrum(
            FREQ, d, **OP, params0=dict(FIG5, C=3e-8, G=5e-5), sigma=sig, im_sign=-1.0
        )
    )(-jnp.asarray(data))  # lock-in with the opposite quadrature sign
    assert bool(jnp.all(fit.success))
    pull = (fit.params["G"] - G_true) / fit.std["G"]
    assert float(jnp.max(jnp.abs(pull))) < 4.0
    assert bool(jnp.all(jnp.diff(fit.params["G"]) > 0))


@pytest.fixture(scope="module")
def synthetic_recovery():
    T = jnp.linspace(6.95, 7.45, 61)
    Tc, gam = 7.2, 6.0e-8 / 7.2  # gamma V (J/K^2); BCS-like jump of 1.43 gamma Tc
    step = 0.5 * (1 - jnp.tanh((T - Tc) / 0.015))
    C_true = 9.4e-8 * (T / Tc) ** 3 + gam * T + 1.43 * gam * Tc * (T / Tc) ** 3 * step
    m = diffsc.TransitionModel(R_n=1.5e-3, Tc=7.2, width=0.06)
    I, beta, G = 0.01, 1.5, 1.5e-5
    freqs = jnp.array([7.0, 32.0, 89.0])
    R = m(T)
    im = electrothermal_impedance(
        freqs[:, None],
        R=R[None, :],
        T=T[None, :],
        I=I,
        alpha=m.alpha(T)[None, :],
        beta=beta,
        C=C_true[None, :],
        G=G,
    ).imag
    rng = np.random.default_rng(11)
    sig = 0.01 * float(-im.min())
    im_n = im + sig * rng.normal(size=im.shape)
    R_n = R * (1 + 1e-3 * rng.normal(size=R.shape))
    res = recover_heat_capacity(T, im_n, R=R_n, freq=freqs, I=I, beta=beta, G=G, n_lam=9)
    return dict(
        T=T, C_true=C_true, res=res, sig=sig, freqs=freqs, I=I, beta=beta, G=G, R=R_n, im=im_n
    )


def test_recovery_within_band(synthetic_recovery):
    s = synthetic_recovery
    res = s["res"]
    ok = np.asarray(res.identifiable)
    assert ok.sum() >= 12  # the transition region is resolved
    inside = (s["C_true"] >= res.C_lower) & (s["C_true"] <= res.C_upper)
    assert float(np.mean(np.asarray(inside)[ok])) >= 0.9
    # The band is informative where identifiable (median < 5 % relative) ...
    rel = np.asarray(res.C_std / res.C)[ok]
    assert np.median(rel) < 0.05 and rel.max() < 0.3
    # ... and the noise estimate is right within 30 %.
    assert_close(res.noise, s["sig"], rtol=0.3)
    # GCV picked an interior penalty weight
    k = int(jnp.argmin(res.gcv))
    assert 0 < k < res.gcv.size - 1


def test_closed_form_branches(synthetic_recovery):
    """C+ C- = (g/omega)^2 and the recovered curve lies on the low branch at 7 Hz."""
    s = synthetic_recovery
    res = s["res"]
    ok = np.asarray(res.identifiable & ~jnp.isnan(res.C_low))
    T = s["T"]
    R_T = res.alpha * res.R_smooth / T
    g = s["G"] - s["I"] ** 2 * R_T
    w = 2 * np.pi * s["freqs"][0]
    assert_close(np.asarray(res.C_low * res.C_high)[ok], np.asarray((g / w) ** 2)[ok], rtol=1e-9)
    assert np.all(np.asarray(res.omega_tau)[ok] < 1.0)


def test_recover_bad_input():
    T = jnp.linspace(7.0, 7.4, 20)
    R = jnp.full(20, 1e-3)
    with pytest.raises(ValueError, match="`R`"):
        recover_heat_capacity(T, jnp.zeros(20), R=R[:-1], freq=10.0, I=0.01, beta=1.0, G=1e-5)
    with pytest.raises(ValueError, match="`im_z`"):
        recover_heat_capacity(T, jnp.zeros((2, 20)), R=R, freq=10.0, I=0.01, beta=1.0, G=1e-5)
    with pytest.raises(Exception, match="`G`"):
        recover_heat_capacity(T, -jnp.ones(20) * 1e-6, R=R, freq=10.0, I=0.01, beta=1.0, G=-1e-5)
    with pytest.raises(ValueError, match="`params0`"):
        fit_impedance_spectrum(FREQ, jnp.zeros(25), **OP, params0=dict(C=1e-8))


_NBSE2 = diffsc.material("NbSe2").replace(N0=1.0e28)
_SHC_KW = dict(T=6.5, volume=1e-13, Tc_spread=0.05)


def _shc(**kw):
    return diffsc.sample_heat_capacity(material=_NBSE2, **{**_SHC_KW, **kw})


@pytest.mark.parametrize("jit", [False, True], ids=["eager", "jit"])
@pytest.mark.parametrize(
    "name,value",
    [("T", 6.5 + 1e-3j), ("T", np.zeros(0)), ("T", np.nan), ("T", 0.0), ("T", 3.0),
     ("volume", "1e-13"), ("volume", -1e-13), ("volume", np.zeros(0)),
     ("Tc_spread", 0.05 + 0j), ("Tc_spread", "0.05"), ("Tc_spread", np.nan), ("Tc_spread", -0.01),
     ("Tc_spread", 2.0), ("Tc_spread", np.zeros(0)), ("atoms_per_formula", 0.0)],
)
def test_sample_heat_capacity_bad_input_is_named(name, value, jit):
    """Complex, string, empty, NaN and out-of-range input (T below the table's 0.6 Tc, a spread
    that pushes quadrature nodes to Tc' <= 0) names the argument, eagerly and under jit."""
    if jit and isinstance(value, str):
        run = lambda: jax.jit(lambda: _shc(**{name: value}))()
    elif jit:
        run = lambda: jax.jit(lambda v: _shc(**{name: v}))(value)
    else:
        run = lambda: _shc(**{name: value})
    with pytest.raises(Exception, match=f"`{name}`"):
        jax.block_until_ready(run())


def test_sample_heat_capacity_shapes_and_traced_spread():
    with pytest.raises(ValueError, match="`T`.*`volume`"):
        _shc(T=np.full(3, 6.5), volume=np.full(4, 1e-13))
    # Tc_spread traced under jit (it was a Python `if` before) gives the eager numbers, also at 0
    # not at Tc = 7.2 K itself: C jumps there, and jit may round T to the other side by one ulp
    T = jnp.linspace(6.0, 7.6, 9) + 0.01
    traced = jax.jit(lambda s: _shc(T=T, Tc_spread=s))
    for spread in (0.0, 0.05):
        assert_close(traced(spread), _shc(T=T, Tc_spread=spread), rtol=1e-12)
