"""Plain-text formatting shared by the command line and the explorer (no UI imports)."""

from __future__ import annotations

import math


def fmt_duration(seconds: float | None, *, pad_minutes: bool = False) -> str:
    """``1:02:03``, ``2:05`` or ``0:07`` (``00:07`` with ``pad_minutes``); ``--:--`` if unknown."""
    if seconds is None or not math.isfinite(seconds) or seconds < 0:
        return "--:--"
    hours, rest = divmod(round(seconds), 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}:{minutes:02d}:{secs:02d}"
    return f"{minutes:02d}:{secs:02d}" if pad_minutes else f"{minutes}:{secs:02d}"
