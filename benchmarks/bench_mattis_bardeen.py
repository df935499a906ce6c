"""Benchmark: thermal Mattis–Bardeen over many (T, freq) points, jit+vmap vs a scipy.quad loop.

Times ``diffsc.mattis_bardeen`` on N random (T, freq) points (Al gap, 1 GHz–1 THz, 0.02–1.1 K,
i.e. below and above 2*Delta) in chunks, against an adaptive ``scipy.integrate.quad`` evaluation of
the same integrals on a subsample, and checks that both agree (max relative difference reported).
Writes ``benchmarks/results/mattis_bardeen_<platform>.json``.

Usage: python benchmarks/bench_mattis_bardeen.py [--n 1000000] [--n-quad 200] [--chunk 100000]
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

GAP = 180e-6
h = diffsc.constants.h


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--n", type=int, default=1_000_000)
    p.add_argument("--n-quad", type=int, default=200)
    p.add_argument("--chunk", type=int, default=100_000)
    p.add_argument("--quad-epsrel", type=float, default=1e-10)
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
    out = Path(__file__).parent / "results" / f"mattis_bardeen_{dev.platform}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
