"""Run directories: create them, record a run as it happens, list and load past runs.

A run directory is named ``YYYYmmdd-HHMMSS-<slug>-<4 hex>`` and holds ``preset.toml`` (the
resolved spec), ``run.json`` (mode and start time), ``events.jsonl`` (every event, flushed as it
happens), ``history.csv`` (one row per epoch), ``summary.json`` (written atomically at the end)
and, once trained, ``model.keras``. Every file is appended line by line and flushed, so a run
that is killed leaves readable records up to its last finished epoch.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import secrets
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from nnexplorer.core.errors import RunError, SpecError
from nnexplorer.core.events import (
    DecisionBoundary,
    EpochEnded,
    Event,
    LayerStats,
    RunFinished,
    from_json,
    json_safe,
)
from nnexplorer.core.spec import ExperimentSpec, spec_from_toml, spec_to_toml, validate_spec

EVENTS_FILE = "events.jsonl"
HISTORY_FILE = "history.csv"
SUMMARY_FILE = "summary.json"
PRESET_FILE = "preset.toml"
META_FILE = "run.json"
MODEL_FILE = "model.keras"
STDERR_FILE = "stderr.log"
LAYER_STATS_FILE = "layer_stats.jsonl"  # one layer_stats event per line
BOUNDARY_FILE = "boundary.json"  # the last decision_boundary event
MISCLASSIFIED_FILE = "misclassified.json"  # misclassified test rows of a classifier
MODES = ("train", "grid")
_NAME_RE = re.compile(r"^(\d{8}-\d{6})-([a-z0-9-]*)-([0-9a-f]{4})$")
_GRID_KEYS = ("candidate", "fold")


def runs_root(explicit: str | Path | None = None) -> Path:
    """Where runs are kept: ``explicit`` (--runs), else ``$NNEXPLORER_RUNS``, else ``./runs``."""
    chosen = explicit or os.environ.get("NNEXPLORER_RUNS") or "runs"
    return Path(chosen).expanduser()


def slugify(name: str, max_length: int = 40) -> str:
    """``name`` reduced to ``[a-z0-9-]`` (never empty, never a path)."""
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    slug = slug[:max_length].strip("-")
    return slug or "run"


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


def create_run_dir(root: str | Path, spec: ExperimentSpec, mode: str = "train") -> Path:
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
    """An ``emit`` that records a run: events.jsonl, history.csv and summary.json (and the
    diagnostics: layer_stats.jsonl, boundary.json).

    Thread-safe; several fits of a grid may report through one recorder.
    """

    def __init__(self, run_dir: str | Path):
        self.run_dir = Path(run_dir)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._events: io.TextIOWrapper | None = None
        self._history: io.TextIOWrapper | None = None
        self._layer_stats: io.TextIOWrapper | None = None
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
            elif isinstance(event, LayerStats):
                if self._layer_stats is None:
                    path = self.run_dir / LAYER_STATS_FILE
                    self._layer_stats = open(path, "a", encoding="utf-8")  # noqa: SIM115
                self._layer_stats.write(line + "\n")
                self._layer_stats.flush()
            elif isinstance(event, DecisionBoundary):
                write_json_atomic(self.run_dir / BOUNDARY_FILE, event.to_dict())
            elif isinstance(event, RunFinished):
                summary = {"status": event.status, **event.summary}
                if event.message and "message" not in summary:
                    summary["message"] = event.message
                write_json_atomic(self.run_dir / SUMMARY_FILE, summary)
                self.finished = True

    def _add_history_row(self, event: EpochEnded) -> None:
        row: dict[str, Any] = {"epoch": event.epoch}
        if event.candidate is not None or event.fold is not None:
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
            for handle in (self._events, self._history, self._layer_stats):
                if handle is not None:
                    handle.close()
            self._events = self._history = self._layer_stats = None


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


def read_summary(run_dir: str | Path) -> dict[str, Any] | None:
    """summary.json of a run, or None when the run has not finished."""
    try:
        data = json.loads((Path(run_dir) / SUMMARY_FILE).read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return None
    return data if isinstance(data, dict) else None


@dataclass(frozen=True)
class RunInfo:
    """One line of the runs list."""

    run_dir: Path
    run_id: str
    name: str
    mode: str
    status: str  # completed | diverged | cancelled | failed | unfinished
    started: datetime | None
    summary: dict[str, Any] | None


@dataclass(frozen=True)
class RunRecord:
    """Everything recorded about one run."""

    run_dir: Path
    spec: ExperimentSpec
    events: list[Event] = field(default_factory=list)
    history: list[dict[str, Any]] = field(default_factory=list)
    summary: dict[str, Any] | None = None
    mode: str = "train"


def _read_meta(run_dir: Path) -> dict[str, Any]:
    try:
        data = json.loads((run_dir / META_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _started(run_dir: Path, meta: dict[str, Any]) -> datetime | None:
    created = meta.get("created")
    if isinstance(created, int | float):
        return datetime.fromtimestamp(created)
    match = _NAME_RE.match(run_dir.name)
    if match:
        return datetime.strptime(match.group(1), "%Y%m%d-%H%M%S")
    return None


def _preset_name(run_dir: Path) -> str:
    import tomllib

    try:
        data = tomllib.loads((run_dir / PRESET_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return run_dir.name
    name = data.get("experiment", {}).get("name")
    return str(name) if name else run_dir.name


def list_runs(root: str | Path | None = None) -> list[RunInfo]:
    """Every run under ``root`` (default: :func:`runs_root`), newest first."""
    root = runs_root(root)
    if not root.is_dir():
        return []
    infos = []
    for run_dir in root.iterdir():
        if not run_dir.is_dir() or not (run_dir / PRESET_FILE).is_file():
            continue
        meta = _read_meta(run_dir)
        summary = read_summary(run_dir)
        mode = str((summary or {}).get("mode") or meta.get("mode") or "train")
        status = str((summary or {}).get("status") or "unfinished")
        infos.append(
            RunInfo(
                run_dir=run_dir,
                run_id=run_dir.name,
                name=_preset_name(run_dir),
                mode=mode,
                status=status,
                started=_started(run_dir, meta),
                summary=summary,
            )
        )
    infos.sort(key=lambda i: (i.started or datetime.min, i.run_id), reverse=True)
    return infos


def load_run(run_dir: str | Path) -> RunRecord:
    """Read a run directory back: its spec, events, history rows and summary."""
    run_dir = Path(run_dir)
    preset = run_dir / PRESET_FILE
    try:
        text = preset.read_text(encoding="utf-8")
    except OSError as exc:
        raise RunError(f"{run_dir} is not a run folder ({preset.name}: {exc.strerror})") from None
    try:
        spec = spec_from_toml(text, file=str(preset))
    except SpecError as exc:
        raise RunError(f"{preset}: the recorded preset is no longer valid: {exc}") from None
    summary = read_summary(run_dir)
    meta = _read_meta(run_dir)
    return RunRecord(
        run_dir=run_dir,
        spec=spec,
        events=read_events(run_dir / EVENTS_FILE),
        history=read_history(run_dir / HISTORY_FILE),
        summary=summary,
        mode=str((summary or {}).get("mode") or meta.get("mode") or "train"),
    )


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
