"""The scikeras estimator that a grid search clones for every fit, and what runs inside a fit.

``NnxKerasClassifier`` / ``NnxKerasRegressor`` are scikeras ``KerasClassifier`` /
``KerasRegressor`` whose ``model`` is :func:`build_keras_model`: it builds the candidate's network
from the spec with :func:`nnexplorer.core.building.build_model`. Their parameters are plain data
(the spec as JSON, a run folder path, numbers), so scikit-learn can clone them for every
candidate, and loky can ship them to its worker processes. The classes are created on first use
(``module.__getattr__``), so that importing this module does not import TensorFlow.

Inside a fit (in whichever process runs it) the estimator:

- configures its process once: TensorFlow threads (its share of the cores), one GPU per worker
  when there are several, memory growth; runs one fit at a time;
- reuses the network it built for the previous fit when only learning rate, epochs or batch size
  differ (restoring the initial weights and optimizer state: the same numbers as a fresh build,
  without tracing the training step again); any other network starts with
  ``keras.backend.clear_session()``;
- reports through its search's transport (:mod:`._transport`: a fit file, or Dask log events)
  and stops when the search's stop request (a file, or a Dask Event) appears;
- skips the training when the journal already holds this fit (a resumed search).
"""

from __future__ import annotations

import functools
import json
import math
import os
import threading
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np

from nnexplorer.core.callbacks import divergence_message
from nnexplorer.core.errors import describe_error
from nnexplorer.core.search._fit import (
    CONFIG_PARAM,
    FOLD_PARAM,
    FitCancelled,
    FitContext,
    FitFailed,
    SearchConfig,
    base_spec,
    candidate_spec,
    parse_config,
)
from nnexplorer.core.search._space import available_cores
from nnexplorer.core.search._transport import DASK, dask_worker
from nnexplorer.core.spec import ExperimentSpec

EAGER_PREDICT_ROWS = 100_000

__all__ = [
    "CONFIG_PARAM",
    "FOLD_PARAM",
    "FitCancelled",
    "FitFailed",
    "SearchConfig",
    "build_keras_model",
    "configure_process",
    "make_estimator",
    "warm_up",
]


# --------------------------------------------------------------------------- the process


_CURRENT: FitContext | None = None
ONE_FIT = threading.RLock()  # the current fit, the reused network and Keras' session are global
_PROCESS: dict[str, Any] = {}
_MODEL: dict[str, Any] = {}


def setup_process(config: SearchConfig) -> None:
    """Once per process: pick this worker's GPU, memory growth, TensorFlow thread counts.

    A Dask worker takes the thread count the search worked out for it (its machine's cores
    shared among the worker threads there); its GPU is the one ``CUDA_VISIBLE_DEVICES`` gave
    it. It runs fits outside the main thread, so it leaves signal handling alone.
    """
    if config.transport == DASK:
        worker = dask_worker()
        if worker is None:  # the search process itself (the refit): TensorFlow's defaults
            configure_process(0, 0, worker=False)
        else:
            configure_process(_dask_threads(worker, config.worker_threads), 0, worker=False)
        return
    configure_process(config.threads, config.gpus, worker=config.threads > 0)


def _dask_threads(worker: Any, planned: dict[str, int]) -> int:
    threads = planned.get(str(worker.address))
    return threads or max(1, available_cores() // max(1, int(worker.state.nthreads)))


def configure_process(threads: int, gpus: int, *, worker: bool) -> None:
    """Once per process, before TensorFlow runs anything: GPU, memory growth, threads.

    A worker process ignores SIGINT: a Ctrl-C reaches the whole process group, and the search
    process, which also gets it, stops the fits through the stop file instead. It exits on its
    own when the search process dies.
    """
    if _PROCESS.get("ready"):
        return
    _PROCESS["ready"] = True
    from nnexplorer.core import devices

    if worker:
        import signal

        from nnexplorer.core.search._pool import watch_parent

        signal.signal(signal.SIGINT, signal.SIG_IGN)
        watch_parent()  # a search killed outright leaves no worker behind

    if gpus > 1:
        _claim_gpu(gpus)
    devices.configure_devices()
    if threads:
        _PROCESS["threads"] = devices.configure_threads(threads, threads)


def warm_up(threads: int) -> int:
    """Prepare a fresh worker while the parent loads data: threads, imports, one tiny fit.

    TensorFlow's first fit in a process pays one-time costs (runtime start, tracing machinery);
    paying them here overlaps them with the parent's own start.
    """
    configure_process(threads, 0, worker=True)
    _first_fit()
    return os.getpid()


def warm_up_dask(planned: dict[str, int]) -> str:
    """:func:`warm_up` for a Dask worker (``planned``: TensorFlow threads by worker address)."""
    worker = dask_worker()
    if worker is not None:
        configure_process(_dask_threads(worker, planned), 0, worker=False)
    with ONE_FIT:
        _first_fit()
    return str(getattr(worker, "address", ""))


def _first_fit() -> None:
    if _PROCESS.get("warm"):
        return
    import keras

    _classes()
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(2, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    x, y = np.zeros((8, 2), dtype="float32"), np.zeros(8, dtype="int64")
    model.fit(x, y, epochs=1, batch_size=8, verbose=0)
    model.predict(x, verbose=0)
    _MODEL.clear()
    keras.backend.clear_session()
    _PROCESS["warm"] = True


def _claim_gpu(n_gpus: int) -> None:
    """Take the first free GPU slot among this search's workers (file locks) and use only it."""
    import fcntl
    import tempfile

    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    slots = Path(tempfile.gettempdir()) / f"nnexplorer-gpus-{os.getppid()}"
    slots.mkdir(parents=True, exist_ok=True)
    for index in range(min(n_gpus, len(gpus))):
        handle = open(slots / f"gpu-{index}.lock", "w")  # noqa: SIM115 - held for life
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            continue
        _PROCESS["gpu_lock"] = handle
        os.environ["CUDA_VISIBLE_DEVICES"] = str(index)  # for any process this one starts
        tf.config.set_visible_devices(gpus[index], "GPU")
        _PROCESS["gpu"] = index
        return


def _arch_key(config: SearchConfig, spec: ExperimentSpec, like: Any) -> str:
    data = spec.to_dict()
    data.pop("fit", None)
    data.pop("data", None)
    data.get("compile", {}).pop("learning_rate", None)
    shape = [like.n_features, like.n_classes, like.task, config.steps_per_execution]
    return json.dumps([config.session, shape, data], sort_keys=True, default=str)


def _model_for(config: SearchConfig, spec: ExperimentSpec, like: Any, reuse: bool) -> Any:
    import keras

    from nnexplorer.core import building

    key = _arch_key(config, spec, like)
    if reuse and _MODEL.get("key") == key:
        model = _MODEL["model"]
        for variable, value in zip(_MODEL["variables"], _MODEL["state"], strict=True):
            variable.assign(value)
        building.set_learning_rate(model, spec.compile)
        building.set_seeds(spec.experiment.seed)
        return model
    _MODEL.clear()
    keras.backend.clear_session()
    building.set_seeds(spec.experiment.seed)
    model = building.build_model(spec, like)
    if config.steps_per_execution > 1:
        model.steps_per_execution = config.steps_per_execution
    if reuse:
        model.optimizer.build(model.trainable_variables)
        variables = [*model.variables, *model.optimizer.variables]
        _MODEL.update(key=key, model=model, variables=variables)
        _MODEL["state"] = [v.numpy() for v in variables]
    building.set_seeds(spec.experiment.seed)
    return model


def fresh_session() -> None:
    """Forget the reused network and start a new Keras session (a fused fit builds its own)."""
    import keras

    _MODEL.clear()
    keras.backend.clear_session()


def build_keras_model(meta: dict[str, Any], params: dict[str, Any]) -> Any:
    """scikeras' ``model``: the candidate's compiled network (reused when only training differs)."""
    ctx = _CURRENT
    if ctx is not None:
        config, spec = ctx.config, ctx.spec or candidate_spec(ctx.config, ctx.values)
        reuse = config.reuse
    else:
        config = parse_config(params[CONFIG_PARAM])
        values = {path: params.get(name) for name, path in config.keys.items()}
        spec, reuse = candidate_spec(config, values), False
    task = "classification" if "n_classes_" in meta else "regression"
    like = SimpleNamespace(
        n_features=int(meta["n_features_in_"]),
        task=task,
        n_classes=int(meta.get("n_classes_") or 0),
    )
    return _model_for(config, spec, like, reuse)


def run_fit(estimator: Any, parent_fit: Any, x: Any, y: Any, kwargs: dict[str, Any]) -> Any:
    """One fit; a process runs one at a time (a Dask worker may have several threads)."""
    with ONE_FIT:
        return _run_fit(estimator, parent_fit, x, y, kwargs)


def _run_fit(estimator: Any, parent_fit: Any, x: Any, y: Any, kwargs: dict[str, Any]) -> Any:
    global _CURRENT
    ctx = FitContext.of(estimator, x, kwargs.pop(FOLD_PARAM, None))
    estimator._nnx_fit = ctx
    if ctx.cached is not None:
        ctx.replay()
        if ctx.cached.get("status") != "completed":
            raise FitFailed(str(ctx.cached.get("reason") or "failed"))
        return estimator
    try:
        spec = ctx.begin()
        setup_process(ctx.config)
        estimator._nnx_one_hot = one_hot(spec, y)
        _CURRENT = ctx
        _PROCESS["warm"] = True  # a warm-up after this would only clear the reused network
        parent_fit(x, y, **kwargs)
    except FitCancelled:
        ctx.close()
        raise
    except Exception as exc:
        ctx.trained()
        if ctx.fold is None:
            raise
        reason = describe_error(exc)
        ctx.finish(math.nan, "failed", reason)
        raise FitFailed(reason) from None
    finally:
        _CURRENT = None
    ctx.trained()
    status = ctx.callback.status if ctx.callback is not None else "completed"
    if status == "cancelled":
        ctx.close()
        raise FitCancelled("the search was stopped")
    if status == "diverged":
        loss = ctx.callback.last_metrics.get("loss", "NaN")
        target = target_stats(spec, y)
        reason = divergence_message(spec, ctx.callback.diverged_epoch, loss, target)
        ctx.finish(math.nan, "failed", reason)
        raise FitFailed(reason)
    return estimator


def target_stats(spec: ExperimentSpec, y: Any) -> tuple[float, float] | None:
    """A regression target's mean and standard deviation (for the divergence hint)."""
    if spec.data.task == "classification" or not np.issubdtype(np.asarray(y).dtype, np.floating):
        return None
    values = np.asarray(y, dtype=np.float64)
    return float(values.mean()), float(values.std())


def _spec_of(estimator: Any) -> ExperimentSpec:
    """The spec of the candidate ``estimator`` fits (its base spec outside a fit)."""
    ctx = getattr(estimator, "_nnx_fit", None)
    if ctx is not None and ctx.spec is not None:
        return ctx.spec
    config = parse_config(getattr(estimator, CONFIG_PARAM))
    return base_spec(json.dumps(config.spec, sort_keys=True))


def one_hot(spec: ExperimentSpec, y: Any) -> bool:
    """Whether the loss wants one-hot targets (the target encoder's ``loss``)."""
    from nnexplorer.core.heads import resolve_head

    if spec.data.task == "regression":
        return False
    n_classes = len(np.unique(np.asarray(y)))
    return resolve_head(spec, "classification", max(n_classes, 2)).one_hot


# --------------------------------------------------------------------------- the classes


@functools.cache
def _classes() -> dict[str, type]:
    from scikeras.utils.transformers import ClassifierLabelEncoder, RegressorTargetEncoder
    from scikeras.wrappers import BaseWrapper, KerasClassifier, KerasRegressor

    class StandardTargetEncoder(RegressorTargetEncoder):
        """``data.standardize_target``: the network sees ``(y - mean) / std`` of the rows it is
        fitted on; predictions come back in the target's units (TransformedTargetRegressor)."""

        def fit(self, y: Any) -> Any:
            super().fit(y)
            values = np.asarray(y, dtype=np.float64)
            self.mean_ = float(values.mean())
            self.std_ = float(values.std()) or 1.0
            return self

        def transform(self, y: Any) -> Any:
            values = np.asarray(super().transform(y), dtype=np.float64)
            return ((values - self.mean_) / self.std_).astype(np.float32)

        def inverse_transform(self, y: Any) -> Any:
            return super().inverse_transform(np.asarray(y) * self.std_ + self.mean_)

    class _SpecNet(BaseWrapper):
        """What both estimators add to scikeras: the fit around the spec, eager prediction.

        A mixin placed before KerasClassifier / KerasRegressor (both BaseWrappers), so that
        ``super()`` reaches scikeras' own methods.
        """

        _routing_prefixes = {*BaseWrapper._routing_prefixes, "nnx"}
        _fit_callbacks: list[Any]  # set by scikeras' _initialize_callbacks

        def fit(self, X: Any, y: Any, sample_weight: Any = None, **kwargs: Any) -> Any:
            def parent(x: Any, y_: Any, **kw: Any) -> Any:
                return super(_SpecNet, self).fit(x, y_, sample_weight, **kw)

            return run_fit(self, parent, X, y, kwargs)

        def _initialize_callbacks(self) -> None:
            super()._initialize_callbacks()
            ctx = getattr(self, "_nnx_fit", None)
            if ctx is not None:
                self._fit_callbacks = [*self._fit_callbacks, *ctx.callbacks()]

        def _predict_raw(self, X: Any, **kwargs: Any) -> Any:
            # One eager forward pass: no predict function to trace for each new network.
            if kwargs or not self.initialized_ or len(X) > EAGER_PREDICT_ROWS:
                return super()._predict_raw(X, **kwargs)
            x, _ = self._validate_data(X=X, y=None)
            x = self.feature_encoder_.transform(x)
            return np.asarray(self.model_(x, training=False))

    class NnxKerasClassifier(_SpecNet, KerasClassifier):
        """KerasClassifier over a spec's network; see the module docstring."""

        def __sklearn_tags__(self) -> Any:
            # scikeras 0.13 predates scikit-learn's tags: without these, scikit-learn does not
            # see a classifier, and scorers such as roc_auc get both probability columns.
            from sklearn.utils import ClassifierTags

            tags = super().__sklearn_tags__()
            tags.estimator_type = "classifier"
            tags.classifier_tags = ClassifierTags()
            tags.target_tags.required = True
            return tags

        @property
        def target_encoder(self) -> Any:
            categories = "auto" if self.classes_ is None else [self.classes_]
            loss = "categorical_crossentropy" if getattr(self, "_nnx_one_hot", False) else None
            return ClassifierLabelEncoder(loss=loss, categories=categories)

    class NnxKerasRegressor(_SpecNet, KerasRegressor):
        """KerasRegressor over a spec's network; see the module docstring."""

        def __sklearn_tags__(self) -> Any:
            from sklearn.utils import RegressorTags

            tags = super().__sklearn_tags__()
            tags.estimator_type = "regressor"
            tags.regressor_tags = RegressorTags()
            tags.target_tags.required = True
            return tags

        @property
        def target_encoder(self) -> Any:
            if _spec_of(self).data.standardize_target:
                return StandardTargetEncoder()
            return super().target_encoder

    for cls in (NnxKerasClassifier, NnxKerasRegressor, StandardTargetEncoder):
        cls.__module__ = __name__
        cls.__qualname__ = cls.__name__
    return {
        cls.__name__: cls for cls in (NnxKerasClassifier, NnxKerasRegressor, StandardTargetEncoder)
    }


def __getattr__(name: str) -> Any:
    if name in ("NnxKerasClassifier", "NnxKerasRegressor", "StandardTargetEncoder"):
        return _classes()[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def make_estimator(task: str, config: SearchConfig, base: dict[str, Any]) -> Any:
    """The estimator for ``task`` with the shared config and each grid parameter's start value."""
    cls = _classes()["NnxKerasClassifier" if task == "classification" else "NnxKerasRegressor"]
    spec = base_spec(json.dumps(config.spec, sort_keys=True))
    params: dict[str, Any] = {
        "epochs": spec.fit.epochs,
        "batch_size": spec.fit.batch_size,
        "shuffle": spec.fit.shuffle,
        "optimizer": spec.compile.optimizer,
        "verbose": 0,
        CONFIG_PARAM: config.to_json(),
    }
    if held_out_validation(spec):
        params["validation_split"] = spec.data.validation_split
    params.update(base)
    return cls(model=build_keras_model, **params)


def held_out_validation(spec: ExperimentSpec) -> bool:
    """Whether each fit holds out the last ``data.validation_split`` of its training rows.

    Only for early stopping on a ``val_`` metric, as the exported script does: each fold's fit
    then watches the metric on rows it does not train on (and so does the refit).
    """
    early = spec.fit.early_stopping
    return early is not None and early.monitor.startswith("val_") and spec.data.validation_split > 0
