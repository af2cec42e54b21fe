"""Run directories: create them, record a run as it happens, list and load past runs.

A run directory is named ``YYYYmmdd-HHMMSS-<slug>-<4 hex>`` and holds ``preset.toml`` (the
resolved spec), ``run.json`` (mode and start time), ``events.jsonl`` (every event, flushed as it
happens), ``history.csv`` (one row per epoch), ``summary.json`` (written atomically at the end)
and, once trained, ``model.keras``. Every file is appended line by line and flushed, so a run
that is killed leaves readable records up to its last finished epoch.

A live run keeps ``run.json`` current (pid, host, heartbeat, progress); a detached one first
waits for a slot of the runs folder. Any terminal follows a run by reading ``events.jsonl`` and
stops it through a request file (and a signal on its own host). No daemon: the folder is the
shared state.

Inside: :mod:`._layout` (names), :mod:`._records` (writing and reading one run's files),
:mod:`._listing` (the list of runs, a run read back whole), :mod:`._liveness` (heartbeat, stop
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
    EVENTS_FILE,
    HISTORY_FILE,
    META_FILE,
    MODEL_FILE,
    PRESET_FILE,
    SLOTS_DIR,
    STDERR_FILE,
    STOP_FILE,
    SUMMARY_FILE,
    runs_root,
    slugify,
)
from nnexplorer.core.runs._listing import RunInfo, RunRecord, list_runs, load_run
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
from nnexplorer.core.runs._records import (
    RunRecorder,
    create_run_dir,
    read_events,
    read_history,
    read_summary,
    stderr_tail,
    write_json_atomic,
)
from nnexplorer.core.runs._slots import SlotQueue

__all__ = [
    "EVENTS_FILE",
    "HEARTBEAT_ENV",
    "HISTORY_FILE",
    "LIVE_STATUSES",
    "META_FILE",
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
    "clear_request",
    "create_run_dir",
    "find_run",
    "heartbeat_interval",
    "kill_this_run",
    "list_runs",
    "live_status",
    "load_run",
    "pid_alive",
    "process_start",
    "read_events",
    "read_history",
    "read_meta",
    "read_request",
    "read_summary",
    "record_killed",
    "request_stop",
    "run_status",
    "runs_root",
    "slugify",
    "stderr_tail",
    "this_host",
    "write_json_atomic",
    "write_request",
]
