"""Thin-film surface impedance, kinetic inductance and penetration depth."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from helpers import assert_close

import diffsc
from diffsc import constants

mu_0 = constants.mu_0

RHO = 0.9e-8  # Ohm m, S-Al sample A (R_sq = 0.15 Ohm at 60 nm)
D_FILM = 60e-9
GAP_A = 177e-6


def test_sample_a_numbers():
    """physics reference §5.1: lambda(0) ~ 92 nm, L_k ~ 0.178 pH/sq for R_sq = 0.15 Ohm."""
    lam = diffsc.penetration_depth_bcs(0.0, GAP_A, resistivity=RHO)
    lk = diffsc.kinetic_inductance_bcs(0.0, GAP_A, sheet_resistance=0.15)
    assert_close(lam, 92e-9, rtol=0.01, what="lambda(0)")
    assert_close(lk, 0.178e-12, rtol=0.003, what="L_k")
    # tanh factor: L_k rises with T
    assert float(diffsc.kinetic_inductance_bcs(0.5, GAP_A, sheet_resistance=0.15)) > float(lk)


def test_lk_from_sigma2_matches_bcs_formula():
    """omega -> 0: R_sq/(omega s2) -> hbar R_sq/(pi Delta tanh(Delta/2kT)); the finite-frequency
    correction is ~ (x/Delta)^2 at T = 0 and ~ x/k_BT from thermal quasiparticles (10 MHz here)."""
    freq = 1e7
    for T in (0.0, 0.3, 0.6):
        _, s2 = diffsc.mattis_bardeen(freq, T, GAP_A)
        lk = diffsc.kinetic_inductance(freq, s2, sheet_resistance=0.15)
        ref = diffsc.kinetic_inductance_bcs(T, GAP_A, sheet_resistance=0.15)
        assert_close(lk, ref, rtol=1e-4, what=f"L_k at {T} K")
    lam = diffsc.penetration_depth(freq, s2, resistivity=RHO)
    assert_close(lam, diffsc.penetration_depth_bcs(0.6, GAP_A, resistivity=RHO), rtol=1e-4)


def test_thin_film_limit():
    """d << lambda: Z_s -> 1/(sigma d); relative error ~ (d/lambda)^2 / 3."""
    freq, s1, s2 = 5.57e9, 1e-3, 24.5
    lam = float(diffsc.penetration_depth(freq, s2, resistivity=RHO))
    for d in (lam / 10, lam / 100):
        z = complex(diffsc.surface_impedance(freq, s1, s2, thickness=d, resistivity=RHO))
        thin = RHO / (d * (s1 - 1j * s2))
        assert abs(z / thin - 1) < 0.5 * (d / lam) ** 2
    # X_s / omega of a thin film is the kinetic inductance per square
    d = lam / 100
    z = complex(diffsc.surface_impedance(freq, s1, s2, thickness=d, resistivity=RHO))
    lk = float(diffsc.kinetic_inductance(freq, s2, sheet_resistance=RHO / d))
    assert_close(z.imag / (2 * np.pi * freq), lk, rtol=1e-4)
    assert_close(z.real, RHO * s1 / (s2**2 * d), rtol=1e-3, what="R_s thin")


def test_thick_film_limit():
    """d >> lambda: Z_s -> j omega mu0 lambda (1 - j s1/(2 s2)) for s1 << s2."""
    freq, s1, s2 = 5.57e9, 1e-4, 24.5
    lam = float(diffsc.penetration_depth(freq, s2, resistivity=RHO))
    z = complex(diffsc.surface_impedance(freq, s1, s2, thickness=60 * lam, resistivity=RHO))
    ref = 1j * 2 * np.pi * freq * mu_0 * lam * (1 - 1j * s1 / (2 * s2))
    assert abs(z / ref - 1) < 1e-6
    # exact semi-infinite value sqrt(j omega mu0 / sigma) for large d, including huge d (no overflow)
    z_inf = complex(diffsc.surface_impedance(freq, s1, s2, thickness=1.0, resistivity=RHO))
    exact = np.sqrt(1j * 2 * np.pi * freq * mu_0 * RHO / (s1 - 1j * s2))
    assert_close(z_inf.real, exact.real, rtol=1e-10)
    assert_close(z_inf.imag, exact.imag, rtol=1e-10)


def test_normal_metal_and_branches():
    """Normal thin film: Z_s = R_sq; principal branches give Re Z_s > 0, Im Z_s > 0."""
    z = complex(diffsc.surface_impedance(1e6, 1.0, 0.0, thickness=D_FILM, resistivity=RHO))
    assert_close(z.real, RHO / D_FILM, rtol=1e-6)
    rng = np.random.default_rng(7)
    s1 = 10 ** rng.uniform(-8, 0, 50)
    s2 = 10 ** rng.uniform(-2, 3, 50)
    d = 10 ** rng.uniform(-9, -5, 50)
    z = diffsc.surface_impedance(5e9, jnp.asarray(s1), jnp.asarray(s2), thickness=jnp.asarray(d), resistivity=RHO)
    assert np.all(np.real(z) > 0) and np.all(np.imag(z) > 0)


def test_surface_impedance_gradient():
    def fn(p):
        z = diffsc.surface_impedance(5.57e9, p[0], p[1], thickness=p[2], resistivity=RHO)
        return jnp.stack([jnp.real(z), jnp.imag(z)])

    p = np.array([1e-3, 24.5, 60e-9])
    jac = np.asarray(jax.jacfwd(fn)(jnp.asarray(p)))
    for k in range(3):
        e = np.zeros(3)
        e[k] = 1e-5 * p[k]
        fd = (np.asarray(fn(jnp.asarray(p + e))) - np.asarray(fn(jnp.asarray(p - e)))) / (2 * e[k])
        assert_close(jac[:, k], fd, rtol=1e-6, atol=1e-6 * np.abs(fd).max(), what=f"dZ/dp[{k}]")


@pytest.mark.parametrize(
    "call,name",
    [
        (lambda: diffsc.surface_impedance(5e9, 1e-3, 24.0, thickness=-1e-9, resistivity=RHO), "thickness"),
        (lambda: diffsc.surface_impedance(5e9, 1e-3, 24.0, thickness=1e-9, resistivity=0.0), "resistivity"),
        (lambda: diffsc.surface_impedance(0.0, 1e-3, 24.0, thickness=1e-9, resistivity=RHO), "freq"),
        (lambda: diffsc.surface_impedance(5e9, jnp.nan, 24.0, thickness=1e-9, resistivity=RHO), "sigma1"),
        (lambda: diffsc.kinetic_inductance_bcs(-1.0, GAP_A, sheet_resistance=1.0), "T"),
        (lambda: diffsc.penetration_depth(5e9, 0.0, resistivity=RHO), "sigma2"),
    ],
)
def test_bad_input_names_argument(call, name):
    with pytest.raises(Exception, match=f"`{name}`"):
        call()


# Every bad argument is named, eagerly and under jit (complex, string, empty, NaN, out of range,
# non-broadcasting shapes).
_FILM_FUNCS = {
    "surface_impedance": (diffsc.surface_impedance,
                          dict(freq=5e9, sigma1=1e-3, sigma2=24.0, thickness=D_FILM, resistivity=RHO)),
    "kinetic_inductance": (diffsc.kinetic_inductance, dict(freq=5e9, sigma2=24.0, sheet_resistance=0.15)),
    "kinetic_inductance_bcs": (diffsc.kinetic_inductance_bcs, dict(T=0.1, gap=GAP_A, sheet_resistance=0.15)),
    "penetration_depth": (diffsc.penetration_depth, dict(freq=5e9, sigma2=24.0, resistivity=RHO)),
    "penetration_depth_bcs": (diffsc.penetration_depth_bcs, dict(T=0.1, gap=GAP_A, resistivity=RHO)),
}
_FILM_OUT_OF_RANGE = {"freq": 0.0, "sigma1": -1e-3, "sigma2": -1.0, "thickness": 0.0,
                      "resistivity": -RHO, "sheet_resistance": 0.0, "T": -0.1, "gap": 0.0}


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
@pytest.mark.parametrize("func", list(_FILM_FUNCS))
def test_film_bad_input_matrix(func, case, jit):
    fn, kw = _FILM_FUNCS[func]
    if case == "shapes":
        a, b = list(kw)[:2]
        _named_error(fn, kw, {a: np.full(3, kw[a]), b: np.full(4, kw[b])}, jit)
        return
    for name, t in kw.items():
        value = {"complex": t + 1e-3j * t, "string": str(t), "empty": np.zeros(0), "nan": np.nan,
                 "range": _FILM_OUT_OF_RANGE[name]}[case]
        _named_error(fn, kw, {name: value}, jit)
