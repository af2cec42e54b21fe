"""The Training pane: optimizer and its options, loss, metrics, batches, epochs, early stopping."""

from __future__ import annotations

import copy
from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Label

from nnexplorer.core import vocab
from nnexplorer.core.spec import CompileSpec, EarlyStoppingSpec, ExperimentInfo, FitSpec
from nnexplorer.tui.messages import FieldEdited
from nnexplorer.tui.widgets.form_base import FieldForm, choices_of, lookup
from nnexplorer.tui.widgets.form_fields import FormField

ON_OFF = [("on", True), ("off", False)]
BOOL_OPTIONS = ("nesterov", "amsgrad", "centered")
OPTION_LABELS = {
    "momentum": "Momentum",
    "nesterov": "Nesterov",
    "beta_1": "beta_1",
    "beta_2": "beta_2",
    "epsilon": "epsilon",
    "amsgrad": "AMSGrad",
    "rho": "rho",
    "centered": "Centered",
    "initial_accumulator_value": "Initial accum.",
    "learning_rate_power": "LR power",
    "weight_decay": "Weight decay",
    "clipnorm": "Clip norm",
    "clipvalue": "Clip value",
}
ALL_OPTIONS = tuple(
    dict.fromkeys(
        [o for opts in vocab.OPTIMIZER_OPTIONS.values() for o in opts]
        + list(vocab.COMMON_OPTIMIZER_OPTIONS)
    )
)
LOSS_CHOICES = [("auto (from the task)", "auto"), *choices_of(vocab.LOSSES)]
DEFAULTS: dict[str, Any] = {
    "experiment": ExperimentInfo().model_dump(),
    "compile": CompileSpec().model_dump(),
    "fit": FitSpec().model_dump(),
}
ES_DEFAULTS = EarlyStoppingSpec().model_dump()
ES_KEY = "fit.early_stopping"


class TrainingForm(FieldForm):
    """Edits ``[compile]``, ``[fit]`` and the experiment's name and seed.

    Options show only for the optimizer that takes them; switching optimizer removes the options
    the new one does not take (each removal is a :class:`FieldEdited` with value None).
    """

    DEFAULT_CSS = """
    TrainingForm > .form-group { height: auto; }
    """
    SECTIONS = ("compile", "fit", "experiment")
    PROBLEM_FIELDS = {"compile": "compile.optimizer"}

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._data: dict[str, Any] = {}

    def compose(self) -> ComposeResult:
        yield self.problems_label()
        yield FormField("experiment.name", "Name", "text")
        yield FormField("experiment.seed", "Seed", "int")
        yield Label("Optimizer", classes="form-heading")
        yield FormField(
            "compile.optimizer", "Optimizer", "choice", choices=choices_of(vocab.OPTIMIZERS)
        )
        yield FormField("compile.learning_rate", "Learning rate", "float", placeholder="0.001")
        with Vertical(classes="form-group", id="optimizer-options"):
            for option in ALL_OPTIONS:
                if option in BOOL_OPTIONS:
                    yield FormField(
                        f"compile.{option}",
                        OPTION_LABELS[option],
                        "choice",
                        choices=ON_OFF,
                        optional=True,
                    )
                else:
                    yield FormField(
                        f"compile.{option}",
                        OPTION_LABELS[option],
                        "float",
                        optional=True,
                        placeholder="default",
                    )
        yield Label("Loss and metrics", classes="form-heading")
        yield FormField("compile.loss", "Loss", "choice", choices=LOSS_CHOICES)
        yield FormField("compile.metrics", "Metrics", "list", placeholder="auto, auc, ...")
        yield Label("Batches and epochs", classes="form-heading")
        yield FormField("fit.batch_size", "Batch size", "int")
        yield FormField("fit.epochs", "Epochs", "int")
        yield FormField("fit.shuffle", "Shuffle", "bool")
        yield FormField("fit.diagnostics", "Diagnostics", "bool")
        yield FormField(ES_KEY, "Early stop", "bool")
        with Vertical(classes="form-group", id="early-stopping"):
            yield FormField(f"{ES_KEY}.monitor", "Monitor", "text", placeholder="val_loss")
            yield FormField(f"{ES_KEY}.patience", "Patience", "int")
            yield FormField(f"{ES_KEY}.min_delta", "Min delta", "float")
            yield FormField(f"{ES_KEY}.restore_best_weights", "Restore best", "bool")
            yield FormField(
                f"{ES_KEY}.mode", "Mode", "choice", choices=choices_of(("auto", "min", "max"))
            )

    def on_mount(self) -> None:
        self._show_values()

    # ------------------------------------------------------------------ contract

    def load(self, data: dict[str, Any]) -> None:
        """Show the ``[experiment]``, ``[compile]`` and ``[fit]`` tables of a preset dict."""
        self._data = {
            name: copy.deepcopy(data[name]) if isinstance(data.get(name), dict) else {}
            for name in ("experiment", "compile", "fit")
        }
        if self.is_mounted:
            self._show_values()

    def _value(self, key: str) -> Any:
        if key == ES_KEY:
            return isinstance(lookup(self._data, ES_KEY), dict)
        if key.startswith(ES_KEY + "."):
            return lookup(self._data, key, ES_DEFAULTS[key.rsplit(".", 1)[1]])
        section, name = key.split(".", 1)
        return lookup(self._data, key, DEFAULTS[section].get(name))

    def _show_values(self) -> None:
        for field in self.fields():
            field.set_value(self._value(field.key))
        self._update_visibility()

    def _update_visibility(self) -> None:
        optimizer = self._value("compile.optimizer")
        own = set(vocab.OPTIMIZER_OPTIONS.get(optimizer, ())) | set(vocab.COMMON_OPTIMIZER_OPTIONS)
        for option in ALL_OPTIONS:
            field = self.field(f"compile.{option}")
            field.display = option in own or field.value is not None
        self.query_one("#early-stopping").display = bool(self._value(ES_KEY))

    # ------------------------------------------------------------------ edits

    def _post(self, key: str, value: Any) -> None:
        section, _, rest = key.partition(".")
        table = self._data.setdefault(section, {})
        if value is None:
            if "." in rest:  # early stopping options stay in their table
                lookup(self._data, ES_KEY, {}).pop(rest.rsplit(".", 1)[1], None)
            else:
                table.pop(rest, None)
        elif "." in rest:
            es = table.get("early_stopping")
            if not isinstance(es, dict):
                es = table["early_stopping"] = {}
            es[rest.rsplit(".", 1)[1]] = value
        else:
            table[rest] = value
        self.post_message(FieldEdited(key, copy.deepcopy(value)))

    @on(FormField.Edited)
    def _edited(self, event: FormField.Edited) -> None:
        event.stop()
        key, value = event.field.key, event.value
        if key == "compile.optimizer" and isinstance(value, str):
            own = set(vocab.OPTIMIZER_OPTIONS.get(value, ())) | set(vocab.COMMON_OPTIMIZER_OPTIONS)
            for option in ALL_OPTIONS:
                field = self.field(f"compile.{option}")
                if option not in own and field.value is not None:
                    field.set_value(None)
                    self._post(f"compile.{option}", None)
        if key == ES_KEY:
            value = (
                {
                    name: self.field(f"{ES_KEY}.{name}").value
                    for name in ("monitor", "patience", "restore_best_weights")
                }
                if value
                else None
            )
        self._post(key, value)
        self._update_visibility()
