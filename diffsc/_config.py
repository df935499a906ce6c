"""Numerical configuration: float64 by default.

diffsc turns on JAX's 64-bit mode when it is imported, because the kinetic equations and the
Mattis–Bardeen integrals resolve occupations down to 1e-18 (Al at 50 mK) and identities to 1e-10.
Set the environment variable ``DIFFSC_DISABLE_X64=1`` *before* importing diffsc to keep JAX's
float32 default (only the electrothermal forward model and plotting are documented as float32-safe).

It also adds ``--xla_cpu_multi_thread_eigen=false`` to ``XLA_FLAGS`` when the flag is not already
set and no JAX backend has started yet. Reason: under ``vmap``, XLA's CPU runtime can run two
batched LU factorisations (``jnp.linalg.solve`` on a batch) at once; each hands its batch to the
intra-op thread pool and blocks until it is done, and when every pool thread is such a waiting
kernel nobody is left to do the work. We saw it hang ``fit_power_sweep`` with the kinetic
response at 0 % CPU (native stacks: both pool threads in jaxlib's ``LuDecomposition`` →
``ParallelBatchMap`` → ``BlockingCounter::Wait``; jax/jaxlib 0.10.2, 2 cores). Single-threaded
Eigen runs those batches inline; on our kinetic solves it costs nothing measurable (a 1000-bin
solve took 3.7 s with the flag and 3.8 s without). Set ``DIFFSC_KEEP_XLA_FLAGS=1`` before importing
diffsc to leave ``XLA_FLAGS`` alone.
"""

import os

import jax

_TRUE = ("1", "true", "True", "yes")
_EIGEN_FLAG = "--xla_cpu_multi_thread_eigen"


def _backends_started() -> bool:
    try:
        from jax._src import xla_bridge

        return bool(xla_bridge.backends_are_initialized())
    except (ImportError, AttributeError):  # pragma: no cover - private API moved
        return True  # unknown: do not touch the flags


XLA_FLAGS_SET = False
if (os.environ.get("DIFFSC_KEEP_XLA_FLAGS", "0") not in _TRUE
        and _EIGEN_FLAG not in os.environ.get("XLA_FLAGS", "") and not _backends_started()):
    os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + f" {_EIGEN_FLAG}=false").strip()
    XLA_FLAGS_SET = True

X64_ENABLED = os.environ.get("DIFFSC_DISABLE_X64", "0") not in _TRUE
if X64_ENABLED:
    jax.config.update("jax_enable_x64", True)
