"""Rich output for the command line: a live view of a run's events (tables: :mod:`.tables`).

:class:`RunRenderer` is an ``emit`` function. On a terminal it keeps a Rich Live display (header,
progress bar, last metrics, ETA; for a grid, one line per fit in progress); elsewhere (a pipe, a
file, a CI log) it prints one plain line per epoch (per fit for a grid). Rich honours
``NO_COLOR``. This module lives outside ``core`` because ``core`` never imports Rich.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import TextIO

from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from nnexplorer.cli.tables import candidates_table, status_text, variants_table
from nnexplorer.core.events import (
    CandidateFinished,
    DecisionBoundary,
    EpochEnded,
    Event,
    LayerStats,
    LogEvent,
    RunFinished,
    RunQueued,
    RunStarted,
    SlotAcquired,
    silence,
)
from nnexplorer.core.formatting import (
    fmt_duration,
    fmt_mean_std,
    fmt_number,
    fmt_seconds,
    metrics_text,
    ordered_metrics,
    params_text,
    status_word,
)
from nnexplorer.core.progress import FitProgress, RunProgress
from nnexplorer.tui.inside_render import boundary_picture, gradient_line, layer_table


class QuietConsole(Console):
    """A Console that falls silent when its reader goes away (``nnexplorer run ... | head``).

    Rich's own answer to a closed pipe is to exit the program, which would end the run in the
    middle; here the output just stops and the run goes on, and is recorded.
    """

    def on_broken_pipe(self) -> None:
        self.quiet = True
        silence(self.file)


def make_console(file: TextIO | None = None, *, stderr: bool = False) -> Console:
    """A Console for nnexplorer output (no automatic highlighting; NO_COLOR respected)."""
    return QuietConsole(file=file, stderr=stderr, highlight=False)


class RunRenderer:
    """An ``emit`` that shows a run on a Rich console; use it as a context manager.

    The run's state is a :class:`~nnexplorer.core.progress.RunProgress` (``self.progress``),
    the same reducer the explorer draws from; this class only decides what to print.
    """

    def __init__(self, console: Console | None = None, *, live: bool | None = None):
        self.console = console or make_console()
        if live is None:
            live = self.console.is_terminal and not self.console.is_dumb_terminal
        self.live_mode = live
        self.progress = RunProgress()
        self.layer_stats: LayerStats | None = None  # the last of the run (not of its fits)
        self.boundary: DecisionBoundary | None = None
        self.finished: RunFinished | None = None
        self._lock = threading.RLock()
        self._live: Live | None = None
        self._replaying = False

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
            self.progress.apply(event)
            handler = getattr(self, f"_on_{event.type}", None)
            if handler is not None:
                handler(event)
            if self._live is not None and not self._replaying:
                self._live.refresh()

    def replay(self, events: Iterable[Event]) -> None:
        """Show a run's recorded events at once (attaching): the live display is drawn once
        at the end; in a pipe each past epoch still gets its line."""
        with self._lock:
            self._replaying = True
            try:
                for event in events:
                    self(event)
            finally:
                self._replaying = False
            if self._live is not None:
                self._live.refresh()

    # ------------------------------------------------------------------ event handlers

    def _on_run_started(self, event: RunStarted) -> None:
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

    def _on_run_queued(self, event: RunQueued) -> None:
        ahead = (
            f" ({event.ahead} run{'s' if event.ahead != 1 else ''} ahead)" if event.ahead else ""
        )
        self.console.print(
            Text(f"queued: waiting for a free slot of {event.slots}{ahead}", style="dim")
        )

    def _on_slot_acquired(self, event: SlotAcquired) -> None:
        where = f" on GPU {event.gpu}" if event.gpu else ""
        self.console.print(
            Text(f"slot {event.slot + 1}/{event.slots}{where}: starting", style="dim")
        )

    def _on_epoch_ended(self, event: EpochEnded) -> None:
        if self.live_mode:
            return
        if event.candidate is None:
            self.console.print(self._epoch_line(), markup=False, soft_wrap=True)
        elif self.progress.mode == "sweep":
            self.console.print(self._variant_epoch_line(event), markup=False, soft_wrap=True)

    def _on_candidate_finished(self, event: CandidateFinished) -> None:
        if self.live_mode:
            return
        if self.progress.mode == "sweep":
            line = self._variant_line(event)
        elif event.fold is not None:
            line = self._fit_line(event)
        else:
            line = self._candidate_line(event)
        self.console.print(line, markup=False, soft_wrap=True)

    def _on_layer_stats(self, event: LayerStats) -> None:
        if event.candidate is None and event.fold is None:
            self.layer_stats = event

    def _on_decision_boundary(self, event: DecisionBoundary) -> None:
        if event.candidate is None and event.fold is None:
            self.boundary = event

    def _on_log(self, event: LogEvent) -> None:
        if event.level == "debug":
            return
        style = {"warning": "yellow", "error": "bold red"}.get(event.level, "dim")
        self.console.print(Text(event.message, style=style), soft_wrap=not self.live_mode)

    def _on_run_finished(self, event: RunFinished) -> None:
        self.finished = event
        self.close()
        if self.progress.mode == "sweep":
            self.console.print(self._sweep_results(event))
        elif self.progress.mode == "grid" or self.progress.candidates:
            self.console.print(self._grid_results(event))
        else:
            self.console.print(self._train_results(event))

    # ------------------------------------------------------------------ rendering

    def _header(self) -> Text:
        p = self.progress
        parts = [p.name or "experiment", p.mode, p.device or "CPU"]
        if p.n_params:
            parts.append(f"{p.n_params:,} params")
        if p.mode == "grid" and p.n_candidates:
            parts.append(f"{p.n_candidates} candidates x {p.n_folds or '?'} folds")
        if p.mode == "sweep" and p.n_candidates:
            parts.append(f"{p.n_candidates} variants, ranked by {p.scoring or '?'}")
        text = Text(" · ".join(parts), style="bold")
        if p.run_dir:
            text.append(f"\nrun: {p.run_dir}", style="dim")
        return text

    def _pace(self, fit: FitProgress) -> str:
        """``0.5 s/epoch  ETA 00:01``, or nothing before the first epoch."""
        per = fit.seconds_per_epoch()
        if per is None:
            return ""
        return f"{fmt_seconds(per)} s/epoch  ETA {fmt_duration(fit.eta())}"

    def _epoch_line(self) -> str:
        fit = self.progress.fit
        planned = fit.epochs or self.progress.epochs_planned
        width = len(str(planned or fit.epoch))
        line = f"epoch {fit.epoch:>{width}}/{planned}  {metrics_text(fit.metrics)}"
        pace = self._pace(fit)
        return f"{line}  {pace}" if pace else line

    def _fits(self) -> str:
        p = self.progress
        return f"{p.fits_done()}/{p.fits_total() or '?'}"

    def _fit_line(self, event: CandidateFinished) -> str:
        p = self.progress
        fold = "" if event.fold is None else f" fold {event.fold + 1}/{p.n_folds or '?'}"
        score = "" if event.score is None else f" score {fmt_number(event.score)}"
        return (
            f"fit {self._fits()}  candidate {event.candidate + 1}/{p.n_candidates or '?'}"
            f"{fold}{score}  {status_word(event.status)}  {event.seconds:.1f} s  "
            f"ETA {fmt_duration(p.grid_eta())}"
        )

    def _candidate_line(self, event: CandidateFinished) -> str:
        p = self.progress
        return (
            f"candidate {event.candidate + 1}/{p.n_candidates or '?'}  {params_text(event.params)}"
            f"  score {fmt_mean_std(event.score, event.std_score)}  {status_word(event.status)}"
            f"  ({self._fits()} fits)"
        )

    def _variant_epoch_line(self, event: EpochEnded) -> str:
        p = self.progress
        number = (event.candidate or 0) + 1
        width = len(str(event.epochs or event.epoch))
        return (
            f"variant {number}/{p.n_candidates or '?'}  epoch {event.epoch:>{width}}/"
            f"{event.epochs or '?'}  {metrics_text(event.metrics)}"
        )

    def _variant_line(self, event: CandidateFinished) -> str:
        p = self.progress
        line = (
            f"variant {event.candidate + 1}/{p.n_candidates or '?'}  {params_text(event.params)}"
            f"  {status_word(event.status)}"
        )
        if event.status == "completed":
            tests = metrics_text(event.test_metrics)
            line += f"  score {fmt_number(event.score)}" + (f"  test {tests}" if tests else "")
        elif event.reason:
            line += f": {event.reason}"
        return line + f"  ({self._fits()} variants, {event.seconds:.1f} s)"

    def _render(self) -> RenderableType:
        if self.progress.mode == "sweep":
            return Group(self._header(), *self._sweep_rows())
        if self.progress.mode == "grid":
            return Group(self._header(), *self._grid_rows())
        return Group(self._header(), *self._train_rows())

    def _train_rows(self) -> list[RenderableType]:
        fit = self.progress.fit
        planned = fit.epochs or self.progress.epochs_planned
        bar = ProgressBar(total=max(1, planned), completed=fit.epochs_done(), width=40)
        label = Text(f" epoch {fit.epoch}/{planned or '?'}")
        if fit.batches:
            label.append(f"  batch {fit.batch}/{fit.batches}", style="dim")
        line = Text(metrics_text(fit.metrics) or "waiting for the first epoch ...")
        pace = self._pace(fit)
        if pace:
            line.append(f"   {pace}", style="cyan")
        rows: list[RenderableType] = [Group(_inline(bar, label)), line]
        if self.layer_stats is not None:
            rows.append(gradient_line(self.layer_stats.layers))
        return rows

    def _grid_rows(self) -> list[RenderableType]:
        p = self.progress
        bar = ProgressBar(total=max(1, p.fits_total()), completed=p.fits_done(), width=40)
        label = Text(f" fits {self._fits()}")
        label.append(f"  ETA {fmt_duration(p.grid_eta())}", style="cyan")
        rows: list[RenderableType] = [_inline(bar, label)]
        for fit in p.running_fits():
            candidate = (fit.candidate or 0) + 1
            if fit.fold is None:  # the best candidate, refitted on the whole training split
                where = f"  refit of candidate {candidate}"
            else:
                where = f"  candidate {candidate}/{p.n_candidates or '?'}"
                where += f"  fold {fit.fold + 1}/{p.n_folds or '?'}"
            progress = (
                f"epoch {fit.epoch}/{fit.epochs or '?'}  {metrics_text(fit.metrics)}"
                if fit.epoch
                else "starting ..."
            )
            rows.append(Text(f"{where}  {progress}"))
        return rows

    def _sweep_rows(self) -> list[RenderableType]:
        p = self.progress
        bar = ProgressBar(total=max(1, p.fits_total()), completed=p.fits_done(), width=40)
        label = Text(f" variants {self._fits()}")
        label.append(f"  ETA {fmt_duration(p.grid_eta())}", style="cyan")
        rows: list[RenderableType] = [_inline(bar, label)]
        for fit in p.running_fits():
            index = fit.candidate or 0
            params = params_text(p.candidates[index].params) if index in p.candidates else ""
            progress = (
                f"epoch {fit.epoch}/{fit.epochs or '?'}  {metrics_text(fit.metrics)}"
                if fit.epoch
                else "starting ..."
            )
            rows.append(Text(f"  variant {index + 1} ({params})  {progress}"))
        return rows

    def _sweep_results(self, event: RunFinished) -> RenderableType:
        parts: list[RenderableType] = []
        if self.progress.candidates:
            parts.append(variants_table(self.progress))
        ranked = self.progress.ranked()
        top = ranked[0] if ranked else None
        best = event.summary.get("best_variant") or (top.index + 1 if top else None)
        if best and top is not None:
            line = Text(f"best variant: #{best} ", style="bold")
            line.append(params_text(event.summary.get("best_params") or top.params))
            scoring = event.summary.get("scoring") or self.progress.scoring or "score"
            score = event.summary.get("best_score", top.mean)
            line.append(f"  ({scoring} {fmt_number(score)})")
            parts.append(line)
            metrics = event.summary.get("test_metrics") or {}
            if metrics:
                parts.append(Text(f"its test metrics: {metrics_text(metrics)} (model.keras)"))
        parts.append(self._status_lines(event))
        return Group(*parts)

    def _status_lines(self, event: RunFinished) -> Text:
        summary = event.summary
        text = Text("status: ")
        text.append_text(status_text(event.status))
        epochs = summary.get("epochs_completed")
        if epochs is not None:
            text.append(f"  epochs: {epochs}")
        wall = summary.get("wall_seconds")
        if isinstance(wall, int | float):
            text.append(f"  time: {fmt_duration(wall)}")
        if event.message:
            text.append(f"\n{event.message}", style="yellow")
        run_dir = summary.get("run_dir") or self.progress.run_dir
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
        stats, boundary, width = self.layer_stats, self.boundary, self.console.width
        parts: list[RenderableType] = []
        if stats is not None:
            parts.append(layer_table(stats.layers, stats.epoch, width))
        if boundary is not None:
            parts.append(Text(f"Decision regions (epoch {boundary.epoch})", style="bold"))
            parts.append(boundary_picture(boundary, width, 16))
        return parts

    def _grid_results(self, event: RunFinished) -> RenderableType:
        parts: list[RenderableType] = []
        if self.progress.candidates:
            parts.append(candidates_table(self.progress))
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
