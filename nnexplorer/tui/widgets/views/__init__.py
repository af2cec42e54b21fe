"""Views of what happens inside a run: Inside (layer statistics), Evaluation, Boundary.

:func:`feed_views` is the one place engine events reach them during a run; :func:`show_record`
loads a past run's records into them. Both take the node that holds the three views (the main
screen) and find them there. A sweep's variants each report their own statistics and regions:
:class:`VariantDiagnostics` keeps them, and :func:`show_variant` shows one.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

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
from nnexplorer.tui.widgets.views.variants import VariantDiagnostics, variant_caption

INSIDE_VIEWS = ("inside", "evaluation", "boundary")
GRID_NOTE = "A grid search computes no layer statistics or decision regions (train runs do)."
NO_STATS = "This run recorded no layer statistics (fit.diagnostics = false)."
NO_BOUNDARY = "No decision regions: they are drawn for classifiers with two input features."
TRAINING = "Layer statistics appear here after the first epoch."
SWEEP_NOTE = "Each variant's layer statistics appear here as it trains."

__all__ = [
    "INSIDE_VIEWS",
    "BoundaryView",
    "EvaluationView",
    "InsideView",
    "VariantDiagnostics",
    "feed_views",
    "show_record",
    "show_variant",
]


def _views(root: DOMNode) -> tuple[InsideView, EvaluationView, BoundaryView]:
    return root.query_one(InsideView), root.query_one(EvaluationView), root.query_one(BoundaryView)


def feed_views(
    root: DOMNode,
    event: Event,
    run_dir: str | Path | None,
    variants: VariantDiagnostics | None = None,
    params: dict[int, dict[str, Any]] | None = None,
) -> None:
    """Apply one engine event of the active run to the Inside, Evaluation and Boundary views.

    ``variants`` keeps a sweep's per-variant events (``params``: each variant's values, for the
    captions); the views follow the variant it shows.
    """
    if not isinstance(event, RunStarted | LayerStats | DecisionBoundary | RunFinished):
        return
    inside, evaluation, boundary = _views(root)
    if isinstance(event, RunStarted):
        grid = event.mode == "grid"
        note = GRID_NOTE if grid else SWEEP_NOTE if event.mode == "sweep" else None
        inside.reset(note or TRAINING)
        evaluation.reset()
        boundary.reset(GRID_NOTE if grid else NO_BOUNDARY)
    elif isinstance(event, LayerStats | DecisionBoundary) and event.candidate is not None:
        if event.fold is None and variants is not None and variants.add(event):
            show_variant(root, variants, params)
    elif isinstance(event, LayerStats):
        if event.fold is None:
            inside.add_stats(event)
    elif isinstance(event, DecisionBoundary):
        if event.fold is None:
            boundary.show(event)
    else:
        evaluation.show_summary(event.summary, run_dir)
        if not inside.history and (event.summary or {}).get("mode", "train") == "train":
            inside.reset(NO_STATS)


def show_variant(
    root: DOMNode,
    variants: VariantDiagnostics,
    params: dict[int, dict[str, Any]] | None = None,
) -> None:
    """Show the statistics and regions of the variant ``variants`` shows (a sweep)."""
    index = variants.shown
    if index is None:
        return
    inside, _, boundary = _views(root)
    caption = variant_caption(index, (params or {}).get(index))
    inside.show_history(variants.history(index), SWEEP_NOTE, caption)
    found = variants.boundary(index)
    if found is not None:
        boundary.show(found, caption)
    elif boundary.event is not None:
        boundary.reset(NO_BOUNDARY)


def show_record(root: DOMNode, run_dir: str | Path) -> None:
    """Load the diagnostics recorded in ``run_dir`` (a past run) into the three views.

    A sweep shows its best variant's statistics, and its regions when the last boundary
    recorded is that variant's.
    """
    from nnexplorer.core.diagnostics import read_boundary, read_layer_stats, read_misclassified
    from nnexplorer.core.runs import read_summary

    inside, evaluation, boundary = _views(root)
    stats = read_layer_stats(run_dir)
    summary = read_summary(run_dir)
    best = (summary or {}).get("best_variant")
    index = best - 1 if isinstance(best, int) and best > 0 else None
    caption = ""
    if any(e.candidate is not None for e in stats):
        stats = [e for e in stats if e.candidate == index]
        caption = variant_caption(index) if index is not None else ""
    inside.show_history(stats, NO_STATS, caption)
    evaluation.show_record(summary, read_misclassified(run_dir))
    recorded = read_boundary(run_dir)
    if recorded is None or recorded.candidate not in (None, index):
        boundary.reset(NO_BOUNDARY)
    else:
        boundary.reset()
        boundary.show(recorded, caption)
