"""Explicit dtype casts for mixed real/complex arithmetic.

The library never relies on JAX's implicit dtype promotion: the test suite runs with
``jax_numpy_dtype_promotion="strict"``, which rejects ``1j * x`` for a real array ``x``. Where a
real array meets a complex one it is cast first with :func:`as_complex`, which is what implicit
promotion did (so values are bitwise the same) and keeps the precision (float32 -> complex64).
"""

import jax
import jax.numpy as jnp


def as_complex(x):
    """``x + 0j`` as a complex array of the precision of real ``x`` (complex ``x`` unchanged)."""
    x = jnp.asarray(x)
    if jnp.iscomplexobj(x):
        return x
    return jax.lax.complex(x, jnp.zeros_like(x))
