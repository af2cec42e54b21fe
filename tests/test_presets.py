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
