"""Errors the engine raises on purpose: each one carries a message a user can act on."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ErrorItem:
    """One problem: where it is (file and key path) and what is wrong."""

    message: str
    path: str = ""
    file: str = ""

    def format(self) -> str:
        """``<file>: <key path>: <message>``, leaving out the parts that are unknown."""
        parts = [p for p in (self.file, self.path) if p]
        return ": ".join([*parts, self.message])


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
            out[-1] = f"{out[-1]} ({self.hint})"
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


class RunError(NnxError):
    """A run cannot be started, resumed or read back."""

    exit_code = 1


def describe_error(exc: BaseException) -> str:
    """A one-paragraph message for a failure: an NnxError's own text, else type and first line."""
    if isinstance(exc, NnxError):
        return str(exc)
    text = str(exc).strip().splitlines()
    first = text[0] if text else ""
    return f"{type(exc).__name__}: {first}" if first else type(exc).__name__
