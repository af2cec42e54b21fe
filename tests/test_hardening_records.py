"""Records that survive faults, without TensorFlow: atomic writes, a full disk, locks, damaged
records in the listing.

Each test makes a real fault: a write that fails with ENOSPC, a second process holding a run
folder, files cut short or of the wrong kind. It checks the exit code, the one-line message and
what is on disk afterwards.
"""

from __future__ import annotations

import errno
import json
import os
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from nnexplorer import cli
from nnexplorer.core import files, runs
from nnexplorer.core.errors import RecordError, RunInUse
from nnexplorer.core.events import EpochEnded, LogEvent, RunFinished, RunStarted
from nnexplorer.core.runs import _records
from nnexplorer.core.spec import load_preset


def _no_space(*args, **kwargs):
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


# --------------------------------------------------------------------------- atomic writes


def test_atomic_write_makes_group_readable_files_and_keeps_a_good_one(tmp_path):
    old = os.umask(0o022)
    try:
        files.write_atomic(tmp_path / "summary.json", '{"status": "completed"}\n')
    finally:
        os.umask(old)
    mode = stat.S_IMODE((tmp_path / "summary.json").stat().st_mode)
    assert mode == 0o644  # not mkstemp's 0600: a shared runs folder works
    with pytest.raises(OSError, match="nothing was written"):
        files.write_atomic(tmp_path / "summary.json", "")
    with pytest.raises(OSError), files.atomic_path(tmp_path / "summary.json") as tmp:
        tmp.write_text('{"status": "fai')  # a partial write, then the disk fills
        _no_space()
    assert json.loads((tmp_path / "summary.json").read_text()) == {"status": "completed"}
    assert os.listdir(tmp_path) == ["summary.json"]  # no temporary file left behind


def test_a_run_folders_records_are_readable_by_the_group(tmp_path):
    old = os.umask(0o022)
    try:
        run_dir = runs.create_run_dir(tmp_path, load_preset("digits"), "train")
        rec = runs.RunRecorder(run_dir)
        rec(EpochEnded(run_id="r", epoch=1, epochs=1, metrics={"loss": 0.5}))
        rec(RunFinished(run_id="r", status="completed", summary={"mode": "train"}))
        rec.close()
    finally:
        os.umask(old)
    modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in run_dir.iterdir()}
    assert set(modes) == {"preset.toml", "run.json", "events.jsonl", "history.csv", "summary.json"}
    assert set(modes.values()) == {0o644}


def test_failed_model_save_never_replaces_a_good_model(tmp_path):
    (tmp_path / "model.keras").write_bytes(b"a good model")

    class Empty:
        def save(self, path):
            Path(path).write_bytes(b"")  # Keras "succeeded" but wrote nothing

    class DiskFull:
        def save(self, path):
            Path(path).write_bytes(b"half a mod")
            _no_space()

    class Unsavable:
        def save(self, path):
            raise ValueError("cannot serialise a lambda layer")

    with pytest.raises(RecordError, match="nothing was written"):
        runs.save_model(Empty(), tmp_path)
    with pytest.raises(RecordError) as full:
        runs.save_model(DiskFull(), tmp_path)
    assert str(full.value) == f"no space left on {tmp_path} (writing model.keras)"
    assert full.value.exit_code == 1
    assert (
        runs.save_model(Unsavable(), tmp_path) == "model not saved: cannot serialise a lambda layer"
    )
    assert (tmp_path / "model.keras").read_bytes() == b"a good model"
    assert sorted(os.listdir(tmp_path)) == ["model.keras"]


# --------------------------------------------------------------------------- a full disk


def test_full_disk_stops_recording_with_one_error_and_still_records_the_failure(
    tmp_path, monkeypatch
):
    rec = runs.RunRecorder(tmp_path)
    rec(RunStarted(run_id="r"))
    rec(EpochEnded(run_id="r", epoch=1, epochs=9, metrics={"loss": 0.5}))
    assert (tmp_path / ".reserve").stat().st_size == _records.RESERVE_BYTES
    real_write = files.AppendFile.write

    def fill_up(self, text):
        if self.path.name == "events.jsonl":
            real_write(self, text[:7])  # part of the line reaches the disk, then it is full
            _no_space()
        real_write(self, text)

    monkeypatch.setattr(files.AppendFile, "write", fill_up)
    with pytest.raises(RecordError) as full:
        rec(EpochEnded(run_id="r", epoch=2, epochs=9, metrics={"loss": 0.4}))
    assert str(full.value) == f"no space left on {tmp_path} (writing events.jsonl)"
    rec(LogEvent(run_id="r", message="not written, and no second error"))
    monkeypatch.setattr(files.AppendFile, "write", real_write)  # the reserve frees some space
    failed = {"mode": "train", "epochs_completed": 1, "message": str(full.value)}
    rec(RunFinished(run_id="r", status="failed", summary=failed, message=str(full.value)))
    rec.close()
    summary = runs.read_summary(tmp_path)
    assert summary is not None and summary["status"] == "failed"
    assert summary["message"].startswith("no space left on")
    events = runs.read_events(tmp_path / "events.jsonl")
    assert [e.type for e in events] == ["run_started", "epoch_ended", "run_finished"]
    assert not (tmp_path / ".reserve").exists()
    assert [r["epoch"] for r in runs.read_history(tmp_path / "history.csv")] == [1]


def test_a_line_cut_by_a_full_disk_does_not_swallow_the_next(tmp_path):
    (tmp_path / "events.jsonl").write_text('{"type":"log","message":"ok"}\n{"type":"epoch_en')
    log = files.AppendFile(tmp_path / "events.jsonl")
    log.write('{"type":"log","message":"next"}\n')
    log.close()
    lines = (tmp_path / "events.jsonl").read_text().splitlines()
    assert [json.loads(line)["message"] for line in lines] == ["ok", "next"]


def test_write_errors_name_the_folder_and_the_cause(tmp_path):
    target = tmp_path / "run" / "summary.json"
    full = files.write_failure(OSError(errno.ENOSPC, "No space left on device"), target)
    assert str(full) == f"no space left on {tmp_path / 'run'} (writing summary.json)"
    assert full.exit_code == 1
    read_only = files.write_failure(OSError(errno.EROFS, "Read-only file system"), target)
    assert "read-only file system" in str(read_only) and read_only.exit_code == 2


# --------------------------------------------------------------------------- two writers

LR = "grid.params.optimizer__learning_rate=[0.01]"
HOLDER = textwrap.dedent(
    """
    import sys, time
    from nnexplorer.core.runs import acquire
    acquire(sys.argv[1])
    print("locked", flush=True)
    sys.stdin.readline()
    """
)


@pytest.fixture
def grid_run(tmp_path) -> Path:
    spec = load_preset("digits", [LR])
    run_dir = runs.create_run_dir(tmp_path / "runs", spec, "grid")
    runs.write_json_atomic(run_dir / "summary.json", {"status": "cancelled", "mode": "grid"})
    return run_dir


def _holder(run_dir: Path) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(run_dir)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])},
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "locked"
    return proc


def _snapshot(run_dir: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(run_dir.iterdir()) if p.is_file()}


def test_a_second_writer_is_refused_while_another_process_holds_the_folder(grid_run, capsys):
    holder = _holder(grid_run)
    try:
        before = _snapshot(grid_run)
        # the command line, resuming the same run
        argv = ["run", "digits", "--grid", "--resume", str(grid_run), "--set", LR]
        assert cli.main(argv) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert err == [
            f"nnexplorer: error: {grid_run}: in use by pid {holder.pid} (another run is "
            "writing this folder) (wait for it to finish, or stop it first)"
        ]
        # a worker process started on it (as the explorer does)
        done = subprocess.run(
            [sys.executable, "-m", "nnexplorer.core.worker", str(grid_run), "--grid", "--resume"],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 2
        assert f"in use by pid {holder.pid}" in done.stderr
        assert done.stdout == ""  # no run_finished: the other writer owns the records
        with pytest.raises(RunInUse, match=f"pid {holder.pid}"):
            from nnexplorer.core.runner import start_run

            start_run(load_preset("digits"), mode="grid", resume=grid_run)
        assert _snapshot(grid_run) == before  # nothing written by the refused writers
    finally:
        holder.communicate("\n", timeout=30)
    # the lock goes with its process: the folder is free again
    with runs.run_lock(grid_run):
        assert runs.holds_lock(grid_run)
    assert not runs.holds_lock(grid_run)


def test_the_lock_is_reentrant_in_one_process(tmp_path):
    with runs.run_lock(tmp_path), runs.run_lock(tmp_path):
        assert runs.lock_holder(tmp_path) == os.getpid()
    assert not runs.holds_lock(tmp_path)


def test_a_dead_workers_summary_is_not_written_over_a_live_writer(grid_run):
    from nnexplorer.core.runner import RunHandle

    (grid_run / "summary.json").unlink()
    holder = _holder(grid_run)
    try:
        process = subprocess.Popen(
            [sys.executable, "-c", "raise SystemExit(2)"], stdout=subprocess.PIPE, text=True
        )
        events = list(RunHandle(process, grid_run, "grid").events())
        assert events[-1].status == "failed"
        assert not (grid_run / "summary.json").exists()
    finally:
        holder.communicate("\n", timeout=30)


# --------------------------------------------------------------------------- the listing


def _run(root: Path, name: str, summary: object = None, *, raw: str | None = None) -> Path:
    spec = load_preset("digits")
    run_dir = runs.create_run_dir(root, spec, "train")
    target = run_dir.with_name(name) if name else run_dir
    if name:
        run_dir.rename(target)
    if raw is not None:
        (target / "summary.json").write_text(raw)
    elif summary is not None:
        runs.write_json_atomic(target / "summary.json", summary)  # type: ignore[arg-type]
    return target


def test_damaged_records_are_listed_as_damaged_and_the_others_as_usual(
    tmp_path, capsys, monkeypatch
):
    monkeypatch.setenv("COLUMNS", "400")
    root = tmp_path / "runs"
    good = _run(root, "", {"status": "completed", "mode": "train", "epochs_completed": 3})
    cut = _run(root, "20250101-000001-cut-aaaa", raw='{"status": "comp')
    rescued = _run(root, "20250101-000002-rescued-bbbb", raw='{"status": "comp')
    finished = RunFinished(run_id="r", status="completed", summary={"epochs_completed": 2})
    (rescued / "events.jsonl").write_text(finished.to_json() + "\n")
    typed = _run(
        root, "20250101-000003-typed-cccc", {"status": "completed", "epochs_completed": "3"}
    )
    unknown = _run(root, "20250101-000004-status-dddd", {"status": "exploded"})
    folder = _run(root, "20250101-000005-folder-eeee")
    (folder / "summary.json").mkdir()
    fifo = _run(root, "20250101-000006-fifo-ffff")
    os.mkfifo(fifo / "summary.json")  # reading it would wait forever
    meta = _run(root, "20250101-000007-meta-0000", {"status": "completed"})
    (meta / "run.json").write_text('{"mode": "dance"}')
    preset = _run(root, "20250101-000008-preset-1111", {"status": "completed"})
    (preset / "preset.toml").write_text("[experiment\nname = 'x'")
    bad_date = _run(root, "20251399-996199-date-2222", {"status": "completed"})
    (bad_date / "run.json").unlink()  # the start time comes from the name, which is no date

    infos = {i.run_dir.name: i for i in runs.list_runs(root)}  # the FIFO is never opened
    assert len(infos) == 10
    assert infos[good.name].status == "completed" and not infos[good.name].problem
    assert infos[rescued.name].status == "completed"  # from events.jsonl's run_finished
    assert infos[rescued.name].summary["epochs_completed"] == 2
    assert infos[bad_date.name].status == "completed" and infos[bad_date.name].started is None
    reasons = {
        cut.name: "summary.json: not valid JSON, perhaps cut short",
        typed.name: "summary.json: epochs_completed: got '3' (a string); must be an integer",
        unknown.name: "summary.json: status: got 'exploded'; allowed:",
        folder.name: "summary.json is a directory",
        fifo.name: "summary.json is a FIFO (named pipe)",
        meta.name: "run.json: mode: got 'dance'; allowed:",
        preset.name: "preset.toml: not a readable preset",
    }
    for name, reason in reasons.items():
        assert infos[name].status == "damaged", name
        assert infos[name].problem.startswith(reason), (name, infos[name].problem)

    assert cli.main(["runs", "--runs", str(root)]) == 0
    out = capsys.readouterr().out
    assert good.name in out and "damaged: summary.json: not valid JSON" in out.replace("\n", " ")


def test_unusable_runs_folder_exits_2(tmp_path, capsys):
    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("x")
    assert cli.main(["runs", "--runs", str(not_a_folder)]) == 2
    assert capsys.readouterr().err.strip() == (
        f"nnexplorer: error: runs folder {not_a_folder}: is not a folder"
    )
    assert cli.main(["run", "digits", "--runs", str(not_a_folder / "sub")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and f"runs folder {not_a_folder / 'sub'}" in err[0]
    assert cli.main(["runs", "--runs", str(tmp_path / "nowhere")]) == 0
    assert "the folder does not exist" in " ".join(capsys.readouterr().out.split())
