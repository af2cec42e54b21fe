"""What a comparison compares: entries read from run folders (a sweep or grid gives several).

An :class:`Entry` is one trained network: a train run, a sweep's variant or a grid's candidate,
with its settings (the experiment as flat dotted paths), its epochs, the last epoch's metrics,
the test metrics and its best epoch. Runs are read back through the same reducer the screens
use (:func:`nnexplorer.core.progress.restore`), so a live run compares as far as it got.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nnexplorer.core.errors import NnxError, SpecError
from nnexplorer.core.progress import REFIT, CandidateProgress, RunProgress, restore
from nnexplorer.core.runs import PRESET_FILE, list_runs, load_run, run_suffix, runs_root
from nnexplorer.core.spec import ExperimentSpec
from nnexplorer.core.sweep._plan import best_epoch, monitored

# Keys of a preset that describe it rather than set it: never a difference worth a column.
_NOT_SETTINGS = ("experiment.name", "experiment.description")
_WHOLE = ("_initializer",)  # tables shown as one value: random_normal(stddev=0.05)


@dataclass
class Entry:
    """One trained network of a comparison."""

    run_id: str
    run_dir: Path
    name: str
    kind: str  # train | variant | candidate
    number: int | None = None  # a variant's or candidate's 1-based number
    status: str = "unfinished"
    reason: str = ""
    settings: dict[str, Any] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)  # a variant's grid values, as written
    history: list[dict[str, float]] = field(default_factory=list)
    test: dict[str, float] = field(default_factory=dict)
    best_epoch: int | None = None
    score: float | None = None  # a grid candidate's cross-validation score
    label: str = ""

    @property
    def ref(self) -> str:
        """The run id, with ``#<n>`` for a variant or candidate."""
        return self.run_id if self.number is None else f"{self.run_id}#{self.number}"

    @property
    def final(self) -> dict[str, float]:
        """The last epoch's metrics."""
        return dict(self.history[-1]) if self.history else {}


def flatten(data: Any, prefix: str = "") -> dict[str, Any]:
    """A preset dict as ``{dotted.path: value}``; initialiser tables stay one value."""
    if isinstance(data, dict) and not prefix.endswith(_WHOLE):
        out: dict[str, Any] = {}
        for key, value in data.items():
            out.update(flatten(value, f"{prefix}.{key}" if prefix else str(key)))
        return out
    if isinstance(data, list) and data and all(isinstance(v, dict) for v in data):
        out = {}
        for index, value in enumerate(data):
            out.update(flatten(value, f"{prefix}.{index}"))
        return out
    if isinstance(data, dict):  # an initialiser with parameters
        args = ", ".join(f"{k}={v}" for k, v in data.items() if k != "name")
        return {prefix: f"{data.get('name')}({args})"}
    return {prefix: tuple(data) if isinstance(data, list) else data}


def settings_of(spec: ExperimentSpec) -> dict[str, Any]:
    """The experiment's settings as flat dotted paths (its name and grid left out)."""
    data = spec.to_dict()
    data.pop("grid", None)
    return {k: v for k, v in flatten(data).items() if k not in _NOT_SETTINGS}


# --------------------------------------------------------------------------- finding runs


def resolve_run(ref: str, root: str | Path | None = None) -> Path:
    """A run folder from a path or a run id (or its unique end, e.g. ``1a2b``) under ``root``.

    Raises NnxError (exit code 2) naming what was looked for.
    """
    path = Path(ref).expanduser()
    if (path / PRESET_FILE).is_file():
        return path
    base = runs_root(root)
    if (base / ref / PRESET_FILE).is_file():
        return base / ref
    found = [info.run_dir for info in list_runs(base) if info.run_id.endswith(ref)]
    if len(found) == 1:
        return found[0]
    if found:
        names = ", ".join(p.name for p in found[:4])
        raise NnxError(f"{ref}: matches {len(found)} runs in {base} ({names}); give more of it")
    raise NnxError(f"{ref}: no such run directory, nor a run id in {base}")


def load_entries(refs: list[str], root: str | Path | None = None) -> list[Entry]:
    """The entries of the runs ``refs``; a sweep or grid run gives one per variant/candidate."""
    entries: list[Entry] = []
    seen: set[Path] = set()
    for ref in refs:
        run_dir = resolve_run(ref, root).resolve()
        if run_dir in seen:
            continue
        seen.add(run_dir)
        entries.extend(run_entries(run_dir))
    assign_labels(entries)
    return entries


def run_entries(run_dir: Path) -> list[Entry]:
    """The entries of one run folder."""
    record = load_run(run_dir)
    progress = restore(RunProgress(), record)
    if record.mode == "sweep" or progress.mode == "sweep":
        return [_variant(record, progress, c) for _, c in sorted(progress.candidates.items())]
    if record.mode == "grid" or progress.mode == "grid":
        return [_candidate(record, progress, c) for _, c in sorted(progress.candidates.items())]
    entry = Entry(
        run_id=run_dir.name,
        run_dir=run_dir,
        name=record.spec.experiment.name,
        kind="train",
        status=progress.status,
        reason=progress.message if progress.status != "completed" else "",
        settings=settings_of(record.spec),
        history=[dict(row) for row in progress.history],
        test=dict(progress.test_metrics),
    )
    entry.best_epoch = _best_epoch(record.spec, entry.history)
    return [entry]


def _best_epoch(spec: ExperimentSpec, history: list[dict[str, float]]) -> int | None:
    has_validation = any(k.startswith("val_") for row in history for k in row)
    monitor, lower = monitored(spec, has_validation)
    return best_epoch(history, monitor, lower)


def _spec_with(spec: ExperimentSpec, params: dict[str, Any]) -> ExperimentSpec:
    try:
        return spec.with_params(params)
    except SpecError:
        return spec  # values the preset no longer accepts: compare by the base settings


def _variant(record: Any, progress: RunProgress, cand: CandidateProgress) -> Entry:
    spec = _spec_with(record.spec, cand.params)
    history = [dict(row) for row in cand.history]
    return Entry(
        run_id=record.run_dir.name,
        run_dir=record.run_dir,
        name=record.spec.experiment.name,
        kind="variant",
        number=cand.index + 1,
        status=cand.status,
        reason=cand.reason,
        settings=settings_of(spec),
        params=dict(cand.params),
        history=history,
        test=dict(cand.test_metrics),
        best_epoch=cand.best_epoch or _best_epoch(spec, history),
    )


def _fold_mean(cand: CandidateProgress) -> list[dict[str, float]]:
    """A candidate's training curve: each epoch's metrics averaged over its folds."""
    folds = [fit.history for key, fit in cand.fits.items() if key != REFIT and fit.history]
    rows = []
    for epoch in range(max((len(h) for h in folds), default=0)):
        present = [h[epoch] for h in folds if len(h) > epoch]
        names = {k for row in present for k in row}
        rows.append(
            {
                k: sum(float(r[k]) for r in present if k in r) / sum(k in r for r in present)
                for k in sorted(names)
            }
        )
    return rows


def _candidate(record: Any, progress: RunProgress, cand: CandidateProgress) -> Entry:
    spec = _spec_with(record.spec, cand.params)
    refit = cand.fits.get(REFIT)
    refitted = refit is not None and bool(refit.history)
    history = [dict(row) for row in refit.history] if refit and refitted else _fold_mean(cand)
    best = progress.best_candidate_params()
    is_best = refitted and best is not None and dict(best) == dict(cand.params)
    return Entry(
        run_id=record.run_dir.name,
        run_dir=record.run_dir,
        name=record.spec.experiment.name,
        kind="candidate",
        number=cand.index + 1,
        status=cand.status,
        reason=cand.reason,
        settings=settings_of(spec),
        params=dict(cand.params),
        history=history,
        test=dict(progress.test_metrics) if is_best else {},
        best_epoch=_best_epoch(spec, history),
        score=cand.mean,
    )


def assign_labels(entries: list[Entry]) -> None:
    """Short labels: the run id's 4-hex end when unique (``1a2b``), with ``#n`` for variants."""
    ids = list(dict.fromkeys(e.run_id for e in entries))
    short = {run_id: run_suffix(run_id) or run_id for run_id in ids}
    if len(set(short.values())) < len(ids):
        short = {run_id: run_id for run_id in ids}
    for entry in entries:
        base = short[entry.run_id]
        entry.label = base if entry.number is None else f"{base}#{entry.number}"
