"""Standardised regression targets (``data.standardize_target``).

The semantics of scikit-learn's ``TransformedTargetRegressor`` with a ``StandardScaler``: the
mean and standard deviation come from the training split only, the network trains on
``(y - mean) / std``, and predictions are turned back into the target's units.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from nnexplorer.core.datasets._files import fail
from nnexplorer.core.datasets._split import Dataset


@dataclass(frozen=True)
class TargetScale:
    """A target's mean and standard deviation on the training split."""

    mean: float
    std: float

    @classmethod
    def fit(cls, y: np.ndarray) -> TargetScale:
        """The scale of ``y`` (a constant target keeps a standard deviation of 1)."""
        values = np.asarray(y, dtype=np.float64)
        std = float(values.std())
        return cls(float(values.mean()), std if std > 0 else 1.0)

    def transform(self, y: np.ndarray) -> np.ndarray:
        """``(y - mean) / std`` as float32."""
        return ((np.asarray(y, dtype=np.float64) - self.mean) / self.std).astype(np.float32)

    def inverse(self, y: np.ndarray) -> np.ndarray:
        """Back into the target's units."""
        return (np.asarray(y, dtype=np.float64) * self.std + self.mean).astype(np.float32)


def standardized_target(dataset: Dataset) -> tuple[Dataset, TargetScale]:
    """The dataset with its training and validation targets standardised (test ones as they are).

    The test targets stay in their units: the test metrics are measured on predictions turned
    back into those units.
    """
    if dataset.task != "regression":
        raise fail(
            f"standardize_target applies to regression targets; {dataset.source} is a "
            "classification task (set data.standardize_target = false)",
            path="data.standardize_target",
        )
    scale = TargetScale.fit(dataset.y_train)
    scaled = dataclasses.replace(
        dataset,
        y_train=scale.transform(dataset.y_train),
        y_val=None if dataset.y_val is None else scale.transform(dataset.y_val),
        meta={**dataset.meta, "target_mean": scale.mean, "target_std": scale.std},
    )
    return scaled, scale


def target_stats(dataset: Dataset) -> tuple[float, float] | None:
    """The training targets' mean and standard deviation of a regression set (else None)."""
    if dataset.task != "regression":
        return None
    scale = TargetScale.fit(dataset.y_train)
    return scale.mean, scale.std
