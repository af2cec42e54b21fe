"""Rich output for the command line: a live view of a run's events, and summary tables.

:class:`RunRenderer` is an ``emit`` function. On a terminal it keeps a Rich Live display (header,
progress bar, last metrics, ETA; for a grid, one line per fit in progress); elsewhere (a pipe, a
file, a CI log) it prints one plain line per epoch (per fit for a grid). Rich honours
``NO_COLOR``. This module lives outside ``core`` because ``core`` never imports Rich.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

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

STATUS_STYLE = {
    "completed": "bold green",
    "diverged": "bold red",
    "failed": "bold red",
    "cancelled": "bold yellow",
    "unfinished": "dim",
}


def make_console(file: TextIO | None = None, *, stderr: bool = False) -> Console:
    """A Console for nnexplorer output (no automatic highlighting; NO_COLOR respected)."""
    return Console(file=file, stderr=stderr, highlight=False)


# --------------------------------------------------------------------------- formatting


def fmt_number(value: Any) -> str:
    """A metric value in 4 significant digits (``nan``/``inf`` kept readable)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    if isinstance(value, float) and not math.isfinite(value):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def fmt_duration(seconds: float | None) -> str:
    """``1:02:03``, ``2:05`` or ``0:07`` (``--:--`` when unknown)."""
    if seconds is None or not math.isfinite(seconds) or seconds < 0:
        return "--:--"
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def ordered_metrics(metrics: dict[str, Any]) -> list[tuple[str, Any]]:
    """Metrics with loss first and each ``val_`` metric right after its training twin."""
    names = [k for k in metrics if not k.startswith("val_")]
    names.sort(key=lambda k: (k != "loss", list(metrics).index(k)))
    out: list[tuple[str, Any]] = []
    for name in names:
        out.append((name, metrics[name]))
        if f"val_{name}" in metrics:
            out.append((f"val_{name}", metrics[f"val_{name}"]))
    out.extend((k, v) for k, v in metrics.items() if k.startswith("val_") and k[4:] not in names)
    return out


def metrics_text(metrics: dict[str, Any]) -> str:
    """``loss 0.1234  val_loss 0.2345  accuracy 0.97 ...``."""
    return "  ".join(f"{k} {fmt_number(v)}" for k, v in ordered_metrics(metrics))


def params_text(params: dict[str, Any]) -> str:
    """``layers.0.units=64, hidden.activation=relu``."""
    return ", ".join(f"{k}={fmt_number(v)}" for k, v in params.items())


# --------------------------------------------------------------------------- state


@dataclass
class _Fit:
    candidate: int
    fold: int | None
    epoch: int = 0
    epochs: int = 0
    metrics: dict[str, Any] = field(default_factory=dict)


@dataclass
class _State:
    mode: str = "train"
    name: str = ""
    device: str = ""
    n_params: int = 0
    run_dir: str = ""
    started: float = field(default_factory=time.monotonic)
    epoch: int = 0
    epochs: int = 0
    batch: int = 0
    batches: int = 0
    metrics: dict[str, Any] = field(default_factory=dict)
    epoch_seconds: list[float] = field(default_factory=list)
    n_candidates: int = 0
    n_folds: int = 0
    fits_done: int = 0
    grid_started: float | None = None
    running: dict[tuple[int, int | None], _Fit] = field(default_factory=dict)
    candidates: dict[int, CandidateFinished] = field(default_factory=dict)


class RunRenderer:
    """An ``emit`` that shows a run on a Rich console; use it as a context manager."""

    def __init__(self, console: Console | None = None, *, live: bool | None = None):
        self.console = console or make_console()
        if live is None:
            live = self.console.is_terminal and not self.console.is_dumb_terminal
        self.live_mode = live
        self.state = _State()
        self.finished: RunFinished | None = None
        self._lock = threading.RLock()
        self._live: Live | None = None

    def __enter__(self) -> RunRenderer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop the live display (the last frame stays on screen)."""
        with self._lock:
            if self._live is not None:
                self._live.stop()
                self._live = None

    def __call__(self, event: Event) -> None:
        with self._lock:
            handler = getattr(self, f"_on_{event.type}", None)
            if handler is not None:
                handler(event)
            if self._live is not None:
                self._live.refresh()

    # ------------------------------------------------------------------ event handlers

    def _on_run_started(self, event: RunStarted) -> None:
        s = self.state
        s.mode, s.device, s.n_params, s.run_dir = (
            event.mode,
            event.device,
            event.n_params,
            event.run_dir,
        )
        s.name = str(event.spec.get("name", ""))
        s.epochs = int(event.spec.get("epochs", 0) or 0)
        s.n_candidates, s.n_folds = event.n_candidates, event.n_folds
        s.started = time.monotonic()
        if self.live_mode:
            self._live = Live(
                console=self.console,
                get_renderable=self._render,
                auto_refresh=False,  # refreshed on each event, so no thread reads the state
                transient=False,
            )
            self._live.start()
        else:
            self.console.print(self._header())

    def _on_epoch_ended(self, event: EpochEnded) -> None:
        s = self.state
        if event.candidate is None and event.fold is None:
            s.epoch, s.epochs, s.metrics = event.epoch, event.epochs, dict(event.metrics)
            s.epoch_seconds.append(event.seconds)
            s.batch = s.batches = 0
            if not self.live_mode:
                self.console.print(self._epoch_line(), markup=False, soft_wrap=True)
            return
        fit = s.running.get((event.candidate or 0, event.fold))
        if fit is None:
            fit = s.running[(event.candidate or 0, event.fold)] = _Fit(
                event.candidate or 0, event.fold
            )
        fit.epoch, fit.epochs, fit.metrics = event.epoch, event.epochs, dict(event.metrics)

    def _on_batch_progress(self, event: BatchProgress) -> None:
        if event.candidate is None and event.fold is None:
            self.state.batch, self.state.batches = event.batch, event.batches

    def _on_candidate_started(self, event: CandidateStarted) -> None:
        s = self.state
        s.n_candidates = event.n_candidates or s.n_candidates
        s.n_folds = event.n_folds or s.n_folds
        if s.grid_started is None:
            s.grid_started = time.monotonic()
        s.running[(event.candidate, event.fold)] = _Fit(event.candidate, event.fold)

    def _on_candidate_finished(self, event: CandidateFinished) -> None:
        s = self.state
        if event.fold is None:
            s.candidates[event.candidate] = event
            for key in [k for k in s.running if k[0] == event.candidate]:
                del s.running[key]
            if not self.live_mode:
                self.console.print(self._candidate_line(event), markup=False, soft_wrap=True)
            return
        s.running.pop((event.candidate, event.fold), None)
        s.fits_done += 1
        if not self.live_mode:
            self.console.print(self._fit_line(event), markup=False, soft_wrap=True)

    def _on_log(self, event: LogEvent) -> None:
        if event.level == "debug":
            return
        style = {"warning": "yellow", "error": "bold red"}.get(event.level, "dim")
        self.console.print(Text(event.message, style=style), soft_wrap=not self.live_mode)

    def _on_run_finished(self, event: RunFinished) -> None:
        self.finished = event
        self.close()
        if self.state.mode == "grid" or self.state.candidates:
            self.console.print(self._grid_results(event))
        else:
            self.console.print(self._train_results(event))

    # ------------------------------------------------------------------ rendering

    def _header(self) -> Text:
        s = self.state
        parts = [s.name or "experiment", s.mode, s.device or "CPU"]
        if s.n_params:
            parts.append(f"{s.n_params:,} params")
        if s.mode == "grid" and s.n_candidates:
            parts.append(f"{s.n_candidates} candidates x {s.n_folds or '?'} folds")
        text = Text(" · ".join(parts), style="bold")
        if s.run_dir:
            text.append(f"\nrun: {s.run_dir}", style="dim")
        return text

    def _eta(self) -> float | None:
        per = self._seconds_per_epoch()
        if per is None or not self.state.epochs:
            return None
        return per * max(0, self.state.epochs - self.state.epoch)

    def _seconds_per_epoch(self) -> float | None:
        """Mean of the last few epochs; the first one (graph tracing) only while it is alone."""
        seconds = self.state.epoch_seconds
        recent = (seconds[1:] if len(seconds) > 1 else seconds)[-5:]
        return sum(recent) / len(recent) if recent else None

    def _epoch_line(self) -> str:
        s = self.state
        width = len(str(s.epochs or s.epoch))
        line = f"epoch {s.epoch:>{width}}/{s.epochs}  {metrics_text(s.metrics)}"
        per = self._seconds_per_epoch()
        if per is not None:
            line += f"  {per:.2f} s/epoch  ETA {fmt_duration(self._eta())}"
        return line

    def _total_fits(self) -> int:
        s = self.state
        return s.n_candidates * max(1, s.n_folds)

    def _fits_done(self) -> int:
        s = self.state
        return max(s.fits_done, len(s.candidates) * max(1, s.n_folds))

    def _grid_eta(self) -> float | None:
        s = self.state
        done, total = self._fits_done(), self._total_fits()
        if not done or s.grid_started is None or not total:
            return None
        return (time.monotonic() - s.grid_started) / done * max(0, total - done)

    def _fit_line(self, event: CandidateFinished) -> str:
        s = self.state
        fold = "" if event.fold is None else f" fold {event.fold + 1}/{s.n_folds or '?'}"
        score = "" if event.score is None else f" score {fmt_number(event.score)}"
        return (
            f"fit {self._fits_done()}/{self._total_fits() or '?'}  candidate "
            f"{event.candidate + 1}/{s.n_candidates or '?'}{fold}{score}  {event.status}  "
            f"{event.seconds:.1f} s  ETA {fmt_duration(self._grid_eta())}"
        )

    def _candidate_line(self, event: CandidateFinished) -> str:
        s = self.state
        score = "-" if event.score is None else fmt_number(event.score)
        if event.std_score is not None:
            score += f" ± {fmt_number(event.std_score)}"
        return (
            f"candidate {event.candidate + 1}/{s.n_candidates or '?'}  {params_text(event.params)}"
            f"  score {score}  {event.status}  ({self._fits_done()}/{self._total_fits()} fits)"
        )

    def _render(self) -> RenderableType:
        if self.state.mode == "grid":
            return Group(self._header(), *self._grid_rows())
        return Group(self._header(), *self._train_rows())

    def _train_rows(self) -> list[RenderableType]:
        s = self.state
        fraction = s.batch / s.batches if s.batches else 0.0
        bar = ProgressBar(total=max(1, s.epochs), completed=s.epoch + fraction, width=40)
        label = Text(f" epoch {s.epoch}/{s.epochs or '?'}")
        if s.batches:
            label.append(f"  batch {s.batch}/{s.batches}", style="dim")
        line = Text(metrics_text(s.metrics) or "waiting for the first epoch ...")
        per = self._seconds_per_epoch()
        if per is not None:
            line.append(f"   {per:.2f} s/epoch  ETA {fmt_duration(self._eta())}", style="cyan")
        return [Group(_inline(bar, label)), line]

    def _grid_rows(self) -> list[RenderableType]:
        s = self.state
        total, done = self._total_fits(), self._fits_done()
        bar = ProgressBar(total=max(1, total), completed=done, width=40)
        label = Text(f" fits {done}/{total or '?'}")
        label.append(f"  ETA {fmt_duration(self._grid_eta())}", style="cyan")
        rows: list[RenderableType] = [_inline(bar, label)]
        for key in sorted(s.running, key=lambda k: (k[0], -1 if k[1] is None else k[1])):
            fit = s.running[key]
            fold = "" if fit.fold is None else f"  fold {fit.fold + 1}/{s.n_folds or '?'}"
            progress = (
                f"epoch {fit.epoch}/{fit.epochs or '?'}  {metrics_text(fit.metrics)}"
                if fit.epoch
                else "starting ..."
            )
            rows.append(
                Text(f"  candidate {fit.candidate + 1}/{s.n_candidates or '?'}{fold}  {progress}")
            )
        if s.epoch:  # the refit of the best candidate on the whole training set
            rows.append(Text(f"  refit  epoch {s.epoch}/{s.epochs}  {metrics_text(s.metrics)}"))
        return rows

    def _status_lines(self, event: RunFinished) -> Text:
        summary = event.summary
        text = Text("status: ")
        text.append(event.status, style=STATUS_STYLE.get(event.status, ""))
        epochs = summary.get("epochs_completed")
        if epochs is not None:
            text.append(f"  epochs: {epochs}")
        wall = summary.get("wall_seconds")
        if isinstance(wall, int | float):
            text.append(f"  time: {fmt_duration(wall)}")
        if event.message:
            text.append(f"\n{event.message}", style="yellow")
        run_dir = summary.get("run_dir") or self.state.run_dir
        if run_dir:
            text.append(f"\nrun directory: {run_dir}")
        return text

    def _train_results(self, event: RunFinished) -> RenderableType:
        metrics = event.summary.get("test_metrics") or {}
        parts: list[RenderableType] = []
        if metrics:
            table = Table(title="Test metrics", title_justify="left")
            table.add_column("metric")
            table.add_column("value", justify="right")
            for name, value in ordered_metrics(metrics):
                table.add_row(name, fmt_number(value))
            parts.append(table)
        parts.append(self._status_lines(event))
        return Group(*parts)

    def _grid_results(self, event: RunFinished) -> RenderableType:
        parts: list[RenderableType] = []
        if self.state.candidates:
            parts.append(candidates_table(self.state.candidates.values()))
        best = event.summary.get("best_params")
        if best:
            line = Text("best params: ", style="bold")
            line.append(params_text(best))
            score = event.summary.get("best_score")
            if score is not None:
                line.append(f"  (score {fmt_number(score)})")
            parts.append(line)
        metrics = event.summary.get("test_metrics") or {}
        if metrics:
            parts.append(Text(f"test metrics of the refitted best model: {metrics_text(metrics)}"))
        parts.append(self._status_lines(event))
        return Group(*parts)


def _inline(bar: ProgressBar, label: Text) -> Table:
    grid = Table.grid()
    grid.add_column(width=bar.width)
    grid.add_column()
    grid.add_row(bar, label)
    return grid


# --------------------------------------------------------------------------- tables


def candidates_table(candidates: Iterable[CandidateFinished]) -> Table:
    """Grid candidates ranked by mean score (best first; failed ones last)."""
    ranked = sorted(
        candidates,
        key=lambda c: (c.score is None or not math.isfinite(c.score), -(c.score or 0.0)),
    )
    table = Table(title="Candidates", title_justify="left")
    for name, justify in (("rank", "right"), ("params", "left"), ("mean ± std", "right")):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    table.add_column("fit time", justify="right")
    table.add_column("status")
    for rank, cand in enumerate(ranked, start=1):
        score = "-" if cand.score is None else fmt_number(cand.score)
        if cand.score is not None and cand.std_score is not None:
            score += f" ± {fmt_number(cand.std_score)}"
        status = Text(cand.status, style=STATUS_STYLE.get(cand.status, ""))
        table.add_row(
            str(rank) if cand.score is not None else "-",
            params_text(cand.params),
            score,
            f"{cand.seconds:.1f} s",
            status,
        )
    return table


def presets_table(presets: Sequence[Any]) -> Table:
    """Bundled presets: name, description, path."""
    table = Table(title="Bundled presets", title_justify="left")
    table.add_column("name", style="bold", no_wrap=True)
    table.add_column("description")
    table.add_column("path", style="dim", overflow="fold")
    for preset in presets:
        table.add_row(preset.name, preset.description, str(preset.path))
    return table


def runs_table(runs: Sequence[Any], root: Path | None = None) -> Table:
    """Past runs (``core.runs.RunInfo``): id, name, mode, status, epochs, test metrics, time."""
    table = Table(title=f"Runs in {root}" if root else "Runs", title_justify="left")
    table.add_column("id", no_wrap=True)
    table.add_column("name")
    table.add_column("mode")
    table.add_column("status")
    table.add_column("epochs", justify="right")
    table.add_column("test metrics")
    table.add_column("time", justify="right")
    for run in runs:
        summary = run.summary or {}
        metrics = summary.get("test_metrics") or {}
        shown = metrics_text(metrics)
        if run.mode == "grid" and summary.get("best_score") is not None:
            shown = f"best {fmt_number(summary['best_score'])}" + (f"  {shown}" if shown else "")
        wall = summary.get("wall_seconds")
        started = run.started.strftime("%Y-%m-%d %H:%M") if run.started else ""
        when = f"{started} ({fmt_duration(wall)})" if isinstance(wall, int | float) else started
        table.add_row(
            run.run_id,
            run.name,
            run.mode,
            Text(run.status, style=STATUS_STYLE.get(run.status, "")),
            fmt_number(summary.get("epochs_completed", "")),
            shown,
            when,
        )
    return table
