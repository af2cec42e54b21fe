"""Whether a run is alive: the heartbeat a run keeps in run.json, and how any reader judges it.

A live run (a detached worker, a piped one, an in-process ``nnexplorer run``) keeps ``run.json``
current through :class:`Liveness`: ``pid``, ``host``, ``proc_start`` (to tell a reused pid),
``status`` (``queued`` or ``running``), ``queued`` / ``started`` (unix times), ``heartbeat``
(rewritten every ``heartbeat_interval`` seconds, ``$NNEXPLORER_HEARTBEAT``, default 5),
``progress`` (``epoch 3/10``, ``fits 4/12``), ``device``, ``slot`` and ``gpu``. It also watches
the run's stop request (``stop.request``, written by :func:`write_request` from any terminal).

A reader (:func:`live_status`) calls a run without a summary ``interrupted`` when its worker is
gone: on the same host its pid is dead (or reused, or a zombie), elsewhere its heartbeat is older
than :func:`stale_after` (12.5 s at the default interval).
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from nnexplorer.core.events import (
    Event,
    RunQueued,
    RunStarted,
    SlotAcquired,
)
from nnexplorer.core.files import write_atomic
from nnexplorer.core.runs._layout import META_FILE, STOP_FILE
from nnexplorer.core.runs._records import write_json_atomic

HEARTBEAT_ENV = "NNEXPLORER_HEARTBEAT"
DEFAULT_HEARTBEAT = 5.0
LIVE_STATUSES = ("queued", "running")


def heartbeat_interval(environ: Mapping[str, str] | None = None) -> float:
    """Seconds between heartbeats: ``$NNEXPLORER_HEARTBEAT`` (tests use short ones), else 5."""
    value = (os.environ if environ is None else environ).get(HEARTBEAT_ENV, "")
    try:
        seconds = float(value)
    except ValueError:
        return DEFAULT_HEARTBEAT
    return seconds if 0.01 <= seconds <= 3600 else DEFAULT_HEARTBEAT


def stale_after(interval: float) -> float:
    """How old a heartbeat may be before its run counts as interrupted (2.5 beats, >= 1 s)."""
    return max(1.0, 2.5 * interval)


def this_host() -> str:
    """This machine's name, as run.json records it."""
    return socket.gethostname()


def process_start(pid: int) -> str | None:
    """When process ``pid`` started (clock ticks since boot, from /proc), None where unknown."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[-1].split()
    return fields[19] if len(fields) > 19 else None  # field 22 of proc(5)


def pid_alive(pid: int, start: str | None = None) -> bool:
    """Whether ``pid`` runs on this host (not a zombie; the same process when ``start`` is set)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # someone else's process: alive
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    except OSError:
        return True  # no /proc here: the signal check is all there is
    fields = stat.rsplit(")", 1)[-1].split()
    if fields and fields[0] in ("Z", "X"):
        return False
    return start is None or len(fields) <= 19 or fields[19] == start


def read_meta(run_dir: str | Path) -> dict[str, Any]:
    """run.json of a run ({} when missing or unreadable)."""
    try:
        data = json.loads((Path(run_dir) / META_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def live_status(meta: Mapping[str, Any], now: float | None = None) -> str:
    """The status of a run without a summary: ``queued``, ``running`` or ``interrupted``;
    ``unfinished`` for a record without liveness fields (written before runs kept them)."""
    pid = meta.get("pid")
    if not isinstance(pid, int) or isinstance(pid, bool):
        return "unfinished"
    if meta.get("ended") is not None:
        return "interrupted"
    recorded = str(meta.get("status") or "running")
    status = recorded if recorded in LIVE_STATUSES else "running"
    if meta.get("host") == this_host():
        start = meta.get("proc_start")
        alive = pid_alive(pid, start if isinstance(start, str) else None)
        return status if alive else "interrupted"
    now = time.time() if now is None else now
    interval = _number(meta.get("heartbeat_interval")) or DEFAULT_HEARTBEAT
    beat = _number(meta.get("heartbeat"))
    if beat is None:  # spawned, the worker not yet beating: give it time to start
        since = _number(meta.get("spawned")) or _number(meta.get("created")) or now
        return "interrupted" if now - since > max(15.0, stale_after(interval)) else status
    return "interrupted" if now - beat > stale_after(interval) else status


# --------------------------------------------------------------------------- stop requests


def write_request(run_dir: str | Path, action: str) -> None:
    """Ask the run in ``run_dir`` to ``stop`` (after the current batch) or to be ``kill``ed."""
    request = {"action": action, "time": time.time(), "by": f"{os.getpid()}@{this_host()}"}
    write_json_atomic(Path(run_dir) / STOP_FILE, request)


def read_request(run_dir: str | Path) -> str | None:
    """The action asked of a run (``stop`` or ``kill``), None when nothing was asked."""
    try:
        data = json.loads((Path(run_dir) / STOP_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    action = data.get("action") if isinstance(data, dict) else None
    return action if action in ("stop", "kill") else None


def clear_request(run_dir: str | Path) -> None:
    """Forget an old request (before a run starts, or resumes, in ``run_dir``)."""
    with contextlib.suppress(OSError):
        (Path(run_dir) / STOP_FILE).unlink()


# --------------------------------------------------------------------------- the writer


def progress_text(progress: Any) -> str:
    """``epoch 3/10`` for a training run, ``fits 4/12`` for a grid (a RunProgress)."""
    if progress.status not in ("running",):
        return ""
    from nnexplorer.core.progress import REFIT

    if progress.mode == "grid":
        total = progress.fits_total()
        if progress.active is not None and progress.active[1] == REFIT and total:
            return f"fits {progress.fits_done()}/{total}, refit"
        return f"fits {progress.fits_done()}/{total or '?'}"
    epochs = progress.fit.epochs or progress.epochs_planned
    return f"epoch {progress.fit.epoch}/{epochs}" if epochs else ""


class Liveness:
    """Keeps a live run's run.json current and acts on its stop requests (see the module).

    ``cancel`` is set when a stop is requested; ``on_kill`` is called (from the heartbeat
    thread) when a kill is. :meth:`observe` is an ``emit``: it folds the run's events into the
    ``progress`` the heartbeat writes. Use it as a context manager, or :meth:`start` /
    :meth:`close`.
    """

    def __init__(
        self,
        run_dir: str | Path,
        *,
        status: str = "running",
        cancel: threading.Event | None = None,
        on_kill: Callable[[], None] | None = None,
        interval: float | None = None,
        **fields: Any,
    ) -> None:
        from nnexplorer.core.progress import RunProgress

        self.run_dir = Path(run_dir)
        self.interval = interval or heartbeat_interval()
        self.cancel = cancel
        self.on_kill = on_kill
        self.progress = RunProgress(status=status)
        self._lock = threading.Lock()
        self._write_lock = threading.Lock()  # one write at a time, so the newest lands last
        self._done = threading.Event()
        self._dirty = False
        self._acted: str | None = None
        self._thread: threading.Thread | None = None
        self._discarded = False
        try:
            self._original: bytes | None = (self.run_dir / META_FILE).read_bytes()
        except OSError:
            self._original = None
        now = time.time()
        pid = os.getpid()
        self.meta: dict[str, Any] = {
            **read_meta(self.run_dir),
            "pid": pid,
            "host": this_host(),
            "proc_start": process_start(pid),
            "status": status,
            "heartbeat": now,
            "heartbeat_interval": self.interval,
            status if status == "queued" else "started": now,
            **fields,
        }
        self.meta.pop("ended", None)

    def __enter__(self) -> Liveness:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def start(self) -> Liveness:
        """Write run.json, act on a request made before the run began, start the heartbeat."""
        self._write()
        self._watch_request()
        self._thread = threading.Thread(target=self._beat, name="heartbeat", daemon=True)
        self._thread.start()
        return self

    def update(self, **fields: Any) -> None:
        """Change fields of run.json and write it now."""
        with self._lock:
            self.meta.update(fields)
        self._write()

    def observe(self, event: Event) -> None:
        """Fold one event of the run into the progress run.json shows (an ``emit``)."""
        with self._lock:
            self.progress.apply(event)
            if isinstance(event, RunStarted) and event.device:
                self.meta["device"] = event.device
            if isinstance(event, RunQueued | SlotAcquired | RunStarted):
                self.meta["status"] = "queued" if isinstance(event, RunQueued) else "running"
            self.meta["progress"] = progress_text(self.progress)
            self._dirty = True

    def discard(self) -> None:
        """On :meth:`close`, put run.json back as it was: a refused start changes no record."""
        self._discarded = True

    def close(self) -> None:
        """Stop the heartbeat; run.json says when the run ended (its summary says how)."""
        self._done.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=5)
        if self._discarded and self._original is not None:
            with self._write_lock, contextlib.suppress(OSError):
                write_atomic(self.run_dir / META_FILE, self._original)
            return
        with self._lock:
            self.meta["ended"] = time.time()
        self._write()

    def _beat(self) -> None:
        tick = min(self.interval, 0.5)
        last = time.monotonic()
        while not self._done.wait(tick):
            self._watch_request()
            if self._dirty or time.monotonic() - last >= self.interval:
                last = time.monotonic()
                self._write()

    def _watch_request(self) -> None:
        action = read_request(self.run_dir)
        if action is None or action == self._acted:
            return
        self._acted = action
        if action == "kill" and self.on_kill is not None:
            self.on_kill()
        elif self.cancel is not None:
            self.cancel.set()

    def _write(self) -> None:
        with self._write_lock:
            with self._lock:
                self._dirty = False
                self.meta["heartbeat"] = time.time()
                snapshot = dict(self.meta)
            with contextlib.suppress(OSError):  # a full disk must not end the run
                write_json_atomic(self.run_dir / META_FILE, snapshot)
