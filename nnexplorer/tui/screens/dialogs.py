"""Small modal dialogs: confirm, quit during a run, choose a file path (save as / open), and
show errors."""

from __future__ import annotations

from pathlib import Path

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from nnexplorer.tui.widgets.ordered_input import OrderedInput


class ConfirmDialog(ModalScreen[bool]):
    """A yes/no question; ``y``/enter answers yes, ``n``/escape answers no."""

    BINDINGS = [
        Binding("y", "answer(True)", "Yes"),
        Binding("n,escape", "answer(False)", "No"),
    ]

    def __init__(self, question: str, yes: str = "Yes", no: str = "No") -> None:
        super().__init__(classes="dialog")
        self._question, self._yes, self._no = question, yes, no

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog-box"):
            yield Static(self._question, classes="dialog-text")
            with Horizontal(classes="dialog-buttons"):
                yield Button(self._yes, id="yes", variant="error")
                yield Button(self._no, id="no", variant="primary")

    def on_mount(self) -> None:
        self.set_focus(self.query_one("#no", Button))

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")

    def action_answer(self, answer: bool) -> None:
        self.dismiss(answer)


class QuitDialog(ModalScreen[str]):
    """Quitting while a run is active: ``s`` stops it, ``l`` leaves it running, escape cancels.

    Dismisses with ``stop``, ``leave`` or ``cancel``.
    """

    BINDINGS = [
        Binding("s", "answer('stop')", "Stop it"),
        Binding("l", "answer('leave')", "Leave running"),
        Binding("escape", "answer('cancel')", "Cancel"),
    ]

    def __init__(self, name: str, state: str) -> None:
        super().__init__(classes="dialog")
        self._name, self._state = name, state

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog-box"):
            yield Label("Quit while a run is active?", classes="dialog-title")
            yield Static(
                f"{self._name}: {self._state}\n\nStop it after the current batch, or leave it "
                "running on its own (`nnexplorer attach` follows it again, `nnexplorer runs` "
                "lists it).",
                classes="dialog-text",
                markup=False,
            )
            with Horizontal(classes="dialog-buttons"):
                yield Button("Stop (s)", id="stop", variant="error")
                yield Button("Leave running (l)", id="leave", variant="primary")
                yield Button("Cancel (esc)", id="cancel")

    def on_mount(self) -> None:
        self.query_one("#cancel", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id or "cancel")

    def action_answer(self, choice: str) -> None:
        self.dismiss(choice)


class PathDialog(ModalScreen[str | None]):
    """Ask for a file path; optional choices (e.g. bundled presets) fill the input."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(
        self,
        title: str,
        initial: str = "",
        *,
        action: str = "OK",
        choices: list[tuple[str, str]] | None = None,
    ) -> None:
        super().__init__(classes="dialog")
        self._title, self._initial, self._action = title, initial, action
        self._choices = choices or []

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog-box"):
            yield Label(self._title, classes="dialog-title")
            yield OrderedInput(self._initial, placeholder="path/to/preset.toml", id="path")
            if self._choices:
                yield OptionList(
                    *[Option(label, id=value) for label, value in self._choices], id="choices"
                )
            yield Static("", id="path-problem", classes="dialog-problem")
            with Horizontal(classes="dialog-buttons"):
                yield Button(self._action, id="ok", variant="primary")
                yield Button("Cancel", id="cancel")

    def on_mount(self) -> None:
        self.set_focus(self.query_one("#path", Input))

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        # only a choice the user moves to fills the path (not the list's own first highlight)
        if event.option.id and event.option_list.has_focus:
            self.query_one("#path", Input).value = event.option.id

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        if event.option.id:
            self.query_one("#path", Input).value = event.option.id
            self._submit()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self._submit()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "ok":
            self._submit()
        else:
            self.dismiss(None)

    def _submit(self) -> None:
        value = self.query_one("#path", Input).value.strip()
        if not value:
            self.query_one("#path-problem", Static).update("Type a file path first.")
            return
        self.dismiss(value)

    def action_cancel(self) -> None:
        self.dismiss(None)


class ErrorDialog(ModalScreen[None]):
    """A title and the lines of an error (one problem per line); enter or escape closes it."""

    BINDINGS = [Binding("escape,enter", "close", "Close")]

    def __init__(self, title: str, lines: list[str]) -> None:
        super().__init__(classes="dialog")
        self._title, self._lines = title, lines

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog-box error-box"):
            yield Label(self._title, classes="dialog-title")
            with VerticalScroll(classes="dialog-lines"):
                for line in self._lines:
                    yield Static(line, classes="error-line", markup=False)
            with Horizontal(classes="dialog-buttons"):
                yield Button("OK", id="ok", variant="primary")

    def on_mount(self) -> None:
        self.set_focus(self.query_one("#ok", Button))

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(None)

    def action_close(self) -> None:
        self.dismiss(None)


def preset_choices(bundled: list[tuple[str, Path, str]], folder: Path) -> list[tuple[str, str]]:
    """Bundled presets, then the .toml files of ``folder``, as (label, path) choices."""
    out = [(f"{name} - {text}" if text else name, str(path)) for name, path, text in bundled]
    try:
        local = sorted(folder.glob("*.toml"))[:50]
    except OSError:
        local = []
    out.extend((f"./{p.name}", str(p)) for p in local)
    return out
