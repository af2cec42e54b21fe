"""Form building blocks: one labelled, validated field per preset value.

A :class:`FormField` shows a label, a control (Input, Select or Checkbox) and, under it, the
reason the value is invalid. Text is parsed as it is typed (whole numbers, numbers, lists); text
that does not parse is marked invalid at once and reported as the raw string, so that the draft
is invalid too and a run refuses to start. Setting a value from code never posts a message.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.css.query import NoMatches
from textual.message import Message
from textual.validation import ValidationResult, Validator
from textual.widget import Widget
from textual.widgets import Checkbox, Input, Label, Select

from nnexplorer.tui.widgets.ordered_input import OrderedInput

Choices = Sequence[tuple[str, Any]]


def format_value(value: Any) -> str:
    """A value as a field shows it (floats keep their precision: 1e-4 shows as 0.0001)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, list | tuple):
        return ", ".join(format_value(v) for v in value)
    return str(value)


def parse_text(kind: str, text: str, optional: bool) -> tuple[Any, str | None]:
    """``(value, None)`` when ``text`` parses as ``kind``, else ``(text, reason)``."""
    stripped = text.strip()
    if kind == "text":
        return (None if optional and text == "" else text), None
    if kind == "list":
        items = [part.strip() for part in text.split(",") if part.strip()]
        return (None if optional and not items else items), None
    if stripped == "":
        return (None, None) if optional else (text, "a value is required")
    if kind == "intstr":
        return (int(stripped) if stripped.lstrip("-").isdigit() else stripped), None
    if kind == "int":
        try:
            return int(stripped), None
        except ValueError:
            return text, f"{stripped!r} is not a whole number"
    try:
        number = float(stripped)
    except ValueError:
        return text, f"{stripped!r} is not a number (e.g. 0.01 or 1e-3)"
    if math.isnan(number):
        return text, "NaN is not a usable value"
    return number, None


def same_value(a: Any, b: Any) -> bool:
    """Equal, with booleans never equal to numbers (``True`` is not ``1``)."""
    if isinstance(a, bool) != isinstance(b, bool) or isinstance(a, str) != isinstance(b, str):
        return False
    return bool(a == b)


class _Parses(Validator):
    """The Input-side check: the text parses as the field's kind."""

    def __init__(self, kind: str, optional: bool) -> None:
        super().__init__()
        self.kind = kind
        self.optional = optional

    def validate(self, value: str) -> ValidationResult:
        _, reason = parse_text(self.kind, value, self.optional)
        return self.failure(reason, value) if reason else self.success()


class FormField(Widget):
    """A labelled control for one value; posts :class:`FormField.Edited` when the user edits it.

    ``kind`` is ``int``, ``float``, ``text``, ``list`` (comma-separated words), ``intstr`` (a
    column number or name), ``choice`` (a Select of ``choices``) or ``bool`` (a Checkbox).
    ``optional`` fields may be left empty, which means "not set" (value None).
    """

    DEFAULT_CSS = """
    FormField { height: auto; width: 1fr; }
    FormField > .field-row { height: auto; width: 1fr; }
    FormField .field-label { width: 15; height: 1; padding: 0 1 0 0; color: $text-muted; }
    FormField .field-control { width: 1fr; }
    FormField > .field-problem { display: none; color: $text-error; padding: 0 0 0 15; width: 1fr; }
    FormField.-problem > .field-problem { display: block; }
    FormField.-problem .field-label { color: $text-error; text-style: bold; }
    FormField:focus-within .field-label { color: $text; }
    """

    @dataclass
    class Edited(Message):
        """The user changed the field; ``value`` is typed, or the raw text when ``ok`` is False."""

        field: FormField
        value: Any
        ok: bool

        @property
        def control(self) -> FormField:
            return self.field

    def __init__(
        self,
        key: str,
        label: str,
        kind: str = "text",
        *,
        choices: Choices = (),
        optional: bool = False,
        placeholder: str = "",
        prompt: str = "default",
        suggester: Any = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(id=id, classes=classes)
        self.key = key
        self.label = label
        self.kind = kind
        self.choices: list[tuple[str, Any]] = list(choices)
        self.optional = optional
        self._placeholder = placeholder
        self._prompt = prompt
        self._suggester = suggester
        self._value: Any = None
        self._parse_error: str | None = None
        self._problem: str | None = None
        self._ready = False  # controls announce their first value on mount: not an edit
        self._shown_problem: str | None = None
        self._control: Widget | None = None

    def compose(self) -> ComposeResult:
        with Horizontal(classes="field-row"):
            yield Label(self.label, classes="field-label")
            self._control = self._make_control()
            yield self._control
        yield Label("", classes="field-problem", markup=False)

    def _make_control(self) -> Widget:
        value = self._value
        if self.kind == "choice":
            if value is not None and not any(same_value(value, v) for _, v in self.choices):
                self.choices.append((f"{value} (?)", value))
            return Select(
                self.choices,
                allow_blank=self.optional,
                prompt=self._prompt,
                compact=True,
                value=Select.NULL if value is None else value,
                classes="field-control",
            )
        if self.kind == "bool":
            return Checkbox("", bool(value), compact=True, classes="field-control")
        return OrderedInput(
            format_value(value),
            placeholder=self._placeholder,
            compact=True,
            validators=[_Parses(self.kind, self.optional)],
            validate_on=["changed"],
            suggester=self._suggester,
            classes="field-control",
        )

    @property
    def control(self) -> Widget:
        """The Input, Select or Checkbox."""
        if self._control is None:
            raise NoMatches("the field has not been composed yet")
        return self._control

    def _control_or_none(self) -> Widget | None:
        return self._control

    @property
    def value(self) -> Any:
        """The field's value (the raw text while it does not parse)."""
        return self._value

    @property
    def problem(self) -> str | None:
        """The reason shown under the field, if any."""
        return self._parse_error or self._problem

    # ------------------------------------------------------------------ from code

    def set_value(self, value: Any) -> None:
        """Show ``value`` without posting anything; text that means the same is left alone."""
        self._ready = True
        if same_value(value, self._value) and self._parse_error is None:
            return
        self._value = value
        self._parse_error = None
        control = self._control_or_none()
        if control is None:
            return  # compose shows the value
        with self.prevent(Input.Changed, Select.Changed, Checkbox.Changed):
            if isinstance(control, Select):
                self._select(control, value)
            elif isinstance(control, Checkbox):
                control.value = bool(value)
            elif isinstance(control, Input):
                control.value = format_value(value)
                parsed, self._parse_error = parse_text(self.kind, control.value, self.optional)
                if self._parse_error is None:
                    self._value = parsed
        self._refresh_problem()

    def _select(self, control: Select, value: Any) -> None:
        if value is None:
            if self.optional:
                control.clear()
            return
        if not any(same_value(value, v) for _, v in self.choices):
            self.choices.append((f"{value} (?)", value))
            control.set_options(self.choices)
        control.value = value

    def show_problem(self, message: str | None) -> None:
        """Show (or clear, with None) a validation message from the spec."""
        self._problem = message or None
        self._refresh_problem()

    def _refresh_problem(self) -> None:
        text = self.problem
        control = self._control_or_none()
        if control is None:
            return
        self.set_class(bool(text), "-problem")
        control.set_class(bool(text), "-invalid")
        if text != self._shown_problem:
            self._shown_problem = text
            self.query_one(".field-problem", Label).update(text or "")

    # ------------------------------------------------------------------ from the user

    @on(Input.Changed)
    def _input_changed(self, event: Input.Changed) -> None:
        event.stop()
        if not self._ready:
            return
        value, error = parse_text(self.kind, event.value, self.optional)
        if error is None and self._parse_error is None and same_value(value, self._value):
            return  # the same value (also the echo of a value set from code)
        self._value, self._parse_error = value, error
        self._refresh_problem()
        self.post_message(self.Edited(self, value, error is None))

    @on(Select.Changed)
    def _select_changed(self, event: Select.Changed) -> None:
        event.stop()
        if not self._ready:
            return
        value = None if event.value is Select.NULL else event.value
        if same_value(value, self._value):
            return
        self._value = value
        self.post_message(self.Edited(self, value, True))

    @on(Checkbox.Changed)
    def _checkbox_changed(self, event: Checkbox.Changed) -> None:
        event.stop()
        if not self._ready or same_value(bool(event.value), self._value):
            return
        self._value = bool(event.value)
        self.post_message(self.Edited(self, self._value, True))
