"""Splitting and scaling: seeded (stratified) train / validation / test splits, and scalers
fitted on the training split only.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from nnexplorer.core import vocab
from nnexplorer.core.datasets._files import fail
from nnexplorer.core.datasets._sources import read_source
from nnexplorer.core.datasets._targets import _encode, _features, _one_column, infer_task
from nnexplorer.core.spec import DataSpec


@dataclass(frozen=True, eq=False)
class Dataset:
    """Split, unscaled data: float32 features, integer labels (classification) or float targets."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray | None
    y_val: np.ndarray | None
    x_test: np.ndarray
    y_test: np.ndarray
    task: str  # "classification" | "regression"
    n_features: int
    n_classes: int  # 0 for regression
    class_names: tuple[str, ...]
    feature_names: tuple[str, ...]
    source: str
    meta: dict[str, Any] = field(default_factory=dict)

    def describe(self) -> str:
        """One line such as ``sklearn:iris, classification, 4 features, 3 classes, ...``."""
        kind = f"{self.n_classes} classes" if self.task == "classification" else "regression"
        n_val = 0 if self.x_val is None else len(self.x_val)
        return (
            f"{self.source}: {kind}, {self.n_features} features, "
            f"{len(self.x_train)} train / {n_val} val / {len(self.x_test)} test"
        )


# --------------------------------------------------------------------------- scaling


def make_scaler(method: str) -> Any:
    """A fresh scikit-learn scaler for ``standard`` or ``minmax``; ``None`` for ``none``."""
    from sklearn.preprocessing import MinMaxScaler, StandardScaler

    if method == "standard":
        return StandardScaler()
    if method == "minmax":
        return MinMaxScaler()
    if method == "none":
        return None
    raise fail(vocab.not_allowed("scaling", method, vocab.SCALINGS), path="data.standardize")


def standardized(dataset: Dataset, method: str) -> Dataset:
    """The dataset with features scaled by ``method``, the scaler fitted on x_train only."""
    scaler = make_scaler(method)
    if scaler is None:
        return dataclasses.replace(dataset, meta={**dataset.meta, "scaling": "none"})
    scaler.fit(dataset.x_train)

    def apply(x: np.ndarray) -> np.ndarray:
        return scaler.transform(x).astype(np.float32, copy=False)

    return dataclasses.replace(
        dataset,
        x_train=apply(dataset.x_train),
        x_val=None if dataset.x_val is None else apply(dataset.x_val),
        x_test=apply(dataset.x_test),
        meta={**dataset.meta, "scaling": method},
    )


# --------------------------------------------------------------------------- splitting


def _split(x: Any, y: np.ndarray, fraction_or_size: float | int, seed: int | None, strat: bool):
    """train_test_split, stratified when asked and possible; returns (parts, stratified)."""
    from sklearn.model_selection import train_test_split

    kw = {"train_size" if isinstance(fraction_or_size, int) else "test_size": fraction_or_size}
    if strat:
        try:
            return train_test_split(x, y, random_state=seed, stratify=y, **kw), True
        except ValueError:
            pass  # a class too small to appear on both sides: split without stratification
    return train_test_split(x, y, random_state=seed, **kw), False


def load_dataset(data: DataSpec, seed: int | None) -> Dataset:
    """Read ``data.source`` and split it; the result is not scaled (see :func:`standardized`)."""
    raw = read_source(data, seed)
    where = raw.meta.get("file", "")
    y = _one_column(np.asarray(raw.y), where)
    raw.y = y
    if raw.y_test is not None:
        raw.y_test = _one_column(np.asarray(raw.y_test), where)
    task = data.task if data.task != "auto" else (raw.task or infer_task(y))
    y, y_test, class_names = _encode(raw, task, where)
    image_shape = list(raw.x.shape[1:]) if raw.x.ndim > 2 else raw.meta.get("image_shape")
    x = _features(np.asarray(raw.x), where, "the features", raw.feature_names)
    x_test = None if raw.x_test is None else _features(np.asarray(raw.x_test), where, "x_test")
    if x_test is not None and x_test.shape[1] != x.shape[1]:
        raise fail(f"x_test has {x_test.shape[1]} features but x_train has {x.shape[1]}", where)
    strat = data.stratify and task == "classification"
    stratified = strat
    n_total = len(x) + (0 if x_test is None else len(x_test))
    try:
        if data.max_samples is not None and n_total > data.max_samples:
            keep = data.max_samples
            if x_test is not None:
                keep = max(2, round(data.max_samples * len(x) / n_total))
                n_test = max(1, data.max_samples - keep)
                assert y_test is not None  # a source's test split has both parts
                if n_test < len(x_test):
                    (_, x_test, _, y_test), ok = _split(
                        x_test, y_test, n_test / len(x_test), seed, strat
                    )
                    stratified &= ok
            if keep < len(x):
                (x, _, y, _), ok = _split(x, y, keep, seed, strat)
                stratified &= ok
        if x_test is None:
            (x, x_test, y, y_test), ok = _split(x, y, data.test_size, seed, strat)
            stratified &= ok
        x_val = y_val = None
        if data.validation_split > 0:
            (x, x_val, y, y_val), ok = _split(x, y, data.validation_split, seed, strat)
            stratified &= ok
    except ValueError as exc:
        raise fail(
            f"{len(x)} samples are too few for test_size={data.test_size} and "
            f"validation_split={data.validation_split}: {exc}",
            where,
        ) from None
    assert x_test is not None and y_test is not None
    n_features = x.shape[1]
    feature_names = raw.feature_names
    if feature_names is None or len(feature_names) != n_features:
        feature_names = tuple(f"x{i}" for i in range(n_features))
    meta = {
        **raw.meta,
        "n_samples": n_total,
        "n_train": len(x),
        "n_val": 0 if x_val is None else len(x_val),
        "n_test": len(x_test),
        "test_from_source": raw.x_test is not None,
        "stratified": stratified,
        "subsampled": data.max_samples is not None and n_total > data.max_samples,
        "task_inferred": data.task == "auto" and raw.task is None,
        "image_shape": image_shape,
        "seed": seed,
    }
    return Dataset(
        x_train=x,
        y_train=y,
        x_val=x_val,
        y_val=y_val,
        x_test=x_test,
        y_test=y_test,
        task=task,
        n_features=n_features,
        n_classes=len(class_names) if task == "classification" else 0,
        class_names=class_names,
        feature_names=feature_names,
        source=data.source,
        meta=meta,
    )
