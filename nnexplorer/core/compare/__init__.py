"""Comparing runs (UI-free): which settings differ, how each run did, their curves.

``nnexplorer compare RUN...`` and the explorer's comparison screen (F3, space to select, ``c``)
both build a :class:`Comparison` from :func:`load_entries`: a train run is one entry, a sweep
or grid run one entry per variant or candidate. Inside: :mod:`._entries` (reading runs),
:mod:`._table` (the table, curves and JSON).
"""

from nnexplorer.core.compare._entries import (
    Entry,
    assign_labels,
    flatten,
    load_entries,
    resolve_run,
    run_entries,
    settings_of,
)
from nnexplorer.core.compare._table import (
    Column,
    Comparison,
    Curve,
    choose_metric,
    differing_settings,
    short_setting,
)

__all__ = [
    "Column",
    "Comparison",
    "Curve",
    "Entry",
    "assign_labels",
    "choose_metric",
    "differing_settings",
    "flatten",
    "load_entries",
    "resolve_run",
    "run_entries",
    "settings_of",
    "short_setting",
]
