"""The main screen's views, and colours from the theme: switching it recolours the status bar
and the log."""

from __future__ import annotations

from textual.color import Color
from tui_fakes import FakeRunner, train_script, wait_for

from nnexplorer.tui.app import make_app
from nnexplorer.tui.widgets.heatmap import Heatmap
from nnexplorer.tui.widgets.log_panel import LogPanel
from nnexplorer.tui.widgets.metric_chart import MetricChart
from nnexplorer.tui.widgets.results_table import ResultsTable
from nnexplorer.tui.widgets.status_bar import StatusBar


async def test_main_screen_views_and_theme_colours(tiny_spec):
    app = make_app(tiny_spec, runner_factory=FakeRunner(train_script(epochs=2)))
    async with app.run_test(size=(120, 40)) as pilot:
        main = app.main
        assert main.status_bar is main.query_one(StatusBar)
        assert main.results is main.query_one(ResultsTable)
        assert main.heatmap is main.query_one(Heatmap)
        assert main.log_panel is main.query_one(LogPanel)
        assert main.charts == (main.loss_chart, main.metric_chart)
        assert main.loss_chart is main.query_one("#loss-chart", MetricChart)
        await pilot.press("f5")
        await wait_for(pilot, lambda: not app.busy and app.runs)
        await pilot.press("alt+8")  # the log pane writes its lines once it is shown
        await pilot.pause()
        for theme in ("textual-dark", "textual-light"):
            app.theme = theme
            await pilot.pause()
            done = next(s for s in main.status_bar.render().spans if s.start > 0)
            assert main.status_bar.state == "Done"
            expected = Color.parse(app.theme_variables["text-success"]).rich_color
            assert done.style.color == expected, theme
            app.log_line("careful", "warning")
            await pilot.pause()
            line = main.log_panel.lines[-1]
            warning = Color.parse(app.theme_variables["text-warning"]).rich_color
            assert any(seg.style and seg.style.color == warning for seg in line), theme
