"""``diffsc scan CONFIG``: the scan command line (``diffsc fit`` lives in ``_resonator/_cli.py``).

A scan config is a TOML file::

    model = "mattis_bardeen"        # a registered name (``diffsc scan --list-models``) or
                                     # "package.module:function"
    output = "mb_scan"               # store directory (relative to the config file)
    chunk_size = 4096                # optional: points per device per call
    resume = false                   # optional (or --resume on the command line)
    mode = "cartesian"               # or "listed" (all grid arrays of one length)

    [fixed]                          # non-scanned arguments
    material = "Al"

    [grid]                           # one entry per scanned argument, each with its unit
    T = { start = 0.05, stop = 1.1, num = 60, unit = "K" }
    freq = { values = [2.0, 5.0, 10.0], unit = "GHz" }   # converted to the model's Hz
    # also: { start = .., stop = .., num = .., spacing = "log", unit = .. }

Units are checked against the model's expected unit; SI prefixes (m, u, n, k, M, G, ...) are
converted; a negative temperature, frequency or time is refused. Models returning a result object
(``kinetic_steady_state`` -> ``KineticSolution``) are stored by its numeric fields (fields that
echo a scanned argument and non-numeric ones are left out); a model with a ``throw`` argument gets
``throw = false`` unless the config sets it, so failed points are flagged, not raised.

``--distributed`` runs the command as one process of a multi-process scan: it calls
``jax.distributed.initialize()`` first (coordinator, process count and id detected from SLURM,
Open MPI or a TPU pod; e.g. ``srun diffsc scan cfg.toml --distributed``), then every process
computes its share of the chunks into the one store (see `diffsc.scan`). Only process 0 prints
the summary line.

Every error is one line, ``diffsc scan: <config file>: <what is wrong>``, never a traceback: exit
status 2 for what the config or command must change (unknown model or parameter, wrong unit, a
grid value the model rejects, an existing output without ``--resume``, a store another scan is
writing), 1 for anything else, 130 when interrupted. Warnings (a damaged chunk recomputed) are
one line each, ``diffsc scan: <config file>: warning: ...``.
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import json
import re
import sys
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np


class ConfigError(ValueError):
    """A scan config that cannot be used; the message says what to change."""


# ------------------------------------------------------------------------------------------------
# units
# ------------------------------------------------------------------------------------------------

_PREFIX = {
    "f": 1e-15,
    "p": 1e-12,
    "n": 1e-9,
    "u": 1e-6,
    "µ": 1e-6,
    "μ": 1e-6,
    "m": 1e-3,
    "k": 1e3,
    "M": 1e6,
    "G": 1e9,
    "T": 1e12,
}
_DIMENSIONLESS = {"1", "", "dimensionless"}
_SYNONYMS = {"ohm": "Ohm", "Ω": "Ohm", "kelvin": "K", "hz": "Hz"}


def unit_factor(given: str, expected: str, *, what: str) -> float:
    """Factor converting a value in unit `given` to the unit `expected` (prefixes only)."""
    g = _SYNONYMS.get(given, given)
    e = _SYNONYMS.get(expected, expected)
    if g == e or (g in _DIMENSIONLESS and e in _DIMENSIONLESS):
        return 1.0
    for p, factor in _PREFIX.items():
        if g == p + e and e not in _DIMENSIONLESS:
            return factor
        if e == p + g and g not in _DIMENSIONLESS:
            return 1.0 / factor
    raise ConfigError(f"{what}: unit {given!r} is not compatible with the expected {expected!r}.")


# units of conventional argument names across diffsc (SI, energies in eV)
_ARGUMENT_UNITS = {
    "T": "K",
    "T_bath": "K",
    "Tc": "K",
    "freq": "Hz",
    "f_res": "Hz",
    "V": "V",
    "I": "A",
    "R": "Ohm",
    "R_wiring": "Ohm",
    "C": "J/K",
    "G": "W/K",
    "L": "H",
    "gap": "eV",
    "dynes": "eV",
    "transmission": "1",
    "alpha": "1",
    "beta": "1",
    "Qi": "1",
    "Qc": "1",
    "B": "T",
    "P": "W",
    "P_read": "W",
    "power": "W/m^3",
    "P_abs": "W/m^3",
    "thickness": "m",
    "width": "m",
    "length": "m",
    "tau": "s",
    "tau_esc": "s",
    "absorbed_power_density": "W/m^3",
    "phonon_power_density": "W/m^3",
    "pair_breaking_power_density": "W/m^3",
    "pair_breaking_freq": "Hz",
    "phonon_energy": "eV",
    "energy_extent": "eV",
}
# scanned values in these units are physically non-negative (absolute temperature, frequency,
# time): a negative one is a config error, found before anything runs or is created
_NONNEGATIVE_UNITS = {"K": "a temperature", "Hz": "a frequency", "s": "a time"}


# ------------------------------------------------------------------------------------------------
# model registry
# ------------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class ScanModel:
    """A scannable model: ``build(fixed) -> fn(**grid)`` with the units of its arguments."""

    name: str
    build: Callable[[dict], Callable]
    params: dict  # scannable argument -> unit (None: unknown, recorded as given)
    fixed: dict  # fixed argument -> description
    outputs: dict  # output -> unit
    doc: str = ""
    open_params: bool = False  # accept arguments not listed in `params` (functions with **kw)
    output_dims: dict = dataclasses.field(default_factory=dict)  # output -> trailing dim names
    required_fixed: tuple = ()  # fixed arguments without a default (e.g. `material`)


def _material_of(fixed, model):
    import diffsc

    name = fixed.get("material", "Al")
    try:
        return diffsc.material(name) if isinstance(name, str) else name
    except ValueError as err:
        raise ConfigError(f"model {model!r}: {err}") from None


def _build_gap(fixed):
    import diffsc

    mat = _material_of(fixed, "gap")
    cutoff = bool(fixed.get("cutoff", True))
    return lambda T: {"gap": diffsc.gap(T, mat, cutoff=cutoff)}


def _build_mattis_bardeen(fixed):
    import diffsc

    if not hasattr(diffsc, "mattis_bardeen"):
        raise ConfigError("model 'mattis_bardeen' needs diffsc.mattis_bardeen (not available).")
    mat = _material_of(fixed, "mattis_bardeen")

    def fn(freq, T):
        delta = diffsc.gap(T, mat)
        s1, s2 = diffsc.mattis_bardeen(freq, T, delta)
        return {"sigma1": s1, "sigma2": s2, "gap": delta}

    return fn


_REGISTRY: dict[str, ScanModel] = {
    "gap": ScanModel(
        "gap",
        _build_gap,
        {"T": "K"},
        {"material": "preset name (default Al)", "cutoff": "bool"},
        {"gap": "eV"},
        "BCS gap Delta(T) of a material preset (diffsc.gap).",
    ),
    "mattis_bardeen": ScanModel(
        "mattis_bardeen",
        _build_mattis_bardeen,
        {"freq": "Hz", "T": "K"},
        {"material": "preset name (default Al)"},
        {"sigma1": "1", "sigma2": "1", "gap": "eV"},
        "Thermal Mattis-Bardeen sigma1/sigma_N, sigma2/sigma_N with Delta(T) of the material.",
    ),
}

# diffsc public functions resolved lazily by name (if this installation has them)
_LAZY = ("electrothermal_impedance", "mar_current", "kinetic_steady_state", "mattis_bardeen")

# units and trailing dimensions of the fields of result objects of lazily resolved models
_KINETIC_BIN = ("bin",)
_KINETIC_PHONON = ("phonon_bin",)
_RESULT_OUTPUTS = {
    "kinetic_steady_state": (
        {
            "energies": "eV",
            "f": "1",
            "dos": "1",
            "bin_width": "eV",
            "phonon_energies": "eV",
            "n": "1",
            "n_bath": "1",
            "phonon_power_spectrum": "W/(m^3 eV)",
            "gap": "eV",
            "gap_thermal": "eV",
            "nqp": "1/m^3",
            "nqp_thermal": "1/m^3",
            "nqp_thermal_exact": "1/m^3",
            "tau_qp": "s",
            "drive_rate": "1/s",
            "absorbed_power": "W/m^3",
            "pair_breaking_rate": "1/s",
            "pair_breaking_power": "W/m^3",
            "pair_generation_rate": "1/(m^3 s)",
            "drive_generation_rate": "1/(m^3 s)",
            "power_qp_to_phonons": "W/m^3",
            "power_to_bath": "W/m^3",
            "sigma1_grid": "1",
            "freq": "Hz",
            "T_bath": "K",
            "residual_norm": "1",
        },
        {
            "energies": _KINETIC_BIN,
            "f": _KINETIC_BIN,
            "dos": _KINETIC_BIN,
            "phonon_energies": _KINETIC_PHONON,
            "n": _KINETIC_PHONON,
            "n_bath": _KINETIC_PHONON,
            "phonon_power_spectrum": _KINETIC_PHONON,
        },
    ),
}


def _generic_model(name: str, target: Callable) -> ScanModel:
    sig = inspect.signature(target)
    params, fixed, open_params, required_fixed = {}, {}, False, []
    for p in sig.parameters.values():
        if p.kind is p.VAR_KEYWORD:
            open_params = True
        elif p.kind is p.VAR_POSITIONAL:
            continue
        elif p.name == "material":
            fixed["material"] = "preset name"
            if p.default is p.empty:
                required_fixed.append("material")
        else:
            params[p.name] = _ARGUMENT_UNITS.get(p.name)

    def build(fixed_values):
        kw = dict(fixed_values)
        if isinstance(kw.get("material"), str):
            kw["material"] = _material_of(kw, name)

        def fn(**grid):
            return _split_complex(_result_dict(target(**grid, **kw), set(grid)))

        return fn

    doc = (inspect.getdoc(target) or "").split("\n", 1)[0]
    units, dims = _RESULT_OUTPUTS.get(name, ({}, {}))
    return ScanModel(
        name, build, params, fixed, dict(units), doc, open_params, dict(dims), tuple(required_fixed)
    )


def _result_dict(out, scanned: set) -> dict:
    """A model's result as name -> array: a dict as it is, a named tuple by field, a tuple as
    ``out0, out1, ...``, a result object (dataclass, ``equinox.Module``, e.g. ``KineticSolution``)
    by its numeric fields (other fields and fields that echo a scanned argument are left out),
    anything else as ``value``."""
    import jax

    if isinstance(out, dict):
        return dict(out)
    if isinstance(out, tuple) and hasattr(out, "_asdict"):
        return dict(out._asdict())
    if isinstance(out, tuple):
        return {f"out{i}": o for i, o in enumerate(out)}
    if dataclasses.is_dataclass(out) and not isinstance(out, type):
        numeric = (jax.Array, np.ndarray, np.generic, bool, int, float, complex)
        res = {}
        for field in dataclasses.fields(out):
            value = getattr(out, field.name, None)
            if field.name in scanned or not isinstance(value, numeric):
                continue
            res[field.name] = value
        return res
    return {"value": out}


def _split_complex(out: dict) -> dict:
    import jax.numpy as jnp

    res = {}
    for k, v in out.items():
        v = jnp.asarray(v)
        if jnp.iscomplexobj(v):
            res[f"{k}_re"], res[f"{k}_im"] = v.real, v.imag
        else:
            res[k] = v
    return res


def available_models() -> list[str]:
    """Registered and lazily available model names."""
    import diffsc

    return sorted(set(_REGISTRY) | {n for n in _LAZY if hasattr(diffsc, n)})


def resolve_model(name: str) -> ScanModel:
    """A model by registered name, lazily by diffsc public name, or as ``"module:function"``."""
    if not isinstance(name, str) or not name:
        raise ConfigError("`model` must be a non-empty string.")
    if name in _REGISTRY:
        return _REGISTRY[name]
    if ":" in name:
        mod_name, _, fn_name = name.partition(":")
        try:
            mod = importlib.import_module(mod_name)
        except ImportError as err:
            raise ConfigError(
                f"model {name!r}: cannot import module {mod_name!r} ({err})."
            ) from None
        target = getattr(mod, fn_name, None)
        if not callable(target):
            raise ConfigError(f"model {name!r}: module {mod_name!r} has no function {fn_name!r}.")
        return _generic_model(name, target)
    import diffsc

    target = getattr(diffsc, name, None)
    if name in _LAZY and callable(target):
        return _generic_model(name, target)
    raise ConfigError(
        f"unknown model {name!r}; available: {available_models()} or 'package.module:function'."
    )


# ------------------------------------------------------------------------------------------------
# config
# ------------------------------------------------------------------------------------------------


def _load_toml(path: Path) -> dict:
    try:
        import tomllib
    except ImportError:  # Python 3.10
        try:
            import tomli as tomllib
        except ImportError:
            raise ConfigError("reading TOML needs Python >= 3.11 or `pip install tomli`.") from None
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError("file not found.") from None
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"invalid TOML: {err}") from None


def _grid_values(name: str, entry) -> tuple[np.ndarray, str | None]:
    if not isinstance(entry, dict):
        entry = {"values": entry}
    unit = entry.get("unit")
    known = {"values", "start", "stop", "num", "spacing", "unit"}
    extra = set(entry) - known
    if extra:
        raise ConfigError(f"grid `{name}`: unknown key(s) {sorted(extra)}; use {sorted(known)}.")
    if "values" in entry:
        values = np.asarray(entry["values"], dtype=float).reshape(-1)
    elif {"start", "stop", "num"} <= set(entry):
        num = entry["num"]
        if not isinstance(num, int) or num < 1:
            raise ConfigError(f"grid `{name}`: `num` must be a positive integer, got {num!r}.")
        spacing = entry.get("spacing", "linear")
        if spacing == "linear":
            values = np.linspace(float(entry["start"]), float(entry["stop"]), num)
        elif spacing == "log":
            if not (entry["start"] > 0 and entry["stop"] > 0):
                raise ConfigError(f"grid `{name}`: log spacing needs start, stop > 0.")
            values = np.geomspace(float(entry["start"]), float(entry["stop"]), num)
        else:
            raise ConfigError(
                f"grid `{name}`: `spacing` must be 'linear' or 'log', got {spacing!r}."
            )
    else:
        raise ConfigError(f"grid `{name}`: give `values` or `start`, `stop`, `num`.")
    if values.size == 0 or not np.all(np.isfinite(values)):
        raise ConfigError(f"grid `{name}`: values must be finite and non-empty.")
    return values, unit


@dataclasses.dataclass
class ScanConfig:
    """A validated scan config (see the module docstring)."""

    model: ScanModel
    grid: dict
    units: dict
    fixed: dict
    output: Path
    chunk_size: int | None
    resume: bool
    listed: bool


def load_config(
    path, *, resume: bool | None = None, output=None, check_target: bool = True
) -> ScanConfig:
    """Read and validate a TOML scan config; raises `ConfigError` naming the problem.

    ``check_target=False`` leaves the check of the output store to `diffsc.scan` (a
    multi-process scan: process 0 checks it there and every process reports its verdict).
    """
    path = Path(path)
    cfg = _load_toml(path)
    known = {"model", "output", "chunk_size", "resume", "mode", "fixed", "grid", "units"}
    extra = set(cfg) - known
    if extra:
        raise ConfigError(f"unknown key(s) {sorted(extra)}; allowed: {sorted(known)}.")
    if "model" not in cfg:
        raise ConfigError("missing `model`.")
    model = resolve_model(cfg["model"])
    grid_cfg = cfg.get("grid")
    if not isinstance(grid_cfg, dict) or not grid_cfg:
        raise ConfigError(
            f"missing [grid]; scannable parameters of {model.name!r}: {sorted(model.params)}."
        )
    for table in ("fixed", "units"):
        if not isinstance(cfg.get(table, {}), dict):
            raise ConfigError(f"[{table}] must be a table (name = value lines).")
    fixed = dict(cfg.get("fixed", {}))
    unknown_fixed = set(fixed) - set(model.fixed) - set(model.params)
    if unknown_fixed and not model.open_params:
        raise ConfigError(
            f"unknown fixed parameter(s) {sorted(unknown_fixed)} for model {model.name!r}; "
            f"fixed: {sorted(model.fixed)}, scannable: {sorted(model.params)}."
        )
    if isinstance(fixed.get("material"), str):
        _material_of(fixed, model.name)  # unknown preset -> ConfigError now, not mid-run
    grid, units = {}, {}
    for name, entry in grid_cfg.items():
        if name not in model.params and not model.open_params:
            raise ConfigError(
                f"unknown parameter {name!r} for model {model.name!r}; "
                f"scannable: {sorted(model.params)}."
            )
        if name in fixed:
            raise ConfigError(f"parameter {name!r} is both fixed and scanned.")
        values, unit = _grid_values(name, entry)
        expected = model.params.get(name)
        if expected is not None:
            if unit is None:
                raise ConfigError(f"grid `{name}`: give its `unit` (model expects {expected!r}).")
            values = values * unit_factor(str(unit), expected, what=f"grid `{name}`")
            unit = expected
            if expected in _NONNEGATIVE_UNITS and np.any(values < 0):
                raise ConfigError(
                    f"grid `{name}`: {_NONNEGATIVE_UNITS[expected]} must be >= 0 {expected}, "
                    f"got {values[values < 0][0]:g} {expected}."
                )
        grid[name] = values
        if unit is not None:
            units[name] = str(unit)
    missing = [
        n for n, p in _required_params(model).items() if p and n not in grid and n not in fixed
    ]
    missing += [n for n in model.required_fixed if n not in fixed]
    if missing:
        raise ConfigError(
            f"model {model.name!r} needs parameter(s) {missing} in [grid] or [fixed]."
        )
    if "throw" in model.params and "throw" not in fixed and "throw" not in grid:
        fixed["throw"] = False  # a scan keeps failed points, flagged by `success`/`result`
    units.update({k: v for k, v in model.outputs.items()})
    units.update(cfg.get("units", {}))
    mode = cfg.get("mode", "cartesian")
    if mode not in ("cartesian", "listed"):
        raise ConfigError(f"`mode` must be 'cartesian' or 'listed', got {mode!r}.")
    out = output if output is not None else cfg.get("output")
    if out is None:
        raise ConfigError("missing `output` (a directory for the scan store).")
    out = Path(out)
    if not out.is_absolute() and output is None:
        out = path.parent / out
    chunk = cfg.get("chunk_size")
    if chunk is not None and (not isinstance(chunk, int) or chunk < 1):
        raise ConfigError(f"`chunk_size` must be a positive integer, got {chunk!r}.")
    res = bool(cfg.get("resume", False)) if resume is None else bool(resume)
    if check_target:
        from ._scan import check_store_target

        try:
            check_store_target(out, res)  # a foreign, locked or existing store: refused now
        except FileExistsError as err:
            msg = _one_line(err).replace("resume=True (command line: --resume)", "--resume")
            raise ConfigError(msg) from None
    return ScanConfig(model, grid, units, fixed, out, chunk, res, mode == "listed")


def _required_params(model: ScanModel) -> dict:
    if model.name in _REGISTRY:
        return {n: True for n in model.params}
    return {n: True for n in model.params if n in _required_names(model)}


def _required_names(model: ScanModel) -> set:
    target = None
    if ":" in model.name:
        mod_name, _, fn_name = model.name.partition(":")
        target = getattr(importlib.import_module(mod_name), fn_name)
    else:
        import diffsc

        target = getattr(diffsc, model.name)
    return {
        p.name
        for p in inspect.signature(target).parameters.values()
        if p.default is p.empty and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)
    }


def run_config(config: ScanConfig, *, progress: bool | None = None):
    """Run a validated config; returns the ``xarray.Dataset``."""
    from ._scan import scan

    fn = config.model.build(config.fixed)
    keys = _output_keys(config, fn)
    return scan(
        fn,
        config.grid,
        listed=config.listed,
        chunk_size=config.chunk_size,
        path=config.output,
        resume=config.resume,
        units={k: v for k, v in config.units.items() if k in keys or k in config.grid},
        output_dims={k: v for k, v in config.model.output_dims.items() if k in keys},
        progress=progress,
        attrs={"model": config.model.name, "fixed": json.dumps(config.fixed, default=str)},
    )


def _output_keys(config, fn) -> set:
    import jax

    args = [jax.ShapeDtypeStruct((), np.asarray(v).dtype) for v in config.grid.values()]
    names = list(config.grid)
    try:
        outs = jax.eval_shape(lambda *a: fn(**dict(zip(names, a, strict=True))), *args)
    except TypeError:
        return set()  # scan() traces fn again and reports the error with the arguments
    return set(outs) if isinstance(outs, dict) else {"value"}


# ------------------------------------------------------------------------------------------------
# argparse glue
# ------------------------------------------------------------------------------------------------


_EQX_MESSAGE = re.compile(r"E(?:quinox|qx)RuntimeError:\s*(\S[^\n]*)")


def _one_line(err: BaseException) -> str:
    """The error as one line: a model check's own message, else the first line, without the
    ``diffsc...:`` prefix (the command line prints its own)."""
    text = str(err)
    match = _EQX_MESSAGE.search(text)
    if match:
        line = match.group(1).strip()
    else:
        line = next((ln.strip() for ln in text.splitlines() if ln.strip()), "")
    for prefix in ("diffsc.scan: ", "diffsc.open_scan: ", "diffsc: "):
        if line.startswith(prefix):
            line = line[len(prefix) :]
            break
    return line or type(err).__name__


# errors that mean "change the config or the command": exit status 2; others: 1
_USAGE_ERRORS = (ConfigError, ValueError, TypeError, FileExistsError)


def _cmd_scan(args) -> int:
    """``diffsc scan``: every error is one line on stderr (no traceback) and a non-zero status."""
    where = f"diffsc scan: {args.config}" if args.config is not None else "diffsc scan"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            code = _run_scan_command(args)
        except KeyboardInterrupt:
            print(
                f"{where}: interrupted; finished chunks are kept (continue with --resume).",
                file=sys.stderr,
            )
            code = 130
        except _USAGE_ERRORS as err:
            print(f"{where}: {_one_line(err)}", file=sys.stderr)
            code = 2
        except Exception as err:
            print(f"{where}: {type(err).__name__}: {_one_line(err)}", file=sys.stderr)
            code = 1
    for w in caught:
        if issubclass(w.category, UserWarning) and str(w.message).startswith("diffsc"):
            print(f"{where}: warning: {_one_line(w.message)}", file=sys.stderr)
        else:
            warnings.showwarning(w.message, w.category, w.filename, w.lineno)
    return code


def _run_scan_command(args) -> int:
    if args.list_models:
        for name in available_models():
            m = resolve_model(name)
            units = ", ".join(f"{k} [{u or '?'}]" for k, u in m.params.items())
            print(f"{name}: {m.doc}\n    scannable: {units}")
        return 0
    if args.config is None:
        print("diffsc scan: give a CONFIG file (or --list-models).", file=sys.stderr)
        return 2
    if args.distributed:
        _initialize_distributed()
    if not args.no_cache:
        from .._core._compilation_cache import enable_compilation_cache

        enable_compilation_cache()
    config = load_config(
        args.config,
        resume=True if args.resume else None,
        output=args.out,
        check_target=not args.distributed,
    )
    if args.chunk_size is not None:
        config.chunk_size = args.chunk_size
    progress = False if args.no_progress else None
    ds = run_config(config, progress=progress)
    if ds.attrs["n_processes"] > 1 and _process_index() != 0:
        return 0  # the summary is process 0's
    n, bad = ds.attrs["n_points"], ds.attrs["n_invalid"]
    rate = ds.attrs["chunks_computed"] and n / max(ds.attrs["seconds_computing"], 1e-9)
    print(
        f"diffsc scan: {config.model.name}: {n} points ({bad} invalid) -> {config.output}"
        f" [{ds.attrs['chunks_computed']} chunks computed, {ds.attrs['chunks_loaded']} loaded"
        + (
            f", {ds.attrs['chunks_rejected']} damaged and recomputed"
            if ds.attrs.get("chunks_rejected")
            else ""
        )
        + (f", {rate:.3g} points/s" if rate else "")
        + (f", {ds.attrs['n_processes']} processes" if ds.attrs["n_processes"] > 1 else "")
        + "]"
    )
    return 0


def _initialize_distributed():
    """``jax.distributed.initialize()`` with the cluster's settings (SLURM, Open MPI, TPU)."""
    import jax

    try:
        jax.distributed.initialize()
    except ValueError as err:  # no cluster detected: no coordinator, process count or id
        raise ConfigError(
            f"--distributed: jax.distributed.initialize() found no cluster to join ({err}); "
            "start one process per node with srun (SLURM) or mpirun (Open MPI), or call "
            "jax.distributed.initialize(...) and diffsc.scan from a Python script."
        ) from None


def _process_index() -> int:
    import jax

    return jax.process_index()


def add_subcommands(subparsers) -> None:
    """Add ``scan`` to the ``diffsc`` argparse sub-parsers."""
    sc = subparsers.add_parser("scan", help="run a parameter scan described by a TOML config")
    sc.add_argument("config", nargs="?", help="TOML config (see `diffsc scan --help`)")
    sc.add_argument("--resume", action="store_true", help="continue an interrupted scan")
    sc.add_argument("--out", help="output store directory (overrides the config)")
    sc.add_argument("--chunk-size", type=int, help="points per device per call")
    sc.add_argument("--no-progress", action="store_true", help="no progress bar")
    sc.add_argument("--list-models", action="store_true", help="list the scannable models")
    sc.add_argument("--no-cache", action="store_true",
                    help="no on-disk compilation cache (also DIFFSC_NO_CACHE=1)")
    sc.add_argument(
        "--distributed",
        action="store_true",
        help="one process of a multi-process scan (jax.distributed.initialize() from "
        "SLURM/Open MPI; e.g. srun diffsc scan CONFIG --distributed)",
    )
    sc.set_defaults(func=_cmd_scan)
