"""A heatmap of grid-search scores over two chosen grid axes, filled as candidates finish."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rich import box
from rich.style import Style
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.color import Color
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.widgets import Button, Label, Select, Static

from nnexplorer.core.formatting import fmt_number, fmt_param, short_key, short_params
from nnexplorer.tui.session import RunView

NONE = "(none)"


def grid_axes(run: RunView) -> dict[str, list[Any]]:
    """Each grid key with its values: the declared grid first, then values seen in candidates."""
    axes: dict[str, list[Any]] = {k: list(v) for k, v in run.grid_params.items()}
    for index in sorted(run.candidates):
        for key, value in run.candidates[index].params.items():
            values = axes.setdefault(key, [])
            if value not in values:
                values.append(value)
    return axes


def heat_cells(
    run: RunView, row_key: str, col_key: str | None
) -> dict[tuple[int, int], float | str]:
    """(row, column) index -> best mean score there (over the other axes), or ``fail``."""
    axes = grid_axes(run)
    rows = axes.get(row_key, [])
    cols = axes.get(col_key, []) if col_key else [None]
    cells: dict[tuple[int, int], float | str] = {}
    for cand in run.candidates.values():
        if not cand.finished or row_key not in cand.params:
            continue
        try:
            where = (
                rows.index(cand.params[row_key]),
                cols.index(cand.params[col_key]) if col_key else 0,
            )
        except (ValueError, KeyError):
            continue
        current = cells.get(where)
        if cand.mean is None:
            cells.setdefault(where, "fail")
        elif not isinstance(current, float) or cand.mean > current:
            cells[where] = cand.mean
    return cells


@dataclass(frozen=True)
class HeatStyles:
    """The look of the cells: a colour scale from the lowest to the highest score, and the
    styles of failed and pending cells (the widget takes them from the theme)."""

    low: Color
    high: Color
    fail: Style
    pending: Style

    def shade(self, score: float, low: float, high: float) -> Style:
        """The cell style of ``score`` on the scale from ``low`` to ``high``."""
        share = 0.5 if high <= low else (score - low) / (high - low)
        background = self.low.blend(self.high, share)
        text = background.get_contrast_text(alpha=1.0)
        return Style(color=text.rich_color, bgcolor=background.rich_color)


def heat_table(run: RunView, row_key: str, col_key: str | None, styles: HeatStyles) -> Table:
    """The heatmap as a Rich table (the best cell is starred, so it reads without colour)."""
    axes = grid_axes(run)
    cells = heat_cells(run, row_key, col_key)
    scores = [v for v in cells.values() if isinstance(v, float)]
    low, high = (min(scores), max(scores)) if scores else (0.0, 0.0)
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    corner = f"{short_key(row_key)} \\ {short_key(col_key)}" if col_key else short_key(row_key)
    table.add_column(corner, style="bold")
    cols = axes.get(col_key, []) if col_key else [None]
    for value in cols:
        table.add_column(fmt_param(value) if col_key else "mean score", justify="right")
    for r, row_value in enumerate(axes.get(row_key, [])):
        line: list[Text | str] = [fmt_param(row_value)]
        for c in range(len(cols)):
            cell = cells.get((r, c))
            if isinstance(cell, float):
                star = "*" if scores and cell == high else " "
                shade = styles.shade(cell, low, high)
                line.append(Text(f"{fmt_number(cell)}{star}", style=shade))
            else:
                line.append(
                    Text(cell or "...", style=styles.pending if cell is None else styles.fail)
                )
        table.add_row(*line)
    return table


class Heatmap(Vertical):
    """Pick two grid axes (``y`` rows, ``x`` columns); cells show the mean CV score.

    ``a`` (or the button) asks the app to copy the best candidate into the editors.
    """

    COMPONENT_CLASSES = {"heatmap--low", "heatmap--high", "heatmap--fail", "heatmap--pending"}
    DEFAULT_CSS = """
    Heatmap > .heatmap--low { background: $error; }
    Heatmap > .heatmap--high { background: $success; }
    Heatmap > .heatmap--fail { color: $text-error; text-style: bold; }
    Heatmap > .heatmap--pending { text-style: dim; }
    """
    BINDINGS = [
        Binding("x", "cycle('x')", "Next column axis", show=False),
        Binding("y", "cycle('y')", "Next row axis", show=False),
        Binding("a", "apply_best", "Apply best", show=False),
    ]

    @dataclass
    class ApplyBest(Message):
        """The user wants the best candidate's values in the editors."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._run: RunView | None = None
        self._keys: list[str] = []

    def compose(self) -> ComposeResult:
        with Horizontal(id="heat-axes"):
            yield Label("rows")
            yield Select[str]([], id="heat-rows", allow_blank=True, prompt="row axis", compact=True)
            yield Label("cols")
            yield Select[str](
                [], id="heat-cols", allow_blank=True, prompt="column axis", compact=True
            )
            yield Button("Apply best", id="apply-best", compact=True)
        with VerticalScroll(id="heat-scroll"):
            yield Static("No grid search yet: F6 runs the grid of the Grid pane.", id="heat-grid")

    def show_run(self, run: RunView) -> None:
        """Draw the scores of grid run ``run`` (call again as candidates finish)."""
        self._run = run
        keys = list(grid_axes(run))
        if keys != self._keys:
            self._keys = keys
            self._reset_axes(keys)
        self._draw()

    @property
    def axes(self) -> tuple[str | None, str | None]:
        """The row and column grid keys on show."""
        rows = self.query_one("#heat-rows", Select).value
        cols = self.query_one("#heat-cols", Select).value
        return (
            rows if isinstance(rows, str) else None,
            cols if isinstance(cols, str) and cols != NONE else None,
        )

    def set_axes(self, rows: str, cols: str | None) -> None:
        """Choose the grid keys for rows and columns."""
        self.query_one("#heat-rows", Select).value = rows
        self.query_one("#heat-cols", Select).value = cols or NONE
        self._draw()

    def _reset_axes(self, keys: list[str]) -> None:
        options = [(short_key(k), k) for k in keys]
        rows = self.query_one("#heat-rows", Select)
        cols = self.query_one("#heat-cols", Select)
        with self.prevent(Select.Changed):
            rows.set_options(options)
            cols.set_options([*options, (NONE, NONE)])
            if keys:
                rows.value = keys[0]
                cols.value = keys[1] if len(keys) > 1 else NONE

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.action_apply_best()

    def action_apply_best(self) -> None:
        """Post :class:`ApplyBest`."""
        self.post_message(self.ApplyBest())

    def on_select_changed(self, event: Select.Changed) -> None:
        event.stop()
        self._draw()

    def action_cycle(self, which: str) -> None:
        """Show the next grid key on the row (``y``) or column (``x``) axis."""
        if not self._keys:
            return
        select = self.query_one("#heat-rows" if which == "y" else "#heat-cols", Select)
        choices = self._keys if which == "y" else [*self._keys, NONE]
        current = select.value
        position = choices.index(current) + 1 if current in choices else 0
        select.value = choices[position % len(choices)]

    def _styles(self) -> HeatStyles:
        return HeatStyles(
            low=self.get_component_styles("heatmap--low").background,
            high=self.get_component_styles("heatmap--high").background,
            fail=self.get_component_rich_style("heatmap--fail", partial=True),
            pending=self.get_component_rich_style("heatmap--pending", partial=True),
        )

    def _draw(self) -> None:
        grid = self.query_one("#heat-grid", Static)
        run = self._run
        rows, cols = self.axes
        if run is None or rows is None:
            grid.update("No grid search yet: F6 runs the grid of the Grid pane.")
            return
        if cols == rows:
            cols = None
        best = run.best_candidate_params()
        if not best:
            caption = "no candidate finished yet"
        else:
            caption = f"{'best so far' if run.running else 'best'}: {short_params(best)}"
        table = heat_table(run, rows, cols, self._styles())
        table.caption = f"mean CV score; * best; {caption}"
        grid.update(table)
