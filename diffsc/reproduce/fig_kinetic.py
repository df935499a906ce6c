"""Nonequilibrium aluminium (S-Al Figs. 2 and 3): microwave-driven f(E), phonon power flow to the
bath, and sigma1, sigma2, n_qp, tau_qp and the gap shift versus bath temperature."""

from __future__ import annotations

from pathlib import Path

import equinox as eqx
import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np

from .._core._constants import k_B
from .._kinetic import kinetic_steady_state
from .._superconductor._material import material
from ._style import apply_style, save

NAME = "kinetic"
TITLE = "Nonequilibrium aluminium: kinetic steady state under microwave drive (S-Al Figs. 2-3)"
ORDER = 20

FREQ = 5.57e9  # Hz, simulation frequency of S-Al
TAU_ESC = 0.17e-9  # s, sample A (60 nm Al on sapphire)
POWERS = (1.0, 10.0, 100.0)  # absorbed power densities, W/m^3 (= aW/um^3)
T_FIG2 = (0.12, 0.32)  # K, as S-Al Fig. 2


def settings(quick: bool):
    """Grid and temperature settings: ``(n_bins, extent_in_gap0, temperatures_K)``."""
    if quick:
        return 64, 4.0, np.array([0.12, 0.32])
    return 96, 4.0, np.array([0.12, 0.16, 0.20, 0.24, 0.28, 0.32, 0.35])


def _one(mat, T, P, n_bins, extent, max_steps, continuation):
    sol = kinetic_steady_state(
        mat, T, FREQ, P, tau_esc=TAU_ESC, n_bins=n_bins, energy_extent=extent,
        max_steps=max_steps, continuation=continuation, throw=False,
    )
    s1, s2 = sol.sigma()
    f_th = jax.nn.sigmoid(-sol.energies / (k_B * T))
    th = eqx.tree_at(lambda s: (s.f, s.gap), sol, (f_th, sol.gap_thermal))
    s1t, s2t = th.sigma()
    return dict(
        E=sol.energies, f=sol.f, f_th=f_th, gap=sol.gap, gap_th=sol.gap_thermal,
        Om=sol.phonon_energies, dP=sol.phonon_power_spectrum, nqp=sol.nqp,
        nqp_th=sol.nqp_thermal, tau=sol.tau_qp, s1=s1, s2=s2, s1_th=s1t, s2_th=s2t,
        P_bath=sol.power_to_bath, ok=sol.success, res=sol.residual_norm,
    )


def compute(temperatures, powers=POWERS, *, n_bins=150, extent=5.0, max_steps=400,
            continuation=2):
    """Solve the kinetic steady state on the grid ``temperatures x powers`` in one ``vmap``
    (one compilation). ``extent`` is the grid span above the gap in units of the T=0 gap.
    Returns a dict of NumPy arrays with leading shape ``(len(temperatures), len(powers))``."""
    mat = material("Al")
    T = np.asarray(temperatures, float)
    P = np.asarray(powers, float)
    TT, PP = np.meshgrid(T, P, indexing="ij")
    fn = jax.jit(jax.vmap(lambda t, p: _one(mat, t, p, n_bins, extent * mat.gap0, max_steps,
                                              continuation)))
    out = fn(jnp.asarray(TT.ravel()), jnp.asarray(PP.ravel()))
    out = {k: np.asarray(v).reshape(TT.shape + np.shape(v)[1:]) for k, v in out.items()}
    out["T"], out["P"], out["gap0"] = T, P, mat.gap0
    return out


def _label(P):
    return rf"$P_{{abs}}$ = {P:g} W/m$^3$"


def fig2(d, out_dir):
    """f(E) and dP/dOmega at the two temperatures of S-Al Fig. 2."""
    g0 = d["gap0"]
    cols = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    fig, ax = plt.subplots(3, 2, figsize=(9.0, 9.6))
    notes = []
    for c, Tq in enumerate(T_FIG2):
        it = int(np.argmin(np.abs(d["T"] - Tq)))
        T = d["T"][it]
        a, r, b = ax[0, c], ax[1, c], ax[2, c]
        E = d["E"][it, 0] / d["gap_th"][it, 0]
        a.semilogy(E, d["f_th"][it, 0], "k--", lw=1.2, label=f"thermal, {T * 1e3:.0f} mK")
        for k, P in enumerate(d["P"]):
            if not d["ok"][it, k]:
                notes.append(f"{T * 1e3:.0f} mK, {P:g} W/m^3")
                continue
            a.semilogy(d["E"][it, k] / d["gap"][it, k], d["f"][it, k], color=cols[k],
                       label=_label(P))
            r.plot(d["E"][it, k] / d["gap"][it, k], d["f"][it, k] / d["f_th"][it, k],
                   color=cols[k], label=_label(P))
            Om = d["Om"][it, k] / d["gap"][it, k]
            b.plot(Om, d["dP"][it, k] * 1e-6, color=cols[k], label=_label(P))
        a.set_xlim(1.0, 3.0)
        lo = d["f_th"][it, 0][E <= 3.0].min()
        a.set_ylim(max(lo * 0.3, 1e-14), 1e-1 if T < 0.2 else 1e-1)
        a.set_xlabel(r"$E/\Delta$")
        a.set_ylabel(r"$f(E)$")
        a.set_title(f"(a) quasiparticle distribution, $T_b$ = {T * 1e3:.0f} mK")
        a.legend(loc="upper right")
        r.axhline(1.0, color="k", ls="--", lw=1.0)
        ratios = [ln.get_ydata() for ln in r.lines]
        if ratios and max(np.max(x) for x in ratios) > 3.0:
            r.set_yscale("log")
        r.set_xlim(1.0, 3.0)
        r.set_xlabel(r"$E/\Delta$")
        r.set_ylabel(r"$f(E)/f_T(E)$")
        r.set_title(f"(a') relative to the Fermi function at {T * 1e3:.0f} mK")
        b.axhline(0.0, color="k", lw=0.6)
        b.axvline(2.0, color="0.5", lw=0.8, ls=":")
        b.set_xlim(0.0, 4.0)
        peak = max((np.nanmax(ln.get_ydata()) for ln in b.lines[2:]), default=0.0)
        if T < 0.2 and peak > 0:
            # low T: recombination phonons (Omega >= 2 Delta) are ~1e-3 of the scattering
            # phonons; a log axis shows both (non-positive bins are not drawn)
            b.set_yscale("log")
            b.set_ylim(peak * 1e-6, peak * 3.0)
        b.set_xlabel(r"$\Omega/\Delta$")
        b.set_ylabel(r"$dP/d\Omega$ (W m$^{-3}$ µeV$^{-1}$)")
        b.set_title(f"(b) phonon power to the bath, $T_b$ = {T * 1e3:.0f} mK")
        if b.lines[2:]:
            b.legend(loc="upper right")
    if notes:
        fig.text(0.5, -0.01, "not converged (omitted): " + "; ".join(notes), ha="center",
                 fontsize=8, color="0.3")
    fig.tight_layout()
    del g0
    return save(fig, out_dir, "kinetic_fig2.png"), notes


def fig3(d, out_dir):
    """sigma1, sigma2, n_qp, tau_qp, gap shift versus T (S-Al Fig. 3)."""
    cols = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    T = d["T"] * 1e3
    fig, ax = plt.subplots(2, 4, figsize=(14.0, 6.4))
    ax = ax.ravel()
    ax[7].set_visible(False)

    def masked(x, k):
        return np.where(d["ok"][:, k], x, np.nan)

    panels = [
        ("s1", "s1_th", r"$\sigma_1/\sigma_N$", "(a)", "log"),
        ("s2", "s2_th", r"$\sigma_2/\sigma_N$", "(b)", "linear"),
        ("nqp", "nqp_th", r"$n_{qp}$ (µm$^{-3}$)", "(c)", "log"),
        ("tau", None, r"$\tau_{qp}$ (µs)", "(d)", "log"),
        ("gsh", None, r"$\Delta-\Delta_T$ (neV)", "(e)", "linear"),
    ]
    scale = dict(s1=1.0, s2=1.0, nqp=1e-18, tau=1e6, gsh=1e9)
    d = dict(d, gsh=d["gap"] - d["gap_th"])
    for a, (key, kth, lab, tag, ysc) in zip(ax, panels, strict=False):
        if kth is not None:
            a.plot(T, d[kth][:, 0] * scale[key], "k--", lw=1.2, label="thermal")
        for k, P in enumerate(d["P"]):
            a.plot(T, masked(d[key][:, k], k) * scale[key], "o-", ms=3, color=cols[k],
                   label=_label(P))
        a.set_yscale(ysc)
        a.set_xlabel(r"$T_{bath}$ (mK)")
        a.set_ylabel(lab)
        a.set_title(f"{tag} {lab}")
    ax[4].axhline(0.0, color="k", lw=0.6)
    ax[0].legend(loc="upper left")
    # panel f: sigma2 relative to the thermal value, where the effect is visible by eye
    a = ax[5]
    for k, P in enumerate(d["P"]):
        a.plot(T, masked(d["s2"][:, k] / d["s2_th"][:, k] - 1.0, k) * 1e6, "o-", ms=3,
               color=cols[k], label=_label(P))
    a.axhline(0.0, color="k", lw=0.6)
    a.set_yscale("symlog", linthresh=0.01)  # 320 mK changes are ~100x smaller than at 120 mK
    a.set_xlabel(r"$T_{bath}$ (mK)")
    a.set_ylabel(r"$(\sigma_2-\sigma_{2,T})/\sigma_{2,T}$ (ppm)")
    a.set_title(r"(f) drive-induced change of $\sigma_2$")
    a = ax[6]
    for k, P in enumerate(d["P"]):
        a.plot(T, masked(d["nqp"][:, k] / d["nqp_th"][:, k] - 1.0, k) * 100, "o-", ms=3,
               color=cols[k], label=_label(P))
    a.axhline(0.0, color="k", lw=0.6)
    a.set_yscale("symlog", linthresh=0.01)  # +5000 % at 120 mK, -0.1 % at 320 mK
    lo = np.nanmin(d["nqp"] / d["nqp_th"] - 1.0) * 100
    a.set_ylim(bottom=min(3.0 * lo, -0.01))
    a.set_xlabel(r"$T_{bath}$ (mK)")
    a.set_ylabel(r"$n_{qp}/n_{qp,T}-1$ (%)")
    a.set_title(r"(g) excess quasiparticles")
    fig.tight_layout()
    return save(fig, out_dir, "kinetic_fig3.png")


def run(out_dir: Path, quick: bool = False) -> str:
    apply_style()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    n_bins, extent, Ts = settings(quick)
    d = compute(Ts, POWERS, n_bins=n_bins, extent=extent)
    f2, notes = fig2(d, out_dir)
    f3 = fig3(d, out_dir)
    ok = d["ok"]
    lines = [
        f"## {TITLE}",
        "",
        f"Al (S-Al parameters: {FREQ / 1e9:g} GHz, tau_esc = {TAU_ESC * 1e9:g} ns), "
        f"N = {n_bins} bins, grid span {extent:g} Delta_0 above the gap; absorbed power densities "
        f"{', '.join(f'{p:g}' for p in POWERS)} W/m^3. Converged points: {int(ok.sum())}/{ok.size}.",
        "",
        f"![S-Al Fig. 2]({f2})",
        "",
        f"![S-Al Fig. 3]({f3})",
        "",
        "| T (mK) | P (W/m^3) | n_qp (um^-3) | n_qp thermal | tau_qp (us) | gap shift (ueV) "
        "| P_bath/P_abs |",
        "|---|---|---|---|---|---|---|",
    ]
    for i, T in enumerate(d["T"]):
        for k, P in enumerate(d["P"]):
            if not ok[i, k]:
                lines.append(f"| {T * 1e3:.0f} | {P:g} | not converged | | | | |")
                continue
            lines.append(
                f"| {T * 1e3:.0f} | {P:g} | {d['nqp'][i, k] * 1e-18:.4g} | "
                f"{d['nqp_th'][i, k] * 1e-18:.4g} | {d['tau'][i, k] * 1e6:.4g} | "
                f"{(d['gap'][i, k] - d['gap_th'][i, k]) * 1e6:+.3g} | "
                f"{d['P_bath'][i, k] / P:.6f} |"
            )
    if notes:
        lines += ["", "Not converged with the current solver (omitted from the plots): "
                  + "; ".join(notes) + "."]
    return "\n".join(lines) + "\n"
