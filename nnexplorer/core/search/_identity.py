"""What a resumed search must share with the session that started it, and the journal records
that belong to it.

A search records with its journal (``fingerprint.json``) a fingerprint of the data it loaded (a
hash of the arrays as the folds and the test see them) and of its resolved preset. A resume
whose data or preset differ is refused (:class:`~nnexplorer.core.errors.ResumeError`): the
journal's scores were computed on the old data and must not be mixed with new ones. Settings
that do not change results (``grid.n_jobs``, the experiment's name and description, the data
caps) are not part of the identity, so a resume with fewer workers is accepted.

Each journal record is then checked against the grid (its candidate's values, its fold index,
its training rows and epochs): a record that does not belong is ignored, with a warning, and
never counted.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from pathlib import Path
from typing import Any

import numpy as np

from nnexplorer.core.errors import ResumeError
from nnexplorer.core.events import json_safe
from nnexplorer.core.files import AppendFile, write_failure
from nnexplorer.core.formatting import count
from nnexplorer.core.runs import write_json_atomic
from nnexplorer.core.runs._schema import read_json
from nnexplorer.core.search._journal import JOURNAL_FILE, fit_key, prepare_fits
from nnexplorer.core.spec import ExperimentSpec

FINGERPRINT_FILE = "fingerprint.json"
IGNORED_FILE = "fits.ignored.jsonl"
# Keys that do not change a search's results (not part of what a resume must match).
NOT_IDENTITY: tuple[tuple[str, str], ...] = (
    ("grid", "n_jobs"),
    ("grid", "backend"),  # a search may resume on another backend
    ("grid", "scheduler"),
    ("grid", "fuse_folds"),  # fused and separate fits record the same folds
    ("experiment", "name"),
    ("experiment", "description"),
    ("data", "max_file_mb"),
    ("data", "max_values"),
)


def resume_identity(spec: ExperimentSpec) -> dict[str, Any]:
    """The spec as a dict without the keys that do not change results."""
    data = spec.to_dict()
    for section, key in NOT_IDENTITY:
        table = data.get(section)
        if isinstance(table, dict):
            table.pop(key, None)
    return data


def preset_fingerprint(spec: ExperimentSpec) -> str:
    """A hash of :func:`resume_identity`."""
    text = json.dumps(resume_identity(spec), sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def data_fingerprint(*arrays: Any) -> str:
    """A hash of arrays: their shapes, types and bytes (None counts as absent)."""
    digest = hashlib.blake2b(digest_size=16)
    for array in arrays:
        if array is None:
            digest.update(b"none;")
            continue
        a = np.ascontiguousarray(array)
        digest.update(f"{a.dtype.str}{a.shape};".encode())
        digest.update(a.view(np.uint8).reshape(-1).data if a.size else b"")
    return digest.hexdigest()


def fingerprint(spec: ExperimentSpec, x: Any, y: Any, x_test: Any, y_test: Any) -> dict[str, Any]:
    """What ``fingerprint.json`` holds for this session."""
    return {
        "data": data_fingerprint(x, y, x_test, y_test),
        "preset": preset_fingerprint(spec),
        "source": spec.data.source,
        "rows": len(x),
        "test_rows": len(x_test),
        "created": time.time(),
    }


def read_fingerprint(run_dir: str | Path) -> dict[str, Any] | None:
    """The fingerprint recorded with the journal, or None (none yet, or unreadable)."""
    data, _ = read_json(Path(run_dir) / FINGERPRINT_FILE)
    return data if isinstance(data, dict) and isinstance(data.get("data"), str) else None


def write_fingerprint(run_dir: str | Path, current: dict[str, Any]) -> None:
    """Record the fingerprint with the journal (atomically; OSError propagates)."""
    write_json_atomic(Path(run_dir) / FINGERPRINT_FILE, current)


def check_resume(
    run_dir: Path, recorded: dict[str, Any] | None, current: dict[str, Any], n_records: int
) -> str:
    """Refuse a resume whose data or preset changed (ResumeError); a warning or ``""``."""
    if recorded is None:
        if not n_records:
            return ""
        return (
            "the journal has no data fingerprint (recorded by an older version): "
            "nnexplorer cannot check that the data is unchanged"
        )
    if recorded.get("preset") not in (None, current["preset"]):
        raise ResumeError(
            f"{run_dir}: the experiment differs from the one this search was started with",
            "resume with the run's own preset.toml, or start a new run",
        )
    if recorded.get("data") != current["data"]:
        rows, now = recorded.get("rows"), current["rows"]
        was = f" ({rows} training rows then, {now} now)" if rows != now else ""
        raise ResumeError(
            f"{run_dir}: the data changed since this search started{was}; its "
            f"{count(n_records, 'finished fit')} {'was' if n_records == 1 else 'were'} scored "
            "on the old data "
            f"({current['source']})",
            "start a new run (without --resume), or restore the data it was started with",
        )
    return ""


def fold_sizes(test_fold: np.ndarray, n_folds: int) -> dict[int, int]:
    """Training rows of each fold's fit (all rows but the fold's own)."""
    total = len(test_fold)
    return {k: int(total - np.count_nonzero(test_fold == k)) for k in range(n_folds)}


def misfit(
    record: dict[str, Any],
    labelled: list[dict[str, Any]],
    epochs: list[int],
    n_folds: int,
    sizes: dict[int, int] | None,
) -> str:
    """Why a journal record does not belong to this grid (``""`` when it does).

    ``labelled`` are the candidates' values as records name them, ``epochs`` each candidate's
    epochs, ``sizes`` each fold's training rows (None for a halving search, whose rounds train
    on fewer rows).
    """
    candidate, fold = record.get("candidate"), record.get("fold")
    if not isinstance(candidate, int) or not 0 <= candidate < len(labelled):
        return f"candidate {candidate!r} is not in the grid"
    if not isinstance(fold, int) or not 0 <= fold < n_folds:
        return f"fold {fold!r} is not one of the {n_folds} folds"
    params = record.get("params")
    if _canonical(params) != _canonical(labelled[candidate]):
        return f"its values are not candidate {candidate}'s"
    n_train, epochs_run = record.get("n_train"), record.get("epochs")
    if sizes is not None and n_train != sizes[fold]:
        return f"it trained on {n_train} rows; fold {fold} has {sizes[fold]}"
    if epochs_run != epochs[candidate]:
        return f"it trained {epochs_run} epochs; candidate {candidate} trains {epochs[candidate]}"
    if record.get("key") != fit_key(params or {}, fold, int(n_train or 0), int(epochs_run or 0)):
        return "its key does not match its content"
    score = record.get("score")
    if record.get("status") == "completed" and not _finite(score):
        return "it completed without a score"
    return ""


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def _finite(value: Any) -> bool:
    try:
        return math.isfinite(float(value))
    except (TypeError, ValueError):
        return False


def split_records(
    prior: dict[str, dict[str, Any]], space: Any, spec: ExperimentSpec, test_fold: Any
) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]]]:
    """The journal records that belong to this grid, and the others (with why not)."""
    grid = spec.grid
    assert space is not None and grid is not None
    labelled = [space.label(c) for c in space.candidates]
    epochs = [int(c.get("fit.epochs", spec.fit.epochs)) for c in space.candidates]
    sizes = None if grid.search == "halving" else fold_sizes(test_fold, grid.cv)
    kept, ignored = {}, {}
    for key, record in prior.items():
        why = misfit(record, labelled, epochs, grid.cv, sizes)
        if why:
            ignored[key] = {**record, "ignored_because": why}
        else:
            kept[key] = record
    return kept, ignored


def prepare_journal(
    run_dir: Path,
    resume: bool,
    kept: dict[str, dict[str, Any]],
    ignored: dict[str, dict[str, Any]],
    current: dict[str, Any],
) -> dict[str, dict[str, Any]]:
    """Set aside the records that do not belong, rewrite the journal with those a resume
    reuses and record the data's fingerprint; the reused records (RecordError on a failed
    write)."""
    try:
        if ignored:
            aside = AppendFile(run_dir / IGNORED_FILE)
            try:
                for record in ignored.values():
                    aside.write(json.dumps(json_safe(record), default=str) + "\n")
            finally:
                aside.close()
        prior = prepare_fits(run_dir, resume, kept)
        write_fingerprint(run_dir, current)
    except OSError as exc:
        raise write_failure(exc, run_dir / JOURNAL_FILE) from None
    return prior
