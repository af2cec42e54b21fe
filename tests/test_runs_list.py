"""``nnexplorer runs``: whole ids one per row at 80 columns and in pipes, JSON, limit, status."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from run_fakes import curve, write_sweep_run, write_train_run

from nnexplorer import cli
from nnexplorer.cli.runs_list import choose_columns, select, wanted_statuses
from nnexplorer.core.runs import list_runs

NAME = "digits-mlp-wide"
BASE = {
    "experiment": {"name": NAME, "seed": 1},
    "data": {"source": "sklearn:iris"},
    "layers": [{"type": "dense", "units": 8}],
    "fit": {"epochs": 4},
}


@pytest.fixture
def root(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "runs"
    folder.mkdir()
    monkeypatch.setenv("NNEXPLORER_RUNS", str(folder))
    write_train_run(
        folder, BASE, curve(4, 1, 0.3), suffix="0001", test={"loss": 0.3, "accuracy": 0.9}
    )
    write_train_run(
        folder,
        BASE,
        curve(2, 1, 9),
        stamp="20250314-092700",
        suffix="0002",
        status="diverged",
        message="the loss became nan",
    )
    write_sweep_run(
        folder,
        BASE,
        [
            {"params": {"units": 4}, "history": curve(4, 1, 0.4), "test": {"accuracy": 0.85}},
            {"params": {"units": 8}, "history": curve(4, 1, 0.2), "test": {"accuracy": 0.95}},
        ],
        stamp="20250314-093000",
        suffix="0003",
    )
    return folder


def _lines(out: str) -> list[str]:
    return [line for line in out.splitlines() if line.strip()]


@pytest.mark.parametrize("width", [80, 60])
def test_every_id_whole_one_run_per_row(root, capsys, monkeypatch, width):
    monkeypatch.setenv("COLUMNS", str(width))
    assert cli.main(["runs"]) == 0
    lines = _lines(capsys.readouterr().out)
    assert lines[0].startswith("3 runs in ")
    header, rows = lines[1], lines[2:]
    assert header.split()[0] == "id" and len(rows) == 3
    ids = [run.run_id for run in list_runs(root)]
    for run_id, row in zip(ids, rows, strict=True):
        assert row.split()[0] == run_id  # whole, and first
    assert all(len(line.rstrip()) <= max(width, len(ids[0]) + 10) for line in rows)
    if width == 80:
        assert "status" in header and "test metrics" in header
        assert "diverged" in rows[1] and "acc 0.95" in rows[0]
    else:
        assert "test metrics" not in header and "status" in header


def test_an_id_wider_than_the_terminal_stays_whole(tmp_path, capsys, monkeypatch):
    long = {**BASE, "experiment": {"name": "a-rather-long-experiment-name-for-servers"}}
    run_dir = write_train_run(tmp_path, long, curve(2, 1, 0.5), suffix="0009")
    monkeypatch.setenv("COLUMNS", "40")
    assert cli.main(["runs", "--runs", str(tmp_path)]) == 0
    rows = _lines(capsys.readouterr().out)[2:]
    assert len(run_dir.name) > 40 and rows[0].split()[0] == run_dir.name
    assert len(rows[0].split()) == 2  # id and status only


def test_wide_terminal_shows_more_columns(root, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    assert cli.main(["runs"]) == 0
    header = _lines(capsys.readouterr().out)[1]
    for title in ("id", "name", "mode", "status", "epochs", "test metrics", "started", "time"):
        assert title in header
    assert "progress" not in header  # no run is live


def test_live_runs_show_their_progress(root):
    runs = list_runs(root)
    live = [replace(runs[0], status="running", progress="epoch 3/20", pid=123), *runs[1:]]
    titles = [c.title for c in choose_columns(live, 120)]
    assert titles[:4] == ["id", "mode", "status", "progress"]
    assert choose_columns(live, 120)[3].cell(live[0]) == "epoch 3/20"


def test_json_lists_every_run(root, capsys):
    assert cli.main(["runs", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [r["id"][-4:] for r in data] == ["0003", "0002", "0001"]
    sweep, diverged, done = data
    for record in data:
        keys = {"id", "dir", "name", "mode", "status", "epochs", "test_metrics", "started", "ended"}
        assert keys <= set(record)
        assert Path(record["dir"]).name == record["id"] and record["name"] == NAME
    assert (sweep["mode"], sweep["status"]) == ("sweep", "completed")
    assert sweep["best_params"] == {"units": 8} and sweep["test_metrics"] == {"accuracy": 0.95}
    assert diverged["status"] == "diverged" and diverged["message"] == "the loss became nan"
    assert done["test_metrics"] == {"loss": 0.3, "accuracy": 0.9} and done["epochs"] == 4
    assert done["started"] == "2025-03-14T09:26:00" and done["ended"] == "2025-03-14T09:26:06"


def test_limit_and_status_filter(root, capsys):
    assert cli.main(["runs", "--json", "--limit", "1"]) == 0
    assert [r["id"][-4:] for r in json.loads(capsys.readouterr().out)] == ["0003"]
    assert cli.main(["runs", "--json", "--status", "diverged"]) == 0
    assert [r["id"][-4:] for r in json.loads(capsys.readouterr().out)] == ["0002"]
    assert cli.main(["runs", "--status", "done,diverged", "--limit", "2"]) == 0
    assert "2 of 3 runs" in capsys.readouterr().out
    assert cli.main(["runs", "--status", "failed"]) == 0
    assert "no runs with that status" in capsys.readouterr().out
    assert cli.main(["runs", "--limit", "0"]) == 2
    assert "whole number >= 1" in capsys.readouterr().err
    assert wanted_statuses(["done, stopped", "failed"]) == {"completed", "cancelled", "failed"}
    assert select(list_runs(root), set(), None) == list_runs(root)
