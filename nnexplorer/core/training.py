"""Train one experiment: load data, build the model, fit, evaluate, record, report.

:func:`train` is the one entry point for a training run, used in-process by ``nnexplorer run``
and in a child process by :mod:`nnexplorer.core.worker`. It reports through ``emit`` and records
the run in its directory itself (events.jsonl, history.csv, summary.json, model.keras, and the
TensorBoard logs under tensorboard/).
TensorFlow is imported only inside the functions that train.
"""

from __future__ import annotations

import contextlib
import math
import os
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nnexplorer.core.callbacks import divergence_message, event_callback
from nnexplorer.core.errors import NnxError, RecordError, describe_error
from nnexplorer.core.events import (
    Cancel,
    Emit,
    LogEvent,
    RunFinished,
    RunStarted,
    RunStatus,
    RunSummary,
    tee,
)
from nnexplorer.core.formatting import count
from nnexplorer.core.heads import resolve_head
from nnexplorer.core.results import RunResult
from nnexplorer.core.runs import RunRecorder, run_lock, save_model
from nnexplorer.core.spec import ExperimentSpec

THREADS_ENV = "NNEXPLORER_THREADS"


@dataclass
class _State:
    """What is known about the run so far; becomes summary.json."""

    spec: ExperimentSpec
    run_dir: Path
    started: float = field(default_factory=time.perf_counter)
    device: str = "CPU"
    versions: dict[str, str] = field(default_factory=dict)
    n_params: int = 0
    epochs_completed: int = 0
    final_metrics: dict[str, Any] = field(default_factory=dict)
    test_metrics: dict[str, float] = field(default_factory=dict)
    train_seconds: float = 0.0
    stopped_early: bool = False
    model: Any = None
    callback: Any = None
    early_stopping: Any = None
    target: tuple[float, float] | None = None  # a regression target's mean and std (train split)
    diagnostics: Any = None
    evaluation: RunSummary = field(default_factory=lambda: RunSummary())

    def summary(self, status: RunStatus, message: str) -> RunSummary:
        summary: RunSummary = {
            "status": status,
            "mode": "train",
            "run_id": self.run_dir.name,
            "name": self.spec.experiment.name,
            "epochs_completed": self.epochs_completed,
            "epochs": self.spec.fit.epochs,
            "stopped_early": self.stopped_early,
            "test_metrics": self.test_metrics,
            "final_metrics": self.final_metrics,
            "wall_seconds": round(time.perf_counter() - self.started, 3),
            "train_seconds": round(self.train_seconds, 3),
            "n_params": self.n_params,
            "device": self.device,
            "versions": self.versions,
            "message": message,
        }
        summary.update(self.evaluation)
        return summary

    def sync_from_callback(self) -> None:
        if self.callback is not None:
            self.epochs_completed = self.callback.epochs_completed
            self.final_metrics = dict(self.callback.last_metrics)


def train(
    spec: ExperimentSpec,
    run_dir: str | Path,
    emit: Emit | None,
    cancel: Cancel | None = None,
) -> RunResult:
    """Run ``spec`` to the end and record it in ``run_dir``.

    Status ``completed``; ``diverged`` when the loss became NaN or infinite; ``cancelled`` when
    ``cancel`` was set (training stops within one batch and the partial model and records are
    kept); ``failed`` on any error, whose message the final event carries (and ``error`` when it
    is a known one: bad data, a network too big, records that cannot be written). A
    KeyboardInterrupt (Ctrl-C in an in-process run) is treated like ``cancel``: the run is
    recorded as cancelled and the result is returned rather than the interrupt re-raised, so
    callers map the status to exit code 130 (:attr:`RunResult.exit_code`).

    The only exception raised is :class:`~nnexplorer.core.errors.RunInUse`, before anything is
    written, when another process holds the run directory's lock.
    """
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    with run_lock(run_dir):
        return _train(spec, run_dir, emit, cancel)


def _train(
    spec: ExperimentSpec, run_dir: Path, emit: Emit | None, cancel: Cancel | None
) -> RunResult:
    recorder = RunRecorder(run_dir)
    out = tee(recorder, emit)
    state = _State(spec, run_dir)
    status: RunStatus
    error: NnxError | None = None
    try:
        try:
            status, message = _run(spec, run_dir, out, cancel, state)
        except KeyboardInterrupt:
            state.sync_from_callback()
            status = "cancelled"
            message = f"interrupted after {count(state.epochs_completed, 'epoch')}"
            _save_model(state, out)
    except Exception as exc:
        state.sync_from_callback()
        status, message = "failed", describe_error(exc)
        error = exc if isinstance(exc, NnxError) else None
        if error is None:
            trace = LogEvent(run_id=run_dir.name, level="debug", message=traceback.format_exc())
            with contextlib.suppress(RecordError):  # kept in recorder.error, reported below
                out(trace)
    if recorder.error is not None and error is not recorder.error:
        status, message, error = "failed", str(recorder.error), recorder.error
    summary = state.summary(status, message)
    try:
        out(RunFinished(run_id=run_dir.name, status=status, summary=summary, message=message))
    except RecordError as exc:  # the end could not be recorded: the run failed after all
        status, message, error = "failed", str(exc), exc
        summary = state.summary(status, message)
        out(RunFinished(run_id=run_dir.name, status=status, summary=summary, message=message))
    recorder.close()
    return RunResult(status, summary, run_dir, message, error)


def _stopped(cancel: Cancel | None) -> bool:
    return cancel is not None and cancel.is_set()


def _threads_from_env() -> int | None:
    value = os.environ.get(THREADS_ENV, "").strip()
    return int(value) if value.isdigit() and int(value) > 0 else None


def _run(
    spec: ExperimentSpec,
    run_dir: Path,
    out: Emit,
    cancel: Cancel | None,
    state: _State,
) -> tuple[RunStatus, str]:
    run_id = run_dir.name
    out(LogEvent(run_id=run_id, message=f"Loading {spec.data.source}"))
    from nnexplorer import __version__
    from nnexplorer.core import datasets, preflight

    seed = spec.experiment.seed
    raw = datasets.load_dataset(spec.data, seed)  # before TensorFlow: bad data fails fast
    preflight.after_load(spec, raw)
    data = datasets.standardized(raw, spec.data.standardize)
    state.target = datasets.target_stats(data)
    scale = None
    if spec.data.standardize_target:
        data, scale = datasets.standardized_target(data)
        out(LogEvent(run_id=run_id, message=_scaled_target_note(scale.mean, scale.std)))
    from nnexplorer.core import building, devices
    from nnexplorer.core.diagnostics import RunDiagnostics

    threads = _threads_from_env()
    if threads:
        devices.configure_threads(intra=threads, inter=min(threads, 2))
    state.device = devices.configure_devices()
    state.versions = {**devices.versions(), "nnexplorer": __version__}
    if _stopped(cancel):
        return "cancelled", "stopped before training started"
    building.set_seeds(seed)
    model = building.build_model(spec, data)
    # the model that is evaluated and saved answers in the target's units
    state.model = (
        model
        if scale is None
        else building.in_target_units(model, spec, data.task, scale.mean, scale.std)
    )
    state.n_params = building.count_params(model)
    head = resolve_head(spec, data.task, data.n_classes)
    if _stopped(cancel):
        return "cancelled", "stopped before training started"

    def targets(y: Any) -> Any:
        return building.prepare_targets(y, head, data.n_classes)

    validation = None if data.x_val is None else (data.x_val, targets(data.y_val))
    out(
        LogEvent(
            run_id=run_id,
            message=(
                f"{data.task}: {len(data.x_train)} train, "
                f"{0 if data.x_val is None else len(data.x_val)} validation, "
                f"{len(data.x_test)} test samples, {data.n_features} features"
            ),
        )
    )
    out(
        RunStarted(
            run_id=run_id,
            mode="train",
            spec=spec.summary(),
            n_params=state.n_params,
            device=state.device,
            versions=state.versions,
            run_dir=str(run_dir),
        )
    )
    callbacks = _callbacks(spec, out, run_id, cancel, state, has_validation=validation is not None)
    state.diagnostics = RunDiagnostics(spec, data, raw, head, out, run_id)
    callbacks = state.diagnostics.callbacks(model, callbacks, state.callback)
    started = time.perf_counter()
    try:
        model.fit(
            data.x_train,
            targets(data.y_train),
            validation_data=validation,
            epochs=spec.fit.epochs,
            batch_size=spec.fit.batch_size,
            shuffle=spec.fit.shuffle,
            callbacks=callbacks,
            verbose=0,
        )
    finally:
        state.train_seconds = time.perf_counter() - started
        state.sync_from_callback()
    return _after_fit(spec, data, targets, out, run_id, state)


def _callbacks(
    spec: ExperimentSpec,
    out: Emit,
    run_id: str,
    cancel: Cancel | None,
    state: _State,
    *,
    has_validation: bool,
) -> list[Any]:

    from nnexplorer.core.tensorboard import log_dir, tensorboard_callback

    state.callback = event_callback(out, run_id=run_id, epochs=spec.fit.epochs, cancel=cancel)
    found: list[Any] = [state.callback, tensorboard_callback(log_dir(state.run_dir))]
    early = spec.fit.early_stopping
    if early is not None:
        from nnexplorer.core.building import early_stopping_recipe

        recipe = early_stopping_recipe(early, has_validation=has_validation)
        monitor = recipe.kwargs["monitor"]
        if monitor != early.monitor:
            out(
                LogEvent(
                    run_id=run_id,
                    level="warning",
                    message=(
                        f"early stopping watches '{monitor}' instead of '{early.monitor}': "
                        "there is no validation split (data.validation_split = 0)"
                    ),
                )
            )
        state.early_stopping = recipe.create()
        found.append(state.early_stopping)
    return found


def _after_fit(
    spec: ExperimentSpec,
    data: Any,
    targets: Callable[[Any], Any],
    out: Emit,
    run_id: str,
    state: _State,
) -> tuple[RunStatus, str]:
    callback = state.callback
    if callback.status == "diverged":
        loss = callback.last_metrics.get("loss", "NaN")
        return "diverged", divergence_message(spec, callback.diverged_epoch, loss, state.target)
    if callback.status == "cancelled":
        _save_model(state, out)
        return "cancelled", f"stopped after {count(state.epochs_completed, 'epoch')}"
    message = ""
    early = state.early_stopping
    if early is not None and early.stopped_epoch > 0:
        state.stopped_early = True
        message = f"early stopping after epoch {early.stopped_epoch + 1}"
        if early.restore_best_weights and early.best_weights is not None:
            message += f" (weights of the best epoch, {early.best_epoch + 1}, restored)"
        out(LogEvent(run_id=run_id, message=message))
    scores = state.model.evaluate(
        data.x_test,
        targets(data.y_test),
        batch_size=spec.fit.batch_size,
        verbose=0,
        return_dict=True,
    )
    state.test_metrics = {k: _plain(v) for k, v in scores.items()}
    state.evaluation = state.diagnostics.finish(state.model, state.epochs_completed, state.run_dir)
    _save_model(state, out)
    return "completed", message


def _scaled_target_note(mean: float, std: float) -> str:
    return (
        f"regression targets standardised on the training split (mean {mean:.4g}, std "
        f"{std:.4g}): the curves show standardised units, the test metrics the target's units"
    )


def _plain(value: Any) -> Any:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return value
    return number if math.isfinite(number) else str(number)


def _save_model(state: _State, out: Emit) -> None:
    """Save the (possibly partial) model of a run (RecordError when the write fails)."""
    if state.model is None:
        return
    problem = save_model(state.model, state.run_dir)
    if problem:
        out(LogEvent(run_id=state.run_dir.name, level="warning", message=problem))
