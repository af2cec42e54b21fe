"""``nnexplorer compare RUN...``: the comparison table fitted to the terminal, curves, JSON.

The table (from :class:`nnexplorer.core.compare.Comparison`) takes the terminal's width, 80
columns included: full column titles when they fit, else short ones; settings that would not
fit as columns move to a block of their own, one line per run, that wraps; cells wrap rather
than being cut. ``--plot`` draws the metric's curves with plotext, each run in its own colour
and marker (so it reads without colour, NO_COLOR); ``--json`` prints the comparison as JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from rich import box
from rich.console import Console, Group, RenderableType
from rich.table import Table
from rich.text import Text

from nnexplorer.cli.headless import EXIT_OK
from nnexplorer.cli.tables import status_text
from nnexplorer.core.compare import Comparison, load_entries
from nnexplorer.core.formatting import epoch_ticks, fmt_param, status_word

MARKERS = ("•", "x", "+", "o", "*", "#", "%", "@", "=", "~")
COLORS = ("cyan", "orange", "green", "magenta", "blue", "red", "yellow", "gray")
CELL_PAD = 2  # a column's padding and separator in a SIMPLE_HEAD table


def comparison_table(comparison: Comparison, width: int) -> RenderableType:
    """The table, and the settings block when the settings do not fit as columns."""
    columns = comparison.columns()
    rows = comparison.rows()
    kept, short = comparison.layout(width, CELL_PAD)
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False, expand=False)
    for i in kept:
        column = columns[i]
        table.add_column(
            column.short if short else column.title,
            justify="right" if column.numeric else "left",
            overflow="fold",
            no_wrap=False,
        )
    for entry, row in zip(comparison.entries, rows, strict=True):
        cells: list[Text | str] = []
        for i in kept:
            if columns[i].key == "status":
                cells.append(status_text(entry.status))
            else:
                cells.append(row[i])
        table.add_row(*cells)
    parts: list[RenderableType] = [table]
    left_out = [n for n in comparison.settings if all(columns[i].key != n for i in kept)]
    if left_out:
        parts.append(Text("settings that differ (a run without the key leaves it out):"))
        for entry in comparison.entries:
            line = Text(f"{entry.label}: ", style="bold")
            values = [(n, entry.settings.get(comparison.settings[n])) for n in left_out]
            line.append("  ".join(f"{n}={_value(v)}" for n, v in values if v is not None))
            parts.append(line)
    elif not comparison.settings:
        parts.append(Text("no setting differs between these runs", style="dim"))
    return Group(*parts)


def _value(value: object) -> str:
    if isinstance(value, tuple):
        return ",".join(fmt_param(v) for v in value)
    return fmt_param(value)


def legend(comparison: Comparison) -> RenderableType:
    """Which run each label is: ``1a2b  20250101-...-1a2b  digits-mlp  train  done``."""
    table = Table.grid(padding=(0, 2))
    for _ in range(3):
        table.add_column(overflow="fold")
    seen: dict[str, None] = {}
    for entry in comparison.entries:
        if entry.run_id in seen:
            continue
        seen[entry.run_id] = None
        label = entry.label.split("#", 1)[0]
        what = f"{entry.name}, {entry.kind if entry.kind == 'train' else entry.kind + 's'}"
        table.add_row(label, entry.run_id, what)
    return Group(Text("runs:", style="bold"), table)


def notes(comparison: Comparison) -> list[Text]:
    """One line per entry that did not complete, with its reason."""
    out = []
    for entry in comparison.entries:
        if entry.status != "completed" and entry.reason:
            reason = entry.reason.strip().splitlines()[0]
            out.append(Text(f"{entry.label} {status_word(entry.status)}: {reason}", style="yellow"))
    return out


def plot(comparison: Comparison, width: int, height: int, color: bool = True) -> str:
    """The plotted metric's curves overlaid, as text (plotext)."""
    import plotext as plt

    curves = comparison.curves()
    plt.clear_figure()
    plt.plotsize(width, height)
    if not curves:
        return f"no {comparison.plotted} values to plot\n"
    for index, curve in enumerate(curves):
        marker = MARKERS[index % len(MARKERS)]
        plt.plot(
            curve.xs,
            curve.ys,
            marker=marker,
            color=COLORS[index % len(COLORS)],
            label=f"{marker} {curve.label}",
        )
    plt.title(f"{comparison.plotted} by epoch")
    plt.xlabel("epoch")
    ticks = epoch_ticks(max(curve.xs[-1] for curve in curves))
    plt.xticks([float(t) for t in ticks], [str(t) for t in ticks])
    text: str = plt.build()
    return (text if color else plt.uncolorize(text)) + "\n"


def compare_command(args: argparse.Namespace) -> int:
    """``nnexplorer compare RUN... [--plot] [--metric NAME] [--json]``."""
    from nnexplorer.cli.console import make_console

    entries = load_entries(list(args.runs_given), args.runs)
    comparison = Comparison.of(entries, args.metric)
    if args.json:
        sys.stdout.write(json.dumps(comparison.to_json(), indent=2) + "\n")
        return EXIT_OK
    console = make_console()
    render(comparison, console)
    if args.plot:
        color = console.color_system is not None and "NO_COLOR" not in os.environ
        height = max(12, min(30, console.height - 4))
        console.file.write(plot(comparison, console.width, height, color=color))
        console.file.flush()
    return EXIT_OK


def render(comparison: Comparison, console: Console) -> None:
    """Print the table, the notes and the legend on ``console``."""
    console.print(comparison_table(comparison, console.width))
    for line in notes(comparison):
        console.print(line)
    console.print(legend(comparison))
