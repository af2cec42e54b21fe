"""A few sample images of an image data set, for the explorer's Data pane (no TensorFlow).

Image sources are scikit-learn's digits (8x8), keras' MNIST and Fashion-MNIST from the local
cache (28x28), and NPZ / IDX files whose features have two dimensions. Anything else (tables,
CSV files) has no sample images.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from nnexplorer.core.datasets._files import detect_format
from nnexplorer.core.datasets._sources import read_source
from nnexplorer.core.spec import DataSpec


@dataclass(frozen=True)
class Samples:
    """Sample images: raw pixel rows, their class names, the image shape and the value range;
    ``classes``: every class of the whole source with its number of rows (the class balance)."""

    pixels: list[list[float]]
    labels: list[str]
    shape: list[int]
    value_range: tuple[float, float]
    classes: list[tuple[str, int]] = field(default_factory=list)


def may_have_images(data: DataSpec) -> bool:
    """Whether ``data`` can hold images, judged without reading it."""
    if data.kind == "sklearn":
        return data.name == "digits"
    if data.kind == "keras":
        return True
    if data.kind != "file":
        return False
    path = Path(data.name).expanduser()
    if not path.exists():
        return False
    fmt = data.format if data.format != "auto" else detect_format(path)
    return fmt in ("npz", "idx")


def sample_images(data: DataSpec, count: int = 8) -> Samples | None:
    """Up to ``count`` images, one per class in class order first; None when not images.

    Reads the source (scikit-learn's bundled set, the keras cache or the file) and raises its
    :class:`~nnexplorer.core.errors.DataError` when it cannot be read.
    """
    if not may_have_images(data):
        return None
    raw = read_source(data, seed=None)
    x = np.asarray(raw.x)
    shape = list(x.shape[1:]) if x.ndim == 3 else raw.meta.get("image_shape")
    if not shape or len(shape) != 2:
        return None
    y = np.asarray(raw.y).ravel()
    picked = _one_per_class(y, count)
    rows = x.reshape(len(x), -1)
    names = raw.class_names
    labels = [_label(y[i], names) for i in picked]
    pixels = [[float(v) for v in rows[i]] for i in picked]
    low, high = float(np.min(rows[: min(len(rows), 5000)])), float(np.max(rows[:5000]))
    values, counts = np.unique(y, return_counts=True)
    classes = [(_label(v, names), int(n)) for v, n in zip(values, counts, strict=True)]
    return Samples(pixels, labels, [int(s) for s in shape], (low, high), classes)


def _one_per_class(y: np.ndarray, count: int) -> list[int]:
    """The first row of each class (in sorted class order), then the next rows, up to count."""
    picked: list[int] = []
    for value in np.unique(y)[:count]:
        picked.append(int(np.flatnonzero(y == value)[0]))
    for index in range(len(y)):
        if len(picked) >= count:
            break
        if index not in picked:
            picked.append(index)
    return picked[:count]


def _label(value: Any, names: tuple[str, ...] | None) -> str:
    if names is not None and isinstance(value, int | np.integer) and 0 <= value < len(names):
        return str(names[int(value)])
    return str(value.item() if hasattr(value, "item") else value)
