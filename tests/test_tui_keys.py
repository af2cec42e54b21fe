"""Keys as people type them: alt+N through tmux, focus that follows key order on a busy machine,
the focus at start-up, and a footer that shows the keys that work, whatever the width."""

from __future__ import annotations

import asyncio
import time

import pytest
from textual import events
from textual._xterm_parser import XTermParser
from textual.widgets import TabbedContent
from tui_fakes import FakeRunner, train_script, wait_for

from nnexplorer.tui.app import START_STATE, make_app
from nnexplorer.tui.draft import Draft
from nnexplorer.tui.keys import ESC_DIGIT_KEYS
from nnexplorer.tui.widgets.form_fields import FormField
from nnexplorer.tui.widgets.key_footer import KeyFooter
from nnexplorer.tui.widgets.layer_stack import LayerTable


async def type_keys(app, keys: list[str], gap: float = 0.02) -> None:
    """Send keys as a terminal does: each arrives whether or not the app is done with the last."""
    for key in keys:
        char = key if len(key) == 1 else None
        app._driver.send_message(events.Key(key, char))
        await asyncio.sleep(gap)


def field_of(widget) -> str | None:
    node = widget
    while node is not None and not isinstance(node, FormField):
        node = node.parent
    return node.key if node is not None else None


async def test_typed_ahead_keys_follow_the_focus_on_a_busy_machine(tiny_spec, monkeypatch):
    slow = Draft.problems

    def busy_problems(self):
        time.sleep(0.15)  # validation on a loaded machine
        return slow(self)

    app = make_app(tiny_spec, runner_factory=FakeRunner(train_script()))
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.main.editors_ready)
        await pilot.press("alt+3")  # Training: name, seed, optimizer, learning rate, ...
        await wait_for(pilot, lambda: field_of(app.focused) == "experiment.name")
        monkeypatch.setattr(Draft, "problems", busy_problems)
        clear = ["end", "ctrl+u"]  # to the end, then delete everything left of the cursor
        keys = ["tab", *clear, "7", "tab", "tab", *clear, "0", ".", "5"]
        await type_keys(app, keys)
        done = lambda: app.draft.data["compile"].get("learning_rate") == 0.5  # noqa: E731
        try:
            await wait_for(pilot, done, 30)
        finally:
            print(app.draft.data["experiment"], app.draft.data["compile"], app.focused)
        assert app.draft.data["experiment"]["seed"] == 7
        assert app.draft.data["experiment"]["name"] == "tiny"


async def test_edits_and_focus_keys_keep_their_order_on_a_busy_machine(tiny_spec, monkeypatch):
    slow = Draft.problems

    def busy_problems(self):
        time.sleep(0.1)
        return slow(self)

    app = make_app(tiny_spec, runner_factory=FakeRunner(train_script()))
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.focused, LayerTable))
        monkeypatch.setattr(Draft, "problems", busy_problems)
        # into the form, retype the units (a backspace among the digits), back, add a layer
        keys = ["enter", "end", "ctrl+u", "1", "2", "backspace", "3", "escape", "a"]
        await type_keys(app, keys)
        await wait_for(pilot, lambda: len(app.draft.data["layers"]) == 2, 30)
        assert app.draft.data["layers"][0]["units"] == 13
        assert isinstance(app.focused, LayerTable)


def test_esc_digit_key_names_are_textuals():
    """tmux sends alt+N as ESC N: the names bound for it are the keys Textual reports."""
    parser = XTermParser()
    for digit, name in ESC_DIGIT_KEYS.items():
        keys = [e for e in parser.feed(f"\x1b{digit}") if isinstance(e, events.Key)]
        assert [k.key for k in keys] == [name], digit


async def test_pane_keys_work_as_tmux_sends_them_even_in_a_field(tiny_spec):
    app = make_app(tiny_spec, runner_factory=FakeRunner(train_script()))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("alt+1")
        await wait_for(pilot, lambda: field_of(app.focused) == "data.source")
        await pilot.press("alt+3")
        await wait_for(pilot, lambda: field_of(app.focused) == "experiment.name")
        name = app.focused.value
        await type_keys(app, [ESC_DIGIT_KEYS[2]])  # alt+2 inside tmux, typed in a text field
        await wait_for(pilot, lambda: isinstance(app.focused, LayerTable))
        assert app.draft.data["experiment"]["name"] == name == "tiny"  # no "™" typed
        editors = app.main.query_one("#editors", TabbedContent)
        for number, pane in enumerate(["data", "layers", "training", "grid"], start=1):
            await type_keys(app, [ESC_DIGIT_KEYS[number]])
            await wait_for(pilot, lambda pane=pane: editors.active == pane)
        await type_keys(app, [ESC_DIGIT_KEYS[8]])
        await wait_for(pilot, lambda: app.main.query_one("#view-tabs").active == "log")


async def test_start_up_focus_is_visible_and_named(tiny_spec):
    app = make_app(tiny_spec, runner_factory=FakeRunner(train_script()))
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.focused, LayerTable))
        assert app.main.status_bar.state == START_STATE
        assert "focus is on the layer list" in "\n".join(app.main.log_panel.lines_written)
        await pilot.press("tab")
        await wait_for(pilot, lambda: app.main.status_bar.state == "Ready")


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
async def test_footer_fits_the_width_and_keeps_the_run_keys(tiny_spec, size):
    app = make_app(tiny_spec, runner_factory=FakeRunner(train_script()))
    async with app.run_test(size=size) as pilot:
        await wait_for(pilot, lambda: isinstance(app.focused, LayerTable))
        footer = app.main.query_one(KeyFooter)
        wide = size[0] >= 120  # there the focused layer list's own keys fit too
        await wait_for(
            pilot, lambda: "f8" in footer.shown_keys and (not wide or "a" in footer.shown_keys)
        )
        shown = footer.shown_keys
        assert {"f1", "f5", "f6", "f7", "f8", "ctrl+q"} <= set(shown)
        assert "alt+1-0" in [key.key_display for key in footer.query("FooterKey")]
        assert max(key.region.right for key in footer.query("FooterKey")) <= size[0]
