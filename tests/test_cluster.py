"""Grid search on a Dask cluster: a real LocalCluster (two worker processes, one thread each).

Equal results to the local backend, events from the workers, a worker killed mid-search, an
unreachable scheduler, stop and resume; plus the pure parts (spec keys, command line, the
collector's bookkeeping, threads per worker). The workers are processes that the cluster starts
itself (spawned, never forked: TensorFlow and fork do not mix).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import threading
import time
from collections import Counter
from pathlib import Path

import pytest

from nnexplorer.core.errors import NnxError
from nnexplorer.core.events import CandidateFinished, CandidateStarted, EpochEnded, LogEvent
from nnexplorer.core.spec import validate_spec

distributed = pytest.importorskip("distributed")

GRID = {"layers.0.units": [4, 8]}


def grid_spec(data: dict, params: dict | None = None, **grid) -> object:
    data = json.loads(json.dumps(data))
    data["grid"] = {"cv": 2, "n_jobs": 1, "params": params or GRID, **grid}
    return validate_spec(data)


def run(spec, run_dir: Path, cancel=None, emit=None, **kwargs):
    from nnexplorer.core.search import grid_search

    events: list = []

    def out(event):
        events.append(event)
        if emit is not None:
            emit(event)

    return grid_search(spec, run_dir, out, cancel, **kwargs), events


def journal(run_dir: Path) -> list[dict]:
    lines = (run_dir / "fits.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def grid_scores(run_dir: Path) -> dict[str, float]:
    from nnexplorer.core.search import read_grid_csv

    return {row["candidate"]: float(row["mean_test_score"]) for row in read_grid_csv(run_dir)}


def write_preset(data: dict, path: Path, **grid) -> Path:
    import tomli_w

    data = json.loads(json.dumps(data))
    data["grid"] = {"cv": 2, "params": GRID, **grid}
    path.write_text(tomli_w.dumps(data))
    return path


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def cluster():
    """Two worker processes of one thread each, shared by the tests of this module."""
    env = {"TF_CPP_MIN_LOG_LEVEL": "3", "KERAS_BACKEND": "tensorflow"}
    with distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        dashboard_address=None,
        env=env,
        silence_logs=40,
    ) as local:
        yield local


@pytest.fixture
def client(cluster):
    with distributed.Client(cluster, set_as_default=False) as client:
        yield client


def wait_until(condition, timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return condition()


# ---------------------------------------------------------------------- pure parts


def test_scheduler_key_validates_and_implies_dask(tiny_spec_data):
    spec = grid_spec(tiny_spec_data, scheduler="10.0.0.5:8786")
    assert (spec.grid.backend, spec.grid.scheduler) == ("dask", "tcp://10.0.0.5:8786")
    spec = grid_spec(tiny_spec_data, scheduler="tls://head:8786", backend="local")
    assert spec.grid.backend == "local"  # an explicit backend wins
    assert grid_spec(tiny_spec_data).grid.backend == "local"
    with pytest.raises(NnxError) as bad:
        grid_spec(tiny_spec_data, scheduler="http://head")
    assert str(bad.value).startswith("grid.scheduler: got 'http://head'; expected a Dask")
    with pytest.raises(NnxError, match=r"grid\.backend: unknown backend 'spark'"):
        grid_spec(tiny_spec_data, backend="spark")


def test_scheduler_address_falls_back_to_the_environment(tiny_spec_data, monkeypatch):
    from nnexplorer.core.search import scheduler_address

    spec = grid_spec(tiny_spec_data, backend="dask")
    monkeypatch.delenv("NNEXPLORER_SCHEDULER", raising=False)
    with pytest.raises(NnxError, match="no scheduler is given"):
        scheduler_address(spec.grid)
    monkeypatch.setenv("NNEXPLORER_SCHEDULER", "head:8786")
    assert scheduler_address(spec.grid) == "tcp://head:8786"


def test_threads_per_worker_share_each_machine():
    from nnexplorer.core.search._dask import Cluster

    cluster = Cluster(address="tcp://head:8786", client=None)
    cluster.workers = {
        "tcp://a:1": {"host": "a", "nthreads": 1},
        "tcp://a:2": {"host": "a", "nthreads": 1},
        "tcp://b:1": {"host": "b", "nthreads": 2},
    }
    cluster.cores = {"tcp://a:1": 16, "tcp://a:2": 16, "tcp://b:1": 6}
    assert cluster.worker_threads() == {"tcp://a:1": 8, "tcp://a:2": 8, "tcp://b:1": 3}
    assert cluster.n_threads == 4


def test_collector_counts_fits_of_a_lost_worker_as_restarted(tmp_path):
    from nnexplorer.core.search._collector import FitTailer  # the bookkeeping of any transport

    events: list = []
    collector = FitTailer(tmp_path, events.append, run_id="r", n_candidates=1, n_folds=2)
    head = {"candidate": 0, "params": {"u": 4}, "pid": 1}
    collector.handle({**head, "type": "fit_begin", "key": "k0", "fold": 0, "worker": "tcp://a:1"})
    collector.handle({**head, "type": "fit_begin", "key": "k1", "fold": 1, "worker": "tcp://b:1"})
    assert collector.lost_worker("tcp://a:1") == ["k0"]
    collector.handle({**head, "type": "fit_begin", "key": "k0", "fold": 0, "worker": "tcp://b:1"})
    for key, fold in (("k0", 0), ("k1", 1)):
        record = {**head, "type": "fit_record", "key": key, "fold": fold, "score": 0.5}
        collector.handle({**record, "status": "completed", "worker": "tcp://b:1"})
    collector.close_journal()
    assert [r.get("restarts", 0) for r in journal(tmp_path)] == [1, 0]
    started = [e.worker for e in events if isinstance(e, CandidateStarted)]
    assert started == ["tcp://a:1", "tcp://b:1", "tcp://b:1"]
    folds = [e for e in events if isinstance(e, CandidateFinished) and e.fold is not None]
    assert {e.worker for e in folds} == {"tcp://b:1"} and not collector.running


def test_unreachable_scheduler_is_one_line_and_exit_2(
    tiny_spec_data, tmp_path, capsys, monkeypatch
):
    from nnexplorer.cli import main

    preset = write_preset(tiny_spec_data, tmp_path / "tiny.toml")
    address = f"tcp://127.0.0.1:{closed_port()}"
    runs = tmp_path / "runs"
    code = main(["run", str(preset), "--grid", "--scheduler", address, "--runs", str(runs)])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert len(err) == 1 and err[0].startswith(
        f"nnexplorer: error: cannot reach the Dask scheduler at {address}"
    )
    assert not runs.exists()  # nothing started
    # the same from the environment; a scheduler without --grid is a usage mistake
    monkeypatch.setenv("NNEXPLORER_SCHEDULER", address)
    assert main(["run", str(preset), "--grid", "--runs", str(runs)]) == 2
    assert address in capsys.readouterr().err
    monkeypatch.delenv("NNEXPLORER_SCHEDULER")
    assert main(["run", str(preset), "--scheduler", address, "--runs", str(runs)]) == 2
    assert "add --grid" in capsys.readouterr().err
    assert main(["run", str(preset), "--grid", "--scheduler", "http://head"]) == 2
    assert capsys.readouterr().err.startswith("nnexplorer: error: --scheduler: got 'http://head'")


def test_unreachable_scheduler_fails_the_engine_call_too(tiny_spec_data, tmp_path):
    address = f"tcp://127.0.0.1:{closed_port()}"
    result, events = run(grid_spec(tiny_spec_data, scheduler=address), tmp_path / "run")
    assert result.status == "failed" and address in result.message
    assert result.summary["backend"] == "dask" and result.summary["scheduler"] == address
    assert not [e for e in events if e.type == "run_started"]


# ---------------------------------------------------------------------- on the cluster


@pytest.mark.slow
def test_cluster_search_equals_local_and_events_come_from_workers(
    tiny_spec_data, tmp_path, cluster, client, capsys
):
    """``nnexplorer run --grid --scheduler`` on the cluster against the local backend."""
    from nnexplorer.cli import main
    from nnexplorer.core.events import from_json
    from nnexplorer.core.search._space import available_cores

    # the cluster fits each fold on its own: compare with the same on the local backend
    local, _ = run(grid_spec(tiny_spec_data), tmp_path / "local", fuse_folds=False)
    preset = write_preset(tiny_spec_data, tmp_path / "tiny.toml")
    runs = tmp_path / "runs"
    argv = ["run", str(preset), "--grid", "--json", "--runs", str(runs)]
    assert main([*argv, "--scheduler", cluster.scheduler_address]) == 0
    events = [from_json(line) for line in capsys.readouterr().out.splitlines()]
    (run_dir,) = runs.iterdir()
    summary = json.loads((run_dir / "summary.json").read_text())
    assert local.status == summary["status"] == "completed", summary["message"]
    assert summary["best_params"] == local.best_params
    assert summary["best_score"] == pytest.approx(local.best_score, abs=1e-6)
    assert grid_scores(run_dir) == pytest.approx(grid_scores(tmp_path / "local"), abs=1e-6)

    workers = set(client.scheduler_info()["workers"])
    folds = [e for e in events if isinstance(e, CandidateFinished) and e.fold is not None]
    assert {(e.candidate, e.fold) for e in folds} == {(c, f) for c in range(2) for f in range(2)}
    assert {e.worker for e in folds} <= workers and all(e.worker for e in folds)
    started = [e for e in events if isinstance(e, CandidateStarted)]
    assert all(e.worker in workers for e in started)
    epochs = Counter((e.candidate, e.fold) for e in events if isinstance(e, EpochEnded))
    assert all(epochs[(c, f)] == 2 for c in range(2) for f in range(2))  # every epoch arrived

    assert summary["backend"] == "dask" and summary["scheduler"] == cluster.scheduler_address
    assert set(summary["workers"]) == {e.worker for e in folds}
    assert summary["workers_lost"] == [] and summary["fits_restarted"] == 0
    records = journal(run_dir)
    assert len(records) == 4 and all(r["worker"] in workers for r in records)
    # TensorFlow threads: the machine's cores shared by its two worker threads
    assert {r["threads"] for r in records} == {max(1, available_cores() // 2)}
    # the workers wrote nothing into the run directory: no fit files, only what this process wrote
    assert list((run_dir / "fits").iterdir()) == []
    assert json.loads((tmp_path / "local" / "summary.json").read_text())["backend"] == "local"


@pytest.mark.slow
def test_stop_cancels_the_cluster_tasks_and_resume_completes(
    tiny_spec_data, tmp_path, cluster, client
):
    tiny_spec_data["fit"]["epochs"] = 4
    params = {"optimizer__learning_rate": [0.01, 0.02, 0.05, 0.1]}  # one network: one trace
    spec = grid_spec(tiny_spec_data, params, scheduler=cluster.scheduler_address)
    run_dir = tmp_path / "run"
    cancel = threading.Event()

    def stop_after_first_fold(event):
        if isinstance(event, CandidateFinished) and event.fold is not None:
            cancel.set()

    result, events = run(spec, run_dir, cancel, stop_after_first_fold, group_fits=False)
    assert result.status == "cancelled" and result.exit_code == 130
    kept = journal(run_dir)
    assert 1 <= len(kept) < 8
    began = {(e.candidate, e.fold) for e in events if isinstance(e, CandidateStarted)}
    assert len(began) < 8  # the pending tasks never started
    # nothing of the search is left running or waiting on the cluster
    scheduler = cluster.scheduler
    assert wait_until(lambda: not any(ws.processing for ws in scheduler.workers.values()))
    assert wait_until(
        lambda: sum(client.run(lambda dask_worker: dask_worker.state.executing_count).values()) == 0
    )
    assert json.loads((run_dir / "summary.json").read_text())["status"] == "cancelled"

    done_before = {(r["candidate"], r["fold"]) for r in kept}
    resumed, events = run(spec, run_dir, resume=True)
    assert resumed.status == "completed", resumed.message
    trained = {(e.candidate, e.fold) for e in events if isinstance(e, EpochEnded)}
    assert not trained & done_before  # the workers skipped the fits in the journal
    assert trained >= {(c, f) for c in range(4) for f in range(2)} - done_before
    assert len(journal(run_dir)) == 8 and resumed.summary["fits_reused"] == len(kept)


@pytest.mark.slow
def test_worker_killed_mid_search_is_rescheduled_and_recorded(
    tiny_spec_data, tmp_path, cluster, client
):
    tiny_spec_data["fit"]["epochs"] = 40
    params = {"optimizer__learning_rate": [0.01, 0.05]}
    spec = grid_spec(tiny_spec_data, params, scheduler=cluster.scheduler_address)
    pids = client.run(os.getpid)
    where: dict[tuple, str] = {}
    killed: list[str] = []

    def kill_first_worker(event):
        """Kill the worker of the first fit that has trained one epoch (39 to go)."""
        if isinstance(event, CandidateStarted):
            where[(event.candidate, event.fold)] = event.worker
        elif isinstance(event, EpochEnded) and event.fold is not None and not killed:
            worker = where.get((event.candidate, event.fold), "")
            if event.epoch == 1 and worker in pids:
                killed.append(worker)
                os.kill(pids[worker], signal.SIGKILL)

    result, events = run(spec, tmp_path / "run", emit=kill_first_worker, group_fits=False)
    assert killed
    assert result.status == "completed", result.message
    summary = result.summary
    assert summary["workers_lost"] == killed and summary["fits_restarted"] >= 1
    records = journal(tmp_path / "run")
    assert len(records) == 4 and all(r["status"] == "completed" for r in records)
    assert any(r.get("restarts") for r in records)
    assert killed[0] not in {r["worker"] for r in records}
    warnings = [e.message for e in events if isinstance(e, LogEvent) and e.level == "warning"]
    assert any(killed[0] in w and "left the cluster" in w for w in warnings)
