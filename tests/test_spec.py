"""The experiment model: defaults, allow-lists, key-path messages, grid checks."""

from __future__ import annotations

import pytest

from nnexplorer.core.errors import SpecError
from nnexplorer.core.spec import ExperimentSpec, validate_spec


def _messages(data: dict) -> list[str]:
    with pytest.raises(SpecError) as info:
        validate_spec(data, file="x.toml")
    return info.value.lines()


def test_defaults_are_valid():
    spec = validate_spec({})
    assert spec.data.source == "sklearn:digits"
    assert spec.compile.optimizer == "adam"
    assert spec.grid is None


def test_layer_without_type_is_dense(tiny_spec_data):
    tiny_spec_data["layers"] = [{"units": 5}]
    assert validate_spec(tiny_spec_data).layers[0].type == "dense"


def test_full_dense_layer_round_trips():
    layer = {
        "type": "dense",
        "units": 128,
        "activation": "tanh",
        "kernel_initializer": {"name": "random_uniform", "minval": -0.05, "maxval": 0.05},
        "bias_initializer": "ones",
        "kernel_regularizer": {"l1": 1e-5, "l2": 1e-4},
        "bias_regularizer": {"l2": 1e-3},
        "activity_regularizer": {"l1": 1e-6},
        "kernel_constraint": {"max_norm": 3.0},
    }
    spec = validate_spec({"layers": [layer, {"type": "dropout", "rate": 0.5}]})
    dense = spec.layers[0]
    assert dense.kernel_regularizer.kind == "l1l2"
    assert dense.bias_regularizer.kind == "l2"
    assert dense.activity_regularizer.kind == "l1"
    assert dense.kernel_initializer.params() == {"minval": -0.05, "maxval": 0.05}
    assert validate_spec(spec.to_dict()) == spec
    assert (
        dense.describe()
        == "Dense 128 tanh random_uniform L1=1e-05 L2=0.0001 bias L2=0.001 act L1=1e-06 maxnorm=3"
    )


def test_unknown_key_suggests_the_right_one():
    (line,) = _messages({"layers": [{"type": "dense", "unit": 3}]})
    assert line.startswith("x.toml: layers[0].unit: unknown key 'unit'; did you mean 'units'?")


def test_bad_activation_names_allowed_values():
    (line,) = _messages({"layers": [{"type": "dense", "activation": "sigmod"}]})
    assert "layers[0].activation" in line
    assert "did you mean 'sigmoid'" in line
    assert "allowed: sigmoid, tanh, relu" in line


def test_every_error_is_reported_at_once():
    lines = _messages(
        {
            "layers": [{"type": "dense", "units": 0}, {"type": "dropout", "rate": 1.5}],
            "fit": {"epochs": "many"},
            "compile": {"optimizer": "adamm"},
        }
    )
    paths = [line.split(": ")[1] for line in lines]
    assert set(paths) == {"layers[0].units", "layers[1].rate", "compile.optimizer", "fit.epochs"}
    assert any("got 1.5" in line for line in lines)


def test_regularizer_must_not_be_negative():
    (line,) = _messages({"layers": [{"kernel_regularizer": {"l2": -1e-4}}]})
    assert "layers[0].kernel_regularizer.l2: got -0.0001" in line


def test_initializer_parameter_must_fit_the_initializer():
    (line,) = _messages({"layers": [{"kernel_initializer": {"name": "he_normal", "stddev": 1}}]})
    assert "'stddev' does not apply to he_normal" in line


def test_optimizer_option_must_apply():
    (line,) = _messages({"compile": {"optimizer": "adam", "momentum": 0.9}})
    assert "'momentum' does not apply to optimizer 'adam'" in line
    assert validate_spec({"compile": {"optimizer": "sgd", "momentum": 0.9, "nesterov": True}})


def test_unknown_layer_type():
    (line,) = _messages({"layers": [{"type": "conv2d"}]})
    assert "unknown layer type 'conv2d'" in line


@pytest.mark.parametrize(
    ("source", "fragment"),
    [
        ("digits", "expected '<kind>:<name>'"),
        ("sklearn:digit", "did you mean 'digits'"),
        ("web:http://x", "unknown source kind 'web'"),
        ("keras:cifar10", "unknown keras dataset 'cifar10'"),
    ],
)
def test_bad_sources(source, fragment):
    (line,) = _messages({"data": {"source": source}})
    assert "data.source" in line
    assert fragment in line


def test_grid_values_are_checked_like_the_file():
    lines = _messages(
        {
            "layers": [{"units": 8}],
            "grid": {"params": {"layers.0.units": [4, -1], "hidden.activation": ["relu", "nope"]}},
        }
    )
    joined = "\n".join(lines)
    assert "grid.params.layers.0.units[1] -> layers[0].units" in joined
    assert "grid.params.hidden.activation[1] -> layers[0].activation" in joined


def test_grid_path_that_does_not_exist():
    (line,) = _messages({"layers": [{"units": 8}], "grid": {"params": {"layers.3.units": [4]}}})
    assert "grid.params.layers.3.units[0]" in line
    assert "no item '3'" in line


def test_grid_counts_candidates():
    spec = validate_spec(
        {"layers": [{"units": 8}], "grid": {"params": {"units": [4, 8, 16], "epochs": [1, 2]}}}
    )
    assert spec.grid.n_candidates() == 6


def test_with_params_applies_aliases_and_drops_grid():
    spec = validate_spec(
        {
            "layers": [{"units": 8}, {"type": "dropout", "rate": 0.1}],
            "compile": {"optimizer": "sgd", "momentum": 0.9},
            "grid": {"params": {"optimizer": ["adam"]}},
        }
    )
    cand = spec.with_params(
        {"optimizer": "adam", "optimizer__learning_rate": 0.1, "n_hidden": 3, "dropout": 0.3}
    )
    assert cand.grid is None
    assert cand.compile.optimizer == "adam"
    assert cand.compile.momentum is None  # SGD's option dropped for Adam
    assert cand.compile.learning_rate == 0.1
    assert [layer.type for layer in cand.layers] == ["dense", "dropout"] * 3
    assert all(layer.rate == 0.3 for layer in cand.layers if layer.type == "dropout")


def test_summary_lists_layers(tiny_spec: ExperimentSpec):
    summary = tiny_spec.summary()
    assert summary["layers"] == ["Dense 8 relu glorot_uniform"]
    assert summary["source"] == "sklearn:iris"


def test_named_setups_make_the_variants_of_one_grid_key():
    spec = validate_spec(
        {
            "layers": [{"units": 8}, {"type": "dropout", "rate": 0.0}],
            "grid": {
                "search": "sweep",
                "params": {"setup": ["none", "L2", "Dropout"], "learning_rate": [0.1]},
                "setups": {
                    "none": {},
                    "L2": {"hidden.kernel_regularizer": {"l2": 0.01}},
                    "Dropout": {"dropout.rate": 0.5},
                },
            },
        }
    )
    assert spec.grid is not None and spec.grid.n_candidates() == 3
    l2 = spec.with_params({"setup": "L2", "learning_rate": 0.1})
    assert l2.layers[0].kernel_regularizer is not None
    assert l2.layers[0].kernel_regularizer.l2 == 0.01 and l2.compile.learning_rate == 0.1
    assert spec.with_params({"setup": "Dropout"}).layers[1].rate == 0.5
    assert spec.with_params({"setup": "none"}).layers == spec.layers
    again = validate_spec(spec.to_dict())
    assert again.grid is not None and again.grid.setups == spec.grid.setups


@pytest.mark.parametrize("name", ["", "   ", "x" * 41])
def test_a_setup_name_is_short_and_not_blank(name):
    with pytest.raises(SpecError, match=r"grid\.setups: setup name"):
        validate_spec({"grid": {"params": {"setup": [name]}, "setups": {name: {}}}})
