"""Grid search speed: nnexplorer's grid_search against a plain scikeras + GridSearchCV script.

Runs the digits preset's grid (8 candidates x 3 folds: learning rate x first layer's units x
activation) twice per setting: with ``nnexplorer.core.search.grid_search`` and with a plain script,
written to a temporary folder, that searches the same grid the way the scikeras documentation
does: a ``KerasClassifier`` whose model function builds the identical network (same layers,
initialisers with the same seeds, regulariser, constraint and dropout), inside a
``Pipeline(StandardScaler, net)``, under ``GridSearchCV`` with the same seeded stratified folds,
scoring and refit, on the same rows (saved to an .npz). Each run is a fresh process (interpreter
start and TensorFlow import included), settings alternate between the two, and each pair's
wall-time ratio is printed with the median over repeats. The script also checks that both find
the same best candidate and that every candidate's mean score agrees.

nnexplorer runs twice per setting: with its default, fused folds (each candidate's folds, and the
candidates sharing a network, trained as copies of one network in one model), and unfused
(``grid.fuse_folds = false``: one scikeras fit per fold under GridSearchCV); ``--fuse on|off``
runs only one of them. The fused run must find the same best parameters as the unfused one, with
every candidate's mean score within 0.01 (``--fuse-tolerance``).

Target: nnexplorer (fused) at n_jobs=-1 takes at most 0.4x the plain script's time at n_jobs=-1.
The machine's load average is printed before and after: the ratios mean little on a busy machine.

With ``--scheduler ADDRESS`` it compares the two backends instead: the same grid with
``[grid] backend = "dask"`` on the Dask cluster at ADDRESS against the local backend (n_jobs from
``--jobs``, default -1), alternating, and prints the wall-time ratio (dask / local) and whether
both find the same best parameters. The cluster's workers live on between runs, so its first run
also pays their TensorFlow start; both the first and the median ratio are printed.

    .venv/bin/python bench/grid.py                    # 10 epochs, n_jobs -1 and 1, 1 repeat
    .venv/bin/python bench/grid.py --epochs 20 --repeats 3 --jobs -1
    .venv/bin/python bench/grid.py --jobs -1 --variant reuse=0 --variant warm=0,group=0
    .venv/bin/python bench/grid.py --jobs -1 --repeats 3 --variant fusec=0   # folds only
    .venv/bin/python bench/grid.py --scheduler tcp://127.0.0.1:8786 --repeats 2
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from nnexplorer.core import datasets
from nnexplorer.core.spec import ExperimentSpec, load_preset, save_preset

TARGET = 0.4
FUSE_TOLERANCE = 0.01
GRID_KEYS = {  # the digits preset's grid keys -> the plain script's scikeras parameters
    "optimizer__learning_rate": "optimizer__learning_rate",
    "layers.0.units": "model__units",
    "hidden.activation": "model__activation",
}

PLAIN = """
import json, os, sys, time
import numpy as np
import keras
from scikeras.wrappers import KerasClassifier
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

SEED = {seed}


def build(units, activation, meta):
    model = keras.Sequential([
        keras.Input(shape=(meta["n_features_in_"],)),
        keras.layers.Dense(units, activation=activation,
                           kernel_initializer=keras.initializers.HeNormal(seed=SEED),
                           kernel_regularizer=keras.regularizers.L2({l2}),
                           kernel_constraint=keras.constraints.MaxNorm({max_norm})),
        keras.layers.Dropout({rate}, seed=SEED + 1),
        keras.layers.Dense({units2}, activation=activation,
                           kernel_initializer=keras.initializers.HeNormal(seed=SEED + 2)),
        keras.layers.Dense(meta["n_classes_"], activation="softmax",
                           kernel_initializer=keras.initializers.GlorotUniform(seed=SEED + 3)),
    ])
    return model


if __name__ == "__main__":
    data = np.load(sys.argv[1])
    n_jobs, epochs = int(sys.argv[2]), int(sys.argv[3])
    net = KerasClassifier(model=build, model__units=64, model__activation="relu",
                          optimizer="adam", optimizer__learning_rate=1e-3,
                          loss="sparse_categorical_crossentropy",
                          epochs=epochs, batch_size={batch_size}, verbose=0, random_state=SEED)
    pipeline = Pipeline([("scaler", StandardScaler()), ("net", net)])
    grid = json.loads(sys.argv[4])
    cv = StratifiedKFold(n_splits={cv}, shuffle=True, random_state=SEED)
    started = time.perf_counter()
    search = GridSearchCV(pipeline, grid, cv=cv, scoring="accuracy", n_jobs=n_jobs)
    search.fit(data["x"], data["y"])
    seconds = time.perf_counter() - started
    names = {{v: k for k, v in json.loads(sys.argv[5]).items()}}
    scores = {{}}
    for params, score in zip(search.cv_results_["params"], search.cv_results_["mean_test_score"]):
        key = {{names[k.removeprefix("net__")]: v for k, v in params.items()}}
        scores[json.dumps(key, sort_keys=True)] = float(score)
    best = {{names[k.removeprefix("net__")]: v for k, v in search.best_params_.items()}}
    print(json.dumps({{"search_seconds": seconds, "best_params": best,
                      "best_score": float(search.best_score_), "scores": scores,
                      "test_score": float(search.score(data["x_test"], data["y_test"]))}}))
"""

NNX = """
import json, sys
from pathlib import Path
from nnexplorer.core.spec import load_preset
from nnexplorer.core.search import grid_search
from nnexplorer.core.search._records import read_grid_csv

spec = load_preset(sys.argv[1])
options = json.loads(sys.argv[4])
result = grid_search(spec, Path(sys.argv[2]), None, n_jobs=int(sys.argv[3]), **options)
keys = list(spec.grid.params)
scores = {}
for row in read_grid_csv(sys.argv[2]):
    params = {k: json.loads(row[k]) if row[k][:1] in "0123456789-[{" else row[k] for k in keys}
    scores[json.dumps(params, sort_keys=True)] = float(row["mean_test_score"] or "nan")
s = result.summary
print(json.dumps({"status": result.status, "message": result.message, "used": s["n_jobs"],
                  "backend": s.get("backend"), "workers": s.get("workers", []),
                  "search_seconds": s["search_seconds"], "best_params": s["best_params"],
                  "best_score": s["best_score"], "scores": scores,
                  "test_score": s.get("test_score")}))
"""


def plain_script(spec: ExperimentSpec) -> str:
    """The plain search script for the digits preset's network."""
    dense0, dropout, dense1 = spec.layers[:3]
    assert spec.grid is not None
    return PLAIN.format(
        seed=spec.experiment.seed,
        l2=dense0.kernel_regularizer.l2 if dense0.kernel_regularizer else 0.0,
        max_norm=dense0.kernel_constraint.max_norm if dense0.kernel_constraint else 1e9,
        rate=dropout.rate,
        units2=dense1.units,
        batch_size=spec.fit.batch_size,
        cv=spec.grid.cv,
    )


def check_preset(spec: ExperimentSpec) -> None:
    """The bench's plain script mirrors the digits preset; refuse anything else."""
    layers = [layer.type for layer in spec.layers]
    grid = spec.grid
    expected = ["dense", "dropout", "dense"]
    if layers != expected or grid is None or set(grid.params) != set(GRID_KEYS):
        sys.exit("bench/grid.py: expects the digits preset's layers and grid keys")
    if grid.n_candidates() < 8 or grid.cv < 3:
        sys.exit("bench/grid.py: expects at least 8 candidates and 3 folds")


def write_data(spec: ExperimentSpec, folder: Path) -> Path:
    """The search rows (training + validation) and the test rows, unscaled, as nnexplorer reads."""
    data = datasets.load_dataset(spec.data, spec.experiment.seed)
    x = np.concatenate([data.x_train, data.x_val]) if data.x_val is not None else data.x_train
    y = np.concatenate([data.y_train, data.y_val]) if data.y_val is not None else data.y_train
    path = folder / "data.npz"
    np.savez(path, x=x, y=y, x_test=data.x_test, y_test=data.y_test)
    return path


def run(argv: list[str]) -> dict[str, Any]:
    """Run one process; its JSON result plus ``wall`` (seconds, process start to end)."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, text=True, env=env, check=False)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    if done.returncode != 0:
        sys.exit(f"bench/grid.py: {argv[1]} failed:\n{done.stderr[-3000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result["wall"], result["cpu"] = wall, cpu
    return result


def parse_variant(text: str) -> dict[str, Any]:
    """``reuse=0,spe=1,warm=0,group=0`` -> grid_search keyword options."""
    out: dict[str, Any] = {}
    for part in filter(None, text.split(",")):
        key, _, value = part.partition("=")
        if key == "reuse":
            out["reuse_models"] = value not in ("0", "false", "no")
        elif key == "spe":
            out["steps_per_execution"] = int(value)
        elif key == "warm":
            out["warm_workers"] = value not in ("0", "false", "no")
        elif key == "group":
            out["group_fits"] = value not in ("0", "false", "no")
        elif key == "fuse":
            out["fuse_folds"] = value not in ("0", "false", "no")
        elif key == "fusec":
            out["fuse_candidates"] = value not in ("0", "false", "no")
        else:
            sys.exit(
                f"bench/grid.py: unknown variant setting {key!r} "
                "(reuse, spe, warm, group, fuse, fusec)"
            )
    return out


def compare(results: list[dict[str, Any]], tolerance: float) -> list[str]:
    """Problems: different best candidates, or mean scores further apart than ``tolerance``."""
    problems = []
    first = results[0]
    for other in results[1:]:
        if other["best_params"] != first["best_params"]:
            gap = abs(other["scores"][_key(first)] - other["best_score"])
            if gap > tolerance:
                problems.append(f"best {other['best_params']} vs {first['best_params']}")
        for key, score in first["scores"].items():
            if abs(other["scores"].get(key, float("nan")) - score) > tolerance:
                problems.append(f"{key}: {other['scores'].get(key)} vs {score}")
    return problems


def _key(result: dict[str, Any]) -> str:
    return json.dumps(result["best_params"], sort_keys=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--jobs", type=int, action="append", help="n_jobs to time (-1 and 1)")
    parser.add_argument("--variant", action="append", default=[], help="extra nnexplorer run")
    parser.add_argument("--tolerance", type=float, default=0.02, help="allowed score difference")
    parser.add_argument("--scheduler", metavar="ADDRESS", help="compare with a Dask cluster")
    parser.add_argument("--fuse", choices=("both", "on", "off"), default="both")
    parser.add_argument("--fuse-tolerance", type=float, default=FUSE_TOLERANCE)
    args = parser.parse_args(argv)
    spec = load_preset("digits", [f"fit.epochs={args.epochs}"])
    check_preset(spec)
    if args.scheduler:
        return compare_backends(spec, args)
    jobs = args.jobs or [-1, 1]
    variants = [(f"nnexplorer[{v}]", parse_variant(v)) for v in args.variant]
    if args.fuse in ("both", "off"):
        variants.insert(0, (UNFUSED, {"fuse_folds": False}))
    if args.fuse in ("both", "on"):
        variants.insert(0, ("nnexplorer", {"fuse_folds": True}))
    print(f"load average before: {load()}", flush=True)
    grid = {f"net__{GRID_KEYS[k]}": v for k, v in spec.grid.params.items()}
    with tempfile.TemporaryDirectory(prefix="nnx-bench-grid-") as tmp:
        folder = Path(tmp)
        data = write_data(spec, folder)
        (folder / "plain.py").write_text(plain_script(spec))
        preset = folder / "digits.toml"
        save_preset(spec, preset)
        times: dict[tuple[str, int], list[float]] = {}
        results = []
        by_name: dict[tuple[str, int], list[dict[str, Any]]] = {}
        for repeat in range(args.repeats):
            for n_jobs in jobs:
                order = [("plain", {}), *variants]
                if repeat % 2:
                    order.reverse()
                for name, options in order:
                    if name == "plain":
                        argv_ = [sys.executable, str(folder / "plain.py"), str(data), str(n_jobs)]
                        argv_ += [str(args.epochs), json.dumps(grid), json.dumps(GRID_KEYS)]
                    else:
                        run_dir = folder / f"run-{name}-{n_jobs}-{repeat}"
                        argv_ = [sys.executable, "-c", NNX, str(preset), str(run_dir)]
                        argv_ += [str(n_jobs), json.dumps(options)]
                    result = run(argv_)
                    if result.get("status", "completed") != "completed":
                        sys.exit(f"bench/grid.py: {name} {result['status']}: {result['message']}")
                    times.setdefault((name, n_jobs), []).append(result["wall"])
                    results.append(result)
                    by_name.setdefault((name, n_jobs), []).append(result)
                    used = f" ({result['used']} used)" if "used" in result else ""
                    print(
                        f"{name:>28} n_jobs={n_jobs:>2}{used}: {result['wall']:7.1f} s "
                        f"(search {result['search_seconds']:6.1f} s, cpu {result['cpu']:6.1f} s)  "
                        "best "
                        f"{result['best_params']} {result['best_score']:.4f}",
                        flush=True,
                    )
    print(f"load average after: {load()}")
    report(times, jobs, [name for name, _ in variants])
    problems = compare(results, args.tolerance)
    print("results agree" if not problems else "RESULTS DIFFER:\n  " + "\n  ".join(problems))
    differ = False
    if args.fuse == "both":
        differ = not fused_agrees(by_name, jobs, args.fuse_tolerance)
    return 1 if problems or differ else 0


UNFUSED = "nnexplorer[unfused]"


def load() -> str:
    """The 1, 5 and 15 minute load averages and the core count."""
    try:
        one, five, fifteen = os.getloadavg()
    except OSError:
        return "unknown"
    return f"{one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} core(s)"


def fused_agrees(
    by_name: dict[tuple[str, int], list[dict[str, Any]]], jobs: list[int], tolerance: float
) -> bool:
    """Fused against unfused, run by run: the same best parameters, mean scores within
    ``tolerance``; prints both paths' figures."""
    ok = True
    print(f"\nfused against unfused (tolerance {tolerance}):")
    for n_jobs in jobs:
        pairs = zip(by_name[("nnexplorer", n_jobs)], by_name[(UNFUSED, n_jobs)], strict=True)
        for repeat, (fused, unfused) in enumerate(pairs, start=1):
            same = fused["best_params"] == unfused["best_params"]
            gaps = {k: abs(fused["scores"][k] - v) for k, v in unfused["scores"].items()}
            worst = max(gaps, key=gaps.__getitem__)
            print(
                f"  n_jobs={n_jobs:>2} run {repeat}: best params equal: {'yes' if same else 'NO'} "
                f"(fused {fused['best_score']:.4f}, unfused {unfused['best_score']:.4f}); "
                f"largest mean-score gap {gaps[worst]:.4f} at {worst}"
            )
            for key in sorted(unfused["scores"]):
                print(
                    f"      {key}: fused {fused['scores'][key]:.4f}  "
                    f"unfused {unfused['scores'][key]:.4f}"
                )
            ok = ok and same and gaps[worst] <= tolerance
    print("fused results agree" if ok else "FUSED RESULTS DIFFER from unfused")
    return ok


def compare_backends(spec: ExperimentSpec, args: argparse.Namespace) -> int:
    """The same grid with the Dask backend at ``args.scheduler`` and with the local backend."""
    from nnexplorer.core.search import check_scheduler
    from nnexplorer.core.spec.model import check_scheduler_address

    address = check_scheduler_address(args.scheduler)
    check_scheduler(address)
    n_jobs = (args.jobs or [-1])[0]
    grid = spec.grid.model_copy(update={"backend": "dask", "scheduler": address})
    on_cluster = spec.model_copy(update={"grid": grid})
    times: dict[str, list[float]] = {"local": [], "dask": []}
    results: dict[str, list[dict[str, Any]]] = {"local": [], "dask": []}
    with tempfile.TemporaryDirectory(prefix="nnx-bench-grid-") as tmp:
        folder = Path(tmp)
        presets = {"local": folder / "local.toml", "dask": folder / "dask.toml"}
        save_preset(spec, presets["local"])
        save_preset(on_cluster, presets["dask"])
        for repeat in range(args.repeats):
            order = ["dask", "local"] if repeat % 2 else ["local", "dask"]
            for name in order:
                run_dir = folder / f"run-{name}-{repeat}"
                argv_ = [sys.executable, "-c", NNX, str(presets[name]), str(run_dir)]
                result = run([*argv_, str(n_jobs), "{}"])
                if result["status"] != "completed":
                    sys.exit(f"bench/grid.py: {name} {result['status']}: {result['message']}")
                times[name].append(result["wall"])
                results[name].append(result)
                where = f", {len(result['workers'])} worker(s)" if name == "dask" else ""
                print(
                    f"{name:>6} run {repeat + 1}: {result['wall']:7.1f} s (search "
                    f"{result['search_seconds']:6.1f} s, {result['used']} at once{where})"
                    f"  best {result['best_params']} {result['best_score']:.4f}",
                    flush=True,
                )
    first = times["dask"][0] / times["local"][0]
    median = statistics.median(times["dask"]) / statistics.median(times["local"])
    print(f"\nratio dask / local (wall time): first run {first:.2f}, median {median:.2f}")
    same = all(r["best_params"] == results["local"][0]["best_params"] for r in results["dask"])
    print(
        f"best parameters equal: {'yes' if same else 'NO'} ({results['local'][0]['best_params']})"
    )
    problems = compare([results["local"][0], *results["dask"]], args.tolerance)
    print("scores agree" if not problems else "SCORES DIFFER:\n  " + "\n  ".join(problems))
    return 0 if same and not problems else 1


def report(times: dict[tuple[str, int], list[float]], jobs: list[int], names: list[str]) -> None:
    """Median wall times and the ratios against the plain script."""
    print("\nmedian wall seconds (process start to end):")
    for (name, n_jobs), values in sorted(times.items()):
        print(f"  {name:>28} n_jobs={n_jobs:>2}: {statistics.median(values):7.1f}")
    print("ratios (nnexplorer / plain):")
    for name in names:
        for n_jobs in jobs:
            mine = statistics.median(times[(name, n_jobs)])
            for base_jobs in jobs:
                plain = statistics.median(times[("plain", base_jobs)])
                mark = ""
                if n_jobs == base_jobs == -1 and name == "nnexplorer":  # fused
                    verdict = "met" if mine / plain <= TARGET else "NOT met"
                    mark = f"  (target <= {TARGET}: {verdict})"
                print(
                    f"  {name}(n_jobs={n_jobs}) / plain(n_jobs={base_jobs}) = "
                    f"{mine / plain:.2f}{mark}"
                )


if __name__ == "__main__":
    sys.exit(main())
