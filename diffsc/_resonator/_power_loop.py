r"""Self-consistent readout-power loop of a superconducting resonator (docs/resonator.md, §3; docs/kinetic.md, §Drives).

The absorbed power depends on $Q_i$, $Q_i$ depends on the quasiparticle distribution $f(E)$, and
$f(E)$ depends on the absorbed power:
$$p=\frac{P_{abs}^{qp}}{\kappa V_{strip}},\qquad
P_{abs}^{qp}=\frac{P_{read}}{2}\frac{4Q^2}{Q_iQ_c}\frac{Q_i}{Q_{i,qp}}\ \ (\text{supplement Eq. 25}),
\qquad \frac1{Q_i}=\frac1{Q_{i,qp}[\sigma(p)]}+\frac1{Q_i^*}\ \ (\text{Eq. 24}),$$
with $\kappa=2$ (de Visser et al.: twice the central-strip volume, to account for the ground
plane). $\sigma(p)$ comes from a *response model* — the Chang–Scalapino steady state
([`KineticResponse`][diffsc.KineticResponse]) or, for comparison, a thermal heating model ([`HeatingResponse`][diffsc.HeatingResponse]) —
and $Q_{i,qp}$, $f_{res}$ from the line geometry (`diffsc._resonator._geometry`). The loop is
solved as one scalar fixed point in $x=\ln p$ by safeguarded Newton (`_solve_loop`) and
differentiated implicitly (a custom JVP, one division), so gradients never pass through the
iterations; the inner kinetic solve is itself differentiated implicitly.

Why the loop keeps its own iteration instead of the package's bracketed root finder
(``diffsc._core._roots.bracketed_root``, Chandrupatla's method): a bracket is available up
front ($g=F(x)-x>0$ at $x=\ln10^{-30}$, and $g<0$ above $\ln(P_{read}/\kappa V)$ since
$P_{abs}\le P_{read}/2$), but every evaluation of $F$ can be a full kinetic solve, and
Newton with the slope from the same forward-mode pass needs fewer of them. On the heating
response's test points (-120 to -60 dBm, 0.15-0.28 K) the loop takes 1-4 Newton steps
(3-6 evaluations of the response with the start and the reported outputs), Chandrupatla on
that bracket 4-8 steps after its two end points (7-11 evaluations, one of them a solve at the
largest possible power). The loop also stops on its residual ($|g|\le$ `rtol`), so its
results carry that tolerance (up to 5e-7 in $\ln p$ at the default 1e-6), which a
different iteration would not reproduce to better than that.

Response models derive from [`AbstractResponse`][diffsc.AbstractResponse] and return a [`ResponseResult`][diffsc.ResponseResult].
"""

from __future__ import annotations

import abc
import functools
import warnings
from typing import NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from .._core._constants import dbm_to_watt
from .._core._results import RESULTS, raise_if_failed
from .._core._validation import check_positive
from .._superconductor._bcs import gap as bcs_gap
from .._superconductor._bcs import thermal_nqp
from .._superconductor._material import Material
from .._superconductor._mattis_bardeen import mattis_bardeen
from ._geometry import resonator_from_conductivity
from ._models import absorbed_power, coupled_resonance_frequency, s21_ideal


class ResponseResult(NamedTuple):
    r"""What a response model ([`AbstractResponse`][diffsc.AbstractResponse]) returns at one absorbed power.

    **Fields:** `sigma1`, `sigma2` (complex conductivity $\sigma_1-i\sigma_2$ in units of the
    normal-state $\sigma_N$, dimensionless, at the drive frequency), `gap` ($\Delta$, eV),
    `nqp` (quasiparticle density, 1/m^3), `ok` (bool: the model's inner solve succeeded).

    A ``NamedTuple``: a pytree for ``jit``/``vmap``/``grad``, and it still unpacks as the
    5-tuple ``(sigma1, sigma2, gap, nqp, ok)`` the response models used to return.
    """

    sigma1: jnp.ndarray
    sigma2: jnp.ndarray
    gap: jnp.ndarray
    nqp: jnp.ndarray
    ok: jnp.ndarray


class AbstractResponse(eqx.Module):
    r"""A film's response to absorbed microwave power: the model inside [`power_loop`][diffsc.power_loop].

    Subclass it (an ``equinox.Module``: its fields are the model's parameters, which
    [`fit_power_sweep`][diffsc.fit_power_sweep] can fit by their dotted path) to write your own; the package's are
    [`KineticResponse`][diffsc.KineticResponse] and [`HeatingResponse`][diffsc.HeatingResponse]. Everything `__call__` computes
    from traced fields must be differentiable, because the loop's implicit derivative calls it
    under ``jax.jvp``.

    A subclass has a `material` attribute ([`Material`][diffsc.Material], a field or a property;
    the loop reads its `resistivity`) and implements `__call__`.
    """

    @abc.abstractmethod
    def __call__(self, p, T_bath, freq) -> ResponseResult:
        r"""The film's state at absorbed power density `p` (W/m^3, >= 0), bath temperature
        `T_bath` (K) and drive frequency `freq` (Hz): a [`ResponseResult`][diffsc.ResponseResult] (`sigma1`,
        `sigma2` in units of $\sigma_N$, `gap` in eV, `nqp` in 1/m^3, `ok`)."""


class HeatingResponse(AbstractResponse):
    r"""Thermal (heating) response: the film is in equilibrium at an effective temperature.

    $$T_{eff}=\big(T_b^{n}+p/\Sigma\big)^{1/n},$$
    with $\Sigma$ (W m⁻³ K⁻ⁿ) an electron–phonon coupling constant and $n=5$, smoothly
    saturated at $0.9\,T_c$; $\sigma$ from
    thermal Mattis–Bardeen at $T_{eff}$ with the BCS gap. A crude model used to show what the
    non-equilibrium $f(E)$ changes (it can only lower $Q_i$ and $f_{res}$ with power).

    **Fields:** `material`, `sigma_ep` ($\Sigma$), `exponent` ($n$, static).
    """

    material: Material
    sigma_ep: float = 2e8
    exponent: int = eqx.field(static=True, default=5)

    def __call__(self, p, T_bath, freq) -> ResponseResult:
        """[`ResponseResult`][diffsc.ResponseResult] at absorbed power density `p` (W/m^3), `T_bath` (K), `freq`
        (Hz): Mattis-Bardeen at $T_{eff}$ (`ok` always True)."""
        n = self.exponent
        T = (T_bath**n + p / self.sigma_ep) ** (1.0 / n)
        # saturate smoothly below 0.9 Tc (width 10 mK) so that extreme trial parameters in a fit
        # stay finite; no effect (< e^-20) more than 0.2 K below 0.9 Tc
        t_max, w = 0.9 * self.material.Tc, 0.01
        T = t_max - w * jax.nn.softplus((t_max - T) / w)
        d = bcs_gap(T, self.material)
        s1, s2 = mattis_bardeen(freq, T, d)
        nqp = thermal_nqp(T, d, self.material.require("N0"))
        return ResponseResult(sigma1=s1, sigma2=s2, gap=d, nqp=nqp, ok=jnp.array(True))


class KineticResponse(AbstractResponse):
    r"""Non-equilibrium response from [`kinetic_steady_state`][diffsc.kinetic_steady_state] (S-Al model).

    **Fields:** `material`, `tau_esc` (s), `n_bins` (static), `self_consistent_gap` (static),
    `energy_extent` (eV above the gap, optional; default that of
    [`kinetic_steady_state`][diffsc.kinetic_steady_state], $\max(10\Delta_0,20k_BT_b,4h\nu)$). At resonator
    temperatures ($k_BT_b\ll\Delta$) the occupied states lie within about one gap of the gap edge,
    so a span of ~3 gaps puts 3x more bins on each photon energy at the same cost. `rtol`
    (static): the inner solves' tolerance, tighter than the solver's default 1e-10 because below
    ~100 mK solves that pass 1e-10 can differ by ~2 % in n_qp, which makes the loop's map ragged
    (80 mK / -76 dBm without an extra loss: the loop failed at 1e-10 and converges in 5 steps at
    1e-13; Newton's last steps are quadratic, so it costs about two inner steps).
    `gap_edge_drive_weight` (static): as in [`kinetic_steady_state`][diffsc.kinetic_steady_state];
    1 (default) is the number-conserving drive, 0.5 the published MATLAB code's convention
    (a literature-compatibility mode, not physics).
    $\sigma_{1,2}$ from the driven $f(E)$ via Mattis–Bardeen, evaluated at the drive frequency.
    """

    material: Material
    tau_esc: float = 0.17e-9
    n_bins: int = eqx.field(static=True, default=200)
    self_consistent_gap: bool = eqx.field(static=True, default=True)
    energy_extent: float | None = None
    rtol: float = eqx.field(static=True, default=1e-13)
    gap_edge_drive_weight: float = eqx.field(static=True, default=1.0)

    def __call__(self, p, T_bath, freq) -> ResponseResult:
        """[`ResponseResult`][diffsc.ResponseResult] at absorbed power density `p` (W/m^3), `T_bath` (K), `freq`
        (Hz): one kinetic steady state (`ok`: its ``success``)."""
        from .._kinetic import kinetic_steady_state

        sol = kinetic_steady_state(
            self.material, T_bath, freq, p, tau_esc=self.tau_esc, n_bins=self.n_bins,
            energy_extent=self.energy_extent, rtol=self.rtol,
            self_consistent_gap=self.self_consistent_gap, throw=False,
            gap_edge_drive_weight=self.gap_edge_drive_weight,
        )
        s1, s2 = sol.sigma()
        return ResponseResult(sigma1=s1, sigma2=s2, gap=sol.gap, nqp=sol.nqp, ok=sol.success)


class PowerLoopSolution(eqx.Module):
    r"""Self-consistent state of a resonator at given readout power and bath temperature.

    **Fields:** `Qi` (total internal), `Qi_qp` (quasiparticle part), `Qc`, `f_res` (Hz, including
    the coupler's pull), `f_line` (Hz, bare half-wave line), `alpha_k`, `P_abs` (W, absorbed by
    quasiparticles, Eq. 25), `P_abs_density` (W/m^3, per $\kappa V_{strip}$), `sigma1`, `sigma2`
    ($\sigma/\sigma_N$), `gap` (eV), `nqp` (1/m^3), `n_steps`, `result` (a [`RESULTS`][diffsc.RESULTS]
    code: 0 = the fixed point converged and every inner solve succeeded, 2 = $Q_i$ or $f_{res}$
    non-finite, 1 = otherwise: `max_steps` reached or an inner solve failed), `success`
    (``result == 0``).
    """

    Qi: jnp.ndarray
    Qi_qp: jnp.ndarray
    Qc: jnp.ndarray
    f_res: jnp.ndarray
    f_line: jnp.ndarray
    alpha_k: jnp.ndarray
    P_abs: jnp.ndarray
    P_abs_density: jnp.ndarray
    sigma1: jnp.ndarray
    sigma2: jnp.ndarray
    gap: jnp.ndarray
    nqp: jnp.ndarray
    n_steps: jnp.ndarray
    result: jnp.ndarray
    success: jnp.ndarray

    def s21(self, freq):
        r"""Ideal $S_{21}$ (supplement Eq. 19) of this state at probe frequencies `freq` (Hz)."""
        return s21_ideal(freq, self.f_res, self.Qi, self.Qc)


def _state(x, args):
    """Everything the loop computes from x = ln p (p = absorbed power density, W/m^3)."""
    response, geometry, T_bath, freq, P_read, Qc, inv_extra, volume, extra_to_qp = args
    p = jnp.exp(x)
    r = ResponseResult(*response(p, T_bath, freq))  # also a plain 5-tuple from an older model
    s1, s2, d, nqp, ok = r.sigma1, r.sigma2, r.gap, r.nqp, r.ok
    # a failed inner solve may return unphysical sigma: flag it and keep the loop finite
    good = (s1 >= 0) & (s2 > 0) & jnp.isfinite(s1) & jnp.isfinite(s2)
    ok = ok & good
    s1 = jnp.where(good, s1, 1e-3)
    s2 = jnp.where(good, s2, 10.0)
    line = resonator_from_conductivity(
        s1, s2, freq, geometry, resistivity=response.material.require("resistivity")
    )
    Qi_qp = line.Qi
    Qi = 1.0 / (1.0 / Qi_qp + inv_extra)
    # Eq. 25: the quasiparticles take the share Qi/Qi_qp of the absorbed power; with
    # `extra_to_qp` = 1 the extra channel's share too (the paper's choice Qi/Qi,qp = 1)
    Qi_heating = 1.0 / (1.0 / Qi_qp + extra_to_qp * inv_extra)
    P_abs = absorbed_power(P_read, Qi, Qc, Qi_qp=Qi_heating)
    return dict(s1=s1, s2=s2, gap=d, nqp=nqp, ok=ok, line=line, Qi_qp=Qi_qp, Qi=Qi, P_abs=P_abs,
                p_new=P_abs / volume)


def _loop_map(x, args):
    st = _state(x, args)
    return jnp.log(jnp.maximum(st["p_new"], 1e-300))


def _outputs(x, args):
    """The loop's map and every reported quantity at x = ln p (one evaluation of the response)."""
    st = _state(x, args)
    line = st["line"]
    return dict(x_new=jnp.log(jnp.maximum(st["p_new"], 1e-300)), Qi=st["Qi"], Qi_qp=st["Qi_qp"],
                f_line=line.f_res, alpha_k=line.alpha_k, P_abs=st["P_abs"], p_new=st["p_new"],
                s1=st["s1"], s2=st["s2"], gap=st["gap"], nqp=st["nqp"], ok=st["ok"])


def _is_none(x):
    return x is None


@eqx.filter_custom_jvp
def _solve_loop(args, *, rtol, max_steps):
    r"""Solve $x^*=F(x^*,\mathrm{args})$ ($F$ = `_loop_map`) for $x=\ln p$.

    Safeguarded Newton on $g(x)=F(x)-x$ with $g'$ from one forward-mode pass (through the inner
    solves' implicit derivatives), started from the absorbed power of the undriven film: a
    Newton step is taken when $g'<0$ and it stays inside the bracket $[x_{lo},x_{hi}]$ kept from
    the signs of $g$, else the bracket is bisected. The upper end starts at
    $\ln(P_{read}/\kappa V)$, which no solution can exceed ($P_{abs}\le P_{read}/2$). Plain
    fixed-point iteration converges only linearly, at the rate $\partial_xF$, which reaches
    ~0.8 at low temperature (60 steps were not enough there).

    Returns ``(x*, outputs, converged, n_steps)`` with ``outputs`` = `_outputs` at $x^*$.
    """
    volume, P_read = args[7], args[4]
    x0 = _loop_map(jnp.log(jnp.asarray(1e-30)), args)

    def g_and_slope(x):
        F, dF = jax.jvp(lambda y: _loop_map(y, args), (x,), (jnp.ones_like(x),))
        return F - x, dF - 1.0

    def body(st):
        x, lo, hi = st["x"], st["lo"], st["hi"]
        g, dg = g_and_slope(x)
        up = g > 0  # the root lies above x (g falls through zero)
        lo, hi = jnp.where(up, x, lo), jnp.where(up, hi, x)
        newton = x - g / dg
        use = (dg < 0) & (newton > lo) & (newton < hi) & jnp.isfinite(newton)
        conv = jnp.abs(g) <= rtol
        xn = jnp.where(conv, x, jnp.where(use, newton, 0.5 * (lo + hi)))
        k = st["k"] + 1
        return dict(x=xn, lo=lo, hi=hi, k=k, conv=conv, done=conv | (k >= max_steps))

    hi0 = jnp.maximum(jnp.log(P_read / volume), x0) + 1.0
    st = dict(x=x0, lo=x0 - 40.0, hi=hi0, k=jnp.asarray(0), conv=jnp.asarray(False),
              done=jnp.asarray(False))
    st = jax.lax.while_loop(lambda st: ~st["done"], body, st)
    return st["x"], _outputs(st["x"], args), st["conv"], st["k"]


@_solve_loop.def_jvp
def _solve_loop_jvp(primals, tangents, *, rtol, max_steps):
    r"""Implicit derivative of the scalar fixed point, $\dot x^*=\dot F/(1-\partial_xF)$.

    Two forward passes of `_outputs`: along $x$ (a primal quantity, $\partial_xF$ and
    $\partial_x o$) and along the argument tangents ($\dot F$, $\dot o|_x$); the reported
    outputs then get $\dot o=\dot o|_x+\partial_xo\,\dot x^*$. The loop is a scalar
    equation, so the linear "solve" is one division (finite for a simple root, $\partial_xF\ne1$). Deliberately plain
    ``jnp`` (no ``lineax.linear_solve``, which raises on non-finite input in equinox's default
    error mode): an outer solver may evaluate this derivative with placeholder linearisation data
    (optimistix's Levenberg–Marquardt does so on its first step, and discards the result), which
    must give a throw-away NaN, not an error. The rule calls `_solve_loop` and
    `_outputs` again, so it is itself differentiable (higher derivatives).
    """
    (args,), (t_args,) = primals, tangents
    out = _solve_loop(args, rtol=rtol, max_steps=max_steps)
    x = out[0]
    has_tangent = jax.tree.map(lambda t: t is not None, t_args, is_leaf=_is_none)
    diff, nondiff = eqx.partition(args, has_tangent)
    t_diff = eqx.filter(t_args, has_tangent, is_leaf=_is_none)
    # d(outputs)/dx at the fixed point: a primal quantity (does not depend on the tangents)
    _, o_x = jax.jvp(lambda y: _outputs(y, args), (x,), (jnp.ones_like(x),))
    # d(outputs)/d(args) . t_args at fixed x: linear in the tangents
    _, o_dot = jax.jvp(lambda d: _outputs(x, eqx.combine(d, nondiff)), (diff,), (t_diff,))
    t_x = o_dot["x_new"] / (1.0 - o_x["x_new"])
    t_out = {k: (None if k == "ok" else o_dot[k] + o_x[k] * t_x) for k in o_dot}
    return out, (t_x, t_out, None, None)


def power_loop(
    P_read_dbm,
    T_bath,
    response,
    geometry,
    *,
    Qc,
    freq,
    Qi_extra=None,
    extra_loss_heats_qp: bool = False,
    volume_factor=2.0,
    Cg=None,
    Z0=50.0,
    rtol: float = 1e-6,
    max_steps: int = 60,
    throw: bool = False,
) -> PowerLoopSolution:
    r"""Solve the readout-power loop: from $P_{read}$ (dBm) and $T_b$ to $Q_i$, $f_{res}$, $P_{abs}$.

    Fixed point $x=\ln p$, $p=P_{abs}^{qp}/(\kappa V_{strip})$ (module docstring), iterated from
    the absorbed power of the undriven film. Implicit derivatives with respect to every argument and every
    field of `response` and `geometry`.

    **Arguments:**

    - `P_read_dbm`: readout power at the resonator, dBm.
    - `T_bath`: bath temperature, K.
    - `response`: an [`AbstractResponse`][diffsc.AbstractResponse]: [`KineticResponse`][diffsc.KineticResponse],
      [`HeatingResponse`][diffsc.HeatingResponse] or your own (carries the material).
    - `geometry`: [`Microstrip`][diffsc.Microstrip] or [`CPW`][diffsc.CPW] (film thickness, strip volume);
      calibrate its permittivity to the model frequency with [`calibrate_geometry`][diffsc.calibrate_geometry].
    - `Qc`: coupling quality factor (dimensionless), e.g. ``diffsc.coupling_q(f, Cg)``.
    - `freq`: drive/readout frequency at which $\sigma$ is evaluated, Hz (the paper: 5.57 GHz,
      the modelled resonance).
    - `Qi_extra`: extra internal loss channel $Q_i^*$ (TLS, radiation, ...; Eq. 24), None = no extra loss.
    - `extra_loss_heats_qp`: False (default): the quasiparticles absorb the share
      $Q_i/Q_{i,qp}$ of $P_{abs}$ (Eq. 25) and the power lost through $Q_i^*$ leaves the film.
      True: all of $P_{abs}$ heats the quasiparticles, the paper's choice $Q_i/Q_{i,qp}=1$ for
      its Fig. 1 (where $P_{abs}$ follows the measured, not the quasiparticle-limited, $Q_i$).
    - `volume_factor`: $\kappa$, absorbing volume in units of the central-strip volume (paper: 2).
    - `Cg`, `Z0`: coupling capacitance (F) and line impedance (Ohm); if `Cg` is given, $f_{res}$
      includes the coupler's pull $f_0=f_{1/2}(1-2f_{1/2}C_gZ_0)$.
    - `rtol`, `max_steps`: fixed-point tolerance (relative, on $p$) and iteration limit.
    - `throw`: raise (also under ``jit``) if the loop (or an inner solve) fails. Default False,
      the package-wide default (it was True before): read ``result``/``success``.

    **Returns:** [`PowerLoopSolution`][diffsc.PowerLoopSolution].
    """
    P_read = dbm_to_watt(jnp.asarray(P_read_dbm, float))
    T_bath = check_positive(T_bath, "T_bath", "K", dtype=float)
    Qc = check_positive(Qc, "Qc", dtype=float)
    inv_extra = (jnp.zeros(()) if Qi_extra is None
                 else 1.0 / check_positive(Qi_extra, "Qi_extra", dtype=float))
    volume = volume_factor * geometry.strip_volume()
    freq = check_positive(freq, "freq", "Hz", dtype=float)
    extra_to_qp = jnp.asarray(1.0 if extra_loss_heats_qp else 0.0)
    args = (response, geometry, T_bath, freq, P_read, Qc, inv_extra, volume, extra_to_qp)
    _, st, converged, n_steps = _solve_loop(args, rtol=float(rtol), max_steps=int(max_steps))
    f_line = st["f_line"]
    f_res = f_line if Cg is None else coupled_resonance_frequency(f_line, Cg, Z0)
    ok = converged & st["ok"]
    finite = jnp.isfinite(st["Qi"]) & jnp.isfinite(f_res)
    result = jnp.where(ok & finite, int(RESULTS.successful),
                       jnp.where(finite, int(RESULTS.max_steps_reached),
                                 int(RESULTS.nonfinite))).astype(jnp.int32)
    sol = PowerLoopSolution(
        Qi=st["Qi"], Qi_qp=st["Qi_qp"], Qc=Qc, f_res=f_res, f_line=f_line,
        alpha_k=st["alpha_k"], P_abs=st["P_abs"], P_abs_density=st["p_new"], sigma1=st["s1"],
        sigma2=st["s2"], gap=st["gap"], nqp=st["nqp"], n_steps=n_steps,
        result=result,
        success=result == 0,
    )
    if throw:  # on every field: the check survives whatever the caller reads
        sol = raise_if_failed(sol, result, "diffsc.power_loop",
                              " (the power loop, or an inner kinetic solve); use throw=False "
                              "to inspect it.")
    return sol



def _set_path(tree, path: str, value):
    """Replace the field at a dotted attribute path (e.g. ``"response.material.tau0"``)."""
    parts = path.split(".")

    def where(t):
        for p in parts:
            t = getattr(t, p)
        return t

    return eqx.tree_at(where, tree, value, is_leaf=lambda x: x is None)


class _Model(eqx.Module):
    response: eqx.Module
    geometry: eqx.Module
    Qi_extra: jnp.ndarray


# Residual given to a data point whose power loop failed (not converged, inner solve failed or
# non-finite Qi/f_res) at a trial parameter set: large enough that chi^2 >= 1e8 flags it and the
# optimiser rejects the step, finite so that the least-squares solver keeps going.
FAILED_POINT_RESIDUAL = 1e4
# Fitted log-parameters are confined to |ln theta - ln theta_0| <= _LOG_RANGE (a factor 5e8 either
# way): exp() of a wild trial step stays finite, so the model's argument checks never fire.
_LOG_RANGE = 20.0


class PowerSweepFit(eqx.Module):
    r"""Result of [`fit_power_sweep`][diffsc.fit_power_sweep].

    **Fields:**

    - `params`: dict ``{path: fitted value}`` in the field's own units (``values`` is a
      deprecated alias).
    - `std`: dict ``{path: 1-sigma uncertainty}``, same units (``params * rel_std``).
    - `rel_std`: dict ``{path: relative 1-sigma uncertainty}`` (= std of $\ln\theta$).
    - `fit`: the [`FitResult`][diffsc.FitResult] in log space (``fit.success``: the optimiser converged).
    - `Qi_model`, `f_res_model` (Hz): the model at every data point at the fitted parameters.
    - `point_success`: per data point, the power loop (and every inner solve) succeeded at the
      fitted parameters; a failed point entered the residual as ``FAILED_POINT_RESIDUAL``.
    - `result`: a [`RESULTS`][diffsc.RESULTS] code: the optimiser's (``fit.result``) when it failed,
      else 1 if a point failed at the fitted parameters, else 0; `success`: ``result == 0``
      (``fit.success`` and every point succeeded); `n_steps`: optimiser steps.
    """

    params: dict
    rel_std: dict
    fit: eqx.Module
    Qi_model: jnp.ndarray
    f_res_model: jnp.ndarray
    point_success: jnp.ndarray
    success: jnp.ndarray
    std: dict | None = None
    result: jnp.ndarray | None = None
    n_steps: jnp.ndarray | None = None

    @property
    def values(self) -> dict:
        """Deprecated alias of `params` (the name every fit result uses)."""
        warnings.warn("PowerSweepFit.values is deprecated; use PowerSweepFit.params.",
                      DeprecationWarning, stacklevel=2)
        return self.params


def _clipped_values(params, log0):
    return {k: jnp.exp(jnp.clip(z, log0[k] - _LOG_RANGE, log0[k] + _LOG_RANGE))
            for k, z in params.items()}


def _map_points(fn, *xs):
    """``vmap`` over the data points on accelerators, ``lax.map`` (one point at a time) on the CPU.

    On the CPU, batching dense LU work across points gains nothing, and it can deadlock: XLA's
    CPU runtime runs independent batched LU factorisations (``jnp.linalg.solve`` on a batch)
    concurrently; each hands its batch to the intra-op thread pool and blocks until it is done,
    and when every pool thread is such a waiting kernel nothing is left to do the work. This hung
    [`fit_power_sweep`][diffsc.fit_power_sweep] with the kinetic response (0 % CPU; native stacks of both pool
    threads in jaxlib's ``LuDecomposition`` → ``ParallelBatchMap`` → ``BlockingCounter::Wait``,
    jax/jaxlib 0.10.2 on 2 cores; ``--xla_cpu_multi_thread_eigen=false`` does not prevent it).
    """
    if jax.default_backend() == "cpu":
        return jax.lax.map(lambda a: fn(*a), xs)
    return jax.vmap(fn)(*xs)


def _sweep_model(params, args):
    """Model Qi, f_res and the per-point success flag at log-parameters `params`."""
    model, log0, T, P, Qc, freq = args[:6]
    for name, value in _clipped_values(params, log0).items():
        model = _set_path(model, name, value)

    def one(t, p):
        s = power_loop(p, t, model.response, model.geometry, Qc=Qc, freq=freq,
                       Qi_extra=model.Qi_extra, throw=False)
        return s.Qi, s.f_res, s.success

    qi, fr, ok = _map_points(one, T, P)
    ok = ok & jnp.isfinite(qi) & jnp.isfinite(fr) & (qi > 0)
    return qi, fr, ok


def _sweep_residual(params, args):
    qi_data, f_data, rel_sigma_qi, sigma_f = args[6:]
    qi, fr, ok = _sweep_model(params, args)
    # double where: a failed point contributes a constant (zero-tangent) penalty, and the
    # division never sees its (possibly non-finite) model values
    qi = jnp.where(ok, qi, qi_data)
    fr = jnp.where(ok, fr, f_data)
    r_qi = jnp.where(ok, (qi / qi_data - 1.0) / rel_sigma_qi, FAILED_POINT_RESIDUAL)
    r_f = jnp.where(ok, (fr - f_data) / sigma_f, FAILED_POINT_RESIDUAL)
    return jnp.concatenate([r_qi, r_f])


@eqx.filter_custom_jvp
def _sweep_residual_dense(params, args):
    """`_sweep_residual` whose derivative materialises the Jacobian in the primal pass.

    Same values and derivatives. The optimiser then multiplies by a stored matrix wherever it
    needs a Jacobian product (trust-region prediction, QR assembly, gradient norm, covariance)
    instead of re-running the nested implicit derivatives of every point: with 2-3 parameters
    this makes each step cheaper and the compiled program several times smaller.
    """
    return _sweep_residual(params, args)


@_sweep_residual_dense.def_jvp
def _sweep_residual_dense_jvp(primals, tangents):
    params, args = primals
    t_params, t_args = tangents
    keys = [k for k in params if t_params[k] is not None]
    basis = jnp.eye(len(keys), dtype=float)

    def jvp_along(e):
        t = {k: (e[keys.index(k)] if k in keys else jnp.zeros_like(v))
             for k, v in params.items()}
        return jax.jvp(lambda p: _sweep_residual(p, args), (params,), (t,))

    r, jac = jax.vmap(jvp_along, out_axes=(None, 0))(basis)  # jac: (n_keys, n_residuals)
    t_r = sum(jac[i] * t_params[k] for i, k in enumerate(keys)) if keys else jnp.zeros_like(r)
    if any(t is not None for t in jax.tree.leaves(t_args, is_leaf=_is_none)):
        has_tangent = jax.tree.map(lambda t: t is not None, t_args, is_leaf=_is_none)
        diff, nondiff = eqx.partition(args, has_tangent)
        t_diff = eqx.filter(t_args, has_tangent, is_leaf=_is_none)
        _, t_a = jax.jvp(lambda d: _sweep_residual(params, eqx.combine(d, nondiff)), (diff,),
                         (t_diff,))
        t_r = t_r + t_a
    return r, t_r


def _check_1d(name, x, n):
    x = jnp.asarray(x, float)
    if x.ndim != 1 or x.shape[0] != n:
        raise ValueError(f"diffsc.fit_power_sweep: `{name}` must be a 1-D array of length {n} "
                         f"(one entry per point), got shape {x.shape}.")
    return x


def _power_and_bath(first, second):
    """(P_read_dbm, T_bath) of a positional call of [`fit_power_sweep`][diffsc.fit_power_sweep], whose order changed:
    a read power is <= 0 dBm and a bath temperature > 0 K, so the values tell the new order
    (kept), the old one (swapped, with a DeprecationWarning) or neither (TypeError)."""
    try:
        a, b = np.asarray(first, dtype=float), np.asarray(second, dtype=float)
    except Exception:  # noqa: BLE001 - traced or non-numeric: the order cannot be read off
        a = b = np.zeros(0)
    if a.size and b.size:
        if np.all(a <= 0.0) and np.all(b > 0.0):
            return first, second
        if np.all(a > 0.0) and np.all(b <= 0.0):
            warnings.warn(_OLD_ORDER, DeprecationWarning, stacklevel=3)
            return second, first
    raise TypeError("diffsc.fit_power_sweep: the first two positional arguments are not read "
                    "powers <= 0 dBm and bath temperatures > 0 K (the order is (P_read_dbm, "
                    "T_bath, ...), as in power_loop; it used to be (T_bath, P_read_dbm, ...)); "
                    "pass them by keyword: fit_power_sweep(P_read_dbm=..., T_bath=..., ...).")


_OLD_ORDER = ("diffsc.fit_power_sweep: the argument order (T_bath, P_read_dbm, ...) is deprecated "
              "and will be removed in the next release; the order is (P_read_dbm, T_bath, ...), as "
              "in power_loop (pass them by keyword to be explicit).")


def _read_power_first(fit):
    """The entry of [`fit_power_sweep`][diffsc.fit_power_sweep]: a positional call's first two arguments go through
    `_power_and_bath`; the old ``fit_power_sweep(T_bath, P_read_dbm=..., ...)`` warns."""

    @functools.wraps(fit)
    def entry(*args, **kwargs):
        if len(args) >= 2:
            args = (*_power_and_bath(args[0], args[1]), *args[2:])
        elif len(args) == 1 and "P_read_dbm" in kwargs and "T_bath" not in kwargs:
            warnings.warn(_OLD_ORDER, DeprecationWarning, stacklevel=2)
            args, kwargs = (), {**kwargs, "T_bath": args[0]}
        return fit(*args, **kwargs)

    return entry


@_read_power_first
def fit_power_sweep(P_read_dbm, T_bath, Qi, f_res, response, geometry, initial, *, Qc, freq,
                    Qi_extra=1e9, rel_sigma_Qi=0.01, sigma_f=1e3, method="lm", max_steps=50,
                    absolute_sigma=True, throw=False) -> PowerSweepFit:
    r"""Fit physical parameters to a table of $Q_i(T_b,P_{read})$ and $f_{res}(T_b,P_{read})$.

    Model: [`power_loop`][diffsc.power_loop] at every point, residuals $(Q_i^{model}/Q_i-1)/\sigma_{rel}$ and
    $(f^{model}-f_{res})/\sigma_f$, minimised with [`least_squares`][diffsc.least_squares]; the Jacobian is
    obtained by forward-mode differentiation through the nested fixed points (power loop →
    kinetic steady state → gap), each differentiated implicitly.

    A point whose loop fails at a trial parameter set (not converged, inner kinetic solve failed,
    non-finite $Q_i$ or $f_{res}$) contributes the constant residual ``FAILED_POINT_RESIDUAL``
    (1e4) to both of its entries, so $\chi^2$ stays finite, the step is rejected and the failure
    is visible (``point_success``, ``success``). Each fitted $\ln\theta$ is confined to within 20
    of its initial value (a factor $5\times10^8$) so that no trial value overflows.

    **Arguments:**

    - `P_read_dbm` (dBm), `T_bath` (K), `Qi` (dimensionless), `f_res` (Hz): 1-D arrays of equal
      length, one entry per measured point. The order is that of [`power_loop`][diffsc.power_loop]; it was
      ``(T_bath, P_read_dbm, ...)`` until this release. Both are float arrays, so a positional
      call is read by value: read powers <= 0 dBm with bath temperatures > 0 K are taken as
      given, the reverse (the old order) is swapped with a ``DeprecationWarning``, and anything
      else (e.g. a positive read power) raises ``TypeError`` asking for the keywords
      ``P_read_dbm=``, ``T_bath=``, which are always taken as named.
    - `response`, `geometry`: starting model. `response` is any
      [`AbstractResponse`][diffsc.AbstractResponse]: [`KineticResponse`][diffsc.KineticResponse],
      [`HeatingResponse`][diffsc.HeatingResponse] or your own subclass (its array fields can be
      fitted like the built-in ones); `geometry` a [`Microstrip`][diffsc.Microstrip] or a
      [`CPW`][diffsc.CPW].
    - `initial`: dict ``{path: initial value}`` of the parameters to fit; paths are dotted
      attribute paths into the model ``response``/``geometry``/``Qi_extra``, e.g.
      ``"response.tau_esc"`` (s), ``"response.sigma_ep"`` (W m⁻³ K⁻ⁿ),
      ``"response.material.tau0"`` (s), ``"geometry.eps_eff"``,
      ``"geometry.dielectric_thickness"`` (m; sets $\alpha_k$), ``"Qi_extra"``. All are fitted in
      log space (positive), which also balances the scales.
    - `Qc` (dimensionless), `freq` (Hz): as in [`power_loop`][diffsc.power_loop]; `Qi_extra`: its fixed value
      when not fitted.
    - `rel_sigma_Qi` (relative) and `sigma_f` (Hz): measurement uncertainties.
    - `method`, `max_steps`, `absolute_sigma`: passed to [`least_squares`][diffsc.least_squares].
    - `throw`: raise if the fit fails (`result` not 0); default False: read `result`/`success`.

    **Returns:** [`PowerSweepFit`][diffsc.PowerSweepFit] (`params`, `std`, `rel_std`, `fit`, the model at the data
    points, `point_success`, `result`, `success`, `n_steps`).
    """
    from .._fit import least_squares

    T_bath = jnp.asarray(T_bath, float)
    n = T_bath.shape[0] if T_bath.ndim == 1 else -1
    T_bath = _check_1d("T_bath", T_bath, n)
    P = _check_1d("P_read_dbm", P_read_dbm, n)
    qi_data = check_positive(_check_1d("Qi", Qi, n), "Qi")
    f_data = check_positive(_check_1d("f_res", f_res, n), "f_res", "Hz")
    rel_sigma_Qi = check_positive(rel_sigma_Qi, "rel_sigma_Qi", dtype=float)
    sigma_f = check_positive(sigma_f, "sigma_f", "Hz", dtype=float)
    if not isinstance(initial, dict) or not initial:
        raise ValueError("diffsc.fit_power_sweep: `initial` must be a non-empty dict "
                         "{path: initial value}.")
    model = _Model(response, geometry, jnp.asarray(Qi_extra, float))
    for name, value in initial.items():
        try:
            _set_path(model, name, jnp.asarray(value, float))
        except (AttributeError, ValueError, TypeError) as err:
            raise ValueError(f"diffsc.fit_power_sweep: `initial` path {name!r} does not name a "
                             "field of the model (response/geometry/Qi_extra).") from err
    params = {k: jnp.log(check_positive(v, f"initial[{k!r}]", dtype=float))
              for k, v in initial.items()}
    args = (model, params, T_bath, P, jnp.asarray(Qc, float), jnp.asarray(freq, float),
            qi_data, f_data, rel_sigma_Qi, sigma_f)
    fit = least_squares(_sweep_residual_dense, params, args, method=method, max_steps=max_steps,
                        absolute_sigma=absolute_sigma)
    qi, fr, ok = eqx.filter_jit(_sweep_model)(fit.params, args)
    values = _clipped_values(fit.params, params)
    result = jnp.where(fit.result != 0, fit.result,
                       jnp.where(jnp.all(ok), int(RESULTS.successful),
                                 int(RESULTS.max_steps_reached))).astype(jnp.int32)
    out = PowerSweepFit(params=values, rel_std=dict(fit.std), fit=fit, Qi_model=qi,
                         f_res_model=fr, point_success=ok, success=result == 0,
                         std={k: values[k] * fit.std[k] for k in values}, result=result,
                         n_steps=fit.n_steps)
    if throw:
        out = raise_if_failed(out, result, "diffsc.fit_power_sweep",
                              " (the optimiser, or a point's power loop at the fitted "
                              "parameters); pass throw=False to inspect it.")
    return out
