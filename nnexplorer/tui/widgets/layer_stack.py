"""The Layer stack pane: the layers in order with shapes and parameter counts, and a layer form."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from rich.text import Text
from textual import on
from textual.actions import SkipAction
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import DataTable, Label
from textual.widgets._select import SelectOverlay

from nnexplorer.core.shapes import LayerRow, dataset_shape, table_for, total_params
from nnexplorer.core.spec import DataSpec
from nnexplorer.tui.draft import apply_path, problem_key
from nnexplorer.tui.messages import FieldEdited, LayersEdited
from nnexplorer.tui.widgets.layer_form import LayerForm

NEW_LAYERS: dict[str, dict[str, Any]] = {
    "dense": {"type": "dense", "units": 64, "activation": "relu"},
    "dropout": {"type": "dropout", "rate": 0.2},
}
OUTPUT_NOTE = (
    "The output layer follows from the task: one unit per class with softmax (one sigmoid unit "
    "for two classes), or one linear unit for regression. A preset's [output] table can change it."
)
FIXED_COLUMNS = 11 + 9 + 3 * 2 + 2  # output shape, params, cell padding, scrollbar
WIDE, EDITORS_SHARE, EDITORS_MIN = 120, 0.45, 56  # as app.tcss lays out a wide terminal


class LayerTable(DataTable):
    """The list of layers; its keys change the stack's structure."""

    BINDINGS = [
        Binding("a", "edit('add_dense')", "Add dense"),
        Binding("d", "edit('add_dropout')", "Add dropout"),
        Binding("x,delete", "edit('remove')", "Remove"),
        Binding("c", "edit('duplicate')", "Copy"),
        Binding("shift+up,left_square_bracket", "edit('up')", "Up"),
        Binding("shift+down,right_square_bracket", "edit('down')", "Down"),
        # at once (priority): the keys typed after enter belong to the form
        Binding("enter", "edit('form')", "Edit", show=False, priority=True),
    ]

    @dataclass
    class Command(Message):
        """A structural edit asked for by a key: add_dense, add_dropout, remove, ..."""

        verb: str

    def action_edit(self, verb: str) -> None:
        stack = self.parent
        if verb == "form" and isinstance(stack, LayerStack):
            stack.focus_form()
            return
        self.post_message(self.Command(verb))


class LayerStack(Vertical):
    """Hidden layers with output shape and parameter count, the output layer and the total.

    Structural edits post :class:`LayersEdited` (the whole list and the selected index); field
    edits in the form post :class:`FieldEdited` (``layers.N.field``).
    """

    COMPONENT_CLASSES = {"layer-stack--problem"}
    DEFAULT_CSS = """
    LayerStack { height: 1fr; }
    LayerStack > LayerTable { height: auto; max-height: 45%; }
    LayerStack > .layer-total { color: $text-muted; width: 1fr; padding: 0 1; }
    LayerStack > .layer-problems {
        display: none; color: $text-error; width: 1fr; padding: 0 1; max-height: 3;
        text-wrap: nowrap; text-overflow: ellipsis;
    }
    LayerStack > .layer-problems.-shown { display: block; }
    LayerStack > LayerForm { height: 1fr; border-top: solid $panel-lighten-2; }
    LayerStack > .layer-stack--problem { color: $text-error; text-style: bold; }
    """

    # priority: the focus is back on the list before the keys typed after escape arrive
    BINDINGS = [Binding("escape", "focus_table", "Layer list", show=False, priority=True)]

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._data: dict[str, Any] = {}
        self._layers: list[dict[str, Any]] = []
        self._rows: list[LayerRow] = []
        self._problems: dict[str, str] = {}
        self._raw_problems: dict[str, str] = {}
        self.selected = 0
        self._label_width = 30
        self._heights: list[int] = []

    def compose(self) -> ComposeResult:
        yield LayerTable(cursor_type="row", zebra_stripes=False)
        yield Label("", classes="layer-total", markup=False)
        yield Label("", classes="layer-problems", markup=False)
        yield LayerForm()

    def on_mount(self) -> None:
        self._label_width = self._label_width_for(self._estimated_width())
        self._refresh_table()
        self._show_selected()
        if self._raw_problems:
            self.show_problems(self._raw_problems)

    def action_focus_table(self) -> None:
        """Back from the form to the layer list (an open drop-down list closes first)."""
        if isinstance(self.screen.focused, SelectOverlay):
            raise SkipAction()
        self.screen.set_focus(self.table)

    def focus_field(self, path: str) -> bool:
        """Select the layer that ``path`` (``layers[2].units``) names and focus that field."""
        key = problem_key(path)
        parts = key.split(".")
        if parts[0] == "output":
            index = len(self._layers)
        elif parts[0] == "layers" and len(parts) > 1 and parts[1].isdigit():
            index = min(int(parts[1]), len(self._layers))
        else:
            return False
        if index != self.selected:
            self.selected = index
            self.table.move_cursor(row=index, animate=False)
            self._show_selected()
            self.form.show_problems(self._raw_problems)
            self._list_other_problems()
        if len(parts) > 2 and self.form.focus_field(key):
            return True
        self.screen.set_focus(self.table)
        return True

    def focus_form(self) -> None:
        """Into the selected layer's form, at its first field."""
        self.form.focus_first()

    @property
    def table(self) -> LayerTable:
        return self.query_one(LayerTable)

    @property
    def form(self) -> LayerForm:
        return self.query_one(LayerForm)

    @property
    def layer_list(self) -> list[dict[str, Any]]:
        """A copy of the layers as shown."""
        return copy.deepcopy(self._layers)

    @property
    def rows(self) -> list[LayerRow]:
        """The rows shown: every layer, then the output layer."""
        return list(self._rows)

    # ------------------------------------------------------------------ contract

    def load(self, data: dict[str, Any]) -> None:
        """Show the layers of a preset dict; the rest of it decides shapes and the output layer.

        Cheap when only other sections changed: the form and the selection are kept.
        """
        layers = data.get("layers")
        layers = copy.deepcopy(layers) if isinstance(layers, list) else []
        self._data = {k: copy.deepcopy(v) for k, v in data.items() if k != "layers"}
        same = layers == self._layers
        self._layers = layers
        self.selected = min(self.selected, len(layers))
        if self.is_mounted:
            self._refresh_table()
            if not same:
                self._show_selected()

    def show_problems(self, problems: dict[str, str]) -> None:
        """Show each layer's problems: the selected one's in its form, the others listed."""
        self._problems = {
            problem_key(p): m for p, m in problems.items() if problem_key(p).startswith("layers")
        }
        self._raw_problems = {p: m for p, m in problems.items() if p.startswith("layers")}
        if not self.is_mounted:
            return
        self.form.show_problems(problems)
        self._list_other_problems()
        self._refresh_table()

    def _list_other_problems(self) -> None:
        prefix = f"layers.{self.selected}."
        others = [
            f"{p}: {m}"
            for p, m in self._raw_problems.items()
            if not (problem_key(p) + ".").startswith(prefix)
        ]
        label = self.query_one(".layer-problems", Label)
        label.update("\n".join(others))
        label.set_class(bool(others), "-shown")

    # ------------------------------------------------------------------ display

    def _build_columns(self) -> None:
        table = self.table
        table.clear(columns=True)
        table.add_column("Layer", key="layer", width=self._label_width)
        table.add_column("Output", key="output", width=11)
        table.add_column("Params", key="params", width=9)

    def _bad(self, row: LayerRow) -> bool:
        return row.kind != "output" and any(
            (p + ".").startswith(f"layers.{row.index}.") for p in self._problems
        )

    def _height(self, row: LayerRow) -> int:
        """Rows whose summary is wider than the column take two lines (never cut short)."""
        width = len(row.label) + (2 if self._bad(row) else 0)
        return 1 if width <= self._label_width else 2

    def _cells(self, row: LayerRow) -> list[Any]:
        one_line = self._height(row) == 1
        label = Text(no_wrap=one_line, overflow="ellipsis" if one_line else "fold")
        if self._bad(row):
            problem = self.get_component_rich_style("layer-stack--problem", partial=True)
            label.append("! ", style=problem)
        label.append(row.label, style="italic" if row.kind == "output" else "")
        return [label, row.output_shape, Text(row.params_text, justify="right")]

    def _refresh_table(self) -> None:
        self._rows = table_for({**self._data, "layers": self._layers})
        table = self.table
        if not table.columns:
            self._build_columns()
        heights = [self._height(row) for row in self._rows]
        if table.row_count == len(self._rows) and heights == self._heights:
            for row in self._rows:
                for column, cell in zip(table.columns, self._cells(row), strict=True):
                    table.update_cell(str(row.index), column, cell)
        else:
            table.clear()
            for row, height in zip(self._rows, heights, strict=True):
                table.add_row(*self._cells(row), key=str(row.index), height=height)
        self._heights = heights
        self.selected = min(self.selected, len(self._rows) - 1)
        if table.cursor_row != self.selected:
            table.move_cursor(row=self.selected, animate=False)
        total = total_params(self._rows)
        text = f"Total parameters: {'?' if total is None else f'{total:,}'}"
        data = self._data.get("data")
        if dataset_shape(data if isinstance(data, dict) else DataSpec().source) is None:
            text += " (sizes known once the data loads)"
        self.query_one(".layer-total", Label).update(text)

    def _estimated_width(self) -> int:
        """This pane's width before the first layout (so that the first frame is the final
        one): the whole terminal when narrow, else the editors' share (see app.tcss)."""
        columns = self.app.size.width
        side = columns if columns < WIDE else max(EDITORS_MIN, int(columns * EDITORS_SHARE))
        return side - 2  # the pane's padding

    @staticmethod
    def _label_width_for(width: int) -> int:
        return max(12, width - FIXED_COLUMNS)

    def on_resize(self) -> None:
        width = self._label_width_for(self.size.width)
        if width != self._label_width and self.table.columns:
            self._label_width = width
            self._build_columns()
            self._refresh_table()

    def _show_selected(self) -> None:
        if self.selected < len(self._layers):
            self.form.show_layer(self.selected, self._layers[self.selected])
        else:
            self.form.show_layer(None, None, OUTPUT_NOTE)

    @on(DataTable.RowHighlighted)
    def _highlighted(self, event: DataTable.RowHighlighted) -> None:
        event.stop()
        # a cursor reset while the table is rebuilt is stale by the time it arrives
        if event.cursor_row != self.table.cursor_row:
            return
        if event.cursor_row != self.selected:
            self.selected = event.cursor_row
            self._show_selected()
            self.form.show_problems(self._raw_problems)
            self._list_other_problems()

    # ------------------------------------------------------------------ edits

    @on(FieldEdited)
    def _field_edited(self, event: FieldEdited) -> None:
        # keep our copy in step and let the message go on to the app
        try:
            apply_path({"layers": self._layers}, event.path, event.value)
        except ValueError:
            return
        self._refresh_table()

    @on(LayerTable.Command)
    def _command(self, event: LayerTable.Command) -> None:
        event.stop()
        verb = event.verb
        if verb == "form":
            self.focus_form()
            return
        index = self.selected
        on_layer = index < len(self._layers)
        if verb in ("add_dense", "add_dropout"):
            at = index + 1 if on_layer else len(self._layers)
            self._layers.insert(at, copy.deepcopy(NEW_LAYERS[verb.removeprefix("add_")]))
        elif not on_layer:
            self.notify("The output layer follows from the task", severity="warning")
            return
        elif verb == "remove":
            del self._layers[index]
            at = min(index, max(len(self._layers) - 1, 0))
        elif verb == "duplicate":
            self._layers.insert(index + 1, copy.deepcopy(self._layers[index]))
            at = index + 1
        else:
            at = index - 1 if verb == "up" else index + 1
            if not 0 <= at < len(self._layers):
                return
            self._layers[index], self._layers[at] = self._layers[at], self._layers[index]
        self.selected = at
        self._refresh_table()
        self._show_selected()
        self.post_message(LayersEdited(self.layer_list, self.selected))
