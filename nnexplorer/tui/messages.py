"""Textual messages: edits made in the editor panes, and engine events from a run."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from textual.message import Message

from nnexplorer.core.events import BatchProgress, Event


@dataclass
class FieldEdited(Message):
    """A form changed one preset value; ``path`` is a dotted key path (``fit.epochs``,
    ``layers.2.units``, ``layers.0.kernel_regularizer.l2``); ``value`` None removes the key."""

    path: str
    value: Any


@dataclass
class LayersEdited(Message):
    """The layer stack changed shape (add, remove, move, duplicate): the whole new list."""

    layers: list[dict[str, Any]]
    selected: int


@dataclass
class GridEdited(Message):
    """The grid editor changed the ``[grid]`` table (None: no grid)."""

    grid: dict[str, Any] | None


@dataclass
class EngineEvent(Message):
    """An event from the engine (run_started, epoch_ended, ...), delivered on the UI thread.

    A batch-progress message still waiting in the queue when the next one arrives is dropped
    (only the latest position matters); every other event is delivered.
    """

    event: Event

    def can_replace(self, message: Message) -> bool:
        # Textual asks the queued message whether ``message``, queued right after it,
        # supersedes it; if so it is dropped and ``message`` delivered in its place.
        return (
            isinstance(self.event, BatchProgress)
            and isinstance(message, EngineEvent)
            and isinstance(message.event, BatchProgress)
        )
