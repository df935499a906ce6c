"""Common fitting API: recovery of known truth, agreement with scipy.curve_fit, bounds, batching,
optax minimisation (L-BFGS, Adam) with Hessian covariance, Module parameters, diagnostics.

Every test reuses the same residual function and options where it can, so the jitted fit is
compiled once per configuration (the file must stay fast on a shared CPU).
"""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from helpers import central_difference
from scipy import optimize

import diffsc
from diffsc import fit_batch, multistart

T = np.linspace(0, 5, 80)
SIGMA = 0.02
TRUTH = {"amplitude": 1.3, "tau": 0.8, "offset": 0.1}
P0 = {"amplitude": 1.0, "tau": 1.0, "offset": 0.0}
POS = {"tau": "positive"}
KEYS = ("amplitude", "offset", "tau")  # ravel_pytree order of a dict


def _model(p, t):
    return p["amplitude"] * jnp.exp(-t / p["tau"]) + p["offset"]


def _data(seed):
    rng = np.random.default_rng(seed)
    return 1.3 * np.exp(-T / 0.8) + 0.1 + SIGMA * rng.standard_normal(T.size)


def _residual(p, y):
    return (_model(p, T) - y) / SIGMA


def _nll(p, y):  # Gaussian negative log-likelihood up to a constant: chi^2 / 2
    return 0.5 * jnp.sum(_residual(p, y) ** 2)


def _fit(y, **kw):
    return diffsc.least_squares(_residual, P0, y, transforms=POS, absolute_sigma=True, **kw)


def _vec(tree):
    return np.array([float(tree[k]) for k in KEYS])


@pytest.mark.parametrize("method", ["lm", "gauss_newton", "dogleg", "bfgs", "lbfgs"])
def test_matches_scipy_curve_fit(method):
    y = _data(0)
    fit = _fit(y, method=method)
    assert bool(fit.success)
    popt, pcov = optimize.curve_fit(
        lambda t, a, c, tau: a * np.exp(-t / tau) + c, T, y, p0=[1, 0, 1],
        sigma=np.full(T.size, SIGMA), absolute_sigma=True,
    )
    np.testing.assert_allclose(_vec(fit.params), popt, rtol=1e-6)
    np.testing.assert_allclose(_vec(fit.std), np.sqrt(np.diag(pcov)), rtol=1e-4)
    assert fit.dof == 77
    # diagnostics: converged (small gradient), well-conditioned problem, chi2/dof ~ 1
    assert float(fit.grad_norm) < 1e-4
    assert 1.0 <= float(fit.condition_number) < 1e3
    assert abs(float(fit.reduced_chi2) - 1) < 3 * np.sqrt(2 / 77)
    assert set(fit.diagnostics) >= {"n_steps", "grad_norm", "reduced_chi2", "condition_number"}


def test_truth_within_reported_uncertainty_and_batched_equals_one_by_one():
    # 200 noisy datasets in one vmapped call: the normalised errors must look standard normal
    ys = np.stack([_data(s) for s in range(200)])
    batch = fit_batch(_residual, P0, jnp.asarray(ys), transforms=POS, absolute_sigma=True)
    assert batch.params["tau"].shape == (200,) and batch.dof == 77
    assert bool(jnp.all(batch.success))
    for k in TRUTH:
        z = (np.asarray(batch.params[k]) - TRUTH[k]) / np.asarray(batch.std[k])
        assert 0.6 < np.mean(np.abs(z) < 1) < 0.76, k
        assert abs(np.mean(z)) < 0.25, k
    # the same datasets fitted one by one (3 of them, spread over the batch) agree
    for i in (0, 97, 199):
        one = _fit(ys[i])
        for k in P0:
            # equal to the optimiser tolerance (vectorised vs scalar arithmetic): 1e-7 sigma
            assert abs(float(batch.params[k][i] - one.params[k])) < 1e-7 * float(one.std[k])
            np.testing.assert_allclose(batch.std[k][i], one.std[k], rtol=1e-7)
        np.testing.assert_allclose(batch.chi2[i], one.chi2, rtol=1e-12)


def test_bounds_are_respected():
    # force tau into (0.1, 0.5): the optimum sits on the boundary region, never outside
    fit = diffsc.least_squares(
        _residual, {**P0, "tau": 0.3}, _data(1), transforms={"tau": ("bounded", 0.1, 0.5)}
    )
    assert 0.1 < float(fit.params["tau"]) < 0.5
    assert float(fit.params["tau"]) > 0.45  # pushed towards the true 0.8


def test_failure_is_reported_and_can_raise():
    y = _data(2)
    fit = _fit(y, max_steps=2)
    assert not bool(fit.success) and int(fit.result) != 0
    with pytest.raises(Exception, match="did not converge"):
        _fit(y, max_steps=2, throw=True)
    with pytest.raises(ValueError, match="bad transform"):
        diffsc.least_squares(_residual, P0, y, transforms={"tau": "logit"})
    with pytest.raises(Exception, match="must be > 0"):
        diffsc.least_squares(_residual, {**P0, "tau": -1.0}, y, transforms=POS)
    with pytest.raises(ValueError, match="unknown method"):
        diffsc.minimize(_nll, P0, y, method="newton")
    # minimize: the step budget is reported as result 1 (throw=True uses the same error_if)
    m = diffsc.minimize(_nll, P0, y, transforms=POS, max_steps=2)
    assert not bool(m.success) and int(m.result) == 1 and int(m.n_steps) == 2


def test_unidentified_parameter_gets_infinite_uncertainty():
    y = _data(3)
    res = lambda p, a: _residual(
        {"amplitude": p["a1"] + p["a2"], "tau": p["tau"], "offset": p["offset"]}, a
    )
    p0 = {"a1": 0.5, "a2": 0.5, "tau": 1.0, "offset": 0.0}
    fit = diffsc.least_squares(res, p0, y)
    assert np.isinf(float(fit.std["a1"])) and np.isinf(float(fit.std["a2"]))
    assert np.isfinite(float(fit.std["tau"]))
    assert np.isinf(float(fit.condition_number))  # the diagnostic flags the degeneracy
    # minimize: same handling for the Hessian covariance
    m = diffsc.minimize(lambda p, a: 0.5 * jnp.sum(res(p, a) ** 2), p0, y)
    assert np.isinf(float(m.std["a1"])) and np.isfinite(float(m.std["tau"]))
    np.testing.assert_allclose(float(m.std["tau"]), float(fit.std["tau"]) /
                               np.sqrt(float(fit.reduced_chi2)), rtol=2e-2)


def test_fitted_parameters_are_differentiable_wrt_data():
    # implicit differentiation: d tau_fit / d y_10 matches finite differences, for LM
    # (optimistix adjoint) and for the optax L-BFGS loop (implicit-function-theorem shift)
    y = jnp.asarray(_data(4))

    def tau_of(y10, method):
        return _fit(y.at[10].set(y10), method=method).params["tau"]

    for method in ("lm", "lbfgs"):
        g = float(jax.grad(tau_of)(y[10], method))
        fd = central_difference(lambda v, m=method: tau_of(v, m), y[10], rel_step=0.0, abs_step=1e-4)
        assert g == pytest.approx(fd, rel=1e-4), method


def test_minimize_gaussian_likelihood_equals_least_squares():
    # L = chi^2/2 is the Gaussian NLL: same optimum, chi2 := 2L equal, Cov = H^{-1} ~ (J^T J)^{-1}
    # (they differ by the residual-curvature term sum_i r_i d^2 r_i, O(1/sqrt(n)) here)
    y = _data(5)
    ls = _fit(y)
    m = diffsc.minimize(_nll, P0, y, transforms=POS, n_data=T.size)
    assert bool(m.success) and float(m.grad_norm) <= 1e-9 * (1 + 0.5 * float(m.chi2))
    np.testing.assert_allclose(_vec(m.params), _vec(ls.params), rtol=1e-7)
    np.testing.assert_allclose(float(m.chi2), float(ls.chi2), rtol=1e-12)
    assert m.dof == ls.dof == 77
    np.testing.assert_allclose(_vec(m.std), _vec(ls.std), rtol=2e-2)
    # exact check of the Hessian covariance: H from finite differences of the analytic gradient
    flat = _vec(m.params)
    unr = lambda x: dict(zip(KEYS, x, strict=True))
    grad = jax.grad(lambda x: _nll(unr(x), y))
    hess = central_difference(grad, flat, rel_step=1e-6).T  # row k: d grad / d x_k
    np.testing.assert_allclose(np.asarray(m.covariance), np.linalg.inv(hess), rtol=1e-5)


def test_adam_and_lbfgs_converge_on_small_problem():
    # a well-scaled linear-Gaussian problem with known exact solution (normal equations)
    rng = np.random.default_rng(11)
    x = np.linspace(-1, 1, 30)
    y = 0.5 - 1.5 * x + 0.8 * x**2 + 0.05 * rng.standard_normal(x.size)
    design = np.stack([np.ones_like(x), x, x**2], axis=1) / 0.05
    exact = np.linalg.lstsq(design, y / 0.05, rcond=None)[0]
    exact_cov = np.linalg.inv(design.T @ design)

    def loss(p, yy):
        return 0.5 * jnp.sum(((p["c"][0] + p["c"][1] * x + p["c"][2] * x**2) - yy) ** 2) / 0.05**2

    p0 = {"c": jnp.zeros(3)}
    for method, kw in (("lbfgs", {}), ("adam", {"learning_rate": 3e-2, "tol": 1e-7})):
        m = diffsc.minimize(loss, p0, y, method=method, max_steps=5000, **kw)
        assert bool(m.success), method
        np.testing.assert_allclose(m.params["c"], exact, rtol=1e-5, atol=1e-7, err_msg=method)
        np.testing.assert_allclose(m.covariance, exact_cov, rtol=1e-8, atol=1e-14, err_msg=method)
        assert int(m.n_steps) > 0
    # least_squares routes "adam" through the same optax loop
    ls = diffsc.least_squares(
        lambda p, yy: (p["c"][0] + p["c"][1] * x + p["c"][2] * x**2 - yy) / 0.05, p0, y,
        method="adam", max_steps=5000, learning_rate=3e-2, rtol=0.0, atol=1e-5,
        absolute_sigma=True,
    )
    assert bool(ls.success)
    np.testing.assert_allclose(ls.params["c"], exact, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(ls.covariance, exact_cov, rtol=1e-8, atol=1e-14)


class Decay(eqx.Module):
    amplitude: jax.Array
    tau: jax.Array
    offset: jax.Array


def test_equinox_module_parameters_with_matching_transforms():
    y = _data(6)
    res = lambda p, yy: (p.amplitude * jnp.exp(-T / p.tau) + p.offset - yy) / SIGMA
    p0 = Decay(jnp.asarray(1.0), jnp.asarray(1.0), jnp.asarray(0.0))
    tr = Decay(None, "positive", ("bounded", -1.0, 1.0))
    ref = _fit(y)
    fit = diffsc.least_squares(res, p0, y, transforms=tr, absolute_sigma=True)
    assert isinstance(fit.params, Decay) and isinstance(fit.std, Decay)
    for k in KEYS:
        np.testing.assert_allclose(getattr(fit.params, k), ref.params[k], rtol=1e-7)
        np.testing.assert_allclose(getattr(fit.std, k), ref.std[k], rtol=1e-5)
    m = diffsc.minimize(lambda p, yy: 0.5 * jnp.sum(res(p, yy) ** 2), p0, y, transforms=tr)
    assert isinstance(m.params, Decay) and bool(m.success)
    np.testing.assert_allclose(float(m.params.tau), float(ref.params["tau"]), rtol=1e-7)
    with pytest.raises(ValueError, match="match the structure"):
        diffsc.least_squares(res, p0, y, transforms=("positive",))
    # bounded transform is enforced on the initial guess
    with pytest.raises(Exception, match="outside its bounds"):
        diffsc.least_squares(res, Decay(1.0, 1.0, 2.0), y, transforms=tr)


def test_multistart_finds_global_minimum():
    # a frequency fit with local minima: y = sin(w t); starts spread over w
    rng = np.random.default_rng(7)
    t = np.linspace(0.0, 4.0, 60)
    y = jnp.asarray(np.sin(2.3 * t) + 0.01 * rng.standard_normal(t.size))
    res_w = lambda p, yy: (jnp.sin(p["w"] * t) - yy) / 0.01
    best = multistart(res_w, {"w": jnp.linspace(0.5, 4.0, 8)}, y)
    assert bool(best.success) and abs(float(best.params["w"]) - 2.3) < 5 * float(best.std["w"])
    single = diffsc.least_squares(res_w, {"w": 0.5}, y)
    assert float(best.chi2) < 0.01 * float(single.chi2)  # one start gets stuck in a local minimum


def test_uncertainties_independent_of_parameter_units():
    # the same fit with amplitude in units 1e-9 and offset in units 1e+9: scaled std, not inf
    y = _data(5)
    res = lambda p, a: _residual({"amplitude": 1e-9 * p["A"], "tau": p["tau"], "offset": 1e9 * p["c"]}, a)
    fit = diffsc.least_squares(res, {"A": 1e9, "tau": 1.0, "c": 0.0}, y)
    ref = diffsc.least_squares(_residual, P0, y)
    assert float(fit.std["A"]) == pytest.approx(1e9 * float(ref.std["amplitude"]), rel=1e-5)
    assert float(fit.std["c"]) == pytest.approx(1e-9 * float(ref.std["offset"]), rel=1e-5)


@pytest.mark.parametrize("method", ["lm", "gauss_newton", "dogleg", "bfgs", "lbfgs", "adam"])
def test_max_steps_gives_the_documented_code_on_every_method(method):
    # one enumeration (diffsc.RESULTS) on every path: converged 0, budget spent 1
    y = _data(2)
    fit = _fit(y, method=method, max_steps=1)
    assert int(fit.result) == int(diffsc.RESULTS.max_steps_reached) == 1
    assert not bool(fit.success) and int(fit.n_steps) == 1
    if method != "adam":
        ok = _fit(y, method=method, max_steps=2000)
        assert int(ok.result) == int(diffsc.RESULTS.successful) and bool(ok.success)
    with pytest.raises(Exception, match="max_steps_reached"):
        jax.jit(lambda d: _fit(d, method=method, max_steps=1, throw=True).params)(y)
