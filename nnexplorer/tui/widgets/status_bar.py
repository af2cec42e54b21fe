"""One line at the bottom: the device, and what the explorer is doing."""

from __future__ import annotations

from rich.text import Text
from textual.reactive import reactive
from textual.widgets import Static

from nnexplorer.core.formatting import STATUS_WORDS, Tone, status_tone

DEVICE_UNKNOWN = "CPU/GPU: detected at first run"
TONE_STYLES: dict[Tone, str] = {
    "good": "bold green",
    "warning": "bold yellow",
    "error": "bold red",
    "busy": "bold cyan",
    "quiet": "",
}
# The state's first word -> its tone: an ended run shows its status word, capitalised.
WORD_TONES: dict[str, Tone] = {
    **{word.capitalize(): status_tone(status) for status, word in STATUS_WORDS.items()},
    "Training": "busy",
    "Grid": "busy",
}


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
        tone = WORD_TONES.get(word)
        return TONE_STYLES[tone] if tone is not None else ""

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
