"""Multi-process scans: two ``jax.distributed`` processes on localhost fill one store.

The process tests start two Python processes (CPU backend, coordinator on 127.0.0.1 at a free
port, ``num_processes=2``, process ids 0 and 1; the command-line test gets the same settings
from simulated SLURM variables) and compare what they wrote with a single-process scan of the
same grid and chunk size **bit for bit**. Every chunk is evaluated by the same compiled program
(same chunk shape, same one-device ``shard_map``, same XLA:CPU) whichever process runs it, and
the store keeps the float64 bytes as computed, so distributing the chunks changes which process
computes a point, never its bits; any difference would be a bug (a chunk written under the wrong
index, a point of another chunk, padding leaking into the result).

JAX 0.10 needs no flag for multi-process CPU: no collective runs on the devices during a scan;
the processes exchange small reports through the coordination service's key-value store (one
test through the fallback, ``process_allgather``, which uses Gloo, JAX's default CPU collectives).

Robustness: every subprocess has a deadline and is killed in a ``finally`` (a hung xdist worker
would block the whole CI run); outputs go to files, not pipes; the interruption is made
deterministic by a hook in the workers' ``callback`` rather than by timing. The report logic
itself is also tested in-process, with the other process simulated.
"""

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from contextlib import contextmanager
from pathlib import Path

import jax.numpy as jnp
import numpy as np
import pytest

import diffsc
from diffsc import ScanLockedError, ScanModelError, ScanStoreWarning, cli, open_scan, scan
from diffsc._scan import _scan as internals  # internal: the processes' reports

pytestmark = pytest.mark.skipif(
    not hasattr(signal, "SIGKILL"), reason="kills processes with SIGKILL (POSIX)"
)

ROOT = Path(__file__).resolve().parent.parent
PHASE_TIMEOUT = 180.0  # s for one pair of processes; a normal run takes ~5-10 s

# the model and grid of the kill-and-resume test (imported by the worker processes)
GRID = {"T": np.linspace(0.1, 1.2, 12), "x": np.linspace(0.0, 5.0, 25)}  # 300 points
CHUNK = 16  # 19 chunks, the last one 12 points (padded): process 0 owns 10, process 1 owns 9
N_CHUNKS = 19
OUTPUTS = ("gap", "y", "vec", "success", "valid")
AL = diffsc.material("Al")


def model(T, x):
    """The BCS gap (cutoff-free gap equation) and a closed form with an array output and a flag."""
    y = jnp.exp(-x / T) * jnp.sin(3.0 * T * x) + jnp.log1p(T)
    return {
        "gap": diffsc.gap(T, AL, cutoff=False),
        "y": y,
        "vec": jnp.stack([T, x, T * x]),
        "success": x < 4.5,
    }


# One process of the scan. `hook` "interrupt": process 0 pauses for good after writing its 3rd
# chunk (0, 2, 4) and says so in a marker file; process 1 writes 2 chunks (1, 3), waits for the
# marker and SIGKILLs itself. The store then holds exactly chunks 0..4 whatever the timing.
_WORKER = textwrap.dedent(
    """
    import json, os, signal, sys, time
    process_id, port, store, out, hook = sys.argv[1:]
    process_id, port = int(process_id), int(port)
    import jax
    jax.distributed.initialize(
        f"127.0.0.1:{port}",
        num_processes=2,
        process_id=process_id,
        coordinator_bind_address=f"127.0.0.1:{port}",
        cluster_detection_method="deactivate",
        initialization_timeout=60,
    )
    import numpy as np
    import diffsc
    from test_scan_distributed import CHUNK, GRID, OUTPUTS, model

    marker = os.path.join(os.path.dirname(out), "process0_paused")
    own = []

    def interrupt(i, done, total):
        own.append(i)
        if process_id == 0 and len(own) == 3:
            open(marker, "w").close()
            time.sleep(300)  # paused until the test kills it
        if process_id == 1 and len(own) == 2:
            deadline = time.monotonic() + 120
            while not os.path.exists(marker) and time.monotonic() < deadline:
                time.sleep(0.01)
            os.kill(os.getpid(), signal.SIGKILL)

    if hook == "reject":
        # the model rejects the last point (chunk 3: process 1's); the reports go through
        # process_allgather (Gloo), the fallback without a coordination-service client
        import diffsc._scan._scan as internals
        internals._coordination_client = lambda: None
        T = np.array([0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, -0.1])
        gap = lambda T: diffsc.gap(T, diffsc.material("Al"), cutoff=False)  # noqa: E731
        diffsc.scan(gap, {"T": T}, chunk_size=2, path=store)
        sys.exit(0)

    ds = diffsc.scan(
        model,
        GRID,
        chunk_size=CHUNK,
        path=store,
        resume=hook == "resume",
        callback=interrupt if hook == "interrupt" else None,
    )
    attrs = {k: (v.item() if hasattr(v, "item") else v) for k, v in ds.attrs.items()}
    np.savez(out, attrs=json.dumps(attrs), **{k: ds[k].values for k in OUTPUTS})
    """
)

# launchers, cluster settings and coordinators that a CI machine may set and that must not leak
# into the processes of these tests
_FOREIGN_ENV = ("SLURM_", "OMPI_", "PMI_", "KUBERNETES_", "JAX_COORDINATOR", "JAX_LOCAL_DEVICE_IDS")


def _env(**extra) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(_FOREIGN_ENV)}
    for k in [k for k in env if k.lower().endswith("_proxy")]:
        del env[k]  # gRPC would send the coordinator's 127.0.0.1 traffic to a proxy
    env.update(
        JAX_PLATFORMS="cpu",
        PYTHONPATH=os.pathsep.join([str(ROOT), str(ROOT / "tests")]),
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def _processes(commands, envs, log_dir: Path):
    """Start one process per command (output to log files); kill what still runs at the end."""
    procs = []
    try:
        for k, (command, env) in enumerate(zip(commands, envs, strict=True)):
            with open(log_dir / f"process{k}.log", "wb") as log:
                procs.append(
                    subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
                )
        yield procs
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
        for p in procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:  # pragma: no cover - a kernel-stuck process
                pass


def _logs(log_dir: Path) -> list[str]:
    return [
        (log_dir / f"process{k}.log").read_text(errors="replace")
        if (log_dir / f"process{k}.log").exists()
        else ""
        for k in range(2)
    ]


def _wait(procs, log_dir: Path, timeout: float = PHASE_TIMEOUT) -> list[int]:
    """Exit statuses of all processes; fails (after killing them) past the deadline."""
    deadline = time.monotonic() + timeout
    for p in procs:
        try:
            p.wait(timeout=max(deadline - time.monotonic(), 0.1))
        except subprocess.TimeoutExpired:
            for q in procs:
                q.kill()
            logs = _logs(log_dir)
            pytest.fail(f"processes still running after {timeout:.0f} s; logs:\n" + _tail(logs))
    return [p.returncode for p in procs]


def _tail(logs) -> str:
    return "\n".join(f"--- process {k}:\n{text[-3000:]}" for k, text in enumerate(logs))


def _run_workers(tmp_path: Path, name: str, store: Path, hook: str):
    """Start the two worker processes of one scan; returns (procs context, log dir, outputs)."""
    log_dir = tmp_path / name
    log_dir.mkdir()
    port = _free_port()
    outs = [log_dir / f"result{k}.npz" for k in range(2)]
    commands = [
        [sys.executable, "-c", _WORKER, str(k), str(port), str(store), str(outs[k]), hook]
        for k in range(2)
    ]
    return _processes(commands, [_env(), _env()], log_dir), log_dir, outs


def _chunk_ids(store: Path) -> set[int]:
    return {int(f.name[6:14]) for f in (store / "chunks").glob("chunk_*.npz")}


def _file_ids(store: Path) -> dict[int, tuple[int, int]]:
    """(inode, mtime in ns) per chunk file: a rewritten chunk (atomic rename) changes both."""
    out = {}
    for f in (store / "chunks").glob("chunk_*.npz"):
        st = f.stat()
        out[int(f.name[6:14])] = (st.st_ino, st.st_mtime_ns)
    return out


@pytest.fixture(scope="module")
def reference():
    """The single-process scan of the same grid and chunk size."""
    return scan(model, GRID, chunk_size=CHUNK)


def _assert_bitwise_equal(ds, reference, outputs=OUTPUTS):
    for k in outputs:
        got, want = np.asarray(ds[k]), np.asarray(reference[k])
        assert got.dtype == want.dtype and got.shape == want.shape, k
        # bitwise, NaN included (none expected): compare the bytes
        assert got.tobytes() == want.tobytes(), f"output {k!r} differs from the one-process scan"


def test_kill_one_process_then_resume_equals_one_process_scan(tmp_path, reference):
    store = tmp_path / "store"
    # 1. both processes scan; process 1 dies (SIGKILL) after its 2nd chunk, process 0 is paused
    #    after its 3rd and killed by the test (alone it could not finish: the job is restarted)
    pair, log_dir, _ = _run_workers(tmp_path, "interrupted", store, "interrupt")
    marker = log_dir / "process0_paused"
    with pair as (p0, p1):
        deadline = time.monotonic() + PHASE_TIMEOUT
        while p1.poll() is None or not marker.exists():
            if time.monotonic() > deadline or p0.poll() is not None:
                pytest.fail(
                    "the interrupted scan did not reach its kill point; logs:\n"
                    + _tail(_logs(log_dir))
                )
            time.sleep(0.02)
        assert p1.returncode == -signal.SIGKILL, _tail(_logs(log_dir))
        p0.send_signal(signal.SIGKILL)
        p0.wait(timeout=30)
    assert _chunk_ids(store) == {0, 1, 2, 3, 4}  # process 0: 0, 2, 4; process 1: 1, 3
    assert (store / ".lock").exists()  # process 0's, left by the kill
    before = _file_ids(store)
    partial = open_scan(store)
    assert partial.attrs["n_not_computed"] == GRID["T"].size * GRID["x"].size - 5 * CHUNK

    # 2. the job restarted: both processes resume the store
    pair, log_dir, outs = _run_workers(tmp_path, "resumed", store, "resume")
    with pair as procs:
        codes = _wait(procs, log_dir)
    logs = _logs(log_dir)
    assert codes == [0, 0], _tail(logs)
    assert "took over the stale lock" in logs[0]  # process 0 killed on this host: stale
    assert not (store / ".lock").exists()
    after = _file_ids(store)
    assert set(after) == set(range(N_CHUNKS))
    assert {i: after[i] for i in before} == before  # chunks 0..4 neither rewritten nor replaced
    for k, out in enumerate(outs):
        with np.load(out) as z:
            attrs = json.loads(str(z["attrs"]))
            assert attrs["n_processes"] == 2 and attrs["n_not_computed"] == 0
            # finished chunks were loaded, not recomputed (counted over both processes)
            assert attrs["chunks_loaded"] == 5 and attrs["chunks_computed"] == N_CHUNKS - 5, k
            _assert_bitwise_equal(z, reference)
    _assert_bitwise_equal(open_scan(store), reference)


# ------------------------------------------------------------------------------------------------
# the processes' reports, with the other process simulated (no subprocess)
# ------------------------------------------------------------------------------------------------


def _as_process(monkeypatch, index: int, peer_report: dict | None):
    """Process `index` of 2 whose peer reports `peer_report` (None: whatever this one reports)."""
    processes = internals._Processes()
    processes.index, processes.count = index, 2

    def exchange(stage, report):
        reports = [report, peer_report or report]
        return reports if index == 0 else reports[::-1]

    monkeypatch.setattr(processes, "_exchange", exchange)
    return processes


def test_an_error_reported_by_another_process_is_raised_with_its_type(monkeypatch):
    peer = {"ok": False, "type": "ScanLockedError", "message": "diffsc.scan: output 'p' is held"}
    processes = _as_process(monkeypatch, 1, peer)
    with pytest.raises(ScanLockedError, match=r"^diffsc.scan: process 0 of 2 failed preparing "):
        processes.together("preparing the store", lambda: None)
    peer = {"ok": False, "type": "ScanModelError", "message": "diffsc.scan: the model rejected"}
    with pytest.raises(ScanModelError, match="process 1 of 2 failed computing its chunks: the"):
        _as_process(monkeypatch, 0, peer).together("computing its chunks", lambda: None)
    # an error type the other processes cannot rebuild: a RuntimeError naming it
    peer = {"ok": False, "type": "MemoryError", "message": "out of memory"}
    with pytest.raises(RuntimeError, match="process 1 of 2 failed computing: MemoryError: out"):
        _as_process(monkeypatch, 0, peer).together("computing", lambda: None)
    # this process's own error wins, raised as itself (traceback kept)
    own = KeyError("mine")
    with pytest.raises(KeyError) as caught:
        _as_process(monkeypatch, 0, peer).together("x", lambda: (_ for _ in ()).throw(own))
    assert caught.value is own


def test_processes_called_with_different_scans_refuse_together():
    same = {"ok": True, "scan": "a"}
    internals._check_processes_agree([same, same])
    with pytest.raises(ValueError, match=r"process\(es\) \[2\] of 3 were called with another scan"):
        internals._check_processes_agree([same, same, {"ok": True, "scan": "b"}])


def test_a_long_error_message_is_shortened_to_fit_one_report(monkeypatch):
    stored = {}

    class Client:  # the coordination service's key-value store, in memory
        def key_value_set(self, key, value):
            stored[key] = value

        def blocking_key_value_get(self, key, timeout_in_ms):
            return stored[key]

    monkeypatch.setattr(internals, "_coordination_client", Client)
    processes = internals._Processes()
    processes.count = 1  # one process reading its own report back
    (report,) = processes._exchange("x", {"ok": False, "type": "E", "message": "é" * 10_000})
    assert all(len(v.encode()) <= internals._REPORT_BYTES for v in stored.values())
    assert report["message"].startswith("éé") and report["message"].endswith(" ...")


def test_a_store_the_processes_do_not_share_is_named(tmp_path, monkeypatch, reference):
    monkeypatch.setattr(internals, "_SHARED_FS_PATIENCE", 0.2)
    store = tmp_path / "store"
    kwargs = dict(listed=False, chunk_size=CHUNK, path=store, resume=True, units=None)
    kwargs.update(output_dims=None, flag=None, attrs=None, devices=None)
    # process 1 of 2 on a node that does not see the store process 0 prepared (a local disk)
    plan = internals._plan(model, GRID, **kwargs, p_index=1, p_count=2)
    with pytest.raises(FileNotFoundError, match="process 1 does not see the store .* shared by"):
        internals._OpenedStore().open(plan, True, 1)
    # process 0 of 2, where a chunk that process 1 wrote is not visible: named, not computed
    scan(model, GRID, chunk_size=CHUNK, path=store)
    internals._chunk_file(store, 3).unlink()
    plan = internals._plan(model, GRID, **kwargs, p_index=0, p_count=2)
    own = internals._compute_own_chunks(model, plan, 0, 2, False, None)
    assert own.todo == []  # process 0's chunks are all in the store
    with pytest.warns(ScanStoreWarning, match=r"1 chunk file\(s\) that other .* \(chunks 3\)"):
        ds = internals._finish(plan, own, 0, 2, 0)
    assert ds.attrs["n_not_computed"] == CHUNK and ds.attrs["n_processes"] == 2
    seen = np.ones(GRID["T"].size * GRID["x"].size, dtype=bool)
    seen[3 * CHUNK : 4 * CHUNK] = False
    assert not ds.valid.values.ravel()[~seen].any()
    assert ds.gap.values.ravel()[seen].tobytes() == reference.gap.values.ravel()[seen].tobytes()


def test_a_model_error_in_one_process_stops_both_at_once(tmp_path):
    """Process 1's chunk 3 holds a point the model rejects: process 1 raises ScanModelError, and
    process 0, done with its chunks 0 and 2, raises it too (naming process 1) instead of waiting
    for process 1 until JAX's coordination service aborts the job (minutes, no cause given)."""
    store = tmp_path / "store"
    pair, log_dir, _ = _run_workers(tmp_path, "rejected", store, "reject")
    with pair as procs:
        codes = _wait(procs, log_dir)
    logs = _logs(log_dir)
    assert codes == [1, 1], _tail(logs)
    assert "ScanModelError: diffsc.scan: process 1 of 2 failed computing its chunks" in logs[0]
    assert "ScanModelError: diffsc.scan: the model rejected" in logs[1]
    assert "argument `T`" in logs[0] and "argument `T`" in logs[1]
    assert {0, 2} <= _chunk_ids(store) and 3 not in _chunk_ids(store)
    assert not (store / ".lock").exists()  # process 0 released it


# ------------------------------------------------------------------------------------------------
# the command line under (simulated) SLURM: `srun diffsc scan CONFIG --distributed`
# ------------------------------------------------------------------------------------------------

GAP_TOML = """
model = "gap"
output = "{output}"
chunk_size = 7
[fixed]
material = "Al"
cutoff = false
[grid]
T = {{ start = 50, stop = 1300, num = 150, unit = "mK" }}
"""


def _slurm_env(process_id: int, port: int) -> dict:
    """What srun sets for task `process_id` of a 2-task step on one node (here: localhost).

    jax.distributed.initialize() reads these (jax._src.clusters.SlurmCluster): the coordinator
    is the first host of SLURM_STEP_NODELIST (port JAX_COORDINATOR_PORT, else one derived from
    SLURM_JOB_ID), the process count SLURM_NTASKS, the process id SLURM_PROCID.
    """
    return _env(
        SLURM_JOB_ID="4242",
        SLURM_STEP_NODELIST="127.0.0.1",
        SLURM_STEP_NUM_NODES="1",
        SLURM_NTASKS="2",
        SLURM_PROCID=str(process_id),
        SLURM_LOCALID=str(process_id),
        JAX_COORDINATOR_PORT=str(port),
        JAX_COORDINATOR_BIND_ADDRESS=f"127.0.0.1:{port}",
    )


def _run_cli_pair(tmp_path: Path, name: str, cfg: Path, *args) -> tuple[list[int], list[str]]:
    log_dir = tmp_path / name
    log_dir.mkdir()
    port = _free_port()
    command = [sys.executable, "-m", "diffsc.cli", "scan", str(cfg), "--distributed"]
    command += ["--no-progress", *args]
    pair = _processes([command, command], [_slurm_env(0, port), _slurm_env(1, port)], log_dir)
    with pair as procs:
        codes = _wait(procs, log_dir)
    return codes, _logs(log_dir)


def test_command_line_under_slurm_fills_one_store_and_refuses_together(tmp_path, capsys):
    cfg = tmp_path / "gap.toml"
    cfg.write_text(GAP_TOML.format(output="gap_store"))
    codes, logs = _run_cli_pair(tmp_path, "filled", cfg)
    assert codes == [0, 0], _tail(logs)
    # only process 0 prints the summary: 150 points in 22 chunks, all computed by this job
    assert "150 points (0 invalid)" in logs[0] and "22 chunks computed, 0 loaded" in logs[0]
    assert "2 processes" in logs[0] and "points (" not in logs[1]

    # the same config run by one process (in this process), into another store
    assert cli.main(["scan", str(cfg), "--no-progress", "--out", str(tmp_path / "one")]) == 0
    capsys.readouterr()
    both, one = open_scan(tmp_path / "gap_store"), open_scan(tmp_path / "one")
    assert both.attrs["n_not_computed"] == 0 and bool(both.valid.all())
    _assert_bitwise_equal(both, one, outputs=("gap", "valid"))
    assert both.T.values.tobytes() == one.T.values.tobytes()

    # run again without --resume: process 0 refuses the existing store, and process 1 does not
    # wait for it: both stop at once with the reason, one line each, exit status 2
    codes, logs = _run_cli_pair(tmp_path, "refused", cfg)
    assert codes == [2, 2], _tail(logs)
    assert "already holds a scan" in logs[0] and "process 0 of 2 failed" not in logs[0]
    assert "process 0 of 2 failed" in logs[1] and "already holds a scan" in logs[1]
    assert "Traceback" not in logs[0] + logs[1]


def test_command_line_distributed_without_a_cluster_says_so(tmp_path):
    cfg = tmp_path / "gap.toml"
    cfg.write_text(GAP_TOML.format(output="gap_store"))
    command = [sys.executable, "-m", "diffsc.cli", "scan", str(cfg), "--distributed"]
    # no launcher's variables (_env drops them): jax.distributed finds nothing to join
    proc = subprocess.run(command, env=_env(), capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2, proc.stderr[-3000:]
    (line,) = proc.stderr.strip().splitlines()
    assert "--distributed: jax.distributed.initialize() found no cluster to join" in line
    assert "srun" in line and not (tmp_path / "gap_store").exists()
