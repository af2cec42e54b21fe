"""The open lesson: F8 lists the lessons, opening one loads its preset and puts its notes in a
Lesson tab beside the charts; its steps jump to their panes; its run's end points at the views.

:class:`LessonFlow` is owned by the app (like the run controller) and reaches the main screen,
the app's language and its loading of presets through :class:`LessonHost`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

from textual.notifications import SeverityLevel
from textual.screen import Screen
from textual.widgets import TabbedContent, TabPane

from nnexplorer.core.errors import NnxError
from nnexplorer.core.help import find_lesson, lesson_names
from nnexplorer.core.spec import ExperimentSpec, bundled_dir, load_preset
from nnexplorer.tui.screens.lessons import LessonsScreen
from nnexplorer.tui.screens.main import MainScreen
from nnexplorer.tui.widgets.lesson_notes import LessonNotes

LESSON_PANE = "lesson"  # the id of the editors' Lesson tab
OPENED = {
    "en": "Lesson {title}: F6 runs it; its notes are in the Lesson tab (F8).",
    "es": "Lección {title}: F6 la ejecuta; sus notas están en la pestaña Lesson (F8).",
}


class LessonHost(Protocol):
    """What the lesson flow needs from the app."""

    language: str

    @property
    def main(self) -> MainScreen: ...

    @property
    def screen(self) -> Screen[Any]: ...

    def load_spec(self, spec: ExperimentSpec, path: Path | None) -> None: ...

    def error(self, title: str, lines: list[str]) -> None: ...

    def log_line(self, message: str, level: str = "info") -> None: ...

    def notify(
        self, message: str, *, title: str = "", severity: SeverityLevel = "information"
    ) -> None: ...

    def action_runs(self) -> None: ...


def lesson_of(path: Path | None) -> str | None:
    """The lesson a preset file is (a bundled lesson preset), or None."""
    if path is None or path.suffix != ".toml" or path.stem not in lesson_names():
        return None
    try:
        same = path.resolve().parent == bundled_dir().resolve()
    except OSError:
        return None
    return path.stem if same else None


class LessonFlow:
    """The lesson open in the explorer (if any) and its notes."""

    def __init__(self, host: LessonHost) -> None:
        self._host = host
        self.name: str | None = None  # the open lesson
        self.experiment = ""  # its preset's experiment name: that run's end is the lesson's

    @property
    def notes(self) -> LessonNotes | None:
        """The notes widget, once a lesson has been opened."""
        found = self._host.main.query(LessonNotes)
        return found.first() if found else None

    # ------------------------------------------------------------------ F8

    def key(self) -> LessonsScreen | None:
        """F8: show the notes of the open lesson when they are not in focus (None), else
        return the lesson list for the app to push (its result goes to :meth:`chosen`)."""
        notes = self.notes
        host = self._host
        if notes is not None and host.screen is host.main and not notes.has_focus_within:
            self.show_notes()
            return None
        return LessonsScreen(host.language, self.name)

    def chosen(self, name: str | None) -> None:
        """The lesson list closed with ``name`` chosen (None: closed without a choice)."""
        if name:
            self.open(name)

    def open(self, name: str) -> None:
        """Load lesson ``name``'s bundled preset and show its notes."""
        host = self._host
        path = bundled_dir() / f"{name}.toml"
        try:
            lesson = find_lesson(name, host.language)
            spec = load_preset(path)
        except NnxError as exc:
            host.error(f"Cannot open the lesson {name}", exc.lines())
            return
        host.load_spec(spec, path)
        self.attach(lesson.name, spec.experiment.name)
        message = OPENED.get(host.language, OPENED["en"]).format(title=lesson.title)
        host.log_line(message)

    def attach(self, name: str, experiment: str) -> None:
        """Show the notes of lesson ``name`` (its preset is already in the editors)."""
        self.name, self.experiment = name, experiment
        notes = self.notes
        if notes is None:
            notes = LessonNotes(name, self._host.language, id="lesson-notes")
            tabs = self._host.main.query_one("#editors", TabbedContent)
            tabs.add_pane(TabPane("Lesson", notes, id=LESSON_PANE))
        else:
            notes.show_lesson(name, self._host.language)
        self._host.main.call_after_refresh(self.show_notes)

    def show_notes(self) -> None:
        """Bring the Lesson tab into view and focus the notes."""
        notes = self.notes
        if notes is None:
            return
        main = self._host.main
        main.show_side("editors")
        main.query_one("#editors", TabbedContent).active = LESSON_PANE
        main.focus_widget(notes)

    # ------------------------------------------------------------------ events

    def step(self, pane: str) -> None:
        """A step's key: show its pane (``runs``: the runs browser)."""
        if pane == "runs":
            self._host.action_runs()
        else:
            self._host.main.show_pane(pane)

    def run_ended(self, name: str, status: str) -> None:
        """A run of experiment ``name`` ended: the lesson's notes point at the views."""
        notes = self.notes
        if notes is not None and self.name and name == self.experiment:
            notes.run_ended(status)

    def set_language(self, lang: str) -> None:
        """The app speaks ``lang`` now."""
        notes = self.notes
        if notes is not None:
            notes.set_language(lang)
