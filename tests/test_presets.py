"""Preset files: bundled discovery, TOML round trip, overrides, file checks."""

from __future__ import annotations

import pytest

from nnexplorer.core.errors import SpecError
from nnexplorer.core.spec import (
    bundled_presets,
    load_preset,
    resolve_preset_path,
    save_preset,
    spec_from_toml,
    spec_to_toml,
)


def test_bundled_presets_are_valid_and_described():
    presets = {p.name: p for p in bundled_presets()}
    assert {"digits", "mnist_mlp", "diabetes_regression"} <= set(presets)
    for preset in presets.values():
        assert preset.description
        load_preset(preset.path)


def test_mnist_preset_is_the_classic_mlp():
    spec = load_preset("mnist_mlp")
    dense = [lay for lay in spec.layers if lay.type == "dense"]
    assert [d.units for d in dense] == [512, 512]
    assert {d.activation for d in dense} == {"relu"}
    assert [lay.rate for lay in spec.layers if lay.type == "dropout"] == [0.2, 0.2]
    assert spec.compile.optimizer == "rmsprop"
    assert (spec.fit.epochs, spec.fit.batch_size) == (20, 128)
    assert spec.data.source == "keras:mnist"


def test_round_trip_through_toml(tmp_path):
    spec = load_preset("digits")
    again = spec_from_toml(spec_to_toml(spec))
    assert again == spec
    path = save_preset(spec, tmp_path / "sub" / "copy.toml")
    assert load_preset(path) == spec


def test_overrides_are_validated():
    assert load_preset("digits", ["fit.epochs=5"]).fit.epochs == 5
    with pytest.raises(SpecError) as info:
        load_preset("digits", ["fit.epochs=0"])
    assert "fit.epochs: got 0" in str(info.value)


def test_unknown_bundled_name_lists_the_bundled_ones():
    with pytest.raises(SpecError) as info:
        resolve_preset_path("nosuch")
    assert "digits" in str(info.value)


def test_relative_file_source_is_anchored_to_the_preset(tmp_path):
    (tmp_path / "p.toml").write_text('[data]\nsource = "file:data/x.csv"\n')
    spec = load_preset(tmp_path / "p.toml")
    assert spec.data.source == f"file:{tmp_path / 'data' / 'x.csv'}"


def test_toml_syntax_error_has_line_and_column(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[fit]\nepochs = = 3\n")
    with pytest.raises(SpecError) as info:
        load_preset(bad)
    assert "line 2" in str(info.value) and "column" in str(info.value)


# --------------------------------------------------------------------------- saving


def _saved(spec, tmp_path, name="saved.toml") -> str:
    return save_preset(spec, tmp_path / name).read_text(encoding="utf-8")


def test_saved_presets_hold_only_the_keys_that_apply(tmp_path):
    import tomllib

    digits = tomllib.loads(_saved(load_preset("digits"), tmp_path))
    for key in ("n_samples", "n_features", "n_classes", "noise", "delimiter", "header", "format"):
        assert key not in digits["data"], key
    assert digits["data"]["stratify"] is True  # classification: stratified splits apply
    assert "axis" not in str(digits["layers"])
    assert all(
        0.0 not in (layer.get("kernel_regularizer") or {}).values() for layer in digits["layers"]
    )
    grid = digits.get("grid", {})
    assert "n_iter" not in grid and "factor" not in grid

    moons = load_preset("digits", ['data.source="synthetic:moons"', "data.noise=0.3"])
    data = tomllib.loads(_saved(moons, tmp_path))["data"]
    assert data["noise"] == 0.3 and "n_samples" in data
    assert "n_features" not in data and "n_classes" not in data

    diabetes = tomllib.loads(_saved(load_preset("diabetes_regression"), tmp_path))["data"]
    assert "stratify" not in diabetes and "standardize_target" not in diabetes
    scaled = load_preset("diabetes_regression", ["data.standardize_target=true"])
    assert tomllib.loads(_saved(scaled, tmp_path))["data"]["standardize_target"] is True

    random = load_preset("digits", ['grid.search="random"', "grid.n_iter=4"])
    grid = tomllib.loads(_saved(random, tmp_path))["grid"]
    assert grid["n_iter"] == 4 and "factor" not in grid

    csv = load_preset("digits", ['data.source="file:houses.csv"', 'data.delimiter=";"'])
    data = tomllib.loads(_saved(csv, tmp_path))["data"]
    assert data["delimiter"] == ";" and "labels" not in data and "noise" not in data


OPENED = """\
# My experiment: notes that must survive a save.
[experiment]
name = "mine"   # the run folders are named after it
seed = 3

[data]
source = "file:data/points.csv"  # relative to this file
n_features = 7                   # left over from a synthetic source
test_size = 0.25

[[layers]]
units = 16
kernel_regularizer = { l2 = 1e-4 }  # weight decay

# the second layer is narrower
[[layers]]
units = 8

[fit]
epochs = 10   # quick
batch_size = 32
"""


def test_resaving_an_opened_file_keeps_its_comments_and_order(tmp_path):
    path = tmp_path / "mine.toml"
    path.write_text(OPENED, encoding="utf-8")
    spec = load_preset(path)
    changed = spec.with_params({"fit.epochs": 25, "layers.1.units": 12})
    save_preset(changed, path, update=True)
    text = path.read_text(encoding="utf-8")
    # the same experiment (data.n_features, which a file source ignores, is left out)
    assert spec_to_toml(load_preset(path)) == spec_to_toml(changed)
    for kept in (
        "# My experiment: notes that must survive a save.",
        'name = "mine"   # the run folders are named after it',
        'source = "file:data/points.csv"  # relative to this file',
        "kernel_regularizer = { l2 = 1e-4 }  # weight decay",
        "# the second layer is narrower",
        "batch_size = 32",
    ):
        assert kept in text, kept
    assert "epochs = 25" in text and "units = 12" in text
    assert "n_features" not in text  # no longer applies: removed
    order = [text.index(f"[{name}]") for name in ("experiment", "data", "fit")]
    assert order == sorted(order) and text.count("[[layers]]") == 2

    fewer = changed.model_copy(update={"layers": changed.layers[:1]})
    save_preset(fewer, path, update=True)
    assert spec_to_toml(load_preset(path)) == spec_to_toml(fewer)
    assert path.read_text(encoding="utf-8").count("[[layers]]") == 1


def test_saving_over_another_file_writes_it_afresh(tmp_path):
    path = tmp_path / "other.toml"
    path.write_text(OPENED, encoding="utf-8")
    save_preset(load_preset("digits"), path)
    assert "My experiment" not in path.read_text(encoding="utf-8")
    assert load_preset(path) == load_preset("digits")
