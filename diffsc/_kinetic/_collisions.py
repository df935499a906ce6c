r"""Chang–Scalapino collision terms on the kinetic lattice, with the phonons eliminated.

Reduced units: energies in $\Delta_0$, time in $\tau_0$. Coefficients (docs/kinetic.md, §Model and time scales):
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
from ._params import ReducedParams


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


# ----------------------------------------------------------------------------- lattice shears
def shear_left(M, fill=0.0):
    r"""$S_{ij}=M_{i,i+j}$ ($i+j<N$, else `fill`) for square $M$: the superdiagonals as columns.
    A pad-and-reshape (a copy, no gather), so it is cheap on every backend."""
    N = M.shape[0]
    flat = jnp.concatenate([M.reshape(-1), jnp.full((N,), fill, M.dtype)])
    S = flat.reshape(N, N + 1)[:, :N]
    i, j = jnp.arange(N)[:, None], jnp.arange(N)[None, :]
    return jnp.where(i + j < N, S, fill)


def shear_right(M, fill=0.0):
    r"""$U_{ic}=M_{i,c-i}$ for $0\le c-i<N$ (else `fill`), shape (N, 2N-1): row $i$ moved right
    by $i$, so that column sums collect the anti-diagonals $i+k=c$ (pad-and-reshape)."""
    N = M.shape[0]
    Mp = jnp.concatenate([M, jnp.full((N, N), fill, M.dtype)], axis=1)
    return Mp.reshape(-1)[: N * (2 * N - 1)].reshape(N, 2 * N - 1)


def _place(block, start, L, fill=0.0):
    """Rows of `block` placed at rows start.. of an (L, ...) array filled with `fill`."""
    out = jnp.full((L,) + block.shape[1:], fill, block.dtype)
    return jax.lax.dynamic_update_slice_in_dim(out, block, start, axis=0)


# ----------------------------------------------------------------------------- phonons
def _phonon_kernels(gap, grid: Grid, p: ReducedParams, symmetric: bool = False):
    r"""Pair kernels of the phonon rates: scattering $c^s_{il}=2K_p\delta\bar\rho_i\bar\rho_l
    (1-\Delta^2/\tilde E_i\tilde E_l)$ for $l>i$ (else 0; for all $i,l$ if `symmetric`) and
    recombination $c^r_{ik}=K_p\delta\bar\rho_i\bar\rho_k(1+\Delta^2/\tilde E_i\tilde E_k)$
    (symmetric)."""
    N, d = grid.n_bins, grid.delta
    rho = bin_dos(grid, gap)
    c2 = _coherence(grid.energies, gap)
    rr = rho[:, None] * rho[None, :]
    up = jnp.arange(N)[None, :] > jnp.arange(N)[:, None]
    cs = 2.0 * p.K_p * d * rr * (1.0 - c2)
    cs = jnp.where((cs > 0) if symmetric else up & (cs > 0), cs, 0.0)
    cr = p.K_p * d * rr * (1.0 + c2)
    return cs, jnp.where(cr > 0, cr, 0.0)


def thermal_escape_power(gap, grid: Grid, p: ReducedParams, kernels=None):
    r"""Function $k_BT^*\mapsto$ power (reduced units) that phonons carry to the bath when the
    quasiparticles are thermal at $T^*$ (phonons eliminated, escaping to the bath at $T_b$,
    injected phonons included).

    Detailed balance on the lattice makes the phonon equation explicit: a thermal $f$ at $T^*$
    has $S^{qp}_j=\Gamma^{qp}_jn_B(\Omega_j,T^*)$, so
    $n_j-n_B(\Omega_j,T_b)=[\Gamma^{qp}_j(n_B^*-n_B^b)+J_j]/(\Gamma^{qp}_j+e_s)$, and
    $\Gamma^{qp}$ is linear in $f$: $\Gamma^{qp}=f\cdot G$ (scattering) and
    $\sum c^r-2f\cdot C^r$ (recombination) with the sheared kernels formed once. Each call is
    then three matrix-vector products and no $N^2$ transcendental work (the same number as
    `log_phonons` + `phonon_escape_power` at thermal $f$, to round-off). `kernels`:
    `gap_kernels` at `gap`, or None (the kernels it needs are formed here)."""
    L, d, k0 = grid.n_phonons, grid.delta, grid.k0
    if kernels is None:
        cs, cr = _phonon_kernels(gap, grid, p, symmetric=True)
        kernels = dict(Cs=shear_left(_upper(cs)), Cr=shear_right(cr), Cs_down=_scattering_down(cs))
    # scattering: Gamma_j = sum_i cs[i, i+j] (f_i - f_{i+j}) = f . (Cs - D), D[l, j] = cs[l-j, l]
    G = kernels["Cs"] - kernels["Cs_down"]
    Cr = kernels["Cr"]
    cr_sum = jnp.sum(Cr, axis=0)
    jpos = jnp.arange(L) > 0
    Om = jnp.where(jpos, grid.phonon_energies, d)
    nB_b = jnp.exp(log_bose(Om, p.kT))
    weight = jnp.where(jpos, (p.K_s / (2.0 * p.K_p)) * p.escape_rate * Om**3 * d, 0.0)

    def power(kT_star):
        f = jax.nn.sigmoid(-grid.energies / kT_star)
        gam = _place(f @ G, 0, L) + _place(cr_sum - 2.0 * (f @ Cr), k0, L)
        excess = (gam * (jnp.exp(log_bose(Om, kT_star)) - nB_b) + p.phonon_injection) / (gam + p.escape_rate)
        return jnp.sum(weight * excess)

    return power


def _log_kernel(c):
    """ln c where c > 0, -inf elsewhere (no pair)."""
    m = c > 0
    return jnp.where(m, jnp.log(jnp.where(m, c, 1.0)), -jnp.inf)


def gap_kernels(gap, grid: Grid, p: ReducedParams):
    r"""The tables of the phonon rates that depend on the gap but not on $f$, in the lattice
    layouts of `_phonon_tables`: the kernels $c^s$ (scattering, (i, j=l-i)), $c^r$
    (recombination, (i, s=i+k)), their logarithms (-inf where no pair), and $c^s_{l-j,l}$ in
    (l, j) layout for the Jacobian. With the gap held they are the same for every Newton step,
    and the solver forms them once per solve (`residual_parts` ``kernels=``): the N^2
    logarithms were a quarter of a residual."""
    cs_sym, cr = _phonon_kernels(gap, grid, p, symmetric=True)
    cs = _upper(cs_sym)
    return dict(log_s=shear_left(_log_kernel(cs), -jnp.inf),
                log_r=shear_right(_log_kernel(cr), -jnp.inf),
                Cs=shear_left(cs), Cr=shear_right(cr), Cs_down=_scattering_down(cs_sym))


def _upper(M):
    """M on the pairs l > i (the scattering kernel of `_phonon_kernels`), 0 elsewhere."""
    N = M.shape[0]
    return jnp.where(jnp.arange(N)[None, :] > jnp.arange(N)[:, None], M, 0.0)


def _scattering_down(cs_sym):
    """$c^s_{l-j,l}$ in (l, j) layout, zero for j = 0 (the sources of the pairs (l - j, l))."""
    return jnp.where(jnp.arange(cs_sym.shape[0])[None, :] > 0, _shear_down(cs_sym), 0.0)


def _phonon_tables(v, gap, grid: Grid, p: ReducedParams, kernels=None):
    r"""Log-terms of the phonon sources in lattice layouts (no gathers, no scatters).

    Scattering: natural pair table $(i,l>i)$ sheared to $(i,j=l-i)$, so phonon $j$ is column $j$.
    Recombination: pair table $(i,k)$ sheared to $(i,s=i+k)$, phonon $j=k_0+s$ is column $s$.
    Returns the log-term tables (``-inf`` where a pair does not exist), the linear coefficient
    tables, $\Gamma_j$, and the bath and injection log-terms. `kernels`: `gap_kernels` at
    `gap`, or None (formed here, the logarithms fused into the log-term tables)."""
    L, d = grid.n_phonons, grid.delta
    f = jax.nn.sigmoid(v)
    lf, lg = _lf(v), _lg(v)
    if kernels is None:
        cs, cr = _phonon_kernels(gap, grid, p)
        ts = jnp.where(cs > 0, _log_kernel(cs) + lf[None, :] + lg[:, None], -jnp.inf)
        tr = jnp.where(cr > 0, _log_kernel(cr) + lf[None, :] + lf[:, None], -jnp.inf)
        Ts, Tr = shear_left(ts, -jnp.inf), shear_right(tr, -jnp.inf)
        Cs, Cr = shear_left(cs), shear_right(cr)
        gam_s = jnp.sum(shear_left(cs * (f[:, None] - f[None, :])), axis=0)
        gam_r = jnp.sum(shear_right(cr * (1.0 - f[:, None] - f[None, :])), axis=0)
    else:
        Cs, Cr = kernels["Cs"], kernels["Cr"]
        # the partners in the same layouts: bin i + j (scattering), s - i (recombination);
        # gathers from a vector, fused into the elementwise loops (cheaper than shears)
        N = grid.n_bins
        i = jnp.arange(N)[:, None]
        up = jnp.minimum(i + jnp.arange(N)[None, :], N - 1)
        rec = jnp.clip(jnp.arange(2 * N - 1)[None, :] - i, 0, N - 1)
        Ts = kernels["log_s"] + (lf[up] + lg[:, None])
        Tr = kernels["log_r"] + (lf[:, None] + lf[rec])
        gam_s = jnp.sum(Cs * (f[:, None] - f[up]), axis=0)
        gam_r = jnp.sum(Cr * (1.0 - f[:, None] - f[rec]), axis=0)
    gamma = _place(gam_s, 0, L) + _place(gam_r, grid.k0, L) + p.escape_rate
    Om = jnp.where(jnp.arange(L) == 0, d, grid.phonon_energies)
    lnb = log_bose(Om, p.kT) + jnp.log(p.escape_rate)
    inj = p.phonon_injection  # injected phonons per reduced time at each lattice energy (>= 0)
    lnj = jnp.where(inj > 0, jnp.log(jnp.where(inj > 0, inj, 1.0)), -jnp.inf)
    return dict(Ts=Ts, Tr=Tr, Cs=Cs, Cr=Cr, gamma=gamma, lnb=lnb, lnj=lnj, lf=lf, lg=lg)


def _phonon_sums(t, grid: Grid):
    r"""$\ln S_j$ by a max-shifted sum over all sources, the shifted term tables and the shift."""
    N, L, k0 = grid.n_bins, grid.n_phonons, grid.k0
    Ts, Tr = t["Ts"], t["Tr"]
    M = jnp.maximum(
        jnp.maximum(_place(jnp.max(Ts, axis=0), 0, L, -jnp.inf),
                    _place(jnp.max(Tr, axis=0), k0, L, -jnp.inf)),
        jnp.maximum(t["lnb"], t["lnj"]),
    )
    M = jax.lax.stop_gradient(M)  # finite: the bath term is always present
    Es = jnp.exp(Ts - M[:N][None, :])
    Er = jnp.exp(Tr - jax.lax.dynamic_slice_in_dim(M, k0, 2 * N - 1)[None, :])
    s = (_place(jnp.sum(Es, axis=0), 0, L) + _place(jnp.sum(Er, axis=0), k0, L)
         + jnp.exp(t["lnb"] - M) + jnp.exp(t["lnj"] - M))
    return jnp.log(s) + M, s, Es, Er, M


def phonon_rates(v, gap, grid: Grid, p: ReducedParams):
    r"""Quasiparticle parts of the phonon equation, $\dot n_j|_{qp}=-\Gamma^{qp}_jn_j+S^{qp}_j$
    (reduced units, linear; for tests and diagnostics): returns $(\Gamma^{qp},S^{qp})$."""
    L = grid.n_phonons
    t = _phonon_tables(v, gap, grid, p)
    S_qp = (_place(jnp.sum(jnp.exp(t["Ts"]), axis=0), 0, L)
            + _place(jnp.sum(jnp.exp(t["Tr"]), axis=0), grid.k0, L))
    return t["gamma"] - p.escape_rate, S_qp


def _log_occupation(t, sums, grid: Grid):
    r"""$\ln n_j=\ln S_j-\ln\Gamma_j$ from the tables and sums ($\ln n_0=0$: not a phonon)."""
    return jnp.where(jnp.arange(grid.n_phonons) == 0, 0.0, sums[0] - jnp.log(t["gamma"]))


def log_phonons(v, gap, grid: Grid, p: ReducedParams):
    r"""Steady-state $\ln n_j=\ln S_j-\ln\Gamma_j$ for given $f$ (and $\Gamma_j$), $j=0..3N-2$."""
    t = _phonon_tables(v, gap, grid, p)
    return _log_occupation(t, _phonon_sums(t, grid), grid), t["gamma"]


def phonon_escape_power(w, grid: Grid, p: ReducedParams):
    r"""Power carried to the bath per phonon lattice energy, reduced units (per $\Delta_0$):
    $\frac{K_s}{2K_p}e_s\Omega_j^3(n_j-n_B(\Omega_j))$; returns it and $n$, $n_B$ ($n_0=0$)."""
    L, d = grid.n_phonons, grid.delta
    Om = grid.phonon_energies
    jpos = jnp.arange(L) > 0
    n = jnp.where(jpos, jnp.exp(w), 0.0)
    nB = jnp.where(jpos, jnp.exp(log_bose(jnp.where(jpos, Om, d), p.kT)), 0.0)
    return (p.K_s / (2.0 * p.K_p)) * p.escape_rate * Om**3 * (n - nB), n, nB


def _columns(block, start, n_cols, negative: bool):
    """Columns start..start+n_cols-1 of `block`, zero outside it; `start` may be traced, in
    [-n_cols, 0] if `negative`, else in [0, block width]: a one-sided pad and a dynamic slice."""
    pad = ((0, 0, 0), (n_cols, 0, 0)) if negative else ((0, 0, 0), (0, n_cols, 0))
    padded = jax.lax.pad(block, jnp.zeros((), block.dtype), pad)
    return jax.lax.dynamic_slice_in_dim(padded, start + (n_cols if negative else 0), n_cols, axis=1)


def _shear_down(M, fill=0.0):
    r"""$S_{lj}=M_{l,l-j}$ ($j\le l$, else `fill`) for square $M$: the subdiagonals as columns
    (`shear_left` of the reversed matrix)."""
    return shear_left(M[::-1, ::-1], fill)[::-1]


def _log_phonon_jacobian(v, gap, t, sums, grid: Grid, p: ReducedParams, kernels=None):
    r"""$\partial\ln n_j/\partial v_l$ of the phonons that the quasiparticle equations use, as
    two (bin $l$, phonon) tables: phonons $j<N$ (scattering partners, shape (N, N)) and the
    recombination window $j=k_0..k_0+2N-2$ (shape (N, 2N-1)). Phonons in both (scattering
    partners above $k_0$) carry their full derivative in both tables.

    $\ln n_j=\ln S_j-\ln\Gamma_j$: a source term of pair $(l,l+j)$ changes with $v_l$ by $-f_l$
    (factor $1-f_l$), one of $(l-j,l)$ by $1-f_l$ (factor $f_l$); a recombination term of
    $(l,k)$ by $1-f_l$, twice (both orders). The tables are those of `_phonon_sums` read at
    row $l$ (the pairs $(l-j,l)$ re-formed from the occupation factors in their own layout), so
    nothing is transposed: the Jacobian contracts the phonon axes of both factors. O(N^2)."""
    N, k0 = grid.n_bins, grid.k0
    M, s, Es, Er = sums[4], sums[1], sums[2], sums[3]
    gamma = t["gamma"]
    f = jax.nn.sigmoid(v)
    fl, gl = f[:, None], (1.0 - f)[:, None]
    fp = fl * gl  # df/dv
    # scattering sources of the pairs (l - j, l), in (l, j) layout
    if kernels is None:
        Cs_d = _scattering_down(_phonon_kernels(gap, grid, p, symmetric=True)[0])
    else:
        Cs_d = kernels["Cs_down"]
    partner = jnp.maximum(jnp.arange(N)[:, None] - jnp.arange(N)[None, :], 0)  # bin l - j
    x_d = t["lf"][:, None] + t["lg"][partner] - M[None, :N]  # the residual's ln f, ln(1 - f)
    Es_d = Cs_d * jnp.exp(jnp.where(Cs_d > 0, x_d, -jnp.inf))
    D_s = (gl * Es_d - fl * Es) / s[None, :N] - fp * (t["Cs"] - Cs_d) / gamma[None, :N]
    D_s = jnp.where(jnp.arange(N)[None, :] == 0, 0.0, D_s)  # n_0 is not a phonon
    window = lambda x: jax.lax.dynamic_slice_in_dim(x, k0, 2 * N - 1)[None, :]  # noqa: E731
    D_r = 2.0 * (gl * Er / window(s) + fp * t["Cr"] / window(gamma))
    D_r = jnp.where(k0 + jnp.arange(2 * N - 1)[None, :] == 0, 0.0, D_r)
    # scattering phonons j < N may also be recombination phonons (j >= k0), and vice versa
    return (D_s + _columns(D_r, -k0, N, negative=True),
            D_r + _columns(D_s, k0, 2 * N - 1, negative=False))


# ----------------------------------------------------------------------------- quasiparticles
def _pair_tables(gap, grid: Grid, p: ReducedParams):
    N, d = grid.n_bins, grid.delta
    E = grid.energies
    rho = bin_dos(grid, gap)
    c2 = _coherence(E, gap)
    i = jnp.arange(N)[:, None]
    l = jnp.arange(N)[None, :]
    js = jnp.abs(l - i)
    A = p.K_s * (js.astype(d.dtype) * d) ** 2 * (1.0 - c2) * rho[None, :] * d
    Br = p.K_s * (E[:, None] + E[None, :]) ** 2 * (1.0 + c2) * rho[None, :] * d
    jr = grid.k0 + i + l
    return A, Br, js, jr, (l > i)


def _qp_terms(v, w, gap, grid: Grid, p: ReducedParams):
    r"""The four log-space pair terms of $\dot f_i/f_i$, exponentiated with their kernels:
    scattering out/in $E^a_{il}=A_{il}(1-f_l)N^{\uparrow/\downarrow}$,
    $E^b_{il}=A_{il}\frac{f_l(1-f_i)}{f_i}N^{\downarrow/\uparrow}$, recombination out/in
    $E^c_{ik}=B_{ik}f_k(n+1)$, $E^e_{ik}=B_{ik}\frac{(1-f_i)(1-f_k)}{f_i}n$. $\ln(n+1)$ is
    formed on the phonon vector, not on the pair tables."""
    A, Br, js, jr, up = _pair_tables(gap, grid, p)
    lf, lg = _lf(v), _lg(v)
    ln1 = jax.nn.softplus(w)  # ln(n + 1)
    ws, ws1, wr, wr1 = w[js], ln1[js], w[jr], ln1[jr]
    lnup = jnp.where(up, ws, ws1)
    lndn = jnp.where(up, ws1, ws)
    Ea = A * jnp.exp(lg[None, :] + lnup)
    Eb = A * jnp.exp((lf[None, :] - lf[:, None] + lg[:, None]) + lndn)
    Ec = Br * jnp.exp(lf[None, :] + wr1)
    Ee = Br * jnp.exp((lg[:, None] + lg[None, :] - lf[:, None]) + wr)
    return dict(Ea=Ea, Eb=Eb, Ec=Ec, Ee=Ee)


def _drive_terms(v, gap, grid: Grid, m=None, gap_edge_weight: float = 1.0):
    r"""Photon terms per unit $B$, relative to $f_i$: absorption from below and emission to
    above, $q_i=q^\uparrow_i+q^\downarrow_i=I_i/(Bf_i)$, and the absorbed energy per unit $B$,
    $Z=\sum_iE_i\bar\rho_i\delta\,I_i/B=2h\nu\,\delta\sum_kg_k(f_k-f_{k+m})$ with the pair
    weight $g_k=(1+\Delta^2/\tilde E_k\tilde E_{k+m})\bar\rho_k\bar\rho_{k+m}$. The pair form has
    no cancellation between up and down transitions (near equilibrium they almost cancel, and
    the bin-wise sum would carry a relative round-off of ~1e-9 into $B=P/Z$). `m`: photon
    energy in bins (default the grid's, $h\nu=m\delta$).

    `gap_edge_weight` $w$ (static; literature-compatibility mode, docs/kinetic.md): bin 0's
    exchange with bin $m$ enters bin 0 with weight $w$ and bin $m$ in full, as the published
    MATLAB code does at the gap edge (a Heaviside factor 1/2 at $E=\Delta$). For $w<1$ the drive
    creates $(1-w)\,2\delta g_0(f_0-f_m)$ quasiparticles per unit $B$ out of nothing, and the
    bin-wise energy gains $(1-w)E_0$ per such pair: $Z\to Z+(1-w)E_0\,2\delta g_0(f_0-f_m)$.
    $w=1$ (the default) adds nothing (bitwise the number-conserving terms)."""
    N = grid.n_bins
    m = grid.m if m is None else m
    rho = bin_dos(grid, gap)
    Et = jnp.maximum(grid.energies, gap)
    idx = jnp.arange(N)
    up, dn = idx + m, idx - m
    vu, vd = up < N, dn >= 0
    uc, dc = jnp.clip(up, 0, N - 1), jnp.clip(dn, 0, N - 1)
    lf = _lf(v)
    c_up = jnp.where(vu, 1.0 + gap**2 / (Et * Et[uc]), 0.0)
    q_up = 2.0 * c_up * rho[uc] * jnp.expm1(lf[uc] - lf)
    q_dn = jnp.where(vd, 2.0 * (1.0 + gap**2 / (Et * Et[dc])) * rho[dc], 0.0) * jnp.expm1(lf[dc] - lf)
    Z = -2.0 * jnp.asarray(m, dtype=float) * grid.delta**2 * jnp.sum(c_up * rho * rho[uc] * jnp.exp(lf) * jnp.expm1(lf[uc] - lf))
    if gap_edge_weight != 1.0:  # static: the compatibility mode only
        w = gap_edge_weight
        q_up = q_up.at[0].multiply(w)
        # 2 delta g_0 (f_0 - f_m): the bin-0 -> bin-m transfer per unit B (number per tau0)
        pair0 = -2.0 * grid.delta * c_up[0] * rho[0] * rho[uc[0]] * jnp.exp(lf[0]) * jnp.expm1(lf[uc[0]] - lf[0])
        Z = Z + (1.0 - w) * grid.energies[0] * pair0
    return q_up, q_dn, Z


def _pair_breaking_q(v, gap, grid: Grid, p: ReducedParams):
    r"""Pair-breaking photons at $h\nu_s=m_s\delta>2\Delta$ (docs/kinetic.md, §Drives), per unit
    $B_s$ and relative to $f_i$: the scattering bracket of `_drive_terms` at $m_s$ plus
    pair generation $2c^-_{ik}\bar\rho_k(1-f_i-f_k)/f_i$ with $E_k=h\nu_s-E_i$ (bin
    $k=m_s-k_0-i$) and $c^-=1-\Delta^2/\tilde E_i\tilde E_k$. Returns $q^s_i=I^s_i/(B_sf_i)$ and the
    absorbed energy per unit $B_s$, $Z_s=\sum_iE_i\bar\rho_i\delta\,I^s_i/B_s$; the pair part in
    its symmetric form $h\nu_s\delta\sum_i\bar\rho_ic^-_{ik}\bar\rho_k(1-f_i-f_k)$ (each pair
    absorbs $E_i+E_k=h\nu_s$)."""
    N, ms = grid.n_bins, p.pair_breaking_bins
    q_up, q_dn, Z_scat = _drive_terms(v, gap, grid, ms)
    rho = bin_dos(grid, gap)
    Et = jnp.maximum(grid.energies, gap)
    k = ms - grid.k0 - jnp.arange(N)
    kc = jnp.clip(k, 0, N - 1)
    c = jnp.where((k >= 0) & (k < N), (1.0 - gap**2 / (Et * Et[kc])) * rho[kc], 0.0)
    lf, lg = _lf(v), _lg(v)
    q_pair = 2.0 * c * (jnp.exp(lg - lf) - jnp.exp(lf[kc] - lf))
    Z_pair = jnp.asarray(ms, dtype=float) * grid.delta**2 * jnp.sum(rho * c * (jnp.exp(lg) - jnp.exp(lf[kc])))
    return q_up + q_dn + q_pair, Z_scat + Z_pair


def pair_breaking_strength(v, gap, grid: Grid, p: ReducedParams):
    """B_s (reduced, per tau0) of the pair-breaking photons for the requested power (0 if none),
    and the rate of quasiparticle generation by them (per tau0, in units of 4 N0 Delta_0)."""
    if not p.has_pair_breaking:
        return jnp.zeros(()), jnp.zeros(())
    q, Z = _pair_breaking_q(v, gap, grid, p)
    Bs = p.pair_breaking_power / Z
    return Bs, Bs * grid.delta * jnp.sum(bin_dos(grid, gap) * jax.nn.sigmoid(v) * q)


def _drive_q(v, gap, grid: Grid, gap_edge_weight: float = 1.0):
    """Photon term per unit B, relative to f_i: I_i/(B f_i); and Z = sum E rho delta I/B
    (`gap_edge_weight`: see `_drive_terms`)."""
    q_up, q_dn, Z = _drive_terms(v, gap, grid, gap_edge_weight=gap_edge_weight)
    return q_up + q_dn, Z


def drive_strength(v, gap, grid: Grid, p: ReducedParams):
    """The drive strength B of S-Al Eq. 1 (`drive` in the code; reduced, per tau0) for the
    requested absorbed power; Z; and the net number of quasiparticles the drive creates, per
    tau0 in units of 4 N0 Delta_0 (0 to round-off unless `p.gap_edge_drive_weight` < 1)."""
    q, Z = _drive_q(v, gap, grid, p.gap_edge_drive_weight)
    drive = p.power / Z
    return drive, Z, drive * grid.delta * jnp.sum(bin_dos(grid, gap) * jax.nn.sigmoid(v) * q)


def collision_rates(v, w, gap, grid: Grid, p: ReducedParams):
    """Relative collision rates (f_dot/f)_i split into (scattering, recombination)."""
    t = _qp_terms(v, w, gap, grid, p)
    return -jnp.sum(t["Ea"] - t["Eb"], axis=1), -jnp.sum(t["Ec"] - t["Ee"], axis=1)


def residual_parts(v, gap, grid: Grid, p: ReducedParams, kernels=None):
    r"""Relative residual $\dot f_i/f_i$ (per $\tau_0$, $n(f)$ and $B(f)$ eliminated), the gross
    scale (sum of the absolute in- and out-rates of each bin) that makes the convergence test
    relative, and the intermediates (phonon tables, pair terms, drive terms) from which
    `jacobian_from_parts` forms the Jacobian without repeating any of this work.
    `kernels`: `gap_kernels` at `gap` when the caller holds the gap (formed once per solve),
    or None (formed here)."""
    t = _phonon_tables(v, gap, grid, p, kernels)
    sums = _phonon_sums(t, grid)
    w = _log_occupation(t, sums, grid)
    q = _qp_terms(v, w, gap, grid, p)
    q_up, q_dn, Z = _drive_terms(v, gap, grid, gap_edge_weight=p.gap_edge_drive_weight)
    drive = p.power / Z
    R = -jnp.sum((q["Ea"] - q["Eb"]) + (q["Ec"] - q["Ee"]), axis=1) + drive * (q_up + q_dn)
    scale = (jnp.sum((q["Ea"] + q["Eb"]) + (q["Ec"] + q["Ee"]), axis=1)
             + jnp.abs(drive * q_up) + jnp.abs(drive * q_dn) + 1e-300)
    parts = dict(v=v, gap=gap, w=w, t=t, sums=sums, q=q, drive=(q_up + q_dn, Z, drive),
                 kernels=kernels, scale=scale)
    if p.has_pair_breaking:  # pair-breaking photons
        q_s, Z_s = _pair_breaking_q(v, gap, grid, p)
        pair_drive = p.pair_breaking_power / Z_s
        R = R + pair_drive * q_s
        scale = scale + jnp.abs(pair_drive * q_s)
        parts["pair_drive"] = (q_s, Z_s, pair_drive)
    return R, scale, parts


def rates_from_parts(parts):
    r"""The by-products of one residual evaluation that the solution reports: $\ln n_j$ and
    $\Gamma_j$ (as `log_phonons`), the relative scattering and recombination rates (as
    `collision_rates`) and the recombination out-rate $\sum_kE^c_{ik}=\sum_kB_{ik}f_k
    (1+n_{ik})$ (per $\tau_0$), whose DOS-weighted mean is $1/\tau_{qp}$."""
    q = parts["q"]
    return dict(w=parts["w"], gamma=parts["t"]["gamma"],
                scattering=-jnp.sum(q["Ea"] - q["Eb"], axis=1),
                recombination=-jnp.sum(q["Ec"] - q["Ee"], axis=1),
                recombination_out=jnp.sum(q["Ec"], axis=1))


def rates(v, gap, grid: Grid, p: ReducedParams):
    """`rates_from_parts` of a fresh evaluation at (v, gap)."""
    return rates_from_parts(residual_parts(v, gap, grid, p)[2])


def residual_and_scale(v, gap, grid: Grid, p: ReducedParams):
    """Residual and row scale of `residual_parts`."""
    R, scale, _ = residual_parts(v, gap, grid, p)
    return R, scale


def residual(v, gap, grid: Grid, p: ReducedParams):
    r"""Relative steady-state residual $\dot f_i/f_i$ (per $\tau_0$) with $n(f)$, $B(f)$ eliminated."""
    return residual_parts(v, gap, grid, p)[0]


def _coupling_product(C_s, C_r, D_s, D_r, row_scale, float32: bool):
    r"""$C_sD_s^T-C_rD_r^T$ (the phonon coupling of the Jacobian: contractions over the phonon
    axes). With `float32` the rows of $C$ are first divided by `row_scale` (the residual's gross
    rate of each bin: every entry then has magnitude <= 2, the $D$ are normalised weights, so
    nothing over- or underflows that matters) and both products run in float32 (true float32,
    ``Precision.HIGHEST``: no TF32 on GPUs); the result carries a relative error ~1e-7 of each
    row's gross rate. float64 otherwise."""
    contract = (((1,), (1,)), ((), ()))  # A @ B.T, no transpose formed
    if not float32:
        return (jax.lax.dot_general(C_s, D_s, contract)
                - jax.lax.dot_general(C_r, D_r, contract))
    inv = (1.0 / row_scale)[:, None]
    lo = lambda a: a.astype(jnp.float32)  # noqa: E731
    hi = jax.lax.Precision.HIGHEST
    prod = (jax.lax.dot_general(lo(C_s * inv), lo(D_s), contract, precision=hi)
            - jax.lax.dot_general(lo(C_r * inv), lo(D_r), contract, precision=hi))
    return prod.astype(C_s.dtype) * row_scale[:, None]


def jacobian_from_parts(parts, grid: Grid, p: ReducedParams, coupling_float32: bool = False):
    r"""Exact Jacobian $\partial R_i/\partial v_l$ (dense N x N) of the residual whose
    intermediates are `parts` (`residual_parts`). It includes the phonon elimination
    ($\partial R/\partial\ln n\cdot\partial\ln n/\partial v$) and $B(f)$. The pair-term
    derivatives are analytic in the exponentiated terms ($\partial_{v_i}\ln E^b
    =\partial_{v_i}\ln E^e=-1$, $\partial_{v_l}\ln E^a=-f_l$, ...), so no transcendental work is
    done beyond the residual's. `coupling_float32`: the phonon coupling's two products
    (6 N^3 of the Jacobian's work) in float32 (`_coupling_product`): for Newton steps only; the
    implicit derivatives use the float64 Jacobian."""
    N = grid.n_bins
    v, gap, t = parts["v"], parts["gap"], parts["q"]
    dw_scat, dw_rec = _log_phonon_jacobian(v, gap, parts["t"], parts["sums"], grid, p,
                                           parts["kernels"])
    Ea, Eb, Ec, Ee = t["Ea"], t["Eb"], t["Ec"], t["Ee"]
    f = jax.nn.sigmoid(v)
    fl, gl = f[None, :], 1.0 - f[None, :]
    # R_i = -sum_l (Ea - Eb) - sum_k (Ec - Ee) + B q_i
    J = jnp.diag(-jnp.sum(Eb + Ee, axis=1))  # d/dv_i of the pair terms (own bin)
    J = J - (-fl * Ea - gl * Eb) - (gl * Ec + fl * Ee)  # d/dv_l of the partner
    # phonon coupling dR_i/dw_j: scattering partner l = i +- j (phonons 0..N-1), recombination
    # partner k with j = k0 + i + k (a window of 2N-1 phonons)
    i, l = jnp.arange(N)[:, None], jnp.arange(N)[None, :]
    sig = jax.nn.sigmoid(parts["w"])  # d ln(n + 1) / d ln n = n / (n + 1)
    sig_s, sig_r = sig[jnp.abs(l - i)], sig[grid.k0 + i + l]
    up = l > i  # absorption
    d3s = jnp.where(up, Ea - sig_s * Eb, sig_s * Ea - Eb)
    d3r = sig_r * Ec - Ee
    Gs = -(shear_left(d3s) + jnp.where(jnp.arange(N)[None, :] > 0, _shear_down(d3s), 0.0))
    J = J + _coupling_product(Gs, shear_right(d3r), dw_scat, dw_rec, parts["scale"],
                              coupling_float32)
    # drive
    q, Z, drive = parts["drive"]
    w = p.gap_edge_drive_weight
    dq = jax.jacfwd(lambda x: _drive_q(x, gap, grid, w)[0])(v)
    dZ = jax.grad(lambda x: _drive_q(x, gap, grid, w)[1])(v)
    J = J + drive * dq - jnp.outer(q, drive / Z * dZ)
    if "pair_drive" in parts:
        q_s, Z_s, pair_drive = parts["pair_drive"]
        dq_s = jax.jacfwd(lambda x: _pair_breaking_q(x, gap, grid, p)[0])(v)
        dZ_s = jax.grad(lambda x: _pair_breaking_q(x, gap, grid, p)[1])(v)
        J = J + pair_drive * dq_s - jnp.outer(q_s, pair_drive / Z_s * dZ_s)
    return J


def residual_jacobian(v, gap, grid: Grid, p: ReducedParams):
    r"""Residual, its exact Jacobian (`jacobian_from_parts`) and the row scale of
    `residual_parts`."""
    R, scale, parts = residual_parts(v, gap, grid, p)
    return R, jacobian_from_parts(parts, grid, p), scale
