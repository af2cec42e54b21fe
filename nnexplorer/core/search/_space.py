"""What a grid search tries: grid keys as estimator parameters, the candidates, cv and scoring.

Every grid key (a spec path, a shorthand such as ``hidden.activation`` or a scikeras routing
name) becomes one parameter of the scikeras estimator. Where scikeras has the parameter it keeps
its scikeras name (``batch_size``, ``epochs``, ``optimizer``, ``loss``,
``optimizer__learning_rate`` and the other ``optimizer__<option>``); every other key becomes
``nnx__<spec path>``, a routed parameter that only the model builder reads. Each candidate's
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

from nnexplorer.core import vocab
from nnexplorer.core.spec import ExperimentSpec
from nnexplorer.core.spec.paths import canonical_key

STEP = "net"  # the estimator's name inside the Pipeline
NNX_PREFIX = "nnx__"
NATIVE_PARAMS = {
    "fit.batch_size": "batch_size",
    "fit.epochs": "epochs",
    "fit.shuffle": "shuffle",
    "compile.optimizer": "optimizer",
    "compile.loss": "loss",
    "compile.learning_rate": "optimizer__learning_rate",
}
_OPTIMIZER_OPTIONS = {o for opts in vocab.OPTIMIZER_OPTIONS.values() for o in opts} | set(
    vocab.COMMON_OPTIMIZER_OPTIONS
)
# Values that change how a network is trained but not the network a worker builds and traces.
REUSABLE_PATHS = ("compile.learning_rate", "fit.batch_size", "fit.epochs", "fit.shuffle")


def estimator_param(key: str) -> str:
    """The estimator parameter a grid key sets (``layers.0.units`` -> ``nnx__layers.0.units``)."""
    path = canonical_key(key)
    if path in NATIVE_PARAMS:
        return NATIVE_PARAMS[path]
    head, _, option = path.partition(".")
    if head == "compile" and option in _OPTIMIZER_OPTIONS:
        return f"optimizer__{option}"
    return NNX_PREFIX + path


def candidate_id(params: dict[str, Any]) -> str:
    """A candidate's identity: its grid values as canonical JSON."""
    return json.dumps(params, sort_keys=True, separators=(",", ":"), default=str)


@dataclass(frozen=True)
class SearchSpace:
    """The grid as the search object sees it, and the candidates it will evaluate, in order."""

    keys: tuple[str, ...]  # grid keys as written in the preset
    names: dict[str, str]  # grid key -> estimator parameter
    param_grid: list[dict[str, list[Any]]]  # Pipeline parameter names (net__...)
    candidates: list[dict[str, Any]]  # grid key -> value, in evaluation order
    kind: str = "grid"
    n_iter: int = 0
    grid_size: int = 0
    index: dict[str, int] = field(default_factory=dict)  # candidate_id -> index

    @property
    def n_candidates(self) -> int:
        """How many candidates the search evaluates (before halving drops any)."""
        return len(self.candidates)

    def candidate_of(self, params: dict[str, Any]) -> int:
        """The index of the candidate with these grid values (-1 when unknown)."""
        return self.index.get(candidate_id(params), -1)

    def grid_params(self, estimator_params: dict[str, Any]) -> dict[str, Any]:
        """Grid key -> value from a dict of estimator (or Pipeline) parameters."""
        out = {}
        for key, name in self.names.items():
            for full in (name, f"{STEP}__{name}"):
                if full in estimator_params:
                    out[key] = estimator_params[full]
        return out


def _reusable(key: str) -> bool:
    return canonical_key(key) in REUSABLE_PATHS


def build_space(spec: ExperimentSpec, seed: int | None) -> SearchSpace:
    """The search space of ``spec.grid``; network-changing keys vary slowest."""
    grid = spec.grid
    params = dict(grid.params) if grid is not None else {}
    keys = tuple(params)
    names = {key: estimator_param(key) for key in keys}
    network_keys = [k for k in keys if not _reusable(k)]
    training_keys = [k for k in keys if _reusable(k)]
    param_grid: list[dict[str, list[Any]]] = []
    for combo in itertools.product(*(params[k] for k in network_keys)):
        block = {f"{STEP}__{names[k]}": [v] for k, v in zip(network_keys, combo, strict=True)}
        block.update({f"{STEP}__{names[k]}": list(params[k]) for k in training_keys})
        param_grid.append(block)
    from sklearn.model_selection import ParameterGrid, ParameterSampler

    kind = grid.search if grid is not None else "grid"
    full = list(ParameterGrid(param_grid))
    n_iter = 0
    if kind == "random":
        n_iter = min(grid.n_iter if grid is not None else 10, len(full))
        chosen = list(ParameterSampler(param_grid, n_iter, random_state=seed))
    else:
        chosen = full
    by_name = {f"{STEP}__{name}": key for key, name in names.items()}
    order = _key_order(keys, by_name)
    candidates = [{by_name[k]: v for k, v in sorted(p.items(), key=order)} for p in chosen]
    index = {candidate_id(c): i for i, c in enumerate(candidates)}
    return SearchSpace(
        keys=keys,
        names=names,
        param_grid=param_grid,
        candidates=candidates,
        kind=kind,
        n_iter=n_iter,
        grid_size=len(full),
        index=index,
    )


def _key_order(keys: tuple[str, ...], by_name: dict[str, str]) -> Any:
    order = {key: i for i, key in enumerate(keys)}
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
        reason = f"{gpus} GPU(s), one worker each"
    elif requested == -1:
        free = max(1, min(cores, int(cores - busy + 0.5)))
        n_jobs = free
        reason = f"n_jobs=-1: {cores} core(s)" + (f", {free} free" if free < cores else "")
    else:
        n_jobs, reason = requested, f"n_jobs={requested}"
    n_jobs = max(1, min(n_jobs, max(1, n_fits)))
    threads = max(1, cores // n_jobs)
    return Workers(n_jobs=n_jobs, threads=threads, gpus=gpus if n_jobs > 1 else 0, reason=reason)
