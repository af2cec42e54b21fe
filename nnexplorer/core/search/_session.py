"""Grid search: scikit-learn's GridSearchCV (or halving / randomized) over a scikeras estimator.

:func:`grid_search` is the one entry point, used in-process by ``nnexplorer run PRESET --grid``
and in a child process by :mod:`nnexplorer.core.worker`. The search is a real scikit-learn
search over ``Pipeline([scaler, NnxKerasClassifier | NnxKerasRegressor])`` (the scaler is
fitted inside each fold, so that no fold leaks into another), cross-validated with seeded,
shuffled (stratified) folds. The best candidate is refitted on the whole training split
(training + validation rows) and evaluated on the test split.

Fits run in loky worker processes (``grid.n_jobs``, -1 for all cores), or with ``[grid] backend
= "dask"`` on the workers of a Dask cluster (:mod:`._dask`). A local fit writes its events to
its own file, which this process follows (:class:`~._collector.FitTailer`); a Dask fit sends them
through Dask (:class:`~._dask_feed.DaskFeed`). Either way this process alone passes them to
``emit`` and writes the run directory: the journal of finished fits (``fits.jsonl``),
``grid.csv``, ``summary.json``, ``events.jsonl``, ``history.csv`` and the refitted
``model.keras``. ``resume=True`` continues a search in the same run directory without redoing
its finished fits.
"""

from __future__ import annotations

import threading
import time
import traceback
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nnexplorer.core.errors import describe_error
from nnexplorer.core.events import (
    Cancel,
    Emit,
    Event,
    LogEvent,
    RunFinished,
    RunResult,
    RunStarted,
    RunStatus,
    RunSummary,
    tee,
)
from nnexplorer.core.runs import MODEL_FILE, RunRecorder
from nnexplorer.core.search._collector import FitCollector, FitTailer
from nnexplorer.core.search._fit import FitCancelled
from nnexplorer.core.search._journal import prepare_fits, request_stop, stop_requested
from nnexplorer.core.search._records import best_row, candidate_rows, write_grid_csv
from nnexplorer.core.search._state import SearchState, evaluate_best, failure_message, fit_search
from nnexplorer.core.spec import ExperimentSpec, GridSpec


@dataclass(frozen=True)
class SearchResult(RunResult):
    """How a search ended (status completed, cancelled or failed), with the best candidate."""

    best_params: dict[str, Any] = field(default_factory=dict)
    best_score: float | None = None


def _serialised(emit: Emit) -> Emit:
    lock = threading.Lock()

    def out(event: Event) -> None:
        with lock:
            emit(event)

    return out


def grid_search(
    spec: ExperimentSpec,
    run_dir: str | Path,
    emit: Emit | None,
    cancel: Cancel | None = None,
    resume: bool = False,
    *,
    n_jobs: int | None = None,
    reuse_models: bool = True,
    steps_per_execution: int | None = None,
    warm_workers: bool = True,
    group_fits: bool = True,
) -> SearchResult:
    """Search ``spec.grid`` and record it in ``run_dir``; never raises.

    Status ``completed``; ``cancelled`` when ``cancel`` was set (or on KeyboardInterrupt):
    running fits stop within a batch and every finished fit stays in the journal; ``failed``
    when every candidate failed, a worker process died, the Dask scheduler cannot be reached,
    or anything else went wrong, with a message saying which. ``n_jobs`` overrides
    ``grid.n_jobs`` (local backend). The speed settings (all on by
    default; bench/grid.py measures each): ``reuse_models`` (a worker reuses a traced network
    when only learning rate, epochs or batch size change), ``steps_per_execution`` (training
    steps per call into TensorFlow, default 8), ``warm_workers`` (start the worker processes
    while this one loads data) and ``group_fits`` (hand each worker all fits of one network).
    """
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    recorder = RunRecorder(run_dir)
    out = _serialised(tee(recorder, emit))
    state = SearchState(spec=spec, run_dir=run_dir, grid=spec.grid or GridSpec())
    state.options = {
        "n_jobs": n_jobs,
        "reuse": reuse_models,
        "spe": steps_per_execution,
        "warm": warm_workers,
        "group": group_fits,
    }
    feed: FitCollector | None = None
    status: RunStatus
    try:
        if state.grid.backend == "dask":
            state.cluster = _connect(state, out)
        feed = _start(state, out, cancel, resume)
        status, message = _search(state, out, cancel, feed)
    except (KeyboardInterrupt, FitCancelled):
        _stop(state, feed)
        status, message = "cancelled", _cancelled_message(state)
    except Exception as exc:
        status, message = "failed", failure_message(exc, state)
        if _stopped(state, feed, cancel):
            status, message = "cancelled", _cancelled_message(state)  # workers ended by the stop
        elif not state.known_failure(exc):
            out(LogEvent(run_id=run_dir.name, level="debug", message=traceback.format_exc()))
    finally:
        state.wait_for_workers()
        if feed is not None:
            feed.close()
    if status == "completed":
        status, message = _finish_best(state, out, message)
    if state.cluster is not None:
        state.cluster.close()
    summary = _records(state, status, message, feed)
    out(RunFinished(run_id=run_dir.name, status=status, summary=summary, message=message))
    recorder.close()
    return SearchResult(
        status=status,
        summary=summary,
        run_dir=run_dir,
        message=message,
        best_params=dict(summary.get("best_params") or {}),
        best_score=summary.get("best_score"),
    )


def _connect(state: SearchState, out: Emit) -> Any:
    """Connect to the Dask scheduler before any work (an unreachable one fails the search)."""
    from nnexplorer.core.search._dask import connect, scheduler_address

    address = scheduler_address(state.grid)
    out(LogEvent(run_id=state.run_dir.name, message=f"connecting to the Dask scheduler {address}"))
    cluster = connect(address)
    if state.options.get("warm", True):
        cluster.warm_up()
    threads = cluster.worker_threads()
    out(
        LogEvent(
            run_id=state.run_dir.name,
            message=(
                f"{cluster.describe()}: {cluster.n_threads} fit(s) at once, "
                f"{min(threads.values(), default=1)}-{max(threads.values(), default=1)} "
                "TensorFlow thread(s) per fit"
            ),
        )
    )
    return cluster


def _stop(state: SearchState, feed: FitCollector | None) -> None:
    if feed is not None:
        feed.stop()
    else:
        request_stop(state.run_dir)


def _stopped(state: SearchState, feed: FitCollector | None, cancel: Cancel | None) -> bool:
    if feed is not None and feed.stopped:
        return True
    return stop_requested(state.run_dir) or (cancel is not None and cancel.is_set())


def _start(state: SearchState, out: Emit, cancel: Cancel | None, resume: bool) -> FitCollector:
    """Load the data, lay out the search, announce it; the running collector of fit lines."""
    run_id = state.run_dir.name
    spec = state.spec
    state.prior = prepare_fits(state.run_dir, resume)
    state.records = dict(state.prior)
    out(LogEvent(run_id=run_id, message=f"Loading {spec.data.source}"))
    state.prepare()
    data, space = state.data, state.space
    assert space is not None  # prepare() lays it out
    out(
        LogEvent(
            run_id=run_id,
            message=(
                f"{data.task}: {len(state.x)} training rows ({state.grid.cv} folds), "
                f"{len(data.x_test)} test rows, {data.n_features} features"
            ),
        )
    )
    out(
        RunStarted(
            run_id=run_id,
            mode="grid",
            spec=spec.summary(),
            device=state.device,
            versions=state.versions,
            run_dir=str(state.run_dir),
            n_candidates=space.n_candidates,
            n_folds=state.grid.cv,
        )
    )
    w = state.workers
    out(
        LogEvent(
            run_id=run_id,
            message=(
                f"{state.search_name}: {space.n_candidates} candidates x {state.grid.cv} "
                f"folds, scoring {state.scoring}, {w.n_jobs} process(es) "
                f"({w.reason}), {w.threads} TensorFlow thread(s) each"
            ),
        )
    )
    if resume and not state.prior:
        out(LogEvent(run_id=run_id, message="resuming: no finished fits found, starting over"))
    if state.prior:
        out(
            LogEvent(
                run_id=run_id,
                message=f"resuming: {len(state.prior)} finished fit(s) are reused, not refitted",
            )
        )
    assert state.space is not None  # laid out by prepare()
    if state.cluster is not None:
        from nnexplorer.core.search._dask_feed import DaskFeed

        return DaskFeed(
            state.cluster,
            state.session,
            state.run_dir,
            out,
            run_id=run_id,
            n_candidates=state.space.n_candidates,
            n_folds=state.grid.cv,
            cancel=cancel,
            known=state.prior,
            on_record=state.add_record,
        ).start()
    return FitTailer(
        state.run_dir,
        out,
        run_id=run_id,
        n_candidates=space.n_candidates,
        n_folds=state.grid.cv,
        cancel=cancel,
        known=set(state.prior),
        on_record=state.add_record,
    ).start()


def _search(
    state: SearchState, out: Emit, cancel: Cancel | None, feed: FitCollector
) -> tuple[RunStatus, str]:
    if cancel is not None and cancel.is_set():
        return "cancelled", "stopped before the search started"
    started = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit_search(state)
    state.search_seconds = time.perf_counter() - started
    feed.drain()
    return "completed", ""


def _cancelled_message(state: SearchState) -> str:
    done = len(state.records)
    return (
        f"stopped; {done} finished fit(s) are kept in the journal "
        f"(continue with --resume {state.run_dir})"
    )


def _finish_best(state: SearchState, out: Emit, message: str) -> tuple[RunStatus, str]:
    """Test the refitted best candidate and save it; a failure here fails the run."""
    run_id = state.run_dir.name
    try:
        evaluate_best(state)
    except Exception as exc:
        return "failed", f"the refitted best candidate could not be tested: {describe_error(exc)}"
    out(LogEvent(run_id=run_id, message=f"best candidate on the test split: {state.test_metrics}"))
    try:
        state.best_model.save(state.run_dir / MODEL_FILE)
    except Exception as exc:
        out(LogEvent(run_id=run_id, level="warning", message=f"model not saved: {exc}"))
    return "completed", message


def _records(
    state: SearchState, status: RunStatus, message: str, feed: FitCollector | None
) -> RunSummary:
    """Write grid.csv; the summary dict."""
    space = state.space
    rows: list[dict[str, Any]] = []
    if space is not None:
        labelled = [space.label(c) for c in space.candidates]
        rows = candidate_rows(labelled, state.records, state.grid.cv)
        write_grid_csv(state.run_dir, space.keys, rows)
    best = best_row(rows)
    summary = state.summary(status, message)
    if feed is not None:
        summary.update(feed.facts())
    else:
        summary["backend"] = state.grid.backend
        summary["scheduler"] = state.grid.scheduler
    if status == "completed" and state.best_params is not None and space is not None:
        summary["best_params"] = space.label(state.best_params)
        summary["best_score"] = state.best_score
    elif best is not None:
        summary["best_params"] = best["params"]
        summary["best_score"] = best["mean_test_score"]
    else:
        summary["best_params"], summary["best_score"] = {}, None
    if best is not None:
        summary["best_std"] = best["std_test_score"]
    summary["n_failed_candidates"] = sum(r["status"] == "failed" for r in rows)
    summary["n_pending_candidates"] = sum(r["status"] in ("pending", "incomplete") for r in rows)
    return summary
