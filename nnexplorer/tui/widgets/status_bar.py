"""One line at the bottom: the device, and what the explorer is doing."""

from __future__ import annotations

from rich.text import Text
from textual.reactive import reactive
from textual.widgets import Static

from nnexplorer.core.formatting import STATUS_WORDS, Tone, status_tone

DEVICE_UNKNOWN = "CPU/GPU: detected at first run"
# A status tone -> the component class that colours it (the theme picks the colour).
TONE_CLASSES: dict[Tone, str] = {
    "good": "status-bar--done",
    "warning": "status-bar--warning",
    "error": "status-bar--failed",
    "busy": "status-bar--running",
}
# The state's first word -> its tone: an ended run shows its status word, capitalised.
WORD_TONES: dict[str, Tone] = {
    **{word.capitalize(): status_tone(status) for status, word in STATUS_WORDS.items()},
    "Training": "busy",
    "Grid": "busy",
}


class StatusBar(Static):
    """``device | state`` with the state coloured by outcome (Done, Diverged, Failed, ...)."""

    COMPONENT_CLASSES = {
        "status-bar--device",
        "status-bar--done",
        "status-bar--warning",
        "status-bar--failed",
        "status-bar--running",
        "status-bar--problem",
    }
    DEFAULT_CSS = """
    StatusBar > .status-bar--device { text-style: bold; }
    StatusBar > .status-bar--done { color: $text-success; text-style: bold; }
    StatusBar > .status-bar--warning { color: $text-warning; text-style: bold; }
    StatusBar > .status-bar--failed { color: $text-error; text-style: bold; }
    StatusBar > .status-bar--running { color: $text-accent; text-style: bold; }
    StatusBar > .status-bar--problem { color: $text-error; text-style: bold; }
    """

    device: reactive[str] = reactive(DEVICE_UNKNOWN)
    state: reactive[str] = reactive("Ready")
    problem: reactive[str] = reactive("")

    def render(self) -> Text:
        style = self.get_component_rich_style
        text = Text(no_wrap=True, overflow="ellipsis")
        text.append(f" {self.device} ", style=style("status-bar--device", partial=True))
        text.append("| ")
        state_class = self._state_class()
        text.append(self.state, style=style(state_class, partial=True) if state_class else "")
        if self.problem:
            text.append("  | ")
            text.append(self.problem, style=style("status-bar--problem", partial=True))
        return text

    def _state_class(self) -> str | None:
        word = self.state.split(" ", 1)[0].rstrip(":,")
        tone = WORD_TONES.get(word)
        return TONE_CLASSES.get(tone) if tone is not None else None

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
