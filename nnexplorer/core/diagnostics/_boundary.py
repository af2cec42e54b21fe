"""Decision regions of a classifier with two input features, in the features' own units.

A :class:`BoundaryPlan` is made once per run: a square grid of points spanning the data (with a
margin), scaled as the model's inputs are (the run's scaler, fitted on the training rows again,
is applied to the grid), and a sample of the training points. Each call of :meth:`event`
predicts every grid point and reports the classes as a ``decision_boundary`` event.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from nnexplorer.core.diagnostics._evaluation import predict_scores, predicted_classes
from nnexplorer.core.events import DecisionBoundary

GRID_SIZE = 64  # cells per side; views resample it to what the terminal can show
MAX_POINTS = 300
MARGIN = 0.05  # share of each feature's span added on both sides
MAX_BOUNDARIES = 25  # about this many boundaries per run, plus the final one


def boundary_every(epochs: int) -> int:
    """Every how many epochs a run reports its decision regions."""
    return max(1, -(-epochs // MAX_BOUNDARIES))


def axis_range(values: np.ndarray) -> tuple[float, float]:
    """[min, max] of ``values`` widened by a margin (never empty)."""
    low, high = float(np.min(values)), float(np.max(values))
    span = high - low
    pad = MARGIN * span if span > 0 else 0.5
    return low - pad, high + pad


def cell_centres(low: float, high: float, n: int = GRID_SIZE) -> np.ndarray:
    """The centres of ``n`` equal cells between ``low`` and ``high``."""
    step = (high - low) / n
    return low + (np.arange(n) + 0.5) * step


@dataclass(frozen=True)
class BoundaryPlan:
    """The grid (raw units and as model inputs) and the training points of one run."""

    x_range: tuple[float, float]
    y_range: tuple[float, float]
    inputs: np.ndarray  # (size * size, 2) model inputs, row-major from the bottom-left cell
    points: list[list[float]]
    features: list[str]
    classes: list[str]
    activation: str
    size: int = GRID_SIZE

    @classmethod
    def make(
        cls,
        raw_x: np.ndarray,
        raw_y: np.ndarray,
        scale: Any,
        *,
        features: list[str],
        classes: list[str],
        activation: str,
        seed: int | None = None,
        size: int = GRID_SIZE,
        max_points: int = MAX_POINTS,
    ) -> BoundaryPlan:
        """A plan for raw training features ``raw_x`` (n, 2); ``scale`` maps raw to inputs."""
        raw_x = np.asarray(raw_x, dtype=np.float64)
        x_range, y_range = axis_range(raw_x[:, 0]), axis_range(raw_x[:, 1])
        xs, ys = cell_centres(*x_range, size), cell_centres(*y_range, size)
        gx, gy = np.meshgrid(xs, ys)  # gx[i, j] = xs[j], gy[i, j] = ys[i]: row 0 at the bottom
        grid = np.column_stack([gx.ravel(), gy.ravel()])
        inputs = np.asarray(scale(grid), dtype=np.float32)
        rng = np.random.default_rng(0 if seed is None else seed)
        keep = np.arange(len(raw_x))
        if len(keep) > max_points:
            keep = np.sort(rng.choice(len(raw_x), size=max_points, replace=False))
        labels = np.asarray(raw_y).astype(np.int64).ravel()
        points = [
            [float(f"{raw_x[i, 0]:.5g}"), float(f"{raw_x[i, 1]:.5g}"), int(labels[i])] for i in keep
        ]
        return cls(
            x_range=x_range,
            y_range=y_range,
            inputs=inputs,
            points=points,
            features=list(features),
            classes=list(classes),
            activation=activation,
            size=size,
        )

    def classes_on_grid(self, model: Any) -> list[list[int]]:
        """The predicted class of every cell, rows from the bottom."""
        labels = predicted_classes(predict_scores(model, self.inputs), self.activation)
        return labels.reshape(self.size, self.size).tolist()

    def event(
        self,
        model: Any,
        epoch: int,
        *,
        run_id: str = "",
        final: bool = False,
        candidate: int | None = None,
    ) -> DecisionBoundary:
        """The ``decision_boundary`` event of ``model`` now (``candidate``: a sweep's variant)."""
        return DecisionBoundary(
            run_id=run_id,
            epoch=epoch,
            candidate=candidate,
            x_range=[float(v) for v in self.x_range],
            y_range=[float(v) for v in self.y_range],
            grid=self.classes_on_grid(model),
            points=self.points,
            features=self.features,
            classes=self.classes,
            final=final,
        )
