r"""Chunked, sharded, resumable parameter scans returning an ``xarray.Dataset``.

``scan(fn, grid)`` evaluates a per-point model ``fn(**point) -> scalar | dict`` over the Cartesian
product of 1-D coordinate arrays (or over a list of points with ``listed=True``):

* the $N=\prod_k n_k$ points are cut into chunks of a fixed size (static shapes, one compilation);
* inside a chunk the model is lifted with ``jax.vmap`` and compiled with ``jax.jit``;
* every chunk is split over all local devices with a ``jax.sharding.Mesh`` /
  ``NamedSharding`` along the point axis (XLA's SPMD partitioner does the work);
* with ``jax.distributed.initialize()`` called first, each process takes every
  ``process_count``-th chunk and writes it to the shared store; all processes then read the whole
  store;
* with ``path=`` every finished chunk is written to ``path/chunks/chunk_XXXXXXXX.npz`` by an atomic
  rename, so a scan killed at any instant resumes (``resume=True``) without recomputing or losing
  a finished chunk.

Point indices are generated on the device ($i = i_0 + \mathrm{iota}$, unravelled in C order), so the
host sends one integer per chunk. The last chunk is padded by repeating the last point and trimmed.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import os
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

STORE_VERSION = 1
_MANIFEST = "manifest.json"
_GRID = "grid.npz"
_CHUNKS = "chunks"
_MERGED = "scan.nc"
DEFAULT_POINTS_PER_DEVICE = 16384
_FLAG_KEYS = ("success", "result")


# ------------------------------------------------------------------------------------------------
# grid and output specification
# ------------------------------------------------------------------------------------------------


def _normalise_grid(grid: Mapping[str, Any], listed: bool) -> tuple[list[str], list[np.ndarray]]:
    if not isinstance(grid, Mapping) or len(grid) == 0:
        raise ValueError("diffsc.scan: `grid` must be a non-empty mapping name -> 1-D array.")
    names, coords = [], []
    for name, values in grid.items():
        if not isinstance(name, str) or not name.isidentifier():
            raise ValueError(
                f"diffsc.scan: grid name {name!r} is not a valid keyword argument name."
            )
        arr = np.asarray(values)
        if arr.ndim == 0:
            arr = arr.reshape(1)
        if arr.ndim != 1 or arr.size == 0:
            raise ValueError(
                f"diffsc.scan: grid `{name}` must be a non-empty 1-D array, got shape {arr.shape}."
            )
        if arr.dtype.kind not in "biuf":
            raise ValueError(f"diffsc.scan: grid `{name}` must be numeric, got dtype {arr.dtype}.")
        if arr.dtype.kind == "f" and not np.all(np.isfinite(arr)):
            raise ValueError(f"diffsc.scan: grid `{name}` contains NaN or inf.")
        names.append(name)
        coords.append(arr)
    if listed and len({c.size for c in coords}) > 1:
        sizes = ", ".join(f"`{n}` {c.size}" for n, c in zip(names, coords, strict=True))
        raise ValueError(
            f"diffsc.scan: with listed=True all grid arrays need one length; got {sizes}."
        )
    return names, coords


def _as_dict(out) -> dict:
    if isinstance(out, Mapping):
        bad = [k for k in out if not isinstance(k, str) or not k.isidentifier()]
        if bad:
            raise ValueError(f"diffsc.scan: output names must be identifiers, got {bad}.")
        return dict(out)
    return {"value": out}


def _output_spec(point_fn, names, coords) -> dict[str, tuple[tuple[int, ...], str]]:
    args = [jax.ShapeDtypeStruct((), jnp.asarray(c[:1]).dtype) for c in coords]
    try:
        shapes = jax.eval_shape(point_fn, *args)
    except TypeError as err:
        raise TypeError(
            f"diffsc.scan: calling fn({', '.join(f'{n}=...' for n in names)}) failed: {err}"
        ) from err
    spec = {}
    for key, leaf in shapes.items():
        if not hasattr(leaf, "shape"):
            raise TypeError(f"diffsc.scan: output `{key}` must be an array, got {type(leaf)}.")
        spec[key] = (tuple(int(s) for s in leaf.shape), np.dtype(leaf.dtype).str)
    return spec


def _fingerprint(names, coords, listed) -> str:
    h = hashlib.sha256()
    h.update(json.dumps({"names": names, "listed": bool(listed)}).encode())
    for c in coords:
        h.update(np.ascontiguousarray(c).dtype.str.encode())
        h.update(np.ascontiguousarray(c).tobytes())
    return h.hexdigest()


def _flag_key(spec, flag):
    if flag is False:
        return None
    if flag is not None:
        if flag not in spec:
            raise ValueError(
                f"diffsc.scan: `flag` {flag!r} is not an output of fn; outputs: {list(spec)}."
            )
        return flag
    for key in _FLAG_KEYS:
        if key in spec and spec[key][0] == ():
            return key
    return None


# ------------------------------------------------------------------------------------------------
# the compiled chunk evaluator
# ------------------------------------------------------------------------------------------------


def _point_fn(fn, names):
    def point_fn(*vals):
        out = _as_dict(fn(**dict(zip(names, vals, strict=True))))
        return {k: jnp.asarray(v) for k, v in out.items()}

    return point_fn


@functools.lru_cache(maxsize=16)
def _compiled_step(fn, names, shape, listed, chunk, devices):
    """Compile one step: device d evaluates the ``chunk`` points starting at ``starts[d]``.

    ``shard_map`` gives every device the same program on the same shape whatever the number of
    devices, which is what makes a sharded scan equal a one-device scan bit for bit. Cached, so
    repeated scans of the same function and grid shape (resume, benchmarks) compile once.
    """
    point_fn = _point_fn(fn, names)
    n_points = int(shape[0]) if listed else int(math.prod(shape))
    strides = [int(math.prod(shape[k + 1 :])) for k in range(len(shape))]
    mesh = Mesh(np.asarray(devices), ("points",))
    sharded = NamedSharding(mesh, P("points"))
    replicated = NamedSharding(mesh, P())

    def block(starts, *coords_dev):
        idx = starts[0] + jnp.arange(chunk, dtype=starts.dtype)
        idx = jnp.minimum(idx, n_points - 1)  # pad the tail by repeating the last point
        if listed:
            args = [c[idx] for c in coords_dev]
        else:
            args = [c[(idx // s) % n] for c, s, n in zip(coords_dev, strides, shape, strict=True)]
        return jax.vmap(point_fn)(*args)

    step = jax.jit(
        jax.shard_map(
            block,
            mesh=mesh,
            in_specs=(P("points"),) + (P(),) * len(shape),
            out_specs=P("points"),
            check_vma=False,
        )
    )
    return step, sharded, replicated


def _chunk_evaluator(fn, names, coords, listed, chunk, devices):
    shape = (coords[0].size,) * len(coords) if listed else tuple(c.size for c in coords)
    key = (fn, tuple(names), shape, listed, chunk, tuple(devices))
    try:
        hash(key)
    except TypeError:  # e.g. a Module holding arrays: compile without caching
        step, sharded, replicated = _compiled_step.__wrapped__(*key)
    else:
        step, sharded, replicated = _compiled_step(*key)
    coords_dev = [jax.device_put(jnp.asarray(c), replicated) for c in coords]
    index_dtype = jnp.asarray(0).dtype

    def evaluate(chunk_ids: list[int]):
        starts = np.asarray([i * chunk for i in chunk_ids], dtype=index_dtype)
        return step(jax.device_put(starts, sharded), *coords_dev)

    return evaluate


# ------------------------------------------------------------------------------------------------
# the on-disk store
# ------------------------------------------------------------------------------------------------


def _chunk_file(path: Path, i: int) -> Path:
    return path / _CHUNKS / f"chunk_{i:08d}.npz"


def _atomic_write_npz(target: Path, arrays: dict[str, np.ndarray]):
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as fh:
        np.savez(fh, **arrays)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, target)


def _atomic_write_text(target: Path, text: str):
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    with open(tmp, "w") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, target)


def _open_store(path: Path, manifest: dict, names, coords, resume: bool) -> set[int]:
    """Create the store or validate it for resuming; return the indices of finished chunks."""
    mpath = path / _MANIFEST
    if mpath.exists():
        if not resume:
            raise FileExistsError(
                f"diffsc.scan: output {str(path)!r} already holds a scan; pass resume=True "
                "(command line: --resume) to continue it, or choose another path."
            )
        old = json.loads(mpath.read_text())
        for key, what in (
            ("fingerprint", "grid (names, values or listed/product mode)"),
            ("outputs", "outputs of fn (names, shapes, dtypes)"),
            ("chunk_size", "chunk_size"),
            ("store_version", "store version"),
        ):
            if old.get(key) != manifest[key]:
                raise ValueError(
                    f"diffsc.scan: cannot resume {str(path)!r}: its {what} differs from this call "
                    f"(stored {old.get(key)!r}, now {manifest[key]!r})."
                )
        for stale in (path / _CHUNKS).glob(".*.tmp"):  # a chunk being written when killed
            stale.unlink(missing_ok=True)
        done = set()
        for f in (path / _CHUNKS).glob("chunk_*.npz"):
            done.add(int(f.stem.split("_")[1]))
        return done
    if path.exists() and (not path.is_dir() or any(path.iterdir())):
        raise FileExistsError(
            f"diffsc.scan: output {str(path)!r} exists and is not a diffsc scan store; "
            "choose another path."
        )
    (path / _CHUNKS).mkdir(parents=True, exist_ok=True)
    with open(path / _GRID, "wb") as fh:
        np.savez(fh, **dict(zip(names, coords, strict=True)))
    _atomic_write_text(mpath, json.dumps(manifest, indent=1))
    return set()


def _netcdf_engine() -> str | None:
    for engine, modules in (("h5netcdf", ("h5netcdf", "h5py")), ("netcdf4", ("netCDF4",))):
        try:
            for m in modules:
                __import__(m)
        except ImportError:
            continue
        return engine
    return None


# ------------------------------------------------------------------------------------------------
# Dataset assembly
# ------------------------------------------------------------------------------------------------


def _assemble(names, coords, listed, spec, values, computed, manifest, extra_attrs):
    import xarray as xr

    units = manifest.get("units") or {}
    dims_map = manifest.get("output_dims") or {}
    flag = manifest.get("flag")
    shape = (coords[0].size,) if listed else tuple(c.size for c in coords)
    point_dims = ("point",) if listed else tuple(names)

    valid = computed.copy()
    if flag is not None:
        f = values[flag]
        valid &= f.astype(bool) if f.dtype == np.bool_ else (f == 0)
    for arr in values.values():
        if arr.dtype.kind in "fc":
            valid &= np.all(np.isfinite(arr.reshape(arr.shape[0], -1)), axis=1)

    data_vars = {}
    for key, (tail, _dtype) in spec.items():
        tail_dims = tuple(dims_map.get(key, ())) or tuple(f"{key}_dim{k}" for k in range(len(tail)))
        if len(tail_dims) != len(tail):
            raise ValueError(f"diffsc.scan: output_dims[{key!r}] needs {len(tail)} names.")
        attrs = {"units": units[key]} if key in units else {}
        data_vars[key] = (point_dims + tail_dims, values[key].reshape(shape + tail), attrs)
    data_vars["valid"] = (
        point_dims,
        valid.reshape(shape),
        {
            "description": "True where the point was computed, its solver flag reports "
            f"success ({flag!r}) and all its values are finite; raw values are kept, "
            "use ds.where(ds.valid)",
        },
    )
    coord_vars = {}
    for name, c in zip(names, coords, strict=True):
        attrs = {"units": units[name]} if name in units else {}
        coord_vars[name] = ((point_dims[0],) if listed else (name,), c, attrs)
    attrs = {
        "diffsc_scan_store_version": STORE_VERSION,
        "fn": manifest.get("fn", ""),
        "n_points": int(valid.size),
        "n_invalid": int(valid.size - valid.sum()),
        "n_not_computed": int(computed.size - computed.sum()),
        "chunk_size": int(manifest["chunk_size"]),
        "grid_mode": "listed" if listed else "cartesian",
        "flag": flag or "",
    }
    attrs.update(manifest.get("attrs") or {})
    attrs.update(extra_attrs)
    return xr.Dataset(data_vars, coords=coord_vars, attrs=attrs)


# ------------------------------------------------------------------------------------------------
# public API
# ------------------------------------------------------------------------------------------------


def scan(
    fn: Callable[..., Any],
    grid: Mapping[str, Any],
    *,
    listed: bool = False,
    chunk_size: int | None = None,
    path: str | os.PathLike | None = None,
    resume: bool = False,
    units: Mapping[str, str] | None = None,
    output_dims: Mapping[str, tuple[str, ...]] | None = None,
    flag: str | bool | None = None,
    attrs: Mapping[str, Any] | None = None,
    devices: list | None = None,
    progress: bool | None = None,
    callback: Callable[[int, int, int], None] | None = None,
):
    r"""Evaluate ``fn`` over a parameter grid: chunked, vmapped, sharded, resumable.

    For a Cartesian grid the result holds $y_{i_1\dots i_d}=\mathrm{fn}(x^{(1)}_{i_1},\dots,
    x^{(d)}_{i_d})$ for every combination (C order, the last name fastest); with ``listed=True`` it
    holds $y_i=\mathrm{fn}(x^{(1)}_i,\dots,x^{(d)}_i)$ along a dimension ``point``.

    **Arguments:**

    - `fn`: a JAX-traceable function of keyword scalars (the grid names) returning a scalar
      (stored as ``value``) or a dict of scalars/arrays (fixed shapes). Non-scanned parameters
      (a ``Material``, solver options) are bound with a closure or ``functools.partial``.
    - `grid`: mapping name -> 1-D numeric array of coordinates, in the units of ``fn``.
    - `listed`: evaluate the listed points (all arrays of one length) instead of the product.
    - `chunk_size`: points per device per compiled call, and per stored chunk file. Default
      ``16384``, or the grid shared evenly over the devices if smaller. On resume, that of the
      store (which can be resumed on any number of devices).
    - `path`: directory of the on-disk store (``manifest.json``, ``grid.npz``,
      ``chunks/chunk_XXXXXXXX.npz``; ``scan.nc`` once complete when a netCDF engine is installed).
      ``None`` keeps everything in memory.
    - `resume`: continue the store at ``path``; finished chunks are loaded, not recomputed. The
      grid, outputs and chunk size must match the stored ones. Without it a store is an error.
    - `units`: mapping name -> unit string for coordinates and outputs, stored in their
      ``attrs["units"]``.
    - `output_dims`: names of the trailing dimensions of array outputs, e.g.
      ``{"f": ("energy",)}`` (default ``<name>_dim0``, ...).
    - `flag`: output holding a solver flag: boolean (True = success) or integer (0 = success).
      Default: ``"success"`` or ``"result"`` if fn returns one; ``False`` disables.
    - `attrs`: extra global attributes (str/int/float) stored with the Dataset.
    - `devices`: devices to shard each chunk over (default ``jax.local_devices()``).
    - `progress`: tqdm progress bar (points/s, ETA); default: only when stderr is a terminal.
    - `callback`: called as ``callback(chunk_index, chunks_done, chunks_total)`` after each chunk.

    **Returns:** ``xarray.Dataset`` with one coordinate per grid name (units in attrs), one
    variable per output, and ``valid`` (bool): the point was computed, its flag reports success and
    its values are finite. Failed points keep their raw values; ``ds.where(ds.valid)`` masks them.
    Attributes record the number of points, invalid points, chunks computed/loaded and devices.

    Multi-host: call ``jax.distributed.initialize()`` in every process first and pass a ``path``
    on a shared file system; process $p$ of $P$ computes chunks $i\equiv p \pmod P$ on its local
    devices, then all processes wait at a barrier and read the complete store.
    """
    names, coords = _normalise_grid(grid, listed)
    devices = list(devices) if devices is not None else jax.local_devices()
    if not devices:
        raise ValueError("diffsc.scan: `devices` is empty.")
    n_dev = len(devices)

    spec = _output_spec(_point_fn(fn, names), names, coords)
    flag_key = _flag_key(spec, flag)
    n_points = int(coords[0].size) if listed else int(math.prod(c.size for c in coords))

    store = Path(path) if path is not None else None
    stored_chunk = None
    if store is not None and resume and (store / _MANIFEST).exists():
        stored_chunk = json.loads((store / _MANIFEST).read_text()).get("chunk_size")
    if chunk_size is None:
        chunk_size = stored_chunk or min(-(-n_points // n_dev), DEFAULT_POINTS_PER_DEVICE)
    chunk = int(chunk_size)
    if chunk <= 0:
        raise ValueError(f"diffsc.scan: `chunk_size` must be > 0, got {chunk}.")
    n_chunks = -(-n_points // chunk)

    units = dict(units or {})
    unknown = set(units) - set(names) - set(spec)
    if unknown:
        raise ValueError(
            f"diffsc.scan: `units` names {sorted(unknown)} are neither grid names {names} "
            f"nor outputs {list(spec)}."
        )
    manifest = {
        "store_version": STORE_VERSION,
        "fingerprint": _fingerprint(names, coords, listed),
        "names": names,
        "listed": bool(listed),
        "outputs": {k: [list(s), d] for k, (s, d) in spec.items()},
        "chunk_size": chunk,
        "n_points": n_points,
        "n_chunks": n_chunks,
        "flag": flag_key,
        "units": units,
        "output_dims": {k: list(v) for k, v in (output_dims or {}).items()},
        "fn": getattr(fn, "__qualname__", repr(fn)),
        "attrs": dict(attrs or {}),
    }

    p_index, p_count = jax.process_index(), jax.process_count()
    if p_count > 1 and store is None:
        raise ValueError("diffsc.scan: a multi-process scan needs `path` on a shared file system.")
    done: set[int] = set()
    if store is not None:
        if p_index == 0:
            done = _open_store(store, manifest, names, coords, resume)
        if p_count > 1:
            from jax.experimental import multihost_utils

            multihost_utils.sync_global_devices("diffsc.scan: store ready")
            if p_index != 0:
                done = {int(f.stem.split("_")[1]) for f in (store / _CHUNKS).glob("chunk_*.npz")}

    todo = [i for i in range(n_chunks) if i % p_count == p_index and i not in done]
    values = {k: np.empty((n_points, *s), dtype=np.dtype(d)) for k, (s, d) in spec.items()}
    computed = np.zeros(n_points, dtype=bool)

    if progress is None:
        progress = bool(getattr(sys.stderr, "isatty", lambda: False)())
    from tqdm.auto import tqdm

    pending_points = sum(min(chunk, n_points - i * chunk) for i in todo)
    bar = tqdm(
        total=pending_points, unit="pt", unit_scale=pending_points >= 10_000, desc="diffsc.scan",
        disable=not progress, smoothing=0.1,
    )
    # one step = one chunk per device; the last step repeats its last chunk to fill the devices
    steps = [todo[k : k + n_dev] for k in range(0, len(todo), n_dev)]
    t0 = time.perf_counter()
    if steps:
        evaluate = _chunk_evaluator(fn, names, coords, listed, chunk, devices)
        pad = lambda ids: ids + [ids[-1]] * (n_dev - len(ids))
        pending = evaluate(pad(steps[0]))  # dispatch ahead: the next step runs while we write
        n_finished = len(done)
        for j, ids in enumerate(steps):
            current = pending
            if j + 1 < len(steps):
                pending = evaluate(pad(steps[j + 1]))
            host_all = {k: np.asarray(v) for k, v in current.items()}
            for d, i in enumerate(ids):
                lo, hi = i * chunk, min((i + 1) * chunk, n_points)
                host = {k: v[d * chunk : d * chunk + hi - lo] for k, v in host_all.items()}
                if store is not None:
                    _atomic_write_npz(_chunk_file(store, i), host)
                for k, v in host.items():
                    values[k][lo:hi] = v
                computed[lo:hi] = True
                n_finished += 1
                bar.update(hi - lo)
                if callback is not None:
                    callback(i, n_finished, n_chunks)
    bar.close()
    elapsed = time.perf_counter() - t0

    if store is not None and p_count > 1:
        from jax.experimental import multihost_utils

        multihost_utils.sync_global_devices("diffsc.scan: chunks written")
    mine = set(todo)
    for i in range(n_chunks):
        if i in mine:
            continue
        f = _chunk_file(store, i) if store is not None else None
        if f is not None and f.exists():
            lo, hi = i * chunk, min((i + 1) * chunk, n_points)
            with np.load(f) as z:
                for k in spec:
                    values[k][lo:hi] = z[k]
            computed[lo:hi] = True

    extra = {
        "chunks_computed": len(todo),
        "chunks_loaded": n_chunks - len(todo),
        "n_chunks": n_chunks,
        "n_devices": n_dev,
        "n_processes": p_count,
        "device_kind": str(devices[0].device_kind),
        "seconds_computing": float(elapsed),
    }
    ds = _assemble(names, coords, listed, spec, values, computed, manifest, extra)
    if store is not None and p_index == 0 and computed.all():
        engine = _netcdf_engine()
        if engine is not None and not (store / _MERGED).exists():
            tmp = store / f".{_MERGED}.tmp"
            ds.to_netcdf(tmp, engine=engine)
            os.replace(tmp, store / _MERGED)
    return ds


def open_scan(path: str | os.PathLike):
    """Load a scan store written by :func:`scan` (complete or interrupted) as an ``xarray.Dataset``.

    Chunks not yet computed have ``valid == False`` (their values are undefined, zero here) and
    ``attrs["n_not_computed"] > 0``; resume them with ``scan(..., path=path, resume=True)``.
    """
    store = Path(path)
    mpath = store / _MANIFEST
    if not mpath.exists():
        raise FileNotFoundError(f"diffsc.open_scan: {str(store)!r} is not a diffsc scan store.")
    manifest = json.loads(mpath.read_text())
    names, listed = manifest["names"], manifest["listed"]
    with np.load(store / _GRID) as z:
        coords = [np.asarray(z[n]) for n in names]
    spec = {k: (tuple(s), d) for k, (s, d) in manifest["outputs"].items()}
    n_points, chunk = manifest["n_points"], manifest["chunk_size"]
    values = {k: np.zeros((n_points, *s), dtype=np.dtype(d)) for k, (s, d) in spec.items()}
    computed = np.zeros(n_points, dtype=bool)
    for f in (store / _CHUNKS).glob("chunk_*.npz"):
        i = int(f.stem.split("_")[1])
        lo, hi = i * chunk, min((i + 1) * chunk, n_points)
        with np.load(f) as z:
            for k in spec:
                values[k][lo:hi] = z[k]
        computed[lo:hi] = True
    return _assemble(names, coords, listed, spec, values, computed, manifest, {})
