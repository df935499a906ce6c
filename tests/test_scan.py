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
from diffsc import (
    ScanLockedError,
    ScanModelError,
    ScanStoreError,
    ScanStoreWarning,
    open_scan,
    scan,
)

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
    from diffsc._scan._scan import scan
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
    assert (store / ".lock").exists()  # left by the killed writer: stale, taken over
    with pytest.warns(ScanStoreWarning, match="took over the stale lock"):
        resumed = scan(_model, GRID, path=store, resume=True)
    assert not (store / ".lock").exists()
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
    from diffsc._scan._scan import scan
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


# ------------------------------------------------------------------------------------------------
# store integrity: damaged files are named, never served, recomputed on resume
# ------------------------------------------------------------------------------------------------


def _chunk(store, i):
    return store / "chunks" / f"chunk_{i:08d}.npz"


def _flip_a_data_byte(f):
    """Flip one byte inside the data of output `y` (not a header): only the zip CRC can tell."""
    import zipfile

    with zipfile.ZipFile(f) as z:
        info = z.getinfo("y.npy")
    raw = bytearray(f.read_bytes())
    data_start = info.header_offset + 30 + len(info.filename) + len(info.extra)
    pos = data_start + info.file_size - 3  # inside the last float of `y`
    raw[pos] ^= 0x40
    f.write_bytes(bytes(raw))


def _truncate(f):
    f.write_bytes(f.read_bytes()[: f.stat().st_size // 2])


_DAMAGE = {
    "truncated": _truncate,
    "empty": lambda f: f.write_bytes(b""),
    "garbage": lambda f: f.write_bytes(b"not a zip file at all" * 10),
    "bit flip in the data": _flip_a_data_byte,
    "copied under the wrong index": lambda f: f.write_bytes(
        _chunk(f.parent.parent, 2).read_bytes()
    ),
}


@pytest.mark.parametrize("damage", list(_DAMAGE))
def test_damaged_chunk_is_named_never_served_and_recomputed(tmp_path, damage):
    store = tmp_path / "store"
    full = scan(_model, GRID, chunk_size=8, path=store)
    _DAMAGE[damage](_chunk(store, 5))
    # open_scan: the file is named, its points are not computed (not served), the rest is read
    with pytest.warns(ScanStoreWarning, match="chunk_00000005.npz") as rec:
        partial = open_scan(store)
    if damage == "copied under the wrong index":
        assert "holds chunk 2" in str(rec[0].message)
    assert partial.attrs["chunks_rejected"] == 1 and partial.attrs["n_not_computed"] == 8
    flat = partial.valid.values.reshape(-1)
    assert not flat[40:48].any() and flat[:40].sum() == full.valid.values.reshape(-1)[:40].sum()
    np.testing.assert_array_equal(partial.y.values.reshape(-1)[:40], full.y.values.reshape(-1)[:40])
    # resume: named, moved aside, recomputed; the result equals the undamaged scan
    with pytest.warns(
        ScanStoreWarning, match="chunk_00000005.npz.*recomputed|recomputed.*chunk_00000005"
    ):
        resumed = scan(_model, GRID, path=store, resume=True)
    assert resumed.attrs["chunks_computed"] == 1 and resumed.attrs["chunks_rejected"] == 1
    assert (store / "chunks" / "chunk_00000005.npz.rejected").exists()
    for k in ("y", "vec", "success", "valid"):
        np.testing.assert_array_equal(resumed[k].values, full[k].values)
    again = open_scan(store)  # no warning now (pytest turns warnings into errors)
    np.testing.assert_array_equal(again.y.values, full.y.values)


def test_chunk_of_another_grid_is_rejected(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    scan(_model, GRID, chunk_size=8, path=a)
    scan(_model, dict(GRID, x=GRID["x"] * 2.0), chunk_size=8, path=b)
    _chunk(a, 3).write_bytes(_chunk(b, 3).read_bytes())  # same index, same shapes, other grid
    with pytest.warns(ScanStoreWarning, match="computed for another grid"):
        assert open_scan(a).attrs["n_not_computed"] == 8


def test_damaged_grid_npz_is_named_and_rewritten_on_resume(tmp_path):
    store = tmp_path / "store"
    full = scan(_model, GRID, chunk_size=8, path=store)
    _truncate(store / "grid.npz")
    with pytest.raises(ScanStoreError, match="grid.npz.*cannot be read.*resum"):
        open_scan(store)
    with pytest.warns(ScanStoreWarning, match="grid.npz.*rewritten"):
        resumed = scan(_model, GRID, path=store, resume=True)
    assert resumed.attrs["chunks_computed"] == 0
    np.testing.assert_array_equal(open_scan(store).y.values, full.y.values)
    assert not list(store.glob(".*.tmp"))


def test_damaged_manifest_is_named(tmp_path):
    store = tmp_path / "store"
    scan(_model, GRID, chunk_size=8, path=store)
    (store / "manifest.json").write_text('{"store_version": 2, "fingerpr')
    with pytest.raises(ScanStoreError, match="manifest.json.*cannot be read"):
        open_scan(store)
    with pytest.raises(ScanStoreError, match="manifest.json"):
        scan(_model, GRID, path=store, resume=True)


def test_damaged_or_missing_scan_nc_is_rebuilt(tmp_path):
    from diffsc._scan._scan import _netcdf_engine  # internal: the netCDF engine choice

    engine = _netcdf_engine()
    if engine is None:
        pytest.skip("no netCDF engine installed")
    import xarray as xr

    store = tmp_path / "store"
    full = scan(_model, GRID, chunk_size=8, path=store)
    nc = store / "scan.nc"
    _truncate(nc)
    with pytest.warns(ScanStoreWarning, match="scan.nc.*rebuilt"):
        scan(_model, GRID, path=store, resume=True)
    with xr.open_dataset(nc, engine=engine) as ds:
        np.testing.assert_array_equal(ds.y.values, full.y.values)
    nc.unlink()
    scan(_model, GRID, path=store, resume=True)  # missing: written again, silently
    with xr.open_dataset(nc, engine=engine) as ds:
        assert ds.attrs["diffsc_scan_fingerprint"] == full.attrs["diffsc_scan_fingerprint"]


# ------------------------------------------------------------------------------------------------
# argument errors before the store exists; a failed fresh store is removed
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"units": {"q": "K"}}, ValueError, "`units` names"),
        ({"chunk_size": 0}, ValueError, "`chunk_size`"),
        ({"chunk_size": 2.5}, ValueError, "`chunk_size`"),
        ({"flag": "nope"}, ValueError, "`flag`"),
        ({"output_dims": {"vec": ("a", "b")}}, ValueError, "output_dims"),
        ({"output_dims": {"nope": ("a",)}}, ValueError, "output_dims"),
        ({"output_dims": {"vec": ("T",)}}, ValueError, "grid dimension"),
        ({"attrs": {"ok": True}}, ValueError, "attrs"),
        ({"attrs": {"d": {"a": 1}}}, ValueError, "attrs"),
    ],
)
def test_argument_errors_leave_no_store(tmp_path, kwargs, error, match):
    store = tmp_path / "store"
    with pytest.raises(error, match=match):
        scan(_model, GRID, path=store, **kwargs)
    assert not store.exists()


def test_output_named_like_a_grid_coordinate_is_an_argument_error(tmp_path):
    with pytest.raises(ValueError, match="output name `T` is a grid name"):
        scan(lambda T, x: {"T": T, "y": x}, GRID, path=tmp_path / "s")
    assert not (tmp_path / "s").exists()


def test_model_check_failure_names_the_argument_and_leaves_no_store(tmp_path):
    al = diffsc.material("Al")
    store = tmp_path / "store"
    bad = {"T": np.array([0.3, -0.1, 0.5])}
    with pytest.raises(ScanModelError, match=r"argument `T`.*>= 0"):
        scan(lambda T: diffsc.gap(T, al), bad, path=store)
    assert not store.exists()  # nothing was finished: no store blocks the corrected rerun
    good = scan(lambda T: diffsc.gap(T, al), {"T": np.array([0.3, 0.1, 0.5])}, path=store)
    assert bool(good.valid.all()) and (store / "manifest.json").exists()
    # an existing empty output directory stays (empty), as it was
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ScanModelError):
        scan(lambda T: diffsc.gap(T, al), bad, path=empty)
    assert empty.is_dir() and not any(empty.iterdir())


def test_model_check_failure_after_finished_chunks_keeps_them(tmp_path):
    al = diffsc.material("Al")
    store = tmp_path / "store"
    T = np.array([0.3, 0.5, 0.7, -0.1])
    with pytest.raises(ScanModelError, match="argument `T`"):
        scan(lambda T: diffsc.gap(T, al), {"T": T}, chunk_size=1, path=store)
    assert (store / "manifest.json").exists() and not (store / ".lock").exists()
    partial = open_scan(store)
    assert bool(partial.valid.values[0]) and not partial.valid.values[3]


def test_store_refusals_name_what_is_there(tmp_path):
    f = tmp_path / "afile"
    f.write_text("x")
    with pytest.raises(FileExistsError, match="is a file"):
        scan(_model, GRID, path=f)
    orphan = tmp_path / "orphan"
    scan(_model, GRID, chunk_size=8, path=orphan)
    (orphan / "manifest.json").unlink()
    with pytest.raises(FileExistsError, match="chunk files but no manifest"):
        scan(_model, GRID, path=orphan, resume=True)


def test_interrupted_store_creation_does_not_block_a_new_scan(tmp_path):
    """A writer killed while creating the store leaves grid.npz, chunks/ and temporary files
    without a manifest: that is not a store yet, and a new scan takes the directory over."""
    store = tmp_path / "store"
    (store / "chunks").mkdir(parents=True)
    (store / "grid.npz").write_bytes(b"half a grid")
    (store / ".manifest.json.123.tmp").write_text("{")
    ds = scan(_model, GRID, chunk_size=8, path=store)
    assert bool(np.array_equal(open_scan(store).y.values, ds.y.values))
    assert not list(store.glob(".*.tmp"))


# ------------------------------------------------------------------------------------------------
# one writer at a time: the lock
# ------------------------------------------------------------------------------------------------


def _write_lock(store, **info):
    import json
    import socket

    store.mkdir(parents=True, exist_ok=True)
    base = {"pid": os.getpid(), "host": socket.gethostname(), "started": "2026-01-01T00:00:00"}
    (store / ".lock").write_text(json.dumps({**base, **info}))


def _dead_pid():
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_live_lock_is_refused_naming_its_holder(tmp_path):
    store = tmp_path / "store"
    scan(_model, GRID, chunk_size=8, path=store)
    _write_lock(store, command="diffsc scan other.toml")
    with pytest.raises(
        ScanLockedError,
        match=rf"pid {os.getpid()} on host .*this process.*started 2026-01-01.*other.toml",
    ):
        scan(_model, GRID, path=store, resume=True)
    _write_lock(store, host="elsewhere.example", pid=1)  # another host: never judged stale
    with pytest.raises(ScanLockedError, match="pid 1 on host 'elsewhere.example'"):
        scan(_model, GRID, path=store, resume=True)
    assert (store / ".lock").exists()  # not ours: left alone


def test_stale_lock_is_taken_over_with_a_warning(tmp_path):
    store = tmp_path / "store"
    _write_lock(store, pid=_dead_pid())  # a writer killed during store creation
    with pytest.warns(ScanStoreWarning, match="stale lock.*no longer running"):
        ds = scan(_model, GRID, chunk_size=8, path=store)
    assert not (store / ".lock").exists() and ds.attrs["chunks_computed"] == 10
    # an empty lock file (its writer died between creating and filling it), older than a minute
    (store / ".lock").write_text("")
    old = time.time() - 120
    os.utime(store / ".lock", (old, old))
    with pytest.warns(ScanStoreWarning, match="stale lock"):
        scan(_model, GRID, path=store, resume=True)


_RACE_CHILD = textwrap.dedent(
    """
    import os, pathlib, sys, time
    from test_scan import GRID, _model
    from diffsc._scan._scan import ScanLockedError, scan
    store, ready = sys.argv[1], pathlib.Path(sys.argv[2])
    (ready / str(os.getpid())).touch()
    while len(list(ready.iterdir())) < 2:  # start together
        time.sleep(0.001)
    try:
        scan(_model, GRID, chunk_size=8, path=store, callback=lambda *a: time.sleep(0.1))
    except ScanLockedError as err:
        print("LOCKED:", err)
        sys.exit(3)
    print("WROTE")
    """
)


def test_two_writers_started_together_one_writes_one_is_told_who(tmp_path):
    store, ready = tmp_path / "store", tmp_path / "ready"
    ready.mkdir()
    env = dict(_ENV, PYTHONPATH=f"{ROOT}{os.pathsep}{ROOT / 'tests'}")
    kids = [
        subprocess.Popen(
            [sys.executable, "-c", _RACE_CHILD, str(store), str(ready)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outs = [k.communicate(timeout=240) for k in kids]
    codes = sorted(k.returncode for k in kids)
    assert codes == [0, 3], [o[1][-2000:] for o in outs]
    loser = next(o for k, o in zip(kids, outs, strict=True) if k.returncode == 3)[0]
    assert "being written by another scan: pid" in loser and "started" in loser
    assert "Traceback" not in "".join(o[1] for o in outs)
    reference = scan(_model, GRID, chunk_size=8)
    np.testing.assert_array_equal(open_scan(store).y.values, reference.y.values)
    assert not (store / ".lock").exists()
