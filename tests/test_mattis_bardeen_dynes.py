"""Mattis–Bardeen conductivity with Dynes broadening (diffsc.mattis_bardeen_dynes).

Reference values come from independent adaptive quadrature (scipy.integrate.quad) of Nam's
integrals on the full, unfolded energy axis, from the Gamma -> 0 limit (diffsc.mattis_bardeen),
from closed-form T = 0 limits derived from the Dynes retarded functions, and from the
Kramers–Kronig relation between sigma1 and sigma2.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.integrate import quad

import diffsc

# quad's round-off warnings on the reference pieces (whose results are checked against each other)
pytestmark = pytest.mark.filterwarnings("ignore::scipy.integrate.IntegrationWarning")

H = diffsc.constants.h
KB = diffsc.constants.k_B
GAP = 180e-6  # eV


def _args(r, tau, gamma, gap=GAP):
    """(freq, T, gap, dynes) from photon energy, temperature and broadening in units of the gap."""
    return r * gap / H, tau * gap / KB, gap, gamma * gap


def _green(e, g):
    u = e + 1j * g
    s = np.sqrt(u - 1) * np.sqrt(u + 1)  # retarded branch: Im s > 0
    return (u / s).real, (u / s).imag, (1 / s).real, (1 / s).imag


def _pieces(f, pts, g):
    kw = dict(epsabs=0, epsrel=1e-13, limit=400)
    total = 0.0
    for a, b in zip(pts[:-1], pts[1:], strict=True):
        if b <= a:
            continue
        k = np.geomspace(min(g, (b - a) / 4) * 1e-3, (b - a) / 2, 25)
        edges = np.unique(np.clip(np.concatenate([a + k, b - k, [a, b]]), a, b))
        total += sum(quad(f, x, y, **kw)[0] for x, y in zip(edges[:-1], edges[1:], strict=True)
                     if y > x)
    return total


def _reference(r, tau, g):
    r"""Nam's integrals by adaptive quadrature on the whole energy axis (units of the gap):
    $\sigma_1=\frac1r\int[f(e)-f(e+r)][n n'+p p']$, $\sigma_2=-\frac1r\int\tanh\frac{e+r}{2\tau}[m n'+q p']$."""

    def i1(e):
        n0, _, p0, _ = _green(e, g)
        n1, _, p1, _ = _green(e + r, g)
        if tau > 0:
            window = 0.5 * (np.tanh(0.5 * (e + r) / tau) - np.tanh(0.5 * e / tau))
        else:
            window = 1.0 if -r < e < 0 else 0.0
        return window * (n0 * n1 + p0 * p1)

    def i2(e):
        _, m0, _, q0 = _green(e, g)
        n1, _, p1, _ = _green(e + r, g)
        th = np.tanh(0.5 * (e + r) / tau) if tau > 0 else np.sign(e + r)
        return -th * (m0 * n1 + q0 * p1)

    pts = sorted({-1 - r, -r, 1 - r, -1.0, 0.0, 1.0})
    if tau > 0:
        s1 = _pieces(i1, [pts[0] - 80 * tau, *pts, pts[-1] + 80 * tau], g)
    else:
        s1 = _pieces(i1, [p for p in pts if -r <= p <= 0], g)
    big = 10.0 * (2 + r)
    s2 = _pieces(i2, [-big, *pts, big], g)
    s2 += quad(i2, -np.inf, -big, epsabs=0, epsrel=1e-13)[0]
    s2 += quad(i2, big, np.inf, epsabs=0, epsrel=1e-13)[0]
    return s1 / r, s2 / r


# (r = h nu / gap, tau = k_B T / gap, gamma = Gamma / gap): below, at and above 2 gap, h nu = gap
# (a broadened peak on the Fermi step), T = 0 to near T_c.
CASES = [
    (0.1, 0.0, 1e-3),
    (0.1, 0.08, 1e-2),
    (1.0, 0.0, 1e-3),
    (1.9, 0.3, 0.1),
    (2.0, 0.0, 1e-2),
    (3.0, 0.05, 1e-3),
    (30.0, 0.5, 0.1),
    (0.01, 1.0, 1e-2),
]


@pytest.mark.parametrize("case", CASES)
def test_agrees_with_adaptive_quadrature(case):
    """Fixed rules vs adaptive quad of the unfolded integrals: 1e-7 relative (measured <= 2e-9
    over a 390-point grid, module docstring)."""
    s1, s2 = diffsc.mattis_bardeen_dynes(*_args(*case))
    r1, r2 = _reference(*case)
    np.testing.assert_allclose(float(s1), r1, rtol=1e-7)
    np.testing.assert_allclose(float(s2), r2, rtol=1e-7)


@pytest.mark.parametrize("r", [0.1, 3.0])
@pytest.mark.parametrize("tau", [0.0, 0.05, 0.1])
def test_gamma_to_zero_gives_mattis_bardeen(r, tau):
    """Differences from Mattis–Bardeen are O(Gamma/gap) and shrink ~10x per decade of Gamma.

    sigma2: |d sigma2| <= 2 gamma sigma2 (at T = 0, x << gap: -2 gamma / pi relative). sigma1:
    <= 20 gamma sigma1 + 2 gamma^2 (thermal quasiparticles at the broadened edge: ~14 gamma
    relative at tau = 0.1; sub-gap absorption gamma^2 where MB gives ~0).
    """
    freq, T, gap, _ = _args(r, tau, 0.0)
    m1, m2 = (float(v) for v in diffsc.mattis_bardeen(freq, T, gap))
    diffs = []
    for gamma in (1e-3, 1e-4):
        d1, d2 = (float(v) for v in diffsc.mattis_bardeen_dynes(freq, T, gap, gamma * gap))
        assert abs(d1 - m1) <= 20 * gamma * m1 + 2 * gamma**2
        assert abs(d2 - m2) <= 2 * gamma * m2
        diffs.append(abs(d2 - m2))
    assert 0.05 < diffs[1] / diffs[0] < 0.2  # linear in Gamma
    # dynes = 0 is mattis_bardeen itself
    z1, z2 = diffsc.mattis_bardeen_dynes(freq, T, gap, 0.0)
    assert float(z1) == m1 and float(z2) == m2


@pytest.mark.parametrize("gamma", [1e-3, 1e-2, 0.1])
def test_subgap_absorption_at_zero_temperature(gamma):
    r"""$T=0$, $h\nu\to0$: $\sigma_1/\sigma_N\to n(0)^2+p(0)^2=\Gamma^2/(\Gamma^2+\Delta^2)$.

    At $E=0$, $u=i\Gamma$, $\sqrt{u^2-\Delta^2}=i\sqrt{\Gamma^2+\Delta^2}$, so $n(0)=\Gamma/
    \sqrt{\Gamma^2+\Delta^2}$ and $p(0)=0$; the window $[-h\nu,0]$ adds $O((h\nu/\Delta)^2)$
    (measured $0.83\,r^2$). Quadratic in $\Gamma$: doubling $\Gamma$ multiplies $\sigma_1$ by ~4.
    """
    r = 1e-3
    s1, _ = diffsc.mattis_bardeen_dynes(*_args(r, 0.0, gamma))
    np.testing.assert_allclose(float(s1), gamma**2 / (1 + gamma**2), rtol=2e-6)
    s1_double, _ = diffsc.mattis_bardeen_dynes(*_args(r, 0.0, 2 * gamma))
    expected = 4 * (1 + gamma**2) / (1 + 4 * gamma**2)
    np.testing.assert_allclose(float(s1_double / s1), expected, rtol=1e-5)


@pytest.mark.parametrize("gamma", [1e-4, 1e-3, 1e-2, 0.1])
def test_superfluid_response_at_zero_temperature(gamma):
    r"""$T=0$, $x=h\nu\ll\Delta$: $x\,\sigma_2/\sigma_N\to2\Delta\arctan(\Delta/\Gamma)$.

    $x\sigma_2/\sigma_N\to-\int\tanh\frac{E}{2T}[mn+qp]\,dE=-\Delta^2\int\mathrm{sgn}E\,
    \operatorname{Im}\frac{1}{u^2-\Delta^2}dE=2\Delta\arctan(\Delta/\Gamma)$, i.e.
    $\pi\Delta/x$ (Mattis–Bardeen) reduced by $2\Gamma/x$ to first order; the finite frequency
    adds $-(x/\Delta)^2/16$ relative as for Mattis–Bardeen.
    """
    r = 1e-3
    _, s2 = diffsc.mattis_bardeen_dynes(*_args(r, 0.0, gamma))
    np.testing.assert_allclose(r * float(s2), 2 * np.arctan(1 / gamma), rtol=1e-6)
    # O(Gamma) reduction relative to pi gap / x: -2 gamma / pi
    rel = r * float(s2) / np.pi - 1
    np.testing.assert_allclose(rel, -2 * gamma / np.pi, rtol=0.01, atol=1e-6)


def test_kramers_kronig():
    r"""$\sigma_2$ follows from $\sigma_1$: with $S=\frac2\pi\int_0^\infty(1-\sigma_1)\,dr'$ (the
    superfluid weight, Ferrell–Glover–Tinkham),
    $\sigma_2(r)=\frac{S}{r}-\frac{2r}{\pi}\,\mathrm{P}\!\int_0^\infty\frac{\sigma_1(r')-1}{r'^2-r^2}dr'$.
    Checks the sigma2 formula independently of the Gamma -> 0 limit (T = 0, gamma = 0.1)."""
    gamma = 0.1
    s1_fn = jax.jit(lambda r: diffsc.mattis_bardeen_dynes(*_args(r, 0.0, gamma))[0])

    def s1m1(rp):
        return float(s1_fn(rp)) - 1.0

    kw = dict(epsabs=1e-10, limit=400)
    r0 = 1e-9  # freq > 0; the omitted [0, r0] changes S by < r0
    weight = 2 / np.pi * -(quad(s1m1, r0, 2, **kw)[0] + quad(s1m1, 2, 50, **kw)[0]
                           + quad(s1m1, 50, np.inf, **kw)[0])
    for r in (0.5, 2.5):
        pv = quad(lambda rp, r=r: s1m1(rp) / (rp + r), r0, 10, weight="cauchy", wvar=r, **kw)[0]
        pv += quad(lambda rp, r=r: s1m1(rp) / (rp**2 - r**2), 10, np.inf, **kw)[0]
        expected = weight / r - 2 * r / np.pi * pv
        _, s2 = diffsc.mattis_bardeen_dynes(*_args(r, 0.0, gamma))
        np.testing.assert_allclose(float(s2), expected, rtol=1e-6)


def test_gradients_match_finite_differences():
    """d/d(dynes), d/dT, d/dgap, d/dfreq vs central differences (relative 1e-6)."""
    freq, T, gap, dynes = _args(0.3, 0.1, 0.01)

    def both(fr, t, g, d):
        s1, s2 = diffsc.mattis_bardeen_dynes(fr, t, g, d)
        return jnp.stack([s1, s2])

    jac = jax.jit(jax.jacfwd(both, argnums=(0, 1, 2, 3)))(freq, T, gap, dynes)
    args = [freq, T, gap, dynes]
    for i, d in enumerate(jac):
        step = 1e-5 * args[i]
        hi, lo = list(args), list(args)
        hi[i] += step
        lo[i] -= step
        fd = (np.asarray(both(*hi)) - np.asarray(both(*lo))) / (2 * step)
        np.testing.assert_allclose(np.asarray(d), fd, rtol=1e-6)
    # reverse mode agrees with forward mode
    g_rev = jax.grad(lambda d_: diffsc.mattis_bardeen_dynes(freq, T, gap, d_)[0])(dynes)
    np.testing.assert_allclose(float(g_rev), float(jac[3][0]), rtol=1e-10)


def test_gradients_finite_at_edges():
    """T = 0, dynes = 0 and gap = 0 give finite gradients (double-where, k_B T floor)."""
    grad = jax.jit(
        jax.grad(lambda fr, t, g, d: sum(diffsc.mattis_bardeen_dynes(fr, t, g, d)), (0, 1, 2, 3))
    )
    for args in [(5e9, 0.0, GAP, 1e-7), (5e9, 0.1, GAP, 0.0), (5e9, 0.1, 0.0, 1e-7)]:
        assert all(np.isfinite(float(v)) for v in grad(*args))
    assert float(grad(5e9, 0.0, GAP, 1e-7)[1]) == 0.0


def test_jit_vmap_broadcast_and_normal_state():
    freq = np.array([2e9, 5e9, 1e11])
    dynes = np.array([[1e-8], [1e-6]])
    s1, s2 = diffsc.mattis_bardeen_dynes(freq, 0.05, GAP, dynes)
    assert s1.shape == s2.shape == (2, 3)
    j1, j2 = jax.jit(diffsc.mattis_bardeen_dynes)(freq, 0.05, GAP, dynes)
    v1, v2 = jax.vmap(lambda d: diffsc.mattis_bardeen_dynes(freq, 0.05, GAP, d))(dynes[:, 0])
    for a, b in [(s1, j1), (s2, j2), (s1, v1), (s2, v2)]:
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-13)
    n1, n2 = diffsc.mattis_bardeen_dynes(5e9, 0.05, 0.0, 1e-6)  # gap = 0: normal state
    assert float(n1) == 1.0 and float(n2) == 0.0


@pytest.mark.parametrize(
    "bad, name",
    [
        ({"T": -0.1}, "T"),
        ({"gap": -1e-4}, "gap"),
        ({"dynes": -1e-6}, "dynes"),
        ({"dynes": float("nan")}, "dynes"),
        ({"freq": 0.0}, "freq"),
        ({"T": float("nan")}, "T"),
    ],
)
def test_bad_input_names_the_argument(bad, name):
    kw = {"freq": 5e9, "T": 0.1, "gap": GAP, "dynes": 1e-6, **bad}
    with pytest.raises(ValueError, match=f"`{name}`"):
        diffsc.mattis_bardeen_dynes(**kw)
    with pytest.raises((ValueError, RuntimeError), match=f"`{name}`"):
        jax.jit(diffsc.mattis_bardeen_dynes)(**{k: jnp.asarray(v) for k, v in kw.items()})
