"""``nnexplorer show RUN``: one run's record, from its directory alone.

Settings, test metrics, the confusion matrix and per-class table, misclassified images (image
data), the last layer statistics and the decision regions (2-feature data). Everything is sized
to the console width; in a pipe Rich prints plain text at its default width (or $COLUMNS).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from nnexplorer.cli.headless import EXIT_OK
from nnexplorer.cli.tables import status_text
from nnexplorer.core.errors import NnxError
from nnexplorer.core.formatting import fmt_duration, fmt_number, ordered_metrics
from nnexplorer.tui.inside_render import (
    boundary_picture,
    confusion_table,
    evaluation_line,
    image_tiles,
    layer_table,
    per_class_table,
)

LATEST = ("last", "latest")


def resolve_run(name: str, runs: str | None) -> Path:
    """A run folder from a path, a run id under the runs folder, a unique part of an id, or
    ``last`` (the newest run)."""
    from nnexplorer.core.runs import PRESET_FILE, list_runs, runs_root

    path = Path(name).expanduser()
    if (path / PRESET_FILE).is_file():
        return path
    root = runs_root(runs)
    if (root / name / PRESET_FILE).is_file():
        return root / name
    infos = list_runs(root) if root.is_dir() else []
    if name in LATEST and infos:
        return infos[0].run_dir
    matches = [info for info in infos if name in info.run_id]
    if len(matches) == 1:
        return matches[0].run_dir
    if len(matches) > 1:
        ids = ", ".join(info.run_id for info in matches[:5])
        raise NnxError(f"{name!r} matches {len(matches)} runs in {root}: {ids}", "give more of it")
    raise NnxError(
        f"no run {name!r} in {root}", "`nnexplorer runs` lists them; a run folder path works too"
    )


def cmd_show(args: argparse.Namespace) -> int:
    """Print the record of one run."""
    from nnexplorer.cli.console import make_console
    from nnexplorer.core.runs import load_run

    record = load_run(resolve_run(args.run, args.runs))
    console = make_console()
    for part in run_sections(record, console.width):
        console.print(part)
        console.print()
    return EXIT_OK


def run_sections(record: Any, width: int) -> list[RenderableType]:
    """What ``show`` prints for ``record`` (a ``core.runs.RunRecord``), section by section."""
    from nnexplorer.core.diagnostics import (
        Evaluation,
        read_boundary,
        read_layer_stats,
        read_misclassified,
    )

    summary = record.summary or {}
    parts: list[RenderableType] = [_header(record, summary), _settings(record.spec)]
    metrics = summary.get("test_metrics") or {}
    if metrics:
        parts.append(_metrics_table(metrics))
    evaluation = Evaluation.from_summary(summary)
    if evaluation is not None:
        parts.append(Group(evaluation_line(evaluation), confusion_table(evaluation, width)))
        parts.append(per_class_table(evaluation))
    missed = read_misclassified(record.run_dir)
    if missed is not None:
        tiles = image_tiles(missed, width)
        shown = sum(1 for row in missed["rows"] if "pixels" in row)
        if tiles is not None:
            title = f"Misclassified test images ({min(shown, 12)} of {missed['count']})"
            parts.append(Group(Text(title, style="bold"), tiles))
    stats = read_layer_stats(record.run_dir)
    if stats:
        parts.append(layer_table(stats[-1].layers, stats[-1].epoch, width))
    boundary = read_boundary(record.run_dir)
    if boundary is not None:
        heading = Text(f"Decision regions (epoch {boundary.epoch})", style="bold")
        parts.append(Group(heading, boundary_picture(boundary, width, 20)))
    return parts


def _header(record: Any, summary: dict[str, Any]) -> Text:
    status = str(summary.get("status") or "unfinished")
    text = Text(f"{record.spec.experiment.name}", style="bold")
    text.append(f"  {record.mode}  ")
    text.append_text(status_text(status))
    done, planned = summary.get("epochs_completed"), summary.get("epochs")
    if done is not None:
        text.append(f"  epochs {done}" + (f"/{planned}" if planned else ""))
    wall = summary.get("wall_seconds")
    if isinstance(wall, int | float):
        text.append(f"  {fmt_duration(wall)}")
    if summary.get("device"):
        text.append(f"  {summary['device']}")
    text.append(f"\n{record.run_dir}", style="dim")
    if summary.get("message"):
        text.append(f"\n{summary['message']}", style="yellow")
    return text


def _settings(spec: Any) -> Table:
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold", no_wrap=True)
    table.add_column()
    table.add_row("data", f"{spec.data.source} (scaling {spec.data.standardize})")
    layers = [layer.describe() for layer in spec.layers] or ["no hidden layer"]
    table.add_row("layers", "\n".join(str(layer) for layer in layers))
    c = spec.compile
    table.add_row("compile", f"{c.optimizer} learning_rate={c.learning_rate:g}, loss {c.loss}")
    fit = spec.fit
    early = " early stopping" if fit.early_stopping else ""
    table.add_row("fit", f"{fit.epochs} epochs, batch {fit.batch_size}{early}")
    return table


def _metrics_table(metrics: dict[str, Any]) -> Table:
    table = Table(title="Test metrics", title_justify="left", pad_edge=False)
    table.add_column("metric")
    table.add_column("value", justify="right")
    for name, value in ordered_metrics(metrics):
        table.add_row(name, fmt_number(value))
    return table
