"""Grid searches end to end on tiny data: events, records, faults, cancel and resume.

Every test really trains (iris, a Dense layer of a few units, 1-2 epochs, 2 folds).
"""

from __future__ import annotations

import csv
import json
import os
import signal
import threading
import time
from collections import Counter
from pathlib import Path

import pytest

from nnexplorer.core.events import CandidateFinished, EpochEnded, RunFinished, RunSummary
from nnexplorer.core.spec import validate_spec

pytestmark = pytest.mark.slow


def grid_spec(tiny_spec_data: dict, params: dict, **grid) -> object:
    data = json.loads(json.dumps(tiny_spec_data))
    data["grid"] = {"cv": 2, "n_jobs": 1, "params": params, **grid}
    return validate_spec(data)


def run(spec, run_dir: Path, **kwargs):
    from nnexplorer.core.search import grid_search

    events: list = []
    result = grid_search(spec, run_dir, events.append, **kwargs)
    return result, events


def grid_rows(run_dir: Path) -> list[dict]:
    with open(run_dir / "grid.csv", encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def journal(run_dir: Path) -> list[dict]:
    lines = (run_dir / "fits.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines if line.strip()]


GRID_2X2 = {"layers.0.units": [4, 8], "optimizer__learning_rate": [0.01, 0.05]}


def test_2x2_grid_end_to_end(tiny_spec_data, tmp_path):
    spec = grid_spec(tiny_spec_data, GRID_2X2)
    result, events = run(spec, tmp_path / "run")
    assert result.status == "completed", result.message
    started = events[[e.type for e in events].index("run_started")]
    assert (started.mode, started.n_candidates, started.n_folds) == ("grid", 4, 2)
    # every fit's epochs reached this emit, tagged with candidate and fold
    epochs = Counter((e.candidate, e.fold) for e in events if isinstance(e, EpochEnded))
    cv_epochs = {key: n for key, n in epochs.items() if key[1] is not None}
    assert cv_epochs == {(c, f): 2 for c in range(4) for f in range(2)}
    assert sum(n for key, n in epochs.items() if key[1] is None) == 2  # the refit
    finished = [e for e in events if isinstance(e, CandidateFinished)]
    per_fold = {(e.candidate, e.fold) for e in finished if e.fold is not None}
    assert per_fold == {(c, f) for c in range(4) for f in range(2)}
    overall = {e.candidate: e for e in finished if e.fold is None}
    assert sorted(overall) == [0, 1, 2, 3]
    assert all(e.status == "completed" and e.std_score is not None for e in overall.values())
    assert isinstance(events[-1], RunFinished) and events[-1].status == "completed"

    run_dir = tmp_path / "run"
    rows = grid_rows(run_dir)
    assert [r["rank"] for r in rows] == ["1", "2", "3", "4"]
    # TensorBoard: a folder per candidate, one per fold (and the best one's refit)
    logs = run_dir / "tensorboard"
    assert sorted(p.name for p in logs.iterdir()) == [f"candidate-{i}" for i in range(1, 5)]
    assert len(list(logs.glob("candidate-*/fold-*/train"))) == 8
    assert len(list(logs.glob("candidate-*/refit/train"))) == 1
    import tensorflow as tf

    (events_file,) = (logs / "candidate-1" / "fold-1" / "train").glob("events.out.tfevents.*")
    steps = [
        e.step
        for e in tf.compat.v1.train.summary_iterator(str(events_file))
        for v in e.summary.value
        if v.tag == "epoch_loss"
    ]
    assert steps == [1, 2]
    assert set(rows[0]) >= {"layers.0.units", "optimizer__learning_rate", "mean_test_score"}
    assert {(r["layers.0.units"], r["optimizer__learning_rate"]) for r in rows} == {
        ("4", "0.01"),
        ("4", "0.05"),
        ("8", "0.01"),
        ("8", "0.05"),
    }
    assert all(r["status"] == "completed" and r["std_test_score"] for r in rows)
    scores = [float(r["mean_test_score"]) for r in rows]
    assert scores == sorted(scores, reverse=True)
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["status"] == "completed" and summary["mode"] == "grid"
    assert set(summary) <= RunSummary.__optional_keys__  # every key is documented
    assert summary["n_candidates"] == 4
    assert summary["best_score"] == pytest.approx(scores[0])
    assert summary["best_params"] == {
        "layers.0.units": int(rows[0]["layers.0.units"]),
        "optimizer__learning_rate": float(rows[0]["optimizer__learning_rate"]),
    }
    assert summary["best_params"] == overall_best(overall)
    assert set(summary["test_metrics"]) >= {"loss", "accuracy"}
    assert (run_dir / "model.keras").is_file()
    assert len(journal(run_dir)) == 8
    assert (run_dir / "history.csv").read_text().startswith("epoch,candidate,fold")


def overall_best(overall: dict) -> dict:
    best = max(overall.values(), key=lambda e: (e.score, -e.candidate))
    return best.params


def test_n_jobs_2_runs_fits_in_worker_processes(tiny_spec_data, tmp_path):
    spec = grid_spec(tiny_spec_data, GRID_2X2, n_jobs=2)
    result, events = run(spec, tmp_path / "run")
    assert result.status == "completed", result.message
    assert result.summary["n_jobs"] == 2
    pairs = {(e.candidate, e.fold) for e in events if isinstance(e, EpochEnded)}
    assert {(c, f) for c in range(4) for f in range(2)} <= pairs
    records = journal(tmp_path / "run")
    assert len(records) == 8
    pids = {r["pid"] for r in records}
    assert os.getpid() not in pids  # the fits ran in loky workers
    # the same search in this process scores the same: per-worker threads change nothing
    spec1 = grid_spec(tiny_spec_data, GRID_2X2, n_jobs=1)
    result1, _ = run(spec1, tmp_path / "run1")
    scores2 = {r["candidate"]: float(r["mean_test_score"]) for r in grid_rows(tmp_path / "run")}
    scores1 = {r["candidate"]: float(r["mean_test_score"]) for r in grid_rows(tmp_path / "run1")}
    assert scores1 == pytest.approx(scores2, abs=1e-6)
    assert result1.best_params == result.best_params


DIVERGING = {"compile.optimizer": ["sgd"], "optimizer__learning_rate": [0.05, 100.0]}


def test_diverging_candidate_fails_and_search_goes_on(tiny_spec_data, tmp_path):
    tiny_spec_data["fit"]["epochs"] = 3
    spec = grid_spec(tiny_spec_data, DIVERGING)
    result, events = run(spec, tmp_path / "run")
    assert result.status == "completed", result.message
    assert result.best_params["optimizer__learning_rate"] == 0.05
    overall = {
        e.candidate: e for e in events if isinstance(e, CandidateFinished) and e.fold is None
    }
    assert overall[1].status == "failed" and "diverged" in overall[1].reason
    assert overall[0].status == "completed"
    rows = {r["candidate"]: r for r in grid_rows(tmp_path / "run")}
    assert rows["1"]["status"] == "failed" and rows["1"]["mean_test_score"] == ""
    assert "learning rate" in rows["1"]["reason"]
    assert rows["0"]["rank"] == "1"
    assert result.summary["n_failed_candidates"] == 1


def test_all_failing_grid_is_one_clear_failure(tiny_spec_data, tmp_path):
    tiny_spec_data["fit"]["epochs"] = 10  # a diverged fit stops at once: time enough for all
    spec = grid_spec(
        tiny_spec_data,
        {
            "compile.optimizer": ["sgd"],
            "optimizer__learning_rate": [100.0],
            "layers.0.units": [8, 16],
        },
    )
    result, events = run(spec, tmp_path / "run")
    assert result.status == "failed"
    assert result.message.startswith("every candidate failed (4 fits: 2 candidates x 2 folds): ")
    assert "diverged" in result.message
    finished = [e for e in events if isinstance(e, RunFinished)]
    assert len(finished) == 1 and finished[0].status == "failed"
    rows = grid_rows(tmp_path / "run")
    assert len(rows) == 2 and all(r["status"] == "failed" for r in rows)
    assert json.loads((tmp_path / "run" / "summary.json").read_text())["status"] == "failed"


def _cancel_after_first_candidate(cancel: threading.Event, events: list):
    def emit(event):
        events.append(event)
        if isinstance(event, CandidateFinished) and event.fold is None:
            cancel.set()

    return emit


def test_cancel_keeps_finished_fits_and_resume_completes(tiny_spec_data, tmp_path):
    from nnexplorer.core.search import grid_search

    tiny_spec_data["fit"]["epochs"] = 3
    spec = grid_spec(tiny_spec_data, GRID_2X2)
    run_dir = tmp_path / "run"
    cancel, first = threading.Event(), []
    result = grid_search(spec, run_dir, _cancel_after_first_candidate(cancel, first), cancel)
    assert result.status == "cancelled"
    assert result.exit_code == 130
    kept = journal(run_dir)
    assert 2 <= len(kept) < 8  # candidate 0's folds at least, not everything
    assert all(r["status"] == "completed" for r in kept)
    rows = grid_rows(run_dir)
    assert len(rows) == 4 and {r["status"] for r in rows} >= {"completed", "pending"}
    assert json.loads((run_dir / "summary.json").read_text())["status"] == "cancelled"

    done_before = {(r["candidate"], r["fold"]) for r in kept}
    result2, events = run(spec, run_dir, resume=True)
    assert result2.status == "completed", result2.message
    trained = {(e.candidate, e.fold) for e in events if isinstance(e, EpochEnded)}
    assert not trained & done_before  # finished fits were not fitted again
    assert trained >= {(c, f) for c in range(4) for f in range(2)} - done_before
    final = journal(run_dir)
    assert len(final) == 8 and len({r["key"] for r in final}) == 8
    rows = grid_rows(run_dir)
    assert len(rows) == 4 and all(r["status"] == "completed" for r in rows)
    assert result2.summary["fits_reused"] == len(kept)
    assert result2.summary["best_params"]


def test_killed_worker_ends_search_with_clear_message(tiny_spec_data, tmp_path):
    tiny_spec_data["fit"]["epochs"] = 20
    # three networks for two workers: a fused model is still to train when the first ends
    spec = grid_spec(tiny_spec_data, {**GRID_2X2, "layers.0.units": [4, 8, 12]}, n_jobs=2)
    run_dir = tmp_path / "run"
    killed: list[int] = []

    def emit(event):
        if isinstance(event, CandidateFinished) and event.fold is not None and not killed:
            pids = [r["pid"] for r in _fit_begins(run_dir) if r["pid"] != os.getpid()]
            if pids:
                killed.append(pids[-1])
                os.kill(pids[-1], signal.SIGKILL)

    from nnexplorer.core.search import grid_search

    result = grid_search(spec, run_dir, emit)
    assert killed
    assert result.status == "failed"
    assert result.message.startswith("a worker process died (killed by SIGKILL): most likely")
    assert "out of memory; lower grid.n_jobs (it was 2" in result.message
    assert "--resume" in result.message
    others = {r["pid"] for r in _fit_begins(run_dir)} - {os.getpid(), *killed}
    time.sleep(1)
    assert not any(Path(f"/proc/{pid}").exists() and _running(pid) for pid in others)
    assert len(journal(run_dir)) >= 1  # the finished fit is kept
    assert len(grid_rows(run_dir)) == 6


def _running(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def _fit_begins(run_dir: Path) -> list[dict]:
    found = []
    for path in (run_dir / "fits").glob("*.jsonl"):
        for line in path.read_text().splitlines():
            data = json.loads(line)
            if data.get("type") == "fit_begin":
                found.append(data)
    return found


def test_random_search_evaluates_n_iter_candidates(tiny_spec_data, tmp_path):
    tiny_spec_data["fit"]["epochs"] = 1
    spec = grid_spec(tiny_spec_data, GRID_2X2, search="random", n_iter=2)
    result, events = run(spec, tmp_path / "run")
    assert result.status == "completed", result.message
    assert result.summary["search"] == "random" and result.summary["n_candidates"] == 2
    assert len(grid_rows(tmp_path / "run")) == 2
    assert "RandomizedSearchCV" in " ".join(e.message for e in events if e.type == "log")


def test_halving_search_runs_rounds(tiny_spec_data, tmp_path):
    tiny_spec_data["fit"]["epochs"] = 1
    spec = grid_spec(tiny_spec_data, GRID_2X2, search="halving", factor=2)
    result, events = run(spec, tmp_path / "run")
    assert result.status == "completed", result.message
    assert result.summary["search"] == "halving"
    assert "HalvingGridSearchCV" in " ".join(e.message for e in events if e.type == "log")
    records = journal(tmp_path / "run")
    sizes = sorted({r["n_train"] for r in records})
    assert len(records) > 8 and sizes[0] < sizes[-1]  # later rounds train on more rows
    rows = grid_rows(tmp_path / "run")
    assert len(rows) == 4
    best = rows[0]
    assert {k: best[k] for k in GRID_2X2} == {k: str(v) for k, v in result.best_params.items()}


@pytest.mark.timeout(900)  # three processes import TensorFlow, twice over
def test_worker_process_ctrl_c_then_resume(tiny_spec_data, tmp_path):
    """The child-process path: Ctrl-C reaches the whole process group (loky workers too)."""
    import subprocess
    import sys

    from nnexplorer.core.events import from_json
    from nnexplorer.core.runs import create_run_dir

    tiny_spec_data["fit"]["epochs"] = 10
    # three networks for two workers: a fused model is still to train when the first ends
    spec = grid_spec(tiny_spec_data, {**GRID_2X2, "layers.0.units": [4, 8, 12]}, n_jobs=2)
    run_dir = create_run_dir(tmp_path / "runs", spec, "grid")
    command = [sys.executable, "-m", "nnexplorer.core.worker", str(run_dir), "--grid"]
    with open(tmp_path / "stderr.log", "w") as stderr:
        proc = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=stderr, text=True, start_new_session=True
        )
        assert proc.stdout is not None
        for line in proc.stdout:
            event = from_json(line)
            if isinstance(event, CandidateFinished) and event.fold is not None:
                os.killpg(proc.pid, signal.SIGINT)
                break
        last = [from_json(line) for line in proc.stdout][-1]
        assert proc.wait(timeout=120) == 130
    assert isinstance(last, RunFinished) and last.status == "cancelled"
    kept = journal(run_dir)
    assert 1 <= len(kept) < 12
    done_before = {(r["candidate"], r["fold"]) for r in kept}

    resumed = subprocess.run(
        [*command, "--resume"], capture_output=True, text=True, timeout=300, check=False
    )
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    events = [from_json(line) for line in resumed.stdout.splitlines()]
    trained = {(e.candidate, e.fold) for e in events if isinstance(e, EpochEnded)}
    assert not trained & done_before
    assert events[-1].status == "completed"
    rows = grid_rows(run_dir)
    assert len(rows) == 6 and all(r["status"] == "completed" for r in rows)
    assert len(journal(run_dir)) == 12


def test_probability_scoring_on_a_binary_task(tiny_spec_data, tmp_path):
    tiny_spec_data["data"] = {"source": "sklearn:breast_cancer", "test_size": 0.3}
    tiny_spec_data["fit"]["epochs"] = 1
    spec = grid_spec(tiny_spec_data, {"layers.0.units": [4]}, scoring="roc_auc")
    result, _ = run(spec, tmp_path / "run")
    assert result.status == "completed", result.message
    assert 0.5 < result.best_score <= 1.0
    assert 0.5 < result.summary["test_score"] <= 1.0
    assert result.summary["scoring"] == "roc_auc"


def test_unknown_scoring_is_named(tiny_spec_data, tmp_path):
    spec = grid_spec(tiny_spec_data, {"layers.0.units": [4]}, scoring="acuracy")
    result, _ = run(spec, tmp_path / "run")
    assert result.status == "failed"
    assert "'acuracy' is not a scikit-learn scorer; did you mean 'accuracy'?" in result.message


def test_reused_networks_score_exactly_like_fresh_ones(tiny_spec_data, tmp_path):
    """A worker reuses a traced network across learning rates: the numbers must not change."""
    spec = grid_spec(tiny_spec_data, GRID_2X2)
    reused, _ = run(spec, tmp_path / "reused")
    fresh, _ = run(spec, tmp_path / "fresh", reuse_models=False, steps_per_execution=1)
    assert reused.status == fresh.status == "completed"
    scores = {}
    for name in ("reused", "fresh"):
        rows = grid_rows(tmp_path / name)
        scores[name] = {r["candidate"]: r["mean_test_score"] for r in rows}
    assert scores["reused"] == scores["fresh"]
    assert reused.summary["test_metrics"] == pytest.approx(fresh.summary["test_metrics"])
