"""An Input whose editing keys take effect in the order they were typed.

Textual's Input inserts a printable key as soon as the key reaches it, but its editing keys
(backspace, delete, ctrl+u, home, end, left, right, ...) are bindings, which run only after
the key has bubbled up through every container to the app. On a busy machine the characters
typed after such a key are then inserted before it takes effect: ``end`` ``ctrl+u`` ``0.5``
could leave ``5``. :class:`OrderedInput` runs its own bindings when the key reaches it, in
turn with the characters.
"""

from __future__ import annotations

from textual import events
from textual.widgets import Input


class OrderedInput(Input):
    """An :class:`~textual.widgets.Input` that handles its binding keys where it receives them."""

    async def _on_key(self, event: events.Key) -> None:
        for binding in self._bindings.key_to_bindings.get(event.key, ()):
            if binding.priority:
                continue  # the app already ran (or declined) it when the key arrived
            if await self.app.run_action(binding.action, self):
                event.stop()
                event.prevent_default()
                return
        await super()._on_key(event)
