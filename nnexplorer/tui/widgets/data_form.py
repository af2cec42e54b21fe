"""The Data pane: where the examples come from, the task, the splits and the scaling."""

from __future__ import annotations

import copy
from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Label

from nnexplorer.core import vocab
from nnexplorer.core.shapes import dataset_shape
from nnexplorer.core.spec import DataSpec
from nnexplorer.tui.messages import FieldEdited
from nnexplorer.tui.widgets.data_samples import DataSamples
from nnexplorer.tui.widgets.form_base import FieldForm, choices_of
from nnexplorer.tui.widgets.form_fields import FormField

FILE = "file:"
SOURCE_CHOICES: list[tuple[str, str]] = [
    *[(f"sklearn:{name}", f"sklearn:{name}") for name in vocab.SKLEARN_DATASETS],
    *[(f"synthetic:{name}", f"synthetic:{name}") for name in vocab.SYNTHETIC_DATASETS],
    *[(f"keras:{name}", f"keras:{name}") for name in vocab.KERAS_DATASETS],
    ("file (path below)", FILE),
]

DEFAULTS = DataSpec().model_dump()


class DataForm(FieldForm):
    """Edits ``[data]``; posts :class:`FieldEdited` (``data.<key>``) for every change."""

    DEFAULT_CSS = """
    DataForm > .data-shape { color: $text-muted; width: 1fr; }
    DataForm > .data-group { height: auto; }
    """
    SECTIONS = ("data",)

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._data: dict[str, Any] = {}
        self._unreadable = False

    def compose(self) -> ComposeResult:
        yield self.problems_label()
        yield FormField("data.source", "Source", "choice", choices=SOURCE_CHOICES)
        with Vertical(classes="data-group", id="data-file-path"):
            yield FormField("data.file", "File path", "text", placeholder="data.csv / x.npz")
        yield Label("", classes="data-shape", markup=False)
        yield FormField("data.task", "Task", "choice", choices=choices_of(vocab.TASKS))
        yield FormField("data.test_size", "Test size", "float", placeholder="0.2")
        yield FormField("data.validation_split", "Validation", "float", placeholder="0.2")
        yield FormField("data.standardize", "Scaling", "choice", choices=choices_of(vocab.SCALINGS))
        yield FormField("data.standardize_target", "Scale target", "bool")
        yield FormField("data.stratify", "Stratify", "bool")
        yield FormField("data.max_samples", "Max samples", "int", optional=True, placeholder="all")
        with Vertical(classes="data-group", id="data-synthetic"):
            yield Label("Synthetic data", classes="form-heading")
            yield FormField("data.n_samples", "Samples", "int")
            yield FormField("data.noise", "Noise", "float")
            yield FormField("data.n_features", "Features", "int")
            yield FormField("data.n_classes", "Classes", "int")
        with Vertical(classes="data-group", id="data-file"):
            yield Label("File options", classes="form-heading")
            yield FormField(
                "data.format", "Format", "choice", choices=choices_of(vocab.FILE_FORMATS)
            )
            yield FormField(
                "data.target", "Target column", "intstr", optional=True, placeholder="last"
            )
            yield FormField("data.header", "Header row", "bool")
            yield FormField("data.delimiter", "Delimiter", "text")
            yield FormField("data.labels", "Labels file", "text", optional=True)
        yield DataSamples(id="data-samples")

    def on_mount(self) -> None:
        self._show_values()

    # ------------------------------------------------------------------ contract

    def load(self, data: dict[str, Any]) -> None:
        """Show the ``[data]`` table of a preset dict (missing keys show their defaults)."""
        section = data.get("data")
        self._data = copy.deepcopy(section) if isinstance(section, dict) else {}
        if self.is_mounted:
            self._show_values()

    def _show_values(self) -> None:
        values = {**DEFAULTS, **self._data}
        source = str(values.get("source", ""))
        for field in self.fields():
            name = field.key.removeprefix("data.")
            if name == "source":
                field.set_value(FILE if source.startswith(FILE) else source)
            elif name == "file":
                if source.startswith(FILE) or field.value is None:
                    field.set_value(source.removeprefix(FILE) if source.startswith(FILE) else "")
            else:
                field.set_value(values.get(name))
        self._update_visibility()

    def show_problems(self, problems: dict[str, str]) -> None:
        """Mark the fields with problems; a source that cannot be read has no shape to show."""
        super().show_problems(problems)
        self._unreadable = "data.source" in problems
        if self.fields():  # composed
            self._update_visibility()

    def _update_visibility(self) -> None:
        source = str(self._data.get("source", DEFAULTS["source"]))
        kind, _, name = source.partition(":")
        self.query_one("#data-file-path").display = kind == "file"
        self.query_one("#data-file").display = kind == "file"
        synthetic = self.query_one("#data-synthetic")
        synthetic.display = kind == "synthetic"
        used = vocab.SYNTHETIC_OPTIONS.get(name, ())
        for option in ("n_samples", "noise", "n_features", "n_classes"):
            self.field(f"data.{option}").display = option in used
        shape = dataset_shape(self._data or {"source": source})
        task = self._data.get("task", "auto")
        regression = task == "regression" or (
            task == "auto" and shape is not None and shape[2] == "regression"
        )
        target = self.field("data.standardize_target")
        target.display = regression or bool(target.value)  # regression targets only
        if self._unreadable:
            text = "Shape: unknown, the source cannot be read (see above)"
        elif shape is None:
            text = "Shape: known once the data is loaded"
        elif shape[2] == "regression":
            text = f"Shape: {shape[0]} features, regression"
        else:
            text = f"Shape: {shape[0]} features, {shape[1]} classes"
        self.query_one(".data-shape", Label).update(text)
        self.query_one(DataSamples).show_data(self._data or {"source": source})

    # ------------------------------------------------------------------ edits

    @on(FormField.Edited)
    def _edited(self, event: FormField.Edited) -> None:
        event.stop()
        key, value = event.field.key, event.value
        if key == "data.source":
            if value == FILE:
                value = FILE + (self.field("data.file").value or "")
        elif key == "data.file":
            key, value = "data.source", FILE + (value or "")
        self._set_local(key, value)
        self._update_visibility()
        self.post_message(FieldEdited(key, value))

    def _set_local(self, key: str, value: Any) -> None:
        name = key.removeprefix("data.")
        if value is None:
            self._data.pop(name, None)
        else:
            self._data[name] = value
