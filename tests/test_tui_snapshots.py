"""Snapshots of the explorer at 80x24 and 120x40, fed canned events so that they repeat exactly.

After an intended change of the layout, review the new pictures and accept them with
``pytest tests/test_tui_snapshots.py --snapshot-update``.
"""

from __future__ import annotations

import time

import pytest
from tui_fakes import FakeRunner, grid_script, train_script

from nnexplorer.core.spec import validate_spec
from nnexplorer.tui.app import make_app


@pytest.fixture
def spec(tiny_spec_data):
    tiny_spec_data["layers"].append({"type": "dropout", "rate": 0.2})
    tiny_spec_data["layers"].append({"type": "dense", "units": 4, "activation": "tanh"})
    tiny_spec_data["grid"] = {
        "cv": 2,
        "params": {"layers.0.units": [4, 8], "learning_rate": [0.1, 0.01]},
    }
    return validate_spec(tiny_spec_data)


def after(*keys: str):
    """A run_before that presses ``keys``, waits for any run to end and hides the toasts."""

    async def run_before(pilot) -> None:
        app = pilot.app
        deadline = time.monotonic() + 10
        while not app.main.editors_ready and time.monotonic() < deadline:
            await pilot.pause(0.02)
        await pilot.pause()
        for key in keys:
            await pilot.press(key)
            deadline = time.monotonic() + 10
            while app.busy and time.monotonic() < deadline:
                await pilot.pause(0.02)
        app.clear_notifications()
        await pilot.pause()

    return run_before


def test_main_80x24_editors(snap_compare, spec):
    app = make_app(spec, runner_factory=FakeRunner(train_script()))
    assert snap_compare(app, terminal_size=(80, 24), run_before=after())


def test_main_80x24_charts_after_two_runs(snap_compare, spec):
    # F5 on a narrow terminal shows the charts side by itself
    app = make_app(spec, runner_factory=FakeRunner(train_script(epochs=8)))
    assert snap_compare(app, terminal_size=(80, 24), run_before=after("f5", "f5"))


def test_main_120x40_after_two_runs(snap_compare, spec):
    app = make_app(spec, runner_factory=FakeRunner(train_script(epochs=8)))
    assert snap_compare(app, terminal_size=(120, 40), run_before=after("f5", "f5"))


def test_main_120x40_grid_heatmap(snap_compare, spec):
    app = make_app(spec, runner_factory=FakeRunner(grid_script(folds=2, fail=frozenset({1}))))
    assert snap_compare(app, terminal_size=(120, 40), run_before=after("f6", "alt+7"))


def test_help_80x24(snap_compare, spec):
    app = make_app(spec, runner_factory=FakeRunner(train_script()))
    assert snap_compare(app, terminal_size=(80, 24), run_before=after("alt+2", "f1"))


def test_too_small(snap_compare, spec):
    app = make_app(spec, runner_factory=FakeRunner(train_script()))
    assert snap_compare(app, terminal_size=(70, 20), run_before=after())
