"""One line at the bottom: the device, and what the explorer is doing."""

from __future__ import annotations

from rich.text import Text
from textual.reactive import reactive
from textual.widgets import Static

DEVICE_UNKNOWN = "CPU/GPU: detected at first run"


class StatusBar(Static):
    """``device | state`` with the state coloured by outcome (Done, Diverged, Failed, ...)."""

    device: reactive[str] = reactive(DEVICE_UNKNOWN)
    state: reactive[str] = reactive("Ready")
    problem: reactive[str] = reactive("")

    def render(self) -> Text:
        text = Text(no_wrap=True, overflow="ellipsis")
        text.append(f" {self.device} ", style="bold")
        text.append("| ")
        text.append(self.state, style=self._state_style())
        if self.problem:
            text.append("  | ")
            text.append(self.problem, style="bold red")
        return text

    def _state_style(self) -> str:
        word = self.state.split(" ", 1)[0].rstrip(":,")
        return {
            "Done": "bold green",
            "Diverged": "bold yellow",
            "Stopped": "bold yellow",
            "Failed": "bold red",
            "Training": "bold cyan",
            "Grid": "bold cyan",
        }.get(word, "")

    def set_device(self, device: str) -> None:
        """Show the device a run reported (CPU or the GPU's name)."""
        if device:
            self.device = device

    def set_state(self, state: str) -> None:
        """Show what is happening now (Ready / Training epoch 7/50 ... / Done / Failed)."""
        self.state = state

    def set_problem(self, problem: str | None) -> None:
        """Show the first problem of the edited experiment (or nothing)."""
        self.problem = problem or ""
