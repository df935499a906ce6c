"""Outcome of fits to measured data: one enumeration of checks, a bit mask per fit, and reasons.

A fit of measured data can fail in several ways at once (the optimiser stopped early *and* the
sweep was too narrow). Each check has its own code in [`FIT_RESULTS`][diffsc.FIT_RESULTS]; a fit carries

* ``checks``: an integer bit mask, bit ``code - 1`` set for every check that failed (computed in
  JAX, so it works under ``jit``/``vmap``);
* ``result``: the most fundamental failed check (lowest code), ``0`` when all passed;
* ``success``: ``checks == 0``: converged *and* physically meaningful, the values can be used;
* ``reasons``: human-readable messages of every failed check (host side, per fit).
"""

from __future__ import annotations

import enum

import jax.numpy as jnp
import numpy as np


class FIT_RESULTS(enum.IntEnum):
    """Outcome codes of the fits of measured data (``S21Fit.result``,
    ``TemperatureSweepFit.result``); lower codes are the more fundamental failures."""

    successful = 0
    """Converged, finite, physically meaningful: the fitted values can be used."""
    no_signal = 1
    """The data hold no signal (all values zero or identical; e.g. an empty S21 channel)."""
    nonfinite = 2
    """A fitted value or the residual is NaN or infinite."""
    no_resonance = 3
    """The resonance does not stand out of the noise (depth over noise too small)."""
    resonance_outside_sweep = 4
    """The fitted resonance frequency lies outside the measured frequency range."""
    sweep_too_narrow = 5
    """The sweep spans too few linewidths to separate the resonance from the background."""
    max_steps_reached = 6
    """The optimiser stopped at `max_steps` before converging."""
    negative_qi = 7
    """The internal quality factor is not positive."""
    phi_out_of_range = 8
    """|phi| >= pi/2: the effective coupling Qc_eff = |Qc|/cos(phi) would be negative."""
    undetermined = 9
    """A parameter is not determined by the data (infinite or > 100 % uncertainty)."""
    at_bound = 10
    """A parameter sits at the edge of its allowed range (e.g. alpha_k -> 1)."""
    poor_fit = 11
    """The model does not describe the data within their given uncertainties (chi2 far above
    its degrees of freedom: a missing physical term, or uncertainties that are too small)."""

    @property
    def message(self) -> str:
        return _MESSAGES[int(self)]


_MESSAGES = {
    0: "converged; values usable",
    1: "no signal: the data are all zero or identical (empty channel?)",
    2: "non-finite fitted values or residuals",
    3: "the resonance does not stand out of the noise",
    4: "the fitted resonance lies outside the measured frequency range",
    5: "the sweep spans too few linewidths around the resonance",
    6: "the optimiser reached max_steps without converging",
    7: "the internal quality factor is not positive",
    8: "|phi| >= pi/2, i.e. a negative effective coupling Qc_eff",
    9: "a parameter is not determined by the data",
    10: "a parameter sits at the edge of its allowed range",
    11: "the model does not describe the data within their uncertainties",
}
_N_CODES = len(FIT_RESULTS) - 1


def flag(condition, code: FIT_RESULTS):
    """The bit of `code` where `condition` holds (int32 array, 0 elsewhere); sum flags to combine."""
    return jnp.where(condition, jnp.int32(1 << (int(code) - 1)), jnp.int32(0))


def result_from_checks(checks):
    """The lowest failed code of a bit mask (``0`` when no check failed); works under ``jit``."""
    checks = jnp.asarray(checks, jnp.int32)
    shifts = jnp.arange(_N_CODES, dtype=jnp.int32).reshape((1,) * checks.ndim + (_N_CODES,))
    bits = (checks[..., None] >> shifts) & 1
    return jnp.where(checks == 0, 0, jnp.argmax(bits, axis=-1) + 1).astype(jnp.int32)


def codes_from_checks(checks: int) -> list[FIT_RESULTS]:
    """The failed codes of one (host-side) bit mask, most fundamental first."""
    checks = int(checks)
    return [FIT_RESULTS(k + 1) for k in range(_N_CODES) if checks >> k & 1]


def reasons_from_checks(checks, details: dict | None = None):
    """Messages of the failed checks: a tuple of strings for a scalar mask, nested lists for a
    batch. `details` maps a code to a function ``index -> str`` that adds numbers to its message
    (``index`` is the position in the batch, ``()`` for a scalar)."""
    arr = np.asarray(checks)
    details = details or {}

    def one(index):
        out = []
        for code in codes_from_checks(arr[index]):
            text = code.message
            if code in details:
                text = f"{text} ({details[code](index)})"
            out.append(text)
        return tuple(out)

    if arr.ndim == 0:
        return one(())
    return np.frompyfunc(lambda *i: one(i), arr.ndim, 1)(*np.indices(arr.shape)).tolist()
