"""The y axis of a line chart: evenly spaced round ticks with short labels.

plotext spaces its own y ticks by the plot's rows, so a short chart (the past-runs preview has
a few rows) gets uneven values such as 0.83, 0.67, 0.33, and a loss that explodes to 10^6 gets
labels so wide that they squeeze the plot. :func:`y_ticks` picks round steps (1, 2, 2.5 or 5
times a power of ten) that fit the rows, and labels them as briefly as they allow (``0.05``,
``250``, ``1e6``, ``2.5e5``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

STEPS = (1.0, 2.0, 2.5, 5.0, 10.0)
LONG = 1e4  # from this size on, values are written in short scientific form (1e4, 2.5e5)


def nice_step(span: float, intervals: int) -> float:
    """The smallest round step (1, 2, 2.5, 5 x 10^k) that covers ``span`` in ``intervals``."""
    raw = span / max(1, intervals)
    if raw <= 0 or not math.isfinite(raw):
        return 1.0
    power = 10 ** math.floor(math.log10(raw))
    return next(m * power for m in STEPS if m * power >= raw * (1 - 1e-9))


def tick_label(value: float, step: float, scientific: bool = False) -> str:
    """``value`` as briefly as a tick ``step`` allows (``scientific``: ``2.5e5``)."""
    if value == 0:
        return "0"
    if scientific:
        mantissa, exponent = f"{value:.3e}".split("e")
        mantissa = mantissa.rstrip("0").rstrip(".")
        return f"{mantissa}e{int(exponent)}"
    decimals = max(0, -math.floor(math.log10(step) + 1e-9))
    if round(step * 10**decimals, 6) % 1:  # 2.5 x 10^k needs one more
        decimals += 1
    return f"{value:.{decimals}f}"


def y_ticks(values: Sequence[float], rows: int) -> tuple[list[float], list[str]]:
    """Evenly spaced ticks (and their labels) spanning ``values`` on a plot ``rows`` high.

    The first and last ticks are the axis' limits: set them as the plot's y range so that the
    ticks fall on rows.
    """
    finite = [v for v in values if math.isfinite(v)]
    low, high = (min(finite), max(finite)) if finite else (0.0, 1.0)
    if high == low:
        pad = abs(high) * 0.1 or 0.5
        low, high = low - pad, high + pad
    intervals = max(1, min(5, rows // 2))
    step = nice_step(high - low, intervals)
    while True:
        start = math.floor(low / step + 1e-9) * step
        count = math.ceil(high / step - 1e-9) - math.floor(low / step + 1e-9)
        if count <= intervals:
            break
        step = nice_step(step * 1.01, 1)  # the next round step up
    ticks = [start + i * step for i in range(count + 1)]
    ticks = [0.0 if abs(t) < step * 1e-9 else t for t in ticks]
    scientific = max(abs(t) for t in ticks) >= LONG  # all alike: 0, 5e3, 1e4 ...
    return ticks, [tick_label(t, step, scientific) for t in ticks]
