"""Allow-lists of the Keras objects a preset may name, and the "did you mean" helper.

A preset names Keras objects by string; only names listed here are accepted, so a preset can
never make the program import or run anything else.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

ACTIVATIONS = (
    "sigmoid", "tanh", "relu", "relu6", "leaky_relu", "elu", "selu", "gelu", "silu", "swish",
    "mish", "softplus", "softsign", "hard_sigmoid", "hard_silu", "exponential", "linear",
    "softmax", "log_softmax",
)  # fmt: skip

INITIALIZERS = (
    "random_uniform", "random_normal", "truncated_normal", "glorot_uniform", "glorot_normal",
    "he_normal", "he_uniform", "lecun_normal", "lecun_uniform", "variance_scaling",
    "orthogonal", "zeros", "ones", "constant",
)  # fmt: skip

# Parameters each initializer accepts (beyond ``seed``, which comes from the experiment).
INITIALIZER_PARAMS: dict[str, tuple[str, ...]] = {
    "random_uniform": ("minval", "maxval"),
    "random_normal": ("mean", "stddev"),
    "truncated_normal": ("mean", "stddev"),
    "variance_scaling": ("scale", "mode", "distribution"),
    "orthogonal": ("gain",),
    "constant": ("value",),
}

OPTIMIZERS = (
    "sgd", "adam", "adamw", "rmsprop", "adagrad", "adadelta", "adamax", "nadam", "ftrl", "lion",
)  # fmt: skip

# Options each optimizer accepts besides learning_rate and the common clip/decay options.
OPTIMIZER_OPTIONS: dict[str, tuple[str, ...]] = {
    "sgd": ("momentum", "nesterov"),
    "adam": ("beta_1", "beta_2", "epsilon", "amsgrad"),
    "adamw": ("beta_1", "beta_2", "epsilon", "amsgrad"),
    "rmsprop": ("rho", "momentum", "epsilon", "centered"),
    "adagrad": ("initial_accumulator_value", "epsilon"),
    "adadelta": ("rho", "epsilon"),
    "adamax": ("beta_1", "beta_2", "epsilon"),
    "nadam": ("beta_1", "beta_2", "epsilon"),
    "ftrl": ("learning_rate_power", "initial_accumulator_value"),
    "lion": ("beta_1", "beta_2"),
}
COMMON_OPTIMIZER_OPTIONS = ("weight_decay", "clipnorm", "clipvalue")

LOSSES = (
    "sparse_categorical_crossentropy", "categorical_crossentropy", "binary_crossentropy",
    "mean_squared_error", "mean_absolute_error", "huber", "mean_squared_logarithmic_error",
    "log_cosh", "hinge", "squared_hinge", "kl_divergence", "poisson",
)  # fmt: skip
LOSS_ALIASES = {
    "mse": "mean_squared_error",
    "mae": "mean_absolute_error",
    "msle": "mean_squared_logarithmic_error",
    "crossentropy": "auto",
    "cross_entropy": "auto",
}

CLASSIFICATION_METRICS = ("accuracy", "auc", "precision", "recall", "top_k_accuracy")
REGRESSION_METRICS = ("mae", "mse", "rmse", "mape", "r2")
METRICS = CLASSIFICATION_METRICS + REGRESSION_METRICS

SKLEARN_DATASETS = ("digits", "iris", "wine", "breast_cancer", "diabetes")
SYNTHETIC_DATASETS = ("moons", "circles", "blobs", "classification", "regression")
KERAS_DATASETS = ("mnist", "fashion_mnist")
SOURCE_KINDS = ("sklearn", "synthetic", "keras", "file")
FILE_FORMATS = ("auto", "csv", "npz", "idx")
SCALINGS = ("standard", "minmax", "none")
TASKS = ("auto", "classification", "regression")
SEARCH_KINDS = ("grid", "halving", "random")
GRID_BACKENDS = ("local", "dask")  # where a grid search runs its fits
SCHEDULER_SCHEMES = ("tcp", "tls", "ucx", "ws", "wss")  # Dask scheduler address protocols


def suggest(word: str, allowed: Iterable[str]) -> str:
    """A ``; did you mean 'x'?`` suffix for the closest allowed word, or an empty string."""
    close = difflib.get_close_matches(str(word), list(allowed), n=1, cutoff=0.6)
    return f"; did you mean '{close[0]}'?" if close else ""


def not_allowed(what: str, got: object, allowed: Iterable[str]) -> str:
    """The message for a name outside an allow-list, with the list and a suggestion."""
    allowed = list(allowed)
    return f"unknown {what} {got!r}{suggest(str(got), allowed)} (allowed: {', '.join(allowed)})"
