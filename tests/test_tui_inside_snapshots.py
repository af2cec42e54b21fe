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

VIEW_KEYS = {"inside": "alt+9", "evaluation": "alt+0", "boundary": "f4"}


def _app(tiny_spec_data):
    tiny_spec_data["layers"].append({"type": "dense", "units": 4, "activation": "sigmoid"})
    write_misclassified(Path(os.environ["NNEXPLORER_RUNS"]) / "fake-1", 12)
    spec = validate_spec(tiny_spec_data)
    return make_app(spec, runner_factory=FakeRunner(inside_script(epochs=6)))


def trained_then(key: str, view: str):
    """A run_before that trains (canned events), then presses ``key`` until ``view`` shows.

    Each press waits for the focus to settle in the pane it showed: a key pressed sooner could
    let the earlier pane's focus message switch the tabs back.
    """

    async def run_before(pilot) -> None:
        app = pilot.app
        deadline = time.monotonic() + 10
        while not app.main.editors_ready and time.monotonic() < deadline:
            await pilot.pause(0.02)
        await pilot.press("f5")
        deadline = time.monotonic() + 10
        while (not app.runs or app.busy) and time.monotonic() < deadline:
            await pilot.pause(0.02)
        tabs = app.main.query_one("#view-tabs")

        def settled() -> bool:
            focused = app.focused
            pane = app.main.query_one(f"#{tabs.active}")
            return tabs.active != before and focused is not None and pane in focused.ancestors

        for _ in range(8):
            before = tabs.active if app.main.side == "views" else ""
            await pilot.press(key)
            deadline = time.monotonic() + 10
            while not settled() and time.monotonic() < deadline:
                await pilot.pause(0.02)
            await pilot.pause()
            if tabs.active == view:
                break
        app.clear_notifications()
        await pilot.pause(0.3)

    return run_before


@pytest.mark.parametrize("view", list(VIEW_KEYS))
@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=["80x24", "120x40"])
def test_view(snap_compare, tiny_spec_data, view, size):
    app = _app(tiny_spec_data)
    assert snap_compare(app, terminal_size=size, run_before=trained_then(VIEW_KEYS[view], view))


def test_boundary_80x24_no_color(snap_compare, tiny_spec_data, monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")  # read when the app is made
    app = _app(tiny_spec_data)
    run_before = trained_then(VIEW_KEYS["boundary"], "boundary")
    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)
