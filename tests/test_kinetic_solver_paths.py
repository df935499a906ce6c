"""The kinetic solver's fast paths against the plain ones: the gap-only tables formed once per
solve (gap held), the phonon coupling of the Newton Jacobian in float32, and the chord step
that reuses the last LU factorisation for Newton's last step."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import diffsc
from diffsc._kinetic import _collisions as co  # internal: collision kernels
from diffsc._kinetic import _solver as sv  # internal: the Newton solver
from diffsc._kinetic import _steady_state as ss  # internal: the solver's reduced problem

AL = diffsc.material("Al")
FREQ, TAU_ESC = 5.57e9, 0.17e-9


def _state(T, P, N, injected=False):
    """Grid, parameters and a state away from detailed balance (random logits on a hot Fermi
    function), with the gap held at its thermal value."""
    args = [jnp.asarray(a) for a in (T, FREQ, P, TAU_ESC, 1e3 if injected else 0.0)]
    om = jnp.asarray(3.0 * AL.gap0) if injected else None
    grid, p, _, x0 = ss._problem(AL, *args, om, None, ss.SolverOptions.from_kwargs(n_bins=N))
    rng = np.random.default_rng(1)
    v = x0[:-1] * 0.7 + jnp.asarray(rng.normal(0.0, 0.5, N))
    return grid, p, v, x0[-1]


@pytest.mark.parametrize("T, injected", [(0.06, False), (0.3, True), (1.0, False)])
def test_held_gap_tables_give_the_same_residual_and_jacobian(T, injected):
    """residual_parts with the gap-only tables formed beforehand (gap_kernels, the solver's path
    with the gap held) equals the plain evaluation: residual, row scale and rates to 1e-13 of
    the gross rate, Jacobian to 1e-12 of its largest entry (and both to jax.jacfwd)."""
    grid, p, v, gap = _state(T, 100.0, 48, injected)
    kernels = co.gap_kernels(gap, grid, p)
    R0, s0, parts0 = co.residual_parts(v, gap, grid, p)
    R1, s1, parts1 = co.residual_parts(v, gap, grid, p, kernels)
    np.testing.assert_allclose(R1, R0, rtol=0, atol=1e-13 * float(jnp.max(s0)))
    np.testing.assert_allclose(s1, s0, rtol=1e-13)
    np.testing.assert_allclose(parts1["w"], parts0["w"], rtol=1e-13, atol=1e-13)
    J0 = co.jacobian_from_parts(parts0, grid, p)
    J1 = co.jacobian_from_parts(parts1, grid, p)
    Jad = jax.jacfwd(co.residual)(v, gap, grid, p)
    scale = float(jnp.max(jnp.abs(Jad)))
    np.testing.assert_allclose(J1, J0, rtol=0, atol=1e-12 * scale)
    np.testing.assert_allclose(J1, Jad, rtol=0, atol=1e-12 * scale)


@pytest.mark.parametrize("T", [0.06, 0.3])
def test_float32_coupling_is_the_jacobian_to_single_precision(T):
    """The Newton steps' Jacobian (phonon coupling products in float32 on rows scaled by the
    gross rates) differs from the float64 one by less than 1e-6 of each row's gross rate; the
    implicit derivatives use the float64 one (the default)."""
    grid, p, v, gap = _state(T, 100.0, 64)
    _, s, parts = co.residual_parts(v, gap, grid, p)
    J64 = co.jacobian_from_parts(parts, grid, p)
    J32 = co.jacobian_from_parts(parts, grid, p, coupling_float32=True)
    assert J32.dtype == J64.dtype == jnp.float64
    row_err = jnp.max(jnp.abs(J32 - J64), axis=1) / s
    assert float(jnp.max(row_err)) < 1e-6, float(jnp.max(row_err))
    assert float(jnp.max(jnp.abs(J32 - J64))) > 0.0  # the float32 path is the one tested


def test_chord_step_keeps_the_steps_and_the_solution(monkeypatch):
    """400 bins at 320 mK (gap held): Newton's errors 3.6e-3, 1.5e-5, 2.5e-10, so the last step
    reuses the factorisation (predicted 4e-15 < 0.1 rtol). With the chord step switched off
    (margin 0) the solve takes the same number of steps to the same solution (1e-11)."""
    args = [jnp.asarray(a) for a in (0.32, FREQ, 10.0, TAU_ESC, 0.0)]
    opts = ss.SolverOptions.from_kwargs(n_bins=400, self_consistent_gap=False)
    grid, p, _, x0 = ss._problem(AL, *args, None, None, opts)
    start = sv.quasi_thermal_start(x0, grid, p)

    def run():  # a fresh trace, so that the margin in effect is the one read
        return jax.jit(lambda x: sv.solve(x, grid, p, opts, x_ramp=x0))(start)

    x, err, steps, ok, _ = run()
    monkeypatch.setattr(sv, "_CHORD_MARGIN", 0.0)
    x_newton, err_newton, steps_newton, ok_newton, _ = run()
    assert bool(ok) and bool(ok_newton)
    assert int(steps) == int(steps_newton) == 4
    assert float(err) <= 1e-10 and float(err_newton) <= 1e-10
    assert float(err) != float(err_newton)  # the two paths differ in their last step
    np.testing.assert_allclose(jax.nn.sigmoid(x[:-1]), jax.nn.sigmoid(x_newton[:-1]), rtol=1e-11)
