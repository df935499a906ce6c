r"""Newton solver for the kinetic steady state, continuation in power, implicit derivatives.

Unknowns $x=(v_1..v_N,\Delta)$ with $v=\mathrm{logit}\,f$; equations: the relative rates
$\dot f_i/f_i=0$ (phonons and drive strength eliminated exactly, see ``_collisions``) and the gap
equation (or $\Delta=\Delta_{th}$ when the gap is held thermal). Damped Newton with the exact dense
Jacobian, rows scaled by the gross rates of each bin (so the test $\max_i|\dot f_i|/\mathrm{gross}_i$
is relative and meaningful at $f\sim10^{-9}$), a step cap and Armijo backtracking. If the direct solve
fails, the absorbed power is ramped geometrically from a small fraction (continuation). The root is
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
from ._grid import Grid, _safe_sqrt

_MAX_DV = 4.0
_MAX_DGAP = 0.02
_LS_TRIES = 14
_START_BISECTIONS = 14  # ln T* to ~1e-4 of its bracket: plenty for a start
_H_FLOOR = 10.0  # pseudo-time floor h >= _H_FLOOR / err (tuned: 60-320 mK, 1-1e4 W/m^3)


def _acosh(x):
    return jnp.log(x + _safe_sqrt(x * x - 1.0))


def gap_equation(v, gap, grid: Grid, p):
    r"""$F=\operatorname{arcsinh}(w_D/\Delta)-\operatorname{arcsinh}w_D-2\sum_if_i\int_{bin}
    \frac{dE}{\sqrt{E^2-\Delta^2}}-\text{(thermal tail)}$, reduced units ($\Delta_0=1$)."""
    E, d = grid.energies, grid.delta
    a = jnp.maximum(E - 0.5 * d, gap)
    b = jnp.maximum(E + 0.5 * d, gap)
    wbin = _acosh(b / gap) - _acosh(a / gap)
    f = jax.nn.sigmoid(v)
    top = E[-1] + 0.5 * d
    tail = 2.0 * p["kT"] * jnp.exp(-top / p["kT"]) / _safe_sqrt(top**2 - gap**2)
    wD = p["wD"]
    return jnp.arcsinh(wD / gap) - jnp.arcsinh(wD) - 2.0 * jnp.sum(f * wbin) - tail


def full_residual(x, grid: Grid, p, self_consistent: bool):
    v, gap = x[:-1], x[-1]
    R = residual(v, gap, grid, p)
    F = gap_equation(v, gap, grid, p) if self_consistent else p["gap_th"] - gap
    return jnp.concatenate([R, F[None]])


def full_jacobian(x, grid: Grid, p, self_consistent: bool, gap_column: bool = True):
    """Residual and Jacobian over (v, gap). ``gap_column=False`` leaves out dR/dgap (a forward
    pass through the residual), which the Newton step does not need when the gap is held."""
    v, gap = x[:-1], x[-1]
    R, Jvv = residual_jacobian(v, gap, grid, p)
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
    return jnp.concatenate([R, F[None]]), jnp.concatenate([top, bot], axis=0)


def scaled_residual(x, grid: Grid, p, self_consistent: bool):
    """Residual and row scales (gross rate of each bin; 1 for the gap row)."""
    v, gap = x[:-1], x[-1]
    R, s = residual_and_scale(v, gap, grid, p)
    F = gap_equation(v, gap, grid, p) if self_consistent else p["gap_th"] - gap
    return jnp.concatenate([R, F[None]]), jnp.concatenate([s, jnp.ones(1)])


def newton(x0, grid: Grid, p, self_consistent: bool, max_steps: int, rtol):
    """Pseudo-transient continuation (backward-Euler steps in a local pseudo-time measured in
    each bin's own relaxation time, time step grown by switched evolution relaxation) that
    becomes Newton's method as the step grows. Returns (x, residual norm, steps, converged)."""

    def err_of(x):
        r, s = scaled_residual(x, grid, p, self_consistent)
        e = jnp.max(jnp.abs(r / s))
        return jnp.where(jnp.isfinite(e), e, jnp.inf), s

    def cond(state):
        x, k, err, _, _ = state
        return (k < max_steps) & (err > rtol)

    def body(state):
        x, k, err, h, s = state
        R, J = full_jacobian(x, grid, p, self_consistent, gap_column=self_consistent)
        Rs, Js = R / s, J / s[:, None]
        n = Rs.shape[0]
        dx = jnp.linalg.solve(jnp.eye(n) / h - Js, Rs)
        dx = jnp.where(jnp.isfinite(dx), dx, 0.0)
        cap = jnp.minimum(
            _MAX_DV / (jnp.max(jnp.abs(dx[:-1])) + 1e-300), _MAX_DGAP / (jnp.abs(dx[-1]) + 1e-300)
        )
        xn = x + jnp.minimum(1.0, cap) * dx
        en, sn = err_of(xn)
        good = en < 4.0 * err
        x = jnp.where(good, xn, x)
        s = jnp.where(good, sn, s)
        # Switched evolution relaxation, with the pseudo-time step floored at c/err: the slow
        # mode (total quasiparticle number, relaxing on the recombination time, 1e3-1e4 times
        # the local scattering times that scale the rows) otherwise creeps for hundreds of steps.
        h_ser = h * jnp.clip(err / en, 0.5, 10.0)
        h = jnp.where(good, jnp.clip(jnp.maximum(h_ser, _H_FLOOR / en), 1e-3, 1e14), h / 4.0)
        return x, k + 1, jnp.where(good, en, err), h, s

    err0, s0 = err_of(x0)
    x, k, err, _, _ = jax.lax.while_loop(
        cond, body, (x0, jnp.asarray(0), err0, jnp.asarray(1.0), s0))
    return x, err, k, err <= rtol


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


def solve_with_continuation(x0, grid, p, self_consistent, max_steps, rtol, continuation: int):
    """Direct Newton; if it fails and ``continuation > 0``, ramp the absorbed power (and the
    injected phonon power) geometrically over ``continuation`` decade-spaced stages.

    The ramp is a ``while_loop`` over stages that runs zero stages when the direct solve
    converged, so under ``vmap`` only the batch members that need it pay for it (a ``cond`` would
    execute both branches for the whole batch)."""
    x0 = quasi_thermal_start(x0, grid, p)
    x, err, k, ok = newton(x0, grid, p, self_consistent, max_steps, rtol)
    if continuation <= 0:
        return x, err, k, ok
    fracs = jnp.logspace(-continuation, 0.0, continuation + 1)

    def cond(state):
        stage, _, _, _, done = state
        return (stage <= continuation) & ~done

    def body(state):
        stage, xc, ktot, _, _ = state
        frac = fracs[stage]
        pc = dict(p, P=p["P"] * frac, J_ph=p["J_ph"] * frac)
        xn, e, kk, okk = newton(xc, grid, pc, self_consistent, max_steps, rtol)
        last = stage == continuation
        return stage + 1, xn, ktot + kk, e, last & okk

    start = jnp.where(ok, continuation + 1, 0)
    _, xr, ktot, er, _ = jax.lax.while_loop(cond, body, (start, jnp.where(ok, x, x0), k, err, ok))
    return xr, er, ktot, er <= rtol


# ----------------------------------------------------------------------------- implicit adjoint
def make_root(self_consistent: bool, max_steps: int, rtol: float, continuation: int):
    @jax.custom_jvp
    def root(x0, grid, p):
        x, err, k, ok = solve_with_continuation(
            x0, grid, p, self_consistent, max_steps, rtol, continuation
        )
        return x, (err, k.astype(float), ok.astype(float))

    @root.defjvp
    def _root_jvp(primals, tangents):
        x0, grid, p = primals
        _, dgrid, dp = tangents
        x, aux = root(x0, grid, p)
        _, J = full_jacobian(x, grid, p, self_consistent)
        _, dR = jax.jvp(lambda g, q: full_residual(x, g, q, self_consistent), (grid, p), (dgrid, dp))
        dx = -jnp.linalg.solve(J, dR)
        zeros = jax.tree_util.tree_map(jnp.zeros_like, aux)
        return (x, aux), (dx, zeros)

    return root
