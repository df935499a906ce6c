r"""Superconducting nano-constrictions (STM necks): size, geometry, local fields, charge imbalance.

Physics (constrictions documentation; seed: Pb STM necks under field):

* Sharvin contact: $R_S=\frac{h}{2e^2}\frac{\lambda_F^2}{\pi A}$, $A=\pi a^2$; Wexler's interpolation
  to the diffusive regime $R=R_S+\Gamma(\ell/a)\,\rho/(2a)$.
* Slab model of a neck built by indentation: the narrowest slab is stretched at constant volume,
  $\pi a^2 h=\mathrm{const}$, until it yields and a narrower slab forms (staircase $R(z)$).
* A disk of radius $r$ stays superconducting up to $H(r)=p\,\lambda H_c/r$ ($p=4$ in the paper);
  in a cone $r=a+|x|\tan\theta$ the superconducting length is
  $L_S=\frac{2}{\tan\theta}\big(\frac{p\lambda H_c}{H}-a\big)$.
* Charge-imbalance length $\Lambda_{Q^*}=\sqrt{D\tau_{Q^*}}$, $D=v_F\ell/3$,
  $\tau_{Q^*}=\frac{4k_BT}{\pi\Delta}\tau_E$, with pair breaking (Schmid–Schön default).

All lengths in m, fields in T ($\mu_0H$), resistances in Ohm, times in s, energies in eV.
"""

from __future__ import annotations

import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from .._core._constants import e, hbar, k_B, resistance_quantum
from .._core._roots import bracketed_root
from .._core._validation import (
    check_broadcast,
    check_finite,
    check_in_range,
    check_nonnegative,
    check_positive,
    check_same_shape,
)
from .._superconductor._material import Material

_CONTACT_RADIUS_BRACKET = (1e-12, 1e-1)  # m: contact_radius solves for a radius in this range


def _check_theta(theta):
    """The wall–axis angle of a cone, rad, in the open interval (0, pi/2)."""
    return check_in_range(theta, "theta", 0.0, math.pi / 2, closed=False, unit="rad",
                          msg="must lie in (0, pi/2) (a cone: 0 is a cylinder, pi/2 a flat wall)",
                          dtype=float)


def _check_jump(jump):
    """The slab model's radius jump factor, in (0, 1]."""
    j = check_in_range(jump, "jump", 0.0, 1.0, msg="must lie in (0, 1]", dtype=float)
    return eqx.error_if(j, jnp.any(j <= 0), "diffsc: argument `jump` must lie in (0, 1].")


def _require_scalar(x, name: str, unit: str = ""):
    if jnp.ndim(x) != 0:
        label = f"`{name}` ({unit})" if unit else f"`{name}`"
        raise ValueError(
            f"diffsc: argument {label} must be a scalar, got shape {jnp.shape(x)} "
            "(use jax.vmap for a batch)."
        )
    return x

# ----------------------------------------------------------------------------------------------
# Sharvin / Wexler
# ----------------------------------------------------------------------------------------------


def sharvin_resistance(area, fermi_wavelength):
    r"""Sharvin (ballistic) resistance $R_S=\frac{h}{2e^2}\frac{\lambda_F^2}{\pi A}$, Ohm.

    `area` $A$ in m^2 (smallest cross-section, > 0), `fermi_wavelength` $\lambda_F$ in m (> 0);
    the two broadcast together. The number of open channels is $N_{ch}=\pi A/\lambda_F^2$.
    """
    area = check_positive(area, "area", "m^2", dtype=float)
    lf = check_positive(fermi_wavelength, "fermi_wavelength", "m", dtype=float)
    check_broadcast(("area", area), ("fermi_wavelength", lf))
    return resistance_quantum * lf**2 / (jnp.pi * area)


def sharvin_area(resistance, fermi_wavelength):
    r"""Smallest cross-section $A=\frac{h}{2e^2}\frac{\lambda_F^2}{\pi R}$ (m^2) of a ballistic contact.

    `resistance` in Ohm (> 0), `fermi_wavelength` in m (> 0); the two broadcast together. Pb (free
    electron, $\lambda_F=0.398$ nm), 5 Ohm: $A=130$ nm^2, radius 6.4 nm.
    """
    R = check_positive(resistance, "resistance", "Ohm", dtype=float)
    lf = check_positive(fermi_wavelength, "fermi_wavelength", "m", dtype=float)
    check_broadcast(("resistance", R), ("fermi_wavelength", lf))
    return resistance_quantum * lf**2 / (jnp.pi * R)


def wexler_gamma(knudsen):
    r"""Smooth interpolation of Wexler's $\Gamma(K)$, $K=\ell/a$: $\Gamma=\frac{1+0.694K}{1+K}$.

    Exact limits $\Gamma(0)=1$ (Maxwell) and $\Gamma(\infty)=0.694$; in between a one-parameter
    rational fit (Wexler's table is not reproduced here) [uncertain at the few-% level].
    `knudsen` $K\ge0$ (dimensionless).
    """
    K = check_nonnegative(knudsen, "knudsen", dtype=float)
    return (1.0 + 0.694 * K) / (1.0 + K)


def wexler_resistance(radius, fermi_wavelength, *, mean_free_path=None, resistivity=None):
    r"""Contact resistance from ballistic to diffusive (Wexler), Ohm.

    $$R=\frac{h}{2e^2}\Big(\frac{\lambda_F}{\pi a}\Big)^2+\Gamma(\ell/a)\frac{\rho}{2a}$$
    `radius` $a$, `fermi_wavelength`, `mean_free_path` $\ell$ in m; `resistivity` $\rho$ in Ohm m;
    all > 0 and broadcast together. Without `resistivity` the Sharvin term alone is returned;
    without `mean_free_path` the diffusive (Maxwell, $\ell/a\to0$) limit $\Gamma=1$ is used.
    """
    a = check_positive(radius, "radius", "m", dtype=float)
    lf = check_positive(fermi_wavelength, "fermi_wavelength", "m", dtype=float)
    named = [("radius", a), ("fermi_wavelength", lf)]
    if mean_free_path is not None:
        ell = check_positive(mean_free_path, "mean_free_path", "m", dtype=float)
        named.append(("mean_free_path", ell))
    if resistivity is not None:
        rho = check_positive(resistivity, "resistivity", "Ohm m", dtype=float)
        named.append(("resistivity", rho))
    check_broadcast(*named)
    rs = sharvin_resistance(jnp.pi * a**2, lf)
    if resistivity is None:
        return rs
    K = 0.0 if mean_free_path is None else ell / a
    return rs + wexler_gamma(K) * rho / (2.0 * a)


def contact_radius(resistance, fermi_wavelength, *, mean_free_path=None, resistivity=None):
    r"""Radius $a$ (m) of a circular contact of resistance $R$ (Ohm).

    Ballistic: $a=\frac{\lambda_F}{\pi}\sqrt{\frac{h/2e^2}{R}}$ (Sharvin; Pb 5 Ohm: 6.4 nm, i.e. a
    diameter of 12.9 nm — the seed paper's "d = 6 nm" matches the radius). With `resistivity`
    (and optionally `mean_free_path`), inverts [`wexler_resistance`][diffsc.wexler_resistance]: $R(a)$ is decreasing,
    so its root in $\ln a$ between $10^{-12}$ and $0.1$ m is found by the bracketed root finder
    of `diffsc._core._roots` (to ~1e-14 relative); the derivative is implicit
    ($da/d\theta=-\partial_\theta R/\partial_a R$).

    `resistance` in Ohm, `fermi_wavelength`, `mean_free_path` in m, `resistivity` in Ohm m; all
    > 0 and broadcast together. A `resistance` whose radius would lie outside $[10^{-12}, 0.1]$ m
    (given the other arguments) is an error, not a clamped radius.
    """
    R = check_positive(resistance, "resistance", "Ohm", dtype=float)
    lf = check_positive(fermi_wavelength, "fermi_wavelength", "m", dtype=float)
    named = [("resistance", R), ("fermi_wavelength", lf)]
    if mean_free_path is not None:
        ell = check_positive(mean_free_path, "mean_free_path", "m", dtype=float)
        named.append(("mean_free_path", ell))
    if resistivity is not None:
        rho = check_positive(resistivity, "resistivity", "Ohm m", dtype=float)
        named.append(("resistivity", rho))
    shape = check_broadcast(*named)
    if resistivity is None:
        return lf / jnp.pi * jnp.sqrt(resistance_quantum / R)
    if mean_free_path is None:
        ell = jnp.zeros((), R.dtype)
    R, lf, rho, ell = (jnp.broadcast_to(x, shape) for x in (R, lf, rho, ell))
    a_lo, a_hi = _CONTACT_RADIUS_BRACKET
    r_max = jax.lax.stop_gradient(_wexler_r(jnp.asarray(a_lo, R.dtype), lf, rho, ell))
    r_min = jax.lax.stop_gradient(_wexler_r(jnp.asarray(a_hi, R.dtype), lf, rho, ell))
    R = eqx.error_if(
        R, jnp.any((R > r_max) | (R < r_min)),
        f"diffsc: argument `resistance` (Ohm) corresponds to a contact radius outside "
        f"[{a_lo:g}, {a_hi:g}] m for the given `fermi_wavelength`, `resistivity` and "
        "`mean_free_path`; contact_radius does not solve for such a contact.",
    )
    return _wexler_root(R, lf, rho, ell)


def _wexler_residual(log_a, args):
    """R(a) - R of [`wexler_resistance`][diffsc.wexler_resistance] in ln a (elementwise; decreasing in a)."""
    R, lf, rho, ell = args
    return _wexler_r(jnp.exp(log_a), lf, rho, ell) - R


def _wexler_root(R, lf, rho, ell):
    """The radius a (m) with wexler_resistance(a) = R, elementwise: ln a in
    [ln 1e-12, ln 0.1] by `bracketed_root` (implicit derivative there)."""
    a_lo, a_hi = _CONTACT_RADIUS_BRACKET
    lo = jnp.full(jnp.shape(R), math.log(a_lo))
    hi = jnp.full(jnp.shape(R), math.log(a_hi))
    return jnp.exp(bracketed_root(_wexler_residual, lo, hi, (R, lf, rho, ell)).root)


def _wexler_r(a, lf, rho, ell):
    K = ell / a
    return resistance_quantum * (lf / (jnp.pi * a)) ** 2 + (1.0 + 0.694 * K) / (1.0 + K) * rho / (2 * a)


def free_electron_resistivity(mean_free_path, fermi_wavelength):
    r"""Drude resistivity $\rho=\frac{\hbar k_F}{ne^2\ell}=\frac{3\pi^2\hbar}{e^2k_F^2\ell}$, Ohm m.

    `mean_free_path` $\ell$ and `fermi_wavelength` $\lambda_F=2\pi/k_F$ in m (> 0, broadcast
    together; free electrons, $n=k_F^3/3\pi^2$). Pb, $\ell$ = 10 nm: 4.9e-8 Ohm m.
    """
    ell = check_positive(mean_free_path, "mean_free_path", "m", dtype=float)
    lf = check_positive(fermi_wavelength, "fermi_wavelength", "m", dtype=float)
    check_broadcast(("mean_free_path", ell), ("fermi_wavelength", lf))
    kF = 2.0 * jnp.pi / lf
    hbar_si = hbar * e
    return 3.0 * jnp.pi**2 * hbar_si / (e**2 * kF**2 * ell)


# ----------------------------------------------------------------------------------------------
# slab model of the neck
# ----------------------------------------------------------------------------------------------


def slab_neck_radius(z, radius0, slab_height, yield_strain=1.0, jump=0.9):
    r"""Smallest radius $a(z)$ (m) of a neck stretched by $z$ (m) in the slab model.

    The narrowest slab (radius $a_k$, height $h$ = `slab_height`) deforms plastically at constant
    volume, $a(z)=a_k\sqrt{h/(h+z-z_k)}$, until its strain reaches `yield_strain`
    ($z-z_k=\varepsilon_yh$); then a new, narrower slab forms, $a_{k+1}=j\,a_k/\sqrt{1+\varepsilon_y}$
    ($j$ = `jump` $\le1$, the abrupt rearrangement that makes the $R(z)$ steps). Plateau length
    $\varepsilon_yh$. Yield criterion and $j$ are model choices [uncertain: the seed gives none].
    Combine with [`sharvin_resistance`][diffsc.sharvin_resistance] for the staircase $R(z)$.

    `z` (m, >= 0), `radius0` $a_0$ (m, > 0), `slab_height` $h$ (m, > 0), `yield_strain`
    $\varepsilon_y$ (> 0), `jump` $j$ in (0, 1]; all broadcast together.
    """
    z = check_nonnegative(z, "z", "m", dtype=float)
    a0 = check_positive(radius0, "radius0", "m", dtype=float)
    h = check_positive(slab_height, "slab_height", "m", dtype=float)
    eps = check_positive(yield_strain, "yield_strain", dtype=float)
    j = _check_jump(jump)
    check_broadcast(("z", z), ("radius0", a0), ("slab_height", h), ("yield_strain", eps), ("jump", j))
    plateau = eps * h
    k = jnp.floor(z / plateau)
    ak = a0 * (j / jnp.sqrt(1.0 + eps)) ** k
    return ak * jnp.sqrt(h / (h + z - k * plateau))


def slab_neck_profile(n_slabs: int, radius0, slab_height, yield_strain=1.0, jump=0.9):
    r"""Axial profile of a neck after `n_slabs` yield events (symmetric stack of slabs).

    Each broken slab is split by the new narrower one into two halves of height
    $h(1+\varepsilon_y)/2$ on either side; their radii are the radii at yield. Returns
    ``(x, r)``: slab centre positions from the neck centre (m, ascending, ``2 n_slabs + 1``
    entries, the central slab at 0) and radii (m). Use [`opening_angle`][diffsc.opening_angle] to fit $\theta$.

    `n_slabs`: a Python integer >= 0 (static). `radius0` (m, > 0), `slab_height` (m, > 0),
    `yield_strain` (> 0) and `jump` (in (0, 1]) are scalars, as in [`slab_neck_radius`][diffsc.slab_neck_radius].
    """
    if isinstance(n_slabs, bool) or not isinstance(n_slabs, int | np.integer):
        raise TypeError(f"diffsc: argument `n_slabs` must be an integer; got {type(n_slabs).__name__}.")
    if n_slabs < 0:
        raise ValueError(f"diffsc: argument `n_slabs` must be >= 0; got {n_slabs}.")
    n_slabs = int(n_slabs)
    a0 = _require_scalar(check_positive(radius0, "radius0", "m", dtype=float), "radius0", "m")
    h = _require_scalar(check_positive(slab_height, "slab_height", "m", dtype=float), "slab_height", "m")
    eps = _require_scalar(check_positive(yield_strain, "yield_strain", dtype=float), "yield_strain")
    q = _require_scalar(_check_jump(jump), "jump") / jnp.sqrt(1.0 + eps)
    k = jnp.arange(n_slabs, dtype=float)
    r_broken = a0 * q**k / jnp.sqrt(1.0 + eps)  # radius of slab k when it yielded
    half = 0.5 * h * (1.0 + eps)
    # slab k sits at distance h/2 + (n_slabs - 1 - k + 1/2) * half from the centre
    dist = 0.5 * h + (n_slabs - 1 - k + 0.5) * half
    r_center = a0 * q**n_slabs
    x = jnp.concatenate([-dist, jnp.zeros(1), dist[::-1]])
    r = jnp.concatenate([r_broken, r_center[None], r_broken[::-1]])
    return x, r


def opening_angle(x, r):
    r"""Opening angle $\theta$ (rad) between the wall and the axis: least-squares slope of
    $r$ versus $|x|$, $\theta=\arctan(dr/d|x|)$. `x` (m, finite, at least two distinct $|x|$)
    and `r` (m, > 0) of the same shape."""
    x = check_finite(x, "x", "m", dtype=float)
    r = check_positive(r, "r", "m", dtype=float)
    check_same_shape(("x", x), ("r", r))
    ax = jnp.abs(x)
    xm, rm = jnp.mean(ax), jnp.mean(r)
    sxx = jnp.sum((ax - xm) ** 2)
    sxx = eqx.error_if(sxx, sxx <= 0,
                       "diffsc: argument `x` (m) needs at least two distinct |x| to fit a slope.")
    slope = jnp.sum((ax - xm) * (r - rm)) / sxx
    return jnp.arctan(slope)


def cone_radius(x, radius, theta):
    r"""Radius $r(x)=a+|x|\tan\theta$ (m) of a conical neck at axial position `x` (m).

    `x` finite, `radius` $a$ (m, > 0) the smallest radius, `theta` (rad, in $(0,\pi/2)$) the angle
    between wall and axis; all broadcast together."""
    x = check_finite(x, "x", "m", dtype=float)
    a = check_positive(radius, "radius", "m", dtype=float)
    th = _check_theta(theta)
    check_broadcast(("x", x), ("radius", a), ("theta", th))
    return a + jnp.abs(x) * jnp.tan(th)


def cone_resistance(x1, x2, radius, theta, resistivity):
    r"""Normal resistance of the cone between $0\le x_1\le x_2$ (one side), Ohm:
    $R=\rho\int_{x_1}^{x_2}\frac{dx}{\pi r(x)^2}=\frac{\rho}{\pi\tan\theta}\big(\frac1{r(x_1)}-\frac1{r(x_2)}\big)$.

    `x1`, `x2` (m, $0\le x_1\le x_2$; an empty segment has $R=0$), `radius` $a$ (m, > 0), `theta`
    (rad, in $(0,\pi/2)$), `resistivity` $\rho$ (Ohm m, > 0); all broadcast together."""
    x1 = check_nonnegative(x1, "x1", "m", dtype=float)
    x2 = check_nonnegative(x2, "x2", "m", dtype=float)
    a = check_positive(radius, "radius", "m", dtype=float)
    th = _check_theta(theta)
    rho = check_positive(resistivity, "resistivity", "Ohm m", dtype=float)
    check_broadcast(("x1", x1), ("x2", x2), ("radius", a), ("theta", th), ("resistivity", rho))
    x2 = eqx.error_if(x2, jnp.any(x2 < x1), "diffsc: arguments `x1`, `x2` (m) must satisfy x1 <= x2.")
    r1, r2 = cone_radius(x1, a, th), cone_radius(x2, a, th)
    return rho / (jnp.pi * jnp.tan(th)) * (1.0 / r1 - 1.0 / r2)


# ----------------------------------------------------------------------------------------------
# local critical fields
# ----------------------------------------------------------------------------------------------


def penetration_depth_two_fluid(T, material: Material, *, mean_free_path=None, dirty: bool = True):
    r"""Penetration depth $\lambda(T)$ in m.

    $$\lambda=\lambda_L\sqrt{1+\xi_0/\ell}\,\big/\sqrt{1-(T/T_c)^4}$$
    (two-fluid temperature dependence, Pippard dirty-limit factor when ``dirty``). Pb, $\ell$ =
    10 nm, 4.2 K: 120 nm. `T` in K ($0\le T<T_c$); `mean_free_path` (m, > 0) defaults to the
    material's; the two broadcast together.
    """
    T = check_nonnegative(T, "T", "K", dtype=float)
    T = check_in_range(T, "T", None, material.Tc, closed=False, unit="K",
                       msg="must lie below the material's Tc")
    if mean_free_path is not None:
        mean_free_path = check_positive(mean_free_path, "mean_free_path", "m", dtype=float)
        check_broadcast(("T", T), ("mean_free_path", mean_free_path))
    lam = material.require("london_depth")
    if dirty:
        ell = mean_free_path if mean_free_path is not None else material.require("mean_free_path")
        lam = lam * jnp.sqrt(1.0 + material.require("coherence_length") / ell)
    return lam / jnp.sqrt(1.0 - (T / material.Tc) ** 4)


def thermodynamic_critical_field(T, material: Material):
    r"""$\mu_0H_c(T)=\mu_0H_c(0)\,[1-(T/T_c)^2]$ in T (0 above $T_c$). Pb at 4.2 K: 0.053 T.

    `T` in K (>= 0)."""
    T = check_nonnegative(T, "T", "K", dtype=float)
    return material.require("Hc0") * jnp.clip(1.0 - (T / material.Tc) ** 2, 0.0, None)


def disk_critical_field(radius, penetration_depth, Hc, *, prefactor=4.0):
    r"""Critical field of a small disk, $\mu_0H(r)=p\,\lambda\mu_0H_c/r$ in T ($r\lesssim\lambda$).

    `radius` $r$ and `penetration_depth` $\lambda$ in m, `Hc` ($\mu_0H_c$) in T, `prefactor` $p$;
    all > 0 and broadcast together. The seed paper uses $p=4$; a London energy balance gives
    $2\sqrt2$ (axial) or 2 (transverse) [uncertain].
    """
    r = check_positive(radius, "radius", "m", dtype=float)
    lam = check_positive(penetration_depth, "penetration_depth", "m", dtype=float)
    Hc = check_positive(Hc, "Hc", "T", dtype=float)
    prefactor = check_positive(prefactor, "prefactor", dtype=float)
    check_broadcast(("radius", r), ("penetration_depth", lam), ("Hc", Hc), ("prefactor", prefactor))
    return prefactor * lam * Hc / r


def superconducting_length(H, radius, theta, penetration_depth, Hc, *, prefactor=4.0):
    r"""Length (m) of a conical neck that stays superconducting in a field $H$ (T).

    $$L_S(H)=\frac{2}{\tan\theta}\Big(\frac{p\lambda H_c}{H}-a\Big)\approx\frac{8\lambda H_c}{H\tan\theta}$$
    (where $H$ equals the disk critical field of [`disk_critical_field`][diffsc.disk_critical_field]); 0 when even the
    narrowest disk is normal. `H` (T, > 0), `radius` $a$ (m, >= 0), `theta` (rad, in
    $(0,\pi/2)$), `penetration_depth` $\lambda$ (m, > 0), `Hc` (T, > 0), `prefactor` $p$ (> 0); all
    broadcast together.
    Pb: $\lambda$ = 120 nm, $H_c$ = 0.05 T, 35 deg, $a\to0$: 457, 343, 274, 229 nm at 0.15–0.3 T.
    """
    H = check_positive(H, "H", "T", dtype=float)
    a = check_nonnegative(radius, "radius", "m", dtype=float)
    th = _check_theta(theta)
    lam = check_positive(penetration_depth, "penetration_depth", "m", dtype=float)
    Hc = check_positive(Hc, "Hc", "T", dtype=float)
    prefactor = check_positive(prefactor, "prefactor", dtype=float)
    check_broadcast(("H", H), ("radius", a), ("theta", th), ("penetration_depth", lam), ("Hc", Hc),
                    ("prefactor", prefactor))
    return jnp.clip(2.0 / jnp.tan(th) * (prefactor * lam * Hc / H - a), 0.0, None)


# ----------------------------------------------------------------------------------------------
# charge imbalance
# ----------------------------------------------------------------------------------------------


def effective_relaxation_time(tau_E, tau_pb=None, *, form: str = "schmid-schon"):
    r"""Charge-relaxation time entering $\tau_{Q^*}$ with pair breaking, s.

    ``"schmid-schon"`` (default): $\tau_E\,(1+2\tau_E/\tau_{PB})^{-1/2}$;
    ``"paper"``: $\sqrt{\tau_E/[2(1/\tau_{PB}+1/\tau_E)]}$ (the seed's form; it tends to
    $\tau_E/\sqrt2$, not $\tau_E$, without pair breaking — probably a misprint).
    `tau_E` (inelastic electron–phonon time) and `tau_pb` (pair-breaking time; None = no pair
    breaking) in s, > 0, broadcast together.
    """
    tE = check_positive(tau_E, "tau_E", "s", dtype=float)
    if tau_pb is None:
        inv_pb = 0.0
    else:
        tpb = check_positive(tau_pb, "tau_pb", "s", dtype=float)
        check_broadcast(("tau_E", tE), ("tau_pb", tpb))
        inv_pb = 1.0 / tpb
    if not isinstance(form, str):
        raise TypeError(f"diffsc: argument `form` must be 'schmid-schon' or 'paper', got {form!r}.")
    if form == "schmid-schon":
        return tE / jnp.sqrt(1.0 + 2.0 * tE * inv_pb)
    if form == "paper":
        return jnp.sqrt(tE / (2.0 * (inv_pb + 1.0 / tE)))
    raise ValueError(f"diffsc: argument `form` must be 'schmid-schon' or 'paper', got {form!r}.")


def charge_imbalance_length(T, gap, tau_E, *, fermi_velocity, mean_free_path, tau_pb=None,
                            form: str = "schmid-schon"):
    r"""Charge-imbalance relaxation length $\Lambda_{Q^*}$ in m.

    $$\Lambda_{Q^*}=\sqrt{D\,\tau_{Q^*}},\quad D=\tfrac13v_F\ell,\quad
    \tau_{Q^*}=\frac{4k_BT}{\pi\Delta}\,\tau_{\rm eff}$$
    with $\tau_{\rm eff}$ from [`effective_relaxation_time`][diffsc.effective_relaxation_time] (Schmid & Schön, JLTP 20, 207
    (1975); near-$T_c$ form, used by the seed paper also at $\Delta>k_BT$). `T` in K, `gap` in eV,
    `tau_E`, `tau_pb` in s, `fermi_velocity` in m/s, `mean_free_path` in m; all > 0 and broadcast
    together.
    Pb (1.35 meV, 25 ps, 10 nm, 4.2 K): 228 nm; $\hbar/\tau_{PB}=0.2k_BT_c$ divides it by 1.80.
    """
    T = check_positive(T, "T", "K", dtype=float)
    gap = check_positive(gap, "gap", "eV", dtype=float)
    tE = check_positive(tau_E, "tau_E", "s", dtype=float)
    vF = check_positive(fermi_velocity, "fermi_velocity", "m/s", dtype=float)
    ell = check_positive(mean_free_path, "mean_free_path", "m", dtype=float)
    named = [("T", T), ("gap", gap), ("tau_E", tE), ("fermi_velocity", vF), ("mean_free_path", ell)]
    if tau_pb is not None:
        tau_pb = check_positive(tau_pb, "tau_pb", "s", dtype=float)
        named.append(("tau_pb", tau_pb))
    check_broadcast(*named)
    D = vF * ell / 3.0
    tau_q = 4.0 * k_B * T / (jnp.pi * gap) * effective_relaxation_time(tE, tau_pb, form=form)
    return jnp.sqrt(D * tau_q)


def pair_breaking_time(H, *, H_ref, strength_ref):
    r"""Pair-breaking time (s) of an orbital field, $\hbar/\tau_{PB}=\alpha_{\rm ref}(H/H_{\rm ref})^2$.

    `strength_ref` $\alpha_{\rm ref}$ in eV at the field `H_ref` (T); `H` in T. The seed quotes
    $\hbar/\tau_{PB}=0.2k_BT_c$ in the field range of its Fig. 2 (2–3 $H_c$); the $H^2$ law is that
    of a thin wire or small disk (Abrikosov–Gor'kov, orbital). All three > 0, broadcast together.
    """
    H = check_positive(H, "H", "T", dtype=float)
    H_ref = check_positive(H_ref, "H_ref", "T", dtype=float)
    strength_ref = check_positive(strength_ref, "strength_ref", "eV", dtype=float)
    check_broadcast(("H", H), ("H_ref", H_ref), ("strength_ref", strength_ref))
    return hbar / (strength_ref * (H / H_ref) ** 2)
