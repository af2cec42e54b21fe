"""Rich renderables of what a run saw inside the network: layer statistics, the confusion matrix
and per-class scores, misclassified images, decision regions.

Shared by the explorer's views and the command line (``nnexplorer show``, the live display of
``nnexplorer run``); plain Rich, no Textual. Every renderable reads without colour (NO_COLOR,
pipes): numbers, shades and marks carry the meaning, colour only helps.
"""

from __future__ import annotations

import math
from typing import Any

from rich import box
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from nnexplorer.core import pictures
from nnexplorer.core.diagnostics import Evaluation, gradient_ratio

CLASS_STYLES = ("cyan", "yellow", "green", "magenta", "blue", "red", "bright_cyan", "white")
REGION_BACKGROUNDS = (
    "#17324d",
    "#4d3317",
    "#1f4d24",
    "#43204d",
    "#1f2a4d",
    "#4d1f1f",
    "#1f434d",
    "#3d3d3d",
)
MATRIX_SHADES = " ░▒▓█"


def fmt_fraction(value: Any) -> str:
    """``12%``; ``-`` when the statistic does not apply to the layer."""
    if not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(value):
        return "-"
    return f"{100 * value:.0f}%" if value == 0 or value >= 0.005 else "<1%"


def fmt_small(value: Any) -> str:
    """A gradient or weight statistic: ``1.2e-04``, ``0.53``; ``-`` when missing."""
    if not isinstance(value, int | float) or isinstance(value, bool):
        return "-"
    if not math.isfinite(value):
        return "nan" if math.isnan(value) else "inf"
    if value == 0:
        return "0"
    return f"{value:.2e}" if abs(value) < 0.01 or abs(value) >= 1000 else f"{value:.3g}"


def max_norm_text(layer: dict[str, Any]) -> str:
    """``2.95/3*``: the largest unit norm against the max-norm limit (``*`` at the limit)."""
    norm, limit = layer.get("max_unit_norm"), layer.get("max_norm")
    text = fmt_small(norm)
    if isinstance(limit, int | float) and isinstance(norm, int | float):
        text += f"/{limit:g}" + ("*" if norm >= 0.995 * limit else "")
    return text


def ratio_text(layers: list[dict[str, Any]]) -> str:
    """``first/last gradient 3.3e-04 (vanishing)``, or empty with fewer than two layers."""
    ratio = gradient_ratio(layers)
    if ratio is None:
        return ""
    verdict = " (vanishing)" if ratio < 1e-2 else (" (exploding)" if ratio > 100 else "")
    return f"first/last gradient norm {fmt_small(ratio)}{verdict}"


# columns of the layer table, least important last; narrow consoles leave those out first
LAYER_COLUMNS = ("grad", "dead", "sat", "max|w|", "small", "mean|w|", "|W|")
_COLUMN_WIDTHS = {"grad": 10, "dead": 6, "sat": 5, "max|w|": 9, "small": 7, "mean|w|": 9, "|W|": 6}


def _layer_cell(column: str, layer: dict[str, Any]) -> str:
    if column == "grad":
        return fmt_small(layer.get("grad_norm"))
    if column == "max|w|":
        return max_norm_text(layer)
    key = {
        "dead": "dead_fraction",
        "sat": "saturated_fraction",
        "small": "small_weight_fraction",
        "mean|w|": "mean_abs_weight",
        "|W|": "weight_norm",
    }[column]
    value = layer.get(key)
    return fmt_fraction(value) if key.endswith("fraction") else fmt_small(value)


def layer_columns(width: int | None) -> list[str]:
    """The statistics that fit in ``width`` columns next to the layer names, in table order."""
    if width is None:
        return list(LAYER_COLUMNS)
    room = width - 25  # name, units and activation
    chosen = []
    for column in LAYER_COLUMNS:
        if room >= _COLUMN_WIDTHS[column]:
            chosen.append(column)
            room -= _COLUMN_WIDTHS[column]
    order = ("grad", "|W|", "mean|w|", "dead", "sat", "small", "max|w|")
    return [c for c in order if c in chosen]


def gradient_line(layers: list[dict[str, Any]]) -> Text:
    """``grad hidden_1 1.2e-03 · hidden_2 4.0e-03 · output 0.02`` for the live display."""
    text = Text("grad ", style="dim")
    parts = [f"{layer.get('name', '?')} {fmt_small(layer.get('grad_norm'))}" for layer in layers]
    text.append(" · ".join(parts))
    dead = [layer.get("dead_fraction") for layer in layers]
    if any(isinstance(d, int | float) and d > 0 for d in dead):
        worst = max(d for d in dead if isinstance(d, int | float))
        text.append(f"   dead units up to {fmt_fraction(worst)}", style="yellow")
    return text


def layer_table(
    layers: list[dict[str, Any]], epoch: int | None = None, width: int | None = None
) -> Table:
    """One row per Dense layer: gradient and weight norms, dead / saturated / small weights.

    With ``width`` the least important columns are left out until the table fits.
    """
    title = "Layer statistics" + (f" (epoch {epoch})" if epoch is not None else "")
    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False)
    table.add_column("layer", no_wrap=True, max_width=12)
    table.add_column("units act", no_wrap=True)
    columns = layer_columns(width)
    for name in columns:
        table.add_column(name, justify="right", no_wrap=True)
    for layer in layers:
        table.add_row(
            str(layer.get("name", "?")),
            f"{layer.get('units', '')} {layer.get('activation', '')}",
            *[_layer_cell(column, layer) for column in columns],
        )
    caption = [ratio_text(layers), "grad: data-loss gradient norm on the probe batch"]
    if "max|w|" in columns and any(isinstance(la.get("max_norm"), int | float) for la in layers):
        caption.append("* at the max-norm limit")
    table.caption = "; ".join(c for c in caption if c)
    table.caption_justify = "left"
    return table


def confusion_table(evaluation: Evaluation, width: int | None = None) -> Table:
    """Rows the true class, columns the predicted one; a shade shows each cell's share of its row.

    When the shaded table is wider than ``width``, the counts alone are shown, closer together.
    """
    n = len(evaluation.classes)
    digits = max([len(str(v)) for row in evaluation.matrix for v in row] + [1])
    label = min(8, max([len(c) for c in evaluation.classes] + [5]))
    compact = width is not None and label + 2 + n * (digits + 3) > width
    table = Table(
        title="Confusion matrix",
        title_justify="left",
        box=None if compact else box.SIMPLE_HEAD,
        pad_edge=False,
        padding=(0, 1, 0, 0) if compact else (0, 1),
    )
    table.add_column("true" if compact else "true\\pred", no_wrap=True, style="bold")
    for name in evaluation.classes:
        table.add_column(_short(name, digits if compact else 8), justify="right", no_wrap=True)
    for i, row in enumerate(evaluation.matrix):
        total = sum(row) or 1
        cells: list[Text | str] = [_short(evaluation.classes[i])]
        for j, count in enumerate(row):
            cells.append(_matrix_cell(count, count / total, diagonal=i == j, shade=not compact))
        table.add_row(*cells)
    return table


def evaluation_line(evaluation: Evaluation) -> Text:
    """``Test split: 338/360 right (93.9%), 22 wrong`` and how to read the matrix."""
    share = evaluation.correct / evaluation.total if evaluation.total else 0.0
    wrong = evaluation.total - evaluation.correct
    text = Text("Test split: ", style="bold")
    text.append(f"{evaluation.correct}/{evaluation.total} right ({share:.1%}), {wrong} wrong")
    text.append(
        "\nconfusion matrix: rows the true class, columns the predicted one; "
        "the shade is the cell's share of its row",
        style="dim",
    )
    return text


def _short(name: str, width: int = 8) -> str:
    return name if len(name) <= width else name[: width - 1] + "…"


def _matrix_cell(count: int, share: float, *, diagonal: bool, shade: bool = True) -> Text:
    if count == 0:
        return Text(".", style="dim")
    glyph = MATRIX_SHADES[max(1, round(share * (len(MATRIX_SHADES) - 1)))] if shade else ""
    style = "bold green" if diagonal else "bold red"
    return Text(f"{glyph}{count}", style=style)


def per_class_table(evaluation: Evaluation) -> Table:
    """Precision, recall, F1 and support of every class."""
    table = Table(title="Per class", title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False)
    table.add_column("class", no_wrap=True)
    for name in ("precision", "recall", "F1", "support"):
        table.add_column(name, justify="right")
    for row in evaluation.per_class:
        table.add_row(
            str(row.get("class", "")),
            _score(row.get("precision")),
            _score(row.get("recall")),
            _score(row.get("f1")),
            str(row.get("support", "")),
        )
    return table


def _score(value: Any) -> str:
    return f"{value:.3f}" if isinstance(value, int | float) else "-"


def tiles_per_line(record: dict[str, Any], width: int) -> int:
    """How many images of ``record`` fit side by side in ``width`` columns."""
    shape = record.get("image_shape") or [1, 1]
    tile_width, _ = pictures.image_size(shape)
    return max(1, (width + 2) // (tile_width + 2))


def image_tiles(
    record: dict[str, Any], width: int, limit: int = 12, start: int = 0
) -> RenderableType | None:
    """Misclassified images side by side, each captioned ``3 -> 8`` (true -> predicted):
    ``limit`` of them from the ``start``-th on; None when the record has no images."""
    shape, value_range = record.get("image_shape"), record.get("value_range")
    rows = [r for r in record.get("rows", []) if "pixels" in r][start : start + limit]
    if not shape or not value_range or not rows:
        return None
    classes = record.get("classes") or []
    items = [
        (
            row["pixels"],
            f"{_name(classes, row['true'])} -> {_name(classes, row['predicted'])}",
            f"#{row['index']}",
        )
        for row in rows
    ]
    return tiles(items, shape, value_range, width)


def tiles(
    items: list[tuple[Any, str, str]], shape: Any, value_range: Any, width: int
) -> RenderableType:
    """Images side by side in ``width`` columns, each with a caption and a dim note below."""
    tile_width, _ = pictures.image_size(shape)
    per_line = max(1, (width + 2) // (tile_width + 2))
    grid = Table.grid(padding=(0, 2))
    for _ in range(min(per_line, len(items))):
        grid.add_column(width=tile_width, no_wrap=True)
    for start in range(0, len(items), per_line):
        cells = []
        for pixels, caption, note in items[start : start + per_line]:
            tile = Text("\n".join(pictures.image_lines(pixels, shape, value_range)))
            tile.append(f"\n{caption[:tile_width]}", style="bold")
            if note:
                tile.append(f"\n{note[:tile_width]}", style="dim")
            cells.append(tile)
        grid.add_row(*cells)
    return grid


def _name(classes: list[str], index: int) -> str:
    return str(classes[index]) if 0 <= index < len(classes) else str(index)


def boundary_picture(event: Any, width: int, height: int, *, points: bool = True) -> RenderableType:
    """Decision regions (``height`` lines) with the training points (unless ``points`` is
    False), axes in feature units and a legend; three more lines than ``height``."""
    plot_width = max(8, width - 10)
    shown = event.points if points else []
    cells = pictures.boundary_cells(
        event.grid, event.x_range, event.y_range, shown, plot_width, max(4, height)
    )
    y_low, y_high = event.y_range
    text = Text()
    for r, line in enumerate(cells):
        label = f"{y_high:.3g}" if r == 0 else (f"{y_low:.3g}" if r == len(cells) - 1 else "")
        text.append(f"{label:>8} |")
        for cell in line:
            fg = CLASS_STYLES[cell.cls % len(CLASS_STYLES)]
            bg = REGION_BACKGROUNDS[cell.region % len(REGION_BACKGROUNDS)]
            text.append(cell.char, style=f"bold {fg} on {bg}" if cell.point else f"{fg} on {bg}")
        text.append("\n")
    x_low, x_high = event.x_range
    features = [*event.features, "x", "y"]
    axis = f"{x_low:.3g}".ljust(plot_width - 6) + f"{x_high:.3g}".rjust(6)
    text.append(" " * 10 + axis + "\n")
    text.append(" " * 10 + f"x: {features[0]}   y: {features[1]}", style="dim")
    return Group(text, boundary_legend(event.classes))


def boundary_legend(classes: list[str]) -> Text:
    """``o 0 (region ' ')  x 1 (region '·')``: each class's point mark and region fill."""
    legend = Text()
    for index, name in enumerate(classes):
        style = CLASS_STYLES[index % len(CLASS_STYLES)]
        legend.append(pictures.point_char(index), style=f"bold {style}")
        legend.append(f" {name} (region '{pictures.region_char(index)}')  ")
    return legend
