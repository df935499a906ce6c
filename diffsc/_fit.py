r"""Common fitting API: bounded nonlinear least squares with covariance, batched with ``vmap``.

Every model fit in diffsc (resonator S21, electrothermal impedance, MAR I(V), ...) goes through
[`least_squares`][diffsc.least_squares]. Parameters are any pytree (usually a dict of scalars or arrays) in
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
from jax.flatten_util import ravel_pytree

from ._core._results import from_optimistix, raise_if_failed

PyTree = Any

_OPTAX_METHODS = ("lbfgs", "adam")
_METHODS = ("lm", "gauss_newton", "dogleg", "bfgs", *_OPTAX_METHODS)


class FitResult(eqx.Module):
    r"""Outcome of [`least_squares`][diffsc.least_squares] and [`minimize`][diffsc.minimize].

    **Fields:**

    - `params`: fitted parameters (same pytree as the initial guess, physical units).
    - `std`: one-standard-deviation uncertainties, same pytree.
    - `covariance`: covariance matrix over the flattened parameters (``ravel_pytree`` order).
    - `chi2`: sum of squared residuals at the optimum.
    - `dof`: residuals minus parameters.
    - `reduced_chi2`: ``chi2 / dof``.
    - `n_steps`: optimiser steps taken.
    - `result`: a [`RESULTS`][diffsc.RESULTS] code, the same on every method: 0 = converged,
      1 = `max_steps` reached, 2 = non-finite, 3 = diverged, 4-7 = an inner linear solve failed.
    - `success`: boolean, ``result == 0``.
    - `grad_norm`: $\max_k|\partial L/\partial z_k|$ at the end, the gradient of the objective
      ($L=\chi^2/2$ for [`least_squares`][diffsc.least_squares], the user's loss for [`minimize`][diffsc.minimize]) in the
      optimiser's unconstrained coordinates $z$ (``log`` for positive, logit for bounded).
    - `condition_number`: condition number of $J^\top J$ (or of the Hessian for
      [`minimize`][diffsc.minimize]) after scaling it to unit diagonal, i.e. of the parameter correlation
      structure; independent of parameter units. Above ~1e10 some combination of parameters is
      barely determined by the data; ``inf`` when one is not determined at all.

    ``None`` for `grad_norm` / `condition_number` only in results built by hand.
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
    grad_norm: jax.Array | None = None
    condition_number: jax.Array | None = None

    @property
    def diagnostics(self) -> dict:
        """Convergence diagnostics as a dict: ``n_steps``, ``grad_norm``, ``reduced_chi2``,
        ``condition_number``, ``success``, ``result`` (arrays; batched fits give batched entries).
        """
        return dict(
            n_steps=self.n_steps,
            grad_norm=self.grad_norm,
            reduced_chi2=self.reduced_chi2,
            condition_number=self.condition_number,
            success=self.success,
            result=self.result,
        )


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


def _solver(method, rtol, atol):
    import optimistix as optx  # imported when a fit runs: keeps `import diffsc` light

    if method == "lm":
        return optx.LevenbergMarquardt(rtol=rtol, atol=atol)
    if method == "gauss_newton":
        return optx.GaussNewton(rtol=rtol, atol=atol)
    if method == "dogleg":
        return optx.Dogleg(rtol=rtol, atol=atol)
    if method == "bfgs":
        return optx.BFGS(rtol=rtol, atol=atol)
    raise ValueError(f"diffsc.least_squares: unknown method {method!r}; choose from {_METHODS}.")


def _psd_pinv(matrix):
    """Pseudo-inverse of a symmetric matrix; eigenvalues <= 1e-12 of the largest are unidentified.

    Returns ``(inverse, tiny, evecs)``: the inverse restricted to the identified subspace, the mask
    of unidentified eigen-directions and the eigenvectors.
    """
    evals, evecs = jnp.linalg.eigh(0.5 * (matrix + matrix.T))
    tiny = evals <= 1e-12 * jnp.max(evals)
    inv = 1.0 / jnp.where(tiny, 1.0, evals)
    pinv = (evecs * jnp.where(tiny, 0.0, inv)[None, :]) @ evecs.T
    return pinv, tiny, evecs


def _inverse_with_inf(matrix):
    """Inverse of a PSD matrix with ``inf`` variance for unidentified parameters.

    The matrix is first equilibrated to unit diagonal, ``D^-1/2 M D^-1/2``, so that the
    identifiability cut does not depend on the parameters' units (a parameter of order 1e9 next
    to one of order 1e-9 is not "unidentified"); a parameter with zero diagonal has no effect on
    the residuals at all.
    """
    d = jnp.sqrt(jnp.abs(jnp.diag(matrix)))
    no_effect = d <= 0
    d = jnp.where(no_effect, 1.0, d)
    outer = d[:, None] * d[None, :]
    pinv, tiny, evecs = _psd_pinv(jnp.where(outer > 0, matrix / outer, 0.0))
    # put inf on the diagonal entries touched by unidentified directions
    touched = jnp.any(tiny[None, :] & (jnp.abs(evecs) > 1e-8), axis=1) | no_effect
    return jnp.where(jnp.diag(touched), jnp.inf, pinv / outer)


def _scaled_condition_number(matrix):
    """Condition number of ``D^-1/2 M D^-1/2`` with ``D = diag(M)`` (unit-free); inf if singular."""
    d = jnp.sqrt(jnp.abs(jnp.diag(matrix)))
    ok = d > 0
    d = jnp.where(ok, d, 1.0)
    scaled = matrix / (d[:, None] * d[None, :])
    evals = jnp.linalg.eigvalsh(0.5 * (scaled + scaled.T))
    cond = jnp.max(evals) / jnp.where(evals[0] > 0, evals[0], 1.0)
    return jnp.where((evals[0] > 1e-15 * jnp.max(evals)) & jnp.all(ok), cond, jnp.inf)


def covariance_from_jacobian(jacobian, chi2, dof, *, absolute_sigma=False):
    r"""Parameter covariance $s^2(J^\top J)^{-1}$ (pseudo-inverse via eigendecomposition).

    After equilibrating $J^\top J$ to unit diagonal (so the test is independent of units),
    directions with eigenvalues below ``1e-12`` of the largest are treated as unidentified and get
    infinite variance rather than a misleading small number.
    """
    cov = _inverse_with_inf(jacobian.T @ jacobian)
    scale = 1.0 if absolute_sigma else chi2 / jnp.maximum(dof, 1)
    return cov * scale


def covariance_from_hessian(hessian):
    r"""Parameter covariance $H^{-1}$ of a negative log-likelihood $-\ln\mathcal L$ (Laplace /
    Cramér–Rao), with the same pseudo-inverse and ``inf`` handling of unidentified (or
    non-positive-curvature) directions as `covariance_from_jacobian`.
    """
    return _inverse_with_inf(hessian)


def _gradient_norm_minimiser():
    """The class `_GradientNormOptax` (built on first use: keeps `import diffsc` light)."""
    global _GradientNormOptax
    if _GradientNormOptax is not None:
        return _GradientNormOptax
    import optax
    import optimistix as optx

    class _State(eqx.Module):
        f: jax.Array
        grad: Any
        opt_state: Any
        terminate: jax.Array

    class GradientNormOptax(optx.OptaxMinimiser):
        r"""``optimistix.OptaxMinimiser`` that stops on the gradient norm,
        $\max_k|\partial_k L| \le \mathrm{atol} + \mathrm{rtol}\,|L|$ at the current iterate
        (OptaxMinimiser's own rule compares successive iterates and losses instead).

        The loss and gradient of the current iterate live in the state, so every step is one
        optax update plus one evaluation of the new point; for optax's L-BFGS that evaluation
        is read from the line search's state (``optax.value_and_grad_from_state``). A
        non-finite loss stops the solve with ``optimistix.RESULTS.nonfinite``.
        """

        def _done(self, f, grad):
            gnorm = jnp.max(jnp.abs(ravel_pytree(grad)[0]))
            return gnorm <= self.atol + self.rtol * jnp.abs(f)

        def init(self, fn, y, args, options, f_struct, aux_struct, tags):
            (f, _), grad = eqx.filter_value_and_grad(fn, has_aux=True)(y, args)
            return _State(f, grad, self.optim.init(y), self._done(f, grad))

        def step(self, fn, y, args, options, state, tags):
            value_fn = lambda x: fn(x, args)[0]
            # optax mixes dtypes inside its updates (L-BFGS adds int32 and int64 counters,
            # Adam's bias correction raises a float to an int32 count): standard promotion
            with jax.numpy_dtype_promotion("standard"):
                updates, opt_state = self.optim.update(
                    state.grad, state.opt_state, y, value=state.f, grad=state.grad,
                    value_fn=value_fn,
                )
            new_y = eqx.apply_updates(y, updates)
            if _has_linesearch_state(opt_state):
                f, grad = optax.value_and_grad_from_state(value_fn)(new_y, state=opt_state)
                aux = None
            else:
                (f, aux), grad = eqx.filter_value_and_grad(fn, has_aux=True)(new_y, args)
            return new_y, _State(f, grad, opt_state, self._done(f, grad)), aux

        def terminate(self, fn, y, args, options, state, tags):
            finite = jnp.isfinite(state.f)
            result = optx.RESULTS.where(finite, optx.RESULTS.successful, optx.RESULTS.nonfinite)
            return state.terminate | ~finite, result

    _GradientNormOptax = GradientNormOptax
    return GradientNormOptax


_GradientNormOptax = None


def _has_linesearch_state(opt_state) -> bool:
    """Whether an optax state carries a line search's value and gradient (optax L-BFGS)."""
    import optax

    leaves = jax.tree.leaves(
        opt_state, is_leaf=lambda x: isinstance(x, optax.ScaleByZoomLinesearchState)
    )
    return any(isinstance(x, optax.ScaleByZoomLinesearchState) for x in leaves)


def _optax_transformation(method, learning_rate, where):
    import optax  # imported when a fit runs: keeps `import diffsc` light

    if method == "lbfgs":
        return optax.lbfgs(learning_rate=learning_rate)
    if method == "adam":
        return optax.adam(1e-2 if learning_rate is None else learning_rate)
    if isinstance(method, optax.GradientTransformation):
        return method
    raise ValueError(
        f"{where}: unknown method {method!r}; use 'lbfgs', 'adam' or an optax "
        "GradientTransformation."
    )


def _optax_minimise(loss, z0, args, method, max_steps, learning_rate, rtol, atol):
    r"""Minimise ``loss(z, args)`` with an optax transformation through ``optimistix.minimise``.

    Optax's L-BFGS (zoom line search, ``"lbfgs"``) or Adam (``"adam"``, or any
    ``optax.GradientTransformation``) inside an ``optimistix.OptaxMinimiser`` that stops when
    $\max_k|\partial_k L| \le \mathrm{atol} + \mathrm{rtol}\,|L|$. The solution carries
    optimistix's implicit-function-theorem derivative with respect to `args`
    (``ImplicitAdjoint`` with a least-squares linear solve, so a singular Hessian gives the
    minimum-norm derivative instead of NaN). Returns ``(z, value, grad_norm, n_steps, result)``
    with a [`RESULTS`][diffsc.RESULTS] code (0 converged, 1 `max_steps` reached, 2 non-finite loss).
    """
    import lineax as lx
    import optimistix as optx

    opt = _optax_transformation(method, learning_rate, "diffsc.minimize")
    solver = _gradient_norm_minimiser()(opt, rtol=rtol, atol=atol)
    adjoint = optx.ImplicitAdjoint(linear_solver=lx.AutoLinearSolver(well_posed=False))
    sol = optx.minimise(
        loss, solver, z0, args, max_steps=max_steps, adjoint=adjoint, throw=False
    )
    state = sol.state
    gnorm = jnp.max(jnp.abs(ravel_pytree(state.grad)[0]))
    n_steps = jnp.asarray(sol.stats["num_steps"])
    return sol.value, state.f, gnorm, n_steps, from_optimistix(sol.result)


def _prepare(params, transforms, name):
    specs = _leaf_specs(params, transforms)
    for s in specs:
        _check_spec(s)
    params = jax.tree.map(lambda x: jnp.asarray(x, dtype=float), params)
    return params, tuple(specs)


def _physical_fn(treedef, specs):
    def physical(z_tree):
        zl = jax.tree.leaves(z_tree)
        return jax.tree.unflatten(
            treedef, [_to_physical(z, s) for z, s in zip(zl, specs, strict=True)]
        )

    return physical


def _unconstrained(params, specs):
    leaves, treedef = jax.tree.flatten(params)
    z_leaves = [_to_unconstrained(x, s) for x, s in zip(leaves, specs, strict=True)]
    return jax.tree.unflatten(treedef, z_leaves), treedef


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
    learning_rate: float | None = None,
    throw: bool = False,
) -> FitResult:
    r"""Minimise $\chi^2=\sum_i r_i(\theta)^2$ over parameters $\theta$, with uncertainties.

    **Arguments:**

    - `residual_fn`: ``residual_fn(params, args) -> r`` (any shape; flattened). Return weighted
      residuals, e.g. ``(model - data) / sigma``; for complex data stack real and imaginary parts.
    - `params`: initial guess, a pytree of floats/arrays in physical units (a dict, or an
      ``equinox.Module`` whose array fields are the parameters).
    - `args`: data and fixed inputs passed through to ``residual_fn`` (may be batched by ``vmap``).
    - `transforms`: per-parameter constraints: ``None`` (free), ``"positive"`` (log transform) or
      ``("bounded", lo, hi)`` (logistic). A dict with a subset of the keys of a dict ``params``,
      or a pytree matching ``params`` (e.g. the same Module class holding the specs).
    - `method`: ``"lm"`` (Levenberg–Marquardt), ``"gauss_newton"``, ``"dogleg"``, ``"bfgs"``
      (optimistix), or ``"lbfgs"`` / ``"adam"`` (optax, in the same
      ``optimistix.minimise`` as [`minimize`][diffsc.minimize], on $L=\chi^2/2$; stop when
      $\max|\nabla_z L|\le$ ``atol + rtol*L``).
    - `max_steps`, `rtol`, `atol`: optimiser budget and tolerances.
    - `absolute_sigma`: if True the residuals are taken as exactly normalised (covariance not
      rescaled by the reduced $\chi^2$), as ``scipy.optimize.curve_fit(absolute_sigma=True)``.
    - `learning_rate`: Adam step size (default 1e-2); for L-BFGS an extra step scale (default None).
    - `throw`: raise (``equinox.error_if``, also under ``jit``) if the optimiser fails; default
      False, the package-wide default: inspect ``result``/``success``.

    **Returns:** a [`FitResult`][diffsc.FitResult] (with `grad_norm` and `condition_number` diagnostics).

    The fitted parameters are differentiable with respect to ``args`` (implicit function theorem;
    no backpropagation through iterations) for every method.

    **Compiles once** per `residual_fn` object, static options and shapes: pass a module-level
    function (or an ``equinox.Module`` holding static options) and the data in `args`. A lambda
    or closure created anew for every call is a new function and compiles again each time.
    """
    if max_steps < 1:
        raise ValueError("diffsc.least_squares: `max_steps` must be >= 1.")
    if method not in _METHODS:
        raise ValueError(
            f"diffsc.least_squares: unknown method {method!r}; choose from {_METHODS}."
        )
    params, specs = _prepare(params, transforms, "least_squares")
    return _least_squares_jit(
        residual_fn, params, args, specs, method, max_steps, rtol, atol, absolute_sigma,
        learning_rate, throw,
    )


@eqx.filter_jit
def _least_squares_jit(
    residual_fn, params, args, specs, method, max_steps, rtol, atol, absolute_sigma,
    learning_rate, throw,
):
    z0, treedef = _unconstrained(params, specs)
    physical = _physical_fn(treedef, specs)

    def residual_z(z_tree, a):
        return jnp.ravel(residual_fn(physical(z_tree), a))

    loss = lambda z, a: 0.5 * jnp.sum(residual_z(z, a) ** 2)
    if method in _OPTAX_METHODS:
        z, _, _, n_steps, result = _optax_minimise(
            loss, z0, args, method, max_steps, learning_rate, rtol, atol
        )
    else:
        import optimistix as optx

        solver = _solver(method, rtol, atol)
        if method == "bfgs":
            sol = optx.minimise(loss, solver, z0, args, max_steps=max_steps, throw=False)
        else:
            sol = optx.least_squares(
                residual_z, solver, z0, args, max_steps=max_steps, throw=False
            )
        z = sol.value
        n_steps = jnp.asarray(sol.stats["num_steps"])
        result = from_optimistix(sol.result)
    fitted = physical(z)
    grad_norm = jnp.max(jnp.abs(ravel_pytree(jax.grad(loss)(z, args))[0]))

    flat, unravel = ravel_pytree(fitted)
    res_flat = lambda x: jnp.ravel(residual_fn(unravel(x), args))
    r = res_flat(flat)
    jac = jax.jacfwd(res_flat)(flat)
    chi2 = jnp.sum(r**2)
    dof = int(r.size - flat.size)
    cov = covariance_from_jacobian(jac, chi2, dof, absolute_sigma=absolute_sigma)
    std = unravel(jnp.sqrt(jnp.diag(cov)))
    success = result == 0
    out = FitResult(
        params=fitted,
        std=std,
        covariance=cov,
        chi2=chi2,
        dof=dof,
        reduced_chi2=chi2 / max(dof, 1),
        n_steps=n_steps,
        result=result,
        success=success,
        grad_norm=grad_norm,
        condition_number=_scaled_condition_number(jac.T @ jac),
    )
    if throw:  # on every field: the check survives whatever the caller reads
        out = raise_if_failed(
            out,
            result,
            "diffsc.least_squares",
            " (increase `max_steps`, improve the initial guess or check the model); pass "
            "throw=False to inspect the result.",
        )
    return out


def minimize(
    loss_fn: Callable[[PyTree, Any], jax.Array],
    params: PyTree,
    args: Any = None,
    *,
    transforms: PyTree | None = None,
    method: str | optax.GradientTransformation = "lbfgs",  # noqa: F821  (lazy import)
    max_steps: int = 1000,
    learning_rate: float | None = None,
    tol: float = 1e-9,
    n_data: int | None = None,
    hessian_covariance: bool = True,
    throw: bool = False,
) -> FitResult:
    r"""Minimise a scalar loss $L(\theta)$ (e.g. a negative log-likelihood) with an optax optimiser.

    ``optimistix.minimise`` runs the optax optimiser (an ``optimistix.OptaxMinimiser``) in the
    unconstrained coordinates $z$ of `transforms`: optax's L-BFGS with a zoom line search
    (``"lbfgs"``) or Adam (``"adam"``, or any ``optax.GradientTransformation``). It stops when

    $$\max_k\left|\partial L/\partial z_k\right| \le \mathrm{tol}\,(1+|L|),$$

    the gradient at the current iterate (not OptaxMinimiser's own rule on the change of $z$ and
    $L$). Why optax's L-BFGS and not ``optimistix.LBFGS``: on the Gaussian-likelihood problem of
    the tests, ``optimistix.LBFGS`` (backtracking Armijo search, stopping on the change of $z$
    and $L$) stalls at $\max|\nabla_z L|\approx4\times10^{-7}$ after 53 steps, also with 1000
    times smaller tolerances, above this rule's $3.4\times10^{-8}$, where optax's L-BFGS meets it
    in 14 steps.

    The covariance is the inverse Hessian of $L$ in physical parameters at the optimum,

    $$\mathrm{Cov}=H^{-1},\qquad H_{jk}=\frac{\partial^2 L}{\partial\theta_j\,\partial\theta_k},$$

    which is the Laplace / Cramér–Rao covariance when $L=-\ln\mathcal L$ (for Gaussian data
    $L=\tfrac12\chi^2$ and, for a linear model, $H=J^\top J$ exactly as in [`least_squares`][diffsc.least_squares]
    with ``absolute_sigma=True``). Unidentified or non-positive-curvature directions get ``inf``.

    **Arguments:**

    - `loss_fn`: ``loss_fn(params, args) -> scalar`` (dimensionless, e.g. $-\ln\mathcal L$).
    - `params`, `args`, `transforms`: as in [`least_squares`][diffsc.least_squares] (physical units; dict or
      ``equinox.Module`` parameters).
    - `method`: ``"lbfgs"`` (default), ``"adam"`` or an ``optax.GradientTransformation``.
    - `max_steps`: iteration budget; hitting it gives ``result = RESULTS.max_steps_reached`` (1,
      ``success = False``).
    - `learning_rate`: Adam step size in $z$ (default 1e-2); for L-BFGS an extra scale of the
      line-search step (default None: line search only; leave it unless you know why).
    - `tol`: gradient tolerance of the stopping rule above.
    - `n_data`: number of data points, to set ``dof = n_data - n_params`` (default: ``dof = 0``).
    - `hessian_covariance`: compute ``covariance``/``std`` from the Hessian (default True); if
      False they are NaN and the Hessian is not evaluated.
    - `throw`: raise (also under ``jit``) if the loop did not converge; default False: inspect
      ``result``/``success``.

    **Returns:** a [`FitResult`][diffsc.FitResult] with ``chi2`` $=2L$ at the optimum (the deviance: $\chi^2$
    for $L=\tfrac12\chi^2$), ``reduced_chi2 = chi2/dof``, ``grad_norm``, ``n_steps``,
    ``condition_number`` (of $H$ scaled to unit diagonal).

    Runs under ``jit`` and ``vmap`` (batch datasets with ``jax.vmap``). The fitted parameters
    carry the implicit-function-theorem derivative with respect to `args` (optimistix's
    ``ImplicitAdjoint``; first order, ``grad``/``jvp``); this is a convenience, not a guarantee
    for non-smooth losses.
    """
    if max_steps < 1:
        raise ValueError("diffsc.minimize: `max_steps` must be >= 1.")
    if isinstance(method, str) and method not in _OPTAX_METHODS:
        raise ValueError(f"diffsc.minimize: unknown method {method!r}; use 'lbfgs' or 'adam'.")
    if not tol > 0:
        raise ValueError("diffsc.minimize: `tol` must be > 0.")
    params, specs = _prepare(params, transforms, "minimize")
    return _minimize_jit(
        loss_fn, params, args, specs, method, max_steps, learning_rate, tol, n_data,
        hessian_covariance, throw,
    )


@eqx.filter_jit
def _minimize_jit(
    loss_fn, params, args, specs, method, max_steps, learning_rate, tol, n_data,
    hessian_covariance, throw,
):
    z0, treedef = _unconstrained(params, specs)
    physical = _physical_fn(treedef, specs)
    loss = lambda z, a: jnp.asarray(loss_fn(physical(z), a)).reshape(())
    z, value, grad_norm, n_steps, result = _optax_minimise(
        loss, z0, args, method, max_steps, learning_rate, tol, tol
    )
    fitted = physical(z)
    flat, unravel = ravel_pytree(fitted)
    n_par = flat.size
    if hessian_covariance:
        hess = jax.hessian(lambda x: loss_fn(unravel(x), args))(flat)
        cov = covariance_from_hessian(hess)
        cond = _scaled_condition_number(hess)
    else:
        cov = jnp.full((n_par, n_par), jnp.nan)
        cond = jnp.asarray(jnp.nan)
    std = unravel(jnp.sqrt(jnp.diag(cov)))
    dof = 0 if n_data is None else int(n_data) - n_par
    chi2 = 2.0 * value
    success = result == 0
    out = FitResult(
        params=fitted,
        std=std,
        covariance=cov,
        chi2=chi2,
        dof=dof,
        reduced_chi2=chi2 / max(dof, 1),
        n_steps=n_steps,
        result=result,
        success=success,
        grad_norm=grad_norm,
        condition_number=cond,
    )
    if throw:  # on every field: the check survives whatever the caller reads
        out = raise_if_failed(
            out,
            result,
            "diffsc.minimize",
            " (increase `max_steps`, change `learning_rate`/`method` or the initial guess); "
            "pass throw=False to inspect it.",
        )
    return out


def fit_batch(residual_fn: Callable, params: PyTree, args: Any, **kwargs) -> FitResult:
    r"""Fit many datasets of equal shape in one compiled, vmapped call.

    Equivalent to ``[least_squares(residual_fn, params, a, **kwargs) for a in args]`` with the
    leading axis of every leaf of `args` as the batch axis (same initial guess for all); every
    field of the returned [`FitResult`][diffsc.FitResult] gains that leading axis (``dof`` stays an int).
    Keyword arguments are those of [`least_squares`][diffsc.least_squares]; units are those of `params`.
    """
    fit = lambda a: least_squares(residual_fn, params, a, **kwargs)
    return jax.vmap(fit)(args)


def multistart(residual_fn: Callable, starts: PyTree, args: Any = None, **kwargs) -> FitResult:
    r"""Run [`least_squares`][diffsc.least_squares] from several initial guesses and keep the best.

    `starts` is the `params` pytree with a leading axis of length $K$ (one initial guess per row).
    All $K$ fits run in one vmapped call; the result is the converged fit with the smallest
    $\chi^2$ (if none converged, the smallest $\chi^2$ overall, with ``success == False``).
    """
    fits = jax.vmap(lambda p: least_squares(residual_fn, p, args, **kwargs))(starts)
    score = jnp.where(fits.success, fits.chi2, jnp.inf)
    best = jnp.where(jnp.any(fits.success), jnp.argmin(score), jnp.argmin(fits.chi2))
    return jax.tree.map(lambda x: x[best] if isinstance(x, jax.Array) else x, fits)
