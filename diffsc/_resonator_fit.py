r"""Batched least-squares fits of complex $S_{21}$ sweeps of notch-type resonators.

Model (:func:`diffsc.s21_notch`, physics reference §5.4):
$$S_{21}(f)=a\,e^{j\alpha}e^{-2\pi jf\tau}\Big[1-\frac{(Q_l/|Q_c|)e^{j\phi}}{1+2jQ_l(f/f_{res}-1)}\Big],
\qquad \frac1{Q_l}=\frac1{Q_i}+\frac{\cos\phi}{|Q_c|}.$$

Pipeline per sweep, all in JAX with fixed shapes (so thousands of sweeps run in one ``vmap``):

1. cable delay from the phase slope between the two ends of the sweep;
2. algebraic (Kåsa) circle fit of the delay-corrected data -> centre, radius;
3. off-resonance point $P=a e^{j\alpha}$ opposite the resonance point; $f_{res}$ = frequency of the
   sample closest to the resonance point; $Q_l$ from the angle swept around the centre,
   $|\theta|=2\arctan(2Q_l|f/f_{res}-1|)$; $|Q_c|=Q_l a/(2r)$, $\phi$ from the circle's rotation;
4. Levenberg–Marquardt on the complex residual (real and imaginary parts stacked) with
   :func:`diffsc.least_squares`, in well-scaled coordinates: $x=(f_{res}/f_g-1)Q_{l,g}$,
   $\ln Q_i$, $\ln|Q_c|$ (so $Q_i,Q_c>0$), $\phi$, $\ln a$, the phase at the sweep centre and the
   delay times the span. Uncertainties: Jacobian covariance scaled by the reduced $\chi^2$
   (unknown noise level), mapped to the physical parameters by the delta method.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from ._validation import check_finite, check_positive

_NAMES = ("f_res", "Qi", "Qc", "phi", "a", "alpha", "tau")


def _initial_guess(f, z):
    """Circle/phase estimate of the notch parameters of one sweep (see module docstring)."""
    n = f.shape[0]
    k = max(n // 10, 2)
    f_c = 0.5 * (f[0] + f[-1])
    span = f[-1] - f[0]
    ph = jnp.unwrap(jnp.angle(z))
    slope = (jnp.mean(ph[-k:]) - jnp.mean(ph[:k])) / (jnp.mean(f[-k:]) - jnp.mean(f[:k]))
    tau = -slope / (2.0 * jnp.pi)
    z1 = z * jnp.exp(2j * jnp.pi * (f - f_c) * tau)
    scale = jnp.mean(jnp.abs(z1))
    w = z1 / scale
    x, y = jnp.real(w), jnp.imag(w)
    A = jnp.stack([x, y, jnp.ones_like(x)], axis=1)
    rhs = -(x**2 + y**2)
    D, E, F = jnp.linalg.solve(A.T @ A, A.T @ rhs)
    zc = (-0.5 * D - 0.5j * E) * scale
    r = jnp.sqrt(jnp.maximum(0.25 * (D**2 + E**2) - F, 1e-30)) * scale
    z_edge = 0.5 * (jnp.mean(z1[:k]) + jnp.mean(z1[-k:]))
    u = (z_edge - zc) / jnp.abs(z_edge - zc)
    p_off = zc + r * u
    z_res = zc - r * u
    i_res = jnp.argmin(jnp.abs(z1 - z_res))
    fr = f[i_res]
    theta = jnp.abs(jnp.angle((z1 - zc) / (z_res - zc)))
    xr = jnp.abs(f / fr - 1.0)
    ok = xr > 0
    ql_i = jnp.tan(jnp.minimum(theta, 3.0) / 2.0) / (2.0 * jnp.where(ok, xr, 1.0))
    wgt = jnp.where(ok & (theta > 0.2) & (theta < 2.9), jnp.sin(theta) ** 2, 0.0) + 1e-30
    Ql = jnp.exp(jnp.sum(wgt * jnp.log(jnp.maximum(ql_i, 1.0))) / jnp.sum(wgt))
    Ql = jnp.clip(Ql, 2.0 * fr / span / n, 1e9)
    a = jnp.abs(p_off)
    d = jnp.clip(2.0 * r / a, 1e-4, 2.0)
    Qc = Ql / d
    phi = jnp.angle(-(z_res - p_off) / p_off)
    inv_qi = jnp.maximum(1.0 / Ql - jnp.cos(phi) / Qc, 1e-3 / Ql)
    alpha_c = jnp.angle(p_off)
    return dict(
        f_res=fr, Qi=1.0 / inv_qi, Qc=Qc, phi=phi, a=a, alpha_c=alpha_c, tau=tau, Ql=Ql,
        f_c=f_c, span=span,
    )


def _to_physical(p, ref):
    """Internal coordinates -> (f_res, Qi, Qc, phi, a, alpha, tau)."""
    fr = ref["f_res"] * (1.0 + p[0] / ref["Ql"])
    tau = p[6] / (2.0 * jnp.pi * ref["span"])
    alpha = p[5] + 2.0 * jnp.pi * ref["f_c"] * tau  # phase at f = 0 (model convention)
    return jnp.stack([fr, jnp.exp(p[1]), jnp.exp(p[2]), p[3], jnp.exp(p[4]), alpha, tau])


def _model_internal(p, f, ref):
    fr = ref["f_res"] * (1.0 + p[0] / ref["Ql"])
    Qi, Qc, phi, a = jnp.exp(p[1]), jnp.exp(p[2]), p[3], jnp.exp(p[4])
    Ql = 1.0 / (1.0 / Qi + jnp.cos(phi) / Qc)
    env = a * jnp.exp(1j * (p[5] - p[6] * (f - ref["f_c"]) / ref["span"]))
    return env * (1.0 - (Ql / Qc) * jnp.exp(1j * phi) / (1.0 + 2j * Ql * (f / fr - 1.0)))


def _full(p_sub, free):
    """Embed the free parameters into the 7-vector (fixed ones are 0 in internal coordinates)."""
    idx = np.flatnonzero(np.asarray(free))
    return jnp.zeros(7, dtype=p_sub.dtype).at[idx].set(p_sub)


def _residual(p_sub, args):
    f, z, ref, free = args
    r = _model_internal(_full(p_sub, free), f, ref) - z
    return jnp.concatenate([jnp.real(r), jnp.imag(r)])


class S21Fit(eqx.Module):
    r"""Result of :func:`fit_s21`; every array has the leading (batch) shape of the input.

    **Fields:**

    - `values`, `std`: dicts over ``f_res`` (Hz), ``Qi``, ``Qc`` (= $|Q_c|$), ``phi`` (rad),
      ``a``, ``alpha`` (rad, phase at $f=0$ as in :func:`diffsc.s21_notch`), ``tau`` (s),
      ``Ql`` and ``Qc_eff`` ($|Q_c|/\cos\phi$, Khalil's diameter-corrected value) with their
      1-sigma uncertainties.
    - `covariance`: ``(..., 7, 7)`` covariance of (f_res, Qi, Qc, phi, a, alpha, tau).
    - `initial`: dict of the automatic initial guess (same keys as `values` minus derived ones).
    - `chi2`, `reduced_chi2`: of the unweighted complex residual; `success` (bool), `n_steps`.

    Properties ``f_res, Qi, Qc, Ql, phi, a, alpha, tau`` and ``<name>_std`` give direct access.
    """

    values: dict
    std: dict
    covariance: jnp.ndarray
    initial: dict
    chi2: jnp.ndarray
    reduced_chi2: jnp.ndarray
    success: jnp.ndarray
    n_steps: jnp.ndarray

    def __getattr__(self, name):
        # only called when normal lookup fails: expose values/std by name
        values = object.__getattribute__(self, "values")
        std = object.__getattribute__(self, "std")
        if name in values:
            return values[name]
        if name.endswith("_std") and name[:-4] in std:
            return std[name[:-4]]
        raise AttributeError(name)


def _fit_one(f, z, free, method, max_steps):
    from ._fit import least_squares

    g = _initial_guess(f, z)
    ref = dict(f_res=g["f_res"], Ql=g["Ql"], f_c=g["f_c"], span=g["span"])
    p0 = jnp.stack([
        jnp.zeros(()), jnp.log(g["Qi"]), jnp.log(g["Qc"]), g["phi"], jnp.log(g["a"]),
        g["alpha_c"], 2.0 * jnp.pi * g["tau"] * g["span"],
    ])
    idx = np.flatnonzero(np.asarray(free))
    sol = least_squares(
        lambda q, args: _residual(q, (*args, free)), p0[idx], (f, z, ref),
        method=method, max_steps=max_steps,
    )
    p = _full(sol.params, free)
    J = jax.jacfwd(lambda q: _to_physical(_full(q, free), ref))(sol.params)
    cov = J @ sol.covariance @ J.T
    p0 = _full(p0[idx], free)
    phys = _to_physical(p, ref)
    values = dict(zip(_NAMES, phys, strict=True))
    values["alpha"] = jnp.angle(jnp.exp(1j * values["alpha"]))
    std = dict(zip(_NAMES, jnp.sqrt(jnp.maximum(jnp.diag(cov), 0.0)), strict=True))
    # derived: Ql and Qc_eff by the delta method
    def derived(q):
        Qi, Qc, phi = q[1], q[2], q[3]
        return jnp.stack([1.0 / (1.0 / Qi + jnp.cos(phi) / Qc), Qc / jnp.cos(phi)])

    Jd = jax.jacfwd(derived)(phys)
    dv = derived(phys)
    dstd = jnp.sqrt(jnp.maximum(jnp.diag(Jd @ cov @ Jd.T), 0.0))
    values["Ql"], values["Qc_eff"] = dv[0], dv[1]
    std["Ql"], std["Qc_eff"] = dstd[0], dstd[1]
    init = dict(zip(_NAMES, _to_physical(p0, ref), strict=True))
    return S21Fit(
        values=values, std=std, covariance=cov, initial=init, chi2=sol.chi2,
        reduced_chi2=sol.reduced_chi2, success=sol.success, n_steps=sol.n_steps,
    )


@eqx.filter_jit
def _fit_batch(f, z, free: tuple, method: str, max_steps: int):
    return jax.vmap(lambda ff, zz: _fit_one(ff, zz, free, method, max_steps))(f, z)


def fit_s21(freq, s21, *, model: str = "notch", method: str = "lm", max_steps: int = 200,
            throw: bool = False) -> S21Fit:
    r"""Fit complex $S_{21}$ sweeps of notch-type resonators; batched over leading axes.

    **Arguments:**

    - `freq`: frequencies, Hz, shape ``(n,)`` shared by all sweeps or the shape of `s21`.
    - `s21`: complex transmission (dimensionless), shape ``(..., n)``; ``n >= 20`` points,
      covering several linewidths (the ends of the sweep define the off-resonance point).
    - `model`: ``"notch"`` (all 7 parameters of :func:`diffsc.s21_notch`), ``"notch_no_delay"``
      ($\tau=0$ fixed) or ``"ideal"`` (paper Eq. 19: only $f_{res}$, $Q_i$, $Q_c$ with
      $a=1$, $\alpha=\phi=\tau=0$).
    - `method`: solver of :func:`diffsc.least_squares` ("lm", "gauss_newton", ...).
    - `max_steps`: iteration limit per sweep.
    - `throw`: raise if any sweep fails to converge (otherwise inspect ``result.success``).

    **Returns:** :class:`S21Fit` with values and 1-sigma uncertainties of ``f_res`` (Hz),
    ``Qi``, ``Qc`` ($|Q_c|$), ``Qc_eff``, ``Ql``, ``phi`` (rad), ``a``, ``alpha`` (rad), ``tau``
    (s), each of the batch shape ``s21.shape[:-1]``.
    """
    z = jnp.asarray(s21)
    if not jnp.iscomplexobj(z):
        raise ValueError("diffsc.fit_s21: `s21` must be complex (stack real + 1j*imag).")
    if z.ndim < 1 or z.shape[-1] < 20:
        raise ValueError(f"diffsc.fit_s21: `s21` needs >= 20 points on its last axis, got {z.shape}.")
    f = jnp.asarray(freq, dtype=float)
    if f.shape != z.shape and f.shape != z.shape[-1:]:
        raise ValueError(
            f"diffsc.fit_s21: `freq` shape {f.shape} must be ({z.shape[-1]},) or {z.shape}."
        )
    f = check_positive(f, "freq", "Hz")
    z = check_finite(z, "s21")
    free_sets = {
        "notch": [1, 1, 1, 1, 1, 1, 1],
        "notch_no_delay": [1, 1, 1, 1, 1, 1, 0],
        "ideal": [1, 1, 1, 0, 0, 0, 0],
    }
    if model not in free_sets:
        raise ValueError(f"diffsc.fit_s21: unknown `model` {model!r}; use {sorted(free_sets)}.")
    free = tuple(bool(v) for v in free_sets[model])
    batch = z.shape[:-1]
    n = z.shape[-1]
    zb = z.reshape(-1, n)
    fb = jnp.broadcast_to(f, z.shape).reshape(-1, n)
    if model == "ideal":
        zb = zb.astype(complex)
    res = _fit_batch(fb, zb, free, method, max_steps)
    res = jax.tree_util.tree_map(lambda x: x.reshape(batch + x.shape[1:]), res)
    if throw and not bool(jnp.all(res.success)):
        bad = int(jnp.sum(~res.success))
        raise RuntimeError(f"diffsc.fit_s21: {bad} of {zb.shape[0]} sweeps did not converge.")
    return res
