"""ctrl+e: the standalone Keras (or scikeras + GridSearchCV) script of the edited experiment."""

from __future__ import annotations

from pathlib import Path

from rich.syntax import Syntax
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Footer, Label, Static

from nnexplorer.tui.screens.dialogs import PathDialog


class CodeScreen(ModalScreen[None]):
    """Shows a script; ``w`` writes it to a file, escape closes."""

    BINDINGS = [
        Binding("escape,q", "close", "Close"),
        Binding("w", "write", "Write to file"),
    ]

    def __init__(self, script: str, title: str, default_name: str = "experiment.py") -> None:
        super().__init__(id="code-screen")
        self.script = script
        self._title = title
        self._default_name = default_name

    def compose(self) -> ComposeResult:
        yield Label(self._title, id="code-title")
        with VerticalScroll(id="code-scroll"):
            yield Static(
                Syntax(
                    self.script, "python", line_numbers=True, word_wrap=False, theme="ansi_dark"
                ),
                id="code-text",
            )
        yield Footer(show_command_palette=False)  # ^p Menu is one of the keys

    def on_mount(self) -> None:
        self.query_one("#code-scroll").focus()

    def action_close(self) -> None:
        self.dismiss(None)

    def action_write(self) -> None:
        def write(path: str | None) -> None:
            if not path:
                return
            from nnexplorer.core.files import write_atomic

            target = Path(path).expanduser()
            if target.is_dir():
                self.notify(f"{target} is a folder; give a file name", severity="error")
                return
            try:
                write_atomic(target, self.script)  # a failed write never leaves half a script
            except OSError as exc:
                self.notify(f"Cannot write {path}: {exc.strerror}", severity="error")
                return
            self.notify(f"Wrote {target}")

        self.app.push_screen(
            PathDialog("Write the script to", self._default_name, action="Write"), write
        )
