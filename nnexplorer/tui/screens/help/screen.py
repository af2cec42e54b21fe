"""F1: the concept behind the focused pane, with every other topic one keystroke away."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Footer, Markdown, OptionList
from textual.widgets.option_list import Option

from nnexplorer.tui.screens.help.pages import DEFAULT_LANG, page, topic_titles


class HelpScreen(ModalScreen[None]):
    """Topics on the left, the chosen page on the right; escape or F1 closes."""

    BINDINGS = [Binding("escape,f1,q", "close", "Close help")]

    def __init__(self, topic: str = "overview", lang: str = DEFAULT_LANG) -> None:
        super().__init__(id="help-screen")
        self.lang = lang
        self.titles = topic_titles(lang)
        self.topic = topic if topic in self.titles else "overview"

    def compose(self) -> ComposeResult:
        with Horizontal(id="help-body"):
            yield OptionList(
                *[Option(title, id=key) for key, title in self.titles.items()], id="help-topics"
            )
            with VerticalScroll(id="help-page"):
                yield Markdown(page(self.topic, self.lang), id="help-text")
        yield Footer()

    def on_mount(self) -> None:
        topics = self.query_one("#help-topics", OptionList)
        topics.highlighted = list(self.titles).index(self.topic)
        topics.focus()

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        if event.option.id and event.option.id != self.topic:
            self.topic = event.option.id
            self.query_one("#help-text", Markdown).update(page(self.topic, self.lang))
            self.query_one("#help-page").scroll_home(animate=False)

    def action_close(self) -> None:
        self.dismiss(None)
