"""The Grid pane: hyper-parameters with their lists of values, folds, scoring and parallelism
(local processes, or the workers of a Dask cluster).

Search ``sweep`` trains each combination once (no folds, no scoring: F6 starts a sweep).
"""

from __future__ import annotations

import copy
from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.suggester import SuggestFromList
from textual.widgets import Button, Input, Label, Select

from nnexplorer.core import vocab
from nnexplorer.core.spec import GridSpec
from nnexplorer.core.spec.paths import canonical_key
from nnexplorer.tui.messages import GridEdited
from nnexplorer.tui.widgets.form_base import FieldForm, choices_of, lookup
from nnexplorer.tui.widgets.form_fields import FormField
from nnexplorer.tui.widgets.form_values import format_values, parse_values
from nnexplorer.tui.widgets.ordered_input import OrderedInput

COMMON_KEYS = (
    "optimizer__learning_rate",
    "compile.optimizer",
    "fit.batch_size",
    "fit.epochs",
    "hidden.units",
    "hidden.activation",
    "hidden.kernel_initializer",
    "hidden.count",
    "dropout.rate",
    "hidden.kernel_regularizer.l2",
    "hidden.kernel_constraint.max_norm",
)
SETTINGS = (
    "cv",
    "scoring",
    "n_jobs",
    "search",
    "n_iter",
    "factor",
    "fuse_folds",
    "backend",
    "scheduler",
)
# fused: a candidate's folds train as copies of the network in one model (unset: where supported)
FOLD_FITS = (("fused", True), ("one per fold", False))
DEFAULTS = GridSpec().model_dump()


class GridRow(Vertical):
    """One hyper-parameter: its key, its comma-separated values and the reason it is invalid."""

    DEFAULT_CSS = """
    GridRow { height: auto; }
    GridRow > Horizontal { height: auto; }
    GridRow .grid-key { width: 1fr; }  /* GridEditor fits it to the longest key */
    GridRow .grid-values { width: 1fr; margin: 0 0 0 1; }
    GridRow Button { min-width: 3; width: 3; margin: 0 0 0 1; }
    GridRow > .grid-problem { display: none; color: $text-error; width: 1fr; }
    GridRow.-problem > .grid-problem { display: block; }
    """

    def __init__(self, key: str, values: str, suggestions: list[str]) -> None:
        super().__init__()
        self._key = key
        self._values = values
        self._suggestions = suggestions
        self.local_problem: str | None = None
        self.spec_problem: str | None = None
        self._key_width: int | None = None

    def compose(self) -> ComposeResult:
        with Horizontal():
            yield OrderedInput(
                self._key,
                placeholder="key",
                compact=True,
                suggester=SuggestFromList(self._suggestions),
                classes="grid-key",
            )
            yield OrderedInput(
                self._values,
                placeholder="values, comma-separated",
                compact=True,
                classes="grid-values",
            )
            yield Button("✕", compact=True, classes="grid-remove", tooltip="Remove this row")
        yield Label("", classes="grid-problem", markup=False)

    def on_mount(self) -> None:
        self.refresh_problem()
        self.set_key_width(self._key_width)

    def set_key_width(self, width: int | None) -> None:
        """Give the key column ``width`` cells (None: share the row with the values)."""
        self._key_width = width
        if self.is_mounted:
            self.query_one(".grid-key", Input).styles.width = width if width else "1fr"

    @property
    def key(self) -> str:
        return self.query_one(".grid-key", Input).value.strip() if self.is_mounted else self._key

    @property
    def values_text(self) -> str:
        return self.query_one(".grid-values", Input).value if self.is_mounted else self._values

    @property
    def problem(self) -> str | None:
        """The reason shown under the row: a local one first, else the spec's."""
        return self.local_problem or self.spec_problem

    def show_problem(self, message: str | None) -> None:
        """Show the spec's reason (or clear it, with None)."""
        self.spec_problem = message
        self.refresh_problem()

    def refresh_problem(self) -> None:
        text = self.problem
        self.set_class(bool(text), "-problem")
        if self.is_mounted:
            self.query_one(".grid-problem", Label).update(text or "")
            self.query_one(".grid-values", Input).set_class(bool(text), "-invalid")


class GridEditor(FieldForm):
    """Edits ``[grid]``; posts :class:`GridEdited` with the whole table after every change.

    Values are parsed as TOML values, so numbers stay numbers (``1e-3, 0.01``) and words stay
    words (``relu, tanh``). ``load`` then :meth:`grid` gives back the loaded table unchanged.
    """

    BINDINGS = [
        Binding("ctrl+n", "add_row", "Add parameter"),
        Binding("ctrl+r", "remove_row", "Remove parameter"),
    ]
    DEFAULT_CSS = """
    GridEditor > .grid-fits { width: 1fr; text-style: bold; }
    GridEditor > #grid-rows { height: auto; }
    GridEditor > .grid-add { height: auto; margin: 1 0 0 0; }
    GridEditor > .grid-add > Select { width: 1fr; }
    GridEditor > .grid-add > Button { margin: 0 0 0 1; }
    """
    SECTIONS = ("grid",)

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._data: dict[str, Any] = {}
        self._base: dict[str, Any] | None = None
        self._had_params = False
        self._last: dict[str, Any] | None = None
        self._rows: list[GridRow] = []
        self._shown = False
        self._offered: list[str] = []

    def compose(self) -> ComposeResult:
        yield Label("", classes="grid-fits", markup=False)
        yield self.problems_label()
        yield Vertical(id="grid-rows")
        with Horizontal(classes="grid-add"):
            yield Select([], prompt="Add a parameter…", compact=True, id="grid-add-key")
            yield Button("+ row", compact=True, id="grid-add-row")
        yield Label("Search", classes="form-heading")
        yield FormField("grid.cv", "Folds (cv)", "int")
        yield FormField("grid.scoring", "Scoring", "text", optional=True, placeholder="default")
        yield FormField("grid.n_jobs", "Processes", "int", placeholder="-1 = all cores")
        yield FormField("grid.search", "Search", "choice", choices=choices_of(vocab.SEARCH_KINDS))
        yield FormField("grid.n_iter", "Candidates", "int")
        yield FormField("grid.factor", "Halving factor", "int")
        yield FormField(
            "grid.fuse_folds",
            "Fold fits",
            "choice",
            choices=FOLD_FITS,
            optional=True,
            prompt="auto: fused where supported",
        )
        yield FormField(
            "grid.backend", "Run fits on", "choice", choices=choices_of(vocab.GRID_BACKENDS)
        )
        yield FormField(
            "grid.scheduler",
            "Scheduler",
            "text",
            optional=True,
            placeholder="tcp://host:8786 (default: $NNEXPLORER_SCHEDULER)",
        )

    def on_mount(self) -> None:
        self._show()

    # ------------------------------------------------------------------ contract

    def load(self, data: dict[str, Any]) -> None:
        """Show the ``[grid]`` table of a preset dict (no table: no grid).

        Cheap when the table is the one shown: rows, focus and cursor are kept.
        """
        self._data = copy.deepcopy(data)
        if self.is_mounted:
            self._show()

    def _show(self) -> None:
        grid = self._data.get("grid") if isinstance(self._data.get("grid"), dict) else None
        self._update_key_choices()
        if not self._shown or grid != self._last:
            self._show_grid(grid)
        self._shown = True
        self._update_summary()

    def _show_grid(self, grid: dict[str, Any] | None) -> None:
        self._last = copy.deepcopy(grid)
        self._base = None if grid is None else {k: v for k, v in grid.items() if k != "params"}
        params = grid.get("params") if grid else None
        self._had_params = grid is not None and "params" in grid
        for row in self._rows:
            row.remove()
        self._rows = [
            GridRow(str(key), format_values(v if isinstance(v, list) else [v]), self._keys())
            for key, v in (params.items() if isinstance(params, dict) else ())
        ]
        if self._rows:
            self.query_one("#grid-rows").mount_all(self._rows)
        self._fit_keys()
        table = {**DEFAULTS, **(self._base or {})}
        for name in SETTINGS:
            self.field(f"grid.{name}").set_value(table.get(name))
        self._update_visibility()

    def _row_widgets(self) -> list[GridRow]:
        return list(self._rows)

    def _keys(self) -> list[str]:
        dense = [
            i
            for i, layer in enumerate(self._data.get("layers") or [])
            if isinstance(layer, dict) and layer.get("type", "dense") == "dense"
        ]
        return [*COMMON_KEYS, *(f"layers.{i}.units" for i in dense)]

    def _update_key_choices(self) -> None:
        keys = self._keys()
        if keys == self._offered:
            return
        self._offered = keys
        select = self.query_one("#grid-add-key", Select)
        with self.prevent(Select.Changed):
            select.set_options(choices_of(keys))

    def grid(self) -> dict[str, Any] | None:
        """The ``[grid]`` table as shown (None when there is no grid)."""
        rows = self._row_widgets()
        if self._base is None and not rows:
            return None
        grid = copy.deepcopy(self._base or {})
        params: dict[str, list[Any]] = {}
        for row in rows:
            row.local_problem = None
            if not row.key:
                if row.values_text.strip():
                    row.local_problem = "give the parameter's key (e.g. fit.batch_size)"
                continue
            if row.key in params:
                row.local_problem = f"{row.key!r} appears twice"
                continue
            params[row.key] = parse_values(row.values_text)
            if not params[row.key]:
                row.local_problem = "give at least one value, comma-separated"
        if params or self._had_params:
            grid["params"] = params
        return grid

    def show_problems(self, problems: dict[str, str]) -> None:
        """Mark rows and settings named in ``problems`` (``grid.params.<key>[i]`` ...)."""
        rest = dict(problems)
        for row in self._row_widgets():
            where = f"grid.params.{row.key}"
            mine = [
                f"{p.removeprefix(where)}: {m}" if p != where else m
                for p, m in problems.items()
                if row.key and (p == where or p.startswith(where + "["))
            ]
            for p in [p for p in rest if row.key and (p == where or p.startswith(where + "["))]:
                rest.pop(p)
            row.show_problem("; ".join(mine) or None)
        super().show_problems(rest)

    def focus_field(self, path: str) -> bool:
        """Focus the row of a ``grid.params.<key>`` problem, else the setting's field."""
        for row in self._row_widgets():
            where = f"grid.params.{row.key}"
            if row.key and (path == where or path.startswith((where + "[", where + " "))):
                self.screen.set_focus(row.query_one(".grid-values", Input))
                return True
        return super().focus_field(path)

    # ------------------------------------------------------------------ display

    def _update_visibility(self) -> None:
        search = self.field("grid.search").value
        self.field("grid.n_iter").display = search == "random"
        self.field("grid.factor").display = search == "halving"
        dask = self.field("grid.backend").value == "dask"
        self.field("grid.scheduler").display = dask
        self.field("grid.n_jobs").display = not dask  # the cluster's workers decide
        self.field("grid.cv").display = search != "sweep"
        self.field("grid.scoring").display = search != "sweep"
        self.field("grid.fuse_folds").display = search != "sweep"

    def _update_summary(self) -> None:
        grid = self.grid() or {}
        table = {**DEFAULTS, **grid}
        candidates = 1
        for values in (grid.get("params") or {}).values():
            candidates *= len(values) if isinstance(values, list) else 1
        cv = table.get("cv")
        cv = cv if isinstance(cv, int) and not isinstance(cv, bool) else None
        search = table.get("search")
        if search == "random" and isinstance(table.get("n_iter"), int):
            candidates = min(candidates, table["n_iter"])
        shown = "?" if cv is None else f"{candidates * cv:,}"
        text = f"{candidates:,} candidates x {cv or '?'} folds = {shown} fits"
        if search == "halving":
            text = f"halving: at most {text}"
        if search == "sweep":
            text = f"sweep: {candidates:,} variants, each trained once (F6)"
        if not grid.get("params"):
            text = "No parameters yet: ctrl+n adds one" if self._base is None else text
        self.query_one(".grid-fits", Label).update(text)
        for row in self._rows:
            row.refresh_problem()

    # ------------------------------------------------------------------ edits

    def _fit_keys(self) -> None:
        """The key column as wide as the longest key (keys are never cut), values the rest."""
        longest = max((len(row.key) for row in self._rows), default=0)
        width = max(12, longest + 3)  # the input's padding and cursor
        if self.size.width:
            width = min(width, max(12, self.size.width - 22))  # leave room for the values
        for row in self._rows:
            row.set_key_width(width)

    def on_resize(self) -> None:
        self._fit_keys()

    def _changed(self) -> None:
        self._fit_keys()
        grid = self.grid()
        self._update_summary()
        if grid != self._last:
            self._last = copy.deepcopy(grid)
            self.post_message(GridEdited(copy.deepcopy(grid)))

    @on(FormField.Edited)
    def _setting_edited(self, event: FormField.Edited) -> None:
        event.stop()
        name = event.field.key.removeprefix("grid.")
        if self._base is None:
            self._base = {}
        if event.value is None:
            self._base.pop(name, None)
        else:
            self._base[name] = event.value
        self._update_visibility()
        self._changed()

    @on(Input.Changed, ".grid-key, .grid-values")
    def _row_edited(self, event: Input.Changed) -> None:
        event.stop()
        self._changed()

    @on(Button.Pressed, ".grid-remove")
    def _remove_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        row = next((a for a in event.button.ancestors if isinstance(a, GridRow)), None)
        if row is not None:
            self._remove(row)

    @on(Button.Pressed, "#grid-add-row")
    def _add_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.action_add_row()

    @on(Select.Changed, "#grid-add-key")
    def _add_key(self, event: Select.Changed) -> None:
        event.stop()
        if event.value is Select.NULL:
            return
        key = str(event.value)
        with self.prevent(Select.Changed):
            event.select.clear()
        existing = next((r for r in self._row_widgets() if r.key == key), None)
        if existing is not None:
            existing.query_one(".grid-values", Input).focus()
            return
        current = self._current_value(key)
        self._add(key, "" if current is None else format_values([current]))

    def _current_value(self, key: str) -> Any:
        path = canonical_key(key)
        layers = [lay for lay in self._data.get("layers") or [] if isinstance(lay, dict)]
        dense = [lay for lay in layers if lay.get("type", "dense") == "dense"]
        if path == "hidden.count":
            return len(dense)
        if path.startswith("hidden."):
            return lookup(dense[0], path.removeprefix("hidden.")) if dense else None
        if path.startswith("dropout."):
            drops = [lay for lay in layers if lay.get("type") == "dropout"]
            return lookup(drops[0], path.removeprefix("dropout.")) if drops else None
        return lookup(self._data, path)

    def action_add_row(self) -> None:
        """Add an empty row and focus its key."""
        self._add("", "")

    def _add(self, key: str, values: str) -> None:
        row = GridRow(key, values, self._keys())
        if self._base is None:
            self._base = {}

        def focus_row() -> None:
            target = ".grid-values" if key else ".grid-key"
            row.query_one(target, Input).focus()
            self._changed()

        self._rows.append(row)
        self.query_one("#grid-rows").mount(row)
        self.call_after_refresh(focus_row)

    def action_remove_row(self) -> None:
        """Remove the row that has the focus (else the last row)."""
        rows = self._row_widgets()
        focused = self.screen.focused
        target = next((r for r in rows if focused is not None and r in focused.ancestors), None)
        if target is None and rows:
            target = rows[-1]
        if target is not None:
            self._remove(target)

    def _remove(self, row: GridRow) -> None:
        index = self._rows.index(row)
        self._rows.remove(row)
        row.remove()
        self._changed()

        def after() -> None:
            remaining = self._row_widgets()
            if remaining:
                remaining[min(index, len(remaining) - 1)].query_one(".grid-values", Input).focus()

        self.call_after_refresh(after)
