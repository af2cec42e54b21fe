"""F3: the runs on disk, live ones first; see a run's curves, attach to a live one, reopen its
preset, resume a grid search, or show what it recorded inside the network (layer statistics,
evaluation, decision regions).

Space selects runs and ``c`` compares them (:mod:`.compare`); with none selected, ``c`` compares
the variants or candidates of the run under the cursor.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.coordinate import Coordinate
from textual.screen import ModalScreen
from textual.widgets import DataTable, Footer, Label, Static

from nnexplorer.core.errors import NnxError
from nnexplorer.core.formatting import fmt_duration, fmt_number, status_word
from nnexplorer.tui.session import run_view_from_record
from nnexplorer.tui.widgets.metric_chart import MetricChart

RESUMABLE = ("cancelled", "failed", "interrupted", "unfinished")
LIVE_REFRESH = 2.0  # seconds between updates of the live runs' status cells


def _status_cell(status: str, progress: str) -> str:
    """``running epoch 3/10``, ``queued``, ``done``..."""
    word = status_word(status)
    return f"{word} {progress}" if progress else word


def _live_first(runs: list[Any]) -> list[Any]:
    """Queued and running runs first (in the order given), then the others."""
    return sorted(runs, key=lambda info: not info.live)


def _score(summary: dict[str, Any] | None) -> str:
    if not summary:
        return "-"
    if summary.get("best_score") is not None:
        scoring = str(summary.get("scoring") or "score") if summary.get("mode") == "sweep" else "cv"
        return f"{scoring} {fmt_number(summary['best_score'])}"
    tests = summary.get("test_metrics") or {}
    key = next((k for k in tests if k != "loss"), "loss" if "loss" in tests else None)
    return f"{key} {fmt_number(tests[key])}" if key else "-"


class RunsScreen(ModalScreen[tuple[str, Path] | None]):
    """Lists ``list_runs()``, live runs first; dismisses with ("open" | "resume" | "inside",
    run_dir) or ("attach", run_dir) (enter on a live run)."""

    BINDINGS = [
        Binding("escape", "close", "Close"),
        Binding("o", "choose('open')", "Open preset"),
        Binding("r", "choose('resume')", "Resume search"),
        Binding("space", "toggle_selected", "Select"),
        Binding("c", "compare", "Compare"),
        Binding("i", "choose('inside')", "Inside views"),
    ]
    SELECTED_MARK = "● "

    def __init__(self, runs: list[Any]) -> None:
        super().__init__(id="runs-screen")
        self._runs = {str(info.run_dir): info for info in _live_first(runs)}
        self.selected: dict[str, Any] = {}  # run key -> the first cell's text before the mark

    def compose(self) -> ComposeResult:
        with Vertical(id="runs-body"):
            live = sum(1 for info in self._runs.values() if info.live)
            title = f"Runs ({len(self._runs)}, {live} live): enter shows curves"
            yield Label(title + (" or attaches to a live run" if live else ""), id="runs-title")
            yield DataTable(id="past-runs", cursor_type="row", zebra_stripes=True)
            with Horizontal(id="runs-charts"):
                yield MetricChart("loss", id="past-loss")
                yield MetricChart("metric", id="past-metric")
            yield Static("", id="runs-detail", markup=False)
        yield Footer(show_command_palette=False)  # ^p Menu is one of the keys

    def on_mount(self) -> None:
        table = self.query_one("#past-runs", DataTable)
        columns = table.add_columns("Started", "Name", "Mode", "Status", "Score", "Time")
        self._status_key = columns[3]
        for key, info in self._runs.items():
            started = info.started.strftime("%Y-%m-%d %H:%M") if info.started else "?"
            wall = (info.summary or {}).get("wall_seconds")
            table.add_row(
                started,
                info.name,
                info.mode,
                _status_cell(info.status, info.progress),
                _score(info.summary),
                fmt_duration(wall) if isinstance(wall, int | float) else "-",
                key=key,
            )
        if not self._runs:
            self.query_one("#runs-detail", Static).update("No runs yet under this runs folder.")
        table.focus()
        if any(info.live for info in self._runs.values()):
            self.set_interval(LIVE_REFRESH, self._refresh_live)

    def _refresh_live(self) -> None:
        """Update the status cells of the runs that were live (progress, or how they ended)."""
        from nnexplorer.core.runs import LIVE_STATUSES, read_meta, run_status

        table = self.query_one("#past-runs", DataTable)
        for key, info in self._runs.items():
            if not info.live:
                continue
            status = run_status(key)
            progress = str(read_meta(key).get("progress") or "") if status in LIVE_STATUSES else ""
            table.update_cell(key, self._status_key, _status_cell(status, progress))

    def _is_live(self, key: str) -> bool:
        from nnexplorer.core.runs import LIVE_STATUSES, run_status

        return key in self._runs and run_status(key) in LIVE_STATUSES

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        key = str(event.row_key.value)
        if self._is_live(key):
            self.dismiss(("attach", Path(key)))
            return
        self._preview(key)

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        info = self._runs.get(str(event.row_key.value))
        if info is not None:
            if info.live:
                hint = "enter: attach (its curves so far, then live; F7 then stops it)"
            else:
                resumable = info.mode == "grid" and info.status in RESUMABLE
                hint = "o: open its preset; i: its Inside, Evaluation and Boundary views" + (
                    "; r: resume this search" if resumable else ""
                )
            hint += "; space: select, c: compare"
            problem = getattr(info, "problem", "")
            damaged = f"\ndamaged: {problem}" if problem else ""
            self.query_one("#runs-detail", Static).update(f"{info.run_dir}{damaged}\n{hint}")

    def _preview(self, key: str) -> None:
        from nnexplorer.core.runs import load_run

        try:
            record = load_run(key)
        except NnxError as exc:
            self.query_one("#runs-detail", Static).update(str(exc))
            return
        view = run_view_from_record(record)
        info = self._runs.get(key)
        if info is not None and view.status == "unfinished":
            view.status = info.status  # the listing knows more: interrupted (its worker died)
        self.query_one("#past-loss", MetricChart).show_run(view)
        self.query_one("#past-metric", MetricChart).show_run(view)
        detail = f"{key}\n{view.settings} | status {status_word(view.status)}"
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
        if what == "resume" and self._is_live(str(info.run_dir)):
            self.notify("That search is still live: enter attaches to it.", severity="warning")
            return
        self.dismiss((what, Path(info.run_dir)))

    def action_toggle_selected(self) -> None:
        """Select the run under the cursor for a comparison (again: unselect it)."""
        table = self.query_one("#past-runs", DataTable)
        if not table.row_count:
            return
        key = str(table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value)
        where = Coordinate(table.cursor_row, 0)
        if key in self.selected:
            table.update_cell_at(where, self.selected.pop(key))
        else:
            first = table.get_cell_at(where)
            self.selected[key] = first
            table.update_cell_at(where, Text(self.SELECTED_MARK, style="bold") + Text(str(first)))
        count = len(self.selected)
        self.query_one("#runs-title", Label).update(
            f"Past runs ({len(self._runs)}), {count} selected: c compares them"
            if count
            else f"Past runs ({len(self._runs)}): enter shows curves"
        )

    def action_compare(self) -> None:
        """Overlay the selected runs (else the run under the cursor) on the comparison screen."""
        from nnexplorer.tui.screens.compare import CompareScreen

        keys = list(self.selected)
        if not keys:
            info = self._selected()
            if info is None:
                return
            keys = [str(info.run_dir)]
        self.app.push_screen(CompareScreen([Path(k) for k in keys]))

    def action_close(self) -> None:
        self.dismiss(None)
