"""Runs on a server in the explorer: the quit dialog's three choices, attaching to a live run
from F3 (its history, then live, then F7), and a run of the explorer's own that outlives it."""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path

import pytest
from textual.widgets import DataTable
from tui_fakes import FakeHandle, FakeRunner, log_text, status, train_script, wait_for

from nnexplorer.cli import commands
from nnexplorer.core.detach import DetachedRun, start_detached
from nnexplorer.core.runs import (
    RunRecorder,
    create_run_dir,
    list_runs,
    pid_alive,
    read_events,
    read_meta,
    read_summary,
    request_stop,
)
from nnexplorer.core.spec import validate_spec
from nnexplorer.tui.app import make_app
from nnexplorer.tui.screens.dialogs import QuitDialog
from nnexplorer.tui.screens.runs_browser import RunsScreen
from nnexplorer.tui.widgets.metric_chart import MetricChart

SIZE = (120, 40)


class SlowStopHandle(FakeHandle):
    """A run that takes its time to stop: ``stop()`` is only noted until the test ends it."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.stop_asked = threading.Event()

    def stop(self) -> None:
        self.stop_asked.set()

    def finish_stopping(self) -> None:
        self.stopped.set()


class SlowStopRunner(FakeRunner):
    def __call__(self, spec, *, mode="train", runs_root=None, resume=None):
        plain = super().__call__(spec, mode=mode, runs_root=runs_root, resume=resume)
        handle = SlowStopHandle(plain.items, plain.run_dir, plain.delay, plain.mode)
        self.handles[-1] = handle
        return handle


async def _quit_dialog_over_a_run(pilot, app) -> None:
    await pilot.press("f5")
    await wait_for(pilot, lambda: app.busy and app.runs["run1"].history)
    await pilot.press("ctrl+q")
    await wait_for(pilot, lambda: isinstance(app.screen, QuitDialog))


async def test_quit_dialog_cancel_keeps_the_run_and_the_app(tiny_spec):
    runner = FakeRunner(train_script(epochs=10, hold_after=1))
    app = make_app(tiny_spec, runner_factory=runner)
    async with app.run_test(size=SIZE) as pilot:
        await _quit_dialog_over_a_run(pilot, app)
        assert "Stop (s)" in str(app.screen.query_one("#stop").label)
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is app.main)
        assert app.busy and app.is_running
        handle = runner.handles[0]
        assert not (handle.stopped.is_set() or handle.killed.is_set() or handle.closed.is_set())
        handle.release()
        await wait_for(pilot, lambda: not app.busy)
        assert app.runs["run1"].status == "completed"
        await pilot.press("ctrl+q")  # nothing runs: quits without asking
        await wait_for(pilot, lambda: not app.is_running)


async def test_quit_dialog_leave_running_quits_at_once_and_leaves_the_run(tiny_spec):
    runner = FakeRunner(train_script(epochs=10, hold_after=1))
    app = make_app(tiny_spec, runner_factory=runner)
    async with app.run_test(size=SIZE) as pilot:
        await _quit_dialog_over_a_run(pilot, app)
        await pilot.press("l")
        await wait_for(pilot, lambda: not app.is_running)
    handle = runner.handles[0]
    assert handle.closed.is_set()  # no longer followed ...
    assert not (handle.stopped.is_set() or handle.killed.is_set())  # ... and never stopped
    assert app.left_running == [handle.run_dir] and app.return_code == 0


async def test_quit_dialog_stop_shows_stopping_and_quits_when_the_run_ended(tiny_spec):
    runner = SlowStopRunner(train_script(epochs=10, hold_after=1))
    app = make_app(tiny_spec, runner_factory=runner)
    async with app.run_test(size=SIZE) as pilot:
        await _quit_dialog_over_a_run(pilot, app)
        await pilot.press("s")
        handle = runner.handles[0]
        await wait_for(pilot, handle.stop_asked.is_set)
        await pilot.pause()
        assert status(app).startswith("Stopping...")  # at once, while the worker finishes its batch
        assert app.is_running and app.screen is app.main
        assert "Stopping tiny after the current batch" in log_text(app)
        handle.finish_stopping()
        await wait_for(pilot, lambda: not app.is_running)
    assert app.runs["run1"].status == "cancelled" and app.left_running == []
    assert app.return_code == 0


def test_the_command_line_says_which_runs_were_left_running(tiny, monkeypatch, capsys, tmp_path):
    left = tmp_path / "runs" / "20250101-120000-tiny-1a2b"

    class Explorer:
        left_running = [left]
        return_code = 0

        def run(self) -> int:
            return 0

    made: dict = {}

    def make(*args, **kwargs):
        made.update(kwargs)
        return Explorer()

    import nnexplorer.tui.app as explorer

    monkeypatch.setattr(explorer, "make_app", make)
    monkeypatch.setattr(sys.stdin, "isatty", lambda: True)
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    assert commands.cmd_open(_open_args(tiny, slots=2)) == 0
    assert made["slots"] == 2
    err = capsys.readouterr().err
    assert f"left running: {left}" in err and f"nnexplorer attach {left.name}" in err


def _open_args(preset: str, slots: int | None):
    from nnexplorer.cli.parser import parse

    args = parse([preset, "--slots", str(slots)])
    assert args.command == "open"
    return args


@pytest.fixture
def tiny(tmp_path) -> str:
    path = tmp_path / "tiny.toml"
    path.write_text('[experiment]\nname = "tiny"\n[data]\nsource = "sklearn:iris"\n')
    return str(path)


# --------------------------------------------------------------------------- real workers


@pytest.fixture
def long_spec(tiny_spec_data, monkeypatch):
    monkeypatch.setenv("NNEXPLORER_HEARTBEAT", "0.2")
    monkeypatch.setenv("NNEXPLORER_THREADS", "1")
    monkeypatch.delenv("NNEXPLORER_SLOTS", raising=False)
    tiny_spec_data["fit"] = {"epochs": 500, "batch_size": 4}
    return validate_spec(tiny_spec_data)


def _epochs(run_dir: Path) -> int:
    return sum(1 for e in read_events(run_dir / "events.jsonl") if e.type == "epoch_ended")


def _wait_sync(condition, timeout: float = 180.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


@pytest.mark.slow
async def test_f3_attaches_to_a_live_run_and_f7_stops_it(long_spec, tiny_spec, tmp_path):
    root = tmp_path / "runs"
    live = start_detached(long_spec, runs_root=root)
    _wait_sync(lambda: _epochs(live.run_dir) >= 2)
    done = RunRecorder(create_run_dir(root, tiny_spec))  # newer, finished: listed after it
    for event in train_script(epochs=2)(tiny_spec, "train"):
        done(event)
    done.close()
    app = make_app(tiny_spec, runner_factory=FakeRunner(train_script()), runs_root=root)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f3")
        await wait_for(pilot, lambda: isinstance(app.screen, RunsScreen))
        table = app.screen.query_one("#past-runs", DataTable)
        first = table.get_row_at(0)
        assert first[3].startswith("running epoch ") and table.get_row_at(1)[3] == "done"
        assert "1 live" in str(app.screen.query_one("#runs-title").render())
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.screen is app.main and app.busy)
        run = app.runs["run1"]
        assert run.run_dir == str(live.run_dir) and run.status == "running"
        seen = len(run.history)
        assert seen >= 2  # its history at once ...
        loss = app.main.query_one("#loss-chart", MetricChart)
        assert len(loss.series[0].xs) == seen
        await wait_for(pilot, lambda: len(run.history) > seen, 120)  # ... then live
        assert f"Attached to {live.run_id}" in log_text(app)
        await pilot.press("f7")
        await wait_for(pilot, lambda: not app.busy, 120)
        assert run.status == "cancelled" and status(app) == "Stopped"
    summary = read_summary(live.run_dir)
    assert summary["status"] == "cancelled" and summary["epochs_completed"] == len(run.history)


@pytest.mark.slow
async def test_the_explorers_own_run_outlives_it(long_spec, tmp_path):
    root = tmp_path / "runs"
    app = make_app(long_spec, runs_root=root)  # the real, detached, runner
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f5")
        await wait_for(pilot, lambda: app.runs and len(app.runs["run1"].history) >= 1, 180)
        await pilot.press("ctrl+q")
        await wait_for(pilot, lambda: isinstance(app.screen, QuitDialog))
        await pilot.press("l")
        await wait_for(pilot, lambda: not app.is_running)
    (run_dir,) = app.left_running
    meta = read_meta(run_dir)
    assert meta["detached"] is True and pid_alive(meta["pid"])
    (info,) = list_runs(root)
    assert info.status == "running" and info.pid == meta["pid"]
    _wait_sync(lambda: _epochs(run_dir) > len(app.runs["run1"].history))  # it goes on
    assert request_stop(run_dir).asked
    assert DetachedRun(run_dir).wait(timeout=120) == 130
