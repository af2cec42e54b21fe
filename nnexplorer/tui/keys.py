"""Pane keys that work in every terminal, tmux and screen included.

alt+1 .. alt+9 and alt+0 reach Textual as ``alt+N`` only from terminals that speak an extended
keyboard protocol (kitty, WezTerm, foot, ...). Everywhere else, and always inside tmux or
screen, the terminal sends ESC followed by the digit, which Textual 8 reads as the character a macOS
keyboard types with option+digit (ESC 1 is ``¡``, key ``inverted_exclamation_mark``). The app
binds alt+N, and takes those ten keys for the same panes as they arrive (:func:`esc_digit_pane`),
before a text field would type them: they also work while a field has the focus (the ten
characters cannot then be typed into a field; no preset value uses them).
``tests/test_tui_keys.py`` checks the names against Textual's own key parser.
"""

from __future__ import annotations

from textual.binding import Binding

# the key Textual 8 reports for ESC followed by each digit (what tmux sends for alt+digit)
ESC_DIGIT_KEYS: dict[int, str] = {
    1: "inverted_exclamation_mark",
    2: "trade_mark_sign",
    3: "pound_sign",
    4: "cent_sign",
    5: "infinity",
    6: "section_sign",
    7: "pilcrow_sign",
    8: "bullet",
    9: "ª",  # Textual has no name for these two: the key is the character
    0: "º",
}
DIGITS = (1, 2, 3, 4, 5, 6, 7, 8, 9, 0)  # the pane keys' order: alt+1 first, alt+0 tenth
PANE_KEYS_SHOWN = "alt+1-0"  # how the footer shows the pane keys


def esc_digit_pane(key: str, panes: tuple[str, ...]) -> str | None:
    """The pane of an ESC+digit key (alt+digit through tmux), or None for any other key."""
    for pane, digit in zip(panes, DIGITS, strict=False):
        if key == ESC_DIGIT_KEYS[digit]:
            return pane
    return None


def pane_bindings(panes: tuple[str, ...]) -> list[Binding]:
    """alt+N for each pane, in order; the first one stands in the footer for all of them."""
    out = []
    for pane, digit in zip(panes, DIGITS, strict=False):
        keys = f"alt+{digit}"
        action = f"pane('{pane}')"
        if digit == 1:
            out.append(Binding(keys, action, "Panes", key_display=PANE_KEYS_SHOWN, priority=True))
        else:
            out.append(
                Binding(keys, action, f"{pane.capitalize()} pane", show=False, priority=True)
            )
    return out
