"""The exported script loads the same data, builds the same model, trains like a run, and runs."""

from __future__ import annotations

import gzip
import importlib.util
import itertools
import os
import struct
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from nnexplorer.core import building, datasets, devices
from nnexplorer.core.codegen import export_script
from nnexplorer.core.errors import SpecError
from nnexplorer.core.heads import resolve_head
from nnexplorer.core.spec import validate_spec

_counter = itertools.count()
IRIS = SimpleNamespace(n_features=4, task="classification", n_classes=3)


@pytest.fixture(scope="module", autouse=True)
def _few_threads():
    devices.configure_threads(1, 1)


def _spec(**sections):
    base = {
        "experiment": {"name": "tiny", "seed": 3},
        "data": {"source": "sklearn:iris", "test_size": 0.3, "validation_split": 0.2},
        "layers": [{"units": 8}],
        "compile": {"optimizer": "adam", "learning_rate": 0.01},
        "fit": {"epochs": 1, "batch_size": 16},
    }
    base.update(sections)
    return validate_spec(base)


def _module(spec, tmp_path):
    """The exported script imported as a module (its main block does not run)."""
    path = tmp_path / f"exported_{next(_counter)}.py"
    path.write_text(export_script(spec), encoding="utf-8")
    loader = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(loader)
    loader.loader.exec_module(module)
    return module


def _run_script(path: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "CUDA_VISIBLE_DEVICES": ""}
    return subprocess.run(
        [sys.executable, str(path), *args],
        capture_output=True,
        text=True,
        timeout=240,
        env=env,
        cwd=path.parent,
    )


# --------------------------------------------------------------------------- data


def _write_idx(path: Path, array: np.ndarray) -> None:
    header = b"\0\0\x08" + bytes([array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    with gzip.open(path, "wb") as fh:
        fh.write(header + array.astype(np.uint8).tobytes())


def _images(rng, n):
    return rng.integers(0, 255, size=(n, 6, 6)), rng.integers(0, 3, size=n)


def _csv(tmp_path):
    rng = np.random.default_rng(0)
    path = tmp_path / "flowers.csv"
    rows = ["a,b,kind,c"]
    for i in range(60):
        rows.append(f"{rng.normal():.5f},{rng.normal():.5f},{['x', 'yy', 'z'][i % 3]},{i % 7}")
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return {"source": f"file:{path}", "target": "kind", "standardize": "minmax"}


def _npz(tmp_path):
    rng = np.random.default_rng(1)
    path = tmp_path / "arrays.npz"
    x, y = _images(rng, 80)
    xt, yt = _images(rng, 30)
    np.savez(path, x_train=x, y_train=y + 5, x_test=xt, y_test=yt + 5)
    return {"source": f"file:{path}", "max_samples": 60}


def _idx(tmp_path):
    rng = np.random.default_rng(2)
    x, y = _images(rng, 70)
    _write_idx(tmp_path / "train-images-idx3-ubyte.gz", x)
    _write_idx(tmp_path / "train-labels-idx1-ubyte.gz", y)
    return {"source": f"file:{tmp_path / 'train-images-idx3-ubyte.gz'}", "standardize": "none"}


def _mnist(tmp_path, monkeypatch):
    rng = np.random.default_rng(3)
    folder = tmp_path / "keras_home" / "datasets"
    folder.mkdir(parents=True)
    x, y = _images(rng, 90)
    xt, yt = _images(rng, 40)
    np.savez(folder / "mnist.npz", x_train=x, y_train=y, x_test=xt, y_test=yt)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras_home"))
    return {"source": "keras:mnist", "max_samples": 50, "validation_split": 0.1}


def _fashion(tmp_path, monkeypatch):
    rng = np.random.default_rng(4)
    folder = tmp_path / "keras_home" / "datasets" / "fashion-mnist"
    folder.mkdir(parents=True)
    for prefix, n in (("train", 50), ("t10k", 20)):
        x, y = _images(rng, n)
        _write_idx(folder / f"{prefix}-images-idx3-ubyte.gz", x)
        _write_idx(folder / f"{prefix}-labels-idx1-ubyte.gz", y)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras_home"))
    return {"source": "keras:fashion_mnist", "standardize": "minmax"}


def _idx_folder(tmp_path):
    rng = np.random.default_rng(5)
    folder = tmp_path / "mnist"
    folder.mkdir()
    for prefix, n in (("train", 60), ("t10k", 20)):
        x, y = _images(rng, n)
        _write_idx(folder / f"{prefix}-images-idx3-ubyte.gz", x)
        _write_idx(folder / f"{prefix}-labels-idx1-ubyte.gz", y)
    return {"source": f"file:{folder}", "format": "idx"}


DATA_CASES = {
    "iris": lambda tmp, mp: {"source": "sklearn:iris"},
    "diabetes_minmax": lambda tmp, mp: {"source": "sklearn:diabetes", "standardize": "minmax"},
    "moons_subsampled": lambda tmp, mp: {"source": "synthetic:moons", "max_samples": 120},
    "blobs_no_validation": lambda tmp, mp: {
        "source": "synthetic:blobs",
        "n_samples": 90,
        "n_features": 3,
        "validation_split": 0,
    },
    "classification": lambda tmp, mp: {"source": "synthetic:classification", "n_classes": 4},
    "regression": lambda tmp, mp: {"source": "synthetic:regression", "n_samples": 50},
    "iris_as_regression": lambda tmp, mp: {"source": "sklearn:iris", "task": "regression"},
    "csv_text_labels": lambda tmp, mp: _csv(tmp),
    "npz_own_test": lambda tmp, mp: _npz(tmp),
    "idx_pair": lambda tmp, mp: _idx(tmp),
    "idx_folder": lambda tmp, mp: _idx_folder(tmp),
    "keras_mnist": _mnist,
    "keras_fashion": _fashion,
}


@pytest.mark.parametrize("case", sorted(DATA_CASES))
def test_script_data_equals_the_run_data(case, tmp_path, monkeypatch):
    data = {"test_size": 0.25, "validation_split": 0.2, **DATA_CASES[case](tmp_path, monkeypatch)}
    spec = _spec(data=data)
    module = _module(spec, tmp_path)
    splits = module.load_splits()
    expected = datasets.standardized(
        datasets.load_dataset(spec.data, spec.experiment.seed), spec.data.standardize
    )
    has_val = expected.x_val is not None
    assert len(splits) == (3 if has_val else 2)
    xs = [s[0] for s in splits]
    if hasattr(module, "scale"):
        xs = module.scale(*xs)
    want_x = [expected.x_train] + ([expected.x_val] if has_val else []) + [expected.x_test]
    want_y = [expected.y_train] + ([expected.y_val] if has_val else []) + [expected.y_test]
    for got, want in zip(xs, want_x, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)
    for (_, got), want in zip(splits, want_y, strict=True):
        np.testing.assert_array_equal(np.asarray(got).astype(want.dtype), want)


# --------------------------------------------------------------------------- model


def _layer_configs(model):
    configs = []
    for layer in model.layers:
        cfg = dict(layer.get_config())
        cfg.pop("name")
        configs.append((type(layer).__name__, cfg))
    return configs


def test_script_builds_the_same_model_as_the_run(tmp_path):
    layers = [
        {
            "units": 6,
            "activation": "tanh",
            "kernel_initializer": {"name": "random_uniform", "minval": -0.2, "maxval": 0.3},
            "bias_initializer": {"name": "constant", "value": 0.1},
            "kernel_regularizer": {"l1": 0.001, "l2": 0.002},
            "bias_regularizer": {"l2": 0.01},
            "activity_regularizer": {"l1": 0.003},
            "kernel_constraint": {"max_norm": 2.0, "axis": 0},
        },
        {"type": "dropout", "rate": 0.25},
        {"units": 5, "activation": "sigmoid", "use_bias": False, "name": "narrow"},
    ]
    compile_ = {"optimizer": "sgd", "learning_rate": 0.05, "momentum": 0.9, "nesterov": True}
    spec = _spec(
        layers=layers,
        compile=compile_,
        output={"kernel_regularizer": {"l2": 0.5}, "bias_regularizer": {"l1": 0.1}},
    )
    module = _module(spec, tmp_path)
    exported = module.build_model(4)
    built = building.build_model(spec, datasets.load_dataset(spec.data, 3))
    assert _layer_configs(exported) == _layer_configs(built)
    assert exported.name == built.name == building.MODEL_NAME  # whatever the experiment's name
    assert exported.get_layer("narrow").get_config()["use_bias"] is False
    act = [type(layer.activity_regularizer).__name__ for layer in exported.layers]
    assert act == ["L1", "NoneType", "NoneType", "NoneType"]
    optimizers = [{**m.optimizer.get_config(), "name": ""} for m in (exported, built)]
    assert optimizers[0] == optimizers[1]
    assert optimizers[0]["nesterov"] is True
    assert exported.loss == built.loss
    for a, b in zip(exported.get_weights(), built.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


def test_script_trains_like_a_run(tiny_spec, tmp_path):
    """Run the exported script; its test metrics equal an in-process run of the same spec."""
    path = tmp_path / "tiny.py"
    path.write_text(export_script(tiny_spec), encoding="utf-8")
    result = _run_script(path)
    assert result.returncode == 0, result.stderr[-3000:]
    printed = {}
    for line in result.stdout.splitlines():
        if line.startswith("test "):
            name, _, value = line.removeprefix("test ").partition(": ")
            printed[name] = float(value)
    assert set(printed) == {"loss", "accuracy"}

    data = datasets.load_dataset(tiny_spec.data, tiny_spec.experiment.seed)
    data = datasets.standardized(data, tiny_spec.data.standardize)
    building.set_seeds(tiny_spec.experiment.seed)
    model = building.build_model(tiny_spec, data)
    head = resolve_head(tiny_spec, data.task, data.n_classes)
    model.fit(
        data.x_train,
        building.prepare_targets(data.y_train, head, data.n_classes),
        validation_data=(data.x_val, data.y_val),
        epochs=tiny_spec.fit.epochs,
        batch_size=tiny_spec.fit.batch_size,
        verbose=0,
    )
    scores = model.evaluate(data.x_test, data.y_test, verbose=0, return_dict=True)
    for name, value in scores.items():
        assert printed[name] == pytest.approx(value, abs=2e-3)


def test_one_hot_loss_and_early_stopping_are_written(tmp_path):
    fit = {"epochs": 2, "batch_size": 16, "early_stopping": {"monitor": "val_loss", "patience": 1}}
    spec = _spec(compile={"loss": "mse", "metrics": ["accuracy", "auc"]}, fit=fit)
    text = export_script(spec)
    assert "keras.utils.to_categorical(y, 3)" in text
    assert 'loss="mean_squared_error"' in text
    assert 'keras.metrics.AUC(name="auc")' in text
    assert "keras.callbacks.EarlyStopping(" in text and "restore_best_weights=True" in text
    scores = _module(spec, tmp_path).train()
    assert set(scores) == {"loss", "accuracy", "auc"}


# --------------------------------------------------------------------------- grid


def _grid_spec(params, **extra):
    grid = {"cv": 2, "n_jobs": 1, "scoring": "accuracy", "params": params}
    return _spec(grid=grid, **extra)


def test_grid_script_runs(tmp_path):
    spec = _grid_spec({"layers.0.units": [4, 8], "optimizer__learning_rate": [0.01]})
    text = export_script(spec)
    assert '"net__model__units_0": [4, 8]' in text
    assert '"net__optimizer__learning_rate": [0.01]' in text
    assert 'Pipeline([("scaler", StandardScaler()), ("net", net)])' in text
    # its worker processes import TensorFlow quietly (its start-up noise bypasses log levels)
    assert 'with parallel_config(backend="loky", initializer=quiet_worker):' in text
    path = tmp_path / "grid.py"
    path.write_text(text, encoding="utf-8")
    result = _run_script(path, "--grid")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "best parameters: {" in result.stdout
    assert "net__model__units_0" in result.stdout
    assert "test accuracy of the best model, refitted: " in result.stdout


def test_grid_with_one_hot_loss_searches_in_process(tmp_path):
    layers = [{"units": 4}, {"type": "dropout", "rate": 0.2}]
    spec = _grid_spec({"dropout.rate": [0.3]}, compile={"loss": "mse"}, layers=layers)
    assert "class OneHotKerasClassifier(KerasClassifier):" in export_script(spec)
    search = _module(spec, tmp_path).grid_search()
    assert search.best_params_ == {"net__model__dropout_rate": 0.3}
    assert search.best_estimator_.named_steps["net"].model_.loss.__name__ == "mean_squared_error"


def test_regression_grid_uses_keras_regressor_and_scaler_step(tmp_path):
    regression = validate_spec(
        {
            "experiment": {"seed": 1},
            "data": {"source": "synthetic:regression", "n_samples": 60, "n_features": 3},
            "layers": [{"units": 4}],
            "fit": {"epochs": 1, "batch_size": 16},
            "grid": {"cv": 2, "n_jobs": 1, "params": {"data.standardize": ["minmax", "none"]}},
        }
    )
    text = export_script(regression)
    assert "net = KerasRegressor(" in text
    assert '"scaler": [MinMaxScaler(), "passthrough"]' in text
    assert "from sklearn.preprocessing import MinMaxScaler, StandardScaler" in text
    module = _module(regression, tmp_path)
    assert module.build_candidate(3).get_layer(index=-1).get_config()["activation"] == "linear"


def test_hidden_count_and_shared_settings_build_each_candidate(tmp_path):
    layers = [{"units": 6}, {"type": "dropout", "rate": 0.2}, {"units": 5}]
    spec = _grid_spec(
        {
            "hidden.count": [1, 3],
            "hidden.activation": ["tanh", "relu"],
            "hidden.kernel_regularizer.l2": [0.0, 0.01],
            "layers.0.kernel_constraint.max_norm": [2.0],
            "hidden.kernel_initializer": ["he_normal", {"name": "random_normal", "stddev": 0.2}],
        },
        layers=layers,
    )
    module = _module(spec, tmp_path)
    args = {
        "activation": "tanh",
        "kernel_regularizer_l2": 0.01,
        "kernel_constraint_max_norm_0": 2.0,
        "kernel_initializer": {"class_name": "RandomNormal", "config": {"stddev": 0.2}},
    }
    for count in (1, 3):
        model = module.build_candidate(4, n_hidden=count, **args)
        kinds = [type(layer).__name__ for layer in model.layers]
        candidate = building.build_model(spec.with_params({"hidden.count": count}), IRIS)
        assert kinds == [type(layer).__name__ for layer in candidate.layers]
        assert kinds.count("Dense") == count + 1  # hidden layers plus the output layer
        hidden = [layer for layer in model.layers if type(layer).__name__ == "Dense"][:-1]
        for layer in hidden:
            cfg = layer.get_config()
            assert cfg["activation"] == "tanh"
            assert cfg["kernel_regularizer"]["config"]["l2"] == pytest.approx(0.01)
            assert cfg["kernel_initializer"]["config"]["stddev"] == pytest.approx(0.2)
        first = hidden[0].get_config()["kernel_constraint"]["config"]["max_value"]
        assert first == pytest.approx(2.0)


def test_optimizer_grid_gives_each_optimizer_its_own_options():
    spec = _grid_spec(
        {"compile.optimizer": ["sgd", "adam"], "compile.learning_rate": [0.01, 0.1]},
        compile={"optimizer": "sgd", "momentum": 0.9, "learning_rate": 0.01},
    )
    text = export_script(spec)
    sgd = text.index('"net__optimizer": [keras.optimizers.SGD]')
    adam = text.index('"net__optimizer": [keras.optimizers.Adam]')
    assert text.count('"net__optimizer__momentum": [0.9]') == 1
    assert sgd < text.index('"net__optimizer__momentum": [0.9]') < adam
    assert text.count('"net__optimizer__learning_rate": [0.01, 0.1]') == 2


@pytest.mark.parametrize("key", ["data.test_size", "compile.loss", "output.activation"])
def test_grid_keys_without_scikeras_form_are_refused(key):
    values = {"data.test_size": [0.2, 0.3], "compile.loss": ["mse"], "output.activation": ["tanh"]}
    spec = _grid_spec({key: values[key]})
    with pytest.raises(SpecError) as info:
        export_script(spec)
    assert info.value.items[0].path == f"grid.params.{key}"


# --------------------------------------------------------------------------- style


def test_exported_scripts_are_ruff_clean(tmp_path, monkeypatch):
    from ruff.__main__ import find_ruff_bin  # the ruff of this environment (the test extra)

    ruff = find_ruff_bin()
    specs = {
        "digits": _grid_spec(
            {"hidden.count": [0, 2], "compile.optimizer": ["sgd", "rmsprop"], "fit.epochs": [1]},
            compile={"optimizer": "sgd", "momentum": 0.9, "nesterov": True},
            layers=[{"units": 6, "kernel_regularizer": {"l1": 0.01}}, {"type": "dropout"}],
        ),
        "csv": _spec(data={**_csv(tmp_path), "max_samples": 40, "test_size": 0.25}),
        "mnist": _spec(data=_mnist(tmp_path, monkeypatch)),
        "scaled_target": _spec(
            data={"source": "sklearn:diabetes", "standardize_target": True},
            grid={"cv": 2, "n_jobs": 2, "params": {"layers.0.units": [4, 8]}},
        ),
    }
    for name, spec in specs.items():
        (tmp_path / f"{name}.py").write_text(export_script(spec), encoding="utf-8")
    files = [str(tmp_path / f"{name}.py") for name in specs]
    config = ["--isolated", "--line-length", "100"]
    lint = subprocess.run(
        [ruff, "check", *config, "--select", "E,F,W,I,B,UP,SIM", *files],
        capture_output=True,
        text=True,
    )
    assert lint.returncode == 0, lint.stdout
    fmt = subprocess.run(
        [ruff, "format", *config, "--diff", *files], capture_output=True, text=True
    )
    assert fmt.returncode == 0, fmt.stdout + fmt.stderr
