"""Writing and reading files safely: atomic whole files, appends that notice a full disk, and
only regular files read as data.

Every record file that is written whole (summary.json, run.json, preset.toml, grid.csv, the fit
journal, model.keras, an exported script) goes through :func:`atomic_path`: it is written to a
temporary file next to it, flushed to disk (fsync) and renamed over the old one, so a reader never
sees half a file and a failed or empty write never replaces a good file. New files get the mode a
plain ``open()`` would give them (0644 under the usual umask), not mkstemp's private 0600, so that
a runs folder can be shared by a group.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

from nnexplorer.core.errors import RecordError

_UMASK_LOCK = threading.Lock()
_NO_SPACE = (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC), errno.EFBIG)
BAD_TARGET = (errno.EROFS, errno.EACCES, errno.EPERM, errno.ENOENT, errno.ENOTDIR, errno.EISDIR)


def current_umask() -> int:
    """The process umask (read from /proc where possible: changing it is not thread-safe)."""
    with contextlib.suppress(OSError, ValueError), open("/proc/self/status") as status:
        for line in status:
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    with _UMASK_LOCK:
        mask = os.umask(0o022)
        os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_path(path: str | Path, *, allow_empty: bool = False) -> Iterator[Path]:
    """A temporary path next to ``path`` to write; on success it replaces ``path``.

    The temporary name keeps ``path``'s suffix (Keras wants ``.keras``). After the block it is
    fsynced and renamed over ``path``; when the block raises, or leaves an empty file (unless
    ``allow_empty``), it is removed and ``path`` keeps its old content. OSError propagates.
    """
    path = Path(path)
    fd, name = tempfile.mkstemp(
        prefix=f".{path.name}.", suffix=f".tmp{path.suffix}", dir=path.parent
    )
    tmp = Path(name)
    try:
        os.fchmod(fd, 0o666 & ~current_umask())
        os.close(fd)
        yield tmp
        with open(tmp, "rb") as handle:
            if not allow_empty and os.fstat(handle.fileno()).st_size == 0:
                raise OSError(errno.EIO, f"{path.name}: nothing was written")
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    _sync_folder(path.parent)


def _sync_folder(folder: Path) -> None:
    """Make a rename durable (best effort: some file systems cannot fsync a folder)."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def write_atomic(path: str | Path, data: str | bytes, *, allow_empty: bool = False) -> None:
    """Write ``data`` (text as UTF-8) to ``path`` atomically; OSError propagates."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    with atomic_path(path, allow_empty=allow_empty) as tmp, open(tmp, "wb") as handle:
        handle.write(raw)


class AppendFile:
    """A file opened for appending, unbuffered: each write reaches the OS or raises OSError.

    A failed write may leave part of a line; the next :class:`AppendFile` on the same path
    drops it first (see :func:`start_line`), so one cut line never swallows the next.
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)
        start_line(self.path)
        self._handle = open(self.path, "ab", buffering=0)  # noqa: SIM115 - closed in close()

    def write(self, text: str) -> None:
        """Append ``text`` (UTF-8) completely, or raise OSError."""
        view = memoryview(text.encode("utf-8"))
        while view:
            written = self._handle.write(view)
            if not written:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(self.path))
            view = view[written:]

    def close(self) -> None:
        """Close the file (errors are ignored: every write already reached the OS)."""
        with contextlib.suppress(OSError):
            self._handle.close()


def start_line(path: Path) -> None:
    """Drop an unfinished last line of ``path`` (left by a kill or a full disk), so that the
    next line written starts a line of its own; a cut line could not be read anyway."""
    try:
        with open(path, "rb+") as handle:
            size = handle.seek(0, os.SEEK_END)
            if size == 0:
                return
            handle.seek(-1, os.SEEK_END)
            if handle.read(1) == b"\n":
                return
            start = max(0, size - 1_000_000)  # a line is far shorter than this
            handle.seek(start)
            tail = handle.read()
            cut_at = tail.rfind(b"\n")
            handle.truncate(start + cut_at + 1 if cut_at >= 0 else start)
    except FileNotFoundError:
        return


def os_error_in(exc: BaseException) -> OSError | None:
    """The OSError behind ``exc`` (itself, or what it was raised from), or None."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, OSError) and current.errno is not None:
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None


def is_full(exc: OSError) -> bool:
    """Whether ``exc`` says the disk (or the quota, or the file size limit) is full."""
    return exc.errno in _NO_SPACE


def write_failure(exc: OSError, path: str | Path) -> RecordError:
    """One clear error for a failed write of ``path``: ``no space left on <folder>``, ..."""
    path = Path(path)
    folder = path.parent
    if is_full(exc):
        error = RecordError(f"no space left on {folder} (writing {path.name})")
    elif exc.errno == errno.EROFS:
        error = RecordError(f"{folder} is on a read-only file system (writing {path.name})")
    elif exc.errno in (errno.EACCES, errno.EPERM):
        error = RecordError(f"no permission to write {path}")
    else:
        error = RecordError(f"cannot write {path}: {exc.strerror or exc}")
    if exc.errno in BAD_TARGET:
        error.exit_code = 2  # the target is unusable: a usage problem, not a failed run
    return error


def not_regular(path: str | Path) -> str:
    """Why ``path`` is not a regular file that can be read ('' when it is one).

    ``is a directory``, ``is a FIFO (named pipe)``, ``is a character device``, ... Reading a
    FIFO would wait for a writer and a device such as /dev/zero never ends, so data and presets
    are read only from regular files.
    """
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return "no such file"
    except OSError as exc:
        return exc.strerror or str(exc)
    if stat.S_ISREG(mode):
        return ""
    if stat.S_ISDIR(mode):
        return "is a directory"
    if stat.S_ISFIFO(mode):
        return "is a FIFO (named pipe), not a file"
    if stat.S_ISCHR(mode):
        return "is a character device, not a file"
    if stat.S_ISBLK(mode):
        return "is a block device, not a file"
    if stat.S_ISSOCK(mode):
        return "is a socket, not a file"
    return "is not a regular file"
