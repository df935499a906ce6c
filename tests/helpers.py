"""Shared test helpers: central finite differences for gradient checks."""

import numpy as np


def central_difference(fn, x, rel_step=1e-5, abs_step=None):
    """d fn / d x at scalar ``x`` by a central difference (float64)."""
    x = float(x)
    h = abs_step if abs_step is not None else rel_step * max(abs(x), 1e-30)
    return (float(fn(x + h)) - float(fn(x - h))) / (2.0 * h)


def assert_close(actual, expected, rtol, atol=0.0, what=""):
    """``np.testing.assert_allclose`` with a message naming the quantity."""
    np.testing.assert_allclose(np.asarray(actual), np.asarray(expected), rtol=rtol, atol=atol, err_msg=what)
