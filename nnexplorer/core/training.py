"""Train one experiment: load data, build the model, fit, evaluate, record, report.

:func:`train` is the one entry point for a training run, used in-process by ``nnexplorer run``
and in a child process by :mod:`nnexplorer.core.worker`. It reports through ``emit`` and records
the run in its directory itself (events.jsonl, history.csv, summary.json, model.keras).
TensorFlow is imported only inside the functions that train.
"""

from __future__ import annotations

import math
import os
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nnexplorer.core.callbacks import divergence_message, event_callback
from nnexplorer.core.errors import describe_error
from nnexplorer.core.events import Emit, LogEvent, RunFinished, RunStarted, tee
from nnexplorer.core.heads import resolve_head
from nnexplorer.core.runs import MODEL_FILE, RunRecorder
from nnexplorer.core.spec import ExperimentSpec

THREADS_ENV = "NNEXPLORER_THREADS"


@dataclass(frozen=True)
class RunResult:
    """How a run ended: ``status`` (completed, diverged, cancelled, failed) and its summary."""

    status: str
    summary: dict[str, Any]
    run_dir: Path
    message: str = ""

    @property
    def exit_code(self) -> int:
        """0 completed, 1 failed or diverged, 130 cancelled (the command line's codes)."""
        return {"completed": 0, "cancelled": 130}.get(self.status, 1)


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
    diagnostics: Any = None
    evaluation: dict[str, Any] = field(default_factory=dict)

    def summary(self, status: str, message: str) -> dict[str, Any]:
        return {
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
            **self.evaluation,
        }

    def sync_from_callback(self) -> None:
        if self.callback is not None:
            self.epochs_completed = self.callback.epochs_completed
            self.final_metrics = dict(self.callback.last_metrics)


def train(
    spec: ExperimentSpec,
    run_dir: str | Path,
    emit: Emit | None,
    cancel: threading.Event | None = None,
) -> RunResult:
    """Run ``spec`` to the end and record it in ``run_dir``; never raises.

    Status ``completed``; ``diverged`` when the loss became NaN or infinite; ``cancelled`` when
    ``cancel`` was set (training stops within one batch and the partial model and records are
    kept); ``failed`` on any error, whose message the final event carries. A KeyboardInterrupt
    (Ctrl-C in an in-process run) is treated like ``cancel``: the run is recorded as cancelled
    and the result is returned rather than the interrupt re-raised, so callers map the status
    to exit code 130 (:attr:`RunResult.exit_code`).
    """
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    recorder = RunRecorder(run_dir)
    out = tee(recorder, emit)
    state = _State(spec, run_dir)
    try:
        status, message = _run(spec, run_dir, out, cancel, state)
    except KeyboardInterrupt:
        state.sync_from_callback()
        status = "cancelled"
        message = f"interrupted after {state.epochs_completed} epoch(s)"
        _save_model(state, out)
    except Exception as exc:
        state.sync_from_callback()
        status, message = "failed", describe_error(exc)
        out(LogEvent(run_id=run_dir.name, level="debug", message=traceback.format_exc()))
    summary = state.summary(status, message)
    out(RunFinished(run_id=run_dir.name, status=status, summary=summary, message=message))
    recorder.close()
    return RunResult(status, summary, run_dir, message)


def _stopped(cancel: threading.Event | None) -> bool:
    return cancel is not None and cancel.is_set()


def _threads_from_env() -> int | None:
    value = os.environ.get(THREADS_ENV, "").strip()
    return int(value) if value.isdigit() and int(value) > 0 else None


def _run(
    spec: ExperimentSpec,
    run_dir: Path,
    out: Emit,
    cancel: threading.Event | None,
    state: _State,
) -> tuple[str, str]:
    run_id = run_dir.name
    out(LogEvent(run_id=run_id, message=f"Loading {spec.data.source}"))
    from nnexplorer import __version__
    from nnexplorer.core import building, datasets
    from nnexplorer.core.diagnostics import RunDiagnostics

    threads = _threads_from_env()
    if threads:
        building.configure_threads(intra=threads, inter=min(threads, 2))
    state.device = building.configure_devices()
    state.versions = {**building.versions(), "nnexplorer": __version__}
    seed = spec.experiment.seed
    raw = datasets.load_dataset(spec.data, seed)
    data = datasets.standardized(raw, spec.data.standardize)
    if _stopped(cancel):
        return "cancelled", "stopped before training started"
    building.set_seeds(seed)
    model = building.build_model(spec, data)
    state.model = model
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
    cancel: threading.Event | None,
    state: _State,
    *,
    has_validation: bool,
) -> list[Any]:

    state.callback = event_callback(out, run_id=run_id, epochs=spec.fit.epochs, cancel=cancel)
    found: list[Any] = [state.callback]
    early = spec.fit.early_stopping
    if early is not None:
        import keras

        monitor = early.monitor
        if monitor.startswith("val_") and not has_validation:
            monitor = monitor[4:]
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
        state.early_stopping = keras.callbacks.EarlyStopping(
            monitor=monitor,
            patience=early.patience,
            min_delta=early.min_delta,
            mode=early.mode,
            restore_best_weights=early.restore_best_weights,
        )
        found.append(state.early_stopping)
    return found


def _after_fit(
    spec: ExperimentSpec,
    data: Any,
    targets: Callable[[Any], Any],
    out: Emit,
    run_id: str,
    state: _State,
) -> tuple[str, str]:
    callback = state.callback
    if callback.status == "diverged":
        loss = callback.last_metrics.get("loss", "NaN")
        return "diverged", divergence_message(spec, callback.diverged_epoch, loss)
    if callback.status == "cancelled":
        _save_model(state, out)
        return "cancelled", f"stopped after {state.epochs_completed} epoch(s)"
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


def _plain(value: Any) -> Any:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return value
    return number if math.isfinite(number) else str(number)


def _save_model(state: _State, out: Emit) -> None:
    """Save the (possibly partial) model; a failure to save is logged, not fatal."""
    if state.model is None:
        return
    try:
        state.model.save(state.run_dir / MODEL_FILE)
    except Exception as exc:
        out(LogEvent(run_id=state.run_dir.name, level="warning", message=f"model not saved: {exc}"))
