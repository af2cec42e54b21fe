"""The Boundary view: a 2-feature classifier's decision regions with its training points,
redrawn as the run reports them (every few epochs and at the end).

Regions are filled with a character per class (blank, dots, colons, ...) over a class colour,
points are marked with a character per class (``o``, ``x``, ``+``, ...), so the picture reads
without colour. ``p`` hides or shows the training points.
"""

from __future__ import annotations

from typing import Any

from rich.console import Group
from rich.text import Text
from textual.binding import Binding
from textual.reactive import reactive
from textual.widget import Widget

from nnexplorer.core.events import DecisionBoundary
from nnexplorer.tui.inside_render import boundary_picture

WAITING = (
    "Decision regions appear here while a classifier with two input features trains "
    "(synthetic:moons, circles, 2-feature blobs or a 2-column file)."
)
EXTRA_LINES = 4  # title, x axis, feature names, legend


class BoundaryView(Widget):
    """Draws the latest ``decision_boundary`` event at the size of the widget."""

    DEFAULT_CSS = "BoundaryView { height: 1fr; padding: 0 1; }"
    can_focus = True
    BINDINGS = [Binding("p", "toggle_points", "Points", show=False)]
    points: reactive[bool] = reactive(True)

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.event: DecisionBoundary | None = None
        self.count = 0
        self._note = WAITING
        self._caption = ""

    def reset(self, note: str = WAITING) -> None:
        """Forget the regions shown (a new run starts)."""
        self.event, self.count, self._note, self._caption = None, 0, note, ""
        self.refresh()

    def show(self, event: DecisionBoundary, caption: str = "") -> None:
        """Draw ``event`` (the newest boundary of the run; ``caption``: a sweep's variant)."""
        self.event = event
        self._caption = caption
        self.count += 1
        self.refresh()

    def action_toggle_points(self) -> None:
        """Hide or show the training points."""
        self.points = not self.points

    def watch_points(self) -> None:
        self.refresh()

    def render(self) -> Any:
        event = self.event
        if event is None:
            return Text(self._note, style="dim")
        width, height = self.content_size
        when = "final" if event.final else f"epoch {event.epoch}"
        title = Text(f"Decision regions ({when})", style="bold")
        if self._caption:
            title.append(f" {self._caption}", style="bold")
        shown = f"{len(event.points)} training points" if self.points else "points hidden"
        title.append(f"  {shown}; p: points", style="dim")
        width = max(20, width)
        # about square: a character is twice as tall as it is wide
        rows = max(4, min(height - EXTRA_LINES, (width - 10) // 2))
        picture = boundary_picture(event, width, rows, points=self.points)
        return Group(title, picture)
