"""resonance_vs_temperature: the linearised limits (Zmuidzinas 2012) in every film regime,
the T -> 0 limits, exact derivatives. fit_temperature_sweep: recovery of known truth from noisy
synthetic Al data (with and without given uncertainties, with TLS, per film regime), meaningless
fits flagged, input errors named, one compiled program for repeated fits of equal shape.

All fits use 20 temperatures, so the fit compiles once for the whole file.
"""

import json
import logging

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import diffsc
from diffsc import (
    FIT_RESULTS,
    Material,
    TemperatureSweepFit,
    fit_temperature_sweep,
    resonance_vs_temperature,
)
from diffsc._resonator._temperature_fit import FILM_EXPONENTS  # internal: film exponents

AL = diffsc.material("Al")
KW = dict(tc_ratio=AL.gap_ratio, debye_energy=AL.debye_energy)
T = np.linspace(0.05, 0.32, 20)
TRUTH = dict(f0=5.5e9, alpha_k=0.05, gap0=180e-6, Qi0=1e6)
SIG_F = 100.0  # Hz
SIG_Q = 0.02  # relative
P_READ = diffsc.constants.dbm_to_watt(-100.0)  # W
QC = 2e4


def _data(seed, film="thin", temps=T, **extra):
    f, q = resonance_vs_temperature(temps, **TRUTH, **extra, film=film, **KW)
    rng = np.random.default_rng(seed)
    n = len(temps)
    return (np.asarray(f) + SIG_F * rng.standard_normal(n),
            np.asarray(q) * (1 + SIG_Q * rng.standard_normal(n)))


def _pulls(fit, truth):
    return {k: (float(fit.params[k]) - v) / float(fit.std[k]) for k, v in truth.items()}


@jax.jit
def _sigma_parts(temps, gap0):
    """Independent sigma1, sigma2 (T) and sigma2(0) from diffsc.gap and diffsc.mattis_bardeen."""
    mat = Material(name="x", Tc=gap0 / (AL.gap_ratio * diffsc.constants.k_B), gap0=gap0,
                   debye_energy=AL.debye_energy)
    s1, s2 = diffsc.mattis_bardeen(TRUTH["f0"], temps, diffsc.gap(temps, mat))
    _, s2_0 = diffsc.mattis_bardeen(TRUTH["f0"], 0.0, gap0)
    return s1, s2, s2_0


@pytest.fixture(scope="module")
def data():
    return _data(seed=4)


@pytest.fixture(scope="module")
def fit_estimated(data):
    f, q = data
    return fit_temperature_sweep(T, f, Qi=q)


# ---------------------------------------------------------------------------------------------
# forward model
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("film", ["thin", "thick", "anomalous"])
def test_linearised_limits_in_every_film_regime(film):
    # small alpha_k: df/f = alpha |gamma|/2 dsigma2/sigma2, 1/Qi = alpha |gamma| sigma1/sigma2,
    # with second-order corrections of relative size ~ dsigma2/sigma2 + (sigma1/sigma2)^2/(...)
    alpha, g = 1e-4, abs(FILM_EXPONENTS[film])
    f, q = resonance_vs_temperature(T, f0=TRUTH["f0"], alpha_k=alpha, gap0=TRUTH["gap0"],
                                    film=film, **KW)
    s1, s2, s2_0 = (np.asarray(x) for x in _sigma_parts(T, TRUTH["gap0"]))
    hot = T > 0.12  # below, dsigma2/sigma2 < 1e-9 (compared with 1e-16 precision)
    f, q, s1, s2 = (np.asarray(x)[hot] for x in (f, q, s1, s2))
    delta, eps = (s2 - s2_0) / s2_0, s1 / s2_0
    df_lin = 0.5 * alpha * g * delta
    tol_f = 2 * (np.abs(delta) + eps**2 / np.abs(delta)) + 10 * alpha
    assert np.all(np.abs((f / TRUTH["f0"] - 1) / df_lin - 1) < tol_f)
    loss_lin = alpha * g * s1 / s2
    assert np.all(np.abs(1 / q / loss_lin - 1) < 3 * (np.abs(delta) + eps) + 10 * alpha)
    # the tolerance is far below the first-order effect of the regime (|gamma| thin/thick = 2)
    assert np.all(tol_f < 0.05)


def test_zero_temperature_limits():
    cold = np.geomspace(1e-3, 0.03, 20)
    for film in FILM_EXPONENTS:
        f, q = resonance_vs_temperature(cold, **TRUTH, film=film, **KW)
        np.testing.assert_allclose(np.asarray(f), TRUTH["f0"], rtol=1e-13)
        np.testing.assert_allclose(np.asarray(q), TRUTH["Qi0"], rtol=1e-9)
    # TLS: the shift vanishes at T -> 0 (f0 is the T -> 0 frequency), the loss tends to F delta0
    f, q = resonance_vs_temperature(cold, **TRUTH, F_delta0=2e-6, **KW)
    np.testing.assert_allclose(np.asarray(f)[:3], TRUTH["f0"], rtol=1e-10)
    np.testing.assert_allclose(np.asarray(q)[:3], 1 / (1e-6 + 2e-6), rtol=1e-9)


def test_derivatives_are_exact():
    # forward mode along gap0 (the fit's materialised derivative) and along T (the gap's implicit
    # derivative and Mattis-Bardeen), one compiled jvp, against central differences
    kw = dict(f0=TRUTH["f0"], alpha_k=TRUTH["alpha_k"], Qi0=TRUTH["Qi0"], **KW)
    hot = jnp.asarray(T[-4:])

    def model(gap0, t):  # shift in ppm and loss in ppm: no cancellation in the differences
        f, q = resonance_vs_temperature(t, gap0=gap0, **kw)
        return jnp.concatenate([(f / TRUTH["f0"] - 1) * 1e6, 1e6 / q])

    jvp = jax.jit(lambda g, t, dg, dt: jax.jvp(model, (g, t), (dg, dt))[1])
    g0 = TRUTH["gap0"]
    d_gap = np.asarray(jvp(g0, hot, 1.0, jnp.zeros(4)))
    d_T = np.asarray(jvp(g0, hot, 0.0, jnp.ones(4)))
    step = 1e-5 * g0
    fd_gap = (np.asarray(model(g0 + step, hot)) - np.asarray(model(g0 - step, hot))) / (2 * step)
    fd_T = (np.asarray(model(g0, hot + 1e-6)) - np.asarray(model(g0, hot - 1e-6))) / 2e-6
    np.testing.assert_allclose(d_gap, fd_gap, rtol=1e-6)
    np.testing.assert_allclose(d_T, fd_T, rtol=1e-6)


# ---------------------------------------------------------------------------------------------
# recovery
# ---------------------------------------------------------------------------------------------


def test_recovery_with_estimated_noise(fit_estimated):
    fit = fit_estimated
    assert isinstance(fit, TemperatureSweepFit)
    assert bool(fit.success) and int(fit.result) == 0 and fit.reasons == ()
    assert fit.free == ("gap0", "alpha_k", "f0", "Qi0")
    for k, pull in _pulls(fit, TRUTH).items():
        assert abs(pull) < 2, (k, pull)
    # the estimated noise levels are close to the true ones (20 points: +- 30 %)
    assert np.median(fit.f_res_std) == pytest.approx(SIG_F, rel=0.3)
    assert np.median(fit.Qi_std / fit.Qi) == pytest.approx(SIG_Q, rel=0.3)
    assert float(fit.reduced_chi2) == pytest.approx(1.0, abs=0.05)
    # the uncertainties are those of the gap to ~0.05 %: a meaningful measurement
    assert float(fit.std["gap0"]) / float(fit.params["gap0"]) < 1e-3


def test_recovery_with_given_uncertainties(data, fit_estimated):
    f, q = data
    q_true = np.asarray(resonance_vs_temperature(T, **TRUTH, **KW)[1])
    fit = fit_temperature_sweep(T, f, Qi=q, f_res_std=SIG_F, Qi_std=SIG_Q * q_true)
    assert bool(fit.success)
    for k, pull in _pulls(fit, TRUTH).items():
        assert abs(pull) < 2, (k, pull)
    # chi2 ~ dof (absolute sigma), uncertainties comparable to the self-estimated ones
    assert abs(float(fit.reduced_chi2) - 1) < 3 * np.sqrt(2 / float(fit.dof))
    for k in TRUTH:
        assert 0.6 < float(fit.std[k]) / float(fit_estimated.std[k]) < 1.6, k
    # the f block alone (no Qi): no Qi0, still recovers gap0, alpha_k, f0
    fit_f = fit_temperature_sweep(T, f, f_res_std=SIG_F)
    assert bool(fit_f.success) and "Qi0" not in fit_f.params
    for k, pull in _pulls(fit_f, {k: TRUTH[k] for k in ("gap0", "alpha_k", "f0")}).items():
        assert abs(pull) < 2, (k, pull)


def test_tls_parameters_recovered():
    # TLS in the data, photon number from a fixed readout power (it varies with Qi(T)), so n_c
    # is fitted too
    truth = dict(TRUTH, F_delta0=5e-6, n_c=1e3)
    tls = dict(F_delta0=truth["F_delta0"], n_c=truth["n_c"])
    n = np.full(T.size, 1e4)
    for _ in range(6):  # self-consistent photon number at the fixed readout power
        f, q = resonance_vs_temperature(T, **TRUTH, **tls, photon_number=n, **KW)
        n = np.asarray(diffsc.photon_number(P_READ, q, QC, f))
    assert n.max() > 2 * n.min()
    f, q = _data(seed=2, **tls, photon_number=n)
    fit = fit_temperature_sweep(T, f, Qi=q, tls=True, photon_number=n)
    assert bool(fit.success), fit.reasons
    assert set(fit.free) == set(truth)
    for k, pull in _pulls(fit, truth).items():
        assert abs(pull) < 2, (k, pull)
    # without the TLS terms the same data are badly described (the TLS dip is not modelled):
    # with the uncertainties given, that is a failed fit, not a success with biased values
    plain = fit_temperature_sweep(T, f, Qi=q, f_res_std=SIG_F, Qi_std=SIG_Q * q)
    assert float(plain.reduced_chi2) > 3
    assert not bool(plain.success) and FIT_RESULTS.poor_fit in _codes(plain)
    assert "tls=True" in " ".join(plain.reasons)
    # the right model with the same uncertainties passes the chi2 test
    good = fit_temperature_sweep(T, f, Qi=q, f_res_std=SIG_F, Qi_std=SIG_Q * q, tls=True,
                                 photon_number=n)
    assert bool(good.success), good.reasons


def _codes(fit):
    from diffsc._core._fit_status import codes_from_checks  # internal: verdict bit codes

    return codes_from_checks(int(fit.checks))


def test_chi2_excess_is_the_chi2_tail():
    from scipy import stats

    from diffsc._resonator._temperature_fit import chi2_excess  # internal: the chi2 tail

    for dof in (10, 37, 200):
        for z in (0.0, 2.0, 5.0):
            chi2 = stats.chi2.isf(stats.norm.sf(z), dof)
            assert abs(float(chi2_excess(chi2, dof)) - z) < 0.15, (dof, z)


def test_film_regime_sets_alpha_k():
    # data made for a thick film: the thick model recovers alpha_k; the thin model describes the
    # same data with alpha_k |gamma| unchanged, i.e. half the value
    f, q = _data(seed=3, film="thick")
    thick = fit_temperature_sweep(T, f, Qi=q, film="thick")
    thin = fit_temperature_sweep(T, f, Qi=q, film="thin")
    assert bool(thick.success) and bool(thin.success)
    pull = _pulls(thick, {"alpha_k": TRUTH["alpha_k"]})["alpha_k"]
    assert abs(pull) < 2
    a_thin, s_thin = float(thin.params["alpha_k"]), float(thin.std["alpha_k"])
    assert abs(a_thin - TRUTH["alpha_k"] / 2) < 3 * s_thin
    assert abs(a_thin - TRUTH["alpha_k"]) > 50 * s_thin
    assert thin.film == "thin" and thick.to_dict()["film"] == "thick"


# ---------------------------------------------------------------------------------------------
# meaningless fits, bad input
# ---------------------------------------------------------------------------------------------


def test_low_temperature_data_are_flagged_undetermined():
    # below 100 mK the quasiparticle shift of Al is < 1 Hz: gap0 and alpha_k are not measured
    cold = np.linspace(0.02, 0.095, 20)
    f, q = _data(seed=0, temps=cold)
    fit = fit_temperature_sweep(cold, f, Qi=q)
    assert not bool(fit.success)
    assert fit.status == FIT_RESULTS.undetermined
    assert int(fit.checks) >> (FIT_RESULTS.undetermined - 1) & 1
    text = " ".join(fit.reasons)
    assert "alpha_k" in text and "gap0" in text
    # never absurd finite error bars: alpha_k's uncertainty is inf (or within its range)
    s = float(fit.std["alpha_k"])
    assert s == np.inf or s <= 1.0
    assert not np.any(np.isnan([float(v) for v in fit.std.values()]))
    # f0 is still measured
    assert abs(float(fit.params["f0"]) - TRUTH["f0"]) < 3 * float(fit.std["f0"])
    assert fit.to_dict()["success"] is False and fit.to_dict()["result"] == "undetermined"
    with pytest.raises(RuntimeError, match="not determined.*alpha_k"):
        fit_temperature_sweep(cold, f, Qi=q, throw=True)


def test_bad_input_errors_name_the_argument(data):
    f, q = data
    bad = f.copy()
    bad[3] = np.nan
    with pytest.raises(Exception, match="`f_res`"):
        fit_temperature_sweep(T, bad, Qi=q)
    with pytest.raises(Exception, match="`Qi`"):
        fit_temperature_sweep(T, f, Qi=np.where(T > 0.2, np.nan, q))
    with pytest.raises(ValueError, match="`T`.*`Qi`"):
        fit_temperature_sweep(T, f, Qi=q[:-1])
    with pytest.raises(ValueError, match="`T`.*`f_res`"):
        fit_temperature_sweep(T, f[:-2])
    with pytest.raises(ValueError, match="unknown parameter.*'gap'"):
        fit_temperature_sweep(T, f, fixed={"gap": 1e-4})
    with pytest.raises(ValueError, match="film"):
        fit_temperature_sweep(T, f, film="thin-ish")
    with pytest.raises(Exception, match="`alpha_k`"):
        resonance_vs_temperature(T, f0=5e9, alpha_k=1.5, gap0=1.8e-4)


# ---------------------------------------------------------------------------------------------
# compile cache, fixed parameters, export, plot
# ---------------------------------------------------------------------------------------------


def test_repeat_fit_and_fixed_parameters_reuse_the_compiled_fit(fit_estimated, caplog):
    f, q = _data(seed=11)
    with caplog.at_level(logging.WARNING), jax.log_compiles(True):
        again = fit_temperature_sweep(T, f, Qi=q)
        held = fit_temperature_sweep(T, f, Qi=q, fixed={"gap0": TRUTH["gap0"]},
                                     guess={"alpha_k": 0.04})
    compiled = [r.getMessage() for r in caplog.records if "_fit_core" in r.getMessage()]
    assert compiled == [], compiled
    assert bool(again.success) and bool(held.success)
    assert held.free == ("alpha_k", "f0", "Qi0") and held.covariance.shape == (3, 3)
    assert float(held.std["gap0"]) == 0 and float(held.params["gap0"]) == TRUTH["gap0"]
    # knowing the gap shrinks alpha_k's uncertainty
    assert float(held.std["alpha_k"]) < float(again.std["alpha_k"])


def test_export_model_and_plot(fit_estimated):
    fit = fit_estimated
    d = fit.to_dict()
    json.dumps(d, allow_nan=False)
    assert d["success"] is True and d["reasons"] == [] and d["result"] == "successful"
    assert set(d["parameters"]) == set(TRUTH)
    gap = d["parameters"]["gap0"]
    assert gap["unit"] == "eV" and gap["fixed"] is False
    assert gap["value"] == float(fit.params["gap0"]) and gap["std"] == float(fit.std["gap0"])
    f_m, q_m = fit.model(fit.T)
    assert np.sqrt(np.mean(((np.asarray(f_m) - fit.f_res) / fit.f_res_std) ** 2)) < 1.5
    import matplotlib.pyplot as plt

    fig = fit.plot()
    try:
        assert len(fig.axes) == 4
        legend = " ".join(t.get_text() for t in fig.axes[0].get_legend().get_texts())
        assert "gap0 = 180" in legend and "±" in legend
    finally:
        plt.close(fig)


@pytest.mark.slow
def test_uncertainties_are_honest_over_repeated_experiments():
    # 12 noise realisations: normalised errors look standard normal (no bias, rms ~ 1)
    pulls = {k: [] for k in TRUTH}
    for seed in range(100, 112):
        f, q = _data(seed)
        fit = fit_temperature_sweep(T, f, Qi=q)
        assert bool(fit.success)
        for k, p in _pulls(fit, TRUTH).items():
            pulls[k].append(p)
    for k, p in pulls.items():
        p = np.asarray(p)
        assert np.all(np.abs(p) < 3.5), k
        assert 0.5 < np.sqrt(np.mean(p**2)) < 1.6, k
        assert abs(np.mean(p)) < 1.0, k


@pytest.mark.parametrize("jit", [False, True], ids=["eager", "jit"])
@pytest.mark.parametrize(
    "name,value",
    [("Qi0", 1e6 + 1j), ("Qi0", "1e6"), ("Qi0", np.zeros(0)), ("Qi0", True), ("Qi0", None),
     ("Qi0", np.nan), ("Qi0", 0.0), ("Qi0", -1e6), ("alpha_k", 1.0), ("alpha_k", -0.1),
     ("f0", 5e9 + 1j), ("gap0", np.nan), ("beta", -0.5)],
)
def test_resonance_vs_temperature_bad_input_is_named(name, value, jit):
    """Complex, string, empty, boolean, None, NaN and out-of-range input names the argument."""
    kw = dict(f0=5.5e9, alpha_k=0.05, gap0=1.8e-4, Qi0=1e6)
    static = isinstance(value, str | bool) or value is None
    if jit and static:
        pytest.skip("Python objects, not arrays: eager only")
    if jit:
        run = lambda: jax.jit(lambda v: resonance_vs_temperature(T, **{**kw, name: v}))(value)
    else:
        run = lambda: resonance_vs_temperature(T, **{**kw, name: value})
    with pytest.raises(Exception, match=f"`{name}`"):
        jax.block_until_ready(run())


def test_resonance_vs_temperature_infinite_qi0_and_shapes():
    kw = dict(f0=5.5e9, alpha_k=0.05, gap0=1.8e-4)
    f_inf, q_inf = resonance_vs_temperature(T, **kw, Qi0=np.inf)  # inf: no such loss (default)
    f_def, q_def = resonance_vs_temperature(T, **kw)
    np.testing.assert_array_equal(f_inf, f_def)
    np.testing.assert_array_equal(q_inf, q_def)
    with pytest.raises(ValueError, match="`T`.*`f0`"):
        resonance_vs_temperature(T, **{**kw, "f0": np.full(3, 5.5e9)})
    with pytest.raises(ValueError, match="`T`.*`Qi0`"):
        jax.jit(lambda q: resonance_vs_temperature(T, **kw, Qi0=q))(np.full(4, 1e6))
