"""Benchmark: thermal Mattis–Bardeen over many (T, freq) points, jit+vmap vs a scipy.quad loop.

Times ``diffsc.mattis_bardeen`` on N random (T, freq) points (Al gap, 1 GHz–1 THz, 0.02–1.1 K,
i.e. below and above 2*Delta) in chunks, against an adaptive ``scipy.integrate.quad`` evaluation of
the same integrals on a subsample, and checks that both agree (max relative difference reported).
Writes ``benchmarks/results/mattis_bardeen_<platform>.json``.

A second block times ``diffsc.mattis_bardeen_dynes`` (Dynes broadening Gamma/Delta in 1e-4..0.1)
on ``--n-dynes`` points against adaptive ``quad`` of Nam's integrals on a subsample, and against
``diffsc.mattis_bardeen`` on the same points (its cost relative to the unbroadened formulas).

Usage: python benchmarks/bench_mattis_bardeen.py [--n 1000000] [--n-quad 200] [--chunk 100000]
       [--n-dynes 20000] [--n-quad-dynes 20]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

import diffsc
from diffsc._superconductor import _mattis_bardeen as mb

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from test_mattis_bardeen import quad_reference  # noqa: E402  (tests/ holds the scipy reference)
from test_mattis_bardeen_dynes import _reference as dynes_reference  # noqa: E402

GAP = 180e-6
h = diffsc.constants.h


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--n", type=int, default=1_000_000)
    p.add_argument("--n-quad", type=int, default=200)
    p.add_argument("--chunk", type=int, default=100_000)
    p.add_argument("--quad-epsrel", type=float, default=1e-10)
    p.add_argument("--n-dynes", type=int, default=20_000)
    p.add_argument("--n-quad-dynes", type=int, default=20)
    args = p.parse_args()

    rng = np.random.default_rng(0)
    freq = 10 ** rng.uniform(9, 12, args.n)
    T = rng.uniform(0.02, 1.1, args.n)
    fn = jax.jit(lambda f, t: diffsc.mattis_bardeen(f, t, GAP))

    chunk = min(args.chunk, args.n)
    t0 = time.perf_counter()
    jax.block_until_ready(fn(jnp.asarray(freq[:chunk]), jnp.asarray(T[:chunk])))
    compile_s = time.perf_counter() - t0

    out1, out2 = [], []
    t0 = time.perf_counter()
    for start in range(0, args.n, chunk):
        sl = slice(start, start + chunk)
        f_c, t_c = freq[sl], T[sl]
        pad = chunk - f_c.size  # keep a static shape for the last chunk
        if pad:
            f_c, t_c = np.pad(f_c, (0, pad), mode="edge"), np.pad(t_c, (0, pad), mode="edge")
        s1, s2 = fn(jnp.asarray(f_c), jnp.asarray(t_c))
        out1.append(np.asarray(s1)[: chunk - pad])
        out2.append(np.asarray(s2)[: chunk - pad])
    jax_s = time.perf_counter() - t0
    s1 = np.concatenate(out1)
    s2 = np.concatenate(out2)

    idx = rng.choice(args.n, args.n_quad, replace=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t0 = time.perf_counter()
        ref = np.array([quad_reference(freq[i], T[i], GAP, eps=args.quad_epsrel) for i in idx])
        quad_s = time.perf_counter() - t0
    err1 = np.max(np.abs(s1[idx] - ref[:, 0]) / np.abs(ref[:, 0]))
    err2 = np.max(np.abs(s2[idx] - ref[:, 1]) / np.abs(ref[:, 1]))

    dev = jax.devices()[0]
    jax_rate = args.n / jax_s
    quad_rate = args.n_quad / quad_s
    result = {
        "benchmark": "mattis_bardeen_thermal",
        "device": getattr(dev, "device_kind", str(dev)),
        "platform": dev.platform,
        "n_points": args.n,
        "chunk": chunk,
        "n_quad_points": args.n_quad,
        "quad_epsrel": args.quad_epsrel,
        "compile_s": compile_s,
        "jax_s": jax_s,
        "jax_points_per_s": jax_rate,
        "quad_s": quad_s,
        "quad_points_per_s": quad_rate,
        "speedup": jax_rate / quad_rate,
        "max_rel_diff_sigma1": float(err1),
        "max_rel_diff_sigma2": float(err2),
        "fraction_above_2gap": float(np.mean(h * freq > 2 * GAP)),
        # integrand evaluations per point: scattering + sigma2 for all, pair term above 2*gap only
        "nodes": {"scatter": mb._N_SCATTER_THERMAL, "sigma2": mb._N_SIGMA2_THERMAL,
                  "pair_above_2gap": mb._N_PAIR_THERMAL},
    }
    result["dynes"] = _dynes(rng, args.n_dynes, args.n_quad_dynes)
    out = Path(__file__).parent / "results" / f"mattis_bardeen_{dev.platform}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


def _best(fn, *a, runs=3):
    """Best wall time of `runs` calls of an already compiled `fn` (s), and its last result."""
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        out = jax.block_until_ready(fn(*a))
        times.append(time.perf_counter() - t0)
    return min(times), out


def _dynes(rng, n, n_quad):
    """mattis_bardeen_dynes on n random points (Gamma/Delta 1e-4..0.1, h nu/Delta 1e-3..30,
    k_B T/Delta 0..0.5): rate, the unbroadened rate on the same points, and the agreement with
    adaptive quad (tests/test_mattis_bardeen_dynes.py's reference) on n_quad of them."""
    kB = diffsc.constants.k_B
    r = 10 ** rng.uniform(-3, np.log10(30.0), n)
    tau = rng.uniform(0.0, 0.5, n)
    gamma = 10 ** rng.uniform(-4, -1, n)
    freq, T, dyn = r * GAP / h, tau * GAP / kB, gamma * GAP
    f_dyn = jax.jit(lambda f, t, g: diffsc.mattis_bardeen_dynes(f, t, GAP, g))
    f_mb = jax.jit(lambda f, t: diffsc.mattis_bardeen(f, t, GAP))
    args = tuple(jnp.asarray(x) for x in (freq, T, dyn))
    t0 = time.perf_counter()
    jax.block_until_ready(f_dyn(*args))
    compile_s = time.perf_counter() - t0
    jax.block_until_ready(f_mb(*args[:2]))
    dyn_s, (s1, s2) = _best(f_dyn, *args)
    mb_s, _ = _best(f_mb, *args[:2])
    idx = rng.choice(n, n_quad, replace=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # quad's round-off notes at epsrel 1e-13
        t0 = time.perf_counter()
        ref = np.array([dynes_reference(r[i], tau[i], gamma[i]) for i in idx])
        quad_s = time.perf_counter() - t0
    s1, s2 = np.asarray(s1)[idx], np.asarray(s2)[idx]
    return {
        "n_points": n,
        "compile_s": compile_s,
        "seconds": dyn_s,
        "points_per_s": n / dyn_s,
        "unbroadened_points_per_s": n / mb_s,
        "cost_vs_unbroadened": dyn_s / mb_s,
        "n_quad_points": n_quad,
        "quad_points_per_s": n_quad / quad_s,
        "speedup_vs_quad": (n / dyn_s) / (n_quad / quad_s),
        "max_rel_diff_sigma1": float(np.max(np.abs(s1 - ref[:, 0]) / np.abs(ref[:, 0]))),
        "max_rel_diff_sigma2": float(np.max(np.abs(s2 - ref[:, 1]) / np.abs(ref[:, 1]))),
    }


if __name__ == "__main__":
    main()
