"""Run progress: engine events folded into the state a front-end shows (UI-free).

:class:`RunProgress` is a reducer: call :meth:`RunProgress.apply` with each engine event, in
order, and read what to show: each fit's epochs, batches and history, seconds per epoch and the
ETA, a grid's fits done of the total and its ETA, the candidates ranked by score, the best
parameters. The command line's Rich renderer and the explorer's widgets both draw from it.

Times come from the events (``Event.time``, ``EpochEnded.seconds``), never from a clock read
here, so a run rebuilt from its ``events.jsonl`` (a runs browser, another terminal attaching to a
live run) shows exactly what a follower saw live.

Extending it: a new event type gets an ``_on_<type>`` method (unknown types are ignored, so an
older reader never breaks on a newer worker); what belongs to one fit (per-layer diagnostics)
goes on :class:`FitProgress`; the variants of a sweep are candidates whose whole-split fit (key
:data:`REFIT`) is their training; an overlay of several runs is several RunProgress objects.
"""

from nnexplorer.core.progress._fits import (
    ETA_WINDOW,
    REFIT,
    CandidateProgress,
    FitProgress,
    History,
    seconds_per_epoch,
)
from nnexplorer.core.progress._run import LIVE, RunProgress, restore

__all__ = [
    "ETA_WINDOW",
    "LIVE",
    "REFIT",
    "CandidateProgress",
    "FitProgress",
    "History",
    "RunProgress",
    "restore",
    "seconds_per_epoch",
]
