"""What the explorer offers now: keys dimmed and palette commands left out while they cannot run."""

from __future__ import annotations

import pytest
from textual.widgets._footer import FooterKey
from tui_fakes import FakeRunner, notes, train_script, wait_for

from nnexplorer.tui.app import NNExplorerApp, make_app
from nnexplorer.tui.commands import PALETTE, availability
from nnexplorer.tui.screens.help import HelpScreen

SIZE = (120, 40)
RUN_STARTERS = {"Train (F5)", "Grid search (F6)", "Resume grid search"}


def palette(app: NNExplorerApp) -> set[str]:
    return {command.title for command in app.get_system_commands(app.screen)}


async def notified(pilot, app: NNExplorerApp) -> None:
    """Wait until every notification posted so far has arrived (they come as messages)."""
    marker = f"marker {len(app._notifications)}"
    app.notify(marker)
    await wait_for(pilot, lambda: marker in notes(app))


def footer_dims(app: NNExplorerApp, **wanted: bool) -> bool:
    """Whether the footer shows each key of ``wanted`` dimmed (True) or not (False).

    The footer follows the bindings through a message: poll this with ``wait_for``."""
    shown = {k.key: k.has_class("-disabled") for k in app.main.query(FooterKey)}
    return all(shown.get(key) is dimmed for key, dimmed in wanted.items())


@pytest.mark.parametrize(
    ("action", "on_main", "busy", "expected"),
    [
        ("train", True, False, True),
        ("train", True, True, None),  # shown dimmed while a run is active
        ("grid", False, True, None),
        ("resume_last", True, True, None),
        ("stop", True, False, None),  # shown dimmed while nothing runs
        ("stop", False, True, True),  # stopping works above a dialog too
        ("save_as", False, False, False),  # main-screen actions hide under a dialog
        ("pane", False, True, False),
        ("pane", True, True, True),
        ("quit", False, True, True),
    ],
)
def test_availability(action, on_main, busy, expected):
    assert availability(action, on_main=on_main, busy=busy) is expected


def test_every_palette_command_names_an_action_of_the_app():
    for command in PALETTE:
        assert callable(getattr(NNExplorerApp, f"action_{command.name}", None)), command


async def test_keys_and_palette_offer_only_what_can_run_now(tiny_spec):
    runner = FakeRunner(train_script(epochs=4, hold_after=1))
    app = make_app(tiny_spec, runner_factory=runner)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: footer_dims(app, f7=True, f5=False))
        assert "Stop (F7)" not in palette(app) and palette(app) >= RUN_STARTERS
        await pilot.press("f7")  # dimmed: nothing to stop, nothing happens
        await notified(pilot, app)
        assert "Nothing is running" not in notes(app)
        # a palette command runs its action (the palette calls it once it has closed)
        train = next(c for c in app.get_system_commands(app.main) if c.title == "Train (F5)")
        await train.callback()
        await wait_for(pilot, lambda: app.busy and app.runs["run1"].history)
        await wait_for(pilot, lambda: footer_dims(app, f5=True, f6=True, f7=False))
        assert "Stop (F7)" in palette(app) and not RUN_STARTERS & palette(app)
        await pilot.press("f5", "f6")  # dimmed while the run is active
        await notified(pilot, app)
        assert len(runner.calls) == 1 and "A run is active" not in notes(app)
        # above a dialog: the run's commands still, the main screen's ones not
        await pilot.press("f1")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen))
        assert "Stop (F7)" in palette(app) and "Save preset as (ctrl+s)" not in palette(app)
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is app.main)
        await pilot.press("f7")
        await wait_for(pilot, lambda: not app.busy)
        assert app.runs["run1"].status == "cancelled"
        await wait_for(pilot, lambda: footer_dims(app, f7=True, f5=False))
