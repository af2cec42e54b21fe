"""Pilot tests of the explorer with a fake runner: keys in, panes, dialogs, runs and errors out."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import DataTable, Input, Static, TabbedContent
from tui_fakes import FakeRunner, log_text, notes, status, train_script, wait_for

from nnexplorer.core.errors import RunError, SpecError
from nnexplorer.core.events import BatchProgress, EpochEnded
from nnexplorer.core.spec import load_preset
from nnexplorer.tui.app import START_STATE, NNExplorerApp, make_app
from nnexplorer.tui.screens.dialogs import ConfirmDialog, ErrorDialog, PathDialog, QuitDialog
from nnexplorer.tui.screens.help import HelpScreen
from nnexplorer.tui.widgets.metric_chart import MetricChart
from nnexplorer.tui.widgets.results_table import ResultsTable
from nnexplorer.tui.widgets.status_bar import StatusBar

BAD_PRESETS = Path(__file__).parent / "data" / "bad_presets"
SIZE = (120, 40)


def runs_rows(app: NNExplorerApp) -> int:
    return app.main.query_one(ResultsTable).runs_table.row_count


@pytest.fixture
def tiny(tiny_spec):
    return tiny_spec


async def test_starts_ready_and_quits_without_asking(tiny):
    app = make_app(tiny, runner_factory=FakeRunner(train_script()))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert status(app) == START_STATE  # Ready, and where the focus is
        assert "detected at first run" in app.main.query_one(StatusBar).device
        assert app.draft.problems() == {}
        assert app.draft.spec() == tiny
        assert runs_rows(app) == 0
        palette = {command.title for command in app.get_system_commands(app.screen)}
        assert {"Train (F5)", "Apply best", "Resume grid search", "Past runs (F3)"} <= palette
        await pilot.press("ctrl+q")
        await wait_for(pilot, lambda: not app.is_running)


async def test_ctrl_q_during_start_up_waits_for_the_panes_then_quits(tiny):
    """A quit while the editor panes are still being built must not tear them down mid-mount."""
    app = make_app(tiny, runner_factory=FakeRunner(train_script()))
    async with app.run_test(size=SIZE) as pilot:
        built: list[bool] = []
        app.exit = lambda *a, _exit=app.exit, **k: (
            built.append(app.main.editors_built),
            _exit(*a, **k),
        )[1]
        assert not app.main.editors_built  # they are built 0.3 s after the first frame
        await pilot.press("ctrl+q")
        await wait_for(pilot, lambda: not app.is_running)
    assert built and built[0] is True
    assert app.return_code == 0


async def test_train_fills_charts_results_and_status(tiny):
    runner = FakeRunner(train_script(epochs=4))
    app = make_app(tiny, runner_factory=runner)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f5")
        await wait_for(pilot, lambda: not app.busy and app.runs)
        run = app.runs["run1"]
        assert run.status == "completed"
        assert [row["loss"] for row in run.history] == [2.0, 1.0, 2 / 3, 0.5]
        assert runner.calls[0]["mode"] == "train"
        assert runner.calls[0]["spec"] == tiny
        loss = app.main.query_one("#loss-chart", MetricChart)
        assert [s.label for s in loss.series] == ["train", "val"]
        assert loss.series[0].xs == [1, 2, 3, 4]
        assert runs_rows(app) == 1
        row = app.main.query_one(ResultsTable).runs_table.get_row("run1")
        assert row[2] == "4/4" and row[4] == "acc 0.912 loss 0.31" and row[1] == "done"
        assert status(app) == "Done"
        assert app.main.query_one(StatusBar).device == "CPU"
        assert "Run fake started on CPU" in log_text(app)
        # a second run keeps the first one faintly on the charts
        await pilot.press("f5")
        await wait_for(pilot, lambda: not app.busy and len(app.runs) == 2)
        labels = [s.label for s in loss.series]
        assert labels == ["prev", "", "train", "val"]
        assert runs_rows(app) == 2
        # a run that floods batch progress: every epoch still arrives, in order
        runner.script = flooded
        await pilot.press("f5")
        await wait_for(pilot, lambda: not app.busy and len(app.runs) == 3)
        assert [row["loss"] for row in app.runs["run3"].history] == [2 / e for e in range(1, 31)]


def flooded(spec, mode):
    """A 30-epoch run with 50 batch-progress events before each epoch event."""
    out = []
    for event in train_script(epochs=30)(spec, mode):
        if isinstance(event, EpochEnded):
            out += [BatchProgress(epoch=event.epoch, batch=b, batches=50) for b in range(50)]
        out.append(event)
    return out


async def test_stop_ends_the_run_as_stopped(tiny):
    runner = FakeRunner(train_script(epochs=10, hold_after=2))
    app = make_app(tiny, runner_factory=runner)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f5")
        await wait_for(pilot, lambda: app.busy and len(app.runs["run1"].history) == 2)
        assert status(app) == "Training epoch 2/10, 0.5 s/epoch, ETA 00:04"
        await pilot.press("f7")
        await wait_for(pilot, lambda: not app.busy)
        assert runner.handles[0].stopped.is_set()
        assert app.runs["run1"].status == "cancelled"
        assert status(app) == "Stopped"
        row = app.main.query_one(ResultsTable).runs_table.get_row("run1")
        assert row[2] == "2/10" and row[1] == "stopped"


async def test_failures_are_reported_and_the_app_stays_usable(tiny):
    """One session through every way a run can go wrong, then a run that works."""

    def broken(spec, mode):
        events = train_script(epochs=5)(spec, mode)
        return [*events[:4], BrokenPipeError("the worker's pipe closed")]

    killed = "worker exited with code -9 (killed by SIGKILL): MemoryError"
    runner = FakeRunner(train_script(epochs=2, status="failed", message=killed))
    app = make_app(tiny, runner_factory=runner)

    async def run(script, fail_start=None):
        runner.script, runner.fail_start = script, fail_start
        count = len(app.runs)
        await pilot.press("f5")
        await wait_for(pilot, lambda: not app.busy and len(app.runs) == count + 1)
        return app.runs[f"run{count + 1}"]

    async with app.run_test(size=SIZE) as pilot:
        table = app.main.query_one(ResultsTable).runs_table
        # the worker died (the runner reports a failed run_finished with stderr's tail)
        first = await run(runner.script)
        assert first.status == "failed" and status(app) == "Failed"
        assert "MemoryError" in notes(app)
        assert "tiny failed: worker exited with code -9" in log_text(app)
        assert table.get_row("run1")[1].startswith("failed: worker exited")
        # iterating the events raised: reported once, through the worker's state
        second = await run(broken)
        assert second.status == "failed" and len(second.history) == 2
        assert "BrokenPipeError: the worker's pipe closed" in second.message
        assert runner.handles[-1].killed.is_set()
        assert log_text(app).count("BrokenPipeError") == 1
        # the run could not even start
        third = await run(train_script(), RunError("cannot create the run folder"))
        assert third.status == "failed" and "cannot create the run folder" in notes(app)
        # divergence is a warning with advice
        fourth = await run(train_script(epochs=2, status="diverged", message="loss became nan"))
        assert fourth.status == "diverged" and status(app) == "Diverged"
        assert "smaller learning rate" in notes(app)
        assert "WARNING: tiny diverged: loss became nan" in log_text(app)
        assert table.get_row("run4")[1] == "diverged: loss became nan"
        # and the app still trains
        fifth = await run(train_script(epochs=2))
        assert fifth.status == "completed" and status(app) == "Done"
        assert table.row_count == 5


async def test_save_as_then_open_round_trips(tiny, tmp_path):
    app = make_app(tiny, runner_factory=FakeRunner(train_script()))
    target = tmp_path / "saved.toml"
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        app.draft.apply("fit.epochs", 7)
        app.draft.apply("layers.0.units", 12)
        app.reload_editors()
        before = app.draft.spec()
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: isinstance(app.screen, PathDialog))
        app.screen.query_one(Input).value = str(target)
        await pilot.press("enter")
        await wait_for(pilot, target.exists)
        assert load_preset(target) == before
        target.write_text("# my notes on this experiment\n" + target.read_text())
        app.draft.apply("fit.epochs", 3)
        app.reload_editors()
        await pilot.press("ctrl+o")  # unsaved edits: it asks before discarding them
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        await pilot.press("n")
        await wait_for(pilot, lambda: app.screen is app.main)
        assert app.draft.data["fit"]["epochs"] == 3
        await pilot.press("ctrl+o")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        await pilot.press("y")
        await wait_for(pilot, lambda: isinstance(app.screen, PathDialog))
        assert app.screen.query_one(Input).value == str(target)  # the preset being edited
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.screen is app.main)
        assert app.draft.spec() == before
        assert app.preset_path == target
        assert "saved.toml" in app.sub_title
        # saving the opened file again keeps what its author wrote around the values
        app.draft.apply("fit.epochs", 9)
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: isinstance(app.screen, PathDialog))
        assert app.screen.query_one(Input).value == str(target)
        await pilot.press("enter")
        await wait_for(pilot, lambda: load_preset(target).fit.epochs == 9)
        assert target.read_text().startswith("# my notes on this experiment\n")
        app.draft.apply("fit.epochs", 7)  # back to the first save's values
        # saving over another file asks first
        other = tmp_path / "other.toml"
        other.write_text("# someone else's file\n")
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: isinstance(app.screen, PathDialog))
        app.screen.query_one(Input).value = str(other)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        await pilot.press("y")
        await wait_for(pilot, lambda: app.preset_path == other)
        assert load_preset(other) == before


async def test_opening_a_bad_preset_shows_its_errors_and_keeps_the_state(tiny):
    app = make_app(tiny, runner_factory=FakeRunner(train_script()))
    async with app.run_test(size=SIZE) as pilot:
        for name in ("many_errors.toml", "toml_syntax.toml", "not_utf8.toml"):
            path = BAD_PRESETS / name
            with pytest.raises(SpecError) as expected:
                load_preset(path)
            await pilot.press("ctrl+o")
            await wait_for(pilot, lambda: isinstance(app.screen, PathDialog))
            app.screen.query_one(Input).value = str(path)
            await pilot.press("enter")
            await wait_for(pilot, lambda: isinstance(app.screen, ErrorDialog))
            shown = [str(s.render()) for s in app.screen.query(".error-line").results(Static)]
            assert shown == expected.value.lines()
            await pilot.press("escape")
            await wait_for(pilot, lambda: app.screen is app.main)
            assert app.draft.spec() == tiny
            assert expected.value.lines()[0] in log_text(app)


async def test_quit_asks_while_a_run_is_active(tiny):
    # (every choice of the quit dialog: tests/test_server_runs_tui.py)
    runner = FakeRunner(train_script(epochs=10, hold_after=1))
    app = make_app(tiny, runner_factory=runner)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f5")
        await wait_for(pilot, lambda: app.busy and app.runs["run1"].history)
        await pilot.press("ctrl+q")
        await wait_for(pilot, lambda: isinstance(app.screen, QuitDialog))
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is app.main)
        assert app.busy and app.is_running
        await pilot.press("ctrl+q")
        await wait_for(pilot, lambda: isinstance(app.screen, QuitDialog))
        await pilot.press("s")
        await wait_for(pilot, lambda: not app.is_running)
    assert runner.handles[0].stopped.is_set()
    assert app.return_code == 0


async def test_help_explains_the_focused_pane_and_code_view_shows_the_script(tiny):
    from nnexplorer.core.codegen import export_script
    from nnexplorer.tui.screens.code_view import CodeScreen

    app = make_app(tiny, runner_factory=FakeRunner(train_script()))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("alt+2")
        await pilot.pause()
        await pilot.press("f1")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen))
        assert app.screen.topic == "layers"
        await pilot.press("down")
        await pilot.pause()
        assert app.screen.topic == "training"
        await pilot.press("f1")
        await wait_for(pilot, lambda: app.screen is app.main)
        await pilot.press("alt+5", "f1")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen))
        assert app.screen.topic == "charts"
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is app.main)
        # ctrl+e: the equivalent Keras script
        await pilot.press("ctrl+e")
        await wait_for(pilot, lambda: isinstance(app.screen, CodeScreen))
        assert app.screen.script == export_script(tiny)
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is app.main)


async def test_panes_by_keys_on_any_terminal_size_without_colour(tiny, monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    app = make_app(tiny, runner_factory=FakeRunner(train_script()))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert app.no_color
        main = app.main
        assert main.query_one("#editors").display and not main.query_one("#views").display
        await pilot.press("alt+6")
        await pilot.pause()
        assert main.query_one("#views").display and not main.query_one("#editors").display
        assert main.query_one("#view-tabs", TabbedContent).active == "results"
        assert isinstance(app.focused, DataTable)
        await pilot.press("alt+8")
        await pilot.pause()
        assert main.query_one("#view-tabs", TabbedContent).active == "log"
        await pilot.press("f2")
        await pilot.pause()
        assert main.query_one("#editors").display
        await pilot.press("alt+1")
        await pilot.pause()
        assert main.query_one("#editors", TabbedContent).active == "data"
        # wide: both sides; too small: a message instead of the layout
        await pilot.resize_terminal(*SIZE)
        await pilot.pause()
        assert main.query_one("#editors").display and main.query_one("#views").display
        await pilot.resize_terminal(70, 20)
        await pilot.pause()
        message = main.query_one("#too-small", Static)
        assert message.display and "70x20" in str(message.render())
        assert not main.query_one("#body").display
        await pilot.resize_terminal(100, 30)
        await pilot.pause()
        assert not message.display and main.query_one("#body").display


async def test_selecting_a_result_row_shows_that_run_and_log_scale(tiny):
    runner = FakeRunner(train_script(epochs=2))
    app = make_app(tiny, runner_factory=runner)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f5")
        await wait_for(pilot, lambda: not app.busy and app.runs)
        runner.script = train_script(epochs=3, scale=2.0)
        await pilot.press("f5")
        await wait_for(pilot, lambda: not app.busy and len(app.runs) == 2)
        loss = app.main.query_one("#loss-chart", MetricChart)
        assert loss.series[-2].ys[0] == 4.0
        await pilot.press("alt+6")
        table = app.main.query_one(ResultsTable).runs_table
        table.move_cursor(row=table.get_row_index("run1"))
        await pilot.press("enter")
        await pilot.pause()
        assert app.shown == ("run1", None)
        assert loss.series[-2].ys == [2.0, 1.0]
        await pilot.press("s")
        assert table.sort_column == "Run"
        # the loss chart's log scale: ctrl+l anywhere, l on the chart
        assert not loss.log_scale
        await pilot.press("ctrl+l")
        assert loss.log_scale
        await pilot.press("alt+5")
        await pilot.pause()
        assert app.focused is loss
        await pilot.press("l")
        assert not loss.log_scale


async def test_past_runs_show_curves_and_reopen_a_preset(tiny_spec_data, tmp_path):
    from nnexplorer.core.runs import RunRecorder, create_run_dir
    from nnexplorer.core.spec import validate_spec
    from nnexplorer.tui.screens.runs_browser import RunsScreen

    old = validate_spec({**tiny_spec_data, "experiment": {"name": "older", "seed": 3}})
    root = tmp_path / "runs"
    record = RunRecorder(create_run_dir(root, old, "train"))
    for event in train_script(epochs=3)(old, "train"):
        record(event)
    record.close()
    app = make_app(validate_spec(tiny_spec_data), runner_factory=FakeRunner(train_script()),
                   runs_root=root)  # fmt: skip
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f3")
        await wait_for(pilot, lambda: isinstance(app.screen, RunsScreen))
        table = app.screen.query_one("#past-runs", DataTable)
        assert table.row_count == 1 and table.get_row_at(0)[1:4] == ["older", "train", "done"]
        await pilot.press("enter")
        await pilot.pause()
        chart = app.screen.query_one("#past-loss", MetricChart)
        assert chart.series[0].ys == [2.0, 1.0, 2 / 3]
        await pilot.press("r")  # a finished train run cannot be resumed
        await wait_for(pilot, lambda: "Only an interrupted grid" in notes(app))
        assert isinstance(app.screen, RunsScreen)
        await pilot.press("o")
        await wait_for(pilot, lambda: app.screen is app.main)
        assert app.draft.spec() == old
