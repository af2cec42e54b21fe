"""Canned diagnostics for tests: layer statistics, a decision boundary, an evaluation and the
misclassified-images record, as a training run would report and record them (no TensorFlow).

``inside_script`` plays like ``tui_fakes.train_script`` with the new events in between; it also
writes ``misclassified.json`` into the fake run's folder, as the engine does before it finishes.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from tui_fakes import HOLD

from nnexplorer.core import runs
from nnexplorer.core.events import (
    DecisionBoundary,
    EpochEnded,
    LayerStats,
    LogEvent,
    RunFinished,
    RunStarted,
)

LAYERS = (("hidden_1", 16, "sigmoid"), ("hidden_2", 16, "relu"), ("output", 3, "softmax"))
CLASSES = ["0", "1", "2"]
MATRIX = [[10, 1, 0], [0, 8, 2], [1, 0, 9]]

# an 8x8 "0" and an 8x8 "1" in 0..16, as the digits data has them
ZERO = [0, 0, 9, 16, 16, 9, 0, 0] + [0, 9, 16, 0, 0, 16, 9, 0] * 5 + [0, 0, 9, 16, 16, 9, 0, 0] * 2
ONE = [0, 0, 0, 12, 16, 0, 0, 0] * 8


def layer_entries(epoch: int) -> list[dict[str, Any]]:
    """Three layers whose gradients fall towards the input, as in a sigmoid stack."""
    out = []
    for index, (name, units, activation) in enumerate(LAYERS):
        grad = 10.0 ** (2 * index - 5) * (1 + 0.1 * epoch)
        out.append(
            {
                "name": name,
                "units": units,
                "activation": activation,
                "grad_norm": grad,
                "weight_norm": 2.0 + index + 0.1 * epoch,
                "mean_abs_weight": 0.1 * (index + 1),
                "small_weight_fraction": 0.05 * index,
                "max_unit_norm": 2.0 if index == 0 else 1.0 + 0.1 * index,
                "max_norm": 2.0 if index == 0 else None,
                "dead_fraction": 0.25 if activation == "relu" else None,
                "saturated_fraction": 0.4 if activation == "sigmoid" else None,
                "regularizer": "l1=0.01" if index == 0 else None,
                "hist": {
                    "edges": [-1.0 + 0.25 * k for k in range(9)],
                    "counts": [1, 3, 8, 20 + epoch + 10 * index, 25, 9, 3, 1],
                },
            }
        )
    return out


def boundary_event(epoch: int, final: bool = False) -> DecisionBoundary:
    """Two classes split by the line x + y = epoch / 10, with a few points."""
    size = 16
    grid = [
        [int((j + 0.5) / size * 4 - 2 + (i + 0.5) / size * 4 - 2 > epoch / 10) for j in range(size)]
        for i in range(size)
    ]
    points = [[-1.5, -1.5, 0], [1.5, 1.5, 1], [-1.0, 1.2, 0], [1.2, -0.5, 1], [0.9, 1.0, 0]]
    return DecisionBoundary(
        run_id="fake",
        epoch=epoch,
        x_range=[-2.0, 2.0],
        y_range=[-2.0, 2.0],
        grid=grid,
        points=points,
        features=["x0", "x1"],
        classes=["0", "1"],
        final=final,
    )


def evaluation_fields() -> dict[str, Any]:
    """The evaluation part of a summary.json."""
    per_class = []
    for i, name in enumerate(CLASSES):
        column = sum(row[i] for row in MATRIX)
        precision = MATRIX[i][i] / column
        recall = MATRIX[i][i] / sum(MATRIX[i])
        f1 = 2 * precision * recall / (precision + recall)
        support = sum(MATRIX[i])
        per_class.append(
            {"class": name, "precision": precision, "recall": recall, "f1": f1, "support": support}
        )
    return {
        "confusion_matrix": MATRIX,
        "classes": CLASSES,
        "per_class": per_class,
        "misclassified": 4,
    }


def misclassified(n: int = 4) -> dict[str, Any]:
    """misclassified.json with ``n`` 8x8 images."""
    rows = [
        {"index": 3 + 7 * k, "true": k % 2, "predicted": 2, "pixels": ZERO if k % 2 == 0 else ONE}
        for k in range(n)
    ]
    return {
        "classes": CLASSES,
        "n_test": 31,
        "count": n,
        "image_shape": [8, 8],
        "value_range": [0.0, 16.0],
        "rows": rows,
    }


def write_misclassified(run_dir: Path, n: int = 4) -> None:
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / runs.MISCLASSIFIED_FILE).write_text(json.dumps(misclassified(n)), encoding="utf-8")


def inside_script(
    epochs: int = 4,
    *,
    boundary: bool = True,
    penalty: bool = True,
    images: int = 4,
    hold_after: int | None = None,
):
    """A fake-runner script: a train run with layer statistics, boundaries and an evaluation
    (``hold_after``: wait for the test after that many epochs, as ``tui_fakes.HOLD``)."""

    def script(spec: Any, mode: str, run_dir: Path | None = None) -> list[Any]:
        out: list[Any] = [
            RunStarted(run_id="fake", mode="train", device="CPU", n_params=400, spec={}),
            LogEvent(run_id="fake", message="data: 90 train, 31 test"),
        ]
        for epoch in range(1, epochs + 1):
            if hold_after is not None and epoch == hold_after + 1:
                out.append(HOLD)
            loss = 1.5 / epoch
            metrics = {"loss": loss, "accuracy": 1 - loss / 3, "val_loss": loss * 1.2}
            metrics["val_accuracy"] = 1 - loss / 2.5
            if penalty:
                metrics["penalty"] = 0.3 * math.exp(-epoch / 3)
            out.append(
                EpochEnded(run_id="fake", epoch=epoch, epochs=epochs, metrics=metrics, seconds=0.2)
            )
            out.append(LayerStats(run_id="fake", epoch=epoch, layers=layer_entries(epoch)))
            if boundary:
                out.append(boundary_event(epoch))
        if boundary:
            out.append(boundary_event(epochs, final=True))
        summary = {
            "status": "completed",
            "mode": "train",
            "epochs_completed": epochs,
            "epochs": epochs,
            "test_metrics": {"loss": 0.4, "accuracy": 27 / 31},
            "wall_seconds": 3.0,
            "device": "CPU",
            **evaluation_fields(),
        }
        if run_dir is not None and images:
            write_misclassified(run_dir, images)
        out.append(RunFinished(run_id="fake", status="completed", summary=summary))
        return out

    return script


def write_run(root: Path, spec: Any, epochs: int = 3, images: int = 4) -> Path:
    """A complete, finished run folder made of the canned events (through RunRecorder)."""
    run_dir = runs.create_run_dir(root, spec)
    recorder = runs.RunRecorder(run_dir)
    for event in inside_script(epochs, images=images)(spec, "train", run_dir):
        if event is not HOLD:
            recorder(event)
    recorder.close()
    return run_dir
