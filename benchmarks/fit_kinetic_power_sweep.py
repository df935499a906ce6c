"""Demonstration and timing: recover kinetic-model parameters from a Qi(T, P_read), f_res(T, P_read)
table with diffsc.fit_power_sweep, gradients through the nested fixed points (power loop ->
kinetic steady state -> gap), all implicit.

Synthetic data: sample A (microstrip of fig_resonator), kinetic response with tau_esc = 0.17 ns
and an extra loss Qi* = 3e5, at 3 bath temperatures x 3 readout powers, 1 % noise on Qi and 1 kHz
on f_res. The fit starts from tau_esc x 2 and Qi* / 2 and should land within a few sigma of the
truth. Writes benchmarks/results/fit_kinetic_power_sweep_<device>.json. Most of the time is
compilation of the nested solvers (several minutes on a 2-core CPU).

Usage: python benchmarks/fit_kinetic_power_sweep.py [--bins 48]
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

import diffsc
from diffsc.reproduce.fig_resonator import F_MODEL, QC, sample_a_geometry

TRUTH = {"response.tau_esc": 0.17e-9, "Qi_extra": 3e5}
TEMPS = (0.22, 0.26, 0.30)
POWERS = (-80.0, -72.0, -64.0)
REL_SIGMA_QI = 0.01
SIGMA_F = 1e3


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bins", type=int, default=48)
    args = ap.parse_args()
    al = diffsc.material("Al")
    geom = sample_a_geometry()
    resp = diffsc.KineticResponse(al, tau_esc=TRUTH["response.tau_esc"], n_bins=args.bins)
    T, P = (np.asarray(a).ravel() for a in np.meshgrid(TEMPS, POWERS, indexing="ij"))

    t0 = time.perf_counter()
    sol = jax.lax.map(lambda tp: diffsc.power_loop(tp[1], tp[0], resp, geom, Qc=QC, freq=F_MODEL,
                                                   Qi_extra=TRUTH["Qi_extra"], throw=False),
                      (jnp.asarray(T), jnp.asarray(P)))
    t_data = time.perf_counter() - t0
    assert bool(jnp.all(sol.success)), "data generation failed"
    rng = np.random.default_rng(3)
    qi = np.asarray(sol.Qi) * (1 + REL_SIGMA_QI * rng.normal(size=T.size))
    fr = np.asarray(sol.f_res) + SIGMA_F * rng.normal(size=T.size)

    start = {"response.tau_esc": 2 * TRUTH["response.tau_esc"], "Qi_extra": 0.5 * TRUTH["Qi_extra"]}
    t0 = time.perf_counter()
    res = diffsc.fit_power_sweep(P, T, qi, fr, resp, geom, start, Qc=QC, freq=F_MODEL,
                                 rel_sigma_Qi=REL_SIGMA_QI, sigma_f=SIGMA_F)
    jax.block_until_ready(res.params)
    t_fit = time.perf_counter() - t0
    out = {
        "device": jax.devices()[0].device_kind, "platform": platform.platform(),
        "bins": args.bins, "points": int(T.size), "data_seconds": t_data, "fit_seconds": t_fit,
        "steps": int(res.fit.n_steps),
        "success": bool(res.success), "reduced_chi2": float(res.fit.reduced_chi2),
        "Qi_range": [float(np.min(qi)), float(np.max(qi))],
        "params": {k: {"truth": v, "start": start[k], "fit": float(res.params[k]),
                       "rel_std": float(res.rel_std[k]),
                       "pull": float(np.log(float(res.params[k]) / v) / float(res.rel_std[k]))}
                   for k, v in TRUTH.items()},
    }
    print(json.dumps(out, indent=1))
    name = "cpu" if jax.devices()[0].platform == "cpu" else "gpu"
    path = Path(__file__).parent / "results" / f"fit_kinetic_power_sweep_{name}.json"
    path.write_text(json.dumps(out, indent=1) + "\n")


if __name__ == "__main__":
    main()
