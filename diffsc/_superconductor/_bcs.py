r"""BCS equilibrium: gap equation, densities of states, occupations, n_qp and heat capacity.

Energies in eV, temperatures in K, densities in 1/m^3, heat capacities in J/(K m^3).

The gap equation is solved in reduced form. With $d=\Delta/\Delta_0$, $w=\Omega_D/\Delta_0$ and the
reduced temperature $\tau=\tau_c(w)\,T/T_c$,

$$\operatorname{arcsinh}\frac{w}{d}-\operatorname{arcsinh}w
 = 2\int_0^{\operatorname{arcsinh}(w/d)} f\!\Big(\frac{d\cosh u}{\tau}\Big)\,du$$

(Debye cutoff on $\xi$, i.e. $E$ up to $\sqrt{\Omega_D^2+\Delta^2}$, after $E=\Delta\cosh u$; $f$ the
Fermi function). The same equation at $\Delta\to0$ fixes the reduced critical
temperature $\tau_c(w)=\frac{2e^{\gamma_E}}{\pi}\,\frac{w}{w+\sqrt{w^2+1}}$ (exact up to
$e^{-w/\tau_c}$), which tends to $1/1.763877$ for $w\to\infty$; scaling $T$ with it makes the gap close
at the material's $T_c$ exactly. Without cutoff (``cutoff=False``) the left side is $\ln(1/d)$ and the integral runs to
infinity (the T-only form, exact for $\Omega_D\gg\Delta$). For a weak-coupling material
($\Delta_0 = 1.764\,k_BT_c$, e.g. the "Al" preset) this is plain BCS with $N_0V$ fixed by $\Delta_0$
and $\Omega_D$; for strong-coupling presets (Pb, Nb, ...) it is the BCS shape $\Delta(T)/\Delta_0$
versus $T/T_c$ with the material's own $\Delta_0$ and $T_c$, a standard approximation.

The root $R(\ln d)=0$ ($R$ = left side minus right side, decreasing in $\ln d$, $R(0)\le0$) is
found in $\ln d\in[-40,0]$ for every element of a batch at once, in one ``lax.while_loop``:

* the integral (`_gap_equation`): its flat part $u\le\ln(2/a)-1$, $a=d/\tau$, by the Taylor series
  of $f$ integrated in closed form, the tail by one 32-node Gauss–Legendre panel; both
  derivatives in $\ln d$ come from the same pass. Good to 2e-15 for every $a$;
* the start: an interpolation $d^2=(1-t)h(t)$, $t=\tau/\tau_c$ ($\ln d$ to 4e-5 without cutoff);
* the step: Newton corrected for the curvature $\kappa=R''/R'$ (the root of
  $R+R'(e^{\kappa\delta}-1)/\kappa$; cubic convergence, exact near $T_c$ where $R\approx A-Bd^2$ and
  at low $T$ where $R$ is linear in $\ln d$), kept inside the bracket the evaluations build up;
  it stops on a step below 1e-8 in $\ln d$ (its error is then below round-off) or on $R$ at its
  round-off level. Two evaluations per point at any $T$ up to $0.999T_c$ (about 30 times fewer
  integrand evaluations than the bracketed solver used before; ``tests/test_bcs.py`` counts them).

$d$ is good to ~1e-15 relative away from $T_c$; near $T_c$ the equation itself is ill-conditioned
($\partial R/\partial\ln d\approx-2(1-t)$), so round-off in $R$ leaves ~1e-15/(1-t). The root is
differentiated implicitly (``jax.custom_jvp``):
$\partial\ln d/\partial\theta=-(\partial R/\partial\theta)/(\partial R/\partial\ln d)$, so
``jax.grad`` of anything built on [`gap`][diffsc.gap] never differentiates through the iterations. No
root above $\ln d=-40$ ($R<0$ at $d=e^{-40}$; possible only within $\sim e^{-2w/\tau_c}$ of $T_c$,
where the closed-form $\tau_c$ is off) means no superconducting solution: $\Delta=0$ with
derivative 0.
"""

from __future__ import annotations

import fractions
import functools
import math

import jax
import jax.numpy as jnp
import jax.scipy.special
import numpy as np

from .._core._constants import bcs_gap_ratio, e, euler_gamma, k_B
from .._core._dtypes import as_complex
from .._core._validation import check_broadcast, check_finite, check_nonnegative, check_positive
from ._material import Material

_EPS = float(np.finfo(np.float64).eps)
_GL_X, _GL_W = np.polynomial.legendre.leggauss(160)  # thermal_nqp and the heat capacity
_PANEL_X, _PANEL_W = np.polynomial.legendre.leggauss(32)  # the gap-equation integral's tail
_LOG_D_MIN = -40.0  # gaps below exp(-40) * gap0 are treated as zero (T at Tc to ~1e-35)
_TAU_FLOOR = 1.0 / 800.0  # k_BT/Delta below which every Fermi factor here underflows to 0
# Newton stops once a step is below _NEWTON_STEP_TOL in ln d: that step, applied, leaves ~1e-16
# (quadratic convergence, constant <~ 1), or once |R| is at its round-off level.
_NEWTON_STEP_TOL = 1e-8
_NEWTON_MAX_STEPS = 40
# Initial guess d^2 = (1 - t) h(t), t = tau / tau_c: h a degree-6 polynomial in
# x = (2t - t0 - 1) / (1 - t0) fitted (least squares, reweighted towards minimax) to the
# cutoff-free gap on [t0, 1]; below t0 = 0.15 the gap is 1 to 5e-6. ln d to 4e-5 for every t.
_GUESS_T0 = 0.15
_GUESS_COEFFS = (
    1.999581722412282,
    0.9678464872887808,
    0.0708999160800572,
    -0.04258979551994109,
    0.03304307975610603,
    -0.0056497934833975695,
    -0.007370831033315088,
)


def _gauss(fun, lower, upper):
    """Integral of ``fun`` over [lower, upper] by 160-point Gauss–Legendre (fun vectorised)."""
    half = 0.5 * (upper - lower)
    mid = 0.5 * (upper + lower)
    u = mid + half * _GL_X
    return half * jnp.sum(_GL_W * fun(u))


def _fermi_reduced(x):
    """Fermi function of x = E/kT, stable for large |x|."""
    return jax.nn.sigmoid(-x)


def _upper_u(d, tau, span=46.0):
    """Upper limit in u beyond which f(d cosh u / tau) < exp(-span); >= 0.05 to stay smooth."""
    x = 1.0 + span * tau / d + 0.05
    return jnp.log(x + jnp.sqrt(x * x - 1.0))


def _tree_sum(x):
    """Sum over the last axis (a power of 2 long) by pairwise elementwise additions.

    The order of the additions is fixed by the code, so every element of a batch gets the same
    bits whatever the batch's shape or sharding (an XLA reduction may associate differently for
    different shapes: a scan over 4 devices would not equal the one-device scan bit for bit).
    """
    while x.shape[-1] > 1:
        half = x.shape[-1] // 2
        x = x[..., :half] + x[..., half:]
    return x[..., 0]


def _fermi_taylor_coefficients(n_terms):
    """c_n, n = 1..n_terms, of f(x) = 1/2 - sum_n c_n x^(2n-1) (|x| < pi): c_n = (2^2n - 1) B_2n / (2n)!.

    Bernoulli numbers B_2n exactly (Akiyama–Tanigawa, fractions), then rounded once.
    """
    a, bernoulli = [], []
    for m in range(2 * n_terms + 1):
        a.append(fractions.Fraction(1, m + 1))
        for j in range(m, 0, -1):
            a[j - 1] = j * (a[j - 1] - a[j])
        bernoulli.append(a[0])
    return tuple(
        float((4**n - 1) * bernoulli[2 * n] / math.factorial(2 * n)) for n in range(1, n_terms + 1)
    )


# On the flat part of the integral x = a cosh u <= 2/e: the terms fall by (x/pi)^2 <= 0.055 each.
_FERMI_TAYLOR = _fermi_taylor_coefficients(16)


def _flat_part(a, u1):
    r"""$\int_0^{u_1}f(a\cosh u)\,du$ and its first two derivatives in $\ln d$ at fixed $u_1$ ($a\propto d$).

    Term by term in the Taylor series of $f$ (valid for $a\cosh u_1\le2/e$):
    $\int_0^{u_1}f\,du=u_1/2-\sum_nc_nK_{2n-1}$ with $K_m=a^m\int_0^{u_1}\cosh^mu\,du$, from
    $K_1=a\sinh u_1$, $K_m=(a\cosh u_1)^{m-1}a\sinh u_1/m+\frac{m-1}{m}a^2K_{m-2}$; $K_m\propto d^m$
    gives the derivatives, $-\sum_nc_nmK_m$ and $-\sum_nc_nm^2K_m$.
    """
    x1, a_sinh = a * jnp.cosh(u1), a * jnp.sinh(u1)
    x1_sq, a_sq = x1 * x1, a * a
    power, k = a_sinh, a_sinh  # (a cosh u1)^(m-1) a sinh u1, K_m
    value, first, second = _FERMI_TAYLOR[0] * k, _FERMI_TAYLOR[0] * k, _FERMI_TAYLOR[0] * k
    for n, c in enumerate(_FERMI_TAYLOR[1:], start=2):
        m = 2 * n - 1
        power = power * x1_sq
        k = power / m + (m - 1) / m * a_sq * k
        value, first, second = value + c * k, first + (c * m) * k, second + (c * m * m) * k
    return 0.5 * u1 - value, -first, -second


def _panel(lower, upper):
    """Gauss–Legendre nodes and weights on [lower, upper] (elementwise), on a new last axis."""
    lower, upper = lower[..., None], upper[..., None]
    shape = (1,) * (lower.ndim - 1) + (-1,)
    half = 0.5 * (upper - lower)
    return lower + half * (1.0 + _PANEL_X.reshape(shape)), half * _PANEL_W.reshape(shape)


def _gap_equation(log_d, tau, w, cutoff: bool):
    r"""Residual $R(\ln d;\tau,w)$ of the reduced gap equation, its first two derivatives in $\ln d$,
    and the size of the terms that cancel in $R$ (its round-off scale).

    $R$ is positive below the root and negative above; it decreases monotonically in $\ln d$.
    Elementwise in ``log_d``, ``tau``, ``w`` (one shape). The integral
    $\int_0^{U}f(a\cosh u)\,du$, $a=d/\tau$, is split at $u_1=\ln(2/a)-1$ (clipped to $[0,U]$),
    where $x=a\cosh u\approx e^{-1}$. Before $u_1$ (for $a\ll1$ a long stretch where $f\approx1/2$)
    the Taylor series of $f$ is integrated term by term (`_flat_part`, exact to round-off since
    $x\le2/e<\pi$); after it the integrand falls off within $\sim4$ in $u$, and its poles, at
    $\operatorname{Im}u=\pm\pi/2$, $\operatorname{Re}u\gtrsim u_1+1$, stay at a fixed relative
    distance from that panel: 32 Gauss–Legendre nodes give it to ~1e-16. The whole integral is
    good to 2e-15 absolute for every $a$ from 1e-12 to 400 (one 160-node panel over $[0,U]$ gave the
    same). The derivatives leave out the motion of $u_1$ (the two parts' end terms cancel) and of
    the thermal end (the integrand there is $<e^{-46}$); the cutoff end
    $U=\operatorname{arcsinh}(w/d)$ is kept, to second order.
    """
    d = jnp.exp(log_d)
    # Below _TAU_FLOOR the Fermi factor is < exp(-1/_TAU_FLOOR) = 0 in float64 whatever d: clamping
    # leaves the value unchanged and keeps the implicit derivative finite down to T = 0.
    safe_tau = jnp.maximum(tau, _TAU_FLOOR)
    a = d / safe_tau
    u_top = _upper_u(d, safe_tau)
    if cutoff:
        u_d = jnp.arcsinh(w / d)
        lhs = u_d - jnp.arcsinh(w)
        dlhs = -1.0 / jnp.sqrt(1.0 + (d / w) ** 2)  # d u_d / d ln d
        end = jnp.minimum(u_top, u_d)
    else:
        lhs, dlhs, end = -log_d, -jnp.ones_like(log_d), u_top
    split = jnp.clip(jnp.log(2.0 / a) - 1.0, 0.0, end)
    integral, d_integral, d2_integral = _flat_part(a, split)
    u, weights = _panel(split, end)
    x = a[..., None] * jnp.cosh(u)
    f = _fermi_reduced(x)
    # d/d ln d of f(x) is f'(x) x (x is proportional to d), f' = -f(1-f), f'' = f(1-f)(1-2f)
    fx = f * (1.0 - f) * x
    integral = integral + _tree_sum(weights * f)
    d_integral = d_integral - _tree_sum(weights * fx)
    d2_integral = d2_integral + _tree_sum(weights * (fx * ((1.0 - 2.0 * f) * x - 1.0)))
    d2lhs = jnp.zeros_like(log_d)
    if cutoff:
        # the cutoff end U = u_d moves with d: dI = int f'x du + f(x_U) U', x_U = sqrt(d^2+w^2)/tau,
        # d ln x_U / d ln d = q / (1 + q) with q = (d/w)^2, U' = dlhs, U'' = d2lhs
        q = (d / w) ** 2
        d2lhs = q / (1.0 + q) ** 1.5
        x_end = a * jnp.cosh(end)
        f_end = _fermi_reduced(x_end)
        fx_end = f_end * (1.0 - f_end) * x_end
        binds = u_d < u_top
        d_integral = d_integral + jnp.where(binds, f_end * dlhs, 0.0)
        d2_end = -fx_end * dlhs * (1.0 + q / (1.0 + q)) + f_end * d2lhs
        d2_integral = d2_integral + jnp.where(binds, d2_end, 0.0)
    on = tau > 0
    integral, d_integral = jnp.where(on, integral, 0.0), jnp.where(on, d_integral, 0.0)
    d2_integral = jnp.where(on, d2_integral, 0.0)
    # round-off scale of lhs - 2 integral: the size of the terms that cancel
    terms = (u_d + jnp.arcsinh(w) if cutoff else jnp.abs(log_d)) + 2.0 * integral
    return lhs - 2.0 * integral, dlhs - 2.0 * d_integral, d2lhs - 2.0 * d2_integral, terms


def _residual(log_d, tau, w, cutoff: bool):
    """R of `_gap_equation` alone (what the implicit derivative differentiates)."""
    return _gap_equation(log_d, tau, w, cutoff)[0]


def _initial_log_gap(t):
    """ln d of the interpolation d^2 = (1 - t) h(t) at t = tau / tau_c (t clipped to [0, 1])."""
    t = jnp.clip(t, 0.0, 1.0)
    x = (2.0 * jnp.maximum(t, _GUESS_T0) - _GUESS_T0 - 1.0) / (1.0 - _GUESS_T0)
    h = jnp.zeros_like(x)
    for c in reversed(_GUESS_COEFFS):  # Horner
        h = h * x + c
    d2 = jnp.clip((1.0 - t) * h, jnp.exp(2.0 * _LOG_D_MIN), 1.0)
    # Rounded to 2^-24 (far below the guess's error): XLA may or may not fuse the multiply-adds
    # above, depending on the batch shape; rounding removes that last-bit difference, so the
    # iterations (and their result) are the same bits on one device and sharded over several.
    y = jnp.round(0.5 * jnp.log(d2) * 2.0**24) * 2.0**-24
    return jnp.clip(y, _LOG_D_MIN, 0.0)


def _curved_newton_step(r, dr, d2r):
    r"""Root of the model $R + R'(e^{\kappa\delta}-1)/\kappa$, $\kappa=R''/R'$, which matches $R$ to second order.

    Exact for $R=A-Be^{2\ln d}$ (near $T_c$, $\kappa=2$: Newton in $d^2$) and for $R$ linear in $\ln d$
    (low $T$, $\kappa=0$: Newton in $\ln d$); cubic convergence in between (like Halley's method).
    Where the model has no root ($\kappa\,\delta_N\le-1$, $\delta_N=-R/R'$) it returns the Newton step.
    """
    newton = -r / dr
    z = (d2r / dr) * newton
    has_root = z > -1.0
    z_safe = jnp.where(has_root & (jnp.abs(z) > 1e-4), z, 1e-4)
    ratio = jnp.where(jnp.abs(z) > 1e-4, jnp.log1p(z_safe) / z_safe, 1.0 - z / 2.0 + z * z / 3.0)
    return jnp.where(has_root, newton * ratio, newton)


def _newton(tau, w, tau_c, cutoff: bool):
    """Safeguarded Newton in ln d on [_LOG_D_MIN, 0], all elements in one ``lax.while_loop``.

    R(0) <= 0 always (d = 1) and R decreases in ln d, so every evaluation moves one end of the
    bracket [lo, hi] (R > 0: the root is above). A step (`_curved_newton_step`) that lands in the
    bracket is taken; one below the unverified lower end goes to _LOG_D_MIN itself (R < 0 there:
    no superconducting solution, returned as ``found`` False); any other step out of the bracket
    is replaced by bisection. Done once a step is below _NEWTON_STEP_TOL (that step, taken and
    clipped to the bracket, leaves an error ~ step^2 or less: the bracket end it may be clipped to
    lies between the root and the step), once R is at its round-off level, or when the bracket
    is empty.
    Elements at or above tau_c start done. Returns (ln d, found, evaluations of the batch).
    """
    y = _initial_log_gap(tau / tau_c)
    lo = jnp.full_like(y, _LOG_D_MIN)
    hi = jnp.zeros_like(y)
    done = tau >= tau_c

    def cond(state):
        return jnp.any(~state[3]) & (state[4] < _NEWTON_MAX_STEPS)

    def body(state):
        y, lo_old, hi_old, done, it = state
        r, dr, d2r, terms = _gap_equation(y, tau, w, cutoff)
        lo = jnp.where(r > 0, y, lo_old)
        hi = jnp.where(r < 0, y, hi_old)
        slope_ok = dr < 0  # always, but for round-off where R is flat (d -> 0)
        step = _curved_newton_step(r, jnp.where(slope_ok, dr, -1.0), d2r)
        newton = y + step
        small = slope_ok & (jnp.abs(step) <= _NEWTON_STEP_TOL)
        inside = slope_ok & (newton >= lo) & (newton <= hi)
        below_floor = slope_ok & (newton < lo) & (lo == _LOG_D_MIN)
        y_new = jnp.where(below_floor, _LOG_D_MIN, 0.5 * (lo + hi))
        y_new = jnp.where(inside | small, jnp.clip(newton, lo, hi), y_new)
        noise = 4.0 * _EPS * (1.0 + terms)  # r is round-off: no step can improve it
        converged = small | (jnp.abs(r) <= noise) | (hi <= lo)
        y_new = jnp.where(r == 0, y, y_new)
        keep = lambda new, old: jnp.where(done, old, new)  # noqa: E731 (finished elements)
        return keep(y_new, y), keep(lo, lo_old), keep(hi, hi_old), done | converged, it + 1

    y, lo, hi, done, steps = jax.lax.while_loop(cond, body, (y, lo, hi, done, jnp.asarray(0)))
    found = (hi > _LOG_D_MIN) & (tau < tau_c)
    return jnp.where(found, y, _LOG_D_MIN), found, steps


@functools.partial(jax.custom_jvp, nondiff_argnums=(3,))
def _log_reduced_gap(tau, w, tau_c, cutoff: bool):
    """(ln d, found) by `_newton`; implicit derivative (tau_c only places the initial guess)."""
    y, found, _ = _newton(tau, w, tau_c, cutoff)
    return y, found.astype(y.dtype)


@_log_reduced_gap.defjvp
def _log_reduced_gap_jvp(cutoff, primals, tangents):
    tau, w, tau_c = primals
    tau_dot, w_dot, _ = tangents
    y, found = _log_reduced_gap(tau, w, tau_c, cutoff)
    dr = _gap_equation(y, tau, w, cutoff)[1]
    _, r_dot = jax.jvp(lambda t, ww: _residual(y, t, ww, cutoff), (tau, w), (tau_dot, w_dot))
    ok = (found > 0.5) & (dr < 0)
    y_dot = jnp.where(ok, -r_dot / jnp.where(ok, dr, -1.0), 0.0)
    return (y, found), (y_dot, jnp.zeros_like(found))


def _reduced_gap(tau, w, tau_c, cutoff: bool):
    """d = Delta/Delta0 at reduced temperature tau (elementwise; 0 where there is no
    superconducting solution); implicit derivative."""
    tau, w, tau_c = jnp.broadcast_arrays(tau, w, tau_c)
    y, found = _log_reduced_gap(tau, w, tau_c, cutoff)
    return jnp.where(found > 0.5, jnp.exp(y), 0.0)


def reduced_gap(reduced_temperature, debye_ratio=jnp.inf, *, cutoff: bool = True):
    r"""Weak-coupling BCS gap $\Delta/\Delta_0$ as a function of $k_BT/\Delta_0$.

    **Arguments:**

    - `reduced_temperature`: $\tau=k_BT/\Delta_0$ (dimensionless, >= 0; $T_c$ is at
      $\tau_c = 1/1.763877$).
    - `debye_ratio`: $w=\Omega_D/\Delta_0$ (ignored when ``cutoff=False``).
    - `cutoff`: use the Debye-cutoff gap equation (else the cutoff-free T-only form).

    **Returns:** $\Delta/\Delta_0$ (exactly 0 at and above $\tau_c$). Differentiable
    (implicit). An infinite `debye_ratio` (the default) is the cutoff-free form.
    """
    tau = check_nonnegative(reduced_temperature, "reduced_temperature", dtype=float)
    if isinstance(debye_ratio, int | float) and math.isinf(debye_ratio) and debye_ratio > 0:
        cutoff = False  # Omega_D -> infinity: the cutoff-free equation, exactly
    w = check_positive(debye_ratio, "debye_ratio", dtype=float) if cutoff else jnp.ones(())
    check_broadcast(("reduced_temperature", tau), ("debye_ratio", w))
    tau_c = reduced_critical_temperature(w) if cutoff else jnp.asarray(1.0 / bcs_gap_ratio)
    return jnp.where(tau < tau_c, _reduced_gap(tau, w, tau_c, cutoff), 0.0)


def gap(T, material: Material, *, cutoff: bool = True):
    r"""Thermal-equilibrium BCS gap $\Delta(T)$ of a material, eV.

    Solves the gap equation (module docstring) with the material's $\Delta_0$ (``gap0``), $T_c$
    and Debye energy; implicit derivative with respect to ``T`` and every material field.

    **Arguments:**

    - `T`: temperature, K (>= 0; any shape — the result has the same shape).
    - `material`: a [`Material`][diffsc.Material].
    - `cutoff`: Debye cutoff (needs ``material.debye_energy``); ``False`` uses the cutoff-free
      form ($\Omega_D\to\infty$), which differs by $O(\Delta^2/\Omega_D^2)$.

    **Returns:** $\Delta(T)$ in eV; exactly 0 for $T\ge T_c$.
    """
    T = check_nonnegative(T, "T", "K", dtype=float)
    if cutoff and material.debye_energy is None:
        raise ValueError(
            f"diffsc.gap: material {material.name!r} has no `debye_energy`; pass cutoff=False "
            "or set material.replace(debye_energy=...)."
        )
    return _gap_kernel(T, material, cutoff)


# One compiled program per shape, also for eager calls (op by op it was ~40 small compilations,
# ~2 s before the first result). The material's float fields are traced: another material or
# parameter value does not recompile.
@functools.partial(jax.jit, static_argnames="cutoff")
def _gap_kernel(T, material: Material, cutoff: bool):
    gap0 = material.gap0
    if cutoff:
        w = material.debye_energy / gap0
        tau_c = reduced_critical_temperature(w)
        tau = tau_c * T / material.Tc
    else:
        w = jnp.ones(())
        tau_c = jnp.asarray(1.0 / bcs_gap_ratio)
        tau = T / (bcs_gap_ratio * material.Tc)
    d = _reduced_gap(tau, w, tau_c, cutoff)
    return jnp.where(T < material.Tc, gap0 * d, 0.0)  # exactly 0 (and flat) from Tc up


def reduced_critical_temperature(debye_ratio):
    r"""$k_BT_c/\Delta_0$ of the weak-coupling gap equation with Debye cutoff $w=\Omega_D/\Delta_0$.

    From $\int_0^{w}\tanh(x/2\tau_c)\,dx/x=\operatorname{arcsinh}w$ and
    $\int_0^{w}\tanh(x/2\tau)\,dx/x=\ln\frac{2e^{\gamma_E}w}{\pi\tau}+2\int_w^\infty\frac{dx}{x(e^{x/\tau}+1)}$:
    $$\tau_c(w)=\frac{2e^{\gamma_E}}{\pi}\frac{w}{w+\sqrt{w^2+1}}\,e^{2E_1(w/\tau_c)}
    \ \xrightarrow{w\to\infty}\ \frac{1}{1.763877},$$
    with the exponential-integral correction applied once (error $\sim e^{-2w/\tau_c}$).
    """
    w = jnp.asarray(debye_ratio, dtype=float)
    tau0 = 2.0 * jnp.exp(euler_gamma) / jnp.pi * w / (w + jnp.sqrt(w * w + 1.0))
    return tau0 * jnp.exp(2.0 * jax.scipy.special.exp1(w / tau0))


def fermi(E, T):
    r"""Fermi function $f(E)=1/(e^{E/k_BT}+1)$; E in eV, T in K (T = 0 gives a step, f(0)=1/2)."""
    E = check_finite(E, "E", "eV", dtype=float)
    T = check_nonnegative(T, "T", "K", dtype=float)
    check_broadcast(("E", E), ("T", T))
    kT = k_B * jnp.where(T > 0, T, 1.0)
    return jnp.where(T > 0, jax.nn.sigmoid(-E / kT), 0.5 * (1.0 - jnp.sign(E)))


def bose(Omega, T):
    r"""Bose function $n(\Omega)=1/(e^{\Omega/k_BT}-1)$ for $\Omega>0$ (eV, >= 0), T in K (>= 0).

    0 at T = 0 and, by convention, at $\Omega=0$ (the divergent mode has no phase space).
    """
    Omega = check_nonnegative(Omega, "Omega", "eV", dtype=float)
    T = check_nonnegative(T, "T", "K", dtype=float)
    check_broadcast(("Omega", Omega), ("T", T))
    kT = k_B * jnp.where(T > 0, T, 1.0)
    x = jnp.where(Omega > 0, Omega, 1.0) / kT
    return jnp.where((T > 0) & (Omega > 0), 1.0 / jnp.expm1(x), 0.0)


def quasiparticle_dos(E, gap, *, dynes=0.0):
    r"""Normalised BCS density of states $\rho(E)=N(E)/N_0$.

    $$\rho(E)=\frac{|E|}{\sqrt{E^2-\Delta^2}}\Theta(|E|-\Delta),\qquad
      \rho_\Gamma(E)=\Big|\mathrm{Re}\frac{E+i\Gamma}{\sqrt{(E+i\Gamma)^2-\Delta^2}}\Big|$$

    **Arguments:** `E` energy (eV), `gap` $\Delta$ (eV, > 0), `dynes` broadening $\Gamma$ (eV, >= 0).

    **Returns:** dimensionless $\rho$ (1 in the normal state far from the gap).
    """
    E = jnp.abs(check_finite(E, "E", "eV", dtype=float))
    gap = check_positive(gap, "gap", "eV", dtype=float)
    dynes = check_nonnegative(dynes, "dynes", "eV", dtype=float)
    check_broadcast(("E", E), ("gap", gap), ("dynes", dynes))
    z = as_complex(E) + 1j * as_complex(dynes)
    broadened = jnp.abs(jnp.real(z / jnp.sqrt(z * z - as_complex(gap**2) + 0j)))
    above = E > gap
    safe = jnp.where(above, E**2 - gap**2, 1.0)
    sharp = jnp.where(above, E / jnp.sqrt(safe), 0.0)
    return jnp.where(dynes > 0, broadened, sharp)


dos = quasiparticle_dos


def thermal_nqp(T, gap, N0):
    r"""Thermal quasiparticle density, 1/m^3.

    $$n_{qp}=4N_0\int_\Delta^\infty\rho(E)f(E)\,dE=4N_0\Delta\int_0^\infty\cosh u\,f(\Delta\cosh u)\,du$$

    (2 spins x 2 branches). **Arguments:** `T` in K (>= 0), `gap` in eV (> 0), `N0` single-spin
    density of states in 1/(eV m^3). Accurate to ~1e-12 relative; 0 at T = 0.
    """
    T = check_nonnegative(T, "T", "K", dtype=float)
    gap = check_positive(gap, "gap", "eV", dtype=float)
    N0 = check_positive(N0, "N0", "1/(eV m^3)", dtype=float)
    check_broadcast(("T", T), ("gap", gap), ("N0", N0))
    return _thermal_nqp_kernel(T, gap, N0)


def _thermal_nqp_kernel(T, gap, N0):
    """`thermal_nqp` without the input checks (for callers that checked them; no host callback)."""

    def one(t, g):
        tau = jnp.maximum(k_B * t / g, _TAU_FLOOR)  # n_qp underflows to 0 below; finite gradient
        u_top = _upper_u(1.0, tau)
        val = _gauss(lambda u: jnp.cosh(u) * _fermi_reduced(jnp.cosh(u) / tau), 0.0, u_top)
        return jnp.where(t > 0, g * val, 0.0)

    return 4.0 * N0 * jnp.vectorize(one)(T, gap)


def electronic_heat_capacity(T, material: Material, *, cutoff: bool = True):
    r"""BCS electronic heat capacity per volume $C_{es}(T)$, J/(K m^3).

    $$C_{es}=\frac{4N_0}{T}\int_\Delta^\infty\rho(E)\Big(-\frac{\partial f}{\partial E}\Big)
      \Big(E^2-T\Delta\frac{d\Delta}{dT}\Big)dE,\qquad C_{en}=\gamma T,\ \gamma=\tfrac{2\pi^2}{3}N_0k_B^2,$$

    with $d\Delta/dT$ from the implicit derivative of [`gap`][diffsc.gap]. Gives the jump
    $\Delta C/\gamma T_c = 12/(7\zeta(3)) = 1.426$ (weak coupling). **Arguments:** `T` in K (> 0), `material` with `N0`.
    """
    T = check_positive(T, "T", "K", dtype=float)
    N0 = material.require("N0")

    def one(t):
        g, dg_dT = jax.jvp(lambda tt: gap(tt, material, cutoff=cutoff), (t,), (jnp.ones_like(t),))
        g_safe = jnp.where(g > 0, g, 1.0)
        kT = k_B * t
        tau = kT / g_safe
        u_top = _upper_u(1.0, tau)

        def integrand(u):
            E = g_safe * jnp.cosh(u)
            f = _fermi_reduced(E / kT)
            minus_df = f * (1.0 - f) / kT
            return g_safe * jnp.cosh(u) * minus_df * (E**2 - t * g_safe * dg_dT)

        c_s = 4.0 * N0 / t * _gauss(integrand, 0.0, u_top)
        c_n = 2.0 * jnp.pi**2 / 3.0 * N0 * k_B**2 * t
        return jnp.where(g > 0, c_s, c_n) * e

    return jnp.vectorize(one)(T)
