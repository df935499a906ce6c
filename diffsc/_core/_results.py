r"""One enumeration of solver outcomes, [`RESULTS`][diffsc.RESULTS], for every iterative solver and fit.

**Design.** Every iterative solver and fit result carries

* ``result``: a [`RESULTS`][diffsc.RESULTS] code (an int32 array; batched solves give a batch of codes),
* ``success``: ``result == 0`` for a plain solver; for fits of *measured* data (see below) it is
  the stricter verdict "converged and physically meaningful",
* ``n_steps``: the optimiser's or solver's steps (where it iterates).

Codes 0-2 are those of the kinetic solver since it was written (``diffsc.RESULTS`` has always
been this enumeration); codes 3-7 are the further outcomes of optimistix's solvers, mapped from
``optimistix.RESULTS`` by `from_optimistix` (by equality with optimistix's public members,
never by their internal numbers):

====  =========================  ======================================================
code  name                       optimistix outcomes mapped onto it
====  =========================  ======================================================
0     ``successful``             ``successful``
1     ``max_steps_reached``      ``nonlinear_max_steps_reached`` (the outer solver's budget)
2     ``nonfinite``              ``nonfinite``, ``nonfinite_input``
3     ``nonlinear_divergence``   ``nonlinear_divergence``
4     ``singular``               ``singular`` (a linear solve met a singular operator)
5     ``breakdown``              ``breakdown`` (an iterative linear solver broke down)
6     ``stagnation``             ``stagnation``
7     ``linear_solve_failed``    ``max_steps_reached`` and ``conlim`` of an inner linear solve
====  =========================  ======================================================

**Fits of measured data.** [`fit_s21`][diffsc.fit_s21] and [`fit_temperature_sweep`][diffsc.fit_temperature_sweep] judge
more than convergence (no resonance, sweep too narrow, parameter at a bound, ...). Their verdicts
are the separate, older enumeration [`FIT_RESULTS`][diffsc.FIT_RESULTS] with a bit mask ``checks`` and
``reasons``; ``S21Fit.result`` and ``TemperatureSweepFit.result`` keep those verdict codes (they are
stored in exported tables). The optimiser's own outcome is added next to them as
``optimiser_result``, a [`RESULTS`][diffsc.RESULTS] code; "the optimiser stopped at max_steps" is then
``optimiser_result == RESULTS.max_steps_reached`` and, among the verdicts,
``FIT_RESULTS.max_steps_reached`` (6).

**Raising.** Every solver and fit takes ``throw=`` with the one package-wide default
``throw=False``: the result flag is always filled and nothing aborts a batch of fits for one bad
sweep; ``throw=True`` raises through ``equinox.error_if`` (also under ``jit``/``vmap``) with the
message of the failing code.
"""

from __future__ import annotations

import enum

import equinox as eqx
import jax.numpy as jnp


class RESULTS(enum.IntEnum):
    """Outcome codes of every iterative solver and fit (``result`` fields); 0 is success."""

    successful = 0
    """Converged to the requested tolerance."""
    max_steps_reached = 1
    """The iteration budget (`max_steps`) ran out before convergence."""
    nonfinite = 2
    """A non-finite value appeared (bad input, an unstable mode, an overflowing model)."""
    nonlinear_divergence = 3
    """The nonlinear solver diverged."""
    singular = 4
    """A linear solve inside the solver met a singular operator."""
    breakdown = 5
    """An iterative linear solver inside the solver broke down."""
    stagnation = 6
    """An iterative linear solver inside the solver stagnated."""
    linear_solve_failed = 7
    """An inner linear solve did not converge (its own budget or condition limit)."""

    @property
    def message(self) -> str:
        return _MESSAGES[int(self)]


_MESSAGES = {
    0: "converged",
    1: "kinetic solver did not converge within max_steps, nor in the steps it adds "
    "while its residual still falls (up to max_extra_steps); try a larger max_steps or "
    "another number of continuation stages",
    2: "kinetic solver produced a non-finite state (phonon mode unstable or bad input)",
    3: "the nonlinear solver diverged",
    4: "a linear solve met a singular operator",
    5: "an iterative linear solver broke down",
    6: "an iterative linear solver stagnated",
    7: "an inner linear solve did not converge",
}
# The messages of codes 1 and 2 are the kinetic solver's since its first release (tests and
# notebooks print them); other solvers say it in their own words through `raise_if_failed`.
_GENERIC = {
    1: "did not converge within max_steps",
    2: "produced a non-finite value",
}


def from_optimistix(result):
    """The [`RESULTS`][diffsc.RESULTS] code (int32 array) of an ``optimistix.RESULTS`` item (any batch shape).

    Uses only optimistix's public members and equality, so it works under ``jit``/``vmap``.
    """
    import optimistix as optx

    R = optx.RESULTS
    table = (
        (R.nonlinear_max_steps_reached, RESULTS.max_steps_reached),
        (R.nonfinite, RESULTS.nonfinite),
        (R.nonfinite_input, RESULTS.nonfinite),
        (R.nonlinear_divergence, RESULTS.nonlinear_divergence),
        (R.singular, RESULTS.singular),
        (R.breakdown, RESULTS.breakdown),
        (R.stagnation, RESULTS.stagnation),
        (R.max_steps_reached, RESULTS.linear_solve_failed),
        (R.conlim, RESULTS.linear_solve_failed),
    )
    code = jnp.zeros(jnp.shape(result == R.successful), jnp.int32)
    for item, ours in table:
        code = jnp.where(result == item, jnp.int32(int(ours)), code)
    return code


def raise_if_failed(x, result, where: str, hint: str = ""):
    """Return `x` unchanged; raise (``equinox.branched_error_if``, also under ``jit``) if any
    `result` code is not 0, with the message of the (first) failing code.

    `where` names the function (``"diffsc.least_squares"``); `hint` is appended to the message.
    """
    result = jnp.asarray(result, jnp.int32)
    failed = result != 0
    first = jnp.where(jnp.any(failed), jnp.ravel(result)[jnp.argmax(jnp.ravel(failed))], 0)
    msgs = [
        f"{where}: {_GENERIC.get(k, _MESSAGES[k])} (RESULTS.{RESULTS(k).name}){hint}"
        for k in range(len(RESULTS))
    ]
    return eqx.branched_error_if(x, jnp.any(failed), first, msgs)
