"""Argument checks that work both eagerly and under ``jit``/``vmap``.

Every public function validates its physical arguments with these helpers so that bad input
(negative temperature, NaN, a non-positive gap, ...) raises an error that *names the argument*
instead of producing a silent NaN. Inside traced code the check is an ``equinox.error_if``; on
concrete inputs it raises at call time as well (``EqxRuntimeError``, a ``RuntimeError``).
"""

import equinox as eqx
import jax.numpy as jnp


def check_finite(x, name: str):
    """Return ``x`` unchanged, raising if any element is NaN or infinite."""
    x = jnp.asarray(x)
    return eqx.error_if(x, ~jnp.all(jnp.isfinite(x)), f"diffsc: argument `{name}` contains NaN or inf.")


def check_positive(x, name: str, unit: str = ""):
    """Return ``x``, raising if any element is not finite or is <= 0."""
    x = check_finite(x, name)
    u = f" {unit}" if unit else ""
    return eqx.error_if(x, jnp.any(x <= 0), f"diffsc: argument `{name}` must be > 0{u}.")


def check_nonnegative(x, name: str, unit: str = ""):
    """Return ``x``, raising if any element is not finite or is < 0."""
    x = check_finite(x, name)
    u = f" {unit}" if unit else ""
    return eqx.error_if(x, jnp.any(x < 0), f"diffsc: argument `{name}` must be >= 0{u}.")


def check_in_range(x, name: str, low=None, high=None, *, msg: str = ""):
    """Return ``x``, raising if any element lies outside [low, high] (either bound optional)."""
    x = check_finite(x, name)
    bad = jnp.zeros((), bool)
    if low is not None:
        bad = bad | jnp.any(x < low)
    if high is not None:
        bad = bad | jnp.any(x > high)
    text = msg or f"must lie in [{low}, {high}]"
    return eqx.error_if(x, bad, f"diffsc: argument `{name}` {text}.")


def check_same_shape(*named_arrays):
    """Raise ``ValueError`` at trace time if arrays given as (name, array) pairs differ in shape."""
    shapes = [(n, jnp.shape(a)) for n, a in named_arrays]
    if len({s for _, s in shapes}) > 1:
        desc = ", ".join(f"`{n}` {s}" for n, s in shapes)
        raise ValueError(f"diffsc: mismatched shapes: {desc}.")
