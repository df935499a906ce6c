"""Multiple Andreev reflection: limits, closed forms, an independent dense solve, gradients."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from helpers import central_difference
from scipy.integrate import quad
from scipy.signal import argrelmax

from diffsc import (
    constants,
    mar_current,
    mar_differential_conductance,
    mar_excess_current,
    normal_resistance,
    self_heating_temperature,
)
from diffsc._constriction._mar import (  # internal: the MAR recursion
    _breakpoints,
    _integrand,
    _nodes,
    hopping_from_transmission,
)

e, h_SI = constants.e, constants.h_SI

GAP = 1.35e-3  # eV, Pb (S-Pb)
G_Q = 2 * e**2 / h_SI


def _dense_integrand(w, v, tau, gap, eta, kT, N):
    """Independent reference: dense solve over both leads x harmonics x Nambu, physics-reference formula.

    Returns Tr tau3[(Sigma G+-)_{L0,L0} - (Sigma G+-)_{R0,R0}], whose integral times e/h is the current.
    """
    x = tau / (1 + np.sqrt(1 - tau)) ** 2
    t = np.sqrt(x)
    ns = np.arange(-N, N + 1)
    M = 2 * N + 1
    size = 4 * M

    def idx(lead, k):
        return (lead * M + (k + N)) * 2

    gr = np.zeros((size, size), complex)
    gpm = np.zeros((size, size), complex)
    sig = np.zeros((size, size), complex)
    pe, ph = np.diag([1.0, 0.0]), np.diag([0.0, 1.0])
    for lead in (0, 1):
        for k in ns:
            wn = w + k * v + 1j * eta
            g = np.array([[-wn, gap], [gap, -wn]]) / np.sqrt(gap**2 - wn**2 + 0j)
            i = idx(lead, k)
            gr[i : i + 2, i : i + 2] = g
            f = 1 / (np.exp((w + k * v) / kT) + 1) if kT > 0 else float(w + k * v < 0)
            gpm[i : i + 2, i : i + 2] = f * (g.conj().T - g)
    for k in ns:
        for m in ns:
            blk = t * (pe * (m == k + 1) - ph * (m == k - 1))
            if np.any(blk):
                i, j = idx(0, k), idx(1, m)
                sig[i : i + 2, j : j + 2] = blk
                sig[j : j + 2, i : i + 2] = blk.conj().T
    Gr = np.linalg.inv(np.linalg.inv(gr) - sig)
    one = np.eye(size)
    Gpm = (one + Gr @ sig) @ gpm @ (one + sig @ Gr.conj().T)
    SG = sig @ Gpm
    t3 = np.diag([1.0, -1.0])
    iL, iR = idx(0, 0), idx(1, 0)
    return np.trace(t3 @ SG[iL : iL + 2, iL : iL + 2]) - np.trace(t3 @ SG[iR : iR + 2, iR : iR + 2])


@pytest.mark.parametrize(
    "w,v,tau,eta,kT",
    [(0.3, 0.7, 0.5, 1e-3, 0.0), (-1.2, 0.4, 0.9, 1e-2, 0.1), (2.5, 1.3, 0.99, 1e-3, 0.0), (0.1, 0.2, 0.3, 1e-3, 0.05)],
)
def test_recursion_matches_dense_solve(w, v, tau, eta, kT):
    # the O(N_F) scalar recursion equals a dense inversion of the full two-lead Floquet-Nambu problem
    ref = _dense_integrand(w, v, tau, 1.0, eta, kT, 10).real / 2
    got = float(_integrand(w, v, float(hopping_from_transmission(tau)), 1.0, eta, kT, 10))
    assert got == pytest.approx(ref, rel=1e-9, abs=1e-14)


@pytest.mark.parametrize("T", [0.0, 4.2])
def test_normal_state_is_ohmic(T):
    # Delta = 0 (T >= Tc): I = (2e^2/h) sum(tau) V exactly
    taus = jnp.array([0.1, 0.7, 1.0])
    V = jnp.array([-2e-3, 1e-4, 3e-3])
    I = mar_current(V, taus, 0.0, T)
    np.testing.assert_allclose(np.asarray(I), G_Q * 1.8 * np.asarray(V), rtol=1e-6)
    assert float(normal_resistance(taus)) == pytest.approx(12906.40373 / 1.8, rel=1e-8)


def test_antisymmetric_and_channel_sum():
    V = jnp.array([1.1, 2.6]) * GAP
    taus = jnp.array([0.4, 0.95])
    V4 = jnp.concatenate([V, -V])
    both = mar_current(V4, taus, GAP, 1.0)
    np.testing.assert_allclose(np.asarray(both[2:]), -np.asarray(both[:2]), rtol=1e-12)
    # weights select single channels (same compiled kernel); their sum is the two-channel current
    single = [mar_current(V4, taus, GAP, 1.0, weights=jnp.array(w)) for w in ([1.0, 0.0], [0.0, 1.0])]
    np.testing.assert_allclose(np.asarray(both), np.asarray(single[0] + single[1]), rtol=1e-12)
    assert not np.allclose(np.asarray(single[0]), np.asarray(single[1]))


def test_tunnel_limit_is_bcs_quasiparticle_current():
    # tau -> 0: I = (G_N/e) int rho(E) rho(E+eV) [f(E)-f(E+eV)] dE (Dynes DOS with the same eta)
    tau, eta = 1e-3, 1e-3 * GAP
    RN = float(normal_resistance(tau))

    def rho(E):
        z = E + 1j * eta
        return abs((z / np.sqrt(z * z - GAP**2 + 0j)).real)

    volts = np.array([2.5, 3.0, 4.0]) * GAP
    I = np.asarray(mar_current(jnp.asarray(volts), tau, GAP, 0.0, dynes=eta))
    for v, i in zip(volts, I, strict=True):
        ref = quad(lambda E, v=v: rho(E) * rho(E + v), -v, 0, points=[-GAP, GAP - v], limit=400)[0] / RN
        # residual difference: O(tau) MAR corrections and O(eta/Delta) DOS tails (< 0.5 %)
        assert i == pytest.approx(ref, rel=5e-3)
    # the step at eV = 2 Delta has height pi Delta / (2 e R_N); below it only O(tau^2) subgap current
    I_step = np.asarray(mar_current(jnp.array([1.9, 2.02]) * GAP, tau, GAP, 0.0, dynes=1e-4 * GAP))
    assert I_step[0] * RN / GAP < 1e-2
    assert I_step[1] * RN / GAP == pytest.approx(np.pi / 2, rel=0.06)


@pytest.mark.parametrize("tau", [0.2, 0.5, 0.9, 1.0])
def test_excess_current_closed_form(tau):
    # I - V/R_N -> I_exc(tau) like 1/V; three-point Richardson in 1/V at 20, 40, 80 Delta.
    # n_nodes = 48 resolves the Delta-scale structure in the long segments at eV = 80 Delta.
    RN = float(normal_resistance(tau))
    vs = np.array([20.0, 40.0, 80.0])
    I = np.asarray(mar_current(jnp.asarray(vs * GAP), tau, GAP, 0.0, dynes=1e-5 * GAP, n_harmonics=8, n_nodes=48))
    ex = I * RN / GAP - vs
    assert np.all(np.diff(ex) > 0)  # approached from below
    extrap = (8 * ex[2] - 6 * ex[1] + ex[0]) / 3
    closed = float(mar_excess_current(tau, GAP)) * RN / GAP
    assert extrap == pytest.approx(closed, rel=2e-3)
    if tau == 1.0:
        assert closed == pytest.approx(8 / 3, rel=1e-9)


def test_excess_current_ballistic_finite_voltage():
    # tau = 1: single-Andreev-reflection formula plus the double-reflection estimate (physics ref. 7.7)
    RN = float(normal_resistance(1.0))
    vs = np.array([6.0, 20.0])
    I = np.asarray(mar_current(jnp.asarray(vs * GAP), 1.0, GAP, 0.0, dynes=1e-5 * GAP, n_harmonics=8, n_nodes=24))
    U = np.arccosh(vs)
    single = 2 * (1 + 0.5 * (1 - np.exp(-U)) - (1 - np.exp(-3 * U)) / 6)
    np.testing.assert_allclose(single, [2.583, 2.642], atol=1e-3)
    double = np.array([0.014, 0.001])
    np.testing.assert_allclose(I * RN / GAP - vs, single + double, atol=2e-3)


def test_excess_current_ballistic_pb_numbers():
    # 5 Ohm ballistic Pb neck: 8 Delta / (3 e R_N) = 0.72 mA
    n_ch = 12906.40373 / 5.0  # open ballistic channels of a 5 Ohm contact
    assert n_ch * float(mar_excess_current(1.0, GAP)) == pytest.approx(0.72e-3, rel=0.01)
    assert n_ch * float(mar_excess_current(jnp.array([1.0, 1.0]), GAP)) / 2 == pytest.approx(0.72e-3, rel=0.01)


def test_subharmonic_gap_structure_peaks():
    tau = 0.3
    V = jnp.linspace(0.44, 2.2, 45) * GAP
    g = np.asarray(mar_differential_conductance(V, tau, GAP, 0.0, dynes=2e-2 * GAP, n_harmonics=20, n_nodes=4, window=4.0))
    peaks = np.asarray(V / GAP)[argrelmax(g)[0]]
    for n in (1, 2, 3, 4):
        assert np.min(np.abs(peaks - 2 / n)) < 0.05, (n, peaks)


def test_convergence_in_harmonics():
    # eV = 0.5 Delta needs N_F >= 2 + (window + 4) Delta/eV = 22; errors shrink as N_F grows
    V = jnp.array([0.5 * GAP])
    cur = lambda n: float(mar_current(V, 0.8, GAP, 0.0, n_harmonics=n, n_nodes=6)[0])
    ref = cur(40)
    errs = [abs(cur(n) - ref) / ref for n in (6, 12, 24)]
    assert errs[0] > 1e-3 and errs[0] > errs[1] > errs[2]
    assert errs[2] < 1e-6


def test_dIdV_matches_finite_difference_and_gradients():
    V0 = 2.3 * GAP
    kw = dict(dynes=1e-2 * GAP, n_harmonics=8, n_nodes=8)
    f = lambda v: mar_current(jnp.array([v]), 0.6, GAP, 1.5, **kw)[0]
    g = float(mar_differential_conductance(jnp.array([V0]), 0.6, GAP, 1.5, **kw)[0])
    hstep = 1e-4 * GAP
    fd = (float(f(V0 + hstep)) - float(f(V0 - hstep))) / (2 * hstep)
    assert g == pytest.approx(fd, rel=1e-5)
    # gradient with respect to the gap and the transmission
    fg = lambda d, t: mar_current(jnp.array([V0]), t, d, 1.5, **kw)[0]
    dd, dt = jax.jacfwd(fg, argnums=(0, 1))(GAP, 0.6)
    fd_d = (float(fg(GAP * (1 + 1e-5), 0.6)) - float(fg(GAP * (1 - 1e-5), 0.6))) / (2e-5 * GAP)
    fd_t = (float(fg(GAP, 0.6 + 1e-6)) - float(fg(GAP, 0.6 - 1e-6))) / 2e-6
    assert float(dd) == pytest.approx(fd_d, rel=1e-4)
    assert float(dt) == pytest.approx(fd_t, rel=1e-5)


def _full_grid_current(V, tau, gap, T, *, dynes, n_harmonics, n_nodes, window):
    """Reference for the driver: the documented discretisation done the plain way, one voltage at a
    time, every segment of the breakpoint grid (zero-length ones included), the chain fixed at
    `n_harmonics`, each energy by `_integrand` (itself checked against the dense solve above)."""
    u, wu = _nodes(n_nodes)
    c, dcw = 0.5 * (1 - np.cos(np.pi * u)), 0.5 * np.pi * np.sin(np.pi * u) * wu
    x = float(hopping_from_transmission(tau))
    out = []
    for Vi, gi, Ti, di in np.broadcast(V, gap, T, dynes):
        if Vi == 0:
            out.append(0.0)
            continue
        unit = gi + abs(Vi)
        v, g, eta, kT = abs(Vi) / unit, gi / unit, di / unit, constants.k_B * Ti / unit
        bp = np.asarray(_breakpoints(v, g, kT, window, n_harmonics))
        a, b = bp[:-1, None], bp[1:, None]
        w, wt = (a + (b - a) * c).ravel(), ((b - a) * dcw).ravel()
        J = jax.vmap(lambda ww, v=v, g=g, eta=eta, kT=kT: _integrand(ww, v, x, g, eta, kT, n_harmonics))(w)
        out.append(np.sign(Vi) * 2 * e / constants.h * float(np.sum(wt * np.asarray(J))) * unit)  # h in eV s
    return np.array(out)


def test_segment_skipping_and_chunking_match_the_full_grid():
    # mar_current evaluates only the segments inside the energy window, sorted into chunks across
    # voltages; the reference integrates every segment of every voltage on its own. Voltages of both
    # signs, 0, low and high; a gap per voltage (broadcast), T > 0.
    V = np.array([0.0, 0.6, -1.3, 2.2, 4.0, -7.5]) * GAP
    gap = GAP * np.array([1.0, 0.9, 1.1, 1.0, 0.8, 1.0])
    kw = dict(dynes=2e-3 * GAP, n_harmonics=16, n_nodes=5, window=5.0)
    ref = _full_grid_current(V, 0.8, gap, 1.2, **kw)
    scale = GAP / float(normal_resistance(0.8))
    for adaptive in (False, True):
        got = np.asarray(mar_current(jnp.asarray(V), 0.8, jnp.asarray(gap), 1.2, adaptive_harmonics=adaptive, **kw))
        # fixed chain: the same sums in another order; adaptive: plus a truncation error < 1e-14
        # (measured: 5e-16 both)
        np.testing.assert_allclose(got, ref, rtol=1e-12, atol=1e-14 * scale)


@pytest.mark.parametrize("window", [4.0, 6.0])
def test_adaptive_harmonics_agree_with_a_long_fixed_chain(window):
    # per voltage the chain is cut to max(N_V, 7 + 5 Delta/eV) harmonics; against 48 everywhere the
    # relative difference stays below 1e-13 (measured: <= 5e-16) from 0.3 to 20 Delta, tau up to 1,
    # T = 0 and 4.2 K (the window then grows by 40 kT), weak and strong Dynes broadening
    V = jnp.array([0.3, 0.5, 0.8, 1.2, 1.4, 1.7, 2.0, 3.0, 5.0, 10.0, 20.0]) * GAP
    for tau, T, eta in [(0.5, 0.0, 1e-3), (0.95, 0.0, 1e-3), (1.0, 4.2, 2e-2), (0.95, 1.5, 2e-2)]:
        kw = dict(dynes=eta * GAP, n_harmonics=48, n_nodes=6, window=window)
        cut = np.asarray(mar_current(V, tau, GAP, T, **kw))
        full = np.asarray(mar_current(V, tau, GAP, T, adaptive_harmonics=False, **kw))
        np.testing.assert_allclose(cut, full, rtol=1e-13, err_msg=f"tau={tau} T={T}")


def test_each_voltage_is_independent_of_the_others():
    # segments of different voltages share chunks (and chain lengths differ per voltage): a voltage's
    # current must not depend on which other voltages come with it
    V = jnp.array([0.45, 3.0, -1.1, 9.0, 1.6, 0.0, 2.05]) * GAP
    kw = dict(dynes=1e-2 * GAP, n_harmonics=20, n_nodes=6)
    together = np.asarray(mar_current(V, jnp.array([0.3, 0.9]), GAP, 0.5, **kw))
    alone = np.array([float(mar_current(V[i : i + 1], jnp.array([0.3, 0.9]), GAP, 0.5, **kw)[0])
                      for i in range(V.shape[0])])
    np.testing.assert_allclose(together, alone, rtol=1e-14, atol=0.0)
    reordered = np.asarray(mar_current(V[::-1], jnp.array([0.3, 0.9]), GAP, 0.5, **kw))[::-1]
    np.testing.assert_allclose(reordered, together, rtol=1e-14, atol=0.0)
    mapped = np.asarray(jax.vmap(lambda v: mar_current(v, jnp.array([0.3, 0.9]), GAP, 0.5, **kw))(V))
    np.testing.assert_allclose(mapped, together, rtol=1e-14, atol=0.0)


def test_reverse_mode_equals_forward_mode_and_dIdV_matches_finite_difference_with_cut_chains():
    # grad (reverse mode through the chunk loop, the lax.cond of skipped sites and the scatter) equals
    # jacfwd; dI/dV at voltages whose chain is cut well below n_harmonics matches central differences
    V = jnp.array([0.7, 1.7, 2.6, 6.0]) * GAP
    kw = dict(dynes=1e-2 * GAP, n_harmonics=24, n_nodes=6)
    loss = lambda g, t, v: jnp.sum(mar_current(v, t, g, 1.0, **kw) * jnp.array([1.0, -2.0, 0.5, 0.3])) * 1e6
    args = (GAP, jnp.array([0.4, 0.85]), V)
    rev = jax.grad(loss, argnums=(0, 1, 2))(*args)
    fwd = jax.jacfwd(loss, argnums=(0, 1, 2))(*args)
    for r, f in zip(rev, fwd, strict=True):
        np.testing.assert_allclose(np.asarray(r), np.asarray(f), rtol=1e-12)  # measured 3e-15
    G = np.asarray(mar_differential_conductance(V, 0.85, GAP, 1.0, **kw))
    current = jax.jit(jax.vmap(lambda v: mar_current(v, 0.85, GAP, 1.0, **kw)))
    fd = np.array([central_difference(lambda v: float(current(jnp.array([v]))[0]), float(v0), rel_step=1e-5)
                   for v0 in V])
    np.testing.assert_allclose(G, fd, rtol=1e-7)  # measured <= 3e-10


def test_adaptive_harmonics_must_be_a_bool():
    with pytest.raises(TypeError, match="`adaptive_harmonics`"):
        mar_current(1e-3, 0.5, GAP, adaptive_harmonics=1)


@pytest.mark.parametrize(
    "kwargs,name",
    [({"transmission": 1.5}, "transmission"), ({"T": -1.0}, "T"), ({"gap": -1e-3}, "gap"), ({"V": np.nan}, "V")],
)
def test_bad_input_names_argument(kwargs, name):
    args = {"V": 1e-3, "transmission": 0.5, "gap": GAP, "T": 0.0} | kwargs
    with pytest.raises(Exception, match=f"`{name}`"):
        mar_current(**args)


@pytest.mark.slow
def test_pin_code_fit_recovers_gap_and_transmissions():
    # synthetic noisy I(V) of two channels; LM fit (forward-mode Jacobian) recovers the truth within 3 sigma
    from diffsc import fit_mar

    taus = jnp.array([0.35, 0.85])
    V = jnp.linspace(1.0, 3.0, 16) * GAP
    kw = dict(dynes=2e-2 * GAP, n_harmonics=10, n_nodes=4, window=4.0)
    I0 = mar_current(V, taus, GAP, 0.0, **kw)
    sigma = 0.003 * float(jnp.max(I0))
    noisy = I0 + sigma * jax.random.normal(jax.random.PRNGKey(3), I0.shape)
    fit = fit_mar(V, noisy, sigma, transmission_guess=jnp.array([0.2, 0.7]), gap_guess=1.2e-3,
                  T=0.0, max_steps=40, **kw)
    assert bool(fit.success)
    t_fit, t_std = np.asarray(fit.params["transmission"]), np.asarray(fit.std["transmission"])
    order = np.argsort(t_fit)
    assert np.all(np.abs(t_fit[order] - np.asarray(taus)) < 3 * t_std[order] + 1e-12)
    assert np.all(t_std < 0.05)
    assert abs(float(fit.params["gap"]) - GAP) < 3 * float(fit.std["gap"])
    assert 0.25 < float(fit.reduced_chi2) < 2.5  # 13 degrees of freedom


@pytest.mark.slow
def test_fit_mar_old_names_transmission0_gap0_still_work_with_a_deprecation_warning():
    """The starting guesses are `transmission_guess`/`gap_guess` (`gap0` is the zero-temperature gap
    elsewhere); the old keywords give the same fit, with a warning; both spellings is an error."""
    from diffsc import fit_mar

    gap = 1.8e-4
    V = jnp.linspace(1.0, 3.0, 6) * gap
    kw = dict(dynes=2e-2 * gap, n_harmonics=4, n_nodes=2, window=2.0, fit_gap=False, max_steps=4)
    current = mar_current(V, jnp.array([0.5]), gap, 0.0, dynes=kw["dynes"], n_harmonics=4,
                          n_nodes=2, window=2.0)
    new = fit_mar(V, current, 1e-9, transmission_guess=jnp.array([0.4]), gap_guess=gap, **kw)
    with pytest.warns(DeprecationWarning, match="`transmission0` is deprecated.*`transmission_guess`"):
        with pytest.warns(DeprecationWarning, match="`gap0` is deprecated.*`gap_guess`"):
            old = fit_mar(V, current, 1e-9, transmission0=jnp.array([0.4]), gap0=gap, **kw)
    np.testing.assert_array_equal(old.params["transmission"], new.params["transmission"])
    np.testing.assert_array_equal(old.std["transmission"], new.std["transmission"])
    with pytest.raises(TypeError, match="pass `gap_guess` only"):
        fit_mar(V, current, 1e-9, jnp.array([0.4]), gap, gap0=gap, **kw)
    with pytest.raises(TypeError, match="missing required argument `gap_guess`"):
        fit_mar(V, current, 1e-9, jnp.array([0.4]), **kw)


# --- input validation (reliability issue): named errors instead of NaN / wrong numbers ---


@pytest.mark.parametrize("tau", [0.0, -0.1, 1.5, np.nan])
def test_excess_current_transmission_must_lie_in_0_1(tau):
    # mar_excess_current(0.0, gap) used to be NaN
    with pytest.raises(RuntimeError, match="`transmission`"):
        mar_excess_current(tau, GAP)
    with pytest.raises(Exception, match="`transmission`"):
        jax.block_until_ready(jax.jit(mar_excess_current)(tau, GAP))
    with pytest.raises(Exception, match="`transmission`"):
        jax.block_until_ready(jax.jit(jax.vmap(mar_excess_current))(jnp.array([0.5, tau]), jnp.full(2, GAP)))


def test_excess_current_gap_zero_is_zero_and_shapes_are_checked():
    assert float(mar_excess_current(0.7, 0.0)) == 0.0  # no gap, no excess current
    with pytest.raises(ValueError, match="`transmission`.*`gap`"):
        mar_excess_current(jnp.full(3, 0.5), jnp.full(4, GAP))


@pytest.mark.parametrize(
    "call,name",
    [
        (lambda: normal_resistance(1.5), "transmission"),
        (lambda: normal_resistance(0.0), "transmission"),
        (lambda: normal_resistance(jnp.array([0.5, 0.6]), weights=jnp.array([1.0, -1.0])), "weights"),
        (lambda: normal_resistance(jnp.array([0.5, 0.6]), weights=jnp.zeros(2)), "weights"),
        (lambda: normal_resistance(jnp.array([0.5, 0.6]), weights=jnp.ones(3)), "weights"),
        (lambda: mar_current(1e-3, jnp.array([0.5, 0.6]), GAP, weights=jnp.ones(3)), "weights"),
        (lambda: mar_current(1e-3, 0.5, GAP, weights=jnp.nan), "weights"),
        (lambda: mar_current(1e-3, 0.5, GAP, dynes=0.0), "dynes"),
        (lambda: mar_current(1e-3, 0.5, GAP, n_harmonics=1.5), "n_harmonics"),
        (lambda: mar_current(1e-3, 0.5, GAP, n_nodes=0), "n_nodes"),
        (lambda: mar_current(1e-3, 0.5, GAP, window=np.inf), "window"),
        (lambda: mar_current(1e-3, 0.5, GAP, window="6"), "window"),
        (lambda: mar_differential_conductance("1e-3", 0.5, GAP), "V"),
        (lambda: mar_differential_conductance(1e-3 + 0j, 0.5, GAP), "V"),
    ],
)
def test_bad_options_name_the_argument(call, name):
    with pytest.raises(Exception, match=f"`{name}`"):
        jax.block_until_ready(call())


def test_mar_shapes_name_the_arguments():
    with pytest.raises(ValueError, match="`V`.*`gap`"):
        mar_current(jnp.full(3, 1e-3), 0.5, jnp.full(4, GAP))
    with pytest.raises(ValueError, match="`V`.*`T_bath`"):
        self_heating_temperature(jnp.full(3, 1e-3), jnp.full(4, 1.0))


def test_unheated_contact_at_zero_bath_temperature_has_finite_conductance():
    """T_bath = 0, heating = 0: T_loc = 0 with zero derivative, and dI/dV equals the unheated
    model's (sqrt's infinite slope at 0 once made every dI/dV NaN)."""
    import diffsc

    pb = diffsc.material("Pb")
    V = jnp.linspace(0.6, 3.0, 5) * 2 * float(pb.gap0)
    assert float(self_heating_temperature(0.0, 0.0, 0.0)) == 0.0
    assert float(jax.grad(lambda v: self_heating_temperature(v, 0.0, 0.0))(1e-3)) == 0.0
    kw = dict(dynes=1e-2 * float(pb.gap0), n_harmonics=12)
    heated = jax.vmap(jax.grad(lambda v: diffsc.mar_current_heated(v, 0.6, pb, 0.0, heating=0.0, **kw)))(V)
    plain = jax.vmap(jax.grad(lambda v: mar_current(v, 0.6, float(diffsc.gap(0.0, pb)), 0.0, **kw)))(V)
    assert np.all(np.isfinite(heated))
    np.testing.assert_allclose(heated, plain, rtol=1e-12)
