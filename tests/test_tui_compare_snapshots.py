"""Snapshots of comparisons and sweeps at 80x24 and 120x40 (runs written from canned events).

Review new pictures before accepting them with ``--snapshot-update``.
"""

from __future__ import annotations

import time

import pytest
from test_tui_compare import BASE, SWEEP, write_runs
from tui_fakes import FakeRunner, sweep_script

from nnexplorer.core.spec import validate_spec
from nnexplorer.tui.app import make_app
from nnexplorer.tui.screens.compare import CompareScreen


async def _settle(pilot, condition) -> None:
    deadline = time.monotonic() + 20
    while not condition() and time.monotonic() < deadline:
        await pilot.pause(0.02)
    pilot.app.clear_notifications()
    await pilot.pause()


def compare_everything():
    """F3, select the sweep and both train runs, compare them."""

    async def run_before(pilot) -> None:
        app = pilot.app
        await _settle(pilot, lambda: app.main.editors_ready)
        await pilot.press("f3")
        await _settle(pilot, lambda: len(app.screen_stack) > 1)
        await pilot.press("space", "down", "space", "down", "space", "c")
        await _settle(pilot, lambda: isinstance(app.screen, CompareScreen))

    return run_before


def after_sweep(*keys: str):
    async def run_before(pilot) -> None:
        app = pilot.app
        await _settle(pilot, lambda: app.main.editors_ready)
        await pilot.press("f6")
        await _settle(pilot, lambda: app.runs and not app.busy)
        for key in keys:
            await pilot.press(key)
        await _settle(pilot, lambda: True)

    return run_before


@pytest.fixture
def runs_root(tmp_path):
    root = tmp_path / "runs"
    root.mkdir()
    write_runs(root)
    return root


def test_compare_80x24(snap_compare, runs_root):
    app = make_app(validate_spec(BASE), runs_root=runs_root)
    assert snap_compare(app, terminal_size=(80, 24), run_before=compare_everything())


def test_compare_120x40(snap_compare, runs_root):
    app = make_app(validate_spec(BASE), runs_root=runs_root)
    assert snap_compare(app, terminal_size=(120, 40), run_before=compare_everything())


def test_sweep_120x40(snap_compare):
    runner = FakeRunner(sweep_script(diverge=frozenset({2})))
    app = make_app(validate_spec(SWEEP), runner_factory=runner)
    assert snap_compare(app, terminal_size=(120, 40), run_before=after_sweep())


def test_sweep_80x24_charts(snap_compare):
    runner = FakeRunner(sweep_script(diverge=frozenset({2})))
    app = make_app(validate_spec(SWEEP), runner_factory=runner)
    # F6 itself brings the charts on show at 80x24
    assert snap_compare(app, terminal_size=(80, 24), run_before=after_sweep())
