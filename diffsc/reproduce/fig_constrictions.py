"""Pb nano-necks: MAR subharmonic gap structure, self-heating, phase slips under field, L_S vs Lambda_Q*."""

from __future__ import annotations

import math
from pathlib import Path

import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np

NAME = "constrictions"
TITLE = "Superconducting nano-necks (Pb): MAR, self-heating, phase slips, L_S vs Lambda_Q*"
ORDER = 50

GAP = 1.35e-3  # eV (S-Pb)
T_BATH = 4.2


@jax.jit
def _iv(V, taus, material, T, heating, dynes):
    """Per-channel I (A) and dI/dV (S, forward-mode AD) of a (possibly self-heated) contact.

    One compiled kernel for every panel (fixed shapes: 4 channels): N_F = 22 harmonics with
    window = 4 covers eV >= 0.45 Delta (N_F >= 2 + (window + 4) Delta / eV).
    """
    from .._constriction._mar import mar_current_heated

    def one(t):
        f = lambda v: mar_current_heated(v, t, material, T, heating=heating, dynes=dynes,
                                         n_harmonics=22, n_nodes=4, window=4.0)
        return jax.jvp(f, (V,), (jnp.ones_like(V),))

    return jax.vmap(one)(taus)


def _mar_iv(V, taus, gap, T, *, dynes, weights=None, heating=0.0):
    """Per-channel (weights None) or weighted-sum I, dI/dV for up to 4 channels."""
    from .._superconductor._material import material

    taus = np.atleast_1d(np.asarray(taus, float))
    n = taus.size
    taus = np.concatenate([taus, np.full(4 - n, 0.5)])  # pad: one compilation for all panels
    mat = material("Pb").replace(gap0=float(gap))
    I, G = _iv(jnp.asarray(V), jnp.asarray(taus), mat, float(T), float(heating), float(dynes))
    I, G = np.asarray(I)[:n], np.asarray(G)[:n]
    if weights is None:
        return I, G
    w = np.asarray(weights, float)[:, None]
    return (w * I).sum(0), (w * G).sum(0)


def _nv(quick):
    return 40 if quick else 100


def _mar_panel(out_dir, quick):
    from .._constriction._mar import mar_current, mar_excess_current, normal_resistance

    taus = [0.1, 0.5, 0.9, 1.0]
    v = np.linspace(0.45, 4.0, _nv(quick))
    fig, axs = plt.subplots(1, 3, figsize=(13, 3.8))
    Iall, Gall = _mar_iv(v * GAP, taus, GAP, 0.0, dynes=2e-2 * GAP)
    for t, I, G in zip(taus, Iall, Gall, strict=True):
        RN = float(normal_resistance(t))
        I, G = I * RN / GAP, G * RN
        axs[0].plot(v, I, label=rf"$\tau$ = {t}")
        axs[1].plot(v, G, label=rf"$\tau$ = {t}")
    axs[0].plot(v, v, "k:", lw=1, label="Ohm")
    axs[0].set(xlabel=r"$eV/\Delta$", ylabel=r"$eIR_N/\Delta$", title="MAR current of one channel, T = 0")
    axs[1].set(xlabel=r"$eV/\Delta$", ylabel=r"$R_N\,dI/dV$", yscale="log",
               title=r"subharmonic gap structure ($\eta=0.02\Delta$)")
    for n in range(1, 5):
        for ax in axs[:2]:
            ax.axvline(2 / n, color="0.6", lw=0.8, ls="--")
        axs[1].text(2 / n + 0.03, 0.03, f"2Δ/{n}", transform=axs[1].get_xaxis_transform(), fontsize=7)
    axs[0].legend(ncol=2)
    tt = np.linspace(1e-3, 1.0, 200)
    exc = jax.vmap(lambda t: mar_excess_current(t, GAP) * normal_resistance(t) / GAP)(jnp.asarray(tt))
    axs[2].plot(tt, np.asarray(exc), "k", label="closed form (T = 0)")
    # numerical: I - V/R_N at eV = 20, 40, 80 Delta, Richardson-extrapolated in 1/V
    pts = [] if quick else [0.1, 0.2, 0.35, 0.5, 0.7, 0.9, 0.97, 1.0]
    vs = np.array([20.0, 40.0, 80.0])
    num = []
    for t in pts:
        RN = float(normal_resistance(t))
        I = np.asarray(mar_current(jnp.asarray(vs * GAP), t, GAP, 0.0, dynes=1e-5 * GAP, n_harmonics=8, n_nodes=48))
        ex = I * RN / GAP - vs
        num.append((8 * ex[2] - 6 * ex[1] + ex[0]) / 3)
    if pts:
        axs[2].plot(pts, num, "o", color="C3", label="MAR, extrapolated to eV → ∞")
    axs[2].axhline(8 / 3, color="0.5", ls=":", lw=1)
    axs[2].set(xlabel=r"transmission $\tau$", ylabel=r"$eI_{exc}R_N/\Delta$", title="excess current")
    axs[2].legend()
    name = "constrictions_mar.png"
    fig.tight_layout()
    fig.savefig(out_dir / name)
    plt.close(fig)
    closed = [float(mar_excess_current(t, GAP) * normal_resistance(t) / GAP) for t in pts]
    rows = "\n".join(f"| {t} | {n:.4f} | {c:.4f} |" for t, n, c in zip(pts, num, closed, strict=True))
    md = (f"![MAR]({name})\n\nExcess current $eI_{{exc}}R_N/\\Delta$: numerical (Richardson in 1/V from "
          f"eV = 20, 40, 80 Δ) vs closed form\n\n| τ | MAR | closed form |\n|---|---|---|\n{rows}\n")
    return md


def _pb_channels():
    """A 5 Ohm Pb contact: representative channel bins (weights = number of channels)."""
    taus = jnp.array([0.25, 0.6, 0.9, 0.99])
    frac = jnp.array([0.15, 0.2, 0.3, 0.35])  # share of the conductance carried by each bin
    n = frac * (12906.40373 / 5.0) / taus
    return taus, n


def _fig1_panel(out_dir, quick):
    from .._constriction._mar import self_heating_temperature
    from .._superconductor._bcs import gap as bcs_gap
    from .._superconductor._material import material

    pb = material("Pb")
    taus, w = _pb_channels()
    v = np.linspace(0.6, 6.0, _nv(quick)) * 1e-3
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(10, 3.8), gridspec_kw={"width_ratios": [2, 1]})
    res = {}
    beta = 0.06
    for label, b, style in [("long neck, θ = 35° (self-heated)", beta, "-"), ("short neck, θ = 70°", 0.0, "o-")]:
        I, G = _mar_iv(v, taus, GAP, T_BATH, dynes=3e-2 * GAP, weights=w, heating=b)
        R = 1.0 / G
        res[label] = (I, R)
        ax.plot(v * 1e3, R * 5.0 / 5.0, style, ms=2.5, label=label)
        ax2.plot(v * 1e3, I * 1e3, style, ms=2.5, label=label)
    d42 = float(bcs_gap(T_BATH, pb))
    for n in range(1, 5):
        ax.axvline(2 * d42 / n * 1e3, color="0.6", lw=0.8, ls="--")
        ax.text(2 * d42 / n * 1e3 + 0.03, 0.03, f"n={n}", transform=ax.get_xaxis_transform(), fontsize=7)
    ax.set(xlabel="V (mV)", ylabel=r"$dV/dI$ (Ω)",
           title=f"Fig. 1: 5 Ω Pb neck at {T_BATH} K, dashed: $2\\Delta(4.2\\,K)/n$")
    ax.legend()
    ax2.plot(v * 1e3, v / 5.0 * 1e3, "k:", lw=1, label="V/R_N")
    ax2.set(xlabel="V (mV)", ylabel="I (mA)", title="I–V (excess current)")
    ax2.legend()
    # where is the n=1 peak of the heated neck?
    sel = (v > 1.6e-3) & (v < 3.2e-3)  # the n = 1 feature: minimum of dV/dI
    v1 = v[sel][np.argmin(res["long neck, θ = 35° (self-heated)"][1][sel])]
    v1c = v[sel][np.argmin(res["short neck, θ = 70°"][1][sel])]
    sel2 = (v > 1.0e-3) & (v < 1.6e-3)
    v2 = v[sel2][np.argmin(res["long neck, θ = 35° (self-heated)"][1][sel2])]
    T1 = float(self_heating_temperature(v1, T_BATH, beta))
    name = "constrictions_fig1.png"
    fig.tight_layout()
    fig.savefig(out_dir / name)
    plt.close(fig)
    return (f"![Fig. 1]({name})\n\nSelf-heating (β = {beta}): the n = 1 feature of the long neck sits at "
            f"{v1 * 1e3:.2f} mV (local T = {T1:.2f} K), the unheated neck's at {v1c * 1e3:.2f} mV "
            f"(2Δ(4.2 K)/e = {2 * d42 * 1e3:.2f} mV); the heated n = 2 feature is at {v2 * 1e3:.2f} mV.\n")


WIDTH = 1.5e-5  # A: smoothing of each nucleation step (lock-in averaging), ~ the current grid step
A_NECK = 3e-9  # smallest radius of the neck, m (the paper's d = 6 nm)
THETA = math.radians(35)


@jax.jit
def _neck_curve(H, key, Vc, I, G):
    """dV/dI of the long neck at field H (T): contact + phase-slip centres + normal outer cone."""
    from .._constriction._contact import (
        charge_imbalance_length,
        cone_resistance,
        free_electron_resistivity,
        pair_breaking_time,
        penetration_depth_two_fluid,
        superconducting_length,
    )
    from .._constriction._phase_slip import (
        neck_iv,
        phase_slip_barrier,
        phase_slip_sites,
        thermal_switching_currents,
    )
    from .._core._constants import k_B
    from .._superconductor._material import material

    pb = material("Pb")
    a, th = A_NECK, THETA
    rho = free_electron_resistivity(10e-9, pb.fermi_wavelength)
    lam_d = penetration_depth_two_fluid(T_BATH, pb)
    tpb = pair_breaking_time(H, H_ref=0.125, strength_ref=0.2 * k_B * pb.Tc)
    lq = charge_imbalance_length(T_BATH, GAP, 2.5e-11, fermi_velocity=pb.fermi_velocity,
                                 mean_free_path=10e-9, tau_pb=tpb)
    ls = superconducting_length(H, a, th, pb.london_depth, 0.05)
    ls_d = superconducting_length(H, a, th, lam_d, 0.05)
    sites = phase_slip_sites(H, radius=a, theta=th, penetration_depth=lam_d, Hc=0.05,
                             charge_imbalance_length=lq, resistivity=rho,
                             critical_current_density=5e10, exclude_radius=20e-9, n_sites=3)
    Rs = 2 * cone_resistance(jnp.minimum(ls_d / 2, 400e-9), 400e-9, a, th, rho)
    thermal = ls > lq  # PS regime: thermally activated, irreproducible nucleation
    A = jnp.pi * (a + jnp.abs(sites.position) * jnp.tan(th)) ** 2
    barrier = phase_slip_barrier(A, 40e-9, 0.05) * 2e-3  # reduced by the current-heated neck [model]
    Isw = thermal_switching_currents(key, sites.critical_current, barrier, T_BATH)
    Isw = jnp.where(thermal, Isw, sites.critical_current)
    Vt, R = neck_iv(Vc, I, G, sites, switching_currents=Isw, series_resistance=Rs, width=WIDTH)
    return Vt, R, lq, ls, ls_d, jnp.sum(sites.active)


def _psc_panel(out_dir, quick):
    from .._constriction._contact import (
        charge_imbalance_length,
        pair_breaking_time,
        penetration_depth_two_fluid,
        superconducting_length,
    )
    from .._core._constants import k_B
    from .._superconductor._material import material

    pb = material("Pb")
    th, a = THETA, A_NECK
    taus, w = _pb_channels()
    Vc = np.linspace(1.2, 8.5, 2 * _nv(quick)) * 1e-3
    # the contact: computed once, with a field-suppressed gap of the neck (banks normal above Hc) [model]
    gap_h = 0.8 * GAP
    I, G = _mar_iv(Vc, taus, gap_h, T_BATH, dynes=5e-2 * gap_h, weights=w)
    I, G = jnp.asarray(I), jnp.asarray(G)
    fields = [0.11, 0.13, 0.23, 0.25, 0.29] if not quick else [0.11, 0.25]
    fig, (ax, axi) = plt.subplots(1, 2, figsize=(11, 4), gridspec_kw={"width_ratios": [2, 1]})
    offs = 0.0
    md_rows = []
    for i, H in enumerate(fields):
        for s_ in range(3):
            Vt, R, lq, ls, ls_d, nact = (np.asarray(x) for x in _neck_curve(
                jnp.asarray(H), jax.random.PRNGKey(10 * i + s_), jnp.asarray(Vc), I, G))
            ps = bool(ls > lq)
            regime = "PS (L_S > Λ_Q*)" if ps else "NS (L_S < Λ_Q*)"
            ax.plot(Vt * 1e3, R / R[-1] + offs, color=f"C{i}", lw=1.2 - 0.3 * s_,
                    label=f"{H:.2f} T, {regime}" if s_ == 0 else None)
            if not ps:
                break  # deterministic: every sweep is the same
        md_rows.append(f"| {H:.2f} | {ls * 1e9:.0f} | {ls_d * 1e9:.0f} | {lq * 1e9:.0f} | "
                       f"{int(nact)} | {regime} |")
        offs += 0.25
    ax.set(xlabel="V (mV)", ylabel=r"$dV/dI$ (normalised, offset)", xlim=(1.2, 9),
           title="Figs. 2–3: phase-slip peaks above $2H_c$ (several sweeps per field)")
    ax.legend(fontsize=7, loc="upper right")
    # inset of Fig. 3c
    H = jnp.linspace(0.1, 0.35, 200)
    tpb = pair_breaking_time(H, H_ref=0.125, strength_ref=0.2 * k_B * pb.Tc)
    kwq = dict(fermi_velocity=pb.fermi_velocity, mean_free_path=10e-9, tau_pb=tpb)
    LQ = np.asarray(charge_imbalance_length(T_BATH, GAP, 2.5e-11, **kwq)) * 1e9
    LQp = np.asarray(charge_imbalance_length(T_BATH, GAP, 2.5e-11, form="paper", **kwq)) * 1e9
    LS = np.asarray(superconducting_length(H, a, th, pb.london_depth, 0.05)) * 1e9
    LSd = np.asarray(superconducting_length(H, a, th, penetration_depth_two_fluid(T_BATH, pb), 0.05)) * 1e9
    h = np.asarray(H)
    axi.plot(h, LS, "C0", label=r"$L_S$, $\lambda=\lambda_L$ = 37 nm")
    axi.plot(h, LSd, "C0--", label=r"$L_S$, dirty $\lambda(4.2\,K)$ = 120 nm")
    axi.plot(h, LQ, "C3", label=r"$\Lambda_{Q^*}$ (Schmid–Schön)")
    axi.plot(h, LQp, "C3:", label=r"$\Lambda_{Q^*}$ (paper's form)")
    ix = np.argmax(LS < LQ)
    hx = h[ix]
    axi.axvline(hx, color="0.5", lw=0.8)
    axi.text(hx - 0.005, 420, "PS", ha="right")
    axi.text(hx + 0.005, 420, "NS", ha="left")
    axi.set(xlabel=r"$\mu_0H$ (T)", ylabel="length (nm)", ylim=(0, 500),
            title=r"Fig. 3c inset: $L_S$ and $\Lambda_{Q^*}$ (35°, a = 3 nm)")
    axi.legend(fontsize=7)
    name = "constrictions_psc.png"
    fig.tight_layout()
    fig.savefig(out_dir / name)
    plt.close(fig)
    table = "\n".join(md_rows)
    return (f"![Figs. 2-3]({name})\n\n$L_S$ (λ_L) and Λ_Q* (Schmid–Schön, ħ/τ_PB = 0.2 k_BT_c at "
            f"0.125 T, ∝ H²) cross at **{hx:.3f} T**; with the dirty λ = 120 nm they do not cross below "
            f"0.35 T.\n\n| H (T) | L_S (λ_L) (nm) | L_S (dirty λ) (nm) | Λ_Q* (nm) | candidate centres | regime |\n|---|---|---|---|---|---|\n"
            f"{table}\n")


def _geometry_panel(out_dir, quick):
    from .._constriction._contact import (
        opening_angle,
        sharvin_resistance,
        slab_neck_profile,
        slab_neck_radius,
    )
    from .._superconductor._material import material

    pb = material("Pb")
    z = jnp.linspace(0.0, 12e-9, 600)
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(10, 3.6))
    for a0, h, eps, c in [(25e-9, 1.2e-9, 0.25, "C0"), (25e-9, 0.6e-9, 0.6, "C1")]:
        a = slab_neck_radius(z, a0, h, eps, 0.85)
        R = sharvin_resistance(jnp.pi * a**2, pb.fermi_wavelength)
        ax.plot(np.asarray(z) * 1e9, np.asarray(R), c, label=f"h = {h * 1e9:.1f} nm, ε_y = {eps}")
        x, r = slab_neck_profile(8, a0, h, eps, 0.85)
        th = math.degrees(float(opening_angle(x, r)))
        ax2.step(np.asarray(x) * 1e9, np.asarray(r) * 1e9, c, where="mid", label=f"θ ≈ {th:.0f}°")
        ax2.step(np.asarray(x) * 1e9, -np.asarray(r) * 1e9, c, where="mid")
    ax.set(xlabel="elongation z (nm)", ylabel=r"Sharvin $R$ (Ω)", yscale="log",
           title="slab model: staircase R(z) (volume conserved on plateaus)")
    ax.legend()
    ax2.set(xlabel="axial position (nm)", ylabel="radius (nm)", title="neck profile after 8 yields")
    ax2.set_aspect("equal", adjustable="datalim")
    ax2.legend()
    name = "constrictions_geometry.png"
    fig.tight_layout()
    fig.savefig(out_dir / name)
    plt.close(fig)
    return f"![geometry]({name})\n"


def run(out_dir: Path, quick: bool = False) -> str:
    from ._style import apply_style

    apply_style()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    parts = [_geometry_panel(out_dir, quick), _mar_panel(out_dir, quick), _fig1_panel(out_dir, quick),
             _psc_panel(out_dir, quick)]
    return "\n".join(parts)
