"""The progress reducer (core.progress) and the shared vocabulary (core.formatting).

Every event carries an explicit ``time`` here, so the times the reducer derives are exact.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from types import SimpleNamespace
from typing import ClassVar

import pytest

from nnexplorer.core import events as ev
from nnexplorer.core.formatting import (
    STATUS_WORDS,
    abbrev,
    count,
    finite,
    fmt_duration,
    fmt_mean_std,
    fmt_number,
    fmt_param,
    fmt_seconds,
    headline_metrics,
    lower_is_better,
    main_metric,
    metrics_text,
    ordered_metrics,
    params_text,
    short_key,
    short_params,
    status_tone,
    status_word,
)
from nnexplorer.core.progress import REFIT, RunProgress, restore, seconds_per_epoch

T0 = 1_000.0


def epoch(n: int, of: int, seconds: float, at: float, **kw) -> ev.EpochEnded:
    metrics = kw.pop("metrics", {"loss": 1.0 / n, "accuracy": 0.5 + n / 100, "val_loss": 2.0 / n})
    return ev.EpochEnded(epoch=n, epochs=of, metrics=metrics, seconds=seconds, time=at, **kw)


def train_events(seconds=(5.0, 1.0, 1.0, 1.0), epochs: int = 10) -> list[ev.Event]:
    """A train run: a log line, run_started, one epoch event per entry of ``seconds``."""
    out: list[ev.Event] = [
        ev.LogEvent(message="data: 120 train", time=T0),
        ev.RunStarted(spec={"name": "demo", "epochs": epochs}, n_params=67, device="CPU",
                      run_dir="/runs/demo", time=T0 + 2),
    ]  # fmt: skip
    at = T0 + 2
    for n, secs in enumerate(seconds, start=1):
        at += secs
        out.append(epoch(n, epochs, secs, at))
    return out


# --------------------------------------------------------------------------- train runs


def test_train_run_epochs_batches_pace_and_eta():
    run = RunProgress().extend(train_events())
    assert run.status == "running" and run.running
    assert (run.name, run.epochs_planned, run.n_params) == ("demo", 10, 67)
    assert run.run_dir == "/runs/demo" and run.device == "CPU"
    assert run.epoch == 4 and run.epochs == 10 and len(run.history) == 4
    assert run.fit.metrics == run.history[-1]
    # the first epoch (5 s: graph tracing) no longer counts once later epochs exist
    assert run.seconds_per_epoch() == 1.0
    assert run.eta() == 6.0
    assert run.elapsed == 10.0  # from the first event (the log line) to the last
    run.apply(ev.BatchProgress(epoch=5, batch=10, batches=40, time=T0 + 10.5))
    assert run.fit.epochs_done() == 4.25 and run.epoch == 4
    run.apply(epoch(5, 10, 1.0, T0 + 11))
    assert run.fit.batch == 0 and run.fit.epochs_done() == 5.0
    assert run.metric() == "accuracy"
    assert run.best_val() == ("val_loss", 0.4)  # no val_accuracy: the best val_loss
    assert run.fits() == [run.fit] and run.running_fits() == []


def test_a_lone_first_epoch_counts_until_a_second_one_arrives():
    run = RunProgress().extend(train_events(seconds=(5.0,), epochs=3))
    assert run.seconds_per_epoch() == 5.0 and run.eta() == 10.0


def test_seconds_per_epoch_window_and_unknown_times():
    assert seconds_per_epoch([]) is None
    assert seconds_per_epoch([0.0]) is None
    assert seconds_per_epoch([9.0, 1.0, 1.0, 1.0, 1.0, 1.0, 3.0], window=5) == 1.4
    assert seconds_per_epoch([9.0, 0.0, math.nan, 2.0]) == 2.0
    assert seconds_per_epoch([9.0, 0.0]) == 9.0  # nothing known after the first: the first


def test_eta_unknown_without_planned_epochs():
    run = RunProgress()
    run.apply(ev.EpochEnded(epoch=1, epochs=0, metrics={"loss": 1.0}, seconds=1.0, time=T0))
    assert run.seconds_per_epoch() == 1.0 and run.eta() is None


def test_finished_run_takes_the_summary():
    run = RunProgress().extend(train_events())
    summary = {"test_metrics": {"loss": 0.3, "accuracy": 0.9}, "wall_seconds": 42.5,
               "device": "GPU 0"}  # fmt: skip
    run.apply(ev.RunFinished(status="completed", summary=summary, time=T0 + 20))
    assert not run.running and run.status == "completed" and run.fit.status == "completed"
    assert run.test_metrics == {"loss": 0.3, "accuracy": 0.9} and run.device == "GPU 0"
    assert run.elapsed == 42.5


def test_elapsed_without_a_summary_runs_to_the_end_event_and_from_a_given_start():
    run = RunProgress(started=T0 - 3)  # asked for 3 s before the worker's first event
    run.extend(train_events(seconds=(1.0,)))
    run.apply(ev.RunFinished(status="failed", message="worker died", time=T0 + 7))
    assert run.elapsed == 10.0 and run.message == "worker died"
    assert run.fit.status == "failed"


def test_a_run_read_back_from_json_lines_is_the_run_followed_live():
    live = RunProgress().extend(train_events())
    replayed = RunProgress().extend(ev.from_json(e.to_json()) for e in train_events())
    assert replayed == live


def test_unknown_event_types_only_move_the_clock():
    @dataclass(frozen=True, kw_only=True)
    class LayerStats(ev.Event):
        type: ClassVar[str] = "layer_stats_from_a_newer_worker"

    run = RunProgress().extend(train_events(seconds=(1.0,)))
    before = run.history[:]
    run.apply(LayerStats(time=T0 + 50))
    assert run.history == before and run.last_time == T0 + 50


# --------------------------------------------------------------------------- grids


def fold_done(cand: int, fold: int | None, params, score, at: float, **kw) -> ev.Event:
    failed = score is None or math.isnan(score)
    return ev.CandidateFinished(
        candidate=cand,
        fold=fold,
        params=params,
        score=score,
        seconds=10.0,
        time=at,
        status="failed" if failed else "completed",
        reason="loss became NaN" if failed else "",
        **kw,
    )


def grid_events(*, fail: int | None = 1, aggregates: bool = True) -> list[ev.Event]:
    """2 candidates x 2 folds, one fit at a time (10 s each), candidate ``fail`` failing;
    then the refit of candidate 0 and run_finished."""
    params = [{"optimizer__learning_rate": 0.01}, {"optimizer__learning_rate": 0.1}]
    out: list[ev.Event] = [ev.RunStarted(mode="grid", n_candidates=2, n_folds=2, time=T0)]
    at = T0
    for cand in (0, 1):
        scores = []
        for fold in (0, 1):
            out.append(
                ev.CandidateStarted(
                    candidate=cand, fold=fold, params=params[cand], n_candidates=2, n_folds=2,
                    time=at,
                )
            )  # fmt: skip
            out.append(epoch(1, 2, 6.0, at + 6, candidate=cand, fold=fold))
            out.append(epoch(2, 2, 4.0, at + 10, candidate=cand, fold=fold))
            at += 10
            scores.append(None if cand == fail else 0.8 - 0.1 * cand + 0.02 * fold)
            out.append(fold_done(cand, fold, params[cand], scores[-1], at))
        if aggregates:
            ok = [s for s in scores if s is not None]
            mean, std = (sum(ok) / 2, 0.01) if len(ok) == 2 else (math.nan, math.nan)
            out.append(fold_done(cand, None, params[cand], mean, at, std_score=std))
    out.append(epoch(1, 2, 3.0, at + 3, candidate=0, fold=None))
    out.append(epoch(2, 2, 1.0, at + 4, candidate=0, fold=None))
    summary = {"best_params": params[0], "best_score": 0.81, "test_metrics": {"accuracy": 0.9}}
    out.append(ev.RunFinished(status="completed", summary=summary, time=at + 5))
    return out


def test_grid_folds_failures_ranking_and_refit():
    events = grid_events()
    run = RunProgress().extend(events)
    assert run.mode == "grid" and run.status == "completed"
    assert run.fits_total() == 4 and run.fits_done() == 4
    good, bad = run.candidates[0], run.candidates[1]
    assert good.status == "completed" and math.isclose(good.mean, 0.81) and good.std == 0.01
    assert bad.status == "failed" and bad.mean is None and bad.reason == "loss became NaN"
    assert [c.index for c in run.ranked()] == [0] and run.rank_of(1) is None
    assert run.best_candidate_params() == {"optimizer__learning_rate": 0.01}
    assert run.top_score() == 0.81
    assert sorted(good.histories) == [REFIT, 0, 1] and len(good.histories[REFIT]) == 2
    assert good.fits[REFIT].status == "completed"  # the refit ends with the run
    assert good.fits[0].score == 0.8 and good.fits[0].seconds == 10.0
    assert run.history == []  # a grid has no train-run history
    assert run.metric() == "accuracy"
    assert run.test_metrics == {"accuracy": 0.9}


def test_grid_progress_while_it_runs():
    events = grid_events()
    run = RunProgress()
    run.extend(events[:3])  # run_started, candidate 0 fold 0 started, its first epoch
    assert run.fits_done() == 0 and run.grid_eta() is None
    assert run.active == (0, 0) and run.epoch == 1 and run.epochs == 2
    assert [(f.candidate, f.fold, f.epoch) for f in run.running_fits()] == [(0, 0, 1)]
    run.extend(events[3:5])  # its second epoch, and the fold's end at T0 + 10
    assert run.fits_done() == 1 and run.grid_eta() == 30.0  # 10 s a fit, 3 left
    assert run.eta() == run.grid_eta()
    run.extend(events[5:9])  # fold 1 (ends at T0 + 20), then the aggregate
    assert run.fits_done() == 2 and run.grid_eta() == 20.0
    refit_at = next(i for i, e in enumerate(events) if getattr(e, "fold", 0) is None
                    and isinstance(e, ev.EpochEnded))  # fmt: skip
    run.extend(events[9 : refit_at + 1])
    assert run.active == (0, REFIT) and run.grid_eta() == 0.0
    assert [(f.candidate, f.fold) for f in run.running_fits()] == [(0, None)]


def test_parallel_fits_share_the_elapsed_time_and_replayed_fits_do_not_set_the_pace():
    run = RunProgress(mode="grid", n_candidates=4, n_folds=1)
    # a resumed search first reports a fit finished in an earlier session: done, not timed
    run.apply(ev.CandidateFinished(candidate=3, fold=0, score=0.5, seconds=30.0, time=T0))
    for cand in (0, 1):
        run.apply(ev.CandidateStarted(candidate=cand, fold=0, n_candidates=4, n_folds=1, time=T0))
    for cand in (0, 1):
        run.apply(ev.CandidateFinished(candidate=cand, fold=0, score=0.6, seconds=8, time=T0 + 8))
    assert run.fits_done() == 3
    assert run.grid_eta() == 4.0  # two fits in 8 s: 4 s a fit, one fit left


def test_folds_alone_are_aggregated_when_the_engine_sends_no_aggregate():
    run = RunProgress().extend(grid_events(fail=None, aggregates=False))
    cand = run.candidates[1]
    assert cand.status == "completed" and math.isclose(cand.mean, 0.71)
    assert math.isclose(cand.std, 0.01) and cand.fit_time == 10.0
    failing = RunProgress().extend(grid_events(fail=0, aggregates=False))
    assert failing.candidates[0].status == "failed" and failing.candidates[0].mean is None


def test_a_stopped_grid_ends_its_fits_and_candidates_with_it():
    events = grid_events()
    run = RunProgress().extend(events[:7])  # candidate 0 fold 1 in its first epoch
    run.apply(ev.RunFinished(status="cancelled", message="stopped by the user", time=T0 + 30))
    assert run.candidates[0].status == "cancelled"
    assert run.candidates[0].fits[1].status == "cancelled" and run.running_fits() == []
    assert run.candidates[0].fits[0].status == "completed"
    # a completed run leaves nothing "running": what never finished is unfinished
    done = RunProgress().extend(events[:7])
    done.apply(ev.RunFinished(status="completed", time=T0 + 30))
    assert done.candidates[0].status == "unfinished"


def test_sweep_variants_train_as_whole_split_fits():
    run = RunProgress(mode="sweep")
    for variant in (0, 1):
        run.apply(epoch(1, 3, 1.0, T0 + variant, candidate=variant, fold=None))
    assert run.history == [] and sorted(run.candidates) == [0, 1]
    assert run.candidates[1].latest_history() == run.candidates[1].fits[REFIT].history
    assert run.active == (1, REFIT)


# --------------------------------------------------------------------------- records


def record(events, history=(), summary=None):
    return SimpleNamespace(events=list(events), history=list(history), summary=summary)


def test_restore_from_a_run_folder():
    whole = train_events()
    finished = restore(RunProgress(), record([*whole, ev.RunFinished(status="completed",
                                                                     time=T0 + 20)]))  # fmt: skip
    assert finished.status == "completed"
    # no run_finished event: the summary says how it ended, else it is unfinished
    summary = {"status": "cancelled", "test_metrics": {"loss": 0.5}, "wall_seconds": 12}
    cut = restore(RunProgress(), record(whole, summary=summary))
    assert cut.status == "cancelled" and cut.test_metrics == {"loss": 0.5} and cut.elapsed == 12
    assert restore(RunProgress(), record(whole)).status == "unfinished"
    # a live run keeps running: a follower applies what comes next
    assert restore(RunProgress(), record(whole), live=True).status == "running"
    # no epoch events: the history comes from history.csv
    rows = [{"epoch": 1, "loss": 0.9}, {"epoch": 2, "loss": 0.7}]
    old = restore(RunProgress(), record([], history=rows, summary={"status": "completed"}))
    assert old.history == [{"loss": 0.9}, {"loss": 0.7}] and old.epoch == 2


# --------------------------------------------------------------------------- formatting


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (None, "-"), (0.123456, "0.1235"), (12, "12"), (123456, "123456"),
        (math.nan, "nan"), (math.inf, "inf"), (-math.inf, "-inf"), (True, "True"),
        ("relu", "relu"), (1e-5, "1e-05"),
    ],
)  # fmt: skip
def test_fmt_number(value, shown):
    assert fmt_number(value) == shown


def test_numbers_durations_and_seconds():
    assert finite(3) == 3.0 and finite(math.nan) is None and finite(True) is None
    assert finite("1") is None
    assert fmt_param(0.001) == "0.001" and fmt_param(0.123456) == "0.123456"
    assert fmt_param(64) == "64" and fmt_param(None) == "-"
    # one precision for both: the spread's two significant digits decide the decimals
    assert fmt_mean_std(0.655, 0.00512) == "0.6550 ± 0.0051"
    assert fmt_mean_std(0.8, 0.02) == "0.800 ± 0.020"
    assert fmt_mean_std(-3708.48, 120.3) == "-3708 ± 120"
    assert fmt_mean_std(0.91, 0.0) == "0.91 ± 0"
    assert count(1, "epoch") == "1 epoch" and count(30, "epoch") == "30 epochs"
    assert fmt_mean_std(0.8, None) == "0.8" and fmt_mean_std(None, 0.1) == "-"
    assert fmt_duration(7) == "00:07" and fmt_duration(125) == "02:05"
    assert fmt_duration(3723) == "1:02:03"
    for unknown in (None, math.nan, -1):
        assert fmt_duration(unknown) == "--:--"
    assert [fmt_seconds(s) for s in (0.04, 0.5, 1.234, 12.34, 250.4)] == [
        "0.04", "0.5", "1.23", "12.3", "250"
    ]  # fmt: skip
    assert fmt_seconds(None) == "-"


def test_one_status_vocabulary():
    for status in (*ev.STATUSES, "running", "starting", "queued", "unfinished", "interrupted"):
        assert status in STATUS_WORDS and status_tone(status) in (
            "good", "warning", "error", "busy", "quiet"
        )  # fmt: skip
    assert [status_word(s) for s in ev.STATUSES] == [
        "done", "diverged", "stopped", "failed", "interrupted"
    ]  # fmt: skip
    assert status_tone("completed") == "good" and status_tone("failed") == "error"
    assert status_tone("diverged") == status_tone("cancelled") == "warning"
    assert status_word("something new") == "something new"


def test_metric_names_and_order():
    metrics = {"accuracy": 0.9, "val_accuracy": 0.8, "val_loss": 0.4, "loss": 0.3, "val_x": 1}
    assert [k for k, _ in ordered_metrics(metrics)] == [
        "loss", "val_loss", "accuracy", "val_accuracy", "val_x"
    ]  # fmt: skip
    assert metrics_text({"loss": 0.5, "val_loss": 0.25}) == "loss 0.5  val_loss 0.25"
    tests = {"loss": 0.31, "accuracy": 0.912, "auc": math.nan}
    assert headline_metrics(tests, "accuracy") == [("accuracy", 0.912), ("loss", 0.31)]
    assert abbrev("accuracy") == "acc" and abbrev("mae") == "mae"
    assert lower_is_better("val_loss") and lower_is_better("mae")
    assert not lower_is_better("accuracy")
    assert main_metric([{"loss": 1, "val_loss": 1, "lr": 0.1, "mae": 2}]) == "mae"
    assert main_metric([{"loss": 1}]) is None


def test_grid_parameter_texts():
    params = {"optimizer__learning_rate": 0.001, "hidden.activation": "relu"}
    assert short_key("compile.learning_rate") == "lr" and short_key("model__units") == "units"
    assert short_params(params) == "lr=0.001 hidden.activation=relu"
    assert params_text(params) == "optimizer__learning_rate=0.001, hidden.activation=relu"
