"""The runs of a session: start one, follow its events, stop it, and feed the views.

:class:`RunController` is owned by the app and talks to it through :class:`RunHost`, the small
surface it needs (the draft, the main screen, notifications, the log and a thread worker).

The explorer's runs are detached (:func:`~nnexplorer.core.detach.start_detached`): the worker
lives in its own session and is followed through its run folder, so quitting (Leave running) or
a dropped connection leaves it going, and :meth:`RunController.attach` follows any live run of
the runs folder the same way (the charts fill with its history, then follow it).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Protocol

from textual.message import Message
from textual.notifications import SeverityLevel
from textual.worker import Worker, WorkerState

from nnexplorer.core.errors import NnxError
from nnexplorer.core.events import (
    BatchProgress,
    CandidateFinished,
    EpochEnded,
    Event,
    LogEvent,
    Mode,
    RunFinished,
    RunStarted,
)
from nnexplorer.core.formatting import fmt_number, status_word
from nnexplorer.core.runner import RunControl, StartRun
from nnexplorer.core.runs import EVENTS_FILE, STDERR_FILE
from nnexplorer.core.spec import ExperimentSpec
from nnexplorer.tui.draft import Draft
from nnexplorer.tui.live_runs import attached_view, detached_starter
from nnexplorer.tui.messages import EngineEvent
from nnexplorer.tui.screens.main import MainScreen
from nnexplorer.tui.session import RunView, one_line, settings_text, stopped_text
from nnexplorer.tui.widgets.views import VariantDiagnostics, feed_views, show_variant

RUN_GROUP = "run"  # the worker group of the threads that follow a run
RESUMABLE = ("cancelled", "failed", "interrupted", "unfinished")  # a grid search in these
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


class RunHost(Protocol):
    """What the run controller needs from the app it works for."""

    draft: Draft

    @property
    def main(self) -> MainScreen: ...

    def notify(
        self, message: str, *, title: str = "", severity: SeverityLevel = "information"
    ) -> None: ...

    def log_line(self, message: str, level: str = "info") -> None: ...

    def error(self, title: str, lines: list[str]) -> None: ...

    def run_worker(
        self,
        work: Callable[[], None],
        name: str | None = "",
        group: str = "default",
        description: str = "",
        exit_on_error: bool = True,
        start: bool = True,
        exclusive: bool = False,
        thread: bool = False,
    ) -> Worker[None]: ...

    def post_message(self, message: Message) -> bool: ...

    def refresh_bindings(self) -> None: ...


class RunController:
    """The runs of this session, the live one's worker, and the views they feed."""

    def __init__(
        self,
        host: RunHost,
        runner_factory: StartRun | None = None,
        runs_root: str | Path | None = None,
        slots: int | None = None,
    ) -> None:
        self._host = host
        self._start_run: StartRun = runner_factory or detached_starter(slots)
        self.runs_root = Path(runs_root) if runs_root else None
        self.runs: dict[str, RunView] = {}
        self.variants: dict[str, VariantDiagnostics] = {}  # a sweep's diagnostics, by run key
        self.active_key: str | None = None
        self.shown: tuple[str, int | None] | None = None
        self._handle: RunControl | None = None
        self._handle_lock = threading.Lock()
        self._stop_requested = False
        self._left: set[str] = set()  # keys of runs left going (no longer followed)

    @property
    def busy(self) -> bool:
        """True while a run is active."""
        return self.active_key is not None

    @property
    def active_run(self) -> RunView | None:
        """The run in progress."""
        return self.runs.get(self.active_key) if self.active_key else None

    # ------------------------------------------------------------------ starting

    def start(
        self, mode: Mode, resume: Path | None = None, spec: ExperimentSpec | None = None
    ) -> RunView | None:
        """Start a run of ``spec`` (default: the draft); refuses while the draft is invalid."""
        host = self._host
        verb = "train" if mode == "train" else "sweep" if mode == "sweep" else "search"
        if self.busy:
            host.notify("A run is active: F7 stops it.", severity="warning")
            return None
        if spec is None:
            spec = host.draft.spec()
            if spec is None:
                problem = host.draft.first_problem() or "the experiment is invalid"
                host.notify(problem, title=f"Cannot {verb} yet", severity="error")
                host.log_line(f"Cannot {verb}: {problem}", "error")
                path = host.draft.first_problem_path() or ""
                host.main.show_field(pane_of(path or problem), path)
                return None
        if mode == "grid" and (spec.grid is None or not spec.grid.params):
            message = "The Grid pane lists no values to search: add a parameter first."
            host.notify(message, title="Nothing to search", severity="warning")
            host.main.show_pane("grid")
            return None
        if mode == "grid" and spec.grid is not None and spec.grid.is_sweep and resume is None:
            mode = "sweep"  # the Grid pane's search is "sweep": each combination trained once
        run = RunView(
            key=f"run{len(self.runs) + 1}",
            name=spec.experiment.name,
            mode=mode,
            settings=settings_text(spec),
            epochs_planned=spec.fit.epochs,
            grid_params=dict(spec.grid.params) if mode != "train" and spec.grid else {},
        )
        self.runs[run.key] = run
        self.active_key = run.key
        self.shown = (run.key, None)
        self._stop_requested = False
        host.refresh_bindings()
        self._refresh(run, None)
        self.show_run_on_charts()
        start = "Resuming the grid search" if resume else f"Starting a {mode} run"
        if mode == "sweep":
            start = f"Starting a sweep of {spec.grid.n_candidates() if spec.grid else 0} variants"
        host.log_line(f"{start}: {run.name} ({run.settings}).")
        work = partial(self._follow, run, spec, mode, resume)
        host.run_worker(work, name=run.key, group=RUN_GROUP, thread=True, exit_on_error=False)
        return run

    def _follow(self, run: RunView, spec: ExperimentSpec, mode: Mode, resume: Path | None) -> None:
        """Thread worker: iterate the handle's events and post them to the UI.

        Every event is posted; queued batch-progress messages coalesce on the UI side
        (:meth:`EngineEvent.can_replace`), so the thread never decides what to drop.
        """
        handle = self._start_run(spec, mode=mode, runs_root=self.runs_root, resume=resume)
        self._post_events(run, handle)

    def _post_events(self, run: RunView, handle: RunControl) -> None:
        with self._handle_lock:
            self._handle = handle
            run.run_dir = str(handle.run_dir)
            if self._stop_requested:
                handle.stop()
        for event in handle.events():
            self._host.post_message(EngineEvent(event))

    # ------------------------------------------------------------------ following

    def handle_event(self, event: Event) -> None:
        """Apply one engine event to the active run and the views."""
        run = self.active_run
        if run is None:
            return
        host = self._host
        run.apply(event)
        store = self.variants.setdefault(run.key, VariantDiagnostics())
        feed_views(host.main, event, run.run_dir, store, self._params(run))
        if isinstance(event, RunStarted):
            host.main.status_bar.set_device(event.device)
            params = f", {event.n_params:,} parameters" if event.n_params else ""
            host.log_line(f"Run {event.run_id} started on {event.device}{params}.")
        elif isinstance(event, LogEvent):
            details = str(Path(run.run_dir) / EVENTS_FILE) if run.run_dir else ""
            host.log_line(one_line(event.message, details), event.level)
        elif isinstance(event, CandidateFinished):
            cand = run.candidates.get(event.candidate)
            if event.status != "completed" and cand is not None:
                reason = f": {event.reason}" if event.reason else ""
                word = status_word(event.status)
                host.log_line(f"Candidate #{event.candidate + 1} {word}{reason}", "warning")
        elif isinstance(event, RunFinished):
            self.finish(run)
            return
        self._refresh(run, event)

    def _refresh(self, run: RunView, event: Event | None) -> None:
        main = self._host.main
        main.status_bar.set_state(run.state_line())
        if isinstance(event, BatchProgress):
            return
        main.results.update_run(run)
        if run.mode != "train" and not isinstance(event, EpochEnded):
            main.heatmap.show_run(run)
        shown_here = self.shown is not None and self.shown[0] == run.key
        if isinstance(event, EpochEnded | CandidateFinished) and shown_here:
            self.show_run_on_charts()

    def finish(self, run: RunView) -> None:
        """The active run ended: update every view, notify and log how it ended."""
        host = self._host
        self.active_key = None
        with self._handle_lock:
            self._handle = None
        host.refresh_bindings()
        self.finish_shown(run)
        title, text, level = self._outcome(run)
        text = one_line(text, str(Path(run.run_dir) / STDERR_FILE) if run.run_dir else "")
        host.notify(text, title=title, severity=level)
        host.log_line(text, {"information": "info"}.get(level, level))

    def _outcome(self, run: RunView) -> tuple[str, str, SeverityLevel]:
        detail = run.message.strip()
        if run.status == "completed":
            tests = ", ".join(f"{k} {fmt_number(v)}" for k, v in run.test_metrics.items())
            best = run.best_candidate_params() if run.mode != "train" else None
            score = "cv" if run.mode == "grid" else run.scoring or "score"
            extra = f"; best {best} ({score} {fmt_number(run.best_score)})" if best else ""
            return "Done", f"{run.name}: done. Test {tests or '-'}{extra}", "information"
        if run.status == "diverged":
            cause = detail or "the loss became NaN or infinite"
            return (
                "Diverged",
                f"{run.name} diverged: {cause}. Try a smaller learning rate.",
                "warning",
            )
        if run.status == "cancelled":
            return "Stopped", f"{run.name}: {stopped_text(detail)}", "warning"
        if run.status == "interrupted":
            again = " F3 then r resumes it." if run.mode == "grid" else ""
            return "Interrupted", f"{run.name} interrupted: {detail}.{again}", "error"
        return "Failed", f"{run.name} failed: {detail or 'no reason given'}", "error"

    def worker_ended(self, worker: Worker[None]) -> None:
        """The thread worker is done: report a run it left unfinished as failed."""
        run = self.runs.get(worker.name)
        if run is None or not run.running or run.key in self._left:
            return  # ended, or left going on purpose (its events no longer followed)
        if worker.state == WorkerState.ERROR:
            error = worker.error
            message = (
                str(error) if isinstance(error, NnxError) else f"{type(error).__name__}: {error}"
            )
            self.kill_active()
        else:
            message = "the worker ended without reporting how the run finished"
        run.apply(RunFinished(status="failed", message=message))
        if self.active_key == run.key:
            self.finish(run)

    # ------------------------------------------------------------------ stopping

    def stop(self, *, escalate: bool = True) -> None:
        """Stop the active run; asked again (``escalate``), kill its worker at once."""
        host = self._host
        run = self.active_run
        if run is None:
            host.notify("Nothing is running.")
            return
        with self._handle_lock:
            again = self._stop_requested and escalate
            self._stop_requested = True
            run.stopping = True
            handle = self._handle
        if handle is not None:
            # off the UI thread: a stop writes a request file, a kill waits for the process to go
            ask = handle.kill if again else handle.stop
            threading.Thread(target=ask, name="stop-run", daemon=True).start()
        if again:
            host.log_line("Killing the worker process.", "warning")
            return
        host.main.status_bar.set_state(run.state_line())
        host.log_line(f"Stopping {run.name} after the current batch (F7 again kills it)...")

    def kill_active(self) -> None:
        """Kill the worker process of the active run, if any."""
        with self._handle_lock:
            if self._handle is not None:
                self._handle.kill()

    def detach(self) -> Path | None:
        """Stop following the active run and leave it going; its run folder (None: no run)."""
        run = self.active_run
        if run is not None:
            self._left.add(run.key)
        with self._handle_lock:
            if self._handle is not None:
                self._handle.close()
        return Path(run.run_dir) if run is not None and run.run_dir else None

    # ------------------------------------------------------------------ attaching

    def attach(self, run_dir: Path) -> RunView | None:
        """Follow the live run in ``run_dir``: its history at once, then its events live."""
        host = self._host
        if self.busy:
            host.notify("A run is active: F7 stops it first.", severity="warning")
            return None
        try:
            run, handle = attached_view(run_dir, key=f"run{len(self.runs) + 1}")
        except NnxError as exc:
            host.error("Cannot attach to that run", exc.lines())
            return None
        self.runs[run.key] = run
        self.shown = (run.key, None)
        if run.device:
            host.main.status_bar.set_device(run.device)
        if not run.running:  # it ended in the meantime: shown like any finished run
            self.finish_shown(run)
            return run
        self.active_key = run.key
        self._stop_requested = False
        host.refresh_bindings()
        self._refresh(run, None)
        self.show_run_on_charts()
        host.log_line(f"Attached to {run_dir.name} ({run.state_line()}); F7 stops it.")
        work = partial(self._post_events, run, handle)
        host.run_worker(work, name=run.key, group=RUN_GROUP, thread=True, exit_on_error=False)
        return run

    def finish_shown(self, run: RunView) -> None:
        """Draw a run that is not (or no longer) live on every view."""
        self._refresh(run, None)
        self.show_run_on_charts()
        if run.mode != "train":
            self._host.main.heatmap.show_run(run)

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
        for chart in self._host.main.charts:
            chart.show_run(run, previous, candidate)

    def show_run(self, key: str) -> None:
        """Draw the run ``key`` on the charts (a grid: its candidates and heatmap too)."""
        run = self.runs.get(key)
        if run is None:
            return
        self.shown = (run.key, None)
        self.show_run_on_charts()
        if run.mode != "train":
            self._host.main.results.show_candidates(run)
            self._host.main.heatmap.show_run(run)
        self._show_variant(run, None)

    def show_candidate(self, key: str, index: int) -> None:
        """Draw the folds of candidate ``index`` of the grid run ``key`` (a sweep: its variant's
        statistics and regions on the Inside and Boundary views too)."""
        if key in self.runs:
            self.shown = (key, index)
            self.show_run_on_charts()
            self._show_variant(self.runs[key], index)

    def _show_variant(self, run: RunView, index: int | None) -> None:
        store = self.variants.get(run.key)
        if run.mode == "sweep" and store is not None and store.stats:
            store.chosen = index
            show_variant(self._host.main, store, self._params(run))

    @staticmethod
    def _params(run: RunView) -> dict[int, dict[str, object]]:
        return {index: cand.params for index, cand in run.candidates.items()}

    def latest_grid(self) -> RunView | None:
        """The most recent grid (or sweep) run of the session."""
        grids = [run for run in self.runs.values() if run.mode != "train"]
        return grids[-1] if grids else None

    # ------------------------------------------------------------------ resuming

    def resume(self, run_dir: Path) -> RunView | None:
        """Continue the interrupted grid search recorded in ``run_dir``."""
        from nnexplorer.core.runs import load_run

        try:
            record = load_run(run_dir)
        except NnxError as exc:
            self._host.error("Cannot resume that run", exc.lines())
            return None
        return self.start("grid", resume=Path(run_dir), spec=record.spec)

    def resume_last(self) -> None:
        """Resume the most recent interrupted grid search (this session's, else on disk)."""
        for run in reversed(list(self.runs.values())):
            resumable = ("cancelled", "failed", "interrupted")
            if run.mode == "grid" and run.status in resumable and run.run_dir:
                self.resume(Path(run.run_dir))
                return
        from nnexplorer.core.runs import list_runs

        for info in list_runs(self.runs_root):
            if info.mode == "grid" and info.status in RESUMABLE:
                self.resume(Path(info.run_dir))
                return
        self._host.notify("No interrupted grid search to resume.", severity="warning")
