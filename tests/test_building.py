"""The built Keras model carries every option of the spec (read back from get_config)."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from nnexplorer.core import building, devices
from nnexplorer.core.errors import SpecError
from nnexplorer.core.heads import resolve_head
from nnexplorer.core.spec import validate_spec

MULTICLASS = SimpleNamespace(n_features=4, task="classification", n_classes=3)
BINARY = SimpleNamespace(n_features=4, task="classification", n_classes=2)
REGRESSION = SimpleNamespace(n_features=4, task="regression", n_classes=0)


@pytest.fixture(scope="module", autouse=True)
def _few_threads():
    devices.configure_threads(1, 1)


def _spec(layers=None, compile_=None, output=None, seed=5, fit=None):
    data = {
        "experiment": {"name": "t", "seed": seed},
        "data": {"source": "sklearn:iris"},
        "layers": layers if layers is not None else [{"units": 6}],
        "compile": compile_ or {},
        "fit": fit or {"epochs": 1, "batch_size": 8},
    }
    if output:
        data["output"] = output
    return validate_spec(data)


def _build(layers=None, compile_=None, output=None, dataset=MULTICLASS, seed=5):
    return building.build_model(_spec(layers, compile_, output, seed), dataset)


def _dense(model, name="hidden_1"):
    return model.get_layer(name)


def _inner(cfg):
    """The ``config`` of a serialised Keras object (None stays None)."""
    return None if cfg is None else cfg["config"]


# --------------------------------------------------------------------------- layers


@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "relu", "elu", "softplus"])
def test_dense_activation_and_units(activation):
    cfg = _dense(_build([{"units": 7, "activation": activation}])).get_config()
    assert cfg["units"] == 7
    assert cfg["activation"] == activation


@pytest.mark.parametrize(
    ("init", "cls", "params"),
    [
        ({"name": "random_normal", "mean": 0.5, "stddev": 0.02}, "RandomNormal", {}),
        ({"name": "random_uniform", "minval": -0.3, "maxval": 0.4}, "RandomUniform", {}),
        ({"name": "truncated_normal", "stddev": 0.1}, "TruncatedNormal", {}),
        ({"name": "glorot_normal"}, "GlorotNormal", {}),
        ({"name": "he_uniform"}, "HeUniform", {}),
        ({"name": "lecun_normal"}, "LecunNormal", {}),
        (
            {"name": "variance_scaling", "scale": 2.0, "mode": "fan_out"},
            "VarianceScaling",
            {},
        ),
        ({"name": "orthogonal", "gain": 1.5}, "Orthogonal", {}),
    ],
)
def test_kernel_initializer_name_params_and_seed(init, cls, params):
    model = _build([{"units": 4}, {"units": 3, "kernel_initializer": init}], seed=11)
    cfg = _dense(model, "hidden_2").get_config()["kernel_initializer"]
    assert cfg["class_name"] == cls
    for key, value in init.items():
        if key != "name":
            assert cfg["config"][key] == pytest.approx(value)
    assert cfg["config"]["seed"] == 11 + 1  # experiment seed + layer index


def test_bias_initializer_constant_and_unseeded():
    layer = _dense(_build([{"units": 3, "bias_initializer": {"name": "constant", "value": 0.1}}]))
    cfg = layer.get_config()["bias_initializer"]
    assert cfg["class_name"] == "Constant"
    assert cfg["config"]["value"] == pytest.approx(0.1)
    np.testing.assert_allclose(layer.bias.numpy(), 0.1)


def test_bias_initializer_random_has_its_own_seed():
    init = {"name": "random_normal", "stddev": 0.5}
    cfg = _dense(_build([{"units": 3, "bias_initializer": init}], seed=3)).get_config()
    assert cfg["bias_initializer"]["class_name"] == "RandomNormal"
    assert cfg["bias_initializer"]["config"]["seed"] not in (None, 3)


def test_use_bias_false_has_no_bias_weights():
    layer = _dense(_build([{"units": 3, "use_bias": False}]))
    assert layer.get_config()["use_bias"] is False
    assert len(layer.weights) == 1


@pytest.mark.parametrize(
    ("reg", "cls", "expected"),
    [
        ({"l1": 0.01}, "L1", {"l1": 0.01}),
        ({"l2": 1e-4}, "L2", {"l2": 1e-4}),
        ({"l1": 0.001, "l2": 0.002}, "L1L2", {"l1": 0.001, "l2": 0.002}),
    ],
)
@pytest.mark.parametrize("where", ["kernel_regularizer", "bias_regularizer"])
def test_regularizers(reg, cls, expected, where):
    cfg = _dense(_build([{"units": 3, where: reg}])).get_config()[where]
    assert cfg["class_name"] == cls
    for key, value in expected.items():
        assert cfg["config"][key] == pytest.approx(value)


def test_activity_regularizer():
    layer = _dense(_build([{"units": 3, "activity_regularizer": {"l1": 0.001, "l2": 0.003}}]))
    reg = layer.activity_regularizer.get_config()
    assert type(layer.activity_regularizer).__name__ == "L1L2"
    assert reg["l1"] == pytest.approx(0.001)
    assert reg["l2"] == pytest.approx(0.003)


def test_zero_regularizer_is_left_out():
    cfg = _dense(_build([{"units": 3, "kernel_regularizer": {"l1": 0.0}}])).get_config()
    assert cfg["kernel_regularizer"] is None


def test_max_norm_constraint():
    layer = _dense(_build([{"units": 3, "kernel_constraint": {"max_norm": 2.5}}]))
    cfg = layer.get_config()["kernel_constraint"]
    assert cfg["class_name"] == "MaxNorm"
    assert cfg["config"] == {"max_value": 2.5, "axis": 0}


def test_dropout_rate_seed_and_names():
    model = _build([{"units": 4}, {"type": "dropout", "rate": 0.35}, {"units": 3, "name": "top"}])
    assert [layer.name for layer in model.layers] == ["hidden_1", "dropout_1", "top", "output"]
    cfg = model.get_layer("dropout_1").get_config()
    assert cfg["rate"] == pytest.approx(0.35)
    assert cfg["seed"] == 5 + 1


def test_duplicate_layer_names_are_a_spec_error():
    with pytest.raises(SpecError) as info:
        _build([{"units": 3, "name": "a"}, {"units": 3, "name": "a"}])
    assert info.value.items[0].path == "layers[1].name"


def test_no_seed_means_unseeded_initializers():
    model = _build([{"units": 3}], seed=None)
    assert model.get_layer("hidden_1").get_config()["kernel_initializer"]["config"]["seed"] is None


# --------------------------------------------------------------------------- output and loss


@pytest.mark.parametrize(
    ("dataset", "units", "activation", "loss"),
    [
        (BINARY, 1, "sigmoid", "binary_crossentropy"),
        (MULTICLASS, 3, "softmax", "sparse_categorical_crossentropy"),
        (REGRESSION, 1, "linear", "mean_squared_error"),
    ],
)
def test_output_layer_and_loss_follow_the_task(dataset, units, activation, loss):
    model = _build(dataset=dataset)
    cfg = model.get_layer("output").get_config()
    assert (cfg["units"], cfg["activation"]) == (units, activation)
    assert model.loss == loss
    assert model.input_shape == (None, 4)


def test_output_overrides_and_explicit_loss():
    output = {
        "activation": "sigmoid",
        "kernel_initializer": "zeros",
        "kernel_regularizer": {"l2": 0.5},
        "bias_regularizer": {"l1": 0.25},
    }
    model = _build(compile_={"loss": "mse"}, output=output)
    cfg = model.get_layer("output").get_config()
    assert cfg["activation"] == "sigmoid"
    assert cfg["kernel_initializer"]["class_name"] == "Zeros"
    assert cfg["kernel_regularizer"]["config"]["l2"] == pytest.approx(0.5)
    assert cfg["bias_regularizer"]["class_name"] == "L1"
    assert cfg["bias_regularizer"]["config"]["l1"] == pytest.approx(0.25)
    assert model.loss == "mean_squared_error"


@pytest.mark.parametrize("loss", ["huber", "categorical_crossentropy", "mae"])
def test_loss_names(loss):
    expected = {"mae": "mean_absolute_error"}.get(loss, loss)
    assert _build(compile_={"loss": loss}).loss == expected


# --------------------------------------------------------------------------- optimizers


def test_sgd_momentum_nesterov():
    sgd = {"optimizer": "sgd", "learning_rate": 0.05, "momentum": 0.8, "nesterov": True}
    opt = _build(compile_=sgd).optimizer
    cfg = opt.get_config()
    assert type(opt).__name__ == "SGD"
    assert cfg["learning_rate"] == pytest.approx(0.05)
    assert cfg["momentum"] == pytest.approx(0.8)
    assert cfg["nesterov"] is True


@pytest.mark.parametrize(
    ("compile_", "cls", "options"),
    [
        ({"optimizer": "adam", "beta_1": 0.8, "amsgrad": True}, "Adam", {"beta_1": 0.8}),
        ({"optimizer": "rmsprop", "rho": 0.95, "centered": True}, "RMSprop", {"rho": 0.95}),
        ({"optimizer": "adagrad", "initial_accumulator_value": 0.2}, "Adagrad", {}),
        ({"optimizer": "adamw", "weight_decay": 0.01}, "AdamW", {"weight_decay": 0.01}),
        ({"optimizer": "nadam", "clipnorm": 1.0}, "Nadam", {"clipnorm": 1.0}),
        ({"optimizer": "adadelta"}, "Adadelta", {}),
        ({"optimizer": "adamax"}, "Adamax", {}),
        ({"optimizer": "ftrl", "learning_rate_power": -0.5}, "Ftrl", {}),
        ({"optimizer": "lion", "beta_2": 0.98}, "Lion", {"beta_2": 0.98}),
    ],
)
def test_optimizers(compile_, cls, options):
    opt = _build(compile_={**compile_, "learning_rate": 0.02}).optimizer
    cfg = opt.get_config()
    assert type(opt).__name__ == cls
    assert cfg["learning_rate"] == pytest.approx(0.02)
    for key, value in {**compile_, **options}.items():
        if key != "optimizer":
            assert cfg[key] == pytest.approx(value)


# --------------------------------------------------------------------------- metrics, targets


def _history(model, dataset, head, n=24):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, 4)).astype("float32")
    y = rng.integers(0, max(dataset.n_classes, 2), size=n)
    y = y.astype("float32") if dataset.task == "regression" else y
    y = building.prepare_targets(y, head, dataset.n_classes)
    return model.fit(x, y, epochs=1, batch_size=8, validation_split=0.25, verbose=0).history


@pytest.mark.parametrize(
    ("dataset", "compile_", "keys"),
    [
        (MULTICLASS, {}, {"accuracy"}),
        (MULTICLASS, {"metrics": ["accuracy", "top_k_accuracy"]}, {"accuracy", "top_k_accuracy"}),
        (BINARY, {"metrics": ["accuracy", "auc", "precision", "recall"]},
         {"accuracy", "auc", "precision", "recall"}),
        (MULTICLASS, {"loss": "categorical_crossentropy", "metrics": ["accuracy", "auc"]},
         {"accuracy", "auc"}),
        (REGRESSION, {"metrics": ["mae", "mse", "rmse", "mape", "r2"]},
         {"mae", "mse", "rmse", "mape", "r2"}),
        (REGRESSION, {}, {"mae"}),
    ],
)  # fmt: skip
def test_history_keys_are_the_metric_names(dataset, compile_, keys):
    spec = _spec(compile_=compile_)
    model = building.build_model(spec, dataset)
    head = resolve_head(spec, dataset.task, dataset.n_classes)
    history = _history(model, dataset, head)
    expected = {"loss", "val_loss"} | keys | {f"val_{k}" for k in keys}
    assert set(history) == expected


@pytest.mark.parametrize("metric", ["auc", "rmse", "precision"])
def test_elementwise_metric_on_class_numbers_is_refused(metric):
    with pytest.raises(SpecError) as info:
        _build(compile_={"metrics": ["accuracy", metric]})
    assert info.value.items[0].path == "compile.metrics"
    assert "categorical_crossentropy" in info.value.items[0].message


def test_prepare_targets():
    y = np.array([0, 2, 1])
    one_hot = resolve_head(
        _spec(compile_={"loss": "categorical_crossentropy"}), "classification", 3
    )
    sparse = resolve_head(_spec(), "classification", 3)
    regression = resolve_head(_spec(), "regression", 0)
    np.testing.assert_array_equal(
        building.prepare_targets(y, one_hot, 3), [[1, 0, 0], [0, 0, 1], [0, 1, 0]]
    )
    assert building.prepare_targets(y, one_hot, 3).dtype == np.float32
    np.testing.assert_array_equal(building.prepare_targets(y, sparse, 3), y)
    assert building.prepare_targets(np.array([1.5, 2.0]), regression).dtype == np.float32


# --------------------------------------------------------------------------- repeatability, devices


def _seeded_run(spec):
    building.set_seeds(spec.experiment.seed)
    model = building.build_model(spec, MULTICLASS)
    initial = [w.copy() for w in model.get_weights()]
    rng = np.random.default_rng(1)
    x = rng.normal(size=(40, 4)).astype("float32")
    y = rng.integers(0, 3, size=40)
    model.fit(x, y, epochs=1, batch_size=8, verbose=0)
    return initial, model.predict(x, verbose=0)


def test_same_seed_same_weights_and_predictions():
    spec = _spec([{"units": 8}, {"type": "dropout", "rate": 0.3}, {"units": 5}], seed=123)
    first_weights, first_pred = _seeded_run(spec)
    second_weights, second_pred = _seeded_run(spec)
    for a, b in zip(first_weights, second_weights, strict=True):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(first_pred, second_pred)
    other_weights, _ = _seeded_run(
        _spec([{"units": 8}, {"type": "dropout", "rate": 0.3}, {"units": 5}], seed=124)
    )
    assert not np.array_equal(first_weights[0], other_weights[0])


def test_the_experiment_name_does_not_change_the_model_or_its_numbers():
    layers = [{"units": 8}, {"type": "dropout", "rate": 0.3}, {"units": 5}]
    named = _spec(layers, seed=9)
    renamed = named.model_copy(
        update={"experiment": named.experiment.model_copy(update={"name": "a much longer name"})}
    )
    assert building.build_model(named, MULTICLASS).name == building.MODEL_NAME
    assert building.build_model(renamed, MULTICLASS).name == building.MODEL_NAME
    first_weights, first_pred = _seeded_run(named)
    second_weights, second_pred = _seeded_run(renamed)
    for a, b in zip(first_weights, second_weights, strict=True):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(first_pred, second_pred)


def test_devices_and_threads_are_safe_to_configure_twice():
    first = devices.configure_devices()
    assert first == devices.configure_devices()
    assert isinstance(first, str)
    assert first
    info = devices.describe_devices()
    assert info["device"] == first
    assert info["versions"]["keras"].startswith("3.")
    applied = devices.configure_threads(1, 1)
    assert devices.configure_threads(1, 1) is applied


def test_count_params():
    model = _build([{"units": 6}])
    assert building.count_params(model) == (4 * 6 + 6) + (6 * 3 + 3)
