r"""The result of [`fit_s21`][diffsc.fit_s21]: values, uncertainties, validity, export and plots."""

from __future__ import annotations

import warnings

import equinox as eqx
import jax
import numpy as np

from .._core._fit_status import FIT_RESULTS, codes_from_checks, reasons_from_checks

MAX_Q = 1e13
"""Upper bound of Qi and |Qc| in the fit."""
NAMES = ("f_res", "Qi", "Qc", "phi", "a", "alpha", "tau", "slope")
"""Fitted parameters, in the order of ``S21Fit.covariance``."""
DERIVED = ("Ql", "Qc_eff")
UNITS = {"f_res": "Hz", "Qi": "1", "Qc": "1", "phi": "rad", "a": "1", "alpha": "rad",
         "tau": "s", "slope": "1/Hz", "Ql": "1", "Qc_eff": "1"}
_K = {"notch": 1.0, "notch_no_delay": 1.0, "ideal": 1.0, "reflection": 2.0,
      "reflection_ideal": 2.0}


def model_response(freq, values: dict, model: str = "notch"):
    r"""The fitted model $S(f)$ at frequencies `freq` (Hz) from a dict of values (NumPy):
    [`s21_notch`][diffsc.s21_notch] ($k=1$) or the reflection ($k=2$), times the background
    $1+b\,(f-f_{res})$ when a ``slope`` $b$ is given."""
    k = _K[model]
    f = np.asarray(freq, float)
    fr, Qi, Qc, phi = (float(values[n]) for n in ("f_res", "Qi", "Qc", "phi"))
    a, alpha, tau = (float(values[n]) for n in ("a", "alpha", "tau"))
    slope = float(values.get("slope", 0.0))
    Ql = 1.0 / (1.0 / Qi + np.cos(phi) / Qc)
    env = a * (1.0 + slope * (f - fr)) * np.exp(1j * (alpha - 2.0 * np.pi * f * tau))
    return env * (1.0 - k * (Ql / Qc) * np.exp(1j * phi) / (1.0 + 2j * Ql * (f / fr - 1.0)))


def _fmt(value, std=None, unit=""):
    if std is None or not np.isfinite(std) or std <= 0:
        s = f"{value:.6g}"
        if std is not None and not np.isfinite(std):
            s += " ± inf"
        return f"{s} {unit}".strip()
    digits = max(int(np.ceil(np.log10(abs(value) / std))) + 2, 2) if value else 2
    return f"{value:.{min(digits, 12)}g} ± {std:.2g} {unit}".strip()


class S21Fit(eqx.Module):
    r"""Result of [`fit_s21`][diffsc.fit_s21]; every array has the leading (batch) shape of the input.

    **Fields:**

    - `params`, `std`: dicts over ``f_res`` (Hz), ``Qi``, ``Qc`` (= $|Q_c|$), ``phi`` (rad),
      ``a`` (units of the data), ``alpha`` (rad, phase at $f=0$ as in [`s21_notch`][diffsc.s21_notch]),
      ``tau`` (s), ``slope`` (1/Hz: the background $a[1+b(f-f_{res})]$, 0 unless fitted with
      ``background="linear"``), ``Ql`` and ``Qc_eff`` ($|Q_c|/\cos\phi$, Khalil's diameter-corrected value),
      with 1-sigma uncertainties (``inf`` for a quantity the data do not determine, 0 when held
      fixed). Also as attributes: ``fit.Qi``, ``fit.Qi_std``, ... (`params` is the name every
      fit result uses; the former name `values` still works, with a ``DeprecationWarning``.)
    - `covariance`: ``(..., 8, 8)`` covariance of ``NAMES`` = (f_res, Qi, Qc, phi, a, alpha, tau,
      slope).
    - `initial`: dict of the starting values (automatic guess, or the user's `guess`).
    - `chi2`, `reduced_chi2`: of the weighted complex residual (data units squared);
      `noise`: residual noise per quadrature (data units); `snr`: matched-filter SNR of the
      resonance; `linewidths`: span of the fitted points in linewidths $f_{res}/Q_l$;
      `n_points`: points fitted (after cropping, weight > 0); `n_steps`: LM steps.
    - `checks`: bit mask of failed checks; `result`: the most fundamental failure, a
      [`FIT_RESULTS`][diffsc.FIT_RESULTS] value (``0`` = successful); `success`: all checks passed;
      `optimiser_result`: the [`RESULTS`][diffsc.RESULTS] code of the Levenberg–Marquardt run alone
      (0 converged, 1 `max_steps` reached, 2 non-finite).
    - `freq`, `s`, `weights`: the data as fitted, padded to a common length (padding has weight
      0); `n_data`: the number of data points of each sweep before padding.
    - `model`: the model name; `names`: file names of the sweeps (or ``None``).

    **Methods:** `reasons` (why a fit failed, in words), `to_dict()` and `to_rows()` (export),
    `plot()` (data and model), `model_response(freq)`.
    """

    params: dict
    std: dict
    covariance: jax.Array
    initial: dict
    chi2: jax.Array
    reduced_chi2: jax.Array
    noise: jax.Array
    snr: jax.Array
    linewidths: jax.Array
    n_points: jax.Array
    n_steps: jax.Array
    checks: jax.Array
    result: jax.Array
    success: jax.Array
    freq: jax.Array
    s: jax.Array
    weights: jax.Array
    n_data: jax.Array
    model: str = eqx.field(static=True, default="notch")
    names: tuple | None = eqx.field(static=True, default=None)
    optimiser_result: jax.Array | None = None

    @classmethod
    def from_arrays(cls, out: dict, freq, s, n_data, *, model: str, names=None) -> S21Fit:
        """Assemble the result from the arrays of the compiled fit (internal)."""
        all_names = NAMES + DERIVED
        params = {n: out["values"][..., i] for i, n in enumerate(all_names)}
        std = {n: out["std"][..., i] for i, n in enumerate(all_names)}
        initial = {n: out["initial"][..., i] for i, n in enumerate(NAMES)}
        return cls(
            params=params, std=std, covariance=out["covariance"], initial=initial,
            chi2=out["chi2"], reduced_chi2=out["reduced_chi2"], noise=out["noise"],
            snr=out["snr"], linewidths=out["linewidths"], n_points=out["n_points"],
            n_steps=out["n_steps"], checks=out["checks"],
            result=out["result"], success=out["checks"] == 0,
            freq=freq, s=s, weights=out["weights"], n_data=n_data, model=model, names=names,
            optimiser_result=out.get("optimiser_result"),
        )

    @property
    def values(self) -> dict:
        """Deprecated alias of `params` (the name every fit result uses)."""
        warnings.warn("S21Fit.values is deprecated; use S21Fit.params.", DeprecationWarning,
                      stacklevel=2)
        return self.params

    # --- direct access to values and uncertainties -------------------------------------------
    f_res = property(lambda self: self.params["f_res"], doc="Resonance frequency, Hz.")
    Qi = property(lambda self: self.params["Qi"], doc="Internal quality factor.")
    Qc = property(lambda self: self.params["Qc"], doc="Magnitude |Qc| of the coupling Q.")
    Qc_eff = property(lambda self: self.params["Qc_eff"], doc="|Qc|/cos(phi).")
    Ql = property(lambda self: self.params["Ql"], doc="Loaded quality factor.")
    phi = property(lambda self: self.params["phi"], doc="Mismatch rotation, rad.")
    a = property(lambda self: self.params["a"], doc="Off-resonance amplitude (data units).")
    alpha = property(lambda self: self.params["alpha"], doc="Phase at f = 0, rad.")
    tau = property(lambda self: self.params["tau"], doc="Cable delay, s.")
    slope = property(lambda self: self.params["slope"], doc="Background slope, 1/Hz.")
    f_res_std = property(lambda self: self.std["f_res"], doc="1-sigma of f_res, Hz.")
    Qi_std = property(lambda self: self.std["Qi"], doc="1-sigma of Qi.")
    Qc_std = property(lambda self: self.std["Qc"], doc="1-sigma of |Qc|.")
    Qc_eff_std = property(lambda self: self.std["Qc_eff"], doc="1-sigma of Qc_eff.")
    Ql_std = property(lambda self: self.std["Ql"], doc="1-sigma of Ql.")
    phi_std = property(lambda self: self.std["phi"], doc="1-sigma of phi, rad.")
    a_std = property(lambda self: self.std["a"], doc="1-sigma of a.")
    alpha_std = property(lambda self: self.std["alpha"], doc="1-sigma of alpha, rad.")
    tau_std = property(lambda self: self.std["tau"], doc="1-sigma of tau, s.")
    slope_std = property(lambda self: self.std["slope"], doc="1-sigma of slope, 1/Hz.")

    @property
    def batch_shape(self) -> tuple:
        """Leading (batch) shape; ``()`` for a single sweep."""
        return tuple(np.shape(self.checks))

    def _index_list(self):
        return [()] if not self.batch_shape else list(np.ndindex(*self.batch_shape))

    def _name(self, index):
        if self.names is None:
            return None if index == () else "sweep " + ",".join(map(str, index))
        flat = int(np.ravel_multi_index(index, self.batch_shape)) if index else 0
        return self.names[flat]

    @property
    def reasons(self):
        """Why each fit failed, in words: a tuple of messages for a single sweep (empty when
        successful), a nested list of tuples for a batch."""
        v = {k: np.asarray(x) for k, x in self.params.items()}
        sd = {k: np.asarray(x) for k, x in self.std.items()}
        freq, w = np.asarray(self.freq), np.asarray(self.weights)

        def undetermined(i):
            bad = []
            for n in ("f_res", "Qi", "Qc", "phi", "a"):
                s, x = sd[n][i], v[n][i]
                if not np.isfinite(s):
                    bad.append(f"{n} ± inf")
                elif n in ("Qi", "Qc", "a") and s > abs(x):
                    bad.append(f"{n} ± {100 * s / abs(x):.3g} %")
                elif n == "f_res" and s > abs(x / v["Ql"][i]):
                    bad.append(f"f_res ± {s / abs(x / v['Ql'][i]):.2g} linewidths")
                elif n == "phi" and s > np.pi / 2:
                    bad.append(f"phi ± {s:.2g} rad")
            return ", ".join(bad) or "singular covariance"

        def outside(i):
            fi = freq[i][w[i] > 0]
            return f"f_res = {v['f_res'][i]:.9g} Hz, data {fi.min():.9g}–{fi.max():.9g} Hz"

        details = {
            FIT_RESULTS.max_steps_reached: lambda i: f"{int(np.asarray(self.n_steps)[i])} steps",
            FIT_RESULTS.resonance_outside_sweep: outside,
            FIT_RESULTS.sweep_too_narrow:
                lambda i: f"{float(np.asarray(self.linewidths)[i]):.3g} linewidths; need >= 3",
            FIT_RESULTS.no_resonance: lambda i: f"SNR {float(np.asarray(self.snr)[i]):.3g}; need >= 10",
            FIT_RESULTS.phi_out_of_range: lambda i: f"phi = {v['phi'][i]:.3g} rad",
            FIT_RESULTS.undetermined: undetermined,
            FIT_RESULTS.at_bound: lambda i: ", ".join(
                f"{n} = {v[n][i]:.3g}" for n in ("Qi", "Qc") if v[n][i] >= 0.999999 * MAX_Q
            ) + " at the upper bound: only a lower limit is measured",
        }
        return reasons_from_checks(self.checks, details)

    @property
    def status(self):
        """The [`FIT_RESULTS`][diffsc.FIT_RESULTS] member of `result`: one for a single sweep, a (nested)
        list for a batch."""
        r = np.asarray(self.result)
        if r.ndim == 0:
            return FIT_RESULTS(int(r))
        return np.frompyfunc(lambda x: FIT_RESULTS(int(x)), 1, 1)(r).tolist()

    def model_response(self, freq=None, index=()):
        """The fitted model at `freq` (Hz; default: the fitted points) for one sweep."""
        if freq is None:
            freq = np.asarray(self.freq)[index][np.asarray(self.weights)[index] > 0]
        values = {k: np.asarray(x)[index] for k, x in self.params.items()}
        return model_response(freq, values, self.model)

    # --- export -------------------------------------------------------------------------------
    def to_rows(self) -> list[dict]:
        """One flat, JSON/CSV-ready dict per sweep: ``file``, ``model``, ``success``, ``result``
        (name), ``reasons`` (joined by '; '), ``n_points``, ``snr``, ``reduced_chi2``,
        ``linewidths``, then ``<name>`` and ``<name>_std`` for every parameter (SI units, see
        ``UNITS``). ``pandas.DataFrame(fit.to_rows())`` gives a table."""
        reasons = self.reasons
        rows = []
        for index in self._index_list():
            r = reasons if index == () else _nested(reasons, index)
            row = {
                "file": self._name(index),
                "model": self.model,
                "success": bool(np.asarray(self.success)[index]),
                "result": FIT_RESULTS(int(np.asarray(self.result)[index])).name,
                "reasons": "; ".join(r),
                "n_points": int(np.asarray(self.n_points)[index]),
                "snr": float(np.asarray(self.snr)[index]),
                "reduced_chi2": float(np.asarray(self.reduced_chi2)[index]),
                "linewidths": float(np.asarray(self.linewidths)[index]),
            }
            for n in NAMES + DERIVED:
                row[n] = float(np.asarray(self.params[n])[index])
                row[n + "_std"] = float(np.asarray(self.std[n])[index])
            rows.append(row)
        return rows

    def to_dict(self) -> dict:
        """Column-oriented export: for a single sweep the row of `to_rows` plus
        ``units``; for a batch the same keys with one list entry per sweep (flattened batch)."""
        rows = self.to_rows()
        if not self.batch_shape:
            return {**rows[0], "units": dict(UNITS)}
        out = {k: [r[k] for r in rows] for k in rows[0]}
        out["units"] = dict(UNITS)
        return out

    # --- plots --------------------------------------------------------------------------------
    def plot(self, index=None, *, fig=None, max_rows: int = 8):
        """Data and fitted model: |S| (dB), phase (delay removed) against frequency, and the
        complex plane; fitted values with uncertainties in the legend, the verdict in the title.

        For a batch, `index` picks one sweep; without it up to `max_rows` sweeps are drawn, one
        row each. Points left out of the fit (cropped, weight 0) are drawn grey. Returns the
        matplotlib figure.
        """
        import matplotlib.pyplot as plt

        if index is None:
            indices = self._index_list()
            if len(indices) > max_rows:
                raise ValueError(f"S21Fit.plot: {len(indices)} sweeps; pass index= or raise "
                                 f"max_rows (now {max_rows}).")
        else:
            indices = [index if isinstance(index, tuple) else (index,)]
        if fig is None:
            fig = plt.figure(figsize=(12.5, 3.6 * len(indices)), layout="constrained")
        axes = fig.subplots(len(indices), 3, squeeze=False)
        for row, idx in zip(axes, indices, strict=True):
            self._plot_one(row, idx)
        return fig

    def _plot_one(self, ax, index):
        f = np.asarray(self.freq)[index]
        z = np.asarray(self.s)[index]
        w = np.asarray(self.weights)[index]
        v = {k: float(np.asarray(x)[index]) for k, x in self.params.items()}
        sd = {k: float(np.asarray(x)[index]) for k, x in self.std.items()}
        n_real = int(np.asarray(self.n_data)[index])
        f, z, w = f[:n_real], z[:n_real], w[:n_real]
        used = w > 0
        codes = codes_from_checks(int(np.asarray(self.checks)[index]))
        has_model = not {FIT_RESULTS.no_signal, FIT_RESULTS.nonfinite} & set(codes)
        # the cable delay is removed from data and model, so the resonance is a circle
        tau = v["tau"] if has_model and np.isfinite(v["tau"]) else 0.0
        unwind = lambda ff, zz: zz * np.exp(2j * np.pi * ff * tau)
        x0 = v["f_res"] if has_model else 0.5 * (f[0] + f[-1])
        scale, unit = (1e-6, "MHz") if np.ptp(f) > 2e6 else (1e-3, "kHz")
        xd = (f - x0) * scale
        db = lambda zz: 20 * np.log10(np.maximum(np.abs(zz), 1e-15))
        ph = lambda ff, zz: np.degrees(np.unwrap(np.angle(unwind(ff, zz))))
        zd, phd = unwind(f, z), ph(f, z)
        for mask, style in ((~used, dict(color="0.7", ms=2)), (used, dict(color="C0", ms=2.5))):
            ax[0].plot(xd[mask], db(z[mask]), ".", **style)
            ax[1].plot(xd[mask], phd[mask], ".", **style)
            ax[2].plot(zd.real[mask], zd.imag[mask], ".", **style)
        ax[1].lines[-1].set_label("data")
        if has_model:
            fm = np.linspace(f[used].min(), f[used].max(), 2000)
            zm = model_response(fm, v, self.model)
            xm = (fm - x0) * scale
            phm = ph(fm, zm)
            phm += 360 * np.round((np.interp(fm[0], f, phd) - phm[0]) / 360)
            label = "\n".join([
                f"$f_{{res}}$ = {_fmt(v['f_res'], sd['f_res'], 'Hz')}",
                f"$Q_i$ = {_fmt(v['Qi'], sd['Qi'])}",
                f"$|Q_c|$ = {_fmt(v['Qc'], sd['Qc'])}",
                f"$\\phi$ = {_fmt(v['phi'], sd['phi'], 'rad')}",
                f"$\\tau$ = {_fmt(v['tau'] * 1e9, sd['tau'] * 1e9, 'ns')}",
            ])
            ax[0].plot(xm, db(zm), "-", color="C3", lw=1.4, label=label)
            ax[1].plot(xm, phm, "-", color="C3", lw=1.4, label="fit")
            zmu = unwind(fm, zm)
            ax[2].plot(zmu.real, zmu.imag, "-", color="C3", lw=1.4)
            ax[0].legend(fontsize=7, loc="best", handlelength=1.0, framealpha=0.85)
        else:
            ax[0].text(0.5, 0.5, "no model: " + codes[0].name, transform=ax[0].transAxes,
                       ha="center", va="center", color="C3")
        ax[2].plot([0], [0], "+", color="k", ms=6)
        ax[2].set_aspect("equal", adjustable="datalim")
        ax[2].locator_params(nbins=5)
        ax[0].set_xlabel(f"f − f_res ({unit})" if has_model else f"f − f_centre ({unit})")
        ax[1].set_xlabel(ax[0].get_xlabel())
        ax[0].set_ylabel(f"|{'S11' if self.model.startswith('reflection') else 'S21'}| (dB)")
        ax[1].set_ylabel("phase, delay removed (deg)")
        ax[2].set_xlabel("Re S, delay removed")
        ax[2].set_ylabel("Im S, delay removed")
        ax[1].legend(fontsize=7, loc="best")
        ok = bool(np.asarray(self.success)[index])
        name = self._name(index)
        verdict = "success" if ok else "FAILED: " + ", ".join(c.name for c in codes)
        title = (f"{name}: " if name else "") + f"{self.model} fit — {verdict}"
        ax[1].set_title(title, color="k" if ok else "C3", fontsize=10)


def _nested(lst, index):
    for i in index:
        lst = lst[i]
    return lst
