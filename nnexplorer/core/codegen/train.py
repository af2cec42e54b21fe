"""Write an experiment as a standalone Python script that needs only numpy, scikit-learn, keras.

The script loads and splits the data as a run does (:mod:`nnexplorer.core.codegen.data`), builds
the same network from the same recipes :func:`nnexplorer.core.building.build_model` uses (one
``model.add`` per layer, initializers, regularizers and constraints spelled out), trains it and
prints the test metrics. With a ``[grid]`` the script also holds the scikeras + GridSearchCV
version of the search (run it with ``--grid``; see :mod:`nnexplorer.core.codegen.grid`).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from nnexplorer.core.building import (
    MODEL_NAME,
    Recipe,
    early_stopping_recipe,
    layer_recipes,
    metric_recipes,
    optimizer_recipe,
    output_recipe,
)
from nnexplorer.core.codegen.data import DataCode
from nnexplorer.core.codegen.text import (
    Call,
    function,
    item,
    layer_statement,
    layout,
    literal,
    statement,
)
from nnexplorer.core.heads import Head
from nnexplorer.core.spec import ExperimentSpec

# --------------------------------------------------------------------------- model


def script_recipes(spec: ExperimentSpec, head: Head) -> list[Recipe]:
    """The layer recipes, with the names Keras would choose anyway left out."""
    recipes = [*layer_recipes(spec), output_recipe(spec, head)]
    named = [*(layer.name for layer in spec.layers), None]
    return [r if own else _without(r, "name") for r, own in zip(recipes, named, strict=True)]


def _without(recipe: Recipe, key: str) -> Recipe:
    return replace(recipe, kwargs={k: v for k, v in recipe.kwargs.items() if k != key})


def model_lines(spec: ExperimentSpec, recipes: list[Recipe]) -> list[str]:
    """The lines that create the Sequential model and add every layer."""
    return [
        f"    model = keras.Sequential(name={literal(MODEL_NAME)})",
        "    model.add(keras.Input(shape=(n_features,)))",
        *(layer_statement(r) for r in recipes),
    ]


def compile_items(spec: ExperimentSpec, head: Head, task: str) -> list[Any]:
    """Arguments of ``model.compile``: optimizer, loss and metrics."""
    metrics = metric_recipes(head, task)
    return [
        item(optimizer_recipe(spec.compile), "optimizer="),
        f"loss={literal(head.loss)}",
        item(list(metrics), "metrics="),
    ]


def build_function(spec: ExperimentSpec, head: Head, task: str) -> str:
    """``build_model(n_features)``: the experiment's network, compiled."""
    body = model_lines(spec, script_recipes(spec, head))
    body.append(statement("model.compile(", compile_items(spec, head, task)))
    body.append("    return model")
    doc = "The network: the hidden layers in order, then the output layer; compiled."
    return function("build_model", "n_features", doc, body)


# --------------------------------------------------------------------------- training


def early_stopping_item(spec: ExperimentSpec, has_validation: bool) -> Any | None:
    """The EarlyStopping callback as a run configures it, or None."""
    early = spec.fit.early_stopping
    if early is None:
        return None
    return item(early_stopping_recipe(early, has_validation=has_validation))


def one_hot_lines(head: Head, n_classes: int, names: list[str]) -> list[str]:
    """Turn label columns into one-hot rows when the loss needs them."""
    if not head.one_hot:
        return []
    width = n_classes or head.units
    joined = ", ".join(names)
    return [
        f"    # {head.loss} compares one column per class: one-hot targets",
        f"    {joined} = (keras.utils.to_categorical(y, {width}) for y in ({joined}))",
    ]


def train_function(spec: ExperimentSpec, head: Head, data: DataCode) -> str:
    """``train()``: split, scale, build, fit, evaluate and print the test metrics."""
    val = data.has_validation
    splits = (
        "(x_train, y_train), (x_val, y_val), (x_test, y_test)"
        if val
        else ("(x_train, y_train), (x_test, y_test)")
    )
    xs = ["x_train", "x_val", "x_test"] if val else ["x_train", "x_test"]
    ys = [x.replace("x_", "y_") for x in xs]
    body = [f"    {splits} = load_splits()"]
    if data.scaler:
        body.append(f"    {', '.join(xs)} = scale({', '.join(xs)})")
    body += one_hot_lines(head, data.n_classes, ys)
    scaled_target = spec.data.standardize_target and data.task == "regression"
    if scaled_target:
        body += _target_lines(ys[:-1])
    if spec.experiment.seed is not None:
        body.append("    keras.utils.set_random_seed(SEED)")
    body += ["    model = build_model(x_train.shape[1])", "    model.summary()"]
    fit_items: list[Any] = ["x_train", "y_train"]
    if val:
        fit_items.append("validation_data=(x_val, y_val)")
    fit_items += [f"epochs={spec.fit.epochs}", f"batch_size={spec.fit.batch_size}"]
    if not spec.fit.shuffle:
        fit_items.append("shuffle=False")
    early = early_stopping_item(spec, val)
    if early is not None:
        body.append("    early_stopping = " + layout(early, 4, len("early_stopping = ")))
        fit_items.append("callbacks=[early_stopping]")
    fit_items.append("verbose=2")
    body.append(statement("model.fit(", fit_items))
    if scaled_target:
        body += [
            "    # evaluate (and keep) the network answering in the target's units",
            "    model = in_target_units(model, target_mean, target_std)",
        ]
    evaluate = ["x_test", "y_test", f"batch_size={spec.fit.batch_size}", "verbose=0"]
    evaluate_call = Call("model.evaluate(", (*evaluate, "return_dict=True"))
    body.append("    scores = " + layout(evaluate_call, 4, len("scores = ")))
    body += [
        "    for name, value in scores.items():",
        '        print(f"test {name}: {value:.4f}")',
        "    return scores",
    ]
    doc = "Fit on the training split, watch the validation split, evaluate on the test split."
    return function("train", "", doc, body)


def _target_lines(ys: list[str]) -> list[str]:
    lines = [
        "    # data.standardize_target: train on (y - mean) / std of the training split",
        '    target_mean = float(y_train.mean(dtype="float64"))',
        '    target_std = float(y_train.std(dtype="float64")) or 1.0',
    ]
    for y in ys:
        lines.append(
            f'    {y} = (({y}.astype("float64") - target_mean) / target_std).astype("float32")'
        )
    return lines


def target_units_function(spec: ExperimentSpec, head: Head, task: str) -> str:
    """``in_target_units(model, mean, std)``: the trained network, then ``y * std + mean``."""
    compile_ = compile_items(spec, head, task)[1:]  # the loss and the metrics
    body = [
        "    layers = [keras.Input(shape=model.input_shape[1:]), *model.layers]",
        "    layers.append(keras.layers.Rescaling(scale=std, offset=mean))",
        f"    output = keras.Sequential(layers, name={literal(MODEL_NAME)})",
        statement("output.compile(", compile_),
        "    return output",
    ]
    doc = "The trained network answering in the target's units, compiled to be evaluated there."
    return function("in_target_units", "model, mean, std", doc, body)


# --------------------------------------------------------------------------- the script
