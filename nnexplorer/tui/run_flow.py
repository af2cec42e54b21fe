"""Starting, following and stopping runs: the part of the app that talks to ``core.runner``.

A thread worker iterates the run handle's events and posts each one as an
:class:`~nnexplorer.tui.messages.EngineEvent`; epoch events always go through, batch progress
is thinned out. Everything else here runs on the UI thread. A run that raises, or a worker that
ends without a run_finished, is reported once through ``Worker.StateChanged``.
"""

from __future__ import annotations

import threading
import time
from functools import partial
from pathlib import Path
from typing import Any

from textual.worker import Worker, WorkerState

from nnexplorer.core.errors import NnxError
from nnexplorer.core.events import (
    BatchProgress,
    CandidateFinished,
    EpochEnded,
    Event,
    LogEvent,
    RunFinished,
    RunStarted,
)
from nnexplorer.core.spec import ExperimentSpec
from nnexplorer.tui.messages import EngineEvent
from nnexplorer.tui.session import RunView, fmt_number, settings_text
from nnexplorer.tui.widgets.heatmap import Heatmap
from nnexplorer.tui.widgets.metric_chart import MetricChart
from nnexplorer.tui.widgets.results_table import ResultsTable
from nnexplorer.tui.widgets.status_bar import StatusBar
from nnexplorer.tui.widgets.views import feed_views

BATCH_INTERVAL = 0.2  # seconds between two batch-progress updates of the status bar
QUIT_GRACE = 5.0  # seconds a stopping run gets before quitting kills it
PANE_OF_SECTION = {
    "experiment": "training",
    "data": "data",
    "layers": "layers",
    "output": "layers",
    "compile": "training",
    "fit": "training",
    "grid": "grid",
}


def pane_of(path: str) -> str:
    """The editor pane that holds the key path ``path``."""
    head = path.split(".", 1)[0].split("[", 1)[0]
    return PANE_OF_SECTION.get(head, "data")


def _start_run(spec: ExperimentSpec, **kwargs: Any) -> Any:
    from nnexplorer.core.runner import start_run

    return start_run(spec, **kwargs)


class RunFlow:
    """Mixed into the app: runs of the session, the live worker, and the views they feed."""

    def init_runs(self, runner_factory: Any, runs_root: str | Path | None) -> None:
        self._runner_factory = runner_factory or _start_run
        self.runs_root = Path(runs_root) if runs_root else None
        self.runs: dict[str, RunView] = {}
        self.active_key: str | None = None
        self.shown: tuple[str, int | None] | None = None
        self._handle: Any = None
        self._handle_lock = threading.Lock()
        self._stop_requested = False
        self._quitting = False

    @property
    def busy(self) -> bool:
        """True while a run is active."""
        return self.active_key is not None

    @property
    def active_run(self) -> RunView | None:
        """The run in progress."""
        return self.runs.get(self.active_key) if self.active_key else None

    # ------------------------------------------------------------------ starting

    def action_train(self) -> None:
        """Train the edited experiment (F5)."""
        self.start("train")

    def action_grid(self) -> None:
        """Grid-search the values of the Grid pane (F6)."""
        self.start("grid")

    def start(
        self, mode: str, resume: Path | None = None, spec: ExperimentSpec | None = None
    ) -> RunView | None:
        """Start a run of ``spec`` (default: the draft); refuses while the draft is invalid."""
        verb = "train" if mode == "train" else "search"
        if self.busy:
            self.notify("A run is active: F7 stops it.", severity="warning")
            return None
        if spec is None:
            spec = self.draft.spec()
            if spec is None:
                problem = self.draft.first_problem() or "the experiment is invalid"
                self.notify(problem, title=f"Cannot {verb} yet", severity="error")
                self.log_line(f"Cannot {verb}: {problem}", "error")
                self.main.show_pane(pane_of(problem))
                return None
        if mode == "grid" and (spec.grid is None or not spec.grid.params):
            message = "The Grid pane lists no values to search: add a parameter first."
            self.notify(message, title="Nothing to search", severity="warning")
            self.main.show_pane("grid")
            return None
        run = RunView(
            key=f"run{len(self.runs) + 1}",
            name=spec.experiment.name,
            mode=mode,
            settings=settings_text(spec),
            epochs_planned=spec.fit.epochs,
            grid_params=dict(spec.grid.params) if mode == "grid" and spec.grid else {},
        )
        self.runs[run.key] = run
        self.active_key = run.key
        self.shown = (run.key, None)
        self._stop_requested = False
        self._refresh(run, None)
        self.show_run_on_charts()
        start = "Resuming the grid search" if resume else f"Starting a {mode} run"
        self.log_line(f"{start}: {run.name} ({run.settings}).")
        work = partial(self._follow, run, spec, mode, resume)
        self.run_worker(work, name=run.key, group="run", thread=True, exit_on_error=False)
        return run

    def _follow(self, run: RunView, spec: ExperimentSpec, mode: str, resume: Path | None) -> None:
        """Thread worker: iterate the handle's events and post them to the UI."""
        handle = self._runner_factory(spec, mode=mode, runs_root=self.runs_root, resume=resume)
        with self._handle_lock:
            self._handle = handle
            run.run_dir = str(getattr(handle, "run_dir", "") or run.run_dir)
            if self._stop_requested:
                handle.stop()
        last_batch = 0.0
        for event in handle.events():
            if isinstance(event, BatchProgress):
                now = time.monotonic()
                if now - last_batch < BATCH_INTERVAL:
                    continue
                last_batch = now
            self.post_message(EngineEvent(event))

    # ------------------------------------------------------------------ following

    def handle_event(self, event: Event) -> None:
        """Apply one engine event to the active run and the views."""
        run = self.active_run
        if run is None:
            return
        run.apply(event)
        feed_views(self.main, event, run.run_dir)
        if isinstance(event, RunStarted):
            self.main.query_one(StatusBar).set_device(event.device)
            params = f", {event.n_params:,} parameters" if event.n_params else ""
            self.log_line(f"Run {event.run_id} started on {event.device}{params}.")
        elif isinstance(event, LogEvent):
            self.log_line(event.message, event.level)
        elif isinstance(event, CandidateFinished):
            cand = run.candidates.get(event.candidate)
            if event.status != "completed" and cand is not None:
                reason = f": {event.reason}" if event.reason else ""
                self.log_line(f"Candidate #{event.candidate + 1} {event.status}{reason}", "warning")
        elif isinstance(event, RunFinished):
            self.finish(run)
            return
        self._refresh(run, event)

    def _refresh(self, run: RunView, event: Event | None) -> None:
        main = self.main
        main.query_one(StatusBar).set_state(run.state_line())
        if isinstance(event, BatchProgress):
            return
        main.query_one(ResultsTable).update_run(run)
        if run.mode == "grid" and not isinstance(event, EpochEnded):
            main.query_one(Heatmap).show_run(run)
        shown_here = self.shown is not None and self.shown[0] == run.key
        if isinstance(event, EpochEnded | CandidateFinished) and shown_here:
            self.show_run_on_charts()

    def finish(self, run: RunView) -> None:
        """The active run ended: update every view, notify and log how it ended."""
        self.active_key = None
        with self._handle_lock:
            self._handle = None
        self._refresh(run, None)
        self.show_run_on_charts()
        if run.mode == "grid":
            self.main.query_one(Heatmap).show_run(run)
        title, text, level = self._outcome(run)
        self.notify(text, title=title, severity=level)
        for line in text.splitlines() or [text]:
            self.log_line(line, {"information": "info"}.get(level, level))
        if self._quitting:
            self.exit(0)

    def _outcome(self, run: RunView) -> tuple[str, str, Any]:
        detail = run.message.strip()
        if run.status == "completed":
            tests = ", ".join(f"{k} {fmt_number(v)}" for k, v in run.test_metrics.items())
            best = run.best_candidate_params() if run.mode == "grid" else None
            extra = f"; best {best} (cv {fmt_number(run.best_score)})" if best else ""
            return "Done", f"{run.name}: done. Test {tests or '-'}{extra}", "information"
        if run.status == "diverged":
            cause = detail or "the loss became NaN or infinite"
            return (
                "Diverged",
                f"{run.name} diverged: {cause}. Try a smaller learning rate.",
                "warning",
            )
        if run.status == "cancelled":
            return "Stopped", f"{run.name}: stopped. {detail}".strip(), "warning"
        return "Failed", f"{run.name} failed: {detail or 'no reason given'}", "error"

    def worker_ended(self, worker: Worker) -> None:
        """The thread worker is done: report a run it left unfinished as failed."""
        run = self.runs.get(worker.name)
        if run is None or not run.running:
            return
        if worker.state == WorkerState.ERROR:
            error = worker.error
            message = (
                str(error) if isinstance(error, NnxError) else f"{type(error).__name__}: {error}"
            )
            with self._handle_lock:
                if self._handle is not None:
                    self._handle.kill()
        else:
            message = "the worker ended without reporting how the run finished"
        run.apply(RunFinished(status="failed", message=message))
        if self.active_key == run.key:
            self.finish(run)

    # ------------------------------------------------------------------ stopping

    def action_stop(self) -> None:
        """Stop the active run (F7); a second F7 kills its worker at once."""
        run = self.active_run
        if run is None:
            self.notify("Nothing is running.")
            return
        with self._handle_lock:
            again = self._stop_requested
            self._stop_requested = True
            if self._handle is not None:
                (self._handle.kill if again else self._handle.stop)()
        if again:
            self.log_line("Killing the worker process.", "warning")
            return
        self.main.query_one(StatusBar).set_state(
            "Stopping after the current batch (F7 again kills)"
        )
        self.log_line(f"Stopping {run.name}...")

    def stop_and_exit(self) -> None:
        """Stop the active run, then quit when it has ended (or after a grace period)."""
        self._quitting = True
        self.action_stop()
        self.set_timer(QUIT_GRACE, self._kill_and_exit)

    def _kill_and_exit(self) -> None:
        self.kill_active()
        self.exit(0)

    def kill_active(self) -> None:
        """Kill the worker process of the active run, if any (the app is going away)."""
        with self._handle_lock:
            if self._handle is not None:
                self._handle.kill()

    # ------------------------------------------------------------------ views

    def show_run_on_charts(self) -> None:
        """Draw the run on show (and the train run before it, faintly)."""
        key, candidate = self.shown or ("", None)
        run = self.runs.get(key)
        keys = list(self.runs)
        before = keys[: keys.index(key)] if key in keys else keys
        previous = next(
            (self.runs[k] for k in reversed(before) if self.runs[k].mode == "train"), None
        )
        for chart in self.main.query(MetricChart):
            chart.show_run(run, previous, candidate)

    def on_results_table_run_chosen(self, message: ResultsTable.RunChosen) -> None:
        run = self.runs.get(message.key)
        if run is None:
            return
        self.shown = (run.key, None)
        self.show_run_on_charts()
        if run.mode == "grid":
            self.main.query_one(ResultsTable).show_candidates(run)
            self.main.query_one(Heatmap).show_run(run)

    def on_heatmap_apply_best(self, message: Heatmap.ApplyBest) -> None:
        self.apply_best()

    def on_results_table_candidate_chosen(self, message: ResultsTable.CandidateChosen) -> None:
        if message.run_key in self.runs:
            self.shown = (message.run_key, message.index)
            self.show_run_on_charts()

    def latest_grid(self) -> RunView | None:
        """The most recent grid run of the session."""
        grids = [run for run in self.runs.values() if run.mode == "grid"]
        return grids[-1] if grids else None

    # ------------------------------------------------------------------ resuming

    def resume(self, run_dir: Path) -> RunView | None:
        """Continue the interrupted grid search recorded in ``run_dir``."""
        from nnexplorer.core.runs import load_run

        try:
            record = load_run(run_dir)
        except NnxError as exc:
            self.error("Cannot resume that run", exc.lines())
            return None
        return self.start("grid", resume=Path(run_dir), spec=record.spec)

    def resume_last(self) -> None:
        """Resume the most recent interrupted grid search (this session's, else on disk)."""
        for run in reversed(list(self.runs.values())):
            if run.mode == "grid" and run.status in ("cancelled", "failed") and run.run_dir:
                self.resume(Path(run.run_dir))
                return
        from nnexplorer.core.runs import list_runs

        for info in list_runs(self.runs_root):
            if info.mode == "grid" and info.status in ("cancelled", "failed", "unfinished"):
                self.resume(Path(info.run_dir))
                return
        self.notify("No interrupted grid search to resume.", severity="warning")
