"""The inside of a grid search: data, the scikit-learn search object, running it, the best model.

:class:`SearchState` holds what one search session knows; :func:`fit_search` runs the
scikit-learn search; :func:`evaluate_best` tests the refitted best candidate;
:func:`failure_message` turns what went wrong into one clear sentence.
"""

from __future__ import annotations

import contextlib
import math
import re
import secrets
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from nnexplorer.core.errors import NnxError, RunError, describe_error
from nnexplorer.core.events import RunStatus, RunSummary
from nnexplorer.core.formatting import count
from nnexplorer.core.search._dask import dask_failure
from nnexplorer.core.search._estimator import make_estimator
from nnexplorer.core.search._fit import FOLD_PARAM, FitFailed, JournalScorer, SearchConfig
from nnexplorer.core.search._fused import FusionPlan, check_classes, fused_search, plan_fusion
from nnexplorer.core.search._pool import (
    death_message,
    gpus_without_tensorflow,
    worker_backend,
    worker_died,
)
from nnexplorer.core.search._space import (
    STEP,
    SearchSpace,
    Workers,
    build_space,
    default_scoring,
    make_cv,
    other_load,
    plan_workers,
)
from nnexplorer.core.search._transport import DASK
from nnexplorer.core.spec import ExperimentSpec, GridSpec

SEARCH_NAMES = {
    "grid": "GridSearchCV",
    "random": "RandomizedSearchCV",
    "halving": "HalvingGridSearchCV",
}
DEFAULT_STEPS_PER_EXECUTION = 8


@dataclass
class SearchState:
    """What one search session knows; becomes summary.json."""

    spec: ExperimentSpec
    run_dir: Path
    grid: GridSpec
    options: dict[str, Any] = field(default_factory=dict)
    started: float = field(default_factory=time.perf_counter)
    prior: dict[str, dict[str, Any]] = field(default_factory=dict)
    records: dict[str, dict[str, Any]] = field(default_factory=dict)
    data: Any = None
    x: Any = None
    y: Any = None
    space: SearchSpace | None = None
    workers: Workers = field(default_factory=lambda: Workers(1, 1, 0))
    scoring: str = "accuracy"
    seed: int = 0
    cv: Any = None
    search: Any = None
    device: str = "CPU"
    versions: dict[str, str] = field(default_factory=dict)
    search_seconds: float = 0.0
    best_params: dict[str, Any] | None = None  # by spec path
    best_score: float | None = None
    best_model: Any = None
    test_metrics: dict[str, Any] = field(default_factory=dict)
    test_score: float | None = None
    n_params: int = 0
    epochs_completed: int = 0
    warming: threading.Thread | None = None
    cluster: Any = None  # a _dask.Cluster when the fits run on a Dask cluster
    session: str = field(default_factory=lambda: f"{time.time():.6f}-{secrets.token_hex(4)}")
    test_fold: Any = None  # each row's test fold under ``cv``
    touched: bool = True  # False while a resume has not changed anything in the run folder
    fingerprint: dict[str, Any] = field(default_factory=dict)
    fusion: FusionPlan = field(default_factory=FusionPlan)  # see _fused
    _planned: Workers | None = None
    _busy: float = field(default_factory=other_load)

    @property
    def search_name(self) -> str:
        """The scikit-learn class that runs the search."""
        return SEARCH_NAMES.get(self.grid.search, "GridSearchCV")

    def add_record(self, record: dict[str, Any]) -> None:
        """A fold finished (called by the tailer)."""
        self.records[str(record.get("key"))] = record

    def layout(self, *, warm: bool = True) -> None:
        """The candidates, the worker plan; start the workers (``warm``) while data loads.

        A session calls :meth:`layout`, :meth:`load` (data, before TensorFlow) and :meth:`setup`
        in turn; a resume checks the data between the last two.
        """
        spec = self.spec
        self.seed = spec.experiment.seed if spec.experiment.seed is not None else 0
        self.space = build_space(spec, self.seed)
        gpus = gpus_without_tensorflow()
        jobs = plan_workers(self._n_jobs(), self._n_fits(), gpus, busy=self._busy).n_jobs
        self.fusion = plan_fusion(spec, self.grid, self.space, self.options, n_jobs=jobs)
        self._planned = plan_workers(self._n_jobs(), self._n_fits(), gpus, busy=self._busy)
        if warm and self.cluster is None:
            self._warm_up(self._planned)

    def _n_jobs(self) -> int:
        return int(self.options.get("n_jobs") or self.grid.n_jobs)

    def _n_fits(self) -> int:
        """Tasks for the workers: fits, or fused groups."""
        assert self.space is not None
        if self.fusion.fused:
            return len(self.fusion.groups)
        return self.space.n_candidates * self.grid.cv

    def load(self) -> None:
        """Load the data (before TensorFlow), check it, and fingerprint it for resumes."""
        from nnexplorer.core import datasets, preflight
        from nnexplorer.core.search._identity import fingerprint

        data = datasets.load_dataset(self.spec.data, self.spec.experiment.seed)
        preflight.after_load(self.spec, data, grid=True)
        self.data = data
        if data.x_val is not None:  # the folds make their own validation sets
            self.x = np.concatenate([data.x_train, data.x_val])
            self.y = np.concatenate([data.y_train, data.y_val])
        else:
            self.x, self.y = data.x_train, data.y_train
        self.cv = make_cv(data.task, self.grid.cv, self.seed)
        self.test_fold = test_fold_of(self.cv, self.x, self.y)
        self.fingerprint = fingerprint(self.spec, self.x, self.y, data.x_test, data.y_test)

    def setup(self) -> None:
        """Devices (TensorFlow loads here), scoring, the workers and the scikit-learn search."""
        from nnexplorer import __version__
        from nnexplorer.core import datasets, devices

        if self.warming is None and self._planned is not None and self.cluster is None:
            self._warm_up(self._planned)
        self.device = devices.configure_devices()
        machine = devices.describe_devices()
        self.versions = {**machine["versions"], "nnexplorer": __version__}
        self.scoring = self.grid.scoring or default_scoring(self.data.task)
        _check_scoring(self.scoring)
        self.fusion = check_classes(self.fusion, self.data.task, self.y, self.test_fold)
        self.workers = plan_workers(
            self._n_jobs(), self._n_fits(), len(machine["gpus"]), busy=self._busy
        )
        if self.cluster is not None:
            threads = sorted(self.cluster.worker_threads().values()) or [1]
            n_jobs = self.cluster.n_threads
            self.workers = Workers(n_jobs, threads[len(threads) // 2], 0, self.cluster.describe())
        self.search = self._make_search(datasets.make_scaler(self.spec.data.standardize))

    def _warm_up(self, planned: Workers) -> None:
        """Start the worker processes now, so that they start while this one loads data."""
        if planned.n_jobs < 2 or planned.gpus or not self.options.get("warm", True):
            self._planned = None
            return

        def start() -> None:
            from joblib import Parallel, delayed, parallel_config

            from nnexplorer.core.search._estimator import warm_up

            jobs = planned.n_jobs
            with contextlib.suppress(Exception), parallel_config(backend=worker_backend()):
                Parallel(n_jobs=jobs)(delayed(warm_up)(planned.threads) for _ in range(jobs))

        self.warming = threading.Thread(target=start, name="nnx-warm-up", daemon=True)
        self._planned = None  # started once
        self.warming.start()

    def wait_for_workers(self) -> None:
        """Join the warm-up (two searches must not share the process pool at once)."""
        if self.warming is not None:
            self.warming.join()
            self.warming = None

    def _config(self) -> SearchConfig:
        assert self.space is not None
        spe = self.options.get("spe") or DEFAULT_STEPS_PER_EXECUTION
        if self.cluster is not None:
            dask = {"transport": DASK, "worker_threads": self.cluster.worker_threads()}
            threads, gpus = 0, 0  # each worker's own, and CUDA_VISIBLE_DEVICES gives its GPU
        else:
            dask, gpus = {}, self.workers.gpus
            threads = self.workers.threads if self.workers.n_jobs > 1 else 0
        return SearchConfig(
            spec=_without_grid(self.spec),
            keys={name: path for path, name in self.space.names.items()},
            candidates=list(self.space.index),
            labels=dict(self.space.labels),
            run_dir=str(self.run_dir),
            session=self.session,
            n_folds=self.grid.cv,
            threads=threads,
            gpus=gpus,
            reuse=bool(self.options.get("reuse", True)),
            steps_per_execution=int(spe),
            **dask,
        )

    def _make_search(self, scaler: Any) -> Any:
        from sklearn.pipeline import Pipeline

        assert self.space is not None
        start = {name: None for name in self.space.names.values() if name.startswith("nnx__")}
        net = make_estimator(self.data.task, self._config(), start)
        pipeline = Pipeline(
            [("scale", scaler if scaler is not None else "passthrough"), (STEP, net)]
        )
        common: dict[str, Any] = {
            "scoring": JournalScorer(self.scoring),
            "cv": self.cv,
            "n_jobs": self.workers.n_jobs if self.cluster is None else -1,
            "refit": True,
            "error_score": math.nan,
            "return_train_score": False,
        }
        if self.fusion.fused:
            return fused_search(pipeline, self.space, self.fusion, self.data.task, **common)
        if self.grid.search != "halving":
            common["pre_dispatch"] = "all"  # whole batches from the start (see batch_size)
        grid = self.space.param_grid
        if self.grid.search == "random":
            from sklearn.model_selection import RandomizedSearchCV

            return RandomizedSearchCV(
                pipeline, grid, n_iter=self.space.n_iter, random_state=self.seed, **common
            )
        if self.grid.search == "halving":
            from sklearn.experimental import enable_halving_search_cv  # noqa: F401
            from sklearn.model_selection import HalvingGridSearchCV

            return HalvingGridSearchCV(
                pipeline, grid, factor=self.grid.factor, random_state=self.seed, **common
            )
        from sklearn.model_selection import GridSearchCV

        return GridSearchCV(pipeline, grid, **common)

    def batch_size(self) -> int:
        """Fits sent to a worker at once: one network's fits (:func:`._pool.worker_backend`)."""
        space = self.space
        if space is None or self.grid.search != "grid" or self.workers.n_jobs < 2:
            return 1
        if self.fusion.fused:
            return 1  # a fused group is one task already
        if not self.options.get("group", True):
            return 1
        blocks = len(space.param_grid)
        per_block = space.n_candidates // max(1, blocks) * self.grid.cv
        if blocks >= self.workers.n_jobs:
            return max(1, per_block)
        return max(1, space.n_candidates * self.grid.cv // self.workers.n_jobs)

    def known_failure(self, exc: BaseException) -> bool:
        """Whether ``exc`` is a failure with a clear message of its own (no traceback needed)."""
        if self.cluster is not None and dask_failure(exc, "", "") is not None:
            return True
        return isinstance(exc, NnxError | FitFailed) or worker_died(exc) or _all_failed(exc)

    def summary(self, status: RunStatus, message: str) -> RunSummary:
        """summary.json without the best-candidate fields."""
        done = list(self.records.values())
        space = self.space
        return {
            "status": status,
            "mode": "grid",
            "run_id": self.run_dir.name,
            "name": self.spec.experiment.name,
            "search": self.grid.search,
            "scoring": self.scoring,
            "cv": self.grid.cv,
            "n_candidates": space.n_candidates if space else 0,
            "n_folds": self.grid.cv,
            "grid_size": space.grid_size if space else 0,
            "fits_done": len(done),
            "fits_reused": len(self.prior),
            "fits_failed": sum(r.get("status") != "completed" for r in done),
            "epochs_completed": self.epochs_completed,
            "test_metrics": self.test_metrics,
            "test_score": self.test_score,
            "wall_seconds": round(time.perf_counter() - self.started, 3),
            "search_seconds": round(self.search_seconds, 3),
            "train_seconds": round(sum(float(r.get("fit_time") or 0) for r in done), 3),
            "n_jobs": self.workers.n_jobs,
            "threads_per_worker": self.workers.threads,
            "workers": sorted({str(r.get("worker") or "") for r in done} - {""}),
            "n_params": self.n_params,
            "device": self.device,
            "versions": self.versions,
            "message": message,
        }


def _check_scoring(scoring: str) -> None:
    from sklearn.metrics import get_scorer, get_scorer_names

    try:
        get_scorer(scoring)
    except ValueError:
        from nnexplorer.core.vocab import suggest

        raise RunError(
            f"grid.scoring: {scoring!r} is not a scikit-learn scorer"
            f"{suggest(scoring, get_scorer_names())}",
            "e.g. accuracy, f1_macro, roc_auc, neg_mean_squared_error, r2",
        ) from None


def _without_grid(spec: ExperimentSpec) -> dict[str, Any]:
    data = spec.to_dict()
    grid = data.pop("grid", None) or {}
    if grid.get("setups"):  # what the grid key ``setup`` chooses among
        data["grid"] = {"setups": grid["setups"]}
    return data


def test_fold_of(cv: Any, x: Any, y: Any) -> np.ndarray:
    """Each row's test fold under ``cv``."""
    folds = np.full(len(x), -1, dtype=np.int64)
    for index, (_, test) in enumerate(cv.split(x, y)):
        folds[test] = index
    return folds


def fit_search(state: SearchState) -> None:
    """Run the scikit-learn search (blocking); note the best candidate."""
    assert state.space is not None
    state.wait_for_workers()
    folds = state.test_fold
    batch = state.batch_size()
    with contextlib.ExitStack() as stack:
        if state.cluster is not None:
            stack.enter_context(state.cluster.parallel(state.x, state.y, batch))
        else:
            from joblib import parallel_config

            stack.enter_context(parallel_config(backend=worker_backend(batch)))
        state.search.fit(state.x, state.y, **{f"{STEP}__{FOLD_PARAM}": folds})
    state.best_params = state.space.grid_params(state.search.best_params_)
    state.best_score = float(state.search.best_score_)
    if not math.isfinite(state.best_score):  # fits that trained but could not be scored
        raise ValueError("all fits failed: no candidate has a score")


def evaluate_best(state: SearchState) -> None:
    """Score the refitted best candidate on the test split."""
    from sklearn.metrics import get_scorer

    best = state.search.best_estimator_
    data = state.data
    state.test_score = float(get_scorer(state.scoring)(best, data.x_test, data.y_test))
    net = best.steps[-1][1]
    model = net.model_
    x_test = best[:-1].transform(data.x_test)
    encoder = net.target_encoder_
    if hasattr(encoder, "std_"):  # standardised targets: measure in the target's units
        from nnexplorer.core.building import in_target_units

        model = in_target_units(model, state.spec, data.task, encoder.mean_, encoder.std_)
        y_test = np.asarray(data.y_test, dtype=np.float32)
    else:
        y_test = encoder.transform(data.y_test)
    scores = model.evaluate(x_test, y_test, verbose=0, return_dict=True)
    state.test_metrics = {k: float(v) for k, v in scores.items()}
    state.best_model = model
    state.n_params = int(model.count_params())
    ctx = getattr(net, "_nnx_fit", None)
    state.epochs_completed = int(getattr(getattr(ctx, "callback", None), "epochs_completed", 0))


def _all_failed(exc: BaseException) -> bool:
    return isinstance(exc, ValueError) and "fits failed" in str(exc)


def failure_message(exc: BaseException, state: SearchState) -> str:
    """One clear message for what ended the search."""
    done = len(state.records)
    if state.cluster is not None:
        kept = f"{count(done, 'finished fit')} kept in the journal (fits.jsonl)"
        found = dask_failure(exc, state.cluster.address, f"{kept}; continue with --resume")
        if found is not None:
            return found
    if worker_died(exc):
        return death_message(exc, n_jobs=state.workers.n_jobs, kept=done, run_dir=state.run_dir)
    if _all_failed(exc):
        return _all_failed_message(exc, state)
    if isinstance(exc, FitFailed):
        return f"the best candidate failed when refitted on the whole training split: {exc}"
    return describe_error(exc)


def _all_failed_message(exc: BaseException, state: SearchState) -> str:
    """``every candidate failed (6 fits: 3 candidates x 2 folds): <reasons>``."""
    failed = [r for r in state.records.values() if r.get("status") != "completed"]
    match = re.search(r"All the (\d+) fits failed", str(exc))
    n_fits = int(match.group(1)) if match else len(failed)
    space = state.space
    plan = f": {space.n_candidates} candidates x {state.grid.cv} folds" if space else ""
    reasons = sorted({str(r.get("reason") or "") for r in failed} - {""})
    shown = "; ".join(reasons[:3]) or describe_error(exc)
    return f"every candidate failed ({n_fits} fits{plan}): {shown}"
