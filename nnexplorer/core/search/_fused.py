"""Fused grid search: each candidate's folds (and candidates sharing a network) as one model.

A small network trains far faster as several copies in one model than as separate fits: the
time goes to Python and graph dispatch per step, not to arithmetic. :class:`FusedSearch` is the
search object of a fused search. It does what scikit-learn's GridSearchCV / RandomizedSearchCV
does with the same pieces (the candidates in the same order, the folds of the search's ``cv``,
the same scorer, ``error_score = NaN``) except that it hands each worker a *group*: candidates
whose networks are the same (only the learning rate or the epochs differ) times every fold,
trained as one stacked model (:mod:`._fused_group`). It then builds the same ``cv_results_``,
picks the best candidate the same way and refits it on all rows through the usual estimator,
so the refit, the records and everything downstream are those of an unfused search. Every
fold keeps its own journal record, events and TensorBoard folder, so a search may be resumed
with or without fusion.

:func:`plan_fusion` decides whether a search is fused and how candidates group;
:func:`fusion_blocker` says why a search cannot be fused.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from nnexplorer.core.formatting import count
from nnexplorer.core.search._estimator import held_out_validation
from nnexplorer.core.search._fit import CONFIG_PARAM, FOLD_PARAM
from nnexplorer.core.search._space import STEP, SearchSpace
from nnexplorer.core.spec import ExperimentSpec, GridSpec

FUSED_LAYERS = {"dense", "dropout"}
# Values that candidates of one fused fit may differ in (each branch has its own).
BRANCH_PATHS = ("compile.learning_rate", "fit.epochs")


@dataclass(frozen=True)
class FusionPlan:
    """How a search's fits run: fused groups of candidates (empty when not fused) or why not."""

    groups: list[list[int]] = field(default_factory=list)
    reason: str = ""

    @property
    def fused(self) -> bool:
        """Whether the folds are fused."""
        return bool(self.groups)

    def describe(self, n_folds: int) -> str:
        """For the log line that announces the search."""
        if not self.fused:
            return f"folds not fused ({self.reason})"
        sizes = sorted({len(g) for g in self.groups})
        each = "/".join(str(s) for s in sizes)
        noun = "candidate" if sizes == [1] else "candidates"
        return f"folds fused: {count(len(self.groups), 'model')} of {each} {noun} x {n_folds} folds"


def fusion_blocker(spec: ExperimentSpec, grid: GridSpec, requested: bool | None) -> str:
    """Why this search's folds cannot be fused ("" when they can)."""
    wanted = grid.fuse_folds if requested is None else requested
    if wanted is False:
        return "grid.fuse_folds = false"
    if grid.search == "halving":
        return "a halving search fits candidates on growing subsets, one fit per fold"
    if grid.backend == "dask":
        return "the Dask backend runs one fit per fold"
    if os.environ.get("KERAS_BACKEND", "tensorflow") != "tensorflow":
        return "fused fits need Keras' TensorFlow backend"
    if held_out_validation(spec):
        return "early stopping on a validation metric holds out rows of each fold's fit"
    other = sorted({layer.type for layer in spec.layers} - FUSED_LAYERS)
    if other:
        return f"layers of type {', '.join(other)} are not fused"
    return ""


def _network_key(spec: ExperimentSpec, values: dict[str, Any]) -> str:
    """Candidates with equal keys share one network (they may differ in BRANCH_PATHS only)."""
    data = spec.with_params({k: v for k, v in values.items() if v is not None}).to_dict()
    data.pop("grid", None)
    data.get("compile", {}).pop("learning_rate", None)
    data.get("fit", {}).pop("epochs", None)
    return json.dumps(data, sort_keys=True, default=str)


def plan_fusion(
    spec: ExperimentSpec,
    grid: GridSpec,
    space: SearchSpace,
    options: dict[str, Any],
    *,
    n_jobs: int = 1,
) -> FusionPlan:
    """Fused groups of candidate indices, or the reason the folds are not fused.

    ``options`` (grid_search's): ``fuse`` (None: ``grid.fuse_folds``) and ``fuse_candidates``
    (default on): the candidates sharing a network fuse into one group, split again while there
    are fewer groups than ``n_jobs`` workers (so that no worker idles).
    """
    reason = fusion_blocker(spec, grid, options.get("fuse"))
    if reason:
        return FusionPlan(reason=reason)
    if not options.get("fuse_candidates", True):
        return FusionPlan(groups=[[i] for i in range(space.n_candidates)])
    by_key: dict[str, list[int]] = {}
    for index, values in enumerate(space.candidates):
        by_key.setdefault(_network_key(spec, values), []).append(index)
    groups = list(by_key.values())
    while len(groups) < n_jobs:
        largest = max(groups, key=len)
        if len(largest) < 2:
            break
        groups.remove(largest)
        half = (len(largest) + 1) // 2
        groups += [largest[:half], largest[half:]]
    groups.sort(key=lambda g: g[0])
    return FusionPlan(groups=groups)


def check_classes(plan: FusionPlan, task: str, y: Any, test_fold: Any) -> FusionPlan:
    """``plan``, unless some fold's training rows lack a class (its network has fewer outputs,
    so it cannot share a model with the other folds)."""
    if not plan.fused or task != "classification":
        return plan
    y, folds = np.asarray(y), np.asarray(test_fold)
    classes = {tuple(np.unique(y[folds != k]).tolist()) for k in np.unique(folds)}
    if len(classes) > 1:
        return FusionPlan(reason="a class is missing from some fold's training rows")
    return plan


def fused_search(
    pipeline: Any, space: SearchSpace, plan: FusionPlan, task: str, **common: Any
) -> FusedSearch:
    """The fused search object for ``space`` (``common``: the search options of _state)."""
    return FusedSearch(
        pipeline,
        candidate_params(space),
        space,
        plan,
        scoring=common["scoring"],
        cv=common["cv"],
        n_jobs=common["n_jobs"],
        task=task,
    )


class FusedSearch:
    """A cross-validated search whose fits are fused; see the module docstring."""

    def __init__(
        self,
        estimator: Any,
        candidate_params: list[dict[str, Any]],
        space: SearchSpace,
        plan: FusionPlan,
        *,
        scoring: Any,
        cv: Any,
        n_jobs: int,
        task: str,
    ):
        self.estimator = estimator
        self.candidate_params = candidate_params
        self.space = space
        self.plan = plan
        self.scoring = scoring
        self.cv = cv
        self.n_jobs = n_jobs
        self.task = task

    def fit(self, X: Any, y: Any, **fit_params: Any) -> FusedSearch:
        """Fit every group, build ``cv_results_``, refit the best candidate on all rows."""
        from joblib import Parallel, delayed

        from nnexplorer.core.search._fused_group import fit_group

        test_fold = np.asarray(fit_params[f"{STEP}__{FOLD_PARAM}"])
        self.n_splits_ = int(self.cv.get_n_splits(X, y))
        config = self.estimator.get_params()[f"{STEP}__{CONFIG_PARAM}"]
        scaler = self.estimator.steps[0][1]
        scoring = getattr(self.scoring, "scoring", self.scoring)
        tasks = [
            delayed(fit_group)(
                config,
                [(i, self.space.candidates[i]) for i in group],
                X,
                y,
                test_fold,
                scaler,
                scoring,
                self.task,
            )
            for group in self.plan.groups
        ]
        found = Parallel(n_jobs=self.n_jobs, pre_dispatch="all")(tasks)
        self.cv_results_ = self._results([o for group in found for o in group])
        ranks = self.cv_results_["rank_test_score"]
        self.best_index_ = int(np.argmin(ranks))
        self.best_score_ = float(self.cv_results_["mean_test_score"][self.best_index_])
        self.best_params_ = self.candidate_params[self.best_index_]
        self._refit(X, y, fit_params)
        return self

    def _results(self, outcomes: list[dict[str, Any]]) -> dict[str, Any]:
        """``cv_results_`` as GridSearchCV builds it (one metric, no train scores)."""
        n, k = len(self.candidate_params), self.n_splits_
        scores = np.full((n, k), np.nan)
        fit_times, score_times = np.zeros((n, k)), np.zeros((n, k))
        for o in outcomes:
            c, f = int(o["candidate"]), int(o["fold"])
            scores[c, f] = float(o["score"])
            fit_times[c, f], score_times[c, f] = o["fit_time"], o["score_time"]
        if np.isnan(scores).all():
            raise ValueError(
                f"All the {n * k} fits failed: every fit diverged, raised or could not be scored"
            )
        results: dict[str, Any] = {}
        for name, array in (("fit_time", fit_times), ("score_time", score_times)):
            results[f"mean_{name}"] = array.mean(axis=1)
            results[f"std_{name}"] = array.std(axis=1)
        results.update(_param_columns(self.candidate_params))
        results["params"] = self.candidate_params
        for fold in range(k):
            results[f"split{fold}_test_score"] = scores[:, fold]
        means = scores.mean(axis=1)
        results["mean_test_score"] = means
        results["std_test_score"] = np.sqrt(((scores - means[:, None]) ** 2).mean(axis=1))
        results["rank_test_score"] = _ranks(means)
        return results

    def _refit(self, X: Any, y: Any, fit_params: dict[str, Any]) -> None:
        from sklearn.base import clone

        best = clone(self.estimator).set_params(**clone(self.best_params_, safe=False))
        started = time.perf_counter()
        best.fit(X, y, **fit_params)
        self.refit_time_ = time.perf_counter() - started
        self.best_estimator_ = best


def _param_columns(candidate_params: list[dict[str, Any]]) -> dict[str, Any]:
    """``param_<name>`` masked arrays, as scikit-learn's searches store them."""
    n = len(candidate_params)
    columns: dict[str, dict[int, Any]] = {}
    for index, params in enumerate(candidate_params):
        for name, value in params.items():
            columns.setdefault(f"param_{name}", {})[index] = value
    out = {}
    for key, found in columns.items():
        values = list(found.values())
        try:
            array = np.array(values)
        except ValueError:
            dtype = np.dtype(object)
        else:
            dtype = array.dtype if array.dtype.kind != "U" and array.ndim == 1 else np.dtype(object)
        column = np.ma.MaskedArray(np.empty(n, dtype=dtype), mask=True)
        for index, value in found.items():
            column[index] = value
        out[key] = column
    return out


def _ranks(means: np.ndarray) -> np.ndarray:
    """Ranks as scikit-learn gives them: failed (NaN) candidates tie with the worst."""
    if np.isnan(means).all():
        return np.ones_like(means, dtype=np.int32)
    negated = -np.where(np.isnan(means), np.nanmin(means) - 1, means)
    # rankdata(-means, method="min"): 1 + how many score higher
    return (np.searchsorted(np.sort(negated), negated, side="left") + 1).astype(np.int32)


def candidate_params(space: SearchSpace) -> list[dict[str, Any]]:
    """Each candidate as the search object's parameter dict (``net__<name>``), in order."""
    return [
        {f"{STEP}__{space.names[path]}": value for path, value in values.items()}
        for values in space.candidates
    ]
