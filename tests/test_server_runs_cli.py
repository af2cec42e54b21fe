"""Runs on a server from the command line, end to end: real detached workers on tiny data.

``run --detach``, ``attach``, ``stop`` (and ``--kill``), ``runs --json``, a SIGKILLed worker, the
queue of one slot, and a fake two-GPU machine (an ``nnexplorer-smi`` stand-in on PATH).
"""

from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from nnexplorer import cli
from nnexplorer.core.detach import DetachedRun
from nnexplorer.core.events import RunStarted
from nnexplorer.core.runs import (
    RunRecorder,
    create_run_dir,
    read_events,
    read_meta,
    read_summary,
    this_host,
    write_json_atomic,
)

TINY = """\
[experiment]
name = "tiny-server"
seed = 1

[data]
source = "sklearn:iris"
test_size = 0.3
validation_split = 0.2

[[layers]]
units = 8

[compile]
learning_rate = 0.01

[fit]
epochs = 2
batch_size = 16
"""
LONG = ["--set", "fit.epochs=500", "--set", "fit.batch_size=4"]
TWO_GPUS = """\
#!/bin/sh
if [ "$1" = "-L" ]; then
  echo "GPU 0: NVIDIA H200 (UUID: GPU-aaaa1111-0000)"
  echo "GPU 1: NVIDIA H200 (UUID: GPU-bbbb2222-0000)"
fi
"""


@pytest.fixture
def tiny(tmp_path) -> str:
    path = tmp_path / "tiny.toml"
    path.write_text(TINY, encoding="utf-8")
    return str(path)


@pytest.fixture
def runs_dir() -> Path:
    return Path(os.environ["NNEXPLORER_RUNS"])


def _env(**extra: str) -> dict[str, str]:
    env = {
        k: v for k, v in os.environ.items() if k not in ("CUDA_VISIBLE_DEVICES", "NNEXPLORER_SLOTS")
    }
    env.update(
        TF_CPP_MIN_LOG_LEVEL="3",
        NNEXPLORER_THREADS="1",
        NNEXPLORER_HEARTBEAT="0.2",
        NO_COLOR="1",
        COLUMNS="120",
        **extra,
    )
    return env


def nnx(*args: str, timeout: float = 240, **env: str) -> subprocess.CompletedProcess[str]:
    """``python -m nnexplorer ARGS``, output captured."""
    return subprocess.run(
        [sys.executable, "-m", "nnexplorer", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=_env(**env),
        check=False,
    )


def detach(*args: str, **env: str) -> Path:
    """Start a detached run; its directory (the one line on stdout)."""
    done = nnx("run", *args, "--detach", **env)
    assert done.returncode == 0, done.stderr
    return Path(done.stdout.strip())


def _wait(condition, timeout: float = 180.0, what: str = "the run") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def _epochs(run_dir: Path) -> int:
    return sum(1 for e in read_events(run_dir / "events.jsonl") if e.type == "epoch_ended")


def _types(run_dir: Path) -> list[str]:
    return [e.type for e in read_events(run_dir / "events.jsonl")]


def _listing() -> dict[str, dict]:
    done = nnx("runs", "--json")
    assert done.returncode == 0, done.stderr
    return {run["id"]: run for run in json.loads(done.stdout)}


@pytest.mark.slow
def test_detach_returns_at_once_without_tensorflow_then_attach_follows(tiny, runs_dir):
    probe = (
        "import sys\nfrom nnexplorer.cli import main\n"
        f"code = main(['run', {tiny!r}, '--detach'])\n"
        "print('tensorflow loaded:', 'tensorflow' in sys.modules, file=sys.stderr)\n"
        "sys.exit(code)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, env=_env()
    )
    assert done.returncode == 0, done.stderr
    run_dir = Path(done.stdout.strip())  # the run directory is all stdout says
    assert run_dir.parent == runs_dir and (run_dir / "preset.toml").is_file()
    assert "tensorflow loaded: False" in done.stderr
    assert f"nnexplorer attach {run_dir.name}" in done.stderr
    assert read_meta(run_dir)["pid"] > 0 and read_meta(run_dir)["detached"] is True

    attached = nnx("attach", run_dir.name[-9:])  # a unique part of the id is enough
    assert attached.returncode == 0, attached.stderr
    assert "epoch 1/2" in attached.stdout and "epoch 2/2" in attached.stdout
    assert "status: done" in attached.stdout and str(run_dir) in attached.stdout
    assert read_summary(run_dir)["status"] == "completed"

    again = nnx("attach", str(run_dir), "--json")  # a finished run: every event, then its code
    assert again.returncode == 0, again.stderr
    events = [json.loads(line) for line in again.stdout.splitlines()]
    types = [e["type"] for e in events]
    assert types[0] == "slot_acquired" and types[-1] == "run_finished"
    assert types.count("epoch_ended") == 2 and events[-1]["status"] == "completed"
    listed = _listing()[run_dir.name]
    assert listed["status"] == "completed" and listed["pid"] == read_meta(run_dir)["pid"]


@pytest.mark.slow
def test_three_detached_runs_take_one_slot_in_turn(tiny, runs_dir):
    dirs = [detach(tiny, "--slots", "1") for _ in range(3)]
    listed = _listing()
    assert all(listed[d.name]["pid"] for d in dirs)
    assert all(listed[d.name]["status"] in ("queued", "running") for d in dirs)
    assert [listed[d.name]["status"] for d in dirs[1:]] == ["queued", "queued"]
    for run_dir in dirs:
        assert DetachedRun(run_dir).wait(timeout=300) == 0
    spans = []
    for run_dir in dirs:
        events = read_events(run_dir / "events.jsonl")
        begin = next(e.time for e in events if e.type == "slot_acquired")
        end = next(e.time for e in events if e.type == "run_finished")
        spans.append((begin, end))
    assert spans == sorted(spans)  # served in the order they were started
    for (_, end), (begin, _) in itertools.pairwise(spans):
        assert end <= begin  # never two at once
    queued = [e for e in read_events(dirs[2] / "events.jsonl") if e.type == "run_queued"]
    assert queued and queued[0].slots == 1 and queued[0].ahead == 1
    assert _types(dirs[0])[0] == "slot_acquired"  # the first one never waited


@pytest.mark.slow
def test_stop_from_other_processes_a_running_and_two_queued_runs(tiny, runs_dir):
    running = detach(tiny, *LONG, "--slots", "1")
    stopped_early = detach(tiny, "--slots", "1")
    killed_early = detach(tiny, "--slots", "1")
    _wait(lambda: _epochs(running) >= 1, what="a first epoch")
    listed = _listing()
    assert listed[running.name]["status"] == "running"
    assert listed[running.name]["progress"].startswith("epoch ")
    assert listed[stopped_early.name]["status"] == "queued"

    done = nnx("stop", stopped_early.name)  # a queued run: stopped before it starts
    assert done.returncode == 0 and "was queued; it will not start" in done.stderr
    _wait(lambda: read_summary(stopped_early) is not None, 60, "the queued run to stop")
    assert read_summary(stopped_early)["status"] == "cancelled"
    assert "run_started" not in _types(stopped_early)  # it never loaded anything

    done = nnx("stop", killed_early.name, "--kill")
    assert done.returncode == 0 and "killed" in done.stderr, done.stderr
    assert read_summary(killed_early)["status"] == "failed"

    done = nnx("stop", running.name)
    assert done.returncode == 0 and "stopping after the current batch" in done.stderr
    attached = nnx("attach", running.name)
    assert attached.returncode == 130, attached.stderr  # the run's code: stopped
    assert "status: stopped" in attached.stdout
    summary = read_summary(running)
    assert summary["status"] == "cancelled" and 1 <= summary["epochs_completed"] < 500
    again = nnx("stop", running.name)
    assert again.returncode == 1 and "not running (stopped)" in again.stderr
    assert nnx("stop", "no-such-run").returncode == 2


@pytest.mark.slow
def test_a_sigkilled_worker_is_interrupted(tiny, runs_dir):
    run_dir = detach(tiny, *LONG)
    _wait(lambda: _epochs(run_dir) >= 1, what="a first epoch")
    pid = read_meta(run_dir)["pid"]
    os.kill(pid, signal.SIGKILL)
    _wait(lambda: _listing()[run_dir.name]["status"] == "interrupted", 15, "interrupted")
    attached = nnx("attach", run_dir.name)
    assert attached.returncode == 1, attached.stderr
    assert "status: interrupted" in attached.stdout
    assert f"its worker (pid {pid} on {this_host()}) ended" in attached.stderr
    assert read_summary(run_dir) is None  # nothing pretends it ended otherwise


def test_an_interrupted_grid_offers_resume(tiny_spec, runs_dir, capsys):
    run_dir = create_run_dir(runs_dir, tiny_spec, "grid")
    recorder = RunRecorder(run_dir)
    recorder(RunStarted(mode="grid", n_candidates=2, n_folds=2))
    recorder.close()
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()  # the worker is gone, and it left no summary
    meta = {**read_meta(run_dir), "pid": child.pid, "host": this_host(), "status": "running"}
    write_json_atomic(run_dir / "run.json", meta)
    assert cli.main(["runs"]) == 0
    text = capsys.readouterr().out
    assert "interrupted" in text
    assert f"nnexplorer run {run_dir / 'preset.toml'} --grid --resume {run_dir}" in text
    assert cli.main(["runs", "--json"]) == 0
    (listed,) = json.loads(capsys.readouterr().out)
    assert listed["status"] == "interrupted" and listed["pid"] == child.pid
    assert listed["host"] == this_host() and listed["progress"] == ""


@pytest.mark.slow
def test_a_fake_two_gpu_machine_pins_each_slot_to_its_gpu(tiny, runs_dir, tmp_path):
    smi = tmp_path / "bin" / "nvidia-smi"
    smi.parent.mkdir()
    smi.write_text(TWO_GPUS)
    smi.chmod(0o755)
    path = f"{smi.parent}{os.pathsep}{os.environ['PATH']}"
    dirs = [detach(tiny, "--set", "fit.epochs=3", PATH=path) for _ in range(2)]
    for run_dir in dirs:
        assert DetachedRun(run_dir).wait(timeout=300) == 0
    pinned = []
    for run_dir in dirs:
        (slot,) = [e for e in read_events(run_dir / "events.jsonl") if e.type == "slot_acquired"]
        assert slot.slots == 2  # one slot per GPU by default
        assert read_meta(run_dir)["gpu"] == slot.gpu
        pinned.append((slot.slot, slot.gpu))
    assert sorted(pinned) == [(0, "0"), (1, "1")]
    assert not any(e.type == "run_queued" for d in dirs for e in read_events(d / "events.jsonl"))
    assert read_summary(dirs[0])["device"] == "CPU"  # no real GPU behind CUDA_VISIBLE_DEVICES

    devices = nnx("devices", PATH=path)
    assert devices.returncode == 0, devices.stderr
    assert "CPU only (no GPU)" in devices.stdout
    assert "the NVIDIA driver lists 2 GPUs TensorFlow cannot use" in devices.stdout
    assert "2 slots (slot 1 -> GPU 0, slot 2 -> GPU 1)" in devices.stdout
