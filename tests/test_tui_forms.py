"""Editor panes hosted alone in a small app and driven by keys, as a user would."""

from __future__ import annotations

import copy
import subprocess
import sys
from typing import Any

import pytest
from textual.app import App, ComposeResult
from textual.containers import Container
from textual.widgets import Footer, Input, Select

from nnexplorer.core.spec import load_preset
from nnexplorer.tui.draft import Draft
from nnexplorer.tui.messages import FieldEdited, GridEdited, LayersEdited
from nnexplorer.tui.widgets.data_form import DataForm
from nnexplorer.tui.widgets.form_fields import FormField, parse_text
from nnexplorer.tui.widgets.form_values import format_values, parse_values
from nnexplorer.tui.widgets.grid_editor import GridEditor, GridRow
from nnexplorer.tui.widgets.layer_stack import LayerStack, LayerTable
from nnexplorer.tui.widgets.training_form import TrainingForm


class Host(App[None]):
    """Hosts one editor in a pane of 46x17 and plays the app's part: draft + problems."""

    CSS = "#pane { width: 46; height: 17; }"

    def __init__(self, widget: Any, data: dict[str, Any]) -> None:
        super().__init__()
        self.widget = widget
        self.draft = Draft(data)
        self.posted: list[Any] = []

    def compose(self) -> ComposeResult:
        with Container(id="pane"):
            yield self.widget
        yield Footer()

    def on_mount(self) -> None:
        self.widget.load(self.draft.data)
        self.widget.show_problems(self.draft.problems())

    def _after(self, message: Any) -> None:
        self.posted.append(message)
        self.widget.show_problems(self.draft.problems())

    def on_field_edited(self, message: FieldEdited) -> None:
        self.draft.apply(message.path, message.value)
        self._after(message)

    def on_layers_edited(self, message: LayersEdited) -> None:
        self.draft.set_layers(message.layers)
        self._after(message)

    def on_grid_edited(self, message: GridEdited) -> None:
        self.draft.set_grid(message.grid)
        self._after(message)

    def edits(self) -> list[tuple[str, Any]]:
        return [(m.path, m.value) for m in self.posted if isinstance(m, FieldEdited)]


@pytest.fixture
def digits() -> dict[str, Any]:
    return load_preset("digits").to_dict()


def field(app: App, key: str) -> FormField:
    return next(f for f in app.query(FormField) if f.key == key)


async def type_into(pilot: Any, app: App, key: str, text: str) -> None:
    """Focus a field's input, clear it and type ``text``."""
    control = field(app, key).control
    control.focus()
    await pilot.pause()
    await pilot.press("ctrl+u", "ctrl+k", *text)
    await pilot.pause()


async def choose(pilot: Any, app: App, key: str, value: str) -> None:
    """Open a field's Select and pick ``value`` by typing its start and pressing enter."""
    select = field(app, key).control
    assert isinstance(select, Select)
    select.focus()
    await pilot.press("enter")
    await pilot.pause()
    await pilot.press(*value)
    await pilot.press("enter")
    await pilot.pause()


# ---------------------------------------------------------------------- layer stack


async def test_layer_stack_shows_counts_of_the_digits_preset(digits):
    app = Host(LayerStack(), digits)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        stack = app.widget
        rows = stack.rows
        assert [r.params for r in rows] == [8320, 0, 8256, 650]
        assert rows[0].label == "Dense 128 relu he_normal L2=0.0001 maxnorm=3"
        assert rows[1].label == "Dropout 0.2"
        assert rows[-1].label == "Output 10 softmax"
        table = stack.query_one(LayerTable)
        assert table.row_count == 4
        assert str(table.get_row_at(0)[2]) == "8,320"
        total = stack.query_one(".layer-total").render()
        assert "17,226" in str(total)


async def test_add_layer_then_edit_units_and_activation_by_keys(digits):
    app = Host(LayerStack(), digits)
    async with app.run_test(size=(80, 24)) as pilot:
        stack = app.widget
        stack.query_one(LayerTable).focus()
        await pilot.pause()
        await pilot.press("down", "down")  # on the Dense 64
        await pilot.press("a")  # add a Dense after it
        await pilot.pause()
        layers_msg = [m for m in app.posted if isinstance(m, LayersEdited)]
        assert len(layers_msg) == 1 and layers_msg[0].selected == 3
        assert len(layers_msg[0].layers) == 4
        assert layers_msg[0].layers[3] == {"type": "dense", "units": 64, "activation": "relu"}
        assert stack.rows[3].params == 64 * 64 + 64

        await pilot.press("enter")  # into the layer's form: the units field
        await pilot.pause()
        assert app.focused is field(app, "units").control
        await pilot.press("ctrl+u", "ctrl+k", "3", "2")
        await pilot.pause()
        await choose(pilot, app, "activation", "tanh")
        edits = app.edits()
        assert ("layers.3.units", 32) in edits
        assert edits[-1] == ("layers.3.activation", "tanh")
        assert app.draft.spec().layers[3].units == 32
        assert app.draft.spec().layers[3].activation == "tanh"
        assert stack.rows[3].label == "Dense 32 tanh glorot_uniform"
        assert stack.rows[3].params == 64 * 32 + 32
        assert stack.rows[4].params == 32 * 10 + 10


async def test_structural_keys(digits):
    app = Host(LayerStack(), digits)
    async with app.run_test(size=(80, 24)) as pilot:
        stack = app.widget
        stack.query_one(LayerTable).focus()
        await pilot.press("d")  # dropout after layer 0
        await pilot.pause()
        assert [lay["type"] for lay in stack.layer_list] == [
            "dense",
            "dropout",
            "dropout",
            "dense",
        ]
        await pilot.press("x")  # remove it again
        await pilot.press("c")  # duplicate the selected dropout
        await pilot.pause()
        assert len(stack.layer_list) == 4 and stack.selected == 2
        await pilot.press("shift+up", "shift+up")  # move it to the top
        await pilot.pause()
        assert stack.selected == 0
        assert [lay["type"] for lay in stack.layer_list] == [
            "dropout",
            "dense",
            "dropout",
            "dense",
        ]
        await pilot.press("right_square_bracket")
        await pilot.pause()
        assert stack.selected == 1 and stack.layer_list[1]["type"] == "dropout"
        last = [m for m in app.posted if isinstance(m, LayersEdited)][-1]
        assert last.layers == stack.layer_list and last.selected == 1
        assert app.draft.problems() == {}
        assert stack.rows[0].params == 64 * 128 + 128


async def test_invalid_units_show_the_reason_at_once(digits):
    app = Host(LayerStack(), digits)
    async with app.run_test(size=(80, 24)) as pilot:
        await type_into(pilot, app, "units", "12x")
        units = field(app, "units")
        assert units.problem == "'12x' is not a whole number"
        assert units.control.has_class("-invalid")
        assert units.has_class("-problem")
        assert app.edits()[-1] == ("layers.0.units", "12x")  # the draft is invalid too
        assert app.draft.spec() is None
        assert app.widget.rows[0].params is None

        await type_into(pilot, app, "units", "0")
        assert "greater than or equal to 1" in units.problem  # the spec's own message
        assert units.control.has_class("-invalid")

        await type_into(pilot, app, "units", "16")
        assert units.problem is None
        assert not units.control.has_class("-invalid")
        assert app.widget.rows[0].params == 64 * 16 + 16


async def test_layer_form_regularizers_initializer_and_max_norm(digits):
    app = Host(LayerStack(), digits)
    async with app.run_test(size=(80, 24)) as pilot:
        await type_into(pilot, app, "kernel_constraint.max_norm", "")
        await type_into(pilot, app, "kernel_regularizer.l1", "0.001")
        await choose(pilot, app, "kernel_initializer", "random_n")
        stddev = field(app, "kernel_initializer.stddev")
        assert stddev.display and not field(app, "kernel_initializer.minval").display
        await type_into(pilot, app, "kernel_initializer.stddev", "0.05")
        edits = app.edits()
        assert ("layers.0.kernel_constraint", None) in edits
        assert ("layers.0.kernel_regularizer.l1", 0.001) in edits
        assert ("layers.0.kernel_initializer", "random_normal") in edits
        assert edits[-1] == (
            "layers.0.kernel_initializer",
            {"name": "random_normal", "stddev": 0.05},
        )
        layer = app.draft.spec().layers[0]
        assert layer.kernel_constraint is None
        assert layer.kernel_regularizer.l1 == 0.001
        assert layer.kernel_initializer.stddev == 0.05
        await type_into(pilot, app, "kernel_initializer.stddev", "-1")
        assert "greater than 0" in stddev.problem


async def test_output_row_explains_itself(digits):
    app = Host(LayerStack(), digits)
    async with app.run_test(size=(80, 24)) as pilot:
        table = app.widget.query_one(LayerTable)
        table.focus()
        await pilot.press("end")
        await pilot.press("down", "down", "down")
        await pilot.pause()
        assert app.widget.selected == 3
        note = app.widget.query_one("#layer-note")
        assert note.display and "follows from the task" in str(note.render())
        await pilot.press("x")
        await pilot.pause()
        assert len(app.widget.layer_list) == 3  # the output layer cannot be removed


async def test_other_layers_problems_are_listed_and_marked(digits):
    data = copy.deepcopy(digits)
    data["layers"][2]["units"] = 0
    app = Host(LayerStack(), data)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        shown = str(app.widget.query_one(".layer-problems").render())
        assert shown.startswith("layers[2].units:")
        cell = app.widget.query_one(LayerTable).get_row_at(2)[0]
        assert str(cell).startswith("! ")


async def test_unknown_data_shape_shows_question_marks(digits):
    data = copy.deepcopy(digits)
    data["data"] = {"source": "file:somewhere.csv"}
    app = Host(LayerStack(), data)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        table = app.widget.query_one(LayerTable)
        assert str(table.get_row_at(0)[2]) == "?"
        assert str(table.get_row_at(2)[2]) == "8,256"
        assert "?" in str(app.widget.query_one(".layer-total").render())


async def test_load_of_other_sections_keeps_selection_and_updates_shapes(digits):
    app = Host(LayerStack(), digits)
    async with app.run_test(size=(80, 24)) as pilot:
        stack = app.widget
        stack.query_one(LayerTable).focus()
        await pilot.press("down", "down")
        await pilot.pause()
        data = copy.deepcopy(app.draft.data)
        data["data"]["source"] = "sklearn:iris"
        stack.load(data)
        await pilot.pause()
        assert stack.selected == 2
        assert stack.rows[0].params == 4 * 128 + 128
        assert stack.rows[-1].label == "Output 3 softmax"
        await pilot.press("enter")
        await pilot.pause()
        assert app.focused is field(app, "units").control
        await pilot.press("escape")
        await pilot.pause()
        assert app.focused is stack.query_one(LayerTable)
        assert app.posted == []


# ---------------------------------------------------------------------- data form


async def test_data_form_fields_and_options(digits):
    app = Host(DataForm(), digits)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert field(app, "data.source").value == "sklearn:digits"
        assert not app.query_one("#data-synthetic").display
        await choose(pilot, app, "data.source", "synthetic:b")
        assert app.edits()[-1] == ("data.source", "synthetic:blobs")
        assert app.query_one("#data-synthetic").display
        assert field(app, "data.n_classes").display and not field(app, "data.noise").display
        await type_into(pilot, app, "data.n_features", "5")
        assert app.edits()[-1] == ("data.n_features", 5)
        assert "5 features, 3 classes" in str(app.query_one(".data-shape").render())
        await type_into(pilot, app, "data.test_size", "1.5")
        assert "less than 1" in field(app, "data.test_size").problem
        await type_into(pilot, app, "data.test_size", "0.25")
        assert field(app, "data.test_size").problem is None
        assert app.draft.spec().data.test_size == 0.25
        # standardising the target is offered for regression sources only
        assert not field(app, "data.standardize_target").display
        await choose(pilot, app, "data.source", "synthetic:r")
        assert app.edits()[-1] == ("data.source", "synthetic:regression")
        assert field(app, "data.standardize_target").display
        field(app, "data.standardize_target").control.focus()
        await pilot.pause()
        await pilot.press("space")
        await pilot.pause()
        assert app.edits()[-1] == ("data.standardize_target", True)
        assert app.draft.spec().data.standardize_target


async def test_data_form_file_source(digits, tmp_path):
    points = tmp_path / "x.csv"
    points.write_text("a,b,y\n1,2,0\n", encoding="utf-8")
    app = Host(DataForm(), digits)
    async with app.run_test(size=(80, 24)) as pilot:
        await choose(pilot, app, "data.source", "file")
        assert app.query_one("#data-file").display
        assert app.edits()[-1] == ("data.source", "file:")
        assert "data.source" in app.draft.problems()
        assert field(app, "data.source").problem
        await type_into(pilot, app, "data.file", "missing.csv")
        assert "file not found" in field(app, "data.source").problem  # named when chosen
        await type_into(pilot, app, "data.file", str(points))
        assert app.edits()[-1] == ("data.source", f"file:{points}")
        assert field(app, "data.source").problem is None
        await type_into(pilot, app, "data.target", "3")
        assert app.edits()[-1] == ("data.target", 3)
        await type_into(pilot, app, "data.delimiter", ";;")
        assert field(app, "data.delimiter").problem


# ---------------------------------------------------------------------- training form


async def test_training_form_optimizer_options_follow_the_optimizer(digits):
    app = Host(TrainingForm(), digits)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert field(app, "compile.beta_1").display
        assert not field(app, "compile.momentum").display
        await choose(pilot, app, "compile.optimizer", "sgd")
        assert app.edits()[-1] == ("compile.optimizer", "sgd")
        assert field(app, "compile.momentum").display
        assert not field(app, "compile.beta_1").display
        await type_into(pilot, app, "compile.momentum", "0.9")
        await choose(pilot, app, "compile.optimizer", "adam")
        edits = app.edits()
        assert edits[-2:] == [("compile.momentum", None), ("compile.optimizer", "adam")]
        assert app.draft.problems() == {}


async def test_training_form_numbers_and_early_stopping(digits):
    app = Host(TrainingForm(), digits)
    async with app.run_test(size=(80, 24)) as pilot:
        await type_into(pilot, app, "fit.epochs", "5")
        await type_into(pilot, app, "compile.learning_rate", "1e-2")
        await type_into(pilot, app, "compile.metrics", "accuracy, auc")
        await type_into(pilot, app, "experiment.seed", "7")
        field(app, "fit.early_stopping").control.focus()
        await pilot.press("space")
        await pilot.pause()
        assert app.query_one("#early-stopping").display
        await type_into(pilot, app, "fit.early_stopping.patience", "3")
        spec = app.draft.spec()
        assert spec.fit.epochs == 5 and spec.compile.learning_rate == 0.01
        assert spec.compile.metrics == ["accuracy", "auc"]
        assert spec.experiment.seed == 7
        assert spec.fit.early_stopping.patience == 3
        assert spec.fit.early_stopping.monitor == "val_loss"
        await type_into(pilot, app, "fit.batch_size", "abc")
        assert field(app, "fit.batch_size").problem == "'abc' is not a whole number"
        await type_into(pilot, app, "compile.metrics", "acuracy")
        assert "did you mean 'accuracy'" in field(app, "compile.metrics").problem


async def test_load_posts_nothing_and_keeps_typed_text(digits):
    app = Host(TrainingForm(), digits)
    async with app.run_test(size=(80, 24)) as pilot:
        await type_into(pilot, app, "compile.learning_rate", "1e-2")
        count = len(app.posted)
        app.widget.load(app.draft.data)
        other = copy.deepcopy(app.draft.data)
        other["fit"]["epochs"] = 9
        app.widget.load(other)
        await pilot.pause()
        assert len(app.posted) == count
        assert field(app, "compile.learning_rate").control.value == "1e-2"
        assert field(app, "fit.epochs").control.value == "9"


# ---------------------------------------------------------------------- grid editor


async def test_grid_round_trip(digits):
    original = copy.deepcopy(digits["grid"])
    original["params"]["hidden.kernel_initializer"] = ["he_normal", "glorot_uniform"]
    original["params"]["fit.batch_size"] = [16, 32]
    original["params"]["compile.learning_rate"] = [0.5, 1.0, 1e-05]
    data = {**digits, "grid": original}
    app = Host(GridEditor(), data)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        editor = app.widget
        assert editor.grid() == original
        assert app.posted == []
        fits = str(editor.query_one(".grid-fits").render())
        assert fits == "96 candidates x 3 folds = 288 fits"
        # edit a value and put it back: the posted table is the original again
        values = editor.query(GridRow).first().query_one(".grid-values", Input)
        values.focus()
        await pilot.press("end", "backspace")
        await pilot.pause()
        await pilot.press("1")
        await pilot.pause()
        assert isinstance(app.posted[-1], GridEdited)
        assert app.posted[-1].grid == original
        assert app.posted[-1].grid["params"]["optimizer__learning_rate"] == [0.001, 0.01]


async def test_grid_rows_by_keys(digits):
    app = Host(GridEditor(), digits)
    async with app.run_test(size=(80, 24)) as pilot:
        editor = app.widget
        field(app, "grid.cv").control.focus()
        await pilot.press("ctrl+n")
        await pilot.pause()
        await pilot.press(*"fit.epochs", "tab", *"5, 10")
        await pilot.pause()
        grid = app.posted[-1].grid
        assert grid["params"]["fit.epochs"] == [5, 10]
        assert "16 candidates x 3 folds = 48 fits" in str(editor.query_one(".grid-fits").render())
        await pilot.press("ctrl+r")
        await pilot.pause()
        assert "fit.epochs" not in app.posted[-1].grid["params"]
        await type_into(pilot, app, "grid.cv", "1")
        assert "greater than or equal to 2" in field(app, "grid.cv").problem
        await type_into(pilot, app, "grid.cv", "5")
        assert app.posted[-1].grid["cv"] == 5


async def test_grid_bad_value_shows_at_its_row(digits):
    app = Host(GridEditor(), digits)
    async with app.run_test(size=(80, 24)) as pilot:
        editor = app.widget
        row = next(r for r in editor.query(GridRow) if r.key == "layers.0.units")
        row.query_one(".grid-values", Input).focus()
        await pilot.press("end", *", -3")
        await pilot.pause()
        assert app.posted[-1].grid["params"]["layers.0.units"] == [64, 128, -3]
        assert row.problem and row.problem.startswith("[2]")
        assert row.query_one(".grid-values", Input).has_class("-invalid")


async def test_grid_add_parameter_from_the_list(digits):
    app = Host(GridEditor(), digits)
    async with app.run_test(size=(80, 24)) as pilot:
        select = app.widget.query_one("#grid-add-key", Select)
        select.focus()
        await pilot.press("enter")
        await pilot.pause()
        await pilot.press(*"fit.b", "enter")
        await pilot.pause()
        await pilot.pause()
        assert app.posted[-1].grid["params"]["fit.batch_size"] == [32]
        assert select.is_blank()


async def test_no_grid_stays_none_until_edited(digits):
    data = copy.deepcopy(digits)
    del data["grid"]
    app = Host(GridEditor(), data)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert app.widget.grid() is None
        await type_into(pilot, app, "grid.cv", "4")
        assert app.posted[-1].grid == {"cv": 4}


async def test_grid_dask_backend_takes_a_scheduler(digits):
    app = Host(GridEditor(), digits)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert field(app, "grid.backend").value == "local"
        assert not field(app, "grid.scheduler").display and field(app, "grid.n_jobs").display
        await choose(pilot, app, "grid.backend", "dask")
        assert app.posted[-1].grid["backend"] == "dask"
        assert field(app, "grid.scheduler").display and not field(app, "grid.n_jobs").display
        await type_into(pilot, app, "grid.scheduler", "tcp://10.0.0.5")
        assert "expected a Dask scheduler address" in field(app, "grid.scheduler").problem
        await type_into(pilot, app, "grid.scheduler", "tcp://10.0.0.5:8786")
        assert app.posted[-1].grid["scheduler"] == "tcp://10.0.0.5:8786"
        assert field(app, "grid.scheduler").problem is None and app.draft.problems() == {}


async def test_grid_fold_fits_are_fused_by_default_and_can_be_one_per_fold(digits):
    app = Host(GridEditor(), digits)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        fold_fits = field(app, "grid.fuse_folds")
        assert fold_fits.value is None and fold_fits.display  # unset: fused where supported
        await choose(pilot, app, "grid.fuse_folds", "one")
        assert app.posted[-1].grid["fuse_folds"] is False
        await choose(pilot, app, "grid.fuse_folds", "fused")
        assert app.posted[-1].grid["fuse_folds"] is True
        assert app.draft.problems() == {}
        await choose(pilot, app, "grid.fuse_folds", "auto")
        assert "fuse_folds" not in app.posted[-1].grid
        await choose(pilot, app, "grid.search", "sweep")  # a sweep has no folds
        assert not fold_fits.display


# ---------------------------------------------------------------------- layout


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
async def test_panes_fit_and_scroll(digits, size):
    for widget in (DataForm(), LayerStack(), TrainingForm(), GridEditor()):
        app = Host(widget, digits)
        async with app.run_test(size=size) as pilot:
            await pilot.pause()
            assert widget.outer_size.width == 46 and widget.outer_size.height <= 17
            assert app.posted == []


def test_editor_modules_do_not_import_tensorflow():
    code = (
        "import sys\n"
        "import nnexplorer.tui.draft, nnexplorer.tui.widgets.layer_stack\n"
        "import nnexplorer.tui.widgets.data_form, nnexplorer.tui.widgets.training_form\n"
        "import nnexplorer.tui.widgets.grid_editor\n"
        "print(sorted(m for m in ('tensorflow', 'keras', 'sklearn') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize(
    "values",
    [
        [0.001, 0.01],
        [64, 128],
        ["relu", "tanh"],
        [True, "true", "64", 64.0, 1e-05],
        ["a,b", 'x"y', ""],
        [[64, 32], [8]],
        [{"name": "random_normal", "stddev": 0.1}],
    ],
)
def test_grid_values_text_round_trip(values):
    assert parse_values(format_values(values)) == values
    assert [type(v) for v in parse_values(format_values(values))] == [type(v) for v in values]


def test_parse_text_kinds():
    assert parse_text("int", " 12 ", False) == (12, None)
    assert parse_text("int", "1.5", False) == ("1.5", "'1.5' is not a whole number")
    assert parse_text("float", "1e-3", False) == (0.001, None)
    assert parse_text("float", "", True) == (None, None)
    assert parse_text("float", "", False) == ("", "a value is required")
    assert parse_text("list", "accuracy, auc,", False) == (["accuracy", "auc"], None)
    assert parse_text("intstr", "2", True) == (2, None)
    assert parse_text("intstr", "label", True) == ("label", None)
