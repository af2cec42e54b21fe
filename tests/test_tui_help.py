"""The help screen in the explorer: sections of topics, and the language switch of the palette."""

from __future__ import annotations

from textual.command import CommandPalette
from textual.widgets import Markdown, OptionList
from tui_fakes import FakeRunner, train_script, wait_for

from nnexplorer.core.help import page, sections, topic_titles
from nnexplorer.tui.app import make_app
from nnexplorer.tui.screens.help import HelpScreen

SIZE = (120, 40)


def shown_page(app) -> str:
    return app.screen.query_one("#help-text", Markdown).source


def listed_titles(app) -> list[str]:
    topics = app.screen.query_one("#help-topics", OptionList)
    return [str(topics.get_option_at_index(i).prompt).strip() for i in range(topics.option_count)]


async def test_the_palette_switches_the_open_help_to_spanish_and_back(tiny_spec):
    app = make_app(tiny_spec, runner_factory=FakeRunner(train_script()))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("alt+2")
        await pilot.pause()
        await pilot.press("f1")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen))
        assert app.screen.topic == "layers" and shown_page(app) == page("layers", "en")
        help_screen = app.screen
        # by keys: ctrl+p, type, enter
        await pilot.press("ctrl+p")
        await wait_for(pilot, lambda: CommandPalette.is_open(app))
        await pilot.press(*"language espa")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.language == "es")
        await wait_for(pilot, lambda: app.screen is help_screen)
        await wait_for(pilot, lambda: shown_page(app) == page("layers", "es"))
        assert app.screen.topic == "layers"  # the same topic, now in Spanish
        titles = listed_titles(app)
        assert topic_titles("es")["layers"] in titles and "Preguntas" in titles
        assert topic_titles("en")["layers"] not in titles
        # the list still moves from topic to topic, over the section titles
        await pilot.press("down")
        await wait_for(pilot, lambda: app.screen.topic == "training")
        assert shown_page(app) == page("training", "es")
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is app.main)
        # a help screen opened later speaks Spanish too; English again from the palette
        await pilot.press("f1")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen))
        assert app.screen.lang == "es"
        english = next(
            c for c in app.get_system_commands(app.screen) if c.title == "Language: English"
        )
        await english.callback()
        await wait_for(pilot, lambda: app.language == "en")
        await wait_for(pilot, lambda: shown_page(app) == page(app.screen.topic, "en"))


async def test_the_explorer_starts_in_the_chosen_language_with_sections(tiny_spec):
    app = make_app(tiny_spec, runner_factory=FakeRunner(train_script()), language="es")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("alt+5")
        await pilot.pause()
        await pilot.press("f1")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen))
        assert app.screen.topic == "charts" and shown_page(app) == page("charts", "es")
        topics = app.screen.query_one("#help-topics", OptionList)
        headers = [topics.get_option_at_index(i) for i in range(topics.option_count)]
        headers = [o for o in headers if o.disabled]
        assert [str(o.prompt) for o in headers] == [s.title for s in sections("es")]
        # from the first topic of a section, up skips the section's title
        topics.highlighted = topics.get_option_index("q-dropout")
        await wait_for(pilot, lambda: app.screen.topic == "q-dropout")
        await pilot.press("up")
        await wait_for(pilot, lambda: app.screen.topic == "grid")
