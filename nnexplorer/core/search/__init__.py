"""Grid search: scikit-learn's GridSearchCV (or halving / randomized) over a scikeras estimator.

:func:`grid_search` is the one entry point (see :mod:`._session`); scikeras stays behind this
door. Inside: :mod:`._state` (the search object and its run), :mod:`._space` (grid keys, the
parameter grid, workers), :mod:`._estimator` (the scikeras subclasses), :mod:`._fit` (one fit's
identity, file and scoring), :mod:`._journal` (finished fits, event files, the stop flag) and
:mod:`._records` (grid.csv); the fits' lines reach this process through :mod:`._transport` and
:mod:`._collector` (local files) or :mod:`._dask` and :mod:`._dask_feed` (a Dask cluster).
"""

from nnexplorer.core.search._dask import (
    SchedulerUnreachable,
    check_scheduler,
    scheduler_address,
)
from nnexplorer.core.search._journal import read_journal, request_stop, stop_requested
from nnexplorer.core.search._records import read_grid_csv
from nnexplorer.core.search._session import SearchResult, grid_search
from nnexplorer.core.search._space import default_scoring

__all__ = [
    "SchedulerUnreachable",
    "SearchResult",
    "check_scheduler",
    "default_scoring",
    "grid_search",
    "read_grid_csv",
    "read_journal",
    "request_stop",
    "scheduler_address",
    "stop_requested",
]
