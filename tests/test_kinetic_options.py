"""Typed configuration of the kinetic solver: static, hashable options shared by the three entry
points, and the reduced physics parameters as a pytree with named fields."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import diffsc
from diffsc._kinetic import _collisions as co  # internal: collision kernels
from diffsc._kinetic import _steady_state as ss  # internal: the solver's reduced problem

AL = diffsc.material("Al")


def test_options_are_static_and_hashable():
    """Equal keyword options give equal, equally hashed Modules with no array leaves, usable as
    a static argument of jax.jit (one compiled program for equal options)."""
    a = ss.SolverOptions.from_kwargs(n_bins=48, rtol=1e-10)
    b = ss.SolverOptions.from_kwargs(n_bins=48.0, rtol=1e-10, max_steps=400)
    c = ss.SolverOptions.from_kwargs(n_bins=64)
    assert a == b and hash(a) == hash(b) and a != c
    assert jax.tree_util.tree_leaves(a) == []
    assert a.grid.n_bins == 48 and a.extra_steps == 4 * a.max_steps
    assert ss.SolverOptions.from_kwargs(max_extra_steps=0).extra_steps == 0

    traces = []

    @jax.jit
    def f(x, opts):
        traces.append(opts)
        return x * opts.grid.n_bins

    f = jax.jit(f.__wrapped__, static_argnums=1)
    assert float(f(1.0, a)) == 48.0 and float(f(2.0, b)) == 96.0 and len(traces) == 1


def test_options_validate_by_name():
    with pytest.raises(ValueError, match="`n_bins` must be >= 16"):
        ss.SolverOptions.from_kwargs(n_bins=8)
    with pytest.raises(ValueError, match="`tau0_ph` must be"):
        ss.SolverOptions.from_kwargs(tau0_ph="other")
    with pytest.raises(ValueError, match="`max_extra_steps` must be >= 0"):
        ss.SolverOptions.from_kwargs(max_extra_steps=-1)
    with pytest.raises(ValueError, match="`n_bins` must be >= 16"):
        diffsc.kinetic_decay_time(AL, 0.2, 5e9, 1.0, tau_esc=1e-10, n_bins=8)


def test_reduced_params_fields_and_derivative():
    """The reduced parameters are a pytree of named fields (units in the docstring): the
    residual is differentiable with respect to them like any other pytree."""
    args = [jnp.asarray(a) for a in (0.25, 5.57e9, 100.0, 0.17e-9, 0.0)]
    opts = ss.SolverOptions.from_kwargs(n_bins=32)
    grid, p, unit_P, x0 = ss._problem(AL, *args, None, None, opts)
    assert isinstance(p, ss.ReducedParams) and not p.has_pair_breaking
    np.testing.assert_allclose(p.power * unit_P, 100.0, rtol=1e-14)
    np.testing.assert_allclose(p.kT, 8.617333262e-5 * 0.25 / AL.gap0, rtol=1e-9)
    assert p.phonon_injection.shape == (grid.n_phonons,)
    v, gap = x0[:-1] + 0.3 * jnp.sin(jnp.arange(32.0)), x0[-1]  # away from detailed balance
    dR = jax.jacfwd(lambda e: co.residual(v, gap, grid, p.replace(escape_rate=e)))(p.escape_rate)
    h = 1e-6 * p.escape_rate
    fd = (co.residual(v, gap, grid, p.replace(escape_rate=p.escape_rate + h))
          - co.residual(v, gap, grid, p.replace(escape_rate=p.escape_rate - h))) / (2 * h)
    np.testing.assert_allclose(dR, fd, rtol=1e-5, atol=1e-7 * float(jnp.max(jnp.abs(dR))))
    half = p.scaled_drive(0.5)
    assert float(half.power) == 0.5 * float(p.power) and half.K_s is p.K_s


def test_solver_options_module_is_the_keywords():
    """diffsc.SolverOptions (with diffsc.GridOptions) passed as ``solver_options=`` gives the
    keyword options' result (every field of the solution bitwise equal); naming a keyword option
    as well is a TypeError naming it, on all three entry points, as is a non-SolverOptions."""
    assert diffsc.SolverOptions is ss.SolverOptions
    opts = diffsc.SolverOptions(grid=diffsc.GridOptions(n_bins=32), rtol=1e-12)
    assert opts == ss.SolverOptions.from_kwargs(n_bins=32, rtol=1e-12)
    args = (AL, 0.3, 5.57e9, 10.0)
    by_kw = diffsc.kinetic_steady_state(*args, tau_esc=0.17e-9, n_bins=32, rtol=1e-12)
    by_mod = diffsc.kinetic_steady_state(*args, tau_esc=0.17e-9, solver_options=opts)
    assert bool(by_kw.success) and int(by_kw.n_steps) == int(by_mod.n_steps)
    leaves = jax.tree_util.tree_leaves
    for a, b in zip(leaves(by_kw), leaves(by_mod), strict=True):
        np.testing.assert_array_equal(a, b)
    for entry, extra in ((diffsc.kinetic_steady_state, ()),
                         (diffsc.kinetic_relaxation, ([1e-6, 1e-5],)),
                         (diffsc.kinetic_decay_time, ())):
        with pytest.raises(TypeError, match=r"`solver_options` and .*`n_bins`, `throw`"):
            entry(*args, *extra, tau_esc=0.17e-9, n_bins=32, throw=False, solver_options=opts)
        with pytest.raises(TypeError, match="`solver_options` must be a diffsc.SolverOptions"):
            entry(*args, *extra, tau_esc=0.17e-9, solver_options={"n_bins": 32})
