"""Pilot tests of grid search in the explorer (fake runner): candidates, heatmap, apply best,
resume."""

from __future__ import annotations

from textual.widgets import TabbedContent
from tui_fakes import FakeRunner, grid_script, log_text, notes, status, wait_for

from nnexplorer.core.spec import validate_spec
from nnexplorer.tui.app import make_app
from nnexplorer.tui.widgets.metric_chart import MetricChart
from nnexplorer.tui.widgets.results_table import ResultsTable
from nnexplorer.tui.widgets.status_bar import StatusBar

SIZE = (120, 40)


async def test_grid_search_fills_candidates_heatmap_and_applies_best(tiny_spec_data):

    tiny_spec_data["grid"] = {
        "cv": 2,
        "params": {"layers.0.units": [4, 8], "optimizer__learning_rate": [0.1, 0.01]},
    }
    spec = validate_spec(tiny_spec_data)
    runner = FakeRunner(grid_script(folds=2, fail=frozenset({1})))
    app = make_app(spec, runner_factory=runner)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f6")
        await wait_for(pilot, lambda: not app.busy and app.runs)
        assert runner.calls[0]["mode"] == "grid"
        run = app.runs["run1"]
        assert len(run.candidates) == 4
        table = app.main.query_one(ResultsTable).candidates_table
        assert table.row_count == 4
        best = table.get_row("run1#3")
        # rank, candidate, params (before the long columns), mean ± std, folds, fit time, status
        assert best[0] == "1" and best[2] == "layers.0.units=8 lr=0.01"
        assert best[3] == "0.6550 ± 0.0050" and best[4] == "2/2" and best[6] == "done"
        assert table.get_row("run1#1")[6] == "failed: loss became NaN"
        from nnexplorer.tui.widgets.heatmap import Heatmap, heat_cells

        heat = app.main.query_one(Heatmap)
        assert heat.axes == ("layers.0.units", "optimizer__learning_rate")
        cells = heat_cells(run, *heat.axes)
        assert cells == {(0, 0): 0.505, (0, 1): "fail", (1, 0): 0.605, (1, 1): 0.655}
        assert "Candidate #2 failed" in log_text(app)
        await pilot.press("alt+7")
        await pilot.pause()
        await pilot.press("a")  # apply best, from the heatmap
        await wait_for(pilot, lambda: "Applied the best grid candidate" in log_text(app))
        assert app.draft.data["layers"][0]["units"] == 8
        assert app.draft.data["compile"]["learning_rate"] == 0.01
        assert app.draft.problems() == {}


async def test_grid_chart_draws_each_candidate_then_one_candidate_folds(tiny_spec_data):

    tiny_spec_data["grid"] = {"params": {"layers.0.units": [4, 8, 16]}}
    runner = FakeRunner(grid_script(folds=3, hold_after=2))
    app = make_app(validate_spec(tiny_spec_data), runner_factory=runner)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f6")
        await wait_for(pilot, lambda: app.busy and len(app.runs["run1"].ranked()) == 2)
        loss = app.main.query_one("#loss-chart", MetricChart)
        assert len(loss.series) == 2 and all(s.faint for s in loss.series)
        table = app.main.query_one(ResultsTable).candidates_table
        assert table.row_count == 2
        runner.handles[0].release()
        await wait_for(pilot, lambda: not app.busy)
        assert [s.label for s in loss.series if not s.faint] == ["#3 best"]
        assert loss.series[-1].ys == [0.5, 0.25]  # its refit on the whole training split
        assert "refit" not in status(app)
        table.focus()
        table.move_cursor(row=table.get_row_index("run1#0"))
        await pilot.press("enter")
        await pilot.pause()
        assert [s.label for s in loss.series][:2] == ["fold 1", "fold 2"]


async def test_runs_are_refused_without_grid_values_or_with_an_invalid_field(tiny_spec):
    runner = FakeRunner(grid_script())
    app = make_app(tiny_spec, runner_factory=runner)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f6")
        # (notifications arrive as messages: wait for them rather than for one pause)
        await wait_for(pilot, lambda: "Nothing to search" in notes(app))
        assert runner.calls == []
        assert app.main.query_one("#editors", TabbedContent).active == "grid"
        # F5 refuses an invalid draft with its first problem and shows where it is
        app.draft.apply("fit.epochs", 0)
        app.revalidate()
        await pilot.press("f5")
        await wait_for(pilot, lambda: "fit.epochs" in notes(app))
        assert runner.calls == []
        assert "Cannot train: fit.epochs" in log_text(app)
        assert app.main.query_one("#editors", TabbedContent).active == "training"
        assert "fit.epochs" in app.main.query_one(StatusBar).problem


async def test_resume_continues_the_interrupted_search(tiny_spec_data, tmp_path):
    from nnexplorer.core.runs import create_run_dir

    tiny_spec_data["grid"] = {"params": {"layers.0.units": [4, 8]}}
    spec = validate_spec(tiny_spec_data)
    runner = FakeRunner(grid_script(hold_after=1))
    app = make_app(spec, runner_factory=runner, runs_root=tmp_path / "runs")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f6")
        await wait_for(pilot, lambda: app.busy and app.runs["run1"].ranked())
        await pilot.press("f7")
        await wait_for(pilot, lambda: not app.busy)
        assert app.runs["run1"].status == "cancelled"
        # the fake has no worker writing the folder: make it a real run folder
        real = create_run_dir(tmp_path / "runs", spec, "grid")
        app.runs["run1"].run_dir = str(real)
        runner.script = grid_script()
        app.resume_last()
        await wait_for(pilot, lambda: not app.busy and len(app.runs) == 2)
        assert runner.calls[1]["resume"] == real
        assert runner.calls[1]["mode"] == "grid"
        assert app.runs["run2"].status == "completed"
