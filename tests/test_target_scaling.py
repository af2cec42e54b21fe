"""data.standardize_target: train on standardised regression targets, report in their units.

The run, the grid search and the exported script share the semantics of scikit-learn's
TransformedTargetRegressor: mean and std from the rows a fit trains on, predictions and test
metrics in the target's units. Also: the divergence hint names large unscaled targets.
"""

from __future__ import annotations

import importlib.util
import json

import numpy as np
import pytest

from nnexplorer.core import datasets, runs
from nnexplorer.core.callbacks import divergence_message
from nnexplorer.core.codegen import export_script
from nnexplorer.core.errors import SpecError
from nnexplorer.core.events import EpochEnded, LogEvent
from nnexplorer.core.spec import validate_spec

REGRESSION = {
    "experiment": {"name": "reg", "seed": 4},
    # make_regression: targets with a spread of tens
    "data": {"source": "synthetic:regression", "n_samples": 160, "n_features": 3, "noise": 5.0},
    "layers": [{"units": 6, "activation": "tanh"}],
    "compile": {"optimizer": "adam", "learning_rate": 0.01, "metrics": ["mae"]},
    "fit": {"epochs": 2, "batch_size": 16},
}


def _spec(**data) -> object:
    preset = json.loads(json.dumps(REGRESSION))
    preset["data"].update(data)
    return validate_spec(preset)


def test_targets_are_far_from_unit_scale():
    data = datasets.load_dataset(_spec().data, 4)
    assert data.task == "regression" and data.y_train.std() > 20


def test_only_regression_targets_can_be_standardised():
    preset = json.loads(json.dumps(REGRESSION))
    preset["data"] = {"source": "sklearn:iris", "task": "classification"}
    preset["data"]["standardize_target"] = True
    with pytest.raises(SpecError, match="regression targets"):
        validate_spec(preset)


def test_divergence_hint_names_large_unscaled_targets():
    spec = _spec()
    hint = divergence_message(spec, 3, "nan", (152.0, 77.0))
    assert "data.standardize_target = true" in hint and "mean 152" in hint
    assert "standardize_target" not in divergence_message(spec, 3, "nan", (0.1, 1.2))
    assert "standardize_target" not in divergence_message(spec, 3, "nan", None)
    scaled = _spec(standardize_target=True)
    assert "standardize_target" not in divergence_message(scaled, 3, "nan", (152.0, 77.0))


@pytest.mark.slow
def test_a_run_trains_on_standard_units_and_reports_in_the_targets(tmp_path):
    from keras.models import load_model

    from nnexplorer.core.training import train

    spec = _spec(standardize_target=True)
    events: list = []
    result = train(spec, runs.create_run_dir(tmp_path, spec), events.append)
    assert result.status == "completed", result.message
    notes = " ".join(e.message for e in events if isinstance(e, LogEvent))
    assert "targets standardised on the training split" in notes
    first = next(e for e in events if isinstance(e, EpochEnded)).metrics
    assert first["loss"] < 10  # the standardised target's mean squared error

    data = datasets.standardized(datasets.load_dataset(spec.data, 4), "standard")
    model = load_model(result.run_dir / "model.keras")
    predicted = model.predict(data.x_test, verbose=0).ravel()
    mae = float(np.mean(np.abs(predicted - data.y_test)))
    assert mae > 10  # the target's units
    assert result.summary["test_metrics"]["mae"] == pytest.approx(mae, rel=1e-4)

    plain = train(_spec(), runs.create_run_dir(tmp_path, spec), None)
    assert plain.summary["final_metrics"]["loss"] > 100 * result.summary["final_metrics"]["loss"]


@pytest.mark.slow
def test_the_exported_script_standardises_like_the_run(tmp_path):
    from nnexplorer.core.training import train

    spec = _spec(standardize_target=True)
    result = train(spec, runs.create_run_dir(tmp_path, spec), None)
    path = tmp_path / "exported.py"
    path.write_text(export_script(spec), encoding="utf-8")
    loader = importlib.util.spec_from_file_location("exported", path)
    module = importlib.util.module_from_spec(loader)
    loader.loader.exec_module(module)
    scores = module.train()
    for name, value in result.summary["test_metrics"].items():
        assert scores[name] == pytest.approx(value, rel=2e-3), name


@pytest.mark.slow
def test_a_grid_standardises_per_fit_and_scores_in_the_targets(tmp_path):
    from nnexplorer.core.search import grid_search

    preset = json.loads(json.dumps(REGRESSION))
    preset["data"]["standardize_target"] = True
    preset["fit"]["early_stopping"] = {"monitor": "val_loss", "patience": 1}
    preset["grid"] = {"cv": 2, "n_jobs": 1, "params": {"layers.0.units": [4, 6]}}
    spec = validate_spec(preset)
    events: list = []
    result = grid_search(spec, tmp_path / "run", events.append)
    assert result.status == "completed", result.message
    folds = [e for e in events if isinstance(e, EpochEnded) and e.fold is not None]
    # early stopping on val_loss: each fold holds out a validation split, as the script does
    assert folds and all("val_loss" in e.metrics for e in folds)
    assert all(e.metrics["loss"] < 10 for e in folds)  # trained on standardised targets
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["best_score"] < -100  # neg_mean_squared_error in the target's units
    assert summary["test_metrics"]["mae"] > 10

    text = export_script(spec)
    assert "net = StandardizedKerasRegressor(" in text
    assert 'scoring="neg_mean_squared_error"' in text  # the run's scoring, written out
    assert "validation_split=0.2" in text
