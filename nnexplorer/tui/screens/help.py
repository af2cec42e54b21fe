"""F1: the concept behind the focused pane, with every other topic one keystroke away."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Footer, Markdown, OptionList
from textual.widgets.option_list import Option

from nnexplorer.core.help import DEFAULT_LANG, page, sections, topic_titles


def topic_options(lang: str) -> list[Option]:
    """The topic list: each section's title (not selectable), then its topics."""
    options: list[Option] = []
    for section in sections(lang):
        options.append(Option(Content.styled(section.title, "bold"), disabled=True))
        options.extend(Option(f" {title}", id=key) for key, title in section.topics.items())
    return options


class HelpScreen(ModalScreen[None]):
    """Topics on the left, the chosen page on the right; escape or F1 closes.

    The page follows the app's ``language`` (the palette's Language commands) while it is open.
    """

    BINDINGS = [Binding("escape,f1,q", "close", "Close help")]

    def __init__(self, topic: str = "overview", lang: str = DEFAULT_LANG) -> None:
        super().__init__(id="help-screen")
        self.lang = lang
        self.topic = topic if topic in topic_titles(lang) else "overview"

    def compose(self) -> ComposeResult:
        with Horizontal(id="help-body"):
            yield OptionList(*topic_options(self.lang), id="help-topics")
            with VerticalScroll(id="help-page"):
                yield Markdown(page(self.topic, self.lang), id="help-text")
        yield Footer(show_command_palette=False)  # ^p Menu is one of the keys

    def on_mount(self) -> None:
        topics = self.query_one("#help-topics", OptionList)
        topics.highlighted = topics.get_option_index(self.topic)
        topics.focus()
        if hasattr(self.app, "language"):
            self.watch(self.app, "language", self.set_language, init=False)

    def set_language(self, lang: str) -> None:
        """Show the topic list and the page in ``lang``, on the same topic."""
        if lang == self.lang:
            return
        self.lang = lang
        topics = self.query_one("#help-topics", OptionList)
        topics.set_options(topic_options(lang))
        topics.highlighted = topics.get_option_index(self.topic)
        self._show_page()

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        if event.option.id and event.option.id != self.topic:
            self.topic = event.option.id
            self._show_page()

    def _show_page(self) -> None:
        self.query_one("#help-text", Markdown).update(page(self.topic, self.lang))
        self.query_one("#help-page").scroll_home(animate=False)

    def action_close(self) -> None:
        self.dismiss(None)
