"""A sweep's pure parts: its variants, their score and best epoch, grid.csv rows, the reducer."""

from __future__ import annotations

import math

import pytest
from tui_fakes import sweep_script

from nnexplorer.core.events import CandidateFinished, CandidateStarted, EpochEnded, RunStarted
from nnexplorer.core.progress import REFIT, RunProgress
from nnexplorer.core.spec import validate_spec
from nnexplorer.core.sweep import VariantResult, best_epoch, plan_variants, scoring_name, sweep_rows
from nnexplorer.core.sweep._plan import kept_epoch, monitored, score


@pytest.fixture
def sweep_spec(tiny_spec_data):
    tiny_spec_data["grid"] = {
        "search": "sweep",
        "params": {"hidden.kernel_initializer": ["random_normal", "he_normal"], "units": [4, 8]},
    }
    return validate_spec(tiny_spec_data)


def test_variants_follow_the_written_order_last_key_fastest(sweep_spec):
    variants = plan_variants(sweep_spec)
    assert [v.number for v in variants] == [1, 2, 3, 4]
    assert [v.params for v in variants] == [
        {"hidden.kernel_initializer": "random_normal", "units": 4},
        {"hidden.kernel_initializer": "random_normal", "units": 8},
        {"hidden.kernel_initializer": "he_normal", "units": 4},
        {"hidden.kernel_initializer": "he_normal", "units": 8},
    ]
    last = variants[3].spec
    assert last.grid is None
    assert last.layers[0].units == 8 and last.layers[0].kernel_initializer.name == "he_normal"


def test_scoring_is_higher_is_better():
    assert scoring_name("accuracy", True) == "val_accuracy"
    assert scoring_name("mae", True) == "neg_val_mae"
    assert scoring_name("loss", False) == "neg_loss"
    history = [{"val_mae": 3.0, "val_accuracy": 0.5}, {"val_mae": 2.0, "val_accuracy": 0.75}]
    assert score(history, "neg_val_mae") == -2.0
    assert score(history, "val_accuracy", epoch=1) == 0.5
    assert score([{"val_mae": math.nan}], "neg_val_mae") is None
    assert score([], "val_accuracy") is None


def test_best_epoch_watches_the_monitor(tiny_spec_data):
    history = [
        {"loss": 1.0, "val_loss": 0.9, "val_accuracy": 0.5},
        {"loss": 0.5, "val_loss": 0.4, "val_accuracy": 0.7},
        {"loss": 0.2, "val_loss": 0.6, "val_accuracy": 0.8},
    ]
    spec = validate_spec(tiny_spec_data)
    assert monitored(spec, True) == ("val_loss", True)
    assert monitored(spec, False) == ("loss", True)
    assert best_epoch(history, "val_loss", True) == 2
    tiny_spec_data["fit"]["early_stopping"] = {"monitor": "val_accuracy", "patience": 2}
    spec = validate_spec(tiny_spec_data)
    name, lower = monitored(spec, True)
    assert (name, lower) == ("val_accuracy", False)
    assert best_epoch(history, name, lower) == 3
    assert best_epoch([{"val_loss": math.nan}], "val_loss", True) is None
    assert kept_epoch(history, 2) == 2 and kept_epoch(history, None) == 3


def test_grid_csv_rows_have_params_best_epoch_final_and_test_columns():
    done = VariantResult(0, {"units": 4}, status="completed", best_epoch=2, score=0.8)
    done.history = [{"loss": 1.0, "val_loss": 1.1}, {"loss": 0.5, "val_loss": 0.7}]
    done.final_metrics = dict(done.history[-1])
    done.test_metrics = {"loss": 0.6, "accuracy": 0.9}
    bad = VariantResult(1, {"units": 8}, status="diverged", reason="the loss became nan")
    columns, rows = sweep_rows(["units"], [bad, done])
    assert columns[:4] == ["variant", "rank", "status", "units"]
    assert "best_epoch" in columns and columns.index("best_epoch") > columns.index("units")
    assert [c for c in columns if c.startswith("final_")] == ["final_loss", "final_val_loss"]
    assert [c for c in columns if c.startswith("test_")] == ["test_loss", "test_accuracy"]
    assert [r["variant"] for r in rows] == [1, 2]
    assert rows[0]["rank"] == 1 and rows[0]["test_accuracy"] == 0.9
    assert rows[1]["status"] == "diverged" and rows[1]["reason"] == "the loss became nan"
    assert rows[1]["rank"] is None and rows[1]["test_loss"] is None


def test_reducer_folds_a_sweep(sweep_spec):
    progress = RunProgress()
    events = sweep_script(epochs=3, diverge=frozenset({1}))(sweep_spec, "sweep")
    half = next(i for i, e in enumerate(events) if isinstance(e, CandidateStarted) and e.candidate)
    progress.extend(events[:half])
    assert progress.mode == "sweep" and progress.scoring == "val_accuracy"
    assert progress.fits_total() == 4 and progress.fits_done() == 1
    progress.extend(events[half:])
    assert progress.fits_done() == 4 and progress.status == "completed"
    first, bad = progress.candidates[0], progress.candidates[1]
    assert len(first.history) == 3 and set(first.fits) == {REFIT}
    assert first.status == "completed" and first.best_epoch == 3
    assert first.test_metrics == {"loss": 0.3, "accuracy": 0.9}
    assert first.final_metrics["val_accuracy"] == pytest.approx(1 - (1.0 / 3) / 2.5)
    assert bad.status == "diverged" and "nan" in bad.reason and bad.mean is None
    assert [c.index for c in progress.ranked()] == [0, 2, 3]
    assert progress.best_candidate_params() == {
        "hidden.kernel_initializer": "random_normal",
        "units": 4,
    }
    assert progress.grid_eta() == 0.0
    assert not progress.running_fits()


def test_reducer_eta_counts_variants():
    progress = RunProgress()
    progress.apply(RunStarted(time=0.0, mode="sweep", n_candidates=3))
    for index in range(2):
        progress.apply(CandidateStarted(time=10.0 * index, candidate=index, params={}))
        progress.apply(
            EpochEnded(time=10.0 * index + 5, epoch=1, epochs=1, metrics={}, candidate=index)
        )
        progress.apply(
            CandidateFinished(time=10.0 * index + 10, candidate=index, score=0.5, epochs=1)
        )
    assert progress.fits_done() == 2
    assert progress.grid_eta() == pytest.approx(10.0)
