"""Benchmark: MAR I(V) over 1000 voltages x 10 channels, forward and dI/dV (forward-mode AD).

Baseline: the same discretisation (scalar Schur recursion with N_F = 12 harmonics at every voltage,
every segment of the breakpoint grid, same energy nodes) in NumPy, vectorised over energies with a
Python loop over voltages/channels and Floquet sites, timed on a subset and scaled per (voltage,
channel) pair; its result is checked against diffsc. diffsc skips the segments outside the energy
window and cuts the chain per voltage (``adaptive_harmonics``, default); the forward time with the
chain fixed at N_F is recorded too. Writes benchmarks/results/mar_<platform>.json.

Usage: python benchmarks/bench_mar.py [--n-voltages 1000] [--n-channels 10]
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
from diffsc._constriction._mar import _breakpoints, _nodes

GAP = 1.35e-3
N_HARM, N_NODES, WINDOW = 12, 6, 6.0  # valid for eV >= 1.2 Delta (N_F >= 2 + 10 Delta / eV)


def numpy_current(V, tau, gap, eta):
    """NumPy reference of one (V, tau) pair at T = 0 (same algorithm and nodes as diffsc)."""
    unit = gap + V
    v, g, et = V / unit, gap / unit, eta / unit
    x = tau / (1 + np.sqrt(1 - tau)) ** 2
    bp = np.asarray(_breakpoints(v, g, 0.0, WINDOW, N_HARM))
    a, b = bp[:-1], bp[1:]
    u, wu = _nodes(N_NODES)
    c = 0.5 * (1 - np.cos(np.pi * u))
    dc = 0.5 * np.pi * np.sin(np.pi * u)
    w = (a[:, None] + (b - a)[:, None] * c).ravel()
    wt = ((b - a)[:, None] * (dc * wu)).ravel()
    N = N_HARM
    js = np.arange(-N, N + 1)
    wj = w[:, None] + js[None, :] * v + 1j * et
    s = np.sqrt(g**2 - wj**2 + 0j)
    al, be = wj / s, g / s
    apR = np.zeros((w.size, N), complex)
    detR = np.zeros_like(apR)
    prev = np.zeros(w.size, complex)
    for k in range(N, 0, -1):
        ap = al[:, N + k] - x * prev
        det = ap * al[:, N + k] - be[:, N + k] ** 2
        apR[:, k - 1], detR[:, k - 1] = ap, det
        prev = ap / det
    apL = np.zeros_like(apR)
    detL = np.zeros_like(apR)
    prev = np.zeros(w.size, complex)
    for k in range(N, 0, -1):
        ap = al[:, N - k] - x * prev
        det = ap * al[:, N - k] - be[:, N - k] ** 2
        apL[:, k - 1], detL[:, k - 1] = ap, det
        prev = ap / det
    a0, b0 = al[:, N], be[:, N]
    m11 = a0 - x * apR[:, 0] / detR[:, 0]
    m22 = a0 - x * apL[:, 0] / detL[:, 0]
    dd = m11 * m22 - b0 * b0
    G = np.array([[m22, -b0], [-b0, m11]]) / dd  # (2, 2, E)
    f = (wj.real < 0).astype(float)
    total = np.zeros(w.size)
    for side, (ap, det, col, sl) in enumerate(
        [(apR, detR, G[:, 0], slice(N + 1, None)), (apL, detL, G[:, 1], slice(None, N))]
    ):
        aa, bb = al[:, sl], be[:, sl]
        ff = f[:, sl]
        if side == 1:
            aa, bb, ff = aa[:, ::-1], bb[:, ::-1], ff[:, ::-1]
        ratio = x * np.abs(bb / det) ** 2
        k2 = x * np.concatenate([np.ones((w.size, 1)), np.cumprod(ratio, axis=1)[:, :-1]], axis=1)
        rgr = 2j / np.abs(det) ** 2 * (aa.imag * (np.abs(ap) ** 2 + np.abs(bb) ** 2)
                                       - 2 * bb.imag * (ap * np.conj(bb)).real)
        U = a0 * (np.abs(col[0]) ** 2 - np.abs(col[1]) ** 2) + 2j * b0 * (np.conj(col[0]) * col[1]).imag
        total += np.sum(ff * (k2 * rgr * U[:, None]).real, axis=1)
    D0 = np.array([[a0, b0], [b0, a0]])
    Gd = np.conj(np.transpose(G, (1, 0, 2)))
    M = np.einsum("abe,bce->ace", D0, G) - np.eye(2)[:, :, None]
    A0 = np.einsum("abe,bce,cde->ade", M, D0 - np.conj(np.transpose(D0, (1, 0, 2))), Gd)
    total += f[:, N] * (A0[0, 0] - A0[1, 1]).real
    return 2 * diffsc.constants.e / diffsc.constants.h * np.sum(wt * total) * unit


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--n-voltages", type=int, default=1000)
    p.add_argument("--n-channels", type=int, default=10)
    p.add_argument("--n-baseline", type=int, default=20, help="(V, tau) pairs timed in NumPy")
    args = p.parse_args()
    V = jnp.linspace(1.2, 5.0, args.n_voltages) * GAP
    taus = jnp.linspace(0.05, 0.95, args.n_channels)
    eta = 1e-2 * GAP
    kw = dict(dynes=eta, n_harmonics=N_HARM, n_nodes=N_NODES, window=WINDOW)
    fwd = jax.jit(lambda v, t: diffsc.mar_current(v, t, GAP, 0.0, **kw))
    grad = jax.jit(lambda v, t: jax.jvp(lambda vv: diffsc.mar_current(vv, t, GAP, 0.0, **kw), (v,),
                                        (jnp.ones_like(v),)))
    t0 = time.perf_counter()
    I = fwd(V, taus).block_until_ready()
    t_fwd_first = time.perf_counter() - t0
    t0 = time.perf_counter()
    I = fwd(V, taus).block_until_ready()
    t_fwd = time.perf_counter() - t0
    t0 = time.perf_counter()
    _, G = grad(V, taus)
    G.block_until_ready()
    t_grad_first = time.perf_counter() - t0
    t0 = time.perf_counter()
    _, G = grad(V, taus)
    G.block_until_ready()
    t_grad = time.perf_counter() - t0
    fixed = jax.jit(lambda v, t: diffsc.mar_current(v, t, GAP, 0.0, adaptive_harmonics=False, **kw))
    fixed(V, taus).block_until_ready()
    t0 = time.perf_counter()
    I_fixed = fixed(V, taus).block_until_ready()
    t_fixed = time.perf_counter() - t0
    # NumPy baseline on a subset of (V, tau) pairs
    rng = np.random.default_rng(0)
    iv = rng.integers(0, args.n_voltages, args.n_baseline)
    it = rng.integers(0, args.n_channels, args.n_baseline)
    t0 = time.perf_counter()
    ref = [numpy_current(float(V[i]), float(taus[j]), GAP, eta) for i, j in zip(iv, it, strict=True)]
    t_np_pair = (time.perf_counter() - t0) / args.n_baseline
    per_pair = jax.jit(lambda v, t: diffsc.mar_current(v, t, GAP, 0.0, **kw))
    chk = [float(per_pair(V[i : i + 1], taus[j])[0]) for i, j in zip(iv[:5], it[:5], strict=True)]
    rel = float(np.max(np.abs(np.array(chk) - np.array(ref[:5])) / np.abs(np.array(ref[:5]))))
    n_pairs = args.n_voltages * args.n_channels
    dev = jax.devices()[0]
    out = {
        "benchmark": "mar_current",
        "device": getattr(dev, "device_kind", str(dev)),
        "platform": dev.platform,
        "host": platform.processor() or platform.machine(),
        "n_voltages": args.n_voltages,
        "n_channels": args.n_channels,
        "n_harmonics": N_HARM,
        "n_nodes": N_NODES,
        "forward_s": t_fwd,
        "forward_first_call_s": t_fwd_first,
        "dIdV_jvp_s": t_grad,
        "dIdV_first_call_s": t_grad_first,
        "dIdV_over_forward": t_grad / t_fwd,
        "forward_fixed_harmonics_s": t_fixed,
        "max_rel_diff_adaptive_vs_fixed": float(jnp.max(jnp.abs(I - I_fixed) / jnp.abs(I_fixed))),
        "numpy_per_pair_s": t_np_pair,
        "numpy_forward_estimate_s": t_np_pair * n_pairs,
        "speedup_forward_vs_numpy": t_np_pair * n_pairs / t_fwd,
        "speedup_dIdV_vs_numpy_forward": t_np_pair * n_pairs / t_grad,
        "max_rel_diff_vs_numpy": rel,
        "total_current_range_A": [float(jnp.min(I)), float(jnp.max(I))],
    }
    res = Path(__file__).parent / "results"
    res.mkdir(exist_ok=True)
    path = res / f"mar_{dev.platform}.json"
    path.write_text(json.dumps(out, indent=2))
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
