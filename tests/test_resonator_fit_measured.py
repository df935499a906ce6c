"""fit_s21 on measured-style data: reflection, delay modes, crop, guesses, weights, sweeps of
mixed lengths in one compilation, and validity (a meaningless fit never reports success).

Sweeps have 401 points (one padded length, 512) so that the tests share a few compilations."""

import json
import logging

import jax
import numpy as np
import pytest
from helpers import central_difference

from diffsc import FIT_RESULTS, fit_s21
from diffsc._core._fit_status import codes_from_checks  # internal: verdict bit codes
from diffsc._resonator._s21_fit import bucket_length  # internal: batching buckets
from diffsc._resonator._s21_fit_result import model_response  # internal: NumPy model

N = 401


def synth(seed, *, n=N, f_res=6.0e9, Qi=2e5, Qc=5e4, phi=0.3, a=0.2, alpha=0.5, tau=60e-9,
          snr=200.0, model="notch", half_width=8.0):
    """A sweep of +-half_width linewidths with complex Gaussian noise a/snr per quadrature."""
    rng = np.random.default_rng(seed)
    Ql = 1 / (1 / Qi + np.cos(phi) / Qc)
    f = f_res + np.linspace(-half_width, half_width, n) * f_res / Ql
    truth = dict(f_res=f_res, Qi=Qi, Qc=Qc, phi=phi, a=a, alpha=alpha, tau=tau)
    z = model_response(f, truth, model)
    z = z + a / snr * (rng.normal(size=n) + 1j * rng.normal(size=n))
    return f, z, truth


def pulls(fit, truth, names=("f_res", "Qi", "Qc", "phi")):
    return {k: (float(fit.params[k]) - truth[k]) / float(fit.std[k]) for k in names}


def assert_no_nan(fit):
    for d in (fit.params, fit.std):
        for k, v in d.items():
            assert not np.any(np.isnan(np.asarray(v))), k


@pytest.mark.parametrize("Qi, Qc", [(2e5, 5e4), (3e4, 1e5)], ids=["overcoupled", "undercoupled"])
def test_reflection_fit_recovers_truth(Qi, Qc):
    # overcoupled: the S11 circle encloses the origin and its phase winds once across the sweep
    f, z, t = synth(1, Qi=Qi, Qc=Qc, model="reflection")
    fit = fit_s21(f, z, model="reflection")
    assert bool(fit.success), fit.reasons
    assert all(abs(p) < 4 for p in pulls(fit, t).values()), pulls(fit, t)
    # read as a notch, the same circle (diameter 2 Ql/Qc, not Ql/Qc) means another Qi: wrong by
    # many sigma (undercoupled) or impossible (overcoupled: 1/Qi = 1/Ql - 2cos(phi)/Qc < 0)
    notch = fit_s21(f, z, model="notch")
    assert (not bool(notch.success)) or abs(float(notch.Qi) - Qi) > 10 * float(notch.Qi_std)


def test_delay_modes():
    f, z, t = synth(2)
    free = fit_s21(f, z)
    fixed = fit_s21(f, z, delay=t["tau"])
    base = fit_s21(f, z, delay="baseline")
    for fit in (free, fixed, base):
        assert bool(fit.success), fit.reasons
        assert abs(pulls(fit, t)["Qi"]) < 3
    # a fixed delay is reported exactly, with zero uncertainty, and shrinks the Qi error bar
    assert float(fixed.tau) == t["tau"] and float(fixed.tau_std) == 0.0
    assert float(fixed.Qi_std) <= float(free.Qi_std)
    # a held parameter is a constant, not an unknown: the uncertainties are those of the six
    # free parameters alone, s^2 (J^T J)^-1 with a finite-difference Jacobian of the model
    names = ("f_res", "Qi", "Qc", "phi", "a", "alpha")
    v = {k: float(fixed.params[k]) for k in (*names, "tau")}

    def resid(x):
        m = model_response(f, {**v, **dict(zip(names, x, strict=True))})
        return np.concatenate([(m - z).real, (m - z).imag])

    x0 = np.array([v[k] for k in names])
    J = central_difference(resid, x0, rel_step=1e-7, abs_step=1e-9)
    r = resid(x0)
    cov = np.linalg.inv(J.T @ J) * (r @ r) / (r.size - 6)
    for i, k in enumerate(("f_res", "Qi", "Qc", "phi")):
        np.testing.assert_allclose(float(fixed.std[k]), np.sqrt(cov[i, i]), rtol=2e-3, err_msg=k)
    # the baseline delay comes from the off-resonance phase slope: within 1 % of the truth here
    assert abs(float(base.tau) / t["tau"] - 1) < 0.01 and float(base.tau_std) == 0.0
    # a wrong fixed delay is visible in chi2
    wrong = fit_s21(f, z, delay=t["tau"] + 20e-9)
    assert float(wrong.reduced_chi2) > 5 * float(fixed.reduced_chi2)


def test_crop_window_and_linewidths():
    f, z, t = synth(3, half_width=40.0)
    full = fit_s21(f, z)
    by_lw = fit_s21(f, z, crop=6.0)
    lo, hi = t["f_res"] * (1 - 2e-4), t["f_res"] * (1 + 2e-4)
    by_window = fit_s21(f, z, crop=(lo, hi))
    Ql = 1 / (1 / t["Qi"] + np.cos(t["phi"]) / t["Qc"])
    n_lw = np.sum(np.abs(f - t["f_res"]) <= 6 * t["f_res"] / Ql)
    assert abs(int(by_lw.n_points) - n_lw) <= 4
    assert int(by_window.n_points) == np.sum((f >= lo) & (f <= hi))
    for fit in (full, by_lw, by_window):
        assert bool(fit.success), fit.reasons
        assert all(abs(p) < 4 for p in pulls(fit, t).values())
    # the cropped-out points are kept with weight 0 (drawn grey by plot())
    assert np.sum(np.asarray(by_lw.weights) > 0) == int(by_lw.n_points)
    # a window narrower than three linewidths is flagged, not trusted
    narrow = fit_s21(f, z, crop=1.0)
    assert not bool(narrow.success)
    assert FIT_RESULTS.sweep_too_narrow in codes_from_checks(int(narrow.checks))


def test_guess_and_weights():
    f, z, t = synth(4)
    # a start one linewidth off with Qi 3x off converges to the same answer
    Ql = 1 / (1 / t["Qi"] + np.cos(t["phi"]) / t["Qc"])
    start = dict(f_res=t["f_res"] + t["f_res"] / Ql, Qi=t["Qi"] / 3)
    fit = fit_s21(f, z, guess=start)
    ref = fit_s21(f, z)
    assert float(fit.initial["f_res"]) == pytest.approx(start["f_res"], rel=1e-12)
    assert float(fit.initial["Qi"]) == pytest.approx(start["Qi"], rel=1e-12)
    assert bool(fit.success)
    # the same minimum, within the LM loop's stopping rule (~1e-4 sigma; 1e-2 allowed here)
    assert abs(float(fit.Qi) - float(ref.Qi)) < 1e-2 * float(ref.std["Qi"])
    assert abs(float(fit.f_res) - float(ref.f_res)) < 1e-2 * float(ref.std["f_res"])
    # spikes on 30 points (a glitch of the VNA) ruin a plain fit; weight 0 removes them
    bad = z.copy()
    idx = np.arange(150, 180)
    bad[idx] += 0.5 * t["a"]
    w = np.ones(N)
    w[idx] = 0
    plain = fit_s21(f, bad)
    weighted = fit_s21(f, bad, weights=w)
    assert bool(weighted.success) and int(weighted.n_points) == N - 30
    assert all(abs(p) < 4 for p in pulls(weighted, t).values())
    assert abs(float(plain.Qi) / t["Qi"] - 1) > 5 * abs(float(weighted.Qi) / t["Qi"] - 1)
    with pytest.raises(ValueError, match="weights"):
        fit_s21(f, z, weights=-w)
    with pytest.raises(ValueError, match="empty batch"):
        fit_s21(f, np.zeros((0, N), complex))
    with pytest.raises(ValueError, match="guess"):
        fit_s21(f, z, guess=dict(Q=1e5))


def test_mixed_lengths_share_one_compilation(caplog):
    sweeps, truths = [], []
    from diffsc import Sweep

    for i, n in enumerate((390, 401, 455, 512)):
        f, z, t = synth(10 + i, n=n, Qi=1e5 * (i + 1))
        sweeps.append(Sweep(freq=f, s=z, parameter="S21", path=f"res_{i}.s2p", metadata={}))
        truths.append(t)
    assert len({bucket_length(len(s)) for s in sweeps}) == 1
    fit_s21(sweeps[:1])  # warm-up: compiles the (batch 1, length 512) program
    with jax.log_compiles(True), caplog.at_level(logging.WARNING):
        caplog.clear()
        singles = [fit_s21(s) for s in sweeps]
        compiled = [r.getMessage() for r in caplog.records if "_fit_batch" in r.getMessage()]
    assert compiled == [], compiled  # four lengths, no new compilation
    batch = fit_s21(sweeps)
    assert batch.batch_shape == (4,) and batch.names == ("res_0", "res_1", "res_2", "res_3")
    for i, s in enumerate(singles):
        assert int(batch.n_points[i]) == len(sweeps[i])
        for k in ("f_res", "Qi", "Qc", "phi"):
            np.testing.assert_allclose(batch.params[k][i], s.params[k], rtol=1e-7, atol=1e-9)
        assert abs(pulls(s, truths[i])["Qi"]) < 4


def test_guess_points_thin_only_long_valid_ranges():
    import jax.numpy as jnp

    from diffsc._resonator._s21_fit import GUESS_POINTS, _guess_points  # internal: thinned guess

    f = jnp.arange(3072.0) + 1e9
    z = f.astype(complex)
    # a padded length this short: the arrays themselves
    short = _guess_points(f[:GUESS_POINTS], z[:GUESS_POINTS], jnp.ones(GUESS_POINTS, bool))
    assert short[0].shape == (GUESS_POINTS,) and bool(jnp.all(short[0] == f[:GUESS_POINTS]))
    # 400 valid points at 100..499 of a long padded row (one point cropped out): all of them
    valid = (jnp.arange(3072) >= 100) & (jnp.arange(3072) < 500) & (jnp.arange(3072) != 250)
    fg, zg, vg = _guess_points(f, z, valid)
    assert fg.shape == (GUESS_POINTS,)
    np.testing.assert_array_equal(np.asarray(fg)[np.asarray(vg)],
                                  np.asarray(f)[np.asarray(valid)])
    # 3001 valid points: every 6th (the smallest stride leaving <= GUESS_POINTS), first to last
    valid = jnp.arange(3072) < 3001
    fg, zg, vg = _guess_points(f, z, valid)
    kept = np.asarray(fg)[np.asarray(vg)] - 1e9
    assert kept[0] == 0 and np.all(np.diff(kept) == 6) and kept[-1] <= 3000 and kept.size == 501
    np.testing.assert_array_equal(np.asarray(zg)[np.asarray(vg)], kept + 1e9)


def test_long_sweeps_fit_with_a_thinned_guess():
    """Sweeps longer than GUESS_POINTS: a wide notch sweep (80 linewidths, 70 MHz, 3001 points)
    whose 300 ns delay winds 21 turns, a deep overcoupled notch (1601 points), a 500 MHz survey
    sweep (6001 points, 2.5 per linewidth) whose 1 us delay turns the phase by 0.52 rad per
    point (the thinned points, 12 apart, would alias by a whole turn: the guess falls back to
    all points), and a short sweep in the same batch, whose guess uses all its points and whose
    fit equals its fit alone."""
    from diffsc import Sweep

    cases = [dict(n=3001, Qi=2e4, Qc=1e4, tau=300e-9, half_width=40.0),
             dict(n=1601, Qi=1e6, Qc=2e4),
             dict(n=6001, Qi=1e5, Qc=3e4, tau=1e-6, half_width=1000.0),
             dict(n=N)]
    sweeps, truths = [], []
    for i, kw in enumerate(cases):
        f, z, t = synth(40 + i, **kw)
        sweeps.append(Sweep(freq=f, s=z, parameter="S21", path=f"long_{i}.s2p", metadata={}))
        truths.append(t)
    assert 300e-9 * np.ptp(sweeps[0].freq) > 20  # turns of the phase across the sweep
    batch = fit_s21(sweeps)
    assert np.all(batch.success), batch.reasons
    for i, t in enumerate(truths):
        p = {k: (float(batch.params[k][i]) - t[k]) / float(batch.std[k][i])
             for k in ("f_res", "Qi", "Qc", "phi", "tau")}
        assert all(abs(v) < 4 for v in p.values()), (i, p)
    alone = fit_s21(sweeps[3])
    for k in ("f_res", "Qi", "Qc", "phi"):
        assert abs(float(batch.params[k][3]) - float(alone.params[k])) < 1e-2 * float(alone.std[k])


def test_vectorised_chunks_as_on_an_accelerator_give_the_same_fits(monkeypatch):
    """On a GPU, sweeps run `vmap`-ed in chunks (converged members stop moving, branches become
    selects, block loops run to the longest member); on a CPU one by one. Same fits, here with
    the baseline delay and a crop (two guess passes)."""
    import diffsc._resonator._s21_fit as s21_fit  # internal: the chunk size of the batch

    rng = np.random.default_rng(5)
    f = synth(50)[0]
    zs = [synth(50 + i, Qi=1e5 * (1 + i), phi=0.1 * i)[1] for i in range(5)]
    weights = np.ones((5, N))
    weights[1, :150] = 0  # members with different valid ranges (different block counts)
    weights[3, rng.choice(N, 40, replace=False)] = 0
    one_by_one = fit_s21(f, np.stack(zs), weights=weights, delay="baseline", crop=7.0)
    monkeypatch.setattr(s21_fit, "default_chunk", lambda: 4)
    chunked = fit_s21(f, np.stack(zs), weights=weights, delay="baseline", crop=7.0)
    assert np.all(one_by_one.success) and np.all(chunked.success)
    np.testing.assert_array_equal(chunked.n_points, one_by_one.n_points)
    for k in ("f_res", "Qi", "Qc", "phi", "a"):
        np.testing.assert_array_less(np.abs(chunked.params[k] - one_by_one.params[k]),
                                     1e-2 * np.asarray(one_by_one.std[k]))


def test_meaningless_fits_are_flagged_never_nan():
    rng = np.random.default_rng(5)
    f = 6e9 + np.linspace(-1e6, 1e6, N)
    noise = 0.3 * (1 + 0.01 * (rng.normal(size=N) + 1j * rng.normal(size=N)))
    zeros = np.zeros(N, complex)
    tiny = 1e-10 * (rng.normal(size=N) + 1j * rng.normal(size=N))
    _, deep, _ = synth(6, Qi=1e7, Qc=1e4, snr=10.0)  # Qi >> Qc at 20 dB SNR
    _, narrow, _ = synth(7, half_width=1.0)
    # a circle rotated by 2 rad (a peak above the baseline): Qc_eff = |Qc|/cos(phi) < 0
    _, mismatch, _ = synth(8, Qi=5e4, phi=2.0)
    zs = np.stack([noise, zeros, tiny, deep, narrow, mismatch])
    ff = np.stack([f, f, f, synth(6)[0], synth(7, half_width=1.0)[0],
                   synth(8, Qi=5e4, phi=2.0)[0]])
    fit = fit_s21(ff, zs)
    assert_no_nan(fit)
    assert not np.any(np.asarray(fit.success))
    expect = [
        {FIT_RESULTS.no_resonance, FIT_RESULTS.resonance_outside_sweep, FIT_RESULTS.undetermined},
        {FIT_RESULTS.no_signal},
        {FIT_RESULTS.no_resonance, FIT_RESULTS.resonance_outside_sweep, FIT_RESULTS.undetermined},
        {FIT_RESULTS.undetermined, FIT_RESULTS.at_bound},
        {FIT_RESULTS.sweep_too_narrow},
        {FIT_RESULTS.phi_out_of_range},
    ]
    reasons = fit.reasons
    for i, allowed in enumerate(expect):
        codes = set(codes_from_checks(int(fit.checks[i])))
        assert codes & allowed, (i, codes, reasons[i])
        assert FIT_RESULTS(int(fit.result[i])) == min(codes)
        assert len(reasons[i]) >= 1 and all(isinstance(r, str) for r in reasons[i])
    # the deep resonance still gives Qc and f_res; Qi has only a lower limit
    assert float(fit.std["Qc"][3]) < 0.05 * float(fit.Qc[3])
    assert "lower limit" in " ".join(reasons[3])
    # the no-signal fit has no finite uncertainty
    assert np.all(np.isinf([fit.std[k][1] for k in ("f_res", "Qi", "Qc")]))


def test_throw_raises_only_on_failure():
    f, z, _ = synth(9)
    fit_s21(f, z, throw=True)
    with pytest.raises(Exception, match="reasons"):
        fit_s21(f, np.zeros(N, complex), throw=True)


def test_linear_background_removes_the_bias_of_a_tilted_baseline():
    # a 4 % amplitude tilt across the sweep (cables, amplifiers): the flat model biases Qi by
    # several sigma; background="linear" fits the tilt and recovers the truth
    f, z, t = synth(14, snr=300.0)
    slope = 0.04 / (f[-1] - f[0])
    z = z * (1 + slope * (f - t["f_res"]))
    flat = fit_s21(f, z)
    linear = fit_s21(f, z, background="linear")
    assert bool(linear.success), linear.reasons
    assert abs(pulls(flat, t)["Qi"]) > 3
    assert all(abs(p) < 3 for p in pulls(linear, t).values()), pulls(linear, t)
    assert abs(float(linear.slope) - slope) < 3 * float(linear.slope_std)
    assert float(flat.slope) == 0.0 and float(flat.slope_std) == 0.0
    with pytest.raises(ValueError, match="background"):
        fit_s21(f, z, background="quadratic")


def test_export_and_plot(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    f1, z1, _ = synth(11)
    f2, z2, _ = synth(12, Qi=5e4)
    fit = fit_s21(np.stack([f1, f2]), np.stack([z1, np.zeros(N, complex)]))
    rows = fit.to_rows()
    assert len(rows) == 2 and rows[0]["success"] and not rows[1]["success"]
    assert rows[1]["result"] == "no_signal" and "no signal" in rows[1]["reasons"]
    assert rows[0]["Qi"] == pytest.approx(float(fit.Qi[0]))
    cols = fit.to_dict()
    assert cols["Qi"][0] == rows[0]["Qi"] and cols["units"]["f_res"] == "Hz"
    json.dumps(rows)  # JSON-ready (inf/nan allowed by Python's json)
    single = fit_s21(f1, z1)
    with pytest.warns(DeprecationWarning, match="params"):  # `values`: the former name
        assert single.values is single.params
    d = single.to_dict()
    assert d["success"] is True and d["reasons"] == "" and d["file"] is None
    fig = fit.plot()
    assert len(fig.axes) == 6
    fig.savefig(tmp_path / "fit.png")
    fig1 = single.plot()
    assert len(fig1.axes) == 3
    # the model drawn is the fitted model: it passes through the data at the resonance
    model = single.model_response()
    assert np.sqrt(np.mean(np.abs(model - z1) ** 2)) < 2 * float(single.noise)


@pytest.mark.parametrize("k", [1.0, 2.0], ids=["notch", "reflection"])
def test_analytic_jacobian_matches_autodiff(k):
    import jax.numpy as jnp

    from diffsc._resonator._s21_fit import (  # internal: residual and analytic Jacobian
        _residual,
        _residual_and_jacobian,
    )

    rng = np.random.default_rng(13)
    f = jnp.linspace(6e9 - 1e6, 6e9 + 1e6, 97)
    z = jnp.asarray(rng.normal(size=97) + 1j * rng.normal(size=97))
    sw = jnp.asarray(rng.uniform(0, 1, 97))
    ref = dict(f_res=6e9 + 1e4, Ql=3e4, f_c=6e9, span=2e6)
    p = jnp.array([0.3, np.log(1e5), np.log(4e4), 0.4, np.log(0.3), 0.2, 1.1, 0.07])
    r, J = _residual_and_jacobian(p, (f, jnp.real(z), jnp.imag(z), sw, ref, k))
    assert r.shape == (2, 97) and J.shape == (8, 2, 97)
    r_ref = _residual(p, f, z, sw, ref, k)
    J_ad = jax.jacfwd(lambda q: _residual(q, f, z, sw, ref, k))(p)  # (97, 8) complex
    r, J = np.asarray(r), np.asarray(J)
    np.testing.assert_allclose(r[0] + 1j * r[1], r_ref, rtol=0, atol=1e-15)
    np.testing.assert_allclose(J[:, 0] + 1j * J[:, 1], J_ad.T, rtol=0,
                               atol=1e-10 * float(jnp.max(jnp.abs(J_ad))))


def test_blocked_evaluation_equals_one_pass_over_the_whole_row():
    """chi2, J^T J and J^T r summed over the 256-point blocks that hold valid points (here
    blocks 1-2 of 4: valid points 300-700 with holes) equal one pass over the whole row."""
    import jax.numpy as jnp

    from diffsc._resonator._s21_fit import (  # internal: the blocked pass of the LM loop
        _blocked_evaluation,
        _residual_and_jacobian,
    )

    rng = np.random.default_rng(17)
    n = 1024
    f = jnp.linspace(6e9 - 1e6, 6e9 + 1e6, n)
    z = jnp.asarray(rng.normal(size=n) + 1j * rng.normal(size=n))
    idx = np.arange(n)
    valid = jnp.asarray((idx >= 300) & (idx <= 700) & (idx % 7 != 0))
    sw = jnp.where(valid, jnp.asarray(rng.uniform(0.5, 1.5, n)), 0.0)
    ref = dict(f_res=jnp.asarray(6e9 + 1e4), Ql=jnp.asarray(3e4), f_c=jnp.asarray(6e9),
               span=jnp.asarray(2e6))
    p = jnp.array([0.3, np.log(1e5), np.log(4e4), 0.4, np.log(0.3), 0.2, 1.1, 0.07])
    chi2, A, g = jax.jit(_blocked_evaluation(f, z, sw, ref, 1.0, valid))(p)
    r, J = _residual_and_jacobian(p, (f, jnp.real(z), jnp.imag(z), sw, ref, 1.0))
    Jf, rf = np.asarray(J).reshape(8, -1), np.asarray(r).reshape(-1)
    np.testing.assert_allclose(float(chi2), rf @ rf, rtol=1e-12)
    np.testing.assert_allclose(A, Jf @ Jf.T, rtol=1e-12, atol=1e-12 * np.abs(Jf @ Jf.T).max())
    np.testing.assert_allclose(g, Jf @ rf, rtol=1e-10, atol=1e-12 * np.abs(Jf @ rf).max())


def test_s11_reflection_model():
    from diffsc import s11_reflection

    f = 5e9 + np.linspace(-2e6, 2e6, 41)
    # phi = 0 at resonance: (Qc - Qi) / (Qc + Qi); zero at critical coupling
    for Qi, Qc in ((1e5, 1e5), (2e5, 5e4), (3e4, 1e5)):
        z0 = complex(s11_reflection(5e9, 5e9, Qi, Qc))
        assert abs(z0 - (Qc - Qi) / (Qc + Qi)) < 1e-12
    # overcoupled: the circle encloses the origin, the phase winds once (2 pi) across the sweep
    z = np.asarray(s11_reflection(5e9 + np.linspace(-5e7, 5e7, 2001), 5e9, 2e5, 5e4))
    assert abs(abs(np.unwrap(np.angle(z))[-1] - np.unwrap(np.angle(z))[0]) - 2 * np.pi) < 0.05
    # the fit's model is this function
    v = dict(f_res=5e9, Qi=8e4, Qc=3e4, phi=0.3, a=0.2, alpha=0.4, tau=30e-9)
    np.testing.assert_allclose(model_response(f, v, "reflection"),
                               s11_reflection(f, 5e9, 8e4, 3e4, phi=0.3, a=0.2, alpha=0.4,
                                              delay=30e-9), rtol=1e-9)  # 2 pi f tau ~ 1e3 rad
    with pytest.raises(Exception, match="Qc"):
        s11_reflection(f, 5e9, 1e5, -1.0)


def test_batch_split_over_two_cpu_devices_gives_the_same_fits(tmp_path):
    import os
    import subprocess
    import sys
    from pathlib import Path

    script = """
import jax
jax.config.update("jax_num_cpu_devices", 2)
import numpy as np, sys
sys.path.insert(0, sys.argv[1])
from test_resonator_fit_measured import synth
from diffsc import fit_s21
f, z = zip(*[synth(30 + i, Qi=1e5 * (i + 1))[:2] for i in range(4)], strict=True)
fit = fit_s21(np.stack(f), np.stack(z))
assert jax.local_device_count() == 2
np.save(sys.argv[2], np.stack([fit.params[k] for k in ("f_res", "Qi", "Qc", "phi")]))
"""
    out = tmp_path / "two.npy"
    run = subprocess.run([sys.executable, "-c", script, str(Path(__file__).parent), str(out)],
                         capture_output=True, text=True, timeout=600,
                         env={**os.environ, "JAX_PLATFORMS": "cpu"})
    assert run.returncode == 0, run.stderr[-2000:]
    f, z = zip(*[synth(30 + i, Qi=1e5 * (i + 1))[:2] for i in range(4)], strict=True)
    one = fit_s21(np.stack(f), np.stack(z))
    ref = np.stack([one.params[k] for k in ("f_res", "Qi", "Qc", "phi")])
    # the same programme per sweep; results agree to well below the uncertainties
    np.testing.assert_allclose(np.load(out), ref, rtol=1e-6, atol=1e-9)
