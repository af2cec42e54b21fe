"""Runs that live on their own: start a detached worker, or attach to any run by its folder.

:func:`start_detached` starts ``python -m nnexplorer.core.worker RUN_DIR --detached`` in a
session of its own (it survives the terminal, an SSH disconnect, the explorer quitting) with no
pipe to this process, records its pid in ``run.json`` and returns at once: nothing here imports
TensorFlow. The worker waits for a slot of the runs folder, then trains.

:class:`DetachedRun` is a :class:`~nnexplorer.core.runner.RunControl` over a run folder: its
events come from ``events.jsonl`` (read from the start, then followed), ``stop`` and ``kill``
go through :func:`~nnexplorer.core.runs.request_stop`, so they work on any run this user can
reach, started here or not (:func:`attach_run`).
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from nnexplorer.core.errors import NnxError, RunError
from nnexplorer.core.events import MODES, Event, Mode, exit_code
from nnexplorer.core.gpus import slots_from_env
from nnexplorer.core.runner import worker_env
from nnexplorer.core.runs import (
    LIVE_STATUSES,
    PRESET_FILE,
    STDERR_FILE,
    EventFollower,
    clear_request,
    create_run_dir,
    process_start,
    read_meta,
    read_summary,
    request_stop,
    run_lock,
    run_status,
    runs_root,
    this_host,
    write_json_atomic,
)
from nnexplorer.core.runs._layout import META_FILE
from nnexplorer.core.spec import ExperimentSpec


class DetachedRun:
    """A run followed through its folder (a :class:`~nnexplorer.core.runner.RunControl`).

    ``process`` is the worker when this process started it (it is reaped here); without it
    the run's liveness is read from ``run.json``.
    """

    def __init__(
        self,
        run_dir: str | Path,
        mode: Mode | None = None,
        process: subprocess.Popen[bytes] | None = None,
    ) -> None:
        self.run_dir = Path(run_dir)
        self.run_id = self.run_dir.name
        recorded = read_meta(self.run_dir).get("mode")
        self.mode: Mode = mode or ("grid" if recorded == "grid" else "train")
        self.process = process
        self.follower = EventFollower(self.run_dir)

    @property
    def pid(self) -> int | None:
        """The worker's process id (None while unknown)."""
        if self.process is not None:
            return self.process.pid
        pid = read_meta(self.run_dir).get("pid")
        return pid if isinstance(pid, int) else None

    @property
    def running(self) -> bool:
        """True while the run is queued or running."""
        if self.process is not None and self.process.poll() is not None:
            return False
        return self.status() in LIVE_STATUSES

    def status(self) -> str:
        """The run's status now (its summary's, else queued, running or interrupted)."""
        return self.follower.status()

    def read_available(self) -> list[Event]:
        """The events recorded so far and not read yet (an attach starts with these)."""
        return self.follower.read_available()

    def events(self) -> Iterator[Event]:
        """The run's events not read yet, then each new one, ending with one run_finished."""
        for event in self.follower.follow():
            if self.process is not None:
                self.process.poll()  # reap a finished worker: no zombie while we follow
            yield event

    def stop(self) -> None:
        """Ask the run to stop after the current batch (a queued run: before it starts)."""
        request_stop(self.run_dir)

    def kill(self) -> None:
        """End the run at once; it is recorded as failed."""
        request_stop(self.run_dir, kill=True)
        if self.process is not None:
            self.process.poll()

    def wait(self, timeout: float | None = None) -> int:
        """Wait for the run to end; its exit code (by its status)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            if self.process is not None:
                self.process.poll()
            status = run_status(self.run_dir)
            if status not in LIVE_STATUSES:
                return exit_code(status)
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError(f"{self.run_id} is still {status}")
            time.sleep(0.05)

    def close(self) -> None:
        """Stop following; the run goes on."""
        self.follower.close()


def _resume_dir(resume: str | Path) -> Path:
    run_dir = Path(resume)
    if not (run_dir / PRESET_FILE).is_file():
        raise RunError(f"{run_dir} is not a run folder (no {PRESET_FILE})")
    status = run_status(run_dir)
    if status in LIVE_STATUSES:
        raise RunError(f"{run_dir} is still {status}; stop it before resuming it")
    summary = read_summary(run_dir)
    if summary is not None and summary.get("status") == "completed":
        raise RunError(f"{run_dir}: this grid run already completed; nothing to resume")
    with run_lock(run_dir):  # RunInUse now, before anything in the folder changes
        pass
    return run_dir


def start_detached(
    spec: ExperimentSpec,
    *,
    mode: Mode = "train",
    runs_root: str | Path | None = None,
    resume: str | Path | None = None,
    slots: int | None = None,
) -> DetachedRun:
    """Start ``spec`` as a detached run in a new run folder (or continue the grid ``resume``).

    Returns as soon as the worker process exists; it queues for a slot (``slots``, default
    ``$NNEXPLORER_SLOTS`` or one per GPU) and then trains on its own.
    """
    if mode not in MODES:
        raise RunError(f"unknown run mode {mode!r}; expected one of {', '.join(MODES)}")
    if slots is not None and slots < 1:
        raise NnxError(f"--slots: expected a whole number >= 1, got {slots}")
    slots_from_env()  # a bad $NNEXPLORER_SLOTS is reported here, not by the worker
    if resume is not None:
        if mode != "grid":
            raise RunError("only a grid search can be resumed (mode='grid')")
        run_dir = _resume_dir(resume)
        _reset_meta(run_dir, mode)
    else:
        run_dir = create_run_dir(_root(runs_root), spec, mode)
    clear_request(run_dir)
    command = [sys.executable, "-m", "nnexplorer.core.worker", str(run_dir), "--detached"]
    if mode in ("grid", "sweep"):
        command.append(f"--{mode}")
    if resume is not None:
        command.append("--resume")
    if slots is not None:
        command += ["--slots", str(slots)]
    with open(run_dir / STDERR_FILE, "ab") as stderr:
        process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            env=worker_env(),
            start_new_session=True,  # its own session: no terminal, no SIGHUP from ours
            close_fds=True,
        )
    _record_spawn(run_dir, process.pid)
    return DetachedRun(run_dir, mode, process)


def _root(explicit: str | Path | None) -> Path:
    return runs_root(explicit)


def _reset_meta(run_dir: Path, mode: Mode) -> None:
    """A resumed run starts a new life: drop the last one's pid, heartbeat and end."""
    meta = read_meta(run_dir)
    keep: dict[str, Any] = {k: meta[k] for k in ("run_id", "created") if k in meta}
    write_json_atomic(run_dir / META_FILE, {**keep, "mode": mode, "resumed": time.time()})


def _record_spawn(run_dir: Path, pid: int) -> None:
    """Note the new worker in run.json at once, so that listings see it before it beats."""
    meta = read_meta(run_dir)
    if meta.get("pid") == pid:
        return  # the worker got there first (its record is the fuller one)
    meta.update(
        pid=pid,
        host=this_host(),
        proc_start=process_start(pid),
        status="queued",
        spawned=time.time(),
        detached=True,
    )
    write_json_atomic(run_dir / META_FILE, meta)


def attach_run(run_dir: str | Path) -> DetachedRun:
    """Follow the run in ``run_dir`` (live or ended) from its first event."""
    path = Path(run_dir)
    if not (path / PRESET_FILE).is_file():
        raise RunError(f"{path} is not a run folder (no {PRESET_FILE})")
    return DetachedRun(path)
