"""A fake runner for the TUI tests (canned engine events instead of a worker process), and
small helpers to wait for the app and read what it shows.

``FakeRunner(script)`` has ``start_run``'s signature; each call returns a :class:`FakeHandle`
that yields ``script(spec, mode)`` event by event. A script may contain :data:`HOLD` (wait
until the test releases, stops or kills the run) and exceptions (raised from ``events()``, as
a broken pipe would be).
"""

from __future__ import annotations

import itertools
import math
import os
import statistics
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from nnexplorer.core.events import (
    CandidateFinished,
    CandidateStarted,
    EpochEnded,
    Event,
    LogEvent,
    RunFinished,
    RunStarted,
)

HOLD = object()
Script = Callable[[Any, str], list[Any]]


def train_script(
    epochs: int = 5,
    *,
    status: str = "completed",
    message: str = "",
    hold_after: int | None = None,
    scale: float = 1.0,
) -> Script:
    """A training run: run_started, ``epochs`` epoch events, run_finished(``status``)."""

    def script(spec: Any, mode: str) -> list[Any]:
        out: list[Any] = [
            RunStarted(run_id="fake", mode="train", device="CPU", n_params=1234, spec={}),
            LogEvent(run_id="fake", message="data: 1437 train, 360 test"),
        ]
        for epoch in range(1, epochs + 1):
            if hold_after is not None and epoch == hold_after + 1:
                out.append(HOLD)
            loss = scale * 2.0 / epoch
            metrics = {
                "loss": loss,
                "accuracy": 1 - loss / 4,
                "val_loss": loss * 1.2,
                "val_accuracy": 1 - loss / 3.5,
            }
            out.append(
                EpochEnded(run_id="fake", epoch=epoch, epochs=epochs, metrics=metrics, seconds=0.5)
            )
        summary = {
            "status": status,
            "mode": "train",
            "epochs_completed": epochs,
            "test_metrics": {"loss": 0.31, "accuracy": 0.912},
            "wall_seconds": 12.0,
            "device": "CPU",
        }
        out.append(RunFinished(run_id="fake", status=status, summary=summary, message=message))
        return out

    return script


def grid_script(
    folds: int = 2,
    epochs: int = 2,
    *,
    fail: frozenset[int] = frozenset(),
    hold_after: int | None = None,
) -> Script:
    """A grid search over ``spec.grid.params``: every candidate and fold, then the best."""

    def script(spec: Any, mode: str) -> list[Any]:
        grid = spec.grid.params
        keys = list(grid)
        combos = [
            dict(zip(keys, values, strict=True)) for values in itertools.product(*grid.values())
        ]
        out: list[Any] = [
            RunStarted(
                run_id="fake-grid",
                mode="grid",
                device="CPU",
                n_candidates=len(combos),
                n_folds=folds,
            )
        ]
        scores: dict[int, float] = {}
        for index, params in enumerate(combos):
            if hold_after is not None and index == hold_after:
                out.append(HOLD)
            fold_scores = []
            for fold in range(folds):
                out.append(
                    CandidateStarted(
                        run_id="fake-grid",
                        candidate=index,
                        params=params,
                        fold=fold,
                        n_candidates=len(combos),
                        n_folds=folds,
                    )
                )
                for epoch in range(1, epochs + 1):
                    loss = 1.0 / (epoch + index + fold)
                    metrics = {"loss": loss, "accuracy": 1 - loss / 2}
                    out.append(
                        EpochEnded(
                            run_id="fake-grid",
                            epoch=epoch,
                            epochs=epochs,
                            metrics=metrics,
                            seconds=0.1,
                            candidate=index,
                            fold=fold,
                        )
                    )
                failed = index in fail
                score = None if failed else round(0.5 + 0.05 * index + 0.01 * fold, 4)
                fold_scores.append(score)
                out.append(
                    CandidateFinished(
                        run_id="fake-grid",
                        candidate=index,
                        params=params,
                        fold=fold,
                        score=score,
                        seconds=1.5,
                        status="failed" if failed else "completed",
                        reason="loss became NaN" if failed else "",
                    )
                )
            if index not in fail:
                mean = statistics.fmean(fold_scores)  # type: ignore[arg-type]
                scores[index] = mean
                out.append(
                    CandidateFinished(
                        run_id="fake-grid",
                        candidate=index,
                        params=params,
                        fold=None,
                        score=mean,
                        std_score=statistics.pstdev(fold_scores),
                        seconds=1.5,
                    )  # type: ignore[arg-type]
                )
        best = max(scores, key=scores.__getitem__) if scores else None
        if best is not None:  # the refit of the best candidate on the whole training split
            for epoch in range(1, epochs + 1):
                metrics = {"loss": 0.5 / epoch, "accuracy": 0.8 + 0.05 * epoch}
                out.append(
                    EpochEnded(
                        run_id="fake-grid",
                        epoch=epoch,
                        epochs=epochs,
                        metrics=metrics,
                        seconds=0.1,
                        candidate=best,
                        fold=None,
                    )
                )
        summary = {
            "status": "completed",
            "mode": "grid",
            "best_params": combos[best] if best is not None else None,
            "best_score": scores.get(best) if best is not None else None,
            "n_candidates": len(combos),
            "test_metrics": {"accuracy": 0.9},
            "wall_seconds": 30.0,
        }
        out.append(RunFinished(run_id="fake-grid", status="completed", summary=summary))
        return out

    return script


class FakeHandle:
    """Plays a script; ``stop()`` ends it as cancelled, ``kill()`` as failed, ``close()`` stops
    following it (no end is reported, as with a detached run left going) (a RunControl)."""

    def __init__(
        self, items: list[Any], run_dir: Path, delay: float = 0.0, mode: str = "train"
    ) -> None:
        self.items = items
        self.run_dir = run_dir
        self.run_id = run_dir.name
        self.mode = mode
        self.delay = delay
        self.stopped = threading.Event()
        self.killed = threading.Event()
        self.released = threading.Event()
        self.closed = threading.Event()
        self.returncode: int | None = None

    def events(self) -> Iterator[Event]:
        for item in self.items:
            if item is HOLD:
                deadline = time.monotonic() + 30
                while not (self.released.is_set() or self.stopped.is_set() or self.killed.is_set()):
                    if time.monotonic() > deadline or self.closed.is_set():
                        break
                    time.sleep(0.01)
                continue
            if self.closed.is_set():
                return
            if self.killed.is_set():
                self.returncode = -9
                yield RunFinished(run_id=self.run_id, status="failed", message="worker killed")
                return
            if self.stopped.is_set():
                self.returncode = 130
                yield RunFinished(
                    run_id=self.run_id, status="cancelled", message="stopped by the user"
                )
                return
            if isinstance(item, BaseException):
                raise item
            if self.delay:
                time.sleep(self.delay)
            yield item
        self.returncode = 0

    @property
    def running(self) -> bool:
        return self.returncode is None

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.returncode is None:
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError("the fake run is still playing")
            time.sleep(0.01)
        return self.returncode

    def stop(self) -> None:
        self.stopped.set()

    def kill(self) -> None:
        self.killed.set()

    def close(self) -> None:
        self.closed.set()

    def release(self) -> None:
        """Let a held script go on."""
        self.released.set()


class FakeRunner:
    """Stands in for ``core.runner.start_run``; remembers every call and handle."""

    def __init__(self, script: Script, delay: float = 0.0, fail_start: Exception | None = None):
        self.script = script
        self.delay = delay
        self.fail_start = fail_start
        self.calls: list[dict[str, Any]] = []
        self.handles: list[FakeHandle] = []

    def __call__(
        self, spec: Any, *, mode: str = "train", runs_root: Any = None, resume: Any = None
    ) -> FakeHandle:
        self.calls.append({"spec": spec, "mode": mode, "runs_root": runs_root, "resume": resume})
        if self.fail_start is not None:
            raise self.fail_start
        root = Path(runs_root or os.environ.get("NNEXPLORER_RUNS", "runs"))
        run_dir = root / f"fake-{len(self.calls)}"
        handle = FakeHandle(self.script(spec, mode), run_dir, self.delay, mode)
        self.handles.append(handle)
        return handle


# --------------------------------------------------------------------------- pilot helpers


async def wait_for(pilot: Any, condition: Callable[[], Any], timeout: float = 10.0) -> None:
    """Let the app run until ``condition()`` holds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for the app")
        await pilot.pause(0.02)


def log_text(app: Any) -> str:
    """Every line of the app's log pane."""
    from nnexplorer.tui.widgets.log_panel import LogPanel

    return "\n".join(app.main.query_one(LogPanel).lines_written)


def status(app: Any) -> str:
    """The state shown in the status bar."""
    from nnexplorer.tui.widgets.status_bar import StatusBar

    return app.main.query_one(StatusBar).state


def notes(app: Any) -> str:
    """The notifications on show, title and message."""
    return "\n".join(f"{n.title} {n.message}" for n in app._notifications)


def sweep_script(
    epochs: int = 4, *, diverge: frozenset[int] = frozenset(), hold_after: int | None = None
) -> Script:
    """A sweep over ``spec.grid.params``: each variant trained once, ``diverge`` ones diverge."""

    def script(spec: Any, mode: str) -> list[Any]:
        grid = spec.grid.params
        keys = list(grid)
        combos = [
            dict(zip(keys, values, strict=True)) for values in itertools.product(*grid.values())
        ]
        out: list[Any] = [
            RunStarted(
                run_id="fake-sweep",
                mode="sweep",
                device="CPU",
                n_candidates=len(combos),
                scoring="val_accuracy",
            )
        ]
        best: tuple[float, int] | None = None
        for index, params in enumerate(combos):
            if hold_after is not None and index == hold_after:
                out.append(HOLD)
            out.append(
                CandidateStarted(
                    run_id="fake-sweep", candidate=index, params=params, n_candidates=len(combos)
                )
            )
            history = []
            for epoch in range(1, epochs + 1):
                loss = (1.0 + 0.3 * index) / epoch
                metrics = {
                    "loss": loss,
                    "accuracy": 1 - loss / 3,
                    "val_loss": loss * 1.1,
                    "val_accuracy": 1 - loss / 2.5,
                }
                if index in diverge and epoch == 2:
                    metrics = {"loss": math.nan, "accuracy": 0.1}
                history.append(metrics)
                out.append(
                    EpochEnded(
                        run_id="fake-sweep",
                        epoch=epoch,
                        epochs=epochs,
                        metrics=metrics,
                        seconds=0.2,
                        candidate=index,
                    )
                )
                if index in diverge and epoch == 2:
                    break
            failed = index in diverge
            score = None if failed else history[-1]["val_accuracy"]
            if score is not None and (best is None or score > best[0]):
                best = (score, index)
            out.append(
                CandidateFinished(
                    run_id="fake-sweep",
                    candidate=index,
                    params=params,
                    score=score,
                    seconds=0.2 * len(history),
                    status="diverged" if failed else "completed",
                    reason="the loss became nan at epoch 2" if failed else "",
                    metrics=history[-1],
                    test_metrics={} if failed else {"loss": 0.3 + index / 10, "accuracy": 0.9},
                    best_epoch=len(history),
                    epochs=len(history),
                )
            )
        summary = {
            "status": "completed",
            "mode": "sweep",
            "scoring": "val_accuracy",
            "best_params": combos[best[1]] if best else {},
            "best_score": best[0] if best else None,
            "best_variant": best[1] + 1 if best else None,
            "n_candidates": len(combos),
            "test_metrics": {"accuracy": 0.9},
            "wall_seconds": 20.0,
        }
        out.append(RunFinished(run_id="fake-sweep", status="completed", summary=summary))
        return out

    return script
