"""Deprecation of renamed arguments: old spellings keep working for one release, with a warning.

The project's convention on names and argument order is in CONTRIBUTING.md ("Names and argument
order"); a public signature that changes keeps its old form through `renamed`.
"""

from __future__ import annotations

import warnings

_UNSET = object()


class _Required:
    """Default of a required argument that also has a deprecated old name (so that either
    spelling may be passed); `renamed` raises ``TypeError`` when neither is."""

    def __repr__(self):
        return "<required>"


REQUIRED = _Required()


def required(function: str, name: str, value):
    """`value`, or ``TypeError`` if the required argument `name` was not passed (``REQUIRED``)."""
    if value is REQUIRED:
        raise TypeError(f"diffsc.{function}: missing required argument `{name}`.")
    return value


def renamed(function: str, old: str, new: str, old_value, new_value, default, *,
            stacklevel: int = 3):
    """The value of argument `new`, taking a deprecated `old` spelling into account.

    `old_value` is what the caller passed as `old` (``None`` when not passed), `new_value` what it
    passed as `new` (``default`` when not passed). Passing `old` warns (``DeprecationWarning``,
    naming the new spelling); passing both raises ``TypeError``; with ``default=REQUIRED``,
    passing neither raises ``TypeError``. `stacklevel` locates the warning at the user's call
    (3: the caller of the function that calls `renamed`).
    """
    if old_value is None:
        if new_value is REQUIRED:
            raise TypeError(f"diffsc.{function}: missing required argument `{new}`.")
        return new_value
    if new_value is not default:
        raise TypeError(
            f"diffsc.{function}: pass `{new}` only (`{old}` is its deprecated old name)."
        )
    warnings.warn(
        f"diffsc.{function}: argument `{old}` is deprecated and will be removed in the next "
        f"release; call it `{new}`.",
        DeprecationWarning,
        stacklevel=stacklevel,
    )
    return old_value
