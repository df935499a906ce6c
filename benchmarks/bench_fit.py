"""Fits/s: many datasets fitted in one vmapped call versus one by one, against SciPy.

Model: the Debye relaxation of an electrothermal impedance,
$Z(\\omega) = R_0 + A/(1 + j\\omega\\tau)$ (Ohm; $\\omega = 2\\pi f$), sampled at 40 frequencies with
complex Gaussian noise; parameters $R_0$, $A$ (Ohm) and $\\tau$ (s, positive). Three ways:
``jax.vmap`` over datasets of :func:`diffsc.least_squares` (one compiled call), the same jitted
single fit in a Python loop, and ``scipy.optimize.least_squares`` in a loop (baseline). Writes
``benchmarks/results/fit_<platform>.json``.

Usage: ``python benchmarks/bench_fit.py [--datasets N]``
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
from scipy import optimize

import diffsc  # noqa: F401  (float64)
from diffsc._fit import least_squares

FREQ = np.geomspace(1.0, 1e4, 40)
SIGMA = 0.02  # Ohm, per quadrature


def model(p, freq):
    return p["R0"] + p["A"] / (1.0 + 2j * jnp.pi * freq * p["tau"])


def residual(p, data):
    z = model(p, data["freq"])
    return jnp.concatenate([(z.real - data["re"]) / SIGMA, (z.imag - data["im"]) / SIGMA])


P0 = {"R0": 1.0, "A": 1.0, "tau": 1e-3}


def fit_one(data):
    return least_squares(residual, P0, data, transforms={"tau": "positive"}, absolute_sigma=True)


def make_data(n, seed=0):
    rng = np.random.default_rng(seed)
    R0 = rng.uniform(0.5, 2.0, n)
    A = rng.uniform(0.5, 3.0, n)
    tau = 10 ** rng.uniform(-3.5, -1.5, n)
    z = R0[:, None] + A[:, None] / (1 + 2j * np.pi * FREQ[None, :] * tau[:, None])
    z = z + SIGMA * (rng.standard_normal(z.shape) + 1j * rng.standard_normal(z.shape))
    data = {"freq": np.broadcast_to(FREQ, z.shape).copy(), "re": z.real, "im": z.imag}
    return data, dict(R0=R0, A=A, tau=tau)


def scipy_fit(d):
    def res(x):
        z = x[0] + x[1] / (1 + 2j * np.pi * d["freq"] * np.exp(x[2]))
        return np.concatenate([(z.real - d["re"]) / SIGMA, (z.imag - d["im"]) / SIGMA])

    sol = optimize.least_squares(res, [1.0, 1.0, np.log(1e-3)], method="lm", xtol=1e-12, ftol=1e-12)
    return np.array([sol.x[0], sol.x[1], np.exp(sol.x[2])])


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--datasets", type=int, default=256)
    args = ap.parse_args(argv)
    n = args.datasets
    data, truth = make_data(n)
    dev = jax.devices()[0]
    print(f"device: {dev.device_kind} ({dev.platform}); {n} datasets", flush=True)

    batched = jax.jit(jax.vmap(fit_one))
    single = jax.jit(fit_one)
    jdata = jax.tree.map(jnp.asarray, data)

    t0 = time.perf_counter()
    jax.block_until_ready(batched(jdata))
    t_compile_batched = time.perf_counter() - t0
    t0 = time.perf_counter()
    res_b = jax.block_until_ready(batched(jdata))
    t_batched = time.perf_counter() - t0

    n_loop = min(n, 128)
    one = lambda i: single(jax.tree.map(lambda a: a[i], jdata))
    jax.block_until_ready(one(0))
    t0 = time.perf_counter()
    res_l = [jax.block_until_ready(one(i)) for i in range(n_loop)]
    t_loop = (time.perf_counter() - t0) * n / n_loop

    n_scipy = min(n, 128)
    t0 = time.perf_counter()
    sp = np.array([scipy_fit({k: v[i] for k, v in data.items()}) for i in range(n_scipy)])
    t_scipy = (time.perf_counter() - t0) * n / n_scipy

    keys = ("R0", "A", "tau")
    loop_vals = np.array([[float(r.params[k]) for k in keys] for r in res_l])
    batch_vals = np.stack([np.asarray(res_b.params[k]) for k in keys], axis=1)
    batch_vs_loop = float(np.max(np.abs(batch_vals[:n_loop] - loop_vals) / np.abs(loop_vals)))
    batch_vs_scipy = float(np.max(np.abs(batch_vals[:n_scipy] - sp) / np.abs(sp)))
    pulls = np.stack([(np.asarray(res_b.params[k]) - truth[k]) / np.asarray(res_b.std[k])
                      for k in keys])
    record = dict(
        benchmark="fit",
        model="Z = R0 + A/(1 + j 2 pi f tau), 40 complex points, LM",
        device=str(dev.device_kind),
        platform=dev.platform,
        datasets=n,
        fits_per_s_batched=n / t_batched,
        fits_per_s_loop=n / t_loop,
        fits_per_s_scipy=n / t_scipy,
        compile_seconds_batched=t_compile_batched,
        ratio=(n / t_batched) / (n / t_scipy),
        ratio_batched_vs_loop=t_loop / t_batched,
        max_rel_diff_batched_vs_one_by_one=batch_vs_loop,
        max_rel_diff_vs_scipy=batch_vs_scipy,
        success_fraction=float(np.mean(np.asarray(res_b.success))),
        # why a fit is not `success` (RESULTS codes: 1 max_steps, 2 non-finite, 4-7 linear solve)
        result_counts={str(c): int(k) for c, k in zip(*np.unique(np.asarray(res_b.result),
                                                                 return_counts=True), strict=True)},
        success_fraction_one_by_one=float(np.mean([bool(r.success) for r in res_l])),
        n_steps_max=int(np.max(np.asarray(res_b.n_steps))),
        grad_norm_max=float(np.max(np.asarray(res_b.grad_norm))),
        pull_std=[float(x) for x in pulls.std(axis=1)],
        python=sys.version.split()[0],
        jax=jax.__version__,
    )
    for k in ("fits_per_s_batched", "fits_per_s_loop", "fits_per_s_scipy",
              "max_rel_diff_batched_vs_one_by_one", "max_rel_diff_vs_scipy", "pull_std",
              "success_fraction", "result_counts", "n_steps_max"):
        print(f"{k}: {record[k]}")
    out = Path(__file__).parent / "results" / f"fit_{dev.platform}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(record, indent=1))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
