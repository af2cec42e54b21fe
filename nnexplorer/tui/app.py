"""The Textual explorer: edit an experiment, train it in a worker process, watch it learn.

This module and everything it imports at module level stay free of TensorFlow, so the first
frame appears long before a run loads it (in its own process, through ``core.runner``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import partial
from pathlib import Path
from typing import Any

from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.screen import Screen
from textual.worker import Worker, WorkerState

from nnexplorer.core.errors import NnxError, SpecError
from nnexplorer.core.spec import (
    DEFAULT_PRESET,
    ExperimentSpec,
    bundled_dir,
    bundled_presets,
    load_preset,
    save_preset,
)
from nnexplorer.core.spec.paths import canonical_key
from nnexplorer.tui.draft import Draft
from nnexplorer.tui.messages import EngineEvent, FieldEdited, GridEdited, LayersEdited
from nnexplorer.tui.run_flow import RunFlow
from nnexplorer.tui.screens.code_view import CodeScreen
from nnexplorer.tui.screens.dialogs import ConfirmDialog, ErrorDialog, PathDialog, preset_choices
from nnexplorer.tui.screens.help import HelpScreen
from nnexplorer.tui.screens.main import EDITOR_PANES, VIEW_PANES, MainScreen
from nnexplorer.tui.screens.runs_browser import RunsScreen
from nnexplorer.tui.widgets.log_panel import LogPanel
from nnexplorer.tui.widgets.metric_chart import MetricChart
from nnexplorer.tui.widgets.status_bar import StatusBar
from nnexplorer.tui.widgets.views import show_record

RunnerFactory = Callable[..., Any]
# actions of the main screen, off while a dialog or help page is on top (its own keys apply)
MAIN_ONLY = {"help", "save_as", "open", "code", "runs", "switch_side", "pane", "log_scale"}
# alt+1..alt+9, alt+0 (the Boundary view, the eleventh pane, is reached by F4 and the palette)
_ALT_KEYS = [f"alt+{i}" for i in (*range(1, 10), 0)]
PANE_KEYS = dict(zip(_ALT_KEYS, (EDITOR_PANES + VIEW_PANES)[: len(_ALT_KEYS)], strict=True))


class NNExplorerApp(RunFlow, App[int]):
    """Build, train, compare and tune feed-forward networks from the terminal."""

    CSS_PATH = "app.tcss"
    TITLE = "nnexplorer"
    BINDINGS = [
        Binding("f1", "help", "Help", priority=True),
        Binding("f5", "train", "Train", priority=True),
        Binding("f6", "grid", "Grid", priority=True),
        Binding("f7", "stop", "Stop", priority=True),
        Binding("ctrl+s", "save_as", "Save", priority=True),
        Binding("ctrl+o", "open", "Open", priority=True),
        Binding("ctrl+e", "code", "Code", priority=True),
        Binding("f2", "switch_side", "Side", priority=True),
        Binding("f3", "runs", "Runs", show=False, priority=True),
        Binding("ctrl+p", "command_palette", "Menu", priority=True),
        Binding("ctrl+q", "quit", "Quit", priority=True),
        Binding("ctrl+l", "log_scale", "Log scale", show=False, priority=True),
        *[
            Binding(key, f"pane('{pane}')", f"{pane.capitalize()} pane", show=False)
            for key, pane in PANE_KEYS.items()
        ],
    ]

    def __init__(
        self,
        spec: ExperimentSpec | None = None,
        preset_path: str | Path | None = None,
        runner_factory: RunnerFactory | None = None,
        runs_root: str | Path | None = None,
    ) -> None:
        super().__init__()
        if spec is None:
            spec = load_preset(preset_path or DEFAULT_PRESET)
        self.draft = Draft(spec.to_dict())
        self.preset_path = Path(preset_path) if preset_path else None
        self.init_runs(runner_factory, runs_root)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return not (action in MAIN_ONLY and len(self.screen_stack) > 1)

    def get_default_screen(self) -> Screen:
        self._main = MainScreen(id="main")
        return self._main

    @property
    def main(self) -> MainScreen:
        """The main screen (whatever is pushed above it)."""
        return self._main

    def on_main_screen_ready(self) -> None:
        self._set_subtitle()
        self.reload_editors()
        name = self.draft.data.get("experiment", {}).get("name", "")
        opened = f"Opened {self.preset_path}" if self.preset_path else f"Editing {name}"
        self.log_line(f"{opened}. F5 trains, F6 searches the grid, F1 explains the pane.")
        self.show_run_on_charts()

    # ------------------------------------------------------------------ draft and editors

    def reload_editors(self) -> None:
        """Load the draft into every editor and show its problems."""
        for editor in self.main.editors():
            editor.load(self.draft.data)
        self.revalidate()

    def revalidate(self) -> dict[str, str]:
        """Validate the draft; mark invalid fields in every editor and the status bar."""
        problems = self.draft.problems()
        for editor in self.main.editors():
            editor.show_problems(problems)
        self.main.query_one(StatusBar).set_problem(self.draft.first_problem())
        return problems

    def on_main_screen_editor_mounted(self, message: MainScreen.EditorMounted) -> None:
        message.editor.load(self.draft.data)
        message.editor.show_problems(self.draft.problems())

    def on_field_edited(self, message: FieldEdited) -> None:
        self.draft.apply(message.path, message.value)
        self.revalidate()

    def on_layers_edited(self, message: LayersEdited) -> None:
        self.draft.set_layers(message.layers)
        self.revalidate()

    def on_grid_edited(self, message: GridEdited) -> None:
        self.draft.set_grid(message.grid)
        self.revalidate()

    def _set_subtitle(self) -> None:
        name = self.draft.data.get("experiment", {}).get("name", "")
        where = self.preset_path.name if self.preset_path else "unsaved"
        self.sub_title = f"{name} ({where})"

    # ------------------------------------------------------------------ files

    def action_save_as(self) -> None:
        """Save the edited experiment as a preset file."""
        spec = self.draft.spec()
        if spec is None:
            self.error(
                "Cannot save yet",
                [f"fix this first: {self.draft.first_problem()}"],
            )
            return
        name = self.preset_path or Path(f"{spec.experiment.name}.toml")
        if name.resolve().parent == bundled_dir().resolve():
            name = Path(name.name)  # a copy here, never over the bundled preset
        self.push_screen(
            PathDialog("Save the preset as", str(name), action="Save"),
            partial(self._save, spec),
        )

    def _save(self, spec: ExperimentSpec, path: str | None, confirmed: bool = False) -> None:
        if not path:
            return
        target = Path(path).expanduser()
        if target.suffix != ".toml":
            target = target.with_name(target.name + ".toml")
        if target.exists() and not confirmed and target != self.preset_path:

            def answer(yes: bool | None) -> None:
                if yes:
                    self._save(spec, str(target), confirmed=True)

            self.push_screen(ConfirmDialog(f"{target} exists. Replace it?", "Replace"), answer)
            return
        try:
            save_preset(spec, target)
        except OSError as exc:
            self.error("Cannot save the preset", [f"{target}: {exc.strerror or exc}"])
            return
        self.preset_path = target
        self._set_subtitle()
        self.notify(f"Saved {target}")
        self.log_line(f"Saved the preset as {target}.")

    def action_open(self) -> None:
        """Open a preset file (bundled presets are listed)."""
        bundled = [(p.name, p.path, p.description) for p in bundled_presets()]
        choices = preset_choices(bundled, Path.cwd())
        self.push_screen(
            PathDialog("Open a preset", "", action="Open", choices=choices), self.open_preset
        )

    def open_preset(self, path: str | Path | None) -> bool:
        """Load ``path`` into the editors; on errors show them and keep the current state."""
        if not path:
            return False
        try:
            spec = load_preset(path)
        except SpecError as exc:
            self.error(f"Cannot open {path}", exc.lines())
            return False
        self.load_spec(spec, Path(path))
        return True

    def load_spec(self, spec: ExperimentSpec, path: Path | None) -> None:
        """Replace the draft with ``spec``."""
        self.draft = Draft(spec.to_dict())
        self.preset_path = path
        self._set_subtitle()
        self.reload_editors()
        self.log_line(f"Opened {path or spec.experiment.name}.")
        self.notify(f"Opened {path.name if path else spec.experiment.name}")

    def error(self, title: str, lines: list[str]) -> None:
        """Show an error dialog, log every line and notify."""
        for line in lines:
            self.log_line(line, "error")
        self.notify(lines[0] if lines else title, title=title, severity="error")
        self.push_screen(ErrorDialog(title, lines))

    # ------------------------------------------------------------------ screens

    def action_help(self) -> None:
        """Explain the concept behind the focused pane."""
        self.push_screen(HelpScreen(self.main.focused_pane()))

    def action_code(self) -> None:
        """Show the equivalent Keras (or scikeras + GridSearchCV) script."""
        spec = self.draft.spec()
        if spec is None:
            self.error("No script yet", [f"fix this first: {self.draft.first_problem()}"])
            return
        from nnexplorer.core.codegen import export_script

        try:
            script = export_script(spec)
        except NnxError as exc:
            self.error("Cannot write the script", exc.lines())
            return
        name = f"{spec.experiment.name}.py"
        self.push_screen(CodeScreen(script, f"Equivalent Keras script: {name}", name))

    def action_runs(self) -> None:
        """Browse past runs: curves, reopen a preset, resume a search."""
        from nnexplorer.core.runs import list_runs

        self.push_screen(RunsScreen(list_runs(self.runs_root)), self._run_chosen)

    def _run_chosen(self, choice: tuple[str, Path] | None) -> None:
        if choice is None:
            return
        what, run_dir = choice
        if what == "resume":
            self.resume(run_dir)
            return
        if what == "inside":
            show_record(self.main, run_dir)
            self.main.show_pane("inside")
            self.log_line(f"Showing what {run_dir.name} recorded inside the network.")
            return
        from nnexplorer.core.runs import load_run

        try:
            record = load_run(run_dir)
        except NnxError as exc:
            self.error("Cannot open that run", exc.lines())
            return
        self.load_spec(record.spec, None)

    def action_pane(self, pane: str) -> None:
        """Show and focus one pane."""
        self.main.show_pane(pane)

    def action_switch_side(self) -> None:
        """Switch between the editors and the charts (narrow terminals show one side)."""
        self.main.show_pane("charts" if self.main.side == "editors" else "layers")

    def action_log_scale(self) -> None:
        """Toggle the log scale of the loss chart."""
        self.main.query_one("#loss-chart", MetricChart).action_toggle_log()

    async def action_quit(self) -> None:
        """Quit; asks first while a run is active."""
        if not self.busy:
            self.exit(0)
            return
        if isinstance(self.screen, ConfirmDialog):
            return

        def answer(yes: bool | None) -> None:
            if yes:
                self.stop_and_exit()

        self.push_screen(
            ConfirmDialog("A run is active. Stop it and quit?", "Stop and quit", "Stay"), answer
        )

    def log_line(self, message: str, level: str = "info") -> None:
        """Add a line to the log pane."""
        self.main.query_one(LogPanel).add(message, level)

    def apply_best(self) -> None:
        """Copy the best grid candidate's values into the draft and the editors."""
        run = self.latest_grid()
        params = run.best_candidate_params() if run else None
        if not params:
            self.notify("No finished grid candidate to apply yet.", severity="warning")
            return
        # hidden.count first: it adds or removes the layers that the other keys may set
        ordered = sorted(params.items(), key=lambda kv: canonical_key(kv[0]) != "hidden.count")
        failed = [key for key, value in ordered if not self.draft.apply(canonical_key(key), value)]
        self.reload_editors()
        shown = ", ".join(f"{k}={v}" for k, v in params.items())
        self.log_line(f"Applied the best grid candidate: {shown}.")
        for key in failed:
            self.log_line(f"{key}: {self.draft.problems().get(key, 'could not be set')}", "warning")
        self.notify(f"Applied {shown}", title="Best candidate")

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        yield SystemCommand("Train (F5)", "Train the edited experiment", self.action_train)
        yield SystemCommand("Grid search (F6)", "Search the Grid pane's values", self.action_grid)
        yield SystemCommand("Stop (F7)", "Stop the running train or search", self.action_stop)
        yield SystemCommand(
            "Apply best", "Copy the best grid candidate into the editors", self.apply_best
        )
        yield SystemCommand(
            "Resume grid search", "Continue the last interrupted search", self.resume_last
        )
        yield SystemCommand(
            "Save preset as (ctrl+s)", "Write the experiment to a TOML file", self.action_save_as
        )
        yield SystemCommand("Open preset (ctrl+o)", "Load a preset file", self.action_open)
        yield SystemCommand("Keras code (ctrl+e)", "The equivalent Keras script", self.action_code)
        yield SystemCommand("Past runs (F3)", "Browse, reopen or resume runs", self.action_runs)
        yield SystemCommand("Help (F1)", "The concept behind the focused pane", self.action_help)
        yield SystemCommand(
            "Log scale (ctrl+l)", "Toggle the loss chart's log scale", self.action_log_scale
        )
        keys = {pane: f" ({key})" for key, pane in PANE_KEYS.items()}
        for pane in EDITOR_PANES + VIEW_PANES:
            yield SystemCommand(
                f"Show {pane} pane{keys.get(pane, '')}",
                f"Bring the {pane} pane into view",
                partial(self.action_pane, pane),
            )
        yield SystemCommand(
            "Next view (F4)",
            "Results, Heatmap, Inside, Evaluation, Boundary, Log in turn",
            self.main.action_next_view,
        )

    def on_unmount(self) -> None:
        # the thread following a run would otherwise wait on a worker that outlives the app
        self.kill_active()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.group == "run" and event.state in (WorkerState.ERROR, WorkerState.SUCCESS):
            self.worker_ended(event.worker)

    def on_engine_event(self, message: EngineEvent) -> None:
        self.handle_event(message.event)


def make_app(
    spec: ExperimentSpec | None = None,
    preset_path: str | Path | None = None,
    runner_factory: RunnerFactory | None = None,
    runs_root: str | Path | None = None,
) -> NNExplorerApp:
    """The explorer for ``spec`` (default: the bundled digits preset).

    ``runner_factory(spec, mode=, runs_root=, resume=)`` starts a run and returns a handle
    with ``events()``, ``stop()`` and ``kill()``; the default is ``core.runner.start_run``.
    """
    return NNExplorerApp(spec, preset_path, runner_factory, runs_root)


__all__ = ["NNExplorerApp", "make_app"]
