"""Numerical configuration: float64 by default.

diffsc turns on JAX's 64-bit mode when it is imported, because the kinetic equations and the
Mattis–Bardeen integrals resolve occupations down to 1e-18 (Al at 50 mK) and identities to 1e-10.
Set the environment variable ``DIFFSC_DISABLE_X64=1`` *before* importing diffsc to keep JAX's
float32 default (only the electrothermal forward model and plotting are documented as float32-safe).
Switching the whole process is deliberate (the user's own residuals and priors around a fit must be
float64 too). With 64-bit mode off, every argument validated with ``dtype=float`` (the marker of a
computation that needs float64, see ``_validation.as_real``) raises ``Float64RequiredError`` instead
of silently computing in float32.
"""

import os

import jax

X64_ENABLED = os.environ.get("DIFFSC_DISABLE_X64", "0") not in ("1", "true", "True", "yes")
if X64_ENABLED:
    jax.config.update("jax_enable_x64", True)
