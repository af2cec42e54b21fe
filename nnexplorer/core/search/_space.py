"""What a grid search tries: grid keys as estimator parameters, the candidates, cv and scoring.

Inside the engine a grid key is its canonical spec path (``learning_rate`` and
``optimizer__learning_rate`` are ``compile.learning_rate``). It gets other names only where
others read it: each path becomes one parameter of the scikeras estimator, which keeps its
scikeras name where scikeras has the parameter (``batch_size``, ``epochs``, ``optimizer``,
``loss``, ``optimizer__learning_rate`` and the other ``optimizer__<option>``) and is otherwise
``nnx__<spec path>``, a routed parameter that only the model builder reads; and records, events
and grid.csv show each key as the preset writes it (:meth:`SearchSpace.label`). Each candidate's
network is then the spec with that candidate's values applied (:meth:`ExperimentSpec.with_params`).

Candidates are ordered so that those sharing a network (differing only in learning rate, epochs
or batch size) follow each other: a worker can then reuse the network it has already built and
traced. The candidate list is exactly what the scikit-learn search object will evaluate, in the
same order, so that the parent and the workers agree on candidate numbers.
"""

from __future__ import annotations

import itertools
import json
import os
from dataclasses import dataclass, field
from typing import Any

from nnexplorer.core.formatting import count
from nnexplorer.core.spec import ExperimentSpec
from nnexplorer.core.spec.paths import canonical_key, scikeras_param

STEP = "net"  # the estimator's name inside the Pipeline
NNX_PREFIX = "nnx__"
# Values that change how a network is trained but not the network a worker builds and traces.
REUSABLE_PATHS = ("compile.learning_rate", "fit.batch_size", "fit.epochs", "fit.shuffle")


def estimator_param(key: str) -> str:
    """The estimator parameter a grid key sets (``layers.0.units`` -> ``nnx__layers.0.units``)."""
    path = canonical_key(key)
    return scikeras_param(path) or NNX_PREFIX + path


def candidate_id(params: dict[str, Any]) -> str:
    """A candidate's identity: its grid values as canonical JSON."""
    return json.dumps(params, sort_keys=True, separators=(",", ":"), default=str)


@dataclass(frozen=True)
class SearchSpace:
    """The grid as the search object sees it, and the candidates it will evaluate, in order."""

    keys: tuple[str, ...]  # grid keys as written in the preset (what a person reads)
    labels: dict[str, str]  # spec path -> grid key as written
    names: dict[str, str]  # spec path -> estimator parameter (what scikeras reads)
    param_grid: list[dict[str, list[Any]]]  # Pipeline parameter names (net__...)
    candidates: list[dict[str, Any]]  # spec path -> value, in evaluation order
    kind: str = "grid"
    n_iter: int = 0
    grid_size: int = 0
    index: dict[str, int] = field(default_factory=dict)  # candidate_id -> index

    @property
    def n_candidates(self) -> int:
        """How many candidates the search evaluates (before halving drops any)."""
        return len(self.candidates)

    def candidate_of(self, values: dict[str, Any]) -> int:
        """The index of the candidate with these values by spec path (-1 when unknown)."""
        return self.index.get(candidate_id(values), -1)

    def grid_params(self, estimator_params: dict[str, Any]) -> dict[str, Any]:
        """Spec path -> value from a dict of estimator (or Pipeline) parameters."""
        out = {}
        for path, name in self.names.items():
            for full in (name, f"{STEP}__{name}"):
                if full in estimator_params:
                    out[path] = estimator_params[full]
        return out

    def label(self, values: dict[str, Any]) -> dict[str, Any]:
        """Values by spec path as the preset's grid keys name them (records, events, grid.csv)."""
        return {self.labels.get(path, path): value for path, value in values.items()}


def build_space(spec: ExperimentSpec, seed: int | None) -> SearchSpace:
    """The search space of ``spec.grid``; network-changing keys vary slowest."""
    grid = spec.grid
    written = dict(grid.params) if grid is not None else {}
    keys = tuple(written)
    labels = {canonical_key(key): key for key in keys}  # validation refuses two of one path
    params = {path: written[key] for path, key in labels.items()}
    paths = tuple(params)
    names = {path: estimator_param(path) for path in paths}
    network_paths = [p for p in paths if p not in REUSABLE_PATHS]
    training_paths = [p for p in paths if p in REUSABLE_PATHS]
    param_grid: list[dict[str, list[Any]]] = []
    for combo in itertools.product(*(params[p] for p in network_paths)):
        block = {f"{STEP}__{names[p]}": [v] for p, v in zip(network_paths, combo, strict=True)}
        block.update({f"{STEP}__{names[p]}": list(params[p]) for p in training_paths})
        param_grid.append(block)
    from sklearn.model_selection import ParameterGrid, ParameterSampler

    kind = grid.search if grid is not None else "grid"
    full = ParameterGrid(param_grid)  # indexable without listing every combination
    n_iter = 0
    if kind == "random":
        n_iter = min(grid.n_iter if grid is not None else 10, len(full))
        chosen = list(ParameterSampler(param_grid, n_iter, random_state=seed))
    else:
        chosen = list(full)
    by_name = {f"{STEP}__{name}": path for path, name in names.items()}
    order = _key_order(paths, by_name)
    candidates = [{by_name[k]: v for k, v in sorted(p.items(), key=order)} for p in chosen]
    index = {candidate_id(c): i for i, c in enumerate(candidates)}
    return SearchSpace(
        keys=keys,
        labels=labels,
        names=names,
        param_grid=param_grid,
        candidates=candidates,
        kind=kind,
        n_iter=n_iter,
        grid_size=len(full),
        index=index,
    )


def _key_order(paths: tuple[str, ...], by_name: dict[str, str]) -> Any:
    order = {path: i for i, path in enumerate(paths)}
    return lambda item: order[by_name[item[0]]]


def default_scoring(task: str) -> str:
    """``accuracy`` for classification, ``neg_mean_squared_error`` for regression."""
    return "accuracy" if task == "classification" else "neg_mean_squared_error"


def make_cv(task: str, n_splits: int, seed: int | None) -> Any:
    """Shuffled, seeded folds: stratified for classification."""
    from sklearn.model_selection import KFold, StratifiedKFold

    cls = StratifiedKFold if task == "classification" else KFold
    return cls(n_splits=n_splits, shuffle=True, random_state=seed)


def available_cores() -> int:
    """CPU cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


@dataclass(frozen=True)
class Workers:
    """How the fits are spread: processes, TensorFlow threads in each, GPUs to share out."""

    n_jobs: int
    threads: int
    gpus: int
    reason: str = ""


def other_load() -> float:
    """Runnable processes besides this one (1-minute load average minus one), 0 if unknown."""
    try:
        return max(0.0, os.getloadavg()[0] - 1.0)
    except OSError:
        return 0.0


def plan_workers(
    requested: int, n_fits: int, gpus: int, cores: int | None = None, busy: float = 0.0
) -> Workers:
    """``requested`` processes; -1 picks one per GPU, else one per free core.

    A core is free when the load of other processes does not claim it (``busy`` cores). Each
    worker process imports TensorFlow and starts its runtime (seconds of CPU each), which only
    pays off when it gets a core of its own: on a busy machine fewer processes finish sooner.
    """
    cores = cores or available_cores()
    if gpus:
        n_jobs = gpus if requested == -1 else min(requested, gpus)
        reason = f"{count(gpus, 'GPU')}, one worker each"
    elif requested == -1:
        free = max(1, min(cores, int(cores - busy + 0.5)))
        n_jobs = free
        reason = f"n_jobs=-1: {count(cores, 'core')}" + (f", {free} free" if free < cores else "")
    else:
        n_jobs, reason = requested, f"n_jobs={requested}"
    n_jobs = max(1, min(n_jobs, max(1, n_fits)))
    threads = max(1, cores // n_jobs)
    return Workers(n_jobs=n_jobs, threads=threads, gpus=gpus if n_jobs > 1 else 0, reason=reason)
