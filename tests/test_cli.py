"""The command line, end to end: real runs in subprocesses on tiny data, and the fast commands.

Training tests run ``python -m nnexplorer`` on iris with a one-layer network for a few epochs.
"""

from __future__ import annotations

import ast
import io
import json
import os
import signal
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import pytest
from rich.console import Console

from nnexplorer import __version__, cli
from nnexplorer.cli import commands
from nnexplorer.cli.console import RunRenderer
from nnexplorer.cli.parser import COMMANDS
from nnexplorer.core import events as ev
from nnexplorer.core.events import JsonLines
from nnexplorer.core.runs import read_summary

TINY = """\
[experiment]
name = "tiny-cli"
seed = 1

[data]
source = "sklearn:iris"
test_size = 0.3
validation_split = 0.2

[[layers]]
units = 8

[compile]
learning_rate = 0.01

[fit]
epochs = 2
batch_size = 16
"""

DIVERGING = """\
[experiment]
name = "diverging"
seed = 1

[data]
source = "sklearn:diabetes"
standardize = "none"
validation_split = 0.0

[[layers]]
units = 16
kernel_initializer = { name = "random_normal", stddev = 10.0 }

[compile]
optimizer = "sgd"
learning_rate = 10.0

[fit]
epochs = 5
"""


@pytest.fixture
def tiny(tmp_path) -> Path:
    path = tmp_path / "tiny.toml"
    path.write_text(TINY, encoding="utf-8")
    return path


@pytest.fixture
def runs_dir(tmp_path) -> Path:
    return Path(os.environ["NNEXPLORER_RUNS"])


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(TF_CPP_MIN_LOG_LEVEL="3", NNEXPLORER_THREADS="1", NO_COLOR="1", COLUMNS="120")
    return env


def nnx(*args: str, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    """Run ``python -m nnexplorer ARGS`` and capture its output."""
    return subprocess.run(
        [sys.executable, "-m", "nnexplorer", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=_env(),
        check=False,
    )


def _only_run(runs_dir: Path) -> Path:
    found = [p for p in runs_dir.iterdir() if p.is_dir()]
    assert len(found) == 1, found
    return found[0]


def _error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("nnexplorer: error:")]


# --------------------------------------------------------------------------- real runs


@pytest.mark.slow
def test_run_trains_and_records(tiny, runs_dir):
    done = nnx("run", str(tiny))
    assert done.returncode == 0, done.stderr[-3000:]
    run_dir = _only_run(runs_dir)
    summary = read_summary(run_dir)
    assert summary is not None
    assert summary["status"] == "completed"
    assert summary["epochs_completed"] == 2
    assert set(summary["test_metrics"]) >= {"loss", "accuracy"}
    out = done.stdout
    assert f"run directory: {run_dir}" in out
    assert "epoch 1/2" in out and "epoch 2/2" in out  # one plain line per epoch (not a TTY)
    assert "Test metrics" in out and "status: done" in out
    assert "\x1b[" not in out  # NO_COLOR and no live animation in a pipe
    assert "Traceback" not in done.stderr
    # and the runs list shows it
    listing = io.StringIO()
    assert _in_process(["runs", "--runs", str(runs_dir)], listing) == 0
    assert run_dir.name in listing.getvalue()


@pytest.mark.slow
def test_run_json_with_overrides(tiny, runs_dir):
    done = nnx("run", str(tiny), "--json", "--set", "fit.epochs=3", "--set", "layers.0.units=4")
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.splitlines()
    events = [ev.from_json(line) for line in lines]  # every stdout line is an event
    kinds = [e.type for e in events]
    assert next(k for k in kinds if k != "log") == "run_started"
    assert kinds[-1] == "run_finished"
    epochs = [e for e in events if isinstance(e, ev.EpochEnded)]
    assert [e.epoch for e in epochs] == [1, 2, 3]
    assert all(e.epochs == 3 for e in epochs)
    started = next(e for e in events if isinstance(e, ev.RunStarted))
    assert started.n_params == (4 * 4 + 4) + (4 * 3 + 3)  # iris: 4 features, 3 classes
    assert events[-1].status == "completed"
    run_dir = _only_run(runs_dir)
    preset = tomllib.loads((run_dir / "preset.toml").read_text("utf-8"))
    assert preset["layers"][0]["units"] == 4
    assert preset["fit"]["epochs"] == 3
    assert str(run_dir) in done.stderr  # human messages go to stderr


@pytest.mark.slow
def test_diverging_run_exits_1(tmp_path, runs_dir):
    preset = tmp_path / "diverging.toml"
    preset.write_text(DIVERGING, encoding="utf-8")
    done = nnx("run", str(preset))
    assert done.returncode == 1, done.stderr[-3000:]
    summary = read_summary(_only_run(runs_dir))
    assert summary is not None and summary["status"] == "diverged"
    assert "diverged" in done.stdout
    assert "Traceback" not in done.stderr


@pytest.mark.slow
def test_sigint_stops_and_records_partial_run(tiny, runs_dir):
    args = ["run", str(tiny), "--json", "--set", "fit.epochs=2000", "--set", "fit.batch_size=4"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "nnexplorer", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(),
    )
    try:
        assert proc.stdout is not None
        seen = []
        for line in proc.stdout:
            seen.append(ev.from_json(line))
            if seen[-1].type == "epoch_ended":
                break
        proc.send_signal(signal.SIGINT)
        rest, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, err[-3000:]
    last = ev.from_json(rest.splitlines()[-1])
    assert isinstance(last, ev.RunFinished) and last.status == "cancelled"
    run_dir = _only_run(runs_dir)
    summary = read_summary(run_dir)
    assert summary is not None and summary["status"] == "cancelled"
    assert 1 <= summary["epochs_completed"] < 2000
    assert (run_dir / "events.jsonl").read_text("utf-8").strip()
    assert (run_dir / "history.csv").read_text("utf-8").count("\n") >= 2  # header + epoch 1
    assert f"partial run is in {run_dir}" in err
    assert "Traceback" not in err


@pytest.mark.slow
def test_bundled_digits_by_name(runs_dir):
    done = nnx("run", "digits", "--set", "fit.epochs=1")
    assert done.returncode == 0, done.stderr[-3000:]
    summary = read_summary(_only_run(runs_dir))
    assert summary is not None and summary["status"] == "completed"
    assert summary["epochs_completed"] == 1


TINY_GRID = (
    TINY.replace("epochs = 2", "epochs = 1")
    + """
[grid]
cv = 2
n_jobs = 1

[grid.params]
optimizer__learning_rate = [0.01, 0.02]
"""
)


@pytest.mark.slow
def test_grid_interrupted_then_resumed(tmp_path, runs_dir):
    preset = tmp_path / "grid.toml"
    preset.write_text(TINY_GRID, encoding="utf-8")
    proc = subprocess.Popen(
        [sys.executable, "-m", "nnexplorer", "run", str(preset), "--grid", "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(),
    )
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            event = ev.from_json(line)
            if isinstance(event, ev.CandidateFinished) and event.fold is not None:
                break
        proc.send_signal(signal.SIGINT)
        rest, err = proc.communicate(timeout=180)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, err[-3000:]
    assert ev.from_json(rest.splitlines()[-1]).status == "cancelled"
    run_dir = _only_run(runs_dir)
    assert f"partial run is in {run_dir}" in err

    done = nnx("run", str(preset), "--grid", "--resume", str(run_dir))
    assert done.returncode == 0, done.stderr[-3000:]
    summary = read_summary(run_dir)
    assert summary is not None and summary["status"] == "completed"
    assert summary["n_candidates"] == 2
    assert set(summary["best_params"]) == {"optimizer__learning_rate"}
    assert "resuming:" in done.stdout
    assert "Candidates" in done.stdout and "best params:" in done.stdout
    assert (run_dir / "grid.csv").read_text("utf-8").count("\n") == 3  # header + 2 candidates


def _fake_run(runs_dir: Path, mode: str, status: str | None) -> Path:
    from nnexplorer.core.runs import create_run_dir, write_json_atomic
    from nnexplorer.core.spec import load_preset

    run_dir = create_run_dir(runs_dir, load_preset("digits"), mode)
    if status:
        write_json_atomic(run_dir / "summary.json", {"status": status, "mode": mode})
    return run_dir


@pytest.mark.parametrize(
    ("mode", "status", "overrides", "expected"),
    [
        ("train", "cancelled", [], "only grid runs can be resumed"),
        ("grid", "completed", [], "already completed"),
        ("grid", "cancelled", ["--set", "fit.epochs=3"], "different experiment"),
    ],
)
def test_resume_refuses_the_wrong_run(runs_dir, capsys, mode, status, overrides, expected):
    run_dir = _fake_run(runs_dir, mode, status)
    argv = ["run", "digits", "--grid", *overrides, "--resume", str(run_dir)]
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert expected in err and str(run_dir) in err


# --------------------------------------------------------------------------- fast commands


def test_version_and_help_in_a_subprocess():
    done = nnx("--version")
    assert done.returncode == 0
    assert done.stdout.strip() == f"nnexplorer {__version__}"
    done = nnx("--help")
    assert done.returncode == 0
    for command in COMMANDS:
        assert command in done.stdout


@pytest.mark.parametrize("command", COMMANDS)
def test_every_subcommand_has_help_with_examples(command, capsys):
    assert cli.main([command, "--help"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: nnexplorer {command}")
    assert "examples:" in out
    assert f"nnexplorer {command}" in out.split("examples:")[1]


def test_open_help(capsys):
    assert cli.main(["digits", "--help"]) == 0
    assert "Open the explorer" in capsys.readouterr().out


def test_bad_set_is_one_line_exit_2(tiny):
    done = nnx("run", str(tiny), "--set", "layers.0.units=-3")
    assert done.returncode == 2
    assert _error_lines(done.stderr) == [  # the problem is the --set's, not the file's
        "nnexplorer: error: --set layers.0.units=-3: layers[0].units: got -3; "
        "must be greater than or equal to 1"
    ]
    assert "Traceback" not in done.stderr
    assert done.stdout == ""


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["run", "digits", "--set", "fit.epochs"], "expected KEY=VALUE"),
        (["run", "digits", "--set", "fit.epoch=3"], "fit.epoch: unknown key 'epoch'"),
        (["run"], "the following arguments are required: PRESET"),
        (["run", "digits", "--bogus"], "unrecognized arguments: --bogus"),
        (["rnu", "digits"], "unknown command 'rnu'; did you mean 'run'?"),
        (["run", "no_such_preset"], "no bundled preset"),
        (["export", "digits", "--set", "compile.optimizer=adamm"], "did you mean 'adam'"),
        (["run", "digits", "--grid", "--resume", "/nonexistent/run"], "not a run directory"),
    ],
)
def test_usage_and_preset_errors_exit_2(argv, expected, capsys):
    assert cli.main(argv) == 2
    out, err = capsys.readouterr()
    lines = err.strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("nnexplorer: error: ")
    assert expected in lines[0]
    assert out == ""


def test_grid_without_params(tiny, capsys):
    assert cli.main(["run", str(tiny), "--grid"]) == 2
    assert "no [grid.params]" in capsys.readouterr().err


def test_validate_and_presets(tiny, capsys):
    assert cli.main(["validate", str(tiny), "digits"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0] == f"ok: {tiny}"
    assert cli.main(["presets"]) == 0
    out = capsys.readouterr().out
    for name in ("digits", "mnist_mlp", "diabetes_regression"):
        assert name in out
    assert "Handwritten digits" in out


def test_export_prints_a_keras_script(tiny, tmp_path, capsys):
    assert cli.main(["export", str(tiny), "--set", "layers.0.units=5"]) == 0
    script = capsys.readouterr().out
    ast.parse(script)
    assert "keras" in script and ".fit(" in script
    target = tmp_path / "script.py"
    assert cli.main(["export", str(tiny), "-o", str(target)]) == 0
    assert ast.parse(target.read_text("utf-8"))


def test_runs_when_there_are_none(tmp_path, capsys):
    assert cli.main(["runs", "--runs", str(tmp_path / "empty")]) == 0
    assert "no runs in" in capsys.readouterr().out


def test_open_without_a_terminal_runs_headless(tiny, monkeypatch, capsys):
    calls = []
    monkeypatch.setattr(commands, "execute", lambda spec, **kw: calls.append((spec, kw)) or 0)
    assert cli.main([str(tiny), "--set", "fit.epochs=1"]) == 0
    assert len(calls) == 1
    spec, kw = calls[0]
    assert spec.fit.epochs == 1 and kw["grid"] is False
    assert "not a terminal" in capsys.readouterr().err


def test_open_on_a_terminal_starts_the_explorer(tiny):
    import pty
    import select

    pid, fd = pty.fork()
    if pid == 0:  # the child: the explorer on a pseudo-terminal
        try:
            os.environ.update(_env(), TERM="xterm-256color", LINES="40")
            os.execv(sys.executable, [sys.executable, "-m", "nnexplorer", str(tiny)])
        finally:
            os._exit(127)
    seen = b""
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and b"Layers" not in seen:
            ready, _, _ = select.select([fd], [], [], 0.5)
            if ready:
                try:
                    seen += os.read(fd, 65536)
                except OSError:
                    break
    finally:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        os.close(fd)
    assert b"Layers" in seen, seen[-2000:]
    assert b"Traceback" not in seen


# --------------------------------------------------------------------------- renderer


def _in_process(argv: list[str], out: io.StringIO) -> int:
    old = sys.stdout
    sys.stdout = out
    try:
        return cli.main(argv)
    finally:
        sys.stdout = old


def _train_events() -> list[ev.Event]:
    spec = {"name": "demo", "epochs": 3}
    events: list[ev.Event] = [
        ev.RunStarted(spec=spec, n_params=67, device="CPU", run_dir="/runs/demo-1")
    ]
    for epoch in (1, 2, 3):
        events.append(ev.BatchProgress(epoch=epoch, batch=3, batches=6))
        metrics = {"loss": 1.0 / epoch, "accuracy": 0.5 + epoch / 10, "val_loss": 1.2 / epoch}
        events.append(ev.EpochEnded(epoch=epoch, epochs=3, metrics=metrics, seconds=0.5))
    summary = {"test_metrics": {"loss": 0.25, "accuracy": 0.9375}, "epochs_completed": 3}
    events.append(ev.RunFinished(status="completed", summary=summary))
    return events


def _grid_events() -> list[ev.Event]:
    events: list[ev.Event] = [
        ev.RunStarted(mode="grid", spec={"name": "g"}, run_dir="/runs/g", n_candidates=2, n_folds=2)
    ]
    for cand, units in enumerate((8, 16)):
        params = {"layers.0.units": units}
        for fold in (0, 1):
            events.append(
                ev.CandidateStarted(
                    candidate=cand, fold=fold, params=params, n_candidates=2, n_folds=2
                )
            )
            metrics = {"loss": 0.4}
            events.append(
                ev.EpochEnded(epoch=1, epochs=1, metrics=metrics, candidate=cand, fold=fold)
            )
            events.append(
                ev.CandidateFinished(
                    candidate=cand, fold=fold, params=params, score=0.7 + cand / 10, seconds=1.5
                )
            )
        events.append(
            ev.CandidateFinished(
                candidate=cand, params=params, score=0.7 + cand / 10, std_score=0.02, seconds=3
            )
        )
    summary = {"best_params": {"layers.0.units": 16}, "best_score": 0.8}
    events.append(ev.RunFinished(status="completed", summary=summary))
    return events


def _render(events: list[ev.Event], *, terminal: bool) -> str:
    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=terminal, width=120, color_system=None)
    with RunRenderer(console) as renderer:
        for event in events:
            renderer(event)
    return buffer.getvalue()


def test_renderer_plain_lines_per_epoch():
    out = _render(_train_events(), terminal=False)
    lines = out.splitlines()
    assert lines[0] == "demo · train · CPU · 67 params"
    epoch_lines = [line for line in lines if line.startswith("epoch ")]
    assert len(epoch_lines) == 3
    assert epoch_lines[1].startswith("epoch 2/3  loss 0.5  val_loss 0.6  accuracy 0.7")
    assert "0.5 s/epoch  ETA 00:01" in epoch_lines[0]
    assert "0.9375" in out and "status: done" in out
    assert "run directory: /runs/demo-1" in out


def test_renderer_live_on_a_terminal():
    out = _render(_train_events(), terminal=True)
    assert "epoch 3/3" in out
    assert "\x1b[" in out  # cursor movements of the live display
    assert out.count("epoch 2/3  loss") == 0  # no plain per-epoch lines
    assert "Test metrics" in out


def test_renderer_grid_table_and_best_params():
    out = _render(_grid_events(), terminal=False)
    assert "fit 4/4" in out
    table = out[out.index("Candidates") :]
    rows = [line for line in table.splitlines() if "layers.0.units=" in line]
    assert "layers.0.units=16" in rows[0] and "0.800 ± 0.020" in rows[0]
    assert "layers.0.units=8" in rows[1]
    assert "best params: layers.0.units=16  (score 0.8)" in out


def test_renderer_grid_table_names_why_a_candidate_failed():
    events = _grid_events()
    failed = ev.CandidateFinished(
        candidate=2,
        params={"layers.0.units": 32},
        fold=0,
        score=None,
        seconds=0.5,
        status="failed",
        reason="the loss became NaN at epoch 1",
    )
    out = _render([*events[:-1], failed, events[-1]], terminal=False)
    table = out[out.index("Candidates") :]
    row = next(line for line in table.splitlines() if "layers.0.units=32" in line)
    assert "failed: the loss became NaN" in row


def test_renderer_grid_live_shows_running_fits():
    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=True, width=120, color_system=None)
    renderer = RunRenderer(console)
    events = _grid_events()
    for event in events[:3]:  # started, candidate 0 fold 0 started, its epoch 1
        renderer(event)
    frame = renderer._render()
    text = Console(file=io.StringIO(), width=120)
    with text.capture() as captured:
        text.print(frame)
    shown = captured.get()
    renderer.close()
    assert "fits 0/4" in shown
    assert "candidate 1/2  fold 1/2  epoch 1/1  loss 0.4" in shown


def test_json_lines_writer_round_trips():
    buffer = io.StringIO()
    writer = JsonLines(buffer)
    for event in _train_events():
        writer(event)
    parsed = [ev.from_json(line) for line in buffer.getvalue().splitlines()]
    assert [e.type for e in parsed] == [e.type for e in _train_events()]
    assert json.loads(buffer.getvalue().splitlines()[-1])["status"] == "completed"


def test_unexpected_error_is_one_line_with_the_log(monkeypatch, tmp_path, capsys):
    def broken(args):
        raise RuntimeError("boom")

    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.setitem(cli.HANDLERS, "presets", broken)
    assert cli.main(["presets"]) == 1
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "unexpected error: RuntimeError('boom')" in lines[0]
    log = Path(lines[0].split("details in ")[1].rstrip(")"))
    assert log.is_relative_to(tmp_path) and "Traceback" in log.read_text("utf-8")


@pytest.mark.parametrize("no_color", [False, True])
def test_renderer_honours_no_color(monkeypatch, no_color):
    import re

    if no_color:
        monkeypatch.setenv("NO_COLOR", "1")
    else:
        monkeypatch.delenv("NO_COLOR", raising=False)
    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=True, width=120, color_system="standard")
    with RunRenderer(console) as renderer:
        for event in _train_events():
            renderer(event)
    colored = re.search(r"\x1b\[[0-9;]*3[0-7]m", buffer.getvalue()) is not None
    assert colored is not no_color
