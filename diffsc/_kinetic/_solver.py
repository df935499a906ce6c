r"""Newton solver for the kinetic steady state, continuation in power, implicit derivatives.

Unknowns $x=(v_1..v_N,\Delta)$ with $v=\mathrm{logit}\,f$; equations: the relative rates
$\dot f_i/f_i=0$ (phonons and drive strength eliminated exactly, see ``_collisions``) and the gap
equation (or $\Delta=\Delta_{th}$ when the gap is held thermal). Pseudo-transient Newton with
the exact dense Jacobian (one residual per step, and the Jacobian from the same intermediates
at accepted, unconverged points), rows scaled by the
gross rates of each bin (so the test $\max_i|\dot f_i|/\mathrm{gross}_i$ is relative and
meaningful at $f\sim10^{-9}$), a step cap and an acceptance test; if the direct solve fails, the absorbed power is ramped geometrically from a
small fraction (continuation), all in one ``while_loop`` (`solve`). The root is
differentiated with the implicit function theorem: $\dot x=-J^{-1}\,\partial_\theta R\,\dot\theta$.
"""

from __future__ import annotations

import functools

import equinox as eqx
import jax
import jax.numpy as jnp

from ._collisions import (
    gap_kernels,
    jacobian_from_parts,
    rates,
    rates_from_parts,
    residual,
    residual_parts,
    thermal_escape_power,
)
from ._grid import Grid, GridOptions, sqrt_diff_squares
from ._params import ReducedParams

_MAX_DV = 4.0
_MAX_DGAP = 0.02
_START_BISECTIONS = 14  # ln T* to ~1e-4 of its bracket: plenty for a start
_H_FLOOR = 10.0  # pseudo-time floor h >= _H_FLOOR / err (tuned: 60-320 mK, 1-1e4 W/m^3)
_FAST_STEPS = 60  # budget of the fast path before the physical-time fallback
_PHYS_CAP = 4.0  # largest change of a logit per physical-time step
_PHYS_H0 = 1e-2  # first physical time step, tau0
_TAIL_DEPTH = 25.0  # bins whose logit stays this far below the largest are not capped
_EXTRA_PER_MAX_STEPS = 4  # default cap of the self-extended budget: 4 * max_steps steps
_BLOCKS_PER_MAX_STEPS = 4  # the budget grows in blocks of max_steps // 4 steps ...
_PROGRESS = 0.5  # ... while the lowest residual at least halves over each block
_CHORD_MARGIN = 0.1  # a chord step is taken where it is predicted to reach 0.1 * rtol


def extra_step_cap(max_steps: int, max_extra_steps: int | None) -> int:
    """The most Newton steps the solver may add to its fixed schedule on its own: `max_extra_steps`,
    or ``4 * max_steps`` when it is None."""
    if max_extra_steps is None:
        return _EXTRA_PER_MAX_STEPS * int(max_steps)
    if int(max_extra_steps) < 0:
        raise ValueError(f"diffsc: argument `max_extra_steps` must be >= 0, got {max_extra_steps}.")
    return int(max_extra_steps)


_TAU0_PH_MODES = ("energy_conserving", "material")


def _int_or_none(x):
    return None if x is None else int(x)


class SolverOptions(eqx.Module):
    r"""The static options of one compiled kinetic solve, shared by [`kinetic_steady_state`][diffsc.kinetic_steady_state],
    [`kinetic_relaxation`][diffsc.kinetic_relaxation] and [`kinetic_decay_time`][diffsc.kinetic_decay_time] (every field static:
    the Module is hashable and is a static argument of their ``jit``; equal options reuse one
    compiled program).

    **Fields:**

    - `grid`: [`GridOptions`][diffsc.GridOptions] (`n_bins`, `bins_per_photon`).
    - `self_consistent_gap`: solve the gap with $f$ (True) or hold $\Delta=\Delta_{BCS}(T_b)$.
    - `tau0_ph`: ``"energy_conserving"`` or ``"material"`` (which $\tau_0^{ph}$ sets $K_p$).
    - `gap_edge_drive_weight`: weight $w\in[0,1]$ of the gap-edge bin's photon-absorption
      loss (default 1: number-conserving physics; 0.5: the published MATLAB code's convention,
      a literature-compatibility mode; docs/kinetic.md, §Comparison with published simulations).
    - `max_steps`: Newton steps per stage (>= 1); `rtol`: tolerance on the max relative rate
      residual; `continuation`: number of power-ramp stages (0 disables both fallbacks).
    - `max_extra_steps`: cap of the self-extended budget, or None for ``4 * max_steps``
      (`extra_steps` is the resolved number, `extra_step_cap`).
    - `throw`: raise on failure (True) or return with ``result``/``success`` set (default False,
      the package-wide default: read `success`).

    Pass one as ``solver_options=`` to any of the three entry points instead of their keyword
    options (the same result; passing both is an error), e.g.
    ``SolverOptions(grid=GridOptions(n_bins=200), rtol=1e-12)``; `from_kwargs` builds one
    from those keywords (same names and defaults).
    """

    grid: GridOptions = GridOptions()
    self_consistent_gap: bool = eqx.field(default=True, static=True, converter=bool)
    tau0_ph: str = eqx.field(default="energy_conserving", static=True)
    gap_edge_drive_weight: float = eqx.field(default=1.0, static=True, converter=float)
    max_steps: int = eqx.field(default=400, static=True, converter=int)
    rtol: float = eqx.field(default=1e-10, static=True, converter=float)
    continuation: int = eqx.field(default=4, static=True, converter=int)
    max_extra_steps: int | None = eqx.field(default=None, static=True, converter=_int_or_none)
    throw: bool = eqx.field(default=False, static=True, converter=bool)

    def __check_init__(self):
        if self.tau0_ph not in _TAU0_PH_MODES:
            raise ValueError(
                "diffsc: argument `tau0_ph` must be 'energy_conserving' or 'material', "
                f"got {self.tau0_ph!r}."
            )
        extra_step_cap(self.max_steps, self.max_extra_steps)  # raises if negative
        if not 0.0 <= self.gap_edge_drive_weight <= 1.0:
            raise ValueError(
                "diffsc: argument `gap_edge_drive_weight` must be in [0, 1] (1: number-conserving "
                f"drive; 0.5: the published code's convention), got {self.gap_edge_drive_weight!r}."
            )

    @property
    def extra_steps(self) -> int:
        """The cap of the self-extended budget as a number (`extra_step_cap`)."""
        return extra_step_cap(self.max_steps, self.max_extra_steps)

    @classmethod
    def from_kwargs(
        cls,
        *,
        n_bins: int = 500,
        bins_per_photon: int | None = None,
        self_consistent_gap: bool = True,
        tau0_ph: str = "energy_conserving",
        max_steps: int = 400,
        rtol: float = 1e-10,
        continuation: int = 4,
        max_extra_steps: int | None = None,
        throw: bool = False,
        gap_edge_drive_weight: float = 1.0,
    ) -> SolverOptions:
        """The options from the keyword arguments of the public entry points (same names and
        defaults)."""
        return cls(
            grid=GridOptions(n_bins=n_bins, bins_per_photon=bins_per_photon),
            self_consistent_gap=self_consistent_gap,
            tau0_ph=tau0_ph,
            gap_edge_drive_weight=gap_edge_drive_weight,
            max_steps=max_steps,
            rtol=rtol,
            continuation=continuation,
            max_extra_steps=max_extra_steps,
            throw=throw,
        )


# the keyword options of the entry points that a SolverOptions replaces
_OPTION_KEYWORDS = (
    "n_bins",
    "bins_per_photon",
    "self_consistent_gap",
    "tau0_ph",
    "gap_edge_drive_weight",
    "max_steps",
    "rtol",
    "continuation",
    "max_extra_steps",
    "throw",
)


def accepts_solver_options(entry):
    """Decorator of a kinetic entry point: its ``solver_options=`` (a [`SolverOptions`][diffsc.SolverOptions])
    replaces its keyword options, so naming both is a ``TypeError`` that names the keywords
    in conflict (an explicit keyword equal to its default included); a `solver_options` that is
    not a [`SolverOptions`][diffsc.SolverOptions] is a ``TypeError`` too. The signature stays the entry's."""

    @functools.wraps(entry)
    def checked(*args, **kwargs):
        options = kwargs.get("solver_options")
        if options is not None:
            if not isinstance(options, SolverOptions):
                raise TypeError(
                    f"diffsc.{entry.__name__}: argument `solver_options` must be a "
                    f"diffsc.SolverOptions, got {type(options).__name__}."
                )
            both = [f"`{k}`" for k in _OPTION_KEYWORDS if k in kwargs]
            if both:
                raise TypeError(
                    f"diffsc.{entry.__name__}: `solver_options` and the keyword option(s) "
                    f"{', '.join(both)} were both given; pass the options either as one "
                    "SolverOptions or as keywords, not both."
                )
        return entry(*args, **kwargs)

    return checked


def _acosh(x):
    return jnp.log(x + sqrt_diff_squares(x, 1.0))


def gap_equation(v, gap, grid: Grid, p: ReducedParams):
    r"""$F=\operatorname{arcsinh}(w_D/\Delta)-\operatorname{arcsinh}w_D-2\sum_if_i\int_{bin}
    \frac{dE}{\sqrt{E^2-\Delta^2}}-\text{(thermal tail)}$, reduced units ($\Delta_0=1$)."""
    E, d = grid.energies, grid.delta
    a = jnp.maximum(E - 0.5 * d, gap)
    b = jnp.maximum(E + 0.5 * d, gap)
    wbin = _acosh(b / gap) - _acosh(a / gap)
    f = jax.nn.sigmoid(v)
    top = E[-1] + 0.5 * d
    tail = 2.0 * p.kT * jnp.exp(-top / p.kT) / sqrt_diff_squares(top, gap)
    wD = p.debye
    return jnp.arcsinh(wD / gap) - jnp.arcsinh(wD) - 2.0 * jnp.sum(f * wbin) - tail


def full_residual(x, grid: Grid, p: ReducedParams, self_consistent: bool):
    v, gap = x[:-1], x[-1]
    R = residual(v, gap, grid, p)
    F = gap_equation(v, gap, grid, p) if self_consistent else p.gap_thermal - gap
    return jnp.concatenate([R, F[None]])


def full_residual_parts(x, grid: Grid, p: ReducedParams, self_consistent: bool, kernels=None):
    """Residual of `full_residual`, its row scales and the intermediates of the
    quasiparticle rows (`_collisions.residual_parts`; `kernels`: its gap-only tables when
    the gap is held, or None)."""
    v, gap = x[:-1], x[-1]
    R, s, parts = residual_parts(v, gap, grid, p, kernels)
    F = gap_equation(v, gap, grid, p) if self_consistent else p.gap_thermal - gap
    return jnp.concatenate([R, F[None]]), jnp.concatenate([s, jnp.ones(1)]), parts


def linearized_residual_parts(
    x, grid: Grid, p: ReducedParams, self_consistent: bool, gap_column: bool, kernels=None
):
    r"""`full_residual_parts`, and a function that returns $\partial R/\partial\Delta$
    (the quasiparticle rows) from the same primal pass (``jax.linearize``: calling it costs a
    tangent pass only), or None when ``gap_column`` is False (then `kernels`, the gap-only
    tables of the held gap, may be given)."""
    v, gap = x[:-1], x[-1]
    if not gap_column:
        return full_residual_parts(x, grid, p, self_consistent, kernels), None
    out, lin = jax.linearize(
        lambda g: full_residual_parts(jnp.concatenate([v, g[None]]), grid, p, self_consistent), gap
    )
    return out, lambda: lin(jnp.ones_like(gap))[0][:-1]


def full_jacobian_from_parts(
    x, parts, grid: Grid, p: ReducedParams, self_consistent: bool, gap_column=True,
    coupling_float32: bool = False,
):
    """Jacobian over (v, gap) from the intermediates of `full_residual_parts`.
    `gap_column`: True (dR/dgap by a forward pass through the residual), a function returning
    it (`linearized_residual_parts`), or False (left out: the Newton step does not need
    it when the gap is held). `coupling_float32`: see `_collisions.jacobian_from_parts`."""
    v, gap = x[:-1], x[-1]
    Jvv = jacobian_from_parts(parts, grid, p, coupling_float32)
    if callable(gap_column):
        Jvg = gap_column()
    elif gap_column:
        _, Jvg = jax.jvp(lambda g: residual(v, g, grid, p), (gap,), (jnp.ones(()),))
    else:
        Jvg = jnp.zeros_like(v)
    if self_consistent:
        Jgv, Jgg = jax.grad(gap_equation, argnums=(0, 1))(v, gap, grid, p)
    else:
        Jgv, Jgg = jnp.zeros_like(v), -jnp.ones(())
    top = jnp.concatenate([Jvv, Jvg[:, None]], axis=1)
    bot = jnp.concatenate([Jgv, Jgg[None]])[None, :]
    return jnp.concatenate([top, bot], axis=0)


def full_jacobian(x, grid: Grid, p: ReducedParams, self_consistent: bool, gap_column: bool = True):
    """Residual, Jacobian over (v, gap) and row scales."""
    R, s, parts = full_residual_parts(x, grid, p, self_consistent)
    return R, full_jacobian_from_parts(x, parts, grid, p, self_consistent, gap_column), s


def _max_norm(Rs):
    e = jnp.max(jnp.abs(Rs))
    return jnp.where(jnp.isfinite(e), e, jnp.inf)


def _stage_params(p: ReducedParams, frac) -> ReducedParams:
    return p.scaled_drive(frac)


def project_gap(v, gap, grid: Grid, p: ReducedParams, iters: int = 4):
    r"""The gap that solves the gap equation for the given $f$ (scalar Newton from `gap`, kept
    in $[0.2, 1]\Delta_0$: $\Delta\le\Delta_0$ for any $0\le f\le1$)."""
    F = lambda g: gap_equation(v, g, grid, p)  # noqa: E731

    def step(g, _):
        val, dval = jax.value_and_grad(F)(g)
        gn = jnp.clip(g - val / dval, 0.2, 1.0)
        return jnp.where(jnp.isfinite(gn), gn, g), None

    return jax.lax.scan(step, gap, None, length=iters)[0]


def _lu_factor(A):
    """LU factors of A with partial pivoting, and the row permutation (not the pivots, whose
    conversion is a loop of N steps in every solve)."""
    lu, _, perm = jax.lax.linalg.lu(A)
    return lu, perm


def _lu_solve(factors, b):
    """Solve A x = b from `_lu_factor` (A)."""
    lu, perm = factors
    y = jax.lax.linalg.triangular_solve(lu, b[perm][:, None], left_side=True, lower=True,
                                        unit_diagonal=True)
    return jax.lax.linalg.triangular_solve(lu, y, left_side=True, lower=False)[:, 0]


def _time_step_control(h, big, scaled, good):
    """Physical-time step: shrink on a rejected or capped step, grow when the step is small."""
    grow = jnp.where(
        big < 0.5 * _PHYS_CAP, jnp.sqrt(jnp.minimum(10.0, _PHYS_CAP / jnp.maximum(big, 1e-3))), 1.0
    )
    h = jnp.where(~good, h / 4.0, jnp.where(scaled, h / 2.0, h * grow))
    return jnp.clip(h, 1e-12, 1e30)


def solve(x0, grid: Grid, p: ReducedParams, options: SolverOptions, x_ramp=None, kernels=None):
    r"""Newton with two globalisations and continuation in power, as ONE ``while_loop``.

    `options` ([`SolverOptions`][diffsc.SolverOptions]) gives ``self_consistent_gap``, `max_steps`, `rtol`,
    ``continuation`` and `max_extra_steps` (the cap of the self-extended budget below).

    **Stage 0** (fast path) is pseudo-transient Newton in a *local* pseudo-time measured in each
    bin's own relaxation time (rows scaled by the gross rates), $(I/h-J_s)\,\delta x=R_s$, with
    a step cap, acceptance if the error does not grow more than 4x, and the step grown by
    switched evolution relaxation (floored at $c/\mathrm{err}$); it becomes Newton's method as
    $h\to\infty$ and converges in 3-15 steps above ~0.2 K.

    If it has not converged after min(60, `max_steps`) steps (and ``continuation`` > 0), the
    later stages follow the *physical* time evolution by linearised backward Euler,
    $(I/\Delta t-J)\,\delta v=R$ with the gap row algebraic (re-solved after each step by
    `project_gap`), from the undriven state `x_ramp` (default `x0`): stage 1 at the
    requested power, then, if needed, stages at powers $10^{-c},\dots,1$ times the request, each
    from where the previous one ended. A true time evolution cannot run away the way a local
    pseudo-time can at low $T_b$, where $f$ spans hundreds of e-folds over the grid; the step
    cap ignores bins whose $f$ stays $e^{-25}$ below the largest (the far tail must climb by
    hundreds of e-folds and carries nothing), and $\Delta t$ grows to $10^{30}\tau_0$ so the
    last steps are Newton's. One loop body (not nested loops) keeps the compiled program small,
    and under ``vmap`` only the batch members that need a fallback pay for it.

    **A budget that extends itself**, by at most `max_extra_steps` steps beyond the fixed
    schedule ($\min(60,n)+(c+2)\,n$ steps, $n$ = `max_steps`, $c$ = ``continuation`` > 0; $n$
    when $c$ = 0), and only where that schedule would end unconverged (the iterates of every
    solve that converges within it are unchanged):

    * the last stage (the last ramp stage, or the fast path when ``continuation`` is 0) that runs
      out of steps goes on, by blocks of $\max(1,\lfloor n/4\rfloor)$ steps, as long as its
      lowest residual has at least halved over the last block;
    * then, when ``continuation`` > 0, two **rescue** stages at full power start from the best
      full-power iterate of the whole solve (not from the undriven state): first the physical
      time, then, if that stalls too, the fast path (local pseudo-time); each for one block and
      then by blocks while its lowest residual halves. At 50-110 mK the fast path can stop at
      its 60-step limit close to the root (1e-2 to 1e-7) while every later stage, each from the
      undriven state or the previous ramp stage, wanders into a non-physical $f$ and stalls at
      a relative residual of 1. From the fast path's best iterate the physical-time steps
      usually converge in 20-90 steps; where they stall again, the fast path resumed from
      there (with its pseudo-time step floor $10/\mathrm{err}$ from the start) sometimes does.

    A solve whose residual stalls (a block without halving) stops and is flagged: a stalled last
    stage gets no extra block, and each rescue one (its first).

    Each iteration evaluates the residual at the candidate: it decides acceptance, and only if
    the candidate is accepted and not yet converged is the Jacobian formed there (from the
    residual's intermediates, in a ``lax.cond``) for the next step. After a change of stage one
    iteration only re-evaluates at the current point (not counted as a step). Under ``vmap`` the
    ``cond`` becomes a select and every member forms the Jacobian.

    **Chord step.** Newton's last step rarely needs a new Jacobian: after a full (uncapped)
    fast-path step that took the error from err to en, a step with the same factorised matrix is
    predicted to reach about en^2/err (quadratic convergence with a Jacobian one step old, and
    the linear rate en/err of the pseudo-time term alike). Where that is below 0.1 `rtol`,
    the candidate's Jacobian is not formed and the next step reuses the LU factors (the residual
    scaled by the rows of that system); then a fresh Jacobian again. If that step is rejected,
    one iteration evaluates the Jacobian at the current point (not counted as a step). At 1000
    bins and 320 mK this saves one of four Jacobians and LU factorisations, with the same number
    of steps. With the gap held, the gap-only tables of the phonon rates
    (`_collisions.gap_kernels`) are formed once per solve, shared with the start.

    **Precision.** The two products of the Newton Jacobian's phonon coupling (6 N^3 flops, most
    of a Jacobian) run in float32 on rows scaled by the gross rates: an error ~1e-7 of each
    row's gross rate, which only changes the path (same step counts on the low-temperature and
    320 mK test problems); the residual, the convergence test and the implicit derivatives
    (the float64 Jacobian at the root) are float64.

    Returns (x, error, total steps, converged, rates at x): the last are the by-products of
    the final residual evaluation (`_collisions.rates_from_parts`), which the solution
    reports without evaluating them again."""
    self_consistent = options.self_consistent_gap
    max_steps, rtol = options.max_steps, options.rtol
    continuation, max_extra_steps = options.continuation, options.extra_steps
    ones = jnp.ones(2 if continuation > 0 else 1)
    ramp = jnp.logspace(-continuation, 0.0, continuation + 1) if continuation > 0 else ones[:0]
    last_stage = ones.shape[0] + ramp.shape[0] - 1
    has_rescue = continuation > 0 and max_extra_steps > 0
    local_rescue = last_stage + 2  # the fast path again (the stage before: physical time)
    fracs = jnp.concatenate([ones, ramp, jnp.ones(2)])  # the rescues are at full power
    block = max(1, max_steps // _BLOCKS_PER_MAX_STEPS)
    x_restart = x0 if x_ramp is None else x_ramp
    n = x0.shape[0]
    is_v = jnp.arange(n) < n - 1
    fast_budget = max(1, min(max_steps, _FAST_STEPS))
    # with the gap held, the gap-only tables are the same at every step: formed once
    if not self_consistent and kernels is None:
        kernels = gap_kernels(x0[-1], grid, p)

    def cond(st):
        return ~st["done"]

    def evaluate(y, stage, wants_jacobian=lambda err: True):
        # the residual first; the Jacobian (about half the work) only where it will be used
        pc = _stage_params(p, fracs[stage])
        (R, s, parts), gap_column = linearized_residual_parts(
            y, grid, pc, self_consistent, self_consistent, kernels
        )
        Rs = R / s
        err = _max_norm(Rs)
        Js = jax.lax.cond(
            wants_jacobian(err),
            lambda: (
                full_jacobian_from_parts(y, parts, grid, pc, self_consistent,
                                         gap_column=gap_column, coupling_float32=True)
                / s[:, None]
            ),
            lambda: jnp.zeros((n, n)),
        )
        return Rs, Js, s, err, rates_from_parts(parts)

    def body(st):
        # One evaluation (residual AND Jacobian) per iteration: the candidate's Jacobian is the
        # next step's if the candidate is accepted. After a change of stage (new power, or a
        # restart) the cached Jacobian is stale: that iteration only evaluates at x ("refresh")
        # and takes no step, so the iterates are those of a loop that evaluates J at the start
        # of each step and the residual at each candidate, at one evaluation per step fewer.
        x, h, stage, refresh = st["x"], st["h"], st["stage"], st["refresh"]
        chord, redo = st["chord"], st["redo"]
        phys = (stage > 0) & (stage != local_rescue)
        pc = _stage_params(p, fracs[stage])
        Rs, Js, s, err = st["Rs"], st["Js"], st["s"], st["err"]
        # local pseudo-time: 1/h on every row; physical time: 1/(h s_i) on the f rows, 0 on gap
        mass = jnp.where(phys, jnp.where(is_v, 1.0 / (h * s), 0.0), 1.0 / h)
        # a chord step reuses the last factorisation (its Jacobian, pseudo-time step and row
        # scales: the residual is scaled by the rows of that system); every other step factors
        lu = jax.lax.cond(chord, lambda: st["lu"], lambda: _lu_factor(jnp.diag(mass) - Js))
        s_lu = jnp.where(chord, st["s_lu"], s)
        dx = _lu_solve(lu, Rs * (s / s_lu))
        dx = jnp.where(jnp.isfinite(dx), dx, 0.0)
        v, dv = x[:-1], dx[:-1]
        # local: cap every component; physical: ignore bins that stay deep in the tail
        deep = phys & ((v + dv) < jnp.max(v) - _TAIL_DEPTH)
        big = jnp.max(jnp.where(deep, 0.0, jnp.abs(dv)))
        cap = jnp.where(
            phys,
            _PHYS_CAP / (big + 1e-300),
            jnp.minimum(_MAX_DV / (big + 1e-300), _MAX_DGAP / (jnp.abs(dx[-1]) + 1e-300)),
        )
        scale = jnp.minimum(1.0, cap)
        xn = x + scale * dx
        if self_consistent:
            xn = jnp.where(phys, xn.at[-1].set(project_gap(xn[:-1], xn[-1], grid, pc)), xn)
        again = refresh | redo  # evaluate at x, no step
        y = jnp.where(again, x, xn)

        def accepted(en):
            return jnp.where(phys, jnp.isfinite(en), en < 4.0 * err) | again

        def chord_next(en):
            # the last step: after a full (uncapped) local pseudo-time step that contracted
            # err -> en, a step with the same matrix is predicted to reach about en^2/err (Newton
            # with a Jacobian one step old, and the linear rate en/err of the pseudo-time term
            # alike); where that is below 0.1 rtol the candidate's Jacobian is not formed and the
            # next step reuses the factorisation (one such step, then a fresh Jacobian)
            return ((~phys) & (~again) & (~chord) & (scale >= 1.0)
                    & (en * en <= _CHORD_MARGIN * rtol * err))

        # a rejected candidate's Jacobian is discarded, and a converged one's is never used (the
        # loop stops, or the next stage re-evaluates): only the residual is formed for those
        Rn, Jn, sn, en, rn = evaluate(
            y, stage, lambda en: again | (accepted(en) & (en > rtol) & ~chord_next(en))
        )
        good = accepted(en)
        skip = good & chord_next(en) & (en > rtol)
        x = jnp.where(good, y, x)
        e = jnp.where(good, en, err)
        # Switched evolution relaxation, with the pseudo-time step floored at c/err: the slow
        # mode (total quasiparticle number, relaxing on the recombination time, 1e3-1e4 times
        # the local scattering times that scale the rows) otherwise creeps for hundreds of steps.
        h_ser = h * jnp.clip(err / en, 0.5, 10.0)
        h_loc = jnp.where(good, jnp.clip(jnp.maximum(h_ser, _H_FLOOR / en), 1e-3, 1e14), h / 4.0)
        h = jnp.where(
            again, h, jnp.where(phys, _time_step_control(h, big, scale < 1.0, good), h_loc)
        )
        k = st["k"] + jnp.where(again, 0, 1)
        conv = (e <= rtol) & ~again
        last = stage >= last_stage  # the last ramp stage, or a rescue
        final = last | ((stage <= 1) & conv)  # the full power is reached
        budget = st["budget"]
        exhausted = (k >= budget) & ~conv & ~refresh
        # the self-extended budget: the lowest residual of the stage so far, and what it was one
        # block before the end of the budget (or at the start of the stage)
        best = jnp.where(refresh, e, jnp.minimum(st["best"], e))
        mark = jnp.where(refresh | (k == budget - block), best, st["mark"])
        grant = jnp.minimum(block, st["extra_left"])
        extend = exhausted & last & (best <= _PROGRESS * mark) & (grant > 0)
        rescue = exhausted & ~extend & (grant > 0) & (stage < local_rescue) & last & has_rescue
        exhausted = exhausted & ~extend & ~rescue
        better = ((stage <= 1) | last) & (e < st["err_best"])  # best full-power iterate
        # stage 0 -> 1 and 1 -> 2 restart from the undriven state; ramp stages go on from x;
        # the rescues start from the best full-power iterate
        move = ((exhausted | conv) & ~final) | rescue
        restart = move & (stage <= 1)
        keep = lambda new, old: jnp.where(good, new, old)  # noqa: E731
        return dict(
            x=jnp.where(rescue, st["x_best"], jnp.where(restart, x_restart, x)),
            Rs=keep(Rn, Rs),
            Js=jnp.where(good & ~skip, Jn, Js),
            lu=lu,
            s_lu=s_lu,
            chord=skip & ~move,
            # a rejected chord step: the Jacobian at x was never formed; evaluate it there
            redo=chord & ~good & ~move,
            s=keep(sn, s),
            err=e,
            rates=jax.tree_util.tree_map(keep, rn, st["rates"]),
            refresh=move,
            h=jnp.where(
                move,
                jnp.where(
                    stage + 1 == local_rescue,
                    jnp.clip(_H_FLOOR / st["err_best"], 1.0, 1e14),
                    _PHYS_H0,
                ),
                h,
            ),
            stage=jnp.where(move, stage + 1, stage),
            k=jnp.where(move, 0, k),
            k_total=st["k_total"] + jnp.where(again, 0, 1),
            ok=conv & final,
            done=(conv & final) | (exhausted & final),
            budget=jnp.where(
                rescue, grant, jnp.where(move, max_steps, budget + jnp.where(extend, grant, 0))
            ),
            extra_left=st["extra_left"] - jnp.where(extend | rescue, grant, 0),
            best=best,
            mark=jnp.where(extend, best, mark),
            x_best=jnp.where(better, x, st["x_best"]),
            err_best=jnp.where(better, e, st["err_best"]),
        )

    Rs0, Js0, s0, err0, rates0 = evaluate(x0, 0)
    st = dict(
        x=x0,
        Rs=Rs0,
        Js=Js0,
        lu=(jnp.zeros((n, n)), jnp.arange(n, dtype=jnp.int32)),
        s_lu=s0,
        chord=jnp.asarray(False),
        redo=jnp.asarray(False),
        s=s0,
        err=err0,
        rates=rates0,
        refresh=jnp.asarray(False),
        h=jnp.asarray(1.0),
        stage=jnp.asarray(0),
        k=jnp.asarray(0),
        k_total=jnp.asarray(0),
        ok=err0 <= rtol,
        done=err0 <= rtol,
        budget=jnp.asarray(fast_budget if last_stage > 0 else max_steps),
        extra_left=jnp.asarray(int(max_extra_steps)),
        best=err0,
        mark=err0,
        x_best=x0,
        err_best=err0,
    )
    st = jax.lax.while_loop(cond, body, st)
    return st["x"], st["err"], st["k_total"], st["ok"], st["rates"]


def quasi_thermal_start(x0, grid: Grid, p: ReducedParams, kernels=None):
    r"""Initial guess: Fermi function at the temperature $T^*\ge T_b$ whose quasiparticle-to-phonon
    power (phonons eliminated, escaping to the bath at $T_b$) equals the requested absorbed power
    (bisection in $\ln T^*$). It puts $n_{qp}$ on the right scale, so the drive strength $B$ is
    moderate from the first step. `kernels`: `_collisions.gap_kernels` at the gap of `x0`, or None."""
    E = grid.energies
    target = p.power + (p.pair_breaking_power if p.has_pair_breaking else 0.0)
    escape = thermal_escape_power(x0[-1], grid, p, kernels)

    def power(lt):
        # energy balance of the eliminated phonons: qp -> phonon power = escape power
        return escape(p.kT * jnp.exp(lt))

    def body(_, br):
        lo, hi = br
        mid = 0.5 * (lo + hi)
        up = power(mid) < target
        return jnp.where(up, mid, lo), jnp.where(up, hi, mid)

    lo, hi = jax.lax.fori_loop(
        0,
        _START_BISECTIONS,
        body,
        (jnp.asarray(0.0), jnp.log(0.95 / (jnp.cbrt(p.K_s) * p.kT))),
    )
    lt = jnp.where(target > 0, lo, 0.0)
    return jnp.concatenate([-E / (p.kT * jnp.exp(lt)), x0[-1:]])


# ----------------------------------------------------------------------------- implicit adjoint
def make_root(options: SolverOptions):
    r"""The steady state as a function ``root(x0, grid, p) -> (x, rates, (err, steps, ok))``
    with implicit derivatives: $\dot x=-J^{-1}\partial_\theta R\,\dot\theta$, and the rates
    (`_collisions.rates`) differentiated along $(\dot x,\dot\theta)$. Without
    differentiation the rates are the solver's own by-products (no extra evaluation).
    `options`: [`SolverOptions`][diffsc.SolverOptions] (its `max_extra_steps` caps the self-extended budget of
    `solve`)."""
    self_consistent = options.self_consistent_gap

    @jax.custom_jvp
    def root(x0, grid, p):
        # with the gap held the gap-only tables are shared by the start and every step
        kernels = None if self_consistent else gap_kernels(x0[-1], grid, p)
        x, err, k, ok, r = solve(quasi_thermal_start(x0, grid, p, kernels), grid, p, options,
                                 x_ramp=x0, kernels=kernels)
        return x, r, (err, k.astype(float), ok.astype(float))

    @root.defjvp
    def _root_jvp(primals, tangents):
        x0, grid, p = primals
        _, dgrid, dp = tangents
        x, _, aux = root(x0, grid, p)
        _, J, _ = full_jacobian(x, grid, p, self_consistent)
        _, dR = jax.jvp(
            lambda g, q: full_residual(x, g, q, self_consistent), (grid, p), (dgrid, dp)
        )
        dx = -jnp.linalg.solve(J, dR)
        r, dr = jax.jvp(lambda y, g, q: rates(y[:-1], y[-1], g, q), (x, grid, p), (dx, dgrid, dp))
        zeros = jax.tree_util.tree_map(jnp.zeros_like, aux)
        return (x, r, aux), (dx, dr, zeros)

    return root
