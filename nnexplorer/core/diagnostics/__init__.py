"""Inside the network: per-layer statistics, evaluation of a classifier, decision boundaries.

:class:`RunDiagnostics` is what a training run uses (callbacks for the ``penalty`` metric, the
``layer_stats`` and ``decision_boundary`` events; the test-split evaluation at the end). The
statistics themselves are plain NumPy functions (:mod:`._stats`), the probe batch that feeds them
is :mod:`._probe`, the evaluation :mod:`._evaluation`, the boundary grid :mod:`._boundary`, and
the readers of the recorded files :mod:`._records`. Importing this package does not import
TensorFlow, so the explorer can read records through it.
"""

from nnexplorer.core.diagnostics._boundary import BoundaryPlan, boundary_every
from nnexplorer.core.diagnostics._evaluation import (
    Evaluation,
    evaluate_classes,
    misclassified_record,
    predicted_classes,
)
from nnexplorer.core.diagnostics._probe import PROBE_ROWS, Probe, choose_rows, has_regularizers
from nnexplorer.core.diagnostics._records import (
    read_boundary,
    read_layer_stats,
    read_misclassified,
)
from nnexplorer.core.diagnostics._run import RunDiagnostics
from nnexplorer.core.diagnostics._stats import (
    SATURATING,
    SATURATION,
    SMALL_WEIGHT,
    dead_fraction,
    grad_norm,
    gradient_ratio,
    histogram,
    kernel_stats,
    layer_entry,
    saturated_fraction,
    unit_norms,
)

__all__ = [
    "PROBE_ROWS",
    "SATURATING",
    "SATURATION",
    "SMALL_WEIGHT",
    "BoundaryPlan",
    "Evaluation",
    "Probe",
    "RunDiagnostics",
    "boundary_every",
    "choose_rows",
    "dead_fraction",
    "evaluate_classes",
    "grad_norm",
    "gradient_ratio",
    "has_regularizers",
    "histogram",
    "kernel_stats",
    "layer_entry",
    "misclassified_record",
    "predicted_classes",
    "read_boundary",
    "read_layer_stats",
    "read_misclassified",
    "saturated_fraction",
    "unit_norms",
]
