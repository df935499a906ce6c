"""Compilation that survives the process: JAX's persistent cache plus stored exported programs.

A fit on the command line takes milliseconds to run but seconds to trace and compile. Two caches
on disk make the second process fast:

* JAX's persistent compilation cache (``jax_compilation_cache_dir``) keeps the compiled XLA
  executables;
* exported programs (``jax.export``, serialised StableHLO) skip the Python tracing as well; they
  are keyed by the program's name, the source of the modules that define it, the versions of
  diffsc and JAX, the platform, and the shapes and dtypes of the arguments, so an edit of the code
  or an upgrade never reuses a stale program.

Both live under one folder: ``$DIFFSC_CACHE_DIR``, else ``$XDG_CACHE_HOME/diffsc``, else
``~/.cache/diffsc``. ``diffsc`` on the command line enables them (``--no-cache`` or
``DIFFSC_NO_CACHE=1`` switch them off); in Python call [`enable_compilation_cache`][diffsc.enable_compilation_cache].
Deleting the folder is always safe.
"""

from __future__ import annotations

import hashlib
import inspect
import os
import sys
import tempfile
from pathlib import Path

import jax

_STATE = {"dir": None}


def default_cache_dir() -> Path:
    """``$DIFFSC_CACHE_DIR``, else ``$XDG_CACHE_HOME/diffsc``, else ``~/.cache/diffsc``."""
    if os.environ.get("DIFFSC_CACHE_DIR"):
        return Path(os.environ["DIFFSC_CACHE_DIR"]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base).expanduser() / "diffsc"


def cache_disabled_by_environment() -> bool:
    """True when ``DIFFSC_NO_CACHE`` is set to 1/true/yes."""
    return os.environ.get("DIFFSC_NO_CACHE", "").strip().lower() in ("1", "true", "yes", "on")


def enable_compilation_cache(path=None) -> Path | None:
    """Turn on the on-disk compilation caches (JAX's persistent cache and exported programs).

    **Arguments:**

    - `path`: cache folder (default `default_cache_dir`).

    **Returns:** the folder in use, or ``None`` when ``DIFFSC_NO_CACHE`` is set or the folder
    cannot be created (then nothing changes and everything still works, only slower to start).
    """
    if cache_disabled_by_environment():
        return None
    folder = Path(path).expanduser() if path is not None else default_cache_dir()
    try:
        (folder / "xla").mkdir(parents=True, exist_ok=True)
        (folder / "exported").mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    jax.config.update("jax_compilation_cache_dir", str(folder / "xla"))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.2)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
    _STATE["dir"] = folder
    return folder


def cache_dir() -> Path | None:
    """The folder in use by this process, ``None`` when the caches are off."""
    return _STATE["dir"]


def _source_hash(modules) -> str:
    h = hashlib.sha256()
    for module in modules:
        h.update(inspect.getsource(sys.modules[module]).encode())
    return h.hexdigest()


def _key(name: str, modules, args) -> str:
    import diffsc

    leaves, treedef = jax.tree.flatten(args)
    avals = [(tuple(jax.numpy.shape(x)), str(jax.numpy.result_type(x))) for x in leaves]
    text = repr((name, diffsc.__version__, jax.__version__, jax.default_backend(),
                 jax.local_device_count(),
                 _source_hash(modules), str(treedef), avals, jax.config.jax_enable_x64))
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def exported_call(name: str, fn, args: tuple, *, modules):
    """``fn(*args)``, with the traced program stored on disk when the caches are enabled.

    `fn` is a jitted function of arrays only (no static arguments, no host callbacks such as
    ``equinox.error_if``); `modules` name the modules whose source defines it. Without the caches,
    or when ``jax.export`` serialisation is unavailable, this is just ``fn(*args)``.
    """
    folder = cache_dir()
    if folder is None:
        return fn(*args)
    try:
        import flatbuffers  # noqa: F401  (needed by jax.export serialisation)
        from jax import export
    except ImportError:
        return fn(*args)
    path = folder / "exported" / f"{name}-{_key(name, modules, args)}.jaxexport"
    if path.exists():
        try:
            return export.deserialize(bytearray(path.read_bytes())).call(*args)
        except Exception:  # a damaged or foreign file: rebuild it below
            path.unlink(missing_ok=True)
    exported = export.export(fn)(*args)
    blob = exported.serialize()
    try:  # atomic: a concurrent reader sees the old file or the whole new one
        with tempfile.NamedTemporaryFile(dir=path.parent, delete=False) as tmp:
            tmp.write(blob)
        os.replace(tmp.name, path)
    except OSError:
        pass
    return exported.call(*args)
