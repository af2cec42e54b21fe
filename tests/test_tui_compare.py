"""The explorer's comparisons and sweeps, driven by keys: F3 multi-select, the comparison
screen, a sweep from the Grid pane (fake runner, runs written from canned events)."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
from run_fakes import curve, write_sweep_run, write_train_run
from textual.widgets import DataTable
from tui_fakes import FakeRunner, sweep_script, wait_for

from nnexplorer.core.spec import validate_spec
from nnexplorer.tui.app import make_app
from nnexplorer.tui.screens.compare import CompareScreen
from nnexplorer.tui.screens.runs_browser import RunsScreen
from nnexplorer.tui.widgets.metric_chart import MetricChart
from nnexplorer.tui.widgets.results_table import VARIANT_COLUMNS, ResultsTable

BASE = {
    "experiment": {"name": "digits-mlp", "seed": 1},
    "data": {"source": "sklearn:iris"},
    "layers": [{"type": "dense", "units": 32, "activation": "relu"}],
    "compile": {"learning_rate": 0.01},
    "fit": {"epochs": 8},
}


def write_runs(root: Path) -> None:
    """Two train runs (learning rate and units differ) and a sweep of initialisers."""
    other = copy.deepcopy(BASE)
    other["compile"]["learning_rate"] = 0.1
    other["layers"][0]["units"] = 64
    test_a = {"loss": 0.35, "accuracy": 0.91}
    write_train_run(root, BASE, curve(8, 1.2, 0.3), suffix="a1a1", test=test_a)
    test_b = {"loss": 0.6, "accuracy": 0.8}
    stamp = "20250314-092800"
    write_train_run(root, other, curve(8, 1.0, 0.5, 0.2), stamp=stamp, suffix="c3c3", test=test_b)
    write_sweep_run(
        root,
        BASE,
        [
            {
                "params": {"hidden.kernel_initializer": "random_normal"},
                "history": curve(8, 1.5, 0.6),
                "test": {"loss": 0.62, "accuracy": 0.78},
            },
            {
                "params": {"hidden.kernel_initializer": "glorot_uniform"},
                "history": curve(8, 1.2, 0.35),
                "test": {"loss": 0.4, "accuracy": 0.9},
            },
            {
                "params": {"hidden.kernel_initializer": "he_normal"},
                "history": curve(3, 1.1, 2.0),
                "status": "diverged",
                "reason": "training diverged at epoch 3: the loss became nan",
            },
        ],
    )


@pytest.fixture
def runs_root(tmp_path) -> Path:
    root = tmp_path / "runs"
    root.mkdir()
    write_runs(root)
    return root


async def open_browser(pilot) -> RunsScreen:
    app = pilot.app
    await wait_for(pilot, lambda: app.main.editors_ready)
    await pilot.press("f3")
    await wait_for(pilot, lambda: isinstance(app.screen, RunsScreen))
    await pilot.pause()
    return app.screen


async def test_select_runs_and_overlay_them(runs_root):
    app = make_app(validate_spec(BASE), runs_root=runs_root)
    async with app.run_test(size=(120, 40)) as pilot:
        browser = await open_browser(pilot)
        # newest first: the sweep, then c3c3, then a1a1; select the two train runs
        await pilot.press("down", "space", "down", "space")
        assert [Path(k).name[-4:] for k in browser.selected] == ["c3c3", "a1a1"]
        first = browser.query_one("#past-runs", DataTable).get_cell_at((1, 0))
        assert str(first).startswith(RunsScreen.SELECTED_MARK)
        await pilot.press("space")  # unselect a1a1
        assert len(browser.selected) == 1
        await pilot.press("space", "c")
        await wait_for(pilot, lambda: isinstance(app.screen, CompareScreen))
        screen = app.screen
        assert screen.comparison is not None
        assert [e.label for e in screen.comparison.entries] == ["c3c3", "a1a1"]
        loss = screen.query_one("#compare-loss", MetricChart)
        assert [s.label for s in loss.series] == ["c3c3", "a1a1"]
        assert len({s.marker for s in loss.series}) == 2
        assert len({s.color for s in loss.series}) == 2
        assert "Loss (validation)" in str(loss.border_title)
        table = screen.query_one("#compare-table", DataTable)
        keys = [str(c.key.value) for c in table.ordered_columns]
        assert keys[:3] == ["run", "layers.0.units", "compile.learning_rate"]
        assert "fit.epochs" not in keys and "data.source" not in keys
        assert [str(c) for c in table.get_row("a1a1")[:3]] == ["a1a1", "32", "0.01"]
        assert {"final_accuracy", "final_val_accuracy", "gap_accuracy", "best_epoch"} <= set(keys)
        assert "test_accuracy" in keys
        await pilot.press("t")
        assert "Loss (training)" in str(loss.border_title)
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, RunsScreen))


async def test_a_sweep_compares_as_its_variants(runs_root):
    app = make_app(validate_spec(BASE), runs_root=runs_root)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_browser(pilot)
        await pilot.press("c")  # nothing selected: the run under the cursor, the sweep
        await wait_for(pilot, lambda: isinstance(app.screen, CompareScreen))
        screen = app.screen
        labels = [e.label for e in screen.comparison.entries]
        assert labels == ["b2b2#1", "b2b2#2", "b2b2#3"]
        assert list(screen.comparison.settings) == ["layers.0.kernel_initializer"]
        table = screen.query_one("#compare-table", DataTable)
        assert table.row_count == 3
        header = [str(c.label) for c in table.ordered_columns]
        assert header[:2] == ["run", "l0.init"]  # 80 columns: short titles
        assert str(table.get_row("b2b2#3")[-1]).startswith("diverged")
        legend = str(screen.query_one("#compare-legend").render())
        assert "b2b2#3 diverged: training diverged" in legend


SWEEP = {
    **BASE,
    "fit": {"epochs": 4},
    "grid": {
        "search": "sweep",
        "params": {"hidden.kernel_initializer": ["random_normal", "glorot_uniform", "he_normal"]},
    },
}


async def test_the_grid_pane_starts_a_sweep_drawn_variant_by_variant():
    runner = FakeRunner(sweep_script(diverge=frozenset({2})))
    app = make_app(validate_spec(SWEEP), runner_factory=runner)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.main.editors_ready)
        await pilot.press("alt+4")
        await pilot.pause()
        editor = app.main.query_one("#grid-editor")
        assert not editor.field("grid.cv").display and not editor.field("grid.scoring").display
        assert "3 variants, each trained once" in str(editor.query_one(".grid-fits").render())
        await pilot.press("f6")
        await wait_for(pilot, lambda: runner.calls and not app.busy)
        assert runner.calls[0]["mode"] == "sweep"
        run = app.runs["run1"]
        assert run.mode == "sweep" and run.fits_done() == 3
        series = app.main.loss_chart.series
        assert [s.label for s in series] == ["#1 best", "#2", "#3"]
        assert len({s.marker for s in series}) == 3 and len({s.color for s in series}) == 3
        assert "#1 best" in str(app.main.loss_chart.border_title)
        results = app.main.query_one(ResultsTable)
        assert tuple(str(c.label) for c in results.candidates_table.ordered_columns) == (
            VARIANT_COLUMNS
        )
        assert results.candidates_table.row_count == 3
        diverged = results.candidates_table.get_row("run1#2")
        assert str(diverged[8]).startswith("diverged")
        assert "(sweep)" in str(results.runs_table.get_row("run1")[0])
        await pilot.press("alt+6")
        results.candidates_table.focus()
        await pilot.press("down", "enter")  # a variant's own train and validation curves
        await pilot.pause()
        assert [s.label for s in app.main.loss_chart.series] == ["train", "val"]
        assert "variant #2" in str(app.main.loss_chart.border_title)


def test_many_variants_keep_distinct_markers_the_best_shown():
    from nnexplorer.core.events import (
        CandidateFinished,
        CandidateStarted,
        EpochEnded,
        RunFinished,
        RunStarted,
    )
    from nnexplorer.tui.session import RunView
    from nnexplorer.tui.widgets.metric_chart import MAX_OVERLAY_LINES, run_series

    run = RunView(key="run1", mode="sweep")
    run.apply(RunStarted(mode="sweep", n_candidates=14))
    for index in range(14):
        run.apply(CandidateStarted(candidate=index, params={"units": index}))
        row = {"loss": 1.0, "val_loss": 1.0 + index}
        run.apply(EpochEnded(epoch=1, epochs=1, metrics=row, candidate=index))
        run.apply(CandidateFinished(candidate=index, score=-float(index), epochs=1))
    live = run_series("loss", run, None)
    assert live[0].label == "#3"  # the latest 12 while the sweep runs
    run.apply(RunFinished(status="completed"))
    done = run_series("loss", run, None)
    assert len(done) == MAX_OVERLAY_LINES == 12
    assert done[0].label == "#1 best" and "#14" not in [s.label for s in done]
    assert len({s.marker for s in done}) == 12
