"""One fit's progress (epochs, batches, pace, ETA) and one grid candidate's (folds, aggregate)."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from nnexplorer.core.events import BatchProgress, CandidateFinished, EpochEnded
from nnexplorer.core.formatting import finite

REFIT = -1  # a candidate's fit on the whole training split (fold None): a refit, a sweep variant
ETA_WINDOW = 5  # epochs whose mean duration predicts the next ones

History = list[dict[str, float]]


def seconds_per_epoch(seconds: Sequence[float], window: int = ETA_WINDOW) -> float | None:
    """Mean duration of the last ``window`` epochs of one fit, None before the first.

    The first epoch also traces and compiles the graph, so it counts only while it is the only
    one. Unknown durations (0, NaN) are left out.
    """
    known = [s if s > 0 and math.isfinite(s) else None for s in seconds]
    later = [s for s in known[1:] if s is not None][-window:]
    if later:
        return statistics.fmean(later)
    return known[0] if known else None


@dataclass
class FitProgress:
    """One model fit: a train run, a grid candidate on one fold, or a candidate's refit."""

    candidate: int | None = None
    fold: int | None = None
    epoch: int = 0  # epochs completed
    epochs: int = 0  # epochs planned (0: not known yet)
    history: History = field(default_factory=list)
    epoch_seconds: list[float] = field(default_factory=list)
    batch_epoch: int = 0  # the epoch in progress, while batches are reported
    batch: int = 0
    batches: int = 0
    status: str = "running"
    started: float | None = None  # event times (unix seconds)
    ended: float | None = None
    score: float | None = None
    seconds: float = 0.0  # fit time the engine reported
    reason: str = ""

    @property
    def metrics(self) -> dict[str, float]:
        """The metrics of the last completed epoch."""
        return self.history[-1] if self.history else {}

    @property
    def running(self) -> bool:
        """True until the fit has a final status."""
        return self.status == "running"

    def add_epoch(self, event: EpochEnded) -> None:
        """Record a completed epoch."""
        self.epoch, self.epochs = event.epoch, event.epochs or self.epochs
        self.history.append(dict(event.metrics))
        self.epoch_seconds.append(event.seconds)
        self.batch_epoch = self.batch = self.batches = 0

    def add_batch(self, event: BatchProgress) -> None:
        """Record progress inside the epoch under way."""
        self.batch_epoch, self.batch, self.batches = event.epoch, event.batch, event.batches

    def finish(self, status: str, time: float | None = None) -> None:
        """Give the fit its final status."""
        self.status = status
        self.ended = time if self.ended is None else self.ended

    def seconds_per_epoch(self) -> float | None:
        """See :func:`seconds_per_epoch`."""
        return seconds_per_epoch(self.epoch_seconds)

    def eta(self) -> float | None:
        """Seconds left for the remaining epochs, as of the last epoch; None when unknown."""
        per = self.seconds_per_epoch()
        if per is None or not self.epochs:
            return None
        return per * max(0, self.epochs - self.epoch)

    def epochs_done(self) -> float:
        """Completed epochs plus the finished share of the epoch under way."""
        if self.batches and self.batch_epoch == self.epoch + 1:
            return self.epoch + min(1.0, self.batch / self.batches)
        return float(self.epoch)


@dataclass
class CandidateProgress:
    """One grid candidate: its parameters, a fit per fold (and its refit), the aggregate.

    A sweep's variant is a candidate without folds: its training is the fit under
    :data:`REFIT`, and :meth:`set_variant` records how it ended (``mean`` is its score).
    """

    index: int
    params: dict[str, Any] = field(default_factory=dict)
    n_folds: int = 0
    fits: dict[int, FitProgress] = field(default_factory=dict)  # fold (or REFIT) -> fit
    fold_scores: dict[int, float | None] = field(default_factory=dict)
    fold_seconds: dict[int, float] = field(default_factory=dict)
    mean: float | None = None
    std: float | None = None
    fit_time: float | None = None
    status: str = "running"
    reason: str = ""
    aggregated: bool = False
    last_fold: int = 0
    final_metrics: dict[str, float] = field(default_factory=dict)  # a variant's last epoch
    test_metrics: dict[str, float] = field(default_factory=dict)  # a variant's test split
    best_epoch: int | None = None  # a variant's epoch with the best monitored value
    epochs_completed: int = 0  # a variant's epochs

    @property
    def folds_done(self) -> int:
        """How many folds have finished."""
        return len(self.fold_scores)

    @property
    def finished(self) -> bool:
        """True once the candidate has a final status."""
        return self.status != "running"

    @property
    def histories(self) -> dict[int, History]:
        """Each fit's epochs, by fold (:data:`REFIT`: the fit on the whole training split)."""
        return {fold: fit.history for fold, fit in self.fits.items()}

    def fit(self, fold: int | None) -> FitProgress:
        """The fit of ``fold`` (None: the whole-split fit), created on first sight."""
        key = REFIT if fold is None else fold
        found = self.fits.get(key)
        if found is None:
            found = self.fits[key] = FitProgress(candidate=self.index, fold=fold)
        return found

    def latest_history(self) -> History:
        """The curve of the fit that trained last."""
        fit = self.fits.get(self.last_fold)
        return fit.history if fit is not None else []

    def add_fold(self, event: CandidateFinished) -> None:
        """Record one fold's result; aggregate when every fold is in."""
        fold = event.fold if event.fold is not None else 0
        self.fold_scores[fold] = finite(event.score)
        self.fold_seconds[fold] = event.seconds
        fit = self.fit(fold)
        fit.score, fit.seconds, fit.reason = finite(event.score), event.seconds, event.reason
        fit.finish(event.status, event.time)
        if event.status != "completed":
            self.reason = event.reason or self.reason
            if self.status == "running":
                self.status = event.status
        if self.n_folds and self.folds_done >= self.n_folds and not self.aggregated:
            self._aggregate_folds()

    def set_aggregate(self, event: CandidateFinished) -> None:
        """The engine's own aggregate for this candidate (mean score over its folds)."""
        self.mean = finite(event.score)
        self.std = finite(event.std_score)
        self.fit_time = event.seconds or self._mean_seconds()
        self.status = event.status
        self.reason = event.reason or self.reason
        self.aggregated = True

    def set_variant(self, event: CandidateFinished) -> None:
        """A sweep variant ended: its score, metrics, test metrics, best epoch and status."""
        self.set_aggregate(event)
        self.final_metrics = dict(event.metrics)
        self.test_metrics = dict(event.test_metrics)
        self.best_epoch = event.best_epoch
        fit = self.fit(None)
        self.epochs_completed = event.epochs or fit.epoch
        fit.seconds, fit.reason = event.seconds, event.reason
        fit.score = finite(event.score)
        fit.finish(event.status, event.time)

    @property
    def history(self) -> History:
        """A variant's epochs (its fit on the whole training split)."""
        fit = self.fits.get(REFIT)
        return fit.history if fit is not None else []

    def _aggregate_folds(self) -> None:
        scores = [s for s in self.fold_scores.values() if s is not None]
        if len(scores) == len(self.fold_scores) and scores:
            self.mean = statistics.fmean(scores)
            self.std = statistics.pstdev(scores) if len(scores) > 1 else 0.0
        self.fit_time = self._mean_seconds()
        if self.status == "running":
            self.status = "completed" if self.mean is not None else "failed"

    def _mean_seconds(self) -> float | None:
        values = list(self.fold_seconds.values())
        return statistics.fmean(values) if values else None
