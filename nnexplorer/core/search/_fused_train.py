"""Training the copies of a :class:`~._fused_net.StackedNetwork`: one step moves every branch.

:class:`FusedTrainer` holds the training rows of every fold (scaled by that fold's own scaler) in
one table, and runs chunks of steps in one TensorFlow call. A step takes, for each branch, the
rows of its next batch (indices into that table) and a weight per row: 1 for a real row, 0 for
padding (a fold whose batch is smaller, or a branch that has stopped). The objective is the sum
of the branches' losses, each the mean over its own real rows plus its own penalties (what Keras
computes for one network), so that each branch's gradient is that of its own loss. A branch
without rows in a step keeps its weights and its optimizer state as they were (as if the step
had not happened for it); only the optimizer's shared step counter moves on.

Running metrics are kept per branch as Keras keeps them for one fit: the loss as the mean of the
batch losses weighted by their rows, mean metrics (accuracy, mae, ...) computed for all branches
at once, other metrics (AUC, precision, ...) as one Keras metric object per branch.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from nnexplorer.core.search._fused_net import NotFusable, StackedNetwork, clip_by_branch_norm


def resolve_metrics(names: list[Any], *, binary: bool, sparse: bool) -> list[Any]:
    """Keras metric objects for ``names`` (strings or created metrics), as ``compile`` resolves
    them: ``accuracy`` becomes binary, sparse categorical or categorical accuracy by the head."""
    import keras

    out = []
    for item in names:
        if isinstance(item, str):
            if item in ("accuracy", "acc"):
                if binary:
                    metric = keras.metrics.BinaryAccuracy(name=item)
                elif sparse:
                    metric = keras.metrics.SparseCategoricalAccuracy(name=item)
                else:
                    metric = keras.metrics.CategoricalAccuracy(name=item)
            else:
                metric = keras.metrics.get(item)
                if not isinstance(metric, keras.metrics.Metric):
                    metric = keras.metrics.MeanMetricWrapper(metric, name=item)
            out.append(metric)
        else:
            out.append(item)
    return out


def _is_mean(metric: Any) -> bool:
    import keras

    return isinstance(metric, keras.metrics.MeanMetricWrapper) and hasattr(metric, "_fn")


class FusedTrainer:
    """The stacked network's optimizer, running metrics and compiled steps."""

    def __init__(
        self,
        net: StackedNetwork,
        *,
        loss: str,
        metrics: list[Any],
        optimizer: Any,
        clipnorm: float | None,
        x: np.ndarray,
        y: np.ndarray,
    ):
        import keras
        import tensorflow as tf

        self.net = net
        self.branches = b = net.branches
        self.x = tf.constant(np.asarray(x, dtype="float32"))
        self.y = tf.constant(y)
        self.loss = keras.losses.get(loss)  # the per-row function (Keras averages its values)
        if isinstance(self.loss, keras.losses.Loss):
            raise NotFusable(f"the loss {loss!r} has no per-row function")
        self.optimizer = optimizer
        self.clipnorm = clipnorm
        self.variables = net.trainable_variables
        optimizer.build(self.variables)
        self.slots = [v for v in optimizer.variables if len(v.shape) == 3 and v.shape[0] == b]
        self.metrics = metrics  # one per name: what a callback sees (names, directions)
        self.means = [m for m in metrics if _is_mean(m)]
        self.others = [
            [m, *(m.__class__.from_config(m.get_config()) for _ in range(b - 1))]
            for m in metrics
            if not _is_mean(m)
        ]
        zeros = np.zeros(b, dtype="float32")
        self.loss_sum = keras.Variable(zeros, trainable=False, name="loss_sum")
        self.row_sum = keras.Variable(zeros, trainable=False, name="row_sum")
        shape = (max(1, len(self.means)), b)
        self.mean_sum = keras.Variable(np.zeros(shape, "float32"), trainable=False, name="sums")
        self.mean_rows = keras.Variable(np.zeros(shape, "float32"), trainable=False, name="rows")
        self._build_metrics()
        rows = tf.TensorSpec((b, None, None), tf.int32)
        weights = tf.TensorSpec((b, None, None), tf.float32)
        self._chunk = tf.function(self._run_chunk, input_signature=[rows, weights])

    def _build_metrics(self) -> None:
        """Create every metric's variables now (not while a step is being traced)."""
        if not self.others:
            return
        y = self.y[:1]
        pred, _ = self.net(self.x[None, :1], training=False)
        for copies in self.others:
            for metric in copies:
                metric.update_state(y, pred[0], sample_weight=np.zeros(1, "float32"))
                metric.reset_state()

    # ----------------------------------------------------------------- the compiled steps

    def _run_chunk(self, rows: Any, weights: Any) -> None:
        import tensorflow as tf

        for step in tf.range(tf.shape(rows)[1]):
            self._step(rows[:, step], weights[:, step])

    def _per_row_loss(self, y: Any, pred: Any) -> Any:
        from keras import ops

        b, n = ops.shape(pred)[0], ops.shape(pred)[1]
        flat_pred = ops.reshape(pred, (b * n, pred.shape[-1]))
        logits = getattr(pred, "_keras_logits", None)
        if logits is not None:
            # Keras computes a softmax or sigmoid output's cross-entropy from its logits
            # (unbounded, exact gradients); a reshape would hide them, so carry them over.
            flat_pred._keras_logits = ops.reshape(logits, (b * n, pred.shape[-1]))
        flat_y = ops.reshape(y, (b * n, *y.shape[2:]))
        return ops.reshape(self.loss(flat_y, flat_pred), (b, n))

    def _step(self, rows: Any, weights: Any) -> None:
        import tensorflow as tf
        from keras import ops

        x = tf.gather(self.x, rows)
        y = tf.gather(self.y, rows)
        real = weights > 0
        count = ops.sum(weights, axis=1)
        active = count > 0
        with tf.GradientTape() as tape:
            pred, activity = self.net(x, training=True, rows=weights)
            per_row = ops.where(real, self._per_row_loss(y, pred), 0.0)
            data = ops.divide_no_nan(ops.sum(per_row, axis=1), count)
            total = ops.where(active, data + self.net.penalty() + activity, 0.0)
            objective = ops.sum(total)
        grads = tape.gradient(objective, self.variables)
        if self.clipnorm:
            grads = [clip_by_branch_norm(g, self.clipnorm) for g in grads]
        if ops.all(active):
            self.optimizer.apply(grads, self.variables)
        else:
            self._apply_held(grads, active)
        self.loss_sum.assign_add(total * count)
        self.row_sum.assign_add(count)
        self._update_metrics(y, pred, weights, real)

    def _apply_held(self, grads: Any, active: Any) -> None:
        """Apply, then put back the weights and optimizer state of the branches without rows."""
        from keras import ops

        held = [*self.variables, *self.slots]
        before = [ops.copy(v.value) for v in held]
        self.optimizer.apply(grads, self.variables)
        keep = ops.reshape(active, (self.branches, 1, 1))
        for variable, old in zip(held, before, strict=True):
            variable.assign(ops.where(keep, variable.value, old))

    def _update_metrics(self, y: Any, pred: Any, weights: Any, real: Any) -> None:
        from keras import ops

        if self.means:
            b, n = ops.shape(pred)[0], ops.shape(pred)[1]
            flat_pred = ops.reshape(pred, (b * n, pred.shape[-1]))
            flat_y = ops.reshape(y, (b * n, *y.shape[2:]))
            sums = []
            for metric in self.means:
                values = ops.cast(metric._fn(flat_y, flat_pred, **metric._fn_kwargs), "float32")
                values = ops.reshape(values, (b, n, -1))
                values = ops.mean(values, axis=2)
                sums.append(ops.sum(ops.where(real, values * weights, 0.0), axis=1))
            self.mean_sum.assign_add(ops.stack(sums))
            self.mean_rows.assign_add(ops.stack([ops.sum(weights, axis=1)] * len(sums)))
        for copies in self.others:
            for branch, metric in enumerate(copies):
                metric.update_state(y[branch], pred[branch], sample_weight=weights[branch])

    # ----------------------------------------------------------------- driving it

    def run(self, rows: np.ndarray, weights: np.ndarray) -> None:
        """Train ``rows.shape[1]`` steps (``rows``, ``weights``: ``(branches, steps, batch)``)."""
        self._chunk(np.ascontiguousarray(rows, "int32"), np.ascontiguousarray(weights, "float32"))

    def reset(self) -> None:
        """Start an epoch's running metrics."""
        for variable in (self.loss_sum, self.row_sum, self.mean_sum, self.mean_rows):
            variable.assign(np.zeros(variable.shape, "float32"))
        for copies in self.others:
            for metric in copies:
                metric.reset_state()

    def running_loss(self) -> np.ndarray:
        """Each branch's mean loss over its rows of this epoch so far."""
        rows = self.row_sum.numpy()
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(rows > 0, self.loss_sum.numpy() / np.maximum(rows, 1), np.nan)

    def results(self) -> list[dict[str, float]]:
        """Each branch's metrics of this epoch so far, by name in Keras' (sorted) order."""
        loss = self.running_loss()
        sums, rows = self.mean_sum.numpy(), self.mean_rows.numpy()
        out: list[dict[str, float]] = [{"loss": float(value)} for value in loss]
        by_name: dict[str, list[float]] = {}
        for index, metric in enumerate(self.means):
            with np.errstate(invalid="ignore", divide="ignore"):
                by_name[metric.name] = list(sums[index] / np.maximum(rows[index], 1e-30))
        for copies in self.others:
            by_name[copies[0].name] = [float(m.result()) for m in copies]
        for metric in self.metrics:
            for branch, values in enumerate(out):
                values[metric.name] = float(by_name[metric.name][branch])
        return [dict(sorted(values.items())) for values in out]

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Each branch's outputs for its rows: ``x`` is ``(branches, n, features)``."""
        pred, _ = self.net(np.asarray(x, dtype="float32"), training=False)
        return np.asarray(pred)


class BranchModel:
    """What a Keras callback sees as ``model`` for one branch (its weights, its stop flag)."""

    def __init__(self, trainer: FusedTrainer, branch: int, learning_rate: float | None = None):
        self.trainer = trainer
        self.branch = branch
        self.learning_rate = learning_rate  # the branch's own (the optimizer holds them all)
        self.stop_training = False

    @property
    def optimizer(self) -> Any:
        """The shared optimizer (its class names the branch's optimizer)."""
        return self.trainer.optimizer

    @property
    def loss(self) -> Any:
        """The per-row loss function."""
        return self.trainer.loss

    @property
    def metrics(self) -> list[Any]:
        """The compiled metrics (early stopping looks up a metric's direction here)."""
        try:
            from keras.src.trainers.compile_utils import MetricsList
        except ImportError:  # pragma: no cover - a Keras without it: the plain list
            return list(self.trainer.metrics)
        return [MetricsList(list(self.trainer.metrics))]

    def get_weights(self) -> list[np.ndarray]:
        """The branch's weights (as its own network would hold them)."""
        return self.trainer.net.branch_weights(self.branch)

    def set_weights(self, weights: list[np.ndarray]) -> None:
        """Set the branch's weights."""
        self.trainer.net.set_branch_weights(self.branch, weights)
