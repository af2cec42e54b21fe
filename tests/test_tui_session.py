"""The explorer's run model: what it makes of engine events (no app needed)."""

from __future__ import annotations

import math

from tui_fakes import HOLD, grid_script, train_script

from nnexplorer.core.events import (
    BatchProgress,
    CandidateFinished,
    EpochEnded,
    RunFinished,
    RunStarted,
)
from nnexplorer.core.formatting import fmt_duration, lower_is_better, main_metric, short_params
from nnexplorer.core.progress import REFIT
from nnexplorer.core.spec import validate_spec
from nnexplorer.tui.session import RunView, run_view_from_record, settings_text
from nnexplorer.tui.widgets.heatmap import heat_cells
from nnexplorer.tui.widgets.metric_chart import epoch_ticks, run_series


def played(script, spec, mode="train", upto=None) -> RunView:
    run = RunView(key="run1", name="tiny", mode=mode, epochs_planned=spec.fit.epochs)
    if spec.grid:
        run.grid_params = dict(spec.grid.params)
    events = [e for e in script(spec, mode) if e is not HOLD]
    for event in events[:upto]:
        run.apply(event)
    return run


def test_train_events_build_history_status_and_state(tiny_spec):
    run = played(train_script(epochs=10), tiny_spec, upto=5)
    assert run.status == "running" and len(run.history) == 3
    assert run.state_line() == "Training epoch 3/10, 0.5 s/epoch, ETA 00:04"
    run.apply(BatchProgress(epoch=4, batch=12, batches=40))
    assert run.state_line() == "Training epoch 4/10 (batch 12/40), 0.5 s/epoch, ETA 00:04"
    run.apply(EpochEnded(epoch=4, epochs=10, metrics={"loss": 0.1, "val_loss": math.nan}))
    assert run.state_line().startswith("Training epoch 4/10, ")
    assert run.metric() == "accuracy"
    assert run.best_val() == ("val_accuracy", 1 - (2 / 3) / 3.5)
    run.apply(RunFinished(status="diverged", message="loss is nan", summary={"wall_seconds": 3}))
    assert not run.running and run.state_line() == "Diverged" and run.elapsed == 3


def test_grid_events_aggregate_rank_and_refit(tiny_spec_data):
    tiny_spec_data["grid"] = {"params": {"layers.0.units": [4, 8], "learning_rate": [0.1, 0.01]}}
    spec = validate_spec(tiny_spec_data)
    run = played(grid_script(folds=2, fail=frozenset({1})), spec, mode="grid")
    assert run.status == "completed" and run.n_candidates == 4 and run.n_folds == 2
    assert run.fits_done() == 8
    assert [c.index for c in run.ranked()] == [3, 2, 0]
    assert run.rank_of(1) is None and run.candidates[1].status == "failed"
    assert run.candidates[3].mean == 0.655 and round(run.candidates[3].std, 4) == 0.005
    assert run.best_candidate_params() == {"layers.0.units": 8, "learning_rate": 0.01}
    assert sorted(run.candidates[3].histories) == [REFIT, 0, 1]
    cells = heat_cells(run, "layers.0.units", "learning_rate")
    assert cells == {(0, 0): 0.505, (0, 1): "fail", (1, 0): 0.605, (1, 1): 0.655}
    assert heat_cells(run, "learning_rate", None) == {(0, 0): 0.605, (1, 0): 0.655}


def test_folds_alone_are_aggregated_when_the_engine_sends_no_aggregate():
    run = RunView(key="r", name="g", mode="grid", n_folds=2)
    for fold, score in ((0, 0.8), (1, 0.6)):
        run.apply(CandidateFinished(candidate=0, params={"units": 4}, fold=fold, score=score,
                                    seconds=2.0))  # fmt: skip
    cand = run.candidates[0]
    assert cand.status == "completed" and math.isclose(cand.mean, 0.7)
    assert math.isclose(cand.std, 0.1) and cand.fit_time == 2.0


def test_state_before_the_first_epoch():
    assert RunView(key="q", name="x", status="queued").state_line().startswith("Queued")
    run = RunView(key="r", name="x")
    assert run.state_line() == "Starting worker..."
    run.apply(RunStarted(run_id="r", mode="train"))
    assert run.state_line() == "Training: loading data and building the model..."
    run.apply(RunFinished(status="cancelled"))
    assert run.state_line() == "Stopped" and run.elapsed >= 0


def test_grid_state_names_the_candidate_fold_and_refit():
    run = RunView(key="r", name="g", mode="grid", status="running", n_candidates=4, n_folds=3)
    run.apply(EpochEnded(epoch=2, epochs=5, metrics={"loss": 1.0}, candidate=1, fold=2))
    assert run.state_line().startswith("Grid search: fits 0/12, candidate 2/4 fold 3/3 epoch 2/5")
    run.apply(EpochEnded(epoch=1, epochs=5, metrics={"loss": 1.0}, candidate=1, fold=None))
    assert "refitting candidate 2 on all the training data" in run.state_line()


def test_charts_draw_the_previous_run_faintly_and_only_positive_values_on_log(tiny_spec):
    first = played(train_script(epochs=3), tiny_spec)
    second = played(train_script(epochs=2, scale=2.0), tiny_spec)
    lines = run_series("loss", second, first)
    assert [(s.label, s.faint) for s in lines] == [
        ("prev", True), ("", True), ("train", False), ("val", False)
    ]  # fmt: skip
    assert lines[2].ys == [4.0, 2.0]
    metric = run_series("metric", second, first)
    assert metric[2].ys == [0.0, 0.5]


def test_helpers():
    assert epoch_ticks(1) == [1]
    assert epoch_ticks(8) == [1, 3, 5, 7, 8]
    assert epoch_ticks(40) == [1, 8, 15, 22, 29, 36, 40]
    assert fmt_duration(51) == "00:51" and fmt_duration(3725) == "1:02:05"
    assert fmt_duration(None) == "--:--"
    assert lower_is_better("val_loss") and lower_is_better("mae")
    assert not lower_is_better("accuracy")
    assert main_metric([{"loss": 1, "val_loss": 1, "mae": 2}]) == "mae"
    assert short_params({"optimizer__learning_rate": 0.001, "hidden.activation": "relu"}) == (
        "lr=0.001 hidden.activation=relu"
    )


def test_settings_and_a_run_read_back_from_its_folder(tiny_spec, tmp_path):
    from nnexplorer.core.runs import RunRecorder, create_run_dir, load_run

    assert settings_text(tiny_spec) == "8 relu | adam lr=0.01 | bs 16"
    folder = create_run_dir(tmp_path, tiny_spec, "train")
    recorder = RunRecorder(folder)
    for event in train_script(epochs=3)(tiny_spec, "train"):
        recorder(event)
    recorder.close()
    view = run_view_from_record(load_run(folder))
    assert view.status == "completed" and len(view.history) == 3
    assert view.test_metrics == {"loss": 0.31, "accuracy": 0.912}
