"""Sweeps end to end on tiny data: records, a diverging and a failing variant, reuse, cancel,
parallel variants, and the TensorBoard logs of every run (really trains: iris, diabetes)."""

from __future__ import annotations

import csv
import json
import threading
from collections import Counter
from pathlib import Path

import pytest

from nnexplorer.core.events import CandidateFinished, EpochEnded, RunFinished, RunStarted
from nnexplorer.core.spec import validate_spec

pytestmark = pytest.mark.slow

REGRESSION = {
    "experiment": {"name": "sweep-lr", "seed": 3},
    "data": {"source": "sklearn:diabetes", "test_size": 0.3, "validation_split": 0.2},
    "layers": [{"type": "dense", "units": 8, "activation": "tanh"}],
    "compile": {"optimizer": "sgd", "learning_rate": 0.01},
    "fit": {"epochs": 2, "batch_size": 32},
}


def sweep_spec(data: dict, params: dict, **grid) -> object:
    data = json.loads(json.dumps(data))
    data["grid"] = {"search": "sweep", "n_jobs": 1, "params": params, **grid}
    return validate_spec(data)


def run(spec, run_dir: Path, **kwargs):
    from nnexplorer.core.sweep import run_sweep

    events: list = []
    result = run_sweep(spec, run_dir, events.append, **kwargs)
    return result, events


def rows(path: Path) -> list[dict]:
    with open(path, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def scalars(folder: Path) -> dict[str, list[tuple[int, float]]]:
    """Tag -> [(step, value)] of the event files in ``folder``, read with TensorFlow."""
    import tensorflow as tf

    found: dict[str, list[tuple[int, float]]] = {}
    for path in sorted(folder.glob("events.out.tfevents.*")):
        for event in tf.compat.v1.train.summary_iterator(str(path)):
            for value in event.summary.value:
                number = float(tf.make_ndarray(value.tensor))
                found.setdefault(value.tag, []).append((event.step, number))
    return found


def test_three_variants_one_diverges_the_others_go_on(tmp_path):
    spec = sweep_spec(REGRESSION, {"learning_rate": [0.001, 0.01, 50.0]})
    run_dir = tmp_path / "run"
    result, events = run(spec, run_dir)
    assert result.status == "completed", result.message
    assert "#3 diverged" in result.message
    started = next(e for e in events if isinstance(e, RunStarted))
    assert (started.mode, started.n_candidates, started.scoring) == ("sweep", 3, "neg_val_mae")
    epochs = Counter(e.candidate for e in events if isinstance(e, EpochEnded))
    assert epochs[0] == epochs[1] == 2 and 1 <= epochs[2] <= 2
    finished = {e.candidate: e for e in events if isinstance(e, CandidateFinished)}
    assert [finished[i].status for i in range(3)] == ["completed", "completed", "diverged"]
    assert "learning rate is too high" in finished[2].reason
    assert set(finished[0].test_metrics) == {"loss", "mae"}
    assert isinstance(events[-1], RunFinished) and events[-1].status == "completed"

    table = rows(run_dir / "grid.csv")
    assert [r["variant"] for r in table] == ["1", "2", "3"]
    assert [r["learning_rate"] for r in table] == ["0.001", "0.01", "50.0"]
    for column in ("status", "best_epoch", "final_loss", "final_val_loss", "final_mae"):
        assert column in table[0]
    assert {"final_val_mae", "test_loss", "test_mae"} <= set(table[0])
    assert table[0]["status"] == "completed" and table[0]["test_mae"] and table[0]["best_epoch"]
    assert table[2]["status"] == "diverged" and "diverged" in table[2]["reason"]
    assert table[2]["test_mae"] == "" and table[2]["rank"] == ""

    history = rows(run_dir / "history.csv")
    assert Counter(r["variant"] for r in history) == {"1": 2, "2": 2, "3": epochs[2]}
    assert "candidate" not in history[0] and "fold" not in history[0]

    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["mode"] == "sweep" and summary["n_failed_candidates"] == 1
    assert summary["best_variant"] in (1, 2) and summary["scoring"] == "neg_val_mae"
    assert summary["best_params"] == {"learning_rate": [0.001, 0.01][summary["best_variant"] - 1]}
    assert [v["status"] for v in summary["variants"]] == ["completed", "completed", "diverged"]
    assert (run_dir / "model.keras").is_file()

    # TensorBoard: a folder per variant, one point per epoch for train and validation
    for number in (1, 2):
        folder = run_dir / "tensorboard" / f"variant-{number}"
        train, val = scalars(folder / "train"), scalars(folder / "validation")
        assert [step for step, _ in train["epoch_loss"]] == [1, 2]
        assert [step for step, _ in val["epoch_mae"]] == [1, 2]
    first_loss = float(history[0]["loss"])
    assert scalars(run_dir / "tensorboard/variant-1/train")["epoch_loss"][0][1] == pytest.approx(
        first_loss, rel=1e-5
    )


def test_a_failing_variant_is_a_row_with_its_reason(tmp_path, tiny_spec_data, monkeypatch):
    from nnexplorer.core import building

    real = building.build_model

    def build(spec, data):
        if spec.layers[0].units == 5:
            raise RuntimeError("no room for five units")
        return real(spec, data)

    monkeypatch.setattr(building, "build_model", build)
    spec = sweep_spec(tiny_spec_data, {"units": [4, 5, 6]})
    result, _ = run(spec, tmp_path / "run")
    assert result.status == "completed"
    statuses = [r.status for r in result.variants]
    assert statuses == ["completed", "failed", "completed"]
    assert result.variants[1].reason == "RuntimeError: no room for five units"
    table = rows(tmp_path / "run" / "grid.csv")
    assert [r["status"] for r in table] == statuses
    assert table[1]["reason"] == "RuntimeError: no room for five units"
    assert all(r["test_accuracy"] for r in (table[0], table[2]))


def test_each_variant_gives_the_numbers_of_a_separate_run(tmp_path, tiny_spec_data):
    """The second variant reuses the first one's traced network: same numbers as a fresh run."""
    from nnexplorer.core.sweep import plan_variants
    from nnexplorer.core.training import train

    tiny_spec_data["layers"].append({"type": "dropout", "rate": 0.3})
    spec = sweep_spec(
        tiny_spec_data, {"hidden.kernel_initializer": ["glorot_uniform", "he_normal"]}
    )
    result, _ = run(spec, tmp_path / "sweep")
    assert result.status == "completed"
    alone = train(plan_variants(spec)[1].spec, tmp_path / "alone", None)
    swept = result.variants[1]
    assert swept.final_metrics == pytest.approx(alone.summary["final_metrics"], rel=1e-6)
    assert swept.test_metrics == pytest.approx(alone.summary["test_metrics"], rel=1e-6)


def test_stop_keeps_finished_variants_and_leaves_the_rest_pending(tmp_path, tiny_spec_data):
    spec = sweep_spec(tiny_spec_data, {"units": [4, 6, 8]})
    cancel = threading.Event()
    events: list = []

    def emit(event) -> None:
        events.append(event)
        if isinstance(event, CandidateFinished) and event.candidate == 0:
            cancel.set()

    from nnexplorer.core.sweep import run_sweep

    result = run_sweep(spec, tmp_path / "run", emit, cancel)
    assert result.status == "cancelled" and result.exit_code == 130
    assert [r.status for r in result.variants] == ["completed", "pending", "pending"]
    table = rows(tmp_path / "run" / "grid.csv")
    assert [r["status"] for r in table] == ["completed", "pending", "pending"]
    assert json.loads((tmp_path / "run" / "summary.json").read_text())["status"] == "cancelled"


def test_variants_in_parallel_threads(tmp_path, tiny_spec_data, monkeypatch):
    import nnexplorer.core.search._space as space

    monkeypatch.setattr(space, "other_load", lambda: 0.0)  # a busy machine would get one thread
    monkeypatch.setattr(space, "available_cores", lambda: 2)
    spec = sweep_spec(tiny_spec_data, {"units": [4, 8]}, n_jobs=2)
    result, events = run(spec, tmp_path / "run")
    assert result.status == "completed" and result.summary["n_jobs"] == 2
    assert all(len(r.history) == 2 and r.test_metrics for r in result.variants)
    per_variant = Counter(e.candidate for e in events if isinstance(e, EpochEnded))
    assert per_variant == {0: 2, 1: 2}


def test_a_train_run_writes_tensorboard_logs(tmp_path, tiny_spec):
    from nnexplorer.core.training import train

    result = train(tiny_spec, tmp_path / "run", None)
    assert result.status == "completed"
    logs = tmp_path / "run" / "tensorboard"
    train_scalars, val_scalars = scalars(logs / "train"), scalars(logs / "validation")
    assert [step for step, _ in train_scalars["epoch_loss"]] == [1, 2]
    assert [step for step, _ in train_scalars["epoch_accuracy"]] == [1, 2]
    assert [step for step, _ in val_scalars["epoch_loss"]] == [1, 2]
    last = result.summary["final_metrics"]
    assert val_scalars["epoch_loss"][-1][1] == pytest.approx(last["val_loss"], rel=1e-5)


def test_run_sweep_command_line(tmp_path):
    """``nnexplorer run PRESET --sweep`` in a pipe: the worker's whole path, one process."""
    import os
    import subprocess
    import sys

    preset = tmp_path / "tiny.toml"
    preset.write_text(
        '[experiment]\nname = "cli-sweep"\nseed = 1\n[data]\nsource = "sklearn:iris"\n'
        "[[layers]]\nunits = 4\n[fit]\nepochs = 1\nbatch_size = 32\n",
        encoding="utf-8",
    )
    env = {**os.environ, "NNEXPLORER_THREADS": "1", "NNEXPLORER_RUNS": str(tmp_path / "runs")}
    sweeps = ["--sweep", "units=[2, 4]", "--sweep", 'hidden.activation=["relu"]']
    done = subprocess.run(
        [sys.executable, "-m", "nnexplorer", "run", str(preset), "--json", *sweeps],
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert lines[-1]["type"] == "run_finished" and lines[-1]["summary"]["mode"] == "sweep"
    run_dir = next((tmp_path / "runs").iterdir())
    assert json.loads((run_dir / "run.json").read_text())["mode"] == "sweep"
    table = rows(run_dir / "grid.csv")
    assert [(r["units"], r["hidden.activation"]) for r in table] == [("2", "relu"), ("4", "relu")]
    assert (run_dir / "tensorboard" / "variant-2" / "validation").is_dir()


def test_the_worker_runs_a_sweep(tmp_path, tiny_spec_data):
    """The explorer's path: ``start_run(mode="sweep")`` starts ``worker --sweep``."""
    from nnexplorer.core.runner import start_run

    tiny_spec_data["fit"]["epochs"] = 1
    spec = sweep_spec(tiny_spec_data, {"units": [2, 4]})
    handle = start_run(spec, mode="sweep", runs_root=tmp_path)
    events = list(handle.events())
    assert handle.wait() == 0
    assert isinstance(events[-1], RunFinished) and events[-1].status == "completed"
    assert events[-1].summary["mode"] == "sweep" and len(events[-1].summary["variants"]) == 2
    finished = [e for e in events if isinstance(e, CandidateFinished)]
    assert [e.candidate for e in finished] == [0, 1]


def test_a_sweep_standardises_targets_as_a_run_does(tmp_path):
    """data.standardize_target holds in a sweep: test metrics in the target's units, the same
    numbers as a separate run of that variant."""
    from nnexplorer.core.sweep import plan_variants
    from nnexplorer.core.training import train

    data = json.loads(json.dumps(REGRESSION))
    data["data"]["standardize_target"] = True
    data["fit"]["epochs"] = 1
    spec = sweep_spec(data, {"compile.learning_rate": [0.01, 0.02]})
    result, events = run(spec, tmp_path / "sweep")
    assert result.status == "completed"
    assert any("standardised on the training split" in getattr(e, "message", "") for e in events)
    alone = train(plan_variants(spec)[0].spec, tmp_path / "alone", None)
    swept = result.variants[0]
    assert swept.test_metrics == pytest.approx(alone.summary["test_metrics"], rel=1e-5)
    assert swept.test_metrics["mae"] > 20  # diabetes targets are in the hundreds: not scaled
