"""The typed seams of the explorer: a started run (core's ``RunControl``) and an editor pane."""

from __future__ import annotations

from typing import Any, Protocol

from nnexplorer.core.runner import RunControl, StartRun

__all__ = ["EditorPane", "RunControl", "StartRun"]


class EditorPane(Protocol):
    """An editor pane (Data, Layers, Training, Grid) as the app drives it.

    The pane shows its part of the preset dict it is given and posts edits as messages
    (``FieldEdited``, ``LayersEdited``, ``GridEdited``); the app validates the whole draft and
    hands every pane the problems, each pane showing the ones of its own keys.
    """

    def load(self, data: dict[str, Any]) -> None:
        """Show the values of the preset dict ``data`` (a whole experiment)."""
        ...

    def show_problems(self, problems: dict[str, str]) -> None:
        """Mark the fields named in ``problems`` (key path -> reason); clear the others."""
        ...

    def focus_field(self, path: str) -> bool:
        """Focus the field that shows the key path ``path``; False if the pane has none."""
        ...
