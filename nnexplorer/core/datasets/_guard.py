"""Bounds on reading data files: only regular files, size caps on disk and decompressed, and a
cap on rows x features; all raised as DataError naming the file and the ``data.*`` key that
raises the cap.

A gzip file is decompressed through :class:`CappedReader`, which stops at ``data.max_file_mb``
however small the compressed file is (a "gzip bomb"); a FIFO or a device such as /dev/zero is
refused before it is opened.
"""

from __future__ import annotations

import gzip
import io
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from nnexplorer.core.errors import DataError, ErrorItem
from nnexplorer.core.files import not_regular

_MB = 2**20
DEFAULT_MAX_FILE_MB = 1024
DEFAULT_MAX_VALUES = 100_000_000


@dataclass(frozen=True)
class Caps:
    """How much a data file may hold: bytes on disk and decompressed, rows x features."""

    max_bytes: int = DEFAULT_MAX_FILE_MB * _MB
    max_values: int = DEFAULT_MAX_VALUES

    @classmethod
    def of(cls, data: Any) -> Caps:
        """The caps a ``[data]`` section sets (``max_file_mb``, ``max_values``)."""
        mb = getattr(data, "max_file_mb", DEFAULT_MAX_FILE_MB)
        return cls(int(mb) * _MB, int(getattr(data, "max_values", DEFAULT_MAX_VALUES)))


def _error(message: str, file: Path | str, path: str = "data.source", hint: str = "") -> DataError:
    head = f"{file}: {message}" if file else message
    return DataError(head, hint, items=[ErrorItem(message, path, str(file))])


def too_big(path: Path | str, what: str, size: int, caps: Caps) -> DataError:
    """The error for a file holding more than ``data.max_file_mb``."""
    limit = caps.max_bytes // _MB
    return _error(
        f"{what} is {size / _MB:,.1f} MB, more than data.max_file_mb = {limit:,}",
        path,
        "data.max_file_mb",
        hint=f"raise data.max_file_mb (e.g. {max(limit * 2, int(size / _MB) + 1)}) to read it",
    )


def check_readable(path: Path, caps: Caps, *, folder_ok: bool = False) -> None:
    """A data file must exist, be a regular file (or a folder where allowed), be readable and
    not exceed the size cap on disk."""
    why = not_regular(path)
    if why == "no such file":
        raise _error(
            "file not found",
            path,
            hint="check the path; a relative path is taken from the preset's folder",
        )
    if why == "is a directory" and folder_ok:
        if not os.access(path, os.R_OK | os.X_OK):
            raise _error("cannot read the folder (permission denied)", path)
        return
    if why:
        raise _error(f"{why}; data is read only from regular files", path)
    try:
        with open(path, "rb") as handle:
            handle.read(1)
    except OSError as exc:
        raise _error(f"cannot read the file: {exc.strerror or exc}", path) from None
    size = path.stat().st_size
    if size > caps.max_bytes:
        raise too_big(path, "the file", size, caps)


class CappedReader(io.RawIOBase):
    """A binary stream that raises DataError once more than ``limit`` bytes were read."""

    def __init__(self, inner: BinaryIO, limit: int, path: Path, caps: Caps):
        self._inner = inner
        self._limit = limit
        self._read = 0
        self._path = path
        self._caps = caps

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer)
        wanted = min(len(view), self._limit + 1 - self._read)
        if wanted <= 0:
            raise too_big(self._path, "decompressed, the file", self._read, self._caps)
        chunk = self._inner.read(wanted)
        n = len(chunk)
        view[:n] = chunk
        self._read += n
        if self._read > self._limit:
            raise too_big(self._path, "decompressed, the file", self._read, self._caps)
        return n

    def close(self) -> None:
        self._inner.close()
        super().close()


def open_data(path: Path, caps: Caps) -> BinaryIO:
    """A data file for reading, decompressed when it is gzipped, never past the size cap."""
    check_readable(path, caps)
    handle = open(path, "rb")  # noqa: SIM115 - the caller closes the returned stream
    if handle.read(2) == b"\x1f\x8b":
        handle.seek(0)
        inner: BinaryIO = gzip.GzipFile(fileobj=handle, mode="rb")  # type: ignore[assignment]
        return io.BufferedReader(CappedReader(inner, caps.max_bytes, path, caps))
    handle.seek(0)
    return handle


def check_values(path: Path | str, rows: int, columns: int, caps: Caps) -> None:
    """Refuse data with more than ``data.max_values`` values (rows x features)."""
    if rows * columns > caps.max_values:
        raise _error(
            f"{rows:,} rows x {columns:,} features = {rows * columns:,} values, more than "
            f"data.max_values = {caps.max_values:,}",
            path,
            "data.max_values",
            hint="raise data.max_values to read it, or use a smaller file",
        )
