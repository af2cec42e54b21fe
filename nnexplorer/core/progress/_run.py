"""A run's progress: the reducer that folds a run's events (see the package docstring)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Self, TypeVar, cast

from nnexplorer.core.events import (
    LOSS_EXPLODING,
    STATUSES,
    BatchProgress,
    CandidateFinished,
    CandidateStarted,
    EpochEnded,
    Event,
    LogEvent,
    RunFinished,
    RunQueued,
    RunStarted,
    RunStatus,
    RunSummary,
    SlotAcquired,
)
from nnexplorer.core.formatting import finite, lower_is_better, main_metric
from nnexplorer.core.progress._fits import REFIT, CandidateProgress, FitProgress, History

LIVE = ("queued", "starting", "running")


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
    n_candidates: int = 0  # a grid's candidates, a sweep's variants
    n_folds: int = 0
    scoring: str = ""
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
    warning: str = ""  # a condition worth the status line (a loss that blew up)
    ahead: int = 0  # a queued run: runs queued before it
    slot: int | None = None  # a detached run's slot (0-based) once it has one
    gpu: str = ""  # the GPU its slot is pinned to (CUDA_VISIBLE_DEVICES), "" without

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
        self.scoring = event.scoring or self.scoring
        self.name = self.name or str(event.spec.get("name") or "")
        self.epochs_planned = self.epochs_planned or int(event.spec.get("epochs") or 0)

    def _on_run_queued(self, event: RunQueued) -> None:
        if self.status in ("queued", "starting"):
            self.status = "queued"
        self.ahead = event.ahead

    def _on_slot_acquired(self, event: SlotAcquired) -> None:
        if self.status == "queued":
            self.status = "starting"
        self.slot, self.gpu, self.ahead = event.slot, event.gpu, 0

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
        if event.fold is None and self.mode == "sweep":
            cand.set_variant(event)
        elif event.fold is None:
            cand.set_aggregate(event)
        else:
            cand.add_fold(event)

    def _on_log(self, event: LogEvent) -> None:
        if event.code == LOSS_EXPLODING:
            self.warning = "the loss is exploding (see the log)"

    def _on_run_finished(self, event: RunFinished) -> None:
        summary: dict[str, Any] = {**(event.summary or {})}
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
        """Seconds left: a train run's remaining epochs, a grid's or a sweep's remaining fits."""
        return self.grid_eta() if self.mode in ("grid", "sweep") else self.fit.eta()

    def fits_total(self) -> int:
        """Cross-validation fits of a grid (candidates x folds), a sweep's variants; 0: unknown."""
        return self.n_candidates * max(1, self.n_folds)

    def fits_done(self) -> int:
        """Cross-validation fits (a sweep: variants) finished so far."""
        return sum(
            max(c.folds_done, max(1, c.n_folds) if c.aggregated else 0)
            for c in self.candidates.values()
        )

    def grid_eta(self) -> float | None:
        """Seconds left for a grid's (or a sweep's) remaining fits, from the pace so far.

        The pace is the time from the first timed fit's start to the last one's end over the
        number of timed fits (so parallel fits count), as of the last fit that ended. A sweep's
        fits are its variants' (under :data:`REFIT`); a grid's refit is not one of its fits.
        """
        sweep = self.mode == "sweep"
        timed = [
            f
            for c in self.candidates.values()
            for key, f in c.fits.items()
            if (key == REFIT) == sweep and f.started is not None and f.ended is not None
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
        status = summary.get("status")
        if status in STATUSES:
            progress.apply(
                RunFinished(
                    run_id=progress.run_id,
                    time=progress.last_time or 0.0,
                    status=cast(RunStatus, status),
                    summary=cast(RunSummary, summary),
                )
            )
        else:
            progress.close("unfinished")
    return progress
