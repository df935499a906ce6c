"""Benchmark: batched complex S21 fits (diffsc.fit_s21, one vmapped call) versus a loop of
scipy.optimize.least_squares fits of the same 7-parameter notch model; reports fits per second,
the speed ratio and the accuracy (rms relative error of f_res, Qi, Qc against the known truth).

Usage: python benchmarks/bench_resonator.py [--n N] [--points M]
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import jax
import numpy as np
from scipy.optimize import least_squares

import diffsc
from diffsc._resonator._s21_fit import _circle_guess, _edges, _slope_delay


def _initial_guess(f, z):
    """diffsc's automatic starting point (delay from the phase slope, circle estimate)."""
    valid = jax.numpy.ones(f.shape, bool)
    edges, zr, zi = _edges(valid), z.real, z.imag
    return _circle_guess(f, zr, zi, valid, edges, _slope_delay(f, zr, zi, valid, edges), 1.0)


def synth(n, m, snr, seed=0):
    rng = np.random.default_rng(seed)
    t = dict(f_res=rng.uniform(4e9, 8e9, n), Qi=10 ** rng.uniform(4, 6, n),
             Qc=10 ** rng.uniform(4, 5, n), phi=rng.uniform(-0.5, 0.5, n),
             a=rng.uniform(0.1, 1, n), alpha=rng.uniform(-np.pi, np.pi, n),
             tau=rng.uniform(-60e-9, 60e-9, n))
    ql = 1 / (1 / t["Qi"] + np.cos(t["phi"]) / t["Qc"])
    f = t["f_res"][:, None] * (1 + np.linspace(-6, 6, m)[None, :] / ql[:, None])
    z = np.asarray(diffsc.s21_notch(f, *(t[k][:, None] for k in ("f_res", "Qi", "Qc")),
                                    phi=t["phi"][:, None], a=t["a"][:, None],
                                    alpha=t["alpha"][:, None], delay=t["tau"][:, None]))
    z = z + (t["a"] / snr)[:, None] * (rng.normal(size=z.shape) + 1j * rng.normal(size=z.shape))
    return f, z, t


def scipy_fit(f, z, guess):
    """Same model, same parameterisation and starting point, SciPy's trust-region LM."""
    g = {k: float(v) for k, v in guess.items()}
    fc, span = g["f_c"], g["span"]

    def model(p):
        fr = g["f_res"] * (1 + p[0] / g["Ql"])
        qi, qc, phi, a = np.exp(p[1]), np.exp(p[2]), p[3], np.exp(p[4])
        ql = 1 / (1 / qi + np.cos(phi) / qc)
        env = a * np.exp(1j * (p[5] - p[6] * (f - fc) / span))
        return env * (1 - ql / qc * np.exp(1j * phi) / (1 + 2j * ql * (f / fr - 1)))

    def res(p):
        r = model(p) - z
        return np.concatenate([r.real, r.imag])

    p0 = [0.0, np.log(g["Qi"]), np.log(g["Qc"]), g["phi"], np.log(g["a"]), g["alpha_c"],
          2 * np.pi * g["tau"] * span]  # the same internal coordinates as diffsc.fit_s21
    s = least_squares(res, p0, method="lm", xtol=1e-10, ftol=1e-10)
    p = s.x
    return dict(f_res=g["f_res"] * (1 + p[0] / g["Ql"]), Qi=np.exp(p[1]), Qc=np.exp(p[2]))


def rms_rel(est, truth):
    return float(np.sqrt(np.mean((np.asarray(est) / truth - 1) ** 2)))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=None, help="number of sweeps")
    ap.add_argument("--points", type=int, default=201)
    ap.add_argument("--snr", type=float, default=100.0)
    args = ap.parse_args()
    dev = jax.devices()[0]
    n = args.n or (4096 if dev.platform == "gpu" else 512)
    f, z, t = synth(n, args.points, args.snr)

    # diffsc: compile once, then time a second call on the same shapes
    t0 = time.perf_counter()
    r = diffsc.fit_s21(f, z)
    jax.block_until_ready(r.Qi)
    t_first = time.perf_counter() - t0
    t0 = time.perf_counter()
    r = diffsc.fit_s21(f, z)
    jax.block_until_ready(r.Qi)
    t_diffsc = time.perf_counter() - t0

    # SciPy loop on a subset (same initial guesses), extrapolated per fit
    n_sp = min(n, 128)
    guess = jax.jit(jax.vmap(_initial_guess))(f[:n_sp], z[:n_sp])
    jax.block_until_ready(guess)
    t0 = time.perf_counter()
    sp = [scipy_fit(f[i], z[i], {k: v[i] for k, v in guess.items()}) for i in range(n_sp)]
    t_scipy = (time.perf_counter() - t0) / n_sp * n

    acc = {}
    for k in ("f_res", "Qi", "Qc"):
        acc[k] = dict(
            diffsc=rms_rel(np.asarray(r.params[k])[:n_sp], t[k][:n_sp]),
            scipy=rms_rel([s[k] for s in sp], t[k][:n_sp]),
        )
    out = dict(
        benchmark="resonator_fit_s21",
        device=dev.device_kind, platform=dev.platform, host=platform.machine(),
        n_sweeps=n, n_points=args.points, snr=args.snr,
        diffsc_seconds=t_diffsc, diffsc_first_call_seconds=t_first,
        diffsc_fits_per_second=n / t_diffsc,
        scipy_seconds_extrapolated=t_scipy, scipy_fits_timed=n_sp,
        scipy_fits_per_second=n / t_scipy,
        speedup=t_scipy / t_diffsc,
        diffsc_success_fraction=float(np.mean(np.asarray(r.success))),
        rms_relative_error=acc,
    )
    res_dir = Path(__file__).parent / "results"
    res_dir.mkdir(exist_ok=True)
    path = res_dir / f"resonator_{dev.platform}.json"
    path.write_text(json.dumps(out, indent=2))
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
