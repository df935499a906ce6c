"""Package-level promises: float64 on import, materials, CLI."""

import jax.numpy as jnp
import pytest

import diffsc


def test_float64_is_default():
    assert jnp.asarray(1.0).dtype == jnp.float64
    assert jnp.zeros(3).dtype == jnp.float64


def test_material_presets_and_replace():
    for name in ["Al", "Pb", "Nb", "NbSe2", "Ta", "NbN", "TiN"]:
        m = diffsc.material(name)
        assert m.Tc > 0 and m.gap0 > 0
    al = diffsc.material("Al")
    al2 = al.replace(tau0=400e-9)
    assert al2.tau0 == 400e-9 and al.tau0 == 440e-9
    with pytest.raises(TypeError, match="no field"):
        al.replace(not_a_field=1.0)
    with pytest.raises(ValueError, match="unknown material"):
        diffsc.material("Unobtainium")
    with pytest.raises(ValueError, match="`Tc` must be > 0"):
        al.replace(Tc=-1.0)
    with pytest.raises(ValueError, match="has no `N0`"):
        diffsc.material("TiN").require("N0")


def test_energy_conserving_tau0_ph_al():
    # physics reference §3.6: Al with Theta_D = 420 K, N0 = 1.74e28, tau0 = 438 ns, gap 180 ueV -> 0.270 ns
    al = diffsc.material("Al").replace(N0=1.74e28, tau0=438e-9, gap0=180e-6)
    # Tc enters as (k Tc)^3; the reference value uses Tc = gap0 / 1.764 k
    al = al.replace(Tc=180e-6 / (diffsc.constants.bcs_gap_ratio * diffsc.constants.k_B))
    assert abs(float(al.tau0_ph_energy_conserving) - 0.270e-9) / 0.270e-9 < 0.01


def _private_imports():
    """(file, line, module, names, comment) of every ``from diffsc._... import`` in a test file."""
    import ast
    import importlib
    import pathlib

    for path in sorted(pathlib.Path(__file__).parent.glob("test_*.py")):
        source = path.read_text()
        lines = source.splitlines()
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name.startswith("diffsc._"):
                        yield path.name, node.lineno, alias.name, [], lines[node.lineno - 1]
            elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("diffsc._"):
                text = "\n".join(lines[node.lineno - 1:node.end_lineno])
                module = importlib.import_module(node.module)
                yield path.name, node.lineno, node.module, [
                    (a.name, getattr(module, a.name)) for a in node.names], text


def test_tests_import_the_public_api():
    """Tests reach the physics through ``diffsc.<name>``: a private import (``diffsc._x``) is only
    for a test about an internal, says so (``# internal: what``), and never imports a name that
    ``diffsc`` exports (``diffsc._core._constants`` is public as ``diffsc.constants``)."""
    bad = []
    for name, line, module, names, text in _private_imports():
        where = f"{name}:{line} ({module})"
        if "# internal:" not in text:
            bad.append(f"{where}: private import without '# internal: <what>'")
        if module == "diffsc._core._constants":
            bad.append(f"{where}: use diffsc.constants")
        public = [n for n, obj in names if not n.startswith("_") and getattr(diffsc, n, None) is obj]
        if public:
            bad.append(f"{where}: public {public}: import them from diffsc")
    assert not bad, "\n".join(bad)


def test_suite_runs_under_strict_dtype_promotion():
    """tests/conftest.py: implicit dtype promotion is an error in the tests (not for users)."""
    import jax

    with pytest.raises(jax.dtypes.TypePromotionError):
        1j * jnp.ones(2)  # noqa: B018
    with pytest.raises(jax.dtypes.TypePromotionError):
        jnp.arange(2) * jnp.ones(2)  # noqa: B018
    assert (2.0 * jnp.ones(2)).dtype == jnp.float64  # Python scalars stay allowed


@pytest.mark.standard_promotion("checks the marker itself")
def test_standard_promotion_marker():
    assert (1j * jnp.ones(2)).dtype == jnp.complex128
