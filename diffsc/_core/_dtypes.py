"""Explicit dtype casts for mixed real/complex arithmetic.

The library never relies on JAX's implicit dtype promotion: the test suite runs with
``jax_numpy_dtype_promotion="strict"``, which rejects ``1j * x`` for a real array ``x``. Where a
real array meets a complex one it is cast first with `as_complex`, the same conversion
implicit promotion performs (``convert_element_type``, so values and derivatives are bitwise the
same) at the precision of ``x`` (float32 -> complex64, float64 -> complex128). Weakly typed values
(Python numbers, arrays made from them) are returned as they are: strict mode accepts them, and
promotion gives them the precision of the other operand, so a Python-number default never turns
complex64 into complex128.
"""

import jax
import jax.numpy as jnp

_SINGLE = (jnp.dtype(jnp.float16), jnp.dtype(jnp.bfloat16), jnp.dtype(jnp.float32))


def as_complex(x):
    """``x + 0j`` as a complex array of the precision of real ``x`` (complex ``x`` unchanged)."""
    if isinstance(x, bool | int | float | complex) or getattr(getattr(x, "aval", None), "weak_type", False):
        return x  # weak: the other operand sets the precision, as under implicit promotion
    x = jnp.asarray(x)
    if jnp.iscomplexobj(x):
        return x
    if x.dtype in _SINGLE:
        return x.astype(jnp.complex64)
    return x.astype(jax.dtypes.canonicalize_dtype(jnp.complex128))
