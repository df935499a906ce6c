r"""Self-consistent readout-power loop of a superconducting resonator (physics reference §5.5, §3.5).

The absorbed power depends on $Q_i$, $Q_i$ depends on the quasiparticle distribution $f(E)$, and
$f(E)$ depends on the absorbed power:
$$p=\frac{P_{abs}^{qp}}{\kappa V_{strip}},\qquad
P_{abs}^{qp}=\frac{P_{read}}{2}\frac{4Q^2}{Q_iQ_c}\frac{Q_i}{Q_{i,qp}}\ \ (\text{supplement Eq. 25}),
\qquad \frac1{Q_i}=\frac1{Q_{i,qp}[\sigma(p)]}+\frac1{Q_i^*}\ \ (\text{Eq. 24}),$$
with $\kappa=2$ (de Visser et al.: twice the central-strip volume, to account for the ground
plane). $\sigma(p)$ comes from a *response model* — the Chang–Scalapino steady state
(:class:`KineticResponse`) or, for comparison, a thermal heating model (:class:`HeatingResponse`) —
and $Q_{i,qp}$, $f_{res}$ from the line geometry (:mod:`diffsc._resonator_geometry`). The loop is
solved as one scalar fixed point in $x=\ln p$ by fixed-point iteration (a contraction: 
$|\partial\ln P_{abs}/\partial\ln Q_i|=|Q_c-Q_i|/(Q_c+Q_i)<1$) and differentiated implicitly
(``optimistix.ImplicitAdjoint``), so gradients never pass through the iterations; the inner kinetic
solve is itself differentiated implicitly.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import optimistix as optx

from ._bcs import gap as bcs_gap
from ._bcs import thermal_nqp
from ._constants import dbm_to_watt
from ._material import Material
from ._mattis_bardeen import mattis_bardeen
from ._resonator import absorbed_power, coupled_resonance_frequency, s21_ideal
from ._resonator_geometry import resonator_from_conductivity
from ._validation import check_positive


class HeatingResponse(eqx.Module):
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

    def __call__(self, p, T_bath, freq):
        n = self.exponent
        T = (T_bath**n + p / self.sigma_ep) ** (1.0 / n)
        # saturate smoothly below 0.9 Tc (width 10 mK) so that extreme trial parameters in a fit
        # stay finite; no effect (< e^-20) more than 0.2 K below 0.9 Tc
        t_max, w = 0.9 * self.material.Tc, 0.01
        T = t_max - w * jax.nn.softplus((t_max - T) / w)
        d = bcs_gap(T, self.material)
        s1, s2 = mattis_bardeen(freq, T, d)
        nqp = thermal_nqp(T, d, self.material.require("N0"))
        return s1, s2, d, nqp, jnp.array(True)


class KineticResponse(eqx.Module):
    r"""Non-equilibrium response from :func:`diffsc.kinetic_steady_state` (S-Al model).

    **Fields:** `material`, `tau_esc` (s), `n_bins` (static), `self_consistent_gap` (static).
    $\sigma_{1,2}$ from the driven $f(E)$ via Mattis–Bardeen, evaluated at the drive frequency.
    """

    material: Material
    tau_esc: float = 0.17e-9
    n_bins: int = eqx.field(static=True, default=200)
    self_consistent_gap: bool = eqx.field(static=True, default=True)

    def __call__(self, p, T_bath, freq):
        from ._kinetic import kinetic_steady_state

        sol = kinetic_steady_state(
            self.material, T_bath, freq, p, tau_esc=self.tau_esc, n_bins=self.n_bins,
            self_consistent_gap=self.self_consistent_gap, throw=False,
        )
        s1, s2 = sol.sigma()
        return s1, s2, sol.gap, sol.nqp, sol.success


class PowerLoopSolution(eqx.Module):
    r"""Self-consistent state of a resonator at given readout power and bath temperature.

    **Fields:** `Qi` (total internal), `Qi_qp` (quasiparticle part), `Qc`, `f_res` (Hz, including
    the coupler's pull), `f_line` (Hz, bare half-wave line), `alpha_k`, `P_abs` (W, absorbed by
    quasiparticles, Eq. 25), `P_abs_density` (W/m^3, per $\kappa V_{strip}$), `sigma1`, `sigma2`
    ($\sigma/\sigma_N$), `gap` (eV), `nqp` (1/m^3), `n_steps`, `result` (0 = converged),
    `success` (fixed point converged and every inner solve succeeded).
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
    response, geometry, T_bath, freq, P_read, Qc, inv_extra, volume = args
    p = jnp.exp(x)
    s1, s2, d, nqp, ok = response(p, T_bath, freq)
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
    P_abs = absorbed_power(P_read, Qi, Qc, Qi_qp=Qi_qp)
    return dict(s1=s1, s2=s2, gap=d, nqp=nqp, ok=ok, line=line, Qi_qp=Qi_qp, Qi=Qi, P_abs=P_abs,
                p_new=P_abs / volume)


def _loop_map(x, args):
    st = _state(x, args)
    return jnp.log(jnp.maximum(st["p_new"], 1e-300))


def _is_none(x):
    return x is None


@eqx.filter_custom_jvp
def _loop_fixed_point(args, *, rtol, max_steps):
    r"""Solve $x^*=F(x^*,\mathrm{args})$ ($F$ = :func:`_loop_map`) by fixed-point iteration.

    Returns ``(x*, converged, n_steps)``, the last two as floats (1.0/0.0 and a count) so that all
    outputs are inexact; they carry zero tangents.
    """
    st0 = _state(jnp.log(jnp.asarray(1e-30)), args)
    x0 = jnp.log(jnp.maximum(st0["p_new"], 1e-300))
    sol = optx.fixed_point(
        _loop_map, optx.FixedPointIteration(rtol=rtol, atol=1e-3 * rtol), x0, args,
        max_steps=max_steps, adjoint=optx.RecursiveCheckpointAdjoint(), throw=False,
    )
    converged = (sol.result == optx.RESULTS.successful).astype(x0.dtype)
    return sol.value, converged, jnp.asarray(sol.stats["num_steps"], x0.dtype)


@_loop_fixed_point.def_jvp
def _loop_fixed_point_jvp(primals, tangents, *, rtol, max_steps):
    r"""Implicit derivative of the scalar fixed point, $\dot x^*=\dot F/(1-\partial_xF)$.

    The loop is a scalar contraction ($|\partial_xF|<1$), so the linear "solve" is one division.
    Deliberately plain ``jnp`` (no ``lineax.linear_solve``): the derivative may be evaluated by an
    outer solver with placeholder linearisation data (optimistix's Levenberg–Marquardt does so on
    its first step) and must then give a throw-away NaN, not raise. The rule calls
    :func:`_loop_fixed_point` and :func:`_loop_map` again, so it is itself differentiable
    (higher derivatives).
    """
    (args,), (t_args,) = primals, tangents
    out = _loop_fixed_point(args, rtol=rtol, max_steps=max_steps)
    x = out[0]
    has_tangent = jax.tree.map(lambda t: t is not None, t_args, is_leaf=_is_none)
    diff, nondiff = eqx.partition(args, has_tangent)
    t_diff = eqx.filter(t_args, has_tangent, is_leaf=_is_none)
    _, f_dot = jax.jvp(lambda d: _loop_map(x, eqx.combine(d, nondiff)), (diff,), (t_diff,))
    _, f_x = jax.jvp(lambda y: _loop_map(y, args), (x,), (jnp.ones_like(x),))
    return out, (f_dot / (1.0 - f_x), None, None)


def power_loop(
    P_read_dbm,
    T_bath,
    response,
    geometry,
    *,
    Qc,
    freq,
    Qi_extra=None,
    volume_factor=2.0,
    Cg=None,
    Z0=50.0,
    rtol: float = 1e-6,
    max_steps: int = 60,
    throw: bool = True,
) -> PowerLoopSolution:
    r"""Solve the readout-power loop: from $P_{read}$ (dBm) and $T_b$ to $Q_i$, $f_{res}$, $P_{abs}$.

    Fixed point $x=\ln p$, $p=P_{abs}^{qp}/(\kappa V_{strip})$ (module docstring), iterated from
    the absorbed power of the undriven film. Implicit derivatives with respect to every argument and every
    field of `response` and `geometry`.

    **Arguments:**

    - `P_read_dbm`: readout power at the resonator, dBm.
    - `T_bath`: bath temperature, K.
    - `response`: :class:`KineticResponse` or :class:`HeatingResponse` (carries the material).
    - `geometry`: :class:`diffsc.Microstrip` or :class:`diffsc.CPW` (film thickness, strip volume);
      calibrate its permittivity to the model frequency with :func:`diffsc.calibrate_geometry`.
    - `Qc`: coupling quality factor (dimensionless), e.g. ``diffsc.coupling_q(f, Cg)``.
    - `freq`: drive/readout frequency at which $\sigma$ is evaluated, Hz (the paper: 5.57 GHz,
      the modelled resonance).
    - `Qi_extra`: extra internal loss channel $Q_i^*$ (TLS, radiation, ...; Eq. 24), None = no extra loss.
    - `volume_factor`: $\kappa$, absorbing volume in units of the central-strip volume (paper: 2).
    - `Cg`, `Z0`: coupling capacitance (F) and line impedance (Ohm); if `Cg` is given, $f_{res}$
      includes the coupler's pull $f_0=f_{1/2}(1-2f_{1/2}C_gZ_0)$.
    - `rtol`, `max_steps`: fixed-point tolerance (relative, on $p$) and iteration limit.
    - `throw`: raise if the loop (or an inner solve) fails.

    **Returns:** :class:`PowerLoopSolution`.
    """
    P_read = dbm_to_watt(jnp.asarray(P_read_dbm, float))
    T_bath = check_positive(jnp.asarray(T_bath, float), "T_bath", "K")
    Qc = check_positive(jnp.asarray(Qc, float), "Qc")
    inv_extra = (jnp.zeros(()) if Qi_extra is None
                 else 1.0 / check_positive(jnp.asarray(Qi_extra, float), "Qi_extra"))
    volume = volume_factor * geometry.strip_volume()
    freq = check_positive(jnp.asarray(freq, float), "freq", "Hz")
    args = (response, geometry, T_bath, freq, P_read, Qc, inv_extra, volume)
    x, converged, n_steps = _loop_fixed_point(args, rtol=float(rtol), max_steps=int(max_steps))
    converged = converged > 0.5
    st = _state(x, args)
    line = st["line"]
    f_res = line.f_res if Cg is None else coupled_resonance_frequency(line.f_res, Cg, Z0)
    ok = converged & st["ok"]
    if throw:
        f_res = eqx.error_if(f_res, ~ok, "diffsc.power_loop: the power loop did not converge "
                                         "(or an inner kinetic solve failed); use throw=False.")
    return PowerLoopSolution(
        Qi=st["Qi"], Qi_qp=st["Qi_qp"], Qc=Qc, f_res=f_res, f_line=line.f_res,
        alpha_k=line.alpha_k, P_abs=st["P_abs"], P_abs_density=st["p_new"], sigma1=st["s1"],
        sigma2=st["s2"], gap=st["gap"], nqp=st["nqp"], n_steps=n_steps.astype(int),
        result=jnp.where(converged, 0, 1),
        success=ok,
    )



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


def _sweep_residual(params, args):
    model, T, P, qi_data, f_data, rel_sigma_qi, sigma_f, Qc, freq = args
    for name, log_value in params.items():
        model = _set_path(model, name, jnp.exp(log_value))

    def one(t, p):
        s = power_loop(p, t, model.response, model.geometry, Qc=Qc, freq=freq,
                       Qi_extra=model.Qi_extra, throw=False)
        return s.Qi, s.f_res

    qi, fr = jax.vmap(one)(T, P)
    return jnp.concatenate([(qi / qi_data - 1.0) / rel_sigma_qi, (fr - f_data) / sigma_f])


def fit_power_sweep(T_bath, P_read_dbm, Qi, f_res, response, geometry, initial, *, Qc, freq,
                    Qi_extra=1e9, rel_sigma_Qi=0.01, sigma_f=1e3, method="lm", max_steps=50,
                    absolute_sigma=True):
    r"""Fit physical parameters to a table of $Q_i(T_b,P_{read})$ and $f_{res}(T_b,P_{read})$.

    Model: :func:`power_loop` at every point, residuals $(Q_i^{model}/Q_i-1)/\sigma_{rel}$ and
    $(f^{model}-f_{res})/\sigma_f$, minimised with :func:`diffsc.least_squares`; the Jacobian is
    obtained by forward-mode differentiation through the nested fixed points (power loop →
    kinetic steady state → gap), each differentiated implicitly.

    **Arguments:**

    - `T_bath` (K), `P_read_dbm` (dBm), `Qi` (dimensionless), `f_res` (Hz): 1-D arrays of equal
      length, one entry per measured point.
    - `response`, `geometry`: starting model (:class:`KineticResponse` or
      :class:`HeatingResponse`; :class:`diffsc.Microstrip` or :class:`diffsc.CPW`).
    - `initial`: dict ``{path: initial value}`` of the parameters to fit; paths are dotted
      attribute paths into the model ``response``/``geometry``/``Qi_extra``, e.g.
      ``"response.tau_esc"`` (s), ``"response.material.tau0"`` (s),
      ``"geometry.eps_eff"``, ``"geometry.dielectric_thickness"`` (m; sets $\alpha_k$),
      ``"Qi_extra"``. All are fitted in log space (positive), which also balances the scales.
    - `Qc` (dimensionless), `freq` (Hz): as in :func:`power_loop`; `Qi_extra`: its fixed value
      when not fitted.
    - `rel_sigma_Qi` (relative) and `sigma_f` (Hz): measurement uncertainties.
    - `method`, `max_steps`, `absolute_sigma`: passed to :func:`diffsc.least_squares`.

    **Returns:** ``(values, rel_std, fit)``: dicts keyed by the paths with the fitted values and
    their relative 1-sigma uncertainties (= std of the log), and the :class:`diffsc.FitResult`
    in log space.
    """
    from ._fit import least_squares

    model = _Model(response, geometry, jnp.asarray(Qi_extra, float))
    args = (model, jnp.asarray(T_bath, float), jnp.asarray(P_read_dbm, float),
            jnp.asarray(Qi, float), jnp.asarray(f_res, float), rel_sigma_Qi, sigma_f,
            jnp.asarray(Qc, float), jnp.asarray(freq, float))
    params = {k: jnp.log(jnp.asarray(v, float)) for k, v in initial.items()}
    fit = least_squares(_sweep_residual, params, args, method=method, max_steps=max_steps,
                        absolute_sigma=absolute_sigma)
    values = {k: jnp.exp(v) for k, v in fit.params.items()}
    return values, dict(fit.std), fit
