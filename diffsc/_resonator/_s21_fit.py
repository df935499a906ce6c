r"""Batched least-squares fits of measured resonator sweeps: notch ($S_{21}$) and reflection ($S_{11}$).

Model ([`s21_notch`][diffsc.s21_notch] for $k=1$; the one-port reflection of Probst et al. for $k=2$):
$$S(f)=a\,e^{j\alpha}e^{-2\pi jf\tau}\Big[1-\frac{k\,(Q_l/|Q_c|)\,e^{j\phi}}{1+2jQ_l(f/f_{res}-1)}\Big],
\qquad \frac1{Q_l}=\frac1{Q_i}+\frac{\cos\phi}{|Q_c|}.$$

Pipeline per sweep, all in JAX with fixed shapes, so that thousands of sweeps of *any* lengths run
in one compiled program (sweeps are padded to a few bucket lengths and masked):

1. the data are divided by their mean magnitude (the fit is scale-free; `a` is reported in the
   data's units);
2. cable delay from the phase slope between the two ends of the sweep (or fixed by the user);
   steps 2-4 use at most ``GUESS_POINTS`` points, evenly strided over the valid range;
3. algebraic (Kåsa) circle fit of the delay-corrected data -> centre, radius; off-resonance point
   $P=a e^{j\alpha}$ opposite the resonance point; $f_{res}$ = the sample closest to the resonance
   point; $Q_l$ from the angle swept around the centre, $|\theta|=2\arctan(2Q_l|f/f_{res}-1|)$;
   $|Q_c|=kQ_la/(2r)$; $\phi$ from the circle's rotation;
4. optionally (``delay="baseline"``) the delay from the off-resonance phase slope of the data divided
   by the guessed resonance, then held fixed; optionally (``crop``) a window around the guessed
   resonance, after which the guess is repeated on the window;
5. Levenberg–Marquardt on the weighted complex residual (real and imaginary parts stacked) in
   well-scaled coordinates $x=(f_{res}/f_g-1)Q_{l,g}$, $\ln Q_i$, $\ln|Q_c|$, $\phi$, $\ln a$, the
   phase at the sweep centre and $2\pi\tau\times$span. $\chi^2$, $J^TJ$ and $J^Tr$ come from one
   pass of the analytic Jacobian (real arithmetic) over the blocks of the sweep that hold valid
   points, so a sweep costs its own length, not the padded length of its batch.
6. Uncertainties: Jacobian covariance scaled by the reduced $\chi^2$ (the noise level is unknown),
   mapped to physical parameters by the delta method; a direction the data do not determine gets
   ``inf``, never NaN.
7. Validity checks ([`FIT_RESULTS`][diffsc.FIT_RESULTS]): no signal, non-finite values, not converged,
   resonance outside the sweep, sweep narrower than ``MIN_SPAN_LINEWIDTHS`` linewidths, resonance
   not out of the noise (matched-filter SNR below ``MIN_SNR``), $|\phi|\ge\pi/2$, undetermined
   parameters. ``success`` is true only when all pass.
"""

from __future__ import annotations

import functools
import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh
from jax.sharding import PartitionSpec as P

from .._core._compilation_cache import cache_dir, exported_call
from .._core._dtypes import as_complex
from .._core._fit_status import FIT_RESULTS, flag, result_from_checks
from .._core._results import RESULTS
from .._fit import _inverse_with_inf
from ._s21_fit_result import MAX_Q, NAMES, S21Fit

MIN_SPAN_LINEWIDTHS = 3.0
"""A sweep must span at least this many linewidths $f_{res}/Q_l$ (valid points only)."""
MIN_SNR = 10.0
r"""Minimum matched-filter SNR of the resonance, $\sqrt{\sum_i w_i|S_{res}(f_i)|^2}/\sigma$, with
$S_{res}$ the fitted resonance term (model minus its background) and $\sigma$ the residual noise per
quadrature. A fit to pure noise finds 'resonances' of SNR ~3."""
MAX_RELATIVE_STD = 1.0
"""A positive parameter (Qi, Qc, a) whose 1-sigma uncertainty exceeds this fraction of its value
is reported as undetermined."""

_MODELS = {
    # name: (free mask over NAMES without the background slope, k, phi/a/alpha/tau fixed)
    "notch": ((1, 1, 1, 1, 1, 1, 1), 1.0, False),
    "notch_no_delay": ((1, 1, 1, 1, 1, 1, 0), 1.0, False),
    "ideal": ((1, 1, 1, 0, 0, 0, 0), 1.0, True),
    "reflection": ((1, 1, 1, 1, 1, 1, 1), 2.0, False),
    "reflection_ideal": ((1, 1, 1, 0, 0, 0, 0), 2.0, True),
}
_BACKGROUNDS = ("flat", "linear")
_PARAM_INDEX = {name: i for i, name in enumerate(NAMES)}
# box of the internal coordinates (x, ln Qi, ln|Qc|, phi, ln a, centre phase, 2 pi tau span,
# slope span: |a| stays positive across the sweep);
# x is set per sweep (f_res within one span of the data)
_LOWER = np.array([-1e4, 0.0, 0.0, -50.0, -50.0, -1e4, -1e6, -0.5])
_UPPER = np.array([1e4, math.log(MAX_Q), math.log(MAX_Q), 50.0, 50.0, 1e4, 1e6, 0.5])
_N_PAR = len(NAMES)
_MIN_POINTS = 20


# ------------------------------------------------------------------------------------------------
# initial guess (per sweep, masked)
# ------------------------------------------------------------------------------------------------


def _wmean(x, m):
    total = jnp.sum(jnp.where(m, x, 0.0))
    return total / jnp.maximum(jnp.sum(m), 1).astype(total.dtype)


def _edges(valid):
    """Masks of the first and last ``max(n_valid // 10, 2)`` valid points."""
    count = jnp.cumsum(valid)
    n = count[-1]
    k = jnp.maximum(n // 10, 2)
    return valid & (count <= k), valid & (count > n - k)


def _resonance_term(f, fr, Ql, Qc, phi, k):
    return 1.0 - as_complex(k * (Ql / Qc)) * jnp.exp(1j * as_complex(phi)) / (
        1.0 + 2j * as_complex(Ql) * as_complex(f / fr - 1.0))


def _kasa(f, zr, zi, valid, tau, f_c):
    """Algebraic circle fit of the delay-corrected data ``(x1, y1)``: returns them, the centre
    (complex) and the radius.

    The 3x3 normal equations of the fit $x^2+y^2+Dx+Ey+F=0$ are summed directly (one fused
    pass, real arithmetic) and solved by `_spd_solve`."""
    angle = 2.0 * jnp.pi * tau * (f - f_c)
    c, s = jnp.cos(angle), jnp.sin(angle)
    x1, y1 = zr * c - zi * s, zr * s + zi * c
    m = valid.astype(f.dtype)
    scale = jnp.sum(m * jnp.sqrt(zr * zr + zi * zi)) / jnp.maximum(jnp.sum(m), 1.0)  # |z1| = |z|
    scale = jnp.where(scale > 0, scale, 1.0)
    x, y = x1 / scale, y1 / scale
    rho = x * x + y * y
    sums = lambda v: jnp.sum(m * v)
    sx, sy, sxx, sxy, syy = sums(x), sums(y), sums(x * x), sums(x * y), sums(y * y)
    normal = jnp.stack([jnp.stack([sxx, sxy, sx]), jnp.stack([sxy, syy, sy]),
                        jnp.stack([sx, sy, jnp.sum(m)])]) + 1e-12 * jnp.eye(3, dtype=f.dtype)
    D, E, F = _spd_solve(normal, -jnp.stack([sums(x * rho), sums(y * rho), sums(rho)]))
    zc = as_complex(-0.5 * D) - 0.5j * as_complex(E)
    r = jnp.sqrt(jnp.maximum(0.25 * (D**2 + E**2) - F, 1e-30))
    return x1, y1, zc * as_complex(scale), r * scale


def _circle_guess(f, zr, zi, valid, edges, tau, k):
    r"""Circle/phase estimate of the parameters for a given delay (see module docstring).

    Real arithmetic on the points ($z=z_r+jz_i$). The angle $\theta$ swept from the resonance
    point enters through $\tan(\theta/2)$ and $\sin^2\theta$, computed from the rotated point
    $w$ as $|{\rm Im}\,w|/(|w|+{\rm Re}\,w)$ and $({\rm Im}\,w)^2/|w|^2$ (no arctangent)."""
    f_lo = jnp.min(jnp.where(valid, f, jnp.inf))
    f_hi = jnp.max(jnp.where(valid, f, -jnp.inf))
    f_c, span = 0.5 * (f_lo + f_hi), f_hi - f_lo
    first, last = edges
    x1, y1, zc, r = _kasa(f, zr, zi, valid, tau, f_c)
    z_edge = 0.5 * (jax.lax.complex(_wmean(x1, first), _wmean(y1, first))
                    + jax.lax.complex(_wmean(x1, last), _wmean(y1, last)))
    u = (z_edge - zc) / as_complex(jnp.maximum(jnp.abs(z_edge - zc), 1e-300))
    p_off = zc + as_complex(r) * u
    z_res = zc - as_complex(r) * u
    i_res = jnp.argmin(jnp.where(valid, (x1 - jnp.real(z_res)) ** 2 + (y1 - jnp.imag(z_res)) ** 2,
                                 jnp.inf))
    fr = f[i_res]
    # w = (z1 - zc) conj(z_res - zc): the angle theta from the resonance point
    ax, ay = x1 - jnp.real(zc), y1 - jnp.imag(zc)
    cx, cy = jnp.real(z_res - zc), jnp.imag(z_res - zc)
    wr, wi = ax * cx + ay * cy, jnp.abs(ay * cx - ax * cy)
    w_abs = jnp.sqrt(wr * wr + wi * wi)
    cos_t = wr / jnp.where(w_abs > 0, w_abs, 1.0)
    below_3 = cos_t > math.cos(3.0)
    tan_half = jnp.where(below_3, wi / jnp.where(below_3, w_abs + wr, 1.0),
                         math.tan(1.5))  # tan(min(theta, 3) / 2)
    xr = jnp.abs(f / fr - 1.0)
    ok = valid & (xr > 0) & (w_abs > 0)
    ql_i = tan_half / (2.0 * jnp.where(ok, xr, 1.0))
    sin2 = (wi / jnp.where(w_abs > 0, w_abs, 1.0)) ** 2
    wgt = jnp.where(ok & (cos_t < math.cos(0.2)) & (cos_t > math.cos(2.9)), sin2, 0.0) + 1e-30
    Ql = jnp.exp(jnp.sum(wgt * jnp.log(jnp.maximum(ql_i, 1.0))) / jnp.sum(wgt))
    n_valid = jnp.maximum(jnp.sum(valid), 2)
    Ql = jnp.clip(Ql, 2.0 * fr / span / n_valid.astype(fr.dtype), 1e9)
    a = jnp.maximum(jnp.abs(p_off), 1e-300)
    d = jnp.clip(2.0 * r / a, 1e-4, 2.0 * k)
    Qc = k * Ql / d
    phi = jnp.angle(-(z_res - p_off) / p_off)
    inv_qi = jnp.maximum(1.0 / Ql - jnp.cos(phi) / Qc, 1e-3 / Ql)
    return dict(f_res=fr, Qi=1.0 / inv_qi, Qc=Qc, phi=phi, a=a, alpha_c=jnp.angle(p_off), tau=tau,
                Ql=Ql, f_c=f_c, span=span)


def _phase_steps(zr, zi):
    """Principal angles (rad) between successive points of $z=z_r+jz_i$, shape (n-1,)."""
    return jnp.arctan2(zi[1:] * zr[:-1] - zr[1:] * zi[:-1], zr[1:] * zr[:-1] + zi[1:] * zi[:-1])


def _unwrapped_phase(zr, zi):
    """Phase (rad) of $z=z_r+jz_i$ continued across the sweep: the sum of the principal angles
    between successive points (as ``numpy.unwrap(numpy.angle(z))`` for steps under pi)."""
    steps = _phase_steps(zr, zi)
    return jnp.arctan2(zi[0], zr[0]) + jnp.concatenate([jnp.zeros(1, steps.dtype), jnp.cumsum(steps)])


def _slope_delay(f, zr, zi, valid, edges):
    r"""Delay (s) from the phase slope of the two ends of the sweep.

    The difference of the mean unwrapped phases of the two ends is precise but ambiguous by
    whole turns: a reflection resonance winds once around the origin when overcoupled, and a deep
    notch passing near the origin may or may not. The common slope within the two ends (a line
    per end) is free of that ambiguity but noisier; it picks the number of turns $m$ in
    $\tau=\tau_{ends}+m/\Delta f$.
    """
    first, last = edges
    ph = _unwrapped_phase(zr, zi)
    df = _wmean(f, last) - _wmean(f, first)
    df = jnp.where(df != 0, df, 1.0)
    tau_ends = -(_wmean(ph, last) - _wmean(ph, first)) / (2.0 * jnp.pi * df)
    num, den = 0.0, 0.0
    for m in (first, last):
        fc, pc = f - _wmean(f, m), ph - _wmean(ph, m)
        num = num + jnp.sum(jnp.where(m, fc * pc, 0.0))
        den = den + jnp.sum(jnp.where(m, fc * fc, 0.0))
    tau_local = -num / (2.0 * jnp.pi * jnp.where(den > 0, den, 1.0))
    return tau_ends + jnp.round((tau_local - tau_ends) * df) / df


def _baseline_delay(f, z, valid, edges, g, k):
    r"""Delay from the off-resonance phase slope of the data divided by the guessed resonance.

    Points further than 3 linewidths from the guessed resonance (the two ends of the sweep when
    fewer than 6 such points exist) are fitted with a straight line, phase $=c-2\pi f\tau$.
    """
    u = z / _resonance_term(f, g["f_res"], g["Ql"], g["Qc"], g["phi"], k)
    ph = _unwrapped_phase(jnp.real(u), jnp.imag(u))
    off = valid & (jnp.abs(f - g["f_res"]) > 3.0 * g["f_res"] / g["Ql"])
    first, last = edges
    use = jnp.where(jnp.sum(off) >= 6, off, first | last)
    fm, pm = _wmean(f, use), _wmean(ph, use)
    cov = _wmean((f - fm) * (ph - pm), use)
    var = _wmean((f - fm) ** 2, use)
    return -cov / (2.0 * jnp.pi * jnp.where(var > 0, var, 1.0))


GUESS_POINTS = 512
"""The initial guess of a sweep with more valid points than this uses every k-th point of its
valid range (k the smallest that leaves at most this many); the fit uses all points."""


def _valid_range(valid):
    """Indices of the first and the last valid point (traced integers)."""
    idx = jnp.arange(valid.shape[0])
    return jnp.min(jnp.where(valid, idx, valid.shape[0] - 1)), jnp.max(jnp.where(valid, idx, 0))


def _guess_stride(first, last):
    """The smallest stride that leaves at most `GUESS_POINTS` points from `first` to `last`."""
    return jnp.maximum(-(-(last - first + 1) // GUESS_POINTS), 1)


def _guess_points(f, z, valid):
    """``(f, z, valid)`` thinned for the initial guess: at most `GUESS_POINTS` points, evenly
    strided over the range from the first to the last valid point (all of them when there are
    that few; the same arrays when the padded length is that short)."""
    if f.shape[0] <= GUESS_POINTS:
        return f, z, valid
    first, last = _valid_range(valid)
    stride = _guess_stride(first, last)
    pick = first + stride * jnp.arange(GUESS_POINTS)
    inside = pick <= last
    pick = jnp.minimum(pick, last)
    return f[pick], z[pick], valid[pick] & inside


MAX_GUESS_PHASE_STEP = 0.5 * math.pi
"""The thinned guess is redone on all points when the phase would turn by more than this (rad)
between two of its successive points at the ends of the sweep, where the phase is the cable
delay's: larger steps make its unwrapping ambiguous (a wide sweep, a long cable)."""


def _thinned_guess(f, z, valid, opts):
    """`_guess` on the points of `_guess_points`, or on all points (a real branch for one
    sweep) when the thinned sweep would be too coarse for the delay's phase: the mean phase step
    between successive points in 16-point windows at the two ends of the valid range, times the
    stride, exceeds `MAX_GUESS_PHASE_STEP` (steps of the thinned points themselves would alias by
    whole turns)."""
    ft, zt, vt = _guess_points(f, z, valid)
    g = _guess(ft, zt, vt, opts)
    if ft.shape == f.shape:
        return g
    length, window = f.shape[0], 16
    first, last = _valid_range(valid)
    stride = _guess_stride(first, last)

    def mean_step(start):
        w = jax.lax.dynamic_slice(z, (jnp.clip(start, 0, length - window),), (window,))
        return jnp.abs(jnp.mean(_phase_steps(jnp.real(w), jnp.imag(w))))

    per_point = jnp.maximum(mean_step(first), mean_step(last - window + 1))
    coarse = per_point * stride.astype(f.dtype) > MAX_GUESS_PHASE_STEP
    return _maybe(coarse, lambda _: _guess(f, z, valid, opts), g)


def _guess(f, z, valid, opts):
    """Starting values: delay (slope, fixed, or baseline), then the circle estimate."""
    edges = _edges(valid)
    zr, zi = jnp.real(z), jnp.imag(z)
    tau_free = _slope_delay(f, zr, zi, valid, edges)
    tau = jnp.where(opts["tau_fixed"], opts["tau_value"], tau_free)
    g = _circle_guess(f, zr, zi, valid, edges, tau, opts["k"])

    def with_baseline(g):
        tau_b = _baseline_delay(f, z, valid, edges, g, opts["k"])
        return _circle_guess(f, zr, zi, valid, edges, tau_b, opts["k"])

    return _maybe(opts["baseline"], with_baseline, g)


def _maybe(pred, fn, x):
    """``fn(x)`` where `pred` holds, else `x`: a real branch for one sweep (``lax.cond``); under
    ``vmap`` both are computed and selected."""
    return jax.lax.cond(pred, fn, lambda y: y, x)


def _crop_mask(f, valid, g, opts):
    half = opts["crop_linewidths"] * g["f_res"] / g["Ql"]
    inside = (f >= opts["crop_lo"]) & (f <= opts["crop_hi"]) & (jnp.abs(f - g["f_res"]) <= half)
    return valid & inside


# ------------------------------------------------------------------------------------------------
# model in internal coordinates and the Levenberg–Marquardt loop
# ------------------------------------------------------------------------------------------------


def _model(p, f, ref, k):
    """The model in internal coordinates, in complex arithmetic: the reference that the real
    arithmetic of `_residual_and_jacobian` (which the fit uses) is tested against."""
    fr = ref["f_res"] * (1.0 + p[0] / ref["Ql"])
    Qi, Qc, phi, a = jnp.exp(p[1]), jnp.exp(p[2]), p[3], jnp.exp(p[4])
    Ql = 1.0 / (1.0 / Qi + jnp.cos(phi) / Qc)
    background = 1.0 + p[7] * (f - fr) / ref["span"]
    env = as_complex(a * background) * jnp.exp(1j * as_complex(p[5] - p[6] * (f - ref["f_c"]) / ref["span"]))
    return env * _resonance_term(f, fr, Ql, Qc, phi, k)


def _resonance_energy(p, f, sw, ref, k):
    r"""$\sum_i w_i|S(f_i)-S_{bg}(f_i)|^2$: the weighted energy of the resonance term, with
    $S_{bg}$ the model's background ($|Q_c|\to\infty$). Since
    $S-S_{bg}=-\mathrm{env}\,q\,e^{j\phi}/D$, it is $\sum_i w_i a^2B_i^2q^2/(1+s_i^2)$ (real
    arithmetic, no model evaluation)."""
    fr = ref["f_res"] * (1.0 + p[0] / ref["Ql"])
    Qi, Qc, phi, a = jnp.exp(p[1]), jnp.exp(p[2]), p[3], jnp.exp(p[4])
    Ql = 1.0 / (1.0 / Qi + jnp.cos(phi) / Qc)
    s = 2.0 * Ql * (f / fr - 1.0)
    B = 1.0 + p[7] * (f - fr) / ref["span"]
    return jnp.sum((sw * a * B * (k * Ql / Qc)) ** 2 / (1.0 + s * s))


def _residual(p, f, z, sw, ref, k):
    """Weighted complex residual ``sqrt(w) (S(p) - z)``, shape (n,): with ``jax.jacfwd``, the
    tests' reference for `_residual_and_jacobian` (the fit itself does not call it)."""
    return as_complex(sw) * (_model(p, f, ref, k) - z)


def _residual_and_jacobian(p, args):
    r"""Residual and Jacobian in the internal coordinates, analytically, in real arithmetic.

    Returns ``r`` of shape (2, n) (real and imaginary parts of ``sqrt(w) (S(p) - z)``) and
    ``J`` of shape (8, 2, n) (its derivatives by the 8 internal coordinates).
    With $u=f/f_{res}-1$, $s=2Q_lu$, $D=1+js$, $q=kQ_l/|Q_c|$, $E=e^{j\phi}/D$ and
    $S=\mathrm{env}\,(1-qE)$: $\partial S/\partial q=-\mathrm{env}\,E$,
    $\partial S/\partial\phi|_{expl}=-jq\,\mathrm{env}\,E$,
    $\partial S/\partial s=jq\,\mathrm{env}\,E/D$; $Q_l$, $q$ and $s$ depend on the
    parameters through $1/Q_l=1/Q_i+\cos\phi/|Q_c|$; the background $B=1+b(f-f_{res})/\Delta f$
    multiplies the envelope. One pass with one sine and cosine per point, no complex division
    and no automatic differentiation (checked against ``jax.jacfwd`` of `_residual` in the tests).
    """
    f, zr, zi, sw, ref, k = args
    fg, qlg = ref["f_res"], ref["Ql"]
    fr = fg * (1.0 + p[0] / qlg)
    Qi, Qc, phi, a = jnp.exp(p[1]), jnp.exp(p[2]), p[3], jnp.exp(p[4])
    cphi, sphi = jnp.cos(phi), jnp.sin(phi)
    Ql = 1.0 / (1.0 / Qi + cphi / Qc)
    q = k * Ql / Qc
    u = f / fr - 1.0
    s = 2.0 * Ql * u
    Dr = 1.0 / (1.0 + s * s)  # 1/D = Dr + j Di
    Di = -s * Dr
    Er, Ei = cphi * Dr - sphi * Di, cphi * Di + sphi * Dr
    t = (f - ref["f_c"]) / ref["span"]
    v = (f - fr) / ref["span"]
    B = 1.0 + p[7] * v
    theta = p[5] - p[6] * t
    m0 = sw * a
    er, ei = m0 * jnp.cos(theta), m0 * jnp.sin(theta)  # envelope without the background
    Pr, Pi = er * Er - ei * Ei, er * Ei + ei * Er  # env0 E
    S0r, S0i = er - q * Pr, ei - q * Pi  # env0 (1 - q E)
    Sr, Si = B * S0r, B * S0i
    Gr, Gi = Pr * Dr - Pi * Di, Pr * Di + Pi * Dr  # env0 E / D
    dsr, dsi = -q * B * Gi, q * B * Gr  # dS/ds = j q env E / D
    dqr, dqi = -B * Pr, -B * Pi  # dS/dq = -env E

    def col(dQl, dq_extra=0.0):
        cq = k * dQl / Qc + dq_extra
        return cq * dqr + 2.0 * dQl * u * dsr, cq * dqi + 2.0 * dQl * u * dsi

    # dQl/dp for p = ln Qi, ln Qc, phi
    dQl_lnQi = Ql * Ql / Qi
    dQl_lnQc = Ql * Ql * cphi / Qc
    dQl_phi = Ql * Ql * sphi / Qc
    ds_dx = -2.0 * Ql * (f / fr) * (fg / qlg) / fr
    b_x = p[7] * (fg / qlg) / ref["span"]
    c3r, c3i = col(dQl_phi)
    J = jnp.stack([
        jnp.stack([ds_dx * dsr - b_x * S0r, ds_dx * dsi - b_x * S0i]),
        jnp.stack(col(dQl_lnQi)),
        jnp.stack(col(dQl_lnQc, -q)),
        jnp.stack([c3r + q * B * Pi, c3i - q * B * Pr]),
        jnp.stack([Sr, Si]),
        jnp.stack([-Si, Sr]),
        jnp.stack([t * Si, -t * Sr]),
        jnp.stack([v * S0r, v * S0i]),
    ])
    return jnp.stack([Sr - sw * zr, Si - sw * zi]), J


def _block_size(length: int) -> int:
    """Points per block of the blocked passes over a sweep of padded `length` (a divisor):
    256 where it divides (measured on a CPU: 128 costs ~25 % more per point, 512 wastes more on
    the last, partly valid block), else 192 or 128 (bucket lengths are 2^k or 3*2^(k-1))."""
    if length <= 256:
        return length
    return next(size for size in (256, 192, 128, 64, 32, 16, 8, 4, 2, 1) if length % size == 0)


def _blocked_evaluation(f, z, sw, ref, k, valid):
    r"""``evaluate(p) -> (chi2, J^T J, J^T r)`` over the blocks that hold valid points only.

    The sweep (padded length $L$) is cut into blocks of `_block_size` points; a loop with a
    data-dependent trip count runs over the blocks from the first to the last valid point, so a
    sweep costs its own length, not the padded length of its batch.
    """
    length = f.shape[0]
    size = _block_size(length)
    n_blocks = length // size
    first, last = _valid_range(valid)
    b_lo, b_hi = first // size, last // size + 1
    blocks = tuple(x.reshape(n_blocks, size) for x in (f, jnp.real(z), jnp.imag(z), sw))

    def evaluate(p):
        def body(b, acc):
            fb, zrb, zib, swb = (x[b] for x in blocks)
            r, J = _residual_and_jacobian(p, (fb, zrb, zib, swb, ref, k))
            Jf, rf = J.reshape(J.shape[0], -1), r.reshape(-1)
            return acc[0] + rf @ rf, acc[1] + Jf @ Jf.T, acc[2] + Jf @ rf

        n = p.shape[0]
        zero = (jnp.zeros((), p.dtype), jnp.zeros((n, n), p.dtype), jnp.zeros(n, p.dtype))
        if n_blocks == 1:
            return body(0, zero)
        return jax.lax.fori_loop(b_lo, b_hi, body, zero)

    return evaluate


def _spd_solve(A, b):
    """Solve ``A x = b`` for a small symmetric positive-definite `A` by an unrolled Cholesky
    factorisation in plain array operations (no LAPACK call: cheap for 8x8, vectorises under
    ``vmap``, and safe to run on several CPU devices at once)."""
    n = A.shape[0]
    tiny = 1e-300
    L = jnp.zeros_like(A)
    for j in range(n):
        d = jnp.sqrt(jnp.maximum(A[j, j] - jnp.sum(L[j, :j] ** 2), tiny))
        L = L.at[j, j].set(d)
        if j + 1 < n:
            L = L.at[j + 1:, j].set((A[j + 1:, j] - L[j + 1:, :j] @ L[j, :j]) / d)
    y = jnp.zeros_like(b)
    for j in range(n):
        y = y.at[j].set((b[j] - L[j, :j] @ y[:j]) / L[j, j])
    x = jnp.zeros_like(b)
    for j in reversed(range(n)):
        x = x.at[j].set((y[j] - L[j + 1:, j] @ x[j + 1:]) / L[j, j])
    return x


def _levenberg_marquardt(p0, free, lower, upper, evaluate, n_res, max_steps):
    r"""Minimise the sum of squared residuals over the free entries of `p0` within a box.

    `evaluate(p)` returns $(\chi^2, J^TJ, J^Tr)$ in one pass over the data; `n_res` is the number
    of real residuals. Marquardt-scaled damping $(J^TJ+\lambda\,\mathrm{diag}\,J^TJ)\delta=-J^Tr$
    over the parameters that are free and not held at a bound by the gradient (active set), the
    step projected on the box `lower`..`upper`; a step is accepted when it lowers $\chi^2$.
    Converged when the proposed step (with $\lambda\le1$, close to Gauss–Newton's) moves every
    parameter by less than 1e-2 of its uncertainty: it is then taken without evaluating the
    model there (a real branch for one sweep; quadratic convergence leaves the result within
    ~1e-4 sigma of the minimum, and $\chi^2$, $J^TJ$ are those of the point before), when an
    accepted step moves by less than 1e-3 sigma or lowers $\chi^2$ by less than 1e-10 relative,
    when the residual is at round-off, or when no step is possible any more and the projected
    gradient vanishes. Returns ``(p, chi2, JTJ, n_steps, converged)``; `n_steps` counts the
    iterations (each evaluates the model at most once).
    """
    eye = jnp.eye(p0.shape[0], dtype=p0.dtype)

    def solve(A, g, p, lam):
        held = ((p <= lower) & (g > 0)) | ((p >= upper) & (g < 0))
        act = free & ~held
        d = jnp.where(act, jnp.maximum(jnp.diag(A), 1e-30 * jnp.max(jnp.diag(A)) + 1e-300), 1.0)
        A_l = jnp.where(act[:, None] & act[None, :], A + lam * jnp.diag(d), eye)
        g = jnp.where(act, g, 0.0)
        return -_spd_solve(A_l, g), d, g

    chi0, A0, g0 = evaluate(p0)

    def cond(s):
        return (~s["done"]) & (s["k"] < max_steps)

    def body(s):
        delta, d, g = solve(s["A"], s["g"], s["p"], s["lam"])
        p_new = jnp.clip(s["p"] + delta, lower, upper)
        sigma2 = jnp.maximum(s["chi2"], 1e-300) / n_res
        step_sigma = jnp.max(jnp.abs(p_new - s["p"]) * jnp.sqrt(d / sigma2))
        step_small = step_sigma < 1e-3
        # a Gauss–Newton-like step this small lands within ~1e-4 sigma of the minimum: take it
        # without evaluating the model there (chi2 and J^T J stay those of the current point)
        settled = (step_sigma < 1e-2) & (s["lam"] <= 1.0)
        chi_new, A_new, g_new = jax.lax.cond(settled, lambda: (s["chi2"], s["A"], s["g"]),
                                             lambda: evaluate(p_new))
        accept = ~settled & jnp.isfinite(chi_new) & (chi_new <= s["chi2"])
        drop_small = (s["chi2"] - chi_new) <= 1e-10 * s["chi2"]
        roundoff = chi_new <= 1e-26 * n_res
        done = settled | (accept & (step_small | drop_small | roundoff))
        # stuck: damping so large that no step is possible any more; done if the gradient vanishes
        cosine = jnp.max(jnp.abs(g) / jnp.sqrt(d * jnp.maximum(s["chi2"], 1e-300)))
        stuck = ~settled & ~accept & (s["lam"] > 1e12)
        pick = lambda a, b: jnp.where(accept, a, b)
        return dict(
            p=jnp.where(settled | accept, p_new, s["p"]), A=pick(A_new, s["A"]), g=pick(g_new, s["g"]),
            chi2=pick(chi_new, s["chi2"]),
            lam=jnp.where(accept, jnp.maximum(s["lam"] / 5.0, 1e-12), s["lam"] * 4.0),
            k=s["k"] + 1, done=done | stuck | (cosine == 0),
            converged=done | ((stuck | (cosine == 0)) & (cosine < 1e-6)),
        )

    init = dict(p=p0, A=A0, g=g0, chi2=chi0, lam=jnp.asarray(1e-3, p0.dtype),
                k=jnp.asarray(0), done=~jnp.isfinite(chi0), converged=jnp.asarray(False))
    s = jax.lax.while_loop(cond, body, init)
    return s["p"], s["chi2"], s["A"], s["k"], s["converged"]


# ------------------------------------------------------------------------------------------------
# one sweep: guess, fit, covariance, checks
# ------------------------------------------------------------------------------------------------


def _propagate(Jp, cov):
    """``Jp cov Jp^T`` where `cov` may hold ``inf`` variances: rows touching them become inf."""
    inf = jnp.isinf(jnp.diag(cov))
    finite_cov = jnp.where(inf[:, None] | inf[None, :], 0.0, cov)
    out = Jp @ finite_cov @ Jp.T
    touched = jnp.any((Jp != 0) & inf[None, :], axis=1)
    out = jnp.where(touched[:, None] | touched[None, :], 0.0, out)
    return out + jnp.diag(jnp.where(touched, jnp.inf, 0.0))


def _physical(p, ref, scale):
    fr = ref["f_res"] * (1.0 + p[0] / ref["Ql"])
    tau = p[6] / (2.0 * jnp.pi * ref["span"])
    alpha = p[5] + 2.0 * jnp.pi * ref["f_c"] * tau  # phase at f = 0 (model convention)
    return jnp.stack([fr, jnp.exp(p[1]), jnp.exp(p[2]), p[3], jnp.exp(p[4]) * scale, alpha, tau,
                      p[7] / ref["span"]])


def _derived(q):
    """(Ql, Qc_eff) from the physical vector (f_res, Qi, Qc, phi, ...)."""
    Qi, Qc, phi = q[1], q[2], q[3]
    return jnp.stack([1.0 / (1.0 / Qi + jnp.cos(phi) / Qc), Qc / jnp.cos(phi)])


def _internal_start(g, scale, opts):
    """Internal start vector from the guess, with user guesses and fixed values put in."""
    ref = dict(f_res=g["f_res"], Ql=g["Ql"], f_c=g["f_c"], span=g["span"])
    user = opts["guess_value"]
    has = opts["guess_given"]
    tau = jnp.where(has[6], user[6], g["tau"])
    tau = jnp.where(opts["tau_fixed"], opts["tau_value"], tau)
    tau = jnp.where(opts["baseline"] & ~has[6], g["tau"], tau)
    # phase at the sweep centre: from the guess, or from a user alpha (phase at f = 0)
    alpha_c = jnp.where(has[5], user[5] - 2.0 * jnp.pi * g["f_c"] * tau, g["alpha_c"])
    phys0 = jnp.stack([
        jnp.where(has[0], user[0], g["f_res"]), jnp.where(has[1], user[1], g["Qi"]),
        jnp.where(has[2], user[2], g["Qc"]), jnp.where(has[3], user[3], g["phi"]),
        jnp.where(has[4], user[4] / scale, g["a"] / scale),
    ])
    ideal = opts["ideal"]
    phi = jnp.where(ideal, 0.0, phys0[3])
    a_n = jnp.where(ideal, 1.0 / scale, phys0[4])
    alpha_c = jnp.where(ideal, 0.0, alpha_c)
    tau = jnp.where(ideal, 0.0, tau)
    slope = jnp.where(has[7], user[7], 0.0)  # 1/Hz; 0 for a flat background
    p = jnp.stack([
        (phys0[0] / g["f_res"] - 1.0) * g["Ql"], jnp.log(phys0[1]), jnp.log(phys0[2]), phi,
        jnp.log(a_n), alpha_c, 2.0 * jnp.pi * tau * g["span"], slope * g["span"],
    ])
    return p, ref


def _fit_one(f, z, w, opts, max_steps):
    valid0 = w > 0
    # no signal: nothing but zeros, or one value repeated
    z_mean = _wmean(z, valid0)
    dz = z - z_mean
    spread2 = jnp.max(jnp.where(valid0, jnp.real(dz) ** 2 + jnp.imag(dz) ** 2, 0.0))
    no_signal = spread2 <= (1e-12 * jnp.maximum(jnp.abs(z_mean), 1e-150)) ** 2
    scale = _wmean(jnp.abs(z), valid0)
    scale = jnp.where(scale > 0, scale, 1.0)
    # keep the arithmetic finite without signal (flagged below); a product, not a complex division
    zn = jnp.where(no_signal, 1.0 + 0.0j, z * as_complex(1.0 / scale))

    # the guess, and with `crop` a second one on the window around the first: one guess in the
    # program (a loop of one or two passes), not two copies of it
    def guess_pass(i, carry):
        g, _ = carry
        valid_i = jnp.where(i == 0, valid0, _crop_mask(f, valid0, g, opts))
        return _thinned_guess(f, zn, valid_i, opts), valid_i

    g_shape = jax.eval_shape(lambda: _thinned_guess(f, zn, valid0, opts))
    g, valid = jax.lax.fori_loop(
        0, 1 + opts["cropped"].astype(jnp.int32), guess_pass,
        (jax.tree.map(lambda x: jnp.zeros(x.shape, x.dtype), g_shape), valid0))
    p0, ref = _internal_start(g, scale, opts)
    # box: f_res within one span of the data, Q in [1, MAX_Q]; the rest wide
    f_lo = jnp.min(jnp.where(valid, f, jnp.inf))
    f_hi = jnp.max(jnp.where(valid, f, -jnp.inf))
    span = f_hi - f_lo
    x_lim = jnp.stack([(f_lo - span) / ref["f_res"] - 1.0, (f_hi + span) / ref["f_res"] - 1.0])
    x_lim = x_lim * ref["Ql"]
    lower = jnp.asarray(_LOWER).at[0].set(x_lim[0])
    upper = jnp.asarray(_UPPER).at[0].set(x_lim[1])
    p0 = jnp.clip(p0, lower, upper)
    hold_tau = (jnp.arange(_N_PAR) == 6) & (opts["tau_fixed"] | opts["baseline"])
    free = opts["free"] & ~hold_tau
    sw = jnp.sqrt(jnp.where(valid, w, 0.0))
    n_valid = jnp.sum(valid)
    evaluate = _blocked_evaluation(f, zn, sw, ref, opts["k"], valid)
    p, chi2_n, A, n_steps, converged = _levenberg_marquardt(
        p0, free, lower, upper, evaluate, 2.0 * n_valid.astype(f.dtype), max_steps)

    n_free = jnp.sum(free)
    dof = jnp.maximum(2 * n_valid - n_free, 1)
    # covariance of the free parameters: the inverse of their block of J^T J (held parameters
    # are constants, not unknowns: their rows are zeroed before inverting, then their variance)
    both = free[:, None] & free[None, :]
    cov_int = _inverse_with_inf(jnp.where(both, A, 0.0)) * (chi2_n / dof.astype(chi2_n.dtype))
    cov_int = jnp.where(both, cov_int, 0.0)

    phys = _physical(p, ref, scale)
    Jp = jax.jacfwd(_physical)(p, ref, scale)
    cov = _propagate(Jp, cov_int)
    std = jnp.sqrt(jnp.diag(cov))
    dv = _derived(phys)
    dcov = _propagate(jax.jacfwd(_derived)(phys), cov)
    dstd = jnp.sqrt(jnp.diag(dcov))
    phi = jnp.angle(jnp.exp(1j * as_complex(phys[3])))  # report phi in (-pi, pi]
    phys = phys.at[3].set(phi).at[5].set(jnp.angle(jnp.exp(1j * as_complex(phys[5]))))
    phys = phys.at[4].set(jnp.where(opts["ideal"], 1.0, phys[4]))  # exact, not exp(log(1/s))*s

    # --- checks -----------------------------------------------------------------------------
    fr, Qi, Ql = phys[0], phys[1], dv[0]
    linewidths = (f_hi - f_lo) * jnp.abs(Ql) / fr
    sigma = jnp.sqrt(chi2_n / dof.astype(chi2_n.dtype))  # noise per quadrature, normalised units
    # matched-filter SNR: energy of the fitted resonance term over the noise
    snr = jnp.sqrt(_resonance_energy(p, f, sw, ref, opts["k"])) / jnp.maximum(sigma, 1e-300)
    snr = jnp.where(no_signal, 0.0, snr)
    finite = jnp.all(jnp.isfinite(phys)) & jnp.isfinite(chi2_n) & jnp.all(jnp.isfinite(dv))
    rel = std / jnp.abs(phys)
    at_bound = jnp.any(free[1:3] & (jnp.abs(p[1:3] - math.log(MAX_Q)) < 1e-6))
    undetermined = (
        (free[1] & ~(rel[1] <= MAX_RELATIVE_STD)) | (free[2] & ~(rel[2] <= MAX_RELATIVE_STD))
        | (free[4] & ~(rel[4] <= MAX_RELATIVE_STD))
        | (free[0] & ~(std[0] <= fr / jnp.abs(Ql))) | (free[3] & ~(std[3] <= 0.5 * jnp.pi))
        | jnp.any(free & ~jnp.isfinite(std))
    )
    checks = (
        flag(no_signal, FIT_RESULTS.no_signal)
        + flag(~no_signal & ~finite, FIT_RESULTS.nonfinite)
        + flag(~no_signal & finite & ~converged, FIT_RESULTS.max_steps_reached)
        + flag(~no_signal & finite & ((fr < f_lo) | (fr > f_hi)), FIT_RESULTS.resonance_outside_sweep)
        + flag(~no_signal & finite & (linewidths < MIN_SPAN_LINEWIDTHS), FIT_RESULTS.sweep_too_narrow)
        + flag(~no_signal & finite & ~(snr >= MIN_SNR), FIT_RESULTS.no_resonance)
        + flag(~no_signal & finite & ~(Qi > 0), FIT_RESULTS.negative_qi)
        + flag(~no_signal & finite & ~(jnp.abs(phi) < 0.5 * jnp.pi), FIT_RESULTS.phi_out_of_range)
        + flag(~no_signal & finite & undetermined, FIT_RESULTS.undetermined)
        + flag(~no_signal & finite & at_bound, FIT_RESULTS.at_bound)
    )
    std = jnp.where(no_signal, jnp.where(free, jnp.inf, 0.0), std)
    dstd = jnp.where(no_signal, jnp.inf, dstd)
    init = _physical(p0, ref, scale)
    return dict(
        values=jnp.concatenate([phys, dv]), std=jnp.concatenate([std, dstd]), covariance=cov,
        initial=init, chi2=chi2_n * scale**2, reduced_chi2=chi2_n / dof.astype(chi2_n.dtype) * scale**2,
        noise=sigma * scale, snr=snr, linewidths=linewidths, n_points=n_valid, n_steps=n_steps,
        checks=checks, weights=jnp.where(valid, w, 0.0),
        optimiser_result=jnp.where(
            ~jnp.all(jnp.isfinite(p)) | ~jnp.isfinite(chi2_n), int(RESULTS.nonfinite),
            jnp.where(converged, int(RESULTS.successful), int(RESULTS.max_steps_reached)),
        ).astype(jnp.int32),
    )


def _fit_sweeps(f, z, w, opts, max_steps: int, chunk: int):
    """All sweeps on one device, `chunk` at a time under ``vmap`` (``lax.map`` over chunks).

    Under ``vmap`` a batch iterates until its slowest member has converged (converged members
    compute and discard), so on a CPU, where one sweep already fills the vector units, the
    sweeps run one by one (``chunk=1``: every sweep takes only its own steps, and the optional
    passes of the initial guess are real branches); on a GPU, wide chunks fill the device.
    """
    one = lambda a: _fit_one(*a, max_steps)
    if chunk <= 1:
        return jax.lax.map(one, (f, z, w, opts))
    return jax.lax.map(one, (f, z, w, opts), batch_size=min(chunk, f.shape[0]))


def _fit_batch_impl(f, z, w, opts, max_steps: int, throw: bool, chunk: int, n_devices: int):
    """All sweeps, split over `n_devices` local devices (``shard_map``) when more than one."""
    if n_devices > 1:
        mesh = Mesh(np.asarray(jax.local_devices()[:n_devices]), ("sweeps",))
        per_device = functools.partial(_fit_sweeps, max_steps=max_steps, chunk=chunk)
        out = jax.shard_map(per_device, mesh=mesh, in_specs=P("sweeps"), out_specs=P("sweeps"),
                            check_vma=False)(f, z, w, opts)
    else:
        out = _fit_sweeps(f, z, w, opts, max_steps, chunk)
    if throw:
        out["checks"] = eqx.error_if(
            out["checks"], jnp.any(out["checks"] != 0),
            "diffsc.fit_s21: at least one sweep failed its checks (not converged or not "
            "physically meaningful); pass throw=False and read S21Fit.reasons.",
        )
    out["result"] = result_from_checks(out["checks"])
    return out


_fit_batch = eqx.filter_jit(_fit_batch_impl)
_MODULES = ("diffsc._resonator._s21_fit", "diffsc._core._fit_status", "diffsc._core._results",
            "diffsc._fit")


@functools.lru_cache(maxsize=16)
def _fit_batch_for_export(max_steps: int, chunk: int, n_devices: int):
    return jax.jit(functools.partial(_fit_batch_impl, max_steps=max_steps, throw=False,
                                     chunk=chunk, n_devices=n_devices))


def default_chunk() -> int:
    """Sweeps per ``vmap`` chunk: 1 on a CPU, 256 on an accelerator."""
    return 1 if jax.default_backend() == "cpu" else 256


def _run(F, Z, W, opts, max_steps, throw, n_devices):
    """The compiled batch fit; through the on-disk program cache when it is enabled."""
    chunk = default_chunk()
    if throw or cache_dir() is None:
        return _fit_batch(jnp.asarray(F), jnp.asarray(Z), jnp.asarray(W),
                          jax.tree.map(jnp.asarray, opts), max_steps, throw, chunk, n_devices)
    return exported_call(f"fit_s21_{max_steps}_{chunk}_{n_devices}",
                         _fit_batch_for_export(max_steps, chunk, n_devices),
                         (F, Z, W, opts), modules=_MODULES)


# ------------------------------------------------------------------------------------------------
# host side: inputs, padding to bucket lengths, options
# ------------------------------------------------------------------------------------------------


def bucket_length(n: int) -> int:
    """Padded length for a sweep of `n` points: the smallest of 2^k and 3*2^(k-1) >= n (>= 32),
    so that sweeps of any length share a few compilations and waste at most a third."""
    size = 32
    while size < n:
        size = size * 3 // 2 if size & (size - 1) == 0 else size * 4 // 3
    return size


def _pad_rows(rows, length):
    """Stack 1-D (f, z, w) rows padded to `length`: frequencies continue the last step, values
    repeat the last sample, weights are 0."""
    F = np.empty((len(rows), length))
    Z = np.empty((len(rows), length), complex)
    W = np.zeros((len(rows), length))
    steps = np.arange(1, length + 1)
    for i, (f, z, w) in enumerate(rows):
        n = f.size
        F[i, :n], Z[i, :n], W[i, :n] = f, z, w
        F[i, n:] = f[-1] + (f[-1] - f[-2]) * steps[:length - n]
        Z[i, n:] = z[-1]
    return F, Z, W


def _as_rows(freq, s21, weights):
    """Normalise the inputs to a list of (f, z, w) rows, the batch shape and names."""
    from ._sweep_io import Sweep

    if isinstance(freq, Sweep) or (isinstance(freq, (list, tuple)) and freq
                                   and all(isinstance(s, Sweep) for s in freq)):
        if s21 is not None:
            raise ValueError("diffsc.fit_s21: pass either Sweep(s) or (freq, s21), not both.")
        sweeps = [freq] if isinstance(freq, Sweep) else list(freq)
        if weights is not None:
            wl = [weights] if isinstance(freq, Sweep) else list(weights)
            if len(wl) != len(sweeps):
                raise ValueError(f"diffsc.fit_s21: `weights` has {len(wl)} entries for "
                                 f"{len(sweeps)} sweeps.")
        else:
            wl = [None] * len(sweeps)
        names = tuple(s.name for s in sweeps)
        rows = _check_rows([np.asarray(s.freq, float) for s in sweeps],
                           [np.asarray(s.s) for s in sweeps], wl, names)
        batch = () if isinstance(freq, Sweep) else (len(sweeps),)
        return rows, batch, names
    if s21 is None:
        raise ValueError("diffsc.fit_s21: `s21` is missing (or pass a diffsc.Sweep as `freq`).")
    z = np.asarray(s21)
    if not np.iscomplexobj(z):
        raise ValueError("diffsc.fit_s21: `s21` must be complex (stack real + 1j*imag).")
    if z.ndim < 1 or z.shape[-1] < _MIN_POINTS:
        raise ValueError(f"diffsc.fit_s21: `s21` needs >= {_MIN_POINTS} points on its last axis, "
                         f"got shape {z.shape}.")
    f = np.asarray(freq, dtype=float)
    if f.shape != z.shape and f.shape != z.shape[-1:]:
        raise ValueError(
            f"diffsc.fit_s21: `freq` shape {f.shape} must be ({z.shape[-1]},) or {z.shape}."
        )
    batch, n = z.shape[:-1], z.shape[-1]
    fb = np.broadcast_to(f, z.shape).reshape(-1, n)
    zb = z.reshape(-1, n)
    if weights is None:
        wb = [None] * zb.shape[0]
    else:
        w = np.asarray(weights, float)
        if w.shape != z.shape and w.shape != z.shape[-1:]:
            raise ValueError(f"diffsc.fit_s21: `weights` shape {w.shape} must be ({n},) or "
                             f"{z.shape}.")
        wb = list(np.broadcast_to(w, z.shape).reshape(-1, n))
    rows = _check_rows(list(fb), list(zb), wb, [None] * zb.shape[0])
    return rows, batch, None


def _check_rows(fs, zs, ws, names):
    """`_check_row` for many rows: one vectorised pass when every row is valid and increasing
    and has no weights (the common case), else row by row (errors name the sweep)."""
    if len(fs) > 1 and all(w is None for w in ws) and all(f.ndim == 1 for f in fs):
        n = np.asarray([f.size for f in fs])
        if np.all(n >= _MIN_POINTS) and all(z.shape == f.shape for f, z in zip(fs, zs, strict=True)):
            f_all, z_all = np.concatenate(fs), np.concatenate(zs)
            inner = np.ones(f_all.size - 1, bool)
            inner[np.cumsum(n)[:-1] - 1] = False  # no step across two rows
            if (np.all(np.isfinite(f_all)) and np.all(f_all > 0) and np.all(np.isfinite(z_all))
                    and np.all(np.diff(f_all)[inner] > 0)):
                return [(f, z, np.ones(f.size)) for f, z in zip(fs, zs, strict=True)]
    return [_check_row(f, z, w, name) for f, z, w, name in zip(fs, zs, ws, names, strict=True)]


def _check_row(f, z, w, name):
    where = f" (sweep {name!r})" if name else ""
    if f.ndim != 1 or f.shape != z.shape:
        raise ValueError(f"diffsc.fit_s21: `freq` and `s21` must be 1-D of equal length{where}.")
    if f.size < _MIN_POINTS:
        raise ValueError(f"diffsc.fit_s21: a sweep needs >= {_MIN_POINTS} points, got "
                         f"{f.size}{where}.")
    if not np.all(np.isfinite(f)) or np.any(f <= 0):
        raise ValueError(f"diffsc.fit_s21: `freq` must be finite and > 0 Hz{where}.")
    if not np.all(np.isfinite(z)):
        raise ValueError(f"diffsc.fit_s21: `s21` contains NaN or inf{where}.")
    d = np.diff(f)
    if np.all(d < 0):
        f, z = f[::-1], z[::-1]
        w = None if w is None else np.asarray(w)[::-1]
    elif not np.all(d > 0):
        raise ValueError(f"diffsc.fit_s21: `freq` must be strictly increasing (or decreasing)"
                         f"{where}.")
    if w is None:
        w = np.ones(f.size)
    w = np.asarray(w, float)
    if w.shape != f.shape or not np.all(np.isfinite(w)) or np.any(w < 0):
        raise ValueError(f"diffsc.fit_s21: `weights` must be finite, >= 0 and one per point"
                         f"{where}.")
    if np.count_nonzero(w) < _MIN_POINTS:
        raise ValueError(f"diffsc.fit_s21: fewer than {_MIN_POINTS} points with weight > 0"
                         f"{where}.")
    return f, z, w


def _crop_options(crop, n):
    lo, hi, lw = np.full(n, -np.inf), np.full(n, np.inf), np.full(n, np.inf)
    if crop is None:
        return lo, hi, lw, False
    if isinstance(crop, (tuple, list)) and len(crop) == 2:
        lo[:], hi[:] = float(crop[0]), float(crop[1])
        if not lo[0] < hi[0]:
            raise ValueError(f"diffsc.fit_s21: `crop` window {crop!r} must be (f_min, f_max) "
                             "in Hz with f_min < f_max.")
        return lo, hi, lw, True
    if isinstance(crop, (int, float)) and not isinstance(crop, bool):
        if not (math.isfinite(crop) and crop > 0):
            raise ValueError(f"diffsc.fit_s21: `crop` = {crop!r} linewidths must be > 0.")
        lw[:] = float(crop)
        return lo, hi, lw, True
    raise ValueError(f"diffsc.fit_s21: `crop` must be None, (f_min, f_max) in Hz or a number of "
                     f"linewidths; got {crop!r}.")


def _guess_options(guess, n_rows, batch):
    value = np.ones((n_rows, _N_PAR))
    given = np.zeros((n_rows, _N_PAR), bool)
    if not guess:
        return value, given
    if not isinstance(guess, dict):
        raise ValueError("diffsc.fit_s21: `guess` must be a dict of starting values by name.")
    for name, v in guess.items():
        if name not in _PARAM_INDEX:
            raise ValueError(f"diffsc.fit_s21: unknown parameter {name!r} in `guess`; choose from "
                             f"{list(NAMES)}.")
        v = np.asarray(v, float)
        if v.shape not in ((), batch):
            raise ValueError(f"diffsc.fit_s21: `guess[{name!r}]` must be a scalar or of the batch "
                             f"shape {batch}, got {v.shape}.")
        v = np.broadcast_to(v, batch).reshape(-1) if batch else np.full(n_rows, float(v))
        if not np.all(np.isfinite(v)):
            raise ValueError(f"diffsc.fit_s21: `guess[{name!r}]` must be finite.")
        if name in ("f_res", "Qi", "Qc", "a") and np.any(v <= 0):
            raise ValueError(f"diffsc.fit_s21: `guess[{name!r}]` must be > 0.")
        i = _PARAM_INDEX[name]
        value[:, i], given[:, i] = v, True
    return value, given


def fit_s21(freq, s21=None, *, model: str = "notch", method: str = "lm", max_steps: int = 200,
            throw: bool = False, delay=None, crop=None, guess: dict | None = None,
            weights=None, background: str = "flat") -> S21Fit:
    r"""Fit measured resonator sweeps (notch $S_{21}$ or reflection $S_{11}$), batched.

    **Arguments:**

    - `freq`: frequencies, Hz, shape ``(n,)`` shared by all sweeps or the shape of `s21`; or a
      [`Sweep`][diffsc.Sweep] (from [`read_sweep`][diffsc.read_sweep]), or a list of them of any lengths
      (then `s21` is omitted): all are fitted in one compiled call (padded and masked; a new
      sweep length does not cost a compilation unless it needs a longer bucket).
    - `s21`: complex scattering parameter (dimensionless, any scale), shape ``(..., n)`` with
      ``n >= 20``, strictly increasing (or decreasing) frequencies.
    - `model`: ``"notch"`` (all 7 parameters of [`s21_notch`][diffsc.s21_notch]), ``"notch_no_delay"``
      ($\tau=0$), ``"ideal"`` (only $f_{res}, Q_i, Q_c$; $a=1$, $\alpha=\phi=\tau=0$, calibrated
      data), ``"reflection"`` (one-port $S_{11}$, same 7 parameters with the circle of diameter
      $2Q_l/|Q_c|$) or ``"reflection_ideal"``.
    - `method`: ``"lm"`` (the only method: a batched Levenberg–Marquardt written for this model).
    - `max_steps`: iteration limit per sweep.
    - `throw`: raise (also under ``jit``) if any sweep fails its checks; default: report them in
      ``S21Fit.result`` / ``S21Fit.reasons``.
    - `delay`: cable delay $\tau$: ``None`` (a free parameter), a float in s (held fixed), or
      ``"baseline"`` (taken from the off-resonance phase slope of the data divided by the guessed
      resonance, then held fixed; robust when a background trades off against $Q_c$ and $\phi$).
    - `crop`: ``None``, a window ``(f_min, f_max)`` in Hz, or a number $n$ of linewidths: keep
      $|f-f_{res}|\le n f_{res}/Q_l$ around the guessed resonance.
    - `guess`: dict of starting values for any of ``f_res`` (Hz), ``Qi``, ``Qc``, ``phi`` (rad),
      ``a``, ``alpha`` (rad, phase at $f=0$), ``tau`` (s), ``slope`` (1/Hz); scalars or of the
      batch shape.
    - `weights`: per-point weights $w_i\ge0$ (e.g. $1/\sigma_i^2$; 0 drops a point), shape of
      `s21` or ``(n,)``; one array per Sweep for a list of Sweeps.
    - `background`: ``"flat"`` (the model above) or ``"linear"``: the amplitude varies across the
      sweep as $a\,[1+b\,(f-f_{res})]$ with a fitted slope $b$ (``slope``, 1/Hz), for the
      background tilt of cables and amplifiers that would otherwise bias $Q_i$.

    **Returns:** [`S21Fit`][diffsc.S21Fit] with values and 1-sigma uncertainties of ``f_res`` (Hz),
    ``Qi``, ``Qc`` ($|Q_c|$), ``Qc_eff``, ``Ql``, ``phi`` (rad), ``a``, ``alpha`` (rad), ``tau``
    (s), ``slope`` (1/Hz, 0 unless fitted), each of the batch shape; ``success`` is true only for converged, physically meaningful
    fits (``result``/``reasons`` say why not).
    """
    if model not in _MODELS:
        raise ValueError(f"diffsc.fit_s21: unknown `model` {model!r}; use {sorted(_MODELS)}.")
    if background not in _BACKGROUNDS:
        raise ValueError(f"diffsc.fit_s21: unknown `background` {background!r}; use "
                         f"{list(_BACKGROUNDS)}.")
    if method != "lm":
        raise ValueError(f"diffsc.fit_s21: unknown `method` {method!r}; only 'lm' is available.")
    if not (isinstance(max_steps, int) and max_steps >= 1):
        raise ValueError(f"diffsc.fit_s21: `max_steps` must be an int >= 1, got {max_steps!r}.")
    rows, batch, names = _as_rows(freq, s21, weights)
    if not rows:
        raise ValueError("diffsc.fit_s21: no sweeps to fit (an empty batch).")
    free_mask, k, ideal = _MODELS[model]
    n_rows = len(rows)
    tau_fixed, baseline, tau_value = False, False, 0.0
    if delay is None:
        pass
    elif isinstance(delay, str):
        if delay != "baseline":
            raise ValueError(f"diffsc.fit_s21: `delay` must be None, a float (s) or 'baseline'; "
                             f"got {delay!r}.")
        baseline = bool(not ideal and free_mask[6])
    else:
        tau_value = float(delay)
        if not math.isfinite(tau_value):
            raise ValueError(f"diffsc.fit_s21: `delay` must be finite, got {delay!r}.")
        tau_fixed = True
    if not free_mask[6]:
        tau_fixed, tau_value, baseline = True, 0.0, False
    lo, hi, lw, cropped = _crop_options(crop, n_rows)
    g_value, g_given = _guess_options(guess, n_rows, batch)

    length = bucket_length(max(r[0].size for r in rows))
    # several sweeps are split over the local devices (e.g. the CPU cores as devices: see
    # docs/measured_data.md); the batch is padded to n_devices times a power of two
    n_devices = min(len(jax.local_devices()), 1 << (n_rows.bit_length() - 1)) if n_rows > 1 else 1
    n_batch = n_devices * (1 << max(-(-n_rows // n_devices) - 1, 0).bit_length())
    # the batch's padding rows repeat its shortest sweep (the cheapest fit), with its options
    filler = int(np.argmin([r[0].size for r in rows]))
    rows_p = rows + [rows[filler]] * (n_batch - n_rows)
    F, Z, W = _pad_rows(rows_p, length)

    def per_row(x):
        x = np.asarray(x)
        return np.concatenate([x, np.repeat(x[filler:filler + 1], n_batch - n_rows, axis=0)])

    opts = dict(
        free=np.tile(np.asarray(free_mask + (background == "linear",), bool), (n_batch, 1)),
        k=np.full(n_batch, k), ideal=np.full(n_batch, ideal),
        tau_fixed=np.full(n_batch, tau_fixed), tau_value=np.full(n_batch, tau_value),
        baseline=np.full(n_batch, baseline),
        crop_lo=per_row(lo), crop_hi=per_row(hi), crop_linewidths=per_row(lw),
        cropped=np.full(n_batch, cropped),
        guess_value=per_row(g_value), guess_given=per_row(g_given),
    )
    out = _run(F, Z, W, opts, max_steps, throw, n_devices)
    out = jax.tree.map(lambda x: np.asarray(x)[:n_rows].reshape(batch + x.shape[1:]),
                       jax.device_get(out))
    n_data = np.asarray([r[0].size for r in rows]).reshape(batch)
    return S21Fit.from_arrays(out, F[:n_rows].reshape(batch + (length,)),
                              Z[:n_rows].reshape(batch + (length,)), n_data, model=model,
                              names=names)
