"""Time-dependent mode: relaxation after the drive is switched off (diffsc.kinetic_relaxation)."""

import jax.numpy as jnp
import numpy as np
import pytest

import diffsc
from diffsc._kinetic import _relaxation as rl  # internal: the relaxation operator
from diffsc._kinetic import _steady_state as ss  # internal: the solver's reduced problem

AL = diffsc.material("Al")
FREQ = 5.57e9
TAU_ESC = 0.17e-9
T = 0.2
N = 48
TIMES = np.geomspace(1e-8, 1e-2, 50)


def relax(substeps):
    return diffsc.kinetic_relaxation(AL, T, FREQ, 10.0, TIMES, tau_esc=TAU_ESC, n_bins=N,
                                     substeps=substeps)


@pytest.fixture(scope="module")
def runs():
    return {k: relax(k) for k in (4, 8, 16)}


def _numpy_slowest_time(sol, T_bath, P):
    """-1/lambda of the slowest eigenmode of the linearised equations about the steady state
    `sol` at drive P (eigenvalues by NumPy): independent of the inverse iteration and of the
    time integration."""
    grid, p, _, _ = ss._problem(AL, jnp.asarray(T_bath), jnp.asarray(FREQ), jnp.asarray(P),
                                jnp.asarray(TAU_ESC), 0.0, None, None,
                                ss.SolverOptions.from_kwargs(n_bins=N))
    f = jnp.clip(sol.f, 1e-300, 1 - 1e-16)
    v = jnp.log(f) - jnp.log1p(-f)
    B = sol.drive_rate * AL.tau0
    J = rl.linearised_operator(v, sol.gap / AL.gap0, grid, p, B, True)
    lam = np.linalg.eigvals(np.asarray(J))
    assert np.all(lam.real < 0)  # the steady state is stable
    return float(AL.tau0) / float(np.min(np.abs(lam.real)))


def test_starts_in_the_driven_state_and_relaxes_to_thermal(runs):
    r = runs[16]
    assert bool(r.success)
    assert float(r.initial.nqp) > 1.01 * float(r.final.nqp)  # 10 W/m^3 creates an excess
    np.testing.assert_allclose(float(r.nqp[0]), float(r.initial.nqp), rtol=1e-6)
    np.testing.assert_allclose(float(r.nqp[-1]), float(r.final.nqp_thermal), rtol=1e-6)
    np.testing.assert_allclose(float(r.gap[-1]), float(r.final.gap_thermal), rtol=1e-9)
    # the first microseconds: hot quasiparticles cascade down and their >= 2*gap phonons break
    # pairs, so n_qp first rises slightly; after that it decays monotonically
    nqp, late = np.asarray(r.nqp), TIMES > 1e-5
    assert 0 <= nqp.max() / nqp[0] - 1 < 1e-6
    assert np.all(np.diff(nqp[late]) <= 1e-12 * float(r.final.nqp))


def test_late_decay_time_is_the_slowest_eigenmode(runs):
    """Once the excess is small the decay is exponential with the slowest eigenvalue of the
    linearised kinetic equations (recombination with phonon trapping): within 1%."""
    r = runs[16]
    excess = np.abs(np.asarray(r.nqp) - float(r.final.nqp)) / float(r.final.nqp)
    window = (excess < 1e-2) & (excess > 2e-4)
    assert window.sum() >= 4
    tau = _numpy_slowest_time(r.final, T, 0.0)
    np.testing.assert_allclose(np.asarray(r.decay_time)[window], tau, rtol=1e-2)
    # slower than the bare recombination time would give for a small excess (tau_r / 2) because
    # recombination phonons are re-absorbed before they escape (phonon trapping)
    assert tau > 0.5 * float(r.final.tau_qp)


def test_integrator_is_second_order(runs):
    """ROS2: halving the step cuts the error about 4x (reference: 16 substeps)."""
    ref = np.asarray(runs[16].nqp)
    e4 = np.max(np.abs(np.asarray(runs[4].nqp) - ref))
    e8 = np.max(np.abs(np.asarray(runs[8].nqp) - ref))
    assert e4 / e8 > 3.0, (e4, e8)
    assert e8 < 1e-3 * float(runs[16].final.nqp)


def test_bad_times_named():
    with pytest.raises(Exception, match="times"):
        diffsc.kinetic_relaxation(AL, T, FREQ, 10.0, [1e-6, 1e-7], tau_esc=TAU_ESC, n_bins=N)
    with pytest.raises(Exception, match="times"):
        diffsc.kinetic_relaxation(AL, T, FREQ, 10.0, [-1e-6, 1e-7], tau_esc=TAU_ESC, n_bins=N)


def test_decay_time_is_the_slowest_eigenmode_and_matches_the_relaxation(runs):
    """kinetic_decay_time (inverse iteration, any backend) = NumPy's slowest eigenvalue to 1e-8,
    and at zero drive equals the late decay of kinetic_relaxation (same equations)."""
    d = diffsc.kinetic_decay_time(AL, T, FREQ, 0.0, tau_esc=TAU_ESC, n_bins=N)
    np.testing.assert_allclose(float(d.decay_time), _numpy_slowest_time(runs[16].final, T, 0.0),
                               rtol=1e-8)
    # driven: about the driven state, against NumPy on its own Jacobian
    dd = diffsc.kinetic_decay_time(AL, 0.3, FREQ, 1e3, tau_esc=TAU_ESC, n_bins=N)
    np.testing.assert_allclose(float(dd.decay_time),
                               _numpy_slowest_time(dd.steady_state, 0.3, 1e3), rtol=1e-8)
    assert 0 < float(dd.decay_time) < 1e-3


def test_decay_time_reports_result_success_and_steps():
    """KineticDecay carries the package-wide result/success/n_steps: 0 when the steady state
    converged and the decay time is finite; the steady state's code (1) when its step budget ran
    out, and throw=True raises then."""
    d = diffsc.kinetic_decay_time(AL, T, FREQ, 0.0, tau_esc=TAU_ESC, n_bins=N)
    assert int(d.result) == int(diffsc.RESULTS.successful) and bool(d.success)
    assert int(d.n_steps) == int(d.steady_state.n_steps) > 0
    kw = dict(tau_esc=TAU_ESC, n_bins=N, max_steps=1, continuation=0)
    short = diffsc.kinetic_decay_time(AL, 0.32, FREQ, 1e4, **kw)
    assert int(short.result) == int(diffsc.RESULTS.max_steps_reached) and not bool(short.success)
    assert int(short.n_steps) >= 1
    with pytest.raises(Exception, match="did not converge"):
        diffsc.kinetic_decay_time(AL, 0.32, FREQ, 1e4, throw=True, **kw)
