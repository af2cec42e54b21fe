"""Where raw data comes from: scikit-learn's bundled sets, synthetic generators, keras' cache.

Nothing is ever downloaded: keras datasets are read only from the local cache (``~/.keras``).
:func:`read_source` dispatches on ``data.source`` (files: :mod:`._files`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from nnexplorer.core.availability import FASHION_MNIST_FILES, keras_dataset_dirs
from nnexplorer.core.datasets._files import (
    RawData,
    check_file_source,
    fail,
    read_file_source,
    read_npz,
)
from nnexplorer.core.datasets._guard import Caps
from nnexplorer.core.datasets._idx import read_idx_pair
from nnexplorer.core.errors import DataError, ErrorItem
from nnexplorer.core.spec import DataSpec

FASHION_MNIST_CLASSES: tuple[str, ...] = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat")
FASHION_MNIST_CLASSES += ("Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")
KERAS_URL = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"

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
        meta={
            "description": f"scikit-learn's bundled {name} dataset",
            # the digits are 8x8 images stored as 64 columns
            **({"image_shape": [8, 8]} if name == "digits" else {}),
        },
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


def _keras_cache(name: str) -> Path | None:
    """The cached file (mnist) or folder (fashion_mnist) of a keras dataset, or None."""
    for folder in keras_dataset_dirs():
        if name == "mnist" and (folder / "mnist.npz").is_file():
            return folder / "mnist.npz"
        sub = folder / "fashion-mnist"
        if name != "mnist" and all((sub / f).is_file() for f in FASHION_MNIST_FILES):
            return sub
    return None


def read_keras_cache(name: str, caps: Caps | None = None) -> RawData:
    """keras.datasets ``mnist`` or ``fashion_mnist`` from the local cache only (never downloads)."""
    dirs = keras_dataset_dirs()
    if name == "mnist":
        for folder in dirs:
            if (folder / "mnist.npz").is_file():
                raw = read_npz(folder / "mnist.npz", caps)
                raw.class_names = tuple(str(i) for i in range(10))
                return raw
        raise _missing_keras(name, [dirs[0] / "mnist.npz"], "mnist.npz")
    for folder in dirs:
        sub = folder / "fashion-mnist"
        if all((sub / f).is_file() for f in FASHION_MNIST_FILES):
            files = [sub / f for f in FASHION_MNIST_FILES]
            x, y = read_idx_pair(files[0], files[1], caps=caps)
            xt, yt = read_idx_pair(files[2], files[3], caps=caps)
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
        return read_keras_cache(data.name, Caps.of(data))
    return read_file_source(data)


def check_source(data: DataSpec) -> None:
    """Check, without reading the data, that ``data.source`` can be read (DataError if not).

    A file must exist, be a regular file (or an IDX folder), be readable and within
    ``data.max_file_mb``; a keras dataset must be in the local cache. Bundled and synthetic
    sources need nothing.
    """
    if data.kind == "file":
        check_file_source(data)
    elif data.kind == "keras" and _keras_cache(data.name) is None:
        read_keras_cache(data.name)  # raises the error naming the files looked for
