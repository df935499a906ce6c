"""fit_s21: recovery of known truth from noisy synthetic sweeps, honest uncertainties, and accuracy
at least that of an independent Probst-style circle fit (implemented here with numpy/scipy)."""

import numpy as np
import pytest
from scipy.optimize import least_squares as scipy_lsq
from scipy.optimize import minimize_scalar

from diffsc import fit_s21, read_touchstone, s21_ideal, s21_notch, write_touchstone

SNRS = (1e3, 1e2, 3e1)  # off-resonance amplitude / noise rms per quadrature
N_REP = 8
N_PTS = 301


def _truth(rng, n):
    return dict(
        f_res=rng.uniform(4e9, 8e9, n),
        Qi=10 ** rng.uniform(4, 6, n),
        Qc=10 ** rng.uniform(4, 5, n),
        phi=rng.uniform(-0.5, 0.5, n),
        a=rng.uniform(0.1, 1.0, n),
        alpha=rng.uniform(-np.pi, np.pi, n),
        tau=rng.uniform(-60e-9, 60e-9, n),
    )


def _synth(seed=1):
    rng = np.random.default_rng(seed)
    n = len(SNRS) * N_REP
    t = _truth(rng, n)
    Ql = 1 / (1 / t["Qi"] + np.cos(t["phi"]) / t["Qc"])
    fc = t["f_res"] * (1 + rng.uniform(-0.5, 0.5, n) / Ql)
    half = 6 * t["f_res"] / Ql  # +- 6 linewidths
    f = fc[:, None] + np.linspace(-1, 1, N_PTS)[None, :] * half[:, None]
    z = np.asarray(s21_notch(f, t["f_res"][:, None], t["Qi"][:, None], t["Qc"][:, None],
                             phi=t["phi"][:, None], a=t["a"][:, None], alpha=t["alpha"][:, None],
                             delay=t["tau"][:, None]))
    snr = np.repeat(np.asarray(SNRS), N_REP)
    sigma = t["a"] / snr
    z = z + sigma[:, None] * (rng.normal(size=z.shape) + 1j * rng.normal(size=z.shape))
    return f, z, t, snr


def circle_fit_reference(f, z):
    """Probst et al. (RSI 86, 024706) style: delay by circle residual, algebraic circle fit,
    phase-vs-frequency fit for (f_r, Ql), then a, alpha, |Qc|, phi from the circle geometry."""
    fc = 0.5 * (f[0] + f[-1])

    def kasa(w):
        x, y = w.real, w.imag
        A = np.stack([x, y, np.ones_like(x)], 1)
        D, E, F = np.linalg.lstsq(A, -(x**2 + y**2), rcond=None)[0]
        xc, yc = -D / 2, -E / 2
        r = np.sqrt(xc**2 + yc**2 - F)
        return xc + 1j * yc, r, np.sum((np.abs(w - (xc + 1j * yc)) - r) ** 2)

    k = len(f) // 10
    ph = np.unwrap(np.angle(z))
    tau0 = -(ph[-k:].mean() - ph[:k].mean()) / (2 * np.pi * (f[-k:].mean() - f[:k].mean()))
    span = f[-1] - f[0]
    res = minimize_scalar(lambda t: kasa(z * np.exp(2j * np.pi * (f - fc) * t))[2],
                          bracket=(tau0 - 0.2 / span, tau0 + 0.2 / span))
    tau = res.x
    z1 = z * np.exp(2j * np.pi * (f - fc) * tau)
    zc, r, _ = kasa(z1)
    theta = np.unwrap(np.angle(z1 - zc))
    i0 = np.argmax(np.abs(np.gradient(theta)))
    fr0 = f[i0]
    ql0 = fr0 / span * 3

    def ph_res(p):
        th0, fr, lql = p
        return theta - (th0 + 2 * np.arctan(2 * np.exp(lql) * (1 - f / fr)))

    th_init = theta[i0]
    sol = scipy_lsq(ph_res, [th_init, fr0, np.log(ql0)], x_scale=[1, fr0 / ql0, 1])
    th0, fr, lql = sol.x
    Ql = np.exp(lql)
    p_off = zc + r * np.exp(1j * (th0 + np.pi))
    a, alpha_c = np.abs(p_off), np.angle(p_off)
    zn = z1 / p_off
    zcn, rn = (zc / p_off), r / a
    phi = -np.arcsin(np.clip(zcn.imag / rn, -1, 1))
    Qc = Ql / (2 * rn)
    Qi = 1 / (1 / Ql - np.cos(phi) / Qc)
    del zn
    return dict(f_res=fr, Qi=Qi, Qc=Qc, phi=phi, a=a, tau=tau, alpha_c=alpha_c)


@pytest.fixture(scope="module")
def fitted():
    f, z, t, snr = _synth()
    res = fit_s21(f, z)
    return f, z, t, snr, res


def test_recovers_truth_within_reported_sigma(fitted):
    f, z, t, snr, res = fitted
    assert bool(np.all(res.success))
    for name in ("f_res", "Qi", "Qc", "phi", "a", "tau"):
        pull = (np.asarray(res.params[name]) - t[name]) / np.asarray(res.std[name])
        assert np.all(np.abs(pull) < 5), (name, pull)
        # honest uncertainties: pulls have rms of order one
        assert 0.4 < np.sqrt(np.mean(pull**2)) < 2.0, (name, pull)
    # alpha is defined at f = 0 and correlated with tau: compare the envelope phase at the centre
    fc = 0.5 * (f[:, 0] + f[:, -1])
    env_fit = np.asarray(res.params["alpha"]) - 2 * np.pi * fc * np.asarray(res.params["tau"])
    env_true = t["alpha"] - 2 * np.pi * fc * t["tau"]
    assert np.all(np.abs(np.angle(np.exp(1j * (env_fit - env_true)))) < 0.1)
    # relative precision on Qi at the highest SNR
    hi = snr == SNRS[0]
    assert np.all(np.abs(res.params["Qi"][hi] / t["Qi"][hi] - 1) < 0.05)


def test_at_least_as_accurate_as_circle_fit(fitted):
    f, z, t, snr, res = fitted
    ref = [circle_fit_reference(f[i], z[i]) for i in range(len(snr))]
    for name in ("f_res", "Qi", "Qc"):
        # relative errors scaled by the SNR, pooled over the SNR levels (24 sweeps)
        err_ref = np.array([abs(r[name] / t[name][i] - 1) for i, r in enumerate(ref)]) * snr
        err_fit = np.abs(np.asarray(res.params[name]) / t[name] - 1) * snr
        # rms error of the full complex least-squares fit <= circle fit (+20 % statistical slack)
        assert np.sqrt(np.mean(err_fit**2)) <= 1.2 * np.sqrt(np.mean(err_ref**2)), name


def test_batch_shape_ideal_model_and_touchstone(tmp_path):
    rng = np.random.default_rng(3)
    f = np.linspace(5.279e9, 5.281e9, 201)
    qi = np.array([[5e4, 2e5], [1e4, 3e4]])
    z = np.asarray(s21_ideal(np.broadcast_to(f, (2, 2, 201)), 5.2801e9, qi[..., None], 2e4))
    z = z + 1e-3 * (rng.normal(size=z.shape) + 1j * rng.normal(size=z.shape))
    res = fit_s21(f, z, model="ideal")
    assert res.Qi.shape == (2, 2) and res.f_res.shape == (2, 2)
    assert np.all(np.abs(res.Qi - qi) < 5 * res.Qi_std)
    assert np.all(np.abs(res.Qc - 2e4) < 5 * res.Qc_std)
    # ideal model: a = 1, phi = tau = 0 fixed (zero uncertainty)
    np.testing.assert_array_equal(res.a, 1.0)
    np.testing.assert_array_equal(res.tau_std, 0.0)
    # through a Touchstone file
    p = tmp_path / "res.s2p"
    write_touchstone(p, f, {"S21": z[0, 0]})
    ff, s = read_touchstone(p)
    np.testing.assert_allclose(ff, f, rtol=1e-12)
    np.testing.assert_allclose(s["S21"], z[0, 0], rtol=1e-10)


def test_fit_s21_rejects_bad_input():
    f = np.linspace(1e9, 1.1e9, 50)
    with pytest.raises(ValueError, match="complex"):
        fit_s21(f, np.ones(50))
    with pytest.raises(ValueError, match="freq"):
        fit_s21(f[:40], np.ones(50, complex))
    with pytest.raises(ValueError, match="model"):
        fit_s21(f, np.ones(50, complex), model="nope")
