"""Find a run by directory or id, and stop or kill a live one from any terminal.

A stop is asked twice over: a ``stop.request`` file in the run folder (which the run's heartbeat
thread reads, whatever host it runs on) and, on the run's own host, a signal (SIGINT: stop after
the current batch; SIGKILL to its process group: at once). A killed run is recorded as
``failed`` by whoever killed it, once its process is gone.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path

from nnexplorer.core.errors import NnxError
from nnexplorer.core.events import EpochEnded, RunFinished, RunStarted, RunSummary
from nnexplorer.core.runs._layout import EVENTS_FILE, PRESET_FILE, runs_root
from nnexplorer.core.runs._liveness import (
    LIVE_STATUSES,
    live_status,
    pid_alive,
    read_meta,
    this_host,
    write_request,
)
from nnexplorer.core.runs._records import RunRecorder, read_events, read_summary

KILL_WAIT = 5.0  # seconds to wait for a killed worker to be gone before recording it


def find_run(ref: str, root: str | Path | None = None) -> Path:
    """The run folder ``ref`` names: a path, or a run id (or a unique part of one) in ``root``."""
    path = Path(ref).expanduser()
    if (path / PRESET_FILE).is_file():
        return path
    folder = runs_root(root)
    if ref and (folder / ref / PRESET_FILE).is_file():
        return folder / ref
    try:
        runs = [d for d in folder.iterdir() if (d / PRESET_FILE).is_file()] if ref else []
    except OSError:
        runs = []
    matches = [d for d in runs if d.name.startswith(ref)] or [d for d in runs if ref in d.name]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise NnxError(f"{ref}: no such run (give a run directory, or a run id in {folder})")
    names = ", ".join(sorted(d.name for d in matches)[:5]) + (", ..." if len(matches) > 5 else "")
    raise NnxError(f"{ref}: {len(matches)} runs match ({names}); give more of the id")


def run_status(run_dir: str | Path) -> str:
    """A run's status now: its summary's, else queued, running, interrupted (or unfinished)."""
    summary = read_summary(run_dir)
    if summary is not None and summary.get("status"):
        return str(summary["status"])
    return live_status(read_meta(run_dir))


@dataclass(frozen=True)
class StopOutcome:
    """What a stop request found: the run's ``status`` then, and whether a live run was asked."""

    status: str
    asked: bool


def request_stop(run_dir: str | Path, *, kill: bool = False) -> StopOutcome:
    """Ask the run in ``run_dir`` to stop after the current batch (``kill``: end it at once).

    Returns at once for a stop; a kill on this host waits (a few seconds at most) for the
    process to be gone and records the run as failed. A run that already ended is left alone.
    """
    run_dir = Path(run_dir)
    status = run_status(run_dir)
    if status not in LIVE_STATUSES:
        return StopOutcome(status, False)
    write_request(run_dir, "kill" if kill else "stop")
    meta = read_meta(run_dir)
    pid = meta.get("pid")
    if not isinstance(pid, int) or meta.get("host") != this_host():
        return StopOutcome(status, True)  # the run's heartbeat thread acts on the request
    start = meta.get("proc_start") if isinstance(meta.get("proc_start"), str) else None
    if kill:
        _kill(pid, group=bool(meta.get("detached")))
        deadline = time.monotonic() + KILL_WAIT
        while pid_alive(pid, start) and time.monotonic() < deadline:
            time.sleep(0.02)
        record_killed(run_dir, "killed on request (stop --kill)")
    elif "heartbeat" in meta:  # its signal handlers are in place (else it reads the request)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGINT)
    return StopOutcome(status, True)


def _kill(pid: int, *, group: bool) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        if group and os.getpgid(pid) == pid:
            os.killpg(pid, signal.SIGKILL)  # the worker and the grid's worker processes
        else:
            os.kill(pid, signal.SIGKILL)


def record_killed(run_dir: str | Path, message: str) -> None:
    """Record a killed run as failed (unless it recorded an end itself)."""
    run_dir = Path(run_dir)
    if read_summary(run_dir) is not None:
        return
    events = read_events(run_dir / EVENTS_FILE)
    started = next((e for e in events if isinstance(e, RunStarted)), None)
    meta = read_meta(run_dir)
    begun = meta.get("started") or meta.get("created")
    summary: RunSummary = {
        "status": "failed",
        "mode": "grid" if meta.get("mode") == "grid" else "train",
        "epochs_completed": sum(
            1 for e in events if isinstance(e, EpochEnded) and e.candidate is None
        ),
        "test_metrics": {},
        "wall_seconds": round(time.time() - begun, 3) if isinstance(begun, int | float) else 0.0,
        "train_seconds": None,
        "device": started.device if started else str(meta.get("device") or ""),
        "versions": started.versions if started else {},
        "message": message,
    }
    recorder = RunRecorder(run_dir)
    try:
        recorder(
            RunFinished(run_id=run_dir.name, status="failed", summary=summary, message=message)
        )
    except OSError:
        pass
    finally:
        recorder.close()


def kill_this_run(run_dir: str | Path, message: str) -> None:
    """End this process (and its process group when it leads one) as a recorded failure."""
    record_killed(run_dir, message)
    if os.getpgrp() == os.getpid():
        os.killpg(os.getpid(), signal.SIGKILL)
    os.kill(os.getpid(), signal.SIGKILL)
