"""The grid half of an exported script: scikeras + GridSearchCV over a Pipeline(scaler, net).

Each grid key becomes a scikeras parameter: ``optimizer__<option>`` for the optimizer and its
options, ``batch_size`` / ``epochs`` / ``shuffle`` for fitting, the ``scaler`` step for
``data.standardize``, and ``model__<name>`` for everything about the layers, passed to
``build_candidate(n_features, <name>, ...)`` which builds one candidate's network.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Any

from nnexplorer.core import vocab
from nnexplorer.core.building import MODEL_NAME, Recipe, output_recipe
from nnexplorer.core.codegen.data import DataCode
from nnexplorer.core.codegen.text import Call, Code, function, layer_statement, layout, literal
from nnexplorer.core.codegen.train import early_stopping_item, script_recipes
from nnexplorer.core.errors import ErrorItem, SpecError
from nnexplorer.core.heads import Head
from nnexplorer.core.search import default_scoring
from nnexplorer.core.spec import DenseLayer, ExperimentSpec, InitializerSpec
from nnexplorer.core.spec.paths import SETUP_KEY, canonical_key, scikeras_param

_SCALER_VALUES = {
    "standard": "StandardScaler()",
    "minmax": "MinMaxScaler()",
    "none": '"passthrough"',
}
_REGULARIZERS = ("kernel_regularizer", "bias_regularizer", "activity_regularizer")
_SEARCHES = {
    "grid": "GridSearchCV",
    "random": "RandomizedSearchCV",
    "halving": "HalvingGridSearchCV",
}


@dataclass
class _Plan:
    """What the grid becomes: build arguments, patched layers and the search's parameters."""

    spec: ExperimentSpec  # the spec with as many hidden layers as the largest candidate
    recipes: list[Recipe]
    model_args: dict[str, list[Any]] = field(default_factory=dict)
    net_params: dict[str, list[Any]] = field(default_factory=dict)  # scikeras names
    optimizers: list[str] | None = None
    scalers: list[str] | None = None
    count: tuple[str, list[int]] | None = None


def _unsupported(key: str, why: str) -> SpecError:
    message = (
        f"cannot be written as scikeras code: {why} (supported: optimizer and its options, "
        "fit.batch_size, fit.epochs, fit.shuffle, data.standardize, hidden.count, and layer "
        "units, activation, use_bias, initializers, regularizer factors, max_norm, dropout rate)"
    )
    return SpecError.from_items([ErrorItem(message, f"grid.params.{key}")])


def _arg_name(plan: _Plan, wanted: str) -> str:
    name = re.sub(r"\W", "_", wanted)
    taken = set(plan.model_args) | {"n_features"}
    out, n = name, 2
    while out in taken:
        out, n = f"{name}_{n}", n + 1
    return out


def _initializer_value(value: Any) -> Any:
    spec = InitializerSpec.model_validate({"name": value} if isinstance(value, str) else value)
    if not spec.params():
        return spec.name
    class_name = vocab.INITIALIZER_PATHS[spec.name].rpartition(".")[2]
    return {"class_name": class_name, "config": spec.params()}


def _patch(plan: _Plan, index: int, fields: list[str], var: Code, key: str) -> None:
    recipe = plan.recipes[index]
    layer = plan.spec.layers[index]
    args, kwargs = list(recipe.args), dict(recipe.kwargs)
    dense = isinstance(layer, DenseLayer)
    head = fields[0]
    if fields == (["units"] if dense else ["rate"]):
        args[0] = var
    elif dense and fields in (["activation"], ["use_bias"]):
        kwargs[head] = var
        if head == "use_bias" and "bias_initializer" not in kwargs:
            kwargs["bias_initializer"] = Recipe("initializers.Zeros")
    elif dense and fields in (["kernel_initializer"], ["bias_initializer"]):
        kwargs[head] = var
    elif dense and head in _REGULARIZERS and fields[1:] in (["l1"], ["l2"]):
        current = kwargs.get(head)
        factors = dict(current.kwargs) if current is not None else {}
        factors = {"l1": factors.get("l1", 0.0), "l2": factors.get("l2", 0.0), fields[1]: var}
        kwargs[head] = Recipe("regularizers.L1L2", kwargs=factors)
    elif isinstance(layer, DenseLayer) and fields == ["kernel_constraint", "max_norm"]:
        axis = layer.kernel_constraint.axis if layer.kernel_constraint else 0
        kwargs[head] = Recipe("constraints.MaxNorm", kwargs={"max_value": var, "axis": axis})
    else:
        kind = "Dense" if dense else "Dropout"
        raise _unsupported(key, f"{'.'.join(fields)!r} of a {kind} layer")
    plan.recipes[index] = replace(recipe, args=tuple(args), kwargs=kwargs)


def plan_grid(spec: ExperimentSpec, head: Head) -> _Plan:
    """Translate every grid key; raises SpecError for keys scikeras code cannot express."""
    assert spec.grid is not None
    params = {k: list(v) for k, v in spec.grid.params.items()}
    counts = next((v for k, v in params.items() if canonical_key(k) == "hidden.count"), None)
    expanded = spec
    if counts is not None:
        blocks = sum(isinstance(layer, DenseLayer) for layer in spec.layers)
        expanded = spec.with_params({"hidden.count": max(*counts, blocks)})
    plan = _Plan(expanded, script_recipes(expanded, head)[:-1])
    for key, values in params.items():
        path = canonical_key(key)
        parts = path.split(".")
        native = scikeras_param(path)
        if path == SETUP_KEY:
            why = "named setups of [grid.setups] (--set 'grid.params={}' exports the base network)"
            raise _unsupported(key, why)
        if path == "compile.optimizer":
            plan.optimizers = values
        elif native is not None and path != "compile.loss":  # the loss follows the task
            plan.net_params[native] = values
        elif path == "data.standardize":
            plan.scalers = values
        elif path == "hidden.count":
            plan.count = ("n_hidden", values)
        else:
            _plan_layers(plan, key, parts, values)
    return plan


def _plan_layers(plan: _Plan, key: str, parts: list[str], values: list[Any]) -> None:
    layers = plan.spec.layers
    if parts[0] == "hidden" and len(parts) > 1:
        targets = [i for i, layer in enumerate(layers) if isinstance(layer, DenseLayer)]
        wanted, fields = "_".join(parts[1:]), parts[1:]
    elif parts[0] == "dropout" and parts[1:] == ["rate"]:
        targets = [i for i, layer in enumerate(layers) if not isinstance(layer, DenseLayer)]
        wanted, fields = "dropout_rate", ["rate"]
    elif parts[0] == "layers" and len(parts) > 2 and parts[1].isdigit():
        index = int(parts[1])
        if index >= len(layers):
            raise _unsupported(key, f"there is no layer {index}")
        targets, fields = [index], parts[2:]
        wanted = "_".join(fields) + f"_{index}"
    else:
        raise _unsupported(key, f"{'.'.join(parts)!r} is not a layer setting")
    if fields[0].endswith("_initializer"):
        values = [_initializer_value(v) for v in values]
    name = _arg_name(plan, wanted)
    for index in targets:
        _patch(plan, index, fields, Code(name), key)
    plan.model_args[name] = values


# --------------------------------------------------------------------------- code


def _blocks(plan: _Plan) -> list[tuple[int, list[Recipe]]]:
    """Layers grouped as (minimum n_hidden, layers): 0 for layers every candidate has."""
    if plan.count is None:
        return [(0, plan.recipes)]
    least = min(plan.count[1])
    groups: list[tuple[int, list[Recipe]]] = [(0, [])]
    block = 0
    for layer, recipe in zip(plan.spec.layers, plan.recipes, strict=True):
        if isinstance(layer, DenseLayer):
            block += 1
            if block > least:
                groups.append((block, []))
        groups[-1][1].append(recipe)
    return groups


def _candidate_function(spec: ExperimentSpec, plan: _Plan, head: Head) -> str:
    names = ([plan.count[0]] if plan.count else []) + list(plan.model_args)
    body = [
        f"    model = keras.Sequential(name={literal(MODEL_NAME)})",
        "    model.add(keras.Input(shape=(n_features,)))",
    ]
    for least, recipes in _blocks(plan):
        if least == 0:
            body += [layer_statement(r) for r in recipes]
        else:
            body.append(f"    if {plan.count[0]} >= {least}:")  # type: ignore[index]
            body += [layer_statement(r, 8) for r in recipes]
    output = output_recipe(plan.spec, head)
    output = replace(output, kwargs={k: v for k, v in output.kwargs.items() if k != "name"})
    body += [layer_statement(output), "    return model"]
    doc = "One candidate's network, left uncompiled: scikeras compiles it as configured below."
    return function("build_candidate", ", ".join(["n_features", *names]), doc, body)


def _optimizer_ref(name: str) -> Code:
    return Code(f"keras.{vocab.OPTIMIZER_PATHS[name]}")


def _param_grid(spec: ExperimentSpec, plan: _Plan) -> tuple[Any, dict[str, Any]]:
    """The grid (a dict, or one dict per optimizer) and the fixed optimizer settings."""
    grid: dict[str, list[Any]] = {}
    if plan.scalers is not None:
        grid["scaler"] = [Code(_SCALER_VALUES[v]) for v in plan.scalers]
    for name, values in plan.net_params.items():
        grid[f"net__{name}"] = values
    if plan.count is not None:
        grid[f"net__model__{plan.count[0]}"] = plan.count[1]
    for name, values in plan.model_args.items():
        grid[f"net__model__{name}"] = values
    compile_ = spec.compile
    fixed = {"optimizer__learning_rate": compile_.learning_rate}
    fixed.update({f"optimizer__{k}": v for k, v in compile_.optimizer_options().items()})
    if plan.optimizers is None:
        return grid, {"optimizer": _optimizer_ref(compile_.optimizer), **fixed}
    common = {"learning_rate", *vocab.COMMON_OPTIMIZER_OPTIONS}
    outer = {k: v for k, v in fixed.items() if k.removeprefix("optimizer__") in common}
    grids = []
    for name in plan.optimizers:
        own = set(vocab.OPTIMIZER_OPTIONS[name]) | common
        one: dict[str, list[Any]] = {"net__optimizer": [_optimizer_ref(name)]}
        for key, value in fixed.items():
            option = key.removeprefix("optimizer__")
            if option in own and key not in outer and f"net__{key}" not in grid:
                one[f"net__{key}"] = [value]
        for key, values in grid.items():
            option = key.removeprefix("net__optimizer__")
            if not key.startswith("net__optimizer__") or option in own:
                one[key] = values
        grids.append(one)
    return grids, {"optimizer": _optimizer_ref(plan.optimizers[0]), **outer}


def grid_code(spec: ExperimentSpec, head: Head, data: DataCode) -> tuple[set[str], list[str]]:
    """Imports and functions (``build_candidate``, ``grid_search``) of the search."""
    assert spec.grid is not None
    plan = plan_grid(spec, head)
    grid = spec.grid
    regression = data.task == "regression"
    wrapper = "KerasRegressor" if regression else "KerasClassifier"
    imports = {f"from scikeras.wrappers import {wrapper}", "from sklearn.pipeline import Pipeline"}
    if grid.is_sweep:
        imports |= {
            "from sklearn.base import clone",
            "from sklearn.model_selection import ParameterGrid",
        }
    else:
        imports.add(f"from sklearn.model_selection import {_SEARCHES[grid.search]}")
    if grid.search == "halving":
        imports.add("from sklearn.experimental import enable_halving_search_cv  # noqa: F401")
    scalers = {data.scaler} | {_SCALER_VALUES[v].removesuffix("()") for v in plan.scalers or []}
    for scaler in scalers - {None, '"passthrough"'}:
        imports.add(f"from sklearn.preprocessing import {scaler}")
    functions = [_candidate_function(spec, plan, head)]
    one_hot_wrapper = head.one_hot and head.loss != "categorical_crossentropy" and not regression
    if one_hot_wrapper:
        imports.add("from scikeras.utils.transformers import ClassifierLabelEncoder")
        functions.append(_ONE_HOT_CLASSIFIER)
        wrapper = "OneHotKerasClassifier"
    if regression and spec.data.standardize_target:
        imports.add("from scikeras.utils.transformers import RegressorTargetEncoder")
        functions += [_STANDARD_TARGET_ENCODER, _STANDARDIZED_REGRESSOR]
        wrapper = "StandardizedKerasRegressor"
    imports |= {"import os", "from joblib import parallel_config"}
    functions.append(_QUIET_WORKER)
    functions.append(_search_function(spec, plan, head, data, wrapper))
    return imports, functions


_ONE_HOT_CLASSIFIER = '''class OneHotKerasClassifier(KerasClassifier):
    """A KerasClassifier that feeds one-hot targets to the network whatever its loss."""

    @property
    def target_encoder(self):
        categories = "auto" if self.classes_ is None else [self.classes_]
        return ClassifierLabelEncoder(loss="categorical_crossentropy", categories=categories)'''


_QUIET_WORKER = '''def quiet_worker():
    """Start a search worker: import TensorFlow with its start-up messages discarded."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    devnull, saved = os.open(os.devnull, os.O_WRONLY), os.dup(2)
    os.dup2(devnull, 2)  # TensorFlow writes them to file descriptor 2, whatever its log level
    try:
        import keras  # noqa: F401
    finally:
        os.dup2(saved, 2)
        os.close(devnull)
        os.close(saved)'''


_STANDARD_TARGET_ENCODER = '''class StandardTargetEncoder(RegressorTargetEncoder):
    """Targets as (y - mean) / std of the rows a fit trains on; predictions back in y's units."""

    def fit(self, y):
        super().fit(y)
        self.mean_ = float(y.mean(dtype="float64"))
        self.std_ = float(y.std(dtype="float64")) or 1.0
        return self

    def transform(self, y):
        y = super().transform(y).astype("float64")
        return ((y - self.mean_) / self.std_).astype("float32")

    def inverse_transform(self, y):
        return super().inverse_transform(y * self.std_ + self.mean_)'''


_STANDARDIZED_REGRESSOR = '''class StandardizedKerasRegressor(KerasRegressor):
    """data.standardize_target: a TransformedTargetRegressor with a StandardScaler, per fit."""

    @property
    def target_encoder(self):
        return StandardTargetEncoder()'''


def _search_function(
    spec: ExperimentSpec, plan: _Plan, head: Head, data: DataCode, wrapper: str
) -> str:
    grid = spec.grid
    assert grid is not None
    param_grid, optimizer = _param_grid(spec, plan)
    val = data.has_validation
    if val:
        body = [
            "    (x_train, y_train), (x_val, y_val), (x_test, y_test) = load_splits()",
            "    # cross-validation makes its own validation folds: search on train + validation",
            "    x_search = np.concatenate([x_train, x_val])",
            "    y_search = np.concatenate([y_train, y_val])",
        ]
    else:
        body = [
            "    (x_search, y_search), (x_test, y_test) = load_splits()",
        ]
    if spec.experiment.seed is not None:
        body.append("    keras.utils.set_random_seed(SEED)")
    net_items: list[Any] = ["model=build_candidate", "model__n_features=x_search.shape[1]"]
    if plan.count is not None:
        net_items.append(f"model__{plan.count[0]}={plan.count[1][0]!r}")
    net_items += [f"model__{k}={literal(v[0])}" for k, v in plan.model_args.items()]
    net_items += [f"{k}={literal(v)}" for k, v in optimizer.items()]
    net_items.append(f"loss={literal(head.loss)}")
    net_items += [f"epochs={spec.fit.epochs}", f"batch_size={spec.fit.batch_size}"]
    if not spec.fit.shuffle:
        net_items.append("shuffle=False")
    early = early_stopping_item(spec, val)
    if early is not None:
        net_items.append(Call("callbacks=[", (early,), "]"))
        if val and spec.fit.early_stopping and spec.fit.early_stopping.monitor.startswith("val_"):
            net_items.append(f"validation_split={spec.data.validation_split!r}")
    if spec.experiment.seed is not None:
        net_items.append("random_state=SEED")
    net_items.append("verbose=0")
    body.append("    net = " + layout(Call(f"{wrapper}(", tuple(net_items)), 4, len("net = ")))
    scaler = f"{data.scaler}()" if data.scaler else '"passthrough"'
    body.append(f'    pipeline = Pipeline([("scaler", {scaler}), ("net", net)])')
    body.append("    param_grid = " + _grid_literal(param_grid))
    if grid.is_sweep:
        return _sweep_function(body, data)
    search_items = ["pipeline", "param_grid"]
    if grid.search == "random":
        search_items.append(f"n_iter={grid.n_iter}")
    if grid.search == "halving":
        search_items.append(f"factor={grid.factor}")
    search_items.append(f"cv={grid.cv}")
    score = grid.scoring or default_scoring(data.task)  # the run's scoring, also by default
    search_items.append(f"scoring={literal(score)}")
    search_items.append(f"n_jobs={grid.n_jobs}")
    if grid.search != "grid" and spec.experiment.seed is not None:
        search_items.append("random_state=SEED")
    search = _SEARCHES[grid.search]
    body.append("    search = " + layout(Call(f"{search}(", tuple(search_items)), 4, 9))
    body += [
        '    with parallel_config(backend="loky", initializer=quiet_worker):',
        "        search.fit(x_search, y_search)",
        '    print(f"best parameters: {search.best_params_}")',
        f'    print(f"best cross-validation {score}: {{search.best_score_:.4f}}")',
        "    test_score = search.score(x_test, y_test)",
        f'    print(f"test {score} of the best model, refitted: {{test_score:.4f}}")',
        "    return search",
    ]
    doc = "Cross-validated search; the best candidate is refitted on all search data, then tested."
    return function("grid_search", "", doc, body)


def _sweep_function(body: list[str], data: DataCode) -> str:
    """``sweep()``: each combination fitted once on the training split, then scored."""
    score = "r2" if data.task == "regression" else "accuracy"
    if data.has_validation:
        # a sweep trains on the training split and keeps the validation split apart
        body[:] = [line.replace("x_search", "x_train") for line in body[:1] + body[4:]]
        scored = [
            "        val_score = model.score(x_val, y_val)",
            "        test_score = model.score(x_test, y_test)",
            f'        print(f"variant {{number}}: {{params}}  validation {score} "',
            f'              f"{{val_score:.4f}}  test {score} {{test_score:.4f}}")',
            "        results.append((params, val_score, test_score))",
        ]
        fit = "        model.fit(x_train, y_train)"
    else:
        scored = [
            "        test_score = model.score(x_test, y_test)",
            f'        print(f"variant {{number}}: {{params}}  test {score} {{test_score:.4f}}")',
            "        results.append((params, test_score))",
        ]
        fit = "        model.fit(x_search, y_search)"
    body += [
        "    results = []",
        "    for number, params in enumerate(ParameterGrid(param_grid), start=1):",
        "        model = clone(pipeline).set_params(**params)",
        fit,
        *scored,
        "    return results",
    ]
    doc = "Each combination trained once (no cross-validation), scored on held-out data."
    return function("sweep", "", doc, body)


def _grid_literal(grid: Any) -> str:
    if isinstance(grid, list):
        inner = [_dict_node(g) for g in grid]
        return layout(Call("[", tuple(inner), "]"), 4, len("param_grid = "))
    return layout(_dict_node(grid), 4, len("param_grid = "))


def _dict_node(grid: dict[str, Any]) -> Call:
    return Call("{", tuple(f"{literal(k)}: {literal(v)}" for k, v in grid.items()), "}")
