"""The form of the selected layer: every field of a Dense or Dropout layer."""

from __future__ import annotations

import copy
from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Label, Static

from nnexplorer.core import vocab
from nnexplorer.core.shapes import layer_label
from nnexplorer.core.spec import DenseLayer, DropoutLayer
from nnexplorer.tui.messages import FieldEdited
from nnexplorer.tui.widgets.form_base import FieldForm, choices_of, lookup
from nnexplorer.tui.widgets.form_fields import FormField

INIT_PARAMS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    # parameter: (label, kind, choices)
    "mean": ("mean", "float", ()),
    "stddev": ("stddev", "float", ()),
    "minval": ("minval", "float", ()),
    "maxval": ("maxval", "float", ()),
    "scale": ("scale", "float", ()),
    "mode": ("mode", "choice", ("fan_in", "fan_out", "fan_avg")),
    "distribution": (
        "distribution",
        "choice",
        ("truncated_normal", "untruncated_normal", "uniform"),
    ),
    "gain": ("gain", "float", ()),
    "value": ("value", "float", ()),
}
INITIALIZERS = ("kernel_initializer", "bias_initializer")
REGULARIZERS = {
    "kernel_regularizer": "Kernel",
    "bias_regularizer": "Bias",
    "activity_regularizer": "Activity",
}
MAX_NORM = "kernel_constraint.max_norm"
DENSE_DEFAULTS = DenseLayer().model_dump(mode="json")
DROPOUT_DEFAULTS = DropoutLayer().model_dump(mode="json")


def initializer_name(value: Any) -> Any:
    """The name of an initializer given as a string or a table."""
    return value.get("name") if isinstance(value, dict) else value


class LayerForm(FieldForm):
    """Edits one layer; posts :class:`FieldEdited` with paths ``layers.<index>.<key>``.

    An initializer is posted whole (its name alone, or a table with its parameters) so that
    parameters of the previous initializer never linger; an empty max-norm removes the constraint.
    """

    DEFAULT_CSS = """
    LayerForm > .form-group { height: auto; }
    LayerForm > .layer-title { text-style: bold; width: 1fr; }
    """
    SECTIONS = ("layers",)

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.index: int | None = None
        self._layer: dict[str, Any] = {}
        self._note = ""

    def compose(self) -> ComposeResult:
        yield Static("", classes="layer-title", markup=False)
        yield self.problems_label()
        yield Static("", classes="form-note", id="layer-note", markup=False)
        with Vertical(classes="form-group", id="dense-fields"):
            yield FormField("units", "Units", "int")
            yield FormField(
                "activation", "Activation", "choice", choices=choices_of(vocab.ACTIVATIONS)
            )
            for which in INITIALIZERS:
                short = which.split("_")[0].capitalize()
                yield FormField(
                    f"{which}", f"{short} init", "choice", choices=choices_of(vocab.INITIALIZERS)
                )
                for param, (label, kind, choices) in INIT_PARAMS.items():
                    yield FormField(
                        f"{which}.{param}",
                        f"  {label}",
                        kind,
                        choices=choices_of(choices),
                        optional=True,
                        placeholder="default",
                    )
            yield FormField("use_bias", "Use bias", "bool")
            yield Label("Regularization", classes="form-heading")
            for which, short in REGULARIZERS.items():
                for norm in ("l1", "l2"):
                    yield FormField(
                        f"{which}.{norm}",
                        f"{short} {norm.upper()}",
                        "float",
                        optional=True,
                        placeholder="none",
                    )
            yield FormField(MAX_NORM, "Max-norm", "float", optional=True, placeholder="none")
        with Vertical(classes="form-group", id="dropout-fields"):
            yield FormField("rate", "Rate", "float")
        yield FormField("name", "Name", "text", optional=True, placeholder="automatic")

    def on_mount(self) -> None:
        self._show_values()

    # ------------------------------------------------------------------ loading

    def show_layer(self, index: int | None, layer: dict[str, Any] | None, note: str = "") -> None:
        """Edit ``layer`` (number ``index``); None shows ``note`` instead of fields."""
        self.index = index
        self._layer = copy.deepcopy(layer) if isinstance(layer, dict) else {}
        self._note = note
        self.prefix = f"layers.{index}." if index is not None else "-"
        if self.is_mounted:
            self._show_values()

    @property
    def kind(self) -> str | None:
        """``dense``, ``dropout`` or None when no layer is shown."""
        if self.index is None:
            return None
        return str(self._layer.get("type", "dense"))

    def _value(self, key: str) -> Any:
        defaults = (
            {**DENSE_DEFAULTS, **DROPOUT_DEFAULTS}
            if self.kind == "dropout"
            else {
                **DROPOUT_DEFAULTS,
                **DENSE_DEFAULTS,
            }
        )
        head, _, param = key.partition(".")
        if head in INITIALIZERS:
            init = self._layer.get(head, defaults[head])
            if not param:
                return initializer_name(init)
            return init.get(param) if isinstance(init, dict) else None
        if head in REGULARIZERS or key == MAX_NORM:
            return lookup(self._layer, key)
        return self._layer.get(key, defaults.get(key))

    def _show_values(self) -> None:
        for field in self.fields():
            field.set_value(self._value(field.key))
        self._update_visibility()

    def _update_visibility(self) -> None:
        kind = self.kind
        self.query_one("#dense-fields").display = kind == "dense"
        self.query_one("#dropout-fields").display = kind == "dropout"
        self.field("name").display = kind is not None
        note = self.query_one("#layer-note", Static)
        note.update(self._note)
        note.display = bool(self._note)
        title = self.query_one(".layer-title", Static)
        title.display = kind is not None
        if kind is not None:
            title.update(f"Layer {self.index}: {layer_label(self._layer)}")
        for which in INITIALIZERS:
            allowed = vocab.INITIALIZER_PARAMS.get(str(self._value(which)), ())
            for param in INIT_PARAMS:
                field = self.field(f"{which}.{param}")
                field.display = param in allowed or field.value is not None

    # ------------------------------------------------------------------ edits

    def _initializer_value(self, which: str) -> Any:
        name = self.field(which).value
        allowed = vocab.INITIALIZER_PARAMS.get(str(name), ())
        params = {
            p: self.field(f"{which}.{p}").value
            for p in allowed
            if self.field(f"{which}.{p}").value is not None
        }
        return {"name": name, **params} if params else name

    @on(FormField.Edited)
    def _edited(self, event: FormField.Edited) -> None:
        event.stop()
        if self.index is None:
            return
        key, value = event.field.key, event.value
        head, _, param = key.partition(".")
        if head in INITIALIZERS:
            if not param:  # a new initializer: the old one's parameters do not apply
                for name in INIT_PARAMS:
                    self.field(f"{head}.{name}").set_value(None)
            key, value = head, self._initializer_value(head)
        elif key == MAX_NORM and value is None:
            key = "kernel_constraint"
        self._set_local(key, value)
        self._update_visibility()
        self.post_message(FieldEdited(f"layers.{self.index}.{key}", copy.deepcopy(value)))

    def _set_local(self, key: str, value: Any) -> None:
        head, _, rest = key.partition(".")
        if not rest:
            if value is None:
                self._layer.pop(head, None)
            else:
                self._layer[head] = value
            return
        table = self._layer.get(head)
        if not isinstance(table, dict):
            table = self._layer[head] = {}
        if value is None:
            table.pop(rest, None)
            if not table:
                self._layer.pop(head)
        else:
            table[rest] = value
