"""Every class of invalid input to every registered public function gives an error naming the
argument: eagerly, under ``jax.jit`` and under ``jax.jit(jax.vmap)`` with one bad element in a
batch (see ``bad_input_matrix.py`` for the classes and the table of counts).

Slow entry points (``heavy`` in the registry) run eagerly only; ``python
tests/bad_input_matrix.py --heavy`` runs them under jit too.
"""

import pytest
from api_registry import REGISTRY
from bad_input_matrix import run_entry


@pytest.mark.parametrize("entry", REGISTRY, ids=[e.name for e in REGISTRY])
def test_every_bad_input_gives_a_named_error(entry):
    modes = ("eager",) if entry.heavy else ("eager", "jit", "vmap")
    bad = [f"{mode} {arg} {case}: {outcome} {msg[:160]}"
           for mode, arg, case, outcome, msg in run_entry(entry, modes) if outcome != "clear"]
    assert not bad, "\n".join(bad)
