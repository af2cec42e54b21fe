"""The lock of a run directory: one writer at a time.

The process that writes a run's records (the worker, or ``nnexplorer run`` in-process) holds an
exclusive ``flock`` on ``RUN_DIR/.lock`` for as long as it writes; the file names its pid. A
second writer is refused with :class:`~nnexplorer.core.errors.RunInUse` ("in use by pid N")
before it writes anything. The kernel drops the lock when the holder exits, however it exits, so a
killed run never leaves a stale lock. Within one process the lock is re-entrant (the command line
takes it, then the engine it calls takes it again).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import threading
from collections.abc import Iterator
from pathlib import Path

from nnexplorer.core.errors import RunInUse
from nnexplorer.core.files import write_failure

LOCK_FILE = ".lock"

_HELD: dict[str, list[int]] = {}  # resolved run dir -> [file descriptor, depth]
_GUARD = threading.Lock()


def _key(run_dir: Path) -> str:
    return str(Path(run_dir).resolve())


def lock_holder(run_dir: str | Path) -> int | None:
    """The pid written in the lock file (the last writer; it may have ended), or None."""
    try:
        text = (Path(run_dir) / LOCK_FILE).read_text(encoding="ascii", errors="replace")
    except OSError:
        return None
    first = text.strip().split()[:1]
    return int(first[0]) if first and first[0].isdigit() else None


def acquire(run_dir: str | Path) -> None:
    """Take the run directory's lock, or raise RunInUse naming the process that holds it."""
    key = _key(Path(run_dir))
    with _GUARD:
        held = _HELD.get(key)
        if held is not None:
            held[1] += 1
            return
        path = Path(run_dir) / LOCK_FILE
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o666)
        except OSError as exc:
            raise write_failure(exc, path) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            pid = lock_holder(run_dir)
            who = f"pid {pid}" if pid else "another process"
            raise RunInUse(
                f"{run_dir}: in use by {who} (another run is writing this folder)",
                "wait for it to finish, or stop it first",
            ) from None
        with contextlib.suppress(OSError):  # a full disk: the lock holds, only the pid is unknown
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()}\n".encode("ascii"))
        _HELD[key] = [fd, 1]


def release(run_dir: str | Path) -> None:
    """Give the lock back (the last release of this process unlocks it)."""
    key = _key(Path(run_dir))
    with _GUARD:
        held = _HELD.get(key)
        if held is None:
            return
        held[1] -= 1
        if held[1] > 0:
            return
        del _HELD[key]
        with contextlib.suppress(OSError):
            fcntl.flock(held[0], fcntl.LOCK_UN)
        os.close(held[0])


@contextlib.contextmanager
def run_lock(run_dir: str | Path) -> Iterator[None]:
    """Hold the run directory's lock inside the block (RunInUse when another process has it)."""
    acquire(run_dir)
    try:
        yield
    finally:
        release(run_dir)


def holds_lock(run_dir: str | Path) -> bool:
    """Whether this process holds the run directory's lock."""
    with _GUARD:
        return _key(Path(run_dir)) in _HELD
