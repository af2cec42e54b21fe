"""The Inside view: per-layer gradient norms over the epochs, the layer table, the selected
layer's weight histogram; fed ``layer_stats`` events live, or a past run's layer_stats.jsonl.

Each layer's curve is drawn with its own number as the plot mark (``1`` the first layer), so the
curves read without colour; the legend names them first layer to last.
"""

from __future__ import annotations

import math
from typing import Any

from rich.markup import escape
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import DataTable, Static
from textual_plotext import PlotextPlot

from nnexplorer.core import pictures
from nnexplorer.core.events import LayerStats
from nnexplorer.tui.inside_render import (
    fmt_fraction,
    fmt_small,
    max_norm_text,
    ratio_text,
)
from nnexplorer.tui.widgets.metric_chart import ANSI_NAMES, epoch_ticks

LINE_COLORS = ("cyan", "orange", "green", "magenta", "blue", "red", "cyan+", "green+")
MARKS = "123456789abcdefghijklmnopqrstuvwxyz"
EMPTY_HINT = "F5 trains; each layer's gradient norm appears here, epoch by epoch"
TABLE_COLUMNS = ("#", "layer", "units", "act", "grad", "dead", "sat", "small", "max|w|")


def mark(index: int) -> str:
    """The plot mark of layer ``index`` (0-based): ``1``, ``2``, ... then letters."""
    return MARKS[index % len(MARKS)]


def layer_color(index: int) -> str:
    return LINE_COLORS[index % len(LINE_COLORS)]


def gradient_series(history: list[LayerStats]) -> list[tuple[str, list[int], list[float]]]:
    """(layer name, epochs, positive gradient norms) per layer, first layer to last."""
    names: list[str] = []
    for event in history:
        for layer in event.layers:
            if layer.get("name") not in names:
                names.append(str(layer.get("name")))
    series = []
    for name in names:
        xs, ys = [], []
        for event in history:
            for layer in event.layers:
                value = layer.get("grad_norm")
                if layer.get("name") != name or not isinstance(value, int | float):
                    continue
                if math.isfinite(value) and value > 0:  # a log axis shows positive values
                    xs.append(event.epoch)
                    ys.append(float(value))
        series.append((name, xs, ys))
    return series


def decade_range(low: float, high: float) -> tuple[int, int]:
    """The powers of ten just below ``low`` and just above ``high`` (at least one apart)."""
    first, last = math.floor(math.log10(low)), math.ceil(math.log10(high))
    return first, max(last, first + 1)


def decade_ticks(first: int, last: int, most: int = 6) -> list[float]:
    """Every power of ten from ``10**first`` to ``10**last``, or every k-th when many."""
    step = max(1, -(-(last - first) // max(1, most - 1)))
    return [10.0**k for k in range(first, last + 1, step)]


class GradientChart(PlotextPlot):
    """Gradient norm of every layer over the epochs, on a log scale."""

    DEFAULT_CSS = "GradientChart { border-top: blank; border-title-align: left; }"

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._series: list[tuple[str, list[int], list[float]]] = []
        self._ratio = ""
        self._hint = EMPTY_HINT

    def show(self, history: list[LayerStats], hint: str = EMPTY_HINT, caption: str = "") -> None:
        """Draw the gradient norms of ``history`` (one event per epoch); ``caption`` says whose."""
        self._series = gradient_series(history)
        self._ratio = ratio_text(history[-1].layers) if history else ""
        self._hint = hint
        parts = ["[b]Gradient norm (log)[/b]"]
        if caption:
            parts[0] += f" [dim]{escape(caption)}[/]"
        for index, (name, _, _) in enumerate(self._series):
            color = ANSI_NAMES.get(layer_color(index), "ansi_cyan")
            parts.append(f"[{color}]{mark(index)}[/] {name}")
        self.border_title = "  ".join(parts)
        self.refresh()

    @property
    def series(self) -> list[tuple[str, list[int], list[float]]]:
        """The lines drawn: (layer name, epochs, gradient norms)."""
        return list(self._series)

    def render(self) -> Any:
        # plotext rescales stored data in place for a log axis: plot afresh before each build
        plt = self.plt
        plt.clear_data()
        plt.clear_figure()
        plt.xlabel("epoch" + (f"  ·  {self._ratio}" if self._ratio else ""))
        drawn = [(i, s) for i, s in enumerate(self._series) if s[1]]
        if drawn:
            plt.yscale("log")
            last = 0
            for index, (_, xs, ys) in drawn:
                plt.plot(xs, ys, marker=mark(index), color=layer_color(index))
                last = max(last, xs[-1])
            epochs = epoch_ticks(last)
            plt.xticks([float(e) for e in epochs], [str(e) for e in epochs])
            values = [y for _, (_, _, ys) in drawn for y in ys]
            first, last = decade_range(min(values), max(values))
            plt.ylim(first, last)  # plotext takes the limits of a log axis as exponents
            ticks = decade_ticks(first, last, max(2, (self.size.height - 4) // 2))
            plt.yticks(ticks, [f"{t:.0e}" for t in ticks])
        else:
            plt.yscale("linear")
            plt.xlim(0, 1)
            plt.ylim(0, 1)
            plt.text(self._hint, 0.5, 0.5, alignment="center")
        return super().render()


def histogram_text(layer: dict[str, Any], epoch: int, width: int, height: int) -> Text:
    """The weight histogram of one layer as bars, with its range and a one-line summary."""
    hist = layer.get("hist") or {}
    counts, edges = list(hist.get("counts") or []), list(hist.get("edges") or [])
    name = layer.get("name", "?")
    head = f"Weights of {name} (epoch {epoch})"
    title = Text(head, style="bold")
    summary = [
        f"|W| {fmt_small(layer.get('weight_norm'))}",
        f"mean |w| {fmt_small(layer.get('mean_abs_weight'))}",
        f"|w|<1e-3 {fmt_fraction(layer.get('small_weight_fraction'))}",
    ]
    if layer.get("regularizer"):
        summary.append(str(layer["regularizer"]))
    while summary and len(head) + 2 + len("  ".join(summary)) > width:
        summary.pop()  # one line: the least telling numbers make way
    if summary:
        title.append("  " + "  ".join(summary), style="dim")
    if not counts or len(edges) != len(counts) + 1:
        title.append("\nno weights to show")
        return title
    bar_width = max(1, min(4, (width - 2) // len(counts)))
    lines = pictures.bar_lines(counts, max(1, height - 2), bar_width)
    body = Text("\n" + "\n".join(lines))
    span = bar_width * len(counts)
    low, high = f"{edges[0]:.3g}", f"{edges[-1]:.3g}"
    axis = low + high.rjust(max(1, span - len(low)))
    body.append("\n" + axis, style="dim")
    return title + body


class InsideView(Vertical):
    """Gradient curves, the layer table (up/down selects a layer) and its weight histogram."""

    DEFAULT_CSS = """
    InsideView { height: 1fr; }
    InsideView GradientChart { height: 1fr; min-height: 6; }
    InsideView #layer-table { height: auto; max-height: 9; }
    InsideView #weight-hist { height: 7; padding: 0 1; }
    """
    BINDINGS = [
        Binding("[", "step(-1)", "Previous layer", show=False),
        Binding("]", "step(1)", "Next layer", show=False),
    ]

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._history: list[LayerStats] = []
        self._names: list[str] = []
        self._hint = EMPTY_HINT
        self._caption = ""
        self._column_keys: list[Any] = []
        self.selected = 0

    def compose(self) -> ComposeResult:
        yield GradientChart(id="grad-chart")
        table: DataTable[str] = DataTable(id="layer-table", cursor_type="row", zebra_stripes=True)
        yield table
        yield Static("", id="weight-hist")

    def on_mount(self) -> None:
        self._column_keys = self.query_one(DataTable).add_columns(*TABLE_COLUMNS)
        self._redraw()

    # ------------------------------------------------------------------ verbs

    def reset(self, hint: str = EMPTY_HINT) -> None:
        """Forget the shown run (a new run starts, or a run without statistics)."""
        self._history = []
        self._hint = hint
        self._caption = ""
        if self.is_mounted:
            self.query_one(DataTable).clear()
            self._names = []
            self._redraw()

    def add_stats(self, event: LayerStats) -> None:
        """One more epoch of statistics."""
        self._history.append(event)
        if self.is_mounted:
            self._redraw()

    def show_history(
        self, history: list[LayerStats], hint: str = EMPTY_HINT, caption: str = ""
    ) -> None:
        """A whole run's statistics at once (a past run, or a sweep's variant: ``caption``)."""
        self._history = list(history)
        self._hint = hint
        self._caption = caption
        if self.is_mounted:
            self._redraw()

    @property
    def history(self) -> list[LayerStats]:
        """The statistics shown, one event per epoch."""
        return list(self._history)

    def action_step(self, delta: int) -> None:
        """Select the previous or next layer."""
        table = self.query_one(DataTable)
        if table.row_count:
            table.move_cursor(row=(table.cursor_row + delta) % table.row_count)

    # ------------------------------------------------------------------ drawing

    def _redraw(self) -> None:
        self.query_one(GradientChart).show(self._history, self._hint, self._caption)
        self._fill_table()
        self._draw_histogram()

    def _fill_table(self) -> None:
        table = self.query_one(DataTable)
        layers = self._history[-1].layers if self._history else []
        names = [str(layer.get("name")) for layer in layers]
        if names != self._names:
            table.clear()
            for index, layer in enumerate(layers):
                table.add_row(*self._cells(index, layer), key=str(index))
            self._names = names
            self.selected = min(self.selected, max(0, len(names) - 1))
            if names:
                table.move_cursor(row=self.selected)
            return
        for index, layer in enumerate(layers):
            for key, value in zip(self._column_keys, self._cells(index, layer), strict=True):
                table.update_cell(str(index), key, value)

    @staticmethod
    def _cells(index: int, layer: dict[str, Any]) -> tuple[str, ...]:
        return (
            mark(index),
            str(layer.get("name", "?")),
            str(layer.get("units", "")),
            str(layer.get("activation", "")),
            fmt_small(layer.get("grad_norm")),
            fmt_fraction(layer.get("dead_fraction")),
            fmt_fraction(layer.get("saturated_fraction")),
            fmt_fraction(layer.get("small_weight_fraction")),
            max_norm_text(layer),
        )

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        event.stop()
        self.selected = event.cursor_row
        self._draw_histogram()

    def _draw_histogram(self) -> None:
        hist = self.query_one("#weight-hist", Static)
        if not self._history:
            hist.update("")
            return
        last = self._history[-1]
        if not last.layers:
            hist.update("")
            return
        layer = last.layers[min(self.selected, len(last.layers) - 1)]
        width = max(20, hist.size.width - 2 or self.size.width - 4)
        hist.update(histogram_text(layer, last.epoch, width, max(3, hist.size.height or 7)))

    def on_resize(self) -> None:
        self._draw_histogram()
