"""Command line: `diffsc scan CONFIG` and `diffsc reproduce` reports (`diffsc fit`: test_cli_fit.py)."""

import types

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import diffsc
from diffsc import cli
from diffsc._scan._cli import (  # internal: the scan configuration parser
    ConfigError,
    load_config,
    unit_factor,
)

GAP_TOML = """
model = "gap"
output = "gap_store"
chunk_size = 8
[fixed]
material = "Al"
[grid]
T = {{ start = 50, stop = 1300, num = 20, unit = "{unit}" }}
"""


def _write(tmp_path, text, name="scan.toml"):
    p = tmp_path / name
    p.write_text(text)
    return p


def test_scan_command_converts_units_and_matches_the_model(tmp_path, capsys):
    cfg = _write(tmp_path, GAP_TOML.format(unit="mK"))
    assert cli.main(["scan", str(cfg), "--no-progress"]) == 0
    assert "20 points" in capsys.readouterr().out
    ds = diffsc.open_scan(tmp_path / "gap_store")
    T = np.linspace(0.05, 1.3, 20)  # mK converted to the model's K
    np.testing.assert_allclose(ds.T.values, T, rtol=1e-15)
    assert ds.T.attrs["units"] == "K" and ds.gap.attrs["units"] == "eV"
    al = diffsc.material("Al")
    direct = np.asarray(jax.jit(lambda t: diffsc.gap(t, al))(jnp.asarray(T)))
    np.testing.assert_allclose(ds.gap.values, direct, rtol=1e-12)
    assert ds.attrs["model"] == "gap" and bool(ds.valid.all())
    # running again needs --resume, then recomputes nothing
    assert cli.main(["scan", str(cfg), "--no-progress"]) == 2
    assert "--resume" in capsys.readouterr().err
    assert cli.main(["scan", str(cfg), "--resume", "--no-progress"]) == 0
    assert "0 chunks computed, 3 loaded" in capsys.readouterr().out


@pytest.mark.parametrize(
    "text, match",
    [
        (
            'model = "no_such_model"\noutput = "o"\n[grid]\nT = {values=[1.0], unit="K"}',
            "unknown model",
        ),
        (
            'model = "gap"\noutput = "o"\n[grid]\nB = {values=[1.0], unit="T"}',
            "unknown parameter 'B'",
        ),
        (GAP_TOML.format(unit="Hz"), "unit 'Hz' is not compatible with the expected 'K'"),
        ('model = "gap"\noutput = "o"\n[grid]\nT = {values=[1.0]}', "give its `unit`"),
        (
            'model = "gap"\noutput = "o"\n[fixed]\ncolour = 1\n[grid]\nT = {values=[1.0], unit="K"}',
            "unknown fixed parameter",
        ),
        (
            'model = "gap"\noutput = "o"\n[fixed]\nmaterial = "Unobtainium"\n[grid]\nT = {values=[1.0], unit="K"}',
            "unknown material",
        ),
        ('model = "gap"\n[grid]\nT = {values=[1.0], unit="K"}', "missing `output`"),
        ('model = "gap"\noutput = "o"', "missing \\[grid\\]"),
        (
            'model = "gap"\noutput = "o"\n[grid]\nT = {start=1.0, stop=2.0, num=0, unit="K"}',
            "`num`",
        ),
        (
            'model = "gap"\noutput = "o"\nspeed = 3\n[grid]\nT = {values=[1.0], unit="K"}',
            "unknown key",
        ),
        ('model = "numpy:no_such_function"\noutput = "o"\n[grid]\nx = [1.0]', "has no function"),
        ("model = = 1", "invalid TOML"),
    ],
)
def test_bad_config_gives_the_error_it_should(tmp_path, capsys, text, match):
    cfg = _write(tmp_path, text)
    with pytest.raises(ConfigError, match=match):
        load_config(cfg)
    assert cli.main(["scan", str(cfg)]) == 2
    assert "diffsc scan:" in capsys.readouterr().err


def test_existing_foreign_output_is_refused(tmp_path):
    (tmp_path / "gap_store").mkdir()
    (tmp_path / "gap_store" / "notes.txt").write_text("mine")
    with pytest.raises(ConfigError, match="not a diffsc scan store"):
        load_config(_write(tmp_path, GAP_TOML.format(unit="K")))


def test_module_function_models_and_listed_mode(tmp_path, monkeypatch):
    (tmp_path / "my_models.py").write_text(
        "import jax.numpy as jnp\n\ndef hypot(x1, x2, *, scale=1.0):\n"
        "    return scale * jnp.hypot(x1, x2)\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    text = (
        'model = "my_models:hypot"\noutput = "h"\nmode = "listed"\n[fixed]\nscale = 2.0\n'
        "[grid]\nx1 = [3.0, 5.0, 8.0]\nx2 = [4.0, 12.0, 15.0]\n"
    )
    cfg = load_config(_write(tmp_path, text))
    from diffsc._scan._cli import run_config  # internal: the scan configuration parser

    ds = run_config(cfg, progress=False)
    np.testing.assert_array_equal(ds.value.values, [10.0, 26.0, 34.0])
    bad = text.replace("x2 =", "x3 =")
    with pytest.raises(ConfigError, match="unknown parameter 'x3'"):
        load_config(_write(tmp_path, bad, "bad.toml"))


def test_unit_factor_prefixes():
    assert unit_factor("mK", "K", what="T") == 1e-3
    assert unit_factor("GHz", "Hz", what="f") == 1e9
    assert unit_factor("ueV", "eV", what="gap") == 1e-6
    assert unit_factor("ohm", "Ohm", what="R") == 1.0
    with pytest.raises(ConfigError, match="not compatible"):
        unit_factor("K", "Hz", what="f")


def test_reproduce_writes_markdown_and_html(tmp_path, monkeypatch):
    def run(out_dir, quick=False):
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots()
        ax.plot([0, 1], [0, 1])
        fig.savefig(out_dir / "fake.png")
        plt.close(fig)
        return "A *number*: $T_c$ = 1.17 K, $n_{qp}$ and $f_{res}$\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n![fake](fake.png)"

    fake = types.SimpleNamespace(NAME="fake", TITLE="A fake set", ORDER=0, run=run)
    import diffsc.reproduce as rep

    monkeypatch.setattr(rep, "figure_sets", lambda: [fake])
    assert cli.main(["reproduce", "--out", str(tmp_path), "--quick"]) == 0
    md = (tmp_path / "summary.md").read_text()
    html = (tmp_path / "summary.html").read_text()
    assert "A fake set" in md and "<h2>A fake set</h2>" in html
    assert '<img alt="fake" src="fake.png"' in html and "<td>2</td>" in html
    assert "<em>number</em>" in html
    # maths reaches MathJax untouched (no <em> from the underscore), in the delimiters it is told
    assert '<span class="arithmatex">\\(n_{qp}\\)</span> and <span class="arithmatex">\\(f_{res}\\)</span>' in html
    assert "processHtmlClass" in html
    assert cli.main(["reproduce", "--out", str(tmp_path), "--only", "nope"]) == 2


def test_summary_html_is_still_written_without_pymdown_extensions(monkeypatch):
    """An environment put together by hand (a shared GPU image, say) can lack pymdown-extensions:
    the report of a long reproduce run must not fail at its last line; it warns instead."""
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "pymdownx" else real(name, *a))
    with pytest.warns(UserWarning, match="pymdown-extensions"):
        html = cli.markdown_to_html("| a | b |\n|---|---|\n| 1 | $x$ |\n")
    assert "<td>$x$</td>" in html and "arithmatex" not in html.split("</head>")[1]


def test_reproduce_uses_the_compilation_cache_unless_switched_off(tmp_path, monkeypatch):
    """`diffsc reproduce` turns the on-disk cache on; `--no-cache` keeps it off."""
    import diffsc._core._compilation_cache as cc  # internal: the switch the command calls
    import diffsc.reproduce as rep

    calls = []
    monkeypatch.setattr(cc, "enable_compilation_cache", lambda path=None: calls.append(path))
    monkeypatch.setattr(rep, "figure_sets", lambda: [])
    assert cli.main(["reproduce", "--out", str(tmp_path), "--no-cache"]) == 0
    assert calls == []
    assert cli.main(["reproduce", "--out", str(tmp_path)]) == 0
    assert calls == [None]


def test_scan_uses_the_compilation_cache_unless_switched_off(tmp_path, monkeypatch):
    """`diffsc scan` turns the on-disk cache on; `--no-cache` keeps it off."""
    import diffsc._core._compilation_cache as cc  # internal: the switch the command calls

    calls = []
    monkeypatch.setattr(cc, "enable_compilation_cache", lambda path=None: calls.append(path))
    cfg = _write(tmp_path, GAP_TOML.format(unit="mK"))
    assert cli.main(["scan", str(cfg), "--no-progress", "--no-cache"]) == 0
    assert calls == []
    assert cli.main(["scan", str(cfg), "--no-progress", "--out", str(tmp_path / "s2")]) == 0
    assert calls == [None]


# ------------------------------------------------------------------------------------------------
# scan command: every failure is one line, no traceback, non-zero status; no store left behind
# ------------------------------------------------------------------------------------------------

MODELS_PY = """
import equinox as eqx
import jax
import jax.numpy as jnp
from diffsc._core._validation import check_positive  # internal: a user model's validation


def checked_sqrt(x):
    return jnp.sqrt(check_positive(x, "x"))


def static_count(x, n):
    return x * len(range(n))  # `n` must be a Python int: scanning it cannot be traced


class Solution(eqx.Module):
    f: jax.Array
    gap: jax.Array
    T: jax.Array  # echoes the scanned argument
    success: jax.Array
    label: str = eqx.field(static=True, default="a solver")


def solve(T, *, scale=1.0):
    return Solution(f=scale * jnp.stack([T, 2 * T, 3 * T]), gap=1e-4 * T, T=T, success=T < 1.0)
"""


def _error_lines(capsys):
    captured = capsys.readouterr()
    lines = [ln for ln in captured.err.splitlines() if ln.strip()]
    assert "Traceback" not in captured.err and 'File "' not in captured.err, captured.err
    return lines


@pytest.fixture
def models(tmp_path, monkeypatch):
    (tmp_path / "scan_test_models.py").write_text(MODELS_PY)
    monkeypatch.syspath_prepend(str(tmp_path))
    yield "scan_test_models"
    import sys

    sys.modules.pop("scan_test_models", None)


def test_negative_temperature_is_one_line_and_leaves_no_store(tmp_path, capsys):
    text = 'model = "gap"\noutput = "neg"\n[grid]\nT = { values = [0.3, -100.0], unit = "mK" }\n'
    assert cli.main(["scan", str(_write(tmp_path, text)), "--no-progress"]) == 2
    (line,) = _error_lines(capsys)
    assert line.startswith("diffsc scan: ") and "grid `T`" in line and "-0.1 K" in line
    assert not (tmp_path / "neg").exists()
    # the corrected config runs at once: nothing blocks it
    fixed = text.replace("-100.0", "100.0")
    assert cli.main(["scan", str(_write(tmp_path, fixed)), "--no-progress"]) == 0


def test_value_rejected_by_the_model_is_one_line_and_leaves_no_store(tmp_path, capsys, models):
    text = f'model = "{models}:checked_sqrt"\noutput = "o"\n[grid]\nx = [4.0, -1.0]\n'
    assert cli.main(["scan", str(_write(tmp_path, text)), "--no-progress"]) == 2
    (line,) = _error_lines(capsys)
    assert "argument `x`" in line and "must be > 0" in line
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize(
    "text, args, match",
    [
        (GAP_TOML.format(unit="K"), ["--chunk-size", "0"], "`chunk_size` must be > 0"),
        (
            'model = "{m}:static_count"\noutput = "o"\n[grid]\nx = [1.0]\nn = [2.0]',
            [],
            "calling fn",
        ),
        (
            'model = "kinetic_steady_state"\noutput = "o"\n[grid]\nT_bath = {values=[0.1], unit="K"}',
            [],
            "needs parameter",
        ),
        (
            'model = "gap"\noutput = "o"\nfixed = 3\n[grid]\nT = {values=[1.0], unit="K"}',
            [],
            "must be a table",
        ),
    ],
)
def test_scan_errors_are_one_line(tmp_path, capsys, models, text, args, match):
    cfg = _write(tmp_path, text.replace("{m}", models))
    assert cli.main(["scan", str(cfg), "--no-progress", *args]) == 2
    (line,) = _error_lines(capsys)
    assert match in line, line
    assert not (tmp_path / "o").exists() and not (tmp_path / "gap_store").exists()


def test_locked_store_names_its_holder(tmp_path, capsys):
    import json

    cfg = _write(tmp_path, GAP_TOML.format(unit="K"))
    assert cli.main(["scan", str(cfg), "--no-progress"]) == 0
    capsys.readouterr()
    lock = {"pid": 4242, "host": "elsewhere.example", "started": "2026-01-01T10:00:00+00:00"}
    (tmp_path / "gap_store" / ".lock").write_text(json.dumps(lock))
    assert cli.main(["scan", str(cfg), "--resume", "--no-progress"]) == 2
    (line,) = _error_lines(capsys)
    assert "pid 4242 on host 'elsewhere.example', started 2026-01-01T10:00:00" in line
    assert ".lock" in line  # says what to delete if that scan is gone


def test_damaged_chunk_is_reported_and_recomputed_by_resume(tmp_path, capsys):
    cfg = _write(tmp_path, GAP_TOML.format(unit="K"))
    assert cli.main(["scan", str(cfg), "--no-progress"]) == 0
    capsys.readouterr()
    chunk = tmp_path / "gap_store" / "chunks" / "chunk_00000001.npz"
    chunk.write_bytes(chunk.read_bytes()[:100])
    assert cli.main(["scan", str(cfg), "--resume", "--no-progress"]) == 0
    captured = capsys.readouterr()
    assert "1 chunks computed, 2 loaded, 1 damaged and recomputed" in captured.out
    (line,) = _error_lines(types.SimpleNamespace(readouterr=lambda: captured))
    assert "warning:" in line and "chunk_00000001.npz" in line and "cannot be read" in line
    assert bool(diffsc.open_scan(tmp_path / "gap_store").valid.all())


def test_result_objects_are_stored_by_their_array_fields(tmp_path, models):
    from diffsc._scan._cli import run_config  # internal: the scan configuration parser

    text = (
        f'model = "{models}:solve"\noutput = "s"\n[fixed]\nscale = 2.0\n'
        '[grid]\nT = { values = [0.5, 2.0], unit = "K" }\n'
    )
    ds = run_config(load_config(_write(tmp_path, text)), progress=False)
    assert set(ds.data_vars) == {"f", "gap", "success", "valid"}  # no echo of T, no `label`
    np.testing.assert_array_equal(ds.f.values, [[1.0, 2.0, 3.0], [4.0, 8.0, 12.0]])
    np.testing.assert_array_equal(ds.valid.values, [True, False])  # `success` is the flag


@pytest.mark.slow
def test_kinetic_steady_state_config_runs(tmp_path, capsys):
    text = """
model = "kinetic_steady_state"
output = "kin"
[fixed]
material = "Al"
tau_esc = 1e-10
n_bins = 32
[grid]
T_bath = { values = [200.0, 300.0], unit = "mK" }
freq = { values = [5.0], unit = "GHz" }
absorbed_power_density = { values = [1e3], unit = "W/m^3" }
"""
    assert cli.main(["scan", str(_write(tmp_path, text)), "--no-progress"]) == 0
    assert "2 points (0 invalid)" in capsys.readouterr().out
    ds = diffsc.open_scan(tmp_path / "kin")
    assert ds.f.dims == ("T_bath", "freq", "absorbed_power_density", "bin")
    assert ds.n.dims[-1] == "phonon_bin" and ds.gap.attrs["units"] == "eV"
    assert ds.attrs["flag"] == "success" and bool(ds.valid.all())
    assert '"throw": false' in ds.attrs["fixed"]  # failed points are flagged, not raised
    # the documented steady-state balance: P_abs is the scanned drive, all of it reaches the bath
    np.testing.assert_allclose(ds.absorbed_power.values, 1e3, rtol=1e-6)
    np.testing.assert_allclose(ds.power_to_bath.values, ds.absorbed_power.values, rtol=1e-6)


def test_version_flag(capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(["--version"])
    assert exc.value.code == 0
    assert capsys.readouterr().out.startswith("diffsc ")
