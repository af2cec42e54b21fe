"""The typed seams of the explorer: what it needs from a started run, and from an editor pane."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal, Protocol

from nnexplorer.core.events import Event
from nnexplorer.core.spec import ExperimentSpec

RunMode = Literal["train", "grid"]


class RunControl(Protocol):
    """A started run as the explorer follows it (``core.runner.RunHandle`` is one)."""

    @property
    def run_dir(self) -> Path:
        """The run's folder."""
        ...

    def events(self) -> Iterator[Event]:
        """The run's events, as they happen, up to and including ``run_finished``."""
        ...

    def stop(self) -> None:
        """Ask the run to stop after the current batch (it ends as ``cancelled``)."""
        ...

    def kill(self) -> None:
        """End the run's worker now."""
        ...


class StartRun(Protocol):
    """Starts a run of ``spec`` (``core.runner.start_run`` is one; tests pass a fake)."""

    def __call__(
        self,
        spec: ExperimentSpec,
        *,
        mode: RunMode,
        runs_root: Path | None,
        resume: Path | None,
    ) -> RunControl: ...


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
