"""One fit of a grid search: who it is, where it reports, how it ends.

A search session's shared settings travel to every fit as one JSON string
(:class:`SearchConfig`). From the estimator's parameters and its training rows a fit works out
its candidate (by its grid values), its fold (the one fold missing from its training rows) and
its key in the journal; :class:`FitContext` then writes its file and records its outcome.
:class:`JournalScorer` is the search's scoring: it records each fold's score as it computes it,
and returns the recorded score for a fit that a resumed search found in the journal.
"""

from __future__ import annotations

import functools
import json
import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from nnexplorer.core.errors import describe_error
from nnexplorer.core.search._journal import FITS_DIR, FitLog, fit_key, score_of
from nnexplorer.core.search._space import candidate_id
from nnexplorer.core.search._transport import (
    FILES,
    TopicLog,
    finished_fits,
    open_log,
    stop_flag,
    tf_threads,
    worker_address,
)
from nnexplorer.core.spec import ExperimentSpec, validate_spec

CONFIG_PARAM = "nnx__config"
FOLD_PARAM = "nnx_test_fold"  # a fit parameter: each row's test fold (sliced by scikit-learn)


class FitCancelled(BaseException):
    """The search was asked to stop; passes scikit-learn's ``error_score`` handling on purpose."""


class FitFailed(Exception):
    """A fit diverged or raised; scikit-learn scores it ``error_score`` (NaN)."""


@dataclass(frozen=True)
class SearchConfig:
    """What every fit of one search session shares (travels as one JSON string)."""

    spec: dict[str, Any]
    keys: dict[str, str]  # estimator parameter -> spec path
    candidates: list[str]  # candidate ids (values by spec path) in order
    run_dir: str
    session: str
    n_folds: int
    threads: int = 0  # 0: leave TensorFlow's default (the fits run in the calling process)
    gpus: int = 0  # > 1: one GPU per worker process
    reuse: bool = True
    steps_per_execution: int = 1
    batch_interval: float = 0.25
    labels: dict[str, str] = field(default_factory=dict)  # spec path -> grid key as written
    transport: str = FILES  # files (local backend) | dask: see _transport
    worker_threads: dict[str, int] = field(default_factory=dict)  # Dask worker -> TF threads

    def to_json(self) -> str:
        """The config as the estimator parameter carries it."""
        return json.dumps(self.__dict__, separators=(",", ":"), default=str)

    @property
    def fits_dir(self) -> Path:
        """Where the fits write their files."""
        return Path(self.run_dir) / FITS_DIR


@functools.lru_cache(maxsize=8)
def parse_config(text: str) -> SearchConfig:
    """The config from its JSON (cached: every fit of a session carries the same string)."""
    return SearchConfig(**json.loads(text))


@functools.lru_cache(maxsize=8)
def base_spec(text: str) -> ExperimentSpec:
    return validate_spec(json.loads(text))


@functools.lru_cache(maxsize=256)
def _candidate_spec(spec_text: str, values_text: str) -> ExperimentSpec:
    values = {k: v for k, v in json.loads(values_text).items() if v is not None}
    return base_spec(spec_text).with_params(values)


def candidate_spec(config: SearchConfig, values: dict[str, Any]) -> ExperimentSpec:
    """The spec of the candidate with these grid values."""
    spec_text = json.dumps(config.spec, sort_keys=True)
    return _candidate_spec(spec_text, json.dumps(values, sort_keys=True, default=str))


def fold_of(test_fold: Any, n_folds: int) -> int | None:
    """The fold whose rows are missing from this training set; None when all are present."""
    if test_fold is None:
        return None
    present = set(np.unique(np.asarray(test_fold)).tolist())
    missing = [k for k in range(n_folds) if k not in present]
    return missing[0] if missing else None


# --------------------------------------------------------------------------- one fit


class FitContext:
    """Everything about one fit: who it is, its file, its callbacks, its outcome."""

    def __init__(
        self, config: SearchConfig, values: dict[str, Any], fold: int | None, n: int, epochs: int
    ):
        self.config = config
        self.values = values  # by spec path
        self.params = {config.labels.get(p, p): v for p, v in values.items()}  # as written
        self.fold = fold
        self.n_train = n
        self.epochs = epochs
        ident = candidate_id(values)
        self.candidate = config.candidates.index(ident) if ident in config.candidates else -1
        self.key = fit_key(self.params, fold, n, epochs)
        self.cached = self._finished().get(self.key) if fold is not None else None
        self.spec: ExperimentSpec | None = None
        self.validation = False  # the fit holds out a validation split (see held_out_validation)
        self.callback: Any = None
        self.started = time.perf_counter()
        self.fit_seconds = 0.0
        self.finished = False
        self._log: FitLog | TopicLog | None = None

    def _finished(self) -> dict[str, dict[str, Any]]:
        config = self.config
        return finished_fits(config.transport, config.session, config.run_dir)

    def _open(self) -> FitLog | TopicLog:
        config = self.config
        return open_log(config.transport, config.session, config.run_dir, self.key)

    def _stop_flag(self) -> Any:
        config = self.config
        return stop_flag(config.transport, config.session, config.run_dir)

    @classmethod
    def of(cls, estimator: Any, x: Any, test_fold: Any) -> FitContext:
        """The context of a fit of ``estimator`` on ``x``."""
        config = parse_config(getattr(estimator, CONFIG_PARAM))
        values = {path: getattr(estimator, name, None) for name, path in config.keys.items()}
        epochs = int(getattr(estimator, "epochs", 0) or 0)
        ctx = cls(config, values, fold_of(test_fold, config.n_folds), len(x), epochs)
        ctx.validation = float(getattr(estimator, "validation_split", 0) or 0) > 0
        return ctx

    def _write(self, data: dict[str, Any]) -> None:
        if self._log is None:
            self._log = self._open()
        self._log.write(data)

    def begin(self) -> ExperimentSpec:
        """Honour a pending stop, announce the fit; the candidate's spec."""
        if self._stop_flag().is_set():
            raise FitCancelled("the search was stopped")
        self._write(self._head("fit_begin"))
        self.started = time.perf_counter()
        self.spec = candidate_spec(self.config, self.values)
        return self.spec

    def _head(self, kind: str) -> dict[str, Any]:
        return {
            "type": kind,
            "key": self.key,
            "candidate": self.candidate,
            "fold": self.fold,
            "params": self.params,
            "pid": os.getpid(),
            "worker": worker_address(),
            "time": time.time(),
        }

    def callbacks(self) -> list[Any]:
        """The event callback, the TensorBoard log (and early stopping when the spec asks)."""
        import shutil

        from nnexplorer.core.callbacks import event_callback
        from nnexplorer.core.tensorboard import candidate_dir, log_dir, tensorboard_callback

        if self._log is None:
            self._log = self._open()
        self.callback = event_callback(
            self._log.emit,
            run_id=Path(self.config.run_dir).name,
            epochs=self.epochs,
            cancel=self._stop_flag(),
            candidate=self.candidate,
            fold=self.fold,
            interval=self.config.batch_interval,
        )
        logs = log_dir(self.config.run_dir, *candidate_dir(self.candidate, self.fold))
        shutil.rmtree(logs, ignore_errors=True)  # what an unfinished fit of a resumed search left
        found = [self.callback, tensorboard_callback(logs)]
        early = self.spec.fit.early_stopping if self.spec is not None else None
        if early is not None:
            from nnexplorer.core.building import early_stopping_recipe

            # without a held-out split a val_ monitor watches the training metric
            found.append(early_stopping_recipe(early, has_validation=self.validation).create())
        return found

    def trained(self) -> None:
        """Note the training time."""
        self.fit_seconds = time.perf_counter() - self.started

    def finish(self, score: float, status: str = "completed", reason: str = "") -> None:
        """Record the fit's outcome (once) and close its file."""
        if self.finished or self.fold is None:
            return
        self.finished = True
        record = {
            **self._head("fit_record"),
            "n_train": self.n_train,
            "epochs": self.epochs,
            "epochs_completed": getattr(self.callback, "epochs_completed", 0),
            "score": score,
            "fit_time": round(self.fit_seconds, 4),
            "status": status,
            "reason": reason,
            "threads": tf_threads(),
        }
        self._write(record)
        self.close()

    def replay(self) -> None:
        """Report a fit found in the journal as finished again, without training."""
        assert self.cached is not None
        self.finished = True
        self._write(self._head("fit_begin"))
        self._write({**self.cached, **self._head("fit_record"), "reused": True})
        self.close()

    def close(self) -> None:
        """Close the fit's file."""
        if self._log is not None:
            self._log.close()
            self._log = None


class JournalScorer:
    """The search's ``scoring``: a scikit-learn scorer that also records each fold's result.

    For a fit found in the journal it returns the recorded score without predicting.
    """

    def __init__(self, scoring: str):
        self.scoring = scoring

    def __call__(self, estimator: Any, x: Any, y: Any) -> float:
        net = estimator.steps[-1][1] if hasattr(estimator, "steps") else estimator
        ctx: FitContext | None = getattr(net, "_nnx_fit", None)
        if ctx is not None and ctx.cached is not None:
            return score_of(ctx.cached)
        from sklearn.metrics import get_scorer

        try:
            value = float(get_scorer(self.scoring)(estimator, x, y))
        except Exception as exc:
            if ctx is not None:
                ctx.finish(math.nan, "failed", f"scoring failed: {describe_error(exc)}")
            raise
        if ctx is not None:
            if math.isfinite(value):
                ctx.finish(value)
            else:
                ctx.finish(math.nan, "failed", f"the {self.scoring} score is {value}")
        return value
