"""A sweep's diagnostics kept per variant, so that the Inside and Boundary views can show any one.

Every variant of a sweep reports ``layer_stats`` and ``decision_boundary`` events carrying its
index as ``candidate``. :class:`VariantDiagnostics` keeps them by variant and says which variant
the views show: the one chosen in the Results view, else the one that reported last (the one
training). Pure data: the views draw from it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from nnexplorer.core.events import DecisionBoundary, LayerStats


def variant_caption(index: int, params: dict[str, Any] | None = None) -> str:
    """``variant 2: setup=L2`` (1-based, as records number variants)."""
    values = ", ".join(f"{k}={v}" for k, v in (params or {}).items())
    return f"variant {index + 1}" + (f": {values}" if values else "")


@dataclass
class VariantDiagnostics:
    """Layer statistics and the latest decision boundary of each variant of one sweep."""

    stats: dict[int, list[LayerStats]] = field(default_factory=dict)
    boundaries: dict[int, DecisionBoundary] = field(default_factory=dict)
    chosen: int | None = None  # picked in the Results view; None: follow the training variant
    latest: int | None = None  # the variant that reported last

    @property
    def shown(self) -> int | None:
        """The variant the views show."""
        return self.chosen if self.chosen is not None else self.latest

    def add(self, event: LayerStats | DecisionBoundary) -> bool:
        """Keep ``event``; True when it belongs to the variant shown (the views redraw)."""
        index = event.candidate
        if index is None:
            return False
        if isinstance(event, LayerStats):
            self.stats.setdefault(index, []).append(event)
        else:
            self.boundaries[index] = event
        self.latest = index
        return index == self.shown

    def history(self, index: int | None = None) -> list[LayerStats]:
        """The statistics of variant ``index`` (default: the one shown), one event per epoch."""
        index = self.shown if index is None else index
        return list(self.stats.get(index, [])) if index is not None else []

    def boundary(self, index: int | None = None) -> DecisionBoundary | None:
        """The latest decision boundary of variant ``index`` (default: the one shown)."""
        index = self.shown if index is None else index
        return self.boundaries.get(index) if index is not None else None
