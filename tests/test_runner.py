"""The worker process and the runner that drives it: real processes, tiny data."""

from __future__ import annotations

import json
import subprocess
import sys
import threading

import pytest

from nnexplorer.core import runs
from nnexplorer.core.errors import RunError
from nnexplorer.core.events import EpochEnded, LogEvent, RunFinished, RunStarted
from nnexplorer.core.runner import RunControl, RunHandle, start_run
from nnexplorer.core.spec import validate_spec

pytestmark = pytest.mark.slow


@pytest.fixture
def long_spec(tiny_spec_data):
    tiny_spec_data["fit"] = {"epochs": 500, "batch_size": 4}
    return validate_spec(tiny_spec_data)


def test_worker_run_yields_events_and_records(tiny_spec, tmp_path):
    handle = start_run(tiny_spec, runs_root=tmp_path)
    assert handle.run_dir.parent == tmp_path
    events = list(handle.events())
    types = [e.type for e in events]
    assert types[-1] == "run_finished" and "run_started" in types
    assert types.count("epoch_ended") == 2
    assert types.index("run_started") < types.index("epoch_ended")
    finished = events[-1]
    assert isinstance(finished, RunFinished) and finished.status == "completed"
    assert "accuracy" in finished.summary["test_metrics"]
    assert handle.wait(timeout=30) == 0 and handle.returncode == 0
    assert runs.read_summary(handle.run_dir)["status"] == "completed"
    assert [e.type for e in runs.read_events(handle.run_dir / "events.jsonl")] == types
    assert "worker: pid" in (handle.run_dir / "stderr.log").read_text()


def _iterate_and_act(handle: RunHandle, action) -> list:
    """Read events in this thread; on the first finished epoch, call ``action`` from another."""
    events = []
    acted = threading.Event()
    for event in handle.events():
        events.append(event)
        if isinstance(event, EpochEnded) and not acted.is_set():
            acted.set()
            threading.Thread(target=action).start()
    return events


def test_stop_cancels_and_keeps_partial_history(long_spec, tmp_path):
    handle = start_run(long_spec, runs_root=tmp_path)
    events = _iterate_and_act(handle, handle.stop)
    finished = events[-1]
    assert isinstance(finished, RunFinished) and finished.status == "cancelled"
    assert handle.wait(timeout=30) == 130
    done = finished.summary["epochs_completed"]
    assert 1 <= done < 500
    history = runs.read_history(handle.run_dir / "history.csv")
    assert [row["epoch"] for row in history] == list(range(1, done + 1))
    assert (handle.run_dir / "model.keras").is_file()
    assert runs.read_summary(handle.run_dir)["status"] == "cancelled"


def test_kill_is_reported_failed_with_stderr_tail(long_spec, tmp_path):
    handle = start_run(long_spec, runs_root=tmp_path)
    events = _iterate_and_act(handle, handle.kill)
    finished = events[-1]
    assert isinstance(finished, RunFinished) and finished.status == "failed"
    assert handle.returncode == -9
    assert "worker exited with code -9 (killed by SIGKILL)" in finished.message
    assert "worker: pid" in finished.message  # the end of its stderr
    assert finished.summary["device"] == "CPU"
    assert finished.summary["epochs_completed"] >= 1
    record = runs.load_run(handle.run_dir)
    assert record.summary["status"] == "failed"
    assert len(record.history) >= 1
    assert record.events[-1].type == "run_finished"


def test_worker_with_invalid_preset_fails_cleanly(tmp_path):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "preset.toml").write_text("[fit]\nepochs = 0\n")
    proc = subprocess.run(
        [sys.executable, "-m", "nnexplorer.core.worker", str(run_dir)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 1
    lines = [json.loads(line) for line in proc.stdout.splitlines()]
    assert lines[-1]["type"] == "run_finished" and lines[-1]["status"] == "failed"
    assert "fit.epochs" in lines[-1]["message"]
    assert runs.read_summary(run_dir)["status"] == "failed"


def test_worker_argument_errors(tmp_path):
    def worker(*args):
        return subprocess.run(
            [sys.executable, "-m", "nnexplorer.core.worker", *args],
            capture_output=True,
            text=True,
            timeout=120,
        )

    assert worker(str(tmp_path)).returncode == 2  # no preset.toml
    (tmp_path / "preset.toml").write_text("")
    assert worker(str(tmp_path), "--resume").returncode == 2


def test_start_run_argument_errors(tiny_spec, tmp_path):
    with pytest.raises(RunError):
        start_run(tiny_spec, mode="dance", runs_root=tmp_path)
    with pytest.raises(RunError, match="grid"):
        start_run(tiny_spec, runs_root=tmp_path, resume=tmp_path)
    with pytest.raises(RunError, match="not a run folder"):
        start_run(tiny_spec, mode="grid", runs_root=tmp_path, resume=tmp_path / "nope")


def test_events_skip_noise_and_report_a_dead_worker(tmp_path):
    """A process that prints junk and dies without run_finished: a synthesized failure."""
    started = RunStarted(run_id="r", device="CPU").to_json()
    epoch = EpochEnded(run_id="r", epoch=1, epochs=3, metrics={"loss": 1.0}).to_json()
    script = (
        "import sys\n"
        f"print({started!r})\n"
        "print('some library chatter')\n"
        "print('{not json')\n"
        f"print({epoch!r})\n"
        "print('Traceback: out of memory', file=sys.stderr)\n"
        "sys.exit(3)\n"
    )
    (tmp_path / "stderr.log").write_text("")
    with open(tmp_path / "stderr.log", "ab") as err:
        process = subprocess.Popen(
            [sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=err, text=True
        )
    handle = RunHandle(process, tmp_path, "train")
    events = list(handle.events())
    assert [e.type for e in events] == ["run_started", "epoch_ended", "run_finished"]
    finished = events[-1]
    assert finished.status == "failed"
    assert finished.message == "worker exited with code 3: Traceback: out of memory"
    assert finished.summary["epochs_completed"] == 1
    assert runs.read_summary(tmp_path)["status"] == "failed"
    # stop and kill on a finished process do nothing
    handle.stop()
    handle.kill()
    assert handle.returncode == 3


def test_log_event_round_trip_through_handle(tmp_path):
    line = LogEvent(run_id="r", message="hello").to_json()
    finished = RunFinished(run_id="r", status="completed", summary={"mode": "train"}).to_json()
    script = f"print({line!r}); print({finished!r})"
    process = subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    handle = RunHandle(process, tmp_path, "train")
    assert isinstance(handle, RunControl)
    events = list(handle.events())
    assert [e.type for e in events] == ["log", "run_finished"]
    assert events[0].message == "hello"
    assert not (tmp_path / "summary.json").exists()  # the worker's own summary is trusted
