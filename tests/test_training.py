"""Training runs in-process on tiny data: statuses, records, cancel, divergence, failures."""

from __future__ import annotations

import json
import threading

import numpy as np
import pytest

from nnexplorer.core import runs
from nnexplorer.core.errors import DataError
from nnexplorer.core.events import BatchProgress, EpochEnded, RunFinished, RunStarted, RunSummary
from nnexplorer.core.spec import validate_spec
from nnexplorer.core.training import RunResult, train

pytestmark = pytest.mark.slow


def _run(spec, tmp_path, cancel=None, emit=None) -> tuple[RunResult, list]:
    events: list = []

    def collect(event):
        events.append(event)
        if emit is not None:
            emit(event)

    run_dir = runs.create_run_dir(tmp_path / "runs", spec)
    return train(spec, run_dir, collect, cancel=cancel), events


def test_train_completes_and_records(tiny_spec, tmp_path):
    result, events = _run(tiny_spec, tmp_path)
    assert result.status == "completed" and result.exit_code == 0
    assert set(result.summary) <= RunSummary.__optional_keys__  # every key is documented
    types = [e.type for e in events]
    assert types.index("run_started") < types.index("epoch_ended")
    assert types[-1] == "run_finished" and types.count("epoch_ended") == 2
    started = next(e for e in events if isinstance(e, RunStarted))
    assert started.device == "CPU" and started.n_params == 4 * 8 + 8 + 8 * 3 + 3
    assert {"python", "tensorflow", "keras", "scikit-learn", "nnexplorer"} <= set(started.versions)
    epochs = [e for e in events if isinstance(e, EpochEnded)]
    assert [e.epoch for e in epochs] == [1, 2] and epochs[0].epochs == 2
    assert {"loss", "val_loss", "accuracy", "val_accuracy"} <= set(epochs[0].metrics)
    assert all(e.seconds > 0 for e in epochs)

    summary = result.summary
    assert set(summary["test_metrics"]) == {"loss", "accuracy"}
    assert 0 <= summary["test_metrics"]["accuracy"] <= 1
    assert summary["epochs_completed"] == 2 and summary["mode"] == "train"
    assert summary["wall_seconds"] >= summary["train_seconds"] > 0

    run_dir = result.run_dir
    for name in ("preset.toml", "events.jsonl", "history.csv", "summary.json", "model.keras"):
        assert (run_dir / name).is_file(), name
    assert json.loads((run_dir / "summary.json").read_text())["status"] == "completed"
    record = runs.load_run(run_dir)
    assert [e.type for e in record.events] == types
    assert [row["epoch"] for row in record.history] == [1, 2]
    assert record.history[1]["val_loss"] == pytest.approx(epochs[1].metrics["val_loss"])


def test_same_seed_same_numbers(tiny_spec, tmp_path):
    first, _ = _run(tiny_spec, tmp_path)
    second, _ = _run(tiny_spec, tmp_path)
    assert first.summary["final_metrics"] == second.summary["final_metrics"]
    assert first.summary["test_metrics"] == second.summary["test_metrics"]


def test_diverged_run(tiny_spec_data, tmp_path):
    tiny_spec_data["compile"] = {"optimizer": "sgd", "learning_rate": 100}
    tiny_spec_data["fit"]["epochs"] = 5
    result, events = _run(validate_spec(tiny_spec_data), tmp_path)
    assert result.status == "diverged" and result.exit_code == 1
    assert "learning rate" in result.message and "learning_rate=100" in result.message
    assert "initial weights" in result.message and "standardis" in result.message
    assert result.summary["epochs_completed"] < 5
    last_epoch = [e for e in events if isinstance(e, EpochEnded)][-1]
    assert not np.isfinite(last_epoch.metrics["loss"])
    # the NaN survives the JSON round trip of the records
    history = runs.read_history(result.run_dir / "history.csv")
    assert np.isnan(history[-1]["loss"])
    assert runs.read_summary(result.run_dir)["status"] == "diverged"


def test_cancel_before_training(tiny_spec, tmp_path):
    cancel = threading.Event()
    cancel.set()
    result, events = _run(tiny_spec, tmp_path, cancel=cancel)
    assert result.status == "cancelled" and result.exit_code == 130
    assert result.summary["epochs_completed"] == 0
    assert not any(isinstance(e, EpochEnded) for e in events)
    assert isinstance(events[-1], RunFinished)


def test_cancel_stops_within_one_batch(tiny_spec_data, tmp_path):
    import keras

    tiny_spec_data["fit"] = {"epochs": 50, "batch_size": 4}
    spec = validate_spec(tiny_spec_data)
    cancel = threading.Event()

    def stop_after_first_epoch(event):
        if isinstance(event, EpochEnded):
            cancel.set()

    result, events = _run(spec, tmp_path, cancel=cancel, emit=stop_after_first_epoch)
    assert result.status == "cancelled"
    assert result.summary["epochs_completed"] == 1
    assert [e.epoch for e in events if isinstance(e, EpochEnded)] == [1]
    assert len(runs.read_history(result.run_dir / "history.csv")) == 1
    # the partial model is kept: one full epoch of steps plus the single batch that saw the stop
    model = keras.models.load_model(result.run_dir / "model.keras")
    steps = int(np.ceil(84 / 4))
    assert int(model.optimizer.iterations.numpy()) == steps + 1


def test_keyboard_interrupt_records_cancelled(tiny_spec_data, tmp_path):
    tiny_spec_data["fit"]["epochs"] = 20
    spec = validate_spec(tiny_spec_data)
    raised = []

    def interrupt(event):
        if isinstance(event, EpochEnded) and not raised:
            raised.append(event)
            raise KeyboardInterrupt

    result, _ = _run(spec, tmp_path, emit=interrupt)
    assert result.status == "cancelled" and "interrupted" in result.message
    assert runs.read_summary(result.run_dir)["status"] == "cancelled"


def test_exception_becomes_failed_run(tiny_spec_data, tmp_path):
    tiny_spec_data["data"] = {"source": f"file:{tmp_path / 'missing.csv'}", "target": "y"}
    result, events = _run(validate_spec(tiny_spec_data), tmp_path)
    # bad input: recorded as failed, and exit code 2 like a bad preset
    assert result.status == "failed" and result.exit_code == 2
    assert isinstance(result.error, DataError)
    assert "missing.csv" in result.message
    assert isinstance(events[-1], RunFinished) and events[-1].message == result.message
    assert runs.read_summary(result.run_dir)["status"] == "failed"


def test_unexpected_error_is_failed_not_raised(tiny_spec, tmp_path, monkeypatch):
    from nnexplorer.core import building

    def broken(spec, data):
        raise RuntimeError("model factory exploded")

    monkeypatch.setattr(building, "build_model", broken)
    result, events = _run(tiny_spec, tmp_path)
    assert result.status == "failed"
    assert result.message == "RuntimeError: model factory exploded"
    assert any(e.type == "log" and "Traceback" in e.message for e in events)


def test_broken_display_does_not_stop_training(tiny_spec, tmp_path):
    def broken(event):
        raise BrokenPipeError("display gone")

    run_dir = runs.create_run_dir(tmp_path, tiny_spec)
    result = train(tiny_spec, run_dir, broken)
    assert result.status == "completed"
    logged = [e for e in runs.read_events(run_dir / "events.jsonl") if e.type == "log"]
    assert any("display gone" in e.message for e in logged)


def test_early_stopping_and_no_validation_split(tiny_spec_data, tmp_path):
    tiny_spec_data["data"]["validation_split"] = 0
    tiny_spec_data["fit"] = {
        "epochs": 30,
        "batch_size": 16,
        "early_stopping": {"monitor": "val_loss", "patience": 1, "min_delta": 100.0},
    }
    result, events = _run(validate_spec(tiny_spec_data), tmp_path)
    assert result.status == "completed"
    assert result.summary["stopped_early"] is True
    assert result.summary["epochs_completed"] == 2
    assert "early stopping" in result.message
    assert any(e.type == "log" and "instead of 'val_loss'" in e.message for e in events)
    epoch = next(e for e in events if isinstance(e, EpochEnded))
    assert "val_loss" not in epoch.metrics


def test_callback_coalesces_batch_progress():
    import keras

    from nnexplorer.core.callbacks import event_callback

    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 3)).astype("float32")
    y = (x[:, 0] > 0).astype("int64")
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, activation="softmax")])
    model.compile("adam", "sparse_categorical_crossentropy")
    seen: list = []
    every = event_callback(seen.append, epochs=2, interval=0.0)
    model.fit(x, y, batch_size=8, epochs=2, verbose=0, callbacks=[every])
    batches = [e for e in seen if isinstance(e, BatchProgress)]
    assert [(e.epoch, e.batch) for e in batches][:3] == [(1, 1), (1, 2), (1, 3)]
    assert len(batches) == 16 and batches[0].batches == 8
    assert every.status == "completed" and every.epochs_completed == 2

    seen.clear()
    rare = event_callback(seen.append, epochs=2, interval=3600.0)
    model.fit(x, y, batch_size=8, epochs=2, verbose=0, callbacks=[rare])
    assert [e.type for e in seen] == ["batch_progress", "epoch_ended", "epoch_ended"]
