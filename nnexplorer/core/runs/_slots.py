"""The queue of detached runs and their slots: file locks in the runs folder, no server.

``<runs>/.slots/slot-<k>.lock`` is held (``flock``) by the run that trains in slot ``k``; the
kernel releases it when that process ends, however it ends. A run waiting for a slot holds a
ticket ``<runs>/.slots/queue/<time>-<run id>`` the same way, named by the time the run was asked
for (its folder's creation), so that runs are served in the order they were started whatever
order their workers wake up in; a ticket whose lock is free belongs to a waiter that died and is
removed.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO

from nnexplorer.core.events import Cancel
from nnexplorer.core.runs._layout import SLOTS_DIR

POLL_SECONDS = 0.2


def _try_lock(path: Path) -> IO[str] | None:
    """Open ``path`` and take its lock without waiting; None when another process holds it."""
    try:
        handle = open(path, "a+", encoding="utf-8")  # noqa: SIM115 - held while the run lives
    except OSError:
        return None
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.close()
        return None
    return handle


class SlotQueue:
    """One run's place in the queue of a runs folder, and then its slot."""

    def __init__(self, root: str | Path, run_id: str) -> None:
        self.folder = Path(root) / SLOTS_DIR
        self.run_id = run_id
        self.slot: int | None = None
        self._ticket: Path | None = None
        self._ticket_handle: IO[str] | None = None
        self._slot_handle: IO[str] | None = None

    def join(self, since: float | None = None) -> None:
        """Take a ticket (created locked, then renamed into place); ``since`` is when the run
        was asked for (default: now), which orders the queue."""
        queue = self.folder / "queue"
        queue.mkdir(parents=True, exist_ok=True)
        stamp = time.time_ns() if since is None else int(since * 1e9)
        name = f"{stamp:020d}-{self.run_id}"
        draft = queue / f".{name}.new"
        handle = _try_lock(draft)
        if handle is None:
            raise OSError(f"cannot lock {draft}")
        os.replace(draft, queue / name)
        self._ticket, self._ticket_handle = queue / name, handle

    def ahead(self) -> int:
        """Live tickets taken before this one (tickets of dead waiters are removed)."""
        if self._ticket is None:
            return 0
        count = 0
        for ticket in sorted(self._ticket.parent.iterdir()):
            if ticket.name.startswith(".") or ticket.name >= self._ticket.name:
                continue
            handle = _try_lock(ticket)
            if handle is None:
                count += 1
                continue
            with contextlib.suppress(OSError):
                ticket.unlink()
            handle.close()
        return count

    def try_slot(self, slots: int) -> int | None:
        """Take the first free slot of ``slots``; its index, or None when all are taken."""
        self.folder.mkdir(parents=True, exist_ok=True)
        for index in range(slots):
            handle = _try_lock(self.folder / f"slot-{index}.lock")
            if handle is None:
                continue
            handle.seek(0)
            handle.truncate()
            handle.write(f"{self.run_id} pid {os.getpid()}\n")
            handle.flush()
            self.slot, self._slot_handle = index, handle
            self._leave_queue()
            return index
        return None

    def wait(
        self,
        slots: int,
        cancel: Cancel,
        on_wait: Callable[[int], None] | None = None,
        poll: float = POLL_SECONDS,
        since: float | None = None,
    ) -> int | None:
        """Wait for this run's turn and a free slot; the slot, or None when ``cancel`` was set.

        ``on_wait(ahead)`` is called when the run starts to wait and whenever the number of
        runs ahead of it changes.
        """
        self.join(since)
        reported: int | None = None
        try:
            while not cancel.is_set():
                ahead = self.ahead()
                if ahead == 0:
                    slot = self.try_slot(slots)
                    if slot is not None:
                        return slot
                if ahead != reported and on_wait is not None:
                    reported = ahead
                    on_wait(ahead)
                time.sleep(poll)
            return None
        finally:
            self._leave_queue()

    def _leave_queue(self) -> None:
        if self._ticket is not None:
            with contextlib.suppress(OSError):
                self._ticket.unlink()
            self._ticket = None
        if self._ticket_handle is not None:
            self._ticket_handle.close()
            self._ticket_handle = None

    def release(self) -> None:
        """Give the slot back (the end of the process gives it back too)."""
        self._leave_queue()
        if self._slot_handle is not None:
            self._slot_handle.close()
            self._slot_handle = None
            self.slot = None
