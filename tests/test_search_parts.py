"""The grid search's pure parts: parameter names, candidates, workers, journal, tailer, table."""

from __future__ import annotations

import json
import math
import threading
import time

import numpy as np
import pytest

from nnexplorer.core.events import CandidateFinished, CandidateStarted, EpochEnded, LogEvent
from nnexplorer.core.search._collector import FitTailer
from nnexplorer.core.search._fit import SearchConfig, candidate_spec, fold_of
from nnexplorer.core.search._journal import (
    FITS_DIR,
    JOURNAL_FILE,
    STOP_FILE,
    FitLog,
    StopFlag,
    fit_key,
    prepare_fits,
    read_journal,
)
from nnexplorer.core.search._records import candidate_rows, write_grid_csv
from nnexplorer.core.search._space import build_space, estimator_param, plan_workers
from nnexplorer.core.spec import validate_spec


@pytest.mark.parametrize(
    ("key", "name"),
    [
        ("optimizer__learning_rate", "optimizer__learning_rate"),
        ("compile.learning_rate", "optimizer__learning_rate"),
        ("learning_rate", "optimizer__learning_rate"),
        ("compile.momentum", "optimizer__momentum"),
        ("batch_size", "batch_size"),
        ("fit.epochs", "epochs"),
        ("compile.optimizer", "optimizer"),
        ("layers[0].units", "nnx__layers.0.units"),
        ("hidden.activation", "nnx__hidden.activation"),
        ("dropout", "nnx__dropout.rate"),
        ("n_hidden", "nnx__hidden.count"),
    ],
)
def test_grid_keys_become_estimator_parameters(key, name):
    assert estimator_param(key) == name


def spec_with_grid(tiny_spec_data, params, **grid):
    data = json.loads(json.dumps(tiny_spec_data))
    data["layers"].append({"type": "dropout", "rate": 0.1})
    data["grid"] = {"params": params, **grid}
    return validate_spec(data)


def test_candidates_keep_one_network_together(tiny_spec_data):
    params = {
        "optimizer__learning_rate": [0.1, 0.01],
        "layers.0.units": [4, 8],
        "epochs": [1, 2],
    }
    space = build_space(spec_with_grid(tiny_spec_data, params), seed=1)
    assert space.n_candidates == space.grid_size == 8
    units = [c["layers.0.units"] for c in space.candidates]
    assert units == [4, 4, 4, 4, 8, 8, 8, 8]  # the network changes once
    # inside: canonical spec paths, in preset key order; shown as the preset writes them
    paths = ["compile.learning_rate", "layers.0.units", "fit.epochs"]
    assert all(list(c) == paths for c in space.candidates)
    assert all(list(space.label(c)) == list(params) for c in space.candidates)
    assert space.keys == tuple(params)
    assert [space.candidate_of(c) for c in space.candidates] == list(range(8))
    assert space.grid_params({"net__nnx__layers.0.units": 4, "net__epochs": 2}) == {
        "layers.0.units": 4,
        "fit.epochs": 2,
    }
    assert space.label({"layers.0.units": 4, "fit.epochs": 2}) == {
        "layers.0.units": 4,
        "epochs": 2,
    }


def test_random_search_draws_n_iter_distinct_candidates(tiny_spec_data):
    params = {"layers.0.units": [2, 4, 8], "dropout.rate": [0.0, 0.2, 0.4]}
    spec = spec_with_grid(tiny_spec_data, params, search="random", n_iter=4)
    space = build_space(spec, seed=3)
    assert space.n_candidates == 4 and space.grid_size == 9
    assert len({json.dumps(c, sort_keys=True) for c in space.candidates}) == 4
    assert build_space(spec, seed=3).candidates == space.candidates


def test_candidate_spec_applies_every_grid_value(tiny_spec_data):
    spec = spec_with_grid(tiny_spec_data, {"hidden.activation": ["tanh"]})
    config = SearchConfig(
        spec=spec.to_dict(), keys={}, candidates=[], run_dir="", session="s", n_folds=2
    )
    values = {"hidden.activation": "tanh", "dropout.rate": 0.3, "optimizer__learning_rate": 0.5}
    candidate = candidate_spec(config, values)
    assert candidate.layers[0].activation == "tanh"
    assert candidate.layers[1].rate == 0.3
    assert candidate.compile.learning_rate == 0.5


@pytest.mark.parametrize(
    ("requested", "fits", "gpus", "cores", "busy", "expected"),
    [
        (-1, 24, 0, 2, 0.2, (2, 1, 0)),
        (-1, 24, 0, 16, 0.0, (16, 1, 0)),
        (4, 24, 0, 16, 0.0, (4, 4, 0)),
        (-1, 3, 0, 16, 0.0, (3, 5, 0)),
        (1, 24, 0, 8, 0.0, (1, 8, 0)),
        (-1, 24, 4, 16, 0.0, (4, 4, 4)),
        (-1, 24, 1, 16, 0.0, (1, 16, 0)),
        # other processes keep cores busy: -1 counts only the free ones
        (-1, 24, 0, 2, 0.7, (1, 2, 0)),
        (-1, 24, 0, 2, 3.0, (1, 2, 0)),
        (-1, 24, 0, 16, 6.2, (10, 1, 0)),
        (2, 24, 0, 2, 3.0, (2, 1, 0)),  # an explicit count is kept
        (-1, 24, 4, 16, 9.0, (4, 4, 4)),
    ],
)
def test_worker_plan(requested, fits, gpus, cores, busy, expected):
    plan = plan_workers(requested, fits, gpus, cores, busy)
    assert (plan.n_jobs, plan.threads, plan.gpus) == expected


def test_fold_is_the_one_missing_from_the_training_rows():
    folds = np.array([0, 1, 2, 0, 1, 2, 0, 1, 2])
    assert fold_of(folds[folds != 1], 3) == 1
    assert fold_of(folds[[0, 2, 5]], 3) == 1  # subsampled training rows (halving)
    assert fold_of(folds, 3) is None  # the refit sees every row
    assert fold_of(None, 3) is None


def record(candidate, fold, score, status="completed", n_train=100, reason=""):
    params = {"units": candidate}
    return {
        "type": "fit_record",
        "key": fit_key(params, fold, n_train, 2),
        "candidate": candidate,
        "fold": fold,
        "params": params,
        "score": score,
        "fit_time": 1.0,
        "status": status,
        "reason": reason,
        "n_train": n_train,
    }


def test_rows_rank_completed_then_incomplete_failed_pending():
    candidates = [{"units": i} for i in range(5)]
    records = [
        record(0, 0, 0.5),
        record(0, 1, 0.7),
        record(1, 0, 0.9),  # one fold of two
        record(2, 0, math.nan, "failed", reason="diverged"),
        record(2, 1, 0.8),
        record(3, 0, 0.8),
        record(3, 1, 0.8),
    ]
    rows = candidate_rows(candidates, records, n_folds=2)
    assert [(r["candidate"], r["status"]) for r in rows] == [
        (3, "completed"),
        (0, "completed"),
        (1, "incomplete"),
        (2, "failed"),
        (4, "pending"),
    ]
    assert [r["rank"] for r in rows] == [1, 2, 3, 4, 5]
    assert rows[1]["mean_test_score"] == pytest.approx(0.6)
    assert rows[1]["std_test_score"] == pytest.approx(0.1)  # population std, as scikit-learn
    assert math.isnan(rows[3]["mean_test_score"]) and rows[3]["reason"] == "diverged"


def test_halving_rows_show_the_last_round_first():
    candidates = [{"units": i} for i in range(3)]
    records = [record(c, f, 0.9 - 0.1 * c, n_train=30 + f) for c in range(3) for f in range(2)]
    records += [record(1, f, 0.6, n_train=90 + f) for f in range(2)]
    rows = candidate_rows(candidates, records, n_folds=2)
    assert [r["candidate"] for r in rows] == [1, 0, 2]
    assert rows[0]["mean_test_score"] == pytest.approx(0.6)


def test_grid_csv_columns(tmp_path):
    rows = candidate_rows([{"a": 1, "b": "relu"}], [], n_folds=2)
    write_grid_csv(tmp_path, ("a", "b"), rows)
    header, line = (tmp_path / "grid.csv").read_text().splitlines()
    assert header.startswith("rank,a,b,mean_test_score,std_test_score,mean_fit_time,status")
    assert line.startswith("1,1,relu,,,,pending")


def write_fit(run_dir, rec, epochs=2):
    log = FitLog(run_dir / FITS_DIR, rec["key"])
    log.write({**rec, "type": "fit_begin", "pid": 123})
    for epoch in range(1, epochs + 1):
        log.emit(
            EpochEnded(epoch=epoch, epochs=epochs, candidate=rec["candidate"], fold=rec["fold"])
        )
    log.write(rec)
    log.close()


def test_tailer_turns_fit_files_into_events(tmp_path):
    prepare_fits(tmp_path, resume=False)
    events: list = []
    tailer = FitTailer(tmp_path, events.append, run_id="r", n_candidates=2, n_folds=2)
    for candidate in range(2):
        for fold in range(2):
            write_fit(tmp_path, record(candidate, fold, 0.5 + 0.1 * fold))
    tailer.close()
    started = [e for e in events if isinstance(e, CandidateStarted)]
    assert {(e.candidate, e.fold, e.n_candidates, e.n_folds) for e in started} == {
        (c, f, 2, 2) for c in range(2) for f in range(2)
    }
    assert sum(isinstance(e, EpochEnded) for e in events) == 8
    finished = [e for e in events if isinstance(e, CandidateFinished)]
    overall = [e for e in finished if e.fold is None]
    assert len(finished) == 6 and len(overall) == 2
    assert overall[0].score == pytest.approx(0.55) and overall[0].std_score == pytest.approx(0.05)
    assert tailer.pids == {123}
    assert len(read_journal(tmp_path)) == 4
    assert len((tmp_path / JOURNAL_FILE).read_text().splitlines()) == 4


def test_tailer_reads_lines_as_they_are_completed(tmp_path):
    prepare_fits(tmp_path, resume=False)
    events: list = []
    tailer = FitTailer(tmp_path, events.append, run_id="r", n_candidates=1, n_folds=1)
    path = tmp_path / FITS_DIR / "k.jsonl"
    line = EpochEnded(epoch=1, epochs=1, candidate=0, fold=0).to_json()
    with open(path, "w") as handle:
        handle.write(line[:20])
        handle.flush()
        tailer.poll()
        assert events == []
        handle.write(line[20:] + "\n")
    tailer.poll()
    tailer.close()
    assert [type(e) for e in events] == [EpochEnded]


def test_refit_begin_is_a_log_line(tmp_path):
    prepare_fits(tmp_path, resume=False)
    events: list = []
    tailer = FitTailer(tmp_path, events.append, run_id="r", n_candidates=1, n_folds=2)
    log = FitLog(tmp_path / FITS_DIR, "refit")
    log.write({"type": "fit_begin", "candidate": 0, "fold": None, "pid": 1})
    log.close()
    tailer.close()
    # numbered from 1, as the progress lines and the tables number candidates
    assert isinstance(events[0], LogEvent) and "refitting candidate 1 " in events[0].message


def test_cancel_writes_the_stop_file_that_fits_watch(tmp_path):
    prepare_fits(tmp_path, resume=False)
    cancel = threading.Event()
    tailer = FitTailer(
        tmp_path,
        lambda e: None,
        run_id="r",
        n_candidates=1,
        n_folds=1,
        cancel=cancel,
        interval=0.01,
    ).start()
    flag = StopFlag(tmp_path / FITS_DIR, interval=0.0)
    assert not flag.is_set()
    cancel.set()
    deadline = time.monotonic() + 5
    while not flag.is_set() and time.monotonic() < deadline:
        time.sleep(0.01)
    tailer.close()
    assert flag.is_set() and (tmp_path / FITS_DIR / STOP_FILE).exists()


def test_resume_keeps_records_of_fits_the_parent_never_journaled(tmp_path):
    prepare_fits(tmp_path, resume=False)
    journaled, orphan, unfinished = record(0, 0, 0.5), record(0, 1, 0.6), record(1, 0, 0.7)
    (tmp_path / JOURNAL_FILE).write_text(json.dumps(journaled) + "\n")
    write_fit(tmp_path, orphan)  # finished, but its parent died before copying the record
    log = FitLog(tmp_path / FITS_DIR, unfinished["key"])
    log.write({**unfinished, "type": "fit_begin"})
    log.close()
    (tmp_path / FITS_DIR / STOP_FILE).touch()
    prior = prepare_fits(tmp_path, resume=True)
    assert set(prior) == {journaled["key"], orphan["key"]}
    assert list((tmp_path / FITS_DIR).iterdir()) == []  # fresh folder, no stop request
    assert set(read_journal(tmp_path)) == set(prior)
    assert prepare_fits(tmp_path, resume=False) == {}
    assert read_journal(tmp_path) == {}


def test_journal_skips_a_line_cut_short(tmp_path):
    prepare_fits(tmp_path, resume=False)
    good = record(0, 0, 0.5)
    (tmp_path / JOURNAL_FILE).write_text(json.dumps(good) + "\n" + '{"type": "fit_rec')
    assert list(read_journal(tmp_path)) == [good["key"]]
