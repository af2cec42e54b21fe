"""The comparison screen: several runs (a sweep's variants, a grid's candidates) side by side.

Opened from the past-runs browser (F3: space selects runs, ``c`` compares them). The two charts
overlay every run's validation curves (``t`` switches to the training curves), each run in its
own colour and marker; the table shows only the settings that differ, the final train and
validation values of the metric, their gap, the best epoch and the test metrics. Everything it
shows comes from :class:`nnexplorer.core.compare.Comparison`, as ``nnexplorer compare`` does.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Label, Static

from nnexplorer.core.compare import Comparison, load_entries
from nnexplorer.core.errors import NnxError
from nnexplorer.core.formatting import count, status_word
from nnexplorer.tui.widgets.metric_chart import MetricChart, legend_markup, overlay_series


class CompareScreen(Screen[None]):
    """Overlaid curves and the comparison table of ``run_dirs``."""

    VERTICAL_BREAKPOINTS = [(0, "-short"), (36, "-tall")]
    BINDINGS = [
        Binding("escape", "close", "Back"),
        Binding("t", "toggle_split", "Train/val curves"),
        Binding("l", "log_scale", "Log scale", show=False),
    ]

    def __init__(self, run_dirs: Sequence[str | Path]) -> None:
        super().__init__(id="compare-screen")
        self._run_dirs = [str(p) for p in run_dirs]
        self.comparison: Comparison | None = None
        self.error = ""
        self.validation = True

    def compose(self) -> ComposeResult:
        with Vertical(id="compare-body"):
            yield Label("", id="compare-title")
            with Horizontal(id="compare-charts"):
                yield MetricChart("loss", id="compare-loss")
                yield MetricChart("metric", id="compare-metric")
            yield Static("", id="compare-lines")
            yield DataTable(id="compare-table", cursor_type="row", zebra_stripes=True)
            yield Static("", id="compare-legend", markup=False)
        yield Footer(show_command_palette=False)  # ^p Menu is one of the keys

    def on_mount(self) -> None:
        try:
            self.comparison = Comparison.of(load_entries(self._run_dirs))
        except NnxError as exc:
            self.error = str(exc)
        self._show()

    # ------------------------------------------------------------------ drawing

    def _show(self) -> None:
        title = self.query_one("#compare-title", Label)
        comparison = self.comparison
        if comparison is None or not comparison.entries:
            title.update("Nothing to compare")
            self.query_one("#compare-legend", Static).update(self.error or "No runs were read.")
            return
        runs = len({e.run_id for e in comparison.entries})
        lines = len(comparison.entries)
        what = count(runs, "run") + (f", {lines} networks" if lines != runs else "")
        differ = len(comparison.settings)
        verb = "differs" if differ == 1 else "differ"
        title.update(f"Comparing {what}; {count(differ, 'setting')} {verb}")
        self._draw_charts()
        self._fill_table()
        self.query_one("#compare-legend", Static).update(self._legend())
        self.query_one("#compare-table", DataTable).focus()

    def _draw_charts(self) -> None:
        comparison = self.comparison
        if comparison is None:
            return
        prefix = "val_" if self.validation else ""
        split = "validation" if self.validation else "training"
        labels = [e.label for e in comparison.entries]
        for chart_id, metric in (("#compare-loss", "loss"), ("#compare-metric", comparison.metric)):
            name = f"{prefix}{metric}"
            curves = {c.label: c for c in comparison.curves(name)}
            # every entry keeps its colour and marker in both charts, whatever each one lacks
            lines = [
                (label, curves[label].xs, curves[label].ys) if label in curves else (label, [], [])
                for label in labels
            ]
            series = [s for s in overlay_series(lines) if s.xs]
            title = f"{metric.replace('_', ' ').capitalize()} ({split})"
            chart = self.query_one(chart_id, MetricChart)
            chart.show_series(title, series, empty=f"no {name} recorded")
        everyone = overlay_series([(label, [], []) for label in labels])
        self.query_one("#compare-lines", Static).update(legend_markup("Lines:", everyone))

    def _fill_table(self) -> None:
        comparison = self.comparison
        if comparison is None:
            return
        table = self.query_one("#compare-table", DataTable)
        table.clear(columns=True)
        _, short = comparison.layout(self.app.size.width - 2)
        columns = comparison.columns()
        for column in columns:
            table.add_column(column.short if short else column.title, key=column.key)
        table.fixed_columns = 1
        for entry, row in zip(comparison.entries, comparison.rows(), strict=True):
            cells = [
                Text(cell, justify="right") if column.numeric else cell
                for column, cell in zip(columns, row, strict=True)
            ]
            table.add_row(*cells, key=entry.label)

    def _legend(self) -> str:
        comparison = self.comparison
        if comparison is None:
            return ""
        lines = []
        seen: set[str] = set()
        for entry in comparison.entries:
            if entry.run_id in seen:
                continue
            seen.add(entry.run_id)
            base = entry.label.split("#", 1)[0]
            kind = "" if entry.kind == "train" else f" ({entry.kind}s)"
            lines.append(f"{base} = {entry.run_id}  {entry.name}{kind}")
        for entry in comparison.entries:
            if entry.status != "completed" and entry.reason:
                reason = entry.reason.strip().splitlines()[0]
                lines.append(f"{entry.label} {status_word(entry.status)}: {reason}")
        if comparison.settings:
            lines.append("settings that differ: " + ", ".join(comparison.settings))
        return "\n".join(lines)

    # ------------------------------------------------------------------ keys

    def action_toggle_split(self) -> None:
        """Switch the charts between validation and training curves."""
        self.validation = not self.validation
        self._draw_charts()

    def action_log_scale(self) -> None:
        """Toggle the loss chart's log scale."""
        self.query_one("#compare-loss", MetricChart).action_toggle_log()

    def action_close(self) -> None:
        self.dismiss(None)
