"""Per-layer statistics from plain arrays: a Dense layer's kernel, its outputs and its gradient.

Pure NumPy, so that every number can be checked by hand; :mod:`._probe` gets the arrays out of a
Keras model.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

SMALL_WEIGHT = 1e-3  # |w| below this counts as a small weight (L1 drives weights here)
SATURATION = 0.02  # an output within 2% of its range from a bound is saturated
HIST_BINS = 20
# Activations whose units die: their output is exactly 0 for every negative input.
RELU_FAMILY = ("relu", "relu6")
# Bounded activations and their (lower, upper) bounds.
SATURATING: dict[str, tuple[float, float]] = {
    "sigmoid": (0.0, 1.0),
    "hard_sigmoid": (0.0, 1.0),
    "tanh": (-1.0, 1.0),
    "softsign": (-1.0, 1.0),
}


def _float(value: Any) -> float:
    return float(value)


def histogram(values: np.ndarray, bins: int = HIST_BINS) -> dict[str, list[float] | list[int]]:
    """``edges`` (``bins + 1`` of them) and ``counts`` of the finite entries of ``values``."""
    flat = np.asarray(values, dtype=np.float64).ravel()
    flat = flat[np.isfinite(flat)]
    if flat.size == 0:
        return {"edges": [], "counts": []}
    low, high = float(flat.min()), float(flat.max())
    if low == high:  # a constant kernel (zeros, ones): one bin around the value
        low, high = low - 0.5, high + 0.5
    counts, edges = np.histogram(flat, bins=bins, range=(low, high))
    return {"edges": [float(e) for e in edges], "counts": [int(c) for c in counts]}


def unit_norms(kernel: np.ndarray) -> np.ndarray:
    """The norm of each unit's incoming weight vector (axis 0 of a Dense kernel, as MaxNorm)."""
    kernel = np.asarray(kernel, dtype=np.float64)
    return np.sqrt(np.sum(kernel * kernel, axis=0))


def kernel_stats(kernel: np.ndarray, *, bins: int = HIST_BINS) -> dict[str, Any]:
    """Norm, mean |w|, share of small weights, largest unit norm and histogram of a kernel."""
    kernel = np.asarray(kernel, dtype=np.float64)
    magnitude = np.abs(kernel)
    return {
        "weight_norm": _float(np.sqrt(np.sum(kernel * kernel))),
        "mean_abs_weight": _float(magnitude.mean()) if kernel.size else 0.0,
        "small_weight_fraction": _float(np.mean(magnitude < SMALL_WEIGHT)) if kernel.size else 0.0,
        "max_unit_norm": _float(unit_norms(kernel).max()) if kernel.size else 0.0,
        "hist": histogram(kernel, bins),
    }


def dead_fraction(outputs: np.ndarray, activation: str) -> float | None:
    """Share of units whose output is 0 on every row (ReLU family only; None otherwise)."""
    if activation not in RELU_FAMILY:
        return None
    outputs = np.asarray(outputs)
    if outputs.size == 0:
        return 0.0
    dead = np.all(outputs == 0, axis=0)
    return _float(np.mean(dead))


def saturated_fraction(outputs: np.ndarray, activation: str) -> float | None:
    """Share of outputs (rows x units) within 2% of the range from a bound; None if unbounded."""
    bounds = SATURATING.get(activation)
    if bounds is None:
        return None
    outputs = np.asarray(outputs, dtype=np.float64)
    if outputs.size == 0:
        return 0.0
    low, high = bounds
    margin = SATURATION * (high - low)
    near = (outputs <= low + margin) | (outputs >= high - margin)
    return _float(np.mean(near))


def grad_norm(gradient: np.ndarray | None) -> float:
    """The L2 norm of a gradient (0 when the loss does not depend on the kernel)."""
    if gradient is None:
        return 0.0
    gradient = np.asarray(gradient, dtype=np.float64)
    return _float(np.sqrt(np.sum(gradient * gradient)))


def layer_entry(
    *,
    name: str,
    activation: str,
    kernel: np.ndarray,
    outputs: np.ndarray,
    gradient: np.ndarray | None,
    max_norm: float | None = None,
    regularizer: str | None = None,
    bins: int = HIST_BINS,
) -> dict[str, Any]:
    """One entry of a ``layer_stats`` event (see :class:`~nnexplorer.core.events.LayerStats`)."""
    kernel = np.asarray(kernel)
    return {
        "name": name,
        "units": int(kernel.shape[-1]) if kernel.ndim else 0,
        "activation": activation,
        "grad_norm": grad_norm(gradient),
        **kernel_stats(kernel, bins=bins),
        "max_norm": max_norm,
        "dead_fraction": dead_fraction(outputs, activation),
        "saturated_fraction": saturated_fraction(outputs, activation),
        "regularizer": regularizer,
    }


def gradient_ratio(layers: list[dict[str, Any]]) -> float | None:
    """First layer's gradient norm over the last layer's (vanishing gradients: far below 1)."""
    if len(layers) < 2:
        return None
    first, last = layers[0].get("grad_norm"), layers[-1].get("grad_norm")
    if not isinstance(first, int | float) or not isinstance(last, int | float):
        return None
    if last == 0 or not math.isfinite(first) or not math.isfinite(last):
        return None
    return float(first) / float(last)
