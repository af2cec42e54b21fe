"""The Lessons screen (F8) and the open lesson's notes, driven by keys on canned runs."""

from __future__ import annotations

from typing import Any

from inside_fakes import boundary_event, layer_entries
from textual import events
from textual.widgets import Markdown, OptionList, TabbedContent
from textual.widgets._footer import FooterKey
from tui_fakes import FakeRunner, log_text, sweep_script, wait_for

from nnexplorer.core.events import DecisionBoundary, EpochEnded, LayerStats
from nnexplorer.core.help import lessons
from nnexplorer.core.spec import bundled_dir, load_preset
from nnexplorer.tui.app import make_app
from nnexplorer.tui.screens.lessons import LessonsScreen
from nnexplorer.tui.widgets.lesson_notes import LessonNotes
from nnexplorer.tui.widgets.views import BoundaryView, InsideView

SIZE = (120, 40)


def sweep_with_stats(epochs: int = 3):
    """A sweep whose variants report layer statistics and a boundary, as real variants do."""
    plain = sweep_script(epochs)

    def script(spec: Any, mode: str) -> list[Any]:
        out: list[Any] = []
        for event in plain(spec, mode):
            out.append(event)
            if isinstance(event, EpochEnded) and event.candidate is not None:
                layers = layer_entries(event.epoch)
                for layer in layers:  # each variant its own numbers
                    layer["grad_norm"] *= 10.0**event.candidate
                out.append(
                    LayerStats(
                        run_id="fake-sweep",
                        epoch=event.epoch,
                        candidate=event.candidate,
                        layers=layers,
                    )
                )
                if event.epoch == epochs:
                    boundary = boundary_event(event.epoch, final=True)
                    fields = {**boundary.to_dict(), "candidate": event.candidate}
                    fields.pop("type")
                    out.append(DecisionBoundary(**fields))
        return out

    return script


def text_of(widget) -> str:
    """What ``widget`` draws, as plain text."""
    from rich.console import Console

    console = Console(width=max(120, widget.size.width), record=True, color_system=None)
    console.print(widget.render())
    return console.export_text()


def notes(app) -> LessonNotes:
    return app.main.query_one(LessonNotes)


async def open_lesson(pilot, name: str) -> None:
    """F8, then down to ``name`` and enter."""
    app = pilot.app
    await wait_for(pilot, lambda: app.main.editors_ready)
    await pilot.press("f8")
    await wait_for(pilot, lambda: isinstance(app.screen, LessonsScreen))
    names = [lesson.name for lesson in lessons(app.language)]
    for _ in range(names.index(name) - names.index(app.screen.current)):
        await pilot.press("down")
    await wait_for(pilot, lambda: app.screen.current == name)
    await pilot.press("enter")
    await wait_for(pilot, lambda: app.screen is app.main and app.main.query(LessonNotes))
    await wait_for(pilot, lambda: notes(app).has_focus and notes(app).lesson.name == name)


async def test_f8_lists_the_lessons_and_enter_opens_one():
    app = make_app(runner_factory=FakeRunner(sweep_script()))
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.main.editors_ready)
        await pilot.press("f8")
        await wait_for(pilot, lambda: isinstance(app.screen, LessonsScreen))
        options = app.screen.query_one("#lessons-list", OptionList)
        assert options.option_count == len(lessons()) == 9
        assert app.screen.current == "lesson-init"
        await pilot.press("down", "down")
        await wait_for(pilot, lambda: app.screen.current == "lesson-optimizers")
        preview = app.screen.query_one("#lessons-text", Markdown).source
        assert "Optimizers" in preview and "momentum" in preview
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.main.query(LessonNotes))
        # the preset is in the editors, the notes in the Lesson tab beside the charts, focused
        assert app.draft.data["experiment"]["name"] == "lesson-optimizers"
        assert app.preset_path == bundled_dir() / "lesson-optimizers.toml"
        assert app.main.query_one("#editors", TabbedContent).active == "lesson"
        await wait_for(pilot, lambda: notes(app).has_focus)
        assert "Optimizers" in str(notes(app).query_one("#lesson-title").render())
        assert "Lesson Optimizers: F6 runs it" in log_text(app)
        # F8 on the notes: the list again, on the open lesson; F8 closes it
        await pilot.press("f8")
        await wait_for(pilot, lambda: isinstance(app.screen, LessonsScreen))
        assert app.screen.current == "lesson-optimizers"
        await pilot.press("f8")
        await wait_for(pilot, lambda: app.screen is app.main)


async def test_step_keys_jump_to_their_panes_and_f8_comes_back():
    app = make_app(runner_factory=FakeRunner(sweep_script()))
    async with app.run_test(size=SIZE) as pilot:
        await open_lesson(pilot, "activity-digits")
        tabs = app.main.query_one("#view-tabs", TabbedContent)
        editors = app.main.query_one("#editors", TabbedContent)
        await pilot.press("5")  # Evaluation
        await wait_for(pilot, lambda: tabs.active == "evaluation")
        await wait_for(pilot, lambda: app.main.focused_pane() == "evaluation")
        await pilot.press("f8")  # back to the notes
        await wait_for(pilot, lambda: notes(app).has_focus and editors.active == "lesson")
        await pilot.press("1")  # Data: its sample digits and class balance
        await wait_for(pilot, lambda: editors.active == "data")
        await wait_for(pilot, lambda: app.main.focused_pane() == "data")
        await pilot.press("f8")
        await wait_for(pilot, lambda: notes(app).has_focus)
        await pilot.press("3")  # Layers
        await wait_for(pilot, lambda: app.main.focused_pane() == "layers")
        await pilot.press("f8")
        await wait_for(pilot, lambda: notes(app).has_focus)
        await pilot.press("9")  # no ninth step: nothing moves
        await pilot.pause(0.2)
        assert notes(app).has_focus and editors.active == "lesson"


async def test_a_late_hide_from_an_earlier_tab_switch_leaves_the_focus_on_the_notes():
    # on a busy machine the Hide of "3" (Lesson tab hidden) can reach the notes after F8 has
    # shown and focused them again; it must not send the focus to another pane
    app = make_app(runner_factory=FakeRunner(sweep_script()))
    async with app.run_test(size=SIZE) as pilot:
        await open_lesson(pilot, "activity-digits")
        notes(app).post_message(events.Hide())
        await pilot.pause(0.2)
        assert notes(app).has_focus
        # a real switch away still takes the focus with it
        await pilot.press("3")
        await wait_for(pilot, lambda: app.main.focused_pane() == "layers")
        assert not notes(app).has_focus


async def test_after_the_sweep_the_notes_point_at_the_views_and_each_variant_has_its_own():
    app = make_app(runner_factory=FakeRunner(sweep_with_stats()))
    async with app.run_test(size=SIZE) as pilot:
        await open_lesson(pilot, "lesson-overfitting")
        box = notes(app).query_one("#lesson-after")
        assert box.border_title == "After the run, look here" and box.has_class("-waiting")
        await pilot.press("f6")
        await wait_for(pilot, lambda: app.runs and not app.busy)
        await wait_for(pilot, lambda: notes(app).ended == "completed")
        assert box.border_title == "Your run has ended: look here"
        assert not box.has_class("-waiting")
        steps = notes(app).query_one("#lesson-steps")
        assert box.region.y < steps.region.y  # first, right under the goal
        # the views follow the last variant that trained ...
        inside = app.main.query_one(InsideView)
        boundary = app.main.query_one(BoundaryView)
        assert inside.history and {e.candidate for e in inside.history} == {6}
        assert "variant 7: setup=early stopping" in text_of(boundary)
        # ... until a variant is picked in Results (step 3): enter on its row
        assert app.screen is app.main and notes(app).has_focus  # the run left the focus there
        await pilot.press("3")
        table = app.main.results.candidates_table
        await wait_for(pilot, lambda: app.main.focused_pane() == "results")
        table.focus()
        await wait_for(pilot, lambda: table.has_focus)
        table.move_cursor(row=0)
        await pilot.press("enter")
        await wait_for(pilot, lambda: {e.candidate for e in inside.history} == {0})
        assert [e.epoch for e in inside.history] == [1, 2, 3]
        await pilot.press("f8")
        await wait_for(pilot, lambda: notes(app).has_focus)
        await pilot.press("4")  # Boundary
        await wait_for(pilot, lambda: app.main.focused_pane() == "boundary")
        assert "variant 1: setup=none" in text_of(boundary)


async def test_the_notes_follow_the_language():
    app = make_app(runner_factory=FakeRunner(sweep_script()), language="es")
    async with app.run_test(size=SIZE) as pilot:
        await open_lesson(pilot, "lesson-init")
        assert notes(app).lesson.title == "Inicialización de los pesos"
        assert "Lección Inicialización" in log_text(app)
        english = next(
            c for c in app.get_system_commands(app.screen) if c.title == "Language: English"
        )
        await english.callback()
        await wait_for(pilot, lambda: notes(app).lesson.title == "Weight initialisation")
        text = notes(app).query_one("#lesson-text", Markdown).source
        assert text.startswith("Six Dense layers")


async def test_a_lesson_opened_from_the_command_line_shows_its_notes_and_f1_its_concept():
    path = bundled_dir() / "lesson-loss.toml"
    app = make_app(load_preset(path), path, runner_factory=FakeRunner(sweep_script()))
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.main.query(LessonNotes))
        await wait_for(pilot, lambda: notes(app).has_focus)
        assert notes(app).lesson.name == "lesson-loss"
        await pilot.press("f1")
        await wait_for(pilot, lambda: app.screen.id == "help-screen")
        assert app.screen.topic == "loss"


async def test_lessons_is_in_the_palette_and_the_footer():
    app = make_app(runner_factory=FakeRunner(sweep_script()))
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.main.editors_ready)
        command = next(c for c in app.get_system_commands(app.screen) if c.title == "Lessons (F8)")
        await command.callback()
        await wait_for(pilot, lambda: isinstance(app.screen, LessonsScreen))
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is app.main)
        # the footer is rebuilt for the main screen's bindings: wait for its keys
        await wait_for(pilot, lambda: [k for k in app.main.query(FooterKey) if k.key == "f8"])
        [key] = [k for k in app.main.query(FooterKey) if k.key == "f8"]
        assert key.description == "Lessons" and not key.has_class("-disabled")


async def test_the_footer_with_f8_still_fits_80_columns():
    app = make_app(runner_factory=FakeRunner(sweep_script()))
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.main.editors_ready)
        # the fitted footer keeps the run keys, help, quit, F8 and pane switching
        wanted = {"f1", "f5", "f6", "f7", "f8", "f2", "ctrl+q"}
        await wait_for(pilot, lambda: wanted <= {k.key for k in app.main.query(FooterKey)})
        await pilot.pause()
        footer = list(app.main.query(FooterKey))
        assert max(k.region.right for k in footer) <= 80
