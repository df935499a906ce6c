"""Property-based tests over the whole public API (hypothesis).

For every function in ``api_registry.REGISTRY`` (which must cover ``diffsc.__all__``): random
valid inputs across the physical ranges, including the edges (T = 0, frequencies across
2*gap/h), give finite values and, for differentiable functions, finite gradients with respect to
every real argument. Invalid input is covered by ``test_api_bad_input.py``.
"""

import inspect
import math

import jax
import numpy as np
import pytest
from api_registry import NOT_REGISTERED, REGISTRY, Real, all_finite, scalar_output
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import diffsc

LIGHT = [e for e in REGISTRY if not e.heavy]


def test_every_public_function_is_registered():
    """A new public function fails here until its arguments are described in api_registry.py."""
    public = {n for n in diffsc.__all__
              if callable(getattr(diffsc, n)) and not inspect.isclass(getattr(diffsc, n))}
    registered = {e.name for e in REGISTRY}
    assert not registered & set(NOT_REGISTERED), "listed twice"
    missing = public - registered - set(NOT_REGISTERED)
    assert not missing, f"public functions missing from tests/api_registry.py: {sorted(missing)}"
    stale = (registered | set(NOT_REGISTERED)) - public
    assert not stale, f"registry names that are not public functions: {sorted(stale)}"
    for e in REGISTRY:
        params = inspect.signature(e.fn()).parameters
        assert set(e.args) <= set(params), (e.name, set(e.args) - set(params))


def _strategy(arg: Real):
    if arg.lo > 0 and arg.hi / arg.lo > 100:
        core = st.floats(math.log10(arg.lo), math.log10(arg.hi)).map(lambda v: 10.0**v)
    else:
        core = st.floats(arg.lo, arg.hi)
    return st.one_of(st.sampled_from(arg.include), core) if arg.include else core


def _drawn(entry):
    """The scalar arguments hypothesis draws (array-valued ones keep their typical values)."""
    return {k: a for k, a in entry.args.items()
            if k not in entry.typical and not entry.fixed_shapes.get(k, entry.shape)}


_COMPILED = {}


def _compiled(entry):
    """jit-compiled value and gradient of one entry, reused across hypothesis examples."""
    if entry.name not in _COMPILED:
        base = entry.typical_values()

        def value(drawn):
            return entry.call({**base, **drawn})

        grad = jax.jit(jax.grad(lambda drawn: scalar_output(value(drawn)))) if entry.grad else None
        _COMPILED[entry.name] = (jax.jit(value), grad)
    return _COMPILED[entry.name]


@pytest.mark.parametrize("entry", LIGHT, ids=[e.name for e in LIGHT])
def test_valid_input_gives_finite_values_and_gradients(entry):
    drawn_args = _drawn(entry)
    value, grad = _compiled(entry)

    @settings(max_examples=8, deadline=None, derandomize=True,
              suppress_health_check=[HealthCheck.too_slow])
    @given(st.fixed_dictionaries({k: _strategy(a) for k, a in drawn_args.items()}))
    def check(drawn):
        drawn = {k: np.float64(v) for k, v in drawn.items()}
        out = value(drawn)
        assert all_finite(out), f"{entry.name}{drawn} -> {out}"
        if grad is not None and drawn:
            g = grad(drawn)
            assert all(np.isfinite(np.asarray(v)) for v in g.values()), f"grad {entry.name}{drawn} -> {g}"

    check()


def test_temperature_edges_and_frequencies_across_the_gap():
    """The edges hypothesis may miss: T exactly 0 and just above, T at Tc, h*nu across 2*gap."""
    al = diffsc.material("Al")
    gap0 = al.gap0
    nu_2gap = 2 * gap0 / diffsc.constants.h
    freq = nu_2gap * np.array([0.5, 0.999, 1.001, 2.0])
    sigma = jax.jit(lambda t: diffsc.mattis_bardeen(freq, t, diffsc.gap(t, al)))
    d_sigma = jax.jit(jax.grad(lambda t: scalar_output(diffsc.mattis_bardeen(freq, t, diffsc.gap(t, al)))))
    d_gap = jax.jit(jax.grad(lambda t: diffsc.gap(t, al)))
    d_nqp = jax.jit(jax.grad(lambda t: diffsc.thermal_nqp(t, gap0, al.N0)))
    for T in (0.0, 1e-300, 1e-20, 0.05, al.Tc * (1 - 1e-9), al.Tc, 2 * al.Tc):
        T = np.float64(T)
        assert all_finite(sigma(T)), T
        for d in (d_sigma, d_gap, d_nqp):
            assert np.isfinite(d(T)), (T, d)
    assert diffsc.gap(al.Tc, al) == 0.0 and jax.grad(diffsc.gap)(al.Tc, al) == 0.0
