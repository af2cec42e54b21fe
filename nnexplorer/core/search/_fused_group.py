"""One fused fit, in whichever process runs it: some candidates x every fold, as one model.

:func:`fit_group` is the task a fused search hands a worker. For every (candidate, fold) it
makes the :class:`~._fit.FitContext` that a separate fit of that fold would make (so it has the
same journal key, file, events and TensorBoard folder, and a fit found in the journal is
reported again without training), scales and encodes each fold's rows as the fold's pipeline
would (a clone of the search's scaler fitted on the fold's training rows, scikeras' target
encoder), builds the candidates' network once with :func:`~nnexplorer.core.building.build_model`
(the template of the stacked copies), trains the copies together (:mod:`._fused_loop`), and
scores each on its fold's held-out rows with the search's scorer. Each fold's outcome is its
own: a fold that diverged is recorded as failed, the others as usual.
"""

from __future__ import annotations

import functools
import math
import time
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import numpy as np

from nnexplorer.core.callbacks import divergence_message
from nnexplorer.core.errors import describe_error
from nnexplorer.core.search._fit import (
    FitCancelled,
    FitContext,
    JournalScorer,
    SearchConfig,
    candidate_spec,
    parse_config,
)
from nnexplorer.core.search._fused_net import NotFusable
from nnexplorer.core.search._journal import score_of
from nnexplorer.core.spec import ExperimentSpec


@dataclass
class _Fold:
    """A fold's rows as its pipeline sees them."""

    x_train: np.ndarray
    y_train: np.ndarray  # encoded for the loss
    x_test: np.ndarray
    y_test: np.ndarray  # as given (the scorer compares with these)
    encoder: Any
    target: tuple[float, float] | None  # a regression target's mean and std (divergence hint)


@dataclass
class _Member:
    """One (candidate, fold) of the group."""

    candidate: int
    fold: int
    ctx: FitContext
    spec: ExperimentSpec
    outcome: dict[str, Any] | None = None


def fit_group(
    config_text: str,
    candidates: list[tuple[int, dict[str, Any]]],
    x: Any,
    y: Any,
    test_fold: Any,
    scaler: Any,
    scoring: str,
    task: str,
) -> list[dict[str, Any]]:
    """Fit ``candidates`` (index, values by spec path) on every fold as one model.

    Returns one outcome per (candidate, fold): ``candidate``, ``fold``, ``score`` (NaN when the
    fit failed), ``fit_time``, ``score_time``. Raises FitCancelled when the search was stopped
    (every fold that finished is recorded first).
    """
    from nnexplorer.core.search._estimator import ONE_FIT

    config = parse_config(config_text)
    with ONE_FIT:
        members = _members(config, candidates, test_fold)
        waiting = [m for m in members if m.outcome is None]
        if waiting:
            _fit(config, waiting, (x, y, test_fold), scaler, scoring, task)
    return [m.outcome or {} for m in members]


def _members(
    config: SearchConfig, candidates: list[tuple[int, dict[str, Any]]], test_fold: Any
) -> list[_Member]:
    """Every (candidate, fold) with its context; those in the journal replayed already."""
    folds = np.asarray(test_fold)
    members = []
    for index, values in candidates:
        spec = candidate_spec(config, values)
        for fold in range(config.n_folds):
            n_train = int(np.count_nonzero(folds != fold))
            ctx = FitContext(config, values, fold, n_train, spec.fit.epochs)
            member = _Member(index, fold, ctx, spec)
            if ctx.cached is not None:
                ctx.replay()
                member.outcome = _outcome(member, score_of(ctx.cached), 0.0, 0.0)
            members.append(member)
    return members


def _outcome(member: _Member, score: float, fit_time: float, score_time: float) -> dict[str, Any]:
    return {
        "candidate": member.candidate,
        "fold": member.fold,
        "score": score,
        "fit_time": fit_time,
        "score_time": score_time,
    }


def _fit(
    config: SearchConfig,
    members: list[_Member],
    data: tuple[Any, Any, Any],
    scaler: Any,
    scoring: str,
    task: str,
) -> None:
    from nnexplorer.core.search._estimator import setup_process

    for member in members:
        member.ctx.begin()  # FitCancelled when the search was stopped
    setup_process(config)
    started = time.perf_counter()
    try:
        folds = _folds(members, data, scaler, task)
        trainer, branches = _prepare(members, folds, task)
        _train(config, members, trainer, branches)
    except (FitCancelled, KeyboardInterrupt):
        raise
    except Exception as exc:
        reason = describe_error(exc)
        if isinstance(exc, NotFusable):
            reason = f"{exc} (set grid.fuse_folds = false to fit each fold on its own)"
        for member in members:
            if member.outcome is None:
                member.ctx.fit_seconds = (time.perf_counter() - started) / len(members)
                member.ctx.finish(math.nan, "failed", reason)
                member.outcome = _outcome(member, math.nan, member.ctx.fit_seconds, 0.0)
        return
    seconds = (time.perf_counter() - started) / len(members)
    _score(members, trainer, folds, scoring, seconds)


def _folds(
    members: list[_Member], data: tuple[Any, Any, Any], scaler: Any, task: str
) -> dict[int, _Fold]:
    """Each needed fold's rows: scaled by its own clone of the scaler, targets encoded."""
    from sklearn.base import clone

    from nnexplorer.core.search._estimator import target_stats

    x, y, test_fold = (np.asarray(a) for a in data)
    spec = members[0].spec
    out = {}
    for fold in sorted({m.fold for m in members}):
        train, test = test_fold != fold, test_fold == fold
        x_train, x_test = x[train], x[test]
        if scaler is not None and scaler != "passthrough":
            fitted = clone(scaler).fit(x_train)
            x_train, x_test = fitted.transform(x_train), fitted.transform(x_test)
        encoder = target_encoder(spec, task, y[train])
        out[fold] = _Fold(
            x_train=np.asarray(x_train, dtype="float32"),
            y_train=np.asarray(encoder.transform(y[train])),
            x_test=np.asarray(x_test, dtype="float32"),
            y_test=y[test],
            encoder=encoder,
            target=target_stats(spec, y[train]),
        )
    return out


def _prepare(members: list[_Member], folds: dict[int, _Fold], task: str) -> tuple[Any, list[Any]]:
    """The template network, its stacked copies, the trainer and the branches."""
    from nnexplorer.core import building
    from nnexplorer.core.heads import resolve_head
    from nnexplorer.core.search._estimator import fresh_session
    from nnexplorer.core.search._fused_loop import Branch
    from nnexplorer.core.search._fused_net import branch_rates, stack_network
    from nnexplorer.core.search._fused_train import FusedTrainer, resolve_metrics

    spec = members[0].spec
    first = folds[members[0].fold]
    classes = getattr(first.encoder, "classes_", None)
    n_classes = 0 if classes is None else len(classes)
    like = SimpleNamespace(n_features=first.x_train.shape[1], task=task, n_classes=n_classes)
    fresh_session()
    building.set_seeds(spec.experiment.seed)
    template = building.build_model(spec, like)
    net = stack_network(template, len(members))
    head = resolve_head(spec, task, n_classes)
    sparse = task == "classification" and not head.one_hot and head.units > 1
    metrics = resolve_metrics(
        [
            m.create() if isinstance(m, building.Recipe) else m
            for m in building.metric_recipes(head, task)
        ],
        binary=task == "classification" and head.units == 1,
        sparse=sparse,
    )
    schedule, _ = branch_rates([m.spec.compile.learning_rate for m in members])
    recipe = building.optimizer_recipe(spec.compile)
    options = {k: v for k, v in recipe.kwargs.items() if k not in ("learning_rate", "clipnorm")}
    optimizer = building.keras_object(recipe.path)(learning_rate=schedule, **options)
    offsets, x_rows, y_rows, start = {}, [], [], 0
    for fold, data in folds.items():
        offsets[fold] = start
        start += len(data.x_train)
        x_rows.append(data.x_train)
        y_rows.append(_targets(data.y_train, sparse))
    trainer = FusedTrainer(
        net,
        loss=head.loss,
        metrics=metrics,
        optimizer=optimizer,
        clipnorm=spec.compile.clipnorm,
        x=np.concatenate(x_rows),
        y=np.concatenate(y_rows),
    )
    branches = []
    for index, member in enumerate(members):
        branches.append(
            Branch(
                index=index,
                fold=member.fold,
                epochs=member.spec.fit.epochs,
                rows=len(folds[member.fold].x_train),
                offset=offsets[member.fold],
                callbacks=member.ctx.callbacks(),
                batch_size=spec.fit.batch_size,
                learning_rate=member.spec.compile.learning_rate,
            )
        )
    return trainer, branches


def _targets(y: np.ndarray, sparse: bool) -> np.ndarray:
    """Targets as the loss reads them: class numbers, or float columns."""
    if sparse:
        return np.asarray(y).reshape(len(y)).astype("int32")
    y = np.asarray(y, dtype="float32")
    return y.reshape(len(y), -1)


def _train(config: SearchConfig, members: list[_Member], trainer: Any, branches: list[Any]) -> None:
    from nnexplorer.core.search._fused_loop import train_branches

    spec = members[0].spec
    seed = spec.experiment.seed if spec.experiment.seed is not None else 0
    chunk = max(1, int(config.steps_per_execution))
    train_branches(trainer, branches, shuffle=spec.fit.shuffle, seed=seed, chunk=chunk)


def _score(
    members: list[_Member],
    trainer: Any,
    folds: dict[int, _Fold],
    scoring: str,
    seconds: float,
) -> None:
    """Score each finished branch on its fold's held-out rows; record every outcome."""
    size = max(len(folds[m.fold].x_test) for m in members)
    features = next(iter(folds.values())).x_test.shape[1]
    x_test = np.zeros((len(members), size, features), dtype="float32")
    for index, member in enumerate(members):
        rows = folds[member.fold].x_test
        x_test[index, : len(rows)] = rows
    outputs = trainer.predict(x_test)
    cancelled = False
    for index, member in enumerate(members):
        ctx = member.ctx
        ctx.fit_seconds = seconds
        status = ctx.callback.status if ctx.callback is not None else "completed"
        if status == "cancelled":
            ctx.close()
            cancelled = True
            continue
        if status == "diverged":
            loss = ctx.callback.last_metrics.get("loss", "NaN")
            target = folds[member.fold].target
            reason = divergence_message(member.spec, ctx.callback.diverged_epoch, loss, target)
            ctx.finish(math.nan, "failed", reason)
            member.outcome = _outcome(member, math.nan, seconds, 0.0)
            continue
        fold = folds[member.fold]
        raw = outputs[index, : len(fold.x_test)]
        started = time.perf_counter()
        try:
            score = JournalScorer(scoring)(
                _scored(raw, fold.encoder, ctx), fold.x_test, fold.y_test
            )
        except Exception:
            score = math.nan  # recorded as failed by the scorer
        member.outcome = _outcome(member, score, seconds, time.perf_counter() - started)
    if cancelled:
        raise FitCancelled("the search was stopped")


def _scored(raw: np.ndarray, encoder: Any, ctx: FitContext) -> Any:
    """An estimator answering with one branch's outputs, for scikit-learn's scorers.

    It predicts as the fold's scikeras estimator would (its target encoder turns the network's
    outputs into labels or probabilities) and carries the fold's context, so that
    :class:`~._fit.JournalScorer` records the score as it does for a separate fit.
    """
    kind = "ScoredClassifier" if hasattr(encoder, "classes_") else "ScoredRegressor"
    estimator = _scored_classes()[kind](raw=raw, encoder=encoder)
    estimator._nnx_fit = ctx
    return estimator


def target_encoder(spec: ExperimentSpec, task: str, y: Any) -> Any:
    """scikeras' target encoder for a fold's training targets, as the fold's estimator fits it."""
    from scikeras.utils.transformers import ClassifierLabelEncoder, RegressorTargetEncoder

    from nnexplorer.core.search._estimator import StandardTargetEncoder, one_hot

    if task == "regression":
        encoder = StandardTargetEncoder if spec.data.standardize_target else RegressorTargetEncoder
        return encoder().fit(y)
    loss = "categorical_crossentropy" if one_hot(spec, y) else None
    return ClassifierLabelEncoder(loss=loss, categories="auto").fit(y)


@functools.cache
def _scored_classes() -> dict[str, type]:
    from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin

    class _Outputs(BaseEstimator):
        def __init__(self, raw: Any = None, encoder: Any = None):
            self.raw = raw
            self.encoder = encoder

        def predict(self, X: Any) -> Any:
            return self.encoder.inverse_transform(self.raw)

    class ScoredClassifier(ClassifierMixin, _Outputs):
        @property
        def classes_(self) -> Any:
            return self.encoder.classes_

        def predict_proba(self, X: Any) -> Any:
            return self.encoder.inverse_transform(self.raw, return_proba=True)

    class ScoredRegressor(RegressorMixin, _Outputs):
        pass

    return {"ScoredClassifier": ScoredClassifier, "ScoredRegressor": ScoredRegressor}
