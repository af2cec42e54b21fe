"""Run directories: create them, record a run as it happens, list and load past runs.

A run directory is named ``YYYYmmdd-HHMMSS-<slug>-<4 hex>`` and holds ``preset.toml`` (the
resolved spec), ``run.json`` (mode and start time), ``events.jsonl`` (every event, appended as it
happens), ``history.csv`` (one row per epoch), ``summary.json`` (at the end) and, once trained,
``model.keras``. Whole files are written atomically; the logs are appended line by line, so a run
that is killed leaves readable records up to its last finished epoch.

A run directory in use is locked (:mod:`._lock`): one writer at a time. Records are read back
through a schema (:mod:`._schema`), so a damaged run is listed as ``damaged`` with the reason.

Inside: :mod:`._layout` (names), :mod:`._records` (writing and reading one run's files),
:mod:`._listing` (the list of runs, a run read back whole), :mod:`._lock`, :mod:`._schema`.
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
from nnexplorer.core.runs._listing import RunInfo, RunRecord, list_runs, load_run, run_info
from nnexplorer.core.runs._lock import (
    LOCK_FILE,
    acquire,
    holds_lock,
    lock_holder,
    release,
    run_lock,
)
from nnexplorer.core.runs._records import (
    RunRecorder,
    create_run_dir,
    read_events,
    read_history,
    read_summary,
    save_model,
    stderr_tail,
    summary_of,
    write_json_atomic,
)

__all__ = [
    "EVENTS_FILE",
    "GRID_FILE",
    "HISTORY_FILE",
    "LOCK_FILE",
    "META_FILE",
    "MODEL_FILE",
    "PRESET_FILE",
    "STDERR_FILE",
    "SUMMARY_FILE",
    "RunInfo",
    "RunRecord",
    "RunRecorder",
    "acquire",
    "create_run_dir",
    "holds_lock",
    "list_runs",
    "load_run",
    "lock_holder",
    "read_events",
    "read_history",
    "read_summary",
    "release",
    "run_info",
    "run_lock",
    "run_suffix",
    "runs_root",
    "save_model",
    "slugify",
    "stderr_tail",
    "summary_of",
    "write_json_atomic",
]
