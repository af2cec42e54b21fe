"""Errors the engine raises on purpose: each one carries a message a user can act on."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

MAX_LINE = 600  # the longest line an error may print (a backstop: values are cut to excerpts)
EXCERPT = 60  # the most characters of a value an error quotes


def excerpt(value: Any, limit: int = EXCERPT) -> str:
    """``repr(value)`` cut to about ``limit`` characters, saying how long the whole value is.

    An error never echoes a huge input: ``'xxxx…' (89,000,000 characters)``, ``an integer of
    5000 digits``. Integers too long for ``repr`` (Python refuses beyond 4300 digits) are
    described by their number of digits.
    """
    if isinstance(value, bool) or value is None:
        return repr(value)
    if isinstance(value, int):
        digits = _digits(value)
        if digits > 30:
            return f"{'a negative' if value < 0 else 'an'} integer of {digits} digits"
        return repr(value)
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)
    if isinstance(value, str | bytes):
        if len(value) <= limit:
            return repr(value)
        unit = "characters" if isinstance(value, str) else "bytes"
        return f"{value[:limit]!r}… ({len(value):,} {unit})"
    if isinstance(value, list | tuple | dict | set) and len(value) > 20:
        kind = type(value).__name__
        return f"a {kind} of {len(value):,} items"
    text = _safe_repr(value)
    return text if len(text) <= limit else f"{text[:limit]}… ({len(text):,} characters)"


def cut(text: str, limit: int = MAX_LINE) -> str:
    """``text`` cut to ``limit`` characters (an ellipsis marks the cut)."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _digits(value: int) -> int:
    # bit_length * log10(2) is exact to within one digit; avoids str() on huge numbers
    n = abs(value)
    if n < 10**30:
        return len(str(n))
    estimate = int(n.bit_length() * 0.30102999566398120)
    return estimate + 1 if n >= 10**estimate else estimate


def _safe_repr(value: Any) -> str:
    try:
        return repr(value)
    except Exception:  # a value whose repr fails (a huge integer inside a list, ...)
        return f"a {type(value).__name__}"


@dataclass(frozen=True)
class ErrorItem:
    """One problem: where it is (file and key path) and what is wrong."""

    message: str
    path: str = ""
    file: str = ""

    def format(self) -> str:
        """``<file>: <key path>: <message>``, leaving out the parts that are unknown."""
        parts = [p for p in (self.file, self.path) if p]
        return cut(": ".join([*parts, self.message]))


class NnxError(Exception):
    """Base of every error nnexplorer reports to a user without a traceback."""

    exit_code = 2

    def __init__(self, message: str, hint: str = "", *, items: list[ErrorItem] | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.items: list[ErrorItem] = list(items) if items else [ErrorItem(message)]

    def lines(self) -> list[str]:
        """One line per problem, each naming file, key path and what is allowed."""
        out = [item.format() for item in self.items]
        if self.hint:
            out[-1] = cut(f"{out[-1]} ({self.hint})")
        return out

    def __str__(self) -> str:
        return "\n".join(self.lines())


class SpecError(NnxError):
    """A preset, an override or an edited field is invalid."""

    @classmethod
    def from_items(cls, items: list[ErrorItem]) -> SpecError:
        """Bundle several problems into one error (all errors of a file at once)."""
        head = items[0].format() if items else "invalid experiment"
        return cls(head, items=items)

    def with_file(self, file: str) -> SpecError:
        """The same problems, attributed to ``file``."""
        items = [ErrorItem(i.message, i.path, i.file or file) for i in self.items]
        return SpecError.from_items(items)


class DataError(NnxError):
    """A dataset cannot be found, read or understood."""


class LimitError(NnxError):
    """An experiment is larger than this machine or than a set limit (refused before it runs)."""


class PathError(NnxError):
    """A file or folder named on the command line cannot be used (a folder, missing, read-only)."""


class RunInUse(NnxError):
    """Another process is writing the run directory (it holds the directory's lock)."""


class ResumeError(NnxError):
    """A run cannot be resumed as asked (other data, another experiment); nothing was changed."""


class RunError(NnxError):
    """A run cannot be started, resumed or read back."""

    exit_code = 1


class RecordError(RunError):
    """A run's records could not be written (a full disk, a read-only folder)."""


def describe_error(exc: BaseException) -> str:
    """A one-paragraph message for a failure: an NnxError's own text, else type and its cause.

    TensorFlow reports an error inside a compiled step as "Graph execution error:" followed by
    the Python frames and, at the end, the real cause; that cause is what is shown. A chained
    exception (``raise ... from``) is described by its root cause.
    """
    if isinstance(exc, NnxError):
        return str(exc)
    root = _root(exc)
    cause = _graph_cause(str(root)) or _first_line(root)
    name = type(root).__name__
    return cut(f"{name}: {cause}", 400) if cause else name


def _root(exc: BaseException) -> BaseException:
    seen = {id(exc)}
    while True:
        nxt = exc.__cause__  # an explicit ``raise ... from``; an implicit context is history
        if nxt is None or id(nxt) in seen:
            return exc
        if not _first_line(nxt):  # a bare wrapper says less than what it wraps
            return exc
        seen.add(id(nxt))
        exc = nxt


def _first_line(exc: BaseException) -> str:
    try:
        text = str(exc).strip()
    except Exception:
        return ""
    return text.splitlines()[0] if text else ""


_GRAPH_NOISE = ("File ", "Detected at node", "Graph execution error", "[[{{node", "[Op:")


def _graph_cause(text: str) -> str:
    """The cause at the end of a TensorFlow "Graph execution error" message ('' if none)."""
    if not text.lstrip().startswith("Graph execution error"):
        return ""
    lines = [line.strip() for line in text.splitlines()]
    kept = [line for line in lines if line and not line.startswith(_GRAPH_NOISE)]
    if not kept:
        return ""
    cause = kept[-1].split("[[{{node")[0].strip()
    return " ".join(cause.split())
