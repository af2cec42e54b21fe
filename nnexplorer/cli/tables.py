"""The command line's Rich tables: candidates, variants, presets (words from core.formatting)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.table import Table
from rich.text import Text

from nnexplorer.core.formatting import (
    Tone,
    abbrev,
    fmt_mean_std,
    fmt_number,
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
            status_text(cand.status, cand.reason),
        )
    return table


def variants_table(progress: RunProgress) -> Table:
    """A sweep's variants in order: params, train/val/test of the main metric, best epoch."""
    metric = progress.metric() or "loss"
    short = abbrev(metric)
    table = Table(title="Variants", title_justify="left")
    table.add_column("#", justify="right", no_wrap=True)
    table.add_column("params", overflow="fold")
    for title in (f"train {short}", f"val {short}", f"test {short}", "best epoch", "time"):
        table.add_column(title, justify="right")
    table.add_column("status")
    best = progress.ranked()[0].index if progress.ranked() else None
    for index in sorted(progress.candidates):
        cand = progress.candidates[index]
        final = cand.final_metrics or (cand.history[-1] if cand.history else {})
        seconds = cand.fit_time
        table.add_row(
            f"{index + 1}" + (" *" if index == best else ""),
            params_text(cand.params),
            fmt_number(final.get(metric)),
            fmt_number(final.get(f"val_{metric}")),
            fmt_number(cand.test_metrics.get(metric)),
            "-" if cand.best_epoch is None else str(cand.best_epoch),
            f"{seconds:.1f} s" if seconds else "-",
            status_text(cand.status),
        )
    return table


def presets_table(presets: Sequence[Any]) -> Table:
    """Bundled presets: name, what --grid (F6) runs, description; their folder below."""
    table = Table(title="Bundled presets", title_justify="left")
    table.add_column("name", style="bold", no_wrap=True)
    table.add_column("search", no_wrap=True)
    table.add_column("description")
    folders = {str(preset.path.parent) for preset in presets}
    for preset in presets:
        table.add_row(preset.name, preset.search or "-", preset.description)
    if len(folders) == 1:
        table.caption = f"in {folders.pop()}; `nnexplorer lessons` explains the lessons"
        table.caption_justify = "left"
    return table
