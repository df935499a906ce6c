"""Benchmark: kinetic (Chang–Scalapino) steady state, diffsc (JAX) versus a NumPy/SciPy baseline.

Problem: Al film (S-Al parameters), T_bath = 320 mK, 5.57 GHz drive, P_abs = 10 W/m^3, gap held at
Delta_BCS(T_bath) (``self_consistent_gap=False``, the same equations in both codes), grid of N bins.
Baseline (in the same run): the same discretised equations written directly in NumPy
(phonons eliminated, n = S/Gamma; B fixed by P_abs), solved by a damped Newton iteration with a
forward-difference Jacobian (scipy.linalg.solve), started from the Fermi function at T_bath;
its gradient dn_qp/dP_abs by central finite differences (two more solves).
diffsc: ``kinetic_steady_state`` (exact Jacobian, pseudo-transient Newton, jit), single solve,
``vmap`` batch, and ``jax.grad`` of n_qp with respect to P_abs (implicit differentiation).

Usage: python benchmarks/bench_kinetic.py [--sizes 100 200 400 1000] [--batch 16] [--large]
[--batch-max 1000] (``--large`` adds 2000 bins; sizes above ``--batch-max`` get no batch
run; single solves are the best of three up to 1000 bins (the spread is recorded), one run above). Writes benchmarks/results/kinetic_<platform>.json.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import scipy.linalg

import diffsc
from diffsc._core._constants import e as E_CHARGE
from diffsc._core._constants import h as H_PLANCK
from diffsc._core._constants import k_B

T_BATH, FREQ, P_ABS, TAU_ESC = 0.32, 5.57e9, 10.0, 0.17e-9


# ------------------------------------------------------------------ NumPy baseline
def np_setup(n_bins):
    mat = diffsc.material("Al")
    g0 = mat.gap0
    kT = k_B * T_BATH / g0
    hnu = H_PLANCK * FREQ / g0
    gap = float(diffsc.gap(T_BATH, mat)) / g0
    ext = max(10.0, 20.0 * kT, 4.0 * hnu)
    m = max(int(round(hnu * n_bins / ext)), 1)
    d = hnu / m
    k0 = int(round(2.0 * gap / d))
    tau0 = float(mat.tau0)
    unit_P = 4.0 * float(mat.N0) * g0**2 / tau0 * E_CHARGE
    return dict(
        N=n_bins, m=m, d=d, k0=k0, gap=gap, kT=kT, E=(0.5 * k0 + np.arange(n_bins)) * d,
        Ks=(g0 / (k_B * mat.Tc)) ** 3, Kp=tau0 / (np.pi * float(mat.tau0_ph_energy_conserving)),
        esc=tau0 / TAU_ESC, unit_P=unit_P, N0=float(mat.N0), g0=g0,
    )


def np_rates(v, P, g):
    """Relative residual fdot/f and the gross rate per bin (reduced units), plain NumPy."""
    N, d, gap, E, m, k0 = g["N"], g["d"], g["gap"], g["E"], g["m"], g["k0"]
    f = 1.0 / (1.0 + np.exp(-v))
    a = np.maximum(E - d / 2, gap)
    b = np.maximum(E + d / 2, gap)
    rho = (np.sqrt(b * b - gap * gap) - np.sqrt(a * a - gap * gap)) / d
    Et = np.maximum(E, gap)
    c2 = gap * gap / np.outer(Et, Et)
    L = 3 * N - 1
    i, l = np.meshgrid(np.arange(N), np.arange(N), indexing="ij")
    # phonons: Gamma_j n_j = S_j
    up = l > i
    js = (l - i)[up]
    cs = (2 * g["Kp"] * d * rho[:, None] * rho[None, :] * (1 - c2))[up]
    fi, fl = f[i[up]], f[l[up]]
    Gam = np.bincount(js, cs * (fi - fl), L)
    S = np.bincount(js, cs * fl * (1 - fi), L)
    jr = (k0 + i + l).ravel()
    cr = (g["Kp"] * d * rho[:, None] * rho[None, :] * (1 + c2)).ravel()
    Fi, Fk = f[i.ravel()], f[l.ravel()]
    Gam += np.bincount(jr, cr * (1 - Fi - Fk), L)
    S += np.bincount(jr, cr * Fi * Fk, L)
    Om = np.arange(L) * d
    Om[0] = d
    S += g["esc"] / np.expm1(Om / g["kT"])
    n = S / (Gam + g["esc"])
    # quasiparticles
    A = g["Ks"] * ((np.abs(l - i) * d) ** 2) * (1 - c2) * rho[None, :] * d
    nj = n[np.abs(l - i)]
    Fi2, Fl2 = f[:, None], f[None, :]
    out_s = np.where(up, Fi2 * (1 - Fl2) * nj, Fi2 * (1 - Fl2) * (nj + 1))
    in_s = np.where(up, Fl2 * (1 - Fi2) * (nj + 1), Fl2 * (1 - Fi2) * nj)
    Br = g["Ks"] * (E[:, None] + E[None, :]) ** 2 * (1 + c2) * rho[None, :] * d
    nr = n[k0 + i + l]
    out_r = Fi2 * Fl2 * (nr + 1)
    in_r = (1 - Fi2) * (1 - Fl2) * nr
    coll = -np.sum(A * (out_s - in_s), 1) - np.sum(Br * (out_r - in_r), 1)
    gross = np.sum(A * (out_s + in_s), 1) + np.sum(Br * (out_r + in_r), 1)
    # microwave drive, B fixed by the absorbed power
    q = np.zeros(N)
    h_up = 2 * (1 + gap * gap / (Et[:-m] * Et[m:])) * rho[m:]
    h_dn = 2 * (1 + gap * gap / (Et[m:] * Et[:-m])) * rho[:-m]
    q[:-m] += h_up * (f[m:] - f[:-m])
    q[m:] += h_dn * (f[:-m] - f[m:])
    Z = np.sum(E * rho * d * q)
    B = P / Z
    R = (coll + B * q) / f
    return R, (gross + np.abs(B * q)) / f, f, rho


def np_solve(P_abs, g, rtol=1e-10, max_steps=200):
    P = P_abs / g["unit_P"]
    v = -g["E"] / g["kT"]
    h_t, eps = 1.0, 1e-7

    def err_of(v):
        R, s, _, _ = np_rates(v, P, g)
        return np.max(np.abs(R / s))

    err = err_of(v)
    k = 0
    while err > rtol and k < max_steps:
        R, s, _, _ = np_rates(v, P, g)
        J = np.empty((g["N"], g["N"]))
        for c in range(g["N"]):  # forward-difference Jacobian
            vp = v.copy()
            vp[c] += eps
            J[:, c] = (np_rates(vp, P, g)[0] - R) / eps
        dx = scipy.linalg.solve(np.eye(g["N"]) / h_t - J / s[:, None], R / s)
        dx *= min(1.0, 4.0 / (np.max(np.abs(dx)) + 1e-300))
        en = err_of(v + dx)
        if en < 4 * err:
            v = v + dx
            h_t = float(np.clip(h_t * np.clip(err / en, 0.5, 10.0), 1e-3, 1e14))
            err = en
        else:
            h_t /= 4
        k += 1
    _, _, f, rho = np_rates(v, P, g)
    nqp = 4 * g["N0"] * g["g0"] * np.sum(f * rho) * g["d"]
    return f, nqp, err, k


def _time(fn, repeat=3, runs=None):
    """Best wall time of `repeat` calls (s); each time is appended to `runs` if given."""
    best = np.inf
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        dt = time.perf_counter() - t
        best = min(best, dt)
        if runs is not None:
            runs.append(dt)
    return best


def bench_size(N, mat, args):
    kw = dict(tau_esc=TAU_ESC, n_bins=N, self_consistent_gap=False)

    def fwd(P):
        return diffsc.kinetic_steady_state(mat, T_BATH, FREQ, P, **kw).nqp

    fwd_j = jax.jit(fwd)
    grad_j = jax.jit(jax.grad(fwd))
    Ps = jnp.geomspace(5.0, 20.0, args.batch)
    batch_j = jax.jit(jax.vmap(fwd))
    # the batch with and without the built-in power continuation (one while_loop: under vmap only
    # the members that need the ramp run it, so the two should take about the same time)
    batch0_j = jax.jit(jax.vmap(
        lambda P: diffsc.kinetic_steady_state(mat, T_BATH, FREQ, P, continuation=0, **kw).nqp))
    repeat = 3 if N <= 1000 else 1
    t0 = time.perf_counter()
    nqp = float(jax.block_until_ready(fwd_j(P_ABS)))
    t_compile = time.perf_counter() - t0
    jax.block_until_ready(grad_j(P_ABS))
    runs = []
    t_fwd = _time(lambda: jax.block_until_ready(fwd_j(P_ABS)), repeat, runs)
    t_grad = _time(lambda: jax.block_until_ready(grad_j(P_ABS)), repeat)
    dn = float(grad_j(P_ABS))
    row = dict(n_bins=N, jax_compile_s=t_compile, jax_forward_s=t_fwd,
               jax_grad_s=t_grad, jax_grad_over_forward=t_grad / t_fwd,
               jax_solves_per_s=1.0 / t_fwd, jax_forward_runs_s=runs, nqp_per_m3=nqp, dnqp_dP=dn)
    if N <= args.batch_max:
        jax.block_until_ready(batch_j(Ps))
        jax.block_until_ready(batch0_j(Ps))
        t_batch = _time(lambda: jax.block_until_ready(batch_j(Ps)), repeat=1)
        t_batch0 = _time(lambda: jax.block_until_ready(batch0_j(Ps)), repeat=1)
        row.update(batch=args.batch, jax_batch_s=t_batch,
                   jax_batch_solves_per_s=args.batch / t_batch,
                   jax_batch_no_continuation_s=t_batch0,
                   jax_batch_no_continuation_solves_per_s=args.batch / t_batch0)
    if N <= args.baseline_max:
        g = np_setup(N)
        t0 = time.perf_counter()
        f_np, nqp_np, err_np, k_np = np_solve(P_ABS, g)
        t_np = time.perf_counter() - t0
        hP = 1e-3 * P_ABS
        t0 = time.perf_counter()
        dn_np = (np_solve(P_ABS + hP, g)[1] - np_solve(P_ABS - hP, g)[1]) / (2 * hP)
        t_np_grad = time.perf_counter() - t0 + t_np
        sol = diffsc.kinetic_steady_state(mat, T_BATH, FREQ, P_ABS, **kw)
        row.update(
            numpy_forward_s=t_np, numpy_steps=k_np, numpy_residual=err_np,
            numpy_grad_fd_s=t_np_grad, numpy_solves_per_s=1.0 / t_np,
            speedup_forward=t_np / t_fwd, speedup_batch_per_solve=(t_np / (t_batch / args.batch)
                                     if "jax_batch_s" in row else None),
            max_rel_diff_f=float(np.max(np.abs(f_np / np.asarray(sol.f) - 1.0))),
            rel_diff_nqp=nqp_np / nqp - 1.0, rel_diff_dnqp_dP=dn_np / dn - 1.0,
        )
    return row


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[100, 200, 400, 1000])
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--large", action="store_true", help="add 2000 bins")
    ap.add_argument("--batch-max", type=int, default=1000,
                    help="largest N for the batched (vmap) runs")
    ap.add_argument("--baseline-max", type=int, default=200,
                    help="largest N for the (slow) NumPy baseline")
    args = ap.parse_args()
    sizes = args.sizes + ([2000] if args.large else [])
    mat = diffsc.material("Al")
    dev = jax.devices()[0]
    rows = []
    for N in sizes:
        row = bench_size(N, mat, args)
        rows.append(row)
        print(json.dumps(row), flush=True)
    out = dict(benchmark="kinetic_steady_state", device=dev.device_kind, platform=dev.platform,
               jax_version=jax.__version__,
               problem=dict(material="Al", T_bath_K=T_BATH, freq_Hz=FREQ, P_abs_W_m3=P_ABS,
                            tau_esc_s=TAU_ESC, self_consistent_gap=False,
                            batch_powers_W_m3=[5.0, 20.0]),
               results=rows)
    path = Path(__file__).parent / "results" / f"kinetic_{dev.platform}.json"
    path.parent.mkdir(exist_ok=True)
    path.write_text(json.dumps(out, indent=2))
    print("wrote", path)


if __name__ == "__main__":
    main()
