"""The fit journal of a grid search, and how fits running in other processes report.

Each fit writes its own file, ``RUN_DIR/fits/<key>.jsonl``: a ``fit_begin`` line, the fit's
events (epoch_ended, batch_progress) as event JSON, and a ``fit_record`` line when it has a
score. One writer per file makes this safe across processes, and a path is all an estimator
needs to carry, so scikit-learn can clone it freely. The parent tails the folder
(:class:`~nnexplorer.core.search._collector.FitTailer`), turns the lines into events for its
``emit``, and appends every ``fit_record`` to ``RUN_DIR/fits.jsonl``: the journal that a resumed
search reads so that it does not redo finished fits. A stop request is a file,
``RUN_DIR/fits/STOP``, that fits check after every batch. (A search on a Dask cluster carries
the same lines through Dask instead: see :mod:`._transport`.)
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import shutil
import time
from pathlib import Path
from typing import Any

from nnexplorer.core.events import Event, json_safe
from nnexplorer.core.files import AppendFile, write_atomic, write_failure

FITS_DIR = "fits"
JOURNAL_FILE = "fits.jsonl"
STOP_FILE = "STOP"
REFIT_KEY = "refit"


class FitWriteFailed(BaseException):
    """A fit could not write its file (a full disk): the search must stop, not score it NaN.

    A BaseException, so that it passes scikit-learn's ``error_score`` handling (like a stop).
    """


def fit_key(params: dict[str, Any], fold: int | None, n_train: int, epochs: int) -> str:
    """A fit's identity across sessions: candidate values, fold, training rows and epochs."""
    if fold is None:
        return REFIT_KEY
    text = json.dumps([params, fold, n_train, epochs], sort_keys=True, default=str)
    return hashlib.sha1(text.encode()).hexdigest()[:16]


def json_line(data: dict[str, Any]) -> str:
    """One compact JSON line (NaN and infinities as strings, see :func:`json_safe`)."""
    return json.dumps(json_safe(data), separators=(",", ":"), allow_nan=False, default=str)


def score_of(record: dict[str, Any]) -> float:
    """A record's score as a float (NaN for a failed fit)."""
    try:
        return float(record.get("score"))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return math.nan


class FitLog:
    """The writing end of one fit's file (used inside the worker process)."""

    def __init__(self, fits_dir: str | Path, key: str):
        self.path = Path(fits_dir) / f"{key}.jsonl"
        try:
            self._handle = AppendFile(self.path)
        except OSError as exc:
            raise FitWriteFailed(str(write_failure(exc, self.path))) from None

    def _append(self, line: str) -> None:
        try:
            self._handle.write(line + "\n")
        except OSError as exc:
            raise FitWriteFailed(str(write_failure(exc, self.path))) from None

    def write(self, data: dict[str, Any]) -> None:
        """Append one JSON line (FitWriteFailed when the disk is full)."""
        self._append(json_line(data))

    def emit(self, event: Event) -> None:
        """An ``emit`` for the fit's callback: the event as one line."""
        self._append(event.to_json())

    def close(self) -> None:
        """Close the file."""
        self._handle.close()


class StopFlag:
    """A :class:`~nnexplorer.core.events.Cancel` that is set once the stop file exists.

    The file is looked for at most every ``interval`` seconds, so a fit can poll it per batch.
    """

    def __init__(self, fits_dir: str | Path, interval: float = 0.05):
        self.path = Path(fits_dir) / STOP_FILE
        self.interval = interval
        self._checked = 0.0
        self._set = False

    def is_set(self) -> bool:
        """Whether a stop was requested."""
        if self._set:
            return True
        now = time.monotonic()
        if now - self._checked >= self.interval:
            self._checked = now
            self._set = self.path.exists()
        return self._set


def request_stop(run_dir: str | Path) -> None:
    """Ask every running fit of the search in ``run_dir`` to stop."""
    fits = Path(run_dir) / FITS_DIR
    fits.mkdir(parents=True, exist_ok=True)
    (fits / STOP_FILE).touch()


def stop_requested(run_dir: str | Path) -> bool:
    """Whether a stop was requested for the search in ``run_dir``."""
    return (Path(run_dir) / FITS_DIR / STOP_FILE).exists()


def _lines(path: Path) -> list[dict[str, Any]]:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return []
    out = []
    for line in text.split("\n")[:-1]:  # a last line without newline is unfinished
        with contextlib.suppress(ValueError):
            data = json.loads(line)
            if isinstance(data, dict):
                out.append(data)
    return out


def read_journal(run_dir: str | Path) -> dict[str, dict[str, Any]]:
    """Every finished fit of the search in ``run_dir``, by fit key.

    Reads the journal and also each fit's own file, so that fits whose record the parent never
    copied (it was killed) count as finished too.
    """
    run_dir = Path(run_dir)
    records: dict[str, dict[str, Any]] = {}
    sources = [run_dir / JOURNAL_FILE, *sorted((run_dir / FITS_DIR).glob("*.jsonl"))]
    for path in sources:
        for data in _lines(path):
            if data.get("type") == "fit_record" and data.get("key"):
                records[str(data["key"])] = data
    return records


def prepare_fits(
    run_dir: str | Path, resume: bool, records: dict[str, dict[str, Any]] | None = None
) -> dict[str, dict[str, Any]]:
    """Set up the fits folder for a session; return the finished fits a resume reuses.

    A fresh search starts with an empty journal. A resumed one rewrites the journal (atomically)
    with ``records`` (default: every finished fit found), then clears the per-fit files (and
    any old stop request). OSError propagates.
    """
    run_dir = Path(run_dir)
    if records is None:
        records = read_journal(run_dir) if resume else {}
    elif not resume:
        records = {}
    text = "".join(json_line(record) + "\n" for record in records.values())
    write_atomic(run_dir / JOURNAL_FILE, text, allow_empty=True)
    fits = run_dir / FITS_DIR
    if fits.exists():
        shutil.rmtree(fits)
    fits.mkdir(parents=True)
    return records


def fold_stats(records: list[dict[str, Any]]) -> dict[str, Any]:
    """Mean and (population) std of fold scores as scikit-learn computes them, plus status."""
    scores = [score_of(r) for r in records]
    n = len(scores)
    mean = sum(scores) / n if n else math.nan
    std = math.sqrt(sum((s - mean) ** 2 for s in scores) / n) if n else math.nan
    times = [float(r.get("fit_time") or 0.0) for r in records]
    failed = [r for r in records if r.get("status") != "completed"]
    return {
        "mean": mean,
        "std": std,
        "fit_time": sum(times) / n if n else 0.0,
        "status": "failed" if failed or not n else "completed",
        "reason": str(failed[0].get("reason", "")) if failed else "",
    }
