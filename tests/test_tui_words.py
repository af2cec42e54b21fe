"""What the explorer says: one word for a stopped run, no stale progress after F7, one line per
problem in the log, a data source that cannot be read named at once, the focus on the field
that refuses a run, a loss that blows up, and charts that read without colour."""

from __future__ import annotations

from textual.widgets import Static
from tui_fakes import FakeRunner, grid_script, log_text, notes, status, train_script, wait_for

from nnexplorer.core.events import LOSS_EXPLODING, EpochEnded, LogEvent, RunFinished, RunStarted
from nnexplorer.core.spec import validate_spec
from nnexplorer.tui.app import make_app
from nnexplorer.tui.session import STOPPING, RunView, one_line, stopped_text
from nnexplorer.tui.widgets.form_fields import FormField
from nnexplorer.tui.widgets.heatmap import Heatmap
from nnexplorer.tui.widgets.metric_chart import TRAIN_MARKER, VAL_MARKER, MetricChart, run_series
from nnexplorer.tui.widgets.results_table import ResultsTable

SIZE = (120, 40)


def field_of(widget) -> str | None:
    while widget is not None and not isinstance(widget, FormField):
        widget = widget.parent
    return widget.key if widget is not None else None


def test_stopped_runs_say_stopped_once():
    assert stopped_text("stopped after 30 epochs") == "stopped after 30 epochs"
    assert stopped_text("stopped; 3 finished fits kept in the journal").startswith("stopped;")
    assert stopped_text("interrupted after 2 epochs") == "interrupted after 2 epochs"
    assert stopped_text("") == "stopped"
    assert stopped_text("the worker was asked to stop") == "stopped: the worker was asked to stop"


def test_log_lines_are_one_line_and_name_the_details():
    trace = "Traceback (most recent call last):\n  File 'x.py', line 1\nValueError: bad value"
    assert one_line(trace, "/runs/r/events.jsonl") == (
        "ValueError: bad value (details: /runs/r/events.jsonl)"
    )
    death = "worker exited with code 1: Traceback (most recent call last):\n  ...\nMemoryError"
    assert one_line(death, "/runs/r/stderr.log") == (
        "worker exited with code 1: MemoryError (details: /runs/r/stderr.log)"
    )
    assert one_line("one line", "/x") == "one line"


async def test_stop_shows_stopping_then_stopped_and_never_stale_progress(tiny_spec):
    runner = FakeRunner(train_script(epochs=40, hold_after=30))
    app = make_app(tiny_spec, runner_factory=runner)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f5")
        await wait_for(pilot, lambda: app.busy and len(app.runs["run1"].history) == 30)
        handle = runner.handles[0]
        handle.stop = lambda: None  # the worker takes its time to stop
        await pilot.press("f7")
        await wait_for(pilot, lambda: status(app) == STOPPING)
        # an epoch that still arrives must not bring back "Training epoch 31/40"
        app.run_control.handle_event(
            EpochEnded(run_id="fake", epoch=31, epochs=40, metrics={"loss": 0.1}, seconds=0.5)
        )
        assert status(app) == STOPPING
        app.run_control.handle_event(
            RunFinished(run_id="fake", status="cancelled", message="stopped after 31 epochs")
        )
        handle.kill()  # (ends the fake's thread)
        await wait_for(pilot, lambda: not app.busy)
        assert status(app) == "Stopped"
        assert "tiny: stopped after 31 epochs" in log_text(app)
        assert "stopped. stopped" not in log_text(app)
        row = app.main.query_one(ResultsTable).runs_table.get_row("run1")
        assert row[1] == "stopped"


async def test_a_stopped_grid_leaves_no_candidate_running_and_the_heatmap_says_best(
    tiny_spec_data,
):
    tiny_spec_data["grid"] = {"cv": 2, "params": {"layers.0.units": [4, 8, 16]}}
    runner = FakeRunner(grid_script(folds=2, hold_after=1))
    app = make_app(validate_spec(tiny_spec_data), runner_factory=runner)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f6")
        await wait_for(pilot, lambda: app.busy and app.runs["run1"].candidates)
        await pilot.pause(0.2)
        heatmap = app.main.query_one(Heatmap)
        await pilot.press("f7")
        await wait_for(pilot, lambda: not app.busy)
        table = app.main.query_one(ResultsTable).candidates_table
        statuses = [table.get_row(key)[6] for key in table.rows]
        assert statuses and not any("running" in s for s in statuses), statuses
        assert all(c.finished for c in app.runs["run1"].candidates.values())
        caption = str(heatmap.query_one("#heat-grid", Static).content.caption)
        assert "best:" in caption and "so far" not in caption


async def test_one_click_on_a_results_row_draws_its_curves(tiny_spec):
    runner = FakeRunner(train_script(epochs=3))
    app = make_app(tiny_spec, runner_factory=runner)
    async with app.run_test(size=SIZE) as pilot:
        for number in (1, 2):
            await pilot.press("f5")
            await wait_for(pilot, lambda n=number: len(app.runs) == n and not app.busy)
        assert app.shown == ("run2", None)
        await pilot.press("alt+6")
        table = app.main.query_one(ResultsTable).runs_table
        await wait_for(pilot, lambda: table.row_count == 2)
        first = table.get_row_index("run1")
        await pilot.click(table, offset=(3, 1 + first))  # under the header: run1's row
        await wait_for(pilot, lambda: app.shown == ("run1", None))


async def test_a_missing_data_file_is_named_in_the_pane_and_refuses_the_run(tiny_spec_data):
    app = make_app(validate_spec(tiny_spec_data), runner_factory=FakeRunner(train_script()))
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.main.editors_built)
        app.draft.apply("data.source", "file:/no/such/points.csv")
        app.reload_editors()
        problem = app.draft.problems()["data.source"]
        assert "file not found" in problem
        form = app.main.query_one("#data-form")
        assert form.field("data.source").problem == problem
        shape = str(form.query_one(".data-shape").render())
        assert "cannot be read" in shape and "features" not in shape
        await pilot.press("f5")
        await wait_for(pilot, lambda: field_of(app.focused) == "data.source")
        assert not app.runs and "file not found" in notes(app)


async def test_after_f5_refuses_the_focus_is_on_the_bad_field(tiny_spec):
    app = make_app(tiny_spec, runner_factory=FakeRunner(train_script()))
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.main.editors_built)
        app.draft.apply("fit.batch_size", 0)
        app.reload_editors()
        await pilot.press("f5")
        await wait_for(pilot, lambda: field_of(app.focused) == "fit.batch_size")
        app.draft.apply("fit.batch_size", 16)
        app.draft.apply("layers.0.units", 0)
        app.reload_editors()
        await pilot.press("f5")
        await wait_for(pilot, lambda: field_of(app.focused) == "units")  # in the layer's form
        assert not app.runs


async def test_tracebacks_stay_out_of_the_log(tiny_spec):
    trace = "Traceback (most recent call last):\n  File 'w.py', line 3\nKeyError: 'x'"

    def script(spec, mode):
        return [
            RunStarted(run_id="fake", mode="train", device="CPU", spec={}),
            LogEvent(run_id="fake", level="debug", message=trace),
            RunFinished(run_id="fake", status="failed", message=f"worker died: {trace}"),
        ]

    app = make_app(tiny_spec, runner_factory=FakeRunner(script))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f5")
        await wait_for(pilot, lambda: app.runs and not app.busy)
        text = log_text(app)
        assert "Traceback" not in text and "File 'w.py'" not in text
        assert "KeyError: 'x' (details: " in text and "events.jsonl" in text


async def test_an_exploding_loss_warns_in_the_status_line_and_the_log(tiny_spec):
    message = "the loss exploded to 3.2e+05 at epoch 2 (lowest 2.1): ..."

    def script(spec, mode):
        return [
            RunStarted(run_id="fake", mode="train", device="CPU", spec={}),
            EpochEnded(run_id="fake", epoch=1, epochs=5, metrics={"loss": 2.1}, seconds=0.1),
            EpochEnded(run_id="fake", epoch=2, epochs=5, metrics={"loss": 3.2e5}, seconds=0.1),
            LogEvent(run_id="fake", level="warning", message=message, code=LOSS_EXPLODING),
            *train_script(5, hold_after=0)(spec, mode)[2:],
        ]

    runner = FakeRunner(script)
    app = make_app(tiny_spec, runner_factory=runner)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f5")
        await wait_for(pilot, lambda: "exploding" in status(app))
        assert "WARNING: the loss exploded to 3.2e+05" in log_text(app)
        runner.handles[0].release()
        await wait_for(pilot, lambda: not app.busy)


def test_validation_curves_are_dotted_so_they_read_without_colour():
    run = RunView(key="run1", mode="train")
    for epoch, loss in enumerate((2.0, 1.0), start=1):
        metrics = {"loss": loss, "val_loss": loss * 1.1, "accuracy": 0.5, "val_accuracy": 0.4}
        run.apply(EpochEnded(run_id="r", epoch=epoch, epochs=2, metrics=metrics, seconds=0.1))
    for kind in ("loss", "metric"):
        markers = {s.label: s.marker for s in run_series(kind, run, None)}
        assert markers == {"train": TRAIN_MARKER, "val": VAL_MARKER}
        assert TRAIN_MARKER != VAL_MARKER


async def test_charts_label_huge_losses_briefly(tiny_spec):
    app = make_app(tiny_spec, runner_factory=FakeRunner(train_script(epochs=3, scale=5e5)))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("f5")
        await wait_for(pilot, lambda: app.runs and not app.busy)
        chart = app.main.query_one("#loss-chart", MetricChart)
        await pilot.pause()
        text = "\n".join(line.text for line in chart.render_lines(chart.region.reset_offset))
        assert "e5" in text or "e6" in text
        assert "1000000" not in text and "500000" not in text


async def test_the_log_wraps_long_lines_and_opens_at_the_newest(tiny_spec):
    app = make_app(tiny_spec, runner_factory=FakeRunner(train_script()))
    async with app.run_test(size=(80, 24)) as pilot:
        log = app.main.log_panel
        for number in range(60):  # written while the log is hidden
            app.log_line(f"line {number}: " + "a long explanation " * 8)
        await pilot.press("alt+8")
        await wait_for(pilot, lambda: log.size.width > 0)
        await pilot.pause()
        assert all(strip.cell_length <= log.scrollable_content_region.width for strip in log.lines)
        assert len(log.lines) > 60 * 2  # each long line wrapped, none cut at the edge
        await wait_for(pilot, lambda: log.scroll_y >= log.max_scroll_y > 0)
        await pilot.resize_terminal(110, 30)  # wider: wrapped again, still at the newest
        await wait_for(pilot, lambda: log.scrollable_content_region.width > 90)
        await pilot.pause()
        assert max(strip.cell_length for strip in log.lines) > 80
        await wait_for(pilot, lambda: log.scroll_y >= log.max_scroll_y)


async def test_grid_keys_are_never_cut(tiny_spec_data):
    tiny_spec_data["grid"] = {
        "params": {"optimizer__learning_rate": [0.001, 0.01], "hidden.kernel_regularizer.l2": [0]}
    }
    app = make_app(validate_spec(tiny_spec_data), runner_factory=FakeRunner(train_script()))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("alt+4")
        await wait_for(pilot, lambda: app.main.editors_built)
        await pilot.pause()
        keys = list(app.main.query(".grid-key").results())
        assert len(keys) == 2
        for key in keys:
            await wait_for(pilot, lambda key=key: key.size.width > len(key.value))
