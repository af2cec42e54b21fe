"""Bad presets: every file in tests/data/bad_presets/ is refused with file, key path and message.

These tests load presets the way the command line does and never import TensorFlow.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from nnexplorer.cli import main
from nnexplorer.core.errors import NnxError, SpecError
from nnexplorer.core.spec import MAX_PRESET_BYTES, load_preset

BAD = Path(__file__).parent / "data" / "bad_presets"

# file name -> (key path, parts the message must contain)
CASES: dict[str, tuple[str, tuple[str, ...]]] = {
    "unknown_key.toml": (
        "fit.epoch",
        ("unknown key 'epoch'", "did you mean 'epochs'", "batch_size"),
    ),
    "bad_activation.toml": (
        "layers[0].activation",
        ("unknown activation 'rellu'", "did you mean 'relu'", "allowed:", "sigmoid", "tanh"),
    ),
    "negative_l2.toml": (
        "layers[2].kernel_regularizer.l2",
        ("-0.01", "greater than or equal to 0"),
    ),
    "dropout_rate.toml": ("layers[1].rate", ("1.5", "less than 1")),
    "toml_syntax.toml": ("", ("TOML syntax error", "line 6", "column 14")),
    "not_utf8.toml": ("", ("not UTF-8",)),
    "binary.toml": ("", ("binary file",)),
    "bad_grid_value.toml": (
        "grid.params.hidden.activation[1] -> layers[0].activation",
        ("unknown activation 'sigmoidd'", "did you mean 'sigmoid'"),
    ),
    "optimizer_option.toml": (
        "compile.momentum",
        ("'momentum' does not apply to optimizer 'adam'", "beta_1", "amsgrad"),
    ),
    "unknown_layer.toml": ("layers[0]", ("unknown layer type 'conv2d'", "dense", "dropout")),
    "bad_source.toml": (
        "data.source",
        ("unknown sklearn dataset 'digts'", "did you mean 'digits'", "iris"),
    ),
    # strict types: a value of the wrong TOML type is refused, never converted
    "units_string.toml": ("layers[0].units", ("got '64' (a string); must be an integer",)),
    "batch_size_bool.toml": ("fit.batch_size", ("got true (a boolean); must be an integer",)),
    "shuffle_string.toml": ("fit.shuffle", ("got 'off' (a string); must be true or false",)),
    "learning_rate_string.toml": (
        "compile.learning_rate",
        ("got '1e-3' (a string); must be a number",),
    ),
    "grid_value_type.toml": (
        "grid.params.hidden.units[1] -> layers[0].units",
        ("got '32' (a string); must be an integer",),
    ),
    "unknown_setup.toml": (
        "grid.params.setup[1]",
        ("unknown setup 'L3'", "setups in [grid.setups]: 'none', 'L2'"),
    ),
    "bad_setup_value.toml": (
        "grid.setups.dropout -> layers[0].activation",
        ("unknown activation 'rellu'", "did you mean 'relu'"),
    ),
    "duplicate_grid_key.toml": (
        "grid.params.compile.learning_rate",
        ("sets compile.learning_rate, as 'learning_rate' does",),
    ),
}
MULTI = {"many_errors.toml", "base_and_grid_errors.toml"}


def _one_error(path: Path) -> SpecError:
    with pytest.raises(SpecError) as info:
        load_preset(path)
    return info.value


def test_every_bad_preset_has_a_case():
    files = {p.name for p in BAD.glob("*.toml")}
    assert files == set(CASES) | MULTI


@pytest.mark.parametrize("name", sorted(CASES))
def test_bad_preset_names_file_key_path_and_problem(name):
    key_path, parts = CASES[name]
    error = _one_error(BAD / name)
    assert len(error.items) == 1, error.lines()
    item = error.items[0]
    assert item.file == str(BAD / name)
    assert item.path == key_path
    for part in parts:
        assert part in item.message, (part, item.message)
    line = error.lines()[0]
    expected_head = f"{BAD / name}: {key_path}: " if key_path else f"{BAD / name}: "
    assert line.startswith(expected_head)


def test_all_errors_of_a_file_at_once():
    error = _one_error(BAD / "many_errors.toml")
    paths = [item.path for item in error.items]
    assert paths == [
        "data.test_size",
        "layers[0].units",
        "layers[0].activation",
        "compile.optimizer",
        "fit.epochs",
    ]
    assert "did you mean 'tanh'" in error.items[2].message
    assert "did you mean 'adam'" in error.items[3].message


@pytest.mark.parametrize("name", sorted(CASES))
def test_validate_command_prints_the_one_line_and_exits_2(name, capsys):
    key_path, parts = CASES[name]
    code = main(["validate", str(BAD / name)])
    out, err = capsys.readouterr()
    assert code == 2
    assert out == ""
    [line] = err.strip().splitlines()
    head = f"nnexplorer: error: {BAD / name}: " + (f"{key_path}: " if key_path else "")
    assert line.startswith(head), line
    assert all(part in line for part in parts), line


def test_grid_problems_are_reported_with_the_base_problems():
    error = _one_error(BAD / "base_and_grid_errors.toml")
    assert [item.path for item in error.items] == [
        "layers[0].activation",
        "fit.epochs",
        "grid.params.hidden.units[1] -> layers[0].units",
        "grid.params.compile.optimizer[1] -> compile.optimizer",
    ]
    assert "got '5' (a string); must be an integer" in error.items[1].message
    assert "got -4" in error.items[2].message
    assert "did you mean 'adam'" in error.items[3].message


def test_floats_take_toml_integers_and_overrides_are_parsed_as_toml():
    spec = load_preset("digits", ["compile.learning_rate=1", "fit.epochs=5", "fit.shuffle=false"])
    assert spec.compile.learning_rate == 1.0 and isinstance(spec.compile.learning_rate, float)
    assert spec.fit.epochs == 5 and spec.fit.shuffle is False
    with pytest.raises(SpecError) as info:
        load_preset("digits", ['fit.epochs="5"', "fit.shuffle=off"])
    assert [(i.path, i.message) for i in info.value.items] == [
        ("fit.epochs", "got '5' (a string); must be an integer"),
        ("fit.shuffle", "got 'off' (a string); must be true or false"),
    ]


def test_huge_file_is_refused(tmp_path):
    huge = tmp_path / "huge.toml"
    huge.write_text("# padding\n" * (MAX_PRESET_BYTES // 10 + 10), encoding="utf-8")
    error = _one_error(huge)
    assert error.items[0].file == str(huge)
    assert f"a preset is at most {MAX_PRESET_BYTES}" in error.items[0].message


def test_missing_file(tmp_path):
    missing = tmp_path / "nowhere.toml"
    error = _one_error(missing)
    assert error.lines() == [f"{missing}: no such file"]


def test_missing_bundled_name_lists_bundled_presets():
    error = _one_error(Path("digitz"))
    assert error.items[0].file == "digitz"
    assert "no bundled preset" in error.items[0].message
    assert "bundled: " in error.items[0].message
    assert "digits" in error.items[0].message.split("bundled: ")[1]


def test_bad_override_is_validated_like_the_file():
    with pytest.raises(SpecError) as info:
        load_preset("digits", ["layers.0.units=-3", "fit.batch_size=0"])
    assert [i.path for i in info.value.items] == ["layers[0].units", "fit.batch_size"]


def test_override_syntax_error():
    with pytest.raises(NnxError) as info:
        load_preset("digits", ["fit.epochs"])
    assert "expected KEY=VALUE" in info.value.lines()[0]


def test_validate_command_prints_every_error_of_every_file(capsys):
    files = [BAD / "many_errors.toml", BAD / "toml_syntax.toml", BAD / "bad_source.toml"]
    code = main(["validate", *map(str, files)])
    out, err = capsys.readouterr()
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 5 + 1 + 1
    assert all(line.startswith("nnexplorer: error: ") for line in lines)
    assert lines[0] == (
        f"nnexplorer: error: {files[0]}: data.test_size: got 1.5; must be less than 1"
    )
    assert any(f"{files[1]}: TOML syntax error" in line for line in lines)
    assert "Traceback" not in err
    assert out == ""


def test_validate_command_ok_lines(capsys):
    code = main(["validate", "digits", "diabetes_regression"])
    out, err = capsys.readouterr()
    assert code == 0
    assert [line.split()[0] for line in out.splitlines()] == ["ok:", "ok:"]
    assert "digits.toml" in out
    assert err == ""


def test_validate_mixes_good_and_bad(capsys):
    code = main(["validate", "digits", str(BAD / "dropout_rate.toml")])
    out, err = capsys.readouterr()
    assert code == 2
    assert "ok:" in out
    assert "layers[1].rate" in err
