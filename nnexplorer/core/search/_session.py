"""Grid search: scikit-learn's GridSearchCV (or halving / randomized) over a scikeras estimator.

:func:`grid_search` is the one entry point, used in-process by ``nnexplorer run PRESET --grid``
and in a child process by :mod:`nnexplorer.core.worker`. The search is a real scikit-learn
search over ``Pipeline([scaler, NnxKerasClassifier | NnxKerasRegressor])`` (the scaler is
fitted inside each fold, so that no fold leaks into another), cross-validated with seeded,
shuffled (stratified) folds. The best candidate is refitted on the whole training split
(training + validation rows) and evaluated on the test split.

Fits run in loky worker processes (``grid.n_jobs``, -1 for all cores), or on the workers of a
Dask cluster (``grid.backend = "dask"``). Each fit reports its events (to its own file, or
through Dask), which this process collects and passes to ``emit``; the run directory
keeps the journal of finished fits (``fits.jsonl``), ``grid.csv``, ``summary.json``,
``events.jsonl``, ``history.csv`` and the refitted ``model.keras``. ``resume=True`` continues a
search in the same run directory without redoing its finished fits.
"""

from __future__ import annotations

import contextlib
import threading
import time
import traceback
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nnexplorer.core.errors import NnxError, RecordError, describe_error
from nnexplorer.core.events import (
    Cancel,
    Emit,
    Event,
    LogEvent,
    RunFinished,
    RunStarted,
    RunStatus,
    RunSummary,
    tee,
)
from nnexplorer.core.files import write_failure
from nnexplorer.core.formatting import count
from nnexplorer.core.results import RunResult
from nnexplorer.core.runs import RunRecorder, run_lock, save_model
from nnexplorer.core.search._collector import FitCollector, FitTailer
from nnexplorer.core.search._fit import FitCancelled
from nnexplorer.core.search._identity import (
    IGNORED_FILE,
    check_resume,
    prepare_journal,
    read_fingerprint,
    split_records,
)
from nnexplorer.core.search._journal import (
    FitWriteFailed,
    read_journal,
    request_stop,
    stop_requested,
)
from nnexplorer.core.search._pool import stop_workers
from nnexplorer.core.search._records import GRID_FILE, best_row, candidate_rows, write_grid_csv
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


def _nowhere(event: Event) -> None:
    return None


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
    fuse_folds: bool | None = None,
    fuse_candidates: bool = True,
) -> SearchResult:
    """Search ``spec.grid`` and record it in ``run_dir``.

    Status ``completed``; ``cancelled`` when ``cancel`` was set (or on KeyboardInterrupt):
    running fits stop within a batch and every finished fit stays in the journal; ``failed``
    when every candidate failed, a worker process died, the Dask scheduler cannot be reached,
    the records could not be written, or anything else went wrong, with a message saying
    which. A resume whose data or preset changed since the search started is refused before it
    changes anything (``failed`` with a :class:`~nnexplorer.core.errors.ResumeError`; the run's
    records stay as they were). A search that does not complete ends its worker processes.
    ``n_jobs`` overrides ``grid.n_jobs`` (local backend). The speed settings (all on by
    default; bench/grid.py measures each): ``reuse_models`` (a worker reuses a traced network
    when only learning rate, epochs or batch size change), ``steps_per_execution`` (training
    steps per call into TensorFlow, default 8), ``warm_workers`` (start the worker processes
    while this one loads data) and ``group_fits`` (hand each worker all fits of one network).
    ``fuse_folds`` overrides ``grid.fuse_folds`` (train each candidate's folds as one model,
    see :mod:`._fused`); ``fuse_candidates`` also fuses candidates that share a network.

    The only exception raised is :class:`~nnexplorer.core.errors.RunInUse`, before anything is
    written, when another process holds the run directory's lock.
    """
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    options = {
        "n_jobs": n_jobs,
        "reuse": reuse_models,
        "spe": steps_per_execution,
        "warm": warm_workers,
        "group": group_fits,
        "fuse": fuse_folds,
        "fuse_candidates": fuse_candidates,
    }
    with run_lock(run_dir):
        return _run_search(spec, run_dir, emit, cancel, resume, options)


def _run_search(
    spec: ExperimentSpec,
    run_dir: Path,
    emit: Emit | None,
    cancel: Cancel | None,
    resume: bool,
    options: dict[str, Any],
) -> SearchResult:
    recorder = RunRecorder(run_dir)
    display = _serialised(emit) if emit is not None else _nowhere
    out = _serialised(tee(recorder, emit))
    state = SearchState(spec=spec, run_dir=run_dir, grid=spec.grid or GridSpec())
    state.options = options
    state.touched = not resume
    feed: FitCollector | None = None
    status: RunStatus = "failed"
    message = ""
    error: NnxError | None = None
    try:
        if state.grid.backend == "dask":
            state.cluster = _connect(state, display if resume else out)
        feed = _start(state, out, display, cancel, resume)
        status, message = _search(state, out, cancel, feed)
    except FitWriteFailed as exc:
        status, message, error = "failed", str(exc), RecordError(str(exc))
    except (KeyboardInterrupt, FitCancelled):
        if state.touched:
            with contextlib.suppress(OSError):
                _stop(state, feed)
        status, message = "cancelled", _cancelled_message(state)
    except Exception as exc:
        if feed is not None:
            feed.drain()
        status, message = "failed", failure_message(exc, state)
        error = exc if isinstance(exc, NnxError) else None
        stopped = cancel is not None and cancel.is_set()
        if stopped or (state.touched and _stopped(state, feed)):
            status, message = "cancelled", _cancelled_message(state)  # workers ended by the stop
        elif not state.known_failure(exc):
            trace = LogEvent(run_id=run_dir.name, level="debug", message=traceback.format_exc())
            with contextlib.suppress(RecordError):  # kept in recorder.error, reported below
                out(trace)
    finally:
        state.wait_for_workers()
        if feed is not None:
            feed.close()
    if status != "completed":
        stop_workers()
    failed_write = (feed.error if feed is not None else None) or recorder.error
    if failed_write is not None and error is not failed_write:
        status, message, error = "failed", str(failed_write), failed_write
    if not state.touched:  # a resume refused (or stopped) before it changed anything
        summary = state.summary(status, message)
        display(RunFinished(run_id=run_dir.name, status=status, summary=summary, message=message))
        if state.cluster is not None:
            state.cluster.close()
        return SearchResult(status, summary, run_dir, message, error=error)
    if status == "completed":
        status, message, error = _finish_best(state, out, message)
    if state.cluster is not None:
        state.cluster.close()
    summary, status, message, error = _close(state, out, status, message, error, feed)
    recorder.close()
    return SearchResult(
        status=status,
        summary=summary,
        run_dir=run_dir,
        message=message,
        best_params=dict(summary.get("best_params") or {}),
        best_score=summary.get("best_score"),
        error=error,
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
                f"{cluster.describe()}: {count(cluster.n_threads, 'fit')} at once, "
                f"{min(threads.values(), default=1)}-{max(threads.values(), default=1)} "
                "TensorFlow threads per fit"
            ),
        )
    )
    return cluster


def _stop(state: SearchState, feed: FitCollector | None) -> None:
    if feed is not None:
        feed.stop()
    else:
        request_stop(state.run_dir)


def _stopped(state: SearchState, feed: FitCollector | None) -> bool:
    if feed is not None and feed.stopped:
        return True
    return stop_requested(state.run_dir)


def _start(
    state: SearchState, out: Emit, display: Emit, cancel: Cancel | None, resume: bool
) -> FitCollector:
    """Load the data, check a resume, lay out the search, announce it; the running collector
    of fit lines (a file tailer, or a Dask feed).

    Until a resume is checked (data and preset unchanged) nothing is recorded: its events go
    to the display only.
    """
    run_id = state.run_dir.name
    spec = state.spec
    prior = read_journal(state.run_dir) if resume else {}
    recorded = read_fingerprint(state.run_dir) if resume else None
    (display if resume else out)(LogEvent(run_id=run_id, message=f"Loading {spec.data.source}"))
    state.layout(warm=not resume)
    state.load()
    warning = check_resume(state.run_dir, recorded, state.fingerprint, len(prior)) if resume else ""
    kept, ignored = split_records(prior, state.space, state.spec, state.test_fold)
    state.touched = True
    state.prior = prepare_journal(state.run_dir, resume, kept, ignored, state.fingerprint)
    state.records = dict(state.prior)
    if warning:
        out(LogEvent(run_id=run_id, level="warning", message=warning))
    if ignored:
        first = next(iter(ignored.values()))["ignored_because"]
        out(
            LogEvent(
                run_id=run_id,
                level="warning",
                message=(
                    f"ignored {count(len(ignored), 'journal record')} not of this grid "
                    f"({first}); they are set aside in {IGNORED_FILE}"
                ),
            )
        )
    state.setup()
    data, space = state.data, state.space
    assert space is not None  # layout() lays it out
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
                f"folds, scoring {state.scoring}, {count(w.n_jobs, 'process', 'processes')} "
                f"({w.reason}), {count(w.threads, 'TensorFlow thread')} each; "
                f"{state.fusion.describe(state.grid.cv)}"
            ),
        )
    )
    if resume and not state.prior:
        out(LogEvent(run_id=run_id, message="resuming: no finished fits found, starting over"))
    if state.prior:
        out(
            LogEvent(
                run_id=run_id,
                message=(
                    f"resuming: {count(len(state.prior), 'finished fit')} reused, not refitted"
                ),
            )
        )
    if state.cluster is not None:
        from nnexplorer.core.search._dask_feed import DaskFeed

        return DaskFeed(
            state.cluster,
            state.session,
            state.run_dir,
            out,
            run_id=run_id,
            n_candidates=space.n_candidates,
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
        f"stopped; {count(done, 'finished fit')} kept in the journal "
        f"(continue with --resume {state.run_dir})"
    )


def _finish_best(
    state: SearchState, out: Emit, message: str
) -> tuple[RunStatus, str, NnxError | None]:
    """Test the refitted best candidate and save it; a failure here fails the run."""
    run_id = state.run_dir.name
    try:
        evaluate_best(state)
    except Exception as exc:
        why = f"the refitted best candidate could not be tested: {describe_error(exc)}"
        return "failed", why, None
    try:
        out(
            LogEvent(
                run_id=run_id, message=f"best candidate on the test split: {state.test_metrics}"
            )
        )
        problem = save_model(state.best_model, state.run_dir)
        if problem:
            out(LogEvent(run_id=run_id, level="warning", message=problem))
    except RecordError as exc:
        return "failed", str(exc), exc
    return "completed", message, None


def _close(
    state: SearchState,
    out: Emit,
    status: RunStatus,
    message: str,
    error: NnxError | None,
    feed: FitCollector | None,
) -> tuple[RunSummary, RunStatus, str, NnxError | None]:
    """Write grid.csv and the final event (summary.json); a failed write fails the search."""
    run_id = state.run_dir.name
    try:
        summary = _records(state, status, message, feed)
    except OSError as exc:
        error = write_failure(exc, state.run_dir / GRID_FILE)
        status, message = "failed", str(error)
        summary = _records(state, status, message, feed, write=False)
    try:
        out(RunFinished(run_id=run_id, status=status, summary=summary, message=message))
    except RecordError as exc:  # the end could not be recorded: the search failed after all
        status, message, error = "failed", str(exc), exc
        summary = _records(state, status, message, feed, write=False)
        out(RunFinished(run_id=run_id, status=status, summary=summary, message=message))
    return summary, status, message, error


def _records(
    state: SearchState,
    status: RunStatus,
    message: str,
    feed: FitCollector | None,
    *,
    write: bool = True,
) -> RunSummary:
    """Write grid.csv (OSError propagates); the summary dict."""
    space = state.space
    rows: list[dict[str, Any]] = []
    if space is not None:
        labelled = [space.label(c) for c in space.candidates]
        rows = candidate_rows(labelled, state.records, state.grid.cv)
        if write:
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
