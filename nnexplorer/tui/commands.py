"""What the explorer can do now: the command palette's entries and when an action is available.

One rule serves the keys and the palette: :func:`availability` says whether an action of the
app can run (a run cannot start while one is active or while the terminal is too small to show
it, nothing can be stopped while none is, and the main screen's actions wait while a dialog or
help page is on top).
"""

from __future__ import annotations

from dataclasses import dataclass

from nnexplorer.core.help import LANGUAGE_NAMES
from nnexplorer.tui.screens.main import EDITOR_PANES, VIEW_PANES

# actions of the main screen, off while a dialog or help page is on top (its own keys apply)
MAIN_ONLY = frozenset(
    {"help", "save_as", "open", "code", "runs", "switch_side", "pane", "log_scale", "lessons"}
)
IDLE_ONLY = frozenset({"train", "grid", "resume_last"})  # not while a run is active
BUSY_ONLY = frozenset({"stop"})  # only while a run is active
# the Language commands' line of help, in the language each one switches to
LANGUAGE_HELP = {
    "en": "Help and teaching text in English",
    "es": "Ayuda y textos de aprendizaje en español",
}
# alt+1..alt+9, alt+0 (the Boundary view, the eleventh pane, is reached by F4 and the palette)
_ALT_KEYS = [f"alt+{i}" for i in (*range(1, 10), 0)]
PANE_KEYS = dict(zip(_ALT_KEYS, (EDITOR_PANES + VIEW_PANES)[: len(_ALT_KEYS)], strict=True))
_KEY_OF = {pane: f" ({key})" for key, pane in PANE_KEYS.items()}


def availability(action: str, *, on_main: bool, busy: bool, shown: bool = True) -> bool | None:
    """True: ``action`` can run now; None: not now (its key shows dimmed); False: not here.

    ``action`` is an action's name without parameters (``pane``, not ``pane('data')``).
    ``shown`` is False while the terminal is too small to show a run: none starts then.
    """
    if action in MAIN_ONLY and not on_main:
        return False
    if action in IDLE_ONLY and (busy or not shown):
        return None
    if action in BUSY_ONLY and not busy:
        return None
    return True


@dataclass(frozen=True)
class PaletteCommand:
    """An entry of the command palette: its title, a line of help, and the action it runs."""

    title: str
    help: str
    action: str  # as a binding writes it: ``train``, ``pane('data')``

    @property
    def name(self) -> str:
        """The action's name, without parameters."""
        return self.action.split("(", 1)[0]


PALETTE: tuple[PaletteCommand, ...] = (
    PaletteCommand("Train (F5)", "Train the edited experiment", "train"),
    PaletteCommand("Grid search (F6)", "Search (or sweep) the Grid pane's values", "grid"),
    PaletteCommand("Stop (F7)", "Stop the running train or search", "stop"),
    PaletteCommand("Apply best", "Copy the best grid candidate into the editors", "apply_best"),
    PaletteCommand("Resume grid search", "Continue the last interrupted search", "resume_last"),
    PaletteCommand("Save preset as (ctrl+s)", "Write the experiment to a TOML file", "save_as"),
    PaletteCommand("Open preset (ctrl+o)", "Load a preset file", "open"),
    PaletteCommand("Keras code (ctrl+e)", "The equivalent Keras script", "code"),
    PaletteCommand("Past runs (F3)", "Browse, reopen or resume runs", "runs"),
    PaletteCommand("Help (F1)", "The concept behind the focused pane", "help"),
    PaletteCommand(
        "Lessons (F8)", "One concept per lesson, with notes; the guided activity", "lessons"
    ),
    PaletteCommand("Log scale (ctrl+l)", "Toggle the loss chart's log scale", "log_scale"),
    *(
        PaletteCommand(f"Language: {name}", LANGUAGE_HELP.get(code, name), f"language('{code}')")
        for code, name in LANGUAGE_NAMES.items()
    ),
    *(
        PaletteCommand(
            f"Show {pane} pane{_KEY_OF.get(pane, '')}",
            f"Bring the {pane} pane into view",
            f"pane('{pane}')",
        )
        for pane in EDITOR_PANES + VIEW_PANES
    ),
    PaletteCommand(
        "Next view (F4)", "Results, Heatmap, Inside, Evaluation, Boundary, Log in turn", "next_view"
    ),
)
