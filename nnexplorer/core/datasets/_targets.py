"""Targets and features: task inference, label encoding, numeric checks."""

from __future__ import annotations

from typing import Any

import numpy as np

from nnexplorer.core.datasets._files import RawData, fail
from nnexplorer.core.errors import excerpt

MAX_CLASSES = 1000
FLOAT32_MAX = float(np.finfo(np.float32).max)


def _beyond_float32(values: np.ndarray) -> tuple[int, float] | None:
    """The first column (index) and value that float32 cannot hold, or None."""
    if values.dtype.kind != "f" or values.dtype.itemsize <= 4 or values.size == 0:
        return None
    with np.errstate(invalid="ignore"):
        over = np.isfinite(values) & (np.abs(values) > FLOAT32_MAX)
    if not over.any():
        return None
    flat = over.reshape(len(values), -1)
    row, column = np.argwhere(flat)[0]
    return int(column), float(values.reshape(len(values), -1)[row, column])


def infer_task(y: np.ndarray) -> str:
    """``classification`` for labels (strings, booleans, or few integer values), else regression."""
    if y.dtype.kind in "USOb":
        return "classification"
    if y.dtype.kind == "f" and not np.all(np.isfinite(y) & (y == np.round(y))):
        return "regression"
    distinct = np.unique(y).size
    return (
        "classification" if distinct <= 20 or distinct <= min(100, len(y) // 20) else "regression"
    )


def _one_column(y: np.ndarray, where: str) -> np.ndarray:
    if y.ndim == 2 and y.shape[1] == 1:
        return y[:, 0]
    if (
        y.ndim == 2
        and y.dtype.kind in "biuf"
        and np.isin(y, (0, 1)).all()
        and (y.sum(1) == 1).all()
    ):
        return y.argmax(axis=1)  # one-hot rows
    if y.ndim != 1:
        raise fail(f"the targets must be one column; got shape {y.shape}", where)
    return y


def _label_name(value: Any, names: tuple[str, ...] | None) -> str:
    if isinstance(value, np.floating) and float(value).is_integer():
        value = int(value)
    if names is not None and isinstance(value, (int, np.integer)) and 0 <= value < len(names):
        return names[int(value)]
    return str(value) if not isinstance(value, np.floating) else f"{float(value):g}"


def _encode(raw: RawData, task: str, where: str) -> tuple[np.ndarray, np.ndarray | None, tuple]:
    """Labels mapped to 0..n-1 (classification) or float32 targets (regression)."""
    y, yt = raw.y, raw.y_test
    if task == "regression":
        if y.dtype.kind not in "biuf":
            raise fail(
                "the target holds text labels, which cannot be regressed "
                '(set data.task = "classification" or choose another column)',
                where,
                "data.task",
            )
        if not all(np.isfinite(part).all() for part in (y, yt) if part is not None):
            raise fail("the target holds NaN or infinite values", where, "data.target")
        for part in (y, yt):
            found = None if part is None else _beyond_float32(np.asarray(part, dtype=np.float64))
            if found is not None:
                column = raw.meta.get("target") or "y"
                raise fail(
                    f"the target column {excerpt(column)} holds {found[1]:.4g}, beyond what "
                    f"float32 holds (±{FLOAT32_MAX:.3g}); rescale it (e.g. other units or a log)",
                    where,
                    "data.target",
                )
        return y.astype(np.float32), None if yt is None else yt.astype(np.float32), ()
    both = y if yt is None else np.concatenate([y, yt])
    values, codes = np.unique(both, return_inverse=True)
    if len(values) < 2:
        raise fail("the target has a single class; classification needs at least two", where)
    if len(values) > MAX_CLASSES:
        raise fail(
            f"the target has {len(values)} distinct values, too many classes "
            '(set data.task = "regression" if it is a quantity)',
            where,
            "data.task",
        )
    names = tuple(_label_name(v, raw.class_names) for v in values)
    codes = codes.reshape(-1).astype(np.int64)
    return codes[: len(y)], None if yt is None else codes[len(y) :], names


def _features(
    x: np.ndarray, where: str, what: str, names: tuple[str, ...] | None = None
) -> np.ndarray:
    if x.dtype.kind not in "biuf":
        raise fail(f"{what} must be numeric; got dtype {x.dtype}", where)
    x = x.reshape(len(x), -1) if x.ndim != 2 else x
    found = _beyond_float32(x)
    if found is not None:
        column, value = found
        name = names[column] if names and column < len(names) else f"column {column}"
        raise fail(
            f"{what}: feature {excerpt(name)} holds {value:.4g}, beyond what float32 holds "
            f"(±{FLOAT32_MAX:.3g}); rescale it",
            where,
        )
    x = x.astype(np.float32, copy=False)
    if not np.isfinite(x).all():
        raise fail(f"{what} holds NaN or infinite values", where)
    return x
