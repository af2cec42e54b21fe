"""The keys of a preset that apply to it: what a saved preset writes.

A spec carries every key with its default; a file should hold only those that mean something
for the experiment it describes: the synthetic generator's options for a synthetic source and
no other, the file options for a file source, ``n_iter`` only for a random search, no zero
regularisation factor, and so on. Leaving the others out changes nothing when the file is loaded
again (they are defaults, or ignored by the source and search chosen).
"""

from __future__ import annotations

import copy
from typing import Any

from nnexplorer.core import vocab

SYNTHETIC_KEYS = ("n_samples", "noise", "n_features", "n_classes")
FILE_KEYS = ("format", "target", "header", "delimiter", "labels")
CSV_KEYS = ("target", "header", "delimiter")
REGULARIZERS = ("kernel_regularizer", "bias_regularizer", "activity_regularizer")
SEARCH_KEYS = {"n_iter": "random", "factor": "halving"}  # key -> the search it belongs to


def applicable(preset: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``preset`` (a spec's ``to_dict()``) without the keys that do not apply."""
    out = copy.deepcopy(preset)
    data = out.get("data")
    if isinstance(data, dict):
        _prune_data(data)
    for layer in out.get("layers") or []:
        if isinstance(layer, dict):
            _prune_layer(layer)
    output = out.get("output")
    if isinstance(output, dict):
        _prune_layer(output)
    grid = out.get("grid")
    if isinstance(grid, dict):
        for key, search in SEARCH_KEYS.items():
            if grid.get("search", "grid") != search:
                grid.pop(key, None)
    return out


def _file_format(data: dict[str, Any]) -> str | None:
    """``csv``, ``npz`` or ``idx`` for a file source, None when it cannot be told."""
    fmt = str(data.get("format", "auto"))
    if fmt != "auto":
        return fmt
    name = str(data.get("source", "")).lower().removesuffix(".gz")
    if name.endswith((".csv", ".tsv", ".txt")):
        return "csv"
    if name.endswith(".npz"):
        return "npz"
    return None


def _prune_data(data: dict[str, Any]) -> None:
    source = str(data.get("source", ""))
    kind, _, name = source.partition(":")
    used = vocab.SYNTHETIC_OPTIONS.get(name, ()) if kind == "synthetic" else ()
    for key in SYNTHETIC_KEYS:
        if key not in used:
            data.pop(key, None)
    if kind != "file":
        for key in FILE_KEYS:
            data.pop(key, None)
    else:
        fmt = _file_format(data)
        if fmt not in (None, "csv"):
            for key in CSV_KEYS:
                data.pop(key, None)
        if fmt not in (None, "idx"):
            data.pop("labels", None)
    regression = data.get("task") == "regression" or (
        data.get("task", "auto") == "auto" and source in vocab.REGRESSION_SOURCES
    )
    if regression:
        data.pop("stratify", None)  # splits are stratified by class only
    if not data.get("standardize_target"):
        data.pop("standardize_target", None)


def _prune_layer(layer: dict[str, Any]) -> None:
    for which in REGULARIZERS:
        factors = layer.get(which)
        if not isinstance(factors, dict):
            continue
        for norm in ("l1", "l2"):
            if factors.get(norm) == 0:
                factors.pop(norm)
        if not factors:
            layer.pop(which)  # no penalty at all: the same as no regulariser
    constraint = layer.get("kernel_constraint")
    if isinstance(constraint, dict) and constraint.get("axis") == 0:
        constraint.pop("axis")  # Keras' default: each unit's incoming weights
