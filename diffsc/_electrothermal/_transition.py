r"""Resistive-transition models $R(T,I,B)$ and their logarithmic derivatives.

Two families (docs/electrothermal.md, §Models):

- [`TransitionModel`][diffsc.TransitionModel]: a smooth analytic step
  $R=R_N\,S\big((T-T_m)/w\big)$ with $S(x)=\tfrac12[1+\mathrm{erf}(x)]$ (a Gaussian $dR/dT$ centred
  on the midpoint, the paper's choice) or $S(x)=\tfrac12[1+\tanh(x)]$. The field lowers and
  broadens the transition, the current broadens (and optionally lowers) it:
  $$T_m=T_c-\frac{dT_c}{dB}B-\kappa_I I^2,\qquad w=\sqrt{w_0^2+(w_BB)^2+(w_II)^2}.$$
- [`TabulatedTransition`][diffsc.TabulatedTransition]: a measured $R(T)$ table turned into a smooth, differentiable
  cubic P-spline (uniform cubic B-splines with a second-difference penalty whose weight is chosen by
  generalised cross-validation), so that $\alpha(T)=T R'(T)/R(T)$ follows.

Units: $T$ in K, $I$ in A, $B$ in T (1 Oe = 1e-4 T), $R$ in Ohm. $\alpha=\partial\ln R/\partial\ln T$
and $\beta=\partial\ln R/\partial\ln I$ come in closed form for [`TransitionModel`][diffsc.TransitionModel] and from
automatic differentiation of the spline for [`TabulatedTransition`][diffsc.TabulatedTransition].
"""

from __future__ import annotations

import functools
import math
import warnings
from collections.abc import Callable

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.scipy.special as jsp

from .._core._deprecation import REQUIRED, renamed, required
from .._core._validation import (
    check_broadcast,
    check_finite,
    check_in_range,
    check_nonnegative,
    check_positive,
)
from ._impedance import _real

OERSTED = 1e-4
"""Tesla per oersted (mu_0 H in T for H in Oe)."""


class AbstractTransition(eqx.Module):
    """A resistance $R(T, I, B)$ (Ohm) with derived $\\partial R/\\partial T$, alpha and beta."""

    def resistance(self, T, I=0.0, B=0.0):  # pragma: no cover - abstract
        raise NotImplementedError

    def __call__(self, T, I=0.0, B=0.0):
        return self.resistance(T, I, B)

    def dR_dT(self, T, I=0.0, B=0.0):
        r"""$\partial R/\partial T$, Ohm/K (elementwise, by automatic differentiation)."""
        T, I, B = jnp.broadcast_arrays(
            jnp.asarray(T, float), jnp.asarray(I, float), jnp.asarray(B, float)
        )
        fn = jax.grad(lambda t, i, b: self.resistance(t, i, b))
        return jnp.vectorize(fn)(T, I, B)

    def dR_dI(self, T, I=0.0, B=0.0):
        r"""$\partial R/\partial I$, Ohm/A."""
        T, I, B = jnp.broadcast_arrays(
            jnp.asarray(T, float), jnp.asarray(I, float), jnp.asarray(B, float)
        )
        fn = jax.grad(lambda i, t, b: self.resistance(t, i, b))
        return jnp.vectorize(lambda t, i, b: fn(i, t, b))(T, I, B)

    def alpha(self, T, I=0.0, B=0.0):
        r"""$\alpha=\frac{T}{R}\frac{\partial R}{\partial T}$ (dimensionless)."""
        return T * self.dR_dT(T, I, B) / self.resistance(T, I, B)

    def beta(self, T, I=0.0, B=0.0):
        r"""$\beta=\frac{I}{R}\frac{\partial R}{\partial I}$ (dimensionless)."""
        return I * self.dR_dI(T, I, B) / self.resistance(T, I, B)


def _step(x, shape):
    if shape == "erf":
        return 0.5 * (1.0 + jsp.erf(x))
    return 0.5 * (1.0 + jnp.tanh(x))


def _step_slope(x, shape):
    r"""$S'(x)$: $e^{-x^2}/\sqrt\pi$ (erf) or $\tfrac12\,\mathrm{sech}^2x$ (tanh).

    $\mathrm{sech}^2x=1/\cosh^2x$ keeps full relative precision in the tails, where
    $1-\tanh^2x$ (the form automatic differentiation of tanh uses) cancels.
    """
    if shape == "erf":
        return jnp.exp(-(x * x)) / math.sqrt(math.pi)
    c = jnp.cosh(x)
    return 0.5 / (c * c)


def _field(check: Callable, name: str, unit: str) -> Callable:
    """Converter validating one [`TransitionModel`][diffsc.TransitionModel] field (eagerly and under ``jit``).

    A valid Python number stays a Python float (weakly typed, so a float32 evaluation stays
    float32); an array or tracer is returned as ``check`` gives it back (with its
    ``equinox.error_if``).
    """
    return functools.partial(_real, check, name=name, unit=unit)


class TransitionModel(AbstractTransition):
    r"""Smooth analytic transition $R(T,I,B)=R_{res}+(R_N-R_{res})\,S((T-T_m)/w)$.

    **Fields** (real and finite; complex, string, ``None``, boolean, empty, NaN/inf or
    out-of-range values raise an error naming the field, also under ``jit``; array fields must
    broadcast together): ``R_n`` normal resistance (Ohm, > 0); ``Tc`` midpoint $T_c$ at $I=B=0$
    (K, > 0; ``T_c`` is its deprecated old name, as keyword and attribute); ``width`` $w_0$ (K, > 0); ``dTc_dB`` (K/T, any sign); ``width_B`` $w_B$ (K/T) and
    ``width_I`` $w_I$ (K/A) (any sign, they enter squared); ``shift_I`` $\kappa_I$ (K/A^2, any
    sign); ``R_res`` residual resistance (Ohm, >= 0, default 0; keeps $\ln R$ finite far below
    $T_c$ when > 0); ``shape`` ``"erf"`` (Gaussian $dR/dT$, full width at half maximum
    $2\sqrt{\ln2}\,w$) or ``"tanh"`` (static). $R$ is even in $I$.
    """

    R_n: float = eqx.field(converter=_field(check_positive, "R_n", "Ohm"))
    Tc: float = eqx.field(converter=_field(check_positive, "Tc", "K"))
    width: float = eqx.field(converter=_field(check_positive, "width", "K"))
    dTc_dB: float = eqx.field(default=0.0, converter=_field(check_finite, "dTc_dB", "K/T"))
    width_B: float = eqx.field(default=0.0, converter=_field(check_finite, "width_B", "K/T"))
    width_I: float = eqx.field(default=0.0, converter=_field(check_finite, "width_I", "K/A"))
    shift_I: float = eqx.field(default=0.0, converter=_field(check_finite, "shift_I", "K/A^2"))
    R_res: float = eqx.field(default=0.0, converter=_field(check_nonnegative, "R_res", "Ohm"))
    shape: str = eqx.field(static=True, default="erf")

    def __init__(self, R_n, Tc=REQUIRED, width=REQUIRED, dTc_dB=0.0, width_B=0.0, width_I=0.0,
                 shift_I=0.0, R_res=0.0, shape="erf", *, T_c=None):
        # Written out only to accept the deprecated keyword `T_c`; equinox applies the field
        # converters and __check_init__ after it, and jit/vmap/tree_at rebuild models without it.
        # (stacklevel 5: the warning points at the caller, past equinox's construction frames.)
        self.R_n = R_n
        self.Tc = renamed("TransitionModel", "T_c", "Tc", T_c, Tc, REQUIRED, stacklevel=5)
        self.width = required("TransitionModel", "width", width)
        self.dTc_dB, self.width_B, self.width_I = dTc_dB, width_B, width_I
        self.shift_I, self.R_res, self.shape = shift_I, R_res, shape

    @property
    def T_c(self):
        """Deprecated old name of `Tc` (warns ``DeprecationWarning``)."""
        warnings.warn("diffsc.TransitionModel: attribute `T_c` is deprecated and will be removed "
                      "in the next release; call it `Tc`.", DeprecationWarning, stacklevel=3)
        return self.Tc

    def __check_init__(self):
        if self.shape not in ("erf", "tanh"):
            raise ValueError(
                f"diffsc: TransitionModel `shape` must be 'erf' or 'tanh', got {self.shape!r}."
            )
        names = ("R_n", "Tc", "width", "dTc_dB", "width_B", "width_I", "shift_I", "R_res")
        check_broadcast(*((n, getattr(self, n)) for n in names))

    def midpoint(self, I=0.0, B=0.0):
        r"""$T_m(I,B)$, K."""
        return self.Tc - self.dTc_dB * B - self.shift_I * I**2

    def transition_width(self, I=0.0, B=0.0):
        r"""$w(I,B)=\sqrt{w_0^2+(w_BB)^2+(w_II)^2}$, K."""
        return jnp.sqrt(self.width**2 + (self.width_B * B) ** 2 + (self.width_I * I) ** 2)

    def _evaluate(self, what: str, T, I, B):
        """Validate ``(T, I, B)`` and evaluate one of the closed forms (`_closed_form`)."""
        T = _real(check_positive, T, "T", "K")
        I = _real(check_finite, I, "I", "A")
        B = _real(check_finite, B, "B", "T")
        return _closed_form(self, what, T, I, B)

    def resistance(self, T, I=0.0, B=0.0):
        """R(T, I, B) in Ohm for T in K, I in A, B in T (arrays broadcast)."""
        return self._evaluate("R", T, I, B)

    # Closed forms of the derivatives: the same numbers as automatic differentiation of
    # `resistance` (tested to 1e-13), but one pass over the arrays instead of a vectorised
    # gradient that evaluates the step twice; a 10^6-point (T, I, B, f) grid of Im Z runs ~3x
    # faster (benchmarks/bench_electrothermal.py). They stay differentiable.
    def dR_dT(self, T, I=0.0, B=0.0):
        r"""$\partial R/\partial T=(R_N-R_{res})\,S'(x)/w$, Ohm/K (closed form)."""
        return self._evaluate("dR_dT", T, I, B)

    def dR_dI(self, T, I=0.0, B=0.0):
        r"""$\partial R/\partial I=(R_N-R_{res})\,S'(x)\,\partial x/\partial I$, Ohm/A.

        $\partial x/\partial I=(2\kappa_II-x\,w_I^2I/w)/w$ (from $T_m$ and $w$ above); closed form.
        """
        return self._evaluate("dR_dI", T, I, B)

    def alpha(self, T, I=0.0, B=0.0):
        r"""$\alpha=\frac{T}{R}\frac{\partial R}{\partial T}$ (dimensionless, closed form)."""
        return self._evaluate("alpha", T, I, B)


# One compiled program per method and shape, also for eager calls (op by op it was ~10 small
# compilations per method, ~1 s before the first result). jax.jit, not eqx.filter_jit: the
# model's Python-float fields are traced too, so new parameter values do not recompile.
@functools.partial(jax.jit, static_argnames="what")
def _closed_form(model: TransitionModel, what: str, T, I, B):
    w = model.transition_width(I, B)
    x = (T - model.midpoint(I, B)) / w
    scale = model.R_n - model.R_res
    if what == "R":
        return model.R_res + scale * _step(x, model.shape)
    slope = scale * _step_slope(x, model.shape)
    if what == "dR_dT":
        return slope / w
    if what == "dR_dI":
        return slope * (2.0 * model.shift_I * I - x * model.width_I**2 * I / w) / w
    return T * slope / (w * (model.R_res + scale * _step(x, model.shape)))  # alpha


def _bspline_weights(s):
    """Uniform cubic B-spline weights on one interval (s in [0, 1))."""
    s2, s3 = s * s, s * s * s
    return jnp.stack(
        [
            (1.0 - s) ** 3 / 6.0,
            (3.0 * s3 - 6.0 * s2 + 4.0) / 6.0,
            (-3.0 * s3 + 3.0 * s2 + 3.0 * s + 1.0) / 6.0,
            s3 / 6.0,
        ],
        axis=-1,
    )


def bspline_basis(x, t0, h, n_intervals: int):
    """Dense uniform cubic B-spline design matrix, shape x.shape + (n_intervals + 3,)."""
    u = (x - t0) / h
    i = jnp.clip(jnp.floor(u), 0, n_intervals - 1)
    w = _bspline_weights(u - i)
    idx = i.astype(jnp.int32)[..., None] + jnp.arange(4, dtype=jnp.int32).reshape((1,) * i.ndim + (4,))
    onehot = jax.nn.one_hot(idx, n_intervals + 3, dtype=w.dtype)
    return jnp.sum(w[..., None] * onehot, axis=-2)


def second_difference_matrix(n: int):
    """(n-2, n) second-difference operator D2 (rows [1, -2, 1])."""
    eye = jnp.eye(n)
    return eye[2:] - 2.0 * eye[1:-1] + eye[:-2]


@eqx.filter_jit
def pspline_fit(x, y, *, n_intervals: int, lam=None, weights=None, lam_grid=None):
    r"""Penalised cubic B-spline (P-spline) least squares on a uniform knot grid over [min x, max x].

    Minimises $\sum_kw_k(y_k-\sum_jc_jB_j(x_k))^2+\lambda\|D_2c\|^2$. If ``lam`` is None it is chosen by
    generalised cross-validation, $\mathrm{GCV}(\lambda)=n\,\mathrm{RSS}/(n-\mathrm{tr}\,H)^2$, over
    ``lam_grid`` (default $10^{-8}\ldots10^{4}$ times $\mathrm{tr}(B^TWB)/\mathrm{tr}(D^TD)$).

    **Returns:** ``(coef, t0, h, lam)``; evaluate with `bspline_basis` ``@ coef``.
    """
    x = jnp.asarray(x, float)
    y = jnp.asarray(y, float)
    t0, t1 = jnp.min(x), jnp.max(x)
    h = (t1 - t0) / n_intervals
    Bm = bspline_basis(x, t0, h, n_intervals)
    w = jnp.ones_like(y) if weights is None else jnp.asarray(weights, float)
    BtW = Bm.T * w[None, :]
    BtWB = BtW @ Bm
    BtWy = BtW @ y
    D = second_difference_matrix(n_intervals + 3)
    DtD = D.T @ D
    scale = jnp.trace(BtWB) / jnp.trace(DtD)

    def solve(lam_):
        A = BtWB + lam_ * DtD
        coef = jnp.linalg.solve(A, BtWy)
        r = y - Bm @ coef
        rss = jnp.sum(w * r**2)
        tr = jnp.trace(jnp.linalg.solve(A, BtWB))
        n = y.shape[0]
        return coef, n * rss / (n - tr) ** 2

    if lam is None:
        grid = scale * (jnp.logspace(-8.0, 4.0, 49) if lam_grid is None else jnp.asarray(lam_grid))
        _, gcv = jax.vmap(solve)(grid)
        lam = grid[jnp.argmin(gcv)]
    coef, _ = solve(lam)
    return coef, t0, h, lam


class TabulatedTransition(AbstractTransition):
    r"""Smooth differentiable interpolant of a measured $R(T)$ (Ohm vs K); no $I$, $B$ dependence.

    Build with `from_data`. Evaluating outside ``[T_min, T_max]`` of the data raises an error
    naming ``T`` (also under ``jit``). ``beta`` is zero (supply it separately).
    """

    coef: jax.Array
    t0: jax.Array
    h: jax.Array
    lam: jax.Array
    n_intervals: int = eqx.field(static=True)

    @classmethod
    def from_data(cls, T, R, *, n_intervals: int | None = None, lam=None, sigma=None):
        r"""Fit a cubic P-spline to ``R`` (Ohm) on ``T`` (K, strictly increasing not required).

        ``n_intervals`` knot intervals (default ``max(8, len(T)//3)``); ``lam`` the penalty weight
        (None: generalised cross-validation); ``sigma`` optional per-point uncertainty (Ohm).
        """
        T = check_positive(T, "T", "K", dtype=float)
        R = check_finite(R, "R", dtype=float)
        if T.shape != R.shape or T.ndim != 1:
            raise ValueError(
                f"diffsc: `T` {T.shape} and `R` {R.shape} must be 1-D of the same shape."
            )
        n = n_intervals or max(8, T.shape[0] // 3)
        weights = (
            None if sigma is None else 1.0 / check_positive(sigma, "sigma", dtype=float) ** 2
        )
        coef, t0, h, lam = pspline_fit(T, R, n_intervals=n, lam=lam, weights=weights)
        return cls(coef=coef, t0=t0, h=h, lam=jnp.asarray(lam), n_intervals=n)

    @property
    def T_range(self):
        """(T_min, T_max) of the data, K."""
        return self.t0, self.t0 + self.h * self.n_intervals

    def resistance(self, T, I=0.0, B=0.0):
        """Smoothed R(T), Ohm; ``I`` and ``B`` are ignored."""
        T = jnp.asarray(T, float)
        lo, hi = self.T_range
        tol = 1e-9 * hi
        T = check_in_range(
            T, "T", lo - tol, hi + tol, msg="lies outside the temperature range of the R(T) data"
        )
        return bspline_basis(T, self.t0, self.h, self.n_intervals) @ self.coef


def gaussian_transition(R_n, Tc=REQUIRED, fwhm=REQUIRED, *, T_c=None, **kw) -> TransitionModel:
    r"""Erf step whose $dR/dT$ is a Gaussian of full width at half maximum ``fwhm`` (K) at ``Tc``.

    **Arguments** (real, finite, broadcast together): ``R_n`` normal resistance, Ohm (> 0);
    ``Tc`` midpoint $T_c$, K (> 0; ``T_c`` is its deprecated old name); ``fwhm`` full width at
    half maximum of $dR/dT$, K (> 0; the model's ``width`` is $\mathrm{fwhm}/2\sqrt{\ln 2}$).
    ``kw``: further [`TransitionModel`][diffsc.TransitionModel] fields.
    Bad input raises an error naming the argument, eagerly and under ``jit``/``vmap``.
    """
    Tc = renamed("gaussian_transition", "T_c", "Tc", T_c, Tc, REQUIRED)
    R_n = _real(check_positive, R_n, "R_n", "Ohm")
    Tc = _real(check_positive, Tc, "Tc", "K")
    fwhm = _real(check_positive, required("gaussian_transition", "fwhm", fwhm), "fwhm", "K")
    check_broadcast(("R_n", R_n), ("Tc", Tc), ("fwhm", fwhm))
    return TransitionModel(
        R_n=R_n, Tc=Tc, width=fwhm / (2.0 * math.sqrt(math.log(2.0))), shape="erf", **kw
    )
