"""Engine events: what a run reports, as frozen dataclasses that round-trip through JSON.

Every event has ``type``, ``run_id`` and ``time`` (unix seconds). Training code calls an
``emit(event)`` function; the worker writes each event as one JSON line, the runner reads them
back with :func:`from_json`, and the TUI and the CLI render them.
"""

from __future__ import annotations

import json
import math
import threading
import time as _time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields
from typing import Any, ClassVar, TextIO

RunStatus = str  # "completed" | "diverged" | "cancelled" | "failed"
STATUSES = ("completed", "diverged", "cancelled", "failed")


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
    """A run (``train`` or ``grid``) has begun; ``spec`` is a short summary of the experiment."""

    type: ClassVar[str] = "run_started"
    mode: str = "train"
    spec: dict[str, Any] = field(default_factory=dict)
    n_params: int = 0
    device: str = "CPU"
    versions: dict[str, str] = field(default_factory=dict)
    run_dir: str = ""
    n_candidates: int = 0
    n_folds: int = 0


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
    """A grid candidate's fit on one fold started."""

    type: ClassVar[str] = "candidate_started"
    candidate: int = 0
    params: dict[str, Any] = field(default_factory=dict)
    fold: int | None = None
    n_candidates: int = 0
    n_folds: int = 0


@dataclass(frozen=True, kw_only=True)
class CandidateFinished(Event):
    """A grid candidate's fit on one fold finished (``fold`` None: all its folds, aggregated)."""

    type: ClassVar[str] = "candidate_finished"
    candidate: int = 0
    params: dict[str, Any] = field(default_factory=dict)
    fold: int | None = None
    score: float | None = None
    std_score: float | None = None
    seconds: float = 0.0
    status: str = "completed"
    reason: str = ""


@dataclass(frozen=True, kw_only=True)
class RunFinished(Event):
    """The run ended; ``summary`` is the content of summary.json."""

    type: ClassVar[str] = "run_finished"
    status: str = "completed"
    summary: dict[str, Any] = field(default_factory=dict)
    message: str = ""


@dataclass(frozen=True, kw_only=True)
class LogEvent(Event):
    """A line for the log: ``level`` is debug, info, warning or error."""

    type: ClassVar[str] = "log"
    level: str = "info"
    message: str = ""


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
    )
}

Emit = Callable[[Event], None]


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
    """An emit function that writes each event as one JSON line, flushed at once (thread-safe)."""

    def __init__(self, stream: TextIO):
        self.stream = stream
        self._lock = threading.Lock()

    def __call__(self, event: Event) -> None:
        line = event.to_json() + "\n"
        with self._lock:
            self.stream.write(line)
            self.stream.flush()


def tee(recorder: Emit, emit: Emit | None) -> Emit:
    """One emit feeding ``recorder`` and then ``emit``.

    A sink that raises (a closed pipe, a full disk) is reported once to the other and then
    left out, so that a display or disk problem never ends the training.
    """
    sinks: list[Emit] = [recorder] + ([emit] if emit is not None else [])

    def out(event: Event) -> None:
        for sink in list(sinks):
            try:
                sink(event)
            except Exception as exc:
                sinks.remove(sink)
                warning = LogEvent(
                    run_id=event.run_id, level="warning", message=f"event output failed: {exc}"
                )
                for other in sinks:
                    try:
                        other(warning)
                    except Exception:
                        sinks.remove(other)

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
