"""Rich output for the command line: a live view of a run's events (tables: console_tables).

:class:`RunRenderer` is an ``emit`` function. On a terminal it keeps a Rich Live display (header,
progress bar, last metrics, ETA; for a grid, one line per fit in progress); elsewhere (a pipe, a
file, a CI log) it prints one plain line per epoch (per fit for a grid). Rich honours
``NO_COLOR``. This module lives outside ``core`` because ``core`` never imports Rich.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any, TextIO

from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from nnexplorer.cli.tables import (
    STATUS_STYLE,
    candidates_table,
    fmt_duration,
    fmt_number,
    metrics_text,
    ordered_metrics,
    params_text,
)
from nnexplorer.core.events import (
    BatchProgress,
    CandidateFinished,
    CandidateStarted,
    DecisionBoundary,
    EpochEnded,
    Event,
    LayerStats,
    LogEvent,
    RunFinished,
    RunStarted,
)
from nnexplorer.tui.inside_render import boundary_picture, gradient_line, layer_table


def make_console(file: TextIO | None = None, *, stderr: bool = False) -> Console:
    """A Console for nnexplorer output (no automatic highlighting; NO_COLOR respected)."""
    return Console(file=file, stderr=stderr, highlight=False)


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
    layer_stats: LayerStats | None = None
    boundary: DecisionBoundary | None = None


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

    def _on_layer_stats(self, event: LayerStats) -> None:
        if event.candidate is None and event.fold is None:
            self.state.layer_stats = event

    def _on_decision_boundary(self, event: DecisionBoundary) -> None:
        if event.candidate is None and event.fold is None:
            self.state.boundary = event

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
        rows: list[RenderableType] = [Group(_inline(bar, label)), line]
        if s.layer_stats is not None:
            rows.append(gradient_line(s.layer_stats.layers))
        return rows

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
        parts.extend(self._inside_results())
        parts.append(self._status_lines(event))
        return Group(*parts)

    def _inside_results(self) -> list[RenderableType]:
        """The last layer statistics and decision regions of a train run."""
        s, width = self.state, self.console.width
        parts: list[RenderableType] = []
        if s.layer_stats is not None:
            parts.append(layer_table(s.layer_stats.layers, s.layer_stats.epoch, width))
        if s.boundary is not None:
            parts.append(Text(f"Decision regions (epoch {s.boundary.epoch})", style="bold"))
            parts.append(boundary_picture(s.boundary, width, 16))
        return parts

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
