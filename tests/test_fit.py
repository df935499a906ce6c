"""Common fitting API: recovery of known truth, agreement with scipy.curve_fit, bounds, batching."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import optimize

import diffsc


def _model(p, t):
    return p["amplitude"] * jnp.exp(-t / p["tau"]) + p["offset"]


def _data(seed, sigma=0.02, n=80):
    rng = np.random.default_rng(seed)
    t = np.linspace(0, 5, n)
    truth = {"amplitude": 1.3, "tau": 0.8, "offset": 0.1}
    y = 1.3 * np.exp(-t / 0.8) + 0.1 + sigma * rng.standard_normal(n)
    return t, y, truth


def _residual(p, args):
    t, y, sigma = args
    return (_model(p, t) - y) / sigma


P0 = {"amplitude": 1.0, "tau": 1.0, "offset": 0.0}


@pytest.mark.parametrize("method", ["lm", "gauss_newton", "dogleg", "bfgs"])
def test_matches_scipy_curve_fit(method):
    t, y, _ = _data(0)
    fit = diffsc.least_squares(
        _residual, P0, (t, y, 0.02), transforms={"tau": "positive"}, method=method
    )
    assert bool(fit.success)
    popt, pcov = optimize.curve_fit(
        lambda t, a, tau, c: a * np.exp(-t / tau) + c, t, y, p0=[1, 1, 0]
    )
    np.testing.assert_allclose(
        [fit.params[k] for k in ("amplitude", "tau", "offset")], popt, rtol=1e-6
    )
    ours_std = np.array([fit.std[k] for k in ("amplitude", "tau", "offset")])
    np.testing.assert_allclose(ours_std, np.sqrt(np.diag(pcov)), rtol=1e-4)
    assert fit.dof == 77


def test_truth_within_reported_uncertainty_over_many_seeds():
    # 200 noisy datasets: the normalised errors must look standard normal (coverage ~68 %)
    seeds = np.arange(200)
    ys = np.stack([_data(s)[1] for s in seeds])
    t, _, truth = _data(0)
    fit = jax.vmap(
        lambda y: diffsc.least_squares(_residual, P0, (t, y, 0.02), absolute_sigma=True)
    )(ys)
    assert bool(jnp.all(fit.success))
    for k in truth:
        z = (np.asarray(fit.params[k]) - truth[k]) / np.asarray(fit.std[k])
        assert 0.6 < np.mean(np.abs(z) < 1) < 0.76, k
        assert abs(np.mean(z)) < 0.25, k


def test_batched_equals_one_by_one():
    ys = np.stack([_data(s)[1] for s in range(5)])
    t = _data(0)[0]
    batched = jax.vmap(lambda y: diffsc.least_squares(_residual, P0, (t, y, 0.02)))(ys)
    for i in range(5):
        single = diffsc.least_squares(_residual, P0, (t, ys[i], 0.02))
        for k in P0:
            assert float(batched.params[k][i]) == pytest.approx(
                float(single.params[k]), rel=1e-9, abs=1e-12
            )


def test_bounds_are_respected():
    t, y, _ = _data(1)
    # force tau into (0.1, 0.5): the optimum sits on the boundary region, never outside
    fit = diffsc.least_squares(
        _residual, {**P0, "tau": 0.3}, (t, y, 0.02), transforms={"tau": ("bounded", 0.1, 0.5)}
    )
    assert 0.1 < float(fit.params["tau"]) < 0.5
    assert float(fit.params["tau"]) > 0.45  # pushed towards the true 0.8


def test_failure_is_reported_and_can_raise():
    t, y, _ = _data(2)
    fit = diffsc.least_squares(_residual, P0, (t, y, 0.02), max_steps=2)
    assert not bool(fit.success)
    with pytest.raises(Exception, match="did not converge"):
        diffsc.least_squares(_residual, P0, (t, y, 0.02), max_steps=2, throw=True)
    with pytest.raises(ValueError, match="bad transform"):
        diffsc.least_squares(_residual, P0, (t, y, 0.02), transforms={"tau": "logit"})
    with pytest.raises(Exception, match="must be > 0"):
        diffsc.least_squares(
            _residual, {**P0, "tau": -1.0}, (t, y, 0.02), transforms={"tau": "positive"}
        )


def test_unidentified_parameter_gets_infinite_uncertainty():
    t, y, _ = _data(3)
    res = lambda p, a: _residual(
        {"amplitude": p["a1"] + p["a2"], "tau": p["tau"], "offset": p["offset"]}, a
    )
    fit = diffsc.least_squares(res, {"a1": 0.5, "a2": 0.5, "tau": 1.0, "offset": 0.0}, (t, y, 0.02))
    assert np.isinf(float(fit.std["a1"])) and np.isinf(float(fit.std["a2"]))
    assert np.isfinite(float(fit.std["tau"]))


def test_fitted_parameters_are_differentiable_wrt_data():
    # implicit adjoint: d tau_fit / d y matches finite differences
    t, y, _ = _data(4)

    def tau_of(y0):
        return diffsc.least_squares(_residual, P0, (t, y.at[10].set(y0), 0.02)).params["tau"]

    y = jnp.asarray(y)
    g = float(jax.grad(tau_of)(y[10]))
    h = 1e-4
    fd = (float(tau_of(y[10] + h)) - float(tau_of(y[10] - h))) / (2 * h)
    assert g == pytest.approx(fd, rel=1e-4)


def test_fit_batch_equals_one_by_one_and_multistart_finds_global_minimum():
    from diffsc._fit import fit_batch, multistart

    rng = np.random.default_rng(7)
    t = np.linspace(0.0, 4.0, 60)
    amps, rates = np.array([1.0, 2.0, 0.5]), np.array([0.7, 1.5, 3.0])
    ys = amps[:, None] * np.exp(-rates[:, None] * t) + 0.01 * rng.standard_normal((3, t.size))
    res = lambda p, y: (p["a"] * jnp.exp(-p["k"] * t) - y) / 0.01
    p0 = {"a": 1.0, "k": 1.0}
    batch = fit_batch(res, p0, jnp.asarray(ys), transforms={"k": "positive"})
    for i in range(3):
        one = diffsc.least_squares(res, p0, jnp.asarray(ys[i]), transforms={"k": "positive"})
        for key in ("a", "k"):
            np.testing.assert_allclose(batch.params[key][i], one.params[key], rtol=1e-7)
            np.testing.assert_allclose(batch.std[key][i], one.std[key], rtol=1e-6)
        assert abs(float(one.params["k"]) - rates[i]) < 5 * float(one.std["k"])
    # a frequency fit with local minima: y = sin(w t); starts spread over w
    y = np.sin(2.3 * t) + 0.01 * rng.standard_normal(t.size)
    res_w = lambda p, yy: (jnp.sin(p["w"] * t) - yy) / 0.01
    starts = {"w": jnp.linspace(0.5, 4.0, 8)}
    best = multistart(res_w, starts, jnp.asarray(y))
    assert bool(best.success) and abs(float(best.params["w"]) - 2.3) < 5 * float(best.std["w"])
    single = diffsc.least_squares(res_w, {"w": 0.5}, jnp.asarray(y))
    assert float(best.chi2) <= float(single.chi2)
