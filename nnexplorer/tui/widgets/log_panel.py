"""A scrollable log of what happened: runs started and finished, warnings, errors.

Lines wrap at the pane's width (again when it changes), and the log shows its newest lines
whenever it comes into view.
"""

from __future__ import annotations

from rich.style import Style
from rich.text import Text
from textual.events import Resize
from textual.widgets import RichLog

LEVELS = ("debug", "warning", "error")  # the levels with a look of their own
MAX_LINES = 5000


class LogPanel(RichLog):
    """A RichLog with one verb: :meth:`add` a line at a level."""

    COMPONENT_CLASSES = {f"log-panel--{level}" for level in LEVELS}
    DEFAULT_CSS = """
    LogPanel > .log-panel--debug { text-style: dim; }
    LogPanel > .log-panel--warning { color: $text-warning; }
    LogPanel > .log-panel--error { color: $text-error; text-style: bold; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        # min_width 1: wrap at the pane's width (RichLog's default of 78 clips a narrower pane)
        super().__init__(
            id=id, wrap=True, markup=False, highlight=False, max_lines=MAX_LINES, min_width=1
        )
        self.lines_written: list[str] = []
        self._levels: list[str] = []
        self._wrapped_at = 0

    def add(self, message: str, level: str = "info") -> None:
        """Append a line; warnings and errors are labelled and coloured."""
        label = f"{level.upper()}: " if level in ("warning", "error") else ""
        self.lines_written.append(f"{label}{message}")
        self._levels.append(level)
        del self.lines_written[:-MAX_LINES], self._levels[:-MAX_LINES]
        self._write(self.lines_written[-1], level)

    def _write(self, line: str, level: str) -> None:
        style = Style()
        if level in LEVELS:  # (a line written before the styles apply stays plain)
            style = self.get_component_rich_style(
                f"log-panel--{level}", partial=True, default=style
            )
        width = self.scrollable_content_region.width or None  # wrap at the pane, once known
        self.write(Text(line, style=style), width=width, scroll_end=True)

    def on_resize(self, event: Resize) -> None:
        # (RichLog's own handler runs too: Textual calls each class's handler in turn)
        self.call_after_refresh(self._rewrap)  # once the new size is laid out

    def _rewrap(self) -> None:
        width = self.scrollable_content_region.width
        if width and width != self._wrapped_at:  # wrap every line again at the new width
            self._wrapped_at = width
            self.clear()
            for line, level in zip(self.lines_written, self._levels, strict=True):
                self._write(line, level)
            self.scroll_end(animate=False, immediate=True)

    def on_show(self) -> None:
        self.scroll_end(animate=False)  # the newest lines, also when it was hidden meanwhile
