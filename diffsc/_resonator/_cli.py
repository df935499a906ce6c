r"""``diffsc fit s21 FILE ...`` and ``diffsc fit temperature RESULTS``: measured data on the command line.

``diffsc fit s21`` reads every file with [`read_sweep`][diffsc.read_sweep], fits them all in one batched,
compiled call with [`fit_s21`][diffsc.fit_s21], prints one line per file (success, values, the reason
of a failure), optionally writes a table (``--out results.csv`` or ``.json``) and plots
(``--plots DIR``), and exits with status 1 when any file could not be read or fitted (2 for bad
arguments). ``diffsc fit temperature`` fits $f_{res}(T)$ and $Q_i(T)$ of such a table with
[`fit_temperature_sweep`][diffsc.fit_temperature_sweep]; temperatures come from a column or from the file names.

Compiled programs are kept on disk (see `diffsc._core._compilation_cache`), so only the first run
compiles; ``--no-cache`` (or ``DIFFSC_NO_CACHE=1``) switches that off.
"""

from __future__ import annotations

import csv
import glob
import json
import math
import re
import sys
import time
from pathlib import Path

_STATUS = {True: "ok", False: "FAIL"}


class _Fatal(Exception):
    """A command-line error: printed without traceback, exit status 2."""


_CHUNK = 256  # sweeps per compiled call on the command line (the progress bar moves per chunk)


def _use_cpu_cores() -> None:
    """Let JAX see the CPU cores as devices, so that fit_s21 splits a batch over them.

    Only before JAX has run anything, and never over the user's own setting
    (``JAX_NUM_CPU_DEVICES``, or ``--xla_force_host_platform_device_count`` in ``XLA_FLAGS``).
    On a machine with a GPU the fits run there and this changes nothing.
    """
    import os

    import jax

    if "JAX_NUM_CPU_DEVICES" in os.environ or "host_platform_device_count" in os.environ.get(
            "XLA_FLAGS", ""):
        return
    n = min(os.cpu_count() or 1, 8)
    if n > 1:
        try:
            jax.config.update("jax_num_cpu_devices", n)
        except RuntimeError:  # the backend already runs (main() called from a session)
            pass


def _progress(msg: str, quiet: bool) -> None:
    if not quiet:
        print(msg, file=sys.stderr, flush=True)


def _bar(items, what: str, quiet: bool):
    """A tqdm progress bar on stderr (drawn only on a terminal, never with --quiet)."""
    from tqdm.auto import tqdm

    return tqdm(items, desc=what, unit="file" if what == "reading" else "batch",
                disable=quiet or not sys.stderr.isatty(), file=sys.stderr, leave=False)


def _expand(patterns) -> list[str]:
    """File arguments with glob patterns expanded (for shells that do not), order kept."""
    out = []
    for p in patterns:
        hits = sorted(glob.glob(p)) if any(c in p for c in "*?[") else []
        out.extend(hits or [p])
    return out


def _parse_delay(text):
    if text is None or text.lower() in ("free", "none"):
        return None
    if text.lower() == "baseline":
        return "baseline"
    try:
        return float(text)
    except ValueError:
        raise _Fatal(f"--delay must be 'free', 'baseline' or a delay in seconds (e.g. 55e-9); "
                     f"got {text!r}.") from None


def _parse_crop(text):
    if text is None:
        return None
    if ":" in text:
        lo, _, hi = text.partition(":")
        try:
            return (float(lo), float(hi))
        except ValueError:
            raise _Fatal(f"--crop FMIN:FMAX needs two frequencies in Hz; got {text!r}.") from None
    try:
        return float(text)
    except ValueError:
        raise _Fatal(f"--crop must be a number of linewidths or FMIN:FMAX in Hz; got {text!r}."
                     ) from None


def _fmt_q(value, std):
    if not math.isfinite(value):
        return f"{value}"
    if not math.isfinite(std):
        return f"{value:.4g} ± inf"
    return f"{value:.4g} ± {std:.2g}"


def _table(rows) -> str:
    """One line per file: verdict, f_res, Qi, Qc and the first reason of a failure."""
    head = f"{'file':28s} {'fit':4s} {'f_res (GHz)':>15s} {'Qi':>20s} {'Qc':>20s}  reason"
    lines = [head, "-" * len(head)]
    for row in rows:
        name = (row["file"] or "")[-28:]
        ok = _STATUS[row["success"]]
        text = row["reasons"].replace(f"{row.get('path')!r}: ", "").replace(
            f"{row.get('path')!r}, ", "")  # the file is named in the first column
        reasons = [text] if row["result"] == "read_error" else (text.split("; ") if text else [])
        reason = reasons[0] + (f" (+{len(reasons) - 1} more)" if len(reasons) > 1 else "") if reasons else ""
        if row["result"] in ("no_signal", "nonfinite", "read_error"):
            values = f"{'':>15s} {'':>20s} {'':>20s}"
        else:
            values = (f"{row['f_res'] / 1e9:15.9f} {_fmt_q(row['Qi'], row['Qi_std']):>20s}"
                      f" {_fmt_q(row['Qc'], row['Qc_std']):>20s}")
        lines.append(f"{name:28s} {ok:4s} {values}  {reason}")
    return "\n".join(lines)


def _write_rows(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix.lower() == ".json":
        path.write_text(json.dumps(rows, indent=1, allow_nan=True))
        return
    keys = []
    for row in rows:
        keys += [k for k in row if k not in keys]
    with path.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=keys)
        writer.writeheader()
        writer.writerows(rows)


_CLI_NAMES = (("`format`", "--format"), ("`freq_unit`", "--freq-unit"),
              ("skip_bad_rows=True", "--skip-bad-rows"), ("parameter=", "--parameter "),
              ("`delimiter`", "the delimiter"), ("diffsc.read_sweep: ", ""))


def _for_command_line(message: str) -> str:
    """A reader's message with its keyword arguments named as command-line options."""
    for api, option in _CLI_NAMES:
        message = message.replace(api, option)
    return message


def _read_error_row(path, message):
    return {"file": Path(path).stem, "path": str(path), "model": None, "success": False,
            "result": "read_error", "reasons": message}


def _cmd_fit_s21(args) -> int:
    from .._core._compilation_cache import enable_compilation_cache

    _use_cpu_cores()
    if not args.no_cache:
        enable_compilation_cache()
    try:
        delay = _parse_delay(args.delay)
        crop = _parse_crop(args.crop)
    except _Fatal as err:
        print(f"diffsc fit s21: {err}", file=sys.stderr)
        return 2
    out = Path(args.out) if args.out else None
    if out is not None and out.suffix.lower() not in (".csv", ".json"):
        print(f"diffsc fit s21: --out must end in .csv or .json; got {out.name!r}.",
              file=sys.stderr)
        return 2
    import warnings

    from ._sweep_io import read_sweep

    files = _expand(args.files)
    t0 = time.perf_counter()
    sweeps, errors = [], []
    bar = _bar(files, "reading", args.quiet)
    for name in bar:
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                sw = read_sweep(name, format=args.format, freq_unit=args.freq_unit,
                                parameter=args.parameter, skip_bad_rows=args.skip_bad_rows)
            for w in caught:
                bar.write(f"{name}: warning: {_for_command_line(str(w.message))}")
            sweeps.append(sw)
        except (ValueError, OSError) as err:  # SweepFormatError is a ValueError
            message = _for_command_line(str(err))
            errors.append(_read_error_row(name, message))
    model = args.model or ("reflection" if args.parameter.upper() in ("S11", "S22") else "notch")
    rows = []
    if sweeps:
        from .._core._compilation_cache import cache_dir
        from ._s21_fit import fit_s21

        if not args.quiet:
            note = "" if cache_dir() is None else "; the first run compiles (~5-10 s), later runs reuse the cache"
            print(f"fitting {len(sweeps)} sweep(s), {model} model{note}", file=sys.stderr,
                  flush=True)
        chunks = [sweeps[i:i + _CHUNK] for i in range(0, len(sweeps), _CHUNK)]
        bar = _bar(chunks, "fitting", args.quiet or len(chunks) == 1)
        for chunk in bar:
            try:
                fit = fit_s21(chunk, model=model, delay=delay, crop=crop,
                              background=args.background)
            except ValueError as err:
                print(f"diffsc fit s21: {err}", file=sys.stderr)
                return 2
            part = fit.to_rows()
            for row, sw in zip(part, chunk, strict=True):
                row["path"] = sw.path
                row["parameter"] = sw.parameter
            rows += part
            if args.plots:
                _plots(fit, Path(args.plots), args.quiet)
    by_path = {r["path"]: r for r in rows + errors}
    ordered = [by_path[str(Path(f))] if str(Path(f)) in by_path else by_path.get(f) for f in files]
    ordered = [r for r in ordered if r is not None]
    print(_table(ordered))
    n_ok = sum(r["success"] for r in ordered)
    print(f"{n_ok} of {len(ordered)} file(s) fitted successfully "
          f"({time.perf_counter() - t0:.2f} s)")
    if out is not None:
        _write_rows(out, ordered)
        print(f"results written to {out}")
    return 0 if n_ok == len(ordered) and ordered else 1


def _plots(fit, folder: Path, quiet: bool) -> None:
    """One PNG per sweep, drawn on plain matplotlib Figures (no pyplot state, no backend switch:
    safe when main() runs inside a notebook)."""
    from matplotlib.figure import Figure

    folder.mkdir(parents=True, exist_ok=True)
    for i, name in enumerate(_bar(fit.names, "plots", quiet)):
        fig = fit.plot(index=i, fig=Figure(figsize=(12.5, 3.6), layout="constrained"))
        fig.savefig(folder / f"{name}_fit.png", dpi=110)


# ------------------------------------------------------------------------------------------------
# fit temperature
# ------------------------------------------------------------------------------------------------

_T_COLUMNS = {"t": 1.0, "t_k": 1.0, "temperature": 1.0, "temperature_k": 1.0, "t_mk": 1e-3,
              "temperature_mk": 1e-3}
_DEFAULT_PATTERN = r"(?P<T>\d+(?:[.p]\d+)?)\s*(?P<unit>mK|K)(?![a-zA-Z])"


def _temperature_from_name(name: str, pattern: str, unit: str | None) -> float:
    m = re.search(pattern, name, flags=re.IGNORECASE)
    if m is None:
        raise _Fatal(f"no temperature in the file name {name!r} (pattern {pattern!r}); pass "
                     "--pattern with a group (?P<T>...) or --temperature-column.")
    groups = m.groupdict()
    text = groups.get("T") or m.group(1)
    value = float(text.replace("p", "."))
    u = (groups.get("unit") or unit or "").lower()
    if u not in ("mk", "k"):
        raise _Fatal(f"the temperature unit of {name!r} is unknown: add a group (?P<unit>mK|K) "
                     "to --pattern or pass --temperature-unit.")
    return value * (1e-3 if u == "mk" else 1.0)


def _read_table(path: Path) -> list[dict]:
    if path.suffix.lower() == ".json":
        rows = json.loads(path.read_text())
        if isinstance(rows, dict):
            rows = rows.get("fits") or [dict(zip(rows, v, strict=True))
                                        for v in zip(*rows.values(), strict=True)]
        return rows
    with path.open(newline="") as fh:
        return list(csv.DictReader(fh))


def _float(row, key):
    v = row.get(key)
    if v in (None, ""):
        return math.nan
    return float(v)


def _cmd_fit_temperature(args) -> int:
    from .._core._compilation_cache import enable_compilation_cache

    _use_cpu_cores()
    if not args.no_cache:
        enable_compilation_cache()
    path = Path(args.results)
    try:
        if not path.exists():
            raise _Fatal(f"file {str(path)!r} not found.")
        rows = _read_table(path)
        if not rows:
            raise _Fatal(f"{path.name}: no rows.")
        for key in ("f_res",):
            if key not in rows[0]:
                raise _Fatal(f"{path.name}: needs a column {key!r} (a table written by "
                             "`diffsc fit s21 ... --out results.csv`).")
        used, skipped = [], []
        for row in rows:
            ok = str(row.get("success", "True")).lower() in ("true", "1", "yes")
            (used if ok else skipped).append(row)
        if skipped:
            _progress(f"leaving out {len(skipped)} failed S21 fit(s): "
                      + ", ".join(str(r.get("file")) for r in skipped), args.quiet)
        T = []
        for row in used:
            if args.temperature_column:
                col = args.temperature_column
                if col not in row:
                    raise _Fatal(f"{path.name}: no column {col!r}; columns: {sorted(row)}.")
                factor = {"mk": 1e-3, "k": 1.0}[(args.temperature_unit or "K").lower()]
                T.append(float(row[col]) * factor)
                continue
            col = next((k for k in row if k.lower() in _T_COLUMNS), None)
            if col is not None:
                T.append(float(row[col]) * _T_COLUMNS[col.lower()])
            else:
                T.append(_temperature_from_name(str(row.get("path") or row.get("file")),
                                                args.pattern, args.temperature_unit))
    except _Fatal as err:
        print(f"diffsc fit temperature: {err}", file=sys.stderr)
        return 2
    if len(used) < 4:
        print(f"diffsc fit temperature: {len(used)} usable point(s); need at least 4.",
              file=sys.stderr)
        return 1
    import numpy as np

    from ._temperature_fit import fit_temperature_sweep

    order = np.argsort(T)
    T = np.asarray(T)[order]
    used = [used[i] for i in order]
    col = lambda k: np.asarray([_float(r, k) for r in used])
    f_res, f_std, qi, qi_std = col("f_res"), col("f_res_std"), col("Qi"), col("Qi_std")
    use_qi = not args.no_qi and np.all(np.isfinite(qi))
    std_ok = lambda s: bool(np.all(np.isfinite(s) & (s > 0)))
    _progress(f"fitting f_res(T){' and Qi(T)' if use_qi else ''} at {len(T)} temperatures "
              f"({T.min() * 1e3:.0f}–{T.max() * 1e3:.0f} mK), {args.material}, "
              f"{args.film} film{', with TLS' if args.tls else ''} ...", args.quiet)
    try:
        fit = fit_temperature_sweep(
            T, f_res, Qi=qi if use_qi else None,
            f_res_std=f_std if std_ok(f_std) else None,
            Qi_std=qi_std if (use_qi and std_ok(qi_std)) else None,
            material=args.material, film=args.film, tls=args.tls,
        )
    except ValueError as err:
        print(f"diffsc fit temperature: {err}", file=sys.stderr)
        return 2
    d = fit.to_dict()
    print(f"temperature fit: {'success' if d['success'] else 'FAILED'}"
          + ("" if d["success"] else ": " + "; ".join(d["reasons"])))
    for name, p in d["parameters"].items():
        print(f"  {name:9s} = {_fmt_q(p['value'], p['std']):>24s} {p['unit']}")
    if args.out:
        out = Path(args.out)
        out.write_text(json.dumps(d, indent=1, allow_nan=True))
        print(f"result written to {out}")
    if args.plot:
        from matplotlib.figure import Figure

        fig = fit.plot(fig=Figure(figsize=(10, 6), layout="constrained"))
        fig.savefig(args.plot, dpi=110)
        print(f"plot written to {args.plot}")
    return 0 if d["success"] else 1


# ------------------------------------------------------------------------------------------------
# argparse glue
# ------------------------------------------------------------------------------------------------


def add_subcommands(subparsers) -> None:
    """Add ``fit s21`` and ``fit temperature`` to the ``diffsc`` argparse sub-parsers."""
    fit = subparsers.add_parser("fit", help="fit measured data with diffsc's models")
    fit_sub = fit.add_subparsers(dest="fit_kind", required=True)
    s21 = fit_sub.add_parser(
        "s21", help="fit resonator sweeps (Touchstone, CSV/TXT, NPZ) in one batch",
        description="Fit one or many resonator sweeps in one compiled batch. Prints one line per "
        "file; exit status 1 if any file could not be read or fitted, 2 for bad arguments.",
    )
    s21.add_argument("files", nargs="+", metavar="FILE",
                     help="sweep files or glob patterns (.s1p/.s2p/.snp/.ts, .csv/.txt/.dat, .npz)")
    s21.add_argument("--format", choices=["re_im", "db_rad", "db_deg", "lin_rad", "lin_deg"],
                     help="column format of text files (default: from the header)")
    s21.add_argument("--freq-unit", choices=["Hz", "kHz", "MHz", "GHz"],
                     help="frequency unit of text files (default: from the header)")
    s21.add_argument("--parameter", default="S21", help="S21 (default), S11, S12 or S22")
    s21.add_argument("--model", choices=["notch", "notch_no_delay", "ideal", "reflection",
                                         "reflection_ideal"],
                     help="default: notch for S21/S12, reflection for S11/S22")
    s21.add_argument("--delay", help="cable delay: free (default), baseline, or seconds")
    s21.add_argument("--crop", help="linewidths around the resonance (e.g. 8) or FMIN:FMAX in Hz")
    s21.add_argument("--background", choices=["flat", "linear"], default="flat",
                     help="amplitude background: flat (default) or a fitted linear tilt")
    s21.add_argument("--skip-bad-rows", action="store_true",
                     help="drop rows that do not parse (with a warning) instead of failing")
    s21.add_argument("--out", help="write the results table (.csv or .json)")
    s21.add_argument("--plots", metavar="DIR", help="write one PNG of data and fit per file")
    s21.add_argument("--no-cache", action="store_true",
                     help="do not use or write the on-disk compilation cache")
    s21.add_argument("--quiet", action="store_true", help="no progress messages on stderr")
    s21.set_defaults(func=_cmd_fit_s21)

    tf = fit_sub.add_parser(
        "temperature", help="fit f_res(T), Qi(T) with Mattis–Bardeen (gap, alpha_k, TLS)",
        description="Fit the temperature dependence of the resonance from a table written by "
        "`diffsc fit s21 ... --out results.csv`. Temperatures come from a column (T, T_K, "
        "T_mK, temperature) or are parsed from the file names (e.g. 'res_120mK.s2p').",
    )
    tf.add_argument("results", help="results table of `diffsc fit s21` (.csv or .json)")
    tf.add_argument("--material", default="Al", help="material preset (default Al)")
    tf.add_argument("--film", default="thin", choices=["thin", "thick", "anomalous"],
                    help="surface-impedance regime (default thin)")
    tf.add_argument("--tls", action="store_true", help="add two-level-system shift and loss")
    tf.add_argument("--no-qi", action="store_true", help="fit f_res(T) only")
    tf.add_argument("--temperature-column", help="column holding the temperature")
    tf.add_argument("--temperature-unit", choices=["K", "mK"],
                    help="unit of --temperature-column or of the pattern's number")
    tf.add_argument("--pattern", default=_DEFAULT_PATTERN,
                    help="regex for the temperature in file names, with a group (?P<T>...) "
                    "and optionally (?P<unit>mK|K)")
    tf.add_argument("--out", help="write the fitted parameters (.json)")
    tf.add_argument("--plot", help="write a PNG of data, model and residuals")
    tf.add_argument("--no-cache", action="store_true", help="no on-disk compilation cache")
    tf.add_argument("--quiet", action="store_true", help="no progress messages on stderr")
    tf.set_defaults(func=_cmd_fit_temperature)
