"""Datasets: every ``[data]`` source turned into seeded train / validation / test splits.

:func:`load_dataset` reads a source (scikit-learn's bundled sets, synthetic generators, keras'
local cache, or a CSV / NPZ / IDX file), infers the task, encodes class labels to ``0..n-1``,
subsamples and splits. It does not scale: :func:`standardized` does, fitting on the training split
only. Problems raise :class:`DataError` naming the file and what is wrong.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from nnexplorer.core import vocab
from nnexplorer.core.datasets_files import (
    RawData,
    fail,
    read_file_source,
    read_idx_pair,
    read_npz,
)
from nnexplorer.core.errors import DataError, ErrorItem
from nnexplorer.core.spec import DataSpec

MAX_CLASSES = 1000
FASHION_MNIST_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal")
FASHION_MNIST_CLASSES += ("Shirt", "Sneaker", "Bag", "Ankle boot")
FASHION_MNIST_FILES = tuple(
    f"{part}-{kind}-ubyte.gz"
    for part in ("train", "t10k")
    for kind in ("images-idx3", "labels-idx1")
)
KERAS_URL = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"


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

    def apply(x: np.ndarray | None) -> np.ndarray | None:
        return None if x is None else scaler.transform(x).astype(np.float32, copy=False)

    return dataclasses.replace(
        dataset,
        x_train=apply(dataset.x_train),
        x_val=apply(dataset.x_val),
        x_test=apply(dataset.x_test),
        meta={**dataset.meta, "scaling": method},
    )


# --------------------------------------------------------------------------- sources


def _sklearn(name: str) -> RawData:
    from sklearn import datasets as skd

    loader = {
        "digits": skd.load_digits,
        "iris": skd.load_iris,
        "wine": skd.load_wine,
        "breast_cancer": skd.load_breast_cancer,
        "diabetes": skd.load_diabetes,
    }[name]
    bunch = loader()
    regression = name == "diabetes"
    names = None if regression else tuple(str(n) for n in bunch.target_names)
    return RawData(
        x=bunch.data,
        y=bunch.target,
        feature_names=tuple(str(n) for n in bunch.feature_names),
        class_names=names,
        task="regression" if regression else "classification",
        meta={"description": f"scikit-learn's bundled {name} dataset"},
    )


def _synthetic(data: DataSpec, seed: int | None) -> RawData:
    from sklearn import datasets as skd

    n, name = data.n_samples, data.name
    if name == "moons":
        x, y = skd.make_moons(n_samples=n, noise=data.noise, random_state=seed)
    elif name == "circles":
        x, y = skd.make_circles(n_samples=n, noise=data.noise, factor=0.5, random_state=seed)
    elif name == "blobs":
        x, y = skd.make_blobs(
            n_samples=n, n_features=data.n_features, centers=data.n_classes, random_state=seed
        )
    elif name == "classification":
        x, y = _make_classification(data, seed)
    else:
        x, y = skd.make_regression(
            n_samples=n, n_features=data.n_features, noise=data.noise, random_state=seed
        )
    task = "regression" if name == "regression" else "classification"
    return RawData(x=x, y=y, task=task, meta={"description": f"synthetic {name}, seed {seed}"})


def _make_classification(data: DataSpec, seed: int | None) -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import make_classification

    informative = min(data.n_features, max(2, int(np.ceil(np.log2(data.n_classes))) + 1))
    if data.n_classes > 2**informative:
        raise fail(
            f"synthetic:classification with {data.n_classes} classes needs at least "
            f"{int(np.ceil(np.log2(data.n_classes)))} features (n_features = {data.n_features})",
            path="data.n_features",
        )
    clusters = 2 if 2 * data.n_classes <= 2**informative else 1
    return make_classification(
        n_samples=data.n_samples,
        n_features=data.n_features,
        n_informative=informative,
        n_redundant=0,
        n_classes=data.n_classes,
        n_clusters_per_class=clusters,
        random_state=seed,
    )


# --------------------------------------------------------------------------- keras cache


def keras_dataset_dirs() -> list[Path]:
    """Where keras caches datasets: $KERAS_HOME/datasets or ~/.keras/datasets (then /tmp/.keras)."""
    home = Path(os.environ.get("KERAS_HOME") or Path.home() / ".keras").expanduser()
    dirs = [home / "datasets"]
    # keras falls back to /tmp/.keras when its home is not writable
    if not os.access(home if home.exists() else home.parent, os.W_OK):
        dirs.append(Path("/tmp/.keras/datasets"))
    return dirs


def read_keras_cache(name: str) -> RawData:
    """keras.datasets ``mnist`` or ``fashion_mnist`` from the local cache only (never downloads)."""
    dirs = keras_dataset_dirs()
    if name == "mnist":
        for folder in dirs:
            if (folder / "mnist.npz").is_file():
                raw = read_npz(folder / "mnist.npz")
                raw.class_names = tuple(str(i) for i in range(10))
                return raw
        raise _missing_keras(name, [dirs[0] / "mnist.npz"], "mnist.npz")
    for folder in dirs:
        sub = folder / "fashion-mnist"
        if all((sub / f).is_file() for f in FASHION_MNIST_FILES):
            x, y = read_idx_pair(sub / FASHION_MNIST_FILES[0], sub / FASHION_MNIST_FILES[1])
            xt, yt = read_idx_pair(sub / FASHION_MNIST_FILES[2], sub / FASHION_MNIST_FILES[3])
            meta = {"file": str(sub), "format": "idx"}
            return RawData(x, y, xt, yt, class_names=FASHION_MNIST_CLASSES, meta=meta)
    sub = dirs[0] / "fashion-mnist"
    missing = [sub / f for f in FASHION_MNIST_FILES if not (sub / f).is_file()]
    raise _missing_keras(name, missing, "")


def _missing_keras(name: str, missing: list[Path], npz: str) -> DataError:
    files = ", ".join(str(p) for p in missing)
    where = missing[0].parent
    alt = (
        f'data.source = "file:/path/to/{npz}"'
        if npz
        else 'data.source = "file:/path/to/fashion-mnist" (a folder holding the four files)'
    )
    hint = (
        f"nnexplorer never downloads data: copy {'the file' if len(missing) == 1 else 'them'} "
        f"into {where} (from {KERAS_URL}) or set {alt}"
    )
    items = [
        ErrorItem(
            f"keras dataset '{name}' is not in the local cache (file not found)",
            "data.source",
            str(p),
        )
        for p in missing
    ]
    return DataError(
        f"keras dataset '{name}' not found in the local cache ({files})", hint, items=items
    )


def read_source(data: DataSpec, seed: int | None) -> RawData:
    """The raw data behind ``data.source``, before task inference and splitting."""
    if data.kind == "sklearn":
        return _sklearn(data.name)
    if data.kind == "synthetic":
        return _synthetic(data, seed)
    if data.kind == "keras":
        return read_keras_cache(data.name)
    return read_file_source(data)


# --------------------------------------------------------------------------- targets


def infer_task(y: np.ndarray) -> str:
    """``classification`` for labels (strings, booleans, or few integer values), else regression."""
    if y.dtype.kind in "USOb":
        return "classification"
    if y.dtype.kind == "f" and not np.all(np.isfinite(y) & (y == np.round(y))):
        return "regression"
    distinct = np.unique(y).size
    return (
        "classification" if distinct <= 20 or distinct <= min(100, len(y) // 20) else "regression"
    )


def _one_column(y: np.ndarray, where: str) -> np.ndarray:
    if y.ndim == 2 and y.shape[1] == 1:
        return y[:, 0]
    if (
        y.ndim == 2
        and y.dtype.kind in "biuf"
        and np.isin(y, (0, 1)).all()
        and (y.sum(1) == 1).all()
    ):
        return y.argmax(axis=1)  # one-hot rows
    if y.ndim != 1:
        raise fail(f"the targets must be one column; got shape {y.shape}", where)
    return y


def _label_name(value: Any, names: tuple[str, ...] | None) -> str:
    if isinstance(value, np.floating) and float(value).is_integer():
        value = int(value)
    if names is not None and isinstance(value, (int, np.integer)) and 0 <= value < len(names):
        return names[int(value)]
    return str(value) if not isinstance(value, np.floating) else f"{float(value):g}"


def _encode(raw: RawData, task: str, where: str) -> tuple[np.ndarray, np.ndarray | None, tuple]:
    """Labels mapped to 0..n-1 (classification) or float32 targets (regression)."""
    y, yt = raw.y, raw.y_test
    if task == "regression":
        if y.dtype.kind not in "biuf":
            raise fail(
                "the target holds text labels, which cannot be regressed "
                '(set data.task = "classification" or choose another column)',
                where,
                "data.task",
            )
        if not all(np.isfinite(part).all() for part in (y, yt) if part is not None):
            raise fail("the target holds NaN or infinite values", where, "data.target")
        return y.astype(np.float32), None if yt is None else yt.astype(np.float32), ()
    both = y if yt is None else np.concatenate([y, yt])
    values, codes = np.unique(both, return_inverse=True)
    if len(values) < 2:
        raise fail("the target has a single class; classification needs at least two", where)
    if len(values) > MAX_CLASSES:
        raise fail(
            f"the target has {len(values)} distinct values, too many classes "
            '(set data.task = "regression" if it is a quantity)',
            where,
            "data.task",
        )
    names = tuple(_label_name(v, raw.class_names) for v in values)
    codes = codes.reshape(-1).astype(np.int64)
    return codes[: len(y)], None if yt is None else codes[len(y) :], names


def _features(x: np.ndarray, where: str, what: str) -> np.ndarray:
    if x.dtype.kind not in "biuf":
        raise fail(f"{what} must be numeric; got dtype {x.dtype}", where)
    x = x.reshape(len(x), -1) if x.ndim != 2 else x
    x = x.astype(np.float32, copy=False)
    if not np.isfinite(x).all():
        raise fail(f"{what} holds NaN or infinite values", where)
    return x


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
    image_shape = list(raw.x.shape[1:]) if raw.x.ndim > 2 else None
    x = _features(np.asarray(raw.x), where, "the features")
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
