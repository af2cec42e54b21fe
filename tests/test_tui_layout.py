"""The layout as sizes change: the first frame already final, runs never out of sight, F2 back to
the pane left, and no run started where nobody could see it."""

from __future__ import annotations

from textual.widgets import TabbedContent
from tui_fakes import FakeRunner, notes, train_script, wait_for

from nnexplorer.tui.app import make_app
from nnexplorer.tui.widgets.layer_stack import LayerStack, LayerTable


def palette(app) -> set[str]:
    return {command.title for command in app.get_system_commands(app.screen)}


async def test_first_frame_is_already_the_final_layout(tiny_spec):
    app = make_app(tiny_spec, runner_factory=FakeRunner(train_script()))
    async with app.run_test(size=(80, 24)) as pilot:
        main = app.main
        # before any pause: the breakpoint classes, the side on show, the layer list filled
        assert main.has_class("-narrow") and main.has_class("-short")
        assert main.query_one("#editors").display and not main.query_one("#views").display
        stack = main.query_one(LayerStack)
        assert stack.is_mounted and stack.table.row_count == len(tiny_spec.layers) + 1
        assert isinstance(app.focused, LayerTable)
        widths = [column.width for column in stack.table.columns.values()]
        await wait_for(pilot, lambda: main.editors_built)
        await pilot.pause()
        assert [column.width for column in stack.table.columns.values()] == widths


async def test_a_run_on_a_narrow_terminal_shows_the_charts_and_f2_goes_back(tiny_spec):
    runner = FakeRunner(train_script(epochs=3, hold_after=1))
    app = make_app(tiny_spec, runner_factory=runner)
    async with app.run_test(size=(80, 24)) as pilot:
        main = app.main
        editors = main.query_one("#editors", TabbedContent)
        await pilot.press("alt+3")
        await wait_for(pilot, lambda: editors.active == "training")
        await pilot.press("f5")
        await wait_for(pilot, lambda: app.busy)
        assert main.query_one("#views").display and not main.query_one("#editors").display
        assert main.focused_pane() == "charts"
        await pilot.press("f2")  # back to the pane left, not always Layers
        await wait_for(pilot, lambda: main.query_one("#editors").display)
        assert editors.active == "training" and main.focused_pane() == "training"
        await pilot.press("alt+8", "f2", "f2")  # the views side remembers its pane too
        await wait_for(pilot, lambda: main.side == "views")
        assert main.query_one("#view-tabs", TabbedContent).active == "log"
        runner.handles[0].stop()
        await wait_for(pilot, lambda: not app.busy)


async def test_a_wide_terminal_keeps_the_pane_and_has_no_side_key(tiny_spec):
    runner = FakeRunner(train_script(epochs=2))
    app = make_app(tiny_spec, runner_factory=runner)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("alt+1")
        await wait_for(pilot, lambda: app.main.focused_pane() == "data")
        await pilot.press("f5")
        await wait_for(pilot, lambda: app.runs and not app.busy)
        assert app.main.focused_pane() == "data"  # both sides show: nothing to switch
        assert app.check_action("switch_side", ()) is False


async def test_no_run_starts_while_the_terminal_is_too_small(tiny_spec):
    runner = FakeRunner(train_script(epochs=2))
    app = make_app(tiny_spec, runner_factory=runner)
    async with app.run_test(size=(70, 20)) as pilot:
        await pilot.pause()
        assert app.main.too_small
        assert "Train (F5)" not in palette(app) and "Grid search (F6)" not in palette(app)
        await pilot.press("f5", "f6")
        await pilot.pause(0.3)
        assert not runner.calls and not app.runs and "A run is active" not in notes(app)
        await pilot.resize_terminal(80, 24)
        await wait_for(pilot, lambda: not app.main.too_small)
        assert "Train (F5)" in palette(app)
        await pilot.press("f5")
        await wait_for(pilot, lambda: app.runs and not app.busy)
        assert len(runner.calls) == 1
