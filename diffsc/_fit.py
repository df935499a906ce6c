r"""Common fitting API: bounded nonlinear least squares with covariance, batched with ``vmap``.

Every model fit in diffsc (resonator S21, electrothermal impedance, MAR I(V), ...) goes through
:func:`least_squares`. Parameters are any pytree (usually a dict of scalars or arrays) in
*physical* units; bounds and positivity are imposed by transforms to an unconstrained space; the
covariance is computed in physical units from the Jacobian at the optimum,

$$\mathrm{Cov}=s^2\,(J^\top J)^{-1},\qquad s^2=\begin{cases}\chi^2/(m-p)&\text{(default)}\\
1&\text{(absolute\_sigma)}\end{cases},\qquad \chi^2=\sum_i r_i^2,$$

where $r$ are the (weighted) residuals returned by the user's function (e.g. $(y_{model}-y)/\sigma$)
and $J=\partial r/\partial\theta$. The optimiser is optimistix (Levenberg–Marquardt by default) whose
implicit adjoint makes the fitted parameters differentiable with respect to ``args`` (the data)
without backpropagating through iterations. Batch many datasets of equal shape with
``jax.vmap(lambda y: least_squares(fn, p0, y))``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import optax
import optimistix as optx
from jax.flatten_util import ravel_pytree

PyTree = Any

_METHODS = ("lm", "gauss_newton", "dogleg", "bfgs", "adam")


class FitResult(eqx.Module):
    """Outcome of :func:`least_squares`.

    **Fields:**

    - `params`: fitted parameters (same pytree as the initial guess, physical units).
    - `std`: one-standard-deviation uncertainties, same pytree.
    - `covariance`: covariance matrix over the flattened parameters (``ravel_pytree`` order).
    - `chi2`: sum of squared residuals at the optimum.
    - `dof`: residuals minus parameters.
    - `reduced_chi2`: ``chi2 / dof``.
    - `n_steps`: optimiser steps taken.
    - `result`: optimistix result code (0 = success).
    - `success`: boolean, ``result == 0``.
    """

    params: PyTree
    std: PyTree
    covariance: jax.Array
    chi2: jax.Array
    dof: int = eqx.field(static=True)
    reduced_chi2: jax.Array
    n_steps: jax.Array
    result: jax.Array
    success: jax.Array


def _leaf_specs(params, transforms):
    """A list of transform specs aligned with ``jax.tree.leaves(params)``."""
    leaves, treedef = jax.tree.flatten(params)
    if transforms is None:
        return [None] * len(leaves)
    if isinstance(params, dict) and isinstance(transforms, dict):
        unknown = set(transforms) - set(params)
        if unknown:
            raise ValueError(
                f"diffsc.least_squares: transforms for unknown parameters {sorted(unknown)}"
            )
        specs = []
        for key in sorted(params):  # jax flattens dicts in sorted-key order
            n = len(jax.tree.leaves(params[key]))
            specs.extend([transforms.get(key)] * n)
        return specs
    is_spec = lambda x: x is None or isinstance(x, (str, tuple))
    spec_leaves = jax.tree.leaves(transforms, is_leaf=is_spec)
    if len(spec_leaves) != len(leaves):
        raise ValueError("diffsc.least_squares: `transforms` must match the structure of `params`.")
    return spec_leaves


def _check_spec(spec):
    if spec is None or spec == "positive":
        return
    if isinstance(spec, tuple) and len(spec) == 3 and spec[0] == "bounded" and spec[1] < spec[2]:
        return
    raise ValueError(
        f"diffsc.least_squares: bad transform {spec!r}; use None, 'positive' or ('bounded', lo, hi) with lo < hi."
    )


def _to_physical(z, spec):
    if spec is None:
        return z
    if spec == "positive":
        return jnp.exp(z)
    _, lo, hi = spec
    return lo + (hi - lo) * jax.nn.sigmoid(z)


def _to_unconstrained(x, spec, name="params"):
    if spec is None:
        return x
    if spec == "positive":
        x = eqx.error_if(
            x,
            jnp.any(x <= 0),
            f"diffsc.least_squares: initial `{name}` must be > 0 for a 'positive' transform.",
        )
        return jnp.log(x)
    _, lo, hi = spec
    x = eqx.error_if(
        x,
        jnp.any((x <= lo) | (x >= hi)),
        f"diffsc.least_squares: initial `{name}` outside its bounds ({lo}, {hi}).",
    )
    y = (x - lo) / (hi - lo)
    return jnp.log(y) - jnp.log1p(-y)


def _solver(method, rtol, atol, learning_rate):
    if method == "lm":
        return optx.LevenbergMarquardt(rtol=rtol, atol=atol)
    if method == "gauss_newton":
        return optx.GaussNewton(rtol=rtol, atol=atol)
    if method == "dogleg":
        return optx.Dogleg(rtol=rtol, atol=atol)
    if method == "bfgs":
        return optx.BFGS(rtol=rtol, atol=atol)
    if method == "adam":
        return optx.OptaxMinimiser(optax.adam(learning_rate), rtol=rtol, atol=atol)
    raise ValueError(f"diffsc.least_squares: unknown method {method!r}; choose from {_METHODS}.")


def covariance_from_jacobian(jacobian, chi2, dof, *, absolute_sigma=False):
    r"""Parameter covariance $s^2(J^\top J)^{-1}$ (pseudo-inverse via eigendecomposition).

    Directions with eigenvalues below ``1e-12`` of the largest are treated as unidentified and get
    infinite variance rather than a misleading small number.
    """
    jtj = jacobian.T @ jacobian
    evals, evecs = jnp.linalg.eigh(jtj)
    tiny = evals <= 1e-12 * jnp.max(evals)
    inv = jnp.where(tiny, jnp.inf, 1.0 / jnp.where(tiny, 1.0, evals))
    cov = (evecs * jnp.where(tiny, 0.0, inv)[None, :]) @ evecs.T
    # put inf on the diagonal entries touched by unidentified directions
    touched = jnp.any(tiny[None, :] & (jnp.abs(evecs) > 1e-8), axis=1)
    cov = jnp.where(jnp.diag(touched), jnp.inf, cov)
    scale = 1.0 if absolute_sigma else chi2 / jnp.maximum(dof, 1)
    return cov * scale


def least_squares(
    residual_fn: Callable[[PyTree, Any], jax.Array],
    params: PyTree,
    args: Any = None,
    *,
    transforms: PyTree | None = None,
    method: str = "lm",
    max_steps: int = 256,
    rtol: float = 1e-10,
    atol: float = 1e-10,
    absolute_sigma: bool = False,
    learning_rate: float = 1e-2,
    throw: bool = False,
) -> FitResult:
    r"""Minimise $\chi^2=\sum_i r_i(\theta)^2$ over parameters $\theta$, with uncertainties.

    **Arguments:**

    - `residual_fn`: ``residual_fn(params, args) -> r`` (any shape; flattened). Return weighted
      residuals, e.g. ``(model - data) / sigma``; for complex data stack real and imaginary parts.
    - `params`: initial guess, a pytree of floats/arrays in physical units.
    - `args`: data and fixed inputs passed through to ``residual_fn`` (may be batched by ``vmap``).
    - `transforms`: per-parameter constraints: ``None`` (free), ``"positive"`` (log transform) or
      ``("bounded", lo, hi)`` (logistic). A dict with a subset of the keys of a dict ``params``,
      or a pytree matching ``params``.
    - `method`: ``"lm"`` (Levenberg–Marquardt), ``"gauss_newton"``, ``"dogleg"``, ``"bfgs"`` or
      ``"adam"`` (optax, ``learning_rate``).
    - `max_steps`, `rtol`, `atol`: optimiser budget and tolerances.
    - `absolute_sigma`: if True the residuals are taken as exactly normalised (covariance not
      rescaled by the reduced $\chi^2$), as ``scipy.optimize.curve_fit(absolute_sigma=True)``.
    - `throw`: raise if the optimiser fails (default False: inspect ``result.success``).

    **Returns:** a :class:`FitResult`.
    """
    if max_steps < 1:
        raise ValueError("diffsc.least_squares: `max_steps` must be >= 1.")
    specs = _leaf_specs(params, transforms)
    for s in specs:
        _check_spec(s)
    params = jax.tree.map(lambda x: jnp.asarray(x, dtype=float), params)
    leaves, treedef = jax.tree.flatten(params)
    z_leaves = [_to_unconstrained(x, s) for x, s in zip(leaves, specs, strict=True)]

    def physical(z_tree):
        zl = jax.tree.leaves(z_tree)
        return jax.tree.unflatten(
            treedef, [_to_physical(z, s) for z, s in zip(zl, specs, strict=True)]
        )

    def residual_z(z_tree, a):
        return jnp.ravel(residual_fn(physical(z_tree), a))

    z0 = jax.tree.unflatten(treedef, z_leaves)
    solver = _solver(method, rtol, atol, learning_rate)
    if method in ("bfgs", "adam"):
        loss = lambda z, a: 0.5 * jnp.sum(residual_z(z, a) ** 2)
        sol = optx.minimise(loss, solver, z0, args, max_steps=max_steps, throw=False)
    else:
        sol = optx.least_squares(residual_z, solver, z0, args, max_steps=max_steps, throw=False)
    fitted = physical(sol.value)

    flat, unravel = ravel_pytree(fitted)
    res_flat = lambda x: jnp.ravel(residual_fn(unravel(x), args))
    r = res_flat(flat)
    jac = jax.jacfwd(res_flat)(flat)
    chi2 = jnp.sum(r**2)
    dof = int(r.size - flat.size)
    cov = covariance_from_jacobian(jac, chi2, dof, absolute_sigma=absolute_sigma)
    std = unravel(jnp.sqrt(jnp.diag(cov)))
    result = jnp.asarray(sol.result._value, dtype=jnp.int32)
    success = result == 0
    if throw:
        fitted = eqx.error_if(
            fitted,
            ~success,
            "diffsc.least_squares: the optimiser did not converge (increase `max_steps`, improve "
            "the initial guess or check the model); pass throw=False to inspect the result.",
        )
    return FitResult(
        params=fitted,
        std=std,
        covariance=cov,
        chi2=chi2,
        dof=dof,
        reduced_chi2=chi2 / max(dof, 1),
        n_steps=jnp.asarray(sol.stats["num_steps"]),
        result=result,
        success=success,
    )


def fit_batch(residual_fn: Callable, params: PyTree, args: Any, **kwargs) -> FitResult:
    r"""Fit many datasets of equal shape in one compiled, vmapped call.

    Equivalent to ``[least_squares(residual_fn, params, a, **kwargs) for a in args]`` with the
    leading axis of every leaf of `args` as the batch axis (same initial guess for all); every
    field of the returned :class:`FitResult` gains that leading axis (``dof`` stays an int).
    Keyword arguments are those of :func:`least_squares`; units are those of `params`.
    """
    fit = lambda a: least_squares(residual_fn, params, a, **kwargs)
    return jax.vmap(fit)(args)


def multistart(residual_fn: Callable, starts: PyTree, args: Any = None, **kwargs) -> FitResult:
    r"""Run :func:`least_squares` from several initial guesses and keep the best.

    `starts` is the `params` pytree with a leading axis of length $K$ (one initial guess per row).
    All $K$ fits run in one vmapped call; the result is the converged fit with the smallest
    $\chi^2$ (if none converged, the smallest $\chi^2$ overall, with ``success == False``).
    """
    fits = jax.vmap(lambda p: least_squares(residual_fn, p, args, **kwargs))(starts)
    score = jnp.where(fits.success, fits.chi2, jnp.inf)
    best = jnp.where(jnp.any(fits.success), jnp.argmin(score), jnp.argmin(fits.chi2))
    return jax.tree.map(lambda x: x[best] if isinstance(x, jax.Array) else x, fits)
