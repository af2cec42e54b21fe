"""Fused grid searches against unfused ones, end to end on tiny data.

A fused search trains each candidate's folds (and the candidates sharing a network) as copies of
one network; it must record and score exactly what separate fits record. Without shuffling both
paths see the same batches, so their scores agree to float rounding; with shuffling the row
orders differ (each fold's own random stream) and only the ranking and the rough scores agree.
"""

from __future__ import annotations

import csv
import json
import threading
from pathlib import Path

import numpy as np
import pytest

from nnexplorer.core.events import CandidateFinished, EpochEnded
from nnexplorer.core.spec import validate_spec

pytestmark = pytest.mark.slow

# lr 3e-4 hardly moves in a few epochs, 3e-2 learns iris well: a clear ranking
GRID = {"layers.0.units": [4, 8], "optimizer__learning_rate": [3e-4, 3e-2]}


def grid_spec(data: dict, params: dict, **grid) -> object:
    data = json.loads(json.dumps(data))
    data["grid"] = {"cv": 2, "n_jobs": 1, "params": params, **grid}
    return validate_spec(data)


def run(spec, run_dir: Path, fuse: bool, cancel=None, **kwargs):
    from nnexplorer.core.search import grid_search

    events: list = []
    emit = kwargs.pop("emit", events.append)
    result = grid_search(spec, run_dir, emit, cancel, fuse_folds=fuse, **kwargs)
    return result, events


def grid_rows(run_dir: Path) -> dict[str, dict]:
    with open(run_dir / "grid.csv", encoding="utf-8", newline="") as handle:
        return {row["candidate"]: row for row in csv.DictReader(handle)}


def journal(run_dir: Path) -> dict[tuple[int, int], dict]:
    lines = (run_dir / "fits.jsonl").read_text().splitlines()
    records = [json.loads(line) for line in lines if line.strip()]
    return {(r["candidate"], r["fold"]): r for r in records}


def announced(events: list) -> str:
    return " ".join(e.message for e in events if e.type == "log" and "candidates x" in e.message)


def test_fused_matches_unfused_without_shuffling(tiny_spec_data, tmp_path):
    tiny_spec_data["fit"].update(epochs=4, shuffle=False)
    spec = grid_spec(tiny_spec_data, GRID)
    fused, fused_events = run(spec, tmp_path / "fused", fuse=True)
    plain, plain_events = run(spec, tmp_path / "plain", fuse=False)
    assert fused.status == plain.status == "completed", (fused.message, plain.message)
    assert "folds fused: 2 models of 2 candidates x 2 folds" in announced(fused_events)
    assert "folds not fused (grid.fuse_folds = false)" in announced(plain_events)
    a, b = journal(tmp_path / "fused"), journal(tmp_path / "plain")
    assert sorted(a) == sorted(b) == [(c, f) for c in range(4) for f in range(2)]
    for key in a:  # the same fit, key and all, recorded by either path
        same = ("key", "params", "n_train", "epochs", "epochs_completed", "status")
        assert {k: a[key][k] for k in same} == {k: b[key][k] for k in same}
        assert a[key]["score"] == pytest.approx(b[key]["score"], abs=1e-6)
    rows_a, rows_b = grid_rows(tmp_path / "fused"), grid_rows(tmp_path / "plain")
    assert {c: r["rank"] for c, r in rows_a.items()} == {c: r["rank"] for c, r in rows_b.items()}
    for c in rows_a:
        assert float(rows_a[c]["mean_test_score"]) == pytest.approx(
            float(rows_b[c]["mean_test_score"]), abs=1e-6
        )
    assert fused.best_params == plain.best_params
    # the same per-fold curves, epoch by epoch
    curves = [
        {
            (e.candidate, e.fold, e.epoch): e.metrics["loss"]
            for e in events
            if type(e) is EpochEnded and e.fold is not None
        }
        for events in (fused_events, plain_events)
    ]
    assert sorted(curves[0]) == sorted(curves[1])
    for key, loss in curves[0].items():
        assert loss == pytest.approx(curves[1][key], rel=1e-4)
    # the refit is the usual one: the same test metrics
    assert fused.summary["test_metrics"] == pytest.approx(plain.summary["test_metrics"], rel=1e-5)


def test_fused_ranks_like_unfused_with_shuffling(tiny_spec_data, tmp_path):
    tiny_spec_data["fit"]["epochs"] = 6
    spec = grid_spec(tiny_spec_data, {"optimizer__learning_rate": [3e-4, 3e-3, 3e-2]})
    fused, _ = run(spec, tmp_path / "fused", fuse=True)
    plain, _ = run(spec, tmp_path / "plain", fuse=False)
    assert fused.status == plain.status == "completed"
    rows_a, rows_b = grid_rows(tmp_path / "fused"), grid_rows(tmp_path / "plain")
    assert [rows_a[c]["rank"] for c in "012"] == [rows_b[c]["rank"] for c in "012"] == list("321")
    for c in "012":
        gap = abs(float(rows_a[c]["mean_test_score"]) - float(rows_b[c]["mean_test_score"]))
        assert gap <= 0.15, (c, rows_a[c], rows_b[c])
    assert fused.best_params == plain.best_params


def test_unequal_folds_pad_with_rows_of_weight_zero(tiny_spec_data, tmp_path):
    # 105 training rows in 4 folds: 78 or 79 rows each, 6 or 7 batches of 13
    tiny_spec_data["fit"].update(epochs=3, shuffle=False, batch_size=13)
    spec = grid_spec(tiny_spec_data, {"optimizer__learning_rate": [1e-2, 3e-2]}, cv=4)
    fused, _ = run(spec, tmp_path / "fused", fuse=True)
    plain, _ = run(spec, tmp_path / "plain", fuse=False)
    assert fused.status == plain.status == "completed"
    a, b = journal(tmp_path / "fused"), journal(tmp_path / "plain")
    assert len({r["n_train"] for r in a.values()}) == 2
    for key in b:
        assert a[key]["n_train"] == b[key]["n_train"]
        assert a[key]["score"] == pytest.approx(b[key]["score"], abs=1e-6)


def test_candidates_with_other_epochs_share_a_model(tiny_spec_data, tmp_path):
    tiny_spec_data["fit"]["shuffle"] = False
    spec = grid_spec(tiny_spec_data, {"fit.epochs": [2, 5]})
    fused, events = run(spec, tmp_path / "fused", fuse=True)
    plain, _ = run(spec, tmp_path / "plain", fuse=False)
    assert fused.status == plain.status == "completed"
    assert "folds fused: 1 model of 2 candidates x 2 folds" in announced(events)
    a, b = journal(tmp_path / "fused"), journal(tmp_path / "plain")
    assert [a[(c, 0)]["epochs_completed"] for c in (0, 1)] == [2, 5]
    for key in b:
        assert a[key]["epochs_completed"] == b[key]["epochs_completed"]
        assert a[key]["score"] == pytest.approx(b[key]["score"], abs=1e-6)


def _iris_with_an_extreme_row(folder: Path, spec_data: dict) -> Path:
    """Iris as a CSV with one huge feature in a row that the search trains on (not a test row):
    the one fold whose training rows hold it diverges."""
    from sklearn.datasets import load_iris

    from nnexplorer.core.datasets import load_dataset

    x, y = load_iris(return_X_y=True)
    path = folder / "iris.csv"
    spec_data["data"].update(source=f"file:{path}", target="kind", standardize="none")
    for row in range(len(x)):
        changed = x.copy()
        changed[row, 0] = 1e18
        lines = [",".join(f"{v:g}" for v in r) + f",{t}" for r, t in zip(changed, y, strict=True)]
        path.write_text("a,b,c,d,kind\n" + "\n".join(lines) + "\n")
        data = load_dataset(validate_spec(spec_data).data, spec_data["experiment"]["seed"])
        if (data.x_test[:, 0] < 1e17).all():
            return path
    raise AssertionError("no row lands in the search's rows")


def test_a_fold_that_diverges_fails_alone(tiny_spec_data, tmp_path):
    _iris_with_an_extreme_row(tmp_path, tiny_spec_data)
    tiny_spec_data["fit"].update(epochs=3, shuffle=False)
    tiny_spec_data["compile"]["optimizer"] = "sgd"
    spec = grid_spec(tiny_spec_data, {"optimizer__learning_rate": [1e-3, 1e-2]})
    fused, events = run(spec, tmp_path / "fused", fuse=True)
    plain, _ = run(spec, tmp_path / "plain", fuse=False)
    a, b = journal(tmp_path / "fused"), journal(tmp_path / "plain")
    for candidate in (0, 1):
        statuses = {a[(candidate, f)]["status"] for f in (0, 1)}
        assert statuses == {"failed", "completed"}
        for fold in (0, 1):
            mine, theirs = a[(candidate, fold)], b[(candidate, fold)]
            assert mine["status"] == theirs["status"]
            if mine["status"] == "failed":
                assert "diverged" in mine["reason"]
            else:
                assert mine["score"] == pytest.approx(theirs["score"], abs=1e-6)
                assert mine["epochs_completed"] == 3
    per_fold = [e for e in events if isinstance(e, CandidateFinished) and e.fold is not None]
    assert {e.status for e in per_fold} == {"failed", "completed"}
    assert fused.status == plain.status


def _cancel_after_first_candidate(cancel: threading.Event, events: list):
    def emit(event):
        events.append(event)
        if isinstance(event, CandidateFinished) and event.fold is None:
            cancel.set()

    return emit


@pytest.mark.parametrize("first, then", [(True, False), (False, True)])
def test_cancel_on_one_path_and_resume_on_the_other(tiny_spec_data, tmp_path, first, then):
    tiny_spec_data["fit"].update(epochs=3, shuffle=False)
    spec = grid_spec(tiny_spec_data, GRID)
    run_dir = tmp_path / "run"
    cancel, events = threading.Event(), []
    result, _ = run(
        spec, run_dir, first, cancel, emit=_cancel_after_first_candidate(cancel, events)
    )
    assert result.status == "cancelled"
    kept = journal(run_dir)
    assert 2 <= len(kept) < 8 and all(r["status"] == "completed" for r in kept.values())

    resumed, events = run(spec, run_dir, then, resume=True)
    assert resumed.status == "completed", resumed.message
    trained = {(e.candidate, e.fold) for e in events if isinstance(e, EpochEnded)}
    assert not trained & set(kept)  # finished fits were not fitted again
    assert trained >= {(c, f) for c in range(4) for f in range(2)} - set(kept)
    final = journal(run_dir)
    assert len(final) == 8 and all(r["status"] == "completed" for r in final.values())
    assert resumed.summary["fits_reused"] == len(kept)
    # and the whole search scores as an uninterrupted one on either path
    whole, _ = run(spec, tmp_path / "whole", then)
    for key, record in journal(tmp_path / "whole").items():
        assert final[key]["score"] == pytest.approx(record["score"], abs=1e-6)
    assert resumed.best_params == whole.best_params


def test_a_stop_inside_a_fused_fit_records_no_partial_fold(tiny_spec_data, tmp_path):
    tiny_spec_data["fit"].update(epochs=300, batch_size=4, shuffle=False)
    spec = grid_spec(tiny_spec_data, GRID)
    run_dir = tmp_path / "run"
    cancel, seen = threading.Event(), []

    def emit(event):
        seen.append(event)
        if isinstance(event, EpochEnded) and event.epoch == 2:
            cancel.set()  # every copy of the first fused model is mid-training

    result, _ = run(spec, run_dir, True, cancel, emit=emit)
    assert result.status == "cancelled"
    last: dict[tuple, int] = {}
    for e in seen:
        if isinstance(e, EpochEnded):
            last[(e.candidate, e.fold)] = e.epoch
    assert len(last) == 4  # one model: 2 candidates x 2 folds, stopped together
    assert max(last.values()) < 300
    kept = journal(run_dir) if (run_dir / "fits.jsonl").exists() else {}
    assert kept == {}  # a stopped fold is not a finished fit


def test_early_stopping_stops_each_fold_on_its_own(tiny_spec_data, tmp_path):
    tiny_spec_data["fit"].update(
        epochs=12,
        shuffle=False,
        early_stopping={"monitor": "loss", "patience": 0, "min_delta": 0.02},
    )
    spec = grid_spec(tiny_spec_data, {"optimizer__learning_rate": [3e-3, 3e-2]})
    fused, _ = run(spec, tmp_path / "fused", fuse=True)
    plain, _ = run(spec, tmp_path / "plain", fuse=False)
    assert fused.status == plain.status == "completed"
    a, b = journal(tmp_path / "fused"), journal(tmp_path / "plain")
    stopped = [a[key]["epochs_completed"] for key in sorted(a)]
    assert stopped == [b[key]["epochs_completed"] for key in sorted(b)]
    assert min(stopped) < 12 and len(set(stopped)) > 1  # folds stopped at different epochs
    for key in a:  # restore_best_weights acts on each copy as on a separate fit
        assert a[key]["score"] == pytest.approx(b[key]["score"], abs=1e-6)


def test_fuse_folds_false_in_the_preset_and_halving_fall_back(tiny_spec_data, tmp_path):
    tiny_spec_data["fit"]["epochs"] = 1
    spec = grid_spec(tiny_spec_data, {"layers.0.units": [4]}, fuse_folds=False)
    result, events = run(spec, tmp_path / "off", fuse=None)
    assert result.status == "completed"
    assert "folds not fused (grid.fuse_folds = false)" in announced(events)
    spec = grid_spec(tiny_spec_data, GRID, search="halving", factor=2)
    result, events = run(spec, tmp_path / "halving", fuse=None)
    assert result.status == "completed"
    assert "folds not fused (a halving search fits candidates" in announced(events)


def test_early_stopping_on_a_validation_metric_is_not_fused(tiny_spec_data, tmp_path):
    """Each fold's fit then holds out rows of its own (as the exported script does)."""
    tiny_spec_data["fit"].update(epochs=2, early_stopping={"monitor": "val_loss", "patience": 1})
    spec = grid_spec(tiny_spec_data, {"layers.0.units": [4]})
    result, events = run(spec, tmp_path / "val", fuse=None)
    assert result.status == "completed"
    assert "folds not fused (early stopping on a validation metric" in announced(events)


def test_a_standardised_target_is_fused_as_separate_fits_scale_it(tmp_path):
    data = {
        "experiment": {"name": "diabetes", "seed": 2},
        "data": {"source": "sklearn:diabetes", "test_size": 0.3, "standardize_target": True},
        "layers": [{"type": "dense", "units": 8, "activation": "tanh"}],
        "compile": {"optimizer": "sgd", "learning_rate": 0.01},
        "fit": {"epochs": 3, "batch_size": 32, "shuffle": False},
    }
    params = {"optimizer__learning_rate": [0.001, 0.01]}
    spec = grid_spec(data, params, scoring="neg_mean_absolute_error")
    fused, fused_events = run(spec, tmp_path / "fused", fuse=True)
    plain, _ = run(spec, tmp_path / "plain", fuse=False)
    assert fused.status == plain.status == "completed", (fused.message, plain.message)
    assert "folds fused" in announced(fused_events)
    a, b = journal(tmp_path / "fused"), journal(tmp_path / "plain")
    for key in a:  # scores in the target's units (MAE of tens), equal on both paths
        assert a[key]["score"] < -10
        assert a[key]["score"] == pytest.approx(b[key]["score"], rel=1e-4)


def test_stacked_scores_use_each_fold_s_own_scaler():
    """The held-out rows of a fold are scaled by a scaler fitted on that fold's training rows."""
    from sklearn.preprocessing import StandardScaler

    from nnexplorer.core.search._fused_group import _folds

    class Member:
        def __init__(self, fold):
            self.fold = fold
            self.spec = validate_spec({"data": {"source": "sklearn:iris"}})

    x = np.arange(40, dtype="float64").reshape(20, 2)
    y = np.array([0, 1] * 10)
    test_fold = np.array([0] * 5 + [1] * 15)
    folds = _folds([Member(0), Member(1)], (x, y, test_fold), StandardScaler(), "classification")
    for k, fold in folds.items():
        train = x[test_fold != k]
        expected = (x[test_fold == k] - train.mean(0)) / train.std(0)
        assert np.allclose(fold.x_test, expected, atol=1e-5)
        assert len(fold.x_train) == np.count_nonzero(test_fold != k)
