"""How a classifier does on the test split: confusion matrix, per-class scores, its mistakes.

:func:`evaluate_classes` gives the fields a classification run adds to ``summary.json``
(``confusion_matrix``: rows the true class, columns the predicted one, in the order of
``classes``; ``per_class``: precision, recall, F1 and support per class, from
``sklearn.metrics``). :func:`misclassified_record` is the content of ``misclassified.json``:
the misclassified test rows with their true and predicted class and, for image data, the raw
(unscaled) pixels, so that a view can draw them from the run directory alone.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

MAX_MISCLASSIFIED = 100  # rows kept in misclassified.json (the count covers all of them)
PREDICT_CHUNK = 4096
_THRESHOLD_05 = ("sigmoid", "hard_sigmoid", "softmax")


def predict_scores(model: Any, x: np.ndarray, chunk: int = PREDICT_CHUNK) -> np.ndarray:
    """The model's outputs for ``x`` (``training=False``), in chunks, as one array."""
    parts = [np.asarray(model(x[i : i + chunk], training=False)) for i in range(0, len(x), chunk)]
    return np.concatenate(parts) if parts else np.zeros((0, 1))


def predicted_classes(scores: np.ndarray, activation: str) -> np.ndarray:
    """Class indices from output scores: argmax, or a threshold for a single output unit.

    One sigmoid unit means class 1 above 0.5; one unit with another activation (``tanh`` or
    ``linear`` with a hinge loss) means class 1 above 0.
    """
    scores = np.asarray(scores)
    if scores.ndim == 1 or scores.shape[-1] == 1:
        threshold = 0.5 if activation in _THRESHOLD_05 else 0.0
        return (scores.reshape(len(scores)) > threshold).astype(np.int64)
    return np.argmax(scores, axis=-1).astype(np.int64)


def evaluate_classes(
    y_true: np.ndarray, y_pred: np.ndarray, classes: list[str] | tuple[str, ...]
) -> dict[str, Any]:
    """``confusion_matrix``, ``classes`` and ``per_class`` for ``summary.json``."""
    from sklearn.metrics import confusion_matrix, precision_recall_fscore_support

    labels = list(range(len(classes)))
    y_true = np.asarray(y_true).astype(np.int64).ravel()
    y_pred = np.asarray(y_pred).astype(np.int64).ravel()
    matrix = confusion_matrix(y_true, y_pred, labels=labels)
    precision, recall, f1, support = precision_recall_fscore_support(
        y_true, y_pred, labels=labels, zero_division=0
    )
    per_class = [
        {
            "class": str(name),
            "precision": float(precision[i]),
            "recall": float(recall[i]),
            "f1": float(f1[i]),
            "support": int(support[i]),
        }
        for i, name in enumerate(classes)
    ]
    return {
        "confusion_matrix": matrix.astype(int).tolist(),
        "classes": [str(c) for c in classes],
        "per_class": per_class,
        "misclassified": int(np.sum(y_true != y_pred)),
    }


def _plain_values(row: np.ndarray) -> list[float] | list[int]:
    values = np.asarray(row, dtype=np.float64).ravel()
    if np.all(np.isfinite(values)) and np.all(values == np.round(values)):
        return [int(v) for v in values]
    return [float(f"{v:.5g}") for v in values]


def misclassified_record(
    y_true: np.ndarray,
    y_pred: np.ndarray,
    classes: list[str] | tuple[str, ...],
    raw_x_test: np.ndarray | None = None,
    image_shape: list[int] | None = None,
    value_range: tuple[float, float] | None = None,
    limit: int = MAX_MISCLASSIFIED,
) -> dict[str, Any]:
    """The content of ``misclassified.json`` (``rows``: index in the test split, true, predicted;
    ``pixels`` too, the raw values of the row, when the features are an image)."""
    y_true = np.asarray(y_true).astype(np.int64).ravel()
    y_pred = np.asarray(y_pred).astype(np.int64).ravel()
    wrong = np.flatnonzero(y_true != y_pred)
    images = image_shape is not None and raw_x_test is not None
    rows = []
    for index in wrong[:limit]:
        row: dict[str, Any] = {
            "index": int(index),
            "true": int(y_true[index]),
            "predicted": int(y_pred[index]),
        }
        if images:
            assert raw_x_test is not None
            row["pixels"] = _plain_values(raw_x_test[index])
        rows.append(row)
    return {
        "classes": [str(c) for c in classes],
        "n_test": len(y_true),
        "count": len(wrong),
        "image_shape": list(image_shape) if images and image_shape else None,
        "value_range": [float(v) for v in value_range] if images and value_range else None,
        "rows": rows,
    }


@dataclass(frozen=True)
class Evaluation:
    """The evaluation fields of a summary, typed for the views."""

    classes: list[str]
    matrix: list[list[int]]
    per_class: list[dict[str, Any]]
    misclassified: int | None = None

    @classmethod
    def from_summary(cls, summary: Mapping[str, Any] | None) -> Evaluation | None:
        """The evaluation recorded in ``summary`` (None for regression, grids, failed runs)."""
        if not summary:
            return None
        classes, matrix = summary.get("classes"), summary.get("confusion_matrix")
        if not isinstance(classes, list) or not isinstance(matrix, list):
            return None
        if len(matrix) != len(classes) or any(len(row) != len(classes) for row in matrix):
            return None
        per_class = summary.get("per_class")
        count = summary.get("misclassified")
        return cls(
            classes=[str(c) for c in classes],
            matrix=[[int(v) for v in row] for row in matrix],
            per_class=list(per_class) if isinstance(per_class, list) else [],
            misclassified=int(count) if isinstance(count, int) else None,
        )

    @property
    def total(self) -> int:
        """Number of test rows."""
        return sum(sum(row) for row in self.matrix)

    @property
    def correct(self) -> int:
        """Rows on the diagonal."""
        return sum(self.matrix[i][i] for i in range(len(self.matrix)))
