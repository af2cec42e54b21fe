"""The Textual explorer: edit an experiment, train it in a worker process, watch it learn.

This module and everything it imports at module level stay free of TensorFlow, so the first
frame appears long before a run loads it (in its own process, through ``core.runner``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import partial
from pathlib import Path

from textual import events
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.reactive import reactive
from textual.screen import Screen
from textual.worker import Worker, WorkerState

from nnexplorer.core.errors import NnxError
from nnexplorer.core.events import RunFinished
from nnexplorer.core.help import DEFAULT_LANG, LANGUAGE_NAMES
from nnexplorer.core.spec import (
    DEFAULT_PRESET,
    ExperimentSpec,
    load_preset,
)
from nnexplorer.core.spec.paths import canonical_key
from nnexplorer.tui.commands import PALETTE, PANE_KEYS, availability
from nnexplorer.tui.draft import Draft
from nnexplorer.tui.keys import esc_digit_pane, pane_bindings
from nnexplorer.tui.lesson_flow import LESSON_PANE, LessonFlow, lesson_of
from nnexplorer.tui.messages import EngineEvent, FieldEdited, GridEdited, LayersEdited
from nnexplorer.tui.preset_files import PresetFiles
from nnexplorer.tui.protocols import StartRun
from nnexplorer.tui.run_flow import RUN_GROUP, RunController
from nnexplorer.tui.screens.code_view import CodeScreen
from nnexplorer.tui.screens.dialogs import ErrorDialog, QuitDialog
from nnexplorer.tui.screens.help import HelpScreen
from nnexplorer.tui.screens.main import MainScreen
from nnexplorer.tui.screens.runs_browser import RunsScreen
from nnexplorer.tui.session import RunView
from nnexplorer.tui.widgets.heatmap import Heatmap
from nnexplorer.tui.widgets.lesson_notes import LessonNotes
from nnexplorer.tui.widgets.results_table import ResultsTable
from nnexplorer.tui.widgets.views import show_record

QUIT_BUILD_GRACE = 5.0  # seconds a quit waits at most for the editor panes being built
QUIT_GRACE = 10.0  # seconds quitting waits for a stopping run; then it stops on its own
START_STATE = "Ready. Focus: the layer list; alt+1-0 panes"
START_FOCUS = (
    "The focus is on the layer list (Layers pane): a adds a layer, enter edits it; tab moves "
    "between fields, alt+1..alt+0 switch panes (also inside tmux), F2 switches editors/views."
)


class NNExplorerApp(App[int]):
    """Build, train, compare and tune feed-forward networks from the terminal."""

    CSS_PATH = "app.tcss"
    TITLE = "nnexplorer"
    BINDINGS = [
        Binding("f1", "help", "Help", priority=True),
        Binding("f5", "train", "Train", priority=True),
        Binding("f6", "grid", "Grid", priority=True),
        Binding("f7", "stop", "Stop", priority=True),
        Binding("f8", "lessons", "Lessons", priority=True),
        Binding("ctrl+s", "save_as", "Save", priority=True),
        Binding("ctrl+o", "open", "Open", priority=True),
        Binding("ctrl+e", "code", "Code", priority=True),
        Binding("f2", "switch_side", "Side", priority=True),
        Binding("f3", "runs", "Runs", show=False, priority=True),
        Binding("ctrl+p", "command_palette", "Menu", priority=True),
        Binding("ctrl+q", "quit", "Quit", priority=True),
        Binding("ctrl+l", "log_scale", "Log scale", show=False, priority=True),
        *pane_bindings(tuple(PANE_KEYS.values())),
        # focus moves when the key arrives, not after the focused field has seen it: keys
        # typed ahead then land in the field the tab led to
        Binding("tab", "focus_next", "Next field", show=False, priority=True),
        Binding("shift+tab", "focus_previous", "Previous field", show=False, priority=True),
    ]
    language: reactive[str] = reactive(DEFAULT_LANG)  # of the help and teaching text

    def __init__(
        self,
        spec: ExperimentSpec | None = None,
        preset_path: str | Path | None = None,
        runner_factory: StartRun | None = None,
        runs_root: str | Path | None = None,
        slots: int | None = None,
        language: str = DEFAULT_LANG,
    ) -> None:
        super().__init__()
        self.set_reactive(NNExplorerApp.language, language)
        if spec is None:
            spec = load_preset(preset_path or DEFAULT_PRESET)
        self.draft = Draft.from_spec(spec)
        self.preset_path = Path(preset_path) if preset_path else None
        self.run_control = RunController(self, runner_factory, runs_root, slots)
        self.files = PresetFiles(self)
        self._shown_before = True
        self.lesson_flow = LessonFlow(self)
        self._quitting = False
        self._exit_when_built = False  # ctrl+q came while the editor panes were being built
        self.left_running: list[Path] = []  # runs that quitting left going (Leave running)
        self.still_stopping: list[Path] = []  # runs asked to stop that had not ended at exit

    async def on_event(self, event: events.Event) -> None:
        # alt+N inside tmux arrives as ESC+N: switch panes as it arrives, before a field types it
        if isinstance(event, events.Key) and not event.is_forwarded and self.screen_stack:
            pane = esc_digit_pane(event.key, tuple(PANE_KEYS.values()))
            if pane is not None and self.check_action("pane", (pane,)):
                self.action_pane(pane)
                return
        await super().on_event(event)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        on_main = len(self.screen_stack) == 1
        if action == "switch_side" and on_main and self.main.wide:
            return False  # both sides are on show: nothing to switch (and no key in the footer)
        return availability(
            action, on_main=on_main, busy=self.run_control.busy, shown=self._runs_shown()
        )

    def _runs_shown(self) -> bool:
        """False while the terminal is too small to show a run (a message asks to enlarge it)."""
        main = getattr(self, "_main", None)
        return main is None or not main.too_small

    def get_default_screen(self) -> Screen:
        self._main = MainScreen(id="main")
        problems = self.draft.problems()
        for editor in self._main.editors():  # built with the screen: filled before it is drawn
            editor.load(self.draft.data)
            editor.show_problems(problems)
        self._main.status_bar.set_state(START_STATE)
        return self._main

    @property
    def main(self) -> MainScreen:
        """The main screen (whatever is pushed above it)."""
        return self._main

    # ------------------------------------------------------------------ runs

    @property
    def busy(self) -> bool:
        """True while a run is active."""
        return self.run_control.busy

    @property
    def runs(self) -> dict[str, RunView]:
        """The runs of this session, by key (``run1``, ``run2``, ...)."""
        return self.run_control.runs

    @property
    def shown(self) -> tuple[str, int | None] | None:
        """The run (and grid candidate) on the charts."""
        return self.run_control.shown

    def action_train(self) -> None:
        """Train the edited experiment (F5)."""
        self._starting(lambda: self.run_control.start("train"))

    def action_grid(self) -> None:
        """Grid-search the values of the Grid pane (F6)."""
        self._starting(lambda: self.run_control.start("grid"))

    def _starting(self, start: Callable[[], object]) -> None:
        """Run ``start``; a run it starts is never hidden behind the editors."""
        was_busy = self.busy
        start()
        if self.busy and not was_busy and not self.main.wide:
            self.main.show_pane("charts")

    def action_stop(self) -> None:
        """Stop the active run (F7); a second F7 kills its worker at once."""
        self.run_control.stop()

    def resume_last(self) -> None:
        """Resume the most recent interrupted grid search (this session's, else on disk)."""
        self._starting(self.run_control.resume_last)

    action_resume_last = resume_last

    def on_engine_event(self, message: EngineEvent) -> None:
        run = self.run_control.active_run
        self.run_control.handle_event(message.event)
        if run is not None and isinstance(message.event, RunFinished):
            self.lesson_flow.run_ended(run.name, run.status)
        self._exit_if_quitting()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        ended = event.state in (WorkerState.ERROR, WorkerState.SUCCESS)
        if event.worker.group == RUN_GROUP and ended:
            self.run_control.worker_ended(event.worker)
            self._exit_if_quitting()

    def on_results_table_run_chosen(self, message: ResultsTable.RunChosen) -> None:
        self.run_control.show_run(message.key)

    def on_results_table_candidate_chosen(self, message: ResultsTable.CandidateChosen) -> None:
        self.run_control.show_candidate(message.run_key, message.index)

    def on_heatmap_apply_best(self, message: Heatmap.ApplyBest) -> None:
        self.action_apply_best()

    def on_main_screen_ready(self) -> None:
        self.set_subtitle()
        self.reload_editors()
        name = self.draft.data.get("experiment", {}).get("name", "")
        opened = f"Opened {self.preset_path}" if self.preset_path else f"Editing {name}"
        self.log_line(f"{opened}. F5 trains, F6 searches the grid, F1 explains the pane.")
        self.log_line(START_FOCUS)
        self.watch(self.main, "focused", self._focus_moved, init=False)
        self.run_control.show_run_on_charts()
        lesson = lesson_of(self.preset_path)
        if lesson is not None:  # a lesson opened from the command line: its notes too
            self.lesson_flow.attach(lesson, self.draft.data.get("experiment", {}).get("name", ""))

    def _focus_moved(self) -> None:
        # the start-up hint says where the focus is: once it has moved, it is just "Ready"
        if self.main.status_bar.state == START_STATE:
            self.main.status_bar.set_state("Ready")

    def on_resize(self) -> None:
        shown = self._runs_shown()
        if shown != self._shown_before:  # runs wait while the terminal is too small
            self._shown_before = shown
            self.refresh_bindings()

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
        self.main.status_bar.set_problem(self.draft.first_problem())
        return problems

    def on_main_screen_editor_mounted(self, message: MainScreen.EditorMounted) -> None:
        message.editor.load(self.draft.data)
        message.editor.show_problems(self.draft.problems())
        if self._exit_when_built and self.main.editors_built:
            self.exit(0)

    def on_field_edited(self, message: FieldEdited) -> None:
        self.draft.apply(message.path, message.value)
        self.revalidate()

    def on_layers_edited(self, message: LayersEdited) -> None:
        self.draft.set_layers(message.layers)
        self.revalidate()

    def on_grid_edited(self, message: GridEdited) -> None:
        self.draft.set_grid(message.grid)
        self.revalidate()

    def set_subtitle(self) -> None:
        """The experiment's name and its file in the header."""
        name = self.draft.data.get("experiment", {}).get("name", "")
        where = self.preset_path.name if self.preset_path else "unsaved"
        self.sub_title = f"{name} ({where})"

    # ------------------------------------------------------------------ files

    def action_save_as(self) -> None:
        """Save the edited experiment as a preset file."""
        self.files.save_as()

    def action_open(self) -> None:
        """Open a preset file (bundled presets are listed); asks first about unsaved edits."""
        self.files.open()

    def open_preset(self, path: str | Path | None) -> None:
        """Load ``path`` into the editors; on errors show them and keep the current state."""
        self.files.open_path(path)

    def load_spec(self, spec: ExperimentSpec, path: Path | None) -> None:
        """Replace the draft with ``spec``."""
        self.files.load(spec, path)

    def error(self, title: str, lines: list[str]) -> None:
        """Show an error dialog, log every line and notify."""
        for line in lines:
            self.log_line(line, "error")
        self.notify(lines[0] if lines else title, title=title, severity="error")
        self.push_screen(ErrorDialog(title, lines))

    # ------------------------------------------------------------------ screens

    def action_help(self) -> None:
        """Explain the concept behind the focused pane (the open lesson's concept on its notes)."""
        pane = self.main.focused_pane()
        if pane == LESSON_PANE and self.lesson_flow.notes is not None:
            pane = self.lesson_flow.notes.lesson.topic
        self.push_screen(HelpScreen(pane, self.language))

    def action_language(self, lang: str) -> None:
        """Speak ``lang`` in the help and teaching text (open screens follow at once)."""
        self.language = lang
        self.lesson_flow.set_language(lang)
        self.notify(f"Language: {LANGUAGE_NAMES[lang]}")

    def action_lessons(self) -> None:
        """F8: the open lesson's notes, or the list of lessons (from the notes)."""
        screen = self.lesson_flow.key()
        if screen is not None:
            self.push_screen(screen, self.lesson_flow.chosen)

    def on_lesson_notes_step_chosen(self, message: LessonNotes.StepChosen) -> None:
        self.lesson_flow.step(message.pane)

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

        self.push_screen(RunsScreen(list_runs(self.run_control.runs_root)), self._run_chosen)

    def _run_chosen(self, choice: tuple[str, Path] | None) -> None:
        if choice is None:
            return
        what, run_dir = choice
        if what == "resume":
            self._starting(lambda: self.run_control.resume(run_dir))
            return
        if what == "attach":
            self.run_control.attach(run_dir)
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
        self.files.unless_unsaved(lambda: self.load_spec(record.spec, None))

    def action_pane(self, pane: str) -> None:
        """Show and focus one pane."""
        self.main.show_pane(pane)

    def action_next_view(self) -> None:
        """Show the next view tab (F4): Results, Heatmap, Inside, Evaluation, Boundary, Log."""
        self.main.action_next_view()

    def action_switch_side(self) -> None:
        """Switch between the editors and the views (narrow terminals show one side), back to
        the pane last shown there."""
        side = "views" if self.main.side == "editors" else "editors"
        self.main.show_pane(self.main.last_pane(side))

    def action_log_scale(self) -> None:
        """Toggle the log scale of the loss chart."""
        self.main.loss_chart.action_toggle_log()

    async def action_quit(self) -> None:
        """Quit; while a run is active, ask: Stop it, Leave it running, or Cancel."""
        run = self.run_control.active_run
        if run is None:
            if self.main.editors_built:
                self.exit(0)
            else:  # quitting mid-build would tear the panes down while they mount
                self._exit_when_built = True
                self.set_timer(QUIT_BUILD_GRACE, lambda: self.exit(0))
            return
        if isinstance(self.screen, QuitDialog) or self._quitting:
            return

        def answer(choice: str | None) -> None:
            if choice == "stop":
                self.stop_and_exit()
            elif choice == "leave":
                self.leave_and_exit()

        self.push_screen(QuitDialog(run.name, run.state_line()), answer)

    def stop_and_exit(self) -> None:
        """Stop the active run ("Stopping..." at once), then quit as soon as it has ended.

        A run that takes longer than :data:`QUIT_GRACE` is left to finish stopping on its own
        (it is detached; the stop request stands).
        """
        self._quitting = True
        self.run_control.stop(escalate=False)
        self.set_timer(QUIT_GRACE, self._exit_while_stopping)

    def _exit_while_stopping(self) -> None:
        run_dir = self.run_control.detach()
        if run_dir is not None and self.run_control.busy:
            self.still_stopping.append(run_dir)
        self.exit(0)

    def leave_and_exit(self) -> None:
        """Quit and leave the active run going (``nnexplorer attach`` follows it again)."""
        run_dir = self.run_control.detach()
        if run_dir is not None:
            self.left_running.append(run_dir)
        self.exit(0)

    def _exit_if_quitting(self) -> None:
        if self._quitting and not self.run_control.busy:
            self.exit(0)

    def log_line(self, message: str, level: str = "info") -> None:
        """Add a line to the log pane."""
        self.main.log_panel.add(message, level)

    def action_apply_best(self) -> None:
        """Copy the best grid candidate's values into the draft and the editors."""
        run = self.run_control.latest_grid()
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
        """Textual's commands, then ours that can run now (from ``screen``)."""
        yield from super().get_system_commands(screen)
        on_main = screen is self.main
        for command in PALETTE:
            busy, shown = self.run_control.busy, self._runs_shown()
            if availability(command.name, on_main=on_main, busy=busy, shown=shown):
                yield SystemCommand(
                    command.title, command.help, partial(self.run_action, command.action)
                )

    def on_unmount(self) -> None:
        # stop following (the thread would otherwise keep the process alive); the run goes on
        self.run_control.detach()


def make_app(
    spec: ExperimentSpec | None = None,
    preset_path: str | Path | None = None,
    runner_factory: StartRun | None = None,
    runs_root: str | Path | None = None,
    slots: int | None = None,
    language: str = DEFAULT_LANG,
) -> NNExplorerApp:
    """The explorer for ``spec`` (default: the bundled digits preset), its teaching text in
    ``language`` (``en``, ``es``).

    ``runner_factory(spec, mode=, runs_root=, resume=)`` starts a run and returns a
    ``RunControl`` (``events()``, ``stop()``, ``kill()``, ``close()``); the default starts
    detached runs (``core.detach.start_detached``) with ``slots``.
    """
    return NNExplorerApp(spec, preset_path, runner_factory, runs_root, slots, language)


__all__ = ["NNExplorerApp", "make_app"]
