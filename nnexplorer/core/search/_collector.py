"""The search process's end of the fits: their lines become events, journal lines and records.

Fits report in lines (see :mod:`._journal`): ``fit_begin``, their events (epoch_ended,
batch_progress) as event JSON, and ``fit_record`` once scored. :class:`FitCollector` turns those
lines, however they arrived, into events for ``emit``: per-fold ``fit_record`` lines become
CandidateFinished events (and journal lines in ``RUN_DIR/fits.jsonl``); once all ``n_folds``
folds of a candidate are in, an aggregated CandidateFinished (``fold=None``, mean and std of the
fold scores) follows. :class:`FitTailer` is the local backend's collector: it follows the fit
files in ``RUN_DIR/fits`` (the Dask backend's collector is in :mod:`._dask`).
"""

from __future__ import annotations

import contextlib
import json
import threading
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nnexplorer.core.errors import RecordError
from nnexplorer.core.events import (
    EVENT_TYPES,
    Cancel,
    CandidateFinished,
    CandidateStarted,
    Emit,
    LogEvent,
    RunSummary,
    from_dict,
)
from nnexplorer.core.files import AppendFile, write_failure
from nnexplorer.core.search._journal import (
    FITS_DIR,
    JOURNAL_FILE,
    fold_stats,
    json_line,
    request_stop,
    score_of,
    stop_requested,
)


@dataclass
class _Candidate:
    records: list[dict[str, Any]] = field(default_factory=list)


class FitCollector(ABC):
    """Turns fit lines into events and journal lines; see the module docstring.

    ``known`` are the keys of fits already in the journal (a resumed search): their records
    are reported again but not journaled twice. ``on_record`` sees every new record.
    """

    def __init__(
        self,
        run_dir: str | Path,
        emit: Emit,
        *,
        run_id: str,
        n_candidates: int,
        n_folds: int,
        known: set[str] | None = None,
        on_record: Callable[[dict[str, Any]], None] | None = None,
    ):
        self.run_dir = Path(run_dir)
        self.emit = emit
        self.run_id = run_id
        self.n_candidates = n_candidates
        self.n_folds = n_folds
        self.on_record = on_record
        self.records: dict[str, dict[str, Any]] = {}
        self.known = set(known or ())
        self.pids: set[int] = set()
        self.running: dict[str, str] = {}  # fit key -> worker, for fits begun but not recorded
        self.restarts: Counter[str] = Counter()  # fit key -> times its worker was lost under it
        self._candidates: dict[int, _Candidate] = {}
        self._journal = AppendFile(self.run_dir / JOURNAL_FILE)
        self._lock = threading.RLock()
        self.error: RecordError | None = None  # a record that could not be written

    # ----------------------------------------------------------------- what a transport adds

    @abstractmethod
    def stop(self) -> None:
        """Ask every running fit to stop (each sees it at its next batch)."""

    @property
    @abstractmethod
    def stopped(self) -> bool:
        """Whether a stop was requested."""

    @abstractmethod
    def drain(self) -> None:
        """Take in what the fits have sent so far."""

    @abstractmethod
    def close(self) -> None:
        """Stop following the fits and close the journal."""

    def handle(self, data: dict[str, Any]) -> None:
        """One line of a fit, as a dict.

        A record that cannot be written (the journal, or the run's own records through
        ``emit``) stops the search: ``error`` keeps why, and every fit is asked to stop.
        """
        with self._lock:
            if self.error is not None:
                return
            try:
                self._dispatch(data)
            except RecordError as exc:
                self.error = exc
                with contextlib.suppress(Exception):
                    self.stop()

    def _dispatch(self, data: dict[str, Any]) -> None:
        kind = data.get("type")
        if kind == "fit_begin":
            self._begin(data)
        elif kind == "fit_record":
            self._record(data)
        elif kind in EVENT_TYPES:
            with contextlib.suppress(ValueError, TypeError):
                self.emit(from_dict(data))

    def handle_line(self, line: str) -> None:
        """One line of a fit, as JSON text (a line that does not parse is skipped)."""
        try:
            data = json.loads(line)
        except ValueError:
            return
        if isinstance(data, dict):
            self.handle(data)

    def _begin(self, data: dict[str, Any]) -> None:
        if isinstance(data.get("pid"), int):
            self.pids.add(data["pid"])
        if data.get("fold") is None:
            # candidates are numbered from 1 wherever people read them
            index = data.get("candidate")
            number = index + 1 if isinstance(index, int) and index >= 0 else "?"
            message = f"refitting candidate {number} on the whole training split"
            self.emit(LogEvent(run_id=self.run_id, message=message))
            return
        key, worker = str(data.get("key")), str(data.get("worker") or "")
        if key in self.records:  # a task run again after a lost worker replays its done fits
            return
        if self.running.get(key, worker) != worker:  # its first worker was lost
            self.restarts[key] += 1
        self.running[key] = worker
        self.emit(
            CandidateStarted(
                run_id=self.run_id,
                candidate=int(data.get("candidate", -1)),
                params=dict(data.get("params") or {}),
                fold=data.get("fold"),
                n_candidates=self.n_candidates,
                n_folds=self.n_folds,
                worker=worker,
            )
        )

    def _record(self, data: dict[str, Any]) -> None:
        key = str(data.get("key"))
        if key in self.records:
            return
        self.running.pop(key, None)
        if self.restarts[key]:
            data = {**data, "restarts": self.restarts[key]}
        self.records[key] = data
        if key not in self.known:
            try:
                self._journal.write(json_line(data) + "\n")
            except OSError as exc:
                raise write_failure(exc, self.run_dir / JOURNAL_FILE) from None
        if self.on_record is not None:
            self.on_record(data)
        candidate = int(data.get("candidate", -1))
        self.emit(
            CandidateFinished(
                run_id=self.run_id,
                candidate=candidate,
                params=dict(data.get("params") or {}),
                fold=data.get("fold"),
                score=score_of(data),
                seconds=float(data.get("fit_time") or 0.0),
                status=str(data.get("status", "completed")),
                reason=str(data.get("reason", "")),
                worker=str(data.get("worker") or ""),
            )
        )
        group = self._candidates.setdefault(candidate, _Candidate())
        group.records.append(data)
        if len(group.records) >= self.n_folds:
            self.emit(aggregate(self.run_id, candidate, group.records))
            group.records = []

    def lost_worker(self, address: str) -> list[str]:
        """Note that ``address`` left: the keys of the fits it was running (to be redone)."""
        with self._lock:
            keys = [key for key, worker in self.running.items() if worker == address]
            for key in keys:
                del self.running[key]
                self.restarts[key] += 1
            return keys

    def facts(self) -> RunSummary:
        """What summary.json says about where the fits ran."""
        return RunSummary(backend="local", scheduler=None)

    def close_journal(self) -> None:
        """Close the journal file."""
        self._journal.close()


@dataclass
class _Tail:
    offset: int = 0
    buffer: str = ""


class FitTailer(FitCollector):
    """Follows ``RUN_DIR/fits`` in a thread; setting ``cancel`` writes the stop file."""

    def __init__(
        self,
        run_dir: str | Path,
        emit: Emit,
        *,
        run_id: str,
        n_candidates: int,
        n_folds: int,
        cancel: Cancel | None = None,
        interval: float = 0.1,
        known: set[str] | None = None,
        on_record: Callable[[dict[str, Any]], None] | None = None,
    ):
        super().__init__(
            run_dir,
            emit,
            run_id=run_id,
            n_candidates=n_candidates,
            n_folds=n_folds,
            known=known,
            on_record=on_record,
        )
        self.fits = self.run_dir / FITS_DIR
        self.cancel = cancel
        self.interval = interval
        self._tails: dict[Path, _Tail] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # ----------------------------------------------------------------- thread

    def start(self) -> FitTailer:
        """Start following in a daemon thread."""
        self._thread = threading.Thread(target=self._loop, name="nnx-fit-tailer", daemon=True)
        self._thread.start()
        return self

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            if self.cancel is not None and self.cancel.is_set():
                self.stop()
            self.poll()

    def stop(self) -> None:
        """Ask every running fit to stop (the stop file)."""
        request_stop(self.run_dir)

    @property
    def stopped(self) -> bool:
        """Whether a stop was requested."""
        return stop_requested(self.run_dir)

    def drain(self) -> None:
        """Read what the fits have written so far."""
        self.poll()

    def close(self) -> None:
        """Stop the thread, read what is left, close the journal."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self.poll()
        self.close_journal()

    # ----------------------------------------------------------------- reading

    def poll(self) -> None:
        """Read every new complete line of every fit file."""
        with self._lock:
            try:
                paths = sorted(self.fits.glob("*.jsonl"))
            except OSError:
                return
            for path in paths:
                for line in self._new_lines(path):
                    self.handle_line(line)

    def _new_lines(self, path: Path) -> list[str]:
        tail = self._tails.setdefault(path, _Tail())
        try:
            with open(path, encoding="utf-8", errors="replace") as handle:
                handle.seek(tail.offset)
                chunk = handle.read()
                tail.offset = handle.tell()
        except OSError:
            return []
        lines = (tail.buffer + chunk).split("\n")
        tail.buffer = lines.pop()
        return lines


def aggregate(run_id: str, candidate: int, records: list[dict[str, Any]]) -> CandidateFinished:
    """The CandidateFinished event summing up a candidate's folds."""
    stats = fold_stats(records)
    return CandidateFinished(
        run_id=run_id,
        candidate=candidate,
        params=dict(records[0].get("params") or {}) if records else {},
        fold=None,
        score=stats["mean"],
        std_score=stats["std"],
        seconds=stats["fit_time"],
        status=stats["status"],
        reason=stats["reason"],
    )
