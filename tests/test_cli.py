"""Command line: `diffsc scan CONFIG` and `diffsc reproduce` reports (`diffsc fit`: test_cli_fit.py)."""

import types

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import diffsc
from diffsc import cli
from diffsc._cli_scan import ConfigError, load_config, unit_factor

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
        ('model = "no_such_model"\noutput = "o"\n[grid]\nT = {values=[1.0], unit="K"}', "unknown model"),
        ('model = "gap"\noutput = "o"\n[grid]\nB = {values=[1.0], unit="T"}', "unknown parameter 'B'"),
        (GAP_TOML.format(unit="Hz"), "unit 'Hz' is not compatible with the expected 'K'"),
        ('model = "gap"\noutput = "o"\n[grid]\nT = {values=[1.0]}', "give its `unit`"),
        ('model = "gap"\noutput = "o"\n[fixed]\ncolour = 1\n[grid]\nT = {values=[1.0], unit="K"}',
         "unknown fixed parameter"),
        ('model = "gap"\noutput = "o"\n[fixed]\nmaterial = "Unobtainium"\n[grid]\nT = {values=[1.0], unit="K"}',
         "unknown material"),
        ('model = "gap"\n[grid]\nT = {values=[1.0], unit="K"}', "missing `output`"),
        ('model = "gap"\noutput = "o"', "missing \\[grid\\]"),
        ('model = "gap"\noutput = "o"\n[grid]\nT = {start=1.0, stop=2.0, num=0, unit="K"}', "`num`"),
        ('model = "gap"\noutput = "o"\nspeed = 3\n[grid]\nT = {values=[1.0], unit="K"}', "unknown key"),
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
    from diffsc._cli_scan import run_config

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
        return "A *number*: $T_c$ = 1.17 K\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n![fake](fake.png)"

    fake = types.SimpleNamespace(NAME="fake", TITLE="A fake set", ORDER=0, run=run)
    import diffsc.reproduce as rep

    monkeypatch.setattr(rep, "figure_sets", lambda: [fake])
    assert cli.main(["reproduce", "--out", str(tmp_path), "--quick"]) == 0
    md = (tmp_path / "summary.md").read_text()
    html = (tmp_path / "summary.html").read_text()
    assert "A fake set" in md and "<h2>A fake set</h2>" in html
    assert '<img src="fake.png" alt="fake"' in html and "<td>2</td>" in html
    assert cli.main(["reproduce", "--out", str(tmp_path), "--only", "nope"]) == 2
