"""Pictures as terminal text: small images and decision regions, for the explorer and the CLI.

Plain Python that returns characters; the explorer and the command line add colour on top. Every
picture reads without colour too (NO_COLOR): image intensity is a block shade, each class has its
own region character and its own point mark.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

SHADES = " ░▒▓█"  # five intensity levels, one block character each
HALF_BLOCKS = {(False, False): " ", (True, False): "▀", (False, True): "▄", (True, True): "█"}
BLOCK_MAX_WIDTH = 16  # images up to this width are drawn two characters per pixel
REGION_CHARS = (" ", "·", ":", "-", "'", "=", "~", ",", ";", "_")
POINT_CHARS = ("o", "x", "+", "*", "#", "@", "%", "&", "$", "^")


def _level(value: float, low: float, high: float) -> float:
    if not math.isfinite(value):
        return 0.0
    if high <= low:
        return 1.0 if value > low else 0.0
    return min(1.0, max(0.0, (value - low) / (high - low)))


def _rows(pixels: Sequence[float], shape: Sequence[int]) -> list[list[float]]:
    height, width = int(shape[0]), int(shape[1])
    if len(pixels) != height * width:
        raise ValueError(f"{len(pixels)} pixels do not make a {height}x{width} image")
    return [list(pixels[r * width : (r + 1) * width]) for r in range(height)]


def block_image(
    pixels: Sequence[float], shape: Sequence[int], value_range: Sequence[float]
) -> list[str]:
    """One line per pixel row, two shade characters per pixel (8x8 digits: 16 x 8)."""
    low, high = float(value_range[0]), float(value_range[1])
    lines = []
    for row in _rows(pixels, shape):
        chars = []
        for value in row:
            shade = SHADES[round(_level(value, low, high) * (len(SHADES) - 1))]
            chars.append(shade * 2)
        lines.append("".join(chars))
    return lines


def half_block_image(
    pixels: Sequence[float],
    shape: Sequence[int],
    value_range: Sequence[float],
    threshold: float = 0.4,
) -> list[str]:
    """Two pixel rows per line in half blocks (28x28 MNIST: 28 x 14); ink above ``threshold``."""
    low, high = float(value_range[0]), float(value_range[1])
    rows = _rows(pixels, shape)
    if len(rows) % 2:
        rows.append([low] * len(rows[0]))
    lines = []
    for top, bottom in zip(rows[::2], rows[1::2], strict=True):
        lines.append(
            "".join(
                HALF_BLOCKS[(_level(a, low, high) > threshold, _level(b, low, high) > threshold)]
                for a, b in zip(top, bottom, strict=True)
            )
        )
    return lines


def image_lines(
    pixels: Sequence[float], shape: Sequence[int], value_range: Sequence[float]
) -> list[str]:
    """Small images in block shades, larger ones in half blocks."""
    if int(shape[1]) <= BLOCK_MAX_WIDTH:
        return block_image(pixels, shape, value_range)
    return half_block_image(pixels, shape, value_range)


def image_size(shape: Sequence[int]) -> tuple[int, int]:
    """Width and height in characters of :func:`image_lines` for an image of ``shape``."""
    height, width = int(shape[0]), int(shape[1])
    if width <= BLOCK_MAX_WIDTH:
        return 2 * width, height
    return width, (height + 1) // 2


# --------------------------------------------------------------------------- decision regions


def region_char(cls: int) -> str:
    """The fill character of class ``cls``'s region."""
    return REGION_CHARS[cls % len(REGION_CHARS)]


def point_char(cls: int) -> str:
    """The mark of a training point of class ``cls``."""
    return POINT_CHARS[cls % len(POINT_CHARS)]


@dataclass(frozen=True)
class Cell:
    """One character of a decision-region picture: the class it shows (a point's own class
    where a point is), whether it is a point, and the class of the region under it."""

    char: str
    cls: int
    point: bool = False
    region: int = 0


def _index(value: float, low: float, high: float, n: int) -> int:
    if high <= low:
        return 0
    return min(n - 1, max(0, math.floor((value - low) / (high - low) * n)))


def boundary_cells(
    grid: Sequence[Sequence[int]],
    x_range: Sequence[float],
    y_range: Sequence[float],
    points: Sequence[Sequence[float]],
    width: int,
    height: int,
) -> list[list[Cell]]:
    """The regions of ``grid`` (row 0 at the bottom) resampled to ``width`` x ``height``
    characters (row 0 at the top), with ``points`` ([x, y, class]) marked on them.

    Where several points share a character, one whose class differs from the region wins, so
    that misclassified training points stay visible.
    """
    if not grid or not grid[0] or width < 1 or height < 1:
        return []
    rows, cols = len(grid), len(grid[0])
    cells = []
    for r in range(height):
        source_row = grid[min(rows - 1, (height - 1 - r) * rows // height)]
        line = []
        for c in range(width):
            cls = int(source_row[min(cols - 1, c * cols // width)])
            line.append(Cell(region_char(cls), cls, region=cls))
        cells.append(line)
    x_low, x_high = float(x_range[0]), float(x_range[1])
    y_low, y_high = float(y_range[0]), float(y_range[1])
    for x, y, label in points:
        cls = int(label)
        col = _index(float(x), x_low, x_high, width)
        row = height - 1 - _index(float(y), y_low, y_high, height)
        here = cells[row][col]
        if here.point and here.cls != here.region and cls == here.region:
            continue  # keep the misclassified point already drawn here
        cells[row][col] = Cell(point_char(cls), cls, point=True, region=here.region)
    return cells


def boundary_text(cells: list[list[Cell]]) -> list[str]:
    """The characters of :func:`boundary_cells`, one string per line."""
    return ["".join(cell.char for cell in line) for line in cells]


# --------------------------------------------------------------------------- histograms

BAR_EIGHTHS = " ▁▂▃▄▅▆▇█"


def bar_lines(counts: Sequence[int], height: int, bar_width: int = 1) -> list[str]:
    """Vertical bars, one per count, ``height`` lines tall (top line first), in eighth blocks.

    The tallest bar fills the height; any non-zero count shows at least an eighth.
    """
    if height < 1 or not counts:
        return []
    top = max(counts) or 1
    levels = []
    for count in counts:
        eighths = round(count / top * height * 8)
        levels.append(max(eighths, 1) if count > 0 else 0)
    lines = []
    for row in range(height - 1, -1, -1):  # from the top line down
        chars = []
        for eighths in levels:
            fill = min(8, max(0, eighths - 8 * row))
            chars.append(BAR_EIGHTHS[fill] * bar_width)
        lines.append("".join(chars))
    return lines
