"""A scrollable log of what happened: runs started and finished, warnings, errors."""

from __future__ import annotations

from rich.style import Style
from rich.text import Text
from textual.widgets import RichLog

LEVELS = ("debug", "warning", "error")  # the levels with a look of their own


class LogPanel(RichLog):
    """A RichLog with one verb: :meth:`add` a line at a level."""

    COMPONENT_CLASSES = {f"log-panel--{level}" for level in LEVELS}
    DEFAULT_CSS = """
    LogPanel > .log-panel--debug { text-style: dim; }
    LogPanel > .log-panel--warning { color: $text-warning; }
    LogPanel > .log-panel--error { color: $text-error; text-style: bold; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, wrap=True, markup=False, highlight=False, max_lines=5000)
        self.lines_written: list[str] = []

    def add(self, message: str, level: str = "info") -> None:
        """Append a line; warnings and errors are labelled and coloured."""
        label = f"{level.upper()}: " if level in ("warning", "error") else ""
        self.lines_written.append(f"{label}{message}")
        style = Style()
        if level in LEVELS:  # (a line written before the styles apply stays plain)
            style = self.get_component_rich_style(
                f"log-panel--{level}", partial=True, default=style
            )
        self.write(Text(f"{label}{message}", style=style))
