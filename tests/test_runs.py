"""Run directories and their records (no TensorFlow)."""

from __future__ import annotations

import json
import math
import os
import re
import time
from pathlib import Path

import pytest

from nnexplorer.core import runs
from nnexplorer.core.errors import RunError
from nnexplorer.core.events import EpochEnded, LogEvent, RunFinished, RunStarted
from nnexplorer.core.runs import _records as run_files
from nnexplorer.core.spec import spec_from_toml, validate_spec

NAME_RE = re.compile(r"^\d{8}-\d{6}-[a-z0-9-]+-[0-9a-f]{4}$")


def test_runs_root_order(tmp_path, monkeypatch):
    monkeypatch.setenv("NNEXPLORER_RUNS", str(tmp_path / "env"))
    assert runs.runs_root(tmp_path / "x") == tmp_path / "x"
    assert runs.runs_root() == tmp_path / "env"
    monkeypatch.delenv("NNEXPLORER_RUNS")
    assert runs.runs_root() == Path("runs")


def test_create_run_dir_name_and_preset(tmp_path, tiny_spec):
    run_dir = runs.create_run_dir(tmp_path, tiny_spec, "train")
    assert run_dir.parent == tmp_path
    assert NAME_RE.match(run_dir.name)
    assert "-tiny-" in run_dir.name
    assert spec_from_toml((run_dir / "preset.toml").read_text()) == tiny_spec
    meta = json.loads((run_dir / "run.json").read_text())
    assert meta["mode"] == "train" and meta["run_id"] == run_dir.name


@pytest.mark.parametrize(
    ("name", "slug"),
    [
        ("../../etc/passwd", "etc-passwd"),
        ("Digits MLP (v2)!", "digits-mlp-v2"),
        ("/", "run"),
        ("Ünïcode___name", "n-code-name"),
        ("a" * 80, "a" * 40),
    ],
)
def test_slug_is_sanitised(tmp_path, tiny_spec_data, name, slug):
    tiny_spec_data["experiment"]["name"] = name
    spec = validate_spec(tiny_spec_data)
    run_dir = runs.create_run_dir(tmp_path, spec)
    assert run_dir.parent == tmp_path
    assert run_dir.name.split("-", 2)[2].rsplit("-", 1)[0] == slug
    assert NAME_RE.match(run_dir.name)


def test_many_runs_in_one_second_never_collide(tmp_path, tiny_spec, monkeypatch):
    # a fixed clock and a tiny hex space force collisions: every directory must still be new
    monkeypatch.setattr(run_files.time, "strftime", lambda fmt: "20240101-120000")
    values = iter(["aaaa", "aaaa", "bbbb", "aaaa", "bbbb", "cccc"])
    monkeypatch.setattr(run_files.secrets, "token_hex", lambda n: next(values))
    made = [runs.create_run_dir(tmp_path, tiny_spec) for _ in range(3)]
    assert [p.name[-4:] for p in made] == ["aaaa", "bbbb", "cccc"]


def test_real_clock_many_runs(tmp_path, tiny_spec):
    made = {runs.create_run_dir(tmp_path, tiny_spec) for _ in range(50)}
    assert len(made) == 50


def test_bad_mode(tmp_path, tiny_spec):
    with pytest.raises(RunError):
        runs.create_run_dir(tmp_path, tiny_spec, "dance")


def test_relative_file_source_made_absolute(tmp_path, tiny_spec_data, monkeypatch):
    monkeypatch.chdir(tmp_path)
    tiny_spec_data["data"] = {"source": "file:data/x.csv", "target": "y"}
    run_dir = runs.create_run_dir(tmp_path / "r", validate_spec(tiny_spec_data))
    spec = spec_from_toml((run_dir / "preset.toml").read_text())
    assert spec.data.source == f"file:{tmp_path.resolve() / 'data' / 'x.csv'}"


def _epoch(n: int, **extra) -> EpochEnded:
    metrics = {"loss": 1.0 / n, "accuracy": 0.5 + n / 100, "val_loss": 1.5 / n}
    return EpochEnded(run_id="r", epoch=n, epochs=3, metrics=metrics, seconds=0.1, **extra)


def test_recorder_writes_events_history_summary(tmp_path):
    rec = runs.RunRecorder(tmp_path)
    rec(RunStarted(run_id="r", mode="train"))
    rec(_epoch(1))
    rec(_epoch(2))
    # events are on disk before the run finishes
    assert len((tmp_path / "events.jsonl").read_text().splitlines()) == 3
    header = (tmp_path / "history.csv").read_text().splitlines()[0]
    assert header == "epoch,loss,accuracy,val_loss"
    rec(RunFinished(run_id="r", status="completed", summary={"mode": "train", "x": math.nan}))
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["status"] == "completed" and summary["x"] == "nan"
    assert not list(tmp_path.glob(".*tmp"))
    rows = runs.read_history(tmp_path / "history.csv")
    assert [r["epoch"] for r in rows] == [1, 2]
    assert rows[1]["loss"] == pytest.approx(0.5)
    rec.close()


def test_history_grid_columns_and_new_metrics(tmp_path):
    rec = runs.RunRecorder(tmp_path)
    rec(_epoch(1, candidate=0, fold=0))
    rec(EpochEnded(epoch=1, metrics={"loss": 0.3, "mae": 0.2}, candidate=1, fold=2))
    lines = (tmp_path / "history.csv").read_text().splitlines()
    assert lines[0] == "epoch,candidate,fold,loss,accuracy,val_loss,mae"
    rows = runs.read_history(tmp_path / "history.csv")
    assert rows[0]["mae"] is None and rows[1]["mae"] == pytest.approx(0.2)
    assert rows[1]["accuracy"] is None and rows[1]["fold"] == 2
    # a new recorder on the same folder (a resumed run) keeps appending under the same header
    rec.close()
    rec2 = runs.RunRecorder(tmp_path)
    rec2(_epoch(2, candidate=1, fold=2))
    assert len(runs.read_history(tmp_path / "history.csv")) == 3
    rec2.close()


def test_truncated_files_stay_readable(tmp_path):
    rec = runs.RunRecorder(tmp_path)
    rec(RunStarted(run_id="r"))
    rec(_epoch(1))
    rec(_epoch(2))
    rec.close()
    # simulate a kill in the middle of a write
    with open(tmp_path / "events.jsonl", "a") as f:
        f.write('{"type":"epoch_ended","epo')
    with open(tmp_path / "history.csv", "a") as f:
        f.write("3,0.3")
    events = runs.read_events(tmp_path / "events.jsonl")
    assert [e.type for e in events] == ["run_started", "epoch_ended", "epoch_ended"]
    assert [r["epoch"] for r in runs.read_history(tmp_path / "history.csv")] == [1, 2]


def test_list_and_load_runs(tmp_path, tiny_spec):
    first = runs.create_run_dir(tmp_path, tiny_spec, "train")
    rec = runs.RunRecorder(first)
    rec(RunStarted(run_id=first.name))
    rec(_epoch(1))
    rec(RunFinished(status="completed", summary={"mode": "train", "epochs_completed": 1}))
    rec.close()
    time.sleep(0.01)
    second = runs.create_run_dir(tmp_path, tiny_spec, "grid")
    runs.RunRecorder(second)(LogEvent(message="hello"))
    (tmp_path / "not-a-run").mkdir()
    (tmp_path / "stray.txt").write_text("x")

    infos = runs.list_runs(tmp_path)
    assert [i.run_dir for i in infos] == [second, first]
    assert infos[0].status == "unfinished" and infos[0].summary is None
    assert infos[0].mode == "grid" and infos[0].name == "tiny"
    assert infos[1].status == "completed" and infos[1].summary["epochs_completed"] == 1
    assert infos[1].started is not None

    record = runs.load_run(first)
    assert record.spec == tiny_spec
    assert [e.type for e in record.events] == ["run_started", "epoch_ended", "run_finished"]
    assert record.history[0]["epoch"] == 1
    assert record.summary["status"] == "completed"
    assert runs.list_runs(tmp_path / "missing") == []


def test_load_run_errors(tmp_path):
    with pytest.raises(RunError):
        runs.load_run(tmp_path / "nope")
    (tmp_path / "preset.toml").write_text("[fit]\nepochs = -1\n")
    with pytest.raises(RunError, match="no longer valid"):
        runs.load_run(tmp_path)


def test_atomic_summary_survives_failed_write(tmp_path, monkeypatch):
    runs.write_json_atomic(tmp_path / "summary.json", {"status": "completed"})

    def boom(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(run_files.os, "replace", boom)
    with pytest.raises(OSError):
        runs.write_json_atomic(tmp_path / "summary.json", {"status": "failed"})
    assert json.loads((tmp_path / "summary.json").read_text()) == {"status": "completed"}
    assert os.listdir(tmp_path) == ["summary.json"]


def test_stderr_tail(tmp_path):
    assert runs.stderr_tail(tmp_path) == ""
    (tmp_path / "stderr.log").write_text("\n".join(f"line {i}" for i in range(100)) + "\n")
    tail = runs.stderr_tail(tmp_path, max_lines=3)
    assert tail == "line 97\nline 98\nline 99"
