"""The explorer driven by keys end to end: edit the layer stack, then train for real (iris).

These tests start real worker processes (TensorFlow loads in the worker, never in the app).
"""

from __future__ import annotations

import time

import pytest
from textual.widgets import Input, Select

from nnexplorer.tui.app import make_app
from nnexplorer.tui.widgets.layer_stack import LayerStack, LayerTable
from nnexplorer.tui.widgets.metric_chart import MetricChart
from nnexplorer.tui.widgets.results_table import ResultsTable
from nnexplorer.tui.widgets.status_bar import StatusBar

pytestmark = pytest.mark.slow
SIZE = (120, 40)


async def wait_for(pilot, condition, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for the app")
        await pilot.pause(0.05)


async def test_edit_layers_by_keys_then_train_for_real(tiny_spec, tmp_path):
    app = make_app(tiny_spec, runs_root=tmp_path / "runs")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("alt+2")
        await wait_for(pilot, lambda: isinstance(app.focused, LayerTable), 10)
        await pilot.press("a")  # add a Dense layer after the selected one
        await wait_for(pilot, lambda: len(app.draft.data["layers"]) == 2, 10)
        stack = app.main.query_one(LayerStack)
        assert stack.selected == 1
        await pilot.press("enter")  # into the selected layer's form: units first
        await wait_for(pilot, lambda: isinstance(app.focused, Input), 10)
        await pilot.press("end", *["backspace"] * 6, "1", "6")
        await wait_for(pilot, lambda: app.draft.data["layers"][1].get("units") == 16, 10)
        await pilot.press("tab")
        await wait_for(pilot, lambda: isinstance(app.focused, Select), 10)
        await pilot.press("enter", "up", "enter")  # relu -> tanh, the entry above it
        await wait_for(pilot, lambda: app.draft.data["layers"][1].get("activation") == "tanh", 10)
        assert app.draft.problems() == {}
        # (that the app never imports TensorFlow itself is checked in a fresh process by
        # tests/test_import_hygiene.py; here earlier tests may already have loaded it)

        await pilot.press("f5")
        await wait_for(pilot, lambda: app.runs and not app.busy)
        run = app.runs["run1"]
        assert run.status == "completed", run.message
        assert len(run.history) == 2
        assert {"loss", "val_loss", "accuracy", "val_accuracy"} <= set(run.history[0])
        assert set(run.test_metrics) >= {"loss", "accuracy"}
        assert (tmp_path / "runs").is_dir() and run.run_dir.startswith(str(tmp_path / "runs"))
        loss = app.main.query_one("#loss-chart", MetricChart)
        assert [s.xs for s in loss.series] == [[1, 2], [1, 2]]
        row = app.main.query_one(ResultsTable).runs_table.get_row("run1")
        assert row[2] == "2/2" and row[1] == "done" and row[4].startswith("acc ")
        assert row[6].startswith("8-16 relu/tanh")
        assert app.main.query_one(StatusBar).state == "Done"
        assert app.main.query_one(StatusBar).device
        # (that the app never imports TensorFlow itself is checked in a fresh process by
        # tests/test_import_hygiene.py; here earlier tests may already have loaded it)


async def test_stop_a_real_run(tiny_spec_data, tmp_path):
    from nnexplorer.core.spec import validate_spec

    tiny_spec_data["fit"]["epochs"] = 500
    app = make_app(validate_spec(tiny_spec_data), runs_root=tmp_path / "runs")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f5")
        await wait_for(pilot, lambda: app.runs and len(app.runs["run1"].history) >= 1)
        # the UI answers while the worker trains: switch panes, open and close help
        await pilot.press("alt+8")
        await wait_for(pilot, lambda: app.main.query_one("#view-tabs").active == "log", 5)
        await pilot.press("f1")
        await wait_for(pilot, lambda: app.screen is not app.main, 5)
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is app.main, 5)
        assert app.busy
        await pilot.press("f7")
        await wait_for(pilot, lambda: not app.busy, 60)
        run = app.runs["run1"]
        assert run.status == "cancelled", run.message
        assert 1 <= len(run.history) < 500
        assert app.main.query_one(StatusBar).state == "Stopped"
        row = app.main.query_one(ResultsTable).runs_table.get_row("run1")
        assert row[1].startswith("stopped")
