"""Colours come from the theme: switching it recolours the status bar and the log."""

from __future__ import annotations

from textual.color import Color
from tui_fakes import FakeRunner, train_script, wait_for

from nnexplorer.tui.app import make_app
from nnexplorer.tui.widgets.log_panel import LogPanel
from nnexplorer.tui.widgets.status_bar import StatusBar


async def test_status_and_log_colours_follow_the_theme(tiny_spec):
    app = make_app(tiny_spec, runner_factory=FakeRunner(train_script(epochs=2)))
    async with app.run_test(size=(120, 40)) as pilot:
        status_bar = app.main.query_one(StatusBar)
        log_panel = app.main.query_one(LogPanel)
        await pilot.press("f5")
        await wait_for(pilot, lambda: not app.busy and app.runs)
        await pilot.press("alt+8")  # the log pane writes its lines once it is shown
        await pilot.pause()
        for theme in ("textual-dark", "textual-light"):
            app.theme = theme
            await pilot.pause()
            done = next(s for s in status_bar.render().spans if s.start > 0)
            assert status_bar.state == "Done"
            expected = Color.parse(app.theme_variables["text-success"]).rich_color
            assert done.style.color == expected, theme
            app.log_line("careful", "warning")
            await pilot.pause()
            line = log_panel.lines[-1]
            warning = Color.parse(app.theme_variables["text-warning"]).rich_color
            assert any(seg.style and seg.style.color == warning for seg in line), theme
