"""Benchmark: measured-data resonator fits.

1. Fits per second of ``diffsc.fit_s21`` on 1,000 sweeps of mixed lengths (201..1601 points, as
   files from different VNA settings) in one call, after a first (compiling) call; accuracy
   against the known truth.
2. In the same run, resonator_tools' notch fit (Probst et al., ``pip install resonator_tools``)
   on the same sweeps when it is installed (a subset, extrapolated): fits per second, accuracy,
   and the speed ratio.
3. Wall time of ``diffsc fit s21 FILE`` in a fresh process, cold (empty compilation cache) and
   warm (second and later runs).

On a CPU the cores are made JAX devices first (``jax_num_cpu_devices``, as ``diffsc fit s21``
does), so ``fit_s21`` splits the batch over them; the single-device rate is measured too.

Usage: python benchmarks/bench_measured_resonator.py [--n 1000] [--rt-subset 100]
Writes benchmarks/results/measured_resonator_<platform>.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import jax

if __name__ == "__main__":  # before JAX starts: the CPU cores as devices (no effect on a GPU)
    _n = next((int(a.split("=")[1]) for a in sys.argv if a.startswith("--devices=")), None)
    jax.config.update("jax_num_cpu_devices", _n or min(os.cpu_count() or 1, 8))

import numpy as np  # noqa: E402

import diffsc  # noqa: E402
from diffsc._resonator._s21_fit_result import model_response


def synth(n, seed=0, snr=100.0):
    rng = np.random.default_rng(seed)
    sweeps, truth = [], []
    for i in range(n):
        t = dict(f_res=rng.uniform(4e9, 8e9), Qi=10 ** rng.uniform(4, 6), Qc=10 ** rng.uniform(4, 5),
                 phi=rng.uniform(-0.5, 0.5), a=rng.uniform(0.01, 1.0),
                 alpha=rng.uniform(-np.pi, np.pi), tau=rng.uniform(20e-9, 80e-9))
        m = int(rng.integers(201, 1602))
        ql = 1 / (1 / t["Qi"] + np.cos(t["phi"]) / t["Qc"])
        f = t["f_res"] * (1 + rng.uniform(-0.5, 0.5) / ql + np.linspace(-8, 8, m) / ql)
        z = model_response(f, t)
        z = z + t["a"] / snr * (rng.normal(size=m) + 1j * rng.normal(size=m))
        sweeps.append(diffsc.Sweep(freq=f, s=z, parameter="S21", path=f"s{i}.s2p", metadata={}))
        truth.append(t)
    return sweeps, truth


def rms_rel(est, true):
    est, true = np.asarray(est, float), np.asarray(true, float)
    return float(np.sqrt(np.mean((est / true - 1) ** 2)))


def bench_diffsc(sweeps, truth):
    t0 = time.perf_counter()
    fit = diffsc.fit_s21(sweeps)
    first = time.perf_counter() - t0
    times = []
    for _ in range(3):
        t0 = time.perf_counter()
        fit = diffsc.fit_s21(sweeps)
        times.append(time.perf_counter() - t0)
    ok = np.asarray(fit.success)
    return fit, dict(
        devices=jax.local_device_count(), first_call_seconds=first, seconds=min(times),
        runs_seconds=times, fits_per_second=len(sweeps) / min(times),
        success_fraction=float(ok.mean()),
        rms_relative_error={k: rms_rel(fit.params[k], [t[k] for t in truth])
                            for k in ("f_res", "Qi", "Qc")},
    )


def bench_resonator_tools(sweeps, truth, n_sub):
    try:
        from resonator_tools import circuit
    except ImportError:
        return None
    sub = list(range(min(n_sub, len(sweeps))))
    est, n_fail = [], 0
    t0 = time.perf_counter()
    for i in sub:
        port = circuit.notch_port(np.asarray(sweeps[i].freq), np.asarray(sweeps[i].s))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                port.autofit()
                r = port.fitresults
                est.append((r["fr"], r["Qi_dia_corr"], r["absQc"]))
            except Exception:
                n_fail += 1
                est.append((np.nan, np.nan, np.nan))
    dt = time.perf_counter() - t0
    est = np.asarray(est)
    good = np.all(np.isfinite(est), axis=1)
    return dict(
        fits_timed=len(sub), seconds=dt, fits_per_second=len(sub) / dt, failures=n_fail,
        rms_relative_error={
            k: rms_rel(est[good, j], [truth[i][k] for i in np.asarray(sub)[good]])
            for j, k in enumerate(("f_res", "Qi", "Qc"))
        },
    )


def bench_cli(sweep):
    """Wall time of `diffsc fit s21 FILE` in fresh processes: cold, then warm (3 runs)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "resonator.s2p"
        diffsc.write_touchstone(path, sweep.freq, {"S21": sweep.s})
        env = {**os.environ, "DIFFSC_CACHE_DIR": str(Path(tmp) / "cache")}
        env.pop("DIFFSC_NO_CACHE", None)
        cmd = [sys.executable, "-m", "diffsc.cli", "fit", "s21", str(path), "--quiet"]
        walls = []
        for _ in range(4):
            t0 = time.perf_counter()
            run = subprocess.run(cmd, env=env, capture_output=True, text=True)
            walls.append(time.perf_counter() - t0)
            if run.returncode != 0:
                raise RuntimeError(run.stdout + run.stderr)
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", "import diffsc"], env=env, check=True)
        t_import = time.perf_counter() - t0
    return dict(cold_seconds=walls[0], warm_seconds=min(walls[1:]), warm_runs=walls[1:],
                import_diffsc_seconds=t_import)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=1000, help="number of sweeps")
    ap.add_argument("--rt-subset", type=int, default=100, help="sweeps fitted by resonator_tools")
    ap.add_argument("--devices", type=int, help="CPU devices (default: the cores, at most 8)")
    args = ap.parse_args()
    dev = jax.devices()[0]
    sweeps, truth = synth(args.n)
    fit, ours = bench_diffsc(sweeps, truth)
    rt = bench_resonator_tools(sweeps, truth, args.rt_subset)
    if rt:  # our accuracy on the same subset
        sub = range(rt["fits_timed"])
        rt["diffsc_rms_relative_error_same_sweeps"] = {
            k: rms_rel(np.asarray(fit.params[k])[list(sub)], [truth[i][k] for i in sub])
            for k in ("f_res", "Qi", "Qc")}
    cli = bench_cli(sweeps[0])
    lengths = [len(s) for s in sweeps]
    out = dict(
        benchmark="measured_resonator", device=dev.device_kind, platform=dev.platform,
        host=platform.machine(), n_sweeps=args.n, points_min=min(lengths),
        points_max=max(lengths), diffsc=ours, resonator_tools=rt,
        speedup_vs_resonator_tools=(ours["fits_per_second"] / rt["fits_per_second"]
                                    if rt else None),
        cli=cli,
    )
    res_dir = Path(__file__).parent / "results"
    res_dir.mkdir(exist_ok=True)
    suffix = "" if args.devices is None else f"_{args.devices}dev"
    path = res_dir / f"measured_resonator_{dev.platform}{suffix}.json"
    path.write_text(json.dumps(out, indent=2))
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
