r"""Phase-slip centres along a superconducting neck of varying cross-section.

Skocpol–Beasley–Tinkham (JLTP 16, 145 (1974)) picture, extended to a neck whose radius varies
along its axis (constrictions documentation):

* local critical current of the slab at $x$: $I_c(x)=j_c\,\pi r(x)^2\,[1-(H/H_{crit}(r(x)))^2]_+$
  with the disk critical field $H_{crit}(r)=p\lambda H_c/r$ (zero outside the superconducting
  length $L_S$);
* candidate centres sit $2\Lambda_{Q^*}$ apart (a centre converts a length $\approx2\Lambda_{Q^*}$ to
  normal-like conduction, so neighbours cannot overlap): $x_k=\pm(k+\tfrac12)\,2\Lambda_{Q^*}$, active
  while $|x_k|<L_S/2$;
* a centre at $x_k$ adds $R_k=\rho\int_{-L_S/2}^{L_S/2}e^{-|x-x_k|/\Lambda_{Q^*}}\,\frac{dx}{\pi r(x)^2}$
  and, once nucleated ($I>I_{sw,k}$), the voltage $R_k\,(I-\tfrac12 I_{c,k})$ (time-averaged
  supercurrent $I_c/2$);
* nucleation is deterministic at $I_{sw}=I_c$, or thermally activated: the barrier
  $\delta F=\delta F_0(1-I/I_c)^{5/4}$ (Langer–Ambegaokar form), escape rate
  $\Gamma=\Omega e^{-\delta F/k_BT}$, switching current drawn from
  $P(I)=1-\exp[-\int_0^I\Gamma\,dI'/\dot I]$ — different on every sweep, like the seed's
  irreproducible peak positions.

Units: m, T, A, Ohm, s, K; energies in eV.
"""

from __future__ import annotations

import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from .._core._constants import k_B, mu_0
from .._core._validation import (
    as_real,
    check_broadcast,
    check_finite,
    check_in_range,
    check_nonnegative,
    check_positive,
    check_same_shape,
)

_GL_X, _GL_W = np.polynomial.legendre.leggauss(96)


def _scalar(x, name: str, unit: str = ""):
    """Raise at trace time unless ``x`` (already validated) is a scalar."""
    if jnp.ndim(x) != 0:
        label = f"`{name}` ({unit})" if unit else f"`{name}`"
        raise ValueError(
            f"diffsc: argument {label} must be a scalar, got shape {jnp.shape(x)} "
            "(use jax.vmap for a batch)."
        )
    return x


def _static_int(n, name: str, minimum: int) -> int:
    if isinstance(n, bool) or not isinstance(n, int | np.integer):
        raise TypeError(f"diffsc: argument `{name}` must be an integer (static); got {type(n).__name__}.")
    if n < minimum:
        raise ValueError(f"diffsc: argument `{name}` must be >= {minimum}; got {n}.")
    return int(n)


def _check_sites(sites):
    if not isinstance(sites, PhaseSlipSites):
        raise TypeError(
            f"diffsc: argument `sites` must be a PhaseSlipSites (from phase_slip_sites); got "
            f"{type(sites).__name__}."
        )
    return sites


def _check_switching(switching_currents, sites):
    """Switching currents (A): real, >= 0 or +inf, one per site."""
    Isw = as_real(switching_currents, "switching_currents", "A", dtype=float)
    check_same_shape(("switching_currents", Isw), ("sites.critical_current", sites.critical_current))
    return eqx.error_if(
        Isw, jnp.any(jnp.isnan(Isw) | (Isw < 0)),
        "diffsc: argument `switching_currents` must be >= 0 (A; +inf: never switches), not NaN.",
    )


class PhaseSlipSites(eqx.Module):
    """Candidate phase-slip centres of a neck (arrays of length ``2 n_sites``).

    **Fields:** `position` (m, from the neck centre), `critical_current` $I_{c,k}$ (A),
    `resistance` $R_k$ (Ohm), `active` (bool: inside the superconducting length).
    """

    position: jax.Array
    critical_current: jax.Array
    resistance: jax.Array
    active: jax.Array


def phase_slip_sites(H, *, radius, theta, penetration_depth, Hc, charge_imbalance_length,
                     resistivity, critical_current_density, prefactor=4.0, exclude_radius=0.0,
                     n_sites: int = 4):
    r"""Candidate phase-slip centres of a conical neck in a field (module docstring).

    **Arguments:**

    - `H`: applied field $\mu_0H$, T (> 0).
    - `radius` (smallest radius $a$, m, > 0), `theta` (wall–axis angle, rad, in $(0,\pi/2)$).
    - `penetration_depth` $\lambda$ (m, > 0), `Hc` ($\mu_0H_c$, T, > 0), `prefactor` $p$ (> 0) of
      $H_{crit}=p\lambda H_c/r$.
    - `charge_imbalance_length` $\Lambda_{Q^*}$ (m, > 0), `resistivity` $\rho$ (Ohm m, > 0).
    - `critical_current_density` $j_c$ (A/m^2, > 0) at zero field.
    - `exclude_radius` (m, >= 0): the part of the neck narrower than this (the quasi-ballistic
      contact region, $r\lesssim\ell$) is left out of $R_k$ and holds no centre; default 0.
    - `n_sites`: candidate centres per side (static integer >= 1).

    The real arguments are scalars (``jax.vmap`` the function for a batch).

    **Returns:** [`PhaseSlipSites`][diffsc.PhaseSlipSites].
    """
    H = _scalar(check_positive(H, "H", "T", dtype=float), "H", "T")
    a = _scalar(check_positive(radius, "radius", "m", dtype=float), "radius", "m")
    theta = _scalar(
        check_in_range(theta, "theta", 0.0, math.pi / 2, closed=False, unit="rad",
                       msg="must lie in (0, pi/2) (a cone: 0 is a cylinder, pi/2 a flat wall)",
                       dtype=float),
        "theta", "rad")
    lam = _scalar(check_positive(penetration_depth, "penetration_depth", "m", dtype=float),
                  "penetration_depth", "m")
    Hc = _scalar(check_positive(Hc, "Hc", "T", dtype=float), "Hc", "T")
    lam_q = _scalar(check_positive(charge_imbalance_length, "charge_imbalance_length", "m",
                                   dtype=float), "charge_imbalance_length", "m")
    resistivity = _scalar(check_positive(resistivity, "resistivity", "Ohm m", dtype=float),
                          "resistivity", "Ohm m")
    jc = _scalar(check_positive(critical_current_density, "critical_current_density", "A/m^2",
                                dtype=float), "critical_current_density", "A/m^2")
    prefactor = _scalar(check_positive(prefactor, "prefactor", dtype=float), "prefactor")
    exclude_radius = _scalar(check_nonnegative(exclude_radius, "exclude_radius", "m", dtype=float),
                             "exclude_radius", "m")
    n_sites = _static_int(n_sites, "n_sites", 1)
    tan = jnp.tan(theta)
    r_star = prefactor * lam * Hc / H  # radius where H = H_crit(r)
    half_ls = jnp.clip((r_star - a) / tan, 0.0, None)  # L_S / 2
    k = jnp.arange(n_sites, dtype=float)
    xpos = (k + 0.5) * 2.0 * lam_q
    x = jnp.concatenate([-xpos[::-1], xpos])
    r = a + jnp.abs(x) * tan
    field_factor = jnp.clip(1.0 - (r / r_star) ** 2, 0.0, None)  # 1 - (H / H_crit(r))^2
    Ic = jc * jnp.pi * r**2 * field_factor
    x_ex = jnp.clip((exclude_radius - a) / tan, 0.0, None)
    active = (jnp.abs(x) < half_ls) & (jnp.abs(x) > x_ex)
    # R_k = rho * int_{-L/2}^{L/2} exp(-|x - x_k| / Lambda) / (pi r(x)^2) dx. Per side, with
    # u = 1/r(x) (dx / r^2 = -du / tan theta) the integrand is smooth except at |x_k|.
    def side(xk):  # int_0^{L/2} exp(-|x - xk| / Lambda) dx / r^2
        def piece(x1, x2):
            u1, u2 = 1.0 / (a + x2 * tan), 1.0 / (a + x1 * tan)
            us = 0.5 * (u2 + u1) + 0.5 * (u2 - u1) * _GL_X
            xs = (1.0 / us - a) / tan
            return 0.5 * (u2 - u1) * jnp.sum(_GL_W * jnp.exp(-jnp.abs(xs - xk) / lam_q)) / tan
        lo = jnp.minimum(x_ex, half_ls)
        xk_c = jnp.clip(xk, lo, half_ls)
        return piece(lo, xk_c) + piece(xk_c, half_ls)

    def res(xk):
        return resistivity / jnp.pi * (side(xk) + side(-xk))

    R = jax.vmap(res)(x)
    return PhaseSlipSites(position=x, critical_current=jnp.where(active, Ic, jnp.inf),
                          resistance=jnp.where(active, R, 0.0), active=active)


def phase_slip_voltage(I, sites: PhaseSlipSites, switching_currents=None, *, width=0.0):
    r"""Voltage (V) of the phase-slip centres at current `I` (A, any shape).

    $$V_{PS}(I)=\sum_k s_k(I)\,R_k\,(|I|-\tfrac12I_{c,k})\,\mathrm{sgn}\,I,$$
    $s_k=\Theta(|I|-I_{sw,k})$, or the logistic $\sigma((|I|-I_{sw,k})/w)$ when `width` $w$ (A) > 0
    (smooth and differentiable; $w$ mimics noise/averaging of the lock-in). `switching_currents`
    default to the critical currents; pass [`thermal_switching_currents`][diffsc.thermal_switching_currents] for activated
    nucleation. Each nucleation adds a step $R_kI_{c,k}/2$ in $V$ and a peak in $dV/dI$.

    `I` finite; `width` >= 0 (a scalar); `switching_currents` (A, >= 0 or +inf) one per site, the
    shape of ``sites.critical_current``; `sites` a [`PhaseSlipSites`][diffsc.PhaseSlipSites].
    """
    I = check_finite(I, "I", "A", dtype=float)
    sites = _check_sites(sites)
    width_in = width
    width = _scalar(check_nonnegative(width, "width", "A", dtype=float), "width", "A")
    Isw = sites.critical_current if switching_currents is None else _check_switching(switching_currents, sites)
    Isw = jnp.where(sites.active, Isw, jnp.inf)
    ex = lambda a: jnp.reshape(a, (1,) * I.ndim + a.shape)  # explicit broadcasting over I
    absI = jnp.abs(I)[..., None]
    finite = ex(jnp.isfinite(Isw))
    Isw_safe = jnp.where(finite, ex(Isw), 0.0)
    if not isinstance(width_in, jax.core.Tracer):  # a concrete width: its branch, as given ...
        if float(np.asarray(width_in)) > 0:
            s = jax.nn.sigmoid((absI - Isw_safe) / width_in)
        else:
            s = (absI >= Isw_safe).astype(absI.dtype)
    else:  # ... a traced one (a jit or vmap argument) selects with where
        smooth = width > 0
        s = jnp.where(smooth, jax.nn.sigmoid((absI - Isw_safe) / jnp.where(smooth, width, 1.0)),
                      (absI >= Isw_safe).astype(absI.dtype))
    s = jnp.where(finite, s, 0.0)
    Ic_safe = jnp.where(finite, ex(sites.critical_current), 0.0)
    v = jnp.sum(s * ex(sites.resistance) * (absI - 0.5 * Ic_safe), axis=-1)
    return jnp.sign(I) * v


def phase_slip_barrier(cross_section, coherence_length, Hc):
    r"""Zero-current free-energy barrier of a phase slip, eV:
    $\delta F_0=\frac{8\sqrt2}{3}\frac{B_c^2}{2\mu_0}A\,\xi$ (Langer–Ambegaokar). `cross_section`
    $A$ (m^2), `coherence_length` $\xi$ (m), `Hc` ($B_c$, T); all > 0 and broadcast together."""
    A = check_positive(cross_section, "cross_section", "m^2", dtype=float)
    xi = check_positive(coherence_length, "coherence_length", "m", dtype=float)
    Hc = check_positive(Hc, "Hc", "T", dtype=float)
    check_broadcast(("cross_section", A), ("coherence_length", xi), ("Hc", Hc))
    joule = 8.0 * math.sqrt(2.0) / 3.0 * Hc**2 / (2.0 * mu_0) * A * xi
    return joule / 1.602176634e-19


def thermal_switching_currents(key, critical_current, barrier, T, *, attempt_rate=1e11,
                               sweep_rate=1e-1, n_grid: int = 512):
    r"""Random switching currents (A) of thermally activated phase slips, one per site.

    Escape rate $\Gamma(I)=\Omega\exp[-\delta F_0(1-I/I_c)^{5/4}/k_BT]$; with a current ramp
    $\dot I$ the switching current has $P(I)=1-\exp[-\int_0^I\Gamma\,dI'/\dot I]$, sampled by
    inverting the cumulative integral on `n_grid` points (static). `critical_current` (A, array),
    `barrier` $\delta F_0$ (eV, broadcastable), `T` (K), `attempt_rate` $\Omega$ (1/s),
    `sweep_rate` $\dot I$ (A/s). `key`: a ``jax.random`` key. Infinite $I_c$ stays infinite.
    Ranges: `critical_current` >= 0 or +inf (not NaN); `barrier` >= 0, broadcastable to the shape
    of `critical_current`; `T`, `attempt_rate`, `sweep_rate` > 0 (scalars); `n_grid` >= 2.
    """
    T = _scalar(check_positive(T, "T", "K", dtype=float), "T", "K")
    Ic = as_real(critical_current, "critical_current", "A", dtype=float)
    Ic = eqx.error_if(Ic, jnp.any(jnp.isnan(Ic) | (Ic < 0)),
                      "diffsc: argument `critical_current` must be >= 0 (A; +inf allowed), not NaN.")
    barrier = check_nonnegative(barrier, "barrier", "eV", dtype=float)
    if check_broadcast(("critical_current", Ic), ("barrier", barrier)) != Ic.shape:
        raise ValueError(
            f"diffsc: argument `barrier` (shape {jnp.shape(barrier)}) must broadcast to the shape "
            f"{Ic.shape} of `critical_current`."
        )
    barrier = jnp.broadcast_to(barrier, Ic.shape)
    attempt_rate = _scalar(check_positive(attempt_rate, "attempt_rate", "1/s", dtype=float),
                           "attempt_rate", "1/s")
    sweep_rate = _scalar(check_positive(sweep_rate, "sweep_rate", "A/s", dtype=float),
                         "sweep_rate", "A/s")
    n_grid = _static_int(n_grid, "n_grid", 2)
    u = jax.random.uniform(key, Ic.shape)
    target = -jnp.log1p(-u)  # required value of int Gamma dI / Idot
    finite = jnp.isfinite(Ic)
    Ic_s = jnp.where(finite, Ic, 1.0)
    s = jnp.linspace(0.0, 1.0, n_grid)  # I / Ic

    def one(Ic1, b1, t1):
        rate = attempt_rate * jnp.exp(-b1 * (1.0 - s) ** 1.25 / (k_B * T))
        cum = jnp.concatenate([jnp.zeros(1), jnp.cumsum(0.5 * (rate[1:] + rate[:-1]) * jnp.diff(s))])
        cum = cum * Ic1 / sweep_rate
        return Ic1 * jnp.interp(t1, cum, s, right=1.0)

    Isw = jax.vmap(one)(Ic_s.ravel(), barrier.ravel(), target.ravel()).reshape(Ic.shape)
    return jnp.where(finite, Isw, jnp.inf)


def neck_iv(contact_voltage, contact_current, contact_conductance, sites: PhaseSlipSites, *,
            switching_currents=None, series_resistance=0.0, width=0.0):
    r"""Voltage and differential resistance of a neck: contact + phase slips + normal banks in series.

    Parametrised by the contact voltage $V_c$ (so that the contact's $I(V_c)$, e.g. from
    [`mar_current`][diffsc.mar_current], need not be inverted):
    $$V=V_c+V_{PS}(I)+IR_s,\qquad \frac{dV}{dI}=\Big(\frac{dI}{dV_c}\Big)^{-1}+\frac{dV_{PS}}{dI}+R_s,$$
    with $I=I(V_c)$. `contact_voltage` (V), `contact_current` (A) and `contact_conductance`
    $dI/dV_c$ (S) are arrays of one shape; `series_resistance` $R_s$ (Ohm) is the normal part of
    the neck outside $L_S$; `width` and `switching_currents` as [`phase_slip_voltage`][diffsc.phase_slip_voltage].
    All finite; `contact_conductance` nonzero (the parametrisation by $V_c$ needs $I(V_c)$
    invertible), `series_resistance` >= 0 (scalar or broadcastable with the contact arrays).

    **Returns:** ``(V, dVdI)`` in V and Ohm.
    """
    Vc = check_finite(contact_voltage, "contact_voltage", "V", dtype=float)
    I = check_finite(contact_current, "contact_current", "A", dtype=float)
    G = check_finite(contact_conductance, "contact_conductance", "S", dtype=float)
    check_same_shape(("contact_voltage", Vc), ("contact_current", I), ("contact_conductance", G))
    G = eqx.error_if(G, jnp.any(G == 0), "diffsc: argument `contact_conductance` (S) must be nonzero.")
    sites = _check_sites(sites)
    series_resistance = check_nonnegative(series_resistance, "series_resistance", "Ohm", dtype=float)
    check_broadcast(("contact_current", I), ("series_resistance", series_resistance))
    vps = lambda i: phase_slip_voltage(i, sites, switching_currents, width=width)
    v_ps, dvps = jax.jvp(vps, (I,), (jnp.ones_like(I),))
    return Vc + v_ps + I * series_resistance, 1.0 / G + dvps + series_resistance
