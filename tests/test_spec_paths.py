"""Dotted key paths: overrides, shorthands and error locations."""

from __future__ import annotations

import pytest

from nnexplorer.core.spec.paths import (
    apply_overrides,
    candidate_data,
    canonical_key,
    format_loc,
    parse_value,
    set_path,
)


def test_format_loc_skips_layer_tags():
    assert format_loc(("layers", 2, "dense", "kernel_regularizer", "l2")) == (
        "layers[2].kernel_regularizer.l2"
    )
    assert format_loc(("fit", "epochs")) == "fit.epochs"


@pytest.mark.parametrize(
    ("text", "value"),
    [("5", 5), ("1e-3", 0.001), ("true", True), ("[1, 2]", [1, 2]), ("relu", "relu"), ("'x'", "x")],
)
def test_parse_value(text, value):
    assert parse_value(text) == value


def test_overrides_set_nested_values_without_touching_the_input():
    data = {"fit": {"epochs": 30}, "layers": [{"type": "dense", "units": 4}]}
    out = apply_overrides(data, ["fit.epochs=5", "layers.0.units=32", "layers[0].activation=tanh"])
    assert out["fit"]["epochs"] == 5
    assert out["layers"][0] == {"type": "dense", "units": 32, "activation": "tanh"}
    assert data["fit"]["epochs"] == 30


@pytest.mark.parametrize("bad", ["fit.epochs", "=3", "layers.9.units=3", "fit..epochs=3"])
def test_bad_overrides(bad):
    with pytest.raises(ValueError):
        apply_overrides({"layers": [{"type": "dense"}]}, [bad])


def test_hidden_and_dropout_shorthands():
    data = {"layers": [{"type": "dense"}, {"type": "dropout"}, {"type": "dense"}]}
    set_path(data, "hidden.activation", "tanh")
    set_path(data, "dropout.rate", 0.4)
    assert [lay.get("activation") for lay in data["layers"]] == ["tanh", None, "tanh"]
    assert data["layers"][1]["rate"] == 0.4


def test_hidden_count_repeats_the_last_block_and_truncates():
    data = {"layers": [{"type": "dense", "units": 4}, {"type": "dropout", "rate": 0.1}]}
    set_path(data, "hidden.count", 3)
    assert [lay["type"] for lay in data["layers"]] == ["dense", "dropout"] * 3
    set_path(data, "n_hidden", 1)
    assert len(data["layers"]) == 2


def test_candidate_data_applies_count_before_per_layer_values():
    base = {"layers": [{"type": "dense", "units": 4}]}
    out = candidate_data(base, {"hidden.units": 9, "hidden.count": 2})
    assert [lay["units"] for lay in out["layers"]] == [9, 9]
    assert base == {"layers": [{"type": "dense", "units": 4}]}


def test_canonical_key_aliases():
    assert canonical_key("optimizer__learning_rate") == "compile.learning_rate"
    assert canonical_key("model__units") == "hidden.units"
    assert canonical_key("layers[1].rate") == "layers.1.rate"


SETUPS = {
    "none": {},
    "SGD + momentum": {"optimizer": "sgd", "optimizer__momentum": 0.9},
    "deep L2": {"hidden.kernel_regularizer": {"l2": 1e-3}, "hidden.count": 3},
    "early stopping": {"fit.early_stopping": {"patience": 10}},
}


def test_a_setup_applies_all_its_settings_count_first_then_the_other_keys():
    base = {"layers": [{"type": "dense", "units": 4}], "compile": {"optimizer": "adam"}}
    out = candidate_data(base, {"hidden.units": 7, "setup": "deep L2"}, SETUPS)
    assert [lay["units"] for lay in out["layers"]] == [7, 7, 7]
    assert all(lay["kernel_regularizer"] == {"l2": 1e-3} for lay in out["layers"])
    assert candidate_data(base, {"setup": "none"}, SETUPS) == base
    stopped = candidate_data(base, {"setup": "early stopping"}, SETUPS)
    assert stopped["fit"] == {"early_stopping": {"patience": 10}}


def test_a_setup_that_changes_the_optimizer_keeps_its_own_options_only():
    base = {"compile": {"optimizer": "adam", "beta_1": 0.8, "learning_rate": 0.01}}
    out = candidate_data(base, {"setup": "SGD + momentum"}, SETUPS)
    assert out["compile"] == {"optimizer": "sgd", "momentum": 0.9, "learning_rate": 0.01}


def test_an_unknown_setup_names_the_defined_ones():
    with pytest.raises(ValueError, match=r"unknown setup 'L3' \(setups in \[grid.setups\]: 'none'"):
        candidate_data({}, {"setup": "L3"}, SETUPS)
    with pytest.raises(ValueError, match=r"none: add a \[grid.setups\] table"):
        candidate_data({}, {"setup": "L3"})
