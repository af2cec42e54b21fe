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

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Self, TypeVar

from nnexplorer.core.events import (
    BatchProgress,
    CandidateFinished,
    CandidateStarted,
    EpochEnded,
    Event,
    RunFinished,
    RunStarted,
)
from nnexplorer.core.formatting import finite, lower_is_better, main_metric

REFIT = -1  # a candidate's fit on the whole training split (fold None): a grid's refit
ETA_WINDOW = 5  # epochs whose mean duration predicts the next ones
LIVE = ("queued", "starting", "running")

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
    """One grid candidate: its parameters, a fit per fold (and its refit), the aggregate."""

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


@dataclass(kw_only=True)
class RunProgress:
    """One run (train or grid) as its events tell it; see the module docstring."""

    mode: str = "train"
    status: str = "starting"  # queued, starting, running, then the run_finished status
    name: str = ""
    run_id: str = ""
    run_dir: str = ""
    device: str = ""
    n_params: int = 0
    versions: dict[str, str] = field(default_factory=dict)
    epochs_planned: int = 0
    n_candidates: int = 0
    n_folds: int = 0
    started: float | None = None  # unix time the run began (default: its first event's)
    last_time: float | None = None  # the latest event's time
    ended: float | None = None
    fit: FitProgress = field(default_factory=FitProgress)  # a train run's fit
    candidates: dict[int, CandidateProgress] = field(default_factory=dict)
    active: tuple[int, int] | None = None  # (candidate, fold or REFIT) that trained last
    message: str = ""
    summary: dict[str, Any] = field(default_factory=dict)
    test_metrics: dict[str, Any] = field(default_factory=dict)
    best_params: dict[str, Any] | None = None
    best_score: float | None = None

    # ------------------------------------------------------------------ folding events

    def apply(self, event: Event) -> None:
        """Update from one engine event (unknown event types only move the clock)."""
        if self.started is None:
            self.started = event.time
        if self.last_time is None or event.time > self.last_time:
            self.last_time = event.time
        handler = getattr(self, f"_on_{event.type}", None)
        if handler is not None:
            handler(event)

    def extend(self, events: Iterable[Event]) -> Self:
        """Apply each event in turn; returns self."""
        for event in events:
            self.apply(event)
        return self

    def _on_run_started(self, event: RunStarted) -> None:
        if self.status in ("queued", "starting"):
            self.status = "running"
        self.mode = event.mode or self.mode
        self.run_id = event.run_id or self.run_id
        self.run_dir = event.run_dir or self.run_dir
        self.device = event.device or self.device
        self.n_params = event.n_params or self.n_params
        self.versions = dict(event.versions) or self.versions
        self.n_candidates = event.n_candidates or self.n_candidates
        self.n_folds = event.n_folds or self.n_folds
        self.name = self.name or str(event.spec.get("name") or "")
        self.epochs_planned = self.epochs_planned or int(event.spec.get("epochs") or 0)

    def _on_epoch_ended(self, event: EpochEnded) -> None:
        self._fit_of(event.candidate, event.fold, activate=True).add_epoch(event)

    def _on_batch_progress(self, event: BatchProgress) -> None:
        self._fit_of(event.candidate, event.fold, activate=False).add_batch(event)

    def _on_candidate_started(self, event: CandidateStarted) -> None:
        self.n_candidates = max(self.n_candidates, event.n_candidates)
        self.n_folds = max(self.n_folds, event.n_folds)
        cand = self.candidate(event.candidate, event.params)
        cand.n_folds = event.n_folds or cand.n_folds or self.n_folds
        fit = self._fit_of(event.candidate, event.fold, activate=True)
        fit.started = event.time if fit.started is None else fit.started

    def _on_candidate_finished(self, event: CandidateFinished) -> None:
        cand = self.candidate(event.candidate, event.params)
        cand.n_folds = cand.n_folds or self.n_folds
        if event.fold is None:
            cand.set_aggregate(event)
        else:
            cand.add_fold(event)

    def _on_run_finished(self, event: RunFinished) -> None:
        summary = dict(event.summary or {})
        self.summary = summary
        self.message = event.message
        self.test_metrics = dict(summary.get("test_metrics") or {})
        self.best_params = summary.get("best_params") or self.best_params
        self.best_score = finite(summary.get("best_score"))
        self.device = str(summary.get("device") or self.device)
        self.close(event.status, event.time)

    def close(self, status: str, time: float | None = None) -> None:
        """End the run with ``status``: fits and candidates still under way end with it."""
        self.status = status
        self.ended = time if time is not None else self.last_time
        leftover = status if status != "completed" else "unfinished"
        for fit in self.fits():
            if fit.running:
                whole = fit.candidate is None or fit.fold is None
                fit.finish(status if whole else leftover, self.ended)
        for cand in self.candidates.values():
            if not cand.finished:
                cand.status = leftover

    def candidate(self, index: int, params: dict[str, Any] | None = None) -> CandidateProgress:
        """Candidate ``index`` (created on first sight)."""
        cand = self.candidates.get(index)
        if cand is None:
            cand = self.candidates[index] = CandidateProgress(index, dict(params or {}))
        elif params and not cand.params:
            cand.params = dict(params)
        return cand

    def _fit_of(self, candidate: int | None, fold: int | None, *, activate: bool) -> FitProgress:
        if candidate is None:
            return self.fit
        cand = self.candidate(candidate)
        fit = cand.fit(fold)
        if activate:
            key = REFIT if fold is None else fold
            cand.last_fold = key
            self.active = (candidate, key)
        return fit

    # ------------------------------------------------------------------ reading

    @property
    def running(self) -> bool:
        """True until run_finished arrives."""
        return self.status in LIVE

    @property
    def history(self) -> History:
        """A train run's epochs (metrics per epoch)."""
        return self.fit.history

    def fits(self) -> list[FitProgress]:
        """Every fit: the train run's, then each candidate's by candidate and fold."""
        out = [self.fit] if self.fit.history or self.fit.batch or self.mode == "train" else []
        for index in sorted(self.candidates):
            fits = self.candidates[index].fits
            out.extend(fits[key] for key in sorted(fits, key=lambda k: (k == REFIT, k)))
        return out

    def current(self) -> FitProgress:
        """The fit that trained last (a train run's only fit)."""
        if self.active is not None:
            cand = self.candidates.get(self.active[0])
            if cand is not None and self.active[1] in cand.fits:
                return cand.fits[self.active[1]]
        return self.fit

    @property
    def epoch(self) -> int:
        """Completed epochs of the current fit."""
        return self.current().epoch

    @property
    def epochs(self) -> int:
        """Planned epochs of the current fit (0 while unknown)."""
        return self.current().epochs

    def running_fits(self) -> list[FitProgress]:
        """A grid's fits under way, by candidate and fold (the refit last)."""
        return [f for f in self.fits() if f.candidate is not None and f.running]

    @property
    def elapsed(self) -> float:
        """Seconds the run has taken: the summary's wall time once it ended, else by its events."""
        if not self.running:
            wall = finite(self.summary.get("wall_seconds"))
            if wall is not None:
                return wall
        end = self.ended if self.ended is not None else self.last_time
        if self.started is None or end is None:
            return 0.0
        return max(0.0, end - self.started)

    def seconds_per_epoch(self) -> float | None:
        """Seconds per epoch of the current fit."""
        return self.current().seconds_per_epoch()

    def eta(self) -> float | None:
        """Seconds left: a train run's remaining epochs, a grid's remaining fits."""
        return self.grid_eta() if self.mode == "grid" else self.fit.eta()

    def fits_total(self) -> int:
        """Cross-validation fits of a grid (candidates x folds); 0 while unknown."""
        return self.n_candidates * max(1, self.n_folds)

    def fits_done(self) -> int:
        """Cross-validation fits finished so far."""
        return sum(
            max(c.folds_done, c.n_folds if c.aggregated else 0) for c in self.candidates.values()
        )

    def grid_eta(self) -> float | None:
        """Seconds left for a grid's remaining fits, from the pace of the fits timed so far.

        The pace is the time from the first timed fit's start to the last one's end over the
        number of timed fits (so parallel fits count), as of the last fit that ended.
        """
        timed = [
            f
            for c in self.candidates.values()
            for key, f in c.fits.items()
            if key != REFIT and f.started is not None and f.ended is not None
        ]
        total = self.fits_total()
        if not timed or not total:
            return None
        span = max(f.ended or 0.0 for f in timed) - min(f.started or 0.0 for f in timed)
        return max(0.0, span) / len(timed) * max(0, total - self.fits_done())

    def ranked(self) -> list[CandidateProgress]:
        """Candidates with a score, best first (scikit-learn scores: higher is better)."""
        scored = [c for c in self.candidates.values() if c.mean is not None]
        return sorted(scored, key=lambda c: (-(c.mean or 0.0), c.index))

    def rank_of(self, index: int) -> int | None:
        """1-based rank of a candidate among the scored ones."""
        for rank, cand in enumerate(self.ranked(), start=1):
            if cand.index == index:
                return rank
        return None

    def best_candidate_params(self) -> dict[str, Any] | None:
        """The best parameters: the engine's when it reported them, else the top rank."""
        if self.best_params:
            return dict(self.best_params)
        ranked = self.ranked()
        return dict(ranked[0].params) if ranked else None

    def top_score(self) -> float | None:
        """The best cross-validation score: the engine's, else the top rank's mean."""
        if self.best_score is not None:
            return self.best_score
        ranked = self.ranked()
        return ranked[0].mean if ranked else None

    def metric(self) -> str | None:
        """The main metric of this run (``accuracy``, ``mae``, ...)."""
        return main_metric(self.history or self._any_candidate_history())

    def _any_candidate_history(self) -> History:
        for cand in self.candidates.values():
            history = cand.latest_history()
            if history:
                return history
        return []

    def best_val(self) -> tuple[str, float] | None:
        """The best validation value of the main metric (or of the loss) over the epochs."""
        metric = self.metric()
        for name in ([f"val_{metric}"] if metric else []) + ["val_loss"]:
            values = [v for row in self.history if (v := finite(row.get(name))) is not None]
            if values:
                return name, (min(values) if lower_is_better(name) else max(values))
        return None


P = TypeVar("P", bound=RunProgress)


def restore(progress: P, record: Any, *, live: bool = False) -> P:
    """Fill ``progress`` from a run folder read by ``core.runs.load_run``.

    Applies its events; a run without epoch events gets its history from history.csv. Unless
    ``live`` (a follower will apply the events still to come), a run whose events never say
    how it ended takes the summary's status, else ``unfinished``.
    """
    progress.extend(record.events)
    if not progress.history and not progress.candidates:
        skip = ("epoch", "candidate", "fold")
        rows = [{k: v for k, v in row.items() if k not in skip} for row in record.history]
        progress.fit.history.extend(rows)
        progress.fit.epoch = len(progress.fit.history)
    if progress.running and not live:
        summary = record.summary or {}
        if summary.get("status"):
            progress.apply(
                RunFinished(
                    run_id=progress.run_id,
                    time=progress.last_time or 0.0,
                    status=str(summary["status"]),
                    summary=summary,
                )
            )
        else:
            progress.close("unfinished")
    return progress
