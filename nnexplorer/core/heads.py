"""The output layer, loss and metrics that follow from the task (pure logic, no TensorFlow).

Classification with two classes ends in one sigmoid unit and binary cross-entropy; with more
classes in a softmax over the classes and sparse categorical cross-entropy; regression in one
linear unit and mean squared error. A preset may set any of these; a loss that needs one-hot
targets (categorical cross-entropy, or MSE on a classification task, as the study guide compares)
turns ``one_hot`` on.
"""

from __future__ import annotations

from dataclasses import dataclass

from nnexplorer.core.spec import ExperimentSpec

_ONE_HOT_LOSSES = {
    "categorical_crossentropy",
    "mean_squared_error",
    "mean_absolute_error",
    "huber",
    "log_cosh",
    "kl_divergence",
    "hinge",
    "squared_hinge",
    "mean_squared_logarithmic_error",
    "poisson",
}


@dataclass(frozen=True)
class Head:
    """What the model ends in and how it is trained."""

    units: int
    activation: str
    loss: str
    metrics: tuple[str, ...]
    one_hot: bool

    @property
    def monitor_metric(self) -> str:
        """The metric a user watches besides the loss (first of ``metrics``)."""
        return self.metrics[0] if self.metrics else "loss"


def resolve_head(spec: ExperimentSpec, task: str, n_classes: int) -> Head:
    """Decide the output layer, loss and metrics for ``task`` with ``n_classes`` classes."""
    loss = spec.compile.resolved_loss
    metrics = tuple(m for m in spec.compile.metrics if m != "auto")
    if task == "regression":
        loss = "mean_squared_error" if loss == "auto" else loss
        activation = "linear" if spec.output.activation == "auto" else spec.output.activation
        if "auto" in spec.compile.metrics:
            metrics = ("mae", *[m for m in metrics if m != "mae"])
        return Head(spec.output.units or 1, activation, loss, metrics, one_hot=False)
    binary = n_classes == 2
    if loss == "auto":
        loss = "binary_crossentropy" if binary else "sparse_categorical_crossentropy"
    one_hot = loss in _ONE_HOT_LOSSES
    if binary and loss == "binary_crossentropy":
        units, default_activation = 1, "sigmoid"
    else:
        units, default_activation = n_classes, "softmax"
    activation = default_activation if spec.output.activation == "auto" else spec.output.activation
    if "auto" in spec.compile.metrics:
        metrics = ("accuracy", *[m for m in metrics if m != "accuracy"])
    return Head(spec.output.units or units, activation, loss, metrics, one_hot=one_hot)
