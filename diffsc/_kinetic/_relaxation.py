r"""Time-dependent mode: relaxation of the quasiparticles after a step in the microwave drive.

Before $t=0$ the film is in the steady state at absorbed power $P_0$; from $t=0$ the drive strength
is held at the value $B_1$ that absorbs $P_1$ in the new steady state (a step in the photon flux;
$P_1=0$ switches the drive off). The occupations then follow
$$\dot f_i=f_i\,R_i(f,\Delta;B_1),\qquad\text{i.e.}\quad \dot v_i=\frac{R_i}{1-f_i},\quad
v_i=\operatorname{logit}f_i,$$
with $R_i$ the relative rates of `_collisions` (scattering, recombination, phonon pair
breaking, photons) and the gap following $f$ instantly through the gap equation. The phonons are
eliminated adiabatically ($n=S/\Gamma$ at every instant): exact for times long compared with the
phonon lifetimes $\tau_{esc}$ and $\tau_{pb}$ (~0.3 ns in Al), which is where the quasiparticle
relaxation that resonators measure (µs-ms) happens; phonon trapping is included through $n$.

Integrator: ROS2, the two-stage L-stable Rosenbrock (W-)method of Verwer et al. (SIAM J. Sci.
Comput. 20, 1456 (1999)), second order for any approximation of the Jacobian, one LU per step:
$$(I-\gamma hJ)k_1=G(v_n),\quad(I-\gamma hJ)k_2=G(v_n+hk_1)-2k_1,\quad
v_{n+1}=v_n+\tfrac32hk_1+\tfrac12hk_2,\quad\gamma=1+1/\sqrt2.$$
Fixed steps: each interval of the user's time grid is split into `substeps` equal steps.
"""

from __future__ import annotations

import functools
import math

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Bool, Float

from .._core._validation import check_nonnegative, check_positive
from ._collisions import _drive_q, residual_and_scale, residual_jacobian
from ._grid import bin_dos
from ._solution import KineticSolution
from ._solver import SolverOptions, accepts_solver_options, gap_equation, project_gap
from ._steady_state import _check_common, _problem, _solve, _warn_unused_tau0_ph

_GAMMA = 1.0 + 1.0 / math.sqrt(2.0)  # a Python float: no device array at import


class KineticRelaxation(eqx.Module):
    r"""Quasiparticle relaxation after a drive step (SI units, energies in eV).

    **Fields:**

    - `times`: output times $t$, s, shape (T,).
    - `energies`: bin energies, eV, shape (N,); `f`: $f(E_i,t)$, shape (T, N).
    - `gap`: $\Delta(t)$, eV, shape (T,).
    - `nqp`: $n_{qp}(t)$, 1/m^3, shape (T,).
    - `decay_time`: local decay time of the excess, $\tau(t)=-[d\ln|n_{qp}-n_{qp}(\infty)|/dt]^{-1}$,
      s (finite differences on the output grid), shape (T,); at late times it tends to the
      slowest relaxation time of the linearised equations. Negative while $n_{qp}$ still rises
      (hot quasiparticles breaking pairs just after the step) and meaningless once the excess
      is at round-off (~1e-10 of $n_{qp}$).
    - `initial`, `final`: the steady states at $P_0$ and $P_1$ ([`KineticSolution`][diffsc.KineticSolution]).
    - `success`: both steady states converged and the trajectory stayed finite.
    """

    times: Float[Array, " T"]
    energies: Float[Array, " N"]
    f: Float[Array, "T N"]
    gap: Float[Array, " T"]
    nqp: Float[Array, " T"]
    decay_time: Float[Array, " T"]
    initial: KineticSolution
    final: KineticSolution
    success: Bool[Array, ""]


def _rhs_and_jacobian(v, gap, grid, p, drive, self_consistent):
    r"""$G=R/(1-f)$ at fixed drive $B$ (gap re-solved from $f$), and the W-method matrix
    $\partial_vR/(1-f)$ at fixed gap (the gap coupling is not stiff)."""
    if self_consistent:
        gap = project_gap(v, gap, grid, p)
    w = p.gap_edge_drive_weight
    q, Z = _drive_q(v, gap, grid, w)
    p_held = p.replace(power=drive * Z)  # the residual's B = P/Z is then exactly the fixed B
    R, J, _ = residual_jacobian(v, gap, grid, p_held)
    dZ = jax.grad(lambda y: _drive_q(y, gap, grid, w)[1])(v)
    J = J + jnp.outer(q, drive / Z * dZ)  # undo the elimination of B: here B is held
    g = 1.0 - jax.nn.sigmoid(v)
    return R / g, J / g[:, None], gap


def _rhs(v, gap, grid, p, drive, self_consistent):
    if self_consistent:
        gap = project_gap(v, gap, grid, p)
    _, Z = _drive_q(v, gap, grid, p.gap_edge_drive_weight)
    R, _ = residual_and_scale(v, gap, grid, p.replace(power=drive * Z))
    return R / (1.0 - jax.nn.sigmoid(v)), gap


def _state_of(sol, material, T_bath, freq, tau_esc, extent, options: SolverOptions):
    """Grid, reduced parameters, logits and reduced gap of a steady state (to integrate or
    linearise about it)."""
    grid, p, _, _ = _problem(material, T_bath, freq, sol.absorbed_power, tau_esc, jnp.zeros(()),
                             None, extent, options)
    f = jnp.clip(sol.f, 1e-300, 1.0 - 1e-16)
    return grid, p, jnp.log(f) - jnp.log1p(-f), sol.gap / material.gap0


def linearised_operator(v, gap, grid, p, drive, self_consistent):
    r"""$\partial\dot v/\partial v$ at a converged $(v,\Delta)$ with the gap following $f$ through
    the implicit function theorem, $J=J_{vv}-J_{v\Delta}\,F_v^\top/F_\Delta$ ($F$ the gap
    equation); not through the gap's Newton iterations."""
    Jvv = jax.jacfwd(lambda y: _rhs(y, gap, grid, p, drive, False)[0])(v)
    if not self_consistent:
        return Jvv
    _, Jvg = jax.jvp(lambda g: _rhs(v, g, grid, p, drive, False)[0], (gap,), (jnp.ones(()),))
    Fv, Fg = jax.grad(gap_equation, argnums=(0, 1))(v, gap, grid, p)
    return Jvv - jnp.outer(Jvg, Fv) / Fg


def _ros2_step(v, gap, h, grid, p, drive, self_consistent):
    G, J, gap = _rhs_and_jacobian(v, gap, grid, p, drive, self_consistent)
    lu = jax.scipy.linalg.lu_factor(jnp.eye(v.shape[0]) - _GAMMA * h * J)
    k1 = jax.scipy.linalg.lu_solve(lu, G)
    G2, gap2 = _rhs(v + h * k1, gap, grid, p, drive, self_consistent)
    k2 = jax.scipy.linalg.lu_solve(lu, G2 - 2.0 * k1)
    return v + 1.5 * h * k1 + 0.5 * h * k2, gap2


@functools.partial(eqx.filter_jit)
def _relax(material, T_bath, freq, P0, P1, tau_esc, times, extent, *, options, substeps):
    self_consistent, throw = options.self_consistent_gap, options.throw
    zero = jnp.zeros(())
    s0 = _solve(material, T_bath, freq, P0, tau_esc, zero, None, extent, options=options)
    s1 = _solve(material, T_bath, freq, P1, tau_esc, zero, None, extent, options=options)
    grid, p, v0, g0 = _state_of(s0, material, T_bath, freq, tau_esc, extent, options)
    gap0, tau0, N0 = material.gap0, material.require("tau0"), material.require("N0")
    B1 = s1.drive_rate * tau0  # reduced drive strength held after the step
    tr = times / tau0

    def interval(carry, dt):
        v, gap = carry
        h = dt / substeps

        def sub(_, c):
            return _ros2_step(c[0], c[1], h, grid, p, B1, self_consistent)

        v, gap = jax.lax.fori_loop(0, substeps, sub, (v, gap))
        if self_consistent:
            gap = project_gap(v, gap, grid, p)
        return (v, gap), (v, gap)

    dts = jnp.diff(tr, prepend=0.0)
    _, (vs, gaps) = jax.lax.scan(interval, (v0, g0), dts)
    fs = jax.nn.sigmoid(vs)
    rho = jax.vmap(lambda g: bin_dos(grid, g))(gaps)
    nqp = 4.0 * N0 * gap0 * jnp.sum(fs * rho, axis=1) * grid.delta
    excess = jnp.abs(nqp - s1.nqp)
    slope = jnp.gradient(jnp.log(excess), times)
    finite = jnp.all(jnp.isfinite(vs)) & jnp.all(jnp.isfinite(gaps))
    success = s0.success & s1.success & finite
    if throw:
        nqp = eqx.error_if(nqp, ~finite, "diffsc: kinetic_relaxation: the trajectory became "
                           "non-finite (use smaller time steps: more `substeps`).")
    return KineticRelaxation(
        times=times, energies=s0.energies, f=fs, gap=gaps * gap0, nqp=nqp,
        decay_time=-1.0 / slope, initial=s0, final=s1, success=success,
    )


@accepts_solver_options
def kinetic_relaxation(
    material,
    T_bath,
    freq,
    absorbed_power_density,
    times,
    *,
    tau_esc,
    absorbed_power_after=0.0,
    substeps: int = 4,
    n_bins: int = 500,
    bins_per_photon: int | None = None,
    energy_extent=None,
    self_consistent_gap: bool = True,
    tau0_ph: str = "energy_conserving",
    gap_edge_drive_weight: float = 1.0,
    max_steps: int = 400,
    rtol: float = 1e-10,
    continuation: int = 4,
    throw: bool = False,
    solver_options: SolverOptions | None = None,
) -> KineticRelaxation:
    r"""Relaxation of $f(E,t)$, $n_{qp}(t)$ and $\Delta(t)$ after a step of the microwave drive.

    The film starts in the steady state of [`kinetic_steady_state`][diffsc.kinetic_steady_state] at
    `absorbed_power_density` $P_0$; at $t=0$ the drive strength steps to the value that absorbs
    `absorbed_power_after` $P_1$ in steady state (0: drive off) and is held there. Integrated with
    the L-stable ROS2 Rosenbrock method on the logits, the gap following $f$, phonons eliminated
    adiabatically (valid for $t\gg\tau_{esc},\tau_{pb}$, ~0.3 ns in Al). Fixed steps: the
    output grid times `substeps` must resolve the decay (step <~ decay time / 3; the tests use a
    log grid with 50 points over 6 decades and 16 substeps, which reproduces the slowest
    eigenmode's decay time to 1%).

    **Arguments:**

    - `material`, `T_bath` (K), `freq` (Hz), `tau_esc` (s) and the grid/solver options: as in
      [`kinetic_steady_state`][diffsc.kinetic_steady_state].
    - `absorbed_power_density`: $P_0$ before the step, W/m^3.
    - `times`: increasing output times, s (> 0), shape (T,); use a logarithmic grid spanning
      the fast (ns-µs) and slow (recombination, µs-ms) scales.
    - `absorbed_power_after`: $P_1$ after the step, W/m^3 (default 0).
    - `substeps`: ROS2 steps per output interval (static; error ~ step^2).
    - `solver_options`: a [`SolverOptions`][diffsc.SolverOptions] instead of the keyword options
      (`n_bins` ... `throw`; naming both is a ``TypeError``); its `max_extra_steps` then applies
      to the initial steady state too.

    **Returns:** [`KineticRelaxation`][diffsc.KineticRelaxation].
    """
    common = _check_common(material, T_bath, freq, tau_esc, energy_extent)
    options = solver_options if solver_options is not None else SolverOptions.from_kwargs(
        n_bins=n_bins, bins_per_photon=bins_per_photon, self_consistent_gap=self_consistent_gap,
        tau0_ph=tau0_ph, gap_edge_drive_weight=gap_edge_drive_weight, max_steps=max_steps,
        rtol=rtol, continuation=continuation, throw=throw,
    )
    _warn_unused_tau0_ph(material, options, "kinetic_relaxation")
    P0 = check_nonnegative(absorbed_power_density, "absorbed_power_density",
                           "W/m^3", dtype=float)
    P1 = check_nonnegative(absorbed_power_after, "absorbed_power_after", "W/m^3", dtype=float)
    times = check_positive(times, "times", "s", dtype=float)
    if times.ndim != 1:
        raise ValueError(f"diffsc: argument `times` must be 1-D, got shape {times.shape}.")
    times = eqx.error_if(times, jnp.any(jnp.diff(times) <= 0),
                         "diffsc: argument `times` must be strictly increasing.")
    if int(substeps) < 1:
        raise ValueError(f"diffsc: argument `substeps` must be >= 1, got {substeps}.")
    T_bath, freq, tau_esc, ext = common
    return _relax(material, T_bath, freq, P0, P1, tau_esc, times, ext, options=options,
                  substeps=int(substeps))


class KineticDecay(eqx.Module):
    r"""Relaxation time of small fluctuations about a (driven) steady state.

    **Fields:**

    - `decay_time`: $\tau=-1/\lambda_{min}$, s, with $\lambda_{min}$ the eigenvalue of smallest
      magnitude of the linearised kinetic equations at the steady state (drive strength held).
    - `steady_state`: the [`KineticSolution`][diffsc.KineticSolution] it linearises about.

    **Properties:** `result` (a [`RESULTS`][diffsc.RESULTS] code: the steady state's when it failed,
    else 2 if the decay time is not finite, else 0), `success` (``result == 0``), `n_steps` (the
    steady state's Newton steps).
    """

    decay_time: Float[Array, ""]
    steady_state: KineticSolution

    @property
    def result(self):
        ss = self.steady_state.result
        finite = jnp.isfinite(self.decay_time)
        return jnp.where(ss != 0, ss, jnp.where(finite, 0, 2)).astype(jnp.int32)

    @property
    def success(self):
        return self.result == 0

    @property
    def n_steps(self):
        return self.steady_state.n_steps


@functools.partial(eqx.filter_jit)
def _decay(material, T_bath, freq, P, tau_esc, extent, *, options, iterations):
    self_consistent = options.self_consistent_gap
    sol = _solve(material, T_bath, freq, P, tau_esc, jnp.zeros(()), None, extent, options=options)
    grid, p, v, gap = _state_of(sol, material, T_bath, freq, tau_esc, extent, options)
    tau0 = material.require("tau0")
    drive = sol.drive_rate * tau0
    J = linearised_operator(v, gap, grid, p, drive, self_consistent)
    lu = jax.scipy.linalg.lu_factor(J)

    def power_step(x, _):  # inverse iteration: converges to the eigenvector of smallest |lambda|
        y = jax.scipy.linalg.lu_solve(lu, x)
        return y / jnp.linalg.norm(y), None

    x, _ = jax.lax.scan(power_step, jnp.ones_like(v) / jnp.sqrt(v.shape[0]), None,
                        length=iterations)
    lam = jnp.dot(x, J @ x) / jnp.dot(x, x)
    return KineticDecay(decay_time=-tau0 / lam, steady_state=sol)


@accepts_solver_options
def kinetic_decay_time(
    material,
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
    max_steps: int = 400,
    rtol: float = 1e-10,
    continuation: int = 4,
    throw: bool = False,
    iterations: int = 60,
    solver_options: SolverOptions | None = None,
) -> KineticDecay:
    r"""Quasiparticle relaxation time as a noise or small-pulse measurement sees it.

    Linearises the kinetic equations $\dot v=R(v)/(1-f)$ (drive strength $B$ held, gap following
    $f$, phonons adiabatic; see [`kinetic_relaxation`][diffsc.kinetic_relaxation]) about the steady state at
    `absorbed_power_density` and returns $\tau=-1/\lambda_{min}$ for the eigenvalue of smallest
    magnitude (inverse iteration on the LU factors, `iterations` steps; works on any backend).
    With no drive this is the decay time of a small thermal excess, i.e. the recombination time
    lengthened by phonon trapping; under drive it is the fluctuation time of S-Al Fig. 4a.
    Arguments as [`kinetic_steady_state`][diffsc.kinetic_steady_state]; `absorbed_power_density` in W/m^3;
    `solver_options` (a [`SolverOptions`][diffsc.SolverOptions]) instead of the keyword options.

    **Returns:** [`KineticDecay`][diffsc.KineticDecay] (`decay_time` in s, and the steady state).
    """
    T_bath, freq, tau_esc, ext = _check_common(material, T_bath, freq, tau_esc, energy_extent)
    options = solver_options if solver_options is not None else SolverOptions.from_kwargs(
        n_bins=n_bins, bins_per_photon=bins_per_photon, self_consistent_gap=self_consistent_gap,
        tau0_ph=tau0_ph, gap_edge_drive_weight=gap_edge_drive_weight, max_steps=max_steps,
        rtol=rtol, continuation=continuation, throw=throw,
    )
    _warn_unused_tau0_ph(material, options, "kinetic_decay_time")
    P = check_nonnegative(absorbed_power_density, "absorbed_power_density",
                          "W/m^3", dtype=float)
    return _decay(material, T_bath, freq, P, tau_esc, ext, options=options,
                  iterations=int(iterations))
