"""How much does a sweep of 3 variants cost, compared with one run of the same network?

Times ``nnexplorer run PRESET --sweep KEY=VALUES`` (3 variants: random vs Glorot vs He initial
weights by default) against ``nnexplorer run PRESET`` of one of those variants, both as fresh
processes (interpreter start and TensorFlow import included), alternated. Three separate runs
would cost about 3x one run; the sweep pays TensorFlow's start-up once, reuses the traced
network when only the initial weights (or learning rate, epochs, batch size) change, and runs
variants in parallel threads when the machine has free cores (``grid.n_jobs``). The median of
the per-pair wall-time ratios is the figure of merit (target <= 2.2 for 3 variants on digits);
the CPU-time ratio is printed too (it varies less on a busy machine).

    .venv/bin/python bench/sweep.py                         # digits, its 40 epochs, 3 pairs
    .venv/bin/python bench/sweep.py --repeats 5 --set fit.epochs=20
    .venv/bin/python bench/sweep.py --sweep 'learning_rate=[1e-3, 3e-3, 1e-2]'
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

from nnexplorer.core.spec import load_preset, save_preset

DEFAULT_SWEEP = 'hidden.kernel_initializer=["random_normal", "glorot_uniform", "he_normal"]'
TARGET = 2.2


def timed(argv: list[str], env: dict[str, str], log: Path) -> tuple[float, float]:
    """Wall seconds and CPU seconds (user + system) of one process; fails loudly if it fails."""
    start = time.perf_counter()
    with log.open("w", encoding="utf-8") as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        tail = log.read_text("utf-8", errors="replace")[-2000:]
        raise SystemExit(f"{' '.join(argv)} exited with {code}:\n{tail}")
    return seconds, usage.ru_utime + usage.ru_stime


def _summaries(runs: Path) -> dict[str, list[dict]]:
    found: dict[str, list[dict]] = {"train": [], "sweep": []}
    for run_dir in sorted(runs.iterdir()):
        summary = json.loads((run_dir / "summary.json").read_text("utf-8"))
        if summary.get("status") != "completed":
            raise SystemExit(f"{run_dir.name} ended {summary.get('status')}: {summary}")
        found[str(summary.get("mode"))].append(summary)
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--preset", default="digits", help="preset name or file (digits)")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="K=V")
    parser.add_argument(
        "--sweep", dest="sweeps", action="append", metavar="KEY=VALUES", help=DEFAULT_SWEEP
    )
    parser.add_argument("--repeats", type=int, default=3, help="pairs of runs (3)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = parser.parse_args(argv)

    sweeps = args.sweeps or [DEFAULT_SWEEP]
    spec = load_preset(args.preset, args.overrides)
    swept = load_preset(args.preset, args.overrides, sweeps)
    n_variants = swept.grid.n_candidates() if swept.grid else 0
    folder = Path(tempfile.mkdtemp(prefix="nnx-bench-sweep-"))
    preset = save_preset(spec, folder / "preset.toml")
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "NNEXPLORER_RUNS": str(folder / "runs")}
    env.pop("NNEXPLORER_THREADS", None)
    one = [sys.executable, "-m", "nnexplorer", "run", str(preset), "--json"]
    sweep = [*one, *(part for item in sweeps for part in ("--sweep", item))]
    print(
        f"preset {args.preset} {' '.join(args.overrides)}: {spec.fit.epochs} epochs, batch "
        f"{spec.fit.batch_size}; sweep of {n_variants} variants: {' '.join(sweeps)}; "
        f"{os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}; folder {folder}",
        flush=True,
    )
    wall: dict[str, list[float]] = {"one": [], "sweep": []}
    cpu: dict[str, list[float]] = {"one": [], "sweep": []}
    for i in range(1, args.repeats + 1):
        order = [("one", one), ("sweep", sweep)]
        if i % 2 == 0:  # alternate, so that drift in machine load hits both alike
            order.reverse()
        for name, cmd in order:
            seconds, cpu_seconds = timed(cmd, env, folder / f"{name}-{i}.log")
            wall[name].append(seconds)
            cpu[name].append(cpu_seconds)
        print(
            f"pair {i}: one run {wall['one'][-1]:6.1f} s (cpu {cpu['one'][-1]:6.1f} s)   "
            f"sweep {wall['sweep'][-1]:6.1f} s (cpu {cpu['sweep'][-1]:6.1f} s)   "
            f"ratio {wall['sweep'][-1] / wall['one'][-1]:.2f}",
            flush=True,
        )
    found = _summaries(folder / "runs")
    jobs = sorted({s.get("n_jobs") for s in found["sweep"]})
    per_run = statistics.median(s["train_seconds"] for s in found["train"])
    per_variant = statistics.median(
        v["train_seconds"] for s in found["sweep"] for v in s["variants"]
    )
    ratio = statistics.median(s / o for s, o in zip(wall["sweep"], wall["one"], strict=True))
    cpu_ratio = statistics.median(s / o for s, o in zip(cpu["sweep"], cpu["one"], strict=True))
    print(
        f"median wall: one run {statistics.median(wall['one']):.1f} s, sweep of {n_variants} "
        f"{statistics.median(wall['sweep']):.1f} s (threads {jobs}); training per run "
        f"{per_run:.1f} s, per variant {per_variant:.1f} s\n"
        f"median ratio {ratio:.2f} (target <= {TARGET} for 3 variants; 3 separate runs: ~3); "
        f"CPU-time ratio {cpu_ratio:.2f}"
    )
    if not args.keep:
        import shutil

        shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
