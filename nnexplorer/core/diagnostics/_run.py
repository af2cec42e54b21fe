"""What a training run computes besides the fit: penalty, layer statistics, boundaries, evaluation.

:class:`RunDiagnostics` is made once per run from the spec and the data (scaled and raw). It adds
two Keras callbacks around the run's event callback: one before it that puts ``penalty`` into
the epoch's logs (so ``epoch_ended.metrics`` carries it), one after it that emits ``layer_stats``
and, every few epochs, ``decision_boundary``. After the fit, :meth:`RunDiagnostics.finish` emits
the final boundary and evaluates a classifier on the test split. A failure in here is reported
once as a warning and never ends the run. A sweep's variant is a run of its own here: its events
carry the variant's index as ``candidate``.
"""

from __future__ import annotations

import functools
import time
from pathlib import Path
from typing import Any, cast

import numpy as np

from nnexplorer.core.building import prepare_targets
from nnexplorer.core.diagnostics._boundary import BoundaryPlan, boundary_every
from nnexplorer.core.diagnostics._evaluation import (
    evaluate_classes,
    misclassified_record,
    predict_scores,
    predicted_classes,
)
from nnexplorer.core.diagnostics._probe import (
    Probe,
    ProbeResult,
    choose_rows,
    dense_info,
    has_regularizers,
)
from nnexplorer.core.errors import describe_error
from nnexplorer.core.events import DecisionBoundary, Emit, LayerStats, LogEvent, RunSummary
from nnexplorer.core.heads import Head
from nnexplorer.core.runs import MISCLASSIFIED_FILE, write_json_atomic
from nnexplorer.core.spec import ExperimentSpec


class RunDiagnostics:
    """The diagnostics of one training run (see the module docstring)."""

    def __init__(
        self,
        spec: ExperimentSpec,
        data: Any,
        raw: Any,
        head: Head,
        emit: Emit,
        run_id: str = "",
        candidate: int | None = None,
    ):
        self.spec = spec
        self.data = data
        self.raw = raw
        self.head = head
        self.emit = emit
        self.run_id = run_id
        self.candidate = candidate
        self.enabled = spec.fit.diagnostics
        self.every = boundary_every(spec.fit.epochs)
        self.probe: Probe | None = None
        self.plan: BoundaryPlan | None = None
        self._result: tuple[int, ProbeResult] | None = None
        self._broken: set[str] = set()
        self.seconds = 0.0  # time spent in the per-epoch work (penalty, statistics, boundary)

    # ------------------------------------------------------------------ set-up

    def callbacks(self, model: Any, found: list[Any], event_callback: Any) -> list[Any]:
        """``found`` with the penalty callback before it and the statistics callback after."""
        penalty = has_regularizers(model)
        if not (self.enabled or penalty):
            return found
        rows = choose_rows(len(self.data.x_train), seed=self.spec.experiment.seed)
        y = prepare_targets(self.data.y_train[rows], self.head, self.data.n_classes)
        self.probe = Probe(model, self.data.x_train[rows], y)
        if self.enabled and self._two_features():
            self._guard("decision boundary", self._make_plan, model)
        before = [_callback_classes()[0](self)] if penalty else []
        after = [_callback_classes()[1](self, event_callback)] if self.enabled else []
        return [*before, *found, *after]

    def _two_features(self) -> bool:
        data = self.data
        return data.task == "classification" and data.n_features == 2 and data.n_classes >= 2

    def _make_plan(self, model: Any) -> None:
        from nnexplorer.core.datasets import make_scaler

        scaler = make_scaler(self.spec.data.standardize)
        if scaler is not None:
            scaler.fit(self.raw.x_train)

        def scale(x: np.ndarray) -> np.ndarray:
            return x if scaler is None else scaler.transform(x)

        output = [layer for layer in model.layers if hasattr(layer, "kernel")][-1]
        self.plan = BoundaryPlan.make(
            self.raw.x_train,
            self.raw.y_train,
            scale,
            features=list(self.data.feature_names),
            classes=list(self.data.class_names),
            activation=dense_info(output).activation,
            seed=self.spec.experiment.seed,
        )

    def _guard(self, what: str, work: Any, *args: Any) -> Any:
        """Run ``work``; on an error warn once and turn ``what`` off for the rest of the run."""
        if what in self._broken:
            return None
        started = time.perf_counter()
        try:
            return work(*args)
        except Exception as exc:
            self._broken.add(what)
            message = f"{what} turned off: {describe_error(exc)}"
            self.emit(LogEvent(run_id=self.run_id, level="warning", message=message))
            return None
        finally:
            self.seconds += time.perf_counter() - started

    # ------------------------------------------------------------------ per epoch

    def _probe_result(self, epoch: int) -> ProbeResult:
        if self._result is None or self._result[0] != epoch:
            assert self.probe is not None
            self._result = (epoch, self.probe.run())
        return self._result[1]

    def penalty(self, epoch: int) -> float | None:
        """The regularisation term at the end of ``epoch`` (1-based)."""

        def compute() -> float:
            assert self.probe is not None
            if self.enabled and "layer statistics" not in self._broken:
                return self._probe_result(epoch).penalty
            return self.probe.penalty()

        return self._guard("penalty", compute)

    def after_epoch(self, model: Any, epoch: int) -> None:
        """Emit ``layer_stats`` (and ``decision_boundary`` every few epochs) for ``epoch``.

        Only the measuring is guarded: a failing emit (a full disk) must stop the run.
        """

        def stats() -> LayerStats:
            assert self.probe is not None
            layers = self.probe.layer_stats(self._probe_result(epoch))
            return LayerStats(
                run_id=self.run_id, epoch=epoch, candidate=self.candidate, layers=layers
            )

        event = self._guard("layer statistics", stats)
        if event is not None:
            self.emit(event)
        if self.plan is not None and epoch % self.every == 0:
            self._boundary(model, epoch, False)

    def _boundary(self, model: Any, epoch: int, final: bool) -> None:
        assert self.plan is not None
        plan = self.plan

        def measure() -> DecisionBoundary:
            return plan.event(
                model, epoch, run_id=self.run_id, final=final, candidate=self.candidate
            )

        event = self._guard("decision boundary", measure)
        if event is not None:
            self.emit(event)

    # ------------------------------------------------------------------ after the fit

    def finish(
        self, model: Any, epochs: int, run_dir: Path, *, evaluate: bool = True
    ) -> RunSummary:
        """Final boundary; for a classifier the summary's evaluation fields (and its file).

        ``diagnostics_seconds`` is the time the per-epoch work took during the fit (a part of
        ``train_seconds``); the work after the fit is not counted in it. ``evaluate=False``
        leaves out the evaluation (a sweep's variant: the run's files are not its own).
        """
        fields: RunSummary = {"diagnostics_seconds": round(self.seconds, 3)}
        if self.plan is not None:
            self._boundary(model, epochs, True)
        if evaluate and self.data.task == "classification" and len(self.data.x_test):
            evaluation = self._guard("evaluation", self._evaluate, model, run_dir)
            if evaluation:
                fields.update(cast(RunSummary, evaluation))
        return fields

    def _evaluate(self, model: Any, run_dir: Path) -> dict[str, Any]:
        data, raw = self.data, self.raw
        output = [layer for layer in model.layers if hasattr(layer, "kernel")][-1]
        scores = predict_scores(model, data.x_test)
        y_pred = predicted_classes(scores, dense_info(output).activation)
        classes = list(data.class_names)
        fields = evaluate_classes(data.y_test, y_pred, classes)
        image_shape = data.meta.get("image_shape")
        value_range = None
        if image_shape:
            value_range = (float(np.min(raw.x_train)), float(np.max(raw.x_train)))
        record = misclassified_record(
            data.y_test, y_pred, classes, raw.x_test, image_shape, value_range
        )
        write_json_atomic(Path(run_dir) / MISCLASSIFIED_FILE, record)
        return fields


@functools.cache
def _callback_classes() -> tuple[type, type]:
    import keras

    class PenaltyCallback(keras.callbacks.Callback):
        """Puts ``penalty`` into the epoch's logs (runs before the event callback)."""

        def __init__(self, diagnostics: RunDiagnostics):
            super().__init__()
            self.diagnostics = diagnostics

        def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
            if logs is None:
                return
            value = self.diagnostics.penalty(epoch + 1)
            if value is not None:
                logs["penalty"] = value

    class StatsCallback(keras.callbacks.Callback):
        """Emits the epoch's statistics after the event callback has reported the epoch."""

        def __init__(self, diagnostics: RunDiagnostics, event_callback: Any):
            super().__init__()
            self.diagnostics = diagnostics
            self.event_callback = event_callback

        def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
            if getattr(self.event_callback, "epochs_completed", epoch + 1) != epoch + 1:
                return  # an epoch cut short by a stop is not reported
            self.diagnostics.after_epoch(self.model, epoch + 1)

    return PenaltyCallback, StatsCallback
