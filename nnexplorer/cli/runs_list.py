"""``nnexplorer runs``: the runs of a runs folder as a table that fits, or as JSON.

Every run is one row and its id is always whole (it is what other commands take); the other
columns are added by importance while they fit the width (a pipe counts as 80 columns unless
``COLUMNS`` says otherwise): status, test metrics, epochs, mode, progress (live runs), start,
duration, name. ``--json`` prints every field for scripts; ``--limit`` and ``--status`` cut the
list on servers with hundreds of runs. Any status the records carry is shown as it is given.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.table import Table
from rich.text import Text

from nnexplorer.cli.headless import EXIT_OK
from nnexplorer.cli.server import resume_hints
from nnexplorer.cli.tables import status_text
from nnexplorer.core.events import json_safe
from nnexplorer.core.formatting import (
    STATUS_WORDS,
    abbrev,
    fmt_duration,
    fmt_number,
    headline_metrics,
    status_word,
)

GAP = 2  # spaces between columns


@dataclass(frozen=True)
class RunColumn:
    """A column of the runs table: its title, how to fill a cell, and its rank when narrow."""

    title: str
    cell: Callable[[Any], str]
    priority: int  # lower: kept first when the width is short
    justify: str = "left"


def _summary(run: Any) -> dict[str, Any]:
    return dict(run.summary or {})


def epochs_cell(run: Any) -> str:
    """Epochs trained (a sweep: its best variant's; a grid: its refit's)."""
    epochs = _summary(run).get("epochs_completed")
    return "" if epochs is None else fmt_number(epochs)


def tests_cell(run: Any, limit: int = 2) -> str:
    """``acc 0.9722 loss 0.2368``; a grid's best CV score first."""
    summary = _summary(run)
    metrics = summary.get("test_metrics") or {}
    main = next((k for k in metrics if k != "loss"), None)
    shown = " ".join(
        f"{abbrev(k)} {fmt_number(v)}" for k, v in headline_metrics(metrics, main, limit)
    )
    if run.mode == "grid" and summary.get("best_score") is not None:
        shown = f"cv {fmt_number(summary['best_score'])}" + (f" {shown}" if shown else "")
    return shown


def started_cell(run: Any) -> str:
    """``2025-01-01 12:00``."""
    return run.started.strftime("%Y-%m-%d %H:%M") if run.started else ""


def time_cell(run: Any) -> str:
    """The run's wall time (``01:23``)."""
    wall = _summary(run).get("wall_seconds")
    return fmt_duration(wall) if isinstance(wall, int | float) else ""


COLUMNS = (
    RunColumn("id", lambda r: r.run_id, 0),
    RunColumn("name", lambda r: r.name, 7),
    RunColumn("mode", lambda r: r.mode, 4),
    RunColumn("status", lambda r: status_word(r.status), 1),
    RunColumn("progress", lambda r: str(getattr(r, "progress", "") or ""), 3),
    RunColumn("epochs", epochs_cell, 3, "right"),
    RunColumn("test metrics", tests_cell, 2),
    RunColumn("started", started_cell, 5),
    RunColumn("time", time_cell, 6, "right"),
)


def choose_columns(runs: Sequence[Any], width: int) -> list[RunColumn]:
    """The columns that fit ``width`` (id and status always), in display order.

    A column whose cells are all empty (``progress`` when no run is live) is left out.
    """
    widths = {}
    for column in COLUMNS:
        cells = [column.cell(run) for run in runs]
        if column.priority > 1 and not any(cells):
            continue
        widths[column.title] = max(len(column.title), *(len(c) for c in cells))
    chosen: set[str] = set()
    used = 0
    for column in sorted(COLUMNS, key=lambda c: c.priority):
        if column.title not in widths:
            continue
        need = widths[column.title] + (GAP if chosen else 0)
        if column.priority <= 1 or used + need <= width:
            chosen.add(column.title)
            used += need
    return [c for c in COLUMNS if c.title in chosen]


def runs_table(runs: Sequence[Any], width: int) -> tuple[Table, int]:
    """The table of ``runs`` for ``width`` columns, and the width it needs."""
    columns = choose_columns(runs, width)
    table = Table(box=None, pad_edge=False, show_edge=False, padding=(0, GAP, 0, 0))
    for column in columns:
        table.add_column(column.title, justify=column.justify, no_wrap=True)  # type: ignore[arg-type]
    needed = 0
    for column in columns:
        needed += max(len(column.title), *(len(column.cell(r)) for r in runs)) + GAP
    for run in runs:
        cells: list[Text | str] = []
        for column in columns:
            cells.append(status_text(run.status) if column.title == "status" else column.cell(run))
        table.add_row(*cells)
    return table, needed


def run_record(run: Any) -> dict[str, Any]:
    """One run as ``runs --json`` prints it."""
    summary = _summary(run)
    ended = getattr(run, "ended", None)
    record = {
        "id": run.run_id,
        "dir": str(Path(run.run_dir).resolve()),
        "name": run.name,
        "mode": run.mode,
        "status": run.status,
        "epochs": summary.get("epochs_completed"),
        "test_metrics": summary.get("test_metrics") or {},
        "started": run.started.isoformat(timespec="seconds") if run.started else None,
        "ended": ended.isoformat(timespec="seconds") if ended else None,
        "wall_seconds": summary.get("wall_seconds"),
        "progress": getattr(run, "progress", "") or "",
        "pid": getattr(run, "pid", None),
        "host": getattr(run, "host", "") or "",
        "message": summary.get("message") or "",
        "problem": getattr(run, "problem", "") or "",
    }
    if run.mode in ("grid", "sweep"):
        record["best_params"] = summary.get("best_params") or {}
        record["best_score"] = summary.get("best_score")
    return json_safe(record)


def wanted_statuses(given: Sequence[str]) -> set[str]:
    """The statuses of ``--status`` (repeatable, comma-separated; ``done`` means completed)."""
    words = {word: status for status, word in STATUS_WORDS.items()}
    out = set()
    for item in given:
        for part in item.split(","):
            part = part.strip().lower()
            if part:
                out.add(words.get(part, part))
    return out


def select(runs: Sequence[Any], statuses: set[str], limit: int | None) -> list[Any]:
    """The runs with one of ``statuses`` (all when empty), the ``limit`` newest."""
    chosen = [run for run in runs if not statuses or run.status in statuses]
    return chosen[:limit] if limit else chosen


def list_command(args: argparse.Namespace) -> int:
    """``nnexplorer runs [--json] [--limit N] [--status STATUS]... [--runs DIR]``."""
    from nnexplorer.cli.console import make_console
    from nnexplorer.core.runs import list_runs, runs_root

    root = runs_root(args.runs)
    found = list_runs(root) if root.is_dir() else []
    runs = select(found, wanted_statuses(args.statuses), args.limit)
    if args.json:
        sys.stdout.write(json.dumps([run_record(r) for r in runs], indent=2) + "\n")
        return EXIT_OK
    console = make_console()
    if not runs:
        what = "no runs" if not found else "no runs with that status"
        missing = "" if root.is_dir() else " (the folder does not exist)"
        console.print(f"{what} in {root}{missing}")
        return EXIT_OK
    table, needed = runs_table(runs, console.width)
    shown = f"{len(runs)} of {len(found)} runs" if len(runs) < len(found) else f"{len(runs)} runs"
    console.print(Text(f"{shown} in {root}", style="dim"), soft_wrap=True)
    console.width = max(console.width, needed)  # ids stay whole even when wider than that
    console.print(table, crop=False)
    for run in runs:  # why a run is damaged: under the table, so that rows stay one line
        if getattr(run, "problem", ""):
            console.print(Text(f"{run.run_id}  damaged: {run.problem}"), soft_wrap=True)
    for line in resume_hints(runs):
        console.print(Text(line), soft_wrap=True)
    return EXIT_OK
