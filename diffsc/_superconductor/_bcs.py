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

The root is found in $\ln d\in[-40,0]$ by the bracketed root finder of
`diffsc._core._roots` (to $4\epsilon$ in $\ln d$, i.e. $d$ to ~1e-15 relative) and
differentiated implicitly there:
$\partial\ln d/\partial\theta=-(\partial R/\partial\theta)/(\partial R/\partial\ln d)$, so
``jax.grad`` of anything built on [`gap`][diffsc.gap] never differentiates through the iterations. A
bracket without a sign change ($R<0$ already at $d=e^{-40}$) means no superconducting solution:
$\Delta=0$ with derivative 0.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import jax.scipy.special
import numpy as np

from .._core._constants import bcs_gap_ratio, e, euler_gamma, k_B
from .._core._dtypes import as_complex
from .._core._roots import bracketed_root
from .._core._validation import check_broadcast, check_finite, check_nonnegative, check_positive
from ._material import Material

_GL_X, _GL_W = np.polynomial.legendre.leggauss(160)
_LOG_D_XATOL = 4.0 * float(np.finfo(np.float64).eps)  # ln d to ~1e-15 (d to ~1e-15 relative)
_LOG_D_MIN = -40.0  # gaps below exp(-40) * gap0 are treated as zero (T at Tc to ~1e-35)
_TAU_FLOOR = 1.0 / 800.0  # k_BT/Delta below which every Fermi factor here underflows to 0


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


def _residual(log_d, tau, w, cutoff: bool):
    """Gap-equation residual R(ln d; tau, w): positive below the root, negative above."""
    d = jnp.exp(log_d)
    u_top = _upper_u(d, tau)
    if cutoff:
        u_d = jnp.arcsinh(w / d)
        lhs = u_d - jnp.arcsinh(w)
        u_top = jnp.minimum(u_top, u_d)
    else:
        lhs = -log_d
    # Below _TAU_FLOOR the Fermi factor is < exp(-1/_TAU_FLOOR) = 0 in float64 whatever d: clamping
    # leaves the value unchanged and keeps the implicit derivative finite down to T = 0.
    safe_tau = jnp.maximum(tau, _TAU_FLOOR)
    integral = _gauss(lambda u: _fermi_reduced(d * jnp.cosh(u) / safe_tau), 0.0, u_top)
    return lhs - 2.0 * jnp.where(tau > 0, integral, 0.0)


def _residual_with_cutoff(log_d, args):
    return _residual(log_d, *args, True)


def _residual_without_cutoff(log_d, args):
    return _residual(log_d, *args, False)


def _reduced_gap(tau, w, cutoff: bool):
    """d = Delta/Delta0 at reduced temperature tau (0 where the bracket has no sign change: no
    superconducting solution); implicit derivative from `bracketed_root`."""
    fn = _residual_with_cutoff if cutoff else _residual_without_cutoff
    r = bracketed_root(fn, _LOG_D_MIN, 0.0, (tau, w), xatol=_LOG_D_XATOL)
    return jnp.where(r.bracketed, jnp.exp(r.root), 0.0)


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
    fn = jnp.vectorize(lambda t, ww: _reduced_gap(t, ww, cutoff))
    tau_c = reduced_critical_temperature(w) if cutoff else 1.0 / bcs_gap_ratio
    return jnp.where(tau < tau_c, fn(tau, w), 0.0)


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
    gap0 = material.gap0
    if cutoff and material.debye_energy is None:
        raise ValueError(
            f"diffsc.gap: material {material.name!r} has no `debye_energy`; pass cutoff=False "
            "or set material.replace(debye_energy=...)."
        )
    if cutoff:
        w = material.debye_energy / gap0
        tau = reduced_critical_temperature(w) * T / material.Tc
    else:
        w = jnp.ones(())
        tau = T / (bcs_gap_ratio * material.Tc)
    d = jnp.vectorize(lambda t, ww: _reduced_gap(t, ww, cutoff))(tau, w)
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
