"""Parent side of a run: start a worker process, read its events, stop it, notice its death.

:func:`start_run` creates the run directory and starts ``python -m nnexplorer.core.worker`` in
its own process group (so that Ctrl-C in the terminal reaches the app, not the worker). The
returned :class:`RunHandle` is safe to use from two threads: one iterates :meth:`events`
(blocking), another calls :meth:`stop` or :meth:`kill`. Front ends type against
:class:`RunControl` (what they need of a handle) and :class:`StartRun` (``start_run``'s shape), so
that a test can hand them a fake.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol, runtime_checkable

import nnexplorer
from nnexplorer.core.errors import NnxError, RunError
from nnexplorer.core.events import (
    MODES,
    EpochEnded,
    Event,
    Mode,
    RunFinished,
    RunStarted,
    RunStatus,
    RunSummary,
    from_json,
)
from nnexplorer.core.runs import (
    PRESET_FILE,
    STDERR_FILE,
    RunRecorder,
    create_run_dir,
    read_summary,
    run_lock,
    runs_root,
    stderr_tail,
)
from nnexplorer.core.spec import ExperimentSpec

STOP_GRACE_SECONDS = 10.0


@runtime_checkable
class RunControl(Protocol):
    """What a front end needs from a run it started: its folder, its events, stop and kill.

    :meth:`events` blocks and is iterated by one thread; the others may be called from any
    thread at any time, also after the run ended (then they do nothing).
    """

    @property
    def run_dir(self) -> Path:
        """The run directory."""
        ...

    @property
    def run_id(self) -> str:
        """The run directory's name."""
        ...

    @property
    def mode(self) -> Mode:
        """``train``, ``grid`` or ``sweep``."""
        ...

    @property
    def running(self) -> bool:
        """True while the run goes on."""
        ...

    def events(self) -> Iterator[Event]:
        """Every event of the run, ending with one ``run_finished``."""
        ...

    def stop(self) -> None:
        """Ask the run to stop after the current batch (recorded as cancelled)."""
        ...

    def kill(self) -> None:
        """End the run at once (recorded as failed)."""
        ...

    def wait(self, timeout: float | None = None) -> int:
        """Wait for the run to end; its exit code."""
        ...

    def close(self) -> None:
        """Stop following the run: :meth:`events` ends soon, and a detached run goes on."""
        ...


class StartRun(Protocol):
    """The shape of :func:`start_run`, which a front end may be given a stand-in for."""

    def __call__(
        self,
        spec: ExperimentSpec,
        *,
        mode: Mode = ...,
        runs_root: str | Path | None = ...,
        resume: str | Path | None = ...,
    ) -> RunControl: ...


class RunHandle:
    """A running (or finished) worker process and its run directory (a :class:`RunControl`)."""

    def __init__(self, process: subprocess.Popen[str], run_dir: Path, mode: Mode):
        self.process = process
        self.run_dir = run_dir
        self.run_id = run_dir.name
        self.mode = mode
        self.started = time.time()
        self._lock = threading.Lock()
        self._timer: threading.Timer | None = None
        self._stop_requested = False
        self._killed = False
        self._finished = False
        self._closed = False

    @property
    def pid(self) -> int:
        """The worker's process id (also its process group id)."""
        return self.process.pid

    @property
    def returncode(self) -> int | None:
        """The worker's exit code, None while it runs (negative: killed by that signal)."""
        return self.process.poll()

    @property
    def running(self) -> bool:
        """True while the worker process is alive."""
        return self.process.poll() is None

    def events(self) -> Iterator[Event]:
        """Yield the worker's events until its run_finished (or a synthesized one if it dies)."""
        seen: list[Event] = []
        stream = self.process.stdout
        assert stream is not None
        for line in stream:
            if self._closed:
                return
            line = line.strip()
            if not line.startswith("{"):
                continue
            try:
                event = from_json(line)
            except (ValueError, TypeError):
                continue
            if isinstance(event, RunStarted | EpochEnded):
                seen.append(event)
            yield event
            if isinstance(event, RunFinished):
                self._finished = True
        self.wait()
        if not self._finished:
            self._finished = True
            yield self._death_event(seen)

    def _death_event(self, seen: list[Event]) -> RunFinished:
        """The run_finished a worker could not write: recorded and returned."""
        code = self.process.returncode
        cause = f"worker exited with code {code}"
        if code is not None and code < 0:
            with contextlib.suppress(ValueError):
                cause += f" (killed by {signal.Signals(-code).name})"
        tail = stderr_tail(self.run_dir)
        message = f"{cause}: {tail}" if tail else cause
        status: RunStatus = "cancelled" if self._stop_requested and not self._killed else "failed"
        started = next((e for e in seen if isinstance(e, RunStarted)), None)
        epochs = sum(1 for e in seen if isinstance(e, EpochEnded) and e.candidate is None)
        summary: RunSummary = {
            "status": status,
            "mode": self.mode,
            "epochs_completed": epochs,
            "test_metrics": {},
            "wall_seconds": round(time.time() - self.started, 3),
            "train_seconds": None,
            "device": started.device if started else "",
            "versions": started.versions if started else {},
            "message": message,
        }
        event = RunFinished(run_id=self.run_id, status=status, summary=summary, message=message)
        try:
            with run_lock(self.run_dir):  # never over the records of another live writer
                if read_summary(self.run_dir) is None:
                    recorder = RunRecorder(self.run_dir)
                    try:
                        recorder(event)
                    finally:
                        recorder.close()
        except (NnxError, OSError):  # another writer holds the folder, or a full disk
            pass
        return event

    def stop(self, grace: float = STOP_GRACE_SECONDS) -> None:
        """Ask the worker to stop (SIGINT); SIGTERM follows if it is still alive after ``grace``."""
        with self._lock:
            if not self.running:
                return
            self._stop_requested = True
            self._signal(signal.SIGINT, group=False)
            if self._timer is None:
                self._timer = threading.Timer(grace, self._escalate)
                self._timer.daemon = True
                self._timer.start()

    def _escalate(self) -> None:
        with self._lock:
            if self.running:
                self._signal(signal.SIGTERM, group=True)

    def kill(self) -> None:
        """End the worker and its children at once (SIGKILL); the run is reported failed."""
        with self._lock:
            if not self.running:
                return
            self._killed = True
            self._signal(signal.SIGKILL, group=True)

    def _signal(self, sig: int, *, group: bool) -> None:
        try:
            if group:
                os.killpg(self.process.pid, sig)
            else:
                self.process.send_signal(sig)
        except (ProcessLookupError, PermissionError):
            pass

    def wait(self, timeout: float | None = None) -> int:
        """Wait for the worker to exit and return its exit code."""
        code = self.process.wait(timeout)
        if self._timer is not None:
            self._timer.cancel()
        return code

    def close(self) -> None:
        """Stop reading events (at the worker's next line); the worker itself goes on."""
        self._closed = True


def worker_env() -> dict[str, str]:
    """The environment of a worker: ours, with this package importable and output unbuffered."""
    env = dict(os.environ)
    package_parent = str(Path(nnexplorer.__file__).resolve().parent.parent)
    path = env.get("PYTHONPATH", "")
    if package_parent not in path.split(os.pathsep):
        env["PYTHONPATH"] = os.pathsep.join(p for p in (package_parent, path) if p)
    env["PYTHONUNBUFFERED"] = "1"
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    return env


def start_run(
    spec: ExperimentSpec,
    *,
    mode: Mode = "train",
    runs_root: str | Path | None = None,
    resume: str | Path | None = None,
) -> RunHandle:
    """Start a worker for ``spec`` in a new run directory (or continue ``resume``)."""
    if mode not in MODES:
        raise RunError(f"unknown run mode {mode!r}; expected one of {', '.join(MODES)}")
    if resume is not None:
        if mode != "grid":
            raise RunError("only a grid search can be resumed (mode='grid')")
        run_dir = Path(resume)
        if not (run_dir / PRESET_FILE).is_file():
            raise RunError(f"{run_dir} is not a run folder (no {PRESET_FILE})")
        with run_lock(run_dir):  # RunInUse now, rather than a worker that exits at once
            pass
    else:
        run_dir = create_run_dir(_root(runs_root), spec, mode)
    command = [sys.executable, "-m", "nnexplorer.core.worker", str(run_dir)]
    if mode in ("grid", "sweep"):
        command.append(f"--{mode}")
    if resume is not None:
        command.append("--resume")
    with open(run_dir / STDERR_FILE, "ab") as stderr:
        process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=stderr,
            env=worker_env(),
            start_new_session=True,
            text=True,
            encoding="utf-8",
            errors="replace",
            bufsize=1,
        )
    return RunHandle(process, run_dir, mode)


def _root(explicit: str | Path | None) -> Path:
    return runs_root(explicit)
