"""Runs on a server, the parts without TensorFlow: GPUs and slots, liveness, the queue, followers,
stop requests. Fast: fake GPUs, fake run folders, tiny helper processes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from nnexplorer.core import gpus, runs
from nnexplorer.core.errors import NnxError
from nnexplorer.core.events import (
    EpochEnded,
    LogEvent,
    RunFinished,
    RunQueued,
    RunStarted,
    SlotAcquired,
)
from nnexplorer.core.progress import RunProgress
from nnexplorer.core.runs import (
    EventFollower,
    Liveness,
    RunRecorder,
    SlotQueue,
    create_run_dir,
    find_run,
    live_status,
    read_meta,
    request_stop,
    this_host,
    write_json_atomic,
)
from nnexplorer.tui.session import RunView

TWO_GPUS = """\
#!/bin/sh
if [ "$1" = "-L" ]; then
  echo "GPU 0: NVIDIA H200 (UUID: GPU-aaaa1111-0000)"
  echo "  MIG 1g.18gb     Device  0: (UUID: MIG-ffff)"
  echo "GPU 1: NVIDIA H200 (UUID: GPU-bbbb2222-0000)"
else
  echo "0, GPU-aaaa1111-0000, 143771"
  echo "1, GPU-bbbb2222-0000, 143771"
fi
"""


@pytest.fixture
def fake_smi(tmp_path) -> str:
    """An nvidia-smi that lists two GPUs."""
    path = tmp_path / "bin" / "nvidia-smi"
    path.parent.mkdir()
    path.write_text(TWO_GPUS)
    path.chmod(0o755)
    return str(path)


def _ids(found: list[gpus.Gpu]) -> list[str]:
    return [g.id for g in found]


# --------------------------------------------------------------------------- GPUs and slots


def test_gpus_from_nvidia_smi_honour_cuda_visible_devices(fake_smi, tmp_path):
    none = tmp_path / "no-proc"

    def visible(env: dict[str, str]) -> list[str]:
        return _ids(gpus.visible_gpus(env, smi=fake_smi, proc=none))

    listed = gpus.visible_gpus({}, smi=fake_smi, proc=none)
    assert listed == [
        gpus.Gpu("0", "NVIDIA H200", "GPU-aaaa1111-0000"),
        gpus.Gpu("1", "NVIDIA H200", "GPU-bbbb2222-0000"),
    ]  # the MIG line is not a GPU
    assert visible({"CUDA_VISIBLE_DEVICES": "1"}) == ["1"]
    assert visible({"CUDA_VISIBLE_DEVICES": "1,0"}) == ["1", "0"]
    assert visible({"CUDA_VISIBLE_DEVICES": "GPU-bbbb"}) == ["GPU-bbbb"]  # a UUID prefix
    assert visible({"CUDA_VISIBLE_DEVICES": "0,7,1"}) == ["0"]  # CUDA stops at a bad entry
    assert visible({"CUDA_VISIBLE_DEVICES": "-1"}) == []
    assert visible({"CUDA_VISIBLE_DEVICES": ""}) == []
    assert gpus.driver_memory(fake_smi)["GPU-bbbb2222-0000"] == 143771


def test_gpus_from_proc_when_there_is_no_nvidia_smi(tmp_path):
    proc = tmp_path / "gpus"
    for bus, uuid in (("0000:3b:00.0", "GPU-one"), ("0000:86:00.0", "GPU-two")):
        (proc / bus).mkdir(parents=True)
        (proc / bus / "information").write_text(f"Model: \t Tesla V100\nGPU UUID: \t {uuid}\n")
    found = gpus.visible_gpus({}, smi=None, proc=proc)
    assert found == [gpus.Gpu("0", "Tesla V100", "GPU-one"), gpus.Gpu("1", "Tesla V100", "GPU-two")]
    assert gpus.visible_gpus({}, smi="no-such-program", proc=tmp_path / "none") == []


def test_slot_count_and_the_gpu_of_each_slot(fake_smi, monkeypatch):
    monkeypatch.setenv("PATH", f"{Path(fake_smi).parent}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    monkeypatch.delenv(gpus.SLOTS_ENV, raising=False)
    assert gpus.slot_count() == 2  # one per GPU
    assert gpus.slot_count(3) == 3
    monkeypatch.setenv(gpus.SLOTS_ENV, "4")
    assert gpus.slot_count() == 4 and gpus.slot_count(1) == 1
    monkeypatch.setenv(gpus.SLOTS_ENV, "many")
    with pytest.raises(NnxError, match="NNEXPLORER_SLOTS: expected a whole number >= 1"):
        gpus.slot_count()
    with pytest.raises(NnxError, match="--slots"):
        gpus.slot_count(0)
    assert gpus.slot_count(environ={"PATH": "", "CUDA_VISIBLE_DEVICES": "-1"}) == 1  # CPU only
    two = gpus.visible_gpus({})
    assert [gpus.gpu_for_slot(k, two).id for k in range(4)] == ["0", "1", "0", "1"]
    assert gpus.gpu_for_slot(0, []) is None


def test_a_detached_worker_pins_its_slot_to_a_gpu(fake_smi, tmp_path, monkeypatch, tiny_spec):
    """The worker's slot step in this process (fake two-GPU machine, second slot taken)."""
    from nnexplorer.core import worker

    monkeypatch.setenv("PATH", f"{Path(fake_smi).parent}{os.pathsep}{os.environ['PATH']}")
    for name in ("CUDA_VISIBLE_DEVICES", worker.GPU_ENV, gpus.SLOTS_ENV):
        monkeypatch.delenv(name, raising=False)
    root = tmp_path / "runs"
    taken = SlotQueue(root, "someone-else")
    assert taken.try_slot(2) == 0
    run_dir = create_run_dir(root, tiny_spec)
    seen: list = []
    args = worker._parse([str(run_dir), "--detached"])
    with Liveness(run_dir, status="queued", interval=0.05) as liveness:
        queue = worker._take_slot(run_dir, seen.append, threading.Event(), args, liveness)
        assert queue is not None and queue.slot == 1
        assert os.environ["CUDA_VISIBLE_DEVICES"] == "1" and os.environ[worker.GPU_ENV] == "1"
        assert read_meta(run_dir)["gpu"] == "1" and read_meta(run_dir)["status"] == "running"
        queue.release()
    taken.release()
    acquired = [e for e in seen if isinstance(e, SlotAcquired)]
    assert [(e.slot, e.slots, e.gpu) for e in acquired] == [(1, 2, "1")]
    recorded = runs.read_events(run_dir / "events.jsonl")
    assert [e.type for e in recorded] == ["slot_acquired"]


# --------------------------------------------------------------------------- liveness


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_live_status_from_pid_on_this_host_and_heartbeat_elsewhere():
    me, host, now = os.getpid(), this_host(), time.time()
    assert live_status({}) == "unfinished"  # written before runs kept a heartbeat
    assert live_status({"pid": me, "host": host, "status": "queued"}) == "queued"
    assert live_status({"pid": me, "host": host, "proc_start": runs.process_start(me)}) == "running"
    assert live_status({"pid": me, "host": host, "proc_start": "1"}) == "interrupted"  # reused
    assert live_status({"pid": _dead_pid(), "host": host}) == "interrupted"
    assert live_status({"pid": me, "host": host, "ended": now}) == "interrupted"
    elsewhere = {"pid": 1, "host": "another-host", "heartbeat_interval": 5.0, "status": "running"}
    assert live_status({**elsewhere, "heartbeat": now - 10}, now) == "running"
    assert live_status({**elsewhere, "heartbeat": now - 13}, now) == "interrupted"  # < 15 s
    assert live_status({**elsewhere, "spawned": now - 5}, now) == "running"  # not beating yet
    assert live_status({**elsewhere, "spawned": now - 60}, now) == "interrupted"


def test_a_zombie_worker_is_not_alive():
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and runs.pid_alive(child.pid):
        time.sleep(0.02)
    assert not runs.pid_alive(child.pid)  # exited, not yet reaped by us
    child.wait()


def test_liveness_keeps_run_json_current_and_acts_on_requests(tmp_path):
    cancel = threading.Event()
    killed = threading.Event()
    (tmp_path / "run.json").write_text(json.dumps({"run_id": "r", "created": 1.0}))
    with Liveness(tmp_path, cancel=cancel, on_kill=killed.set, interval=0.05, mode="train"):
        first = read_meta(tmp_path)
        assert first["pid"] == os.getpid() and first["host"] == this_host()
        assert first["created"] == 1.0 and first["status"] == "running"
        assert live_status(first) == "running"
        time.sleep(0.2)
        assert read_meta(tmp_path)["heartbeat"] > first["heartbeat"]
        runs.write_request(tmp_path, "stop")
        assert cancel.wait(5) and not killed.is_set()
        runs.write_request(tmp_path, "kill")
        assert killed.wait(5)
    assert read_meta(tmp_path)["ended"] >= first["heartbeat"]
    assert live_status(read_meta(tmp_path)) == "interrupted"  # ended, and no summary


def test_liveness_progress_follows_the_events(tmp_path):
    liveness = Liveness(tmp_path, status="queued", interval=0.05)
    liveness.observe(RunQueued(slots=1, ahead=2))
    assert liveness.meta["status"] == "queued" and liveness.meta["progress"] == ""
    liveness.observe(SlotAcquired(slot=0, slots=1))
    liveness.observe(RunStarted(mode="train", spec={"epochs": 3}, device="CPU"))
    liveness.observe(EpochEnded(epoch=1, epochs=3, metrics={"loss": 1.0}))
    assert liveness.meta["status"] == "running" and liveness.meta["progress"] == "epoch 1/3"
    assert liveness.meta["device"] == "CPU"
    grid = Liveness(tmp_path, interval=0.05)
    grid.observe(RunStarted(mode="grid", n_candidates=3, n_folds=2))
    assert grid.meta["progress"] == "fits 0/6"


def test_queued_and_slot_events_in_the_progress_and_the_status_line():
    view = RunView(key="r", name="x")
    view.apply(RunQueued(slots=1, ahead=2))
    assert view.status == "queued" and view.running
    assert view.state_line() == "Queued: waiting for a free slot (2 ahead)..."
    view.apply(SlotAcquired(slot=1, slots=2, gpu="1"))
    assert view.status == "starting" and (view.slot, view.gpu) == (1, "1")
    view.apply(RunStarted(mode="train", device="NVIDIA H200 (GPU 1)"))
    assert view.status == "running" and view.device == "NVIDIA H200 (GPU 1)"
    view.stopping = True
    assert view.state_line().startswith("Stopping...")
    view.apply(RunFinished(status="interrupted", message="worker gone"))
    assert view.state_line() == "Interrupted"


# --------------------------------------------------------------------------- the queue


def test_slots_are_taken_in_queue_order_and_dead_tickets_are_dropped(tmp_path):
    first, second, third = (SlotQueue(tmp_path, name) for name in ("a", "b", "c"))
    assert first.try_slot(1) == 0
    second.join()
    time.sleep(0.001)
    third.join()
    assert second.ahead() == 0 and third.ahead() == 1
    assert second.try_slot(1) is None  # the only slot is taken
    queue = tmp_path / runs.SLOTS_DIR / "queue"
    stale = queue / "00000000000000000001-dead"  # a waiter that died: its lock is free
    stale.write_text("")
    assert second.ahead() == 0 and not stale.exists()
    first.release()
    assert second.try_slot(1) == 0 and third.ahead() == 0
    assert third.try_slot(1) is None
    second.release()
    assert third.try_slot(1) == 0
    third.release()
    assert sorted(p.name for p in queue.iterdir()) == []


def test_waiting_for_a_slot_reports_the_queue_and_can_be_stopped(tmp_path):
    holder = SlotQueue(tmp_path, "holder")
    assert holder.try_slot(1) == 0
    cancel, seen, got = threading.Event(), [], []
    waiter = SlotQueue(tmp_path, "waiter")
    thread = threading.Thread(target=lambda: got.append(waiter.wait(1, cancel, seen.append, 0.02)))
    thread.start()
    deadline = time.monotonic() + 10
    while not seen and time.monotonic() < deadline:
        time.sleep(0.01)
    assert seen == [0]  # nobody ahead, no free slot
    cancel.set()
    thread.join(10)
    assert got == [None]
    holder.release()
    assert SlotQueue(tmp_path, "next").wait(1, threading.Event()) == 0


# --------------------------------------------------------------------------- following


def _live_meta(run_dir: Path, pid: int | None = None) -> None:
    meta = {"run_id": run_dir.name, "mode": "train", "pid": pid or os.getpid(),
            "host": this_host(), "status": "running", "heartbeat": time.time()}  # fmt: skip
    write_json_atomic(run_dir / "run.json", meta)


def test_a_follower_reads_complete_lines_then_follows_to_the_end(tmp_path):
    _live_meta(tmp_path)
    recorder = RunRecorder(tmp_path)
    recorder(RunStarted(run_id="r", mode="train", device="CPU"))
    recorder(EpochEnded(run_id="r", epoch=1, epochs=3, metrics={"loss": 1.0}))
    with open(tmp_path / "events.jsonl", "a") as handle:
        handle.write('{"type":"epoch_en')  # a line still being written
    follower = EventFollower(tmp_path, poll=0.01)
    assert [e.type for e in follower.read_available()] == ["run_started", "epoch_ended"]
    got: list = []
    thread = threading.Thread(target=lambda: got.extend(follower.follow()))
    thread.start()
    with open(tmp_path / "events.jsonl", "a") as handle:
        handle.write('ded","epoch":2,"epochs":3,"metrics":{"loss":0.5}}\n')
        handle.write('{"type":"some_future_event"}\n')  # skipped, never fatal
    recorder(LogEvent(run_id="r", message="hello"))
    recorder(RunFinished(run_id="r", status="completed", summary={"mode": "train"}))
    thread.join(10)
    assert [e.type for e in got] == ["epoch_ended", "log", "run_finished"]
    assert got[0].epoch == 2 and follower.finished is got[-1]


def test_a_follower_ends_an_interrupted_run_and_can_be_closed(tmp_path):
    dead = tmp_path / "dead"
    dead.mkdir()
    _live_meta(dead, _dead_pid())
    recorder = RunRecorder(dead)
    recorder(RunStarted(run_id="r", mode="train", device="CPU"))
    recorder(EpochEnded(run_id="r", epoch=1, epochs=3, metrics={"loss": 1.0}))
    events = list(EventFollower(dead, poll=0.01).follow())
    end = events[-1]
    assert [e.type for e in events] == ["run_started", "epoch_ended", "run_finished"]
    assert end.status == "interrupted" and end.summary["epochs_completed"] == 1
    assert "ended without recording how the run finished" in end.message
    assert runs.read_summary(dead) is None  # a follower never records an end
    assert RunProgress().extend(events).status == "interrupted"

    live = tmp_path / "live"
    live.mkdir()
    _live_meta(live)
    follower = EventFollower(live, poll=0.01)
    threading.Timer(0.2, follower.close).start()
    assert list(follower.follow()) == [] and follower.finished is None


# --------------------------------------------------------------------------- finding, stopping


def test_find_a_run_by_folder_id_or_part_of_it(tmp_path, tiny_spec):
    root = tmp_path / "runs"
    first = create_run_dir(root, tiny_spec)
    second = create_run_dir(root, tiny_spec)
    assert find_run(str(first), root) == first
    assert find_run(first.name, root) == first
    assert find_run(second.name[-4:], root) == second  # its random part
    with pytest.raises(NnxError, match="2 runs match"):
        find_run("tiny", root)
    with pytest.raises(NnxError, match="no such run"):
        find_run("nothing-like-it", root)


STUBBORN = """\
import signal, sys, time
def stop(signum, frame):
    print("asked to stop", flush=True)
    sys.exit(130)
signal.signal(signal.SIGINT, stop)
print("ready", flush=True)
time.sleep(60)
"""


def _worker_like(run_dir: Path) -> subprocess.Popen[str]:
    child = subprocess.Popen(
        [sys.executable, "-c", STUBBORN],
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    assert child.stdout is not None and child.stdout.readline() == "ready\n"
    meta = {"run_id": run_dir.name, "mode": "train", "pid": child.pid, "host": this_host(),
            "proc_start": runs.process_start(child.pid), "status": "running",
            "heartbeat": time.time(), "detached": True, "started": time.time()}  # fmt: skip
    write_json_atomic(run_dir / "run.json", meta)
    return child


def test_stop_and_kill_a_live_run_from_another_process(tmp_path):
    stopped = tmp_path / "stopped"
    stopped.mkdir()
    child = _worker_like(stopped)
    outcome = request_stop(stopped)
    assert outcome.asked and outcome.status == "running"
    assert child.wait(10) == 130  # SIGINT: it stops itself, after its current batch
    assert runs.read_request(stopped) == "stop"

    killed = tmp_path / "killed"
    killed.mkdir()
    child = _worker_like(killed)
    RunRecorder(killed)(EpochEnded(run_id="k", epoch=1, epochs=9, metrics={"loss": 1.0}))
    assert request_stop(killed, kill=True).asked
    assert child.wait(10) == -signal.SIGKILL
    summary = runs.read_summary(killed)
    assert summary["status"] == "failed" and summary["epochs_completed"] == 1
    assert "killed" in summary["message"]
    assert runs.run_status(killed) == "failed"
    again = request_stop(killed)  # an ended run is left alone
    assert not again.asked and again.status == "failed"


def test_a_run_on_another_host_is_asked_through_its_folder(tmp_path):
    meta = {"run_id": "r", "pid": 12345, "host": "another-host", "status": "running",
            "heartbeat": time.time(), "heartbeat_interval": 5.0}  # fmt: skip
    write_json_atomic(tmp_path / "run.json", meta)
    assert request_stop(tmp_path, kill=True).asked
    assert runs.read_request(tmp_path) == "kill"
    assert runs.read_summary(tmp_path) is None  # its own heartbeat thread records the kill


# --------------------------------------------------------------------------- GPU code on the CPU


class _FakeTensorFlow:
    """Just enough of ``tensorflow`` to take the GPU branches of core.devices on a CPU."""

    def __init__(self, names: list[str]) -> None:
        from types import SimpleNamespace

        devices = [SimpleNamespace(name=f"/physical_device:GPU:{i}") for i in range(len(names))]
        details = {d.name: {"device_name": n, "compute_capability": (9, 0)} for d, n in
                   zip(devices, names, strict=True)}  # fmt: skip
        self.grown: list[str] = []
        experimental = SimpleNamespace(
            get_device_details=lambda d: details[d.name],
            get_memory_growth=lambda d: d.name in self.grown,
            set_memory_growth=lambda d, on: self.grown.append(d.name),
        )
        self.config = SimpleNamespace(
            list_physical_devices=lambda kind: devices if kind == "GPU" else [],
            experimental=experimental,
        )
        self.test = SimpleNamespace(is_built_with_cuda=lambda: True)


def test_gpu_device_label_memory_growth_and_listing_on_a_cpu(fake_smi, monkeypatch, capsys):
    from nnexplorer.cli import server
    from nnexplorer.core import devices

    fake = _FakeTensorFlow(["NVIDIA H200"])
    monkeypatch.setenv("PATH", f"{Path(fake_smi).parent}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "1")  # a run pinned to the second GPU
    monkeypatch.setenv("NNEXPLORER_GPU", "1")
    monkeypatch.delenv(gpus.SLOTS_ENV, raising=False)
    monkeypatch.setattr(devices, "import_tensorflow", lambda: fake)
    monkeypatch.setattr(devices, "_DEVICE_LABEL", None)
    monkeypatch.setattr(devices, "describe_devices", lambda: {"device": "NVIDIA H200"})
    monkeypatch.setattr(devices, "versions", lambda: {"tensorflow": "2.x"})
    assert devices.configure_devices() == "NVIDIA H200 (GPU 1)"
    assert fake.grown == ["/physical_device:GPU:0"]  # memory growth on, before first use
    listed = devices.list_devices()
    assert listed["gpus"] == [
        {
            "device": "/physical_device:GPU:0",
            "name": "NVIDIA H200",
            "compute_capability": "9.0",
            "memory_mib": 143771,
            "cuda_id": "1",
        }
    ]
    monkeypatch.setattr(devices, "list_devices", lambda: listed)
    args = type("Args", (), {"json": False})()
    assert server.cmd_devices(args) == 0
    out = capsys.readouterr().out
    assert "GPU 1: NVIDIA H200, 140.4 GiB, compute 9.0" in out
    assert "1 slot (slot 1 -> GPU 1)" in out
