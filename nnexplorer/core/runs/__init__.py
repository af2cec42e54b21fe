"""Run directories: create them, record a run as it happens, list and load past runs.

A run directory is named ``YYYYmmdd-HHMMSS-<slug>-<4 hex>`` and holds ``preset.toml`` (the
resolved spec), ``run.json`` (mode and start time), ``events.jsonl`` (every event, flushed as it
happens), ``history.csv`` (one row per epoch), ``summary.json`` (written atomically at the end)
and, once trained, ``model.keras``. Every file is appended line by line and flushed, so a run
that is killed leaves readable records up to its last finished epoch.

Inside: :mod:`._layout` (names), :mod:`._records` (writing and reading one run's files),
:mod:`._listing` (the list of runs, a run read back whole).
"""

from nnexplorer.core.runs._layout import (
    EVENTS_FILE,
    GRID_FILE,
    HISTORY_FILE,
    META_FILE,
    MODEL_FILE,
    PRESET_FILE,
    STDERR_FILE,
    SUMMARY_FILE,
    run_suffix,
    runs_root,
    slugify,
)
from nnexplorer.core.runs._listing import RunInfo, RunRecord, list_runs, load_run
from nnexplorer.core.runs._records import (
    RunRecorder,
    create_run_dir,
    read_events,
    read_history,
    read_summary,
    stderr_tail,
    write_json_atomic,
)

__all__ = [
    "EVENTS_FILE",
    "GRID_FILE",
    "HISTORY_FILE",
    "META_FILE",
    "MODEL_FILE",
    "PRESET_FILE",
    "STDERR_FILE",
    "SUMMARY_FILE",
    "RunInfo",
    "RunRecord",
    "RunRecorder",
    "create_run_dir",
    "list_runs",
    "load_run",
    "read_events",
    "read_history",
    "read_summary",
    "run_suffix",
    "runs_root",
    "slugify",
    "stderr_tail",
    "write_json_atomic",
]
