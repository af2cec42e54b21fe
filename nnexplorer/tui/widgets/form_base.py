"""A scrollable form of :class:`FormField`: maps validation problems to the fields they name."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from textual.containers import VerticalScroll
from textual.widget import Widget
from textual.widgets import Label

from nnexplorer.tui.draft import problem_key
from nnexplorer.tui.widgets.form_fields import FormField


def lookup(data: Any, path: str, default: Any = None) -> Any:
    """The value at a dotted ``path`` in nested dicts and lists, or ``default``."""
    node = data
    for part in path.split("."):
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return default
    return node


class FieldForm(VerticalScroll):
    """A scrollable form of :class:`FormField` whose keys are dotted paths below ``prefix``.

    ``SECTIONS`` names the top-level preset sections whose problems the form shows;
    ``PROBLEM_FIELDS`` sends problems of a whole table to one field (``compile`` ->
    ``compile.optimizer``). Problems with no field are listed at the top of the form.
    """

    DEFAULT_CSS = """
    FieldForm { height: 1fr; padding: 0 1; }
    FieldForm > .form-problems { display: none; color: $text-error; width: 1fr; }
    FieldForm > .form-problems.-shown { display: block; }
    FieldForm .form-heading { color: $text-accent; text-style: bold; margin: 1 0 0 0; }
    FieldForm .form-note { color: $text-muted; width: 1fr; }
    """

    SECTIONS: tuple[str, ...] = ()
    PROBLEM_FIELDS: dict[str, str] = {}

    prefix = ""

    _field_cache: dict[str, FormField] | None = None

    def fields(self) -> list[FormField]:
        """Every field of the form, shown or not (a form's fields are fixed once composed)."""
        if self._field_cache is None:
            found = {f.key: f for f in self.query(FormField)}
            if not found:
                return []
            self._field_cache = found
        return list(self._field_cache.values())

    def field(self, key: str) -> FormField:
        """The field with ``key``."""
        self.fields()
        if self._field_cache is None or key not in self._field_cache:
            raise KeyError(key)
        return self._field_cache[key]

    def general_problems(self) -> Label:
        """The label that lists problems no field shows."""
        return self.query_one(".form-problems", Label)

    def focus_first(self) -> None:
        """Focus the first field that is shown (at once, not after the keys already sent)."""
        for field in self.fields():
            if self.is_shown(field):
                self.screen.set_focus(field.control)
                return

    def focus_field(self, path: str) -> bool:
        """Focus the field that shows problems of the key path ``path``; False if none does."""
        mine = self.mine({path: ""})
        if not mine:
            return False
        local = next(iter(mine))
        shown = {f.key: f for f in self.fields() if self.is_shown(f)}
        target = self._field_for(self.PROBLEM_FIELDS.get(local, local), shown)
        if target is None:
            return False
        self.screen.set_focus(shown[target].control)
        return True

    def problems_label(self) -> Label:
        """A new label for problems that no field shows (yield it first in ``compose``)."""
        return Label("", classes="form-problems", markup=False)

    def mine(self, problems: dict[str, str]) -> dict[str, str]:
        """The problems this form shows, with keys in dotted form below ``prefix``."""
        out: dict[str, str] = {}
        for path, message in problems.items():
            key = problem_key(path)
            if key.split(".")[0] not in self.SECTIONS:
                continue
            if self.prefix and not (key + ".").startswith(self.prefix):
                continue
            out[key.removeprefix(self.prefix)] = message
        return out

    def is_shown(self, widget: Widget) -> bool:
        """Whether ``widget`` and its containers up to this form are displayed."""
        node: Any = widget
        while node is not None and node is not self:
            if not node.display:
                return False
            node = node.parent
        return True

    def show_problems(self, problems: dict[str, str]) -> None:
        """Mark the fields named in ``problems`` invalid with the reason; clear the others."""
        if not self.fields():
            return  # not composed yet: the app shows problems again after every edit
        per_field: dict[str, list[str]] = {}
        loose: list[str] = []
        shown = {f.key: f for f in self.fields() if self.is_shown(f)}
        for key, message in self.mine(problems).items():
            mapped = self.PROBLEM_FIELDS.get(key, key)
            target = self._field_for(mapped, shown)
            if target is None:
                loose.append(f"{self.prefix}{key}: {message}" if key else message)
            else:
                extra = mapped.removeprefix(target).lstrip(".")
                per_field.setdefault(target, []).append(f"{extra}: {message}" if extra else message)
        for field in self.fields():
            field.show_problem("; ".join(per_field.get(field.key, [])) or None)
        label = self.general_problems()
        label.update("\n".join(loose))
        label.set_class(bool(loose), "-shown")

    def _field_for(self, key: str, shown: dict[str, FormField]) -> str | None:
        parts = key.split(".")
        for end in range(len(parts), 0, -1):
            candidate = ".".join(parts[:end])
            if candidate in shown:
                return candidate
        return None


def choices_of(values: Iterable[str]) -> list[tuple[str, str]]:
    """Select options that show each value as itself."""
    return [(v, v) for v in values]
