"""Past and live runs: the list of a runs folder, and one run read back whole.

Records are read through their schema (:mod:`._schema`): a run whose records are damaged (cut
short, of the wrong type, unreadable) is listed as ``damaged`` with the reason, and never stops
the others from being listed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from nnexplorer.core.errors import RunError, SpecError, cut, describe_error
from nnexplorer.core.events import (
    MODES,
    Event,
    Mode,
    RunSummary,
)
from nnexplorer.core.files import not_regular
from nnexplorer.core.runs._layout import (
    _NAME_RE,
    EVENTS_FILE,
    HISTORY_FILE,
    META_FILE,
    PRESET_FILE,
    runs_root,
)
from nnexplorer.core.runs._liveness import LIVE_STATUSES, live_status
from nnexplorer.core.runs._records import read_events, read_history, summary_of
from nnexplorer.core.runs._schema import check_meta, read_json
from nnexplorer.core.spec import ExperimentSpec, spec_from_toml


def _mode(summary: RunSummary | None, meta: dict[str, Any]) -> Mode:
    """The run's mode as recorded (summary first, then run.json); ``train`` when unknown."""
    recorded = (summary or {}).get("mode") or meta.get("mode")
    return next((mode for mode in MODES if mode == recorded), "train")


@dataclass(frozen=True)
class RunInfo:
    """One line of the runs list."""

    run_dir: Path
    run_id: str
    name: str
    mode: Mode
    status: str  # a RunStatus; without a summary queued, running, interrupted (or unfinished);
    # or "damaged"
    started: datetime | None
    summary: RunSummary | None
    pid: int | None = None  # the worker's process id while the run lives
    host: str = ""  # the machine the run runs on
    progress: str = ""  # how far a live run is, e.g. "epoch 3/20"
    problem: str = ""  # why the run is "damaged" (e.g. "summary.json: not valid JSON ...")

    @property
    def ended(self) -> datetime | None:
        """When the run ended: its start plus its wall time (None while it has no summary)."""
        wall = (self.summary or {}).get("wall_seconds")
        if self.started is None or not isinstance(wall, int | float):
            return None
        return self.started + timedelta(seconds=float(wall))

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


def _read_meta(run_dir: Path) -> tuple[dict[str, Any], str]:
    """run.json checked against its schema: ``(meta, "")`` or ``({}, reason)``."""
    data, problem = read_json(run_dir / META_FILE)
    if data is None:
        return {}, problem
    meta, problem = check_meta(data)
    return (meta, "") if meta is not None else ({}, f"{META_FILE}: {problem}")


def _started(run_dir: Path, meta: dict[str, Any]) -> datetime | None:
    created = meta.get("created")
    if isinstance(created, int | float) and not isinstance(created, bool):
        try:
            return datetime.fromtimestamp(created)
        except (ValueError, OverflowError, OSError):
            pass
    match = _NAME_RE.match(run_dir.name)
    if match:
        try:
            return datetime.strptime(match.group(1), "%Y%m%d-%H%M%S")
        except ValueError:  # a name that looks like a date but is not one (month 13)
            return None
    return None


def _preset_name(run_dir: Path) -> tuple[str, str]:
    """The experiment's name from preset.toml and, when it cannot be read, the reason."""
    import tomllib

    path = run_dir / PRESET_FILE
    why = not_regular(path)
    if why:
        return run_dir.name, f"{PRESET_FILE} {why}"
    try:
        data = tomllib.loads(path.read_bytes().decode("utf-8"))
    except OSError as exc:
        return run_dir.name, f"{PRESET_FILE}: cannot read it ({exc.strerror or exc})"
    except (ValueError, UnicodeDecodeError) as exc:
        return run_dir.name, cut(f"{PRESET_FILE}: not a readable preset ({exc})", 200)
    experiment = data.get("experiment")
    name = experiment.get("name") if isinstance(experiment, dict) else None
    return (cut(name, 80) if isinstance(name, str) and name else run_dir.name), ""


def _is_run_folder(path: Path) -> bool:
    try:
        return path.is_dir() and (path / PRESET_FILE).exists()
    except OSError:
        return False


def run_info(run_dir: Path) -> RunInfo:
    """One line of the runs list for ``run_dir`` (``damaged`` with the reason if need be)."""
    meta, meta_problem = _read_meta(run_dir)
    summary, summary_problem = summary_of(run_dir)
    name, preset_problem = _preset_name(run_dir)
    problem = next((p for p in (summary_problem, preset_problem, meta_problem) if p), "")
    status = str(summary["status"]) if summary else live_status(meta)
    pid = meta.get("pid")
    return RunInfo(
        run_dir=run_dir,
        run_id=run_dir.name,
        name=name,
        mode=_mode(summary, meta),
        status="damaged" if problem else status,
        started=_started(run_dir, meta),
        summary=summary,
        pid=pid if isinstance(pid, int) and not isinstance(pid, bool) else None,
        host=str(meta.get("host") or ""),
        progress=str(meta.get("progress") or "") if status in LIVE_STATUSES else "",
        problem=problem,
    )


def list_runs(root: str | Path | None = None) -> list[RunInfo]:
    """Every run under ``root`` (default: :func:`runs_root`), newest first; never raises.

    A root that does not exist or cannot be read lists nothing.
    """
    root = runs_root(root)
    try:
        folders = [p for p in root.iterdir() if _is_run_folder(p)]
    except OSError:
        return []
    infos = []
    for run_dir in folders:
        try:
            infos.append(run_info(run_dir))
        except Exception as exc:  # a record no check foresaw: this run is damaged, not the list
            reason = cut(f"unreadable: {describe_error(exc)}", 200)
            infos.append(
                RunInfo(
                    run_dir,
                    run_dir.name,
                    run_dir.name,
                    "train",
                    "damaged",
                    None,
                    None,
                    problem=reason,
                )
            )
    infos.sort(key=lambda i: (i.started or datetime.min, i.run_id), reverse=True)
    return infos


def load_run(run_dir: str | Path) -> RunRecord:
    """Read a run directory back: its spec, events, history rows and summary."""
    run_dir = Path(run_dir)
    preset = run_dir / PRESET_FILE
    why = not_regular(preset)
    if why:
        raise RunError(f"{run_dir} is not a run folder ({preset.name} {why})")
    try:
        text = preset.read_bytes().decode("utf-8")
    except OSError as exc:
        raise RunError(f"{run_dir} is not a run folder ({preset.name}: {exc.strerror})") from None
    except UnicodeDecodeError:
        raise RunError(f"{preset}: the recorded preset is not UTF-8 text") from None
    try:
        spec = spec_from_toml(text, file=str(preset))
    except SpecError as exc:
        raise RunError(f"{preset}: the recorded preset is no longer valid: {exc}") from None
    summary, _ = summary_of(run_dir)
    meta, _ = _read_meta(run_dir)
    return RunRecord(
        run_dir=run_dir,
        spec=spec,
        events=read_events(run_dir / EVENTS_FILE),
        history=read_history(run_dir / HISTORY_FILE),
        summary=summary,
        mode=_mode(summary, meta),
    )
