"""Do the lessons show what their notes say? Run each lesson preset at full length and print the
measured effect beside the claim.

Each lesson is run as the explorer's F6 runs it (``nnexplorer run NAME --grid``: a sweep, or for
``lesson-grid`` its cross-validated grid search; ``activity-digits`` trains once, F5, then runs
its grid), in a fresh process with its own runs folder. The figures are read back from the run
records (summary.json, history.csv, layer_stats.jsonl), so they are what the explorer shows.
A line ends in ``holds`` or ``DIFFERS``; the exit code is 1 when any claim differs.

    .venv/bin/python bench/lessons.py                      # every lesson (10-15 min on 2 cores)
    .venv/bin/python bench/lessons.py lesson-init lesson-loss
    .venv/bin/python bench/lessons.py --keep               # keep the run folders
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nnexplorer.core.help import lesson_names


@dataclass
class Variant:
    """One variant of a sweep as its records tell it."""

    label: str
    status: str
    test: dict[str, float]
    final: dict[str, float]
    seconds: float
    history: list[dict[str, float]] = field(default_factory=list)
    grads: list[list[float]] = field(default_factory=list)  # per epoch: each layer's grad norm

    def first_epoch(self, metric: str, at_least: float) -> int | None:
        """The first epoch whose ``metric`` reaches ``at_least``."""
        for epoch, row in enumerate(self.history, start=1):
            if row.get(metric, -math.inf) >= at_least:
                return epoch
        return None


@dataclass
class Check:
    """What the lesson claims, what was measured, and whether the claim holds."""

    claim: str
    measured: str
    holds: bool


def _label(params: dict[str, Any]) -> str:
    return ", ".join(str(v) for v in params.values())


def read_sweep(run_dir: Path) -> dict[str, Variant]:
    """The variants of the sweep recorded in ``run_dir``, by label (their grid values)."""
    summary = json.loads((run_dir / "summary.json").read_text("utf-8"))
    variants: dict[int, Variant] = {}
    for record in summary.get("variants", []):
        variants[record["variant"]] = Variant(
            _label(record["params"]),
            record["status"],
            record.get("test_metrics") or {},
            record.get("final_metrics") or {},
            record.get("train_seconds") or 0.0,
        )
    with (run_dir / "history.csv").open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            number = int(row.pop("variant"))
            row.pop("epoch")
            values = {k: float(v) for k, v in row.items() if v not in ("", None)}
            variants[number].history.append(values)
    stats = run_dir / "layer_stats.jsonl"
    if stats.exists():
        for line in stats.read_text("utf-8").splitlines():
            event = json.loads(line)
            norms = [layer.get("grad_norm") for layer in event["layers"]]
            variants[event["candidate"] + 1].grads.append(norms)
    return {v.label: v for v in variants.values()}


def _acc(v: Variant, key: str = "val_accuracy") -> str:
    value = v.final.get(key) if key in v.final else v.test.get(key.removeprefix("test_"))
    return "-" if value is None else f"{value:.3f}"


def _epoch_text(epoch: int | None) -> str:
    return "never" if epoch is None else f"epoch {epoch}"


# --------------------------------------------------------------------------- the claims


def check_init(run: Path) -> list[Check]:
    v = read_sweep(run)
    small, big, glorot, he = (v[k] for k in ("N(0, 0.05)", "N(0, 1)", "Glorot", "He"))
    g80, h80 = glorot.first_epoch("val_accuracy", 0.8), he.first_epoch("val_accuracy", 0.8)
    first = [v[k].grads[0][0] for k in ("N(0, 0.05)", "Glorot", "He") if v[k].grads]
    return [
        Check(
            "N(0, 0.05) stays at chance (loss ~ ln 10 = 2.303, accuracy ~ 0.10)",
            f"loss {small.final['loss']:.3f}, val accuracy {_acc(small)}",
            abs(small.final["loss"] - math.log(10)) < 0.01 and small.final["val_accuracy"] < 0.2,
        ),
        Check(
            "N(0, 1) diverges in epoch 1",
            f"{big.status} after {len(big.history)} epoch(s)",
            big.status == "diverged" and len(big.history) == 1,
        ),
        Check(
            "Glorot learns slowly, He fast (first epoch with val accuracy >= 0.8)",
            f"Glorot {_epoch_text(g80)} (final {_acc(glorot)}), He {_epoch_text(h80)} "
            f"(final {_acc(he)})",
            h80 is not None and (g80 is None or h80 < g80),
        ),
        Check(
            "Inside: first-layer gradient norm at epoch 1, N(0, 0.05) << Glorot < He",
            " / ".join(f"{g:.1e}" for g in first),
            len(first) == 3 and first[0] < first[1] / 100 and first[1] < first[2],
        ),
    ]


def check_activations(run: Path) -> list[Check]:
    v = read_sweep(run)
    sig, tanh, relu = v["sigmoid"], v["tanh"], v["relu"]
    norms = sig.grads[0] if sig.grads else []
    hidden = norms[:-1]
    ratio = hidden[0] / hidden[-1] if len(hidden) > 1 and hidden[-1] else math.nan
    return [
        Check(
            "sigmoid stays at chance with SGD (val accuracy ~ 0.10)",
            f"sigmoid {_acc(sig)}, tanh {_acc(tanh)}, relu {_acc(relu)}",
            sig.final["val_accuracy"] < 0.2 and min(tanh.final["val_accuracy"], 0.9) >= 0.8,
        ),
        Check(
            "sigmoid's gradient norms fall by orders of magnitude towards the input",
            "epoch 1, layer 1..6: "
            + " ".join(f"{g:.0e}" for g in hidden)
            + f" (first/last {ratio:.0e})",
            ratio < 1e-2,
        ),
    ]


def check_optimizers(run: Path) -> list[Check]:
    v = read_sweep(run)
    reach = {k: x.first_epoch("val_accuracy", 0.9) for k, x in v.items()}
    text = ", ".join(f"{k} {_epoch_text(e)} ({_acc(v[k])})" for k, e in reach.items())
    sgd = reach["SGD"] or 10**6
    faster = [k for k in ("SGD + momentum", "RMSprop", "Adam") if (reach[k] or 10**6) < sgd]
    return [
        Check(
            "momentum, RMSprop and Adam reach val accuracy 0.9 sooner than plain SGD",
            text,
            len(faster) == 3,
        )
    ]


def check_standardize(run: Path) -> list[Check]:
    v = read_sweep(run)
    acc = {k: x.test.get("accuracy", math.nan) for k, x in v.items()}
    return [
        Check(
            "test accuracy about 0.39 (none) / 0.89 (minmax) / 0.92 (standard)",
            " / ".join(f"{acc[k]:.3f}" for k in ("none", "minmax", "standard")),
            acc["none"] < 0.5 and acc["minmax"] > 0.8 and acc["standard"] >= acc["minmax"],
        )
    ]


def _gap(x: Variant) -> float:
    return x.final["accuracy"] - x.final["val_accuracy"]


def check_overfitting(run: Path) -> list[Check]:
    v = read_sweep(run)
    none = v["none"]
    lowest = min(row["val_loss"] for row in none.history)
    rows = ", ".join(
        f"{k}: gap {_gap(x):+.2f} val_loss {x.final['val_loss']:.2f} test {x.test['accuracy']:.3f}"
        for k, x in v.items()
    )
    others = [x for k, x in v.items() if k != "none"]
    return [
        Check(
            "without regularisation the val loss rises from its lowest while train loss falls",
            f"none: val_loss lowest {lowest:.2f}, final {none.final['val_loss']:.2f}; "
            f"train accuracy {none.final['accuracy']:.3f} vs val {none.final['val_accuracy']:.3f}",
            none.final["val_loss"] > 2 * lowest and _gap(none) > 0.1,
        ),
        Check(
            "every regularised variant ends with a lower val loss than none",
            rows,
            all(x.final["val_loss"] < none.final["val_loss"] for x in others),
        ),
    ]


def check_loss(run: Path) -> list[Check]:
    v = read_sweep(run)
    ce, mse = v["categorical_crossentropy"], v["mean_squared_error"]
    return [
        Check(
            "cross-entropy learns much faster than MSE with SGD (test accuracy, same epochs)",
            f"cross-entropy {ce.test['accuracy']:.3f}, MSE {mse.test['accuracy']:.3f}",
            ce.test["accuracy"] > mse.test["accuracy"] + 0.3,
        )
    ]


def check_batch(run: Path) -> list[Check]:
    v = read_sweep(run)
    keys = ("batch 1", "batch 32", "full batch")
    after_one = [v[k].history[0]["val_accuracy"] for k in keys]
    per_epoch = [v[k].seconds / max(1, len(v[k].history)) for k in keys]
    return [
        Check(
            "after one epoch: batch 1 >> batch 32 >> full batch (val accuracy)",
            " / ".join(f"{a:.3f}" for a in after_one),
            after_one[0] > after_one[1] > after_one[2],
        ),
        Check(
            "an epoch of batch 1 costs far more time (seconds per epoch)",
            " / ".join(f"{s:.2f}" for s in per_epoch),
            per_epoch[0] > 3 * per_epoch[1],
        ),
    ]


def check_grid(run: Path) -> list[Check]:
    summary = json.loads((run / "summary.json").read_text("utf-8"))
    with (run / "grid.csv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    scores = sorted(float(r["mean_test_score"]) for r in rows if r.get("mean_test_score"))
    return [
        Check(
            "8 candidates, each scored by 3-fold CV; the best is retrained and tested",
            f"{len(rows)} candidates, cv scores {scores[0]:.3f}..{scores[-1]:.3f}; best "
            f"{summary.get('best_params')} (cv {summary.get('best_score', 0):.3f}), test "
            f"accuracy {summary['test_metrics'].get('accuracy', math.nan):.3f}",
            len(rows) == 8 and summary["status"] == "completed",
        )
    ]


def check_activity(train: Path, grid: Path) -> list[Check]:
    summary = json.loads((train / "summary.json").read_text("utf-8"))
    searched = json.loads((grid / "summary.json").read_text("utf-8"))
    matrix = summary.get("confusion_matrix") or []
    missed = sum(sum(row) - row[i] for i, row in enumerate(matrix))
    return [
        Check(
            "the MLP recognises most test digits; the Evaluation view lists the rest",
            f"test accuracy {summary['test_metrics']['accuracy']:.3f}, {missed} of "
            f"{sum(map(sum, matrix))} test digits misclassified",
            summary["test_metrics"]["accuracy"] > 0.9 and missed > 0,
        ),
        Check(
            "the grid search (F6) picks a candidate by 3-fold CV",
            f"best {searched.get('best_params')} (cv {searched.get('best_score', 0):.3f}), "
            f"test accuracy {searched['test_metrics'].get('accuracy', math.nan):.3f}",
            searched["status"] == "completed",
        ),
    ]


CHECKS: dict[str, Callable[[Path], list[Check]]] = {
    "lesson-init": check_init,
    "lesson-activations": check_activations,
    "lesson-optimizers": check_optimizers,
    "lesson-standardize": check_standardize,
    "lesson-overfitting": check_overfitting,
    "lesson-loss": check_loss,
    "lesson-batch-epochs": check_batch,
    "lesson-grid": check_grid,
}


# --------------------------------------------------------------------------- running


def run_preset(name: str, folder: Path, *flags: str) -> tuple[Path, float]:
    """Run bundled preset ``name`` in a fresh process; its run folder and wall seconds."""
    runs = folder / f"{name}{''.join(flags).replace('-', '')}"
    log = runs.with_suffix(".log")
    argv = [sys.executable, "-m", "nnexplorer", "run", name, "--runs", str(runs), *flags]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    started = time.perf_counter()
    with log.open("w", encoding="utf-8") as out:
        code = subprocess.run(argv, stdout=out, stderr=subprocess.STDOUT, env=env).returncode
    seconds = time.perf_counter() - started
    found = sorted(p for p in runs.iterdir() if p.is_dir()) if runs.exists() else []
    if code not in (0, 1) or not found:
        tail = log.read_text("utf-8", errors="replace")[-2000:]
        raise SystemExit(f"{' '.join(argv)} exited with {code}:\n{tail}")
    return found[-1], seconds


def report(name: str, checks: list[Check], seconds: float) -> bool:
    print(f"\n{name}  ({seconds:.0f} s)", flush=True)
    for check in checks:
        verdict = "holds" if check.holds else "DIFFERS"
        print(f"  claim:    {check.claim}\n  measured: {check.measured}\n  -> {verdict}")
    return all(check.holds for check in checks)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("lessons", nargs="*", metavar="LESSON", help="default: every lesson")
    parser.add_argument("--keep", action="store_true", help="keep the run folders")
    args = parser.parse_args(argv)
    chosen = args.lessons or list(lesson_names())
    unknown = set(chosen) - set(lesson_names())
    if unknown:
        parser.error(f"unknown lesson(s): {', '.join(sorted(unknown))}")
    folder = Path(tempfile.mkdtemp(prefix="nnx-bench-lessons-"))
    print(f"{os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}; runs in {folder}", flush=True)
    ok = True
    for name in chosen:
        if name == "activity-digits":
            train, first = run_preset(name, folder)
            grid, second = run_preset(name, folder, "--grid")
            ok &= report(name, check_activity(train, grid), first + second)
            continue
        run, seconds = run_preset(name, folder, "--grid")
        ok &= report(name, CHECKS[name](run), seconds)
    if not args.keep:
        import shutil

        shutil.rmtree(folder, ignore_errors=True)
    print("\nevery claim holds" if ok else "\nsome claims DIFFER: fix the preset or the notes")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
