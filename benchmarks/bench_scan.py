"""Scan throughput (points/s) versus chunk size and device count, against a SciPy loop.

Model: the BCS gap Delta(T) of Al (cutoff-free gap equation, solved per point). Baseline: what a
user would write with SciPy, ``brentq`` on the gap equation with ``quad`` for the integral, one
point at a time. On a CPU the script fakes 4 host devices (XLA_FLAGS) so that the sharded path is
exercised; on a GPU machine it uses the real devices. Also timed: the gap solver alone,
``jit(vmap(gap))`` on ``--bare-points`` temperatures on one device, with and without the Debye
cutoff (what a scan of a cheap model cannot exceed). Writes
``benchmarks/results/scan_<platform>.json``.

Usage: ``python benchmarks/bench_scan.py [--points N] [--bare-points N] [--quick]``
"""

from __future__ import annotations

import argparse
import os
import sys

if "XLA_FLAGS" not in os.environ and os.environ.get("JAX_PLATFORMS", "cpu") == "cpu":
    os.environ["XLA_FLAGS"] = "--xla_force_host_platform_device_count=4"

import json  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import jax  # noqa: E402
import numpy as np  # noqa: E402
from scipy import integrate, optimize, special  # noqa: E402

import diffsc  # noqa: E402

AL = diffsc.material("Al")


def scipy_gap(T: float) -> float:
    r"""$\ln(\Delta_0/\Delta)=2\int_0^\infty f(E)/E\,d\varepsilon$, $E=\sqrt{\varepsilon^2+\Delta^2}$."""
    kT = diffsc.constants.k_B * T
    if T >= AL.Tc:
        return 0.0

    def residual(d):
        integrand = lambda e: special.expit(-np.hypot(e, d) / kT) / np.hypot(e, d)
        val, _ = integrate.quad(integrand, 0.0, 60 * kT + 10 * d, limit=200)
        return np.log(AL.gap0 / d) - 2.0 * val

    return optimize.brentq(residual, 1e-9 * AL.gap0, AL.gap0 * (1 + 1e-12), xtol=1e-18, rtol=1e-13)


def timed(fn, repeat=2):
    best = np.inf
    out = None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--points", type=int, default=2**14)
    ap.add_argument("--bare-points", type=int, default=100_000)
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args(argv)
    n = 2**12 if args.quick else args.points
    T = np.linspace(0.02, 1.1, n)
    model = lambda T: diffsc.gap(T, AL, cutoff=False)
    devices = jax.devices()
    platform = devices[0].platform
    print(f"devices: {len(devices)} x {devices[0].device_kind} ({platform})", flush=True)

    # baseline: SciPy, one point at a time, on a subset
    n_base = 40 if args.quick else 150
    Tb = np.linspace(0.02, 1.1, n_base)
    t_base, base = timed(lambda: np.array([scipy_gap(t) for t in Tb]), repeat=1)
    base_rate = n_base / t_base
    ours = scan_once(model, Tb, chunk=n_base, devices=devices[:1])[1].value.values
    sc = Tb < AL.Tc
    max_rel = float(np.max(np.abs(ours[sc] - base[sc]) / base[sc]))
    print(f"scipy baseline: {base_rate:.1f} points/s; max rel. difference {max_rel:.2e}", flush=True)

    bare = bare_solver(args.bare_points // (10 if args.quick else 1), devices[0], base_rate)

    results = []
    counts = sorted({1, len(devices)} | ({2} if len(devices) >= 2 else set()))
    chunks = [256, 2048, 16384] if not args.quick else [256, 2048]  # per device
    for n_dev in counts:
        for chunk in chunks:
            per_device = min(chunk, -(-n // n_dev))
            scan_once(model, T[: per_device * n_dev], chunk=per_device, devices=devices[:n_dev])
            dt, _ = timed(lambda c=per_device, k=n_dev: scan_once(model, T, chunk=c, devices=devices[:k]))
            results.append(dict(devices=n_dev, chunk_per_device=per_device, points=n, seconds=dt,
                                points_per_s=n / dt, speedup_vs_scipy=n / dt / base_rate))
            print(f"devices={n_dev} chunk={per_device:6d}: {n / dt:12.0f} points/s "
                  f"({n / dt / base_rate:.0f}x scipy)", flush=True)

    # overhead of the resumable on-disk store (one device count, the largest chunk)
    with tempfile.TemporaryDirectory() as tmp:
        chunk = min(2048, n)
        dt_store, _ = timed(lambda: scan_once(model, T, chunk=chunk, devices=devices,
                                              path=Path(tmp) / f"s{time.perf_counter_ns()}"))
    dt_mem, _ = timed(lambda: scan_once(model, T, chunk=chunk, devices=devices))
    print(f"store overhead at chunk {chunk}: {dt_store / dt_mem:.2f}x in-memory time", flush=True)

    record = dict(
        benchmark="scan",
        model="diffsc.gap(T, Al, cutoff=False) per point",
        device=str(devices[0].device_kind),
        platform=platform,
        n_devices_available=len(devices),
        fake_host_devices=os.environ.get("XLA_FLAGS", ""),
        points=n,
        baseline=dict(kind="scipy brentq + quad, python loop", points=n_base,
                      seconds=t_base, points_per_s=base_rate, max_rel_difference=max_rel),
        results=results,
        bare_solver=bare,
        store=dict(chunk=chunk, seconds_with_store=dt_store, seconds_in_memory=dt_mem,
                   ratio=dt_store / dt_mem),
        best_points_per_s=max(r["points_per_s"] for r in results),
        ratio=max(r["points_per_s"] for r in results) / base_rate,
        python=sys.version.split()[0],
        jax=jax.__version__,
    )
    out = Path(__file__).parent / "results" / f"scan_{platform}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(record, indent=1))
    print(f"wrote {out}")


def bare_solver(n, device, base_rate):
    """``jit(vmap(gap))`` on n temperatures in [0.02, 1.1] K on one device, both gap equations."""
    T = jax.device_put(np.linspace(0.02, 1.1, n), device)
    out = {}
    for cutoff in (False, True):
        fn = jax.jit(jax.vmap(lambda t, c=cutoff: diffsc.gap(t, AL, cutoff=c)))
        fn(T).block_until_ready()  # compile
        dt, _ = timed(lambda f=fn: f(T).block_until_ready(), repeat=3)
        out["cutoff" if cutoff else "cutoff_free"] = dict(
            points=n, seconds=dt, points_per_s=n / dt, speedup_vs_scipy=n / dt / base_rate)
        print(f"bare jit(vmap(gap)), cutoff={cutoff}: {n / dt:12.0f} points/s "
              f"({n / dt / base_rate:.0f}x scipy)", flush=True)
    return out


def scan_once(model, T, *, chunk, devices, path=None):
    t0 = time.perf_counter()
    ds = diffsc.scan(model, {"T": T}, chunk_size=chunk, devices=devices, path=path, progress=False)
    return time.perf_counter() - t0, ds


if __name__ == "__main__":
    main()
