"""The Rich tables of the command line: candidates, presets, runs (words from core.formatting)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rich.table import Table
from rich.text import Text

from nnexplorer.core.formatting import (
    Tone,
    fmt_duration,
    fmt_mean_std,
    fmt_number,
    metrics_text,
    params_text,
    status_tone,
    status_word,
)
from nnexplorer.core.progress import RunProgress

TONE_STYLE: dict[Tone, str] = {
    "good": "bold green",
    "warning": "bold yellow",
    "error": "bold red",
    "busy": "bold cyan",
    "quiet": "dim",
}


def status_text(status: str, reason: str = "") -> Text:
    """A status as its word, coloured by how it reads (``done`` green, ``failed`` red, ...)."""
    word = status_word(status) + (f": {reason}" if reason else "")
    return Text(word, style=TONE_STYLE[status_tone(status)])


def candidates_table(progress: RunProgress) -> Table:
    """A grid's candidates ranked by mean score (best first; those without a score last)."""
    ranked = progress.ranked()
    unscored = [progress.candidates[i] for i in sorted(progress.candidates)]
    table = Table(title="Candidates", title_justify="left")
    for name, justify in (("rank", "right"), ("params", "left"), ("mean ± std", "right")):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    table.add_column("fit time", justify="right")
    table.add_column("status")
    for rank, cand in enumerate(ranked + [c for c in unscored if c.mean is None], start=1):
        table.add_row(
            str(rank) if cand.mean is not None else "-",
            params_text(cand.params),
            fmt_mean_std(cand.mean, cand.std),
            f"{cand.fit_time:.1f} s" if cand.fit_time is not None else "-",
            status_text(cand.status),
        )
    return table


def presets_table(presets: Sequence[Any]) -> Table:
    """Bundled presets: name, description, path."""
    table = Table(title="Bundled presets", title_justify="left")
    table.add_column("name", style="bold", no_wrap=True)
    table.add_column("description")
    table.add_column("path", style="dim", overflow="fold")
    for preset in presets:
        table.add_row(preset.name, preset.description, str(preset.path))
    return table


def runs_table(runs: Sequence[Any], root: Path | None = None) -> Table:
    """Past runs (``core.runs.RunInfo``): id, name, mode, status, epochs, test metrics, time."""
    table = Table(title=f"Runs in {root}" if root else "Runs", title_justify="left")
    table.add_column("id", no_wrap=True)
    table.add_column("name")
    table.add_column("mode")
    table.add_column("status")
    table.add_column("epochs", justify="right")
    table.add_column("test metrics")
    table.add_column("time", justify="right")
    for run in runs:
        summary = run.summary or {}
        metrics = summary.get("test_metrics") or {}
        shown = metrics_text(metrics)
        if run.mode == "grid" and summary.get("best_score") is not None:
            shown = f"best {fmt_number(summary['best_score'])}" + (f"  {shown}" if shown else "")
        wall = summary.get("wall_seconds")
        started = run.started.strftime("%Y-%m-%d %H:%M") if run.started else ""
        when = f"{started} ({fmt_duration(wall)})" if isinstance(wall, int | float) else started
        epochs = summary.get("epochs_completed")
        status = status_text(run.status)
        if run.progress:  # a live run: "running epoch 3/10"
            status.append(f" {run.progress}")
        table.add_row(
            run.run_id,
            run.name,
            run.mode,
            status,
            "" if epochs is None else fmt_number(epochs),
            shown,
            when,
        )
    return table
