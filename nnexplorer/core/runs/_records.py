"""A run's record files: created with its folder, written as the run goes, read back.

``preset.toml`` (the resolved spec), ``run.json`` (mode and start time), ``events.jsonl`` (every
event, appended as it happens), ``history.csv`` (one row per epoch), ``summary.json`` (at the end).
Whole files are written atomically (:mod:`nnexplorer.core.files`); the two logs are appended line
by line without buffering, so a run that is killed leaves readable records up to its last
finished epoch, and a write that fails (a full disk) stops the run with one clear error
(:class:`~nnexplorer.core.errors.RecordError`) instead of going on without records.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import secrets
import threading
import time
from pathlib import Path
from typing import Any

from nnexplorer.core.errors import PathError, RecordError, RunError
from nnexplorer.core.events import (
    MODES,
    DecisionBoundary,
    EpochEnded,
    Event,
    LayerStats,
    Mode,
    RunFinished,
    RunSummary,
    from_json,
    json_safe,
)
from nnexplorer.core.files import (
    AppendFile,
    atomic_path,
    is_full,
    not_regular,
    os_error_in,
    write_atomic,
    write_failure,
)
from nnexplorer.core.runs._layout import (
    BOUNDARY_FILE,
    EVENTS_FILE,
    HISTORY_FILE,
    LAYER_STATS_FILE,
    META_FILE,
    MODEL_FILE,
    PRESET_FILE,
    STDERR_FILE,
    SUMMARY_FILE,
    slugify,
)
from nnexplorer.core.runs._schema import check_summary, read_json
from nnexplorer.core.spec import ExperimentSpec, spec_to_toml, validate_spec


def _absolute_sources(spec: ExperimentSpec) -> ExperimentSpec:
    """Make relative file paths absolute, so that preset.toml reproduces the run from anywhere."""
    data = spec.to_dict()
    section = data.get("data", {})
    source = section.get("source", "")
    changed = False
    if source.startswith("file:") and not Path(source[5:]).expanduser().is_absolute():
        section["source"] = f"file:{Path(source[5:]).expanduser().resolve()}"
        changed = True
    labels = section.get("labels")
    if labels and not Path(labels).expanduser().is_absolute():
        section["labels"] = str(Path(labels).expanduser().resolve())
        changed = True
    return validate_spec(data) if changed else spec


def create_run_dir(root: str | Path, spec: ExperimentSpec, mode: Mode = "train") -> Path:
    """Create a new, never reused run directory under ``root`` and write its preset.toml.

    An unusable ``root`` (a file, a read-only or forbidden folder) is a PathError (exit code 2);
    a full disk is a RecordError.
    """
    if mode not in MODES:
        raise RunError(f"unknown run mode {mode!r}; expected one of {', '.join(MODES)}")
    root = Path(root)
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _unusable_root(root, exc) from None
    slug = slugify(spec.experiment.name)
    for _ in range(1000):
        stamp = time.strftime("%Y%m%d-%H%M%S")
        run_dir = root / f"{stamp}-{slug}-{secrets.token_hex(2)}"
        try:
            run_dir.mkdir(exist_ok=False)
        except FileExistsError:
            continue
        except OSError as exc:
            raise _unusable_root(root, exc) from None
        break
    else:
        raise RunError(f"could not find a free run folder name under {root}")
    meta = {"run_id": run_dir.name, "mode": mode, "created": time.time()}
    for path, write in (
        (run_dir / PRESET_FILE, lambda p: write_atomic(p, spec_to_toml(_absolute_sources(spec)))),
        (run_dir / META_FILE, lambda p: write_json_atomic(p, meta)),
    ):
        try:
            write(path)
        except OSError as exc:
            raise write_failure(exc, path) from None
    return run_dir


def _unusable_root(root: Path, exc: OSError) -> PathError | RecordError:
    if is_full(exc):
        return write_failure(exc, root / "run")
    if root.exists() and not root.is_dir():
        why = "is not a folder"
    else:
        why = f"cannot create a run folder there ({exc.strerror or exc})"
    return PathError(
        f"runs folder {root}: {why}", "choose another with --runs DIR or $NNEXPLORER_RUNS"
    )


def write_json_atomic(path: Path, data: dict[str, Any]) -> None:
    """Write ``data`` as JSON to ``path`` atomically (temporary file, fsync, rename)."""
    text = json.dumps(json_safe(data), indent=2, sort_keys=False, allow_nan=False)
    write_atomic(path, text + "\n")


def save_model(model: Any, run_dir: str | Path) -> str:
    """Save a Keras ``model`` as ``run_dir/model.keras``, atomically: a failed, partial or empty
    save never replaces a good file. Returns ``""``, or why a model Keras cannot save was not
    saved; a write that fails (a full disk) raises RecordError."""
    path = Path(run_dir) / MODEL_FILE
    try:
        with atomic_path(path) as tmp:
            model.save(tmp)
    except Exception as exc:
        cause = os_error_in(exc)
        if cause is not None:
            raise write_failure(cause, path) from None
        return f"model not saved: {exc}"
    return ""


RESERVE_FILE = ".reserve"
RESERVE_BYTES = 64 * 1024


class RunRecorder:
    """An ``emit`` that records a run: events.jsonl, history.csv and summary.json (and the
    diagnostics: layer_stats.jsonl, boundary.json).

    Thread-safe; several fits of a grid may report through one recorder. A grid's history rows
    carry ``candidate`` and ``fold``; with ``variant_column`` (a sweep) they carry ``variant``,
    the 1-based number of the variant that trained the epoch. The first write that
    fails raises a :class:`RecordError` (``no space left on <run folder>``), which stops the run;
    after it the recorder writes nothing more except, for the final ``run_finished``, a last
    attempt at the event line and summary.json. For that attempt it keeps a small reserve file
    while it records (``.reserve``, 64 kB), which it deletes when the disk is full: the run is
    then still recorded as failed. ``error`` keeps the first failure.
    """

    def __init__(self, run_dir: str | Path, *, variant_column: bool = False):
        self.run_dir = Path(run_dir)
        self.variant_column = variant_column
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._events: AppendFile | None = None
        self._history: AppendFile | None = None
        self._layer_stats: AppendFile | None = None
        self._columns: list[str] | None = None
        self._target = self.run_dir / EVENTS_FILE
        self.finished = False
        self.error: RecordError | None = None

    def __call__(self, event: Event) -> None:
        line = event.to_json()
        with self._lock:
            if self.error is not None:
                if isinstance(event, RunFinished):
                    self._last_attempt(event, line)
                return
            try:
                self._record(event, line)
            except OSError as exc:
                self.error = write_failure(exc, self._target)
                self._close_files()
                raise self.error from None

    def _record(self, event: Event, line: str) -> None:
        self._target = self.run_dir / EVENTS_FILE
        if self._events is None:
            self._keep_reserve()
            self._events = AppendFile(self._target)
        self._events.write(line + "\n")
        if isinstance(event, EpochEnded):
            self._add_history_row(event)
        elif isinstance(event, LayerStats):
            self._target = self.run_dir / LAYER_STATS_FILE
            if self._layer_stats is None:
                self._layer_stats = AppendFile(self._target)
            self._layer_stats.write(line + "\n")
        elif isinstance(event, DecisionBoundary):
            self._target = self.run_dir / BOUNDARY_FILE
            write_json_atomic(self._target, event.to_dict())
        elif isinstance(event, RunFinished):
            self._target = self.run_dir / SUMMARY_FILE
            write_json_atomic(self._target, _summary_of(event))
            self.finished = True

    def _keep_reserve(self) -> None:
        reserve = self.run_dir / RESERVE_FILE
        if not reserve.exists():
            with open(reserve, "wb") as handle:
                handle.write(bytes(RESERVE_BYTES))

    def _free_reserve(self) -> None:
        with contextlib.suppress(OSError):
            (self.run_dir / RESERVE_FILE).unlink(missing_ok=True)

    def _last_attempt(self, event: RunFinished, line: str) -> None:
        """After a failed write: try to leave the final event and summary (best effort)."""
        self._free_reserve()
        try:
            events = AppendFile(self.run_dir / EVENTS_FILE)
            try:
                events.write(line + "\n")
            finally:
                events.close()
        except OSError:
            pass
        try:
            write_json_atomic(self.run_dir / SUMMARY_FILE, _summary_of(event))
        except OSError:
            return
        self.finished = True

    def _add_history_row(self, event: EpochEnded) -> None:
        row: dict[str, Any] = {"epoch": event.epoch}
        if self.variant_column and event.candidate is not None:
            row["variant"] = event.candidate + 1
        elif event.candidate is not None or event.fold is not None:
            row["candidate"] = event.candidate
            row["fold"] = event.fold
        row.update(json_safe(dict(event.metrics)))
        path = self._target = self.run_dir / HISTORY_FILE
        if self._columns is None:
            self._columns = _existing_header(path)
        if self._columns is None or any(key not in self._columns for key in row):
            self._widen_history(path, row)
        if self._history is None:
            self._history = AppendFile(path)
        assert self._columns is not None
        self._history.write(_csv_line(self._columns, row))

    def _widen_history(self, path: Path, row: dict[str, Any]) -> None:
        """Start the file, or rewrite it with the new columns added (rare: new metric names)."""
        old_columns = self._columns or []
        columns = old_columns + [k for k in row if k not in old_columns]
        rows = read_history(path) if old_columns else []
        if self._history is not None:
            self._history.close()
            self._history = None
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        for old in rows:
            writer.writerow({k: "" if v is None else v for k, v in old.items()})
        write_atomic(path, buffer.getvalue())
        self._columns = columns

    def _close_files(self) -> None:
        for handle in (self._events, self._history, self._layer_stats):
            if handle is not None:
                handle.close()
        self._events = self._history = self._layer_stats = None

    def close(self) -> None:
        """Close the open files and give the reserve back (recording again reopens them)."""
        with self._lock:
            self._close_files()
            self._free_reserve()


def _summary_of(event: RunFinished) -> dict[str, Any]:
    summary: dict[str, Any] = {"status": event.status, **event.summary}
    summary["status"] = event.status
    if event.message and "message" not in summary:
        summary["message"] = event.message
    return summary


def _csv_line(columns: list[str], row: dict[str, Any]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writerow({k: "" if v is None else v for k, v in row.items()})
    return buffer.getvalue()


def _existing_header(path: Path) -> list[str] | None:
    try:
        with open(path, encoding="utf-8", newline="") as handle:
            first = handle.readline()
    except FileNotFoundError:
        return None
    if not first.endswith("\n"):
        return None
    return next(csv.reader([first]))


def _complete_lines(path: Path) -> list[str]:
    """The lines of a file, without a last line cut short by a kill (none if not a file)."""
    if not_regular(path):
        return []
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return []
    lines = text.split("\n")
    return lines[:-1]  # the piece after the last newline is empty or unfinished


def _number(value: str) -> Any:
    if value == "":
        return None
    try:
        number = float(value)
    except ValueError:
        return value
    return int(number) if number.is_integer() and "." not in value and "e" not in value else number


def read_history(path: str | Path) -> list[dict[str, Any]]:
    """The rows of a history.csv as dicts of numbers (empty cells are None)."""
    lines = _complete_lines(Path(path))
    if not lines:
        return []
    reader = csv.DictReader(lines)
    return [{k: _number(v or "") for k, v in row.items() if k is not None} for row in reader]


def read_events(path: str | Path) -> list[Event]:
    """The events of an events.jsonl; lines that cannot be parsed are skipped."""
    events = []
    for line in _complete_lines(Path(path)):
        if not line.strip():
            continue
        try:
            events.append(from_json(line))
        except (ValueError, TypeError):
            continue
    return events


def read_summary(run_dir: str | Path) -> RunSummary | None:
    """summary.json of a run, or None when the run has not finished or it is not readable."""
    data, _ = read_json(Path(run_dir) / SUMMARY_FILE)
    summary, _ = check_summary(data) if data is not None else (None, "")
    return summary


def summary_of(run_dir: str | Path) -> tuple[RunSummary | None, str]:
    """A run's summary and, when summary.json is damaged, the reason (``""`` when it is fine).

    A damaged summary.json (cut short, a wrong type) falls back to the summary of the last
    ``run_finished`` event in events.jsonl; the reason is returned only when that fails too.
    A run without summary.json has not finished: ``(None, "")``.
    """
    run_dir = Path(run_dir)
    data, problem = read_json(run_dir / SUMMARY_FILE)
    if data is None and not problem:
        return None, ""
    if data is not None:
        summary, problem = check_summary(data)
        if summary is not None:
            return summary, ""
        problem = f"{SUMMARY_FILE}: {problem}"
    for event in reversed(read_events(run_dir / EVENTS_FILE)):
        if isinstance(event, RunFinished):
            fallback, _ = check_summary(_summary_of(event))
            if fallback is not None:
                return fallback, ""
            break
    return None, problem


def stderr_tail(run_dir: str | Path, max_lines: int = 15, max_chars: int = 2000) -> str:
    """The last lines of a worker's stderr.log (empty when there is none)."""
    try:
        with open(Path(run_dir) / STDERR_FILE, "rb") as handle:
            handle.seek(0, os.SEEK_END)
            size = handle.tell()
            handle.seek(max(0, size - 16 * max_chars))
            data = handle.read().decode("utf-8", errors="replace")
    except OSError:
        return ""
    lines = [line.rstrip() for line in data.splitlines() if line.strip()]
    return "\n".join(lines[-max_lines:])[-max_chars:]
