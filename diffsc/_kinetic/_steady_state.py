r"""Public entry point: [`kinetic_steady_state`][diffsc.kinetic_steady_state]."""

from __future__ import annotations

import warnings

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from .._core._constants import e as _e_charge
from .._core._constants import h as _h
from .._core._constants import k_B
from .._core._roots import bracketed_root
from .._core._validation import check_nonnegative, check_positive, error_if
from .._superconductor._bcs import _gap_kernel, _thermal_nqp_kernel
from .._superconductor._material import _PRESETS, Material
from ._collisions import drive_strength, pair_breaking_strength, phonon_escape_power
from ._grid import bin_dos, make_grid
from ._params import ReducedParams
from ._solution import RESULTS, KineticSolution
from ._solver import SolverOptions, accepts_solver_options, gap_equation, make_root


def _reduced_params(material: Material, T_bath, tau_esc, tau0_ph_mode: str, *, gap_thermal,
                    power, phonon_injection, gap_edge_drive_weight: float = 1.0) -> ReducedParams:
    """`ReducedParams` of a material at `T_bath` (K) with escape time `tau_esc` (s);
    `gap_thermal`, `power` and `phonon_injection` already in reduced units."""
    gap0 = material.gap0
    tau0 = material.require("tau0")
    if tau0_ph_mode == "energy_conserving":
        tau0_ph = material.tau0_ph_energy_conserving
    elif tau0_ph_mode == "material":
        tau0_ph = material.require("tau0_ph")
    else:
        raise ValueError(
            f"diffsc: argument `tau0_ph` must be 'energy_conserving' or 'material', got {tau0_ph_mode!r}."
        )
    return ReducedParams(
        K_s=(gap0 / (k_B * material.Tc)) ** 3,
        K_p=tau0 / (jnp.pi * tau0_ph),
        escape_rate=tau0 / tau_esc,
        kT=k_B * T_bath / gap0,
        debye=material.require("debye_energy") / gap0,
        gap_thermal=gap_thermal,
        power=power,
        phonon_injection=phonon_injection,
        gap_edge_drive_weight=float(gap_edge_drive_weight),
    )


def _warn_unused_tau0_ph(material: Material, options: SolverOptions, entry: str) -> None:
    """Warn when the material carries a `tau0_ph` of the user's own that the solve ignores.

    With ``tau0_ph="energy_conserving"`` (the default) $K_p$ comes from
    `Material.tau0_ph_energy_conserving`, not from ``material.tau0_ph``. A preset's literature
    value is ignored silently (documented); a value the user set (a material of their own, or
    a preset's value replaced) is named in a ``UserWarning`` with the value used instead.
    Traced values (a material under ``jit``/``vmap``) cannot be compared and pass silently."""
    value = material.tau0_ph
    if options.tau0_ph != "energy_conserving" or value is None:
        return
    try:
        value = float(value)
        used = float(material.tau0_ph_energy_conserving)
    except (TypeError, ValueError, jax.errors.ConcretizationTypeError):
        return  # traced, or the material lacks N_ion/... (the solve itself says so)
    if value == _PRESETS.get(material.name, {}).get("tau0_ph") or abs(value / used - 1.0) < 1e-6:
        return
    warnings.warn(
        f"diffsc.{entry}: the material's tau0_ph = {value:.4g} s is not used; "
        f"tau0_ph='energy_conserving' (the default) uses {used:.4g} s, the value for which the "
        "kinetic equations conserve energy exactly. Pass tau0_ph='material' to use the "
        "material's value.",
        UserWarning,
        stacklevel=4,
    )


def _thermal_gap_residual(g, args):
    """The discretised gap equation at gap `g` for the thermal logits (``args = (v_th, grid,
    p)``): the residual `_discrete_thermal_gap` finds the root of."""
    v_th, grid, p = args
    return gap_equation(v_th, g, grid, p)


def _discrete_thermal_gap(v_th, gap_guess, grid, p):
    r"""Gap of the discretised gap equation with thermal $f$ (reduced units, $\Delta_0=1$):
    the root of `gap_equation` in $[\Delta_{guess}/4,\,1]$ by `bracketed_root`,
    differentiated implicitly ($\dot\Delta=-\dot F/\partial_\Delta F$).

    The bracket always holds a sign change: at $\Delta=1$ the two arcsinh terms cancel and the
    rest, $-2\sum_if_i\int dE/\sqrt{E^2-\Delta^2}$ minus the thermal tail, is $\le0$ for any
    $0\le f\le1$; at $\Delta_{guess}/4$ (a quarter of the BCS gap at $T_b$) the residual is
    $\approx\ln4>0$ (1.4-2.0 from 0.02 to 0.999 $T_c$, 16 to 500 bins). `gap_guess` carries no
    derivative (it only places the bracket)."""
    lo = 0.25 * gap_guess
    return bracketed_root(_thermal_gap_residual, lo, jnp.ones_like(lo), (v_th, grid, p)).root


def _problem_and_checks(
    material,
    T_bath,
    freq,
    P_abs,
    tau_esc,
    P_ph,
    Om_ph,
    extent,
    options: SolverOptions,
    P_s=None,
    freq_s=None,
):
    """Grid and reduced parameters (`ReducedParams`) of one kinetic problem; also the
    power unit (W/m^3) and the undriven start x0 = (thermal logits, thermal gap). `P_ph`,
    `Om_ph`: injected phonons (W/m^3 at eV; `Om_ph` None: none); `P_s`, `freq_s`:
    pair-breaking photons (W/m^3, Hz), or None. Only `options.grid`, `options.tau0_ph` and
    `options.gap_edge_drive_weight` are used."""
    gap0 = material.gap0
    N0 = material.require("N0")
    tau0 = material.require("tau0")
    n_bins, bins_per_photon = options.grid.n_bins, options.grid.bins_per_photon
    gap_th = _gap_kernel(T_bath, material, True) / gap0  # T_bath checked by _check_common
    unit_P = 4.0 * N0 * gap0**2 / tau0 * _e_charge  # W/m^3 per reduced power unit
    # the injected phonons are placed on the lattice below
    p = _reduced_params(material, T_bath, tau_esc, options.tau0_ph, gap_thermal=gap_th,
                        power=P_abs / unit_P, phonon_injection=jnp.zeros(()),
                        gap_edge_drive_weight=options.gap_edge_drive_weight)
    hnu = _h * freq / gap0
    no = jnp.zeros((), bool)
    bad_freq = hnu >= 2.0 * gap_th
    has_s = freq_s is not None
    bad_freq_s = no
    if has_s:
        hnu_s = _h * freq_s / gap0
        bad_freq_s = hnu_s <= 2.0 * gap_th
    if extent is None:
        ext = jnp.maximum(jnp.maximum(10.0, 20.0 * p.kT), 4.0 * hnu)
        if has_s:
            ext = jnp.maximum(ext, 2.0 * hnu_s)
    else:
        ext = extent / gap0
    grid = make_grid(hnu, gap_th, p.kT, n_bins, bins_per_photon, ext)
    short = grid.k0 > n_bins - 1
    short_s = no
    if has_s:
        # photon energy rounded to the lattice: pairs E_i + E_k = (k0 + i + k) delta
        ms = jnp.round(hnu_s / grid.delta).astype(int)
        short_s = ms - grid.k0 > n_bins - 1
        p = p.replace(pair_breaking_power=P_s / unit_P, pair_breaking_bins=ms)
    L = grid.n_phonons
    if Om_ph is not None:
        Om = Om_ph / gap0
        j0 = jnp.clip(jnp.round(Om / grid.delta).astype(int), 1, L - 1)
        Omq = j0.astype(grid.delta.dtype) * grid.delta  # explicit cast (strict dtype promotion)
        Pph = P_ph / unit_P
        Jv = 2.0 * Pph / ((p.K_s / p.K_p) * Omq**3 * grid.delta)
        p = p.replace(phonon_injection=jnp.zeros(L).at[j0].set(Jv))
    else:
        p = p.replace(phonon_injection=jnp.zeros(L))
    x0 = jnp.concatenate([-grid.energies / p.kT, gap_th[None]])
    checks = jnp.stack([bad_freq, bad_freq_s, short, short_s])  # in the order of _CHECK_MESSAGES
    return grid, p, unit_P, x0, checks


def _problem(*args, **kwargs):
    """`_problem_and_checks` without the checks: ``(grid, p, unit_P, x0)``."""
    return _problem_and_checks(*args, **kwargs)[:4]


_CHECK_MESSAGES = (
    "diffsc: argument `freq` must be sub-gap (h*freq < 2*gap(T_bath)) for the microwave drive.",
    "diffsc: argument `pair_breaking_freq` must be above the gap edge (h*freq > 2*gap(T_bath)) "
    "for pair-breaking photons.",
    "diffsc: the energy grid is too short (`n_bins`/`energy_extent`): it must extend beyond "
    "3*gap; raise n_bins or energy_extent.",
    "diffsc: the energy grid is too short for the pair-breaking photons: it must reach "
    "h*pair_breaking_freq - gap; raise energy_extent or n_bins.",
)


def _raise_checks(sol, checks, throw: bool):
    """`sol` unchanged, or the error of the first failing input check of `_problem` (`checks`, a
    (..., 4) boolean array) and, with `throw`, of a failed solve.

    Concrete `checks` (an eager call) are decided here in NumPy and raise
    [`InvalidArgumentError`][diffsc.InvalidArgumentError]; traced ones become ``equinox.error_if``
    in the caller's program. Keeping these host callbacks out of the compiled solve lets the
    on-disk compilation cache keep it (JAX does not persist programs with host callbacks)."""
    if not isinstance(checks, jax.core.Tracer):
        checks = np.asarray(checks)
    for i, message in enumerate(_CHECK_MESSAGES):
        sol = error_if(sol, checks[..., i], message)
    if throw:
        result = sol.result
        for code in (RESULTS.max_steps_reached, RESULTS.nonfinite):
            sol = eqx.error_if(sol, result == code, code.message)
    return sol


def _solve_unchecked(
    material,
    T_bath,
    freq,
    P_abs,
    tau_esc,
    P_ph,
    Om_ph,
    extent,
    P_s=None,
    freq_s=None,
    *,
    options: SolverOptions,
):
    """One steady-state solve and its input checks, ``(KineticSolution, checks)`` (`checks`: see
    `_raise_checks`; no host callback in here). `options`
    ([`SolverOptions`][diffsc.SolverOptions], hashable) is static, as are the None/array structure
    of `Om_ph` and `P_s`/`freq_s`. Input that fails a check skips the Newton solve."""
    self_consistent = options.self_consistent_gap
    gap0 = material.gap0
    N0 = material.require("N0")
    tau0 = material.require("tau0")
    grid, p, unit_P, x0, checks = _problem_and_checks(
        material,
        T_bath,
        freq,
        P_abs,
        tau_esc,
        P_ph,
        Om_ph,
        extent,
        options,
        P_s,
        freq_s,
    )
    gap_th = p.gap_thermal
    E = grid.energies
    v_th = x0[:-1]
    root = make_root(options)

    def run(x0):
        return root(x0, grid, p)

    def skip(x0):  # invalid input: the checks raise; nothing to solve
        zeros = jax.tree.map(lambda a: jnp.zeros(a.shape, a.dtype), jax.eval_shape(run, x0))
        return (x0, *zeros[1:])

    x, rates, (err, nsteps, ok) = jax.lax.cond(jnp.any(checks), skip, run, x0)
    v, gap = x[:-1], x[-1]
    # observables
    gap_thermal = _discrete_thermal_gap(v_th, gap_th, grid, p) if self_consistent else gap_th
    f = jax.nn.sigmoid(v)
    rho = bin_dos(grid, gap)
    d = grid.delta
    w, gamma = rates["w"], rates["gamma"]  # the solver's last evaluation, not a new one
    rs, rr = rates["scattering"], rates["recombination"]
    drive, Z, G_drive = drive_strength(v, gap, grid, p)
    pair_drive, G_s = pair_breaking_strength(v, gap, grid, p)
    Omj = grid.phonon_energies
    dP, n, nB = phonon_escape_power(w, grid, p)  # reduced, per reduced energy
    P_bath = jnp.sum(dP) * d * unit_P
    P_qp = -jnp.sum(E * rho * d * f * (rs + rr)) * unit_P
    nqp = 4.0 * N0 * gap0 * jnp.sum(f * rho) * d
    rho_th = bin_dos(grid, gap_thermal)
    nqp_th = 4.0 * N0 * gap0 * jnp.sum(jax.nn.sigmoid(v_th) * rho_th) * d
    inv_tr = rates["recombination_out"]  # sum_k B_ik f_k (1 + n_ik), per tau0
    tau_qp = tau0 * jnp.sum(f * rho) / jnp.sum(f * rho * inv_tr)
    finite = jnp.isfinite(err) & jnp.all(jnp.isfinite(x)) & jnp.all(gamma > 0)
    result = jnp.where(
        finite,
        jnp.where(ok > 0.5, RESULTS.successful, RESULTS.max_steps_reached),
        RESULTS.nonfinite,
    ).astype(int)
    sol = KineticSolution(
        energies=E * gap0,
        f=f,
        dos=rho,
        bin_width=d * gap0,
        phonon_energies=Omj * gap0,
        n=n,
        n_bath=nB,
        phonon_power_spectrum=dP * unit_P / gap0,
        gap=gap * gap0,
        gap_thermal=gap_thermal * gap0,
        nqp=nqp,
        nqp_thermal=nqp_th,
        nqp_thermal_exact=_thermal_nqp_kernel(T_bath, gap_thermal * gap0, N0),
        tau_qp=tau_qp,
        drive_rate=drive / tau0,
        absorbed_power=jnp.asarray(P_abs, float),
        pair_breaking_rate=pair_drive / tau0,
        pair_breaking_power=jnp.asarray(0.0 if P_s is None else P_s, float),
        pair_generation_rate=4.0 * N0 * gap0 * G_s / tau0,
        drive_generation_rate=4.0 * N0 * gap0 * G_drive / tau0,
        power_qp_to_phonons=P_qp,
        power_to_bath=P_bath,
        sigma1_grid=Z / (grid.m.astype(d.dtype) * d) ** 2,
        freq=jnp.asarray(freq, float),
        T_bath=jnp.asarray(T_bath, float),
        residual_norm=err,
        n_steps=nsteps.astype(int),
        result=result,
        success=result == RESULTS.successful,
    )
    return sol, checks


_solve_compiled = eqx.filter_jit(_solve_unchecked)


def _solve(material, T_bath, freq, P_abs, tau_esc, P_ph, Om_ph, extent, P_s=None, freq_s=None, *,
           options: SolverOptions):
    """`_solve_unchecked` with its checks raised (`_raise_checks`): one compiled program without
    host callbacks for eager calls; inside another trace (the relaxation programs, a user's
    ``jit``) the checks are ``equinox.error_if`` there."""
    sol, checks = _solve_compiled(material, T_bath, freq, P_abs, tau_esc, P_ph, Om_ph, extent,
                                  P_s, freq_s, options=options)
    return _raise_checks(sol, checks, options.throw)


def _check_common(material, T_bath, freq, tau_esc, energy_extent):
    """Validated (T_bath, freq, tau_esc, energy_extent) shared by the kinetic entry points."""
    T_bath = check_positive(T_bath, "T_bath", "K", dtype=float)
    T_bath = error_if(T_bath, lambda t: t >= material.Tc, "diffsc: argument `T_bath` must be < Tc.")
    freq = check_positive(freq, "freq", "Hz", dtype=float)
    tau_esc = check_positive(tau_esc, "tau_esc", "s", dtype=float)
    ext = (
        None
        if energy_extent is None
        else check_positive(energy_extent, "energy_extent", "eV", dtype=float)
    )
    return T_bath, freq, tau_esc, ext


@accepts_solver_options
def kinetic_steady_state(
    material: Material,
    T_bath,
    freq,
    absorbed_power_density,
    *,
    tau_esc,
    n_bins: int = 500,
    bins_per_photon: int | None = None,
    energy_extent=None,
    self_consistent_gap: bool = True,
    tau0_ph: str = "energy_conserving",
    gap_edge_drive_weight: float = 1.0,
    phonon_power_density=0.0,
    phonon_energy=None,
    pair_breaking_power_density=0.0,
    pair_breaking_freq=None,
    max_steps: int = 400,
    rtol: float = 1e-10,
    continuation: int = 4,
    max_extra_steps: int | None = None,
    throw: bool = False,
    solver_options: SolverOptions | None = None,
) -> KineticSolution:
    r"""Steady state of the Chang–Scalapino kinetic equations of a film driven by sub-gap photons.

    Solves $\partial_tf(E)=0$ and $\partial_tn(\Omega)=0$ (docs/kinetic.md, §Equations: electron–phonon
    scattering with phonon absorption and emission, recombination, phonon pair breaking, escape of
    phonons to the substrate at $T_b$ with time $\tau_{esc}$, microwave photon absorption
    $I_{qp}$ of S-Al Eq. 1, optional injected phonons) with the drive strength $B$ fixed by
    $$P_{abs}=4N_0\int_\Delta^\infty I_{qp}(E)\,E\,\rho(E)\,dE,$$
    and (default) the self-consistent gap
    $\operatorname{arcsinh}(\Omega_D/\Delta_0)=\int_\Delta^{\sqrt{\Omega_D^2+\Delta^2}}
    \frac{1-2f}{\sqrt{E^2-\Delta^2}}dE$. The phonons and $B$ are eliminated exactly; the $N$
    unknowns $\mathrm{logit}\,f_i$ (plus $\Delta$) are found by pseudo-transient Newton with the
    exact Jacobian (fast path, 3-15 steps above ~0.2 K); if that has not converged after 60
    steps, by following the physical time evolution from the undriven state (backward Euler
    growing into Newton; robust down to 0.05 Tc), and if that fails too, with the power ramped
    in `continuation` decade stages (docs/kinetic.md). Where that schedule would end
    unconverged, the solver extends its own budget, by at most `max_extra_steps` steps: the
    last stage goes on while its residual still halves every `max_steps`/4 steps, then the
    physical time and, if that stalls, the fast path restart from the best full-power iterate;
    only a solve that stalls is flagged. Every output is
    differentiable (``jax.grad``/``jax.jvp``) with respect to `T_bath`, `freq`, the powers,
    `tau_esc` and the material's fields through the implicit function theorem; ``jax.vmap``
    batches over any of the array arguments (same shapes compile once).

    **Arguments:**

    - `material`: [`Material`][diffsc.Material] with `Tc`, `gap0`, `N0`, `tau0`, `debye_energy`
      (and `N_ion` for the default `tau0_ph`).
    - `T_bath`: bath (substrate) temperature, K (0 < T_bath < Tc).
    - `freq`: microwave frequency $\nu$, Hz, sub-gap ($h\nu<2\Delta$).
    - `absorbed_power_density`: $P_{abs}$, W/m^3 (>= 0; 0 gives the thermal state).
    - `tau_esc`: phonon escape time to the substrate, s.
    - `n_bins`: number $N$ of quasiparticle bins (static).
    - `bins_per_photon`: $m=h\nu/\delta$ (static); default chosen so that $N\delta\approx$
      `energy_extent`.
    - `energy_extent`: span of the grid above the gap, eV; default
      $\max(10\Delta_0,20k_BT_b,4h\nu)$.
    - `self_consistent_gap`: solve the gap with $f$ (True) or hold $\Delta=\Delta_{BCS}(T_b)$.
    - `tau0_ph`: ``"energy_conserving"`` (default: $\tau_0^{ph}$ from
      `Material.tau0_ph_energy_conserving`, so energy is conserved exactly) or ``"material"``
      (the material's value; the phonon DOS is then scaled consistently). A `tau0_ph` the user
      set on the material but left unused by the default gives a ``UserWarning``.
    - `gap_edge_drive_weight`: weight of the gap-edge bin's photon-absorption loss (static
      float in [0, 1]). 1 (default): the drive moves quasiparticles and creates none (physics).
      0.5: the convention of the published MATLAB code of this model, whose gap-edge bin
      loses at half the rate its partner at $\Delta+h\nu$ gains: a literature-compatibility
      mode, not physics; it creates quasiparticles out of nothing (`drive_generation_rate`)
      and gives $n_{qp}\propto\sqrt{P_{abs}}$ at low temperature (docs/kinetic.md,
      §Comparison with published simulations).
    - `phonon_power_density`, `phonon_energy`: optional injected phonons, W/m^3 at eV (rounded
      to the lattice).
    - `pair_breaking_power_density`, `pair_breaking_freq`: optional pair-breaking photons,
      absorbed power density W/m^3 at frequency Hz ($h\nu_s>2\Delta$; the photon energy is
      rounded to the lattice, and the default `energy_extent` grows to $2h\nu_s$). Their strength
      $B_s$ is eliminated like $B$: $P_s=4N_0\int I^s_{qp}E\rho\,dE$ (docs/kinetic.md, §Drives).
    - `max_steps`: Newton steps per stage (the fast path stops at min(60, `max_steps`) when a
      fallback follows); `rtol`: tolerance on the max relative rate residual;
      `continuation`: number of power-ramp stages; 0 disables both fallbacks.
    - `max_extra_steps`: cap on the Newton steps the solver adds on its own to that fixed
      schedule (static; default None: ``4 * max_steps``; 0: the fixed schedule only). They are
      spent only where the fixed schedule would fail, in blocks of ``max(1, max_steps // 4)``
      steps: the first block of each of the two rescue stages, and any further block only while
      the lowest residual halved over the block before. A solve that converges within the
      schedule is unchanged; a stalled one stops after the two rescue blocks (none when
      `continuation` is 0). ``n_steps`` counts them.
    - `throw`: raise on failure, also under ``jit`` (True), or return with ``result``/``success``
      set (default False, the package-wide default of every solver and fit: check `success`).
    - `solver_options`: the options `n_bins` ... `throw` above as one [`SolverOptions`][diffsc.SolverOptions]
      (with a [`GridOptions`][diffsc.GridOptions]), e.g. to keep one configuration for many calls:
      ``SolverOptions(grid=GridOptions(n_bins=200), rtol=1e-12)`` gives the same result as
      ``n_bins=200, rtol=1e-12``. Naming any of those keywords as well is a ``TypeError``.

    **Returns:** [`KineticSolution`][diffsc.KineticSolution].
    """
    T_bath, freq, tau_esc, ext = _check_common(material, T_bath, freq, tau_esc, energy_extent)
    options = solver_options if solver_options is not None else SolverOptions.from_kwargs(
        n_bins=n_bins,
        bins_per_photon=bins_per_photon,
        self_consistent_gap=self_consistent_gap,
        tau0_ph=tau0_ph,
        gap_edge_drive_weight=gap_edge_drive_weight,
        max_steps=max_steps,
        rtol=rtol,
        continuation=continuation,
        max_extra_steps=max_extra_steps,
        throw=throw,
    )
    _warn_unused_tau0_ph(material, options, "kinetic_steady_state")
    P = check_nonnegative(absorbed_power_density, "absorbed_power_density", "W/m^3", dtype=float)
    Pph = check_nonnegative(phonon_power_density, "phonon_power_density", "W/m^3", dtype=float)
    has_ph = phonon_energy is not None
    Om = check_positive(phonon_energy, "phonon_energy", "eV", dtype=float) if has_ph else None
    if pair_breaking_freq is None:
        Ps = fs = None
        if not (
            isinstance(pair_breaking_power_density, (int, float))
            and pair_breaking_power_density == 0
        ):  # a Python test: no tracers here
            raise ValueError(
                "diffsc: argument `pair_breaking_power_density` needs `pair_breaking_freq` (Hz)."
            )
    else:
        Ps = check_nonnegative(
            pair_breaking_power_density, "pair_breaking_power_density", "W/m^3", dtype=float
        )
        fs = check_positive(pair_breaking_freq, "pair_breaking_freq", "Hz", dtype=float)
    return _solve(material, T_bath, freq, P, tau_esc, Pph, Om, ext, Ps, fs, options=options)
