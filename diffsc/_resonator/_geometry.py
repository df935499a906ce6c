r"""From the film's conductivity to the resonator's $f_{res}$ and $Q_i$ (docs/resonator.md, §2).

A half-wave transmission-line resonator of length $l$ is described per unit length by a series
impedance $Z'=j\omega L_g'+g\,Z_s$ and a shunt admittance $Y'=j\omega C'$, where $Z_s$ is the
film's surface impedance (Ω/□), $L_g'$ the geometric (magnetic) inductance, $C'$ the capacitance
and $g$ (1/m) the geometry factor that turns a surface impedance into an impedance per length
(strip plus ground). With $R'=g\,R_s$, $L'=L_g'+g\,X_s/\omega$ and $r=R'/(\omega L')$:
$$\gamma_p=\sqrt{Z'Y'}=\alpha+j\beta=\omega\sqrt{L'C'}\,\big(b+ja\big),\quad
a=\sqrt{\tfrac{\sqrt{1+r^2}+1}{2}},\ b=\frac{r}{2a},$$
the first half-wave resonance is $\beta l=\pi$ and $Q_i=\beta/(2\alpha)=a^2/r$ (exact for this
line; $Q_i\to\omega L'/R'$ for $r\ll1$). The kinetic-inductance fraction is
$\alpha_k=gL_s/(L_g'+gL_s)$ with $L_s=X_s/\omega$.

Geometries:

* [`Microstrip`][diffsc.Microstrip] — parallel-plate line (Yassin & Withington, J. Phys. D 28, 1983 (1995), in
  the limit $K_f=g_{1,2}=1$, $w\gg h$), optional Hammerstad fringing factor. This is the route
  of de Visser et al. (w = 3 µm, h = 1 µm, t = 60 nm, l = 9.84 mm, 5.57 GHz); their
  $\varepsilon_r$ is not stated, so calibrate $\varepsilon_{eff}$ with [`calibrate_geometry`][diffsc.calibrate_geometry].
* [`CPW`][diffsc.CPW] — coplanar waveguide, conformal-mapping $L_g'$, $C'$ and the Collin/Holloway
  thin-film geometry factors $g_c$, $g_g$ (Collin; Gao, PhD thesis, Caltech 2008, ch. 3; valid for
  $t\ll w, s$).
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import equinox as eqx
import jax.numpy as jnp

from .._core._constants import epsilon_0, mu_0
from .._core._dtypes import as_complex
from .._core._special import ellipk
from .._core._validation import (
    check_broadcast,
    check_finite,
    check_in_range,
    check_nonnegative,
    check_positive,
)
from .._electrothermal._impedance import _real
from .._superconductor._film import surface_impedance


def _positive_field(name: str, unit: str = "m") -> Callable:
    """Field converter: the value must be real, finite and > 0 (eagerly and under ``jit``).

    A valid Python number stays a Python float; an array or tracer is returned as
    `check_positive` gives it back (with its ``equinox.error_if``).
    """
    return functools.partial(_real, check_positive, name=name, unit=unit)


class CPW(eqx.Module):
    r"""Coplanar-waveguide half-wave resonator (all lengths in m).

    **Fields:** `width` $w$ of the central strip, `gap` $s$ to the ground planes, `thickness` $t$
    of the film, `length` $l$ of the resonator, `eps_r` substrate relative permittivity
    ($\varepsilon_{eff}=(\varepsilon_r+1)/2$). Every field must be real, finite and > 0 (an
    error names the field otherwise).

    $$k=\frac{w}{w+2s},\quad L_g'=\frac{\mu_0}{4}\frac{K(k')}{K(k)},\quad
    C'=2\varepsilon_0(\varepsilon_r+1)\frac{K(k)}{K(k')},$$
    $$g_c=\frac{\pi+\ln\frac{4\pi w}{t}-k\ln\frac{1+k}{1-k}}{4w(1-k^2)K(k)^2},\quad
    g_g=\frac{k\big[\pi+\ln\frac{4\pi(w+2s)}{t}-\frac1k\ln\frac{1+k}{1-k}\big]}{4w(1-k^2)K(k)^2}.$$

    $K(k)$ is the complete elliptic integral of modulus $k$, $k'=\sqrt{1-k^2}$
    (`diffsc._core._special.ellipk` of parameter $k^2$).
    """

    width: float = eqx.field(converter=_positive_field("width"))
    gap: float = eqx.field(converter=_positive_field("gap"))
    thickness: float = eqx.field(converter=_positive_field("thickness"))
    length: float = eqx.field(converter=_positive_field("length"))
    eps_r: float = eqx.field(default=11.6, converter=_positive_field("eps_r", ""))

    def geometric_inductance(self):
        """Geometric inductance per unit length $L_g'$, H/m."""
        k = self.width / (self.width + 2.0 * self.gap)
        return mu_0 / 4.0 * ellipk(1.0 - k**2) / ellipk(k**2)

    def capacitance(self):
        """Capacitance per unit length $C'$, F/m."""
        k = self.width / (self.width + 2.0 * self.gap)
        return 2.0 * epsilon_0 * (self.eps_r + 1.0) * ellipk(k**2) / ellipk(1.0 - k**2)

    def geometry_factor(self):
        """$g=g_c+g_g$ (1/m): impedance per length = $g\\,Z_s$ (strip + ground)."""
        w, s, t = self.width, self.gap, self.thickness
        k = w / (w + 2.0 * s)
        K = ellipk(k**2)
        pre = 1.0 / (4.0 * w * (1.0 - k**2) * K**2)
        lk = jnp.log((1.0 + k) / (1.0 - k))
        gc = pre * (jnp.pi + jnp.log(4.0 * jnp.pi * w / t) - k * lk)
        gg = pre * k * (jnp.pi + jnp.log(4.0 * jnp.pi * (w + 2.0 * s) / t) - lk / k)
        return gc + gg

    def strip_volume(self):
        """Central-strip volume $w\\,t\\,l$, m^3."""
        return self.width * self.thickness * self.length

    def with_capacitance_scale(self, scale):
        """Copy with $C'$ multiplied by `scale` (through $\\varepsilon_r+1$)."""
        return eqx.tree_at(lambda g: g.eps_r, self, (self.eps_r + 1.0) * scale - 1.0)


class Microstrip(eqx.Module):
    r"""Microstrip half-wave resonator, parallel-plate model (all lengths in m).

    **Fields:** `width` $w$ of the strip, `dielectric_thickness` $h$, `thickness` $t$ of the
    film(s), `length` $l$, `eps_eff` effective permittivity, `fringing` (static bool: use the
    Hammerstad fringing factor $K_f$ instead of 1), `superconducting_ground` (static bool: the
    ground plane is the same film, as assumed here for de Visser et al.; False = lossless ground).
    The lengths and `eps_eff` must be real, finite and > 0 (an error names the field otherwise).

    $$Z'=j\omega\mu_0\frac{h}{wK_f}+\frac{Z_{s,strip}+Z_{s,gnd}}{w},\qquad
    Y'=j\omega\varepsilon_0\varepsilon_{eff}\frac{wK_f}{h},$$
    $K_f=1$ (parallel plate) or $K_f=[u+1.393+0.667\ln(u+1.444)]/u$, $u=w/h$ (Hammerstad,
    $u\ge1$).
    """

    width: float = eqx.field(converter=_positive_field("width"))
    dielectric_thickness: float = eqx.field(converter=_positive_field("dielectric_thickness"))
    thickness: float = eqx.field(converter=_positive_field("thickness"))
    length: float = eqx.field(converter=_positive_field("length"))
    eps_eff: float = eqx.field(default=10.0, converter=_positive_field("eps_eff", ""))
    fringing: bool = eqx.field(static=True, default=False)
    superconducting_ground: bool = eqx.field(static=True, default=True)

    def _kf(self):
        if not self.fringing:
            return 1.0
        u = self.width / self.dielectric_thickness
        return (u + 1.393 + 0.667 * jnp.log(u + 1.444)) / u

    def geometric_inductance(self):
        """Geometric inductance per unit length $\\mu_0h/(wK_f)$, H/m."""
        return mu_0 * self.dielectric_thickness / (self.width * self._kf())

    def capacitance(self):
        """Capacitance per unit length $\\varepsilon_0\\varepsilon_{eff}wK_f/h$, F/m."""
        return epsilon_0 * self.eps_eff * self.width * self._kf() / self.dielectric_thickness

    def geometry_factor(self):
        """$g$ (1/m): $2/w$ with a superconducting ground of the same film, else $1/w$."""
        return (2.0 if self.superconducting_ground else 1.0) / self.width

    def strip_volume(self):
        """Strip volume $w\\,t\\,l$, m^3."""
        return self.width * self.thickness * self.length

    def with_capacitance_scale(self, scale):
        """Copy with $C'$ multiplied by `scale` (through $\\varepsilon_{eff}$)."""
        return eqx.tree_at(lambda g: g.eps_eff, self, self.eps_eff * scale)


class LineResponse(eqx.Module):
    """Result of [`resonator_response`][diffsc.resonator_response] (every field broadcast over the inputs).

    **Fields:** `f_res` (Hz) first half-wave resonance $\\beta l=\\pi$ of the bare line (without the
    coupler's pull); `Qi` internal quality factor $\\beta/2\\alpha$; `alpha_k` kinetic-inductance
    fraction; `L_kinetic`, `L_geometric` (H/m); `R` series resistance per length (Ohm/m);
    `Z_line` characteristic impedance (Ohm, complex).
    """

    f_res: jnp.ndarray
    Qi: jnp.ndarray
    alpha_k: jnp.ndarray
    L_kinetic: jnp.ndarray
    L_geometric: jnp.ndarray
    R: jnp.ndarray
    Z_line: jnp.ndarray


_GEOMETRY_API = ("geometry_factor", "geometric_inductance", "capacitance", "length")


def _check_geometry(geometry):
    """Raise a TypeError naming `geometry` unless it provides the line-model methods."""
    if not all(hasattr(geometry, a) for a in _GEOMETRY_API):
        raise TypeError(
            "diffsc: argument `geometry` must be a CPW or a Microstrip (an object with "
            f"{', '.join(_GEOMETRY_API)}); got {type(geometry).__name__}."
        )


def _check_surface_impedance(Zs):
    r"""Validate a complex surface impedance (Ohm/□): finite, $R_s\ge0$, $X_s>0$."""
    if isinstance(Zs, str | bytes | bool) or Zs is None:
        shown = repr(Zs) if not isinstance(Zs, str | bytes) else f"the string {Zs[:40]!r}"
        raise TypeError(
            "diffsc: argument `Zs` (Ohm) must be a complex number or array R_s + j X_s; "
            f"got {shown}."
        )
    Zs = check_finite(Zs, "Zs", "Ohm", allow_complex=True)
    Zs = eqx.error_if(
        Zs, jnp.any(jnp.real(Zs) < 0),
        "diffsc: argument `Zs` must have a real part R_s >= 0 (Ohm): a passive film dissipates.",
    )
    return eqx.error_if(
        Zs, jnp.any(jnp.imag(Zs) <= 0),
        "diffsc: argument `Zs` must have an imaginary part X_s > 0 (Ohm; inductive, e^{+jwt}).",
    )


def resonator_response(Zs, freq, geometry) -> LineResponse:
    r"""$f_{res}$, $Q_i$ and $\alpha_k$ of a half-wave line from the film's surface impedance.

    Uses the module-level equations: $R'=gR_s$, $L'=L_g'+gX_s/\omega$,
    $f_{res}=\big[2l\sqrt{L'C'}\,a(r)\big]^{-1}$, $Q_i=a^2/r$, $r=R'/(\omega_{res}L')$. $Z_s$ is
    taken as evaluated at `freq` (its frequency dependence between `freq` and $f_{res}$ is
    neglected, as in de Visser et al.).

    **Arguments** (broadcast together; bad input raises an error naming the argument, eagerly
    and under ``jit``/``vmap``): `Zs` complex surface impedance $R_s+jX_s$ (Ohm/□; finite,
    $R_s\ge0$, $X_s>0$), `freq` frequency at which `Zs` was evaluated (Hz, real, > 0),
    `geometry` a [`CPW`][diffsc.CPW] or [`Microstrip`][diffsc.Microstrip].

    **Returns:** [`LineResponse`][diffsc.LineResponse] ($R_s=0$, a lossless film, gives $Q_i=\infty$).
    """
    _check_geometry(geometry)
    Zs = _check_surface_impedance(Zs)
    freq = check_positive(freq, "freq", "Hz")
    check_broadcast(("Zs", Zs), ("freq", freq))
    Rs = jnp.real(Zs)
    Ls = jnp.imag(Zs) / (2.0 * jnp.pi * freq)
    g = geometry.geometry_factor()
    Lg = geometry.geometric_inductance()
    C = geometry.capacitance()
    Lk = g * Ls
    L = Lg + Lk
    R = g * Rs
    v = 1.0 / jnp.sqrt(L * C)
    w0 = jnp.pi * v / geometry.length
    r = R / (w0 * L)
    a = jnp.sqrt(0.5 * (jnp.sqrt(1.0 + r**2) + 1.0))
    w_res = w0 / a
    r = R / (w_res * L)
    a = jnp.sqrt(0.5 * (jnp.sqrt(1.0 + r**2) + 1.0))
    Z_line = jnp.sqrt((as_complex(R) + 1j * as_complex(w_res) * as_complex(L))
                      / (1j * as_complex(w_res) * as_complex(C)))
    return LineResponse(
        f_res=w0 / a / (2.0 * jnp.pi), Qi=a**2 / r, alpha_k=Lk / L, L_kinetic=Lk,
        L_geometric=Lg * jnp.ones_like(Lk), R=R, Z_line=Z_line,
    )


def resonator_from_conductivity(sigma1, sigma2, freq, geometry, *, resistivity) -> LineResponse:
    r"""$f_{res}$, $Q_i$, $\alpha_k$ from the complex conductivity of the film.

    $Z_s$ from [`surface_impedance`][diffsc.surface_impedance] (local response, film thickness of the geometry),
    then [`resonator_response`][diffsc.resonator_response].

    **Arguments** (real, finite, broadcast together; bad input raises an error naming the
    argument, eagerly and under ``jit``/``vmap``): `sigma1` $=\sigma_1/\sigma_N$ (>= 0) and
    `sigma2` $=\sigma_2/\sigma_N$ (> 0: a superconducting film, whose kinetic inductance the line
    model needs), dimensionless, at `freq` (Hz, > 0); `geometry` ([`CPW`][diffsc.CPW] or
    [`Microstrip`][diffsc.Microstrip]); `resistivity` $\rho_N=1/\sigma_N$ (Ohm m, > 0).
    **Returns:** [`LineResponse`][diffsc.LineResponse] (`sigma1` = 0, no quasiparticle loss, gives $Q_i=\infty$).
    """
    _check_geometry(geometry)
    sigma1 = check_nonnegative(sigma1, "sigma1", dtype=float)
    sigma2 = check_positive(sigma2, "sigma2", dtype=float)
    freq = check_positive(freq, "freq", "Hz", dtype=float)
    resistivity = check_positive(resistivity, "resistivity", "Ohm m", dtype=float)
    check_broadcast(("sigma1", sigma1), ("sigma2", sigma2), ("freq", freq),
                    ("resistivity", resistivity))
    Zs = surface_impedance(freq, sigma1, sigma2, thickness=geometry.thickness,
                           resistivity=resistivity)
    return resonator_response(Zs, freq, geometry)


def calibrate_geometry(geometry, Zs, freq, f_target):
    r"""Return `geometry` with its permittivity set so that the line resonates at `f_target`.

    $C'$ is scaled by $(f_{res}/f_{target})^2$, which is exact up to $O(r^2)\sim Q_i^{-2}$. Used
    to reproduce the paper's 5.57 GHz model frequency (its $\varepsilon_r$ is not stated).

    **Arguments** (broadcast together; bad input raises an error naming the argument):
    `geometry` ([`CPW`][diffsc.CPW] or [`Microstrip`][diffsc.Microstrip]), `Zs` (complex, Ohm/□; $R_s\ge0$, $X_s>0$)
    and `freq` (Hz, > 0) of the reference state (e.g. the thermal film at the lowest bath
    temperature), `f_target` (Hz, real, > 0).
    """
    f_target = check_positive(f_target, "f_target", "Hz")
    f = resonator_response(Zs, freq, geometry).f_res
    check_broadcast(("Zs", Zs), ("freq", freq), ("f_target", f_target))
    return geometry.with_capacitance_scale((f / f_target) ** 2)


def linearised_response(sigma1, sigma2, dsigma1, dsigma2, alpha_k, gamma=-1.0):
    r"""Linear response of a resonator to small conductivity changes (docs/resonator.md, §2).

    $$\frac{\delta f_r}{f_r}=\frac{\alpha_k|\gamma|}{2}\frac{\delta\sigma_2}{\sigma_2},\qquad
    \delta\Big(\frac1{Q_i}\Big)=\alpha_k|\gamma|\Big(\frac{\delta\sigma_1}{\sigma_2}
    -\frac{\sigma_1\,\delta\sigma_2}{\sigma_2^2}\Big),$$
    with $Z_s\propto\sigma^\gamma$ ($\gamma=-1$ thin film, $-1/2$ thick local). A cross-check of
    [`resonator_from_conductivity`][diffsc.resonator_from_conductivity], not the model.

    **Arguments** (real, finite, broadcast together; bad input raises an error naming the
    argument, eagerly and under ``jit``/``vmap``): `sigma1` (>= 0), `sigma2` (> 0), `dsigma1`,
    `dsigma2` (any sign), all four in one common unit (S/m, or normalised to $\sigma_N$: only
    ratios enter); `alpha_k` kinetic-inductance fraction in [0, 1]; `gamma` in [-1, 0)
    (dimensionless). **Returns:** ``(df_over_f, d_inv_Qi)`` (dimensionless).
    """
    sigma1 = check_nonnegative(sigma1, "sigma1")
    sigma2 = check_positive(sigma2, "sigma2")
    dsigma1 = check_finite(dsigma1, "dsigma1")
    dsigma2 = check_finite(dsigma2, "dsigma2")
    alpha_k = check_in_range(alpha_k, "alpha_k", 0.0, 1.0)
    gamma = check_finite(gamma, "gamma")
    gamma = eqx.error_if(gamma, jnp.any((gamma < -1.0) | (gamma >= 0.0)),
                         "diffsc: argument `gamma` must lie in [-1, 0).")
    check_broadcast(("sigma1", sigma1), ("sigma2", sigma2), ("dsigma1", dsigma1),
                    ("dsigma2", dsigma2), ("alpha_k", alpha_k), ("gamma", gamma))
    g = jnp.abs(gamma)
    df = 0.5 * alpha_k * g * dsigma2 / sigma2
    dinvq = alpha_k * g * (dsigma1 / sigma2 - sigma1 * dsigma2 / sigma2**2)
    return df, dinvq
