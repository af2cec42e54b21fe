"""The key footer, fitted to the terminal's width.

Textual's footer lists every shown key in one row and cuts it where the width ends, so on an
80-column terminal a focused pane's own keys pushed the run keys out of sight (``f7 Sto``).
:class:`KeyFooter` leaves out the keys least needed at a glance until the rest fits: the run
keys, help and quit stay, then pane switching, then the focused pane's own keys, then the menu
(which lists every action) and the file keys. Everything left out stays in the help page (F1)
and the command palette (ctrl+p).
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.events import Resize
from textual.widget import Widget
from textual.widgets import Footer
from textual.widgets._footer import FooterKey

# app actions by how much they are needed at a glance (lower: kept longer); a focused pane's
# own keys rank LOCAL
RANKS: dict[str, int] = {
    "help": 0,
    "train": 0,
    "stop": 0,
    "quit": 0,
    "grid": 1,
    "switch_side": 1,
    "pane": 1,
    "lessons": 1,
    "command_palette": 3,
    "save_as": 4,
    "open": 4,
    "code": 5,
}
LOCAL = 2
APP_PREFIX = "app."


def key_width(key_display: str, description: str) -> int:
    """Columns a compact footer key takes: ``f5 Train`` and the space after it."""
    return len(key_display) + 1 + len(description) + 1 if description else len(key_display) + 1


def rank(action: str) -> int:
    """How much ``action`` is needed at a glance (see :data:`RANKS`)."""
    name = action.removeprefix(APP_PREFIX).split("(", 1)[0]
    return RANKS.get(name, LOCAL)


def fitted(keys: list[tuple[str, int, int]], width: int) -> set[int]:
    """The indexes of ``(action, width, index)`` entries to keep within ``width`` columns.

    The least needed (highest rank) go first; among equals, the last ones.
    """
    kept = {index for _, _, index in keys}
    total = sum(w for _, w, _ in keys)
    for action, w, index in sorted(keys, key=lambda k: (rank(k[0]), k[2]), reverse=True):
        if total <= width:
            break
        if rank(action) == 0:
            continue  # never left out
        kept.discard(index)
        total -= w
    return kept


class KeyFooter(Footer):
    """A compact :class:`~textual.widgets.Footer` that leaves out the least needed keys when
    they do not all fit (see the module docstring)."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, compact=True, show_command_palette=False)
        self._width = 0
        # the keys are known from the start: show them in the first frame
        self.set_reactive(Footer._bindings_ready, True)

    def compose(self) -> ComposeResult:
        widgets: list[Widget] = list(super().compose())
        keys = [
            (w.action, key_width(w.key_display, w.description), i)
            for i, w in enumerate(widgets)
            if isinstance(w, FooterKey)
        ]
        kept = fitted(keys, self._width or self.app.size.width)
        shown = [w for i, w in enumerate(widgets) if not isinstance(w, FooterKey) or i in kept]
        # the app's keys first, always in the same place; then those of the focused pane
        yield from sorted(shown, key=lambda w: isinstance(w, FooterKey) and rank(w.action) == LOCAL)

    def on_mount(self) -> None:
        super().on_mount()
        self._width = self.app.size.width

    def on_resize(self, event: Resize) -> None:
        if event.size.width != self._width:
            self._width = event.size.width
            self.call_after_refresh(self.recompose)

    @property
    def shown_keys(self) -> list[str]:
        """The keys on show (``f5``, ``alt+1``...), left to right."""
        return [key.key for key in self.query(FooterKey)]
