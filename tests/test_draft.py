"""The draft the editor panes edit: applying key paths and reading problems by path."""

from __future__ import annotations

from nnexplorer.core.spec import load_preset
from nnexplorer.tui.draft import Draft, problem_key, remove_path


def digits_data() -> dict:
    return load_preset("digits").to_dict()


def test_valid_draft_has_no_problems():
    draft = Draft(digits_data())
    assert draft.problems() == {}
    assert draft.spec() is not None
    assert draft.first_problem() is None


def test_draft_copies_its_input():
    data = digits_data()
    draft = Draft(data)
    draft.apply("fit.epochs", 3)
    assert data["fit"]["epochs"] == 40
    assert draft.spec().fit.epochs == 3


def test_apply_sets_and_problems_name_the_path():
    draft = Draft(digits_data())
    draft.apply("layers.2.units", 0)
    draft.apply("compile.learning_rate", -1.0)
    problems = draft.problems()
    assert set(problems) == {"layers[2].units", "compile.learning_rate"}
    assert "greater than or equal to 1" in problems["layers[2].units"]
    assert draft.spec() is None
    assert draft.first_problem().startswith("layers[2].units: ")
    draft.apply("layers.2.units", 32)
    draft.apply("compile.learning_rate", 0.01)
    assert draft.problems() == {}
    assert draft.spec().layers[2].units == 32


def test_unknown_activation_lists_allowed_values():
    draft = Draft(digits_data())
    draft.apply("layers.0.activation", "rellu")
    message = draft.problems()["layers[0].activation"]
    assert "did you mean 'relu'" in message


def test_none_removes_the_key_and_prunes_empty_tables():
    draft = Draft(digits_data())
    draft.apply("layers.0.kernel_constraint", None)
    assert "kernel_constraint" not in draft.data["layers"][0]
    draft.data["layers"][0]["kernel_regularizer"] = {"l2": 0.1}
    draft.apply("layers.0.kernel_regularizer.l2", None)
    assert "kernel_regularizer" not in draft.data["layers"][0]
    assert draft.problems() == {}
    draft.apply("compile.momentum", None)  # absent: nothing happens
    assert draft.spec().layers[0].kernel_constraint is None


def test_bad_path_is_a_problem_not_an_exception():
    draft = Draft(digits_data())
    assert draft.apply("layers.9.units", 4) is False
    assert "layers.9.units" in draft.problems()
    assert draft.spec() is None
    draft.set_layers([{"type": "dense", "units": 4}])
    assert draft.problems() == {}


def test_grid_problems_use_the_grid_path():
    draft = Draft(digits_data())
    grid = dict(draft.data["grid"])
    grid["params"] = {"layers.0.units": [64, -1], "fit.epoch": [3]}
    draft.set_grid(grid)
    problems = draft.problems()
    assert any(p.startswith("grid.params.layers.0.units[1]") for p in problems)
    assert any(p.startswith("grid.params.fit.epoch[0]") for p in problems)
    draft.set_grid(None)
    assert "grid" not in draft.data and draft.problems() == {}


def test_section_of_the_wrong_type():
    draft = Draft({"layers": "nope"})
    assert draft.problems() == {"layers": "got 'nope' (a string); must be a list"}
    assert draft.first_problem() == "layers: got 'nope' (a string); must be a list"


def test_problem_key_and_remove_path():
    assert problem_key("layers[2].kernel_regularizer.l2") == "layers.2.kernel_regularizer.l2"
    data = {"fit": {"early_stopping": {"patience": 3}}, "layers": [{"units": 3}]}
    remove_path(data, "fit.early_stopping.patience")
    assert data == {"layers": [{"units": 3}]}
    remove_path(data, "layers.5.units")
    remove_path(data, "nothing.here")
    assert data == {"layers": [{"units": 3}]}
