"""Comparing runs: the settings that differ, metrics, gap, labels, 80 columns, JSON, curves.

Runs are folders written from canned events (tests/run_fakes.py): no TensorFlow.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import pytest
from run_fakes import curve, write_sweep_run, write_train_run

from nnexplorer import cli
from nnexplorer.core.compare import Comparison, load_entries, resolve_run, short_setting
from nnexplorer.core.errors import NnxError

BASE = {
    "experiment": {"name": "cmp", "seed": 1},
    "data": {"source": "sklearn:iris"},
    "layers": [
        {"type": "dense", "units": 16, "activation": "relu"},
        {"type": "dropout", "rate": 0.2},
        {"type": "dense", "units": 8, "activation": "relu"},
    ],
    "compile": {"learning_rate": 0.01},
    "fit": {"epochs": 6, "batch_size": 16},
}
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def preset(**changes) -> dict:
    data = copy.deepcopy(BASE)
    for path, value in changes.items():
        section, key = path.split("__")
        if section == "layers":
            index, name = key.split("_", 1)
            data["layers"][int(index)][name] = value
        else:
            data[section][key] = value
    return data


@pytest.fixture
def root(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "runs"
    folder.mkdir()
    monkeypatch.setenv("NNEXPLORER_RUNS", str(folder))
    return folder


@pytest.fixture
def two_runs(root):
    slow = write_train_run(
        root,
        preset(compile__learning_rate=0.001),
        curve(6, 1.2, 0.6, gap=0.02),
        suffix="aaaa",
        test={"loss": 0.62, "accuracy": 0.71},
    )
    fast = write_train_run(
        root,
        preset(layers__0_units=64),
        curve(6, 1.0, 0.2, gap=0.3),
        stamp="20250314-092700",
        suffix="bbbb",
        test={"loss": 0.48, "accuracy": 0.8},
    )
    return slow, fast


@pytest.fixture
def sweep(root):
    return write_sweep_run(
        root,
        BASE,
        [
            {
                "params": {"activation": "relu"},
                "history": curve(6, 1.1, 0.3),
                "test": {"loss": 0.3},
            },
            {
                "params": {"activation": "tanh"},
                "history": curve(6, 1.3, 0.5),
                "test": {"loss": 0.5},
            },
            {
                "params": {"activation": "sigmoid"},
                "history": curve(2, 2.0, 9.0),
                "status": "diverged",
                "reason": "training diverged at epoch 2: the loss became nan",
            },
        ],
    )


def test_only_the_settings_that_differ(two_runs):
    comparison = Comparison.of(load_entries([str(p) for p in two_runs]))
    assert list(comparison.settings) == ["layers.0.units", "compile.learning_rate"]
    titles = [c.title for c in comparison.columns()]
    assert titles[:3] == ["run", "layers.0.units", "compile.learning_rate"]
    assert "fit.epochs" not in titles and "layers.2.units" not in titles
    assert titles[3:] == ["train acc", "val acc", "gap", "best epoch", "test acc", "test loss"]
    rows = comparison.rows()
    assert rows[0][:3] == ["aaaa", "16", "0.001"] and rows[1][:3] == ["bbbb", "64", "0.01"]


def test_metrics_gap_and_best_epoch(two_runs):
    comparison = Comparison.of(load_entries([str(p) for p in two_runs]))
    slow, fast = comparison.entries
    assert comparison.metric == "accuracy" and comparison.plotted == "val_accuracy"
    # accuracy: train - val, so a positive gap means worse on validation
    assert comparison.gap(fast) == pytest.approx(
        fast.final["accuracy"] - fast.final["val_accuracy"]
    )
    assert comparison.gap(fast) > comparison.gap(slow) > 0
    assert slow.best_epoch == 6
    by_loss = Comparison.of(comparison.entries, "val_loss")
    assert (by_loss.metric, by_loss.plotted) == ("loss", "val_loss")
    assert by_loss.gap(fast) == pytest.approx(fast.final["val_loss"] - fast.final["loss"])
    assert [c.label for c in by_loss.curves()] == ["aaaa", "bbbb"]
    assert by_loss.curves()[0].xs == [1, 2, 3, 4, 5, 6]
    with pytest.raises(NnxError, match="not recorded by these runs"):
        Comparison.of(comparison.entries, "accuracyy")


def test_layers_that_change_together_are_one_setting(root):
    a = write_train_run(root, BASE, curve(3, 1, 0.5), suffix="cccc")
    tanh = preset(layers__0_activation="tanh", layers__2_activation="tanh")
    b = write_train_run(root, tanh, curve(3, 1, 0.4), stamp="20250314-092700", suffix="dddd")
    comparison = Comparison.of(load_entries([str(a), str(b)]))
    assert list(comparison.settings) == ["hidden.activation"]
    assert short_setting("hidden.activation") == "act"
    assert short_setting("layers.0.kernel_initializer") == "l0.init"
    assert short_setting("compile.learning_rate") == "lr"


def test_a_sweep_opens_as_its_variants(sweep, two_runs):
    entries = load_entries([sweep.name[-4:], str(two_runs[0])])
    assert [e.label for e in entries] == ["b2b2#1", "b2b2#2", "b2b2#3", "aaaa"]
    assert [e.kind for e in entries] == ["variant"] * 3 + ["train"]
    bad = entries[2]
    assert bad.status == "diverged" and "nan" in bad.reason and len(bad.history) == 2
    comparison = Comparison.of(entries)
    assert "hidden.activation" in comparison.settings
    assert "compile.learning_rate" in comparison.settings
    assert comparison.columns()[-1].key == "status"  # one entry did not complete


def test_runs_are_found_by_folder_id_or_its_end(two_runs, root):
    slow = two_runs[0]
    assert resolve_run(str(slow)) == slow
    assert resolve_run(slow.name) == root / slow.name
    assert resolve_run("aaaa") == root / slow.name
    with pytest.raises(NnxError, match="no such run"):
        resolve_run("zzzz")
    write_train_run(root, BASE, curve(2, 1, 0.5), stamp="20250314-093100", suffix="baaa")
    with pytest.raises(NnxError, match="matches 2 runs") as error:
        resolve_run("aaa")
    assert error.value.exit_code == 2


def test_compare_fits_80_columns_and_never_cuts_a_row(two_runs, sweep, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    monkeypatch.setenv("NO_COLOR", "1")
    code = cli.main(["compare", str(two_runs[0]), str(two_runs[1]), sweep.name])
    out = capsys.readouterr().out
    assert code == 0
    lines = out.splitlines()
    assert all(len(line) <= 80 for line in lines), max(lines, key=len)
    for label in ("aaaa", "bbbb", "b2b2#1", "b2b2#2", "b2b2#3"):
        row = next(line for line in lines if line.startswith(label + " "))
        assert re.search(r"\d\.\d", row), row  # the numbers stay on the run's own line
    # the settings that differ are all named, as columns or below the table
    for name in ("units", "activation", "learning_rate"):
        assert name in out
    assert "b2b2#3 diverged: training diverged" in out
    assert "20250314-093000-cmp-b2b2" in out  # the legend names each run in full


def test_compare_wide_terminal_shows_full_titles(two_runs, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "160")
    assert cli.main(["compare", *(str(p) for p in two_runs)]) == 0
    header = next(line for line in capsys.readouterr().out.splitlines() if "run" in line)
    assert "layers.0.units" in header and "compile.learning_rate" in header
    assert "train acc" in header and "best epoch" in header


def test_compare_json(two_runs, sweep, capsys):
    assert cli.main(["compare", str(sweep), str(two_runs[0]), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["metric"] == "accuracy"
    runs = data["runs"]
    assert [r["run"] for r in runs][:2] == [f"{sweep.name}#1", f"{sweep.name}#2"]
    first = runs[0]
    assert {"run", "params", "metrics", "best_epoch", "history", "status"} <= set(first)
    assert set(first["params"]) == set(data["differing"])
    assert first["metrics"]["final_val_accuracy"] == pytest.approx(0.8, abs=0.1)
    assert first["metrics"]["test_loss"] == 0.3
    assert runs[2]["status"] == "diverged" and runs[2]["metrics"]["final_loss"] == 9.0
    assert runs[-1]["kind"] == "train" and runs[-1]["number"] is None


def test_compare_plot_overlays_curves_with_markers(two_runs, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    monkeypatch.setenv("NO_COLOR", "1")
    assert cli.main(["compare", *(str(p) for p in two_runs), "--plot", "--metric", "loss"]) == 0
    out = capsys.readouterr().out
    assert "loss by epoch" in out
    assert "• aaaa" in out and "x bbbb" in out
    assert not ANSI.search(out)


def test_compare_errors_exit_2(root, capsys):
    assert cli.main(["compare", "nope"]) == 2
    assert "nnexplorer: error: nope: no such run" in capsys.readouterr().err


def test_a_grid_opens_as_its_candidates(root):
    """Candidates: their folds' mean training curve, the CV score; the best has test metrics."""
    import json as json_

    from tui_fakes import grid_script

    from nnexplorer.core.runs import RunRecorder
    from nnexplorer.core.spec import spec_to_toml, validate_spec

    data = {**preset(), "grid": {"cv": 2, "params": {"layers.0.units": [4, 8]}}}
    spec = validate_spec(data)
    run_dir = root / "20250314-094000-cmp-9999"
    run_dir.mkdir()
    (run_dir / "preset.toml").write_text(spec_to_toml(spec), encoding="utf-8")
    (run_dir / "run.json").write_text(json_.dumps({"mode": "grid", "created": 0}))
    recorder = RunRecorder(run_dir)
    for event in grid_script(folds=2, epochs=3)(spec, "grid"):
        recorder(event)
    recorder.close()
    comparison = Comparison.of(load_entries([str(run_dir)]))
    first, second = comparison.entries
    assert [e.kind for e in comparison.entries] == ["candidate", "candidate"]
    assert list(comparison.settings) == ["layers.0.units"]
    assert first.score == pytest.approx(0.505) and second.score == pytest.approx(0.555)
    assert len(first.history) == 3 and not first.test  # folds only: no test of its own
    assert second.test == {"accuracy": 0.9}  # the best candidate, refitted and tested
    assert "cv_score" in [c.key for c in comparison.columns()]
