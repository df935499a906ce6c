r"""Chang–Scalapino collision terms on the kinetic lattice, with the phonons eliminated.

Reduced units: energies in $\Delta_0$, time in $\tau_0$. Coefficients (physics reference §1.3, §3):
$K_s=(\Delta_0/k_BT_c)^3$ (electron–phonon), $K_p=\tau_0/(\pi\tau_0^{ph})$ (phonon pair breaking and
scattering), $e_s=\tau_0/\tau_{esc}$ (escape). Unknowns are the logits $v_i=\ln[f_i/(1-f_i)]$
($\ln f$ for small $f$; keeps $0<f<1$ and the problem well scaled at $f\sim10^{-9}$).

Quasiparticles ($\bar\rho$ bin DOS, $c^\mp=1\mp\Delta^2/(\tilde E\tilde E')$, $\tilde E=\max(E,\Delta)$):
$$\dot f_i=-\sum_{l}K_s\Omega_{il}^2c^-_{il}\bar\rho_l\delta\,
\{f_i(1-f_l)N^{\uparrow}_{il}-f_l(1-f_i)N^{\downarrow}_{il}\}
-\sum_kK_s(E_i+E_k)^2c^+_{ik}\bar\rho_k\delta\,\{f_if_k(n_{ik}+1)-(1-f_i)(1-f_k)n_{ik}\}+I_i$$
with $\Omega_{il}=|E_l-E_i|$, $N^\uparrow=n$, $N^\downarrow=n+1$ for $l>i$ (absorption) and the
reverse for $l<i$ (emission); $n_{ik}=n(E_i+E_k)$.
Phonons: $\dot n_j=-\Gamma_j n_j+S_j$ (§3.7) with
$$\Gamma_j=2K_p\delta\sum_i\bar\rho_i\bar\rho_{i+j}c^-(f_i-f_{i+j})
+K_p\delta\sum_{E_i+E_k=\Omega_j}\bar\rho_i\bar\rho_kc^+(1-f_i-f_k)+e_s,$$
$$S_j=2K_p\delta\sum_i\bar\rho_i\bar\rho_{i+j}c^-f_{i+j}(1-f_i)
+K_p\delta\sum_{E_i+E_k=\Omega_j}\bar\rho_i\bar\rho_kc^+f_if_k+e_s\,n_B(\Omega_j)+J_j,$$
so the steady state has $n=S/\Gamma$, formed in log space ($\ln n=\operatorname{logsumexp}-\ln\Gamma$)
so nothing under- or overflows. The microwave term (S-Al Eq. 1)
$I_i=2B[h_{i,i+m}(f_{i+m}-f_i)-h_{i,i-m}(f_i-f_{i-m})]$, $h_{il}=(1+\Delta^2/\tilde E_i\tilde E_l)\bar\rho_l$,
has its strength $B=P/Z[f]$ fixed by the absorbed power, $Z=\sum_iE_i\bar\rho_i\delta\,I_i/B$.
All pairwise transfers are symmetric, so quasiparticle number (scattering, photons) and energy
(with the energy-conserving $\tau_0^{ph}$) are conserved to round-off, and thermal $f$, $n$ at
any $\Delta$ make every bracket vanish.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from ._grid import Grid, bin_dos


def _lf(v):
    return -jax.nn.softplus(-v)


def _lg(v):
    return -jax.nn.softplus(v)


def _coherence(E, gap):
    Et = jnp.maximum(E, gap)
    return gap * gap / (Et[:, None] * Et[None, :])


def log_bose(Omega, kT):
    r"""$\ln n_B(\Omega)=-\ln(e^{\Omega/k_BT}-1)$, stable for large arguments."""
    x = Omega / kT
    return -x - jnp.log(-jnp.expm1(-x))


# ----------------------------------------------------------------------------- phonons
def _phonon_terms(v, gap, grid: Grid, p):
    """Phonon-major term tables: returns (gamma, log-terms, mask, index tables)."""
    N, L, d = grid.n_bins, grid.n_phonons, grid.delta
    E = grid.energies
    rho = bin_dos(grid, gap)
    Et = jnp.maximum(E, gap)
    f = jax.nn.sigmoid(v)
    lf, lg = _lf(v), _lg(v)
    # scattering: rows j = 0..N-1, columns i, partner l = i + j
    jj = jnp.arange(N)[:, None]
    ii = jnp.arange(N)[None, :]
    ll = ii + jj
    vs = (ll < N) & (jj >= 1)
    lc = jnp.clip(ll, 0, N - 1)
    iib = jnp.broadcast_to(ii, (N, N))
    cs = 2.0 * p["Kp"] * d * rho[iib] * rho[lc] * (1.0 - gap**2 / (Et[iib] * Et[lc]))
    vs = vs & (cs > 0)
    cs = jnp.where(vs, cs, 0.0)
    gam_s = jnp.sum(cs * (f[iib] - f[lc]), axis=1)
    ts = jnp.where(vs, jnp.log(jnp.where(vs, cs, 1.0)) + lf[lc] + lg[iib], 0.0)
    # recombination: rows j = 0..L-1, columns i, partner k = j - k0 - i
    jr = jnp.arange(L)[:, None]
    iir = jnp.broadcast_to(jnp.arange(N)[None, :], (L, N))
    kk = jr - grid.k0 - iir
    vr = (kk >= 0) & (kk < N)
    kc = jnp.clip(kk, 0, N - 1)
    cr = p["Kp"] * d * rho[iir] * rho[kc] * (1.0 + gap**2 / (Et[iir] * Et[kc]))
    vr = vr & (cr > 0)
    cr = jnp.where(vr, cr, 0.0)
    gam_r = jnp.sum(cr * (1.0 - f[iir] - f[kc]), axis=1)
    tr = jnp.where(vr, jnp.log(jnp.where(vr, cr, 1.0)) + lf[iir] + lf[kc], 0.0)
    gamma = jnp.zeros(L).at[:N].add(gam_s) + gam_r + p["esc"]
    Om = jnp.where(jnp.arange(L) == 0, d, grid.phonon_energies)
    lnb = log_bose(Om, p["kT"]) + jnp.log(p["esc"])
    inj = p["J_ph"]  # injected phonons per reduced time at each lattice energy (>= 0)
    lnj = jnp.log(jnp.where(inj > 0, inj, 1.0))
    tables = dict(ts=ts, vs=vs, lc=lc, iib=iib, tr=tr, vr=vr, kc=kc, iir=iir, cs=cs, cr=cr)
    return gamma, lnb, lnj, inj > 0, tables


def _logsumexp_rows(ts_pad, vs_pad, tr, vr, lnb, lnj, jmask):
    a = jnp.concatenate([ts_pad, tr, lnb[:, None], lnj[:, None]], axis=1)
    msk = jnp.concatenate([vs_pad, vr, jnp.ones_like(lnb, bool)[:, None], jmask[:, None]], axis=1)
    a = jnp.where(msk, a, -jnp.inf)
    amax = jax.lax.stop_gradient(jnp.max(a, axis=1, keepdims=True))
    ex = jnp.where(msk, jnp.exp(jnp.where(msk, a - amax, 0.0)), 0.0)
    s = jnp.sum(ex, axis=1)
    return jnp.log(s) + amax[:, 0], ex / s[:, None], msk


def _pad_rows(x, L, fill):
    N = x.shape[0]
    return jnp.concatenate([x, jnp.full((L - N,) + x.shape[1:], fill, x.dtype)], axis=0)


def log_phonons(v, gap, grid: Grid, p):
    r"""Steady-state $\ln n_j=\ln S_j-\ln\Gamma_j$ for given $f$ (and $\Gamma_j$), $j=0..3N-2$."""
    L = grid.n_phonons
    gamma, lnb, lnj, jmask, t = _phonon_terms(v, gap, grid, p)
    lnS, _, _ = _logsumexp_rows(
        _pad_rows(t["ts"], L, 0.0), _pad_rows(t["vs"], L, False), t["tr"], t["vr"], lnb, lnj, jmask
    )
    w = lnS - jnp.log(gamma)
    return jnp.where(jnp.arange(L) == 0, 0.0, w), gamma


def log_phonons_and_jacobian(v, gap, grid: Grid, p):
    r"""$\ln n$ and $\partial\ln n_j/\partial v_l$ (shape (3N-1, N)), assembled pairwise (O(N^2))."""
    N, L = grid.n_bins, grid.n_phonons
    gamma, lnb, lnj, jmask, t = _phonon_terms(v, gap, grid, p)
    lnS, wts, _ = _logsumexp_rows(
        _pad_rows(t["ts"], L, 0.0), _pad_rows(t["vs"], L, False), t["tr"], t["vr"], lnb, lnj, jmask
    )
    w = jnp.where(jnp.arange(L) == 0, 0.0, lnS - jnp.log(gamma))
    f = jax.nn.sigmoid(v)
    fp = f * (1.0 - f)  # df/dv
    # d log-terms / dv: scattering term lf[l] + lg[i]  -> d/dv_l = 1 - f_l ; d/dv_i = -f_i
    ws_ = wts[:N, :N]
    wr_ = wts[:, N : 2 * N]
    rows_s = jnp.broadcast_to(jnp.arange(N)[:, None], (N, N))
    rows_r = jnp.broadcast_to(jnp.arange(L)[:, None], (L, N))
    lc, iib, kc, iir = t["lc"], t["iib"], t["kc"], t["iir"]
    dlnS = jnp.zeros((L, N))
    dlnS = dlnS.at[rows_s, lc].add(ws_ * (1.0 - f[lc]))
    dlnS = dlnS.at[rows_s, iib].add(-ws_ * f[iib])
    dlnS = dlnS.at[rows_r, iir].add(wr_ * (1.0 - f[iir]))
    dlnS = dlnS.at[rows_r, kc].add(wr_ * (1.0 - f[kc]))
    # d gamma / dv
    dG = jnp.zeros((L, N))
    dG = dG.at[rows_s, iib].add(t["cs"] * fp[iib])
    dG = dG.at[rows_s, lc].add(-t["cs"] * fp[lc])
    dG = dG.at[rows_r, iir].add(-t["cr"] * fp[iir])
    dG = dG.at[rows_r, kc].add(-t["cr"] * fp[kc])
    dw = dlnS - dG / gamma[:, None]
    dw = jnp.where((jnp.arange(L) == 0)[:, None], 0.0, dw)
    return w, gamma, dw


# ----------------------------------------------------------------------------- quasiparticles
def _pair_tables(gap, grid: Grid, p):
    N, d = grid.n_bins, grid.delta
    E = grid.energies
    rho = bin_dos(grid, gap)
    c2 = _coherence(E, gap)
    i = jnp.arange(N)[:, None]
    l = jnp.arange(N)[None, :]
    js = jnp.abs(l - i)
    A = p["Ks"] * (js * d) ** 2 * (1.0 - c2) * rho[None, :] * d
    Br = p["Ks"] * (E[:, None] + E[None, :]) ** 2 * (1.0 + c2) * rho[None, :] * d
    jr = grid.k0 + i + l
    return A, Br, js, jr, (l > i)


def _phi_s(vi, vl, ws, up):
    """Scattering bracket / f_i for pair (i, l), without the kernel A."""
    lnup = jnp.where(up, ws, jax.nn.softplus(ws))
    lndn = jnp.where(up, jax.nn.softplus(ws), ws)
    return jnp.exp(_lg(vl) + lnup) - jnp.exp(_lf(vl) - _lf(vi) + _lg(vi) + lndn)


def _phi_r(vi, vk, wr):
    """Recombination bracket / f_i for pair (i, k), without the kernel Br."""
    return jnp.exp(_lf(vk) + jax.nn.softplus(wr)) - jnp.exp(_lg(vi) + _lg(vk) + wr - _lf(vi))


def _drive_q(v, gap, grid: Grid):
    """Photon term per unit B, relative to f_i: I_i/(B f_i); and Z = sum E rho delta I/B."""
    N = grid.n_bins
    E = grid.energies
    rho = bin_dos(grid, gap)
    Et = jnp.maximum(E, gap)
    idx = jnp.arange(N)
    up, dn = idx + grid.m, idx - grid.m
    vu, vd = up < N, dn >= 0
    uc, dc = jnp.clip(up, 0, N - 1), jnp.clip(dn, 0, N - 1)
    lf = _lf(v)
    h_up = jnp.where(vu, 2.0 * (1.0 + gap**2 / (Et * Et[uc])) * rho[uc], 0.0)
    h_dn = jnp.where(vd, 2.0 * (1.0 + gap**2 / (Et * Et[dc])) * rho[dc], 0.0)
    q = h_up * jnp.expm1(lf[uc] - lf) + h_dn * jnp.expm1(lf[dc] - lf)
    Z = jnp.sum(E * rho * grid.delta * jnp.exp(lf) * q)
    return q, Z


def drive_strength(v, gap, grid: Grid, p):
    """B (reduced, per tau0) for the requested absorbed power; and Z."""
    _, Z = _drive_q(v, gap, grid)
    return p["P"] / Z, Z


def collision_rates(v, w, gap, grid: Grid, p):
    """Relative collision rates (f_dot/f)_i split into (scattering, recombination), plus the
    gross scale (sum of |terms|) used for relative convergence tests."""
    A, Br, js, jr, up = _pair_tables(gap, grid, p)
    vi, vl = v[:, None], v[None, :]
    ps = A * _phi_s(vi, vl, w[js], up)
    pr = Br * _phi_r(vi, vl, w[jr])
    return -jnp.sum(ps, axis=1), -jnp.sum(pr, axis=1)


def gross_scale(v, w, gap, grid: Grid, p):
    """Sum of absolute in- and out-rates per bin (relative to f_i); row scale of the residual."""
    A, Br, js, jr, up = _pair_tables(gap, grid, p)
    vi, vl = v[:, None], v[None, :]
    ws, wr = w[js], w[jr]
    lnup = jnp.where(up, ws, jax.nn.softplus(ws))
    lndn = jnp.where(up, jax.nn.softplus(ws), ws)
    s = A * (jnp.exp(_lg(vl) + lnup) + jnp.exp(_lf(vl) - _lf(vi) + _lg(vi) + lndn))
    r = Br * (jnp.exp(_lf(vl) + jax.nn.softplus(wr)) + jnp.exp(_lg(vi) + _lg(vl) + wr - _lf(vi)))
    q, Z = _drive_q(v, gap, grid)
    B = p["P"] / Z
    return jnp.sum(s, axis=1) + jnp.sum(r, axis=1) + jnp.abs(B * q) + 1e-300


def residual(v, gap, grid: Grid, p):
    r"""Relative steady-state residual $\dot f_i/f_i$ (per $\tau_0$) with $n(f)$, $B(f)$ eliminated."""
    w, _ = log_phonons(v, gap, grid, p)
    rs, rr = collision_rates(v, w, gap, grid, p)
    q, Z = _drive_q(v, gap, grid)
    return rs + rr + (p["P"] / Z) * q


def residual_jacobian(v, gap, grid: Grid, p):
    r"""Residual and its exact Jacobian $\partial R_i/\partial v_l$ (dense N x N), including the
    phonon elimination ($\partial R/\partial\ln n\cdot\partial\ln n/\partial v$) and $B(f)$."""
    N, L = grid.n_bins, grid.n_phonons
    w, _, dw = log_phonons_and_jacobian(v, gap, grid, p)
    A, Br, js, jr, up = _pair_tables(gap, grid, p)
    Vi = jnp.broadcast_to(v[:, None], (N, N))
    Vl = jnp.broadcast_to(v[None, :], (N, N))
    Ws, Wr = w[js], w[jr]
    one, zero = jnp.ones((N, N)), jnp.zeros((N, N))

    def fs(a, b, c):
        return A * _phi_s(a, b, c, up)

    def fr(a, b, c):
        return Br * _phi_r(a, b, c)

    ps, d1s = jax.jvp(fs, (Vi, Vl, Ws), (one, zero, zero))
    _, d2s = jax.jvp(fs, (Vi, Vl, Ws), (zero, one, zero))
    _, d3s = jax.jvp(fs, (Vi, Vl, Ws), (zero, zero, one))
    pr, d1r = jax.jvp(fr, (Vi, Vl, Wr), (one, zero, zero))
    _, d2r = jax.jvp(fr, (Vi, Vl, Wr), (zero, one, zero))
    _, d3r = jax.jvp(fr, (Vi, Vl, Wr), (zero, zero, one))
    rows = jnp.broadcast_to(jnp.arange(N)[:, None], (N, N))
    J = -jnp.diag(jnp.sum(d1s, axis=1) + jnp.sum(d1r, axis=1)) - d2s - d2r
    # phonon coupling: scattering phonons live in columns 0..N-1; recombination ones in a window
    Gs = jnp.zeros((N, N)).at[rows, js].add(-d3s)
    J = J + Gs @ dw[:N]
    win = jax.lax.dynamic_slice_in_dim(dw, grid.k0, 2 * N - 1, axis=0)
    Gr = jnp.zeros((N, 2 * N - 1)).at[rows, jr - grid.k0].add(-d3r)
    J = J + Gr @ win
    del L
    # drive
    q, Z = _drive_q(v, gap, grid)
    B = p["P"] / Z
    dq = jax.jacfwd(lambda x: _drive_q(x, gap, grid)[0])(v)
    dZ = jax.grad(lambda x: _drive_q(x, gap, grid)[1])(v)
    J = J + B * dq - jnp.outer(q, B / Z * dZ)
    R = -jnp.sum(ps, axis=1) - jnp.sum(pr, axis=1) + B * q
    return R, J
