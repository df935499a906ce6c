"""The kinetic solver's self-extended step budget (`max_extra_steps`, docs/kinetic.md).

Where the fixed schedule (fast path, physical time, power ramp) would end unconverged, the solver
goes on by itself while its residual still halves, up to `max_extra_steps`; the steps are spent
only there, so solves that converge within the schedule are unchanged, and a stalled solve is
still flagged (and raises with ``throw=True``)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import diffsc
from diffsc import RESULTS, kinetic_steady_state

AL = diffsc.material("Al")
TAU_ESC = 0.17e-9
P_MAP = np.logspace(-6.0, 5.0, 16)  # the power axis of the issue's 16 x 16 map, W/m^3


def test_issue_map_point_converges_with_the_defaults():
    """The point of the 16 x 16 map (T_bath 0.05-1 K, P_abs 1e-6-1e5 W/m^3, Al, default
    options) reported as the one failure: 0.05 K, 117 W/m^3. With the default options it must
    return converged and conserve energy."""
    P = float(P_MAP[11])
    assert 110.0 < P < 120.0
    s = kinetic_steady_state(AL, 0.05, 5.57e9, P, tau_esc=TAU_ESC)
    assert bool(s.success) and float(s.residual_norm) <= 1e-10
    np.testing.assert_allclose(float(s.power_to_bath), P, rtol=1e-6)
    assert float(s.nqp) > 10.0 * float(s.nqp_thermal)


def test_fixed_schedule_failures_are_rescued_and_converged_solves_unchanged():
    """4 GHz, 64 bins (a coarse grid where the fixed schedule fails more often than at the
    defaults): at 50 mK and 117 W/m^3 every stage of the fixed schedule stalls at a relative
    residual of 1 (2460 steps, on this machine), while the fast path had come within a few 1e-3
    of the root; the physical-time rescue from there converges in a few dozen extra steps, onto
    the solution the 61 mK neighbour of the map has. The 320 mK member converges within the schedule: its
    result is bitwise that of the fixed schedule. Under jit and vmap."""
    T = jnp.array([0.05, 0.32])
    P = jnp.array([float(P_MAP[11]), 10.0])

    def batch(extra):
        kw = dict(tau_esc=TAU_ESC, n_bins=64, throw=False, max_extra_steps=extra)
        return jax.jit(jax.vmap(lambda t, p: kinetic_steady_state(AL, t, 4e9, p, **kw)))(T, P)

    fixed, s = batch(0), batch(None)
    assert bool(jnp.all(s.success)), (np.asarray(s.n_steps), np.asarray(s.residual_norm))
    assert np.all(np.asarray(s.residual_norm) <= 1e-10)
    np.testing.assert_allclose(np.asarray(s.power_to_bath), np.asarray(P), rtol=1e-6)
    schedule = 60 + 6 * 400  # fast path, physical time, 5 ramp stages
    for i in range(2):
        if bool(fixed.success[i]):  # converged within the schedule: nothing changes
            assert int(s.n_steps[i]) == int(fixed.n_steps[i])
            np.testing.assert_array_equal(np.asarray(s.f[i]), np.asarray(fixed.f[i]))
        else:  # flagged by the fixed schedule: converged with extra steps within the cap
            assert int(fixed.result[i]) == int(RESULTS.max_steps_reached)
            assert schedule < int(s.n_steps[i]) <= schedule + 4 * 400
    assert bool(fixed.success[1]) and int(fixed.n_steps[1]) < 10
    # the rescued point against its neighbour on the map's temperature axis (61 mK): n_qp is
    # set by the drive there, not by the bath
    nb = kinetic_steady_state(AL, 0.0611, 4e9, float(P_MAP[11]), tau_esc=TAU_ESC, n_bins=64)
    np.testing.assert_allclose(float(s.nqp[0]), float(nb.nqp), rtol=1e-4)


def test_fast_path_rescue_after_a_stalled_physical_time_rescue():
    """5 GHz, tau_esc 1 ns, 64 bins, 111 mK, 8.6e-4 W/m^3: the fixed schedule ends at a relative
    residual of 1 (948 steps, on this machine) and so does the physical-time rescue; the fast
    path resumed from the best iterate converges. n_qp lies between that of the neighbouring
    powers of the map (monotonic in the drive), and energy is conserved."""
    T = float(np.logspace(np.log10(0.05), 0.0, 16)[4])
    kw = dict(tau_esc=1e-9, n_bins=64, throw=False)
    fixed = kinetic_steady_state(AL, T, 5e9, float(P_MAP[4]), max_extra_steps=0, **kw)
    s = kinetic_steady_state(AL, T, 5e9, float(P_MAP[4]), **kw)
    assert bool(s.success) and float(s.residual_norm) <= 1e-10
    np.testing.assert_allclose(float(s.power_to_bath), float(P_MAP[4]), rtol=1e-6)
    if not bool(fixed.success):
        assert int(s.n_steps) > int(fixed.n_steps)
    lo, hi = (kinetic_steady_state(AL, T, 5e9, float(P_MAP[j]), **kw).nqp for j in (3, 5))
    assert float(lo) < float(s.nqp) < float(hi)


@pytest.mark.parametrize("continuation", [0, 1])
def test_a_stalled_solve_is_still_flagged(continuation):
    """rtol below round-off: the residual stops halving, so the last stage gets no extra block
    (and each of the two rescues, with continuation, only its first one), and the solve is
    flagged; with throw=True it raises."""
    kw = dict(tau_esc=TAU_ESC, n_bins=48, max_steps=20, rtol=1e-20, continuation=continuation)
    s = kinetic_steady_state(AL, 0.32, 5.57e9, 1e3, throw=False, **kw)
    assert not bool(s.success) and int(s.result) == int(RESULTS.max_steps_reached)
    assert float(s.residual_norm) < 1e-12  # it did reach round-off
    schedule = 20 if continuation == 0 else 20 + (continuation + 2) * 20
    extra = int(s.n_steps) - schedule
    assert extra == (2 * 5 if continuation else 0), int(s.n_steps)  # blocks of max_steps // 4
    with pytest.raises(Exception, match="did not converge"):
        kinetic_steady_state(AL, 0.32, 5.57e9, 1e3, throw=True, **kw)


def test_tiny_budget_and_cap_are_respected():
    """max_steps=1 with max_extra_steps=2: at most 3 steps, then flagged; a negative cap is an
    error."""
    kw = dict(tau_esc=TAU_ESC, n_bins=48, max_steps=1, continuation=0, throw=False)
    s = kinetic_steady_state(AL, 0.32, 5.57e9, 1e4, max_extra_steps=2, **kw)
    assert not bool(s.success) and int(s.n_steps) <= 3
    with pytest.raises(ValueError, match="max_extra_steps"):
        kinetic_steady_state(AL, 0.32, 5.57e9, 1e4, max_extra_steps=-1, **kw)
