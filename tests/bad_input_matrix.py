"""The bad-input matrix: every registered public function, every class of invalid argument,
eagerly, under ``jit`` and under ``jit(vmap)`` with one bad element in a batch.

Each case ends in one of four outcomes:

* ``clear``: an error whose message names the argument (both arguments for a shape mismatch);
* ``unclear``: an error that does not name it;
* ``silent_nan``: no error, a NaN or inf in the result;
* ``silent_wrong``: no error and a finite result for invalid input.

Run ``python tests/bad_input_matrix.py`` for the table of counts (add ``--heavy`` to include the
slow entry points under ``jit``); ``tests/test_api_properties.py`` asserts that every case is
``clear``.
"""

from __future__ import annotations

import collections
import os
import sys

import jax
import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from api_registry import REGISTRY, Entry, all_finite  # noqa: E402

OUTCOMES = ("clear", "unclear", "silent_nan", "silent_wrong")


def _static_cases(entry: Entry, name: str):
    """Invalid inputs found from dtype and shape alone (eager and jit)."""
    t = entry.typical_values()[name]
    yield "complex", np.asarray(t) + 1e-3j * np.abs(np.asarray(t)) + 1e-30j
    yield "empty", np.zeros((0,))


def _eager_only_cases(entry: Entry, name: str):
    t = entry.typical_values()[name]
    yield "string", str(float(np.ravel(t)[0]))
    if entry.default(name) is not None:  # None is the documented default of optional arguments
        yield "none", None
    yield "bool", True


def _value_cases(entry: Entry, name: str):
    """Invalid values of the right dtype and shape (checked by equinox.error_if)."""
    yield "nan", np.nan
    if not entry.args[name].allow_inf:
        yield "inf", np.inf
    yield from entry.args[name].invalid_values()


def _with(entry: Entry, name: str, value, batch: int | None = None, bad_index: int = 1):
    values = entry.typical_values()
    if batch is None:
        shape = entry.fixed_shapes.get(name, entry.shape)
        values[name] = value if isinstance(value, np.ndarray) or not shape or value is None or isinstance(value, str | bool) else np.full(shape, value)
        return values
    out = {}
    for k, v in values.items():
        out[k] = np.repeat(np.asarray(v)[None], batch, axis=0)
    col = np.asarray(out[name]).astype(np.result_type(out[name], np.asarray(value)))
    col[bad_index] = value
    out[name] = col
    return out


def classify(fn, names) -> tuple[str, str]:
    """Run ``fn()`` and classify its outcome; return (outcome, message)."""
    try:
        out = fn()
        jax.block_until_ready(out)
    except Exception as err:  # noqa: BLE001 - any error is classified by its message
        msg = str(err)
        return ("clear" if all(f"`{n}`" in msg for n in names) else "unclear"), msg.splitlines()[0] if msg else type(err).__name__
    return ("silent_wrong" if all_finite(out) else "silent_nan"), ""


def run_entry(entry: Entry, modes=("eager", "jit", "vmap")):
    """Yield (mode, argument, case, outcome, message) for every case of one entry."""
    jitted = jax.jit(entry.call)

    def batched(values):
        return jax.vmap(entry.call)(values)

    vjitted = jax.jit(batched)
    for name in entry.args:
        if "eager" in modes:
            for case, v in [*_static_cases(entry, name), *_eager_only_cases(entry, name), *_value_cases(entry, name)]:
                vals = _with(entry, name, v)
                yield ("eager", name, case, *classify(lambda vals=vals: entry.call(vals), [name]))
        if "jit" in modes:
            for case, v in [*_static_cases(entry, name), *_value_cases(entry, name)]:
                vals = _with(entry, name, v)
                yield ("jit", name, case, *classify(lambda vals=vals: jitted(vals), [name]))
        if "vmap" in modes and not entry.no_vmap:
            for case, v in _value_cases(entry, name):
                vals = _with(entry, name, v, batch=3)
                yield ("vmap", name, case, *classify(lambda vals=vals: vjitted(vals), [name]))
    if len(entry.broadcast) >= 2 and "eager" in modes:
        a, b = entry.broadcast[:2]
        vals = entry.typical_values()
        vals[a] = np.full(3, entry.args[a].typical)
        vals[b] = np.full(4, entry.args[b].typical)
        yield ("eager", f"{a},{b}", "shapes", *classify(lambda: entry.call(vals), [a, b]))
        if "jit" in modes:
            yield ("jit", f"{a},{b}", "shapes", *classify(lambda: jitted(vals), [a, b]))


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    heavy = "--heavy" in argv
    only = [a for a in argv if not a.startswith("--")]
    counts = collections.Counter()
    per_mode = collections.defaultdict(collections.Counter)
    problems = []
    for entry in REGISTRY:
        if only and entry.name not in only:
            continue
        modes = ("eager", "jit", "vmap") if heavy or not entry.heavy else ("eager",)
        for mode, arg, case, outcome, msg in run_entry(entry, modes):
            counts[outcome] += 1
            per_mode[mode][outcome] += 1
            if outcome != "clear":
                problems.append(f"{entry.name:32s} {mode:5s} {arg:24s} {case:9s} {outcome:12s} {msg[:110]}")
    print("\n".join(problems))
    print(f"\n{len(REGISTRY)} functions; {sum(counts.values())} cases")
    for mode, c in per_mode.items():
        print(f"  {mode:5s}: " + ", ".join(f"{o} {c[o]}" for o in OUTCOMES))
    print("  total: " + ", ".join(f"{o} {counts[o]}" for o in OUTCOMES))
    return 0 if counts["clear"] == sum(counts.values()) else 1


if __name__ == "__main__":
    os.environ.setdefault("JAX_PLATFORMS", "cpu")
    jax.config.update("jax_enable_x64", True)
    sys.exit(main())
