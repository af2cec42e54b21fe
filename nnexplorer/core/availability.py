"""Whether a ``[data]`` source can be read, checked without reading it (and without numpy).

The editor calls :func:`source_problem` whenever the source changes, so that a missing file or
an empty keras cache is named in the Data pane (and refuses a run) before a worker starts,
instead of failing once TensorFlow has loaded. Reading the data itself still reports every
problem in detail (:func:`~nnexplorer.core.datasets.load_dataset`). A module of its own, outside
:mod:`nnexplorer.core.datasets`, so that the explorer can call it without importing numpy.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

FASHION_MNIST_FILES = tuple(
    f"{part}-{kind}-ubyte.gz"
    for part in ("train", "t10k")
    for kind in ("images-idx3", "labels-idx1")
)


def keras_dataset_dirs() -> list[Path]:
    """Where keras caches datasets: $KERAS_HOME/datasets or ~/.keras/datasets (then /tmp/.keras)."""
    home = Path(os.environ.get("KERAS_HOME") or Path.home() / ".keras").expanduser()
    dirs = [home / "datasets"]
    # keras falls back to /tmp/.keras when its home is not writable
    if not os.access(home if home.exists() else home.parent, os.W_OK):
        dirs.append(Path("/tmp/.keras/datasets"))
    return dirs


def source_problem(data: Mapping[str, Any]) -> str | None:
    """One line saying why ``data.source`` cannot be read, or None when it looks readable.

    Only what can be told from the file system: scikit-learn and synthetic sources are always
    there; a keras source needs its files in the local cache; a file source must exist and be
    readable.
    """
    source = str(data.get("source", ""))
    kind, _, name = source.partition(":")
    if kind == "keras":
        return _keras_problem(name)
    if kind == "file":
        return _file_problem(Path(name).expanduser(), data.get("labels"))
    return None


def _keras_problem(name: str) -> str | None:
    dirs = keras_dataset_dirs()
    if name == "mnist":
        if any((folder / "mnist.npz").is_file() for folder in dirs):
            return None
        return (
            f"keras:mnist is not in the local cache ({dirs[0] / 'mnist.npz'}); nnexplorer "
            'never downloads: copy mnist.npz there or use source = "file:/path/to/mnist.npz"'
        )
    if name == "fashion_mnist":
        if any(all((d / "fashion-mnist" / f).is_file() for f in FASHION_MNIST_FILES) for d in dirs):
            return None
        return (
            f"keras:fashion_mnist is not in the local cache ({dirs[0] / 'fashion-mnist'}); "
            "nnexplorer never downloads: copy its four files there or use a file: source"
        )
    return None


def _file_problem(path: Path, labels: Any) -> str | None:
    if not str(path) or str(path) == ".":
        return "no file chosen: give the data file's path"
    if not path.exists():
        return f"{path}: file not found (a relative path is taken from the preset's folder)"
    if not os.access(path, os.R_OK):
        return f"{path}: not readable (permission denied)"
    if path.is_dir() and not any(path.iterdir()):
        return f"{path}: an empty folder (an IDX folder holds the images and labels files)"
    if isinstance(labels, str) and labels and not Path(labels).expanduser().exists():
        return f"{labels}: labels file not found"
    return None
