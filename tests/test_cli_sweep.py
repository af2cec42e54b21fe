"""``nnexplorer run PRESET --sweep KEY=VALUES``: bad items exit 2 naming the key (no TensorFlow)."""

from __future__ import annotations

from pathlib import Path

import pytest

from nnexplorer import cli
from nnexplorer.core.spec import load_preset

TINY = """\
[experiment]
name = "tiny-sweep"

[data]
source = "sklearn:iris"

[[layers]]
units = 8

[grid]
n_jobs = 2
cv = 4

[grid.params]
"layers.0.units" = [4, 8]
"""


@pytest.fixture
def tiny(tmp_path) -> Path:
    path = tmp_path / "tiny.toml"
    path.write_text(TINY, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("items", "expected"),
    [
        (["fit.epochs=5"], "--sweep fit.epochs: VALUES must be a TOML list"),
        (["foo"], "--sweep: expected KEY=VALUES with VALUES a TOML list, got 'foo'"),
        (["=[1, 2]"], "--sweep: expected KEY=VALUES"),
        (["units=[1, 2"], "--sweep units: VALUES must be a TOML list"),
        (["units=[]"], "--sweep units: give at least one value"),
        (["units=[4]", "units=[8]"], "--sweep units: given twice"),
        (["fit.epochz=[1, 2]"], "--sweep fit.epochz[0] -> fit.epochz: unknown key 'epochz'"),
        (["layers.0.units=[8, -1]"], "--sweep layers.0.units[1] -> layers[0].units: got -1"),
        (['activation=["relu", "sigmoidd"]'], "--sweep activation[1] -> layers[0].activation"),
        (
            ["learning_rate=[0.1]", "compile.learning_rate=[0.2]"],
            "--sweep compile.learning_rate: sets compile.learning_rate, as 'learning_rate' does",
        ),
    ],
)
def test_bad_sweep_items_exit_2_with_the_key_path(tiny, capsys, items, expected):
    argv = ["run", str(tiny)]
    for item in items:
        argv += ["--sweep", item]
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line]
    assert all(line.startswith(f"nnexplorer: error: {tiny}: ") for line in lines), err
    assert expected in err
    assert "Traceback" not in err


@pytest.mark.parametrize("other", [["--grid"], ["--resume", "somewhere"]])
def test_sweep_does_not_go_with_grid_or_resume(tiny, capsys, other):
    assert cli.main(["run", str(tiny), "--sweep", "units=[4]", *other]) == 2
    assert "--sweep trains each variant once" in capsys.readouterr().err


def test_sweep_replaces_the_grid_keys_and_keeps_its_settings(tiny):
    spec = load_preset(tiny, ["fit.epochs=3"], ["units=[4, 16]", 'hidden.activation=["tanh"]'])
    assert spec.grid is not None and spec.grid.is_sweep
    assert spec.grid.params == {"units": [4, 16], "hidden.activation": ["tanh"]}
    assert spec.grid.n_jobs == 2 and spec.fit.epochs == 3


def test_a_sweep_preset_runs_as_a_sweep_with_grid(tiny, monkeypatch):
    from nnexplorer.cli import headless

    spec = load_preset(tiny, ["grid.search=sweep"])
    assert headless.run_mode(spec, grid=True) == "sweep"
    assert headless.run_mode(load_preset(tiny), grid=True) == "grid"
    assert headless.run_mode(spec, grid=False) == "train"


def _render(live: bool) -> str:
    import io

    from rich.console import Console
    from tui_fakes import sweep_script

    from nnexplorer.cli.console import RunRenderer
    from nnexplorer.core.spec import validate_spec

    spec = validate_spec(
        {
            "data": {"source": "sklearn:iris"},
            "layers": [{"units": 4}],
            "grid": {"search": "sweep", "params": {"units": [2, 4, 8]}},
        }
    )
    out = io.StringIO()
    console = Console(file=out, width=100, force_terminal=live, color_system=None)
    with RunRenderer(console, live=live) as renderer:
        for event in sweep_script(epochs=2, diverge=frozenset({2}))(spec, "sweep"):
            renderer(event)
    return out.getvalue()


def test_renderer_prints_a_line_per_variant_epoch_and_the_variants_table():
    text = _render(live=False)
    assert "4 variants" not in text and "3 variants, ranked by val_accuracy" in text
    assert "variant 1/3  epoch 1/2  loss 1" in text
    assert "variant 3/3  units=8  diverged: the loss became nan at epoch 2" in text
    assert "variant 1/3  units=2  done  score 0.8" in text
    assert "Variants" in text and "best variant: #1 units=2  (val_accuracy 0.8)" in text


def test_renderer_live_ends_with_the_variants_table():
    text = _render(live=True)
    assert "Variants" in text and "best variant: #1" in text and "status: done" in text


def test_a_sweep_preset_exports_a_sweep_function(tiny):
    import ast

    from nnexplorer.core.codegen import export_script

    spec = load_preset(tiny, ["grid.search=sweep", "grid.params.learning_rate=[0.01, 0.1]"])
    script = export_script(spec)
    ast.parse(script)
    assert "def sweep():" in script and "ParameterGrid(param_grid)" in script
    assert '"--sweep" in sys.argv[1:]' in script and "GridSearchCV" not in script
    assert "model.fit(x_train, y_train)" in script  # the training split only
    assert "model.score(x_val, y_val)" in script and "x_search" not in script
