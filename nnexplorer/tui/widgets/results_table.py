"""The session's results: one row per run, and one row per candidate of a grid search."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.coordinate import Coordinate
from textual.message import Message
from textual.widgets import DataTable, Label

from nnexplorer.core.formatting import (
    abbrev,
    fmt_duration,
    fmt_mean_std,
    fmt_number,
    headline_metrics,
    short_params,
    status_word,
)
from nnexplorer.tui.session import RunView

RUN_COLUMNS = ("Run", "Status", "Epochs", "Best val", "Test", "Time", "Settings")
REASON_CHARS = 40
# the parameters right after the candidate's number: a narrow table still shows what it tried
CANDIDATE_COLUMNS = ("Rank", "Cand", "Params", "Mean ± std", "Folds", "Fit time", "Status")
VARIANT_COLUMNS = ("Rank", "Var", "Params", "Val", "Train", "Test", "Best ep", "Time", "Status")


class Cell(str):
    """A table cell's text that remembers what to sort by (missing values sort last)."""

    sort_key: tuple[int, Any]

    def __new__(cls, text: str, key: Any = None) -> Cell:
        cell = super().__new__(cls, text)
        cell.sort_key = (1, "") if key is None else (0, key)
        return cell


def _status(status: str, reason: str = "") -> Cell:
    word = status_word(status)
    return Cell(f"{word}: {reason}" if reason else word, word)


def run_cells(run: RunView) -> list[Cell]:
    """The cells of a run's row."""
    if run.mode == "sweep":
        epochs = Cell(f"variants {run.fits_done()}/{run.n_candidates or '?'}", run.fits_done())
        best = run.top_score()
        scoring = run.scoring.removeprefix("neg_").removeprefix("val_") or "score"
        shown = f"{abbrev(scoring)} {fmt_number(abs(best))}" if best is not None else "-"
        best_cell = Cell(shown, best)
    elif run.mode == "grid":
        total = run.fits_total()
        epochs = Cell(f"fits {run.fits_done()}/{total or '?'}", run.fits_done())
        best = run.top_score()
        best_cell = Cell(f"cv {fmt_number(best)}" if best is not None else "-", best)
    else:
        epochs = Cell(f"{len(run.history)}/{run.epochs or run.epochs_planned}", len(run.history))
        found = run.best_val()
        best_cell = (
            Cell(f"{abbrev(found[0].removeprefix('val_'))} {fmt_number(found[1])}", found[1])
            if found
            else Cell("-")
        )
    number = run.key.removeprefix("run")
    name = f"{number} {run.name}" + (f" ({run.mode})" if run.mode != "train" else "")
    explain = run.message and run.status in ("failed", "diverged")
    reason = run.message.strip().splitlines()[0] if explain else ""
    return [
        Cell(name, int(number) if number.isdigit() else name),
        _status(run.status, reason[:REASON_CHARS]),
        epochs,
        best_cell,
        _test_cell(run),
        Cell(fmt_duration(run.elapsed), run.elapsed),
        Cell(run.settings, run.settings),
    ]


def _test_cell(run: RunView) -> Cell:
    shown = headline_metrics(run.test_metrics, run.metric())
    if not shown:
        return Cell("-")
    return Cell(" ".join(f"{abbrev(k)} {fmt_number(v)}" for k, v in shown), shown[0][1])


def candidate_cells(run: RunView, index: int) -> list[Cell]:
    """The cells of a grid candidate's row: rank, params, mean ± std, fit time, status."""
    cand = run.candidates[index]
    rank = run.rank_of(index)
    score = Cell(fmt_mean_std(cand.mean, cand.std), cand.mean)
    folds = cand.n_folds or run.n_folds
    fit = cand.fit_time
    return [
        Cell(str(rank) if rank else "-", rank),
        Cell(f"#{index + 1}", index),
        Cell(short_params(cand.params), short_params(cand.params)),
        score,
        Cell(f"{cand.folds_done}/{folds or '?'}", cand.folds_done),
        Cell(f"{fit:.1f} s" if fit is not None else "-", fit),
        _status(cand.status, cand.reason[:REASON_CHARS]),
    ]


def variant_cells(run: RunView, index: int) -> list[Cell]:
    """The cells of a sweep variant's row: rank, val/train/test of the metric, best epoch, ..."""
    cand = run.candidates[index]
    metric = run.metric() or "loss"
    final = cand.final_metrics or (cand.history[-1] if cand.history else {})
    rank = run.rank_of(index)

    def number(value: Any) -> Cell:
        return Cell(fmt_number(value), value if isinstance(value, int | float) else None)

    seconds = cand.fit_time
    return [
        Cell(str(rank) if rank else "-", rank),
        Cell(f"#{index + 1}", index),
        Cell(short_params(cand.params), short_params(cand.params)),
        number(final.get(f"val_{metric}")),
        number(final.get(metric)),
        number(cand.test_metrics.get(metric)),
        Cell("-" if cand.best_epoch is None else str(cand.best_epoch), cand.best_epoch),
        Cell(f"{seconds:.1f} s" if seconds else "-", seconds),
        _status(cand.status, cand.reason[:REASON_CHARS]),
    ]


class SortableTable(DataTable):
    """A DataTable sorted by clicking a header, or with ``s`` (next column) / ``r`` (reverse)."""

    BINDINGS = [
        Binding("s", "sort_next", "Sort", show=False),
        Binding("r", "sort_reverse", "Reverse", show=False),
    ]

    def __init__(self, columns: tuple[str, ...], *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=True)
        self._names = columns
        self.sort_column: str | None = None
        self.sort_reverse = False

    def on_mount(self) -> None:
        for name in self._names:
            self.add_column(name, key=name)

    def on_click(self, event: events.Click) -> None:
        # one click draws a row's curves: DataTable selects only a row already highlighted
        row = event.style.meta.get("row")
        if isinstance(row, int) and row >= 0:
            self.call_later(self._select_if_moved, self.cursor_coordinate)

    def _select_if_moved(self, before: Coordinate) -> None:
        if self.cursor_coordinate != before:
            self.action_select_cursor()

    def set_columns(self, columns: tuple[str, ...]) -> None:
        """Show ``columns`` instead (the rows go with the old ones)."""
        if columns == self._names:
            return
        self.clear(columns=True)
        self._names = columns
        self.sort_column, self.sort_reverse = None, False
        for name in columns:
            self.add_column(name, key=name)

    def put_row(self, key: str, cells: list[Cell]) -> None:
        """Add the row ``key`` or update its cells."""
        if key in self.rows:
            for name, cell in zip(self._names, cells, strict=True):
                self.update_cell(key, name, cell, update_width=True)
            # the table measures new widths when idle: make sure it gets there
            self.check_idle()
        else:
            self.add_row(*cells, key=key)
            self.resort()

    def resort(self) -> None:
        """Apply the current sort again (after rows changed)."""
        if self.sort_column is not None and self.row_count:
            self.sort(self.sort_column, key=lambda cell: cell.sort_key, reverse=self.sort_reverse)

    def sort_by(self, column: str, reverse: bool | None = None) -> None:
        """Sort by ``column``; the same column again flips the order."""
        if reverse is None:
            reverse = not self.sort_reverse if column == self.sort_column else False
        self.sort_column, self.sort_reverse = column, reverse
        self.resort()

    def on_data_table_header_selected(self, event: DataTable.HeaderSelected) -> None:
        event.stop()
        self.sort_by(str(event.column_key.value))

    def action_sort_next(self) -> None:
        position = self._names.index(self.sort_column) + 1 if self.sort_column else 0
        self.sort_by(self._names[position % len(self._names)], reverse=False)

    def action_sort_reverse(self) -> None:
        self.sort_by(self.sort_column or self._names[0], reverse=not self.sort_reverse)


class ResultsTable(Vertical):
    """The runs of this session; below them, the candidates of the grid run on show."""

    @dataclass
    class RunChosen(Message):
        """The user selected a run's row."""

        key: str

    @dataclass
    class CandidateChosen(Message):
        """The user selected a grid candidate's row."""

        run_key: str
        index: int

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._grid_key: str | None = None

    def compose(self) -> ComposeResult:
        yield SortableTable(RUN_COLUMNS, id="runs-table")
        yield Label("", id="candidates-title")
        yield SortableTable(CANDIDATE_COLUMNS, id="candidates-table")

    def on_mount(self) -> None:
        self.query_one("#candidates-title").display = False
        self.query_one("#candidates-table").display = False

    @property
    def runs_table(self) -> SortableTable:
        return self.query_one("#runs-table", SortableTable)

    @property
    def candidates_table(self) -> SortableTable:
        return self.query_one("#candidates-table", SortableTable)

    def update_run(self, run: RunView) -> None:
        """Add or refresh the row of ``run`` (and its candidates when it is on show)."""
        self.runs_table.put_row(run.key, run_cells(run))
        if run.mode != "train" and (self._grid_key in (None, run.key) or run.running):
            self.show_candidates(run)
        if not run.running:
            self.runs_table.resort()

    def show_candidates(self, run: RunView) -> None:
        """List the candidates of the grid run ``run`` (the variants of a sweep)."""
        table = self.candidates_table
        sweep = run.mode == "sweep"
        if self._grid_key != run.key:
            table.clear()
            table.set_columns(VARIANT_COLUMNS if sweep else CANDIDATE_COLUMNS)
            self._grid_key = run.key
        title = self.query_one("#candidates-title", Label)
        if sweep:
            metric = abbrev(run.metric() or "loss")
            title.update(f"Variants of {run.name}, {metric} (enter: show curves)")
        else:
            title.update(f"Grid candidates of {run.name} (enter: show curves)")
        title.display = table.display = True
        cells = variant_cells if sweep else candidate_cells
        for index in sorted(run.candidates):
            table.put_row(f"{run.key}#{index}", cells(run, index))
        # ranks change as candidates finish: refresh every row's rank
        for index in run.candidates:
            rank = run.rank_of(index)
            cell = Cell(str(rank) if rank else "-", rank)
            table.update_cell(f"{run.key}#{index}", "Rank", cell, update_width=True)
        table.resort()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        key = str(event.row_key.value)
        if event.data_table.id == "candidates-table":
            run_key, _, index = key.rpartition("#")
            self.post_message(self.CandidateChosen(run_key, int(index)))
        else:
            self.post_message(self.RunChosen(key))
