"""F8: the lessons, each a bundled preset that shows one concept; enter opens the highlighted one.

The list is on the left (title and goal), the highlighted lesson's notes on the right. The text
follows the app's ``language`` while the screen is open. The screen returns the chosen lesson's
name (None when closed).
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Footer, Markdown, OptionList, Static
from textual.widgets.option_list import Option

from nnexplorer.core.help import DEFAULT_LANG, Lesson, lessons

HINT = {
    "en": "Enter opens the lesson (F6 then runs it); escape closes.",
    "es": "Enter abre la lección (luego F6 la ejecuta); escape cierra.",
}
TITLE = {"en": "Lessons", "es": "Lecciones"}


def lesson_options(lang: str) -> list[Option]:
    """One option per lesson: its title, and its goal below it."""
    options = []
    for lesson in lessons(lang):
        label = Text(lesson.title, style="bold")
        label.append(f"\n{lesson.goal}", style="dim")
        options.append(Option(label, id=lesson.name))
    return options


def preview(lesson: Lesson) -> str:
    """The highlighted lesson as the right side shows it: name, goal, notes."""
    return f"# {lesson.title}\n\n`{lesson.name}`: *{lesson.goal}*\n\n{lesson.notes}"


class LessonsScreen(ModalScreen[str | None]):
    """The list of lessons; enter opens the highlighted one, escape (or F8) closes."""

    BINDINGS = [
        Binding("escape,f8", "close", "Close"),
        Binding("enter", "open", "Open lesson", show=True),
    ]

    def __init__(self, lang: str = DEFAULT_LANG, current: str | None = None) -> None:
        super().__init__(id="lessons-screen")
        self.lang = lang
        names = [lesson.name for lesson in lessons(lang)]
        self.current = current if current in names else names[0]

    def compose(self) -> ComposeResult:
        with Horizontal(id="lessons-body"):
            yield OptionList(*lesson_options(self.lang), id="lessons-list")
            with VerticalScroll(id="lessons-page"):
                yield Markdown(id="lessons-text")
        yield Static(HINT.get(self.lang, HINT[DEFAULT_LANG]), id="lessons-hint")
        yield Footer()

    def on_mount(self) -> None:
        body = self.query_one("#lessons-body")
        body.border_title = TITLE.get(self.lang, TITLE[DEFAULT_LANG])
        options = self.query_one("#lessons-list", OptionList)
        options.highlighted = options.get_option_index(self.current)
        options.focus()
        self._show()
        if hasattr(self.app, "language"):
            self.watch(self.app, "language", self.set_language, init=False)

    def set_language(self, lang: str) -> None:
        """Show the list and the notes in ``lang``, on the same lesson."""
        if lang == self.lang:
            return
        self.lang = lang
        options = self.query_one("#lessons-list", OptionList)
        options.set_options(lesson_options(lang))
        options.highlighted = options.get_option_index(self.current)
        self.query_one("#lessons-body").border_title = TITLE.get(lang, TITLE[DEFAULT_LANG])
        self.query_one("#lessons-hint", Static).update(HINT.get(lang, HINT[DEFAULT_LANG]))
        self._show()

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        if event.option.id and event.option.id != self.current:
            self.current = event.option.id
            self._show()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if event.option.id:
            self.dismiss(event.option.id)

    def _show(self) -> None:
        found = {lesson.name: lesson for lesson in lessons(self.lang)}
        self.query_one("#lessons-text", Markdown).update(preview(found[self.current]))
        self.query_one("#lessons-page").scroll_home(animate=False)

    def action_open(self) -> None:
        """Open the highlighted lesson."""
        self.dismiss(self.current)

    def action_close(self) -> None:
        self.dismiss(None)
