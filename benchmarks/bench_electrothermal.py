"""Benchmark: Im Z over a 10^6-point (T, I, B, f) grid and the C(T) inversion vs NumPy/SciPy."""

import json
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
from scipy.optimize import least_squares as sp_least_squares

import diffsc

M = diffsc.TransitionModel(
    R_n=1.5e-3, Tc=7.2, width=0.04, dTc_dB=1.3, width_B=0.5, width_I=6.0, R_res=1e-10
)


def grid():
    T = np.linspace(6.8, 7.6, 100)
    I = np.linspace(5e-3, 50e-3, 10)
    B = np.linspace(0, 0.3, 10)
    f = np.logspace(0.8, 3, 100)
    return [a.ravel() for a in np.meshgrid(T, I, B, f, indexing="ij")]


@jax.jit
def im_z_jax(T, I, B, f):
    R = M(T, I, B)
    a = T * M.dR_dT(T, I, B) / R
    return diffsc.electrothermal_impedance(
        f, R=R, T=T, I=I, alpha=a, beta=1.5, C=1.7e-7, G=1.5e-5
    ).imag


def im_z_numpy(T, I, B, f):
    from scipy.special import erf

    Tm = 7.2 - 1.3 * B
    w = np.sqrt(0.04**2 + (0.5 * B) ** 2 + (6.0 * I) ** 2)
    x = (T - Tm) / w
    R = 1e-10 + (1.5e-3 - 1e-10) * 0.5 * (1 + erf(x))
    RT = (1.5e-3 - 1e-10) * np.exp(-(x**2)) / (w * np.sqrt(np.pi))
    g = 1.5e-5 - I**2 * RT
    om = 2 * np.pi * f
    return -(3.5 * I**2 * R * RT) * om * 1.7e-7 / (g**2 + (om * 1.7e-7) ** 2)


def timeit(fn, n=3):
    fn()
    t = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - t) / n


def main():
    dev = jax.devices()[0]
    T, I, B, f = grid()
    Tj, Ij, Bj, fj = map(jnp.asarray, (T, I, B, f))
    t_jax = timeit(lambda: im_z_jax(Tj, Ij, Bj, fj).block_until_ready())
    t_np = timeit(lambda: im_z_numpy(T, I, B, f))
    err = float(np.max(np.abs(np.asarray(im_z_jax(Tj, Ij, Bj, fj)) - im_z_numpy(T, I, B, f))))

    # C(T) inversion at fixed lambda vs scipy.optimize.least_squares on the same objective.
    Tg = jnp.linspace(6.95, 7.45, 61)
    m = diffsc.TransitionModel(R_n=1.5e-3, Tc=7.2, width=0.06)
    C_true = 1.6e-7 + 6e-8 * 0.5 * (1 - jnp.tanh((Tg - 7.2) / 0.015))
    freqs = jnp.array([7.0, 32.0, 89.0])
    R = m(Tg)
    im = diffsc.electrothermal_impedance(
        freqs[:, None],
        R=R[None, :],
        T=Tg[None, :],
        I=0.01,
        alpha=m.alpha(Tg)[None, :],
        beta=1.5,
        C=C_true[None, :],
        G=1.5e-5,
    ).imag
    im = im + 1e-6 * np.random.default_rng(0).normal(size=im.shape)
    run = lambda: diffsc.recover_heat_capacity(
        Tg, im, R=R, freq=freqs, I=0.01, beta=1.5, G=1.5e-5, lam=500.0
    ).C.block_until_ready()
    t_inv = timeit(run, 2)
    res = diffsc.recover_heat_capacity(
        Tg, im, R=R, freq=freqs, I=0.01, beta=1.5, G=1.5e-5, lam=500.0
    )
    K = np.asarray(3.5 * 1e-4 * res.R_smooth * res.alpha * res.R_smooth / Tg)
    g = np.asarray(1.5e-5 - 1e-4 * res.alpha * res.R_smooth / Tg)
    w = 2 * np.pi * np.asarray(freqs)
    D = np.diff(np.eye(61), 2, axis=0)
    sig = float(res.noise)

    def resid(c):
        C = np.exp(c)
        model = -K * w[:, None] * C / (g**2 + (w[:, None] * C) ** 2)
        return np.concatenate(
            [((model - np.asarray(im)) / sig).ravel(), np.sqrt(float(res.lam)) * D @ c]
        )

    c0 = np.full(61, np.log(2e-7))
    t = time.perf_counter()
    sp = sp_least_squares(resid, c0, method="lm")
    t_sp = time.perf_counter() - t
    out = dict(
        device=dev.device_kind,
        platform=dev.platform,
        grid_points=int(T.size),
        im_z_grid_s=dict(
            jax=t_jax, numpy=t_np, ratio_numpy_over_jax=t_np / t_jax, max_abs_diff_ohm=err
        ),
        inversion=dict(
            n_T=61,
            n_freq=3,
            jax_s=t_inv,
            scipy_lm_s=t_sp,
            ratio_scipy_over_jax=t_sp / t_inv,
            max_rel_diff_C=float(np.max(np.abs(np.exp(sp.x) / np.asarray(res.C) - 1))),
        ),
    )
    path = Path(__file__).parent / "results" / f"electrothermal_{dev.platform}.json"
    path.write_text(json.dumps(out, indent=2))
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
