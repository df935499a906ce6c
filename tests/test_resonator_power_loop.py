"""Power loop: self-consistency of the fixed point, limits, extra loss channel, implicit gradients.

Uses the (cheap) thermal heating response; the kinetic response goes through the same code path
(it only replaces the response model) and is exercised by the resonator figure and notebook.
"""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import diffsc
from diffsc._bcs import gap
from diffsc._film import surface_impedance
from diffsc._mattis_bardeen import mattis_bardeen
from diffsc._power_loop import HeatingResponse, power_loop
from diffsc._resonator import absorbed_power
from diffsc._resonator_geometry import Microstrip, calibrate_geometry, resonator_from_conductivity

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

