r"""Mattis–Bardeen complex conductivity for thermal and arbitrary (nonequilibrium) occupations.

Local (dirty-limit) response of a BCS superconductor to a field of frequency $\nu$, photon energy
$x=\hbar\omega=h\nu$, for a branch-symmetric quasiparticle occupation $f(E)$ [Mattis & Bardeen,
PR 111, 412 (1958)]; time dependence $e^{+j\omega t}$, $\sigma=\sigma_1-j\sigma_2$, $\sigma_2>0$:

$$\frac{\sigma_1}{\sigma_N}=\frac{2}{x}\int_\Delta^\infty[f(E)-f(E+x)]\,g_s(E)\,dE
 +\frac{\Theta(x-2\Delta)}{x}\int_\Delta^{x-\Delta}[1-f(E)-f(x-E)]\,g_p(E)\,dE,$$
$$\frac{\sigma_2}{\sigma_N}=\frac1x\int_{\max(\Delta-x,-\Delta)}^{\Delta}[1-2f(E+x)]\,
 \frac{E(E+x)+\Delta^2}{\sqrt{\Delta^2-E^2}\sqrt{(E+x)^2-\Delta^2}}\,dE,$$
$$g_s=\frac{E(E+x)+\Delta^2}{\sqrt{E^2-\Delta^2}\sqrt{(E+x)^2-\Delta^2}},\qquad
 g_p=\frac{E(x-E)-\Delta^2}{\sqrt{E^2-\Delta^2}\sqrt{(x-E)^2-\Delta^2}}\ge0 .$$

The pair-breaking factor is written $1-f(E)-f(x-E)$ (equal to MB's $1-2f$ under the integral for
any $f$ by the $E\leftrightarrow x-E$ symmetry of $g_p$); it makes $\sigma_1$ continuous at
$x=2\Delta$ and gives $\sigma_1\to\sigma_N$ as $\Delta\to0$.

**Numerics** (fixed Gauss–Legendre rules, nodes fixed at trace time; no adaptive loops).

*Thermal* $f$ ([`mattis_bardeen`][diffsc.mattis_bardeen]), in units of the gap: $r=x/\Delta$,
$\tau=k_BT/\Delta$ (floored at $1/800$, see `_KT_FLOOR`), $\delta=E-\Delta$:

* scattering term: the normal-state part $\int_0^\infty F\,d\delta=\tau\ln\frac{1+a}{1+aq}$
  ($F=f(E)-f(E+x)$, $a=e^{-1/\tau}$, $q=e^{-r/\tau}$) is exact; the rule integrates
  $F\,(g_s-1)$, which decays as $2/\delta^2$, with $\delta=c\sinh^2t$, $c=\min(r,2)$ (removes the
  gap-edge $\delta^{-1/2}$ and the nearer $\ln$ layer, at $\delta\sim r$ or $\delta\sim2$), up to
  $\delta=36\tau$; 40 nodes;
* $\sigma_2$: one rule for both regimes on $y=E-\max(1-r,-1)\in[0,\min(r,2)]$,
  $y=\epsilon_g\sinh^2t$ ($\epsilon=|2-r|$: the near-singularity as $r\to2$) and
  $t=T[1-(1-s)^2]$ (the other end's $(L-y)^{-1/2}$); 28 nodes;
* pair term ($r>2$ only): lower half of the symmetric integrand, $E-\Delta=2\sinh^2t$; 24 nodes,
  evaluated only for the points above the edge (`_pair_above_gap`: in batches of at least
  `_MIN_SPLIT` points those points are gathered and chunked, and chunks without any are skipped
  by a `lax.cond` outside the vmapped kernel; a point's value does not depend on its batch);
* Fermi factors from one exponential each, $f(E)-f(E+x)=(1-q)\,b/[(1+b)(1+bq)]$ with
  $b=e^{-E/k_BT}$, and $1-f(E)-f(x-E)=(1-q)/[(1+b_1)(1+b_2)]$: no cancellation, so that
  $\sigma_1/\sigma_N\sim10^{-17}$ (Al at 50 mK) keeps full relative precision.

Node counts from the error table of ``benchmarks/mattis_bardeen_error_table.py`` (largest
relative error against adaptive quadrature over $10^{-3}\le r\le10^{2.5}$ incl. $|r-2|=2\cdot10^{-9}$,
$T=0$ and $0.01\le\tau\le10$): scattering $10^{-11}$ (the sub-gap, $\tau>1$ corner sets the count;
above the edge 28 nodes would give $3\cdot10^{-13}$), $\sigma_2$ $6\cdot10^{-12}$, pair
$2\cdot10^{-12}$. So $\sigma_{1,2}$ agree with adaptive quadrature to $\lesssim10^{-10}$ relative
there (tests: $10^{-10}$); spot checks at $r=10^4$ ($\tau=0.01$–$4000$) agree to $10^{-10}$.

*Sampled* $f$ ([`mattis_bardeen_nonequilibrium`][diffsc.mattis_bardeen_nonequilibrium]):

* scattering term: $E=\Delta\cosh u$, $u=a\sinh t$ with $a^2=2x/\Delta+(x/\Delta)^2$, which
  integrates the gap-edge $(E-\Delta)^{-1/2}$ and the $\ln(\Delta/x)$ layer of
  $[(E+x)^2-\Delta^2]^{-1/2}$ exactly;
* pair term: symmetric in $E\leftrightarrow x-E$; lower half with $E-\Delta=2\Delta\sinh^2t$
  (edge singularity removed, nodes graded for $x\gg\Delta$);
* $\sigma_2$: the interval is split in half; each half uses $E=E_{end}\pm s^2$, and near the lower
  end $s=\sqrt{\epsilon}\sinh t$ with $\epsilon=|2\Delta-x|$, which resolves the near-singularity
  that forms as $x\to2\Delta$;
* $f(E)-f(E+x)$ is formed in log space (see the function).
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp

from .._core._constants import h, k_B
from .._core._quadrature import cosh_rule, gauss_legendre, node_sum, unit_gauss_legendre, upper_t
from .._core._special import ellipke
from .._core._validation import (
    check_broadcast,
    check_finite,
    check_nonnegative,
    check_positive,
    check_same_shape,
)

# nonequilibrium (sampled f) rules
_N_PAIR = 32
_N_SIGMA2 = 32  # per half interval
# thermal rules (node counts from benchmarks/mattis_bardeen_error_table.py, see the docstring)
_N_SCATTER_THERMAL = 40
_N_SIGMA2_THERMAL = 28
_N_PAIR_THERMAL = 24
_SPAN = 36.0  # thermal scattering rule ends at E = gap + 36 kT (weight e^-36 beyond)
_MIN_SPLIT = 2048  # batches at least this long compute the pair term only above the gap
_MIN_CHUNK = 1024
_MAX_CHUNKS = 32
_TAIL_SPAN = 60.0  # nonequilibrium: tail integrated to E_N + 60 kT*
# Below k_BT = gap/800 every thermal factor (e^{-gap/kT} < e^{-800}) is 0 or 1 in float64: k_BT is
# clamped there, which leaves the values unchanged and keeps d/dT finite (0) down to T -> 0+.
_KT_FLOOR = 1.0 / 800.0
_EPS_FLOOR = 1e-9  # relative floor of |2 gap - x| in the sigma2 grading


# ---------------------------------------------------------------------------------------------
# occupation models: each provides the three thermal factors used by the integrals
# ---------------------------------------------------------------------------------------------


class _Sampled:
    r"""$f(E)$ from samples, linear in $\ln f$; Boltzmann-like tail beyond the last sample."""

    def __init__(self, energies, log_f, kT_tail):
        self.energies = energies
        self.log_f = log_f
        self.kT_tail = kT_tail
        self.slope_low = (log_f[1] - log_f[0]) / (energies[1] - energies[0])

    def log_occupation(self, E):
        e, lf = self.energies, self.log_f
        inside = jnp.interp(E, e, lf)
        below = lf[0] + self.slope_low * (E - e[0])
        above = lf[-1] - (E - e[-1]) / self.kT_tail
        return jnp.where(E < e[0], below, jnp.where(E > e[-1], above, inside))

    def f(self, E):
        return jnp.exp(self.log_occupation(E))

    def scatter(self, E, x):
        # f(E) - f(E+x) = f(E) [1 - exp(ln f(E+x) - ln f(E))]
        l0 = self.log_occupation(E)
        l1 = self.log_occupation(E + x)
        return jnp.exp(l0) * -jnp.expm1(l1 - l0)

    def pair(self, E1, E2):
        return 1.0 - self.f(E1) - self.f(E2)

    def one_minus_2f(self, E):
        return 1.0 - 2.0 * self.f(E)


# ---------------------------------------------------------------------------------------------
# the three integrals for one (x, gap, occupation)
# ---------------------------------------------------------------------------------------------


def _scatter_integral(x, gap, occ, e_max, n):
    r"""$\frac2x\int_\Delta^{E_{max}}[f(E)-f(E+x)]g_s(E)\,dE$ with the graded cosh rule."""
    q = x / gap
    scale = jnp.sqrt(q * (2.0 + q))
    t_max = upper_t(gap, scale, e_max)
    E, w, u = cosh_rule(n, gap, scale, t_max)
    sh = jnp.sinh(u)
    # (E+x)^2 - gap^2 = gap^2 sinh^2 u + 2 gap x cosh u + x^2, no cancellation.
    second = jnp.sqrt(gap**2 * sh**2 + 2.0 * gap * x * jnp.cosh(u) + x**2)
    g = (E * (E + x) + gap**2) / second
    return 2.0 / x * jnp.sum(w * occ.scatter(E, x) * g)


def _pair_integral(x, gap, occ, n):
    r"""$\frac1x\int_\Delta^{x-\Delta}[1-f(E)-f(x-E)]g_p(E)\,dE$ (0 for $x\le2\Delta$).

    The integrand is symmetric under $E\leftrightarrow x-E$: twice the lower half, where with
    $\ell=E-\Delta=2\Delta\sinh^2t$ the factor $d\ell/\sqrt{\ell(\ell+2\Delta)}=2\,dt$ removes the
    edge singularity and grades the nodes geometrically when $x\gg\Delta$.
    """
    above = x > 2.0 * gap
    r = 0.5 * jnp.where(above, x - 2.0 * gap, 0.0)  # half the interval length
    r_safe = jnp.where(above, r, gap)  # double-where: finite gradients below the edge
    t_max = jnp.where(above, jnp.arcsinh(jnp.sqrt(r_safe / (2.0 * gap))), 0.0)
    t, w = gauss_legendre(n, 0.0, t_max)
    lo = 2.0 * gap * jnp.sinh(t) ** 2  # E - gap
    up = 2.0 * r - lo  # x - gap - E  (>= r)
    E = gap + lo
    # E(x-E) - gap^2 = gap (lo + up) + lo up
    numer = gap * (lo + up) + lo * up
    safe_up = jnp.where(up > 0, up, 1.0)
    vals = occ.pair(E, gap + up) * numer / jnp.sqrt(safe_up * (safe_up + 2.0 * gap))
    return 4.0 * jnp.sum(w * jnp.where(up > 0, vals, 0.0)) / x


def _sigma2_integral(x, gap, occ, n):
    r"""$\sigma_2/\sigma_N$ (formula in the module docstring) by a split, graded rule.

    With $a=\max(\Delta-x,-\Delta)$, $\ell=E-a$, $\upsilon=\Delta-E$, $\epsilon=|2\Delta-x|$:
    $\sqrt{\Delta^2-E^2}\sqrt{(E+x)^2-\Delta^2}=\sqrt{\ell(\ell+\epsilon)\,\upsilon\,
    (\ell+\max(2\Delta,x))}$ and $E(E+x)+\Delta^2=\ell(\ell+\epsilon)+\Delta(2\Delta-x)$.
    """
    a = jnp.maximum(gap - x, -gap)
    half = 0.5 * (gap - a)
    eps = jnp.abs(2.0 * gap - x)
    big = jnp.maximum(2.0 * gap, x)
    eps_g = jnp.maximum(eps, _EPS_FLOOR * half)

    def integrand_core(lo, up):
        # [1 - 2 f(E+x)] (E(E+x)+gap^2) / sqrt(lo (lo+eps) up (lo+big)) without the 1/sqrt(lo(lo+eps))
        E = a + lo
        factor = occ.one_minus_2f(E + x)
        return factor / jnp.sqrt(up * (lo + big)), E

    # lower half: lo = eps_g sinh^2 t, t in [0, t1]; dE = 2 eps_g sinh t cosh t dt
    t1 = jnp.arcsinh(jnp.sqrt(half / eps_g))
    t, wt = gauss_legendre(n, 0.0, t1)
    sh = jnp.sinh(t)
    lo = eps_g * sh**2
    up = 2.0 * half - lo
    root = jnp.sqrt(lo * (lo + eps))  # sqrt(lo (lo+eps))
    # (numerator / root) * dE/dt, written to stay finite when eps -> 0:
    #   numerator/root = root + gap (2 gap - x) / root
    #   dE/dt / root   = 2 sqrt(eps_g) cosh t / sqrt(eps_g sinh^2 t + eps)
    jac_over_root = 2.0 * jnp.sqrt(eps_g) * jnp.cosh(t) / jnp.sqrt(eps_g * sh**2 + eps)
    djac = 2.0 * eps_g * sh * jnp.cosh(t)
    core, _ = integrand_core(lo, up)
    lower = jnp.sum(wt * core * (root * djac + gap * (2.0 * gap - x) * jac_over_root))

    # upper half: up = s^2, s in [0, sqrt(half)]; dE = 2 s ds, 1/sqrt(up) = 1/s
    s, ws = gauss_legendre(n, 0.0, jnp.sqrt(half))
    up = s**2
    lo = 2.0 * half - up
    core, _ = integrand_core(lo, up)
    numer = lo * (lo + eps) + gap * (2.0 * gap - x)
    upper = jnp.sum(ws * 2.0 * s * core * numer / jnp.sqrt(lo * (lo + eps)))
    return (lower + upper) / x


def _conductivity(x, gap, occ, e_max, n_scatter):
    s1 = _scatter_integral(x, gap, occ, e_max, n_scatter) + _pair_integral(x, gap, occ, _N_PAIR)
    s2 = _sigma2_integral(x, gap, occ, _N_SIGMA2)
    return s1, s2


# ---------------------------------------------------------------------------------------------
# thermal occupation: dedicated rules in units of the gap (r = x / gap, tau = k_B T / gap)
# ---------------------------------------------------------------------------------------------


def _sinh_cosh_from_expm1(em):
    """(sinh t, cosh t) from em = expm1(t), without cancellation for small t."""
    inv = 1.0 / (1.0 + em)  # e^{-t}
    return 0.5 * em * (1.0 + inv), 0.5 * (1.0 + em + inv)


def _thermal_scatter(r, tau, inv_tau, n: int = _N_SCATTER_THERMAL):
    r"""Scattering term of $\sigma_1/\sigma_N$ for the Fermi function (units of $\Delta$).

    $S=\frac2r\int_0^\infty F(\delta)\,g(\delta)\,d\delta$, $E=1+\delta$,
    $F=f(E)-f(E+r)$. The normal-state part is integrated in closed form,
    $\int_0^\infty F\,d\delta=\tau\ln\frac{1+a}{1+aq}$ ($a=e^{-1/\tau}$, $q=e^{-r/\tau}$),
    and the rule integrates $F\,(g-1)$, with
    $g-1=(2E+r)^2/[D(E(E+r)+1+D)]$, $D=\sqrt{\delta(\delta+2)(\delta+r)(\delta+r+2)}$, which
    decays as $2/\delta^2$ (so the thermal tail, where the Fermi poles sit close to the nodes,
    carries little weight). $\delta=c\sinh^2t$ with $c=\min(r,2)$ removes the gap-edge
    $\delta^{-1/2}$ and the nearer of the $\ln$ layers at $\delta\sim r$ or $\delta\sim2$:
    $d\delta/\sqrt{\delta(\delta+c)}=2\,dt$; $t\in[0,t_{max}]$ ends at $\delta=\Lambda\tau$.
    """
    c = jnp.minimum(r, 2.0)
    big = jnp.maximum(r, 2.0)
    t_max = jnp.arcsinh(jnp.sqrt(_SPAN * tau / c))
    s, w = unit_gauss_legendre(n)
    sh, ch = _sinh_cosh_from_expm1(jnp.expm1(t_max * s))
    delta = c * sh * sh
    E = 1.0 + delta
    rest = jnp.sqrt((delta + big) * (delta + r + 2.0))  # D / sqrt(delta (delta + c))
    root = c * sh * ch * rest  # D
    a = jnp.exp(-inv_tau)
    q = jnp.exp(-r * inv_tau)
    one_minus_q = -jnp.expm1(-r * inv_tau)
    # F = (1 - q) b / ((1 + b)(1 + b q)), b = e^{-E/tau}: f(E) - f(E+r) without cancellation
    b = a * jnp.exp(-delta * inv_tau)
    vals = b * (2.0 * E + r) ** 2 / ((1.0 + b) * (1.0 + b * q) * (E * (E + r) + 1.0 + root) * rest)
    normal = tau * jnp.log1p(a * one_minus_q / (1.0 + a * q))
    return 2.0 / r * one_minus_q * (2.0 * t_max * node_sum(w, vals)) + 2.0 / r * normal


def _thermal_sigma2(r, tau, inv_tau, n: int = _N_SIGMA2_THERMAL):
    r"""$\sigma_2/\sigma_N$ for the Fermi function (units of $\Delta$), one graded rule.

    With $L=\min(r,2)$, $\epsilon=|2-r|$, $B=\max(r,2)$ and $y=E-\max(1-r,-1)\in[0,L]$:
    $\frac{\sigma_2}{\sigma_N}=\frac1r\int_0^L\tanh\frac{E+r}{2\tau}\,
    \frac{y(y+\epsilon)+2-r}{\sqrt{y(y+\epsilon)(L-y)(y+B)}}\,dy$ (both regimes).
    $y=\epsilon_g\sinh^2t$ ($\epsilon_g=\max(\epsilon,10^{-9}L)$) removes the lower-end
    $[y(y+\epsilon)]^{-1/2}$ (the near-singularity as $r\to2$) and
    $t=T[1-(1-s)^2]$, $s\in[0,1]$, the upper-end $(L-y)^{-1/2}$, since
    $L-y=\epsilon_g\sinh(T+t)\sinh(T-t)$ with $T-t=T(1-s)^2$.
    """
    L = jnp.minimum(r, 2.0)
    eps = jnp.abs(2.0 - r)
    big = jnp.maximum(r, 2.0)
    eps_g = jnp.maximum(eps, _EPS_FLOOR * L)
    T = jnp.arcsinh(jnp.sqrt(L / eps_g))
    s, w = unit_gauss_legendre(n)
    one_minus_s = 1.0 - s
    # one exponential per node: u = T - t = T (1-s)^2 from expm1 (sinh u exact as u -> 0, where
    # 1/sqrt(L-y) is resolved), e^{+-t} = e^{+-T} e^{-+u}. sinh t then has a relative error
    # ~1e-16/t at the first nodes; measured (error table): at most 3e-13 relative in sigma2,
    # for r >> 2 where T and so t are small (4e-14 with a second expm1 for t), and 30 % faster.
    em = jnp.expm1(T * one_minus_s**2)
    inv = 1.0 / (1.0 + em)  # e^{-u}
    sh_u = 0.5 * em * (1.0 + inv)  # sinh(T - t)
    e_T = jnp.exp(T)
    e_t, e_mt = e_T * inv, (1.0 + em) / e_T  # e^{t}, e^{-t}
    sh, ch = 0.5 * (e_t - e_mt), 0.5 * (e_t + e_mt)
    sh_sum = 0.5 * (e_T * e_t - e_mt / e_T)  # sinh(T + t)
    y = eps_g * sh * sh
    lower = y + eps
    numer = y * lower + (2.0 - r)
    # 1 - 2 f(E + r) = (1 - b) / (1 + b), E + r = 1 + max(r - 2, 0) + y
    b = jnp.exp(-(1.0 + jnp.maximum(r - 2.0, 0.0) + y) * inv_tau)
    # dy / sqrt(y (y+eps) (L-y)) = 4 T ch (1-s) / sqrt((eps_g sh^2 + eps) sinh(T+t) sinh(T-t)) ds
    vals = (1.0 - b) * numer * ch * one_minus_s / (
        (1.0 + b) * jnp.sqrt((eps_g * sh * sh + eps) * sh_sum * sh_u * (y + big))
    )
    return 4.0 * T * node_sum(w, vals) / r


def _thermal_pair(r, tau, inv_tau, n: int = _N_PAIR_THERMAL):
    r"""Pair-breaking term of $\sigma_1/\sigma_N$ for the Fermi function (0 for $r\le2$).

    With $\epsilon=r-2$ and $E=1+p$: $\frac{2}{r}\int_0^{\epsilon/2}
    \frac{[1-f(1+p)-f(1+\epsilon-p)]\,[\epsilon+p(\epsilon-p)]}
    {\sqrt{p(p+2)(\epsilon-p)(\epsilon-p+2)}}\,dp$ (the lower half of a symmetric
    integrand, doubled); $p=2\sinh^2t$ gives $dp/\sqrt{p(p+2)}=2\,dt$.
    """
    above = r > 2.0
    eps = jnp.where(above, r - 2.0, 1.0)  # double-where: finite gradients below the edge
    t_max = jnp.arcsinh(jnp.sqrt(0.25 * eps))
    s, w = unit_gauss_legendre(n)
    sh, _ = _sinh_cosh_from_expm1(jnp.expm1(t_max * s))
    p = 2.0 * sh * sh
    up = eps - p  # >= eps / 2
    # 1 - f(E1) - f(E2) = (1 - e^{-(E1+E2)/tau}) / ((1 + e^{-E1/tau})(1 + e^{-E2/tau})), E1+E2 = r
    b1 = jnp.exp(-(1.0 + p) * inv_tau)
    b2 = jnp.exp(-(1.0 + up) * inv_tau)
    vals = (eps + p * up) / ((1.0 + b1) * (1.0 + b2) * jnp.sqrt(up * (up + 2.0)))
    pair = 4.0 / r * t_max * -jnp.expm1(-r * inv_tau) * node_sum(w, vals)
    return jnp.where(above, pair, 0.0)


def _thermal_scale(freq, T, gap):
    """(r, tau, normal): photon energy and temperature in units of the gap; gap = 0 (the normal
    state) is evaluated at a safe gap = x and selected afterwards (double-where)."""
    x = h * freq
    normal = gap <= 0
    safe_gap = jnp.where(normal, x, gap)
    tau = jnp.maximum(k_B * T / safe_gap, _KT_FLOOR)  # see _KT_FLOOR: also T = 0 exactly
    return x / safe_gap, tau, normal


def _thermal_common(r, tau):
    """(scattering part of sigma1, sigma2) of one point: the work every regime needs."""
    inv_tau = 1.0 / tau
    return _thermal_scatter(r, tau, inv_tau), _thermal_sigma2(r, tau, inv_tau)


def _thermal_pair_one(r, tau):
    return _thermal_pair(r, tau, 1.0 / tau)


def _pair_above_gap(r, tau):
    r"""Pair-breaking term for a flat batch, computed only for the points with $r>2$.

    Under ``vmap`` a per-point ``cond`` would evaluate both branches, so the split is done on the
    batch instead: the indices of the points above the gap are gathered first (``jnp.nonzero``
    with a static size), the gathered batch is cut into at most `_MAX_CHUNKS` chunks, and a
    ``lax.cond`` per chunk (inside ``lax.map``, not vmapped) skips the chunks that hold no such
    point. Every point gets the same per-point kernel as in a masked evaluation, so the result
    does not depend on the batch it came in. Small batches are evaluated masked.
    """
    n = r.shape[0]
    if n < _MIN_SPLIT:
        return jax.vmap(_thermal_pair_one)(r, tau)
    chunk = max(_MIN_CHUNK, -(-n // _MAX_CHUNKS))
    n_chunks = -(-n // chunk)
    above = r > 2.0
    count = jnp.sum(above)
    (idx,) = jnp.nonzero(above, size=n_chunks * chunk, fill_value=0)
    starts = jnp.arange(n_chunks) * chunk

    def one_chunk(args):
        start, r_c, tau_c = args
        return jax.lax.cond(
            start < count,
            lambda: jax.vmap(_thermal_pair_one)(r_c, tau_c),
            lambda: jnp.zeros_like(r_c),
        )

    vals = jax.lax.map(
        one_chunk, (starts, r[idx].reshape(n_chunks, chunk), tau[idx].reshape(n_chunks, chunk))
    ).reshape(-1)
    valid = jnp.arange(n_chunks * chunk) < count
    return jnp.zeros_like(r).at[idx].add(jnp.where(valid, vals, 0.0))


def _thermal_flat(freq, T, gap):
    """(sigma1, sigma2) / sigma_N for flat, equally long arrays."""
    r, tau, normal = _thermal_scale(freq, T, gap)
    scatter, s2 = jax.vmap(_thermal_common)(r, tau)
    s1 = scatter + _pair_above_gap(r, tau)
    return jnp.where(normal, 1.0, s1), jnp.where(normal, 0.0, s2)


def _broadcast(**named):
    """Broadcast the named (validated) arrays, raising an error that names them if they don't."""
    shape = check_broadcast(*named.items())
    return shape, [jnp.broadcast_to(a, shape).reshape(-1) for a in named.values()]


def mattis_bardeen(freq, T, gap):
    r"""Thermal Mattis–Bardeen conductivity $(\sigma_1/\sigma_N,\ \sigma_2/\sigma_N)$.

    Evaluates the Mattis–Bardeen integrals (module docstring) with the Fermi function
    $f(E)=1/(e^{E/k_BT}+1)$ and photon energy $x=h\nu$, including the pair-breaking term for
    $h\nu>2\Delta$. At $T=0$ the scattering term vanishes and the closed forms of
    [`mattis_bardeen_zero_temperature`][diffsc.mattis_bardeen_zero_temperature] are reproduced.

    **Arguments** (broadcast against each other):

    - `freq`: frequency $\nu$, Hz (> 0).
    - `T`: temperature, K (>= 0).
    - `gap`: $\Delta$, eV (>= 0); e.g. ``diffsc.gap(T, material)`` or any value. ``gap = 0``
      is the normal state and gives $(1, 0)$, so temperature sweeps may cross $T_c$.

    **Returns:** ``(sigma1, sigma2)``, dimensionless $\sigma_{1,2}/\sigma_N$, broadcast shape.
    Accurate to $\lesssim10^{-10}$ relative (module docstring); differentiable in all arguments
    (``jit``/``vmap``/``grad``). Float64 required ($\sigma_1$ spans $10^{-17}$–$10^{0}$).
    """
    freq = check_positive(freq, "freq", "Hz", dtype=float)
    T = check_nonnegative(T, "T", "K", dtype=float)
    gap = check_nonnegative(gap, "gap", "eV", dtype=float)
    check_broadcast(("freq", freq), ("T", T), ("gap", gap))
    return _thermal(freq, T, gap)


# One compiled program per shape, also for eager calls (op by op it was ~80 small compilations,
# ~4 s before the first result; one program is also what the on-disk cache can keep).
@jax.jit
def _thermal(freq, T, gap):
    shape, (fr, tt, gg) = _broadcast(freq=freq, T=T, gap=gap)
    s1, s2 = _thermal_flat(fr, tt, gg)
    return s1.reshape(shape), s2.reshape(shape)


def mattis_bardeen_nonequilibrium(freq, gap, energies, f, *, n_nodes: int = 192):
    r"""Mattis–Bardeen $(\sigma_1/\sigma_N,\ \sigma_2/\sigma_N)$ for a sampled occupation $f(E)$.

    Same integrals as [`mattis_bardeen`][diffsc.mattis_bardeen] with a branch-symmetric $f(E)$ given on an energy
    grid. Between samples $\ln f$ is interpolated linearly in $E$ (exact for a Boltzmann tail);
    below the first sample (if it lies above the gap) the first segment's $\ln f$ line is
    continued down to $\Delta$; beyond the last sample $E_N$ a Fermi-like tail is used,
    $$\ln f(E)=\ln f_N-\frac{E-E_N}{k_BT^*},\qquad k_BT^*=\frac{E_N}{\ln(1/f_N-1)},$$
    i.e. the Boltzmann tail of the Fermi function that passes through the last sample (as in
    nestfsss); the scattering integral is truncated at $E_N+60\,k_BT^*$. The differences
    $f(E)-f(E+x)=f(E)\,[1-e^{\ln f(E+x)-\ln f(E)}]$ are formed in log space. With $f$ the Fermi
    function sampled finely enough this reproduces [`mattis_bardeen`][diffsc.mattis_bardeen] (tests: $10^{-7}$).

    **Arguments:**

    - `freq`: $\nu$, Hz (> 0), scalar or array (broadcast with `gap`).
    - `gap`: $\Delta$, eV (> 0), scalar or array.
    - `energies`: quasiparticle energies $E_i$, eV, shape ``(N,)``, ``N >= 2``, strictly
      ascending, ``energies[0] >= gap`` (relative tolerance $10^{-9}$).
    - `f`: occupations $f(E_i)$, same shape, $0<f<1$ and $f_N<1/2$.
    - `n_nodes`: static number of nodes of the scattering rule (default 192); raise it for
      occupations with structure finer than ~1/100 of the grid span.

    **Returns:** ``(sigma1, sigma2)`` with the broadcast shape of `freq` and `gap`.
    Differentiable with respect to `freq`, `gap`, `energies` and `f`; cost independent of N
    except for the interpolation.
    """
    freq = check_positive(freq, "freq", "Hz", dtype=float)
    gap = check_positive(gap, "gap", "eV", dtype=float)
    energies = check_finite(energies, "energies", "eV", dtype=float)
    f = check_finite(f, "f", dtype=float)
    check_same_shape(("energies", energies), ("f", f))
    if energies.ndim != 1 or energies.shape[0] < 2:
        raise ValueError(
            f"diffsc: argument `energies` must be 1-D with at least 2 points, got shape {energies.shape}."
        )
    energies = eqx.error_if(
        energies,
        jnp.any(jnp.diff(energies) <= 0),
        "diffsc: argument `energies` must be strictly ascending.",
    )
    energies = eqx.error_if(
        energies,
        jnp.any(energies[0] < gap * (1.0 - 1e-9)),
        "diffsc: argument `energies` must start at or above `gap` (energies[0] >= gap).",
    )
    f = eqx.error_if(
        f, jnp.any((f <= 0) | (f >= 1)), "diffsc: argument `f` must satisfy 0 < f < 1."
    )
    f = eqx.error_if(
        f, f[-1] >= 0.5, "diffsc: argument `f` must be < 1/2 at the last energy (decaying tail)."
    )
    log_f = jnp.log(f)
    e_last = energies[-1]
    kT_tail = e_last / (jnp.log1p(-f[-1]) - log_f[-1])
    occ = _Sampled(energies, log_f, kT_tail)
    shape, (fr, gg) = _broadcast(freq=freq, gap=gap)

    def one(fq, g):
        e_max = jnp.maximum(e_last, g) + _TAIL_SPAN * kT_tail
        return _conductivity(h * fq, g, occ, e_max, n_nodes)

    s1, s2 = jax.vmap(one)(fr, gg)
    return s1.reshape(shape), s2.reshape(shape)


# ---------------------------------------------------------------------------------------------
# closed forms and limits
# ---------------------------------------------------------------------------------------------


def mattis_bardeen_zero_temperature(freq, gap):
    r"""Closed-form $T=0$ Mattis–Bardeen conductivity $(\sigma_1/\sigma_N,\ \sigma_2/\sigma_N)$.

    With $x=h\nu$, $k=|2\Delta-x|/(2\Delta+x)$, $k'^2=1-k^2$ and complete elliptic integrals of
    parameter $m$ (scipy convention):
    $$\frac{\sigma_2}{\sigma_N}=\tfrac12\big(1+\tfrac{2\Delta}{x}\big)E(k'^2)
      -\tfrac12\big(1-\tfrac{2\Delta}{x}\big)K(k'^2),\qquad
      \frac{\sigma_1}{\sigma_N}=\Theta(x-2\Delta)\Big[\big(1+\tfrac{2\Delta}{x}\big)E(k^2)
      -\tfrac{4\Delta}{x}K(k^2)\Big].$$
    $K,E$ by the arithmetic–geometric mean (`diffsc._core._special.ellipke`, ~1e-15).

    **Arguments:** `freq` in Hz (> 0), `gap` in eV (> 0), broadcast.
    **Returns:** ``(sigma1, sigma2)``, dimensionless. For $x\ll\Delta$, $\sigma_2/\sigma_N\to\pi\Delta/x$.
    """
    freq = check_positive(freq, "freq", "Hz", dtype=float)
    gap = check_positive(gap, "gap", "eV", dtype=float)
    shape = check_broadcast(("freq", freq), ("gap", gap))
    freq, gap = jnp.broadcast_to(freq, shape), jnp.broadcast_to(gap, shape)
    x = h * freq
    r = 2.0 * gap / x
    k = jnp.abs(2.0 * gap - x) / (2.0 * gap + x)
    K1, E1 = ellipke(1.0 - k**2)
    s2 = 0.5 * (1.0 + r) * E1 - 0.5 * (1.0 - r) * K1
    K2, E2 = ellipke(k**2)
    s1 = jnp.where(x > 2.0 * gap, (1.0 + r) * E2 - 2.0 * r * K2, 0.0)
    return s1, s2


def _k0e(z, n: int = 128):
    r"""$e^zK_0(z)=\int_0^\infty\exp[-2z\sinh^2(t/2)]\,dt$ for $z>0$ (Gauss–Legendre)."""
    t_max = 2.0 * jnp.arcsinh(jnp.sqrt(23.0 / z))
    t, w = gauss_legendre(n, 0.0, t_max)
    return jnp.sum(w * jnp.exp(-2.0 * z * jnp.sinh(0.5 * t) ** 2))


def mattis_bardeen_low_temperature(freq, T, gap):
    r"""Low-temperature, low-frequency limit of the thermal Mattis–Bardeen conductivity.

    For $k_BT\ll\Delta$ and $x=h\nu\ll\Delta$, with $\xi=x/2k_BT$ (Gao, PhD thesis, Caltech 2008;
    Zmuidzinas, Annu. Rev. CMP 3, 169 (2012)):
    $$\frac{\sigma_1}{\sigma_N}\approx\frac{4\Delta}{x}e^{-\Delta/k_BT}\sinh\xi\,K_0(\xi),\qquad
      \frac{\sigma_2}{\sigma_N}\approx\frac{\pi\Delta}{x}\Big[1-2e^{-\Delta/k_BT}e^{-\xi}I_0(\xi)\Big].$$
    Accuracy (Al, 5.57 GHz, 0.12–0.3 K): $\sigma_1$ to a few %, $\sigma_2$ to ~0.1 %.

    **Arguments:** `freq` in Hz (> 0), `T` in K (>= 0; T = 0 gives $(0,\pi\Delta/x)$), `gap` in eV
    (> 0), broadcast. **Returns:** ``(sigma1, sigma2)``, dimensionless.
    """
    freq = check_positive(freq, "freq", "Hz", dtype=float)
    T = check_nonnegative(T, "T", "K", dtype=float)
    gap = check_positive(gap, "gap", "eV", dtype=float)
    shape, (fr, tt, gg) = _broadcast(freq=freq, T=T, gap=gap)

    def one(fq, t, g):
        x = h * fq
        positive = t > 0
        kT = jnp.maximum(k_B * jnp.where(positive, t, 1.0), _KT_FLOOR * g)  # see _KT_FLOOR
        xi = 0.5 * x / kT
        boltz = jnp.exp(-g / kT)
        # sinh(xi) K0(xi) = (1 - e^{-2 xi}) / 2 * e^{xi} K0(xi)
        s1 = 4.0 * g / x * boltz * (-0.5 * jnp.expm1(-2.0 * xi)) * _k0e(xi)
        s2 = jnp.pi * g / x * (1.0 - 2.0 * boltz * jax.scipy.special.i0e(xi))
        return jnp.where(positive, s1, 0.0), jnp.where(positive, s2, jnp.pi * g / x)

    s1, s2 = jax.vmap(one)(fr, tt, gg)
    return s1.reshape(shape), s2.reshape(shape)
