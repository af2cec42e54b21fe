"""The explorer's runs live on their own: how it starts them detached, and attaches to one.

Nothing here imports TensorFlow: a detached worker loads it in its own process.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from nnexplorer.core.events import Mode
from nnexplorer.core.runner import RunControl, StartRun
from nnexplorer.core.spec import ExperimentSpec
from nnexplorer.tui.session import RunView, settings_text


def detached_starter(slots: int | None = None) -> StartRun:
    """``start_run``'s shape over :func:`~nnexplorer.core.detach.start_detached` with ``slots``."""

    def start(
        spec: ExperimentSpec,
        *,
        mode: Mode = "train",
        runs_root: str | Path | None = None,
        resume: str | Path | None = None,
    ) -> RunControl:
        from nnexplorer.core.detach import start_detached

        return start_detached(spec, mode=mode, runs_root=runs_root, resume=resume, slots=slots)

    return start


def attached_view(run_dir: Path, *, key: str) -> tuple[RunView, RunControl]:
    """A run folder as a session run: its view, filled with everything recorded so far, and
    the handle that follows the rest (raises ``NnxError`` when it is not a readable run)."""
    from nnexplorer.core.detach import attach_run
    from nnexplorer.core.progress import restore
    from nnexplorer.core.runs import load_run

    handle = attach_run(run_dir)
    record = load_run(run_dir)
    spec = record.spec
    run = RunView(
        key=key,
        name=spec.experiment.name,
        mode=record.mode,
        settings=settings_text(spec),
        epochs_planned=spec.fit.epochs,
        grid_params=dict(spec.grid.params) if record.mode == "grid" and spec.grid else {},
        run_dir=str(run_dir),
        started=None,  # the first recorded event's time
    )
    # the events the handle has read, so that it follows on from exactly there
    restore(run, replace(record, events=handle.read_available()), live=True)
    return run, handle
