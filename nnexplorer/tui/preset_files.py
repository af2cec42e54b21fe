"""Saving and opening presets from the explorer, without losing edits.

:class:`PresetFiles` is owned by the app. It remembers the experiment as it was last opened or
saved, so that opening another one (ctrl+o, or a past run's preset from F3) asks before it
discards unsaved edits; the path dialogs start from the preset being edited; and saving the
opened file again keeps its comments and key order (``save_preset(update=True)``).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nnexplorer.core.errors import SpecError
from nnexplorer.core.spec import (
    ExperimentSpec,
    bundled_dir,
    bundled_presets,
    load_preset,
    save_preset,
)
from nnexplorer.tui.draft import Draft
from nnexplorer.tui.screens.dialogs import ConfirmDialog, PathDialog, preset_choices

if TYPE_CHECKING:
    from nnexplorer.tui.app import NNExplorerApp


class PresetFiles:
    """Save as, open, and the question before unsaved edits are discarded."""

    def __init__(self, app: NNExplorerApp) -> None:
        self._app = app
        self._clean: dict[str, Any] = copy.deepcopy(app.draft.data)

    @property
    def dirty(self) -> bool:
        """True when the draft differs from the experiment last opened or saved."""
        return self._app.draft.data != self._clean

    def mark_clean(self) -> None:
        """The draft as it is now is what the file holds."""
        self._clean = copy.deepcopy(self._app.draft.data)

    # ------------------------------------------------------------------ saving

    def save_as(self) -> None:
        """Ask for a path (the opened preset's, by default) and save the experiment there."""
        app = self._app
        spec = app.draft.spec()
        if spec is None:
            app.error("Cannot save yet", [f"fix this first: {app.draft.first_problem()}"])
            return
        name = app.preset_path or Path(f"{spec.experiment.name}.toml")
        if name.resolve().parent == bundled_dir().resolve():
            name = Path(name.name)  # a copy here, never over the bundled preset
        app.push_screen(
            PathDialog("Save the preset as", str(name), action="Save"),
            partial(self._save, spec),
        )

    def _save(self, spec: ExperimentSpec, path: str | None, confirmed: bool = False) -> None:
        app = self._app
        if not path:
            return
        target = Path(path).expanduser()
        if target.suffix != ".toml":
            target = target.with_name(target.name + ".toml")
        reopened = app.preset_path is not None and _same_file(target, app.preset_path)
        if target.exists() and not confirmed and not reopened:

            def answer(yes: bool | None) -> None:
                if yes:
                    self._save(spec, str(target), confirmed=True)

            app.push_screen(ConfirmDialog(f"{target} exists. Replace it?", "Replace"), answer)
            return
        try:
            save_preset(spec, target, update=reopened)
        except OSError as exc:
            app.error("Cannot save the preset", [f"{target}: {exc.strerror or exc}"])
            return
        app.preset_path = target
        self.mark_clean()
        app.set_subtitle()
        app.notify(f"Saved {target}")
        app.log_line(f"Saved the preset as {target}.")

    # ------------------------------------------------------------------ opening

    def open(self) -> None:
        """Ask for a preset to open (bundled ones and ./*.toml listed), after unsaved edits."""
        self.unless_unsaved(self._ask_path)

    def _ask_path(self) -> None:
        bundled = [(p.name, p.path, p.description) for p in bundled_presets()]
        choices = preset_choices(bundled, Path.cwd())
        current = str(self._app.preset_path) if self._app.preset_path else ""
        dialog = PathDialog("Open a preset", current, action="Open", choices=choices)
        self._app.push_screen(dialog, self.open_path)

    def open_path(self, path: str | Path | None) -> None:
        """Load ``path`` into the editors; on errors show them and keep the current state."""
        if not path:
            return
        try:
            spec = load_preset(path)
        except SpecError as exc:
            self._app.error(f"Cannot open {path}", exc.lines())
            return
        self.load(spec, Path(path))

    def load(self, spec: ExperimentSpec, path: Path | None) -> None:
        """Replace the draft with ``spec`` (the preset at ``path``, if it is a file)."""
        app = self._app
        app.draft = Draft.from_spec(spec)
        app.preset_path = path
        self.mark_clean()
        app.set_subtitle()
        app.reload_editors()
        app.log_line(f"Opened {path or spec.experiment.name}.")
        app.notify(f"Opened {path.name if path else spec.experiment.name}")

    def unless_unsaved(self, then: Callable[[], None]) -> None:
        """Run ``then`` at once, or after the user agrees to discard unsaved edits."""
        if not self.dirty:
            then()
            return

        def answer(yes: bool | None) -> None:
            if yes:
                then()

        where = self._app.preset_path.name if self._app.preset_path else "the experiment"
        question = f"Unsaved changes to {where} will be lost. Discard them?"
        self._app.push_screen(ConfirmDialog(question, "Discard", "Keep editing"), answer)


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve()
    except OSError:
        return a == b
