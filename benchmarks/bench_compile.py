"""Benchmark: first-call (compilation) time of each entry point, in a fresh process, with and
without diffsc's on-disk compilation cache.

Each entry point runs in three fresh Python processes:

- ``no_cache``: ``DIFFSC_NO_CACHE=1``; the first call traces and compiles everything;
- ``cold``: caches on (``diffsc.enable_compilation_cache``) in an empty folder: compile and store;
- ``warm``: a second process on the same folder, which loads what the first one stored.

In every process the entry point is called twice; the second call (same shapes) is the
steady-state cost, so ``first - second`` is what compilation (or loading it) costs. The in-run
baseline is ``no_cache``: the JSON gives ``warm/no_cache`` per entry point. The command line
(``diffsc fit s21`` and ``diffsc reproduce``) is timed the same way, as whole processes.

Programs that carry a runtime check of a traced argument (``equinox.error_if``, a host
callback) cannot be stored by JAX's persistent cache; the eager calls timed here (what a
notebook does) check concrete arguments before tracing, so their programs are cacheable.

Writes benchmarks/results/compile_<platform>.json.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

ENTRY_POINTS = {
    "mattis_bardeen": """
        f = jnp.linspace(1e9, 20e9, 1000); T = jnp.full(1000, 0.2)
        run = lambda: diffsc.mattis_bardeen(f, T, 180e-6)
    """,
    "gap": """
        T = jnp.linspace(0.05, 1.1, 1000); al = diffsc.material("Al")
        run = lambda: diffsc.gap(T, al)
    """,
    "kinetic_steady_state": """
        al = diffsc.material("Al")
        run = lambda: diffsc.kinetic_steady_state(al, 0.32, 5.57e9, 10.0, tau_esc=1.7e-10, n_bins=100).nqp
    """,
    "fit_s21": """
        f = jnp.linspace(5.999e9, 6.001e9, 1001)
        z = diffsc.s21_notch(f, 6e9, 2e5, 5e4, phi=0.1, a=0.5, alpha=0.3, delay=40e-9)
        z = z + 1e-3 * jax.random.normal(jax.random.key(0), z.shape, dtype=z.dtype)
        run = lambda: diffsc.fit_s21(f, z).Qi
    """,
    "electrothermal_impedance": """
        m = diffsc.TransitionModel(R_n=1.5e-3, Tc=7.2, width=0.04)
        T = jnp.linspace(7.0, 7.4, 200)[:, None]; f = jnp.logspace(0, 3, 100)[None, :]
        run = lambda: diffsc.electrothermal_impedance(
            f, R=m(T), T=T, I=0.01, alpha=m.alpha(T), beta=1.5, C=1.7e-7, G=1.5e-5)
    """,
    "mar_current": """
        V = jnp.linspace(1.2, 5.0, 50) * 1.35e-3; tau = jnp.array([0.3, 0.9])
        run = lambda: diffsc.mar_current(V, tau, 1.35e-3, 0.0, dynes=1.35e-5)
    """,
}

CHILD = """
import os, sys, time, json
t0 = time.perf_counter()
import jax, jax.numpy as jnp
import diffsc
if os.environ.get("BENCH_CACHE") == "1":
    diffsc.enable_compilation_cache()
t_import = time.perf_counter() - t0
{setup}
times = []
for _ in range(2):
    t = time.perf_counter()
    jax.block_until_ready(run())
    times.append(time.perf_counter() - t)
print(json.dumps(dict(import_s=t_import, first_s=times[0], second_s=times[1])))
"""


def _env(cache_dir: Path | None) -> dict:
    env = {**os.environ, "JAX_PLATFORMS": os.environ.get("JAX_PLATFORMS", "")}
    env.pop("DIFFSC_NO_CACHE", None)
    if cache_dir is None:
        env["DIFFSC_NO_CACHE"] = "1"
        env.pop("BENCH_CACHE", None)
    else:
        env["DIFFSC_CACHE_DIR"] = str(cache_dir)
        env["BENCH_CACHE"] = "1"
    if not env["JAX_PLATFORMS"]:
        env.pop("JAX_PLATFORMS")
    return env


def _child(name: str, cache_dir: Path | None) -> dict:
    code = CHILD.format(setup=textwrap.dedent(ENTRY_POINTS[name]))
    run = subprocess.run([sys.executable, "-c", code], env=_env(cache_dir), capture_output=True,
                         text=True, timeout=900)
    if run.returncode != 0:
        raise RuntimeError(f"{name}: {run.stderr[-2000:]}")
    return json.loads(run.stdout.strip().splitlines()[-1])


def _process(cmd: list[str], cache_dir: Path | None) -> float:
    t = time.perf_counter()
    run = subprocess.run(cmd, env=_env(cache_dir), capture_output=True, text=True, timeout=900)
    if run.returncode != 0:
        raise RuntimeError(f"{cmd}: {run.stderr[-2000:]}")
    return time.perf_counter() - t


def bench_entry_points(tmp: Path) -> dict:
    out = {}
    for name in ENTRY_POINTS:
        cache = tmp / f"cache_{name}"
        rows = dict(no_cache=_child(name, None), cold=_child(name, cache), warm=_child(name, cache))
        rows["warm_over_no_cache_first_call"] = rows["warm"]["first_s"] / rows["no_cache"]["first_s"]
        out[name] = rows
        print(f"{name:26s} first call: no cache {rows['no_cache']['first_s']:6.2f} s, "
              f"cold {rows['cold']['first_s']:6.2f} s, warm {rows['warm']['first_s']:6.2f} s; "
              f"second call {rows['warm']['second_s'] * 1e3:8.1f} ms", flush=True)
    return out


def bench_commands(tmp: Path) -> dict:
    """Whole ``diffsc`` command processes: no cache, cold cache, warm cache."""
    import numpy as np

    import diffsc

    f = np.linspace(5.999e9, 6.001e9, 1001)
    z = np.asarray(diffsc.s21_notch(f, 6e9, 2e5, 5e4, phi=0.1, a=0.5, alpha=0.3, delay=40e-9))
    z = z + 1e-3 * np.random.default_rng(0).normal(size=(f.size, 2)) @ np.array([1, 1j])
    path = tmp / "sweep.s2p"
    diffsc.write_touchstone(path, f, {"S21": z})
    commands = {
        "fit s21": [sys.executable, "-m", "diffsc.cli", "fit", "s21", str(path), "--quiet"],
        "reproduce --quick --only foundation": [
            sys.executable, "-m", "diffsc.cli", "reproduce", "--quick", "--only", "foundation",
            "--out", str(tmp / "out")],
    }
    out = {}
    for label, cmd in commands.items():
        cache = tmp / f"cache_cmd_{len(out)}"
        row = dict(no_cache_s=_process(cmd, None), cold_s=_process(cmd, cache),
                   warm_s=_process(cmd, cache))
        row["warm_over_no_cache"] = row["warm_s"] / row["no_cache_s"]
        out[label] = row
        print(f"diffsc {label:40s} no cache {row['no_cache_s']:6.2f} s, cold {row['cold_s']:6.2f} s, "
              f"warm {row['warm_s']:6.2f} s", flush=True)
    return out


def main():
    import jax

    dev = jax.devices()[0]
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        result = dict(
            benchmark="compile",
            device=dev.device_kind,
            platform=dev.platform,
            python=sys.version.split()[0],
            jax=jax.__version__,
            entry_points=bench_entry_points(tmp),
            commands=bench_commands(tmp),
        )
    path = Path(__file__).parent / "results" / f"compile_{dev.platform}.json"
    path.write_text(json.dumps(result, indent=2))
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
