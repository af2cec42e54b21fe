"""Reading a run's diagnostics back from its directory (for past runs and ``nnexplorer show``).

Every reader returns what it can: a missing file gives an empty result, a damaged line or file
is skipped rather than failing the caller.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from nnexplorer.core.events import DecisionBoundary, LayerStats, from_dict
from nnexplorer.core.runs import (
    BOUNDARY_FILE,
    LAYER_STATS_FILE,
    MISCLASSIFIED_FILE,
    read_events,
)


def read_layer_stats(run_dir: str | Path) -> list[LayerStats]:
    """The ``layer_stats`` events of a run, in order (train runs: one per epoch)."""
    return [e for e in read_events(Path(run_dir) / LAYER_STATS_FILE) if isinstance(e, LayerStats)]


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def read_boundary(run_dir: str | Path) -> DecisionBoundary | None:
    """The last decision boundary a run recorded, or None."""
    data = _read_json(Path(run_dir) / BOUNDARY_FILE)
    if data is None:
        return None
    try:
        event = from_dict(data)
    except (ValueError, TypeError):
        return None
    return event if isinstance(event, DecisionBoundary) else None


def read_misclassified(run_dir: str | Path) -> dict[str, Any] | None:
    """The content of misclassified.json (see ``misclassified_record``), or None."""
    data = _read_json(Path(run_dir) / MISCLASSIFIED_FILE)
    if data is None or not isinstance(data.get("rows"), list):
        return None
    return data
