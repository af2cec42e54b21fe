"""A grid search's results table: one row per candidate, ranked, as grid.csv holds it.

Rows come from the fit journal (every finished fold of every candidate), so that a search that
was stopped or killed still gets a complete table: candidates without results are listed as
``pending``, those with some folds as ``incomplete``. For a halving search a candidate's row
shows its last round (the one with the most training rows); candidates that reached later rounds
rank first, as scikit-learn ranks them.
"""

from __future__ import annotations

import csv
import math
import os
from pathlib import Path
from typing import Any

from nnexplorer.core.runs import GRID_FILE
from nnexplorer.core.search._journal import fold_stats

STAT_COLUMNS = ("mean_test_score", "std_test_score", "mean_fit_time", "status")
EXTRA_COLUMNS = ("folds", "candidate", "reason")
_ROUND_GAP = 1.05  # training sizes within 5% of each other belong to one halving round


def _last_round(records: list[dict[str, Any]]) -> tuple[int, list[dict[str, Any]]]:
    """The round index and the records of a candidate's last halving round."""
    ordered = sorted(records, key=lambda r: int(r.get("n_train") or 0))
    rounds: list[list[dict[str, Any]]] = []
    for record in ordered:
        size = int(record.get("n_train") or 0)
        if rounds and size <= int(rounds[-1][0].get("n_train") or 0) * _ROUND_GAP:
            rounds[-1].append(record)
        else:
            rounds.append([record])
    return len(rounds) - 1, rounds[-1] if rounds else []


def candidate_rows(
    candidates: list[dict[str, Any]],
    records: dict[str, dict[str, Any]] | list[dict[str, Any]],
    n_folds: int,
) -> list[dict[str, Any]]:
    """One ranked row per candidate: params, mean/std score, mean fit time, status."""
    found = list(records.values()) if isinstance(records, dict) else list(records)
    by_candidate: dict[int, list[dict[str, Any]]] = {}
    for record in found:
        if record.get("fold") is None:
            continue
        by_candidate.setdefault(int(record.get("candidate", -1)), []).append(record)
    rows = []
    for index, params in enumerate(candidates):
        round_index, done = _last_round(by_candidate.get(index, []))
        stats = fold_stats(done) if done else None
        if stats is None:
            status, mean, std, fit_time, reason = "pending", math.nan, math.nan, math.nan, ""
        else:
            status, reason = stats["status"], stats["reason"]
            mean, std, fit_time = stats["mean"], stats["std"], stats["fit_time"]
            if status == "completed" and len(done) < n_folds:
                status = "incomplete"
        rows.append(
            {
                "params": dict(params),
                "mean_test_score": mean,
                "std_test_score": std,
                "mean_fit_time": fit_time,
                "status": status,
                "folds": len(done),
                "candidate": index,
                "reason": reason,
                "_round": round_index,
            }
        )
    order = {"completed": 0, "incomplete": 1, "failed": 2, "pending": 3}

    def sort_key(row: dict[str, Any]) -> tuple[Any, ...]:
        mean = row["mean_test_score"]
        return (
            order[row["status"]],
            -row["_round"],
            -mean if math.isfinite(mean) else math.inf,
            row["candidate"],
        )

    rows.sort(key=sort_key)
    for rank, row in enumerate(rows, start=1):
        row["rank"] = rank
        del row["_round"]
    return rows


def best_row(rows: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The first-ranked completed row, or None."""
    return next((r for r in rows if r["status"] == "completed"), None)


def _cell(value: Any) -> Any:
    if isinstance(value, float):
        return "" if math.isnan(value) else repr(round(value, 6))
    if isinstance(value, dict | list):
        import json

        return json.dumps(value, sort_keys=True)
    return value


def write_grid_csv(run_dir: str | Path, keys: tuple[str, ...], rows: list[dict[str, Any]]) -> Path:
    """Write ``grid.csv`` (rank, params..., scores, fit time, status, ...) atomically."""
    path = Path(run_dir) / GRID_FILE
    columns = ["rank", *keys, *STAT_COLUMNS, *EXTRA_COLUMNS]
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        for row in rows:
            flat = {k: v for k, v in row.items() if k != "params"}
            flat.update({key: row["params"].get(key) for key in keys})
            writer.writerow({k: _cell(v) for k, v in flat.items()})
    os.replace(tmp, path)
    return path


def read_grid_csv(run_dir: str | Path) -> list[dict[str, str]]:
    """The rows of a run's grid.csv as strings (empty when there is none)."""
    try:
        with open(Path(run_dir) / GRID_FILE, encoding="utf-8", newline="") as handle:
            return list(csv.DictReader(handle))
    except FileNotFoundError:
        return []
