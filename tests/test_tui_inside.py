"""The Inside, Evaluation and Boundary views, the data-loss switch and the Data pane's sample
images, driven by keys on the fake runner (canned events, no worker process)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from inside_fakes import inside_script, write_misclassified, write_run
from textual.widgets import DataTable, Static, TabbedContent
from tui_fakes import FakeRunner, grid_script, notes, wait_for

from nnexplorer.core.spec import validate_spec
from nnexplorer.tui.app import make_app
from nnexplorer.tui.widgets.data_samples import DataSamples
from nnexplorer.tui.widgets.metric_chart import MetricChart
from nnexplorer.tui.widgets.views import (
    GRID_NOTE,
    BoundaryView,
    EvaluationView,
    InsideView,
)
from nnexplorer.tui.widgets.views.inside import GradientChart

SIZE = (80, 24)


@pytest.fixture
def spec(tiny_spec_data):
    return validate_spec(tiny_spec_data)


def runs_root() -> Path:
    return Path(os.environ["NNEXPLORER_RUNS"])


async def _train(pilot, app) -> None:
    await wait_for(pilot, lambda: app.main.editors_ready)
    await pilot.press("f5")
    await wait_for(pilot, lambda: app.runs and not app.busy)


def _active_view(app) -> str:
    return str(app.main.query_one("#view-tabs", TabbedContent).active)


async def show_view(pilot, key: str, view: str) -> None:
    """Press ``key`` and wait until ``view`` is on show with the focus inside it.

    Keys pressed faster than the focus moves would let the earlier pane's focus message switch
    the tabs back (Textual activates the pane that receives the focus).
    """
    app = pilot.app
    await pilot.press(key)
    pane = app.main.query_one(f"#{view}")

    def settled() -> bool:
        focused = app.focused
        return _active_view(app) == view and focused is not None and pane in focused.ancestors

    await wait_for(pilot, settled)
    await pilot.pause()


async def test_inside_view_by_keys(spec):
    app = make_app(spec, runner_factory=FakeRunner(inside_script(epochs=4)))
    async with app.run_test(size=SIZE) as pilot:
        await _train(pilot, app)
        await pilot.press("alt+9")
        await wait_for(pilot, lambda: _active_view(app) == "inside")
        assert app.main.has_class("-full-view")  # the loss charts make way at 80x24
        assert app.main.query_one("#charts").styles.display == "none"
        inside = app.main.query_one(InsideView)
        assert [e.epoch for e in inside.history] == [1, 2, 3, 4]
        series = app.main.query_one(GradientChart).series
        assert [name for name, _, _ in series] == ["hidden_1", "hidden_2", "output"]
        assert all(xs == [1, 2, 3, 4] for _, xs, _ in series)
        assert series[0][2][0] == pytest.approx(1.1e-5)  # first layer, epoch 1
        table = app.main.query_one("#layer-table", DataTable)
        assert table.row_count == 3 and app.focused is table
        assert table.get_row("0")[4] == "1.40e-05" and table.get_row("0")[6] == "40%"
        assert table.get_row("1")[5] == "25%" and table.get_row("0")[8] == "2/2*"
        hist = app.main.query_one("#weight-hist", Static)
        assert "Weights of hidden_1 (epoch 4)" in _text(hist)
        await pilot.press("down")
        await wait_for(pilot, lambda: inside.selected == 1)
        assert "Weights of hidden_2" in _text(hist)
        await pilot.press("]")
        await wait_for(pilot, lambda: inside.selected == 2)
        await pilot.press("[", "[")
        await wait_for(pilot, lambda: inside.selected == 0)
        # alt+5 brings the charts back
        await pilot.press("alt+5")
        await wait_for(pilot, lambda: not app.main.has_class("-full-view"))


async def test_inside_view_updates_live_and_resets_for_a_new_run(spec):
    runner = FakeRunner(inside_script(epochs=4, hold_after=2))
    app = make_app(spec, runner_factory=runner)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.main.editors_ready)
        await pilot.press("f5", "alt+9")
        inside = app.main.query_one(InsideView)
        await wait_for(pilot, lambda: len(inside.history) == 2)
        hist = app.main.query_one("#weight-hist", Static)
        assert "(epoch 2)" in _text(hist)
        runner.handles[0].release()
        await wait_for(pilot, lambda: not app.busy)
        assert len(inside.history) == 4 and "(epoch 4)" in _text(hist)
        await pilot.press("f5")  # a second run starts from an empty view
        await wait_for(pilot, lambda: len(inside.history) == 2)
        runner.handles[1].release()
        await wait_for(pilot, lambda: not app.busy)


async def test_evaluation_view_pages_through_mistakes(spec):
    write_misclassified(runs_root() / "fake-1", 20)
    app = make_app(spec, runner_factory=FakeRunner(inside_script()))
    async with app.run_test(size=SIZE) as pilot:
        await _train(pilot, app)
        await pilot.press("alt+0")
        await wait_for(pilot, lambda: _active_view(app) == "evaluation")
        view = app.main.query_one(EvaluationView)
        assert view.evaluation is not None and view.evaluation.matrix[1] == [0, 8, 2]
        assert "27/31 right" in _text(view.query_one("#eval-head", Static))
        images = view.query_one("#eval-images", Static)
        per_page = view._per_page()
        assert per_page == 8  # four 8x8 digits side by side at 80 columns, two lines
        assert f"1-{per_page} of 20" in _text(images)
        assert app.focused is view
        await pilot.press("n")
        await wait_for(pilot, lambda: view.page == 1)
        assert f"{per_page + 1}-{2 * per_page} of 20" in _text(images)
        await pilot.press("p", "p")  # back past the first page: the last one
        await wait_for(pilot, lambda: view.page == 2)
        assert "17-20 of 20" in _text(images)


def _text(widget: Static) -> str:
    from rich.console import Console

    console = Console(width=200, record=True, color_system=None)
    console.print(widget.content)
    return console.export_text()


async def test_boundary_view_by_keys(spec):
    app = make_app(spec, runner_factory=FakeRunner(inside_script(epochs=3)))
    async with app.run_test(size=SIZE) as pilot:
        await _train(pilot, app)
        # F5 brought the views side (charts over Results) on show: F4 walks on from Results
        for view in ("heatmap", "inside", "evaluation", "boundary"):
            await show_view(pilot, "f4", view)
        view = app.main.query_one(BoundaryView)
        assert view.event is not None and view.event.final and view.count == 4
        assert app.focused is view
        picture = _text_of(view)
        assert "Decision regions (final)" in picture and "x: x0   y: x1" in picture
        assert "o" in picture and "·" in picture
        await pilot.press("p")
        await wait_for(pilot, lambda: not view.points)
        assert "points hidden" in _text_of(view)
        await show_view(pilot, "f4", "log")


def _text_of(widget) -> str:
    from rich.console import Console

    console = Console(width=widget.size.width, record=True, color_system=None)
    console.print(widget.render())
    return console.export_text()


async def test_data_loss_switch_on_the_loss_chart(spec):
    app = make_app(spec, runner_factory=FakeRunner(inside_script(epochs=3)))
    async with app.run_test(size=SIZE) as pilot:
        await _train(pilot, app)
        await pilot.press("alt+5")
        chart = app.main.query_one("#loss-chart", MetricChart)
        await wait_for(pilot, lambda: app.focused is chart)
        total = [s.ys for s in chart.series]
        assert "Loss+penalty (d)" in str(chart.border_title)
        await pilot.press("d")
        await wait_for(pilot, lambda: chart.data_loss)
        history = app.runs["run1"].history
        expected = [row["loss"] - row["penalty"] for row in history]
        assert chart.series[0].ys == pytest.approx(expected)
        assert chart.series[0].ys != total[0] and "Data loss" in str(chart.border_title)
        await pilot.press("d")
        await wait_for(pilot, lambda: not chart.data_loss)
        assert [s.ys for s in chart.series] == total


async def test_data_loss_without_penalty_says_so(spec):
    app = make_app(spec, runner_factory=FakeRunner(inside_script(epochs=2, penalty=False)))
    async with app.run_test(size=SIZE) as pilot:
        await _train(pilot, app)
        await pilot.press("alt+5")
        chart = app.main.query_one("#loss-chart", MetricChart)
        await wait_for(pilot, lambda: app.focused is chart)
        await pilot.press("d")
        await wait_for(pilot, lambda: "no regulariser" in notes(app))
        assert not chart.data_loss


async def test_past_run_inside_views_from_f3(spec):
    run_dir = write_run(runs_root(), spec, epochs=3, images=4)
    app = make_app(spec, runner_factory=FakeRunner(inside_script()), runs_root=runs_root())
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.main.editors_ready)
        await pilot.press("f3")
        await wait_for(pilot, lambda: app.screen.id == "runs-screen")
        await pilot.press("i")
        await wait_for(pilot, lambda: _active_view(app) == "inside")
        inside = app.main.query_one(InsideView)
        assert [e.epoch for e in inside.history] == [1, 2, 3]
        evaluation = app.main.query_one(EvaluationView)
        assert evaluation.evaluation is not None and evaluation.misclassified is not None
        assert len(evaluation.misclassified["rows"]) == 4
        boundary = app.main.query_one(BoundaryView)
        assert boundary.event is not None and boundary.event.final
        assert run_dir.name in "\n".join(app.main.query_one("#log-panel").lines_written)


async def test_grid_run_explains_why_the_views_stay_empty(spec, tiny_spec_data):
    tiny_spec_data["grid"] = {"cv": 2, "params": {"layers.0.units": [4, 8]}}
    app = make_app(validate_spec(tiny_spec_data), runner_factory=FakeRunner(grid_script()))
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.main.editors_ready)
        await pilot.press("f6")
        await wait_for(pilot, lambda: app.runs and not app.busy)
        await pilot.press("alt+9")
        inside = app.main.query_one(InsideView)
        assert inside.history == [] and inside._hint == GRID_NOTE
        assert "classification train runs" in _text(app.main.query_one("#eval-head", Static))


async def test_data_pane_shows_sample_digits(spec, tiny_spec_data):
    tiny_spec_data["data"]["source"] = "sklearn:digits"
    app = make_app(validate_spec(tiny_spec_data), runner_factory=FakeRunner(inside_script()))
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.main.editors_ready)
        await pilot.press("alt+1")
        await wait_for(pilot, lambda: app.main.query(DataSamples))
        samples = app.main.query_one(DataSamples)
        # read in a thread: scikit-learn's first import can take a while on a busy machine
        await wait_for(pilot, lambda: samples.samples is not None, timeout=60)
        assert samples.samples.labels[:3] == ["0", "1", "2"] and samples.samples.shape == [8, 8]
        text = _text(samples)
        assert "Sample images (8x8" in text and "█" in text
        # tabular data has no sample images
        app.draft.apply("data.source", "sklearn:iris")
        app.reload_editors()
        await wait_for(pilot, lambda: samples.samples is None and not samples.display, timeout=30)


def test_samples_views_and_show_do_not_import_tensorflow(spec, tmp_path):
    import subprocess
    import sys

    run_dir = write_run(tmp_path / "runs", spec)
    code = (
        "from nnexplorer.core.datasets import sample_images\n"
        "from nnexplorer.core.spec import DataSpec\n"
        "assert sample_images(DataSpec(source='sklearn:digits')).shape == [8, 8]\n"
        "import nnexplorer.tui.widgets.views\n"
        "from nnexplorer import cli\n"
        f"assert cli.main(['show', {str(run_dir)!r}]) == 0\n"
        "import sys\n"
        "print([m for m in ('tensorflow', 'keras') if m in sys.modules])\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "[]"


async def test_f4_walks_the_view_tabs_on_a_wide_terminal(spec):
    app = make_app(spec, runner_factory=FakeRunner(inside_script(epochs=2)))
    async with app.run_test(size=(120, 40)) as pilot:
        await _train(pilot, app)
        for view in ("heatmap", "inside", "evaluation", "boundary", "log", "results"):
            await show_view(pilot, "f4", view)
        assert not app.main.has_class("-full-view")
