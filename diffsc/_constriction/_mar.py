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

**Cost.** One energy costs $O(N)$ real operations per channel (scalar recursion, complex numbers
as real pairs, site functions shared by the channels). Two things make the work follow the
voltage: only the segments inside the window are evaluated (most of the $3(2N_F+1)+1$ of the
breakpoint grid lie outside it at $eV\gtrsim\Delta$), and with ``adaptive_harmonics`` each voltage
gets the chain $\min(N_F,\max(N_V,\lceil7+5\Delta/eV\rceil))$ with the requirement above,
$N_V=\lceil2+((c+4)\Delta+40k_BT)/eV\rceil$ (truncation error below 1e-14 relative). Shapes stay static: the (voltage, segment) pairs of a call
are sorted by chain length and evaluated in chunks (`_current_reduced`).
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
from .._core._validation import (
    check_broadcast,
    check_finite,
    check_in_range,
    check_nonnegative,
    check_positive,
)


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


def hopping_from_transmission(transmission):
    r"""Reduced hopping $x=(t/W)^2=\tau/(1+\sqrt{1-\tau})^2$ (inverse of $\tau=4x/(1+x)^2$)."""
    tau = jnp.asarray(transmission)
    return tau / (1.0 + jnp.sqrt(1.0 - tau)) ** 2


def _fermi(w, kT):
    """Fermi function of w (same units as kT); a step at kT = 0."""
    pos = kT > 0
    safe = jnp.where(pos, kT, 1.0)
    return jnp.where(pos, jax.nn.sigmoid(-w / safe), jnp.where(w < 0, 1.0, jnp.where(w > 0, 0.0, 0.5)))


# The kernel works on complex numbers as (real, imaginary) pairs of real arrays: XLA's complex
# division and square root guard against overflow and cost several times the plain formulas, and
# every quantity here is O(1) in the reduced units (energies over Delta + eV).


def _principal_sqrt(re, im):
    """Principal square root of re + i im (real part >= 0) as a pair, without cancellation."""
    r = jnp.sqrt(re * re + im * im)
    t = jnp.sqrt(0.5 * (r + jnp.abs(re)))
    other = 0.5 * im / jnp.where(t > 0, t, 1.0)
    pos = re >= 0
    return jnp.where(pos, t, jnp.abs(other)), jnp.where(pos, other, jnp.where(im < 0, -t, t))


def _site_inverse(w, gap, eta):
    r"""$(\hat g^r)^{-1}=\alpha+\beta\hat\tau_1$ at energy ``w``: $\alpha=\tilde\omega/s$, $\beta=\Delta/s$,
    $s=\sqrt{\Delta^2-\tilde\omega^2}$, $\tilde\omega=w+i\eta$; returns the pairs of $\alpha$ and $\beta$."""
    sr, si = _principal_sqrt(gap * gap - w * w + eta * eta, -2.0 * w * eta)
    inv = 1.0 / (sr * sr + si * si)
    cr, ci = sr * inv, -si * inv  # 1/s
    return (w * cr - eta * ci, w * ci + eta * cr), (gap * cr, gap * ci)


def _chain_side(w, v, x, gap, eta, kT, n_harm: int, sign: int, length=None):
    r"""Surface function $\sigma_{\pm1}$ and weighted outgoing current of one side of the chain.

    Runs inward over the sites $j=\pm N..\pm1$ (energies $w+jv$) with the scalar Schur recursion
    $a'_j=\alpha_j-x\sigma_{j\pm1}$, $d_j=a'_j\alpha_j-\beta_j^2$, $\sigma_j=a'_j/d_j$, and accumulates by
    Horner's rule $H=\sum_m f_m c_m\prod_{k<m}r_k$ with $c_m=q_m/|d_m|^2$, $r_k=x|\beta_k|^2/|d_k|^2$ and
    $q_m=\mathrm{Im}\,\alpha_m(|a'_m|^2+|\beta_m|^2)-2\,\mathrm{Im}\,\beta_m\,\mathrm{Re}(a'_m\beta_m^*)$
    (so that $\sum_mf_m\mathrm{Re\,Tr}[\dots]=-2x\,\mathrm{Im}\,U\,H$). O(1) memory per energy.

    ``length`` (optional, integer array broadcastable with ``w``, each <= ``n_harm``): the chain of
    each energy ends at site ``length`` instead (the sites beyond it leave the state at zero);
    sites beyond the longest of them are skipped (`lax.cond`), so they cost nothing.
    """
    dtype = jnp.result_type(w, v, x, gap, eta, kT)
    zero = jnp.zeros(jnp.broadcast_shapes(jnp.shape(w), jnp.shape(v), jnp.shape(x), jnp.shape(gap),
                                          jnp.shape(eta), jnp.shape(kT)), dtype)
    if length is not None:
        length = jnp.asarray(length).astype(dtype)  # compared with the (real) site index
        longest = jnp.max(length)

    def step(carry, k):
        sr, si, H = carry
        wj = w + (sign * k) * v
        (ar, ai), (br, bi) = _site_inverse(wj, gap, eta)
        apr, api = ar - x * sr, ai - x * si
        dr = apr * ar - api * ai - (br * br - bi * bi)
        di = apr * ai + api * ar - 2.0 * br * bi
        inv = 1.0 / (dr * dr + di * di)
        be2 = br * br + bi * bi
        q = ai * (apr * apr + api * api + be2) - 2.0 * bi * (apr * br + api * bi)
        H = (_fermi(wj, kT) * q + x * be2 * H) * inv
        return (apr * dr + api * di) * inv, (api * dr - apr * di) * inv, H

    def truncated_step(carry, k):
        inside = k <= length
        return tuple(jnp.where(inside, new, old) for new, old in zip(step(carry, k), carry, strict=True))

    def body(carry, k):
        if length is None:
            return step(carry, k), None
        return jax.lax.cond(k <= longest, truncated_step, lambda c, _: c, carry, k), None

    sites = jnp.arange(n_harm, 0, -1, dtype=dtype)
    (sr, si, H), _ = jax.lax.scan(body, (zero, zero, zero), sites)
    return sr, si, H


def _spectral_current(w, v, x, gap, eta, kT, n_harm: int, length=None):
    r"""Spectral current density $J(\omega)$ (dimensionless) at reduced energies ``w``.

    All energies in one unit (any); ``x`` is the reduced hopping; the arguments broadcast together
    (same rank). Returns $\sum_m f(\omega_m)\,\mathrm{Re\,Tr}[\hat\tau_3 Y_m\hat\Gamma_m X_m^\dagger]$
    over the chain $m=-N..N$ (``N`` = ``n_harm``, or ``length`` per energy: see `_chain_side`).

    Because every coupling is a rank-1 Nambu projector ($tP_e$ or $-tP_h$), the Schur-complement
    recursion is scalar (`_chain_side`): with $(\hat g^r_j)^{-1}=\alpha_j+\beta_j\hat\tau_1$, the
    outer sites enter the reference site only through $\sigma_{\pm1}$, so
    $\hat G_{00}=M^{-1}$ with $M=\begin{pmatrix}\alpha_0-x\sigma_1&\beta_0\\\beta_0&\alpha_0-x\sigma_{-1}
    \end{pmatrix}$, and the row $X_m=\kappa_m\,u_\pm\otimes r_m$ is rank one with
    $|\kappa_m|^2=x\prod_{k<m}x|\beta_k/d_k|^2$ and $u_+=G_{00}[:,e]$, $u_-=G_{00}[:,h]$. Closed forms
    of the 2x2 algebra (with $\hat D_0\hat G_{00}-1=\mathrm{diag}(x\sigma_1,x\sigma_{-1})\hat G_{00}$):
    $m=0$ term $-2x[\mathrm{Im}\,\sigma_1 h_{00}-\mathrm{Im}\,\sigma_{-1}h_{11}]$ with
    $h=\hat G_{00}\,\mathrm{Im}\hat D_0\,\hat G_{00}^\dagger$; sides $-2x\,\mathrm{Im}\,U_\pm H_\pm$ with
    $U=\alpha_0(|u_e|^2-|u_h|^2)+2i\beta_0\,\mathrm{Im}(u_e^*u_h)$ of the column $u=u_\pm$.
    """
    srR, siR, HR = _chain_side(w, v, x, gap, eta, kT, n_harm, 1, length)
    srL, siL, HL = _chain_side(w, v, x, gap, eta, kT, n_harm, -1, length)
    (ar, ai), (br, bi) = _site_inverse(w, gap, eta)
    m11r, m11i = ar - x * srR, ai - x * siR  # M[0,0] = alpha_0 - x sigma_1
    m22r, m22i = ar - x * srL, ai - x * siL  # M[1,1] = alpha_0 - x sigma_-1
    ddr = m11r * m22r - m11i * m22i - (br * br - bi * bi)
    ddi = m11r * m22i + m11i * m22r - 2.0 * br * bi
    P = 1.0 / (ddr * ddr + ddi * ddi)  # |det M|^-2; G00 = (m22, -b0; -b0, m11) / det M
    be2, m11_2, m22_2 = br * br + bi * bi, m11r * m11r + m11i * m11i, m22r * m22r + m22i * m22i
    h00 = P * (ai * (m22_2 + be2) - 2.0 * bi * (m22r * br + m22i * bi))
    h11 = P * (ai * (be2 + m11_2) - 2.0 * bi * (br * m11r + bi * m11i))
    imU_right = P * (ai * (m22_2 - be2) - 2.0 * br * (m22r * bi - m22i * br))
    imU_left = P * (ai * (be2 - m11_2) - 2.0 * br * (br * m11i - bi * m11r))
    t_zero = -2.0 * x * (siR * h00 - siL * h11)
    t_sides = -2.0 * x * (imU_right * HR + imU_left * HL)
    return _fermi(w, kT) * t_zero + t_sides


def _integrand(w, v, x, gap, eta, kT, n_harm: int):
    r"""Spectral current density $J(\omega)$ at one reduced energy ``w`` (scalar arguments); see
    `_spectral_current`."""
    return _spectral_current(w, v, x, gap, eta, kT, n_harm)


def _nodes(n_nodes: int):
    u, wu = np.polynomial.legendre.leggauss(n_nodes)
    return 0.5 * (u + 1.0), 0.5 * wu


def _breakpoints(v, gap, kT, window, n_harm: int):
    """Sorted breakpoints of the energy integral (reduced units), clipped to the window."""
    m = jnp.arange(-n_harm, n_harm + 1, dtype=float)
    edge = 2.0 * v + window * gap + 40.0 * kT
    pts = jnp.concatenate([gap - m * v, -gap - m * v, -m * v, jnp.stack([-edge, edge])])
    return jnp.sort(jnp.clip(pts, -edge, edge))


_CHUNK_ELEMENTS = 2**15  # energies x channels evaluated together (bounded memory)


def _harmonics_needed(v, gap, kT, window):
    r"""Chain length $N$ (harmonics on each side) that a voltage needs, reduced units.

    $N=\max(N_V,\lceil7+5\Delta/eV\rceil)$ with the documented requirement
    $N_V=\lceil2+((\mathrm{window}+4)\Delta+40k_BT)/eV\rceil$ (the chain reaches $4\Delta$ beyond the
    far edge of the energy window from every energy in it). $N_V$ alone is not enough at high
    voltage, where it drops to 3 (error 3e-7 at $eV=10\Delta$, $\tau=0.95$), nor for a small window
    (error 4e-12 at $eV=1.4\Delta$ with window 4); with the second term the relative truncation
    error is below 1e-14 for $eV\ge0.25\Delta$, $\tau\le1$ (convergence study in the constrictions
    documentation: $N$ = 20, 14, 10, 8, 6 suffice at $eV/\Delta$ = 0.25, 0.5, 1.4, 2, 10).
    """
    n_window = 2.0 + ((window + 4.0) * gap + 40.0 * kT) / v
    return jnp.ceil(jnp.maximum(n_window, 7.0 + 5.0 * gap / v))


def _segment_integrals(a, b, v, gap, eta, kT, length, x, weights, *, n_harm, n_nodes):
    r"""$\sum_i w_i\int_a^b J(\omega;x_i)\,d\omega$ for a batch of segments (shape (G,)), reduced units.

    ``v, gap, eta, kT`` and the chain ``length`` are per segment (G,); ``x``, ``weights`` per channel
    (C,). Gauss–Legendre after $\omega=a+(b-a)(1-\cos\pi u)/2$ (removes the $1/\sqrt{}$ gap-edge
    singularities).
    """
    u, wu = _nodes(n_nodes)
    c = 0.5 * (1.0 - np.cos(np.pi * u))
    dcw = 0.5 * np.pi * np.sin(np.pi * u) * wu
    w = a[:, None] + (b - a)[:, None] * c[None, :]  # (G, nodes)
    wt = (b - a)[:, None] * dcw[None, :]
    per_segment = (lambda p: p[:, None, None])
    J = _spectral_current(w[:, :, None], per_segment(v), x[None, None, :], per_segment(gap),
                          per_segment(eta), per_segment(kT), n_harm, per_segment(length))  # (G, nodes, C)
    return jnp.einsum("gn,gnc,c->g", wt, J, weights)


def _current_reduced(v, gap, eta, kT, x, weights, window, *, n_harmonics, n_nodes, adaptive):
    r"""$\sum_iw_i\int J\,d\omega$ for every voltage (reduced units; shape (n,) like ``v``).

    The integral of each voltage is a sum over the segments between its breakpoints; the segments
    outside the window (zero length after clipping) are most of them at high voltage, and the
    chain length each voltage needs falls like $1/eV$. So all (voltage, segment) pairs are sorted by
    (chain length, zero length last) and evaluated in chunks of static size: each segment gets the
    chain length of its voltage, and a chunk runs only as many sites as its longest chain
    (`_chain_side`); a chunk of zero-length segments only is skipped (`lax.cond`). Shapes stay
    static; the work done follows the voltages; each voltage's result is independent of the others.
    """
    n = v.shape[0]
    if adaptive:
        length = jnp.minimum(_harmonics_needed(v, gap, kT, window), n_harmonics).astype(jnp.int32)
    else:
        length = jnp.full(n, n_harmonics, jnp.int32)
    bp = jax.vmap(lambda vi, gi, ki: _breakpoints(vi, gi, ki, window, n_harmonics))(v, gap, kT)
    a, b = bp[:, :-1], bp[:, 1:]
    n_seg = a.shape[1]
    skip = n_harmonics + 1  # key of a segment of zero length: sorted last
    key = jnp.where(b > a, length[:, None], skip).ravel()
    order = jnp.argsort(key, stable=True)
    owner = order // n_seg  # voltage of each sorted segment
    key, a, b = key[order], a.ravel()[order], b.ravel()[order]
    n_items = n * n_seg
    chunk = max(1, min(n_items, _CHUNK_ELEMENTS // (n_nodes * x.shape[0])))
    pad = -n_items % chunk
    key = jnp.concatenate([key, jnp.full(pad, skip, key.dtype)])
    a, b = (jnp.concatenate([z, jnp.zeros(pad, z.dtype)]) for z in (a, b))
    owner_p = jnp.concatenate([owner, jnp.zeros(pad, owner.dtype)])

    def integrate(k, a_c, b_c, o_c):
        p = [z[o_c] for z in (v, gap, eta, kT)]
        chain = jnp.where(k < skip, k, 0)  # zero-length segments add nothing: no chain for them
        return _segment_integrals(a_c, b_c, *p, chain, x, weights, n_harm=n_harmonics, n_nodes=n_nodes)

    # checkpoint: reverse mode keeps one chunk's residuals at a time, not all of them
    @jax.checkpoint
    def one_chunk(args):
        k, a_c, b_c, o_c = args
        return jax.lax.cond(k[0] < skip, integrate, lambda k, a_c, b_c, o_c: jnp.zeros(a_c.shape, a_c.dtype),
                            k, a_c, b_c, o_c)  # sorted: a chunk with a segment of nonzero length has one first

    shaped = (z.reshape(-1, chunk) for z in (key, a, b, owner_p))
    parts = jax.lax.map(one_chunk, tuple(shaped)).ravel()[:n_items]
    return jnp.zeros(n, parts.dtype).at[owner].add(parts)


@functools.partial(jax.jit, static_argnames=("n_harmonics", "n_nodes", "adaptive"))
def _mar_current_impl(V, transmission, weights, gap, T, dynes, window, *, n_harmonics, n_nodes,
                      adaptive=True):
    shape = jnp.broadcast_shapes(jnp.shape(V), jnp.shape(gap), jnp.shape(T), jnp.shape(dynes))
    Vflat, gflat, Tflat, dflat = (jnp.ravel(jnp.broadcast_to(a, shape)) for a in (V, gap, T, dynes))
    x = hopping_from_transmission(jnp.atleast_1d(transmission))
    sgn = jnp.sign(Vflat)
    ev = jnp.abs(Vflat)  # |eV| in eV
    nonzero = ev > 0
    ev_safe = jnp.where(nonzero, ev, 1.0)
    unit = gflat + ev_safe  # reduced energy unit (eV)
    reduced = _current_reduced(ev_safe / unit, gflat / unit, dflat / unit, _k_B * Tflat / unit, x,
                               jnp.broadcast_to(weights, x.shape), window, n_harmonics=n_harmonics,
                               n_nodes=n_nodes, adaptive=adaptive)
    out = jnp.where(nonzero, sgn * 2.0 * _e_charge / _h_eVs * reduced * unit, 0.0)  # integral in eV
    return out.reshape(shape)


def mar_current(V, transmission, gap, T=0.0, *, weights=None, dynes=None, n_harmonics: int = 24,
                n_nodes: int = 12, window: float = 6.0, adaptive_harmonics: bool = True):
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
    - `n_harmonics`: Floquet harmonics $N_F$ kept at most (static); need
      $N_F\ge N_V=\lceil2+((\mathrm{window}+4)\Delta+40k_BT)/eV\rceil$ at the lowest $|eV|$.
    - `adaptive_harmonics`: cut the chain at each voltage to $\min(N_F,\max(8,N_V))$ harmonics
      (default True; truncation error $\lesssim10^{-14}$ relative, as with $N_F$ everywhere); False
      keeps $N_F$ at every voltage (static).
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
    if not isinstance(adaptive_harmonics, bool | np.bool_):
        raise TypeError(f"diffsc: argument `adaptive_harmonics` must be a bool (static); got "
                        f"{type(adaptive_harmonics).__name__}.")
    return _mar_current_impl(V, transmission, w, gap, T, dynes, window, n_harmonics=n_harmonics,
                             n_nodes=n_nodes, adaptive=bool(adaptive_harmonics))


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
    T2 = Tb**2 + beta * V**2 / (4.0 * LORENZ_NUMBER)
    # T = 0 (no bath temperature, no heating) has derivative 0; sqrt's derivative there is
    # infinite and made every dI/dV NaN. The inner where keeps the unused branch finite.
    hot = T2 > 0
    return jnp.where(hot, jnp.sqrt(jnp.where(hot, T2, 1.0)), 0.0)


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
