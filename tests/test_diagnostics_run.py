"""Diagnostics in real (tiny) training runs: events, records, penalty, evaluation, cost switch."""

from __future__ import annotations

import json

import numpy as np
import pytest

from nnexplorer.core import datasets, runs
from nnexplorer.core.diagnostics import read_boundary, read_layer_stats, read_misclassified
from nnexplorer.core.events import DecisionBoundary, EpochEnded, LayerStats
from nnexplorer.core.spec import validate_spec
from nnexplorer.core.training import train

pytestmark = pytest.mark.slow


def _moons(diagnostics: bool = True) -> dict:
    return {
        "experiment": {"name": "moons", "seed": 3},
        "data": {"source": "synthetic:moons", "n_samples": 200, "noise": 0.2},
        "layers": [
            {"units": 8, "activation": "tanh", "kernel_regularizer": {"l2": 0.01}},
            {"units": 8, "activation": "relu"},
        ],
        "compile": {"learning_rate": 0.05},
        "fit": {"epochs": 3, "batch_size": 32, "diagnostics": diagnostics},
    }


def _train(data: dict, tmp_path, name: str):
    spec = validate_spec(data)
    events: list = []
    run_dir = runs.create_run_dir(tmp_path / name, spec)
    result = train(spec, run_dir, events.append)
    assert result.status == "completed", result.message
    return spec, result, events


def test_two_feature_run_records_everything(tmp_path):
    spec, result, events = _train(_moons(), tmp_path, "on")
    run_dir = result.run_dir
    epochs = [e for e in events if isinstance(e, EpochEnded)]
    stats = [e for e in events if isinstance(e, LayerStats)]
    assert [s.epoch for s in stats] == [1, 2, 3]
    assert [layer["name"] for layer in stats[0].layers] == ["hidden_1", "hidden_2", "output"]
    first = stats[-1].layers[0]
    assert first["regularizer"] == "l2=0.01" and first["saturated_fraction"] is not None
    assert stats[-1].layers[1]["dead_fraction"] is not None
    assert all(layer["grad_norm"] > 0 for layer in stats[-1].layers)
    # every epoch carries the penalty; the layer statistics come right after their epoch
    assert all(e.metrics["penalty"] > 0 for e in epochs)
    order = [e.type for e in events]
    assert order.index("epoch_ended") < order.index("layer_stats")
    assert [s.epoch for s in read_layer_stats(run_dir)] == [1, 2, 3]
    assert "penalty" in runs.read_history(run_dir / "history.csv")[0]

    boundaries = [e for e in events if isinstance(e, DecisionBoundary)]
    assert [(b.epoch, b.final) for b in boundaries] == [(1, 0), (2, 0), (3, 0), (3, 1)]
    last = boundaries[-1]
    assert len(last.grid) >= 10 and all(len(row) == len(last.grid) for row in last.grid)
    assert {v for row in last.grid for v in row} <= {0, 1} and last.classes == ["0", "1"]
    # the points and the ranges are in the features' own units, not the standardised ones
    raw = datasets.load_dataset(spec.data, spec.experiment.seed)
    raw_rows = {(float(f"{a:.5g}"), float(f"{b:.5g}")) for a, b in raw.x_train}
    assert all((x, y) in raw_rows for x, y, _ in last.points)
    assert last.x_range[0] < raw.x_train[:, 0].min() < raw.x_train[:, 0].max() < last.x_range[1]
    assert last.y_range[0] < raw.x_train[:, 1].min() < raw.x_train[:, 1].max() < last.y_range[1]
    recorded = read_boundary(run_dir)
    assert recorded is not None and recorded.final and recorded.grid == last.grid

    summary = json.loads((run_dir / "summary.json").read_text())
    matrix = summary["confusion_matrix"]
    assert summary["classes"] == ["0", "1"] and sum(map(sum, matrix)) == len(raw.x_test)
    assert [row["support"] for row in summary["per_class"]] == [sum(row) for row in matrix]
    correct = matrix[0][0] + matrix[1][1]
    assert correct / len(raw.x_test) == pytest.approx(summary["test_metrics"]["accuracy"])
    missed = read_misclassified(run_dir)
    assert missed is not None and missed["count"] == summary["misclassified"]
    assert missed["image_shape"] is None


def test_diagnostics_off_changes_no_number(tmp_path):
    _, on, events_on = _train(_moons(True), tmp_path, "on")
    _, off, events_off = _train(_moons(False), tmp_path, "off")
    assert not [e for e in events_off if isinstance(e, LayerStats | DecisionBoundary)]
    assert not (off.run_dir / "layer_stats.jsonl").exists()
    assert not (off.run_dir / "boundary.json").exists()
    # the penalty and the evaluation do not depend on the switch, and the probe changes nothing
    metrics_on = [e.metrics for e in events_on if isinstance(e, EpochEnded)]
    metrics_off = [e.metrics for e in events_off if isinstance(e, EpochEnded)]
    assert metrics_on == metrics_off
    assert on.summary["confusion_matrix"] == off.summary["confusion_matrix"]


def test_image_run_keeps_raw_pixels_of_its_mistakes(tmp_path):
    data = {
        "experiment": {"name": "digits", "seed": 2},
        "data": {"source": "sklearn:digits", "max_samples": 300},
        "layers": [{"units": 8, "activation": "relu"}],
        "fit": {"epochs": 1, "batch_size": 64},
    }
    spec, result, events = _train(data, tmp_path, "digits")
    assert "penalty" not in next(e for e in events if isinstance(e, EpochEnded)).metrics
    assert not [e for e in events if isinstance(e, DecisionBoundary)]
    missed = read_misclassified(result.run_dir)
    assert missed is not None and missed["count"] > 0 and missed["image_shape"] == [8, 8]
    assert missed["value_range"] == [0.0, 16.0]
    raw = datasets.load_dataset(spec.data, spec.experiment.seed)
    for row in missed["rows"]:
        assert row["true"] == raw.y_test[row["index"]] != row["predicted"]
        np.testing.assert_array_equal(row["pixels"], raw.x_test[row["index"]])


def test_a_diagnostics_record_that_cannot_be_written_stops_the_run(tmp_path):
    """Only the measuring is guarded: a failing record (a full disk) fails the run at once."""
    data = _moons()
    data["fit"]["epochs"] = 20
    spec = validate_spec(data)
    run_dir = runs.create_run_dir(tmp_path / "blocked", spec)
    (run_dir / runs.LAYER_STATS_FILE).mkdir()  # the file cannot be opened for writing
    events: list = []
    result = train(spec, run_dir, events.append)
    assert result.status == "failed"
    assert "layer_stats.jsonl" in result.message
    assert len([e for e in events if isinstance(e, EpochEnded)]) == 1
    summary = runs.read_summary(run_dir)
    assert summary is not None and summary["status"] == "failed"
