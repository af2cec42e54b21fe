"""What the explorer remembers about the runs of this session, built from engine events.

Pure data (no Textual): a :class:`RunView` per run applies each event it receives, and the
widgets draw from it. Grid runs keep one :class:`CandidateView` per candidate.
"""

from __future__ import annotations

import math
import statistics
import time
from dataclasses import dataclass, field
from typing import Any

from nnexplorer.core.events import (
    BatchProgress,
    CandidateFinished,
    CandidateStarted,
    EpochEnded,
    Event,
    LogEvent,
    RunFinished,
    RunStarted,
)
from nnexplorer.core.formatting import fmt_duration as format_duration

# Words in a metric name that mean "lower is better".
REFIT = -1  # the "fold" of the best candidate's refit on the whole training split
_LOWER_IS_BETTER = ("loss", "error", "mae", "mse", "rmse", "mape", "crossentropy", "hinge")
STATE_WORDS = {
    "completed": "Done",
    "diverged": "Diverged",
    "cancelled": "Stopped",
    "failed": "Failed",
}


def lower_is_better(metric: str) -> bool:
    """Whether a smaller value of ``metric`` is better (losses and errors)."""
    return any(word in metric for word in _LOWER_IS_BETTER)


def finite(value: Any) -> float | None:
    """``value`` as a float when it is a finite number, else None."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    value = float(value)
    return value if math.isfinite(value) else None


_NOT_METRICS = ("epoch", "lr", "penalty")  # history columns that are not a model metric


def main_metric(history: list[dict[str, float]]) -> str | None:
    """The first metric besides the loss (``accuracy``, ``mae``, ...), or None."""
    for row in history:
        for key in row:
            if key != "loss" and not key.startswith("val_") and key not in _NOT_METRICS:
                return key
    return None


ABBREVIATIONS = {
    "accuracy": "acc",
    "binary_accuracy": "acc",
    "categorical_accuracy": "acc",
    "sparse_categorical_accuracy": "acc",
    "mean_absolute_error": "mae",
    "mean_squared_error": "mse",
    "root_mean_squared_error": "rmse",
}


def abbrev(metric: str) -> str:
    """A short name for a metric in a table cell (``accuracy`` -> ``acc``)."""
    return ABBREVIATIONS.get(metric, metric)


def fmt_number(value: Any) -> str:
    """A compact number for tables: 4 significant digits, ``-`` when missing."""
    number = finite(value)
    if number is None:
        return "nan" if isinstance(value, float) else "-"
    return f"{number:.4g}"


def fmt_duration(seconds: float | None) -> str:
    """``mm:ss`` (or ``h:mm:ss``) for a number of seconds, as the status line shows it."""
    return format_duration(seconds, pad_minutes=True)


def short_key(key: str) -> str:
    """A grid key without scikeras prefixes; learning rates become ``lr``."""
    name = key.removeprefix("optimizer__").removeprefix("model__").removeprefix("compile.")
    return "lr" if name == "learning_rate" else name


def short_params(params: dict[str, Any]) -> str:
    """Grid parameters as ``lr=0.01 layers.0.units=64``, with scikeras prefixes shortened."""
    parts = []
    for key, value in params.items():
        name = short_key(key)
        parts.append(f"{name}={value:g}" if isinstance(value, float) else f"{name}={value}")
    return " ".join(parts)


@dataclass
class CandidateView:
    """One grid candidate: its parameters, each fold's curve and score, and the aggregate."""

    index: int
    params: dict[str, Any] = field(default_factory=dict)
    n_folds: int = 0
    histories: dict[int, list[dict[str, float]]] = field(default_factory=dict)
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

    def add_epoch(self, fold: int, metrics: dict[str, float]) -> None:
        """Append an epoch of ``fold``'s fit (:data:`REFIT`: the refit on all the data)."""
        self.histories.setdefault(fold, []).append(dict(metrics))
        self.last_fold = fold

    def add_fold(self, event: CandidateFinished) -> None:
        """Record one fold's result; aggregate when every fold is in."""
        fold = event.fold if event.fold is not None else 0
        self.fold_scores[fold] = finite(event.score)
        self.fold_seconds[fold] = event.seconds
        if event.status != "completed" and event.reason:
            self.reason = event.reason
        if event.status != "completed" and self.status == "running":
            self.status = event.status
        if self.n_folds and self.folds_done >= self.n_folds and not self.aggregated:
            self._aggregate_folds()

    def set_aggregate(self, event: CandidateFinished) -> None:
        """The engine's own aggregate for this candidate (mean score over folds)."""
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

    def latest_history(self) -> list[dict[str, float]]:
        """The curve of the fold that trained last."""
        return self.histories.get(self.last_fold, [])


@dataclass
class RunView:
    """One run of the session (train or grid), updated event by event."""

    key: str
    name: str
    mode: str = "train"
    settings: str = ""
    epochs_planned: int = 0
    status: str = "starting"
    run_id: str = ""
    run_dir: str = ""
    device: str = ""
    n_params: int = 0
    history: list[dict[str, float]] = field(default_factory=list)
    candidates: dict[int, CandidateView] = field(default_factory=dict)
    n_candidates: int = 0
    n_folds: int = 0
    grid_params: dict[str, list[Any]] = field(default_factory=dict)
    test_metrics: dict[str, Any] = field(default_factory=dict)
    best_params: dict[str, Any] | None = None
    best_score: float | None = None
    message: str = ""
    started: float = field(default_factory=time.monotonic)
    seconds: float = 0.0
    epoch_seconds: list[float] = field(default_factory=list)
    epoch: int = 0
    epochs: int = 0
    batch: tuple[int, int, int] = (0, 0, 0)  # epoch, batch, batches of the epoch in progress
    active: tuple[int, int] | None = None

    @property
    def running(self) -> bool:
        """True until run_finished arrives."""
        return self.status in ("starting", "running")

    def apply(self, event: Event) -> None:
        """Update from one engine event."""
        if not isinstance(event, LogEvent) and self.running:
            self.seconds = time.monotonic() - self.started
        if isinstance(event, RunStarted):
            self._started(event)
        elif isinstance(event, EpochEnded):
            self._epoch(event)
        elif isinstance(event, BatchProgress):
            self.batch = (event.epoch, event.batch, event.batches)
        elif isinstance(event, CandidateStarted):
            cand = self.candidate(event.candidate, event.params)
            cand.n_folds = event.n_folds or cand.n_folds or self.n_folds
            self.n_candidates = max(self.n_candidates, event.n_candidates)
            self.n_folds = max(self.n_folds, event.n_folds)
            self.active = (event.candidate, event.fold or 0)
        elif isinstance(event, CandidateFinished):
            cand = self.candidate(event.candidate, event.params)
            cand.n_folds = cand.n_folds or self.n_folds
            if event.fold is None:
                cand.set_aggregate(event)
            else:
                cand.add_fold(event)
        elif isinstance(event, RunFinished):
            self._finished(event)

    def candidate(self, index: int, params: dict[str, Any] | None = None) -> CandidateView:
        """The view of candidate ``index`` (created on first sight)."""
        cand = self.candidates.get(index)
        if cand is None:
            cand = self.candidates[index] = CandidateView(index, dict(params or {}))
        elif params and not cand.params:
            cand.params = dict(params)
        return cand

    def _started(self, event: RunStarted) -> None:
        self.status = "running"
        self.run_id = event.run_id or self.run_id
        self.run_dir = event.run_dir or self.run_dir
        self.device = event.device or self.device
        self.n_params = event.n_params
        self.mode = event.mode or self.mode
        self.n_candidates = event.n_candidates or self.n_candidates
        self.n_folds = event.n_folds or self.n_folds

    def _epoch(self, event: EpochEnded) -> None:
        self.epoch, self.epochs = event.epoch, event.epochs
        self.batch = (0, 0, 0)
        if event.seconds:
            self.epoch_seconds.append(event.seconds)
        if event.candidate is None:
            self.history.append(dict(event.metrics))
        else:
            fold = REFIT if event.fold is None else event.fold
            self.candidate(event.candidate).add_epoch(fold, event.metrics)
            self.active = (event.candidate, fold)

    def _finished(self, event: RunFinished) -> None:
        summary = event.summary or {}
        self.status = event.status
        self.message = event.message
        self.test_metrics = dict(summary.get("test_metrics") or {})
        self.best_params = summary.get("best_params") or self.best_params
        self.best_score = finite(summary.get("best_score"))
        wall = finite(summary.get("wall_seconds"))
        self.seconds = wall if wall is not None else time.monotonic() - self.started
        self.device = str(summary.get("device") or self.device)

    # ------------------------------------------------------------------ derived values

    def metric(self) -> str | None:
        """The main metric of this run (``accuracy``, ``mae``, ...)."""
        return main_metric(self.history or self._any_candidate_history())

    def _any_candidate_history(self) -> list[dict[str, float]]:
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

    def ranked(self) -> list[CandidateView]:
        """Finished candidates with a score, best first."""
        scored = [c for c in self.candidates.values() if c.mean is not None]
        return sorted(scored, key=lambda c: -(c.mean or 0.0))

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

    def fits_done(self) -> int:
        """Grid fits (candidate x fold) finished so far."""
        return sum(
            max(c.folds_done, c.n_folds if c.aggregated else 0) for c in self.candidates.values()
        )

    def state_line(self) -> str:
        """The status-bar state: Training epoch 7/50, 1.2 s/epoch, ETA 00:51 / Done / ..."""
        if not self.running:
            return STATE_WORDS.get(self.status, self.status.capitalize())
        if self.status == "starting":
            return "Starting worker..."
        if self.mode == "grid":
            return self._grid_state()
        epoch, batch, batches = self.batch
        if not self.epochs and not batch:
            return "Training: loading data and building the model..."
        per_epoch = statistics.fmean(self.epoch_seconds[-5:]) if self.epoch_seconds else None
        of = f"/{self.epochs or self.epochs_planned}"
        text = f"Training epoch {epoch if batch else self.epoch}{of}"
        if batch:
            text += f" (batch {batch}/{batches})"
        if per_epoch is not None:
            eta = per_epoch * max(self.epochs - self.epoch, 0)
            text += f", {per_epoch:.1f} s/epoch, ETA {fmt_duration(eta)}"
        return text

    def _grid_state(self) -> str:
        total = self.n_candidates * max(self.n_folds, 1)
        done = self.fits_done()
        text = f"Grid search: fits {done}/{total or '?'}"
        if self.active is not None:
            cand, fold = self.active
            if fold == REFIT:
                text += f", refitting candidate {cand + 1} on all the training data"
            else:
                text += f", candidate {cand + 1}/{self.n_candidates or '?'}"
            if self.n_folds and fold != REFIT:
                text += f" fold {fold + 1}/{self.n_folds}"
            if self.epochs:
                text += f" epoch {self.epoch}/{self.epochs}"
        if done and total:
            elapsed = time.monotonic() - self.started
            text += f", ETA {fmt_duration(elapsed / done * (total - done))}"
        return text


def settings_text(spec: Any) -> str:
    """Key settings of an ExperimentSpec: ``128-64 relu | drop 0.2 | adam lr=0.001 | bs 32``."""
    dense = [layer for layer in spec.layers if layer.type == "dense"]
    units = "-".join(str(layer.units) for layer in dense) or "no hidden layer"
    activations = "/".join(dict.fromkeys(layer.activation for layer in dense))
    parts = [f"{units} {activations}".strip()]
    rates = [layer.rate for layer in spec.layers if layer.type == "dropout"]
    if rates:
        parts.append("drop " + "/".join(f"{rate:g}" for rate in rates))
    parts.append(f"{spec.compile.optimizer} lr={spec.compile.learning_rate:g}")
    parts.append(f"bs {spec.fit.batch_size}")
    return " | ".join(parts)


def run_view_from_record(record: Any) -> RunView:
    """A RunView rebuilt from a run folder read by ``core.runs.load_run``."""
    spec = record.spec
    view = RunView(
        key=str(record.run_dir),
        name=spec.experiment.name,
        mode=record.mode,
        settings=settings_text(spec),
        epochs_planned=spec.fit.epochs,
        grid_params=dict(spec.grid.params) if spec.grid else {},
    )
    for event in record.events:
        view.apply(event)
    if not view.history and not view.candidates:
        skip = ("epoch", "candidate", "fold")
        view.history = [{k: v for k, v in row.items() if k not in skip} for row in record.history]
    if view.running:
        summary = record.summary or {}
        view.status = str(summary.get("status") or "unfinished")
    return view
