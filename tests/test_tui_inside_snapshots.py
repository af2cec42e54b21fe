"""Snapshots of the Inside, Evaluation and Boundary views at 80x24 and 120x40 (and one without
colour), fed canned events so that they repeat exactly.

After an intended change, review the new pictures and accept them with
``pytest tests/test_tui_inside_snapshots.py --snapshot-update``.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from inside_fakes import inside_script, write_misclassified
from tui_fakes import FakeRunner

from nnexplorer.core.spec import validate_spec
from nnexplorer.tui.app import make_app

VIEW_KEYS = {"inside": ("alt+9",), "evaluation": ("alt+0",), "boundary": ("f4",) * 5}


def _app(tiny_spec_data):
    tiny_spec_data["layers"].append({"type": "dense", "units": 4, "activation": "sigmoid"})
    write_misclassified(Path(os.environ["NNEXPLORER_RUNS"]) / "fake-1", 12)
    spec = validate_spec(tiny_spec_data)
    return make_app(spec, runner_factory=FakeRunner(inside_script(epochs=6)))


def trained_then(*keys: str):
    """A run_before that trains (canned events), then presses ``keys``."""

    async def run_before(pilot) -> None:
        app = pilot.app
        deadline = time.monotonic() + 10
        while not app.main.editors_ready and time.monotonic() < deadline:
            await pilot.pause(0.02)
        await pilot.press("f5")
        deadline = time.monotonic() + 10
        while (not app.runs or app.busy) and time.monotonic() < deadline:
            await pilot.pause(0.02)
        for key in keys:
            await pilot.press(key)
        app.clear_notifications()
        await pilot.pause(0.3)

    return run_before


@pytest.mark.parametrize("view", list(VIEW_KEYS))
@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=["80x24", "120x40"])
def test_view(snap_compare, tiny_spec_data, view, size):
    app = _app(tiny_spec_data)
    assert snap_compare(app, terminal_size=size, run_before=trained_then(*VIEW_KEYS[view]))


def test_boundary_80x24_no_color(snap_compare, tiny_spec_data, monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")  # read when the app is made
    app = _app(tiny_spec_data)
    keys = VIEW_KEYS["boundary"]
    assert snap_compare(app, terminal_size=(80, 24), run_before=trained_then(*keys))
