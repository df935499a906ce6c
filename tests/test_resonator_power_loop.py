"""Power loop: self-consistency of the fixed point, limits, extra loss channel, implicit gradients;
fit_power_sweep: recovery of known parameters in equinox's default error mode, failed points.

Uses the (cheap) thermal heating response; the kinetic response goes through the same code path
(it only replaces the response model) and is exercised by the resonator figure and notebook.
"""

import os
import re

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from helpers import central_difference

import diffsc
from diffsc import (
    HeatingResponse,
    Microstrip,
    absorbed_power,
    calibrate_geometry,
    fit_power_sweep,
    gap,
    mattis_bardeen,
    power_loop,
    resonator_from_conductivity,
    surface_impedance,
)
from diffsc._resonator._power_loop import (  # internal: the sweep residual, failure marker
    FAILED_POINT_RESIDUAL,
    _Model,
    _sweep_residual,
)

AL = diffsc.material("Al")
F = 5.57e9
QC = 20100.0


@pytest.fixture(scope="module")
def geometry():
    ms = Microstrip(3e-6, 1e-6, 60e-9, 9.84e-3, 6.0)
    s1, s2 = mattis_bardeen(F, 0.06, gap(0.06, AL))
    zs = surface_impedance(F, s1, s2, thickness=60e-9, resistivity=AL.resistivity)
    return calibrate_geometry(ms, zs, F, F)


@eqx.filter_jit
def _loop(p_dbm, T, geom, qi_extra):
    resp = HeatingResponse(AL)
    return jax.vmap(lambda p: power_loop(p, T, resp, geom, Qc=QC, freq=F, Qi_extra=qi_extra))(p_dbm)


def test_fixed_point_is_self_consistent(geometry):
    powers = jnp.array([-120.0, -90.0, -70.0, -60.0])
    sol = _loop(powers, 0.25, geometry, 1e6)
    assert bool(jnp.all(sol.success))
    resp = HeatingResponse(AL)
    V = 2 * 3e-6 * 60e-9 * 9.84e-3  # twice the central strip (paper: 2 x 1770 um^3)
    for k, p in enumerate(np.asarray(powers)):
        # recompute sigma -> Qi -> P_abs independently from the returned absorbed power density
        s1, s2, *_ = resp(sol.P_abs_density[k], 0.25, F)
        line = resonator_from_conductivity(s1, s2, F, geometry, resistivity=AL.resistivity)
        qi = 1 / (1 / line.Qi + 1e-6)
        np.testing.assert_allclose(sol.Qi[k], qi, rtol=1e-6)
        P = 1e-3 * 10 ** (p / 10)
        pa = absorbed_power(P, qi, QC, Qi_qp=line.Qi)
        np.testing.assert_allclose(sol.P_abs[k], pa, rtol=1e-5)
        np.testing.assert_allclose(sol.P_abs_density[k], pa / V, rtol=1e-5)
    # heating can only lower Qi and f_res as the readout power rises
    assert np.all(np.diff(np.asarray(sol.Qi)) < 0)
    assert np.all(np.diff(np.asarray(sol.f_res)) < 0)
    # -120 dBm: the undriven film at the bath temperature
    s1, s2 = mattis_bardeen(F, 0.25, gap(0.25, AL))
    line = resonator_from_conductivity(s1, s2, F, geometry, resistivity=AL.resistivity)
    np.testing.assert_allclose(sol.Qi_qp[0], line.Qi, rtol=1e-5)
    np.testing.assert_allclose(sol.f_line[0], line.f_res, rtol=1e-6)


def test_extra_loss_heats_qp_is_the_papers_absorption(geometry):
    """``extra_loss_heats_qp=True`` puts all of P_abs (Eq. 23) into the quasiparticles (the
    paper's Qi/Qi,qp = 1); the default keeps only the share Qi/Qi,qp (Eq. 25). With a strong
    extra loss (Qi* = 1e5 << Qi,qp at 150 mK) the paper's choice deposits far more power, which
    lowers Qi,qp further; with a negligible one (Qi* = 1e30) the two choices coincide."""
    resp = HeatingResponse(AL)
    P = 1e-3 * 10 ** (-70.0 / 10)

    @eqx.filter_jit
    def loops(qi_extra, heats):
        return jax.vmap(lambda q: power_loop(-70.0, 0.15, resp, geometry, Qc=QC, freq=F,
                                             Qi_extra=q, extra_loss_heats_qp=heats))(qi_extra)

    qx = jnp.array([1e5, 1e30])
    base, paper = loops(qx, False), loops(qx, True)
    assert bool(jnp.all(base.success)) and bool(jnp.all(paper.success))
    np.testing.assert_allclose(paper.P_abs, absorbed_power(P, paper.Qi, QC), rtol=1e-5)
    np.testing.assert_allclose(base.P_abs, absorbed_power(P, base.Qi, QC, Qi_qp=base.Qi_qp),
                               rtol=1e-5)
    assert float(paper.P_abs_density[0]) > 3 * float(base.P_abs_density[0])
    assert float(paper.Qi_qp[0]) < float(base.Qi_qp[0])
    np.testing.assert_allclose(paper.P_abs_density[1], base.P_abs_density[1], rtol=1e-12)


def test_newton_loop_converges_where_fixed_point_iteration_crawls(geometry):
    """A weak electron-phonon coupling (strong self-heating) makes the loop map's slope
    dF/dln p = -0.89 at 150 mK / -64 dBm: plain iteration would oscillate and converge at that
    rate (> 100 steps to 1e-6); the safeguarded Newton solve takes a few steps, and F(p) = p."""
    from diffsc._resonator._power_loop import _loop_map  # internal: the loop map F(p)

    dbm_to_watt = diffsc.constants.dbm_to_watt

    resp = HeatingResponse(AL, sigma_ep=1e6)
    sol = power_loop(-64.0, 0.15, resp, geometry, Qc=QC, freq=F, throw=False)
    assert bool(sol.success) and int(sol.n_steps) <= 8, int(sol.n_steps)
    x = jnp.log(sol.P_abs_density)
    args = (resp, geometry, jnp.asarray(0.15), jnp.asarray(F), dbm_to_watt(jnp.asarray(-64.0)),
            jnp.asarray(QC), jnp.zeros(()), 2 * geometry.strip_volume(), jnp.zeros(()))
    slope = float(jax.grad(lambda y: _loop_map(y, args))(x))
    assert 0.8 < abs(slope) < 1.0, slope
    np.testing.assert_allclose(float(_loop_map(x, args)), float(x), atol=1e-6)


def test_implicit_gradients_match_finite_differences(geometry):
    resp = HeatingResponse(AL)

    @jax.jit
    def qi(p_dbm, T):
        return power_loop(p_dbm, T, resp, geometry, Qc=QC, freq=F).Qi

    for p_dbm, T in [(-70.0, 0.2), (-62.0, 0.28)]:
        g_p, g_t = jax.grad(qi, argnums=(0, 1))(p_dbm, T)
        fd_p = (qi(p_dbm + 0.01, T) - qi(p_dbm - 0.01, T)) / 0.02
        fd_t = (qi(p_dbm, T + 1e-5) - qi(p_dbm, T - 1e-5)) / 2e-5
        np.testing.assert_allclose(g_p, fd_p, rtol=1e-4)
        np.testing.assert_allclose(g_t, fd_t, rtol=1e-4)
        assert g_p < 0  # heating lowers Qi


def test_bad_arguments(geometry):
    resp = HeatingResponse(AL)
    with pytest.raises(Exception, match="T_bath"):
        power_loop(-80.0, -0.1, resp, geometry, Qc=QC, freq=F)
    with pytest.raises(Exception, match="Qc"):
        power_loop(-80.0, 0.1, resp, geometry, Qc=-1.0, freq=F)



# --- fit_power_sweep -------------------------------------------------------------------------

T_GRID = np.repeat([0.15, 0.2, 0.25, 0.3], 3)  # K
P_GRID = np.tile([-90.0, -75.0, -65.0], 4)  # dBm
TRUTH = {"response.sigma_ep": 5e8, "Qi_extra": 3e5}
REL_SIGMA_QI, SIGMA_F = 0.01, 1e3  # 1 % on Qi, 1 kHz on f_res


@pytest.fixture(scope="module")
def sweep(geometry):
    """Noisy (seed 0) Qi, f_res table of the heating model at TRUTH, and the noiseless solution."""
    resp = HeatingResponse(AL, sigma_ep=TRUTH["response.sigma_ep"])
    sol = eqx.filter_jit(jax.vmap(lambda t, p: power_loop(p, t, resp, geometry, Qc=QC, freq=F,
                                                          Qi_extra=TRUTH["Qi_extra"])))(
        jnp.asarray(T_GRID), jnp.asarray(P_GRID))
    assert bool(jnp.all(sol.success))
    rng = np.random.default_rng(0)
    qi = np.asarray(sol.Qi) * (1 + REL_SIGMA_QI * rng.normal(size=T_GRID.size))
    fr = np.asarray(sol.f_res) + SIGMA_F * rng.normal(size=T_GRID.size)
    return qi, fr, sol


def test_fit_power_sweep_argument_order_is_that_of_power_loop(geometry):
    """(P_read_dbm, T_bath, ...) as power_loop; the old positional order (T_bath, P_read_dbm, ...)
    is recognised by value (read powers <= 0 dBm, bath temperatures > 0 K), swapped and warned;
    a positional call the values cannot tell apart asks for keywords; keywords are taken as named."""
    import inspect

    from diffsc._resonator._power_loop import _read_power_first  # internal: the entry's rule

    names = list(inspect.signature(fit_power_sweep).parameters)[:2]
    assert names == ["P_read_dbm", "T_bath"] == list(inspect.signature(power_loop).parameters)[:2]
    seen = _read_power_first(lambda P_read_dbm, T_bath, *rest, **kw: (P_read_dbm, T_bath, rest))
    T, P, qi = np.array([0.1, 0.2]), np.array([-90.0, -70.0]), np.ones(2)
    got = seen(P, T, qi)  # the new order: silent (warnings are errors in the suite)
    assert got[0] is P and got[1] is T and got[2][0] is qi
    with pytest.warns(DeprecationWarning, match=r"order \(T_bath, P_read_dbm, ...\) is deprecated"):
        got = seen(T, P, qi)
    assert got[0] is P and got[1] is T and got[2][0] is qi
    with pytest.warns(DeprecationWarning, match="is deprecated"):
        got = seen(T, P_read_dbm=P)
    assert got[0] is P and got[1] is T
    plus = np.array([3.0, 5.0])  # a positive read power: fine by keyword, in any order
    assert seen(T_bath=T, P_read_dbm=plus)[0] is plus and seen(plus, T_bath=T)[0] is plus
    for first, second in [(plus, T), (np.array([-3.0, 5.0]), T), (P, -T), ("a", T)]:
        with pytest.raises(TypeError, match="pass them by keyword"):
            seen(first, second)
    with pytest.raises(TypeError, match="pass them by keyword"):  # traced: values unknown
        jax.jit(lambda p, t: seen(p, t)[0])(P, T)
    # the public entry: an old-order call warns, then runs the usual checks
    with pytest.warns(DeprecationWarning, match="is deprecated"):
        with pytest.raises(ValueError, match="`initial`"):
            fit_power_sweep(T, P, qi, qi, HeatingResponse(AL), geometry, {}, Qc=QC, freq=F)


@pytest.mark.slow
def test_fit_power_sweep_recovers_truth_in_default_error_mode(geometry, sweep):
    # the regression: this fit raised a lineax "non-finite input" error unless EQX_ON_ERROR=nan
    assert os.environ.get("EQX_ON_ERROR", "raise") == "raise"
    qi, fr, sol = sweep
    # Qi spans 7e3..3e5 and f_res moves by 1.5 MHz: both parameters act on the data
    assert float(sol.Qi.max() / sol.Qi.min()) > 30
    start = {k: 0.5 * v if k == "Qi_extra" else 2.0 * v for k, v in TRUTH.items()}
    res = fit_power_sweep(P_GRID, T_GRID, qi, fr, HeatingResponse(AL), geometry, start, Qc=QC,
                          freq=F, rel_sigma_Qi=REL_SIGMA_QI, sigma_f=SIGMA_F)
    assert isinstance(res, diffsc.PowerSweepFit)
    assert bool(res.success) and bool(jnp.all(res.point_success))
    for k, v in TRUTH.items():
        pull = float(jnp.log(res.params[k] / v) / res.rel_std[k])
        assert abs(pull) < 3, (k, float(res.params[k]), float(res.rel_std[k]), pull)
        np.testing.assert_allclose(res.std[k], res.params[k] * res.rel_std[k], rtol=1e-12)
        assert 1e-3 < float(res.rel_std[k]) < 0.05, k
    assert int(res.result) == int(diffsc.RESULTS.successful) and int(res.n_steps) > 0
    with pytest.warns(DeprecationWarning, match="params"):
        assert res.values is res.params
    # residuals consistent with the injected noise (24 residuals, 2 parameters)
    assert 0.3 < float(res.fit.reduced_chi2) < 2.5
    np.testing.assert_allclose(res.Qi_model, sol.Qi, rtol=5 * REL_SIGMA_QI)
    np.testing.assert_allclose(res.f_res_model, sol.f_res, atol=5 * SIGMA_F)


class _FailingAbove(diffsc.AbstractResponse):
    """Heating response whose inner solve "fails" (NaN sigma1, ok=False) above p_fail (W/m^3)."""

    inner: HeatingResponse
    p_fail: float

    @property
    def material(self):
        return self.inner.material

    def __call__(self, p, T_bath, freq):
        r = self.inner(p, T_bath, freq)
        bad = p > self.p_fail
        return r._replace(sigma1=jnp.where(bad, jnp.nan, r.sigma1), ok=r.ok & ~bad)


class _Colder(diffsc.AbstractResponse):
    """A user's own response model: the heating model's film, seen at a bath `dT` (K) colder."""

    material: diffsc.Material
    dT: float

    def __call__(self, p, T_bath, freq):
        return HeatingResponse(self.material)(p, T_bath - self.dT, freq)


def test_response_models_share_a_typed_interface(geometry):
    """HeatingResponse and KineticResponse are AbstractResponses returning a ResponseResult
    (named sigma1, sigma2 in sigma_N, gap in eV, nqp in 1/m^3, ok; still a 5-tuple); a user's
    subclass runs in the power loop, and the base class cannot be instantiated."""
    r = HeatingResponse(AL)(1e3, 0.25, F)
    assert isinstance(r, diffsc.ResponseResult)
    assert isinstance(HeatingResponse(AL), diffsc.AbstractResponse)
    assert isinstance(diffsc.KineticResponse(AL), diffsc.AbstractResponse)
    s1, s2, d, nqp, ok = r
    assert (s1, s2, d, nqp) == (r.sigma1, r.sigma2, r.gap, r.nqp) and bool(ok)
    T_eff = (0.25**5 + 1e3 / 2e8) ** 0.2  # the heating model's effective temperature
    np.testing.assert_allclose(r.gap, gap(T_eff, AL), rtol=1e-12)
    np.testing.assert_allclose([r.sigma1, r.sigma2], mattis_bardeen(F, T_eff, r.gap), rtol=1e-12)
    with pytest.raises(TypeError, match="abstract"):
        diffsc.AbstractResponse()
    kw = dict(Qc=QC, freq=F, Qi_extra=1e6)
    own = power_loop(-70.0, 0.25, _Colder(AL, 0.05), geometry, **kw)
    ref = power_loop(-70.0, 0.2, HeatingResponse(AL), geometry, **kw)
    assert bool(own.success)
    np.testing.assert_allclose(own.Qi, ref.Qi, rtol=1e-5)  # both loops to their rtol 1e-6


def test_sweep_jacobian_finite_and_failed_points_flagged(geometry, sweep):
    qi, fr, sol = sweep
    p_fail = float(np.sort(np.asarray(sol.P_abs_density))[-3])  # the 2 hottest points fail
    resp = _FailingAbove(HeatingResponse(AL), p_fail)
    paths = ("response.inner.sigma_ep", "Qi_extra")
    log0 = {paths[0]: jnp.log(2 * TRUTH["response.sigma_ep"]), paths[1]: jnp.log(1e5)}
    args = (_Model(resp, geometry, jnp.asarray(1e9)), log0, jnp.asarray(T_GRID),
            jnp.asarray(P_GRID), jnp.asarray(QC), jnp.asarray(F), jnp.asarray(qi), jnp.asarray(fr),
            REL_SIGMA_QI, SIGMA_F)
    # the residuals and the implicit (forward-mode) Jacobian through the loop, one compiled call
    r, jac = jax.jit(lambda x, a: (_sweep_residual(x, a), jax.jacfwd(_sweep_residual)(x, a)))(
        log0, args)
    r = np.asarray(r)
    n = T_GRID.size
    ok = r[:n] != FAILED_POINT_RESIDUAL
    assert 0 < (~ok).sum() < n  # some, not all, points fail at this trial point
    # the failing points are the hottest ones (absorbed power above p_fail)
    assert set(np.flatnonzero(~ok)) <= set(np.flatnonzero(P_GRID == -65.0))
    np.testing.assert_array_equal(r[:n][~ok], FAILED_POINT_RESIDUAL)
    np.testing.assert_array_equal(r[n:][~ok], FAILED_POINT_RESIDUAL)
    assert np.all(np.isfinite(r))
    # the Jacobian is finite everywhere, zero for failed points, and equal to central finite
    # differences in the log-parameters (step 1e-3, all shifted points in one vmap) for the others
    residuals = jax.jit(jax.vmap(_sweep_residual, in_axes=(0, None)))
    fd = central_difference(lambda batch: residuals(batch, args), log0, rel_step=0.0,
                            abs_step=1e-3, batched=True)
    good = np.concatenate([ok, ok])
    for k in paths:
        col = np.asarray(jac[k])
        assert np.all(np.isfinite(col)), k
        np.testing.assert_array_equal(col[:n][~ok], 0.0)
        np.testing.assert_allclose(col[good], fd[k][good], rtol=1e-4, atol=1e-5)


def test_kinetic_response_passes_the_energy_extent():
    """KineticResponse(energy_extent=...) is the kinetic solve on that grid (3 gaps instead of
    the default 10: 2 bins per photon instead of 1 at 48 bins). One compilation: the extent is
    traced, and the explicit solves use the response's static options."""
    from diffsc import KineticResponse

    resp = KineticResponse(AL, n_bins=48, energy_extent=3.0 * AL.gap0)
    s1, s2, d, nqp, ok = resp(10.0, 0.3, F)
    kw = dict(tau_esc=resp.tau_esc, n_bins=48, rtol=resp.rtol, throw=False)
    sol = diffsc.kinetic_steady_state(AL, 0.3, F, 10.0, energy_extent=3.0 * AL.gap0, **kw)
    assert bool(ok) and bool(sol.success)
    np.testing.assert_allclose([s1, s2], sol.sigma(), rtol=1e-12)
    np.testing.assert_allclose(nqp, sol.nqp, rtol=1e-12)
    coarse = diffsc.kinetic_steady_state(AL, 0.3, F, 10.0, energy_extent=10.0 * AL.gap0, **kw)
    assert float(sol.bin_width) < 0.51 * float(coarse.bin_width)  # h*freq/2 instead of h*freq
    assert abs(float(nqp / coarse.nqp) - 1) < 0.15  # same physics, different discretisation


def test_power_loop_result_codes_and_throw(geometry):
    # one enumeration: converged 0; the step budget spent 1; throw=True raises, also under jit
    resp = HeatingResponse(AL)
    kw = dict(Qc=QC, freq=F, Qi_extra=1e6)
    ok = power_loop(-70.0, 0.25, resp, geometry, **kw)
    assert int(ok.result) == int(diffsc.RESULTS.successful) and bool(ok.success)
    short = power_loop(-70.0, 0.25, resp, geometry, max_steps=1, **kw)
    assert int(short.result) == int(diffsc.RESULTS.max_steps_reached) and not bool(short.success)
    assert int(short.n_steps) == 1
    with pytest.raises(Exception, match="max_steps_reached"):
        eqx.filter_jit(lambda g: power_loop(-70.0, 0.25, resp, g, max_steps=1, throw=True,
                                            **kw).Qi)(geometry)


@pytest.mark.slow  # 35 s on a loaded 2-core machine: two compiled fits (throw False and True)
def test_fit_power_sweep_step_budget_gives_result_1_and_throw_raises(geometry, sweep):
    # a forced failure, kept small: 3 points, one parameter, one Levenberg-Marquardt step
    qi, fr, _ = sweep
    args = (P_GRID[:3], T_GRID[:3], qi[:3], fr[:3], HeatingResponse(AL), geometry,
            {"Qi_extra": 1e5})
    kw = dict(Qc=QC, freq=F, rel_sigma_Qi=REL_SIGMA_QI, sigma_f=SIGMA_F, max_steps=1)
    res = fit_power_sweep(*args, **kw)
    assert int(res.result) == int(diffsc.RESULTS.max_steps_reached) == 1
    assert not bool(res.success) and int(res.n_steps) == 1
    with pytest.raises(Exception, match="max_steps_reached"):
        jax.block_until_ready(fit_power_sweep(*args, **kw, throw=True).params)


def test_docs_custom_response_example_runs_and_matches_heating_response():
    """docs/resonator.md's user-written response runs as printed; with exponent 4 it is the
    built-in HeatingResponse(exponent=4) (whose saturation at 0.9 Tc is < e^-20 here)."""
    from pathlib import Path

    text = (Path(__file__).parent.parent / "docs" / "resonator.md").read_text()
    block = next(b for b in re.findall(r"```python\n(.*?)```", text, flags=re.S)
                 if "class PowerLawHeating" in b)
    namespace: dict = {}
    exec(compile(block, "docs/resonator.md", "exec"), namespace)
    sol = namespace["sol"]
    ref = power_loop(-70.0, 0.2, HeatingResponse(AL, sigma_ep=2e8, exponent=4),
                     namespace["geometry"], Qc=2e4, freq=5.57e9)
    assert bool(sol.success) and bool(ref.success)
    np.testing.assert_allclose(float(sol.Qi), float(ref.Qi), rtol=1e-9)
    np.testing.assert_allclose(float(sol.f_res), float(ref.f_res), rtol=1e-12)
