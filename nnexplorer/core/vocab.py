"""Allow-lists of the Keras objects a preset may name, and the "did you mean" helper.

A preset names Keras objects by string; only names listed here are accepted, so a preset can
never make the program import or run anything else. Each name maps to the Keras object it means
(an attribute path inside ``keras``); :mod:`nnexplorer.core.building` and the script exporter
read these tables and no other.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

from nnexplorer.core.errors import excerpt

# Each allowed Keras name -> the object it means, as an attribute path inside ``keras``
# (``"initializers.HeNormal"`` is ``keras.initializers.HeNormal``). These tables are the one list
# of names: the spec accepts exactly their keys, building.py creates objects from their paths and
# the script exporter prints the same paths. Adding a name is one line here (a test checks that
# every path exists in the installed Keras). keras itself is never imported by this module.

# Activations and losses are handed to Keras by name (Keras resolves each name to the object
# below; the test checks that it does), so that saved models and exported scripts show the name.
ACTIVATION_PATHS: dict[str, str] = {
    "sigmoid": "activations.sigmoid",
    "tanh": "activations.tanh",
    "relu": "activations.relu",
    "relu6": "activations.relu6",
    "leaky_relu": "activations.leaky_relu",
    "elu": "activations.elu",
    "selu": "activations.selu",
    "gelu": "activations.gelu",
    "silu": "activations.silu",
    "swish": "activations.swish",
    "mish": "activations.mish",
    "softplus": "activations.softplus",
    "softsign": "activations.softsign",
    "hard_sigmoid": "activations.hard_sigmoid",
    "hard_silu": "activations.hard_silu",
    "exponential": "activations.exponential",
    "linear": "activations.linear",
    "softmax": "activations.softmax",
    "log_softmax": "activations.log_softmax",
}

INITIALIZER_PATHS: dict[str, str] = {
    "random_uniform": "initializers.RandomUniform",
    "random_normal": "initializers.RandomNormal",
    "truncated_normal": "initializers.TruncatedNormal",
    "glorot_uniform": "initializers.GlorotUniform",
    "glorot_normal": "initializers.GlorotNormal",
    "he_normal": "initializers.HeNormal",
    "he_uniform": "initializers.HeUniform",
    "lecun_normal": "initializers.LecunNormal",
    "lecun_uniform": "initializers.LecunUniform",
    "variance_scaling": "initializers.VarianceScaling",
    "orthogonal": "initializers.Orthogonal",
    "zeros": "initializers.Zeros",
    "ones": "initializers.Ones",
    "constant": "initializers.Constant",
}

# Parameters each initializer accepts (beyond ``seed``, which comes from the experiment).
INITIALIZER_PARAMS: dict[str, tuple[str, ...]] = {
    "random_uniform": ("minval", "maxval"),
    "random_normal": ("mean", "stddev"),
    "truncated_normal": ("mean", "stddev"),
    "variance_scaling": ("scale", "mode", "distribution"),
    "orthogonal": ("gain",),
    "constant": ("value",),
}

OPTIMIZER_PATHS: dict[str, str] = {
    "sgd": "optimizers.SGD",
    "adam": "optimizers.Adam",
    "adamw": "optimizers.AdamW",
    "rmsprop": "optimizers.RMSprop",
    "adagrad": "optimizers.Adagrad",
    "adadelta": "optimizers.Adadelta",
    "adamax": "optimizers.Adamax",
    "nadam": "optimizers.Nadam",
    "ftrl": "optimizers.Ftrl",
    "lion": "optimizers.Lion",
}

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
# Every optimizer option of any optimizer (learning_rate excluded), sorted.
ALL_OPTIMIZER_OPTIONS = tuple(
    sorted({o for opts in OPTIMIZER_OPTIONS.values() for o in opts} | set(COMMON_OPTIMIZER_OPTIONS))
)

LOSS_PATHS: dict[str, str] = {
    "sparse_categorical_crossentropy": "losses.sparse_categorical_crossentropy",
    "categorical_crossentropy": "losses.categorical_crossentropy",
    "binary_crossentropy": "losses.binary_crossentropy",
    "mean_squared_error": "losses.mean_squared_error",
    "mean_absolute_error": "losses.mean_absolute_error",
    "huber": "losses.huber",
    "mean_squared_logarithmic_error": "losses.mean_squared_logarithmic_error",
    "log_cosh": "losses.log_cosh",
    "hinge": "losses.hinge",
    "squared_hinge": "losses.squared_hinge",
    "kl_divergence": "losses.kl_divergence",
    "poisson": "losses.poisson",
}
LOSS_ALIASES = {
    "mse": "mean_squared_error",
    "mae": "mean_absolute_error",
    "msle": "mean_squared_logarithmic_error",
    "crossentropy": "auto",
    "cross_entropy": "auto",
}

# Metrics by the name a preset (and the training history) uses. Two depend on the labels:
# ``accuracy`` is handed to Keras by name (compile picks the binary, categorical or sparse class
# from the shapes) and ``top_k_accuracy`` takes its sparse class for labels given as numbers.
CLASSIFICATION_METRIC_PATHS: dict[str, str] = {
    "accuracy": "metrics.CategoricalAccuracy",
    "auc": "metrics.AUC",
    "precision": "metrics.Precision",
    "recall": "metrics.Recall",
    "top_k_accuracy": "metrics.TopKCategoricalAccuracy",
}
REGRESSION_METRIC_PATHS: dict[str, str] = {
    "mae": "metrics.MeanAbsoluteError",
    "mse": "metrics.MeanSquaredError",
    "rmse": "metrics.RootMeanSquaredError",
    "mape": "metrics.MeanAbsolutePercentageError",
    "r2": "metrics.R2Score",
}
METRIC_PATHS: dict[str, str] = {**CLASSIFICATION_METRIC_PATHS, **REGRESSION_METRIC_PATHS}
SPARSE_METRIC_PATHS: dict[str, str] = {
    "accuracy": "metrics.SparseCategoricalAccuracy",
    "top_k_accuracy": "metrics.SparseTopKCategoricalAccuracy",
}

# Every table of Keras objects, by what it names (for the "every name resolves" test).
KERAS_PATHS: dict[str, dict[str, str]] = {
    "activation": ACTIVATION_PATHS,
    "initializer": INITIALIZER_PATHS,
    "optimizer": OPTIMIZER_PATHS,
    "loss": LOSS_PATHS,
    "metric": METRIC_PATHS,
    "sparse metric": SPARSE_METRIC_PATHS,
}

# The allowed names, in the order they are listed to a user.
ACTIVATIONS = tuple(ACTIVATION_PATHS)
INITIALIZERS = tuple(INITIALIZER_PATHS)
OPTIMIZERS = tuple(OPTIMIZER_PATHS)
LOSSES = tuple(LOSS_PATHS)
CLASSIFICATION_METRICS = tuple(CLASSIFICATION_METRIC_PATHS)
REGRESSION_METRICS = tuple(REGRESSION_METRIC_PATHS)
METRICS = CLASSIFICATION_METRICS + REGRESSION_METRICS

SKLEARN_DATASETS = ("digits", "iris", "wine", "breast_cancer", "diabetes")
SYNTHETIC_DATASETS = ("moons", "circles", "blobs", "classification", "regression")
KERAS_DATASETS = ("mnist", "fashion_mnist")
# The options each synthetic generator uses (moons and circles always have 2 features).
SYNTHETIC_OPTIONS: dict[str, tuple[str, ...]] = {
    "moons": ("n_samples", "noise"),
    "circles": ("n_samples", "noise"),
    "blobs": ("n_samples", "n_features", "n_classes"),
    "classification": ("n_samples", "n_features", "n_classes"),
    "regression": ("n_samples", "n_features", "noise"),
}
REGRESSION_SOURCES = ("sklearn:diabetes", "synthetic:regression")  # the others classify
SOURCE_KINDS = ("sklearn", "synthetic", "keras", "file")
FILE_FORMATS = ("auto", "csv", "npz", "idx")
SCALINGS = ("standard", "minmax", "none")
TASKS = ("auto", "classification", "regression")
# grid / halving / random: cross-validated searches; sweep: each combination trained once
SEARCH_KINDS = ("grid", "halving", "random", "sweep")
GRID_BACKENDS = ("local", "dask")  # where a grid search runs its fits
SCHEDULER_SCHEMES = ("tcp", "tls", "ucx", "ws", "wss")  # Dask scheduler address protocols


def suggest(word: str, allowed: Iterable[str]) -> str:
    """A ``; did you mean 'x'?`` suffix for the closest allowed word, or an empty string."""
    if len(str(word)) > 100:  # nothing allowed is that long; and matching it would be slow
        return ""
    close = difflib.get_close_matches(str(word), list(allowed), n=1, cutoff=0.6)
    return f"; did you mean '{close[0]}'?" if close else ""


def not_allowed(what: str, got: object, allowed: Iterable[str]) -> str:
    """The message for a name outside an allow-list, with the list and a suggestion."""
    allowed = list(allowed)
    shown = excerpt(got)
    return f"unknown {what} {shown}{suggest(str(got), allowed)} (allowed: {', '.join(allowed)})"
