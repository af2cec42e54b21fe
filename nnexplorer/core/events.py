"""Engine events: what a run reports, as frozen dataclasses that round-trip through JSON.

Every event has ``type``, ``run_id`` and ``time`` (unix seconds). Training code calls an
``emit(event)`` function; the worker writes each event as one JSON line, the runner reads them
back with :func:`from_json`, and the TUI and the CLI render them.
"""

from __future__ import annotations

import json
import math
import os
import threading
import time as _time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields
from typing import (
    Any,
    ClassVar,
    Literal,
    Protocol,
    TextIO,
    TypedDict,
    cast,
    get_args,
    runtime_checkable,
)

RunStatus = Literal["completed", "diverged", "cancelled", "failed", "interrupted"]
"""How a run ended. ``interrupted`` is never recorded by a run: a follower of a detached run
(:mod:`nnexplorer.core.runs`) ends with it when the worker died without recording an end."""
Mode = Literal["train", "grid", "sweep"]
"""What a run does: train one network, search a grid (cross-validated), or sweep variants.

A sweep (``[grid] search = "sweep"``) trains every combination of ``[grid.params]`` once on the
training split, with validation curves and test metrics, like a train run per variant.
"""
STATUSES: tuple[RunStatus, ...] = get_args(RunStatus)
MODES: tuple[Mode, ...] = get_args(Mode)
SEARCH_MODES: tuple[Mode, ...] = ("grid", "sweep")
"""The modes whose run trains many networks: a grid's candidates, a sweep's variants."""

EXIT_CODE: dict[RunStatus, int] = {
    "completed": 0,
    "diverged": 1,
    "failed": 1,
    "cancelled": 130,
    "interrupted": 1,
}
"""The process exit code of a run by its status (the command line's and the worker's)."""


def exit_code(status: str) -> int:
    """:data:`EXIT_CODE` of ``status``; 1 for anything that is not a known status."""
    return EXIT_CODE.get(cast(RunStatus, status), 1)


@runtime_checkable
class Cancel(Protocol):
    """A stop request a run polls: a ``threading.Event``, or a search's stop file."""

    def is_set(self) -> bool:
        """Whether the run was asked to stop."""
        ...


class RunSummary(TypedDict, total=False):
    """The content of ``summary.json`` (and of ``run_finished.summary``), field by field.

    Every run writes the common keys; a grid search adds the search keys. A worker that died
    before writing its own summary gets a short one (status, mode, epochs_completed,
    test_metrics, wall_seconds, train_seconds (None), device, versions, message).
    """

    # common
    status: RunStatus  # how the run ended
    mode: Mode  # train | grid | sweep
    run_id: str  # the run directory's name
    name: str  # experiment.name
    epochs_completed: (
        int  # epochs trained (grid: by the refitted best candidate; sweep: best variant)
    )
    test_metrics: dict[str, Any]  # metric -> value on the test split (loss, accuracy, ...)
    wall_seconds: float  # from start to end, everything included
    train_seconds: float | None  # time inside fit (grid: the sum over every fit)
    n_params: int  # weights of the (best) network
    device: str  # "CPU" or the GPU names
    versions: dict[str, str]  # python, tensorflow, keras, numpy, scikit-learn, nnexplorer
    message: str  # why it ended so (a failure's cause, early stopping, ...); may be empty
    # a training run
    epochs: int  # fit.epochs
    stopped_early: bool  # early stopping ended the fit
    final_metrics: dict[str, Any]  # the metrics of the last finished epoch
    # a grid search (and a sweep, which shares its keys where they apply)
    search: str  # grid | random | halving | sweep
    scoring: str  # what ranks candidates: a scikit-learn scorer; a sweep: val_<metric> or neg_...
    cv: int  # folds
    n_candidates: int  # candidates evaluated (before halving drops any)
    n_folds: int  # folds per candidate (= cv)
    grid_size: int  # candidates of the full grid (random search draws n_candidates of them)
    fits_done: int  # fold fits finished, this session and reused ones
    fits_reused: int  # fold fits taken from the journal of a resumed search
    fits_failed: int  # fold fits that failed or diverged
    test_score: float | None  # the refitted best candidate's score on the test split
    search_seconds: float  # time inside the scikit-learn search
    n_jobs: int  # worker processes
    threads_per_worker: int  # TensorFlow threads in each worker
    best_params: dict[str, Any]  # grid key (as the preset writes it) -> value of the best
    best_score: float | None  # its mean cross-validation score
    best_std: float  # the standard deviation of its fold scores
    n_failed_candidates: int  # candidates with a failed fold (sweep: variants failed or diverged)
    n_pending_candidates: int  # candidates not (or not fully) evaluated
    # a classification run's evaluation on the test split, and the diagnostics' cost
    confusion_matrix: list[list[int]]  # rows: true class, columns: predicted, in classes' order
    classes: list[str]  # the class names
    per_class: dict[str, dict[str, float]]  # class -> precision, recall, f1, support
    misclassified: int  # misclassified test rows (the first ones are in misclassified.json)
    diagnostics_seconds: float  # time spent on layer statistics and decision boundaries
    backend: str  # where the fits ran: local | dask
    scheduler: str | None  # the Dask scheduler's address (dask backend)
    workers: list[str]  # the Dask workers that ran fits (dask backend)
    workers_lost: list[str]  # Dask workers that left during the search
    fits_restarted: int  # fits Dask started again after losing their worker
    # a sweep
    best_variant: int | None  # the best variant's number (1-based)
    variants: list[dict[str, Any]]  # per variant: variant (1-based), params, status, reason,
    # epochs_completed, best_epoch, final_metrics, test_metrics, score, train_seconds, n_params


def _now() -> float:
    return _time.time()


@dataclass(frozen=True, kw_only=True)
class Event:
    """Fields shared by every event."""

    type: ClassVar[str] = "event"
    run_id: str = ""
    time: float = field(default_factory=_now)

    def to_dict(self) -> dict[str, Any]:
        """A plain dict with ``type`` first; non-finite floats become ``None``-safe strings."""
        return {"type": self.type, **json_safe(asdict(self))}

    def to_json(self) -> str:
        """One line of JSON (no newline)."""
        return json.dumps(self.to_dict(), separators=(",", ":"), allow_nan=False)


@dataclass(frozen=True, kw_only=True)
class RunStarted(Event):
    """A run (``train``, ``grid`` or ``sweep``) has begun; ``spec`` summarises the experiment.

    ``n_candidates`` counts a grid's candidates or a sweep's variants; ``scoring`` names what
    ranks them.
    """

    type: ClassVar[str] = "run_started"
    mode: Mode = "train"
    spec: dict[str, Any] = field(default_factory=dict)
    n_params: int = 0
    device: str = "CPU"
    versions: dict[str, str] = field(default_factory=dict)
    run_dir: str = ""
    n_candidates: int = 0
    n_folds: int = 0
    scoring: str = ""


@dataclass(frozen=True, kw_only=True)
class RunQueued(Event):
    """A detached run waits for a free slot; ``ahead`` runs were queued before it."""

    type: ClassVar[str] = "run_queued"
    slots: int = 1
    ahead: int = 0


@dataclass(frozen=True, kw_only=True)
class SlotAcquired(Event):
    """A detached run got slot ``slot`` (0-based) of ``slots``; ``gpu`` is the GPU it is pinned
    to (its ``CUDA_VISIBLE_DEVICES`` entry, empty on a CPU-only machine)."""

    type: ClassVar[str] = "slot_acquired"
    slot: int = 0
    slots: int = 1
    gpu: str = ""
    waited: float = 0.0  # seconds spent in the queue


@dataclass(frozen=True, kw_only=True)
class EpochEnded(Event):
    """An epoch finished. ``metrics`` holds loss, val_loss, accuracy, val_accuracy, ..."""

    type: ClassVar[str] = "epoch_ended"
    epoch: int = 0
    epochs: int = 0
    metrics: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0
    candidate: int | None = None
    fold: int | None = None


@dataclass(frozen=True, kw_only=True)
class BatchProgress(Event):
    """Progress inside an epoch; consumers may drop all but the latest."""

    type: ClassVar[str] = "batch_progress"
    epoch: int = 0
    batch: int = 0
    batches: int = 0
    candidate: int | None = None
    fold: int | None = None


@dataclass(frozen=True, kw_only=True)
class CandidateStarted(Event):
    """A grid candidate's fit on one fold started (a sweep: a variant started, ``fold`` None)."""

    type: ClassVar[str] = "candidate_started"
    candidate: int = 0
    params: dict[str, Any] = field(default_factory=dict)
    fold: int | None = None
    n_candidates: int = 0
    n_folds: int = 0
    worker: str = ""  # the Dask worker's address running this fit ("" for local fits)


@dataclass(frozen=True, kw_only=True)
class CandidateFinished(Event):
    """A grid candidate's fit on one fold finished (``fold`` None: all its folds, aggregated).

    In a sweep, a variant finished (``fold`` None): ``score`` is the value that ranks it
    (higher is better), ``metrics`` its last epoch's metrics, ``test_metrics`` its metrics on the
    test split, ``best_epoch`` the epoch with the best monitored value, ``epochs`` how many
    epochs it trained.
    """

    type: ClassVar[str] = "candidate_finished"
    candidate: int = 0
    params: dict[str, Any] = field(default_factory=dict)
    fold: int | None = None
    score: float | None = None
    std_score: float | None = None
    seconds: float = 0.0
    status: str = "completed"
    reason: str = ""
    worker: str = ""  # the Dask worker's address that ran this fold ("" for local fits)
    metrics: dict[str, float] = field(default_factory=dict)
    test_metrics: dict[str, float] = field(default_factory=dict)
    best_epoch: int | None = None
    epochs: int = 0


@dataclass(frozen=True, kw_only=True)
class RunFinished(Event):
    """The run ended; ``summary`` is the content of summary.json."""

    type: ClassVar[str] = "run_finished"
    status: RunStatus = "completed"
    summary: RunSummary = field(default_factory=lambda: RunSummary())
    message: str = ""


LOSS_EXPLODING = "loss_exploding"  # LogEvent.code: a finite loss that blew up


@dataclass(frozen=True, kw_only=True)
class LogEvent(Event):
    """A line for the log: ``level`` is debug, info, warning or error; ``code`` names a
    condition the front-ends also show elsewhere (``loss_exploding``: the status line)."""

    type: ClassVar[str] = "log"
    level: str = "info"
    message: str = ""
    code: str = ""


EVENT_TYPES: dict[str, type[Event]] = {
    cls.type: cls
    for cls in (
        RunStarted,
        EpochEnded,
        BatchProgress,
        CandidateStarted,
        CandidateFinished,
        RunFinished,
        LogEvent,
        RunQueued,
        SlotAcquired,
    )
}

Emit = Callable[[Event], None]
"""What a run reports through: called once per event, from any thread of the run."""


def from_dict(data: dict[str, Any]) -> Event:
    """Rebuild an event from :meth:`Event.to_dict` output; unknown fields are ignored."""
    kind = data.get("type")
    cls = EVENT_TYPES.get(str(kind))
    if cls is None:
        raise ValueError(f"unknown event type {kind!r}")
    names = {f.name for f in fields(cls)}
    return cls(**{k: _restore(v) for k, v in data.items() if k in names})


def from_json(line: str) -> Event:
    """Parse one JSON line written by :meth:`Event.to_json`."""
    return from_dict(json.loads(line))


def json_safe(value: Any) -> Any:
    """Make a value JSON-safe: NaN/inf become "nan"/"inf"/"-inf", numpy scalars plain.

    The one converter of every record this package writes (events, summaries, the journal);
    :func:`from_dict` turns the strings back into floats.
    """
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, str | bytes):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    return value


_SPECIAL = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}


def _restore(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _restore(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_restore(v) for v in value]
    if isinstance(value, str) and value in _SPECIAL:
        return _SPECIAL[value]
    return value


class JsonLines:
    """An emit function that writes each event as one JSON line, flushed at once (thread-safe).

    When the reader goes away (a closed pipe: ``nnexplorer run --json | head -1``) the writer
    falls silent instead of raising, and its file descriptor is pointed at /dev/null so that
    the interpreter's last flush does not complain either: the run goes on and is recorded.
    """

    def __init__(self, stream: TextIO):
        self.stream = stream
        self.closed = False
        self._lock = threading.Lock()

    def __call__(self, event: Event) -> None:
        line = event.to_json() + "\n"
        with self._lock:
            if self.closed:
                return
            try:
                self.stream.write(line)
                self.stream.flush()
            except BrokenPipeError:
                self.closed = True
                silence(self.stream)


def silence(stream: Any) -> None:
    """Point ``stream``'s file descriptor at /dev/null (after its reader went away)."""
    try:
        fd = stream.fileno()
        devnull = os.open(os.devnull, os.O_WRONLY)
    except (OSError, ValueError, AttributeError):
        return
    try:
        os.dup2(devnull, fd)
    except OSError:
        pass
    finally:
        os.close(devnull)


def tee(recorder: Emit, emit: Emit | None) -> Emit:
    """One emit feeding ``recorder`` and then ``emit`` (the display).

    The recorder comes first and its failures propagate: a run whose records cannot be written
    (a full disk) must stop, not go on without them. A display that raises (a closed pipe, a
    broken terminal) is left out from then on, with one warning in the records, so that a
    display problem never ends the training.
    """
    displays: list[Emit] = [emit] if emit is not None else []

    def out(event: Event) -> None:
        recorder(event)
        for display in list(displays):
            try:
                display(event)
            except Exception as exc:
                displays.remove(display)
                warning = LogEvent(
                    run_id=event.run_id, level="warning", message=f"event output failed: {exc}"
                )
                recorder(warning)

    return out


# --------------------------------------------------------------------------- inside the network


@dataclass(frozen=True, kw_only=True)
class LayerStats(Event):
    """Per-layer statistics at the end of an epoch, one entry per Dense layer (output included).

    Each entry of ``layers`` has ``name``, ``units``, ``activation``; ``grad_norm`` (L2 norm of
    the gradient of the data loss, without the regularisation penalty, with respect to the
    kernel, on a fixed probe batch of training rows); ``weight_norm`` (L2 norm of the kernel),
    ``mean_abs_weight``, ``small_weight_fraction`` (share of kernel entries with |w| < 1e-3),
    ``max_unit_norm`` (largest norm of one unit's incoming weights, axis 0 of the kernel) and
    ``max_norm`` (the layer's max-norm limit, or None); ``dead_fraction`` (ReLU-family units
    whose output is 0 on the whole probe batch; None for other activations);
    ``saturated_fraction`` (sigmoid/tanh-family outputs within 2% of their range from a bound;
    None for others); ``regularizer`` (e.g. ``l2=0.0001``, or None); ``hist`` (the kernel's
    histogram: ``edges``, one more than ``counts``).
    """

    type: ClassVar[str] = "layer_stats"
    epoch: int = 0
    candidate: int | None = None
    fold: int | None = None
    layers: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True, kw_only=True)
class DecisionBoundary(Event):
    """The classes a 2-feature classifier predicts over the plane, in original feature units.

    ``grid[i][j]`` is the class predicted at the centre of cell (i, j): row 0 is the bottom
    (``y_range[0]``), column 0 the left (``x_range[0]``). ``points`` are training rows as
    ``[x, y, class]`` (a sample of at most a few hundred); ``features`` the two feature names;
    ``classes`` the class names; ``final`` marks the boundary of the finished model.
    """

    type: ClassVar[str] = "decision_boundary"
    epoch: int = 0
    candidate: int | None = None
    fold: int | None = None
    x_range: list[float] = field(default_factory=list)
    y_range: list[float] = field(default_factory=list)
    grid: list[list[int]] = field(default_factory=list)
    points: list[list[float]] = field(default_factory=list)
    features: list[str] = field(default_factory=list)
    classes: list[str] = field(default_factory=list)
    final: bool = False


EVENT_TYPES.update({cls.type: cls for cls in (LayerStats, DecisionBoundary)})
