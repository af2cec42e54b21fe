"""``nnexplorer show RUN`` on recorded runs: every section, the width, pipes, bad names."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from inside_fakes import inside_script, write_run

from nnexplorer import cli
from nnexplorer.cli.console import RunRenderer
from nnexplorer.cli.show import resolve_run
from nnexplorer.core.errors import NnxError
from nnexplorer.core.spec import validate_spec


@pytest.fixture
def run_dir(tmp_path, tiny_spec_data) -> Path:
    return write_run(tmp_path / "runs", validate_spec(tiny_spec_data))


def _show(*args: str, columns: int, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": str(columns), "PYTHONPATH": str(Path.cwd())}
    env.pop("NO_COLOR", None)
    return subprocess.run(
        [sys.executable, "-m", "nnexplorer", "show", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=120,
    )


@pytest.mark.parametrize("columns", [40, 80, 120])
def test_show_fits_the_width_in_a_pipe(run_dir, columns):
    proc = _show(str(run_dir), columns=columns, cwd=run_dir.parent)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "\x1b[" not in out  # a pipe gets plain text
    assert max(len(line) for line in out.splitlines()) <= columns
    for part in ("tiny", "done", "Test metrics", "Confusion matrix", "Layer statistics"):
        assert part in out, part
    assert "Misclassified test images (4 of 4)" in out
    assert "0 -> 2" in out and "1 -> 2" in out and "█" in out
    assert "Decision regions (epoch 3)" in out
    assert "first/last gradient norm" in out or columns < 60


def test_show_sections_in_process(run_dir, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "100")
    assert cli.main(["show", str(run_dir)]) == 0
    out = capsys.readouterr().out
    # the matrix rows, the per-class table and the last epoch's statistics
    assert "█10" in out and "░1" in out and "precision" in out
    assert "hidden_1" in out and "output" in out and "2/2*" in out  # the max-norm limit at work
    assert "40%" in out and "25%" in out  # saturated sigmoid outputs, dead ReLU units
    assert "vanishing" in out  # first/last gradient norm 1e-3
    assert "o 0 (region ' ')" in out


def test_resolve_by_id_part_and_last(run_dir, tmp_path):
    root = str(tmp_path / "runs")
    assert resolve_run(run_dir.name, root) == run_dir
    assert resolve_run(run_dir.name[-4:], root) == run_dir
    assert resolve_run("last", root) == run_dir
    with pytest.raises(NnxError, match="no run 'nope'"):
        resolve_run("nope", root)


def test_unknown_run_is_one_line_exit_2(tmp_path, capsys):
    assert cli.main(["show", "nope", "--runs", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("nnexplorer: error: no run 'nope'")


def test_show_a_run_without_diagnostics(tmp_path, tiny_spec_data, capsys, monkeypatch):
    from nnexplorer.core import runs

    run_dir = runs.create_run_dir(tmp_path / "runs", validate_spec(tiny_spec_data))
    monkeypatch.setenv("COLUMNS", "80")
    assert cli.main(["show", str(run_dir)]) == 0
    out = capsys.readouterr().out
    assert "unfinished" in out and "Confusion" not in out and "Layer statistics" not in out


def _play(terminal: bool) -> tuple[str, RunRenderer]:
    import io

    from rich.console import Console

    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=terminal, width=80, color_system=None)
    renderer = RunRenderer(console)
    for event in inside_script(epochs=3)(None, "train"):
        renderer(event)
        if terminal and event.type == "layer_stats" and event.epoch == 2:
            frame = Console(file=io.StringIO(), width=80)
            with frame.capture() as captured:
                frame.print(renderer._render())
            renderer.live_frame = captured.get()  # type: ignore[attr-defined]
    renderer.close()
    return buffer.getvalue(), renderer


def test_run_display_carries_the_new_events():
    _, live = _play(terminal=True)
    # the live frame has a line of gradient norms, first layer to last
    assert "grad hidden_1 1.20e-05 · hidden_2 1.20e-03 · output 0.12" in live.live_frame
    assert "dead units up to 25%" in live.live_frame
    plain, _ = _play(terminal=False)
    # at the end: the last layer statistics and the decision regions
    assert "Layer statistics (epoch 3)" in plain and "Decision regions (epoch 3)" in plain
    assert "o 0 (region ' ')" in plain
    tables = plain[plain.index("Layer statistics") :]  # (epoch lines are not wrapped, on purpose)
    assert max(len(line) for line in tables.splitlines()) <= 80
