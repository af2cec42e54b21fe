"""A run's record files: created with its folder, written as the run goes, read back.

``preset.toml`` (the resolved spec), ``run.json`` (mode and start time), ``events.jsonl`` (every
event, flushed as it happens), ``history.csv`` (one row per epoch), ``summary.json`` (written
atomically at the end). Every file is appended line by line and flushed, so a run that is killed
leaves readable records up to its last finished epoch.
"""

from __future__ import annotations

import csv
import io
import json
import os
import secrets
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, cast

from nnexplorer.core.errors import RunError
from nnexplorer.core.events import (
    MODES,
    EpochEnded,
    Event,
    Mode,
    RunFinished,
    RunSummary,
    from_json,
    json_safe,
)
from nnexplorer.core.runs._layout import (
    EVENTS_FILE,
    HISTORY_FILE,
    META_FILE,
    PRESET_FILE,
    STDERR_FILE,
    SUMMARY_FILE,
    slugify,
)
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
    """Create a new, never reused run directory under ``root`` and write its preset.toml."""
    if mode not in MODES:
        raise RunError(f"unknown run mode {mode!r}; expected one of {', '.join(MODES)}")
    root = Path(root)
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise RunError(f"cannot create runs folder {root}: {exc.strerror or exc}") from None
    slug = slugify(spec.experiment.name)
    for _ in range(1000):
        stamp = time.strftime("%Y%m%d-%H%M%S")
        run_dir = root / f"{stamp}-{slug}-{secrets.token_hex(2)}"
        try:
            run_dir.mkdir(exist_ok=False)
        except FileExistsError:
            continue
        except OSError as exc:
            raise RunError(f"cannot create run folder {run_dir}: {exc.strerror or exc}") from None
        break
    else:
        raise RunError(f"could not find a free run folder name under {root}")
    (run_dir / PRESET_FILE).write_text(spec_to_toml(_absolute_sources(spec)), encoding="utf-8")
    meta = {"run_id": run_dir.name, "mode": mode, "created": time.time()}
    write_json_atomic(run_dir / META_FILE, meta)
    return run_dir


def write_json_atomic(path: Path, data: dict[str, Any]) -> None:
    """Write ``data`` as JSON to ``path`` through a temporary file and a rename."""
    text = json.dumps(json_safe(data), indent=2, sort_keys=False, allow_nan=False)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class RunRecorder:
    """An ``emit`` that records a run: events.jsonl, history.csv and summary.json.

    Thread-safe; several fits of a grid may report through one recorder. A grid's history rows
    carry ``candidate`` and ``fold``; with ``variant_column`` (a sweep) they carry ``variant``,
    the 1-based number of the variant that trained the epoch.
    """

    def __init__(self, run_dir: str | Path, *, variant_column: bool = False):
        self.run_dir = Path(run_dir)
        self.variant_column = variant_column
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._events: io.TextIOWrapper | None = None
        self._history: io.TextIOWrapper | None = None
        self._columns: list[str] | None = None
        self.finished = False

    def __call__(self, event: Event) -> None:
        line = event.to_json()
        with self._lock:
            if self._events is None:
                self._events = open(self.run_dir / EVENTS_FILE, "a", encoding="utf-8")  # noqa: SIM115
            self._events.write(line + "\n")
            self._events.flush()
            if isinstance(event, EpochEnded):
                self._add_history_row(event)
            elif isinstance(event, RunFinished):
                summary = {"status": event.status, **event.summary}
                if event.message and "message" not in summary:
                    summary["message"] = event.message
                write_json_atomic(self.run_dir / SUMMARY_FILE, summary)
                self.finished = True

    def _add_history_row(self, event: EpochEnded) -> None:
        row: dict[str, Any] = {"epoch": event.epoch}
        if self.variant_column and event.candidate is not None:
            row["variant"] = event.candidate + 1
        elif event.candidate is not None or event.fold is not None:
            row["candidate"] = event.candidate
            row["fold"] = event.fold
        row.update(json_safe(dict(event.metrics)))
        path = self.run_dir / HISTORY_FILE
        if self._columns is None:
            self._columns = _existing_header(path)
        if self._columns is None or any(key not in self._columns for key in row):
            self._widen_history(path, row)
        if self._history is None:
            self._history = open(path, "a", encoding="utf-8", newline="")  # noqa: SIM115
        assert self._columns is not None
        writer = csv.DictWriter(self._history, fieldnames=self._columns, lineterminator="\n")
        writer.writerow({k: "" if v is None else v for k, v in row.items()})
        self._history.flush()

    def _widen_history(self, path: Path, row: dict[str, Any]) -> None:
        """Start the file, or rewrite it with the new columns added (rare: new metric names)."""
        old_columns = self._columns or []
        columns = old_columns + [k for k in row if k not in old_columns]
        rows = read_history(path) if old_columns else []
        if self._history is not None:
            self._history.close()
        tmp = path.with_name(f".{path.name}.tmp")
        with open(tmp, "w", encoding="utf-8", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=columns, lineterminator="\n")
            writer.writeheader()
            for old in rows:
                writer.writerow({k: "" if v is None else v for k, v in old.items()})
        os.replace(tmp, path)
        self._columns = columns
        self._history = open(path, "a", encoding="utf-8", newline="")  # noqa: SIM115

    def close(self) -> None:
        """Close the open files (recording again reopens them)."""
        with self._lock:
            for handle in (self._events, self._history):
                if handle is not None:
                    handle.close()
            self._events = self._history = None


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
    """The lines of a file, without a last line cut short by a kill."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
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
    """summary.json of a run, or None when the run has not finished."""
    try:
        data = json.loads((Path(run_dir) / SUMMARY_FILE).read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return None
    return cast(RunSummary, data) if isinstance(data, dict) else None


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
