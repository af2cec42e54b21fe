"""A sweep's records: grid.csv (one row per variant) and the sweep keys of summary.json.

grid.csv lists the variants in order: ``variant`` (1-based), ``rank`` (by score, best first),
``status``, one column per grid key (as the preset writes it), ``best_epoch``, ``epochs``, the
last epoch's metrics as ``final_<metric>`` and ``final_val_<metric>``, the test split's as
``test_<metric>``, then ``score``, ``train_seconds`` and the ``reason`` of a variant that failed,
diverged or was stopped. A variant that never started is ``pending``.
"""

from __future__ import annotations

import csv
import json
import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from nnexplorer.core.formatting import ordered_metrics
from nnexplorer.core.runs import GRID_FILE
from nnexplorer.core.sweep._variant import VariantResult

LEAD_COLUMNS = ("variant", "rank", "status")
TAIL_COLUMNS = ("score", "train_seconds", "reason")


def ranks(results: Sequence[VariantResult]) -> dict[int, int]:
    """1-based rank by score (best first) of each variant index with a score."""
    scored = [r for r in results if r.score is not None and math.isfinite(r.score)]
    scored.sort(key=lambda r: (-(r.score or 0.0), r.index))
    return {r.index: rank for rank, r in enumerate(scored, start=1)}


def _metric_names(results: Sequence[VariantResult], attr: str) -> list[str]:
    seen: dict[str, None] = {}
    for result in results:
        for name in getattr(result, attr):
            seen.setdefault(name, None)
    return [name for name, _ in ordered_metrics(dict.fromkeys(seen, 0))]


def sweep_rows(
    keys: Sequence[str], results: Sequence[VariantResult]
) -> tuple[list[str], list[dict[str, Any]]]:
    """The columns and rows of a sweep's grid.csv, by variant."""
    finals = _metric_names(results, "final_metrics")
    tests = _metric_names(results, "test_metrics")
    columns = [
        *LEAD_COLUMNS,
        *keys,
        "best_epoch",
        "epochs",
        *(f"final_{name}" for name in finals),
        *(f"test_{name}" for name in tests),
        *TAIL_COLUMNS,
    ]
    ranked = ranks(results)
    rows = []
    for result in sorted(results, key=lambda r: r.index):
        row: dict[str, Any] = {
            "variant": result.number,
            "rank": ranked.get(result.index),
            "status": result.status,
            **{key: result.params.get(key) for key in keys},
            "best_epoch": result.best_epoch,
            "epochs": result.epochs_completed,
            **{f"final_{k}": result.final_metrics.get(k) for k in finals},
            **{f"test_{k}": result.test_metrics.get(k) for k in tests},
            "score": result.score,
            "train_seconds": round(result.train_seconds, 3),
            "reason": result.reason,
        }
        rows.append(row)
    return columns, rows


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, float):
        return "" if math.isnan(value) else repr(round(value, 6))
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True)
    return value


def write_sweep_csv(
    run_dir: str | Path, keys: Sequence[str], results: Sequence[VariantResult]
) -> Path:
    """Write grid.csv for a sweep atomically (temporary file, fsync, rename)."""
    path = Path(run_dir) / GRID_FILE
    columns, rows = sweep_rows(keys, results)
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: _cell(v) for k, v in row.items()})
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)
    return path
