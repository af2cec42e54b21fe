"""Formatting helpers and the Rich tables of the command line: candidates, presets, runs."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from rich.table import Table
from rich.text import Text

from nnexplorer.core.events import CandidateFinished
from nnexplorer.core.formatting import fmt_duration

STATUS_STYLE = {
    "completed": "bold green",
    "diverged": "bold red",
    "failed": "bold red",
    "cancelled": "bold yellow",
    "unfinished": "dim",
}


# --------------------------------------------------------------------------- formatting


def fmt_number(value: Any) -> str:
    """A metric value in 4 significant digits (``nan``/``inf`` kept readable)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    if isinstance(value, float) and not math.isfinite(value):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def ordered_metrics(metrics: dict[str, Any]) -> list[tuple[str, Any]]:
    """Metrics with loss first and each ``val_`` metric right after its training twin."""
    names = [k for k in metrics if not k.startswith("val_")]
    names.sort(key=lambda k: (k != "loss", list(metrics).index(k)))
    out: list[tuple[str, Any]] = []
    for name in names:
        out.append((name, metrics[name]))
        if f"val_{name}" in metrics:
            out.append((f"val_{name}", metrics[f"val_{name}"]))
    out.extend((k, v) for k, v in metrics.items() if k.startswith("val_") and k[4:] not in names)
    return out


def metrics_text(metrics: dict[str, Any]) -> str:
    """``loss 0.1234  val_loss 0.2345  accuracy 0.97 ...``."""
    return "  ".join(f"{k} {fmt_number(v)}" for k, v in ordered_metrics(metrics))


def params_text(params: dict[str, Any]) -> str:
    """``layers.0.units=64, hidden.activation=relu``."""
    return ", ".join(f"{k}={fmt_number(v)}" for k, v in params.items())


# --------------------------------------------------------------------------- tables


def candidates_table(candidates: Iterable[CandidateFinished]) -> Table:
    """Grid candidates ranked by mean score (best first; failed ones last)."""
    ranked = sorted(
        candidates,
        key=lambda c: (c.score is None or not math.isfinite(c.score), -(c.score or 0.0)),
    )
    table = Table(title="Candidates", title_justify="left")
    for name, justify in (("rank", "right"), ("params", "left"), ("mean ± std", "right")):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    table.add_column("fit time", justify="right")
    table.add_column("status")
    for rank, cand in enumerate(ranked, start=1):
        score = "-" if cand.score is None else fmt_number(cand.score)
        if cand.score is not None and cand.std_score is not None:
            score += f" ± {fmt_number(cand.std_score)}"
        status = Text(cand.status, style=STATUS_STYLE.get(cand.status, ""))
        table.add_row(
            str(rank) if cand.score is not None else "-",
            params_text(cand.params),
            score,
            f"{cand.seconds:.1f} s",
            status,
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
        table.add_row(
            run.run_id,
            run.name,
            run.mode,
            Text(run.status, style=STATUS_STYLE.get(run.status, "")),
            fmt_number(summary.get("epochs_completed", "")),
            shown,
            when,
        )
    return table
