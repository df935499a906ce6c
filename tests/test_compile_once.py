"""Every fit entry point compiles once: a second identical call (same options, same shapes, new
data values) runs the compiled program of the first and compiles nothing.

Compilations are counted with JAX's backend-compile monitoring event. The problems are tiny; the
compile time of the first call is the cost being guarded against (a closure rebuilt per call made
every ``fit_mar`` call recompile, ~20 s each even for this problem, and ~130 s for real data).
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import diffsc

_COMPILES = [0]


def _count(event, duration, **kwargs):
    if event == "/jax/core/compile/backend_compile_duration":
        _COMPILES[0] += 1


jax.monitoring.register_event_duration_secs_listener(_count)


def _compiles(fn):
    """Number of backend compilations while running ``fn()`` to completion."""
    before = _COMPILES[0]
    jax.block_until_ready(jax.tree.leaves(fn(), is_leaf=lambda x: x is None))
    return _COMPILES[0] - before


def assert_compiles_once(make_call):
    """``make_call(k)`` returns a zero-argument call on data set ``k``; calls 1 and 2 (other
    values, same shapes) must not compile after call 0 did."""
    _compiles(make_call(0))
    assert _compiles(make_call(1)) == 0
    assert _compiles(make_call(1)) == 0


def _decay(p, args):
    x, y = args
    return p["A"] * jnp.exp(-p["k"] * x) - y


def _decay_loss(p, args):
    return 0.5 * jnp.sum(_decay(p, args) ** 2)


X = jnp.linspace(0.0, 1.0, 20)


def _y(k):
    return (2.0 + 0.1 * k) * jnp.exp(-1.3 * X)


def test_least_squares_compiles_once():
    assert_compiles_once(lambda k: lambda: diffsc.least_squares(_decay, {"A": 1.0, "k": 1.0},
                                                                 (X, _y(k))))


@pytest.mark.parametrize("method", ["lbfgs", "adam"])
def test_minimize_compiles_once(method):
    assert_compiles_once(lambda k: lambda: diffsc.minimize(
        _decay_loss, {"A": 1.0, "k": 1.0}, (X, _y(k)), method=method, max_steps=50))


def test_fit_s21_compiles_once():
    f = jnp.linspace(5e9 - 2e6, 5e9 + 2e6, 201)
    rng = np.random.default_rng(0)

    def call(k):
        noise = (1e-3 * rng.normal(size=f.shape)).astype(complex)  # explicit: strict promotion
        s = diffsc.s21_notch(f, 5e9 + 1e3 * k, 1e5, 1e5) + noise
        return lambda: diffsc.fit_s21(f, s).params

    assert_compiles_once(call)


def test_fit_impedance_spectrum_compiles_once():
    fig5 = dict(C=4.09e-8, G=1.5e-5, alpha=65.0, beta=15.0)
    op = dict(R=0.75e-3, T=7.2, I=0.02)
    freq = jnp.logspace(0, np.log10(2000.0), 25)

    def call(k):
        z = diffsc.electrothermal_impedance(freq, **op, **dict(fig5, C=4.09e-8 * (1 + 0.1 * k)))
        return lambda: diffsc.fit_impedance_spectrum(freq, z.imag, **op,
                                                      params0=dict(fig5, C=6e-8), sigma=1e-6)

    assert_compiles_once(call)


def test_recover_heat_capacity_compiles_once():
    T = jnp.linspace(6.95, 7.45, 21)
    m = diffsc.TransitionModel(R_n=1.5e-3, Tc=7.2, width=0.06)
    I, beta, G, freqs = 0.01, 1.5, 1.5e-5, jnp.array([7.0, 32.0])
    R = m(T)

    def call(k):
        C = (9.4e-8 + 1e-9 * k) * (T / 7.2) ** 3
        im = diffsc.electrothermal_impedance(freqs[:, None], R=R[None, :], T=T[None, :], I=I,
                                             alpha=m.alpha(T)[None, :], beta=beta,
                                             C=C[None, :], G=G).imag
        return lambda: diffsc.recover_heat_capacity(T, im, R=R, freq=freqs, I=I, beta=beta, G=G,
                                                    n_lam=3)

    assert_compiles_once(call)


@pytest.mark.slow
def test_fit_mar_compiles_once():
    gap = 1.8e-4
    V = jnp.linspace(1.0, 3.0, 6) * gap
    kw = dict(dynes=2e-2 * gap, n_harmonics=4, n_nodes=2, window=2.0)

    def call(k):
        current = diffsc.mar_current(V, jnp.array([0.5 + 0.01 * k]), gap, 0.0, **kw)
        return lambda: diffsc.fit_mar(V, current, 1e-9, jnp.array([0.4]), gap, fit_gap=False,
                                      max_steps=4, **kw)

    assert_compiles_once(call)


@pytest.mark.slow
def test_fit_power_sweep_compiles_once():
    from diffsc import calibrate_geometry, surface_impedance

    al, f0 = diffsc.material("Al"), 5.57e9
    s1, s2 = diffsc.mattis_bardeen(f0, 0.06, diffsc.gap(0.06, al))
    zs = surface_impedance(f0, s1, s2, thickness=60e-9, resistivity=al.resistivity)
    geom = calibrate_geometry(diffsc.Microstrip(3e-6, 1e-6, 60e-9, 9.84e-3, 6.0), zs, f0, f0)
    T, P = np.array([0.2, 0.3]), np.array([-90.0, -70.0])

    def call(k):
        resp = diffsc.HeatingResponse(al, sigma_ep=5e8 * (1 + 0.1 * k))
        sol = jax.vmap(lambda t, p: diffsc.power_loop(p, t, resp, geom, Qc=20100.0, freq=f0,
                                                      Qi_extra=3e5))(jnp.asarray(T), jnp.asarray(P))
        return lambda: diffsc.fit_power_sweep(P, T, sol.Qi, sol.f_res, diffsc.HeatingResponse(al),
                                              geom, {"response.sigma_ep": 1e9}, Qc=20100.0,
                                              freq=f0, max_steps=3)

    assert_compiles_once(call)


# An eager call of a forward model compiles one program, not one per JAX operation: op by op,
# mattis_bardeen compiled 83 programs and took ~5 s before its first result, and none of them
# was large enough for JAX's on-disk cache to keep. The bound 3 leaves room for JAX's own tiny
# "stage" programs that move a NumPy input of a new shape (array or scalar) to the device.
_TM = diffsc.TransitionModel(R_n=1.5e-3, Tc=7.2, width=0.04)
_EAGER = {
    "mattis_bardeen": (3, lambda n: diffsc.mattis_bardeen(np.linspace(1e9, 2e10, n), 0.2, 180e-6)),
    "s21_notch": (3, lambda n: diffsc.s21_notch(np.linspace(5.99e9, 6.01e9, n), 6e9, 2e5, 5e4,
                                                phi=0.1, a=0.5)),
    "electrothermal_impedance": (3, lambda n: diffsc.electrothermal_impedance(
        np.logspace(0, 3, n), R=1e-3, T=7.2, I=0.01, alpha=50.0, C=1.7e-7, G=1.5e-5)),
    "gap": (3, lambda n: diffsc.gap(np.linspace(0.05, 1.3, n), diffsc.material("Al"))),
    "TransitionModel.alpha": (3, lambda n: _TM.alpha(np.linspace(7.0, 7.4, n))),
}


@pytest.mark.parametrize("name", list(_EAGER))
def test_an_eager_call_compiles_one_program(name):
    bound, call = _EAGER[name]
    n = 37 + 2 * list(_EAGER).index(name)  # a shape no other test here uses
    assert _compiles(lambda: call(n)) <= bound
    assert _compiles(lambda: call(n)) == 0
