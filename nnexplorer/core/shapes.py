"""Output shapes and parameter counts of a spec's layers, without TensorFlow.

A Dense layer with ``n`` inputs and ``u`` units holds ``n * u`` weights plus ``u`` biases; Dropout
holds nothing and keeps its input's shape. The output layer follows from the task
(:func:`nnexplorer.core.heads.resolve_head`). Counts work on a draft that is not valid yet: what
cannot be known (an unknown input size, a units value that is not a number) is ``None``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from nnexplorer.core.heads import resolve_head
from nnexplorer.core.spec import DataSpec, DenseLayer, DropoutLayer, ExperimentSpec

# (n_features, n_classes) of the bundled sets; n_classes 0 means regression.
KNOWN_SHAPES: dict[str, tuple[int, int]] = {
    "sklearn:digits": (64, 10),
    "sklearn:iris": (4, 3),
    "sklearn:wine": (13, 3),
    "sklearn:breast_cancer": (30, 2),
    "sklearn:diabetes": (10, 0),
    "keras:mnist": (784, 10),
    "keras:fashion_mnist": (784, 10),
    "synthetic:moons": (2, 2),
    "synthetic:circles": (2, 2),
}


@dataclass(frozen=True)
class LayerRow:
    """One line of the layer table; ``params`` is None when it cannot be known yet."""

    index: int
    label: str
    output_shape: str
    params: int | None
    kind: str = "dense"  # dense | dropout | output

    @property
    def params_text(self) -> str:
        """The count with thousands separators, or ``?``."""
        return "?" if self.params is None else f"{self.params:,}"


def dataset_shape(data: str | Mapping[str, Any] | DataSpec) -> tuple[int, int, str] | None:
    """``(n_features, n_classes, task)`` of a source without loading it, or None if unknown.

    ``data`` is a source string (``sklearn:iris``) or a whole ``[data]`` table, whose synthetic
    options (n_features, n_classes) and ``task`` override are then taken into account.
    """
    if isinstance(data, str):
        table: dict[str, Any] = {"source": data}
    elif isinstance(data, DataSpec):
        table = data.model_dump()
    else:
        table = dict(data)
    source = str(table.get("source", DataSpec().source))
    kind, _, name = source.partition(":")
    n_features: int | None
    n_classes: int | None
    if source in KNOWN_SHAPES:
        n_features, n_classes = KNOWN_SHAPES[source]
    elif kind == "synthetic" and name in ("blobs", "classification", "regression"):
        n_features = _whole(table.get("n_features", DataSpec().n_features))
        n_classes = (
            0 if name == "regression" else _whole(table.get("n_classes", DataSpec().n_classes))
        )
        if n_features is None or n_classes is None:
            return None
    else:
        return None
    task = "regression" if n_classes == 0 else "classification"
    wanted = table.get("task", "auto")
    if wanted in ("classification", "regression") and wanted != task:
        if wanted == "classification":
            return None  # the classes of a regression target are not known before loading
        task, n_classes = "regression", 0
    return n_features, n_classes, task


def _whole(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        return None
    return value


def _as_dict(spec_or_dict: ExperimentSpec | Mapping[str, Any]) -> dict[str, Any]:
    if isinstance(spec_or_dict, ExperimentSpec):
        return spec_or_dict.to_dict()
    return dict(spec_or_dict)


def _head_spec(data: dict[str, Any]) -> ExperimentSpec:
    """The spec that decides the output layer: the whole draft, else its compile/output parts."""
    for attempt in (
        data,
        {"compile": data.get("compile", {}), "output": data.get("output", {})},
        {"output": data.get("output", {})},
    ):
        try:
            return ExperimentSpec.model_validate(attempt)
        except (ValidationError, TypeError, ValueError):
            continue
    return ExperimentSpec()


def layer_label(layer: Mapping[str, Any]) -> str:
    """One line such as ``Dense 128 relu he_normal``, also for a layer that is not valid."""
    kind = layer.get("type", "dense")
    model = DropoutLayer if kind == "dropout" else DenseLayer
    try:
        return model.model_validate(dict(layer)).describe()
    except (ValidationError, TypeError, ValueError):
        if kind == "dropout":
            return f"Dropout {layer.get('rate', '?')} (invalid)"
        if kind == "dense":
            return f"Dense {layer.get('units', 64)} {layer.get('activation', 'relu')} (invalid)"
        return f"{kind} (invalid)"


def _shape(width: int | None) -> str:
    return f"(None, {'?' if width is None else width})"


def _dense_params(n_in: int | None, units: int | None, bias: bool) -> int | None:
    if n_in is None or units is None:
        return None
    return n_in * units + (units if bias else 0)


def layer_table(
    spec_or_dict: ExperimentSpec | Mapping[str, Any],
    n_features: int | None,
    n_classes: int | None,
    task: str | None,
) -> list[LayerRow]:
    """One row per hidden layer, then the output layer (``kind == "output"``).

    ``n_features``/``n_classes``/``task`` describe the data (see :func:`dataset_shape`); any of
    them may be None when unknown, which makes the affected shapes and counts unknown too.
    """
    data = _as_dict(spec_or_dict)
    layers = data.get("layers") or []
    rows: list[LayerRow] = []
    width = n_features
    for index, layer in enumerate(layers if isinstance(layers, list) else []):
        if not isinstance(layer, Mapping):
            rows.append(LayerRow(index, "(not a table)", _shape(None), None, "dense"))
            width = None
            continue
        if layer.get("type", "dense") == "dropout":
            rows.append(LayerRow(index, layer_label(layer), _shape(width), 0, "dropout"))
            continue
        units = _whole(layer.get("units", DenseLayer().units))
        bias = layer.get("use_bias", True) is not False
        params = _dense_params(width, units, bias)
        rows.append(LayerRow(index, layer_label(layer), _shape(units), params, "dense"))
        width = units
    rows.append(_output_row(data, len(rows), width, n_classes, task))
    return rows


def _output_row(
    data: dict[str, Any], index: int, width: int | None, n_classes: int | None, task: str | None
) -> LayerRow:
    spec = _head_spec(data)
    if task not in ("classification", "regression") or (
        task == "classification" and not n_classes and spec.output.units is None
    ):
        return LayerRow(index, "Output (depends on the data)", _shape(None), None, "output")
    head = resolve_head(spec, task, n_classes or 0)
    label = f"Output {head.units} {head.activation}"
    return LayerRow(
        index, label, _shape(head.units), _dense_params(width, head.units, True), "output"
    )


def total_params(rows: list[LayerRow]) -> int | None:
    """The sum of the rows' counts, or None when any of them is unknown."""
    if any(row.params is None for row in rows):
        return None
    return sum(row.params or 0 for row in rows)


def table_for(spec_or_dict: ExperimentSpec | Mapping[str, Any]) -> list[LayerRow]:
    """:func:`layer_table` with the data shape taken from the spec's own ``[data]`` table."""
    data = _as_dict(spec_or_dict)
    table = data.get("data") if isinstance(data.get("data"), Mapping) else {}
    shape = dataset_shape(table or DataSpec().source)
    if shape is None:
        wanted = (table or {}).get("task")
        task = wanted if wanted in ("classification", "regression") else None
        return layer_table(data, None, None, task)
    n_features, n_classes, task = shape
    return layer_table(data, n_features, n_classes, task)
