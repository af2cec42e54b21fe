"""The probe batch: a fixed set of training rows pushed through the model once per epoch.

One traced TensorFlow function runs the rows through the layers (``training=False``: Dropout
off), records each Dense layer's outputs, takes the compiled loss without the regularisation
penalty (the data loss) and its gradient with respect to every Dense kernel. The penalty comes
from the same pass (``sum(model.losses)``: weight regularisers on the current weights, activity
regularisers on the probe rows). TensorFlow and Keras are imported inside the functions.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from nnexplorer.core.diagnostics._stats import layer_entry

PROBE_ROWS = 256


def choose_rows(n: int, size: int = PROBE_ROWS, seed: int | None = None) -> np.ndarray:
    """``size`` row indices out of ``n`` (all of them when there are fewer), sorted, seeded."""
    if n <= size:
        return np.arange(n)
    rng = np.random.default_rng(0 if seed is None else seed)
    return np.sort(rng.choice(n, size=size, replace=False))


@dataclass(frozen=True)
class DenseInfo:
    """What the statistics need to know about one Dense layer besides its arrays."""

    name: str
    activation: str
    max_norm: float | None
    regularizer: str | None


def _activation_name(layer: Any) -> str:
    value = layer.get_config().get("activation", "linear")
    return value if isinstance(value, str) else str(getattr(layer.activation, "__name__", value))


def describe_regularizer(regularizer: Any) -> str | None:
    """``l1=0.01``, ``l2=0.0001`` or ``l1=0.01,l2=0.001`` for a Keras weight regulariser."""
    if regularizer is None:
        return None
    config = regularizer.get_config() if hasattr(regularizer, "get_config") else {}
    parts = [f"{k}={float(v):g}" for k in ("l1", "l2") if (v := config.get(k))]
    return ",".join(parts) or type(regularizer).__name__


def dense_info(layer: Any) -> DenseInfo:
    """Name, activation, max-norm limit and kernel regulariser of a Keras Dense layer."""
    constraint = getattr(layer, "kernel_constraint", None)
    limit = None
    if constraint is not None and hasattr(constraint, "get_config"):
        value = constraint.get_config().get("max_value")
        limit = float(value) if isinstance(value, int | float) else None
    return DenseInfo(
        name=layer.name,
        activation=_activation_name(layer),
        max_norm=limit,
        regularizer=describe_regularizer(getattr(layer, "kernel_regularizer", None)),
    )


def has_regularizers(model: Any) -> bool:
    """Whether any layer adds a penalty to the loss (kernel, bias or activity regulariser)."""
    names = ("kernel_regularizer", "bias_regularizer", "activity_regularizer")
    return any(getattr(layer, n, None) is not None for layer in model.layers for n in names)


@dataclass(frozen=True)
class ProbeResult:
    """One pass of the probe batch: losses, each Dense layer's outputs and kernel gradient."""

    data_loss: float
    penalty: float
    outputs: list[np.ndarray]
    gradients: list[np.ndarray | None]


class Probe:
    """Runs the probe rows through ``model``; traced once, called once per epoch."""

    def __init__(self, model: Any, x: np.ndarray, y: np.ndarray):
        import keras
        import tensorflow as tf

        self.model = model
        self.dense = [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)]
        self._dense_ids = {id(layer) for layer in self.dense}
        self.info = [dense_info(layer) for layer in self.dense]
        self._x = tf.constant(np.asarray(x, dtype="float32"))
        self._y = tf.constant(np.asarray(y))
        self._pass = tf.function(self._forward_backward, autograph=False)
        self._penalty = tf.function(self._penalty_only, autograph=False)

    def _run_layers(self, x: Any) -> tuple[Any, list[Any]]:
        outputs = []
        h = x
        for layer in self.model.layers:
            h = layer(h, training=False)
            if id(layer) in self._dense_ids:
                outputs.append(h)
        return h, outputs

    def _total_penalty(self) -> Any:
        import tensorflow as tf

        losses = [tf.reduce_sum(loss) for loss in self.model.losses]
        return tf.add_n(losses) if losses else tf.zeros(())

    def _forward_backward(self, x: Any, y: Any) -> Any:
        import tensorflow as tf

        kernels = [layer.kernel for layer in self.dense]
        with tf.GradientTape() as tape:
            y_pred, outputs = self._run_layers(x)
            penalty = self._total_penalty()
            # compute_loss is the compiled loss plus the penalty; the data loss is the former
            data_loss = self.model.compute_loss(x, y, y_pred, training=False) - penalty
        gradients = tape.gradient(data_loss, kernels)
        gradients = [
            tf.zeros_like(k) if g is None else g for g, k in zip(gradients, kernels, strict=True)
        ]
        return data_loss, penalty, outputs, gradients

    def _penalty_only(self, x: Any) -> Any:
        self._run_layers(x)  # activity regularisers add their terms during the pass
        return self._total_penalty()

    def run(self) -> ProbeResult:
        """Push the probe rows through the current weights."""
        data_loss, penalty, outputs, gradients = self._pass(self._x, self._y)
        return ProbeResult(
            data_loss=float(data_loss),
            penalty=float(penalty),
            outputs=[np.asarray(o) for o in outputs],
            gradients=[np.asarray(g) for g in gradients],
        )

    def penalty(self) -> float:
        """The regularisation term alone (a forward pass, no gradients)."""
        return float(self._penalty(self._x))

    def layer_stats(self, result: ProbeResult | None = None) -> list[dict[str, Any]]:
        """One statistics entry per Dense layer, first to last (see ``LayerStats``)."""
        result = result or self.run()
        entries = []
        for layer, info, outputs, gradient in zip(
            self.dense, self.info, result.outputs, result.gradients, strict=True
        ):
            entries.append(
                layer_entry(
                    name=info.name,
                    activation=info.activation,
                    kernel=np.asarray(layer.kernel.numpy()),
                    outputs=outputs,
                    gradient=gradient,
                    max_norm=info.max_norm,
                    regularizer=info.regularizer,
                )
            )
        return entries
