"""Strict test configuration: float64 on, rank promotion raises, CPU device."""

import os

os.environ.setdefault("JAX_PLATFORMS", "cpu")
os.environ.setdefault("MPLBACKEND", "Agg")

import jax  # noqa: E402

import diffsc  # noqa: E402, F401  (enables float64)

jax.config.update("jax_numpy_rank_promotion", "raise")
jax.devices()  # start the backend now: one CPU device, whatever a command-line test would set
