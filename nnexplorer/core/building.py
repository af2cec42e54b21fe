"""Turn an experiment spec into a compiled Keras model: the only place spec strings become objects.

Every Keras object is first described by a :class:`Recipe` (a class path inside ``keras`` plus
its arguments, all plain data). :func:`build_model` instantiates recipes; the script exporter
(:mod:`nnexplorer.core.codegen`) prints the same recipes as code, so the exported script builds
exactly the model a run trains. Class paths come only from the tables of
:mod:`nnexplorer.core.vocab`, never from a preset.

Metric keys in the training history equal the metric's name in the preset, with ``val_`` in
front for the validation split: ``loss``/``val_loss`` always, and ``accuracy``, ``auc``,
``precision``, ``recall``, ``top_k_accuracy``, ``mae``, ``mse``, ``rmse``, ``mape``, ``r2``
(e.g. ``rmse`` -> ``rmse`` and ``val_rmse``). TensorFlow and Keras are imported inside functions.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from nnexplorer.core import vocab
from nnexplorer.core.errors import ErrorItem, SpecError
from nnexplorer.core.heads import Head, resolve_head
from nnexplorer.core.spec import (
    CompileSpec,
    ConstraintSpec,
    DenseLayer,
    EarlyStoppingSpec,
    ExperimentSpec,
    InitializerSpec,
    RegularizerSpec,
)

_UNSEEDED_INITIALIZERS = {"zeros", "ones", "constant"}

# Metrics that compare y and the prediction element by element: they need one column per output
# (every metric without a sparse variant for labels given as class numbers).
_ELEMENTWISE_METRICS = set(vocab.METRIC_PATHS) - set(vocab.SPARSE_METRIC_PATHS)

# Seed offsets, so that a layer's kernel, bias and dropout draw different random streams.
_BIAS_SEED_OFFSET = 1000
_SEED_MODULUS = 2**31 - 1


@dataclass(frozen=True)
class Recipe:
    """A Keras object to create: ``keras.<path>(*args, **kwargs)``; arguments may be recipes."""

    path: str
    args: tuple[Any, ...] = ()
    kwargs: dict[str, Any] = field(default_factory=dict)

    def create(self) -> Any:
        """Instantiate the object (imports keras)."""
        target = keras_object(self.path)
        args = [_create(a) for a in self.args]
        kwargs = {k: _create(v) for k, v in self.kwargs.items()}
        return target(*args, **kwargs)


def keras_object(path: str) -> Any:
    """``keras.<path>``: the class or function an attribute path names (imports keras)."""
    import keras

    target: Any = keras
    for part in path.split("."):
        target = getattr(target, part)
    return target


def _create(value: Any) -> Any:
    if isinstance(value, Recipe):
        return value.create()
    if isinstance(value, list):
        return [_create(v) for v in value]
    return value


# --------------------------------------------------------------------------- recipes


def _seed(base: int | None, offset: int) -> int | None:
    return None if base is None else (base + offset) % _SEED_MODULUS


def initializer_recipe(spec: InitializerSpec, seed: int | None) -> Recipe:
    """An initializer with its parameters; seeded unless it is constant."""
    kwargs: dict[str, Any] = dict(spec.params())
    if spec.name not in _UNSEEDED_INITIALIZERS and seed is not None:
        kwargs["seed"] = seed
    return Recipe(vocab.INITIALIZER_PATHS[spec.name], kwargs=kwargs)


def regularizer_recipe(spec: RegularizerSpec | None) -> Recipe | None:
    """``L1``, ``L2`` or ``L1L2`` (elastic net) by which factors are set; None when neither."""
    if spec is None or spec.kind == "none":
        return None
    if spec.kind == "l1":
        return Recipe("regularizers.L1", kwargs={"l1": spec.l1})
    if spec.kind == "l2":
        return Recipe("regularizers.L2", kwargs={"l2": spec.l2})
    return Recipe("regularizers.L1L2", kwargs={"l1": spec.l1, "l2": spec.l2})


def constraint_recipe(spec: ConstraintSpec | None) -> Recipe | None:
    """A ``MaxNorm`` constraint, or None."""
    if spec is None:
        return None
    return Recipe("constraints.MaxNorm", kwargs={"max_value": spec.max_norm, "axis": spec.axis})


def layer_names(spec: ExperimentSpec) -> list[str]:
    """Each hidden layer's name: its own, else ``hidden_<n>`` / ``dropout_<n>`` counted by kind."""
    names: list[str] = []
    counts = {"dense": 0, "dropout": 0}
    for layer in spec.layers:
        counts[layer.type] += 1
        prefix = "hidden" if layer.type == "dense" else "dropout"
        names.append(layer.name or f"{prefix}_{counts[layer.type]}")
    seen: dict[str, int] = {}
    for index, name in enumerate(names):
        if name == "features":
            message = "the name 'features' is taken by the input layer"
            raise SpecError.from_items([ErrorItem(message, f"layers[{index}].name")])
        if name in seen:
            message = f"duplicate layer name {name!r} (also used by layers[{seen[name]}])"
            raise SpecError.from_items([ErrorItem(message, f"layers[{index}].name")])
        seen[name] = index
    return names


def layer_recipes(spec: ExperimentSpec) -> list[Recipe]:
    """The hidden layers, in order, each seeded from the experiment seed plus its index."""
    base = spec.experiment.seed
    recipes = []
    for index, (layer, name) in enumerate(zip(spec.layers, layer_names(spec), strict=True)):
        if isinstance(layer, DenseLayer):
            recipes.append(_dense_recipe(layer, name, base, index))
        else:
            kwargs: dict[str, Any] = {}
            if base is not None:
                kwargs["seed"] = _seed(base, index)
            kwargs["name"] = name
            recipes.append(Recipe("layers.Dropout", (layer.rate,), kwargs))
    return recipes


def _dense_recipe(layer: DenseLayer, name: str, base: int | None, index: int) -> Recipe:
    kwargs: dict[str, Any] = {
        "activation": layer.activation,
        "use_bias": layer.use_bias,
        "kernel_initializer": initializer_recipe(layer.kernel_initializer, _seed(base, index)),
    }
    if layer.use_bias:
        kwargs["bias_initializer"] = initializer_recipe(
            layer.bias_initializer, _seed(base, index + _BIAS_SEED_OFFSET)
        )
    optional = {
        "kernel_regularizer": regularizer_recipe(layer.kernel_regularizer),
        "bias_regularizer": regularizer_recipe(layer.bias_regularizer) if layer.use_bias else None,
        "activity_regularizer": regularizer_recipe(layer.activity_regularizer),
        "kernel_constraint": constraint_recipe(layer.kernel_constraint),
    }
    kwargs.update({k: v for k, v in optional.items() if v is not None})
    kwargs["name"] = name
    return Recipe("layers.Dense", (layer.units,), kwargs)


def output_recipe(spec: ExperimentSpec, head: Head) -> Recipe:
    """The output layer: units and activation from the head, initializer from ``[output]``."""
    index = len(spec.layers)
    taken = set(layer_names(spec))
    kwargs: dict[str, Any] = {
        "activation": head.activation,
        "kernel_initializer": initializer_recipe(
            spec.output.kernel_initializer, _seed(spec.experiment.seed, index)
        ),
    }
    for which in ("kernel_regularizer", "bias_regularizer"):
        regularizer = regularizer_recipe(getattr(spec.output, which))
        if regularizer is not None:
            kwargs[which] = regularizer
    kwargs["name"] = "output" if "output" not in taken else f"output_{index}"
    return Recipe("layers.Dense", (head.units,), kwargs)


def optimizer_recipe(compile_spec: CompileSpec) -> Recipe:
    """The optimizer with its learning rate and the options the preset sets."""
    kwargs = {"learning_rate": compile_spec.learning_rate, **compile_spec.optimizer_options()}
    return Recipe(vocab.OPTIMIZER_PATHS[compile_spec.optimizer], kwargs=kwargs)


def metric_recipes(head: Head, task: str) -> list[Recipe | str]:
    """The head's metrics, each named as in the preset so history keys are predictable."""
    sparse_multiclass = task == "classification" and not head.one_hot and head.units > 1
    out: list[Recipe | str] = []
    for name in head.metrics:
        if name == "accuracy":
            out.append("accuracy")
        elif name == "top_k_accuracy":
            if head.units < 3:
                raise _metric_error(name, "needs three or more classes", "use accuracy")
            table = vocab.METRIC_PATHS if head.one_hot else vocab.SPARSE_METRIC_PATHS
            k = min(5, head.units - 1)
            out.append(Recipe(table[name], kwargs={"k": k, "name": name}))
        else:
            if name in _ELEMENTWISE_METRICS and sparse_multiclass:
                raise _metric_error(
                    name,
                    "compares one column per class, but the labels are class numbers",
                    "set compile.loss = 'categorical_crossentropy' (one-hot labels)",
                )
            out.append(Recipe(vocab.METRIC_PATHS[name], kwargs={"name": name}))
    return out


def early_stopping_recipe(early: EarlyStoppingSpec, *, has_validation: bool) -> Recipe:
    """Keras' EarlyStopping as the spec sets it.

    Without a validation split a ``val_`` monitor watches the training metric instead (the
    caller says so to the user when it matters).
    """
    monitor = early.monitor if has_validation else early.monitor.removeprefix("val_")
    kwargs = {
        "monitor": monitor,
        "patience": early.patience,
        "min_delta": early.min_delta,
        "mode": early.mode,
        "restore_best_weights": early.restore_best_weights,
    }
    return Recipe("callbacks.EarlyStopping", kwargs=kwargs)


def _metric_error(name: str, why: str, hint: str) -> SpecError:
    return SpecError.from_items([ErrorItem(f"metric {name!r} {why}; {hint}", "compile.metrics")])


# Every model gets this name, whatever the experiment is called: TensorFlow orders some of its
# work by name, so a renamed experiment would otherwise not repeat its numbers exactly.
MODEL_NAME = "nnexplorer_mlp"


# --------------------------------------------------------------------------- building


def build_model(spec: ExperimentSpec, dataset_like: Any) -> Any:
    """A compiled ``keras.Sequential``: Input, the spec's layers, the task's output layer."""
    import keras

    head = resolve_head(spec, dataset_like.task, dataset_like.n_classes)
    layers = [keras.Input(shape=(int(dataset_like.n_features),), name="features")]
    layers += [recipe.create() for recipe in layer_recipes(spec)]
    layers.append(output_recipe(spec, head).create())
    model = keras.Sequential(layers, name=MODEL_NAME)
    model.compile(
        optimizer=optimizer_recipe(spec.compile).create(),
        loss=head.loss,
        metrics=[_create(m) for m in metric_recipes(head, dataset_like.task)],
    )
    return model


def in_target_units(model: Any, spec: ExperimentSpec, task: str, mean: float, std: float) -> Any:
    """``model`` (trained on standardised targets) with its output turned back into the units
    of the target: the same layers and weights, then ``y * std + mean``; compiled with the same
    loss and metrics, so that ``evaluate`` measures them in the target's units.
    """
    import keras

    head = resolve_head(spec, task, 0)
    layers = [keras.Input(shape=model.input_shape[1:], name="features"), *model.layers]
    layers.append(keras.layers.Rescaling(scale=std, offset=mean, name="target_units"))
    wrapper = keras.Sequential(layers, name=MODEL_NAME)
    metrics = [_create(m) for m in metric_recipes(head, task)]
    wrapper.compile(optimizer=model.optimizer, loss=head.loss, metrics=metrics)
    return wrapper


def set_learning_rate(model: Any, compile_spec: CompileSpec) -> None:
    """Give a built model's optimizer the learning rate of ``compile_spec``.

    A grid worker reuses a traced network for candidates that differ only in training settings;
    the learning rate is the one of those that lives in the compiled model.
    """
    model.optimizer.learning_rate = compile_spec.learning_rate


def prepare_targets(y: np.ndarray, head: Head, n_classes: int | None = None) -> np.ndarray:
    """Targets as the loss expects them: one-hot rows, float32 for regression, labels as is."""
    y = np.asarray(y)
    if head.one_hot:
        width = n_classes or head.units
        return np.eye(width, dtype="float32")[y.astype("int64").ravel()]
    if not np.issubdtype(y.dtype, np.integer):
        return y.astype("float32")
    return y


def count_params(model: Any) -> int:
    """Number of weights in the model."""
    return int(model.count_params())


# --------------------------------------------------------------------------- runtime


def set_seeds(seed: int | None) -> None:
    """Seed Python, NumPy and the backend, so that a run on CPU repeats exactly."""
    if seed is None:
        return
    import keras

    keras.utils.set_random_seed(int(seed))
