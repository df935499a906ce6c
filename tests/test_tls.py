"""TLS models: the complex digamma against scipy, the frequency shift's limits (T -> 0, the
high-temperature logarithm, the dip), the loss's limits, gradients, and argument errors."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from helpers import central_difference
from scipy.optimize import brentq, minimize_scalar
from scipy.special import psi, zeta

from diffsc import constants, tls_frequency_shift, tls_loss
from diffsc._resonator._tls import (  # internal: the digamma bracket
    _digamma_complex,
    _tls_bracket,
)

h, k_B = constants.h, constants.k_B

F = 5.5e9  # Hz
HF_K = h * F / k_B  # hf/k_B, K (0.264 K at 5.5 GHz)
FD0 = 3e-6


def _scipy_bracket(y):
    return np.real(psi(0.5 + 1j * y)) - np.log(y)


def test_complex_digamma_matches_scipy_over_a_wide_range():
    rng = np.random.default_rng(0)
    r = 10 ** rng.uniform(-2, 4, 3000)
    phi = rng.uniform(-0.49 * np.pi, 0.49 * np.pi, 3000)
    z = np.concatenate([r * np.exp(1j * phi), 0.5 + 1j * np.logspace(-6, 8, 200)])
    ours = np.asarray(_digamma_complex(z))
    ref = psi(z)
    np.testing.assert_allclose(ours, ref, rtol=1e-13, atol=1e-14)
    # real axis: psi(1) = -gamma_E, psi(1/2) = -gamma_E - 2 ln 2
    np.testing.assert_allclose(np.asarray(_digamma_complex(np.array([1.0, 0.5]))).real,
                               [-np.euler_gamma, -np.euler_gamma - 2 * np.log(2)], rtol=1e-15)


def test_bracket_matches_scipy_and_keeps_precision_in_both_limits():
    y = np.logspace(-6, 6, 300)
    np.testing.assert_allclose(np.asarray(_tls_bracket(y)), _scipy_bracket(y), rtol=1e-12,
                               atol=1e-14)
    # y -> inf (T -> 0): B = -1/(24 y^2) - 7/(960 y^4) + O(y^-6) with full relative precision
    # where scipy's Re psi - ln y has already cancelled to noise
    big = np.logspace(3, 140, 60)
    np.testing.assert_allclose(np.asarray(_tls_bracket(big)),
                               -1 / (24 * big**2) * (1 + 7 / (40 * big**2)), rtol=1e-12)
    # y -> 0 (T -> inf): B = psi(1/2) - ln y + 7 zeta(3) y^2 - 31 zeta(5) y^4 + ...
    small = np.logspace(-8, -3, 20)
    series = (-np.euler_gamma - 2 * np.log(2) - np.log(small) + 7 * zeta(3) * small**2
              - 31 * zeta(5) * small**4)
    np.testing.assert_allclose(np.asarray(_tls_bracket(small)), series, rtol=1e-14, atol=1e-14)


def test_frequency_shift_limits_dip_and_growth():
    # T -> 0: the shift vanishes as -(F d0/24 pi) (2 pi k T / h f)^2 (no NaN at tiny T)
    T = np.array([1e-9, 1e-6, 1e-4])
    y = HF_K / (2 * np.pi * T)
    expected = FD0 / np.pi * (-1 / (24 * y**2) - 7 / (960 * y**4))
    np.testing.assert_allclose(np.asarray(tls_frequency_shift(F, T, F_delta0=FD0)), expected,
                               rtol=1e-9)
    assert np.all(np.isfinite(np.asarray(tls_frequency_shift(F, np.array([1e-300, 1e6]),
                                                             F_delta0=FD0))))
    # k T >> h f: (F d0 / pi) [ln(kT/hf) + ln(pi/2) - gamma_E] + O((hf/kT)^2)
    T_hot = np.array([30.0, 100.0, 300.0]) * HF_K
    asym = FD0 / np.pi * (np.log(T_hot / HF_K) + np.log(np.pi / 2) - np.euler_gamma)
    shift = np.asarray(tls_frequency_shift(F, T_hot, F_delta0=FD0))
    y = HF_K / (2 * np.pi * T_hot)
    np.testing.assert_allclose(shift - asym, FD0 / np.pi * 7 * zeta(3) * y**2, rtol=1e-3)
    # the dip: minimum where d/dT = 0 (our gradient) is where scipy's curve is lowest
    dshift = jax.jit(jax.grad(lambda t: tls_frequency_shift(F, t, F_delta0=FD0)))
    t_min = brentq(lambda t: float(dshift(t)), 0.2 * HF_K, 1.0 * HF_K, xtol=1e-14)
    ref = minimize_scalar(lambda t: _scipy_bracket(HF_K / (2 * np.pi * t)),
                          bounds=(0.2 * HF_K, HF_K), method="bounded", options={"xatol": 1e-10})
    assert t_min == pytest.approx(ref.x, rel=1e-6)
    assert 0.40 < t_min / HF_K < 0.48  # k_B T_min = 0.44 h f
    assert float(tls_frequency_shift(F, t_min, F_delta0=FD0)) == pytest.approx(
        FD0 / np.pi * ref.fun, rel=1e-10)
    # linear in F_delta0, broadcasts
    assert tls_frequency_shift(np.array([[4e9], [6e9]]), np.array([0.05, 0.1, 0.2]),
                               F_delta0=FD0).shape == (2, 3)


def test_loss_limits():
    # T -> 0 and no photons: F d0; n = n_c: 2^-beta F d0; kT >> hf: F d0 hf / 2kT
    assert float(tls_loss(F, 1e-4, F_delta0=FD0)) == pytest.approx(FD0, rel=1e-15)
    for beta in (0.5, 0.3):
        got = tls_loss(F, 1e-4, 250.0, F_delta0=FD0, n_c=250.0, beta=beta)
        assert float(got) == pytest.approx(2**-beta * FD0, rel=1e-14)
    T_hot = 1e3 * HF_K
    assert float(tls_loss(F, T_hot, F_delta0=FD0)) == pytest.approx(
        FD0 * HF_K / (2 * T_hot), rel=1e-6)
    # strong saturation: (n/n_c)^-beta
    assert float(tls_loss(F, 1e-4, 1e8, F_delta0=FD0, n_c=10.0)) == pytest.approx(
        FD0 * (1e7) ** -0.5, rel=1e-6)


def test_gradients_match_finite_differences():
    for T in (0.02, 0.1, 0.5):
        g = jax.grad(lambda t: tls_frequency_shift(F, t, F_delta0=FD0))(T)
        fd = central_difference(lambda t: FD0 / np.pi * _scipy_bracket(HF_K / (2 * np.pi * t)), T,
                                rel_step=1e-4)
        assert float(g) == pytest.approx(fd, rel=1e-6), T
        gl = jax.grad(lambda t: tls_loss(F, t, 30.0, F_delta0=FD0, n_c=10.0))(T)
        fdl = central_difference(lambda t: tls_loss(F, t, 30.0, F_delta0=FD0, n_c=10.0), T)
        assert float(gl) == pytest.approx(fdl, rel=1e-6), T
    gn = jax.grad(lambda n: tls_loss(F, 0.05, n, F_delta0=FD0, n_c=10.0))(30.0)
    assert float(gn) == pytest.approx(
        central_difference(lambda n: tls_loss(F, 0.05, n, F_delta0=FD0, n_c=10.0), 30.0), rel=1e-6)
    # jit and vmap
    fn = jax.jit(jax.vmap(lambda t: tls_frequency_shift(F, t, F_delta0=FD0)))
    np.testing.assert_allclose(np.asarray(fn(jnp.array([0.05, 0.2]))),
                               np.asarray(tls_frequency_shift(F, jnp.array([0.05, 0.2]),
                                                              F_delta0=FD0)), rtol=1e-14)


@pytest.mark.parametrize(
    "call, name",
    [
        (lambda: tls_frequency_shift(F, -0.1, F_delta0=FD0), "T"),
        (lambda: tls_frequency_shift(-F, 0.1, F_delta0=FD0), "freq"),
        (lambda: tls_frequency_shift(F, 0.1, F_delta0=-1e-6), "F_delta0"),
        (lambda: tls_loss(F, 0.1, -1.0, F_delta0=FD0), "photon_number"),
        (lambda: tls_loss(F, 0.1, F_delta0=FD0, n_c=0.0), "n_c"),
        (lambda: tls_loss(F, 0.1, F_delta0=FD0, beta=-0.5), "beta"),
        (lambda: tls_loss(F, np.nan, F_delta0=FD0), "T"),
    ],
)
def test_bad_arguments_are_named(call, name):
    with pytest.raises(Exception, match=f"`{name}`"):
        call()


_TLS_FUNCS = {
    "tls_loss": (tls_loss, dict(freq=F, T=0.1, photon_number=10.0, F_delta0=FD0, n_c=5.0, beta=0.5)),
    "tls_frequency_shift": (tls_frequency_shift, dict(freq=F, T=0.1, F_delta0=FD0)),
}
_TLS_OUT_OF_RANGE = {"freq": 0.0, "T": -0.1, "photon_number": -1.0, "F_delta0": -1e-6, "n_c": 0.0,
                     "beta": -0.5}


def _named_error(fn, kwargs, bad, jit):
    if jit and not any(isinstance(v, str) for v in bad.values()):
        run = lambda: jax.jit(lambda b: fn(**{**kwargs, **b}))(bad)
    elif jit:
        run = lambda: jax.jit(lambda: fn(**{**kwargs, **bad}))()
    else:
        run = lambda: fn(**{**kwargs, **bad})
    with pytest.raises(Exception) as info:
        jax.block_until_ready(run())
    for n in bad:
        assert f"`{n}`" in str(info.value), (n, str(info.value)[:300])


@pytest.mark.parametrize("jit", [False, True], ids=["eager", "jit"])
@pytest.mark.parametrize("case", ["complex", "string", "empty", "nan", "range", "shapes"])
@pytest.mark.parametrize("func", list(_TLS_FUNCS))
def test_tls_bad_input_matrix(func, case, jit):
    """Complex, string, empty, NaN, out-of-range and non-broadcasting input names the argument."""
    fn, kw = _TLS_FUNCS[func]
    if case == "shapes":
        _named_error(fn, kw, {"freq": np.full(3, F), "T": np.full(4, 0.1)}, jit)
        return
    for name, t in kw.items():
        value = {"complex": t + 1e-3j * t, "string": str(t), "empty": np.zeros(0), "nan": np.nan,
                 "range": _TLS_OUT_OF_RANGE[name]}[case]
        _named_error(fn, kw, {name: value}, jit)


def test_zero_temperature_is_the_ground_state_limit():
    """T = 0 exactly: tanh(hf/2kT) -> 1 and no shift, with finite (zero) derivatives."""
    T = jnp.array([0.0, 1e-3])
    np.testing.assert_allclose(tls_loss(F, T, 10.0, F_delta0=FD0, n_c=5.0),
                               FD0 * (1 + 10.0 / 5.0) ** -0.5, rtol=1e-14)
    np.testing.assert_array_equal(tls_frequency_shift(F, 0.0, F_delta0=FD0), 0.0)
    assert abs(float(tls_frequency_shift(F, 1e-3, F_delta0=FD0))) < 1e-4 * FD0  # ~ -(T/T_f)^2/24
    for fn in (lambda t: tls_loss(F, t, F_delta0=FD0), lambda t: tls_frequency_shift(F, t, F_delta0=FD0)):
        assert float(jax.grad(fn)(0.0)) == 0.0
