"""Resonator figures (de Visser et al. PRL 112, 047004, Fig. 1 and supplement Fig. S2).

Qi and f_res versus bath temperature for several readout powers from the self-consistent power
loop (kinetic steady state -> Mattis–Bardeen -> microstrip line -> absorbed power), the absorbed
power density, S21 curves, and a batched S21 fit on synthetic data.
"""

from __future__ import annotations

import time
from pathlib import Path

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

NAME = "resonator"
TITLE = "Resonator: readout power, Qi, f_res and S21 (Al resonator, sample A)"
ORDER = 30

F_MODEL = 5.57e9  # paper's model frequency, Hz
QC = 20100.0  # sample A, Table 1
POWERS = (-100.0, -76.0, -64.0)  # dBm
# The full figure uses the kinetic power loop (KineticResponse, 120 bins, points in sequence,
# failed ones marked); with the paper's absorbed power (QI_STAR below) it converges at all 33
# points in ~2 min on a CPU (without Qi* the tiny low-temperature P_abs needs hundreds of Newton
# steps per inner solve and one point fails). The heating response is drawn dashed for comparison;
# ``run(..., kinetic=False)`` draws only that (seconds), as does the quick mode.
KINETIC_DEFAULT = True
# The paper's P_abs (supplement Fig. S2) follows the measured Qi, which an extra loss limits at low
# temperature, and it puts all of it into the quasiparticles (Qi/Qi,qp = 1 in Eq. 5). We model
# that loss as Qi* = 1e6 (the paper does not state sample A's low-temperature Qi; 3e5 gives the
# same crossovers within 30 mK) with ``extra_loss_heats_qp=True``. With the quasiparticle-limited
# Qi alone (no Qi*) P_abs is ~30x smaller below 150 mK and Qi rises with power from ~130 mK.
QI_STAR = 1e6


def sample_a_geometry():
    """Microstrip of the paper's Table 2 with eps_eff calibrated to 5.57 GHz at 60 mK."""
    import diffsc
    from diffsc._superconductor._film import surface_impedance

    al = diffsc.material("Al")
    ms = diffsc.Microstrip(width=3e-6, dielectric_thickness=1e-6, thickness=60e-9,
                           length=9.84e-3, eps_eff=6.0)
    s1, s2 = diffsc.mattis_bardeen(F_MODEL, 0.06, diffsc.gap(0.06, al))
    zs = surface_impedance(F_MODEL, s1, s2, thickness=60e-9, resistivity=al.resistivity)
    return diffsc.calibrate_geometry(ms, zs, F_MODEL, F_MODEL)


def power_sweep(temperatures, powers, *, kinetic=True, n_bins=100, Qi_extra=QI_STAR,
                extra_loss_heats_qp=True):
    """Power-loop solutions on the grid temperatures x powers (arrays of shape (nT, nP)); by
    default with the paper's absorbed power (extra loss `Qi_extra` whose power heats the
    quasiparticles too, see ``QI_STAR``)."""
    import diffsc

    al = diffsc.material("Al")
    geom = sample_a_geometry()
    resp = (diffsc.KineticResponse(al, tau_esc=0.17e-9, n_bins=n_bins) if kinetic
            else diffsc.HeatingResponse(al))
    T, P = np.meshgrid(np.asarray(temperatures, float), np.asarray(powers, float), indexing="ij")

    @eqx.filter_jit
    def run(T, P, resp, geom, qi_extra):
        def one(tp):
            return diffsc.power_loop(tp[1], tp[0], resp, geom, Qc=QC, freq=F_MODEL,
                                     Qi_extra=qi_extra, extra_loss_heats_qp=extra_loss_heats_qp,
                                     throw=False)

        # kinetic: one point after another (lax.map) -- under vmap every point would pay for the
        # slowest one's fallback steps (hundreds below ~150 mK); the heating model is vmapped
        return jax.lax.map(one, (T, P)) if kinetic else jax.vmap(one)((T, P))

    sol = run(jnp.asarray(T.ravel()), jnp.asarray(P.ravel()), resp, geom, Qi_extra)
    return jax.tree_util.tree_map(lambda x: np.asarray(x).reshape(T.shape), sol)


def _crossover(temps, values, both):
    """First temperature of the run of rows up to the hottest where the highest power gives a
    larger value than the lowest; a failed row does not break the run, and the reported row is
    a converged one (`both`: both ends of the power range converged). None if there is none."""
    rises = np.asarray(values[:, -1] > values[:, 0]) | ~both
    above = np.flatnonzero(np.logical_and.accumulate(rises[::-1])[::-1])  # rises from here on
    above = above[both[above]]
    return float(temps[above[0]]) if above.size else None


def _s21_fit_demo(rng):
    import diffsc

    n = 64
    f0 = rng.uniform(5.2e9, 5.4e9, n)
    qi = 10 ** rng.uniform(4, 6, n)
    qc = 10 ** rng.uniform(4, 4.7, n)
    phi = rng.uniform(-0.4, 0.4, n)
    ql = 1 / (1 / qi + np.cos(phi) / qc)
    f = f0[:, None] + np.linspace(-6, 6, 301)[None, :] * f0[:, None] / ql[:, None]
    z = np.asarray(diffsc.s21_notch(f, f0[:, None], qi[:, None], qc[:, None], phi=phi[:, None],
                                    a=0.5, alpha=0.7, delay=40e-9))
    z = z + 0.5 / 100 * (rng.normal(size=z.shape) + 1j * rng.normal(size=z.shape))
    t0 = time.perf_counter()
    res = diffsc.fit_s21(f, z)
    jax.block_until_ready(res.Qi)
    dt = time.perf_counter() - t0
    return f, z, res, dict(f0=f0, qi=qi, qc=qc, phi=phi), dt


def run(out_dir: Path, quick: bool = False, kinetic: bool = KINETIC_DEFAULT) -> str:
    import matplotlib.pyplot as plt

    import diffsc
    from diffsc.reproduce._style import apply_style, save

    apply_style()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    temps = np.linspace(0.08, 0.36, 5 if quick else 11)
    t0 = time.perf_counter()
    # quick mode: the kinetic solver's compilation alone exceeds the quick budget on a CPU, so the
    # heating response stands in (no crossover expected); the full run uses the kinetic model.
    use_kinetic = kinetic and not quick
    kin = power_sweep(temps, POWERS, kinetic=use_kinetic, n_bins=120)
    t_kin = time.perf_counter() - t0
    heat = power_sweep(temps, POWERS, kinetic=False) if use_kinetic else None
    colors = plt.cm.viridis(np.linspace(0.1, 0.85, len(POWERS)))
    f_ref = float(kin.f_res[np.flatnonzero(np.asarray(kin.success[:, 0]))[0], 0])

    fig, ax = plt.subplots(1, 3, figsize=(11.5, 3.4))
    for j, (p, c) in enumerate(zip(POWERS, colors, strict=True)):
        ok = np.asarray(kin.success[:, j])
        # failed points are left out of the curves (their values are meaningless) and marked
        # with a red x on the temperature axis
        qi = np.where(ok, kin.Qi[:, j], np.nan)
        ax[0].plot(temps * 1e3, qi, "-o", ms=2.5, color=c, label=f"{p:.0f} dBm")
        for a in ax if (~ok).any() else ():
            a.plot(temps[~ok] * 1e3, np.full((~ok).sum(), 0.03), "x", color="r", ms=7,
                   transform=a.get_xaxis_transform(), clip_on=False)
        df = (np.where(ok, kin.f_res[:, j], np.nan) - f_ref) / f_ref
        ax[1].plot(temps * 1e3, df * 1e6, "-o", ms=2.5, color=c)
        ax[2].semilogy(temps * 1e3, np.where(ok, kin.P_abs_density[:, j], np.nan), "-o", ms=2.5,
                       color=c)
        if heat is not None:
            ax[0].plot(temps * 1e3, heat.Qi[:, j], "--", color=c, lw=1)
            ax[1].plot(temps * 1e3, (heat.f_res[:, j] - heat.f_res[0, 0]) / heat.f_res[0, 0] * 1e6,
                       "--", color=c, lw=1)
    ax[0].set_yscale("log")
    ax[0].set_xlabel("bath temperature (mK)")
    ax[0].set_ylabel("$Q_i$")
    ax[0].legend(title="solid: kinetic, dashed: heating" if use_kinetic else "heating model")
    ax[1].set_xlabel("bath temperature (mK)")
    ax[1].set_ylabel(r"$\delta f_{res}/f_{res}$ (ppm)")
    ax[2].set_xlabel("bath temperature (mK)")
    ax[2].set_ylabel(r"$P_{abs}/2V_{strip}$ (W/m$^3$)")
    ax[0].set_title("(b) internal quality factor")
    ax[1].set_title("(c) resonance frequency shift")
    ax[2].set_title("(S2) absorbed power density")
    fig.tight_layout()
    f1 = save(fig, out_dir, "resonator_fig1bc.png")

    # S21 at the lowest and highest temperature (Fig. 1a analogue)
    fig, ax = plt.subplots(1, 1, figsize=(4.6, 3.4))
    for j, (p, c) in enumerate(zip(POWERS, colors, strict=True)):
        for i, ls in ((0, "-"), (len(temps) - 1, "--")):
            fr = f_ref
            f = fr + np.linspace(-1.5e6, 0.5e6, 801)
            s = diffsc.s21_ideal(f, kin.f_res[i, j], kin.Qi[i, j], QC)
            ax.plot((f - fr) / 1e6, 20 * np.log10(np.abs(np.asarray(s))), ls, color=c,
                    label=f"{p:.0f} dBm" if i == 0 else None)
    ax.set_xlabel(r"$f-f_{res}(T_{min})$ (MHz)")
    ax.set_ylabel(r"$|S_{21}|^2$ (dB)")
    ax.set_title(f"solid {temps[0] * 1e3:.0f} mK, dashed {temps[-1] * 1e3:.0f} mK")
    ax.legend()
    f2 = save(fig, out_dir, "resonator_s21.png")

    # batched S21 fit demo
    rng = np.random.default_rng(7)
    f, z, res, truth, dt = _s21_fit_demo(rng)
    fig, ax = plt.subplots(1, 2, figsize=(8.5, 3.4))
    k = 0
    ax[0].plot(z[k].real, z[k].imag, ".", ms=2, label="synthetic data (SNR 100)")
    model = diffsc.s21_notch(f[k], res.f_res[k], res.Qi[k], res.Qc[k], phi=res.phi[k], a=res.a[k],
                             alpha=res.alpha[k], delay=res.tau[k])
    ax[0].plot(np.real(model), np.imag(model), "-", label="fit_s21")
    ax[0].set_aspect("equal", "datalim")
    ax[0].set_xlabel(r"Re $S_{21}$")
    ax[0].set_ylabel(r"Im $S_{21}$")
    ax[0].legend()
    pull = (np.asarray(res.Qi) - truth["qi"]) / np.asarray(res.Qi_std)
    ax[1].errorbar(truth["qi"], np.asarray(res.Qi) / truth["qi"] - 1,
                   yerr=np.asarray(res.Qi_std) / truth["qi"], fmt="o", ms=3)
    ax[1].axhline(0, color="k", lw=0.8)
    ax[1].set_xscale("log")
    ax[1].set_xlabel(r"true $Q_i$")
    ax[1].set_ylabel(r"$Q_i^{fit}/Q_i^{true}-1$")
    ax[1].set_title(f"{len(pull)} sweeps in one call; rms pull {np.sqrt(np.mean(pull**2)):.2f}")
    fig.tight_layout()
    f3 = save(fig, out_dir, "resonator_fit.png")

    both = np.asarray(kin.success[:, 0] & kin.success[:, -1])  # both ends of the power range
    good_rows = np.flatnonzero(both)
    i_lo, i_hi = good_rows[0], good_rows[-1]
    trend = lambda i: "rises" if kin.Qi[i, -1] > kin.Qi[i, 0] else "falls"  # noqa: E731
    n_fail = int(np.sum(~kin.success))
    cross = _crossover(temps, kin.Qi, both) if use_kinetic else None
    cross_f = _crossover(temps, kin.f_res, both) if use_kinetic else None
    md = [
        f"## {TITLE}",
        "",
        ("Heating response in place of the kinetic model (quick mode or kinetic=False; the full"
         " run draws the kinetic sweep, ~2 min on a CPU)." if not use_kinetic else
         "Self-consistent power loop: kinetic steady state (tau_esc = 0.17 ns) -> Mattis–Bardeen ->"),
        "parallel-plate microstrip (w = 3 um, h = 1 um, t = 60 nm, l = 9.84 mm, eps_eff calibrated",
        f"to 5.57 GHz: {float(sample_a_geometry().eps_eff):.3f}) -> P_abs (Eq. 23) / (2 V_strip), Qc = {QC:.0f}.",
        "",
        f"- From {POWERS[0]:.0f} to {POWERS[-1]:.0f} dBm, Qi {trend(i_lo)} at {temps[i_lo] * 1e3:.0f} mK"
        f" ({kin.Qi[i_lo, 0]:.3g} -> {kin.Qi[i_lo, -1]:.3g}) and {trend(i_hi)} at"
        f" {temps[i_hi] * 1e3:.0f} mK ({kin.Qi[i_hi, 0]:.3g} -> {kin.Qi[i_hi, -1]:.3g}).",
        f"- Absorbed power as in the paper: extra loss Qi* = {QI_STAR:.0e} (assumed; sets the"
        " low-temperature Qi) whose share heats the quasiparticles too (Qi/Qi,qp = 1).",
        *([f"- Raising the power raises Qi from {cross * 1e3:.0f} mK upward"
           + (f" and f_res from {cross_f * 1e3:.0f} mK upward" if cross_f is not None else "")
           + " (the paper: from ~200 mK)."] if cross is not None else []),
        f"- Points where the kinetic solve or the loop did not converge (red x on the axis, left"
        f" out of the curves): {n_fail} of"
        f" {kin.success.size}. Kinetic sweep time {t_kin:.1f} s (including compilation).",
        f"- fit_s21: {len(truth['qi'])} sweeps of 301 points in {dt:.2f} s (incl. compilation);"
        f" rms pull of Qi {np.sqrt(np.mean(pull**2)):.2f}.",
        "",
        f"![Qi, f_res, P_abs vs T]({f1})",
        "",
        f"![S21]({f2})",
        "",
        f"![S21 fit]({f3})",
        "",
    ]
    return "\n".join(md)
