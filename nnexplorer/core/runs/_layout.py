"""Names in a runs folder: where runs live, how a run folder and its files are named."""

from __future__ import annotations

import os
import re
from pathlib import Path

EVENTS_FILE = "events.jsonl"
HISTORY_FILE = "history.csv"
SUMMARY_FILE = "summary.json"
PRESET_FILE = "preset.toml"
META_FILE = "run.json"
MODEL_FILE = "model.keras"
STDERR_FILE = "stderr.log"
GRID_FILE = "grid.csv"  # a grid's candidates, a sweep's variants: one row each
LAYER_STATS_FILE = "layer_stats.jsonl"  # one layer_stats event per line
BOUNDARY_FILE = "boundary.json"  # the last decision_boundary event
MISCLASSIFIED_FILE = "misclassified.json"  # misclassified test rows of a classifier
STOP_FILE = "stop.request"  # a stop (or kill) asked of a live run from any terminal
SLOTS_DIR = ".slots"  # in the runs folder: the slot locks and the queue of detached runs
_NAME_RE = re.compile(r"^(\d{8}-\d{6})-([a-z0-9-]*)-([0-9a-f]{4})$")
_GRID_KEYS = ("candidate", "fold")


def runs_root(explicit: str | Path | None = None) -> Path:
    """Where runs are kept: ``explicit`` (--runs), else ``$NNEXPLORER_RUNS``, else ``./runs``."""
    chosen = explicit or os.environ.get("NNEXPLORER_RUNS") or "runs"
    return Path(chosen).expanduser()


def slugify(name: str, max_length: int = 40) -> str:
    """``name`` reduced to ``[a-z0-9-]`` (never empty, never a path)."""
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    slug = slug[:max_length].strip("-")
    return slug or "run"


def run_suffix(run_id: str) -> str | None:
    """The random 4-hex end of a run folder's name (``1a2b``), None for another name."""
    match = _NAME_RE.match(run_id)
    return match.group(3) if match else None
