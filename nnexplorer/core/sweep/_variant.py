"""One sweep variant, trained as a train run trains: build, fit with validation, test, report.

:class:`VariantTrainer` holds what the variants of one sweep share: the loaded data (one copy per
distinct ``[data]`` table), and in each thread the last network it built. A variant whose
network differs from the previous one only in initial weights, learning rate, epochs or batch
size reuses that network and its traced training step: the weights of a freshly built network
(its initialisers and seeds), the optimizer's initial state and the learning rate are assigned
to it, which gives exactly the numbers a separate run gives, without tracing again.

Each variant has a run's diagnostics (:class:`~nnexplorer.core.diagnostics.RunDiagnostics`): the
``penalty`` metric, ``layer_stats`` and, for a 2-feature classifier, ``decision_boundary``
events, all carrying the variant's index as ``candidate``.
"""

from __future__ import annotations

import json
import threading
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nnexplorer.core.callbacks import divergence_message, event_callback
from nnexplorer.core.errors import describe_error
from nnexplorer.core.events import (
    Cancel,
    CandidateFinished,
    CandidateStarted,
    Emit,
    EpochEnded,
    Event,
    LogEvent,
)
from nnexplorer.core.formatting import count
from nnexplorer.core.heads import resolve_head
from nnexplorer.core.spec import ExperimentSpec
from nnexplorer.core.sweep._plan import Variant, best_epoch, kept_epoch, monitored, score

_INITIALIZERS = ("kernel_initializer", "bias_initializer")


@dataclass
class VariantResult:
    """How one variant ended, with what the records keep of it."""

    index: int
    params: dict[str, Any]
    status: str = "pending"  # completed | diverged | failed | cancelled | pending
    reason: str = ""
    history: list[dict[str, float]] = field(default_factory=list)
    best_epoch: int | None = None
    final_metrics: dict[str, float] = field(default_factory=dict)
    test_metrics: dict[str, float] = field(default_factory=dict)
    score: float | None = None
    train_seconds: float = 0.0
    n_params: int = 0
    restored_epoch: int | None = None  # the epoch early stopping restored the weights of
    model: Any = None  # the trained network, until the session has saved what it keeps

    @property
    def number(self) -> int:
        """The variant's 1-based number."""
        return self.index + 1

    @property
    def epochs_completed(self) -> int:
        """Epochs the variant trained."""
        return len(self.history)

    def record(self) -> dict[str, Any]:
        """The variant as summary.json lists it."""
        return {
            "variant": self.number,
            "params": dict(self.params),
            "status": self.status,
            "reason": self.reason,
            "epochs_completed": self.epochs_completed,
            "best_epoch": self.best_epoch,
            "final_metrics": dict(self.final_metrics),
            "test_metrics": dict(self.test_metrics),
            "score": self.score,
            "train_seconds": round(self.train_seconds, 3),
            "n_params": self.n_params,
        }


def _arch_key(spec: ExperimentSpec, data: Any) -> str:
    """What fixes a network's traced step: everything but initial weights and training settings."""
    layout = spec.to_dict()
    for section in ("experiment", "data", "fit", "grid"):
        layout.pop(section, None)
    layout.get("compile", {}).pop("learning_rate", None)
    for layer in [*layout.get("layers", []), layout.get("output", {})]:
        for name in _INITIALIZERS:
            layer.pop(name, None)
    return json.dumps([layout, data.n_features, data.n_classes, data.task], sort_keys=True)


@dataclass
class _Slot:
    """The network one thread built last, ready for reuse."""

    key: str = ""
    model: Any = None
    optimizer_state: list[Any] = field(default_factory=list)


class VariantTrainer:
    """Trains the variants of one sweep (from one or several threads)."""

    def __init__(self, run_dir: Path, emit: Emit, cancel: Cancel | None, scoring: str):
        self.run_dir = run_dir
        self.run_id = run_dir.name
        self.emit = emit
        self.cancel = cancel
        self.scoring = scoring
        self.n_variants = 0
        self._data: dict[str, Any] = {}
        self._data_lock = threading.Lock()
        self._build_lock = threading.Lock()  # seeds are global: one network is built at a time
        self._local = threading.local()

    # ------------------------------------------------------------------ shared pieces

    def data_for(self, spec: ExperimentSpec) -> Any:
        """The split and scaled data of ``spec`` (loaded once per distinct [data] table).

        With ``data.standardize_target`` the training and validation targets are standardised
        (their mean and std in ``meta``), as for a single run.
        """
        return self._loaded(spec)[1]

    def target_of(self, spec: ExperimentSpec) -> tuple[float, float] | None:
        """A regression target's mean and std on the training split, before any scaling."""
        return self._loaded(spec)[2]

    def _loaded(self, spec: ExperimentSpec) -> tuple[Any, Any, tuple[float, float] | None]:
        """The split data of ``spec`` as loaded, as scaled, and its target's statistics."""
        from nnexplorer.core import datasets

        key = json.dumps([spec.data.model_dump(mode="json"), spec.experiment.seed], sort_keys=True)
        with self._data_lock:
            found = self._data.get(key)
            if found is None:
                loaded = datasets.load_dataset(spec.data, spec.experiment.seed)
                data = datasets.standardized(loaded, spec.data.standardize)
                target = datasets.target_stats(data)
                if spec.data.standardize_target:
                    data, _ = datasets.standardized_target(data)
                found = self._data[key] = (loaded, data, target)
            return found

    def _model_for(self, spec: ExperimentSpec, data: Any) -> Any:
        from nnexplorer.core import building

        with self._build_lock:
            building.set_seeds(spec.experiment.seed)
            fresh = building.build_model(spec, data)
        slot: _Slot = getattr(self._local, "slot", None) or _Slot()
        self._local.slot = slot
        key = _arch_key(spec, data)
        if slot.key == key and slot.model is not None:
            model = slot.model
            for target, source in zip(model.variables, fresh.variables, strict=True):
                target.assign(source.value)
            for target, value in zip(model.optimizer.variables, slot.optimizer_state, strict=True):
                target.assign(value)
            building.set_learning_rate(model, spec.compile)
            return model
        fresh.optimizer.build(fresh.trainable_variables)
        slot.key, slot.model = key, fresh
        slot.optimizer_state = [v.numpy() for v in fresh.optimizer.variables]
        return fresh

    def _stopped(self) -> bool:
        return self.cancel is not None and self.cancel.is_set()

    # ------------------------------------------------------------------ one variant

    def train(self, variant: Variant) -> VariantResult:
        """Train ``variant``; never raises (a failure is the result's status and reason)."""
        result = VariantResult(variant.index, dict(variant.params))
        if self._stopped():
            return result  # pending: never started
        self.emit(
            CandidateStarted(
                run_id=self.run_id,
                candidate=variant.index,
                params=dict(variant.params),
                fold=None,
                n_candidates=self.n_variants,
                n_folds=0,
            )
        )
        started = time.perf_counter()
        try:
            self._fit(variant, result)
        except Exception as exc:
            result.status, result.reason = "failed", describe_error(exc)
            self.emit(LogEvent(run_id=self.run_id, level="debug", message=traceback.format_exc()))
        if not result.train_seconds:
            result.train_seconds = time.perf_counter() - started
        self._judge(variant, result)
        self._report(result)
        return result

    def _fit(self, variant: Variant, result: VariantResult) -> None:
        from nnexplorer.core import building
        from nnexplorer.core.diagnostics import RunDiagnostics
        from nnexplorer.core.tensorboard import log_dir, tensorboard_callback, variant_dir

        spec = variant.spec
        raw, data, _ = self._loaded(spec)
        model = self._model_for(spec, data)
        result.n_params = building.count_params(model)
        head = resolve_head(spec, data.task, data.n_classes)

        def targets(y: Any) -> Any:
            return building.prepare_targets(y, head, data.n_classes)

        validation = None if data.x_val is None else (data.x_val, targets(data.y_val))

        def emit(event: Event) -> None:
            if isinstance(event, EpochEnded):
                result.history.append(dict(event.metrics))
            self.emit(event)

        callback = event_callback(
            emit,
            run_id=self.run_id,
            epochs=spec.fit.epochs,
            cancel=self.cancel,
            candidate=variant.index,
        )
        logs = log_dir(self.run_dir, variant_dir(variant.index))
        callbacks = [callback, tensorboard_callback(logs)]
        early = None
        if spec.fit.early_stopping is not None:
            recipe = building.early_stopping_recipe(
                spec.fit.early_stopping, has_validation=validation is not None
            )
            early = recipe.create()
            callbacks.append(early)
        diagnostics = RunDiagnostics(spec, data, raw, head, emit, self.run_id, variant.index)
        callbacks = diagnostics.callbacks(model, callbacks, callback)
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
            result.train_seconds = time.perf_counter() - started
        result.status = callback.status
        if callback.status == "diverged":
            loss = callback.last_metrics.get("loss", "NaN")
            target = self.target_of(spec)
            result.reason = divergence_message(spec, callback.diverged_epoch, loss, target)
        elif callback.status == "cancelled":
            result.reason = f"stopped after {count(callback.epochs_completed, 'epoch')}"
        else:
            if early is not None and early.stopped_epoch > 0 and early.restore_best_weights:
                result.restored_epoch = (
                    early.best_epoch + 1 if early.best_weights is not None else None
                )
            if "target_mean" in data.meta:  # standardised targets: test in the target's units
                model = building.in_target_units(
                    model, spec, data.task, data.meta["target_mean"], data.meta["target_std"]
                )
            scores = model.evaluate(
                data.x_test,
                targets(data.y_test),
                batch_size=spec.fit.batch_size,
                verbose=0,
                return_dict=True,
            )
            result.test_metrics = {k: float(v) for k, v in scores.items()}
            diagnostics.finish(model, callback.epochs_completed, self.run_dir, evaluate=False)
            result.model = model

    def _judge(self, variant: Variant, result: VariantResult) -> None:
        """Final metrics, best epoch and score from the variant's epochs."""
        history = result.history
        result.final_metrics = dict(history[-1]) if history else {}
        has_validation = any(k.startswith("val_") for k in result.final_metrics)
        monitor, lower = monitored(variant.spec, has_validation)
        result.best_epoch = best_epoch(history, monitor, lower)
        if result.status == "completed":
            kept = kept_epoch(history, result.restored_epoch)
            result.score = score(history, self.scoring, kept)

    def _report(self, result: VariantResult) -> None:
        self.emit(
            CandidateFinished(
                run_id=self.run_id,
                candidate=result.index,
                params=dict(result.params),
                fold=None,
                score=result.score,
                seconds=result.train_seconds,
                status=result.status,
                reason=result.reason,
                metrics=dict(result.final_metrics),
                test_metrics=dict(result.test_metrics),
                best_epoch=result.best_epoch,
                epochs=result.epochs_completed,
            )
        )
