"""A scrollable log of what happened: runs started and finished, warnings, errors."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import RichLog

LEVEL_STYLES = {"debug": "dim", "info": "", "warning": "yellow", "error": "bold red"}


class LogPanel(RichLog):
    """A RichLog with one verb: :meth:`add` a line at a level."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, wrap=True, markup=False, highlight=False, max_lines=5000)
        self.lines_written: list[str] = []

    def add(self, message: str, level: str = "info") -> None:
        """Append a line; warnings and errors are labelled and coloured."""
        label = f"{level.upper()}: " if level in ("warning", "error") else ""
        self.lines_written.append(f"{label}{message}")
        self.write(Text(f"{label}{message}", style=LEVEL_STYLES.get(level, "")))
