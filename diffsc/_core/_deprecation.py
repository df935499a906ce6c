"""Deprecation of renamed arguments: old spellings keep working for one release, with a warning.

The project's convention on names and argument order is in CONTRIBUTING.md ("Names and argument
order"); a public signature that changes keeps its old form through :func:`renamed`.
"""

from __future__ import annotations

import warnings

_UNSET = object()


def renamed(function: str, old: str, new: str, old_value, new_value, default):
    """The value of argument `new`, taking a deprecated `old` spelling into account.

    `old_value` is what the caller passed as `old` (``None`` when not passed), `new_value` what it
    passed as `new` (``default`` when not passed). Passing `old` warns (``DeprecationWarning``,
    naming the new spelling); passing both raises ``TypeError``.
    """
    if old_value is None:
        return new_value
    if new_value is not default:
        raise TypeError(
            f"diffsc.{function}: pass `{new}` only (`{old}` is its deprecated old name)."
        )
    warnings.warn(
        f"diffsc.{function}: argument `{old}` is deprecated and will be removed in the next "
        f"release; call it `{new}`.",
        DeprecationWarning,
        stacklevel=3,
    )
    return old_value
