"""Snapshots of the lessons: the list (F8) and an open lesson's notes beside the charts.

After an intended change of the layout, review the new pictures and accept them with
``pytest tests/test_tui_lessons_snapshots.py --snapshot-update``.
"""

from __future__ import annotations

import time

from tui_fakes import FakeRunner, sweep_script

from nnexplorer.tui.app import make_app


def keys(*pressed: str):
    """A run_before that waits for the editors, presses ``pressed`` and hides the toasts."""

    async def run_before(pilot) -> None:
        app = pilot.app
        deadline = time.monotonic() + 10
        while not app.main.editors_ready and time.monotonic() < deadline:
            await pilot.pause(0.02)
        await pilot.pause()
        for key in pressed:
            await pilot.press(key)
            await pilot.pause(0.05)
        await pilot.pause(0.3)
        app.clear_notifications()
        await pilot.pause()

    return run_before


def test_lesson_list_80x24(snap_compare):
    app = make_app(runner_factory=FakeRunner(sweep_script()))
    assert snap_compare(app, terminal_size=(80, 24), run_before=keys("f8", "down", "down"))


def test_open_lesson_120x40(snap_compare):
    app = make_app(runner_factory=FakeRunner(sweep_script()))
    pressed = ("f8", "down", "down", "down", "down", "enter")  # lesson-overfitting
    assert snap_compare(app, terminal_size=(120, 40), run_before=keys(*pressed))
