r"""Multiple Andreev reflection (MAR): dc current of a voltage-biased superconducting contact.

Hamiltonian (Green's-function) method of Cuevas, Martín-Rodero & Levy Yeyati, PRB 54, 7366
(1996) [CMLY96], equivalent to the scattering theory of Averin & Bardas, PRL 75, 1831 (1995).

**Model.** Two identical BCS leads (gap $\Delta$, Dynes/inelastic broadening $\eta$) coupled by a
single spin-degenerate channel of normal transmission $\tau$ ($R_N = h/(2e^2\tau)$). Wide-band
surface Green functions (unit inverse surface DOS $W$), energies $\omega_n = \omega + neV$:

$$\hat g^r_n = \frac{1}{W s_n}\begin{pmatrix}-\tilde\omega_n & \Delta\\ \Delta & -\tilde\omega_n
\end{pmatrix},\quad \tilde\omega_n=\omega_n+i\eta,\quad s_n=\sqrt{\Delta^2-\tilde\omega_n^2},$$

hopping $t$ with $x=(t/W)^2 = \tau/(1+\sqrt{1-\tau})^2$ and the phase $2eVt/\hbar$ on the link:
$\hat\Sigma_{Ln,Rm}=t\,[P_e\,\delta_{m,n+1}-P_h\,\delta_{m,n-1}]$. The harmonics of the left lead at even
$n$ and of the right lead at odd $n$ form one chain $j=-N_F..N_F$ (block-tridiagonal, Nambu 2x2 blocks)
that contains the reference site $L0$. Its retarded Green function row $X_m = G^r_{0m}$ is computed in
$O(N_F)$ by forward/backward Schur-complement (continued-fraction) recursion. With
$\hat\Gamma_m=(\hat g^r_m)^{-1}-(\hat g^a_m)^{-1}$ and $Y_m = (\hat g^r_0)^{-1}X_m-\delta_{m0}$ (i.e.
$(\hat\Sigma \hat G^r)_{0m}$), the Keldysh relation $\hat G^{+-}=\hat G^r\,[f\,\hat\Gamma]\,\hat G^a$ gives

$$I_{dc}=\frac{2e}{h}\int d\omega\;\sum_{m=-N_F}^{N_F} f(\omega_m)\,
\mathrm{Re}\,\mathrm{Tr}\big[\hat\tau_3\,Y_m\hat\Gamma_m X_m^\dagger\big]
=\frac{e}{h}\int d\omega\,\mathrm{Tr}\,\hat\tau_3\big[(\hat\Sigma\hat G^{+-})_{L0,L0}
-(\hat\Sigma\hat G^{+-})_{R0,R0}\big].$$

The Nambu trace includes both spins. Checks (tests): $\Delta=0$ gives $I=(2e^2/h)\tau V$; $\tau\to0$
the BCS tunnel current; large $V$ gives $V/R_N + I_{exc}$ with the closed form of
[`mar_excess_current`][diffsc.mar_excess_current].

**Numerics.** The energy integral runs over $|\omega|\le 2eV+c\Delta+40k_BT$ ($c$ = ``window``),
split at every point where the integrand is singular or discontinuous (gap edges
$\omega_m=\pm\Delta$, Fermi steps $\omega_m=0$); each piece uses ``n_nodes`` Gauss–Legendre nodes
after the substitution $\omega=a+(b-a)(1-\cos\pi u)/2$, which removes the inverse-square-root
BCS singularities at both ends. The breakpoints move smoothly with $V$ and $\Delta$, so
``jax.grad``/``jax.jvp`` give $dI/dV$ exactly for the discretised integral. Requirements
(convergence study in the constrictions documentation): $N_F\,eV \gtrsim 2eV + (c+4)\Delta$, i.e.
``n_harmonics`` $\ge 2 + (c+4)\Delta/eV$ (conservative: at $\tau=0.8$, $eV=0.5\Delta$ the
error is 6e-3 at $N_F=6$ and 8e-13 at $N_F=12$); ``n_nodes`` = 12 up to $eV\approx10\Delta$, 48 at $80\Delta$; $\eta\ll\Delta$ (the $I(V)$ error is $O(\eta/\Delta)$
away from the subgap thresholds).
"""

from __future__ import annotations

import functools
import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from .._core._constants import e as _e_charge
from .._core._constants import h as _h_eVs
from .._core._constants import hbar as _hbar_eVs
from .._core._constants import k_B as _k_B
from .._core._constants import resistance_quantum
from .._core._deprecation import REQUIRED, renamed
from .._core._dtypes import as_complex
from .._core._validation import (
    check_broadcast,
    check_finite,
    check_in_range,
    check_nonnegative,
    check_positive,
)

_V_BATCH = 16  # voltages evaluated together (vmap) inside the sequential lax.map


def _check_transmission(transmission):
    """Channel transmissions, in (0, 1]."""
    tau = check_in_range(transmission, "transmission", 0.0, 1.0, msg="must lie in (0, 1]", dtype=float)
    return eqx.error_if(tau, jnp.any(tau <= 0), "diffsc: argument `transmission` must lie in (0, 1].")


def _check_weights(weights, tau):
    """Channel multiplicities (>= 0), broadcastable to the channels of `tau`."""
    w = check_nonnegative(weights, "weights", dtype=float)
    check_broadcast(("transmission", tau), ("weights", w))
    return w


def _static_int(n, name: str, minimum: int) -> int:
    if isinstance(n, bool) or not isinstance(n, int | np.integer):
        raise TypeError(f"diffsc: argument `{name}` must be an integer (static); got {type(n).__name__}.")
    if n < minimum:
        raise ValueError(f"diffsc: argument `{name}` must be >= {minimum}; got {n}.")
    return int(n)


def _static_window(window) -> float:
    if isinstance(window, bool | str | bytes) or window is None:
        raise TypeError(f"diffsc: argument `window` must be a real number; got {window!r}.")
    try:
        value = float(window)
    except (TypeError, ValueError):
        raise TypeError(f"diffsc: argument `window` must be a concrete real number; got {window!r}.") from None
    if not (math.isfinite(value) and value >= 0):
        raise ValueError(f"diffsc: argument `window` must be finite and >= 0; got {value}.")
    return value


def _dagger(a):
    return jnp.conj(jnp.swapaxes(a, -1, -2))


def hopping_from_transmission(transmission):
    r"""Reduced hopping $x=(t/W)^2=\tau/(1+\sqrt{1-\tau})^2$ (inverse of $\tau=4x/(1+x)^2$)."""
    tau = jnp.asarray(transmission)
    return tau / (1.0 + jnp.sqrt(1.0 - tau)) ** 2


def _fermi(w, kT):
    """Fermi function of w (same units as kT); a step at kT = 0."""
    pos = kT > 0
    safe = jnp.where(pos, kT, 1.0)
    return jnp.where(pos, jax.nn.sigmoid(-w / safe), jnp.where(w < 0, 1.0, jnp.where(w > 0, 0.0, 0.5)))


def _integrand(w, v, x, gap, eta, kT, n_harm: int):
    r"""Spectral current density $J(\omega)$ (dimensionless) at one reduced energy ``w``.

    All energies in one unit (any); ``x`` is the reduced hopping. Returns
    $\sum_m f(\omega_m)\,\mathrm{Re\,Tr}[\hat\tau_3 Y_m\hat\Gamma_m X_m^\dagger]$.

    Because every coupling is a rank-1 Nambu projector ($tP_e$ or $-tP_h$), the Schur-complement
    recursion is scalar: with $(\hat g^r_j)^{-1}=\alpha_j+\beta_j\hat\tau_1$
    ($\alpha=\tilde\omega/s$, $\beta=\Delta/s$), the right surface function enters only through
    $\sigma_j=a'_j/d_j$, $a'_j=\alpha_j-x\sigma_{j+1}$, $d_j=a'_j\alpha_j-\beta_j^2$ (same on the
    left), and the row $X_m=\kappa_m\,u_\pm\otimes r_m$ is rank one with
    $|\kappa_m|^2=x\prod_{k<m}x|\beta_k/d_k|^2$, $u_+=G_{00}[:,e]$, $u_-=G_{00}[:,h]$ and
    $r_m=(a'_m,-\beta_m)/d_m$ (incoming, outgoing Nambu index).
    """
    N = n_harm
    js = jnp.arange(-N, N + 1, dtype=jnp.result_type(v))
    wj = as_complex(w + js * v) + 1j * as_complex(eta)
    s = jnp.sqrt(as_complex(gap**2) - wj**2 + 0j)
    al = wj / s
    be = as_complex(gap) / s

    def rec(prev, inp):
        a, b = inp
        ap = a - as_complex(x) * prev
        det = ap * a - b * b
        return ap / det, (ap, det)

    zero = jnp.zeros((), al.dtype)
    _, (apR, detR) = jax.lax.scan(rec, zero, (al[N + 1 :][::-1], be[N + 1 :][::-1]))
    apR, detR = apR[::-1], detR[::-1]  # sites 1..N
    _, (apL, detL) = jax.lax.scan(rec, zero, (al[:N], be[:N]))
    apL, detL = apL[::-1], detL[::-1]  # sites -1..-N
    a0, b0 = al[N], be[N]
    m11 = a0 - as_complex(x) * apR[0] / detR[0]
    m22 = a0 - as_complex(x) * apL[0] / detL[0]
    dd = m11 * m22 - b0 * b0
    G = jnp.stack([jnp.stack([m22, -b0]), jnp.stack([-b0, m11])]) / dd
    D0 = jnp.stack([jnp.stack([a0, b0]), jnp.stack([b0, a0])])

    def side(ap, det, a, b, u):
        ratio = x * jnp.abs(b / det) ** 2
        k2 = x * jnp.concatenate([jnp.ones(1), jnp.cumprod(ratio)[:-1]])
        rgr = (2j / as_complex(jnp.abs(det) ** 2)) * as_complex(
            jnp.imag(a) * (jnp.abs(ap) ** 2 + jnp.abs(b) ** 2)
            - 2.0 * jnp.imag(b) * jnp.real(ap * jnp.conj(b))
        )
        U = (a0 * as_complex(jnp.abs(u[0]) ** 2 - jnp.abs(u[1]) ** 2)
             + 2j * b0 * as_complex(jnp.imag(jnp.conj(u[0]) * u[1])))
        return jnp.real(as_complex(k2) * rgr * U)

    t_right = side(apR, detR, al[N + 1 :], be[N + 1 :], G[:, 0])
    t_left = side(apL, detL, al[:N][::-1], be[:N][::-1], G[:, 1])
    A0 = (D0 @ G - jnp.eye(2, dtype=D0.dtype)) @ (D0 - _dagger(D0)) @ _dagger(G)
    t_zero = jnp.real(A0[0, 0] - A0[1, 1])
    f = _fermi(jnp.real(wj), kT)
    return f[N] * t_zero + jnp.sum(f[N + 1 :] * t_right) + jnp.sum(f[:N][::-1] * t_left)


def _nodes(n_nodes: int):
    u, wu = np.polynomial.legendre.leggauss(n_nodes)
    return 0.5 * (u + 1.0), 0.5 * wu


def _breakpoints(v, gap, kT, window, n_harm: int):
    """Sorted breakpoints of the energy integral (reduced units), clipped to the window."""
    m = jnp.arange(-n_harm, n_harm + 1, dtype=float)
    edge = 2.0 * v + window * gap + 40.0 * kT
    pts = jnp.concatenate([gap - m * v, -gap - m * v, -m * v, jnp.stack([-edge, edge])])
    return jnp.sort(jnp.clip(pts, -edge, edge))


def _current_one(v, x, gap, eta, kT, *, n_harm, n_nodes, window):
    """Reduced dc current (2/h prefactor excluded): integral of J over omega (reduced units)."""
    bp = _breakpoints(v, gap, kT, window, n_harm)
    a, b = bp[:-1], bp[1:]
    u, wu = _nodes(n_nodes)
    c = 0.5 * (1.0 - jnp.cos(jnp.pi * u))
    dc = 0.5 * jnp.pi * jnp.sin(jnp.pi * u)
    w = a[:, None] + (b - a)[:, None] * c[None, :]
    wt = (b - a)[:, None] * (dc * wu)[None, :]
    J = jax.vmap(jax.vmap(lambda ww: _integrand(ww, v, x, gap, eta, kT, n_harm)))(w)
    return jnp.sum(wt * J)


@functools.partial(jax.jit, static_argnames=("n_harmonics", "n_nodes"))
def _mar_current_impl(V, transmission, weights, gap, T, dynes, window, *, n_harmonics, n_nodes):
    shape = jnp.broadcast_shapes(jnp.shape(V), jnp.shape(gap), jnp.shape(T), jnp.shape(dynes))
    Vflat, gflat, Tflat, dflat = (jnp.ravel(jnp.broadcast_to(a, shape)) for a in (V, gap, T, dynes))
    taus = jnp.atleast_1d(transmission)
    x = hopping_from_transmission(taus)

    def one_v(Vi, gi, Ti, di):
        sgn = jnp.sign(Vi)
        ev = jnp.abs(Vi)  # |eV| in eV
        nonzero = ev > 0
        ev_safe = jnp.where(nonzero, ev, 1.0)
        unit = gi + ev_safe  # reduced energy unit (eV)
        v, g, eta, kT = ev_safe / unit, gi / unit, di / unit, _k_B * Ti / unit
        per = jax.vmap(
            lambda xi: _current_one(v, xi, g, eta, kT, n_harm=n_harmonics, n_nodes=n_nodes,
                                    window=window)
        )(x)
        total = jnp.sum(weights * per) * unit  # integral in eV
        return jnp.where(nonzero, sgn * 2.0 * _e_charge / _h_eVs * total, 0.0)

    # voltages in batches: bounded memory (energies x harmonics x channels per batch)
    out = jax.lax.map(lambda a: one_v(*a), (Vflat, gflat, Tflat, dflat), batch_size=_V_BATCH)
    return out.reshape(shape)


def mar_current(V, transmission, gap, T=0.0, *, weights=None, dynes=None, n_harmonics: int = 24,
                n_nodes: int = 12, window: float = 6.0):
    r"""DC current of a superconducting contact with channels $\{\tau_i\}$ by multiple Andreev reflection.

    $$I(V)=\sum_i w_i\,I_1(V;\tau_i),\qquad I_1=\frac{2e}{h}\int d\omega\sum_m f(\omega_m)\,
    \mathrm{Re\,Tr}[\hat\tau_3 (\hat\Sigma\hat G^r)_{0m}\hat\Gamma_m \hat G^a_{m0}]$$
    (module docstring: Hamiltonian method of Cuevas et al. 1996). Normal resistance
    $R_N = h/(2e^2\sum_i\tau_i)$. $I(-V)=-I(V)$; $I(0)$ is returned as 0 (the supercurrent branch is
    not a dc-biased state).

    **Arguments:**

    - `V`: bias voltage(s), V (any shape; the result has the same shape).
    - `transmission`: channel transmission(s) $\tau_i\in(0,1]$ (scalar or 1-D; summed).
    - `weights`: number of channels $w_i$ with transmission $\tau_i$ (default 1 each; e.g. a
      binned distribution of thousands of channels); then $R_N=h/(2e^2\sum_iw_i\tau_i)$.
    - `gap`: $\Delta$ of both leads, eV ($\ge 0$; 0 gives Ohm's law). Scalar, or an array
      broadcastable with `V` (e.g. a self-heated $\Delta(T(V))$).
    - `T`: temperature, K ($\ge 0$); scalar or broadcastable with `V`.
    - `dynes`: broadening $\eta$ (Dynes/inelastic), eV; default $10^{-3}\Delta$ (or $10^{-6}$ eV at
      $\Delta=0$).
    - `n_harmonics`: Floquet harmonics $N_F$ kept (static); need $N_F\ge2+(\mathrm{window}+4)\Delta/eV$.
    - `n_nodes`: Gauss nodes per energy segment (static).
    - `window`: the energy window is $|\omega|\le 2eV+\mathrm{window}\cdot\Delta+40k_BT$.

    **Returns:** current in A, shape of `V` (broadcast with `gap`, `T`, `dynes`).

    Differentiable in `V`, `transmission` (for $\tau<1$), `gap`, `T`, `dynes`;
    ``jax.jvp``/``jax.grad`` with respect to `V` gives $dI/dV$.
    """
    V = check_finite(V, "V", "V", dtype=float)
    transmission = _check_transmission(transmission)
    if jnp.ndim(transmission) > 1:
        raise ValueError("diffsc: argument `transmission` must be a scalar or 1-D array of channels.")
    gap = check_nonnegative(gap, "gap", "eV", dtype=float)
    T = check_nonnegative(T, "T", "K", dtype=float)
    if dynes is None:
        dynes = jnp.maximum(1e-3 * gap, 1e-9)
    else:
        dynes = check_positive(dynes, "dynes", "eV", dtype=float)
    check_broadcast(("V", V), ("gap", gap), ("T", T), ("dynes", dynes))
    channels = jnp.shape(jnp.atleast_1d(transmission))
    if weights is None:
        w = jnp.ones(channels, transmission.dtype)
    else:
        w = _check_weights(weights, jnp.atleast_1d(transmission))
        if jnp.broadcast_shapes(jnp.shape(w), channels) != channels:
            raise ValueError(
                f"diffsc: argument `weights` (shape {jnp.shape(w)}) must be a scalar or one weight "
                f"per channel of `transmission` (shape {channels})."
            )
        w = jnp.broadcast_to(w, channels)
    n_harmonics = _static_int(n_harmonics, "n_harmonics", 2)
    n_nodes = _static_int(n_nodes, "n_nodes", 1)
    window = _static_window(window)
    return _mar_current_impl(V, transmission, w, gap, T, dynes, window,
                             n_harmonics=n_harmonics, n_nodes=n_nodes)


def mar_differential_conductance(V, transmission, gap, T=0.0, **kwargs):
    r"""$dI/dV$ in S by forward-mode differentiation of [`mar_current`][diffsc.mar_current] (no finite differences).

    Same arguments (and ranges) as [`mar_current`][diffsc.mar_current]; returns an array of the shape of `V`.
    """
    V = check_finite(V, "V", "V", dtype=float)
    _, dIdV = jax.jvp(lambda v: mar_current(v, transmission, gap, T, **kwargs), (V,),
                      (jnp.ones_like(V),))
    return dIdV


def normal_resistance(transmission, weights=None):
    r"""Landauer resistance $R_N = \frac{h}{2e^2}\big/\sum_iw_i\tau_i$, Ohm.

    `transmission` $\tau_i\in(0,1]$; `weights` $w_i\ge0$ (channel multiplicities, default 1 each,
    broadcastable with `transmission`, not all zero).
    """
    tau = _check_transmission(transmission)
    if weights is None:
        return resistance_quantum / jnp.sum(tau)
    w = _check_weights(weights, tau)
    total = jnp.sum(w * tau)
    total = eqx.error_if(total, total <= 0, "diffsc: argument `weights` must not all be zero.")
    return resistance_quantum / total


LORENZ_NUMBER = (math.pi**2 / 3.0) * _k_B**2
r"""Sommerfeld value of the Lorenz number $L_0=\pi^2k_B^2/3e^2$, V^2/K^2 (2.44e-8)."""


def self_heating_temperature(V, T_bath, heating=1.0):
    r"""Local temperature (K) of a current-heated contact, $T^2=T_b^2+\beta\,V^2/(4L_0)$.

    Kohlrausch/Holm relation for a diffusive contact cooled through its banks by electronic heat
    conduction (Wiedemann–Franz), $\beta=1$; a ballistic contact dissipates in the banks and has
    $\beta\ll1$. `V` in V, `T_bath` in K, `heating` $\beta$ dimensionless (a model parameter:
    the seed's long necks are heated, the short, wide-angle ones are not). `V` finite, `T_bath`
    >= 0, `heating` >= 0; all broadcast together.
    """
    V = check_finite(V, "V", "V", dtype=float)
    Tb = check_nonnegative(T_bath, "T_bath", "K", dtype=float)
    beta = check_nonnegative(heating, "heating", dtype=float)
    check_broadcast(("V", V), ("T_bath", Tb), ("heating", beta))
    return jnp.sqrt(Tb**2 + beta * V**2 / (4.0 * LORENZ_NUMBER))


def mar_current_heated(V, transmission, material, T_bath, *, heating=1.0, **kwargs):
    r"""MAR current (A) with self-heating: $I=\sum_iw_iI_1(V;\tau_i,\Delta(T_{loc}),T_{loc})$.

    $T_{loc}(V)$ from [`self_heating_temperature`][diffsc.self_heating_temperature]; $\Delta(T_{loc})$ from the BCS gap of
    `material` (``diffsc.gap``, implicit derivative), so the $n=1$ feature moves to
    $eV_1=2\Delta(T_{loc}(V_1))<2\cdot eV_2$ — the seed's local thermometer. Other keyword
    arguments as [`mar_current`][diffsc.mar_current]; `V` in V (finite), `transmission` in (0, 1], `T_bath` in K
    (>= 0), `heating` >= 0.
    """
    from .._superconductor._bcs import gap as bcs_gap

    T_loc = self_heating_temperature(V, T_bath, heating)
    return mar_current(V, transmission, bcs_gap(T_loc, material), T_loc, **kwargs)


def mar_excess_current(transmission, gap):
    r"""Excess current at $T=0$, $eV\gg\Delta$, summed over channels, A.

    $$I_{exc}=\frac{e\Delta}{\pi\hbar}\frac{\tau^2}{1-\tau}\Big[1-\frac{\tau^2}{2(2-\tau)\sqrt{1-\tau}}
    \ln\frac{1+\sqrt{1-\tau}}{1-\sqrt{1-\tau}}\Big]$$
    (twice the BTK excess current at $Z^2=1/\tau-1$), which tends to $\frac{8}{3}\frac{\Delta}{eR_N}$ at
    $\tau=1$. `transmission` in (0, 1] (scalar or 1-D), `gap` in eV (>= 0; 0 gives no excess
    current), broadcastable with `transmission`.
    """
    tau = _check_transmission(transmission)
    gap = check_nonnegative(gap, "gap", "eV", dtype=float)
    check_broadcast(("transmission", tau), ("gap", gap))
    one_minus = jnp.clip(1.0 - tau, 0.0, None)
    near1 = one_minus < 1e-8
    r = jnp.sqrt(jnp.where(near1, 0.25, one_minus))
    exact = tau**2 / r**2 * (1.0 - tau**2 / (2.0 * (2.0 - tau) * r) * jnp.log((1 + r) / (1 - r)))
    series = 8.0 / 3.0 - 128.0 / 15.0 * one_minus  # expansion in 1 - tau, error O((1 - tau)^2)
    val = jnp.where(near1, series, exact)
    # e Delta / (pi hbar) in A: Delta [eV] * e / (pi hbar[eV s])
    pref = gap * _e_charge / (jnp.pi * _hbar_eVs)
    return jnp.sum(pref * val)


class _MarResidual(eqx.Module):
    r"""Weighted MAR residuals $(I(V_k)-I_k)/\sigma_k$; the static options are fields, the data
    travel in ``args``. A module-level, hashable callable: a second fit with the same options
    reuses the compiled program of the first (a closure built per call would not)."""

    fit_gap: bool = eqx.field(static=True)
    n_harmonics: int = eqx.field(static=True)
    n_nodes: int = eqx.field(static=True)
    window: float = eqx.field(static=True)

    def __call__(self, p, args):
        V_, data_, sigma_, gap_guess, T, weights, dynes = args
        g = p["gap"] if self.fit_gap else gap_guess
        model = mar_current(V_, p["transmission"], g, T, weights=weights, dynes=dynes,
                            n_harmonics=self.n_harmonics, n_nodes=self.n_nodes,
                            window=self.window)
        return ((model - data_) / sigma_).ravel()


def fit_mar(V, current, sigma, transmission_guess=REQUIRED, gap_guess=REQUIRED, T=0.0, *,
            fit_gap=True, method="lm", max_steps=64, rtol=1e-7, atol=1e-7, weights=None,
            dynes=None, n_harmonics: int = 24, n_nodes: int = 12, window: float = 6.0,
            throw: bool = False, transmission0=None, gap0=None):
    r"""Recover the gap and the channel transmissions ("PIN code") from a measured $I(V)$.

    Least squares on $r_k=(I(V_k;\{\tau_i\},\Delta)-I_k)/\sigma_k$ with [`mar_current`][diffsc.mar_current] as the
    model, through [`least_squares`][diffsc.least_squares] (Jacobian by forward-mode AD; ``method="adam"``
    or ``"lbfgs"`` use optax). Transmissions are kept in (0, 1) by a logistic transform, the gap
    positive by a log transform. Pass `max_steps`, `rtol`, `atol` (optimiser tolerances) and the
    [`mar_current`][diffsc.mar_current] options
    (`n_harmonics`, `n_nodes`, `dynes`, `weights`, `window`) for the voltage range of the data.

    **Arguments:** `V` (V) and `current` (A) arrays of one shape, `sigma` (A, the noise
    level, scalar or array), `transmission_guess` (starting $\{\tau_i\}$, 1-D), `gap_guess`
    (starting $\Delta$, eV; the fixed $\Delta$ with ``fit_gap=False``), `T` (K), `fit_gap` (fit
    $\Delta$ too), `throw` (raise, also under ``jit``, if the optimiser fails; default False: read
    ``result``/``success``). `transmission0` and `gap0` are the deprecated old names of
    `transmission_guess` and `gap_guess` (``gap0`` means the zero-temperature gap elsewhere).

    **Returns:** a ``FitResult`` with ``params = {"transmission": ..., "gap": ...}`` (gap only if
    fitted) and their standard errors in ``std``; ``result`` is a [`RESULTS`][diffsc.RESULTS] code.
    Channels are interchangeable: sort before comparing.

    The model is compiled once per set of static options (`fit_gap`, `n_harmonics`, `n_nodes`,
    `window`, `method`, `max_steps`, ...) and array shapes: a second fit of data of the same shape
    reuses it.
    """
    from .._fit import least_squares

    transmission_guess = renamed("fit_mar", "transmission0", "transmission_guess", transmission0,
                                 transmission_guess, REQUIRED)
    gap_guess = renamed("fit_mar", "gap0", "gap_guess", gap0, gap_guess, REQUIRED)
    V = jnp.asarray(V, dtype=float)
    data = jnp.asarray(current, dtype=float)
    sigma = jnp.asarray(sigma, dtype=float)
    params = {"transmission": jnp.asarray(transmission_guess, dtype=float)}
    transforms = {"transmission": ("bounded", 0.0, 1.0)}
    if fit_gap:
        params["gap"] = jnp.asarray(gap_guess, dtype=float)
        transforms["gap"] = "positive"
    residual = _MarResidual(fit_gap=bool(fit_gap), n_harmonics=_static_int(n_harmonics, "n_harmonics", 2),
                            n_nodes=_static_int(n_nodes, "n_nodes", 1), window=_static_window(window))
    args = (V, data, sigma, jnp.asarray(gap_guess, dtype=float), jnp.asarray(T, dtype=float),
            None if weights is None else jnp.asarray(weights, dtype=float),
            None if dynes is None else jnp.asarray(dynes, dtype=float))
    return least_squares(residual, params, args, transforms=transforms, method=method,
                         max_steps=max_steps, rtol=rtol, atol=atol, throw=throw)
