r"""Chunked, sharded, resumable parameter scans returning an ``xarray.Dataset``.

``scan(fn, grid)`` evaluates a per-point model ``fn(**point) -> scalar | dict`` over the Cartesian
product of 1-D coordinate arrays (or over a list of points with ``listed=True``):

* the $N=\prod_k n_k$ points are cut into chunks of a fixed size (static shapes, one compilation);
* inside a chunk the model is lifted with ``jax.vmap`` and compiled with ``jax.jit``;
* every chunk is split over all local devices with a ``jax.sharding.Mesh`` /
  ``NamedSharding`` along the point axis (XLA's SPMD partitioner does the work);
* with ``jax.distributed.initialize()`` called first, each process takes every
  ``process_count``-th chunk and writes it to the shared store; all processes then read the whole
  store. The processes act step by step together: after checking the arguments, after process 0
  has prepared the store and after computing, each reports success or its error to all others
  (through the key-value store of JAX's coordination service), so an error in one process is
  raised in every process at once instead of leaving the others waiting;
* with ``path=`` every finished chunk is written to ``path/chunks/chunk_XXXXXXXX.npz``, so a scan
  killed at any instant resumes (``resume=True``) without recomputing or losing a finished chunk.

Point indices are generated on the device ($i = i_0 + \mathrm{iota}$, unravelled in C order), so the
host sends one integer per chunk. The last chunk is padded by repeating the last point and trimmed.

The store (``path/``): ``manifest.json`` (grid fingerprint, outputs, chunk size; written last at
creation, so its presence marks a store), ``grid.npz`` (coordinates), ``chunks/chunk_XXXXXXXX.npz``
and, once complete, ``scan.nc``. Rules that make it safe:

* every file is written to a temporary name, fsynced and renamed into place (``os.replace``), so
  a reader sees the old file or the whole new one, never a part;
* every chunk carries its index and first/end point (``_diffsc_chunk``) and the sha256 of its grid
  slice, i.e. the coordinates of its points (``_diffsc_grid_sha256``); resume and
  [`open_scan`][diffsc.open_scan] check them, the outputs' shapes and dtypes, and the zip CRC of the data.
  A chunk that fails (truncated, empty, garbage, another scan's, copied under another index) is
  named in a [`ScanStoreWarning`][diffsc.ScanStoreWarning]; resume moves it aside (``*.npz.rejected``) and recomputes
  it, [`open_scan`][diffsc.open_scan] reports its points as not computed. A damaged chunk is never served;
* resume rewrites a missing or damaged ``grid.npz`` from the caller's grid (which must match the
  manifest's fingerprint) and rebuilds ``scan.nc`` when it is missing, unreadable or of another
  grid;
* one writer at a time: process 0 of a scan holds ``path/.lock`` (created with ``O_CREAT|O_EXCL``,
  holding JSON ``{pid, host, started, command}``) from before the store is created until the scan
  returns or fails. A second writer gets [`ScanLockedError`][diffsc.ScanLockedError] naming the holder; a lock left
  by a process that no longer runs on this host is taken over with a warning. In a multi-process
  (``jax.distributed``) scan the other processes do not take the lock: they are the same writer,
  each writes only its own chunks (index $\equiv p \bmod P$), after process 0 has created or
  validated the store (the processes' reports separate the two);
* every argument error is raised before anything is created (grid, outputs traced with
  ``jax.eval_shape``, units, output dims, attributes, an existing target that is not a store or a
  store without ``resume``). A store created by a call that then fails before any chunk is
  finished (e.g. the model's own argument check rejects a grid value: [`ScanModelError`][diffsc.ScanModelError]) is
  removed again, so a corrected rerun is not blocked.

Why ``.npz`` chunks and not zarr (which xarray reads and writes): no new dependency; one file per
chunk makes the atomic rename the unit of progress, which is what crash-safe resume needs; the
per-chunk index and grid checksum (which zarr does not keep: its chunks are keyed by position
only) would have to be added on top anyway; and processes of a multi-host scan write disjoint files
without coordinating any shared metadata. The merged ``scan.nc`` is the interchange format.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import functools
import hashlib
import itertools
import json
import logging
import math
import os
import re
import secrets
import shutil
import socket
import sys
import time
import warnings
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

STORE_VERSION = 2  # 2: chunks carry their index and grid checksum (version 1 stores: open_scan)
_MANIFEST = "manifest.json"
_GRID = "grid.npz"
_CHUNKS = "chunks"
_MERGED = "scan.nc"
_LOCK = ".lock"
_META_INDEX = "_diffsc_chunk"  # int64 [index, first point, end point) of a chunk file
_META_DIGEST = "_diffsc_grid_sha256"  # sha256 of the chunk's grid slice
_OWN_NAMES = {_MANIFEST, _GRID, _CHUNKS, _MERGED, _LOCK}
_CHUNK_RE = re.compile(r"chunk_(\d{8})\.npz")
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
        if key in names or key == "valid" or key.startswith("_diffsc"):
            what = "a grid name" if key in names else "reserved"
            raise ValueError(f"diffsc.scan: output name `{key}` is {what}; rename the output.")
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


def _check_output_dims(output_dims, spec, names, listed) -> dict[str, list[str]]:
    point_dims = {"point"} if listed else set(names)
    out, sizes = {}, {}
    for key, dims in (output_dims or {}).items():
        if key not in spec:
            raise ValueError(
                f"diffsc.scan: `output_dims` names {key!r}, which is not an output of fn; "
                f"outputs: {list(spec)}."
            )
        dims = [dims] if isinstance(dims, str) else list(dims)
        tail = spec[key][0]
        if len(dims) != len(tail) or not all(isinstance(d, str) and d for d in dims):
            raise ValueError(
                f"diffsc.scan: `output_dims[{key!r}]` needs {len(tail)} name(s) for the output's "
                f"trailing shape {tail}, got {dims!r}."
            )
        for d, n in zip(dims, tail, strict=True):
            if d in point_dims or sizes.setdefault(d, n) != n:
                raise ValueError(
                    f"diffsc.scan: `output_dims[{key!r}]`: dimension {d!r} is a grid dimension "
                    "or has another length in another output; choose another name."
                )
        out[key] = dims
    return out


def _check_attrs(attrs) -> dict:
    attrs = dict(attrs or {})
    for key, value in attrs.items():
        ok = isinstance(value, (str, int, float, np.integer, np.floating))
        if not isinstance(key, str) or not ok or isinstance(value, (bool, np.bool_)):
            raise ValueError(
                f"diffsc.scan: `attrs[{key!r}]` must be a str, int or float (as netCDF stores "
                f"them), got {type(value).__name__}."
            )
    return attrs


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


class ScanStoreError(RuntimeError):
    """A scan store that cannot be used as it is (damaged manifest or grid); the message names
    the file and what to do."""


class ScanLockedError(FileExistsError):
    """Another writer holds the store's lock; the message names it (pid, host, start time)."""


class ScanModelError(ValueError):
    """The model's own argument check rejected a point of the grid (e.g. a negative temperature)."""


class ScanStoreWarning(UserWarning):
    """A damaged or misplaced file of a scan store was found; it is not used (and is recomputed or
    rebuilt when the scan is resumed)."""


def _warn(message: str):
    warnings.warn(message, ScanStoreWarning, stacklevel=3)


def _chunk_file(path: Path, i: int) -> Path:
    return path / _CHUNKS / f"chunk_{i:08d}.npz"


def _chunk_files(path: Path) -> dict[int, Path]:
    """Chunk files of the store by the index in their name (other names are ignored)."""
    d = path / _CHUNKS
    if not d.is_dir():
        return {}
    out = {}
    for f in d.iterdir():
        m = _CHUNK_RE.fullmatch(f.name)
        if m:
            out[int(m.group(1))] = f
    return out


def _is_tmp(name: str) -> bool:
    return name.startswith(".") and name.endswith(".tmp")


def _fsync_dir(d: Path):
    try:
        fd = os.open(d, os.O_RDONLY)
    except OSError:  # e.g. Windows: directories cannot be opened; the rename is durable enough
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _atomic_write(target: Path, write: Callable[[Any], None]):
    """Write ``target`` through ``write(file)`` into a temporary file, fsync, rename into place."""
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(target.parent)


def _atomic_write_text(target: Path, text: str):
    _atomic_write(target, lambda fh: fh.write(text.encode()))


def _slice_digest(names, coords, listed, lo: int, hi: int) -> str:
    """sha256 of the coordinates of points ``lo .. hi-1``: what a chunk was computed for."""
    idx = np.arange(lo, hi)
    if listed:
        cols = [c[idx] for c in coords]
    else:
        multi = np.unravel_index(idx, tuple(c.size for c in coords))
        cols = [c[m] for c, m in zip(coords, multi, strict=True)]
    h = hashlib.sha256(f"{lo}:{hi}".encode())
    for name, col in zip(names, cols, strict=True):
        col = np.ascontiguousarray(col)
        h.update(f"|{name}|{col.dtype.str}|".encode())
        h.update(col.tobytes())
    return h.hexdigest()


def _write_chunk(path: Path, i: int, lo: int, hi: int, arrays: dict, digest: str):
    payload = dict(arrays)
    payload[_META_INDEX] = np.array([i, lo, hi], dtype=np.int64)
    payload[_META_DIGEST] = np.array(digest)
    _atomic_write(_chunk_file(path, i), lambda fh: np.savez(fh, **payload))


@contextlib.contextmanager
def _open_npz(f: Path):
    """``np.load`` of an ``.npz`` file that also closes the file when it is not a valid one."""
    with open(f, "rb") as fh:
        head = fh.read(4)
        if not head:
            raise ValueError("the file is empty")
        if not head.startswith(b"PK"):
            raise ValueError(f"not an .npz (zip) archive: it starts with {head!r}")
        fh.seek(0)
        z = np.load(fh, allow_pickle=False)
        if not isinstance(z, np.lib.npyio.NpzFile):
            raise ValueError("not an .npz archive")
        with z:
            yield z


def _read_chunk(f: Path, i: int, lo: int, hi: int, digest: str | None, spec):
    """``(arrays, "")`` for a good chunk, ``(None, why)`` otherwise (``digest=None``: version 1)."""
    try:
        with _open_npz(f) as z:
            files = set(z.files)
            if digest is not None:
                if _META_INDEX not in files or _META_DIGEST not in files:
                    return None, "it carries no chunk index or grid checksum"
                meta = [int(v) for v in np.asarray(z[_META_INDEX]).reshape(-1)]
                if meta != [i, lo, hi]:
                    return None, (
                        f"it holds chunk {meta[0]} (points {meta[1]}..{meta[-1] - 1}), not chunk "
                        f"{i} (points {lo}..{hi - 1}): a file copied or renamed to the wrong index"
                    )
                if str(z[_META_DIGEST]) != digest:
                    return None, "its grid checksum differs: it was computed for another grid"
            out = {}
            for key, (tail, dtype) in spec.items():
                if key not in files:
                    return None, f"it has no output `{key}`"
                arr = z[key]  # reading checks the zip CRC of the data
                want = (hi - lo, *tail)
                if arr.shape != want or arr.dtype != np.dtype(dtype):
                    return None, (
                        f"output `{key}` has shape {arr.shape} and dtype {arr.dtype}, expected "
                        f"{want} and {np.dtype(dtype)}"
                    )
                out[key] = arr
            return out, ""
    except Exception as err:  # truncated, empty, garbage: any failure to read means unusable
        return None, f"it cannot be read ({type(err).__name__}: {err})"


def _load_chunks(
    path, owned, manifest, names, coords, spec, values, computed, *, verify, move, files=None
):
    """Load the good chunk files with ``owned(index)`` into ``values``; return (done, rejected).

    A rejected file is described in ``rejected`` and, with ``move=True``, renamed to
    ``*.npz.rejected`` so that it is recomputed and never read again. ``files`` (index -> file)
    replaces the listing of ``chunks/``.
    """
    n_points, chunk, n_chunks = manifest["n_points"], manifest["chunk_size"], manifest["n_chunks"]
    listed = manifest["listed"]
    done, rejected = set(), []
    for i, f in sorted((_chunk_files(path) if files is None else files).items()):
        if not owned(i):
            continue
        lo, hi = i * chunk, min((i + 1) * chunk, n_points)
        if i >= n_chunks:
            data, why = None, f"its index is beyond the store's {n_chunks} chunks"
        else:
            digest = _slice_digest(names, coords, listed, lo, hi) if verify else None
            data, why = _read_chunk(f, i, lo, hi, digest, spec)
        if data is None:
            rejected.append(f"{f}: {why}")
            if move:
                try:
                    os.replace(f, f.with_name(f.name + ".rejected"))
                except OSError:
                    f.unlink(missing_ok=True)
            continue
        for key in spec:
            values[key][lo:hi] = data[key]
        computed[lo:hi] = True
        done.add(i)
    return done, rejected


def _read_manifest(path: Path) -> dict:
    mpath = path / _MANIFEST
    try:
        manifest = json.loads(mpath.read_text())
        missing = [
            k
            for k in ("store_version", "fingerprint", "names", "listed", "outputs", "chunk_size")
            + ("n_points", "n_chunks")
            if k not in manifest
        ]
    except FileNotFoundError:
        raise
    except (OSError, ValueError, TypeError) as err:
        raise ScanStoreError(
            f"diffsc: {str(mpath)!r} cannot be read ({type(err).__name__}: {err}); the store is "
            "damaged: remove it or choose another path."
        ) from None
    if missing:
        raise ScanStoreError(
            f"diffsc: {str(mpath)!r} lacks {missing}; the store is damaged or not a diffsc scan "
            "store: remove it or choose another path."
        )
    return manifest


def _read_grid(path: Path, manifest: dict) -> tuple[list[np.ndarray] | None, str]:
    """The stored coordinates, checked against the manifest's fingerprint, or (None, why)."""
    names = manifest["names"]
    try:
        with _open_npz(path / _GRID) as z:
            coords = [np.asarray(z[n]) for n in names]
    except Exception as err:
        return None, f"it cannot be read ({type(err).__name__}: {err})"
    if _fingerprint(names, coords, manifest["listed"]) != manifest["fingerprint"]:
        return None, "its coordinates do not match the manifest's grid fingerprint"
    return coords, ""


def _write_grid(path: Path, names, coords):
    _atomic_write(path / _GRID, lambda fh: np.savez(fh, **dict(zip(names, coords, strict=True))))


def _store_state(path: Path) -> tuple[str, list[str]]:
    """What ``path`` is: absent, file, empty, store (has a manifest), unfinished (only files of an
    interrupted creation), orphaned (chunk files without a manifest) or foreign; and the foreign
    entries."""
    if not path.exists():
        return "absent", []
    if not path.is_dir():
        return "file", []
    if (path / _MANIFEST).exists():
        return "store", []
    entries = list(path.iterdir())
    if not entries:
        return "empty", []
    foreign = sorted(e.name for e in entries if e.name not in _OWN_NAMES and not _is_tmp(e.name))
    if foreign or (path / _CHUNKS).exists() and not (path / _CHUNKS).is_dir():
        return "foreign", foreign
    if _chunk_files(path):
        return "orphaned", []
    return "unfinished", []


def check_store_target(path: str | os.PathLike, resume: bool):
    """Raise ``FileExistsError`` ([`ScanLockedError`][diffsc.ScanLockedError] when a live writer holds the store) if
    a scan cannot write to ``path``: a file, a foreign non-empty directory, chunks without a
    manifest, or an existing store without ``resume``. Creates nothing."""
    path = Path(path)
    lock = path / _LOCK
    if lock.exists():
        holder = _read_lock(lock)
        if not _lock_is_stale(lock, holder):
            raise ScanLockedError(_locked_message(path, holder))
    _raise_for_state(path, resume)


def _raise_for_state(path: Path, resume: bool):
    state, foreign = _store_state(path)
    p = str(path)
    if state == "file":
        raise FileExistsError(f"diffsc.scan: output {p!r} is a file, not a directory.")
    if state == "foreign":
        shown = ", ".join(repr(n) for n in foreign[:3]) + (", ..." if len(foreign) > 3 else "")
        raise FileExistsError(
            f"diffsc.scan: output {p!r} is a non-empty directory that is not a diffsc scan store "
            f"(it holds {shown}); choose another path."
        )
    if state == "orphaned":
        raise FileExistsError(
            f"diffsc.scan: output {p!r} holds chunk files but no manifest.json, so it is not a "
            "usable diffsc scan store; remove it or choose another path."
        )
    if state == "store" and not resume:
        raise FileExistsError(
            f"diffsc.scan: output {p!r} already holds a scan; pass resume=True "
            "(command line: --resume) to continue it, or choose another path."
        )


# --- the writer's lock ----------------------------------------------------------------------------


def _read_lock(lock: Path, patience: float = 0.5) -> dict | None:
    """The lock's JSON, or None if unreadable; waits up to ``patience`` s for a lock that its
    writer has just created and not yet filled."""
    deadline = time.monotonic() + patience
    while True:
        try:
            info = json.loads(lock.read_text())
            return info if isinstance(info, dict) else None
        except (OSError, ValueError):
            if time.monotonic() >= deadline or not lock.exists():
                return None
            time.sleep(0.02)


def _pid_alive(pid) -> bool:
    if not isinstance(pid, int) or pid <= 0:
        return False
    if os.name == "nt":  # os.kill(pid, 0) would terminate it there: assume alive
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # PermissionError: alive, owned by someone else
        return True
    return True


def _lock_is_stale(lock: Path, holder: dict | None) -> bool:
    """A lock whose process no longer runs on this host, or unreadable for over a minute (its
    writer died between creating and filling it); a lock of another host is never stale."""
    if holder is None:
        try:
            return time.time() - lock.stat().st_mtime > 60.0
        except OSError:
            return True  # gone meanwhile
    return holder.get("host") == socket.gethostname() and not _pid_alive(holder.get("pid"))


def _describe_holder(holder: dict | None) -> str:
    if holder is None:
        return "a writer whose lock file is empty or unreadable"
    who = f"pid {holder.get('pid')} on host {holder.get('host')!r}"
    if holder.get("host") == socket.gethostname() and holder.get("pid") == os.getpid():
        who += " (this process)"
    text = f"{who}, started {holder.get('started')}"
    if holder.get("command"):
        text += f" ({holder['command']})"
    return text


def _locked_message(path: Path, holder: dict | None) -> str:
    return (
        f"diffsc.scan: output {str(path)!r} is being written by another scan: "
        f"{_describe_holder(holder)}. Wait for it to finish (then resume), or, if no such scan is "
        f"running, delete {str(path / _LOCK)!r}."
    )


class _StoreLock:
    """``path/.lock``, created exclusively; released (if still ours) by `release`."""

    def __init__(self, lock: Path, token: str):
        self.lock, self.token = lock, token

    @classmethod
    def acquire(cls, path: Path) -> _StoreLock:
        path.mkdir(parents=True, exist_ok=True)
        lock = path / _LOCK
        info = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "started": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
            "command": " ".join([os.path.basename(sys.argv[0] or "python"), *sys.argv[1:]])[:200],
            "token": secrets.token_hex(8),
        }
        for _ in range(5):
            try:
                fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                holder = _read_lock(lock)
                if _lock_is_stale(lock, holder) and cls._break(lock, holder):
                    continue
                raise ScanLockedError(_locked_message(path, _read_lock(lock) or holder)) from None
            with os.fdopen(fd, "w") as fh:
                json.dump(info, fh)
                fh.flush()
                os.fsync(fh.fileno())
            return cls(lock, info["token"])
        raise ScanLockedError(_locked_message(path, _read_lock(lock)))

    @staticmethod
    def _break(lock: Path, holder: dict | None) -> bool:
        """Move a stale lock aside; False if what was moved turned out to be a fresh lock."""
        aside = lock.with_name(f"{_LOCK}.stale.{os.getpid()}.tmp")
        try:
            os.replace(lock, aside)
        except FileNotFoundError:
            return True  # another writer removed it first: try again
        moved = _read_lock(aside)
        if moved != holder:  # a new writer locked it meanwhile: give it back
            try:
                os.link(aside, lock)
            except OSError:
                pass
            aside.unlink(missing_ok=True)
            return False
        aside.unlink(missing_ok=True)
        _warn(
            f"diffsc.scan: took over the stale lock of {str(lock.parent)!r}: "
            f"{_describe_holder(holder)} is no longer running."
        )
        return True

    def release(self):
        holder = _read_lock(self.lock)
        if holder is not None and holder.get("token") == self.token:
            self.lock.unlink(missing_ok=True)


def _prepare_store(path: Path, manifest: dict, names, coords, resume: bool) -> bool:
    """Under the lock: validate the store for resuming, or create it; True if created."""
    _raise_for_state(path, resume)  # again: the target may have changed before the lock
    for stale in [*path.glob(".*.tmp"), *(path / _CHUNKS).glob(".*.tmp")]:
        stale.unlink(missing_ok=True)  # a file being written when a writer was killed
    if (path / _MANIFEST).exists():
        old = _read_manifest(path)
        for key, what in (
            ("store_version", "store version"),
            ("fingerprint", "grid (names, values or listed/product mode)"),
            ("outputs", "outputs of fn (names, shapes, dtypes)"),
            ("chunk_size", "chunk_size"),
        ):
            if old.get(key) != manifest[key]:
                hint = " (open it with diffsc.open_scan)" if key == "store_version" else ""
                raise ValueError(
                    f"diffsc.scan: cannot resume {str(path)!r}: its {what} differs from this call "
                    f"(stored {old.get(key)!r}, now {manifest[key]!r}){hint}."
                )
        _, why = _read_grid(path, old)
        if why:
            _warn(f"diffsc.scan: {str(path / _GRID)!r}: {why}; rewritten from this call's grid.")
            _write_grid(path, names, coords)
        return False
    # absent, empty or an interrupted creation (grid.npz, an empty chunks/): create it anew
    (path / _CHUNKS).mkdir(parents=True, exist_ok=True)
    _write_grid(path, names, coords)
    _atomic_write_text(path / _MANIFEST, json.dumps(manifest, indent=1))  # last: marks a store
    return True


def _remove_fresh_store(path: Path, remove_dir: bool):
    """Remove what a failed call created (manifest, grid, empty chunks/; the dir if it made it)."""
    for name in (_MANIFEST, _GRID):
        (path / name).unlink(missing_ok=True)
    chunks = path / _CHUNKS
    if chunks.is_dir() and not _chunk_files(path):
        shutil.rmtree(chunks, ignore_errors=True)
    if remove_dir:
        try:
            path.rmdir()  # only if empty: the lock is released before
        except OSError:
            pass


def _write_merged(path: Path, ds, fingerprint: str):
    """Write ``scan.nc`` (atomically) unless a readable one of this grid is there."""
    engine = _netcdf_engine()
    if engine is None:
        return
    import xarray as xr

    target = path / _MERGED
    if target.exists():
        try:
            with xr.open_dataset(target, engine=engine) as old:
                if old.attrs.get("diffsc_scan_fingerprint") == fingerprint:
                    return
                why = "it belongs to another grid or an older store version"
        except Exception as err:
            why = f"it cannot be read ({type(err).__name__}: {err})"
        _warn(f"diffsc.scan: {str(target)!r}: {why}; rebuilt from the chunks.")
    tmp = path / f".{_MERGED}.{os.getpid()}.tmp"
    try:
        ds.to_netcdf(tmp, engine=engine)
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, target)
        _fsync_dir(path)
    except Exception as err:
        tmp.unlink(missing_ok=True)
        _warn(
            f"diffsc.scan: could not write {str(target)!r} ({type(err).__name__}: {err}); the "
            "chunk store is complete (diffsc.open_scan reads it) and a resume rebuilds it."
        )


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
        "diffsc_scan_store_version": int(manifest.get("store_version", STORE_VERSION)),
        "diffsc_scan_fingerprint": manifest.get("fingerprint", ""),
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
      ``16384``, or the grid shared evenly over the devices (of all processes) if smaller. On
      resume, that of the store (which can be resumed on any number of devices and processes).
    - `path`: directory of the on-disk store (``manifest.json``, ``grid.npz``,
      ``chunks/chunk_XXXXXXXX.npz``; ``scan.nc`` once complete when a netCDF engine is installed;
      ``.lock`` while a scan writes it). ``None`` keeps everything in memory.
    - `resume`: continue the store at ``path``; finished chunks are verified and loaded, not
      recomputed (a damaged or misplaced one is named in a [`ScanStoreWarning`][diffsc.ScanStoreWarning] and
      recomputed; a damaged ``grid.npz`` or ``scan.nc`` is rewritten). The grid, outputs and chunk
      size must match the stored ones. Without it a store is an error.
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

    **Raises:** ``ValueError``/``TypeError`` for bad arguments and ``FileExistsError`` for an
    unusable ``path`` (a file, a foreign directory, a store without ``resume``), all before
    anything is created; [`ScanLockedError`][diffsc.ScanLockedError] (a ``FileExistsError``) naming the writer that
    holds the store; [`ScanModelError`][diffsc.ScanModelError] when the model's own argument check rejects a grid
    point (a store this call created is then removed unless a chunk was finished);
    [`ScanStoreError`][diffsc.ScanStoreError] for a damaged ``manifest.json``.

    Multi-host: call ``jax.distributed.initialize()`` in every process first, then ``scan`` with
    the same arguments in every process and a ``path`` on a shared file system; process 0 takes
    the store's lock and creates or validates the store, then process $p$ of $P$ verifies and
    computes chunks $i\equiv p \pmod P$ on its local devices, then all processes read the
    complete store and return the same Dataset (``chunks_computed`` and ``chunks_loaded`` count
    the chunks of all processes). Between these steps every process reports success or its error
    to the others: an error in one process (a refused store, a model error, processes called with
    different grids) is raised in all of them, naming the process. A process that dies (killed,
    node lost) is noticed by JAX's coordination service, which ends the others after its
    heartbeat timeout (100 s by default); run the job again with ``resume=True``.
    """
    processes = _Processes()
    p_index, p_count = processes.index, processes.count
    plan, reports = processes.together(
        "checking its arguments",
        lambda: _plan(
            fn,
            grid,
            listed=listed,
            chunk_size=chunk_size,
            path=path,
            resume=resume,
            units=units,
            output_dims=output_dims,
            flag=flag,
            attrs=attrs,
            devices=devices,
            p_index=p_index,
            p_count=p_count,
        ),
        share=lambda plan: {"scan": _manifest_digest(plan.manifest)},
    )
    if reports is not None:
        _check_processes_agree(reports)
    if progress is None:
        progress = bool(getattr(sys.stderr, "isatty", lambda: False)())

    opened = _OpenedStore()
    quiet = _QuietModelCheckLogs()
    try:
        if plan.store is not None:
            processes.together("preparing the store", lambda: opened.open(plan, resume, p_index))
        part, reports = processes.together(
            "computing its chunks",
            lambda: _compute_own_chunks(fn, plan, p_index, p_count, progress, callback),
            share=lambda part: {"computed": len(part.todo)},
        )
        n_computed = len(part.todo) if reports is None else sum(r["computed"] for r in reports)
        ds = _finish(plan, part, p_index, p_count, n_computed)
    except BaseException:
        opened.remove_if_empty()
        raise
    finally:
        quiet.remove()
        opened.release()
    return ds


@dataclasses.dataclass
class _Plan:
    """A scan's checked arguments: what every process computes and where it is stored."""

    names: list[str]
    coords: list[np.ndarray]
    listed: bool
    spec: dict
    manifest: dict
    store: Path | None
    devices: list


def _plan(
    fn,
    grid,
    *,
    listed,
    chunk_size,
    path,
    resume,
    units,
    output_dims,
    flag,
    attrs,
    devices,
    p_index,
    p_count,
) -> _Plan:
    """Check every argument (process 0 also the store target) before anything is created."""
    names, coords = _normalise_grid(grid, listed)
    devices = list(devices) if devices is not None else jax.local_devices()
    if not devices:
        raise ValueError("diffsc.scan: `devices` is empty.")
    n_dev = len(devices)

    spec = _output_spec(_point_fn(fn, names), names, coords)
    flag_key = _flag_key(spec, flag)
    n_points = int(coords[0].size) if listed else int(math.prod(c.size for c in coords))

    store = Path(path) if path is not None else None
    if p_count > 1 and store is None:
        raise ValueError("diffsc.scan: a multi-process scan needs `path` on a shared file system.")
    stored_chunk = None
    if store is not None:
        if p_index == 0:
            check_store_target(store, resume)  # refuse before anything is created
        if resume and (store / _MANIFEST).exists():
            # race-free: process 0 creates or changes nothing before every process has planned
            stored_chunk = _read_manifest(store).get("chunk_size")
    if chunk_size is None:
        # the grid shared over the devices of all processes (each process takes every
        # p_count-th chunk), so a small grid still gives every process its share
        chunk_size = stored_chunk or min(
            -(-n_points // (n_dev * p_count)), DEFAULT_POINTS_PER_DEVICE
        )
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, (int, np.integer)):
        raise ValueError(f"diffsc.scan: `chunk_size` must be an integer, got {chunk_size!r}.")
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
        "output_dims": _check_output_dims(output_dims, spec, names, listed),
        "fn": getattr(fn, "__qualname__", repr(fn)),
        "attrs": _check_attrs(attrs),
    }
    return _Plan(names, coords, bool(listed), spec, manifest, store, devices)


_SHARED_FS_PATIENCE = 60.0  # s: how long a file another node wrote may take to be seen here


def _visible(f: Path, patience: float | None = None) -> bool:
    """Whether ``f`` exists, waiting up to ``patience`` s (default `_SHARED_FS_PATIENCE`) for a
    file that another node has written: a network file system may answer from a cache that
    does not have it yet (an NFS client caches lookups for up to a minute by default)."""
    patience = _SHARED_FS_PATIENCE if patience is None else patience
    deadline = time.monotonic() + patience
    delay = 0.05
    while not f.exists():
        if time.monotonic() >= deadline:
            return False
        time.sleep(delay)
        delay = min(2 * delay, 2.0)
    return True


class _OpenedStore:
    """Process 0's hold on the store: its lock and whether this call created the store."""

    def __init__(self):
        self.lock, self.created, self.made_dir, self.store = None, False, False, None

    def open(self, plan: _Plan, resume: bool, p_index: int):
        """Process 0: take the lock, then create or validate the store. The others check that
        they see it: a ``path`` on a node's own disk would leave each node a store of its own."""
        if p_index != 0:
            if not _visible(plan.store / _MANIFEST):
                raise FileNotFoundError(
                    f"diffsc.scan: process {p_index} does not see the store that process 0 "
                    f"prepared at {str(plan.store)!r} (no manifest.json after "
                    f"{_SHARED_FS_PATIENCE:.0f} s): in a multi-process scan `path` must be on a "
                    "file system shared by all processes (NFS, Lustre, GPFS, ...), not on a "
                    "node's local disk."
                )
            return
        self.store = plan.store
        self.made_dir = not plan.store.exists()
        self.lock = _StoreLock.acquire(plan.store)
        self.created = _prepare_store(plan.store, plan.manifest, plan.names, plan.coords, resume)

    def remove_if_empty(self):
        """After a failure: remove a store this call created if no chunk of it was finished."""
        if self.created and not _chunk_files(self.store):
            self.release()
            _remove_fresh_store(self.store, self.made_dir)

    def release(self):
        if self.lock is not None:
            self.lock.release()
            self.lock = None


# ------------------------------------------------------------------------------------------------
# the processes of a multi-process (jax.distributed) scan act together
# ------------------------------------------------------------------------------------------------

_REPORT_BYTES = 4096  # one process's report (JSON) at most
_REPORT_WAIT_MS = 2**31 - 1  # ~25 days: how long a process waits for the others' reports
_multi_process_calls = itertools.count()  # the n-th scan of every process is the same scan


class _Processes:
    """The processes of one scan call, acting step by step together (``jax.distributed``)."""

    def __init__(self):
        self.index, self.count = jax.process_index(), jax.process_count()
        self.call = next(_multi_process_calls) if self.count > 1 else 0

    def together(self, stage: str, call: Callable[[], Any], share=None):
        """``call()`` in every process; if it raises in any process, it raises in all.

        Alone (one process) this is ``(call(), None)``. With several, each process reports
        success (with ``share(result)``) or its error to all the others, which is also the
        barrier between the steps of a scan. A process that failed re-raises its own error; the
        others raise one of the same type naming the failed process and its message. Without
        this the others would wait for a process that has given up, until JAX's coordination
        service aborts the job minutes later without a word of the cause. Returns
        ``(result, reports)``, the reports of all processes in process order.
        """
        if self.count == 1:
            return call(), None
        own, result = None, None
        try:
            result = call()
            report = {"ok": True, **(share(result) if share is not None else {})}
        except Exception as err:
            own = err
            report = {"ok": False, "type": type(err).__name__, "message": str(err)}
        reports = self._exchange(stage, report)
        if own is not None:
            raise own
        failed = [(p, r) for p, r in enumerate(reports) if not r["ok"]]
        if failed:
            raise _peer_error(stage, *failed[0], self.count) from None
        return result, reports

    def _exchange(self, stage: str, report: dict) -> list[dict]:
        """Every process's ``report``, in process order, once all have given theirs.

        Through the key-value store of JAX's coordination service, not a device collective:
        a process may wait for the others as long as their chunks take (an XLA:CPU collective
        gives up after 30 minutes), and nothing is compiled. Without a coordination client
        (e.g. a TPU pod started without ``jax.distributed``): ``process_allgather``.
        """
        report = dict(report)
        raw = json.dumps(report)
        while len(raw.encode()) > _REPORT_BYTES and report.get("message"):
            report["message"] = report["message"][: len(report["message"]) // 2] + " ..."
            raw = json.dumps(report)
        client = _coordination_client()
        if client is None:
            from jax.experimental import multihost_utils

            buf = np.zeros(_REPORT_BYTES, dtype=np.uint8)
            buf[: len(raw.encode())] = np.frombuffer(raw.encode(), dtype=np.uint8)
            rows = np.asarray(multihost_utils.process_allgather(buf))
            texts = [bytes(row).rstrip(b"\0").decode() for row in rows]
        else:
            key = f"diffsc.scan/{self.call}/{stage}"
            client.key_value_set(f"{key}/{self.index}", raw)
            texts = [
                client.blocking_key_value_get(f"{key}/{p}", _REPORT_WAIT_MS)
                for p in range(self.count)
            ]
        return [json.loads(text) for text in texts]


def _coordination_client():
    """This process's client of JAX's coordination service (``jax.distributed``), or None."""
    try:
        from jax._src.distributed import global_state
    except ImportError:  # pragma: no cover - a JAX without it
        return None
    return getattr(global_state, "client", None)


def _peer_error(stage: str, p: int, report: dict, p_count: int) -> Exception:
    """The error another process reported, as one of the same type (RuntimeError if unknown)."""
    known = (ScanLockedError, ScanModelError, ScanStoreError, FileExistsError, FileNotFoundError)
    known += (ValueError, TypeError)
    cls = next((c for c in known if c.__name__ == report["type"]), RuntimeError)
    message = report["message"].removeprefix("diffsc.scan: ")
    if cls.__name__ != report["type"]:
        message = f"{report['type']}: {message}"
    return cls(f"diffsc.scan: process {p} of {p_count} failed {stage}: {message}")


def _manifest_digest(manifest: dict) -> str:
    return hashlib.sha256(json.dumps(manifest, sort_keys=True).encode()).hexdigest()


def _check_processes_agree(reports: list[dict]):
    """Every process must scan the same grid with the same outputs, chunk size and metadata."""
    differ = [p for p, r in enumerate(reports) if r["scan"] != reports[0]["scan"]]
    if differ:
        raise ValueError(
            f"diffsc.scan: process(es) {differ} of {len(reports)} were called with another scan "
            "than process 0 (grid, outputs, chunk size, units, output_dims, flag or attrs "
            "differ); every process must call scan with the same arguments (pass `chunk_size` "
            "when the processes have different numbers of devices)."
        )


class _QuietModelCheckLogs(logging.Filter):
    """Drop JAX's logged traceback of a failed ``equinox.error_if`` callback during a scan: the
    error is re-raised as [`ScanModelError`][diffsc.ScanModelError] with the model's message."""

    _LOGGER = "jax._src.callback"

    def __init__(self):
        super().__init__()
        logging.getLogger(self._LOGGER).addFilter(self)

    def filter(self, record):
        exc = record.exc_info[1] if record.exc_info else None
        return not (exc is not None and "EquinoxRuntimeError" in type(exc).__name__)

    def remove(self):
        logging.getLogger(self._LOGGER).removeFilter(self)


_EQX_MESSAGE = re.compile(r"E(?:quinox|qx)RuntimeError:\s*(\S[^\n]*)")


def _model_error(err: BaseException, ids, chunk: int, n_points: int) -> ScanModelError | None:
    """A [`ScanModelError`][diffsc.ScanModelError] if ``err`` is the model's own argument check failing."""
    match = _EQX_MESSAGE.search(str(err))
    if match is None:
        return None
    ids = sorted(set(ids))
    lo, hi = ids[0] * chunk, min((ids[-1] + 1) * chunk, n_points)
    return ScanModelError(
        f"diffsc.scan: the model rejected a grid point among points {lo}..{hi - 1} "
        f"(chunk{'s' if len(ids) > 1 else ''} {', '.join(map(str, ids))}): "
        f"{match.group(1).strip()}"
    )


@dataclasses.dataclass
class _OwnChunks:
    """What one process holds after computing its chunks."""

    values: dict
    computed: np.ndarray
    todo: list[int]
    rejected: list[str]
    elapsed: float


def _compute_own_chunks(fn, plan: _Plan, p_index, p_count, progress, callback) -> _OwnChunks:
    """Load this process's good chunks from the store, compute (and store) the others."""
    names, coords, listed, spec, manifest, store, devices = (
        plan.names,
        plan.coords,
        plan.listed,
        plan.spec,
        plan.manifest,
        plan.store,
        plan.devices,
    )
    n_points, chunk, n_chunks = manifest["n_points"], manifest["chunk_size"], manifest["n_chunks"]
    n_dev = len(devices)
    values = {k: np.zeros((n_points, *s), dtype=np.dtype(d)) for k, (s, d) in spec.items()}
    computed = np.zeros(n_points, dtype=bool)
    done: set[int] = set()
    rejected: list[str] = []
    mine = _owned_by(p_index, p_count)
    if store is not None:
        done, rejected = _load_chunks(
            store, mine, manifest, names, coords, spec, values, computed, verify=True, move=True
        )
        if rejected:
            _warn(
                f"diffsc.scan: {len(rejected)} chunk file(s) rejected, moved aside as *.rejected "
                "and recomputed: " + "; ".join(rejected)
            )

    todo = [i for i in range(n_chunks) if mine(i) and i not in done]
    from tqdm.auto import tqdm

    pending_points = sum(min(chunk, n_points - i * chunk) for i in todo)
    bar = tqdm(
        total=pending_points,
        unit="pt",
        unit_scale=pending_points >= 10_000,
        desc="diffsc.scan",
        disable=not progress,
        smoothing=0.1,
    )
    # one step = one chunk per device; the last step repeats its last chunk to fill the devices
    steps = [todo[k : k + n_dev] for k in range(0, len(todo), n_dev)]
    t0 = time.perf_counter()

    def checked(call, ids):
        try:
            return call()
        except Exception as err:
            model_err = _model_error(err, ids, chunk, n_points)
            if model_err is None:
                raise
            raise model_err from None

    try:
        if steps:
            evaluate = _chunk_evaluator(fn, names, coords, listed, chunk, devices)
            pad = lambda ids: ids + [ids[-1]] * (n_dev - len(ids))  # noqa: E731
            # dispatch ahead: the next step runs while this one is written
            pending = checked(lambda: evaluate(pad(steps[0])), steps[0])
            n_finished = len(done)
            for j, ids in enumerate(steps):
                current = pending
                if j + 1 < len(steps):
                    nxt = steps[j + 1]
                    pending = checked(lambda nxt=nxt: evaluate(pad(nxt)), nxt)
                host_all = checked(lambda c=current: {k: np.asarray(v) for k, v in c.items()}, ids)
                for d, i in enumerate(ids):
                    lo, hi = i * chunk, min((i + 1) * chunk, n_points)
                    host = {k: v[d * chunk : d * chunk + hi - lo] for k, v in host_all.items()}
                    if store is not None:
                        digest = _slice_digest(names, coords, listed, lo, hi)
                        _write_chunk(store, i, lo, hi, host, digest)
                    for k, v in host.items():
                        values[k][lo:hi] = v
                    computed[lo:hi] = True
                    n_finished += 1
                    bar.update(hi - lo)
                    if callback is not None:
                        callback(i, n_finished, n_chunks)
    finally:
        bar.close()
    return _OwnChunks(values, computed, todo, rejected, time.perf_counter() - t0)


def _owned_by(p_index: int, p_count: int) -> Callable[[int], bool]:
    """Process ``p_index`` of ``p_count`` owns the chunks ``i = p_index (mod p_count)``."""
    return lambda i: i % p_count == p_index


def _finish(plan: _Plan, own: _OwnChunks, p_index, p_count, n_computed: int):
    """Read the other processes' chunks, assemble the Dataset; process 0 writes ``scan.nc``."""
    manifest, store, values, computed = plan.manifest, plan.store, own.values, own.computed
    rejected = list(own.rejected)
    if store is not None and p_count > 1:
        # every other process reported its chunks written: look each one up by name rather than
        # list chunks/, whose listing a network file system may serve from its cache
        mine = _owned_by(p_index, p_count)
        theirs = {i: _chunk_file(store, i) for i in range(manifest["n_chunks"]) if not mine(i)}
        deadline = time.monotonic() + _SHARED_FS_PATIENCE  # for all of them together
        missing = [
            i for i, f in theirs.items() if not _visible(f, max(deadline - time.monotonic(), 0))
        ]
        if missing:
            shown = ", ".join(map(str, missing[:10])) + (", ..." if len(missing) > 10 else "")
            _warn(
                f"diffsc.scan: {len(missing)} chunk file(s) that other processes wrote are not "
                f"visible here after {_SHARED_FS_PATIENCE:.0f} s (chunks {shown}); their points "
                "count as not computed in this process's Dataset (diffsc.open_scan reads the "
                "store again)."
            )
        _, others = _load_chunks(
            store,
            lambda i: not mine(i),
            manifest,
            plan.names,
            plan.coords,
            plan.spec,
            values,
            computed,
            verify=True,
            move=False,
            files={i: f for i, f in theirs.items() if i not in missing},
        )
        if others:
            _warn(
                f"diffsc.scan: {len(others)} chunk file(s) of other processes rejected (their "
                "points are not computed; resume recomputes them): " + "; ".join(others)
            )
            rejected += others

    n_chunks = manifest["n_chunks"]
    extra = {
        # all processes together: chunks computed by this call, and loaded from an earlier one
        "chunks_computed": n_computed,
        "chunks_loaded": n_chunks - n_computed,
        "chunks_rejected": len(rejected),
        "n_chunks": n_chunks,
        "n_devices": len(plan.devices),
        "n_processes": p_count,
        "device_kind": str(plan.devices[0].device_kind),
        "seconds_computing": float(own.elapsed),
    }
    ds = _assemble(
        plan.names, plan.coords, plan.listed, plan.spec, values, computed, manifest, extra
    )
    if store is not None and p_index == 0 and computed.all():
        _write_merged(store, ds, manifest["fingerprint"])
    return ds


def open_scan(path: str | os.PathLike):
    """Load a scan store written by [`scan`][diffsc.scan] (complete or interrupted) as an ``xarray.Dataset``.

    Chunks not yet computed have ``valid == False`` (their values are undefined, zero here) and
    ``attrs["n_not_computed"] > 0``; resume them with ``scan(..., path=path, resume=True)``.
    Every chunk file is checked (index, grid checksum, shapes, data CRC): one that fails is named
    in a [`ScanStoreWarning`][diffsc.ScanStoreWarning] and its points count as not computed
    (``attrs["chunks_rejected"]``); a resume recomputes it. A damaged ``manifest.json`` or
    ``grid.npz`` raises [`ScanStoreError`][diffsc.ScanStoreError] naming the file. Nothing is written.
    """
    store = Path(path)
    if not (store / _MANIFEST).exists():
        why = "is not a diffsc scan store (no manifest.json)"
        if (store / _LOCK).exists():
            why += f"; a scan is creating it: {_describe_holder(_read_lock(store / _LOCK))}"
        raise FileNotFoundError(f"diffsc.open_scan: {str(store)!r} {why}.")
    manifest = _read_manifest(store)
    version = manifest["store_version"]
    if version not in (1, STORE_VERSION):
        raise ScanStoreError(
            f"diffsc.open_scan: {str(store)!r} has store version {version!r}; this diffsc reads "
            f"versions 1 to {STORE_VERSION}."
        )
    manifest.setdefault("n_chunks", -(-manifest["n_points"] // manifest["chunk_size"]))
    names, listed = manifest["names"], manifest["listed"]
    coords, why = _read_grid(store, manifest)
    if coords is None:
        raise ScanStoreError(
            f"diffsc.open_scan: {str(store / _GRID)!r}: {why}. Resuming the scan with its grid "
            "(scan(..., resume=True) or diffsc scan --resume) rewrites it."
        )
    spec = {k: (tuple(s), d) for k, (s, d) in manifest["outputs"].items()}
    n_points = manifest["n_points"]
    values = {k: np.zeros((n_points, *s), dtype=np.dtype(d)) for k, (s, d) in spec.items()}
    computed = np.zeros(n_points, dtype=bool)
    _, rejected = _load_chunks(
        store,
        lambda i: True,
        manifest,
        names,
        coords,
        spec,
        values,
        computed,
        verify=version >= 2,
        move=False,
    )
    if rejected:
        _warn(
            f"diffsc.open_scan: {len(rejected)} chunk file(s) rejected (their points count as not "
            "computed; resuming the scan recomputes them): " + "; ".join(rejected)
        )
    extra = {"chunks_rejected": len(rejected)}
    return _assemble(names, coords, listed, spec, values, computed, manifest, extra)
