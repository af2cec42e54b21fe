"""The explorer's runs: a :class:`~nnexplorer.core.progress.RunProgress` with what the session
knows beyond the events (its row key, the name and settings it started with, the declared grid)
and the status-bar sentence. Pure data (no Textual); the widgets draw from it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from nnexplorer.core.formatting import fmt_duration, fmt_seconds, status_word
from nnexplorer.core.progress import REFIT, RunProgress, restore


@dataclass(kw_only=True)
class RunView(RunProgress):
    """One run of the session (train or grid), updated event by event."""

    key: str
    settings: str = ""
    grid_params: dict[str, list[Any]] = field(default_factory=dict)
    started: float | None = field(default_factory=time.time)  # from the moment it was asked for
    stopping: bool = False  # a stop was asked (F7, or quitting with Stop)

    def state_line(self) -> str:
        """The status-bar state: Training epoch 7/50, 1.2 s/epoch, ETA 00:51 / Done / ..."""
        if not self.running:
            return status_word(self.status).capitalize()
        if self.stopping:
            return STOPPING
        line = self._running_line()
        return f"{line} | {self.warning}" if self.warning else line

    def _running_line(self) -> str:
        if self.status == "queued":
            ahead = f" ({self.ahead} ahead)" if self.ahead else ""
            return f"Queued: waiting for a free slot{ahead}..."
        if self.status != "running":
            return "Starting worker..."
        if self.mode == "grid":
            return self._grid_state()
        if self.mode == "sweep":
            return self._sweep_state()
        fit = self.fit
        if not fit.epochs and not fit.batch:
            return "Training: loading data and building the model..."
        shown = fit.batch_epoch if fit.batch else fit.epoch
        text = f"Training epoch {shown}/{fit.epochs or self.epochs_planned}"
        if fit.batch:
            text += f" (batch {fit.batch}/{fit.batches})"
        per_epoch = fit.seconds_per_epoch()
        if per_epoch is not None:
            text += f", {fmt_seconds(per_epoch)} s/epoch, ETA {fmt_duration(fit.eta())}"
        return text

    def _grid_state(self) -> str:
        total = self.fits_total()
        text = f"Grid search: fits {self.fits_done()}/{total or '?'}"
        if self.active is not None:
            cand, fold = self.active
            if fold == REFIT:
                text += f", refitting candidate {cand + 1} on all the training data"
            else:
                text += f", candidate {cand + 1}/{self.n_candidates or '?'}"
                if self.n_folds:
                    text += f" fold {fold + 1}/{self.n_folds}"
            if self.epochs:
                text += f" epoch {self.epoch}/{self.epochs}"
        eta = self.grid_eta()
        if eta is not None:
            text += f", ETA {fmt_duration(eta)}"
        return text

    def _sweep_state(self) -> str:
        text = f"Sweep: variants {self.fits_done()}/{self.n_candidates or '?'}"
        training = [f for f in self.running_fits() if f.candidate is not None]
        for fit in training[:2]:
            text += f", #{(fit.candidate or 0) + 1} epoch {fit.epoch}/{fit.epochs or '?'}"
        eta = self.grid_eta()
        if eta is not None:
            text += f", ETA {fmt_duration(eta)}"
        return text


TRACEBACK = "Traceback (most recent call last):"
STOPPING = "Stopping... (F7 again kills the worker)"


def stopped_text(detail: str) -> str:
    """How a stopped run ended, saying ``stopped`` once: ``stopped after 30 epochs``."""
    word = status_word("cancelled")
    if not detail:
        return word
    if detail.lower().startswith((word, "interrupted")):
        return detail
    return f"{word}: {detail}"


def one_line(message: str, details: str = "") -> str:
    """A message for the log and the notifications: one line; a traceback becomes the error it
    ended with, and ``details`` (the file that holds the rest) is named when lines were left out.
    """
    text = message.strip()
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if len(lines) <= 1:
        return text
    if TRACEBACK in text:
        before = text.split(TRACEBACK, 1)[0].strip().rstrip(":").strip()
        head = f"{before}: {lines[-1]}" if before else lines[-1]
    else:
        head = lines[0]
    return f"{head} (details: {details})" if details else head


def settings_text(spec: Any) -> str:
    """Key settings of an ExperimentSpec: ``128-64 relu | drop 0.2 | adam lr=0.001 | bs 32``."""
    dense = [layer for layer in spec.layers if layer.type == "dense"]
    units = "-".join(str(layer.units) for layer in dense) or "no hidden layer"
    activations = "/".join(dict.fromkeys(layer.activation for layer in dense))
    parts = [f"{units} {activations}".strip()]
    rates = [layer.rate for layer in spec.layers if layer.type == "dropout"]
    if rates:
        parts.append("drop " + "/".join(f"{rate:g}" for rate in rates))
    parts.append(f"{spec.compile.optimizer} lr={spec.compile.learning_rate:g}")
    parts.append(f"bs {spec.fit.batch_size}")
    return " | ".join(parts)


def run_view_from_record(record: Any) -> RunView:
    """A RunView rebuilt from a run folder read by ``core.runs.load_run``."""
    spec = record.spec
    view = RunView(
        key=str(record.run_dir),
        name=spec.experiment.name,
        mode=record.mode,
        settings=settings_text(spec),
        epochs_planned=spec.fit.epochs,
        grid_params=dict(spec.grid.params) if spec.grid else {},
        started=None,  # the first recorded event's time
    )
    return restore(view, record)
