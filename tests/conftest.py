"""Strict test configuration: float64 on, rank promotion raises, strict dtype promotion, CPU device.

Strict dtype promotion (``jax_numpy_dtype_promotion="strict"``) makes every implicit dtype change
an error: ``1j * x`` or ``x * c`` for a real array ``x`` and a complex ``c``, an integer array times
a float array, float32 meeting float64. The library casts explicitly instead
(``diffsc._core._dtypes.as_complex``, ``.astype``), which is bitwise what implicit promotion did;
this configuration keeps it that way. It is on for the test suite only: it would also reject
*user* code that mixes dtypes (importing diffsc leaves JAX's standard promotion alone), and the
public entry points cast user input explicitly (``check_*(..., dtype=float)``), so valid mixed
input still works under strict mode. Python scalars (weak types) stay allowed.

A test that genuinely needs standard promotion says so with
``@pytest.mark.standard_promotion("reason")`` (module-wide: ``pytestmark``); none does today.
"""

import gc
import os

os.environ.setdefault("JAX_PLATFORMS", "cpu")
os.environ.setdefault("MPLBACKEND", "Agg")
# Commands run in-process (cli.main) would otherwise turn on the on-disk compilation cache for
# the rest of the worker; the tests of the cache itself remove this in their subprocess's env.
os.environ.setdefault("DIFFSC_NO_CACHE", "1")

import jax  # noqa: E402
import pytest  # noqa: E402

import diffsc  # noqa: E402, F401  (enables float64)

jax.config.update("jax_numpy_rank_promotion", "raise")
jax.config.update("jax_numpy_dtype_promotion", "strict")
jax.devices()  # start the backend now: one CPU device, whatever a command-line test would set


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "standard_promotion(reason): run this test under JAX's standard dtype promotion"
    )


@pytest.fixture(autouse=True)
def _dtype_promotion(request):
    """Strict dtype promotion, or standard where the test is marked ``standard_promotion``."""
    marker = request.node.get_closest_marker("standard_promotion")
    with jax.numpy_dtype_promotion("standard" if marker else "strict"):
        yield


@pytest.fixture(autouse=True, scope="module")
def _free_compiled_programs():
    """Drop JAX's compiled programs after each test file.

    XLA:CPU maps the code of every compiled executable into the process (~10 memory maps each),
    and a cached executable stays mapped for the life of the process. One pytest worker compiles
    thousands of programs; past Linux's ``vm.max_map_count`` (65,530 by default; a worker reached
    63,800 before its next compile crashed inside XLA) the process dies. Clearing the caches per
    file bounds a worker by its largest file (at most ~17,000 maps measured over the suite); a
    file's own tests still share their compilations.
    """
    yield
    jax.clear_caches()
    gc.collect()
