"""Past and live runs: the list of a runs folder, and one run read back whole."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from nnexplorer.core.errors import RunError, SpecError
from nnexplorer.core.events import (
    Event,
    Mode,
    RunSummary,
)
from nnexplorer.core.runs._layout import (
    _NAME_RE,
    EVENTS_FILE,
    HISTORY_FILE,
    META_FILE,
    PRESET_FILE,
    runs_root,
)
from nnexplorer.core.runs._liveness import LIVE_STATUSES, live_status
from nnexplorer.core.runs._records import read_events, read_history, read_summary
from nnexplorer.core.spec import ExperimentSpec, spec_from_toml


def _mode(summary: RunSummary | None, meta: dict[str, Any]) -> Mode:
    """The run's mode as recorded (summary first, then run.json); ``train`` when unknown."""
    recorded = (summary or {}).get("mode") or meta.get("mode")
    return "grid" if recorded == "grid" else "train"


@dataclass(frozen=True)
class RunInfo:
    """One line of the runs list."""

    run_dir: Path
    run_id: str
    name: str
    mode: Mode
    status: str  # a RunStatus; without a summary queued, running, interrupted (or unfinished)
    started: datetime | None
    summary: RunSummary | None
    pid: int | None = None  # the process of a live run (recorded in run.json)
    host: str = ""  # the machine it runs on
    progress: str = ""  # a live run's progress: "epoch 3/10", "fits 4/12"

    @property
    def live(self) -> bool:
        """True while the run is queued or running."""
        return self.status in LIVE_STATUSES


@dataclass(frozen=True)
class RunRecord:
    """Everything recorded about one run."""

    run_dir: Path
    spec: ExperimentSpec
    events: list[Event] = field(default_factory=list)
    history: list[dict[str, Any]] = field(default_factory=list)
    summary: RunSummary | None = None
    mode: Mode = "train"


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
        mode = _mode(summary, meta)
        status = str((summary or {}).get("status") or live_status(meta))
        pid = meta.get("pid")
        infos.append(
            RunInfo(
                run_dir=run_dir,
                run_id=run_dir.name,
                name=_preset_name(run_dir),
                mode=mode,
                status=status,
                started=_started(run_dir, meta),
                summary=summary,
                pid=pid if isinstance(pid, int) and not isinstance(pid, bool) else None,
                host=str(meta.get("host") or ""),
                progress=str(meta.get("progress") or "") if status in LIVE_STATUSES else "",
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
        mode=_mode(summary, meta),
    )
