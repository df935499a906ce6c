r"""Resonance frequency and internal quality factor of a superconducting resonator versus
temperature, and the fit of a measured temperature sweep.

**Model** (Zmuidzinas, Annu. Rev. CMP 3, 169 (2012); Gao, PhD thesis,
Caltech (2008)). The complex conductivity $\sigma=\sigma_1-j\sigma_2$ is the thermal
Mattis–Bardeen one ([`mattis_bardeen`][diffsc.mattis_bardeen]) at the BCS gap $\Delta(T)$ of a material with
$\Delta(0)=\Delta_0$ and $T_c=\Delta_0/(r_c k_B)$ ([`gap`][diffsc.gap], implicit derivative). The
surface impedance scales as

$$Z_s\propto j\,(\sigma_2+j\sigma_1)^{\gamma},\qquad\gamma=-1\ (\text{thin film},\ Z_s=1/\sigma d),
\ -\tfrac12\ (\text{thick, local}),\ -\tfrac13\ (\text{extreme anomalous}),$$

(since $\sigma=-j(\sigma_2+j\sigma_1)$; principal powers). With $r(T)=Z_s(T)/X_s(0)$ and the
kinetic-inductance fraction $\alpha_k$ at $T=0$, the exact (not linearised) response of a
resonator whose inductance is $L_g+L_k\,\mathrm{Im}\,r$ and whose resistance is
$\propto\alpha_k\mathrm{Re}\,r$ is

$$f_{res}(T)=f_0\,\frac{1+\delta f_{TLS}/f}{\sqrt{1-\alpha_k+\alpha_k\,\mathrm{Im}\,r(T)}},\qquad
\frac1{Q_i(T)}=\frac{\alpha_k\,\mathrm{Re}\,r(T)}{1-\alpha_k+\alpha_k\,\mathrm{Im}\,r(T)}
+\frac1{Q_{i0}}+\frac1{Q_{TLS}},$$

with the TLS terms of `diffsc._resonator._tls` ([`tls_frequency_shift`][diffsc.tls_frequency_shift],
[`tls_loss`][diffsc.tls_loss]). To first order in $\alpha_k$ and $\sigma_1/\sigma_2$ this is §5.2:
$\delta f/f=\frac{\alpha_k|\gamma|}{2}\,\delta\sigma_2/\sigma_2$ and
$1/Q_{i,qp}=\alpha_k|\gamma|\,\sigma_1/\sigma_2$. $f_0$ is the resonance at $T\to0$ without TLS.

**Fit** ([`fit_temperature_sweep`][diffsc.fit_temperature_sweep]): Levenberg–Marquardt ([`least_squares`][diffsc.least_squares]) in
internal coordinates of order one (logistic for $\alpha_k$ and for $\ln\Delta_0$ within
$[0.4,2.5]\times$ the reference gap and above $1.02\,r_ck_B\max T$, log for $Q_{i0}$, $F\delta_0$, $n_c$, ppm of the
lowest-temperature frequency for $f_0$), a multi-start over $\Delta_0$, and noise-level
re-estimation when no uncertainties are given (see the function). Units: energies in eV, SI
elsewhere.
"""

from __future__ import annotations

import functools
import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jax.custom_derivatives import SymbolicZero

from .._core._constants import bcs_gap_ratio, k_B
from .._core._dtypes import as_complex
from .._core._fit_status import FIT_RESULTS, flag, reasons_from_checks, result_from_checks
from .._core._validation import check_nonnegative, check_positive, check_same_shape
from .._fit import _inverse_with_inf, _scaled_condition_number, least_squares
from .._superconductor._bcs import gap as _bcs_gap
from .._superconductor._material import Material
from .._superconductor._material import material as _material_preset
from .._superconductor._mattis_bardeen import mattis_bardeen, mattis_bardeen_zero_temperature
from ._tls import _reduced_frequency, _tls_bracket, _tls_loss_core, _tls_shift_core

FILM_EXPONENTS = {"thin": -1.0, "thick": -0.5, "anomalous": -1.0 / 3.0}
"""Exponent $\\gamma$ of $Z_s\\propto\\sigma^\\gamma$ for each `film` regime."""

PARAM_NAMES = ("gap0", "alpha_k", "f0", "Qi0", "F_delta0", "n_c")
"""Parameters of [`fit_temperature_sweep`][diffsc.fit_temperature_sweep], in the order of its internal vector."""

UNITS = {"gap0": "eV", "alpha_k": "1", "f0": "Hz", "Qi0": "1", "F_delta0": "1", "n_c": "1"}

_GAP_RANGE = (0.4, 2.5)  # gap0 searched within these factors of the reference gap
_GAP_STARTS = (0.8, 0.9, 1.0, 1.1, 1.25)  # multi-start factors of the reference gap
_N_PASSES = 3  # one fit with prior noise levels + two re-weighting passes
_PRIOR_REL_SIGMA_F = 2e-8  # prior fractional noise of f_res in the first pass (100 Hz at 5 GHz)
_PRIOR_SIGMA_LNQ = 0.02  # prior relative noise of Qi in the first pass
_PPM = 1e-6
_F_SCALE = 1e-6  # F_delta0 = 1e-6 exp(z)
_Z_LOG_MAX = 40.0  # log-type internal coordinates clipped to +-40 (no overflow on wild steps)
_ALPHA_EDGE = 1e-6
_GAP_EDGE = 0.01  # gap0 within 1 % (in ln) of the ends of its range counts as at the bound
_COND_MAX = 1e12
_POOR_FIT_Z = 5.0  # chi2 more than 5 sigma above its dof (Wilson–Hilferty), given uncertainties


# ---------------------------------------------------------------------------------------------
# forward model
# ---------------------------------------------------------------------------------------------


def _gap_of_T(T, gap0, tc_ratio, debye_energy, cutoff: bool):
    """BCS gap (eV) at T (K) of a material with gap0 (eV), Tc = gap0/(tc_ratio k_B)."""
    mat = Material(
        name="temperature-sweep", Tc=gap0 / (tc_ratio * k_B), gap0=gap0,
        debye_energy=debye_energy if cutoff else None,
    )
    return _bcs_gap(T, mat, cutoff=cutoff)


def _impedance_ratio(T, gap0, gamma, tc_ratio, debye_energy, freq, cutoff: bool):
    r"""$(\mathrm{Im}\,r-1,\ \mathrm{Re}\,r)$ with $r=Z_s(T)/X_s(0)$, $Z_s\propto j(\sigma_2+j\sigma_1)^\gamma$."""
    s1, s2 = mattis_bardeen(freq, T, _gap_of_T(T, gap0, tc_ratio, debye_energy, cutoff))
    # T = 0 reference in closed form (equal to the quadrature at T = 0 to 1e-16, cheaper)
    s1_0, s2_0 = mattis_bardeen_zero_temperature(freq, gap0)
    s1, s2, s1_0, s2_0 = map(as_complex, (s1, s2, s1_0, s2_0))
    log_ratio = jnp.log(s2 + 1j * s1) - jnp.log(s2_0 + 1j * s1_0)
    zt = jnp.exp(as_complex(gamma) * log_ratio)  # (sigma/sigma(0))^gamma up to the common factor
    # X_s(0) = Re[(s2_0 + j s1_0)^gamma]; relative to |.|^gamma it is cos(gamma arg)
    x0 = jnp.cos(gamma * jnp.angle(s2_0 + 1j * s1_0))
    ratio = zt / as_complex(x0)
    return jnp.real(ratio) - 1.0, -jnp.imag(ratio)


@functools.partial(jax.custom_jvp, nondiff_argnums=(6,))
def _impedance_ratio_dense(T, gap0, gamma, tc_ratio, debye_energy, freq, cutoff: bool):
    """`_impedance_ratio` whose derivative in `gap0` is formed once, in the primal pass.

    Same values and (exact) derivatives. The fit differentiates its residual many times (LM
    steps, gradient, Jacobian); with the derivative along `gap0` materialised as a vector, each of
    those is a product with it, instead of a new forward/reverse pass through the gap equation
    and the Mattis–Bardeen quadrature (3x less compile time for the fit).
    """
    return _impedance_ratio(T, gap0, gamma, tc_ratio, debye_energy, freq, cutoff)


def _impedance_ratio_dense_jvp(cutoff, primals, tangents):
    T, gap0, gamma, tc_ratio, debye, freq = primals
    fn = lambda *xs: _impedance_ratio(*xs, cutoff)
    value, d_gap = jax.jvp(lambda g: fn(T, g, gamma, tc_ratio, debye, freq), (gap0,),
                           (jnp.ones_like(gap0),))
    is_zero = [isinstance(t, SymbolicZero) for t in tangents]
    out = tuple(jnp.zeros_like(v) for v in value)
    if not is_zero[1]:
        out = tuple(o + d * tangents[1] for o, d in zip(out, d_gap, strict=True))
    if not all(is_zero[i] for i in (0, 2, 3, 4, 5)):
        t_rest = [jnp.zeros_like(x) if (z or i == 1) else t
                  for i, (x, t, z) in enumerate(zip(primals, tangents, is_zero, strict=True))]
        _, d_rest = jax.jvp(fn, primals, tuple(t_rest))
        out = tuple(o + d for o, d in zip(out, d_rest, strict=True))
    return value, out


_impedance_ratio_dense.defjvp(_impedance_ratio_dense_jvp, symbolic_zeros=True)


def _forward(T, f0, alpha_k, gap0, inv_Qi0, gamma, tc_ratio, debye_energy, freq, F_delta0,
             photon_number, n_c, beta, cutoff: bool):
    """Unvalidated model: (f_res in Hz, 1/Qi)."""
    q, p = _impedance_ratio_dense(T, gap0, gamma, tc_ratio, debye_energy, freq, cutoff)
    denom = 1.0 + alpha_k * q
    f = f0 * (1.0 + _tls_shift_core(freq, T, F_delta0)) / jnp.sqrt(denom)
    inv_q = alpha_k * p / denom + inv_Qi0 + _tls_loss_core(freq, T, photon_number, F_delta0,
                                                           n_c, beta)
    return f, inv_q


def _film_exponent(film: str) -> float:
    if film not in FILM_EXPONENTS:
        raise ValueError(
            f"diffsc: unknown `film` {film!r}; use one of {sorted(FILM_EXPONENTS)}."
        )
    return FILM_EXPONENTS[film]


def resonance_vs_temperature(
    T, *, f0, alpha_k, gap0, Qi0=jnp.inf, film: str = "thin", tc_ratio=bcs_gap_ratio, freq=None,
    F_delta0=0.0, photon_number=0.0, n_c=1.0, beta=0.5, debye_energy=None,
):
    r"""Resonance frequency and internal quality factor versus temperature (exact model).

    $$f_{res}=f_0\,\frac{1+\delta f_{TLS}/f}{\sqrt{1-\alpha_k+\alpha_k\,\mathrm{Im}\,r}},\qquad
    \frac1{Q_i}=\frac{\alpha_k\,\mathrm{Re}\,r}{1-\alpha_k+\alpha_k\,\mathrm{Im}\,r}+\frac1{Q_{i0}}
    +\frac1{Q_{TLS}},\qquad r=\frac{Z_s(T)}{X_s(0)},\ Z_s\propto j(\sigma_2+j\sigma_1)^{\gamma},$$

    with Mattis–Bardeen $\sigma_{1,2}$ at the BCS gap $\Delta(T)$ (module docstring). For small
    $\alpha_k$ and $\sigma_1\ll\sigma_2$: $\delta f/f=\frac{\alpha_k|\gamma|}2\delta\sigma_2/
    \sigma_2$, $1/Q_{i,qp}=\alpha_k|\gamma|\sigma_1/\sigma_2$ (Zmuidzinas 2012, Gao 2008).

    **Arguments** (real arrays broadcast against `T` and each other; complex, string, boolean,
    empty, NaN/inf (except `Qi0`) or out-of-range input raises an error naming the argument,
    eagerly and under ``jit``/``vmap``):

    - `T`: temperature, K (> 0).
    - `f0`: resonance frequency at $T\to0$ without TLS shift, Hz (> 0).
    - `alpha_k`: kinetic-inductance fraction at $T=0$, in [0, 1).
    - `gap0`: $\Delta_0$, eV (> 0).
    - `Qi0`: temperature-independent internal quality factor (> 0, ``inf`` allowed; default
      ``inf``: no such loss).
    - `film`: ``"thin"`` ($\gamma=-1$), ``"thick"`` ($-1/2$, local) or ``"anomalous"`` ($-1/3$).
    - `tc_ratio`: $\Delta_0/k_BT_c$ (default BCS 1.764); sets $T_c$ of the gap equation.
    - `freq`: probe frequency $\nu$ of Mattis–Bardeen and of the TLS terms, Hz (default `f0`,
      under ``stop_gradient``: its effect, through $h\nu/\Delta$ with $X_s(0)$ at the same
      $\nu$, is of order $\alpha_k\,\delta\sigma_2/\sigma_2$ times a fraction of a ppm).
    - `F_delta0`: TLS filling factor times loss tangent (>= 0; default 0: no TLS).
    - `photon_number`: photon number in the resonator (>= 0; saturates the TLS loss only).
    - `n_c`: TLS critical photon number (> 0); `beta`: TLS saturation exponent (>= 0).
    - `debye_energy`: Debye energy $\Omega_D$, eV, for the cut-off gap equation; ``None``
      (default) uses the cut-off-free form (differs by $O(\Delta^2/\Omega_D^2)$).

    **Returns:** ``(f_res, Qi)``: Hz and dimensionless, broadcast shape. ``jit``/``vmap``/``grad``
    safe (the gap is differentiated implicitly).
    """
    from .._core._validation import as_real, check_broadcast, check_in_range

    gamma = _film_exponent(film)
    T = check_positive(T, "T", "K", dtype=float)
    f0 = check_positive(f0, "f0", "Hz", dtype=float)
    alpha_k = check_in_range(alpha_k, "alpha_k", 0.0, dtype=float, msg="must lie in [0, 1)")
    alpha_k = eqx.error_if(alpha_k, jnp.any(alpha_k >= 1.0),
                           "diffsc: argument `alpha_k` must lie in [0, 1).")
    gap0 = check_positive(gap0, "gap0", "eV", dtype=float)
    Qi0 = as_real(Qi0, "Qi0", dtype=float)  # real, not empty; +inf is valid (no such loss)
    Qi0 = eqx.error_if(Qi0, jnp.any(~(Qi0 > 0)),
                       "diffsc: argument `Qi0` must be > 0 and not NaN (inf allowed: no such loss).")
    tc_ratio = check_positive(tc_ratio, "tc_ratio", dtype=float)
    if freq is None:
        freq = jax.lax.stop_gradient(f0)
    freq = check_positive(freq, "freq", "Hz", dtype=float)
    F_delta0 = check_nonnegative(F_delta0, "F_delta0", dtype=float)
    photon_number = check_nonnegative(photon_number, "photon_number", dtype=float)
    n_c = check_positive(n_c, "n_c", dtype=float)
    beta = check_nonnegative(beta, "beta", dtype=float)
    cutoff = debye_energy is not None
    debye = (check_positive(debye_energy, "debye_energy", "eV", dtype=float)
             if cutoff else jnp.asarray(1.0))
    check_broadcast(("T", T), ("f0", f0), ("alpha_k", alpha_k), ("gap0", gap0), ("Qi0", Qi0),
                    ("tc_ratio", tc_ratio), ("freq", freq), ("F_delta0", F_delta0),
                    ("photon_number", photon_number), ("n_c", n_c), ("beta", beta),
                    ("debye_energy", debye))
    f, inv_q = _forward_jit(T, f0, alpha_k, gap0, 1.0 / Qi0, gamma, tc_ratio, debye, freq,
                            F_delta0, photon_number, n_c, beta, cutoff)
    return f, 1.0 / inv_q


_forward_jit = jax.jit(_forward, static_argnums=(13,))


# ---------------------------------------------------------------------------------------------
# fit: internal coordinates, residuals, starting values
# ---------------------------------------------------------------------------------------------


class _Args(eqx.Module):
    """Data and settings of one fit (every array a JAX leaf, so new data reuse the compile)."""

    T: jax.Array
    f: jax.Array
    Qi: jax.Array
    f_std: jax.Array  # Hz, used where f_est is False
    Qi_std: jax.Array  # absolute, used where Qi_est is False
    sig_f: jax.Array  # current weights: sigma of f, Hz
    sig_q: jax.Array  # sigma of Qi (absolute) or of ln Qi (relative), per point
    f_est: jax.Array  # estimate the f noise from the residuals
    Qi_est: jax.Array  # estimate the Qi noise (log residuals) from the residuals
    q_on: jax.Array  # Qi data present
    photon_number: jax.Array
    free: jax.Array  # (6,) bool
    fixed_values: jax.Array  # (6,) physical values used where not free (Qi0 as given, may be inf)
    f_ref: jax.Array
    Qi_ref: jax.Array
    nc_ref: jax.Array
    gap_lo: jax.Array
    log_gap_span: jax.Array
    gamma: jax.Array
    tc_ratio: jax.Array
    debye: jax.Array
    beta: jax.Array
    cutoff: bool = eqx.field(static=True)


def _physical(z, a: _Args):
    """Internal vector (6,) -> physical values (6,) (fixed entries from ``a.fixed_values``)."""
    zc = jnp.clip(z, -_Z_LOG_MAX, _Z_LOG_MAX)
    phys = jnp.stack([
        a.gap_lo * jnp.exp(a.log_gap_span * jax.nn.sigmoid(z[0])),
        jax.nn.sigmoid(z[1]),
        a.f_ref * (1.0 + _PPM * jnp.clip(z[2], -1e5, 1e5)),
        a.Qi_ref * jnp.exp(zc[3]),
        _F_SCALE * jnp.exp(zc[4]),
        a.nc_ref * jnp.exp(zc[5]),
    ])
    return jnp.where(a.free, phys, a.fixed_values)


def _internal(phys, a: _Args):
    """Physical values (6,) -> internal vector (inverse of `_physical` on free entries)."""
    s = jnp.clip((jnp.log(phys[0] / a.gap_lo)) / a.log_gap_span, 1e-6, 1 - 1e-6)
    alpha = jnp.clip(phys[1], 1e-9, 1 - 1e-9)
    safe = lambda x: jnp.where(jnp.isfinite(x) & (x > 0), x, 1.0)
    return jnp.stack([
        jnp.log(s) - jnp.log1p(-s),
        jnp.log(alpha) - jnp.log1p(-alpha),
        (phys[2] / a.f_ref - 1.0) / _PPM,
        jnp.log(safe(phys[3]) / a.Qi_ref),
        jnp.log(safe(phys[4]) / _F_SCALE),
        jnp.log(safe(phys[5]) / a.nc_ref),
    ])


def _model_at(p, a: _Args):
    """(f_res, 1/Qi) at the data temperatures for physical values ``p`` (6,)."""
    return _forward(a.T, p[2], p[1], p[0], 1.0 / p[3], a.gamma, a.tc_ratio, a.debye, a.f_ref,
                    p[4], a.photon_number, p[5], a.beta, a.cutoff)


def _unit_residuals(p, a: _Args):
    """Unweighted residuals: f (model - data, Hz), Qi (model - data), ln(Qi_model / Qi_data)."""
    f_m, inv_q = _model_at(p, a)
    inv_q = jnp.maximum(inv_q, 1e-30)
    return f_m - a.f, 1.0 / inv_q - a.Qi, -jnp.log(inv_q) - jnp.log(a.Qi)


def _residuals(z, a: _Args):
    """Weighted residuals (2n,): f block, then Qi block (zeros when no Qi data)."""
    d_f, d_q, d_lnq = _unit_residuals(_physical(z, a), a)
    r_q = jnp.where(a.Qi_est, d_lnq, d_q) / a.sig_q
    r_q = jnp.where(a.q_on, jnp.where(jnp.isfinite(r_q), r_q, 1e10), 0.0)
    return jnp.concatenate([d_f / a.sig_f, r_q])


def _n_free(a: _Args):
    return jnp.sum(a.free.astype(float))


def _reweight(z, a: _Args):
    r"""New weights and the selection score at internal parameters `z`.

    Given uncertainties stay; an estimated block gets the rms of its unit residuals,
    $s_b^2=\sum_b u^2/(n_b-p\,n_b/N)$ ($u$ relative: $\delta f/f$ or the $\ln Q_i$ ratio; $N$
    residuals, $p$ free parameters shared in proportion). The score is $-2\ln$ of the profile
    likelihood: $\chi^2$ of blocks with given uncertainties, $n_b\ln\sum_b u^2$ of blocks
    whose noise level is estimated (used to pick the best start).
    """
    d_f, d_q, d_lnq = _unit_residuals(_physical(z, a), a)
    n = a.T.shape[0]
    n_res = n * (1.0 + a.q_on)
    dof_b = jnp.maximum(n - _n_free(a) * n / n_res, 1.0)
    ss_f = jnp.sum((d_f / a.f) ** 2)
    ss_q = jnp.sum(d_lnq**2)
    s_f = jnp.sqrt(ss_f / dof_b)
    s_q = jnp.sqrt(ss_q / dof_b)
    s_f = jnp.where(jnp.isfinite(s_f), jnp.maximum(s_f, 1e-15), _PRIOR_REL_SIGMA_F)
    s_q = jnp.where(jnp.isfinite(s_q), jnp.maximum(s_q, 1e-12), _PRIOR_SIGMA_LNQ)
    sig_f = jnp.where(a.f_est, s_f * a.f, a.f_std)
    sig_q = jnp.where(a.Qi_est, s_q, a.Qi_std)
    score_f = jnp.where(a.f_est, n * jnp.log(ss_f), jnp.sum((d_f / a.f_std) ** 2))
    score_q = jnp.where(a.Qi_est, n * jnp.log(ss_q), jnp.sum((d_q / a.Qi_std) ** 2))
    score = score_f + jnp.where(a.q_on, score_q, 0.0)
    return eqx.tree_at(lambda m: (m.sig_f, m.sig_q), a, (sig_f, sig_q)), score


def _start(gap_start, guess, guess_mask, a: _Args):
    r"""Starting values (physical, (6,)) for one trial gap: linear least squares.

    Linearised in $\alpha_k$ and $F\delta_0$: $f/f_{ref}-1\approx c-\tfrac{\alpha_k}{2}q(T)
    +F\delta_0\,s(T)$ with $q=\mathrm{Im}\,r-1$ and $s$ the TLS shift per unit $F\delta_0$;
    then $1/Q_{i0}$ = weighted mean of $1/Q_i-\alpha_k p/(1+\alpha_k q)-F\delta_0\,l(T)$.
    """
    q, p = _impedance_ratio(a.T, gap_start, a.gamma, a.tc_ratio, a.debye, a.f_ref, a.cutoff)
    s = _tls_bracket(_reduced_frequency(a.f_ref, a.T)) / jnp.pi
    fv = a.fixed_values
    free_lin = jnp.stack([a.free[2], a.free[1], a.free[4]])
    cols = jnp.stack([jnp.ones_like(q), -0.5 * q, s], axis=1)
    known = jnp.stack([fv[2] / a.f_ref - 1.0, fv[1], jnp.where(a.free[4], 0.0, fv[4])])
    rhs = a.f / a.f_ref - 1.0 - cols @ jnp.where(free_lin, 0.0, known)
    w = a.f / jnp.where(a.f_est, _PRIOR_REL_SIGMA_F * a.f, a.f_std)
    A = cols * free_lin[None, :].astype(cols.dtype) * w[:, None]
    b = rhs * w
    scale = jnp.sqrt(jnp.sum(A**2, axis=0))
    scale = jnp.where(scale > 0, scale, 1.0)
    As = A / scale[None, :]
    M = As.T @ As + jnp.diag(jnp.where(free_lin, 1e-12, 1.0))
    coef = jnp.linalg.solve(M, As.T @ b) / scale
    coef = jnp.where(free_lin, coef, known)
    alpha = jnp.clip(coef[1], 1e-4, 0.95)
    F = jnp.clip(coef[2], 1e-8, 1e-3)
    f0 = a.f_ref * (1.0 + coef[0])
    loss_tls = _tls_loss_core(a.f_ref, a.T, a.photon_number, 1.0, a.nc_ref, a.beta)
    F_used = jnp.where(a.free[4], F, fv[4])
    alpha_used = jnp.where(a.free[1], alpha, fv[1])
    excess = 1.0 / a.Qi - alpha_used * p / (1.0 + alpha_used * q) - F_used * loss_tls
    inv_qi0 = jnp.clip(jnp.median(excess), 1e-3 / a.Qi_ref, 1e3 / a.Qi_ref)
    auto = jnp.stack([gap_start, alpha, f0, 1.0 / inv_qi0, F, a.nc_ref])
    phys = jnp.where(guess_mask, guess, auto)
    return phys.at[0].set(gap_start)


def _masked_normal_matrix(jac, free):
    """J^T J of the free parameters; fixed ones decoupled with a unit diagonal."""
    jtj = jac.T @ jac
    both = free[:, None] & free[None, :]
    return jnp.where(both, jtj, jnp.diag(jnp.where(free, 0.0, 1.0)))


@eqx.filter_jit
def _fit_core(a: _Args, gap_center, guess, guess_mask, max_steps: int):
    """Multi-start, re-weighted LM fit and its covariance, checks and diagnostics (arrays)."""
    factors = jnp.asarray(_GAP_STARTS)
    gap_hi = a.gap_lo * jnp.exp(a.log_gap_span)
    gaps = jnp.where(a.free[0], jnp.clip(gap_center * factors, a.gap_lo * 1.001, gap_hi / 1.001),
                     a.fixed_values[0])
    starts = jax.vmap(lambda g: _start(g, guess, guess_mask, a))(gaps)
    z_starts = jax.vmap(lambda ph: _internal(ph, a))(starts)

    def passes(z0):
        def body(carry, _):
            z, aw = carry
            sol = least_squares(_residuals, z, aw, max_steps=max_steps, absolute_sigma=True)
            aw, score = _reweight(sol.params, aw)
            return (sol.params, aw), (sol.result, sol.n_steps, score)

        (z, aw), (results, steps, scores) = jax.lax.scan(body, (z0, a), None, length=_N_PASSES)
        return z, aw, results[-1], jnp.sum(steps), scores[-1]

    # starts one after the other (lax.map): a vmapped LM compiles ~2x slower on the CPU
    zs, aws, results, steps, scores = jax.lax.map(passes, z_starts)
    ok = (results == 0) & jnp.isfinite(scores) & jnp.all(jnp.isfinite(zs), axis=1)
    best = jnp.where(jnp.any(ok), jnp.argmin(jnp.where(ok, scores, jnp.inf)), jnp.argmin(scores))
    pick = lambda x: x[best]
    z = zs[best]
    aw = jax.tree.map(pick, aws)

    # covariance in internal coordinates (absolute: residuals are normalised), then physical
    jac, r = jax.jacfwd(lambda x: (_residuals(x, aw),) * 2, has_aux=True)(z)
    normal = _masked_normal_matrix(jac, a.free)
    cov_z = _inverse_with_inf(normal)
    cond = _scaled_condition_number(normal)
    phys = _physical(z, aw)
    dphys = jnp.diag(jax.jacfwd(_physical)(z, aw))
    cov = dphys[:, None] * dphys[None, :] * cov_z
    cov = jnp.where(jnp.isinf(cov_z) | jnp.isnan(cov), jnp.inf, cov)
    both = a.free[:, None] & a.free[None, :]
    cov = jnp.where(both, cov, 0.0)
    std = jnp.sqrt(jnp.abs(jnp.diag(cov)))
    # an uncertainty wider than a bounded parameter's whole range carries no information
    width = jnp.stack([gap_hi - a.gap_lo, 1.0, jnp.inf, jnp.inf, jnp.inf, jnp.inf])
    std = jnp.where(std > width, jnp.inf, std)
    chi2 = jnp.sum(r**2)
    dof = a.T.shape[0] * (1.0 + a.q_on) - _n_free(a)
    out = dict(
        phys=phys, std=std, cov=cov, chi2=chi2, dof=dof, cond=cond, result=results[best],
        n_steps=steps[best], sig_f=aw.sig_f, sig_q=aw.sig_q, best=best, scores=scores,
        starts=starts, gap_hi=gap_hi,
    )
    noise_given = ~a.f_est & ~((a.q_on > 0) & a.Qi_est)  # f_est, Qi_est: bool
    out["checks"], out["undetermined"], out["at_bound"] = _checks(out, a.free, a.gap_lo, gap_hi,
                                                                  noise_given)
    return out


def chi2_excess(chi2, dof):
    r"""How many standard deviations $\chi^2$ lies above its expectation for `dof` degrees of
    freedom (Wilson–Hilferty cube-root normal approximation, accurate to ~0.1 sigma for dof >= 10):
    $z=\big[(\chi^2/d)^{1/3}-(1-\tfrac2{9d})\big]/\sqrt{2/9d}$."""
    d = jnp.maximum(dof, 1.0)
    return ((chi2 / d) ** (1.0 / 3.0) - (1.0 - 2.0 / (9.0 * d))) / jnp.sqrt(2.0 / (9.0 * d))


def _checks(out, a_free, gap_lo, gap_hi, noise_given):
    """Bit mask of failed checks (``diffsc._core._fit_status``) and per-parameter flags (NumPy).

    ``poor_fit`` is tested only when every uncertainty was given (`noise_given`); otherwise the
    noise is estimated from the residuals and chi2 says nothing about the model."""
    phys, std, free = out["phys"], out["std"], a_free
    finite = jnp.all(jnp.isfinite(jnp.where(free, phys, 0.0))) & jnp.isfinite(out["chi2"])
    finite = finite & ~jnp.any(jnp.isnan(std))
    undetermined = free & (~jnp.isfinite(std) | (std > jnp.abs(phys)))
    cond_bad = ~(out["cond"] <= _COND_MAX)
    alpha_edge = free[1] & ((phys[1] < _ALPHA_EDGE) | (phys[1] > 1.0 - _ALPHA_EDGE))
    gap_edge = free[0] & ((jnp.log(phys[0] / gap_lo) < _GAP_EDGE)
                          | (jnp.log(gap_hi / phys[0]) < _GAP_EDGE))
    at_bound = jnp.zeros(6, bool).at[0].set(gap_edge).at[1].set(alpha_edge)
    checks = (
        flag(~finite, FIT_RESULTS.nonfinite)
        + flag(out["result"] != 0, FIT_RESULTS.max_steps_reached)
        + flag(jnp.any(undetermined) | cond_bad, FIT_RESULTS.undetermined)
        + flag(jnp.any(at_bound), FIT_RESULTS.at_bound)
        + flag(noise_given & (chi2_excess(out["chi2"], out["dof"]) > _POOR_FIT_Z),
               FIT_RESULTS.poor_fit)
    )
    return checks, undetermined, at_bound


# ---------------------------------------------------------------------------------------------
# result
# ---------------------------------------------------------------------------------------------


def _fmt(value, std):
    if std == 0:
        return f"{value:.6g} (fixed)"
    if not math.isfinite(std):
        return f"{value:.6g} ± inf"
    digits = max(int(math.ceil(math.log10(abs(value) / std))) + 2, 2) if value and std else 2
    return f"{value:.{min(digits, 12)}g} ± {std:.2g}"


class TemperatureSweepFit(eqx.Module):
    r"""Result of [`fit_temperature_sweep`][diffsc.fit_temperature_sweep].

    **Fields:**

    - `params`, `std`: dicts of the model parameters and their 1-sigma uncertainties:
      ``gap0`` (eV), ``alpha_k``, ``f0`` (Hz), ``Qi0`` (when $Q_i$ data were given or `Qi0` was
      fixed), ``F_delta0`` and ``n_c`` (with ``tls=True``). ``std`` is 0 for a parameter held
      fixed and ``inf`` for one the data do not determine (never NaN).
    - `free`: names of the fitted parameters (order of `covariance`); `covariance` in physical
      units.
    - `chi2`, `dof`, `reduced_chi2`: of the normalised residuals at the optimum (with estimated
      noise levels the reduced $\chi^2$ is 1 by construction); `condition_number`: of the scaled
      $J^\top J$ of the free parameters; `n_steps`: LM steps of the retained start (all passes).
    - `checks` (bit mask), `result` ([`FIT_RESULTS`][diffsc.FIT_RESULTS] verdict code, 0 = successful),
      `success` (``checks == 0``); property `reasons`; `optimiser_result`: the
      [`RESULTS`][diffsc.RESULTS] code of the Levenberg–Marquardt run of the retained start (0
      converged, 1 `max_steps` reached, ...).
    - data: `T` (K), `f_res` (Hz), `Qi` (or None), `f_res_std` (Hz) and `Qi_std` (absolute):
      the per-point uncertainties used in the final fit, given or estimated
      (`noise_estimated`: ``(f, Qi)`` flags), `photon_number`.
    - settings: `film`, `tls`, `tc_ratio`, `debye_energy` (eV or None), `beta`, `probe_freq`
      (Hz, the frequency of Mattis–Bardeen and the TLS terms), `gap_range` (eV, the interval
      ``gap0`` was confined to); `undetermined`, `at_bound`: per-parameter flags over
      ``PARAM_NAMES``.

    **Methods:** `model`, `to_dict`, `plot`.
    """

    params: dict
    std: dict
    covariance: jax.Array
    chi2: jax.Array
    dof: jax.Array
    reduced_chi2: jax.Array
    condition_number: jax.Array
    n_steps: jax.Array
    checks: jax.Array
    result: jax.Array
    success: jax.Array
    T: jax.Array
    f_res: jax.Array
    Qi: jax.Array | None
    f_res_std: jax.Array
    Qi_std: jax.Array | None
    photon_number: jax.Array
    probe_freq: jax.Array
    tc_ratio: jax.Array
    debye_energy: jax.Array | None
    beta: jax.Array
    gap_range: jax.Array  # (2,) eV: the range gap0 is confined to
    undetermined: jax.Array  # (6,) per PARAM_NAMES
    at_bound: jax.Array  # (6,)
    free: tuple = eqx.field(static=True)
    film: str = eqx.field(static=True, default="thin")
    tls: bool = eqx.field(static=True, default=False)
    noise_estimated: tuple = eqx.field(static=True, default=(False, False))
    optimiser_result: jax.Array | None = None

    @property
    def reasons(self) -> tuple:
        """Why the fit is not usable, in words (empty tuple when successful)."""
        p = {k: float(v) for k, v in self.params.items()}
        s = {k: float(v) for k, v in self.std.items()}
        und = np.asarray(self.undetermined)
        bnd = np.asarray(self.at_bound)

        def undetermined(_):
            parts = []
            for i, name in enumerate(PARAM_NAMES):
                if und[i]:
                    rel = s[name] / abs(p[name]) if p[name] else math.inf
                    parts.append(f"{name} ± inf" if not math.isfinite(rel)
                                 else f"{name} ± {100 * rel:.3g} %")
            cond = float(self.condition_number)
            if not cond <= _COND_MAX:
                parts.append(f"condition number {cond:.3g}")
            return ", ".join(parts)

        def at_bound(_):
            parts = []
            if bnd[0]:
                lo, hi = (1e6 * float(x) for x in self.gap_range)
                parts.append(f"gap0 = {p['gap0'] * 1e6:.4g} ueV at the edge of its range "
                             f"[{lo:.4g}, {hi:.4g}] ueV")
            if bnd[1]:
                parts.append(f"alpha_k = {p['alpha_k']:.3g}")
            return ", ".join(parts)

        details = {
            FIT_RESULTS.poor_fit: lambda _: (
                f"chi2 = {float(self.chi2):.4g} for {int(self.dof)} degrees of freedom, "
                f"{float(chi2_excess(self.chi2, self.dof)):.3g} sigma too high: a missing term "
                "(tls=True? another film regime?) or uncertainties too small"),
            FIT_RESULTS.max_steps_reached: lambda _: f"{int(self.n_steps)} steps",
            FIT_RESULTS.undetermined: undetermined,
            FIT_RESULTS.at_bound: at_bound,
        }
        return reasons_from_checks(self.checks, details)

    @property
    def status(self) -> FIT_RESULTS:
        """The [`FIT_RESULTS`][diffsc.FIT_RESULTS] member of `result`."""
        return FIT_RESULTS(int(self.result))

    def model(self, T, photon_number=None):
        r"""The fitted model ``(f_res, Qi)`` (Hz, dimensionless) at temperatures `T` (K).

        `photon_number`: default the fit's (a per-point array is used as is when `T` has the
        data's shape, otherwise replaced by its geometric mean).
        """
        n = self._photons(T) if photon_number is None else photon_number
        p = self.params
        return resonance_vs_temperature(
            T, f0=p["f0"], alpha_k=p["alpha_k"], gap0=p["gap0"], Qi0=p.get("Qi0", jnp.inf),
            film=self.film, tc_ratio=self.tc_ratio, freq=self.probe_freq,
            F_delta0=p.get("F_delta0", 0.0), photon_number=n, n_c=p.get("n_c", 1.0),
            beta=self.beta, debye_energy=self.debye_energy,
        )

    def _photons(self, T):
        n = jnp.asarray(self.photon_number)
        if n.ndim == 0 or jnp.shape(T) == n.shape:
            return n
        return jnp.exp(jnp.mean(jnp.log(jnp.maximum(n, 1e-30))))

    def to_dict(self) -> dict:
        """JSON-ready summary: ``parameters`` (``{name: {"value", "std", "unit", "fixed"}}``,
        floats in SI units with energies in eV; ``std`` is ``inf`` for an undetermined parameter
        (written ``Infinity`` by `json.dumps`) and 0 for a fixed one), ``free``,
        ``success``, ``result`` (name), ``reasons``, ``chi2``, ``dof``, ``reduced_chi2``,
        ``condition_number``, ``n_steps``, ``n_points``, ``film``, ``tls``,
        ``noise_estimated`` (``{"f_res": bool, "Qi": bool}``)."""
        parameters = {
            k: {"value": float(v), "std": float(self.std[k]), "unit": UNITS[k],
                "fixed": k not in self.free}
            for k, v in self.params.items()
        }
        return {
            "parameters": parameters,
            "free": list(self.free),
            "success": bool(self.success),
            "result": self.status.name,
            "reasons": list(self.reasons),
            "chi2": float(self.chi2),
            "dof": float(self.dof),
            "reduced_chi2": float(self.reduced_chi2),
            "condition_number": float(self.condition_number),
            "n_steps": int(self.n_steps),
            "n_points": int(np.size(self.T)),
            "film": self.film,
            "tls": self.tls,
            "noise_estimated": {"f_res": self.noise_estimated[0], "Qi": self.noise_estimated[1]},
        }

    def _legend_text(self):
        scale = {"gap0": (1e6, "ueV"), "f0": (1e-9, "GHz")}
        lines = []
        for k, v in self.params.items():
            m, unit = scale.get(k, (1.0, ""))
            lines.append(f"{k} = {_fmt(float(v) * m, float(self.std[k]) * m)} {unit}".strip())
        return "\n".join(lines)

    def plot(self, fig=None, *, n_curve: int = 200):
        r"""Data with error bars, the fitted model, and normalised residuals.

        Top left: $(f_{res}-f_0)/f_0$ in ppm; top right (with $Q_i$ data): $1/Q_i$ (log scale).
        With ``tls=True`` the quasiparticle and TLS parts are drawn separately (dashed/dotted).
        Bottom: residuals (data - model)/sigma. Fitted values with uncertainties in the legend,
        the verdict in the title. `fig`: a matplotlib figure to draw into (default: new).
        **Returns:** the figure.
        """
        import matplotlib.pyplot as plt

        fig = plt.figure(figsize=(10, 6)) if fig is None else fig
        has_q = self.Qi is not None
        axes = fig.subplots(2, 2 if has_q else 1, sharex=True, squeeze=False,
                            gridspec_kw={"height_ratios": (3, 1)})
        T = np.asarray(self.T)
        tt = np.linspace(T.min(), T.max(), n_curve)
        c = self._curves(tt)
        f0 = float(self.params["f0"])
        ppm = lambda f: (np.asarray(f) / f0 - 1.0) * 1e6
        ax = axes[0, 0]
        ax.errorbar(T, ppm(self.f_res), yerr=np.asarray(self.f_res_std) / f0 * 1e6, fmt="o",
                    ms=3, color="C0", label="data")
        ax.plot(tt, ppm(c["f"]), "-", color="C3", label=self._legend_text())
        if self.tls:
            ax.plot(tt, ppm(c["f_qp"]), "--", color="C2", label="quasiparticles")
            ax.plot(tt, ppm(c["f_tls"]), ":", color="C1", label="TLS")
        ax.set_ylabel("(f_res - f0)/f0 (ppm)")
        ax.legend(fontsize=7)
        axes[1, 0].plot(T, (np.asarray(self.f_res) - c["f_data"]) / np.asarray(self.f_res_std),
                        "o", ms=3, color="C0")
        axes[1, 0].axhline(0.0, color="0.5", lw=0.8)
        axes[1, 0].set_ylabel("residual / sigma")
        axes[1, 0].set_xlabel("T (K)")
        if has_q:
            ax = axes[0, 1]
            qd = np.asarray(self.Qi)
            qs = np.asarray(self.Qi_std)
            ax.errorbar(T, 1.0 / qd, yerr=qs / qd**2, fmt="o", ms=3, color="C0", label="data")
            ax.plot(tt, c["loss"], "-", color="C3", label="model")
            if self.tls:
                ax.plot(tt, c["loss_qp"], "--", color="C2", label="quasiparticles")
                ax.plot(tt, c["loss_tls"], ":", color="C1", label="TLS")
                ax.axhline(1.0 / float(self.params["Qi0"]), color="0.5", lw=0.8, ls="-.",
                           label="1/Qi0")
            ax.set_yscale("log")
            ax.set_ylim(bottom=0.2 * min(np.min(1.0 / qd), np.min(c["loss"])))
            ax.set_ylabel("1/Qi")
            ax.legend(fontsize=7)
            axes[1, 1].plot(T, (qd - 1.0 / c["loss_data"]) / qs, "o", ms=3, color="C0")
            axes[1, 1].axhline(0.0, color="0.5", lw=0.8)
            axes[1, 1].set_xlabel("T (K)")
        verdict = "success" if bool(self.success) else "; ".join(self.reasons)
        fig.suptitle(f"temperature sweep ({self.film} film): {verdict}", fontsize=9)
        return fig

    def _curves(self, T_curve):
        """Model on a grid and at the data (one evaluation), with the quasiparticle and TLS
        parts: dict of NumPy arrays (f in Hz, loss = 1/Qi)."""
        T_data = np.asarray(self.T)
        n_grid = np.broadcast_to(np.asarray(self._photons(T_curve)), T_curve.shape)
        n_data = np.broadcast_to(np.asarray(self._photons(T_data)), T_data.shape)
        temps = np.concatenate([T_curve, T_data])
        photons = np.concatenate([n_grid, n_data])
        f, q = (np.asarray(x) for x in self.model(temps, photon_number=photons))
        k = T_curve.size
        out = dict(f=f[:k], loss=1.0 / q[:k], f_data=f[k:], loss_data=1.0 / q[k:])
        if self.tls:
            p = self.params
            f_qp, q_qp = resonance_vs_temperature(
                temps, f0=p["f0"], alpha_k=p["alpha_k"], gap0=p["gap0"], film=self.film,
                tc_ratio=self.tc_ratio, freq=self.probe_freq, photon_number=photons,
                debye_energy=self.debye_energy,
            )
            shift = _tls_shift_core(self.probe_freq, T_curve, p["F_delta0"])
            loss = _tls_loss_core(self.probe_freq, T_curve, n_grid, p["F_delta0"], p["n_c"],
                                  self.beta)
            out.update(f_qp=np.asarray(f_qp)[:k], loss_qp=1.0 / np.asarray(q_qp)[:k],
                       f_tls=float(p["f0"]) * (1.0 + np.asarray(shift)),
                       loss_tls=np.asarray(loss))
        return out


# ---------------------------------------------------------------------------------------------
# public fit
# ---------------------------------------------------------------------------------------------


def _f64(x):
    """A strongly typed float64 array (so that every call traces the same types)."""
    return jnp.asarray(x, dtype=jnp.float64)


def _as_1d(x, name, n=None):
    x = jnp.asarray(x, dtype=float)
    if x.ndim != 1 or (n is not None and x.shape[0] != n):
        want = "a 1-D array" if n is None else f"a 1-D array of length {n} (one per temperature)"
        raise ValueError(f"diffsc.fit_temperature_sweep: `{name}` must be {want}, got shape "
                         f"{x.shape}.")
    return x


def _per_point(x, name, n, check):
    """A scalar or (n,) array -> (n,) array, validated by ``check``."""
    x = jnp.asarray(x, dtype=float)
    if x.ndim == 0:
        x = jnp.full((n,), x)
    check_same_shape(("T", jnp.zeros(n)), (name, x))
    return check(x, name)


def _material_of(material):
    if isinstance(material, Material):
        return material
    if isinstance(material, str):
        return _material_preset(material)
    raise TypeError("diffsc.fit_temperature_sweep: `material` must be a preset name or a "
                    "diffsc.Material.")


def _check_names(d, allowed, what):
    d = dict(d or {})
    unknown = set(d) - set(allowed)
    if unknown:
        raise ValueError(f"diffsc.fit_temperature_sweep: `{what}` has unknown parameter(s) "
                         f"{sorted(unknown)}; allowed here: {list(allowed)}.")
    for k, v in d.items():
        v = float(v)
        ok = (0.0 < v < 1.0) if k == "alpha_k" else (v >= 0.0 if k == "F_delta0" else v > 0.0)
        if not (ok and (math.isfinite(v) or k == "Qi0")):
            raise ValueError(f"diffsc.fit_temperature_sweep: `{what}[{k!r}]` = {v!r} is outside "
                             "its range (alpha_k in (0, 1), F_delta0 >= 0, others > 0).")
    return {k: float(v) for k, v in d.items()}


def fit_temperature_sweep(
    T, f_res, *, Qi=None, f_res_std=None, Qi_std=None, material="Al", film: str = "thin",
    tls: bool = False, photon_number=None, guess: dict | None = None, fixed: dict | None = None,
    max_steps: int = 200, throw: bool = False,
) -> TemperatureSweepFit:
    r"""Fit $f_{res}(T)$ (and $Q_i(T)$) of a resonator: gap, kinetic-inductance fraction, TLS.

    Model: [`resonance_vs_temperature`][diffsc.resonance_vs_temperature] (Mattis–Bardeen at the BCS gap, exact in
    $\alpha_k$, optional TLS terms). Parameters: ``gap0`` $\Delta_0$ (eV), ``alpha_k`` (in
    (0, 1)), ``f0`` (Hz, $T\to0$ without TLS), ``Qi0`` (temperature-independent loss; only with
    `Qi`), and with ``tls=True`` ``F_delta0`` (shared by the TLS shift and loss) and, when
    `Qi` and a non-zero `photon_number` are given, ``n_c`` ($F\delta_0$ from the shift, the
    loss's saturation $(1+n/n_c)^{-1/2}$ from its size: one readout power suffices; it is
    undetermined when $n\ll n_c$). Otherwise $n_c$ is held at 1 or at ``fixed["n_c"]``;
    $\beta$ is 1/2.

    **Residuals.** With uncertainties given: $(f^{model}-f)/\sigma_f$ and
    $(Q_i^{model}-Q_i)/\sigma_Q$, covariance with absolute sigma. Without: relative residuals
    $(f^{model}-f)/f$ and $\ln(Q_i^{model}/Q_i)$ whose noise level per block is estimated from
    the residual rms, $s_b^2=\sum_b u^2/(n_b-p\,n_b/N)$: a first pass with prior levels
    (2e-8 for $f$, 2 % for $Q_i$), then two re-weighting passes, each refitted; the covariance
    uses the final levels, so both blocks are balanced and the uncertainties reflect the scatter
    (reduced $\chi^2=1$ by construction).

    **Start and search.** $f_0$ from the lowest-temperature point, $\alpha_k$ (and $f_0$,
    $F\delta_0$) by linear least squares at each trial gap, $1/Q_{i0}$ from the median excess
    loss; five trial gaps $(0.8\ldots1.25)\times$ the material's $\Delta_0$ (or ``guess["gap0"]``)
    are each fitted (all passes, inside one compiled program) and the converged one with the best
    profile likelihood ($\chi^2$ of blocks with given uncertainties, $n_b\ln\sum_b u^2$ of
    blocks with estimated ones) is kept. ``gap0`` is confined to $[0.4, 2.5]\times$ that reference, and above
    $1.02\,r_ck_B\max T$ (the film is superconducting at every point).

    **Validity** (``diffsc._core._fit_status``): ``nonfinite``; ``max_steps_reached`` (any optimiser
    failure of the retained start); ``undetermined`` (a free parameter with ``inf`` uncertainty
    or one larger than its value, or scaled condition number > 1e12; an uncertainty wider than
    the allowed range of a bounded parameter, e.g. > 1 for ``alpha_k``, is reported as ``inf``);
    ``at_bound`` (``alpha_k`` within 1e-6 of 0 or 1, ``gap0`` within 1 % of the ends of its
    range). ``success`` only if none fails. Goodness of fit is not a check: with given
    uncertainties look at ``reduced_chi2`` and the residuals (`TemperatureSweepFit.plot`).
    Data without temperature-independent loss leave ``Qi0`` undetermined (hold it with
    ``fixed={"Qi0": math.inf}``); ``tls=True`` on data without TLS leaves ``F_delta0``
    undetermined.

    **Arguments:**

    - `T`: temperatures, K, 1-D (> 0); `f_res`: resonance frequencies, Hz, same shape.
    - `Qi`: internal quality factors, same shape (optional).
    - `f_res_std` (Hz), `Qi_std`: 1-sigma uncertainties, scalars or per point (optional).
    - `material`: preset name or [`Material`][diffsc.Material]: reference/starting $\Delta_0$,
      $\Delta_0/k_BT_c$ and the Debye energy (cut-off gap equation when known).
    - `film`: ``"thin"``, ``"thick"`` or ``"anomalous"`` (exponent of $Z_s\propto\sigma^\gamma$).
    - `tls`: include the TLS frequency shift and loss.
    - `photon_number`: photon number per point or scalar (see [`photon_number`][diffsc.photon_number]);
      default 0 (unsaturated TLS loss).
    - `guess`: dict of starting values (physical units) overriding the automatic ones.
    - `fixed`: dict of parameters held fixed at the given values (e.g. ``{"gap0": 180e-6}``).
    - `max_steps`: LM steps per pass; `throw`: raise ``RuntimeError`` (with the reasons) unless
      the fit is successful.

    **Returns:** [`TemperatureSweepFit`][diffsc.TemperatureSweepFit]. Repeated fits with data of the same length and
    the same `material`-has-Debye-energy and `max_steps` reuse one compiled program.
    """
    gamma = _film_exponent(film)
    T = _as_1d(T, "T")
    n = T.shape[0]
    f_res = jnp.asarray(f_res, dtype=float)
    check_same_shape(("T", T), ("f_res", f_res))
    T = check_positive(T, "T", "K")
    f_res = check_positive(f_res, "f_res", "Hz")
    has_q = Qi is not None
    if has_q:
        Qi = jnp.asarray(Qi, dtype=float)
        check_same_shape(("T", T), ("Qi", Qi))
        Qi = check_positive(Qi, "Qi")
    elif Qi_std is not None:
        raise ValueError("diffsc.fit_temperature_sweep: `Qi_std` given without `Qi`.")
    f_est = f_res_std is None
    q_est = has_q and Qi_std is None
    f_std = jnp.ones(n) if f_est else _per_point(f_res_std, "f_res_std", n, check_positive)
    q_std = jnp.ones(n) if Qi_std is None else _per_point(Qi_std, "Qi_std", n, check_positive)
    photons = (jnp.zeros(n) if photon_number is None
               else _per_point(photon_number, "photon_number", n, check_nonnegative))
    saturates = photon_number is not None and float(jnp.max(photons)) > 0.0
    varies = saturates and float(jnp.max(photons)) > 1.01 * float(jnp.min(photons))
    mat = _material_of(material)

    allowed = ["gap0", "alpha_k", "f0"] + (["Qi0"] if has_q else []) + (
        ["F_delta0", "n_c"] if tls else [])
    guess = _check_names(guess, allowed, "guess")
    fixed = _check_names(fixed, allowed, "fixed")
    defaults = {"Qi0": math.inf, "F_delta0": 0.0, "n_c": 1.0}
    free = [k for k in ("gap0", "alpha_k", "f0") if k not in fixed]
    if has_q and "Qi0" not in fixed:
        free.append("Qi0")
    if tls and "F_delta0" not in fixed:
        free.append("F_delta0")
    # n_c: the TLS loss saturates as (1 + n/n_c)^-beta; with the frequency shift fixing
    # F_delta0, one readout power already determines n_c from the size of the TLS loss
    if tls and has_q and saturates and "n_c" not in fixed:
        free.append("n_c")
    if not free:
        raise ValueError("diffsc.fit_temperature_sweep: every parameter is fixed.")
    n_res = n * (2 if has_q else 1)
    if n_res <= len(free):
        raise ValueError(f"diffsc.fit_temperature_sweep: {n_res} data values cannot determine "
                         f"{len(free)} parameters {free}.")
    if max_steps < 1:
        raise ValueError("diffsc.fit_temperature_sweep: `max_steps` must be >= 1.")

    gap_center = guess.get("gap0", fixed.get("gap0", float(mat.gap0)))
    # the film is superconducting at every point: Tc = gap0 / (tc_ratio k_B) > 1.02 max(T)
    gap_hi = _GAP_RANGE[1] * gap_center
    gap_lo = max(_GAP_RANGE[0] * gap_center, 1.02 * float(mat.gap_ratio) * k_B * float(jnp.max(T)))
    if gap_lo > 0.5 * gap_hi:
        raise ValueError(
            f"diffsc.fit_temperature_sweep: `T` reaches {float(jnp.max(T)):.4g} K, close to or "
            f"above the largest Tc considered ({gap_hi / (float(mat.gap_ratio) * k_B):.4g} K, "
            "2.5x the material's gap); check `T` (kelvin) and `material`."
        )
    fixed_values = np.array([fixed.get(k, defaults.get(k, 1.0)) for k in PARAM_NAMES])
    i_low = int(jnp.argmin(T))
    nc_ref = float(jnp.exp(jnp.mean(jnp.log(jnp.maximum(photons, 1e-3))))) if saturates else 1.0
    a = _Args(
        T=T, f=f_res, Qi=Qi if has_q else jnp.ones(n), f_std=f_std, Qi_std=q_std,
        sig_f=jnp.where(f_est, _PRIOR_REL_SIGMA_F * f_res, f_std),
        sig_q=jnp.full(n, _PRIOR_SIGMA_LNQ) if q_est else q_std,
        f_est=jnp.asarray(f_est, dtype=bool), Qi_est=jnp.asarray(q_est, dtype=bool),
        q_on=_f64(float(has_q)),
        photon_number=photons, free=jnp.asarray([k in free for k in PARAM_NAMES]),
        fixed_values=_f64(fixed_values), f_ref=f_res[i_low],
        Qi_ref=_f64(jnp.max(Qi) if has_q else 1e6), nc_ref=_f64(nc_ref), gap_lo=_f64(gap_lo),
        log_gap_span=_f64(math.log(gap_hi / gap_lo)), gamma=_f64(gamma),
        tc_ratio=_f64(float(mat.gap_ratio)),
        debye=_f64(1.0 if mat.debye_energy is None else float(mat.debye_energy)),
        beta=_f64(0.5), cutoff=mat.debye_energy is not None,
    )
    # every float leaf strongly typed: equal shapes then always hit the same compiled program
    a = jax.tree.map(lambda x: _f64(x) if jnp.issubdtype(x.dtype, jnp.floating) else x, a)
    guess_vec = _f64([guess.get(k, 1.0) for k in PARAM_NAMES])
    guess_mask = jnp.asarray([k in guess for k in PARAM_NAMES])
    out = _fit_core(a, _f64(gap_center), guess_vec, guess_mask, int(max_steps))
    out = {k: np.asarray(v) for k, v in out.items()}
    checks = out["checks"]

    shown = [k for k in PARAM_NAMES if k in allowed]
    idx = [PARAM_NAMES.index(k) for k in free]
    params = {k: out["phys"][PARAM_NAMES.index(k)] for k in shown}
    std = {k: out["std"][PARAM_NAMES.index(k)] for k in shown}
    qi_sigma = out["sig_q"] * np.asarray(Qi) if q_est else out["sig_q"]
    res = TemperatureSweepFit(
        params=params, std=std, covariance=out["cov"][np.ix_(idx, idx)],
        chi2=out["chi2"], dof=out["dof"], reduced_chi2=out["chi2"] / max(float(out["dof"]), 1.0),
        condition_number=out["cond"], n_steps=out["n_steps"], checks=checks,
        result=np.int32(result_from_checks(checks)), success=np.bool_(checks == 0),
        T=np.asarray(T), f_res=np.asarray(f_res), Qi=np.asarray(Qi) if has_q else None,
        f_res_std=out["sig_f"], Qi_std=qi_sigma if has_q else None,
        photon_number=np.asarray(photons if varies else photons[0]),
        probe_freq=np.asarray(a.f_ref), tc_ratio=np.asarray(a.tc_ratio),
        debye_energy=np.asarray(a.debye) if a.cutoff else None, beta=np.asarray(a.beta),
        gap_range=np.array([gap_lo, gap_hi]), undetermined=out["undetermined"],
        at_bound=out["at_bound"], free=tuple(free),
        film=film, tls=tls, noise_estimated=(f_est, q_est),
        optimiser_result=np.int32(out["result"]),
    )
    if throw and not bool(res.success):
        raise RuntimeError("diffsc.fit_temperature_sweep: the fit is not usable: "
                           + "; ".join(res.reasons) + " (pass throw=False to inspect it).")
    return res
