"""Textual messages: edits made in the editor panes, and engine events from a run."""

from __future__ import annotations

from typing import Any

from textual.message import Message

from nnexplorer.core.events import Event


class FieldEdited(Message):
    """A form changed one preset value; ``path`` is a dotted key path (``fit.epochs``,
    ``layers.2.units``, ``layers.0.kernel_regularizer.l2``); ``value`` None removes the key."""

    def __init__(self, path: str, value: Any) -> None:
        super().__init__()
        self.path = path
        self.value = value


class LayersEdited(Message):
    """The layer stack changed shape (add, remove, move, duplicate): the whole new list."""

    def __init__(self, layers: list[dict[str, Any]], selected: int) -> None:
        super().__init__()
        self.layers = layers
        self.selected = selected


class GridEdited(Message):
    """The grid editor changed the ``[grid]`` table (None: no grid)."""

    def __init__(self, grid: dict[str, Any] | None) -> None:
        super().__init__()
        self.grid = grid


class EngineEvent(Message):
    """An event from the engine (run_started, epoch_ended, ...), delivered on the UI thread."""

    def __init__(self, event: Event) -> None:
        super().__init__()
        self.event = event
