"""Follow a run from its folder: events.jsonl read from the start, then as it grows.

This is how any terminal attaches to a run it did not start (and how the explorer follows its
own detached runs): the run's worker appends each event to ``events.jsonl`` and flushes it, and
:class:`EventFollower` reads complete lines as they appear. The stream ends with the run's
``run_finished``; when the worker died without writing one (see :mod:`._liveness`), it ends with
a ``run_finished`` of status ``interrupted`` made here, which is not recorded.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

from nnexplorer.core.events import (
    EpochEnded,
    Event,
    Mode,
    RunFinished,
    RunStarted,
    RunSummary,
    from_json,
)
from nnexplorer.core.runs._layout import EVENTS_FILE
from nnexplorer.core.runs._liveness import LIVE_STATUSES, live_status, read_meta
from nnexplorer.core.runs._records import read_summary

FOLLOW_POLL = 0.1  # seconds between looks at a quiet events file
CHECK_EVERY = 0.5  # seconds between looks at whether a quiet run still lives
YOUNG_SECONDS = 15.0  # a run folder this new may not have its worker's pid yet


class EventFollower:
    """Reads a run's events as they are written; :meth:`close` ends :meth:`follow` early."""

    def __init__(self, run_dir: str | Path, *, poll: float = FOLLOW_POLL) -> None:
        self.run_dir = Path(run_dir)
        self.poll = poll
        self.finished: RunFinished | None = None
        self._offset = 0
        self._partial = b""
        self._closed = threading.Event()
        self._seen_started: RunStarted | None = None
        self._epochs = 0

    @property
    def closed(self) -> bool:
        """True once :meth:`close` was called."""
        return self._closed.is_set()

    def close(self) -> None:
        """Stop following (the run itself goes on); :meth:`follow` returns within a poll."""
        self._closed.set()

    def read_available(self) -> list[Event]:
        """The events written since the last read (complete lines only), in order."""
        try:
            with open(self.run_dir / EVENTS_FILE, "rb") as handle:
                handle.seek(self._offset)
                data = handle.read()
        except FileNotFoundError:
            return []
        self._offset += len(data)
        lines = (self._partial + data).split(b"\n")
        self._partial = lines.pop()  # empty, or a line still being written
        out: list[Event] = []
        for raw in lines:
            text = raw.decode("utf-8", errors="replace").strip()
            if not text.startswith("{"):
                continue
            try:
                event = from_json(text)
            except (ValueError, TypeError):
                continue  # an event type this version does not know, or a damaged line
            self._note(event)
            out.append(event)
        return out

    def _note(self, event: Event) -> None:
        if isinstance(event, RunStarted) and self._seen_started is None:
            self._seen_started = event
        elif isinstance(event, EpochEnded) and event.candidate is None:
            self._epochs += 1
        elif isinstance(event, RunFinished):
            self.finished = event

    def follow(self) -> Iterator[Event]:
        """Every event not read yet, then each new one, until the run ends (or :meth:`close`)."""
        last_check = 0.0
        while not self._closed.is_set():
            events = self.read_available()
            for event in events:
                yield event
                if isinstance(event, RunFinished):
                    return
            if events:
                continue
            now = time.monotonic()
            if now - last_check >= CHECK_EVERY:
                last_check = now
                if self.status() not in LIVE_STATUSES:
                    for event in self.read_available():  # lines written just before the end
                        yield event
                        if isinstance(event, RunFinished):
                            return
                    yield self._end_without_event()
                    return
            self._closed.wait(self.poll)

    def status(self) -> str:
        """The run's status now: its summary's, else ``queued``, ``running`` or ``interrupted``."""
        summary = read_summary(self.run_dir)
        if summary is not None and summary.get("status"):
            return str(summary["status"])
        meta = read_meta(self.run_dir)
        status = live_status(meta)
        if status == "unfinished":  # no worker pid yet: just created, or written long ago
            created = meta.get("resumed") or meta.get("created")
            young = isinstance(created, int | float) and time.time() - created < YOUNG_SECONDS
            return "queued" if young else "interrupted"
        return status

    def _end_without_event(self) -> RunFinished:
        """The end of a run whose events do not say how it ended: its summary's, else
        ``interrupted``."""
        summary = read_summary(self.run_dir)
        if summary is not None and summary.get("status"):
            event = RunFinished(
                run_id=self.run_dir.name,
                status=summary["status"],
                summary=summary,
                message=str(summary.get("message") or ""),
            )
        else:
            event = self._interrupted()
        self.finished = event
        return event

    def _interrupted(self) -> RunFinished:
        meta = read_meta(self.run_dir)
        pid, host = meta.get("pid"), meta.get("host")
        who = f"its worker (pid {pid} on {host})" if pid else "its worker"
        message = f"{who} ended without recording how the run finished"
        started = self._seen_started
        recorded_mode: Mode = "grid" if meta.get("mode") == "grid" else "train"
        summary: RunSummary = {
            "status": "interrupted",
            "mode": started.mode if started else recorded_mode,
            "epochs_completed": self._epochs,
            "test_metrics": {},
            "device": started.device if started else str(meta.get("device") or ""),
            "message": message,
        }
        return RunFinished(
            run_id=self.run_dir.name, status="interrupted", summary=summary, message=message
        )
