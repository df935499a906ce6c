"""Benchmark: the kinetic solver at low bath temperature, where the fast Newton path gives way to
the physical-time fallback. Times single solves (after compilation) and a mixed batch of points
run with ``jax.vmap`` (the batch waits for its slowest member) versus ``jax.lax.map`` (one after
another, same compiled program). Baseline in the same run: the same points at 320 mK, where the
fast path converges in a few steps.

Writes benchmarks/results/kinetic_lowT_<platform>.json.

Usage: python benchmarks/bench_kinetic_lowT.py [--bins 100 250]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

import diffsc

FREQ, TAU_ESC = 5.57e9, 0.17e-9
POINTS = [(0.06, 10.0), (0.06, 1e3), (0.12, 10.0), (0.12, 1e3), (0.2, 10.0), (0.2, 1e3)]
BASE = [(0.32, 10.0), (0.32, 1e3)]


def timed(fn, *a):
    t0 = time.perf_counter()
    out = jax.block_until_ready(fn(*a))
    return out, time.perf_counter() - t0


def bench(N, mat):
    kw = dict(tau_esc=TAU_ESC, n_bins=N, throw=False)
    one = jax.jit(lambda t, p: diffsc.kinetic_steady_state(mat, t, FREQ, p, **kw))
    _, compile_s = timed(one, 0.32, 10.0)
    singles = []
    for T, P in POINTS + BASE:
        s, dt = timed(one, T, P)
        singles.append(dict(T_bath_K=T, P_W_m3=P, seconds=dt, newton_steps=int(s.n_steps),
                            success=bool(s.success), nqp_over_thermal=float(s.nqp / s.nqp_thermal)))
    Ts = jnp.asarray([t for t, _ in POINTS])
    Ps = jnp.asarray([p for _, p in POINTS])
    vm = jax.jit(jax.vmap(lambda t, p: diffsc.kinetic_steady_state(mat, t, FREQ, p, **kw)))
    lm = jax.jit(lambda T, P: jax.lax.map(
        lambda tp: diffsc.kinetic_steady_state(mat, tp[0], FREQ, tp[1], **kw), (T, P)))
    timed(vm, Ts, Ps)
    sv, t_vmap = timed(vm, Ts, Ps)
    timed(lm, Ts, Ps)
    sl, t_map = timed(lm, Ts, Ps)
    base = [r["seconds"] for r in singles if r["T_bath_K"] == 0.32]
    low = [r["seconds"] for r in singles if r["T_bath_K"] < 0.3]
    return dict(n_bins=N, compile_seconds=compile_s, singles=singles,
                low_T_over_320mK_time_ratio=float(np.mean(low) / np.mean(base)),
                batch_points=len(POINTS), batch_vmap_seconds=t_vmap, batch_lax_map_seconds=t_map,
                batch_all_success=bool(jnp.all(sv.success) & jnp.all(sl.success)))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bins", type=int, nargs="+", default=[100, 250])
    args = ap.parse_args()
    mat = diffsc.material("Al")
    dev = jax.devices()[0]
    rows = []
    for N in args.bins:
        row = bench(N, mat)
        rows.append(row)
        print(json.dumps(row, indent=1), flush=True)
    out = dict(benchmark="kinetic_steady_state_low_T", device=dev.device_kind,
               platform=dev.platform, jax_version=jax.__version__,
               problem=dict(material="Al", freq_Hz=FREQ, tau_esc_s=TAU_ESC,
                            self_consistent_gap=True, energy_extent="default (10 gap0)"),
               results=rows)
    path = Path(__file__).parent / "results" / f"kinetic_lowT_{dev.platform}.json"
    path.parent.mkdir(exist_ok=True)
    path.write_text(json.dumps(out, indent=2))
    print("wrote", path)


if __name__ == "__main__":
    main()
