"""Scans: grid semantics, failed-point masks, on-disk store, SIGKILL resume, sharding bit for bit."""

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import diffsc
from diffsc._scan import open_scan, scan

ROOT = Path(__file__).resolve().parent.parent


def _model(T, x):
    """A smooth two-output model with an array output and a solver-like flag."""
    y = jnp.exp(-x / T) * jnp.sin(3.0 * T * x) + jnp.log1p(T)
    return {"y": y, "vec": jnp.stack([T, x, T * x]), "success": x < 4.0}


def _reference(T, x):
    return np.exp(-x / T) * np.sin(3.0 * T * x) + np.log1p(T)


GRID = {"T": np.linspace(0.1, 1.0, 7), "x": np.linspace(0.0, 5.0, 11)}


def test_cartesian_scan_matches_numpy_in_c_order():
    ds = scan(_model, GRID, chunk_size=10, units={"T": "K", "y": "eV"}, output_dims={"vec": ("k",)})
    TT, XX = np.meshgrid(GRID["T"], GRID["x"], indexing="ij")
    np.testing.assert_allclose(ds.y.values, _reference(TT, XX), rtol=1e-13, atol=1e-15)
    assert ds.y.dims == ("T", "x") and ds.vec.dims == ("T", "x", "k")
    np.testing.assert_array_equal(ds.vec.values[..., 2], TT * XX)
    np.testing.assert_array_equal(ds.T.values, GRID["T"])
    assert ds.T.attrs["units"] == "K" and ds.y.attrs["units"] == "eV"
    # 77 points in chunks of 10: the padded tail must not leak or duplicate
    assert ds.attrs["n_chunks"] == 8 and ds.attrs["n_points"] == 77


def test_listed_scan_evaluates_the_listed_points():
    T = np.array([0.2, 0.5, 0.9, 0.3])
    x = np.array([1.0, 0.0, 2.5, 4.5])
    ds = scan(_model, {"T": T, "x": x}, listed=True, chunk_size=3)
    assert ds.y.dims == ("point",)
    np.testing.assert_allclose(ds.y.values, _reference(T, x), rtol=1e-13)
    np.testing.assert_array_equal(ds.valid.values, x < 4.0)


def test_scan_of_the_bcs_gap_agrees_with_direct_evaluation():
    al = diffsc.material("Al")
    T = np.linspace(0.02, 1.3, 40)
    ds = scan(lambda T: diffsc.gap(T, al), {"T": T}, chunk_size=16, units={"T": "K", "value": "eV"})
    direct = np.asarray(jax.jit(lambda t: diffsc.gap(t, al))(jnp.asarray(T)))  # rounding only
    np.testing.assert_allclose(ds.value.values, direct, rtol=1e-12, atol=0.0)
    # physics: Delta = 0 above Tc, positive and monotone below
    assert np.all(ds.value.values[T >= al.Tc] == 0.0) and np.all(ds.value.values[T < al.Tc] > 0)
    assert np.all(np.diff(ds.value.values) <= 0.0)


def test_failed_points_are_masked_not_hidden():
    def fn(a):
        res = jnp.where(a > 2.0, 1, 0)  # an integer solver result, 0 = success
        return {"v": jnp.sqrt(3.0 - a), "result": res}

    a = np.arange(0.0, 5.0)
    ds = scan(fn, {"a": a})
    assert ds.attrs["flag"] == "result"
    np.testing.assert_array_equal(ds.valid.values, a <= 2.0)
    # raw values are kept: sqrt(0) at a = 3 (flag failure but finite), NaN at a = 4 stays NaN
    assert ds.v.values[3] == 0.0 and np.isnan(ds.v.values[4])
    assert ds.attrs["n_invalid"] == 2
    assert int(ds.where(ds.valid).v.isnull().sum()) == 2
    # NaN without any flag is still reported as invalid, never silently
    ds2 = scan(lambda a: jnp.sqrt(3.0 - a), {"a": a})
    np.testing.assert_array_equal(ds2.valid.values, a <= 3.0)
    # an explicit boolean flag
    ds3 = scan(_model, GRID, flag="success")
    np.testing.assert_array_equal(ds3.valid.values, np.broadcast_to(GRID["x"] < 4.0, (7, 11)))


def test_store_resume_recomputes_only_missing_chunks(tmp_path):
    store = tmp_path / "store"
    full = scan(_model, GRID, chunk_size=8, path=store)
    assert full.attrs["chunks_computed"] == 10
    # completed store: nothing is recomputed
    again = scan(_model, GRID, path=store, resume=True)
    assert again.attrs["chunks_computed"] == 0 and again.attrs["chunks_loaded"] == 10
    # lose two chunks and leave a half-written temporary file, as a kill would
    for i in (3, 7):
        (store / "chunks" / f"chunk_{i:08d}.npz").unlink()
    (store / "chunks" / ".chunk_00000003.npz.999.tmp").write_bytes(b"garbage")
    partial = open_scan(store)
    assert partial.attrs["n_not_computed"] == 16
    assert not partial.valid.values.reshape(-1)[24:32].any()
    resumed = scan(_model, GRID, path=store, resume=True)
    assert resumed.attrs["chunks_computed"] == 2
    assert not list((store / "chunks").glob(".*.tmp"))
    for k in ("y", "vec", "success", "valid"):
        np.testing.assert_array_equal(resumed[k].values, full[k].values)
    np.testing.assert_array_equal(open_scan(store).y.values, full.y.values)


def test_store_errors_are_clear(tmp_path):
    store = tmp_path / "store"
    scan(_model, GRID, chunk_size=8, path=store)
    with pytest.raises(FileExistsError, match="resume=True"):
        scan(_model, GRID, path=store)
    other = dict(GRID, x=GRID["x"] + 1.0)
    with pytest.raises(ValueError, match="grid"):
        scan(_model, other, path=store, resume=True)
    with pytest.raises(ValueError, match="chunk_size"):
        scan(_model, GRID, path=store, resume=True, chunk_size=16)
    with pytest.raises(ValueError, match="outputs"):
        scan(lambda T, x: T * x, GRID, path=store, resume=True)
    junk = tmp_path / "junk"
    junk.mkdir()
    (junk / "file.txt").write_text("x")
    with pytest.raises(FileExistsError, match="not a diffsc scan store"):
        scan(_model, GRID, path=junk)


@pytest.mark.parametrize(
    "grid, kwargs, match",
    [
        ({"T": np.ones((2, 2))}, {}, "`T` must be a non-empty 1-D"),
        ({"T": np.array([1.0, np.nan])}, {}, "`T` contains NaN"),
        ({"not valid": np.ones(2)}, {}, "not a valid keyword"),
        ({"T": np.ones(2), "x": np.ones(3)}, {"listed": True}, "one length"),
        ({"T": np.ones(2), "x": np.ones(2)}, {"units": {"q": "K"}}, "`units` names"),
        ({"T": np.ones(2), "x": np.ones(2)}, {"chunk_size": 0}, "`chunk_size`"),
        ({"T": np.ones(2), "x": np.ones(2)}, {"flag": "nope"}, "`flag`"),
    ],
)
def test_bad_arguments_name_the_argument(grid, kwargs, match):
    with pytest.raises(ValueError, match=match):
        scan(_model, grid, **kwargs)


def test_wrong_parameter_names_give_a_clear_error():
    with pytest.raises(TypeError, match="calling fn"):
        scan(_model, {"T": np.ones(2), "y": np.ones(2)})


def test_progress_bar_reports_rate(capsys):
    scan(_model, GRID, chunk_size=20, progress=True)
    err = capsys.readouterr().err
    assert "diffsc.scan" in err and "77/77" in err and "pt/s" in err


_ENV = dict(os.environ, JAX_PLATFORMS="cpu", PYTHONPATH=str(ROOT))

_KILL_CHILD = textwrap.dedent(
    """
    import sys, time
    import numpy as np
    from test_scan import GRID, _model
    from diffsc._scan import scan
    scan(_model, GRID, chunk_size=4, path=sys.argv[1], callback=lambda *a: time.sleep(0.15))
    """
)


def test_sigkill_mid_scan_then_resume_equals_uninterrupted(tmp_path):
    store = tmp_path / "store"
    env = dict(_ENV, PYTHONPATH=f"{ROOT}{os.pathsep}{ROOT / 'tests'}")
    child = subprocess.Popen([sys.executable, "-c", _KILL_CHILD, str(store)], env=env)
    chunks = store / "chunks"
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline:
            if chunks.exists() and len(list(chunks.glob("chunk_*.npz"))) >= 3:
                break
            assert child.poll() is None, "child scan ended before it could be killed"
            time.sleep(0.02)
        assert child.poll() is None, "child finished before the kill; the test did not interrupt it"
        child.send_signal(signal.SIGKILL)
    finally:
        child.kill()
        child.wait()
    n_done = len(list(chunks.glob("chunk_*.npz")))
    assert 3 <= n_done < 20  # 77 points / 4 = 20 chunks
    resumed = scan(_model, GRID, path=store, resume=True)
    assert resumed.attrs["chunks_loaded"] == n_done
    assert resumed.attrs["chunks_computed"] == 20 - n_done
    reference = scan(_model, GRID, chunk_size=4)
    for k in ("y", "vec", "success", "valid"):
        np.testing.assert_array_equal(resumed[k].values, reference[k].values)


_SHARD_CHILD = textwrap.dedent(
    """
    import jax, numpy as np
    import diffsc
    from test_scan import GRID, _model
    from diffsc._scan import scan
    assert len(jax.devices()) == 4, jax.devices()
    al = diffsc.material("Al")
    def both(T, x):
        out = _model(T, x)
        out["gap"] = diffsc.gap(T, al)
        return out
    grid = dict(GRID, T=np.linspace(0.05, 1.3, 13))
    one = scan(both, grid, chunk_size=24, devices=jax.devices()[:1])
    four = scan(both, grid, chunk_size=24)
    assert four.attrs["n_devices"] == 4 and one.attrs["n_devices"] == 1
    for k in ("y", "vec", "gap", "success", "valid"):
        assert np.array_equal(one[k].values, four[k].values), k
    pts = {"T": grid["T"][:11], "x": grid["x"]}
    listed = scan(_model, pts, listed=True, chunk_size=2)
    listed1 = scan(_model, pts, listed=True, chunk_size=2, devices=jax.devices()[:1])
    assert listed.attrs["chunk_size"] == 2 and listed.attrs["n_chunks"] == 6
    assert np.array_equal(listed.y.values, listed1.y.values)
    print("SHARDED-OK")
    """
)


def test_sharded_scan_equals_single_device_bit_for_bit():
    env = dict(
        _ENV,
        XLA_FLAGS="--xla_force_host_platform_device_count=4",
        PYTHONPATH=f"{ROOT}{os.pathsep}{ROOT / 'tests'}",
    )
    proc = subprocess.run(
        [sys.executable, "-c", _SHARD_CHILD], env=env, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "SHARDED-OK" in proc.stdout


def test_single_process_defaults():
    assert jax.process_count() == 1
    ds = scan(lambda a: 2.0 * a, {"a": np.arange(3.0)})
    assert ds.attrs["n_processes"] == 1 and ds.attrs["chunk_size"] == 3
