r"""Newton solver for the kinetic steady state, continuation in power, implicit derivatives.

Unknowns $x=(v_1..v_N,\Delta)$ with $v=\mathrm{logit}\,f$; equations: the relative rates
$\dot f_i/f_i=0$ (phonons and drive strength eliminated exactly, see ``_collisions``) and the gap
equation (or $\Delta=\Delta_{th}$ when the gap is held thermal). Pseudo-transient Newton with
the exact dense Jacobian, rows scaled by the gross rates of each bin (so the test
$\max_i|\dot f_i|/\mathrm{gross}_i$ is relative and meaningful at $f\sim10^{-9}$), a step cap and
an acceptance test; if the direct solve fails, the absorbed power is ramped geometrically from a
small fraction (continuation), all in one ``while_loop`` (:func:`solve`). The root is
differentiated with the implicit function theorem: $\dot x=-J^{-1}\,\partial_\theta R\,\dot\theta$.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from ._collisions import (
    log_phonons,
    phonon_escape_power,
    residual,
    residual_and_scale,
    residual_jacobian,
)
from ._grid import Grid, sqrt_diff_squares

_MAX_DV = 4.0
_MAX_DGAP = 0.02
_LS_TRIES = 14
_START_BISECTIONS = 14  # ln T* to ~1e-4 of its bracket: plenty for a start
_H_FLOOR = 10.0  # pseudo-time floor h >= _H_FLOOR / err (tuned: 60-320 mK, 1-1e4 W/m^3)


def _acosh(x):
    return jnp.log(x + sqrt_diff_squares(x, 1.0))


def gap_equation(v, gap, grid: Grid, p):
    r"""$F=\operatorname{arcsinh}(w_D/\Delta)-\operatorname{arcsinh}w_D-2\sum_if_i\int_{bin}
    \frac{dE}{\sqrt{E^2-\Delta^2}}-\text{(thermal tail)}$, reduced units ($\Delta_0=1$)."""
    E, d = grid.energies, grid.delta
    a = jnp.maximum(E - 0.5 * d, gap)
    b = jnp.maximum(E + 0.5 * d, gap)
    wbin = _acosh(b / gap) - _acosh(a / gap)
    f = jax.nn.sigmoid(v)
    top = E[-1] + 0.5 * d
    tail = 2.0 * p["kT"] * jnp.exp(-top / p["kT"]) / sqrt_diff_squares(top, gap)
    wD = p["wD"]
    return jnp.arcsinh(wD / gap) - jnp.arcsinh(wD) - 2.0 * jnp.sum(f * wbin) - tail


def full_residual(x, grid: Grid, p, self_consistent: bool):
    v, gap = x[:-1], x[-1]
    R = residual(v, gap, grid, p)
    F = gap_equation(v, gap, grid, p) if self_consistent else p["gap_th"] - gap
    return jnp.concatenate([R, F[None]])


def full_jacobian(x, grid: Grid, p, self_consistent: bool, gap_column: bool = True):
    """Residual, Jacobian over (v, gap) and row scales. ``gap_column=False`` leaves out dR/dgap
    (a forward pass through the residual), which the Newton step does not need when the gap is
    held."""
    v, gap = x[:-1], x[-1]
    R, Jvv, s = residual_jacobian(v, gap, grid, p)
    if gap_column:
        _, Jvg = jax.jvp(lambda g: residual(v, g, grid, p), (gap,), (jnp.ones(()),))
    else:
        Jvg = jnp.zeros_like(R)
    if self_consistent:
        F, (Jgv, Jgg) = jax.value_and_grad(gap_equation, argnums=(0, 1))(v, gap, grid, p)
    else:
        F, Jgv, Jgg = p["gap_th"] - gap, jnp.zeros_like(v), -jnp.ones(())
    top = jnp.concatenate([Jvv, Jvg[:, None]], axis=1)
    bot = jnp.concatenate([Jgv, Jgg[None]])[None, :]
    return (jnp.concatenate([R, F[None]]), jnp.concatenate([top, bot], axis=0),
            jnp.concatenate([s, jnp.ones(1)]))


def _max_norm(Rs):
    e = jnp.max(jnp.abs(Rs))
    return jnp.where(jnp.isfinite(e), e, jnp.inf)


def scaled_error(x, grid: Grid, p, self_consistent: bool):
    r"""$\max_i|R_i|/\mathrm{gross}_i$ (the gap row unscaled); ``inf`` if not finite."""
    v, gap = x[:-1], x[-1]
    R, s = residual_and_scale(v, gap, grid, p)
    F = gap_equation(v, gap, grid, p) if self_consistent else p["gap_th"] - gap
    return _max_norm(jnp.concatenate([R / s, F[None]]))


def _stage_params(p, frac):
    return dict(p, P=p["P"] * frac, J_ph=p["J_ph"] * frac)


def solve(x0, grid: Grid, p, self_consistent: bool, max_steps: int, rtol, continuation: int,
          x_ramp=None):
    r"""Pseudo-transient Newton with built-in continuation in power, as ONE ``while_loop``.

    Each step is a backward-Euler step in a local pseudo-time measured in each bin's own
    relaxation time (rows scaled by the gross rates), $(I/h-J_s)\,\delta x=R_s$, with a step cap,
    acceptance if the error does not grow more than 4x, and the pseudo-time step grown by
    switched evolution relaxation (floored at $c/\mathrm{err}$); it becomes Newton's method as
    $h\to\infty$. Stage 0 is the direct solve at the requested power. If it has not converged
    after `max_steps`, the solve restarts from the start point with the powers scaled by
    $10^{-c},\dots,1$ (``continuation`` = c decade stages of `max_steps` each), the first from
    `x_ramp` (default `x0`; the caller passes the undriven state), each later stage from the
    previous root. One loop body (not nested loops) keeps the compiled program
    small, and under ``vmap`` only the batch members that need the ramp pay for it.

    Returns (x, error, total steps, converged)."""
    fracs = jnp.concatenate([jnp.ones(1), jnp.logspace(-continuation, 0.0, continuation + 1)]) \
        if continuation > 0 else jnp.ones(1)
    last_stage = fracs.shape[0] - 1

    def cond(st):
        return ~st["done"]

    def body(st):
        x, h, stage = st["x"], st["h"], st["stage"]
        pc = _stage_params(p, fracs[stage])
        R, J, s = full_jacobian(x, grid, pc, self_consistent, gap_column=self_consistent)
        Rs, Js = R / s, J / s[:, None]
        err = _max_norm(Rs)
        n = Rs.shape[0]
        dx = jnp.linalg.solve(jnp.eye(n) / h - Js, Rs)
        dx = jnp.where(jnp.isfinite(dx), dx, 0.0)
        cap = jnp.minimum(
            _MAX_DV / (jnp.max(jnp.abs(dx[:-1])) + 1e-300), _MAX_DGAP / (jnp.abs(dx[-1]) + 1e-300)
        )
        xn = x + jnp.minimum(1.0, cap) * dx
        en = scaled_error(xn, grid, pc, self_consistent)
        good = en < 4.0 * err
        x = jnp.where(good, xn, x)
        e = jnp.where(good, en, err)
        # Switched evolution relaxation, with the pseudo-time step floored at c/err: the slow
        # mode (total quasiparticle number, relaxing on the recombination time, 1e3-1e4 times
        # the local scattering times that scale the rows) otherwise creeps for hundreds of steps.
        h_ser = h * jnp.clip(err / en, 0.5, 10.0)
        h = jnp.where(good, jnp.clip(jnp.maximum(h_ser, _H_FLOOR / en), 1e-3, 1e14), h / 4.0)
        k = st["k"] + 1
        conv = e <= rtol
        final = (stage == 0) | (stage == last_stage)  # direct solve, or the last ramp stage
        exhausted = (k >= max_steps) & ~conv
        restart = exhausted & (stage == 0) & (last_stage > 0)
        advance = conv & ~final
        new = restart | advance
        return dict(
            x=jnp.where(restart, x0 if x_ramp is None else x_ramp, x),
            h=jnp.where(new, 1.0, h),
            stage=jnp.where(restart, 1, jnp.where(advance, stage + 1, stage)),
            k=jnp.where(new, 0, k),
            k_total=st["k_total"] + 1,
            err=e,
            ok=conv & final,
            done=(conv & final) | (exhausted & ~restart),
        )

    err0 = scaled_error(x0, grid, p, self_consistent)
    st = dict(x=x0, h=jnp.asarray(1.0), stage=jnp.asarray(0), k=jnp.asarray(0),
              k_total=jnp.asarray(0), err=err0, ok=err0 <= rtol, done=err0 <= rtol)
    st = jax.lax.while_loop(cond, body, st)
    return st["x"], st["err"], st["k_total"], st["ok"]


def quasi_thermal_start(x0, grid: Grid, p):
    r"""Initial guess: Fermi function at the temperature $T^*\ge T_b$ whose quasiparticle-to-phonon
    power (phonons eliminated, escaping to the bath at $T_b$) equals the requested absorbed power
    (bisection in $\ln T^*$). It puts $n_{qp}$ on the right scale, so the drive strength $B$ is
    moderate from the first step."""
    E = grid.energies
    gap = x0[-1]
    target = p["P"]

    def power(lt):
        # energy balance of the eliminated phonons: qp -> phonon power = escape power
        w, _ = log_phonons(-E / (p["kT"] * jnp.exp(lt)), gap, grid, p)
        return jnp.sum(phonon_escape_power(w, grid, p)[0]) * grid.delta

    def body(_, br):
        lo, hi = br
        mid = 0.5 * (lo + hi)
        up = power(mid) < target
        return jnp.where(up, mid, lo), jnp.where(up, hi, mid)

    lo, hi = jax.lax.fori_loop(0, _START_BISECTIONS, body, (jnp.asarray(0.0), jnp.log(0.95 / (jnp.cbrt(p["Ks"]) * p["kT"]))))
    lt = jnp.where(target > 0, lo, 0.0)
    return jnp.concatenate([-E / (p["kT"] * jnp.exp(lt)), x0[-1:]])


# ----------------------------------------------------------------------------- implicit adjoint
def make_root(self_consistent: bool, max_steps: int, rtol: float, continuation: int):
    @jax.custom_jvp
    def root(x0, grid, p):
        x, err, k, ok = solve(
            quasi_thermal_start(x0, grid, p), grid, p, self_consistent, max_steps, rtol,
            continuation, x_ramp=x0,
        )
        return x, (err, k.astype(float), ok.astype(float))

    @root.defjvp
    def _root_jvp(primals, tangents):
        x0, grid, p = primals
        _, dgrid, dp = tangents
        x, aux = root(x0, grid, p)
        _, J, _ = full_jacobian(x, grid, p, self_consistent)
        _, dR = jax.jvp(lambda g, q: full_residual(x, g, q, self_consistent), (grid, p), (dgrid, dp))
        dx = -jnp.linalg.solve(J, dR)
        zeros = jax.tree_util.tree_map(jnp.zeros_like, aux)
        return (x, aux), (dx, zeros)

    return root
