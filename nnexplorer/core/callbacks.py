"""Keras callbacks that turn a fit into events, stop on request and catch divergence.

Keras is imported when :func:`event_callback` is first called, never at module import. The
callback adds no work per batch beyond a flag check, a finite-loss check and a clock read;
batch progress is reported at most ``1 / interval`` times a second.
"""

from __future__ import annotations

import functools
import math
import time
from typing import Any

from nnexplorer.core.events import (
    LOSS_EXPLODING,
    BatchProgress,
    Cancel,
    Emit,
    EpochEnded,
    LogEvent,
    RunStatus,
)
from nnexplorer.core.spec import ExperimentSpec

CROSSENTROPY_LIMIT = 100.0  # chance level is ln(classes), below 7 for 1000 classes
GROWTH_LIMIT = 100.0  # a loss 100 times its lowest so far has blown up


def loss_exploding(losses: list[float], crossentropy: bool) -> bool:
    """Whether the last of ``losses`` (one per epoch, finite) has blown up.

    A cross-entropy far above any chance level, or any loss grown a hundredfold over its lowest
    value so far: the weights are running away (a learning rate far too high) even while the
    loss stays finite and the accuracy may hold.
    """
    if not losses or not math.isfinite(losses[-1]):
        return False
    last = losses[-1]
    if crossentropy and last > CROSSENTROPY_LIMIT:
        return True
    earlier = [v for v in losses[:-1] if math.isfinite(v) and v > 0]
    return bool(earlier) and last > GROWTH_LIMIT * min(earlier)


def exploding_message(loss: float, epoch: int, lowest: float, optimizer: str, lr: Any) -> str:
    """The warning for a loss that blew up."""
    rate = f"{optimizer} with learning_rate={lr:g}" if isinstance(lr, float) else optimizer
    return (
        f"the loss exploded to {loss:.3g} at epoch {epoch} (lowest {lowest:.3g}): the weights "
        f"are running away; the learning rate is likely far too high ({rate}): try 10 to "
        "1000 times smaller"
    )


def _finite(value: Any) -> bool:
    try:
        return math.isfinite(float(value))
    except (TypeError, ValueError):
        return True  # not a number: nothing to judge


@functools.cache
def _callback_class() -> type:
    import keras

    class EventCallback(keras.callbacks.Callback):
        """Emits EpochEnded and BatchProgress, honours ``cancel``, stops on a NaN/inf loss."""

        def __init__(
            self,
            emit: Emit,
            *,
            run_id: str = "",
            epochs: int = 0,
            cancel: Cancel | None = None,
            candidate: int | None = None,
            fold: int | None = None,
            interval: float = 0.1,
        ):
            super().__init__()
            self.emit = emit
            self.run_id = run_id
            self.epochs = epochs
            self.cancel = cancel
            self.candidate = candidate
            self.fold = fold
            self.interval = interval
            self.cancelled = False
            self.diverged = False
            self.diverged_epoch: int | None = None
            self.epochs_completed = 0
            self.last_metrics: dict[str, float] = {}
            self._epoch = 0
            self._epoch_start = 0.0
            self._last_report = -math.inf
            self._batches_done = 0
            self._losses: list[float] = []
            self.exploded = False

        # ----------------------------------------------------------------- fit loop hooks

        def on_train_begin(self, logs: dict | None = None) -> None:
            if self.cancel is not None and self.cancel.is_set():
                self.cancelled = True
                self.model.stop_training = True

        def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
            self._epoch = epoch + 1
            self._batches_done = 0
            self._epoch_start = time.perf_counter()

        def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
            self._batches_done = batch + 1
            if self.cancel is not None and self.cancel.is_set():
                self.cancelled = True
                self.model.stop_training = True
            if logs and not _finite(logs.get("loss", 0.0)):
                self._diverge()
            now = time.monotonic()
            if now - self._last_report >= self.interval:
                self._last_report = now
                self.emit(
                    BatchProgress(
                        run_id=self.run_id,
                        epoch=self._epoch,
                        batch=batch + 1,
                        batches=int(self.params.get("steps") or 0),
                        candidate=self.candidate,
                        fold=self.fold,
                    )
                )

        def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
            metrics = {k: _to_float(v) for k, v in (logs or {}).items()}
            steps = self.params.get("steps")
            partial = self.cancelled and steps is not None and self._batches_done < steps
            if partial:
                return  # an epoch cut short by a stop is not recorded as an epoch
            if not _finite(metrics.get("loss", 0.0)):
                self._diverge()
            self.epochs_completed = epoch + 1
            self.last_metrics = metrics
            self.emit(
                EpochEnded(
                    run_id=self.run_id,
                    epoch=epoch + 1,
                    epochs=self.epochs or int(self.params.get("epochs") or 0),
                    metrics=metrics,
                    seconds=time.perf_counter() - self._epoch_start,
                    candidate=self.candidate,
                    fold=self.fold,
                )
            )
            self._watch_loss(metrics.get("loss"), epoch + 1)

        def _watch_loss(self, loss: Any, epoch: int) -> None:
            """Warn once when a finite loss blows up (see :func:`loss_exploding`)."""
            if not isinstance(loss, float):
                return
            self._losses.append(loss)
            if self.exploded or not loss_exploding(self._losses, self._crossentropy()):
                return
            self.exploded = True
            optimizer = self.model.optimizer
            lr: Any = getattr(self.model, "learning_rate", None)  # a fused branch's own rate
            if lr is None:
                try:
                    lr = float(optimizer.learning_rate)
                except (TypeError, ValueError):
                    lr = None
            lowest = min(self._losses)
            message = exploding_message(loss, epoch, lowest, type(optimizer).__name__, lr)
            if self.candidate is not None:
                fold = "refit" if self.fold is None else f"fold {self.fold + 1}"
                message = f"candidate #{self.candidate + 1} {fold}: {message}"
            self.emit(
                LogEvent(run_id=self.run_id, level="warning", message=message, code=LOSS_EXPLODING)
            )

        def _crossentropy(self) -> bool:
            loss = getattr(self.model, "loss", None)
            name = (
                loss
                if isinstance(loss, str)
                else getattr(loss, "__name__", "") or getattr(loss, "name", "")
            )
            return "crossentropy" in str(name)

        def _diverge(self) -> None:
            if not self.diverged:
                self.diverged = True
                self.diverged_epoch = self._epoch
            self.model.stop_training = True

        @property
        def status(self) -> RunStatus:
            """``diverged``, ``cancelled`` or ``completed``, judged after the fit."""
            if self.diverged:
                return "diverged"
            return "cancelled" if self.cancelled else "completed"

    return EventCallback


def _to_float(value: Any) -> Any:
    try:
        return float(value)
    except (TypeError, ValueError):
        return value


def event_callback(
    emit: Emit,
    *,
    run_id: str = "",
    epochs: int = 0,
    cancel: Cancel | None = None,
    candidate: int | None = None,
    fold: int | None = None,
    interval: float = 0.1,
) -> Any:
    """A Keras callback reporting a fit through ``emit``.

    After the fit, ``.status`` is ``completed``, ``diverged`` (a NaN or infinite loss, at a batch
    or an epoch end, stopped training as keras.callbacks.TerminateOnNaN does) or ``cancelled``
    (``cancel`` was set; training stops at the end of the current batch). ``.epochs_completed``,
    ``.diverged_epoch`` and ``.last_metrics`` describe what happened. ``candidate`` and ``fold``
    tag every event of a grid fit.
    """
    return _callback_class()(
        emit,
        run_id=run_id,
        epochs=epochs,
        cancel=cancel,
        candidate=candidate,
        fold=fold,
        interval=interval,
    )


def _initializer_label(init: Any) -> str:
    return f"{init.name}(stddev={init.stddev:g})" if init.stddev else init.name


LARGE_TARGET = 10.0  # a regression target whose spread or mean exceeds this is far from unit scale


def divergence_message(
    spec: ExperimentSpec,
    epoch: int | None,
    loss: Any,
    target: tuple[float, float] | None = None,
) -> str:
    """Why a run diverged, naming the likely causes with the run's own settings.

    ``target`` is a regression target's (mean, std) on the training split; when it is far from
    unit scale and not standardised, the message names it as a cause too.
    """
    where = f" at epoch {epoch}" if epoch else ""
    c = spec.compile
    dense = [layer for layer in spec.layers if layer.type == "dense"]
    inits = ", ".join(sorted({_initializer_label(la.kernel_initializer) for la in dense}))
    scaling = (
        "data.standardize is 'none': try 'standard'"
        if spec.data.standardize == "none"
        else f"data.standardize is '{spec.data.standardize}': check the data for extreme values"
    )
    text = (
        f"training diverged{where}: the loss became {loss}. Likely causes: the learning rate "
        f"is too high ({c.optimizer} with learning_rate={c.learning_rate:g}: try 10 times "
        f"smaller); the initial weights are too large (kernel initialisers: {inits or 'default'}; "
        f"a wide random_normal or random_uniform is a common culprit, glorot and he scale to "
        f"the layer size); the inputs are not standardised ({scaling})"
    )
    if target is not None and not spec.data.standardize_target:
        mean, std = target
        if max(abs(mean), std) > LARGE_TARGET:
            text += (
                f"; the regression targets are not standardised (mean {mean:.4g}, std "
                f"{std:.4g}): set data.standardize_target = true"
            )
    return text + "."
