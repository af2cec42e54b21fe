"""The notes of the open lesson, beside the charts: its goal, its steps (each a number key that
jumps to the step's pane), what to do, and once its run has ended, what to look at.

The text comes from :mod:`nnexplorer.core.help` in the app's language and follows it when the
language changes.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.message import Message
from textual.widgets import Markdown, Static

from nnexplorer.core.help import DEFAULT_LANG, Lesson, find_lesson
from nnexplorer.tui.screens.main import PANE_TITLES, shown_within

MAX_STEPS = 9  # steps are chosen with the keys 1..9
# The titles of the panes the steps name (the runs browser is a screen: its key says how).
PANE_LABELS = {**PANE_TITLES, "runs": "Runs (F3)"}
# Fixed lines of the panel, in each language (pane and key names stay English).
WORDS = {
    "en": {
        "steps": "Steps: press a number to go there (F8 comes back)",
        "done": "Your run has ended: look here",
        "stopped": "Your run stopped early; F6 runs it again. When it ends, look here",
        "waiting": "After the run, look here",
    },
    "es": {
        "steps": "Pasos: pulsa un número para ir allí (F8 vuelve aquí)",
        "done": "Tu ejecución terminó: mira aquí",
        "stopped": "Tu ejecución se detuvo antes; F6 la repite. Cuando termine, mira aquí",
        "waiting": "Después de la ejecución, mira aquí",
    },
}


def words(lang: str) -> dict[str, str]:
    """The panel's fixed lines in ``lang`` (English when missing)."""
    return WORDS.get(lang, WORDS[DEFAULT_LANG])


def steps_table(lesson: Lesson, lang: str) -> Group:
    """The numbered steps, each with its pane, wrapped under their own text."""
    table = Table.grid(padding=(0, 1, 0, 0))
    table.add_column(no_wrap=True)
    table.add_column(ratio=1)
    for number, step in enumerate(lesson.steps[:MAX_STEPS], start=1):
        text = Text(PANE_LABELS.get(step.pane, step.pane), style="bold")
        text.append(f": {step.text}")
        table.add_row(Text(f" {number} ", style="bold reverse"), text)
    return Group(Text(words(lang)["steps"], style="bold"), table)


class LessonNotes(VerticalScroll, can_focus=True):
    """The open lesson's notes; the keys 1..9 jump to its steps' panes."""

    DEFAULT_CSS = """
    LessonNotes { height: 1fr; padding: 0 1; }
    LessonNotes:focus { background-tint: $foreground 4%; }
    LessonNotes #lesson-title { text-style: bold; color: $accent; }
    LessonNotes #lesson-goal { text-style: italic; margin-bottom: 1; }
    LessonNotes #lesson-after {
        height: auto; border: round $success; padding: 0 1; margin-bottom: 1;
    }
    LessonNotes #lesson-after.-waiting { border: round $panel; }
    LessonNotes #lesson-steps { margin-bottom: 1; }
    LessonNotes Markdown { margin: 0; padding: 0; }
    """
    BINDINGS = [
        Binding(str(n), f"step({n})", f"Step {n}", show=False) for n in range(1, MAX_STEPS + 1)
    ]

    @dataclass
    class StepChosen(Message):
        """A step's key was pressed: show ``pane`` (a pane of the main screen, or ``runs``)."""

        pane: str

    def __init__(self, name: str, lang: str = DEFAULT_LANG, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.lesson = find_lesson(name, lang)
        self.lang = lang
        self.ended: str | None = None  # how the lesson's last run ended, once it has

    def compose(self) -> ComposeResult:
        yield Static(id="lesson-title")
        yield Static(id="lesson-goal")
        yield Static(id="lesson-steps")
        yield Markdown(id="lesson-text")
        with VerticalScroll(id="lesson-after", classes="-waiting"):
            yield Markdown(id="lesson-after-text")

    def on_mount(self) -> None:
        self._fill()

    def _on_hide(self, event: events.Hide) -> None:
        # A tab switch's Hide reaches this widget through its own queue, after the layout was
        # drawn. When F8 has brought the Lesson tab back (and focused the notes) by then, that
        # Hide is stale: Textual would blur the notes and move the focus to another pane.
        if self.has_focus and shown_within(self, self.screen):
            event.prevent_default()

    # ------------------------------------------------------------------ verbs

    def show_lesson(self, name: str, lang: str) -> None:
        """Show the lesson ``name`` in ``lang`` (its run not ended yet)."""
        self.lesson = find_lesson(name, lang)
        self.lang = lang
        self.ended = None
        self._draw()
        self.scroll_home(animate=False)

    def set_language(self, lang: str) -> None:
        """Speak ``lang``, on the same lesson and in the same state."""
        if lang != self.lang:
            self.lesson = find_lesson(self.lesson.name, lang)
            self.lang = lang
            self._draw()

    def run_ended(self, status: str) -> None:
        """The lesson's run has ended (``completed``, ``cancelled``, ...): point at the views."""
        self.ended = status
        self._draw()
        self.scroll_home(animate=False)

    def action_step(self, number: int) -> None:
        """Go to the pane of step ``number`` (1-based)."""
        if 1 <= number <= min(len(self.lesson.steps), MAX_STEPS):
            self.post_message(self.StepChosen(self.lesson.steps[number - 1].pane))

    # ------------------------------------------------------------------ drawing

    def _draw(self) -> None:
        if self.is_mounted:
            self._fill()

    def _fill(self) -> None:
        lesson, said = self.lesson, words(self.lang)
        self.query_one("#lesson-title", Static).update(Text(lesson.title))
        self.query_one("#lesson-goal", Static).update(Text(lesson.goal))
        box = self.query_one("#lesson-after", VerticalScroll)
        if self.ended is None:
            box.border_title = said["waiting"]
            # below the notes until the run ends
            self.move_child(box, after=self.query_one("#lesson-text"))
        else:
            box.border_title = said["done" if self.ended == "completed" else "stopped"]
            self.move_child(box, before=self.query_one("#lesson-steps"))  # then under the goal
        box.set_class(self.ended != "completed", "-waiting")
        self.query_one("#lesson-after-text", Markdown).update(lesson.after)
        self.query_one("#lesson-steps", Static).update(steps_table(lesson, self.lang))
        self.query_one("#lesson-text", Markdown).update(lesson.notes)
