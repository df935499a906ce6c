"""One enumeration of solver outcomes (diffsc.RESULTS): the optimistix mapping, and result /
success / n_steps of the fit results that gained them (converged 0, budget spent 1, throw)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import diffsc
from diffsc._core._results import from_optimistix  # internal: the optimistix result mapping


def test_codes_kept_and_optimistix_outcomes_mapped():
    import optimistix as optx

    R = diffsc.RESULTS
    assert diffsc.KINETIC_RESULTS is R
    assert (int(R.successful), int(R.max_steps_reached), int(R.nonfinite)) == (0, 1, 2)
    assert "max_steps" in R.max_steps_reached.message
    pairs = {
        "successful": R.successful, "nonlinear_max_steps_reached": R.max_steps_reached,
        "nonfinite": R.nonfinite, "nonfinite_input": R.nonfinite,
        "nonlinear_divergence": R.nonlinear_divergence, "singular": R.singular,
        "breakdown": R.breakdown, "stagnation": R.stagnation,
        "max_steps_reached": R.linear_solve_failed, "conlim": R.linear_solve_failed,
    }
    for name, ours in pairs.items():
        assert int(from_optimistix(getattr(optx.RESULTS, name))) == int(ours), name
    # batched (vmap) items map element-wise
    items = jax.vmap(lambda x: optx.RESULTS.where(x > 0, optx.RESULTS.successful,
                                                  optx.RESULTS.nonlinear_divergence))
    np.testing.assert_array_equal(
        jax.vmap(from_optimistix)(items(jnp.array([1.0, -1.0]))), [0, 3])


def test_fit_s21_reports_the_optimiser_code_next_to_its_verdict():
    f = jnp.linspace(5e9 - 2e6, 5e9 + 2e6, 201)
    noise = 1e-3 * np.random.default_rng(0).normal(size=f.shape)
    s = diffsc.s21_notch(f, 5e9, 1e5, 1e5) + noise.astype(complex)  # explicit: strict promotion
    ok = diffsc.fit_s21(f, s)
    assert int(ok.result) == 0 and int(ok.optimiser_result) == 0 and bool(ok.success)
    short = diffsc.fit_s21(f, s, max_steps=1)
    assert int(short.optimiser_result) == int(diffsc.RESULTS.max_steps_reached)
    assert int(short.result) == int(diffsc.FIT_RESULTS.max_steps_reached)  # verdict code kept
    with pytest.raises(Exception, match="failed its checks"):
        diffsc.fit_s21(f, s, max_steps=1, throw=True)


def test_recover_heat_capacity_result_and_throw():
    T = jnp.linspace(6.95, 7.45, 21)
    m = diffsc.TransitionModel(R_n=1.5e-3, Tc=7.2, width=0.06)
    I, beta, G, freqs = 0.01, 1.5, 1.5e-5, jnp.array([7.0, 32.0])
    R = m(T)
    C = 9.4e-8 * (T / 7.2) ** 3
    im = diffsc.electrothermal_impedance(freqs[:, None], R=R[None, :], T=T[None, :], I=I,
                                         alpha=m.alpha(T)[None, :], beta=beta, C=C[None, :],
                                         G=G).imag
    kw = dict(R=R, freq=freqs, I=I, beta=beta, G=G, n_lam=3)
    ok = diffsc.recover_heat_capacity(T, im, **kw)
    assert int(ok.result) == 0 and bool(ok.success) and int(ok.n_steps) > 0
    short = diffsc.recover_heat_capacity(T, im, max_steps=1, **kw)
    assert int(short.result) == int(diffsc.RESULTS.max_steps_reached) and not bool(short.success)
    with pytest.raises(Exception, match="max_steps_reached"):
        diffsc.recover_heat_capacity(T, im, max_steps=1, throw=True, **kw)
