"""F3: past runs on disk; see a run's curves, reopen its preset, resume a grid search, or show
what it recorded inside the network (layer statistics, evaluation, decision regions)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Footer, Label, Static

from nnexplorer.core.errors import NnxError
from nnexplorer.tui.session import fmt_duration, fmt_number, run_view_from_record
from nnexplorer.tui.widgets.metric_chart import MetricChart

RESUMABLE = ("cancelled", "failed", "unfinished")


def _score(summary: dict[str, Any] | None) -> str:
    if not summary:
        return "-"
    if summary.get("best_score") is not None:
        return f"cv {fmt_number(summary['best_score'])}"
    tests = summary.get("test_metrics") or {}
    key = next((k for k in tests if k != "loss"), "loss" if "loss" in tests else None)
    return f"{key} {fmt_number(tests[key])}" if key else "-"


class RunsScreen(ModalScreen[tuple[str, Path] | None]):
    """Lists ``list_runs()``; dismisses with ("open" | "resume" | "inside", run_dir)."""

    BINDINGS = [
        Binding("escape", "close", "Close"),
        Binding("o", "choose('open')", "Open preset"),
        Binding("r", "choose('resume')", "Resume search"),
        Binding("i", "choose('inside')", "Inside views"),
    ]

    def __init__(self, runs: list[Any]) -> None:
        super().__init__(id="runs-screen")
        self._runs = {str(info.run_dir): info for info in runs}

    def compose(self) -> ComposeResult:
        with Vertical(id="runs-body"):
            yield Label(f"Past runs ({len(self._runs)}): enter shows curves", id="runs-title")
            yield DataTable(id="past-runs", cursor_type="row", zebra_stripes=True)
            with Horizontal(id="runs-charts"):
                yield MetricChart("loss", id="past-loss")
                yield MetricChart("metric", id="past-metric")
            yield Static("", id="runs-detail", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#past-runs", DataTable)
        table.add_columns("Started", "Name", "Mode", "Status", "Score", "Time")
        for key, info in self._runs.items():
            started = info.started.strftime("%Y-%m-%d %H:%M") if info.started else "?"
            wall = (info.summary or {}).get("wall_seconds")
            table.add_row(
                started,
                info.name,
                info.mode,
                info.status,
                _score(info.summary),
                fmt_duration(wall) if isinstance(wall, int | float) else "-",
                key=key,
            )
        if not self._runs:
            self.query_one("#runs-detail", Static).update("No runs yet under this runs folder.")
        table.focus()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        self._preview(str(event.row_key.value))

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        info = self._runs.get(str(event.row_key.value))
        if info is not None:
            resumable = info.mode == "grid" and info.status in RESUMABLE
            hint = "o: open its preset; i: its Inside, Evaluation and Boundary views" + (
                "; r: resume this search" if resumable else ""
            )
            self.query_one("#runs-detail", Static).update(f"{info.run_dir}\n{hint}")

    def _preview(self, key: str) -> None:
        from nnexplorer.core.runs import load_run

        try:
            record = load_run(key)
        except NnxError as exc:
            self.query_one("#runs-detail", Static).update(str(exc))
            return
        view = run_view_from_record(record)
        self.query_one("#past-loss", MetricChart).show_run(view)
        self.query_one("#past-metric", MetricChart).show_run(view)
        detail = f"{key}\n{view.settings} | status {view.status}"
        self.query_one("#runs-detail", Static).update(detail)

    def _selected(self) -> Any:
        table = self.query_one("#past-runs", DataTable)
        if not table.row_count:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        return self._runs.get(str(key))

    def action_choose(self, what: str) -> None:
        info = self._selected()
        if info is None:
            return
        if what == "resume" and not (info.mode == "grid" and info.status in RESUMABLE):
            self.notify("Only an interrupted grid search can be resumed.", severity="warning")
            return
        self.dismiss((what, Path(info.run_dir)))

    def action_close(self) -> None:
        self.dismiss(None)
