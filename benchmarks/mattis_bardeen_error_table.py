"""Error table of the thermal Mattis–Bardeen rules: how many nodes each regime needs.

For each of the three fixed rules of ``diffsc.mattis_bardeen`` (scattering part of sigma1,
pair-breaking part of sigma1, sigma2; see ``diffsc/_superconductor/_mattis_bardeen.py``) and each
node count, prints the largest relative error against adaptive ``scipy.integrate.quad``
(``quad_terms`` in tests/test_mattis_bardeen.py, epsrel 1e-13) over a grid of photon energies
r = h*freq/gap and temperatures tau = k_B*T/gap, one row per regime: below / above the
pair-breaking edge (r = 2) and T = 0, 0 < tau <= 0.1, 0.1 < tau <= 1, 1 < tau <= 10. The grid
covers 1e-3 <= r <= 10^2.5 (the range tests/test_mattis_bardeen.py checks against quad) plus
r = 2 (1 +- 1e-1, 1e-3, 1e-6, 1e-9) at the edge. The node counts in use are marked with *.
Errors near 1e-13 are at the level of the reference itself. Within 1e-5 of the edge the quad
reference of the pair term (proportional to r - 2) loses digits; there the T = 0 series is the
reference instead (last pair row).

Usage: python benchmarks/mattis_bardeen_error_table.py [--nodes 16 20 24 28 32 40 48]
Takes about a minute on a 2-core CPU (mostly the quad reference).
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

import diffsc  # noqa: F401  (float64)
from diffsc import constants
from diffsc._superconductor import _mattis_bardeen as mb

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from test_mattis_bardeen import quad_terms  # noqa: E402  (tests/ holds the scipy reference)

# The rules work in units of the gap. gap = 1 eV makes r = h*freq/gap the very number x = h*freq
# that the quad reference uses: at r = 2(1 + 1e-9) a one-ulp difference in r would move the pair
# term (proportional to r - 2) by 1e-7 and hide the rule error.
GAP = 1.0
RULES = {
    "scatter": (mb._thermal_scatter, mb._N_SCATTER_THERMAL),
    "pair": (mb._thermal_pair, mb._N_PAIR_THERMAL),
    "sigma2": (mb._thermal_sigma2, mb._N_SIGMA2_THERMAL),
}
TAU_BANDS = [("T = 0", 0.0, 0.0), ("tau <= 0.1", 0.0, 0.1), ("0.1 < tau <= 1", 0.1, 1.0),
             ("1 < tau <= 10", 1.0, 10.0)]


def grid():
    r = np.concatenate([np.logspace(-3, 2.5, 23), 2.0 * (1.0 + np.outer([-1, 1], [1e-1, 1e-3, 1e-6, 1e-9]).ravel())])
    tau = np.array([0.0, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0])
    rr, tt = (a.ravel() for a in np.meshgrid(r, tau))
    return rr * GAP / constants.h, tt * GAP / constants.k_B, rr, tt


def rule_values(rule, n, freq, T):
    def one(f, t):
        r, tau, _ = mb._thermal_scale(f, t, GAP)
        return rule(r, tau, 1.0 / tau, n)

    return np.asarray(jax.jit(jax.vmap(one))(jnp.asarray(freq), jnp.asarray(T)))


def edge_row(nodes):
    """Pair term just above the edge at T = 0 against its series, where quad loses digits:
    with eps = r - 2 and m = [eps/(4+eps)]^2 the closed form (1+2/r)E(m) - (4/r)K(m) is
    (pi/2)[eps/r - (m/4)(1 + 6/r)] + O(m^2)."""
    r = 2.0 * (1.0 + np.array([1e-6, 1e-9]))
    freq = r * GAP / constants.h
    x = constants.h * freq / GAP  # the r the rule sees
    eps = x - 2.0
    series = 0.5 * np.pi * (eps / x - 0.25 * (eps / (4.0 + eps)) ** 2 * (1.0 + 6.0 / x))
    errs = [np.max(np.abs(rule_values(mb._thermal_pair, n, freq, 0.0 * freq) / series - 1.0)) for n in nodes]
    return "| r = 2(1 + 1e-6, 1e-9), T = 0, vs series | " + " | ".join(f"{e:.0e}" for e in errs) + " |"


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--nodes", type=int, nargs="+", default=[16, 20, 24, 28, 32, 40, 48])
    args = p.parse_args()
    freq, T, r, tau = grid()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = np.array([quad_terms(f, t, GAP) for f, t in zip(freq, T, strict=True)])
    print(f"max relative error vs scipy quad, {r.size} (r, tau) points; * = nodes in use\n")
    for k, (name, (rule, n_used)) in enumerate(RULES.items()):
        cols = [f"{n}{'*' if n == n_used else ''}" for n in args.nodes]
        print(f"| {name} | " + " | ".join(cols) + " |")
        print("|---" * (len(cols) + 1) + "|")
        errors = {n: np.abs(rule_values(rule, n, freq, T) - ref[:, k]) for n in args.nodes}
        for side, in_side in (("r < 2", r < 2), ("r > 2", r > 2)):
            for band, lo, hi in TAU_BANDS:
                sel = in_side & ((tau == 0) if hi == 0 else ((tau > lo) & (tau <= hi)))
                sel &= np.abs(ref[:, k]) > 0  # the pair term below the edge, sigma1 at T = 0
                if name == "pair":  # quad itself is off by up to 3e-10 there: see edge_rows
                    sel &= np.abs(r - 2.0) > 2e-5
                if not sel.any():
                    continue
                row = [np.max(errors[n][sel] / np.abs(ref[sel, k])) for n in args.nodes]
                print(f"| {side}, {band} | " + " | ".join(f"{e:.0e}" for e in row) + " |")
        if name == "pair":
            print(edge_row(args.nodes))
        print()


if __name__ == "__main__":
    main()
