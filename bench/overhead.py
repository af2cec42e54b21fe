"""How much time does nnexplorer add to a training run, compared with a plain Keras script?

Times ``nnexplorer run PRESET`` against a plain Keras script, generated in a temporary folder,
that builds and fits the identical model (same layers, initialisers with the same seeds,
regularisers, optimizer, loss and metrics) on identical data (the same split and scaling, saved
to an .npz) with the same epochs, batch size and validation data, then evaluates it on the test
split. Both run as fresh processes (interpreter start and TensorFlow import included) and are
alternated; the median of the per-pair wall-time ratios is the figure of merit (target <= 1.03).
The CPU-time ratio is printed too: on a busy machine it varies less than wall time.

Then the cost of the diagnostics (per-layer statistics on the probe batch every epoch;
``fit.diagnostics``): the same preset runs with ``fit.diagnostics = true`` and ``= false``,
alternated, and the median ratios of their training times (``train_seconds`` in summary.json:
the fit with all its callbacks, so the per-epoch work is inside it), CPU times and wall times are
printed (target <= 1.05). On a loaded machine those ratios swing by several per cent from pair
to pair, so the share of the training time that the runs themselves measured in the diagnostics
(``diagnostics_seconds`` / ``train_seconds``, timed around the work inside the same process) is
printed as well: it does not depend on what else the machine does.

    .venv/bin/python bench/overhead.py                      # digits, 150 epochs, 3 pairs
    .venv/bin/python bench/overhead.py --repeats 5 --set fit.epochs=200
    .venv/bin/python bench/overhead.py --only diagnostics   # just diagnostics on vs off
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from nnexplorer.core import building, datasets
from nnexplorer.core.building import Recipe
from nnexplorer.core.heads import resolve_head
from nnexplorer.core.spec import ExperimentSpec, load_preset, save_preset

DEFAULT_SET = ["fit.epochs=150"]
TARGET = 1.03
DIAGNOSTICS_TARGET = 1.05


def code(value: Any) -> str:
    """Python source that creates ``value`` (a Recipe becomes ``keras.<path>(...)``)."""
    if isinstance(value, Recipe):
        parts = [code(a) for a in value.args]
        parts += [f"{k}={code(v)}" for k, v in value.kwargs.items()]
        return f"keras.{value.path}({', '.join(parts)})"
    if isinstance(value, list):
        return "[" + ", ".join(code(v) for v in value) + "]"
    return repr(value)


def write_data(spec: ExperimentSpec, folder: Path) -> tuple[Path, Any, Any]:
    """The run's split and scaled data (as nnexplorer prepares it) in ``folder/data.npz``."""
    data = datasets.load_dataset(spec.data, spec.experiment.seed)
    data = datasets.standardized(data, spec.data.standardize)
    head = resolve_head(spec, data.task, data.n_classes)
    arrays = {
        "x_train": data.x_train,
        "y_train": building.prepare_targets(data.y_train, head, data.n_classes),
        "x_test": data.x_test,
        "y_test": building.prepare_targets(data.y_test, head, data.n_classes),
    }
    if data.x_val is not None:
        arrays["x_val"] = data.x_val
        arrays["y_val"] = building.prepare_targets(data.y_val, head, data.n_classes)
    path = folder / "data.npz"
    np.savez(path, **arrays)
    return path, data, head


def keras_script(spec: ExperimentSpec, npz: Path, data: Any, head: Any) -> str:
    """A standalone Keras script that trains ``spec``'s model on the saved data."""
    layers = [f"keras.Input(shape=({data.n_features},))"]
    layers += [code(r) for r in building.layer_recipes(spec)]
    layers.append(code(building.output_recipe(spec, head)))
    metrics = code(building.metric_recipes(head, data.task))
    validation = "(d['x_val'], d['y_val'])" if data.x_val is not None else "None"
    callbacks = "[]"
    early = spec.fit.early_stopping
    if early is not None:
        monitor = early.monitor
        if data.x_val is None and monitor.startswith("val_"):
            monitor = monitor[4:]
        callbacks = (
            f"[keras.callbacks.EarlyStopping(monitor={monitor!r}, patience={early.patience}, "
            f"min_delta={early.min_delta!r}, restore_best_weights={early.restore_best_weights}, "
            f"mode={early.mode!r})]"
        )
    seed = (
        ""
        if spec.experiment.seed is None
        else f"keras.utils.set_random_seed({spec.experiment.seed})"
    )
    body = ",\n    ".join(layers)
    return f"""\
import numpy as np
import keras

{seed}
d = np.load({str(npz)!r})
model = keras.Sequential([
    {body},
])
model.compile(
    optimizer={code(building.optimizer_recipe(spec.compile))},
    loss={head.loss!r},
    metrics={metrics},
)
model.fit(
    d['x_train'], d['y_train'],
    epochs={spec.fit.epochs}, batch_size={spec.fit.batch_size}, shuffle={spec.fit.shuffle},
    validation_data={validation}, callbacks={callbacks}, verbose=0,
)
print(model.evaluate(d['x_test'], d['y_test'], verbose=0, return_dict=True))
print("params", model.count_params())
"""


def timed(argv: list[str], env: dict[str, str], log: Path) -> tuple[float, float]:
    """Wall seconds and CPU seconds (user + system) of one process; fails loudly if it fails."""
    start = time.perf_counter()
    with log.open("w", encoding="utf-8") as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        tail = log.read_text("utf-8", errors="replace")[-2000:]
        raise SystemExit(f"{' '.join(argv)} exited with {proc.returncode}:\n{tail}")
    return seconds, usage.ru_utime + usage.ru_stime


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--preset", default="digits", help="preset name or file (digits)")
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        metavar="KEY=VALUE",
        help=f"preset overrides (default: {' '.join(DEFAULT_SET)})",
    )
    parser.add_argument("--repeats", type=int, default=3, help="runs of each (3)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    parser.add_argument(
        "--only",
        choices=("keras", "diagnostics"),
        help="run only the plain-Keras comparison or only the diagnostics on/off comparison",
    )
    args = parser.parse_args(argv)

    spec = load_preset(args.preset, args.overrides or DEFAULT_SET)
    folder = Path(tempfile.mkdtemp(prefix="nnx-bench-"))
    npz, data, head = write_data(spec, folder)
    preset = save_preset(spec, folder / "preset.toml")
    script = folder / "plain_keras.py"
    script.write_text(keras_script(spec, npz, data, head), encoding="utf-8")
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "NNEXPLORER_RUNS": str(folder / "runs")}
    env.pop("NNEXPLORER_THREADS", None)
    plain = [sys.executable, str(script)]
    nnx = [sys.executable, "-m", "nnexplorer", "run", str(preset)]

    print(
        f"preset {args.preset} {' '.join(args.overrides or DEFAULT_SET)}: "
        f"{spec.fit.epochs} epochs, batch {spec.fit.batch_size}, {len(data.x_train)} train / "
        f"{0 if data.x_val is None else len(data.x_val)} validation samples; folder {folder}",
        flush=True,
    )
    if args.only != "diagnostics":
        compare_with_keras(plain, nnx, env, folder, args.repeats)
    if args.only != "keras":
        compare_diagnostics(preset, env, folder, args.repeats)
    if not args.keep:
        import shutil

        shutil.rmtree(folder, ignore_errors=True)
    return 0


def compare_with_keras(
    plain: list[str], nnx: list[str], env: dict[str, str], folder: Path, repeats: int
) -> None:
    """nnexplorer run against the plain Keras script, alternated; prints the ratios."""
    wall: dict[str, list[float]] = {"keras": [], "nnexplorer": []}
    cpu: dict[str, list[float]] = {"keras": [], "nnexplorer": []}
    for i in range(1, repeats + 1):
        # Alternate which goes first, so that drift in machine load hits both alike.
        order = [("keras", plain), ("nnexplorer", nnx)]
        if i % 2 == 0:
            order.reverse()
        for name, cmd in order:
            seconds, cpu_seconds = timed(cmd, env, folder / f"{name}-{i}.log")
            wall[name].append(seconds)
            cpu[name].append(cpu_seconds)
        print(
            f"pair {i}: plain keras {wall['keras'][-1]:6.1f} s (cpu {cpu['keras'][-1]:6.1f} s)   "
            f"nnexplorer run {wall['nnexplorer'][-1]:6.1f} s (cpu {cpu['nnexplorer'][-1]:6.1f} s)"
            f"   ratio {wall['nnexplorer'][-1] / wall['keras'][-1]:.3f}",
            flush=True,
        )
    _check_same_model(folder, repeats)
    ratio = statistics.median(n / k for n, k in zip(wall["nnexplorer"], wall["keras"], strict=True))
    cpu_ratio = statistics.median(
        n / k for n, k in zip(cpu["nnexplorer"], cpu["keras"], strict=True)
    )
    print(
        f"median wall: plain keras {statistics.median(wall['keras']):.1f} s, "
        f"nnexplorer run {statistics.median(wall['nnexplorer']):.1f} s; "
        f"median ratio {ratio:.3f} (target <= {TARGET}); "
        f"CPU-time ratio {cpu_ratio:.3f} (less sensitive to other load on the machine)"
    )


def compare_diagnostics(preset: Path, env: dict[str, str], folder: Path, repeats: int) -> None:
    """``fit.diagnostics`` on against off, alternated; prints the training-time ratios."""
    runs: dict[bool, list[dict[str, float]]] = {True: [], False: []}
    for i in range(1, repeats + 1):
        order = [True, False] if i % 2 else [False, True]
        for on in order:
            root = folder / f"diagnostics-{'on' if on else 'off'}-{i}"
            argv = [sys.executable, "-m", "nnexplorer", "run", str(preset), "--runs", str(root)]
            argv += ["--set", f"fit.diagnostics={'true' if on else 'false'}"]
            wall, cpu = timed(argv, env, folder / f"diagnostics-{on}-{i}.log")
            (run_dir,) = root.iterdir()
            summary = json.loads((run_dir / "summary.json").read_text("utf-8"))
            if summary.get("status") != "completed":
                raise SystemExit(f"diagnostics run {run_dir} did not complete: {summary}")
            stats = (run_dir / "layer_stats.jsonl").is_file()
            if stats != on:
                raise SystemExit(f"{run_dir}: layer_stats.jsonl {'missing' if on else 'present'}")
            epochs = max(1, int(summary["epochs_completed"]))
            runs[on].append(
                {
                    "train": summary["train_seconds"],
                    "wall": wall,
                    "cpu": cpu,
                    "epoch": summary["train_seconds"] / epochs,
                    "inside": summary.get("diagnostics_seconds", 0.0) / epochs,
                }
            )
        on, off = runs[True][-1], runs[False][-1]
        print(
            f"pair {i}: diagnostics on {on['train']:6.1f} s training ({on['epoch'] * 1000:5.0f} ms"
            f"/epoch), off {off['train']:6.1f} s ({off['epoch'] * 1000:5.0f} ms/epoch)   "
            f"ratio {on['train'] / off['train']:.3f}; measured inside the run: "
            f"{on['inside'] * 1000:.1f} ms/epoch ({on['inside'] / on['epoch']:.1%})",
            flush=True,
        )
    pairs = list(zip(runs[True], runs[False], strict=True))
    train_ratio = statistics.median(a["train"] / b["train"] for a, b in pairs)
    wall_ratio = statistics.median(a["wall"] / b["wall"] for a, b in pairs)
    cpu_ratio = statistics.median(a["cpu"] / b["cpu"] for a, b in pairs)
    share = statistics.median(a["inside"] / a["epoch"] for a in runs[True])
    print(
        f"diagnostics on vs off: median training-time ratio {train_ratio:.3f} "
        f"(target <= {DIAGNOSTICS_TARGET}), CPU-time ratio {cpu_ratio:.3f}, wall-time ratio "
        f"{wall_ratio:.3f}; share of the training time measured inside the runs {share:.1%}"
    )


def _check_same_model(folder: Path, repeats: int) -> None:
    """Both sides trained a model of the same size (guards against comparing different models)."""
    log = (folder / f"keras-{repeats}.log").read_text("utf-8")
    plain_params = int(next(ln for ln in log.splitlines() if ln.startswith("params")).split()[1])
    runs = sorted((folder / "runs").iterdir())
    summary = json.loads((runs[-1] / "summary.json").read_text("utf-8"))
    if summary.get("status") != "completed" or summary.get("n_params") != plain_params:
        raise SystemExit(
            f"not the same run: plain keras {plain_params} params, nnexplorer {summary}"
        )


if __name__ == "__main__":
    raise SystemExit(main())
