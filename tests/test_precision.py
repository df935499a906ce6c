"""Precision policy: importing diffsc turns float64 on; with it off, float64 entry points say so.

The x64 switch is process-global, so the opted-out cases run in a subprocess.
"""

import os
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np

import diffsc

_SCRIPT = r"""
import jax.numpy as jnp
import numpy as np
import diffsc
out = []
try:
    diffsc.gap(0.5, diffsc.material("Al"))
except diffsc.Float64RequiredError as err:
    out.append("gap:" + ("`T` (K)" in str(err) and "jax_enable_x64" in str(err)).__str__())
z = diffsc.electrothermal_impedance(jnp.float32(1e3), R=jnp.float32(1.0), T=jnp.float32(4.0),
                                    I=jnp.float32(1e-3),
                                    C=jnp.float32(1e-9), G=jnp.float32(1e-6),
                                    alpha=jnp.float32(10.0))
out.append("et:" + str(z.dtype))
print(";".join(out))
"""


def test_import_enables_float64():
    assert jax.config.jax_enable_x64
    assert diffsc.gap(0.5, diffsc.material("Al")).dtype == jnp.float64


def test_validated_arguments_are_float64_whatever_their_input_dtype():
    # integers and float32 input to a float64 entry point are computed in float64, same numbers
    al = diffsc.material("Al")
    ref = diffsc.gap(np.float64(np.float32(0.7)), al)
    for T in (np.float32(0.7), jnp.float32(0.7)):
        out = diffsc.gap(T, al)
        assert out.dtype == jnp.float64
        np.testing.assert_allclose(out, ref, rtol=1e-14)
    assert diffsc.gap(1, al).dtype == jnp.float64
    np.testing.assert_allclose(diffsc.gap(1, al), diffsc.gap(1.0, al), rtol=1e-15)


def test_float64_entry_points_raise_when_x64_is_off_and_float32_safe_ones_run():
    env = dict(os.environ, DIFFSC_DISABLE_X64="1", JAX_PLATFORMS="cpu")
    res = subprocess.run([sys.executable, "-c", _SCRIPT], capture_output=True, text=True,
                         env=env, timeout=300)
    assert res.returncode == 0, res.stderr[-2000:]
    assert res.stdout.strip().splitlines()[-1] == "gap:True;et:complex64"
