"""Views of what happens inside a run: Inside (layer statistics), Evaluation, Boundary.

:func:`feed_views` is the one place engine events reach them during a run; :func:`show_record`
loads a past run's records into them. Both take the node that holds the three views (the main
screen) and find them there.
"""

from __future__ import annotations

from pathlib import Path

from textual.dom import DOMNode

from nnexplorer.core.events import (
    DecisionBoundary,
    Event,
    LayerStats,
    RunFinished,
    RunStarted,
)
from nnexplorer.tui.widgets.views.boundary import BoundaryView
from nnexplorer.tui.widgets.views.evaluation import EvaluationView
from nnexplorer.tui.widgets.views.inside import InsideView

INSIDE_VIEWS = ("inside", "evaluation", "boundary")
GRID_NOTE = "A grid search computes no layer statistics or decision regions (train runs do)."
NO_STATS = "This run recorded no layer statistics (fit.diagnostics = false)."
NO_BOUNDARY = "No decision regions: they are drawn for classifiers with two input features."
TRAINING = "Layer statistics appear here after the first epoch."

__all__ = [
    "INSIDE_VIEWS",
    "BoundaryView",
    "EvaluationView",
    "InsideView",
    "feed_views",
    "show_record",
]


def _views(root: DOMNode) -> tuple[InsideView, EvaluationView, BoundaryView]:
    return root.query_one(InsideView), root.query_one(EvaluationView), root.query_one(BoundaryView)


def feed_views(root: DOMNode, event: Event, run_dir: str | Path | None) -> None:
    """Apply one engine event of the active run to the Inside, Evaluation and Boundary views."""
    if not isinstance(event, RunStarted | LayerStats | DecisionBoundary | RunFinished):
        return
    inside, evaluation, boundary = _views(root)
    if isinstance(event, RunStarted):
        grid = event.mode == "grid"
        inside.reset(GRID_NOTE if grid else TRAINING)
        evaluation.reset()
        boundary.reset(GRID_NOTE if grid else NO_BOUNDARY)
    elif isinstance(event, LayerStats):
        if event.candidate is None and event.fold is None:
            inside.add_stats(event)
    elif isinstance(event, DecisionBoundary):
        if event.candidate is None and event.fold is None:
            boundary.show(event)
    else:
        evaluation.show_summary(event.summary, run_dir)
        if not inside.history and (event.summary or {}).get("mode", "train") == "train":
            inside.reset(NO_STATS)


def show_record(root: DOMNode, run_dir: str | Path) -> None:
    """Load the diagnostics recorded in ``run_dir`` (a past run) into the three views."""
    from nnexplorer.core.diagnostics import read_boundary, read_layer_stats, read_misclassified
    from nnexplorer.core.runs import read_summary

    inside, evaluation, boundary = _views(root)
    stats = read_layer_stats(run_dir)
    inside.show_history(stats, NO_STATS)
    summary = read_summary(run_dir)
    evaluation.show_record(summary, read_misclassified(run_dir))
    recorded = read_boundary(run_dir)
    if recorded is None:
        boundary.reset(NO_BOUNDARY)
    else:
        boundary.reset()
        boundary.show(recorded)
