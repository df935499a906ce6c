"""Shared test helpers: the one finite-difference rule of the suite, and ``assert_close``.

Every gradient check compares an automatic derivative with :func:`central_difference` (or uses
:func:`check_grad`, which does both); no test file re-implements finite differences.

Step rule. Component ``i`` of ``x`` is stepped by

    h_i = rel_step * |x_i| + abs_step

and the derivative is the central difference ``(fn(x + h_i e_i) - fn(x - h_i e_i)) / (2 h_i)``:
truncation error O(h^2 f'''), round-off O(eps |f| / h). ``rel_step=1e-5`` (the default, near
``eps**(1/3)`` for float64) balances the two for a smooth function whose scale of variation is
``|x|``; a function that is nearly flat (derivative tiny against round-off) needs a larger step,
one with curvature on a scale much shorter than ``|x|`` a smaller one. A component at ``x_i = 0``
needs ``abs_step`` (a zero step is an error). ``rel_step=0, abs_step=h`` is a fixed step ``h``
(e.g. for log-parameters); ``abs_step`` may also be an array that broadcasts against an array ``x``
(a fixed step for some components only).

Layout. A scalar ``x`` (Python number or 0-d array) gives ``d fn / d x`` with the shape of
``fn(x)`` (a Python float/complex for a scalar output) and ``fn`` is called with a Python float,
as a user would. An array or a pytree ``x`` gives the layout of ``jax.jacfwd(fn)(x)``: for each
leaf, an array of shape ``fn(x).shape + leaf.shape``; ``fn`` gets JAX arrays where ``x`` had them
and NumPy arrays otherwise (a NumPy reference stays NumPy).

Tests run with float64 on (``tests/conftest.py``); finite differences in float32 are not reliable
at these steps.
"""

import jax
import jax.numpy as jnp
import numpy as np


def fd_step(x, rel_step=1e-5, abs_step=0.0):
    """The steps ``h_i = rel_step * |x_i| + abs_step`` of :func:`central_difference` (NumPy float64)."""
    h = rel_step * np.abs(np.asarray(x, dtype=float)) + abs_step
    if np.any(h <= 0.0):
        raise ValueError("central_difference: zero step (x_i = 0 needs abs_step > 0)")
    return h


def _scalar_difference(fn, x, h):
    plus, minus = np.asarray(fn(x + h)), np.asarray(fn(x - h))
    d = (plus - minus) / (2.0 * h)
    return d.item() if d.ndim == 0 else d


def central_difference(fn, x, rel_step=1e-5, abs_step=0.0, batched=False):
    """d fn / d x by central differences with the step rule of this module (see its docstring).

    ``x``: a scalar, an array or a pytree of arrays (float64). Returns the derivative with the
    layout of ``jax.jacfwd(fn)(x)`` (a Python scalar for a scalar function of a scalar).
    ``batched=True``: ``fn`` takes all shifted points at once, stacked along a new leading axis of
    every leaf (e.g. a ``jax.vmap``-ed function), and returns its outputs stacked the same way: one
    call (and one compilation) instead of two per component. The points come in the order
    ``x + h_0 e_0, x - h_0 e_0, x + h_1 e_1, ...`` over the flattened leaves.
    """
    if not batched and (isinstance(x, float | int | np.floating | np.integer) or (
        isinstance(x, np.ndarray | jax.Array) and x.ndim == 0
    )):
        x = float(x)
        return _scalar_difference(fn, x, float(fd_step(x, rel_step, abs_step)))
    leaves, treedef = jax.tree_util.tree_flatten(x)
    as_jax = [isinstance(leaf, jax.Array) for leaf in leaves]  # NumPy in, NumPy out
    leaves = [np.asarray(leaf, dtype=float) for leaf in leaves]
    steps = [fd_step(leaf, rel_step, abs_step) for leaf in leaves]

    def at(j, flat_index, delta):
        shifted = [leaf.copy() for leaf in leaves]
        shifted[j].reshape(-1)[flat_index] += delta
        shifted = [jnp.asarray(s) if a else s for s, a in zip(shifted, as_jax, strict=True)]
        return jax.tree_util.tree_unflatten(treedef, shifted)

    if batched:
        points = [at(j, k, s * hk) for j, h in enumerate(steps) for k, hk in enumerate(h.reshape(-1))
                  for s in (1.0, -1.0)]
        stacked = jax.tree_util.tree_map(lambda *p: jnp.stack(p) if isinstance(p[0], jax.Array)
                                         else np.stack(p), *points)
        outputs = iter(np.asarray(fn(stacked)))

    jac = []
    for j, (leaf, h) in enumerate(zip(leaves, steps, strict=True)):
        cols = []
        for k, hk in enumerate(h.reshape(-1)):
            if batched:
                plus, minus = next(outputs), next(outputs)
            else:
                plus, minus = np.asarray(fn(at(j, k, hk))), np.asarray(fn(at(j, k, -hk)))
            cols.append((plus - minus) / (2.0 * hk))
        out_shape = cols[0].shape if cols else np.shape(fn(x))
        jac.append(np.stack(cols, axis=-1).reshape(out_shape + leaf.shape) if cols
                   else np.zeros(out_shape + leaf.shape))
    return jax.tree_util.tree_unflatten(treedef, jac)


def check_grad(fn, x, rtol, atol=0.0, rel_step=1e-5, abs_step=0.0, what=""):
    """Assert that ``jax.jacfwd(fn)(x)`` equals :func:`central_difference` within ``rtol``/``atol``.

    Returns ``(autodiff, finite_difference)`` for further checks.
    """
    auto = jax.jacfwd(fn)(jnp.asarray(x, dtype=float) if np.ndim(x) == 0 else x)
    fd = central_difference(fn, x, rel_step=rel_step, abs_step=abs_step)
    for a, f in zip(jax.tree_util.tree_leaves(auto), jax.tree_util.tree_leaves(fd), strict=True):
        assert_close(a, f, rtol=rtol, atol=atol, what=what or "gradient vs central differences")
    return auto, fd


def assert_close(actual, expected, rtol, atol=0.0, what=""):
    """``np.testing.assert_allclose`` with a message naming the quantity."""
    np.testing.assert_allclose(np.asarray(actual), np.asarray(expected), rtol=rtol, atol=atol, err_msg=what)
