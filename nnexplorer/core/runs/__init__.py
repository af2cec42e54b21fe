"""Run directories: create them, record a run as it happens, list and load past runs.

A run directory is named ``YYYYmmdd-HHMMSS-<slug>-<4 hex>`` and holds ``preset.toml`` (the
resolved spec), ``run.json`` (mode and start time), ``events.jsonl`` (every event, appended as it
happens), ``history.csv`` (one row per epoch), ``summary.json`` (at the end) and, once trained,
``model.keras``. Whole files are written atomically; the logs are appended line by line, so a run
that is killed leaves readable records up to its last finished epoch.

A run directory in use is locked (:mod:`._lock`): one writer at a time. Records are read back
through a schema (:mod:`._schema`), so a damaged run is listed as ``damaged`` with the reason.
A live run keeps ``run.json`` current (pid, host, heartbeat, progress); a detached one first
waits for a slot of the runs folder. Any terminal follows a run by reading ``events.jsonl`` and
stops it through a request file (and a signal on its own host). No daemon: the folder is the
shared state.

Inside: :mod:`._layout` (names), :mod:`._records` (writing and reading one run's files),
:mod:`._listing` (the list of runs, a run read back whole), :mod:`._lock` (one writer),
:mod:`._schema` (records read through a schema), :mod:`._liveness` (heartbeat, stop
requests, interrupted runs), :mod:`._slots` (the queue and slots of detached runs),
:mod:`._follow` (following a run's events), :mod:`._control` (finding, stopping, killing a run).
"""

from nnexplorer.core.runs._control import (
    StopOutcome,
    find_run,
    kill_this_run,
    record_killed,
    request_stop,
    run_status,
)
from nnexplorer.core.runs._follow import EventFollower
from nnexplorer.core.runs._layout import (
    BOUNDARY_FILE,
    EVENTS_FILE,
    GRID_FILE,
    HISTORY_FILE,
    LAYER_STATS_FILE,
    META_FILE,
    MISCLASSIFIED_FILE,
    MODEL_FILE,
    PRESET_FILE,
    SLOTS_DIR,
    STDERR_FILE,
    STOP_FILE,
    SUMMARY_FILE,
    run_suffix,
    runs_root,
    slugify,
)
from nnexplorer.core.runs._listing import RunInfo, RunRecord, list_runs, load_run, run_info
from nnexplorer.core.runs._liveness import (
    HEARTBEAT_ENV,
    LIVE_STATUSES,
    Liveness,
    clear_request,
    heartbeat_interval,
    live_status,
    pid_alive,
    process_start,
    read_meta,
    read_request,
    this_host,
    write_request,
)
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
from nnexplorer.core.runs._slots import SlotQueue

__all__ = [
    "BOUNDARY_FILE",
    "EVENTS_FILE",
    "GRID_FILE",
    "HEARTBEAT_ENV",
    "HISTORY_FILE",
    "LAYER_STATS_FILE",
    "LIVE_STATUSES",
    "LOCK_FILE",
    "META_FILE",
    "MISCLASSIFIED_FILE",
    "MODEL_FILE",
    "PRESET_FILE",
    "SLOTS_DIR",
    "STDERR_FILE",
    "STOP_FILE",
    "SUMMARY_FILE",
    "EventFollower",
    "Liveness",
    "RunInfo",
    "RunRecord",
    "RunRecorder",
    "SlotQueue",
    "StopOutcome",
    "acquire",
    "clear_request",
    "create_run_dir",
    "find_run",
    "heartbeat_interval",
    "holds_lock",
    "kill_this_run",
    "list_runs",
    "live_status",
    "load_run",
    "lock_holder",
    "pid_alive",
    "process_start",
    "read_events",
    "read_history",
    "read_meta",
    "read_request",
    "read_summary",
    "record_killed",
    "release",
    "request_stop",
    "run_info",
    "run_lock",
    "run_status",
    "run_suffix",
    "runs_root",
    "save_model",
    "slugify",
    "stderr_tail",
    "summary_of",
    "this_host",
    "write_json_atomic",
    "write_request",
]
