"""Real runs under real faults: a reader that goes away, a full disk, a cause hidden by
TensorFlow, a resume whose data changed, journal records from elsewhere, a killed search.

Every test trains tiny networks (iris, a few units, a few epochs).
"""

from __future__ import annotations

import csv
import errno
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from nnexplorer import cli
from nnexplorer.core import files, runs
from nnexplorer.core.errors import RecordError, ResumeError
from nnexplorer.core.events import CandidateFinished, LogEvent, RunFinished, from_json
from nnexplorer.core.spec import load_preset, validate_spec

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[1]

TINY = """\
[experiment]
name = "tiny"
seed = 1
[data]
source = "{source}"
test_size = 0.3
[[layers]]
units = 4
[compile]
learning_rate = 0.02
[fit]
epochs = {epochs}
batch_size = 32
"""


def _env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(TF_CPP_MIN_LOG_LEVEL="3", NNEXPLORER_THREADS="1", NO_COLOR="1", PYTHONPATH=str(ROOT))
    env.update(extra)
    return env


def _preset(tmp_path: Path, source: str = "sklearn:iris", epochs: int = 3, extra: str = "") -> Path:
    path = tmp_path / "tiny.toml"
    path.write_text(TINY.format(source=source, epochs=epochs) + extra, encoding="utf-8")
    return path


def _only_run(root: Path) -> Path:
    (run_dir,) = [p for p in root.iterdir() if p.is_dir()]
    return run_dir


# --------------------------------------------------------------------------- the reader goes away


@pytest.mark.parametrize("as_json", [False, True])
def test_run_piped_into_head_finishes_and_is_recorded(tmp_path, as_json):
    runs_dir = tmp_path / "runs"
    args = ["run", str(_preset(tmp_path, epochs=4)), "--runs", str(runs_dir)]
    proc = subprocess.Popen(
        [sys.executable, "-m", "nnexplorer", *args, *(["--json"] if as_json else [])],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(),
    )
    assert proc.stdout is not None and proc.stderr is not None
    first = proc.stdout.readline()  # `| head -1`: one line, then the reader is gone
    proc.stdout.close()
    err = proc.stderr.read()
    assert proc.wait(timeout=240) == 0, err[-3000:]
    assert first.strip()
    summary = runs.read_summary(_only_run(runs_dir))
    assert summary is not None and summary["status"] == "completed"
    assert summary["epochs_completed"] == 4
    for noise in ("Traceback", "Broken pipe", "BrokenPipeError", "Exception ignored"):
        assert noise not in err  # quiet: a closed pipe is no error


# --------------------------------------------------------------------------- a full disk


def _can_mount_tmpfs() -> bool:
    if shutil.which("unshare") is None:
        return False
    probe = subprocess.run(
        ["unshare", "-rm", "sh", "-c", "mount -t tmpfs -o size=64k tmpfs /tmp"],
        capture_output=True,
        check=False,
    )
    return probe.returncode == 0


@pytest.mark.skipif(not _can_mount_tmpfs(), reason="needs unshare and a tmpfs mount")
def test_a_full_tmpfs_stops_the_run_with_one_error_and_records_it_failed(tmp_path):
    disk = tmp_path / "small-disk"
    disk.mkdir()
    preset = _preset(tmp_path, epochs=2000)
    python = f"{sys.executable} -m nnexplorer run {preset} --runs {disk}"
    script = f"mount -t tmpfs -o size=84k tmpfs {disk} && {python}; echo rc=$?; ls -a {disk}/*"
    script += f"; cat {disk}/*/summary.json"
    done = subprocess.run(
        ["unshare", "-rm", "sh", "-c", script],
        capture_output=True,
        text=True,
        timeout=600,
        env=_env(),
        check=False,
    )
    out = done.stdout
    assert "rc=1" in out, done.stderr[-3000:]
    lines = [line for line in done.stderr.splitlines() if line.startswith("nnexplorer: error:")]
    assert len(lines) == 1
    assert lines[0].startswith(f"nnexplorer: error: no space left on {disk}/")
    assert "Traceback" not in done.stderr
    listing = out[out.index("rc=1") :]
    assert "model.keras" not in listing  # nothing half-written
    assert ".tmp" not in listing and ".reserve" not in listing
    summary = json.loads(listing[listing.index("{") :])
    assert summary["status"] == "failed" and summary["message"].startswith("no space left on")
    assert 0 < summary["epochs_completed"] < 2000


def test_a_write_failing_mid_run_fails_it_and_keeps_the_model_unreplaced(
    tiny_spec, tmp_path, monkeypatch
):
    from nnexplorer.core.training import train

    run_dir = runs.create_run_dir(tmp_path / "runs", tiny_spec)
    (run_dir / "model.keras").write_bytes(b"an earlier good model")
    real = files.AppendFile.write
    epochs_seen = []

    def fill_after_one_epoch(self, text):
        if self.path.name == "history.csv":
            epochs_seen.append(text)
            if len(epochs_seen) > 1:  # epoch 1's row is written; then the disk is full
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real(self, text)

    monkeypatch.setattr(files.AppendFile, "write", fill_after_one_epoch)
    events: list = []
    result = train(tiny_spec, run_dir, events.append)
    assert result.status == "failed" and result.exit_code == 1
    assert isinstance(result.error, RecordError)
    assert result.message == f"no space left on {run_dir} (writing history.csv)"
    assert isinstance(events[-1], RunFinished) and events[-1].status == "failed"
    summary = runs.read_summary(run_dir)
    assert summary is not None and summary["status"] == "failed"
    assert summary["message"] == result.message
    assert (run_dir / "model.keras").read_bytes() == b"an earlier good model"
    assert [r["epoch"] for r in runs.read_history(run_dir / "history.csv")] == [1]


# --------------------------------------------------------------------------- the real cause


def test_an_error_inside_tensorflow_states_its_cause(tiny_spec, tmp_path, monkeypatch):
    from nnexplorer.core import building
    from nnexplorer.core.training import train

    real = building.prepare_targets
    monkeypatch.setattr(building, "prepare_targets", lambda y, *a: real(y, *a) + 40)
    run_dir = runs.create_run_dir(tmp_path / "runs", tiny_spec)
    result = train(tiny_spec, run_dir, None)
    assert result.status == "failed"
    assert "Graph execution error" not in result.message
    assert result.message.startswith("InvalidArgumentError: Received a label value of 4")
    assert "outside the valid range of [0, 3)" in result.message


# --------------------------------------------------------------------------- resume


def _iris_csv(path: Path) -> None:
    from sklearn.datasets import load_iris

    data = load_iris()
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow([*data.feature_names, "species"])
        for row, target in zip(data.data, data.target, strict=True):
            writer.writerow([*row, int(target)])


GRID = """
[grid]
cv = 2
n_jobs = 1
[grid.params]
optimizer__learning_rate = [0.01, 0.05]
"""


def _grid(tmp_path: Path) -> tuple[Path, object]:
    _iris_csv(tmp_path / "iris.csv")
    preset = _preset(tmp_path, source="file:iris.csv", epochs=2, extra=GRID)
    return preset, load_preset(preset)


def _interrupted(spec, run_dir: Path) -> None:
    from nnexplorer.core.search import grid_search

    cancel = threading.Event()

    def emit(event):
        if isinstance(event, CandidateFinished) and event.fold is not None:
            cancel.set()

    assert grid_search(spec, run_dir, emit, cancel).status == "cancelled"


def _records(run_dir: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in run_dir.iterdir() if p.is_file()}


def test_a_resume_whose_data_changed_is_refused_and_changes_nothing(tmp_path, capsys):
    preset, spec = _grid(tmp_path)
    run_dir = runs.create_run_dir(tmp_path / "runs", spec, "grid")
    _interrupted(spec, run_dir)
    assert (run_dir / "fingerprint.json").is_file()
    lines = (tmp_path / "iris.csv").read_text().splitlines()
    cells = lines[5].split(",")
    cells[0] = f"{float(cells[0]) + 0.5:g}"  # one measurement corrected: other data
    lines[5] = ",".join(cells)
    (tmp_path / "iris.csv").write_text("\n".join(lines) + "\n")
    before = _records(run_dir)

    from nnexplorer.core.search import grid_search

    shown: list = []
    result = grid_search(spec, run_dir, shown.append, resume=True)
    assert result.status == "failed" and result.exit_code == 2
    assert isinstance(result.error, ResumeError)
    assert "the data changed since this search started" in result.message
    assert isinstance(shown[-1], RunFinished)  # the display is told; the records are not
    assert _records(run_dir) == before

    argv = ["run", str(preset), "--grid", "--resume", str(run_dir)]
    assert cli.main(argv) == 2
    errors = [x for x in capsys.readouterr().err.splitlines() if "error:" in x]
    assert len(errors) == 1
    assert errors[0].startswith(f"nnexplorer: error: {run_dir}: the data changed")
    assert _records(run_dir) == before


def test_journal_records_from_elsewhere_are_ignored_and_never_counted(tmp_path):
    _, spec = _grid(tmp_path)
    run_dir = runs.create_run_dir(tmp_path / "runs", spec, "grid")
    _interrupted(spec, run_dir)
    journal = run_dir / "fits.jsonl"
    kept = [json.loads(line) for line in journal.read_text().splitlines()]
    assert kept
    foreign = [
        {**kept[0], "candidate": 7, "key": "c" * 16},  # no such candidate
        {**kept[0], "fold": 5, "key": "f" * 16},  # no such fold
        {**kept[0], "params": {"optimizer__learning_rate": 0.3}, "key": "a" * 16},
    ]
    with open(journal, "a") as handle:
        handle.writelines(json.dumps(record) + "\n" for record in foreign)

    from nnexplorer.core.search import grid_search

    events: list = []
    result = grid_search(spec, run_dir, events.append, resume=True)
    assert result.status == "completed", result.message
    assert result.summary["fits_reused"] == len(kept)
    warnings = [e.message for e in events if isinstance(e, LogEvent) and e.level == "warning"]
    assert any(w.startswith("ignored 3 journal records not of this grid") for w in warnings)
    aside = (run_dir / "fits.ignored.jsonl").read_text().splitlines()
    assert len(aside) == 3 and all("ignored_because" in json.loads(x) for x in aside)
    records = [json.loads(line) for line in journal.read_text().splitlines()]
    assert len(records) == 4 and {r["candidate"] for r in records} == {0, 1}
    rows = list(csv.DictReader((run_dir / "grid.csv").read_text().splitlines()))
    assert len(rows) == 2 and all(r["folds"] == "2" for r in rows)


def test_settings_that_do_not_change_results_may_differ_on_resume(tmp_path):
    from nnexplorer.cli.headless import resume_dir as _resume_dir
    from nnexplorer.core.search._identity import preset_fingerprint

    spec = load_preset("digits", ["grid.n_jobs=4"])
    run_dir = runs.create_run_dir(tmp_path / "runs", spec, "grid")
    fewer = load_preset("digits", ["grid.n_jobs=1", "experiment.name=renamed"])
    assert _resume_dir(str(run_dir), fewer) == run_dir
    assert preset_fingerprint(fewer) == preset_fingerprint(spec)
    other = load_preset("digits", ["fit.epochs=3"])
    assert preset_fingerprint(other) != preset_fingerprint(spec)
    with pytest.raises(Exception, match="different experiment"):
        _resume_dir(str(run_dir), other)


# --------------------------------------------------------------------------- killed searches


def _children(parent: int) -> set[int]:
    found = set()
    for stat_file in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat_file.read_text().split(")")[-1].split()
        except OSError:
            continue
        if int(fields[1]) == parent:
            found.add(int(stat_file.parent.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_no_grid_worker_outlives_a_killed_search(tmp_path):
    data = {
        "experiment": {"name": "orphans", "seed": 1},
        "data": {"source": "sklearn:iris"},
        "layers": [{"units": 4}],
        "fit": {"epochs": 3000, "batch_size": 8},
        "grid": {"cv": 2, "n_jobs": 2, "params": {"optimizer__learning_rate": [0.01, 0.02]}},
    }
    spec = validate_spec(data)
    preset = tmp_path / "grid.toml"
    from nnexplorer.core.spec import save_preset

    save_preset(spec, preset)
    runs_dir = tmp_path / "runs"
    command = ["run", str(preset), "--grid", "--json", "--runs", str(runs_dir)]
    proc = subprocess.Popen(
        [sys.executable, "-m", "nnexplorer", *command],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=_env(),
        start_new_session=True,
    )
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            if from_json(line).type == "candidate_started":  # a fit began in a worker
                break
        begun = {
            json.loads(path.read_text().splitlines()[0])["pid"]
            for path in (_only_run(runs_dir) / "fits").glob("*.jsonl")
        }
        workers = _children(proc.pid)  # the pool's workers (and loky's helper process)
        assert begun and begun <= workers and proc.pid not in workers
        assert all(_alive(pid) for pid in workers)
        proc.send_signal(signal.SIGKILL)  # no way out for the search itself
        proc.wait(timeout=30)
        deadline = time.monotonic() + 20
        while any(_alive(pid) for pid in workers) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not any(_alive(pid) for pid in workers)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
