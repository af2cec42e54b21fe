"""Run folders written from canned events, as a worker would leave them (no TensorFlow).

``write_train_run`` and ``write_sweep_run`` lay out preset.toml, run.json, events.jsonl,
history.csv and summary.json under fixed names and times, so that screens and tables built
from them repeat exactly (snapshots, 80-column output).
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

from nnexplorer.core.events import (
    CandidateFinished,
    CandidateStarted,
    EpochEnded,
    RunFinished,
    RunStarted,
)
from nnexplorer.core.runs import RunRecorder
from nnexplorer.core.spec import spec_to_toml, validate_spec

T0 = datetime(2025, 3, 14, 9, 26).timestamp()


def curve(epochs: int, start: float, end: float, gap: float = 0.05) -> list[dict[str, float]]:
    """Epoch rows falling from ``start`` to ``end`` (loss) with accuracy and a validation gap."""
    rows = []
    for epoch in range(1, epochs + 1):
        loss = start + (end - start) * (epoch - 1) / max(1, epochs - 1)
        rows.append(
            {
                "loss": round(loss, 4),
                "accuracy": round(1 - loss / 2, 4),
                "val_loss": round(loss + gap, 4),
                "val_accuracy": round(1 - (loss + gap) / 2, 4),
            }
        )
    return rows


def _folder(root: Path, name: str, stamp: str, suffix: str, data: dict, mode: str) -> Path:
    spec = validate_spec(data)
    run_dir = root / f"{stamp}-{name}-{suffix}"
    run_dir.mkdir(parents=True)
    (run_dir / "preset.toml").write_text(spec_to_toml(spec), encoding="utf-8")
    created = datetime.strptime(stamp, "%Y%m%d-%H%M%S").timestamp()
    meta = {"run_id": run_dir.name, "mode": mode, "created": created}
    (run_dir / "run.json").write_text(json.dumps(meta), encoding="utf-8")
    return run_dir


def write_train_run(
    root: Path,
    data: dict,
    history: list[dict[str, float]],
    *,
    stamp: str = "20250314-092600",
    suffix: str = "a1a1",
    test: dict[str, float] | None = None,
    status: str = "completed",
    message: str = "",
) -> Path:
    """A finished train run of the preset dict ``data`` with these epochs."""
    name = data["experiment"]["name"]
    run_dir = _folder(root, name, stamp, suffix, data, "train")
    record = RunRecorder(run_dir)
    t = T0
    record(RunStarted(run_id=run_dir.name, time=t, mode="train", spec={"name": name}))
    for epoch, row in enumerate(history, start=1):
        t += 1.0
        event = EpochEnded(
            run_id=run_dir.name, time=t, epoch=epoch, epochs=len(history), metrics=row, seconds=1.0
        )
        record(event)
    summary: dict[str, Any] = {
        "status": status,
        "mode": "train",
        "name": name,
        "epochs_completed": len(history),
        "test_metrics": dict(test or {}),
        "wall_seconds": float(len(history) + 2),
        "message": message,
    }
    record(RunFinished(run_id=run_dir.name, time=t + 1, status=status, summary=summary))  # type: ignore[arg-type]
    record.close()
    return run_dir


def write_sweep_run(
    root: Path,
    data: dict,
    variants: list[dict[str, Any]],
    *,
    stamp: str = "20250314-093000",
    suffix: str = "b2b2",
) -> Path:
    """A finished sweep: each variant a dict of params, history, test, status, reason."""
    name = data["experiment"]["name"]
    keys = list(variants[0]["params"])
    data = {**data, "grid": {"search": "sweep", "params": {k: [] for k in keys}}}
    for variant in variants:
        for key in keys:
            data["grid"]["params"][key].append(variant["params"][key])
    run_dir = _folder(root, name, stamp, suffix, data, "sweep")
    record = RunRecorder(run_dir, variant_column=True)
    t = T0 + 600
    n = len(variants)
    record(
        RunStarted(
            run_id=run_dir.name, time=t, mode="sweep", n_candidates=n, scoring="val_accuracy"
        )
    )
    records = []
    for index, variant in enumerate(variants):
        params, history = variant["params"], variant["history"]
        status = variant.get("status", "completed")
        record(CandidateStarted(run_id=run_dir.name, time=t, candidate=index, params=params))
        for epoch, row in enumerate(history, start=1):
            t += 1.0
            record(
                EpochEnded(
                    run_id=run_dir.name,
                    time=t,
                    epoch=epoch,
                    epochs=len(history),
                    metrics=row,
                    seconds=1.0,
                    candidate=index,
                )
            )
        score = history[-1]["val_accuracy"] if status == "completed" else None
        best = (
            min(range(len(history)), key=lambda i: history[i]["val_loss"]) + 1 if history else None
        )
        record(
            CandidateFinished(
                run_id=run_dir.name,
                time=t,
                candidate=index,
                params=params,
                score=score,
                seconds=float(len(history)),
                status=status,
                reason=variant.get("reason", ""),
                metrics=dict(history[-1]) if history else {},
                test_metrics=dict(variant.get("test") or {}),
                best_epoch=best,
                epochs=len(history),
            )
        )
        records.append({"variant": index + 1, "params": params, "status": status, "score": score})
    scored = [r for r in records if r["score"] is not None]
    best = max(scored, key=lambda r: r["score"]) if scored else None
    chosen = variants[best["variant"] - 1] if best else {}
    summary = {
        "status": "completed",
        "mode": "sweep",
        "name": name,
        "scoring": "val_accuracy",
        "n_candidates": n,
        "epochs_completed": len(chosen.get("history") or []),
        "test_metrics": dict(chosen.get("test") or {}),
        "best_params": dict(best["params"]) if best else {},
        "best_score": best["score"] if best else None,
        "best_variant": best["variant"] if best else None,
        "wall_seconds": t - T0 - 600 + 2,
        "variants": records,
    }
    record(RunFinished(run_id=run_dir.name, time=t + 1, status="completed", summary=summary))  # type: ignore[arg-type]
    record.close()
    return run_dir
