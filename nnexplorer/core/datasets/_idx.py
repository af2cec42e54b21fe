"""IDX files (the MNIST distribution format): an images file with its labels file, or a folder
holding the MNIST files; gzipped or not, read within the caps of :mod:`._guard`."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np

from nnexplorer.core.datasets._files import IDX_TYPES, RawData, fail
from nnexplorer.core.datasets._guard import Caps, check_values, open_data
from nnexplorer.core.spec import DataSpec


def read_idx(path: Path, caps: Caps | None = None) -> np.ndarray:
    """One IDX file (gzipped or not) as an array of its own shape and type."""
    caps = caps or Caps()
    try:
        with open_data(path, caps) as fh:
            blob = fh.read()
    except (OSError, EOFError, zlib.error) as exc:
        raise fail(f"cannot read the file: {exc}", path) from None
    if len(blob) < 4 or blob[:2] != b"\0\0" or blob[2] not in IDX_TYPES or blob[3] == 0:
        raise fail(
            f"not an IDX file: bad magic number {blob[:4].hex() or '(empty)'} "
            "(expected 0000 then a type byte 08-0e and the number of dimensions)",
            path,
        )
    ndim = blob[3]
    offset = 4 + 4 * ndim
    if len(blob) < offset:
        raise fail("the IDX header is truncated", path)
    dims = struct.unpack(f">{ndim}I", blob[4:offset])
    dtype = np.dtype(IDX_TYPES[blob[2]])
    check_values(path, dims[0], int(np.prod(dims[1:], dtype=np.int64)), caps)
    expected = int(np.prod(dims, dtype=np.int64)) * dtype.itemsize
    if len(blob) - offset != expected:
        raise fail(
            f"the IDX header announces shape {dims} ({expected} bytes of data) "
            f"but the file holds {len(blob) - offset}",
            path,
        )
    return np.frombuffer(blob, dtype, offset=offset).reshape(dims)


def _idx_candidates(prefix: str, kind: str) -> list[str]:
    n = 3 if kind == "images" else 1
    names = [f"{prefix}-{kind}-idx{n}-ubyte", f"{prefix}-{kind}.idx{n}-ubyte"]
    return [name + ext for name in names for ext in ("", ".gz")]


def _find(folder: Path, prefix: str, kind: str) -> Path | None:
    return next((folder / n for n in _idx_candidates(prefix, kind) if (folder / n).is_file()), None)


def read_idx_source(path: Path, data: DataSpec) -> RawData:
    """An IDX images file with its labels file, or a folder holding the MNIST files."""
    if path.is_dir():
        return read_idx_folder(path, Caps.of(data))
    caps = Caps.of(data)
    x = read_idx(path, caps)  # first, so that a file of the wrong kind is reported as such
    labels = _labels_path(path, data.labels)
    x, y = read_idx_pair(path, labels, x, caps)
    return RawData(x=x, y=y, meta={"file": str(path), "labels": str(labels), "format": "idx"})


def read_idx_folder(folder: Path, caps: Caps | None = None) -> RawData:
    """train-images/train-labels (required) and t10k-images/t10k-labels (optional) from a folder."""
    train = (_find(folder, "train", "images"), _find(folder, "train", "labels"))
    if None in train:
        wanted = ", ".join(_idx_candidates("train", "images")[::2])
        wanted += ", " + ", ".join(_idx_candidates("train", "labels")[::2])
        raise fail(
            f"the folder does not hold the MNIST training files (looked for {wanted}, "
            "each also with .gz)",
            folder,
        )
    x, y = read_idx_pair(*train, caps=caps)  # type: ignore[arg-type]
    raw = RawData(x=x, y=y, meta={"file": str(folder), "format": "idx"})
    test = (_find(folder, "t10k", "images"), _find(folder, "t10k", "labels"))
    if None not in test:
        raw.x_test, raw.y_test = read_idx_pair(*test, caps=caps)  # type: ignore[arg-type]
    return raw


def _labels_path(images: Path, labels: str | None) -> Path:
    if labels:
        given = Path(labels).expanduser()
        if not given.is_absolute() and not given.exists():
            given = images.parent / given
        if not given.is_file():
            raise fail("IDX labels file not found", given, "data.labels")
        return given
    name = images.name
    guess = name.replace("images", "labels").replace("idx3", "idx1")
    if guess == name or not (images.parent / guess).is_file():
        looked = f" (looked for {images.parent / guess})" if guess != name else ""
        raise fail(
            f"no labels file found for these IDX images{looked}",
            images,
            "data.labels",
            hint="name the labels file with data.labels",
        )
    return images.parent / guess


def read_idx_pair(
    images: Path, labels: Path, x: np.ndarray | None = None, caps: Caps | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Images and their labels from two IDX files, checked to match."""
    x = read_idx(images, caps) if x is None else x
    y = read_idx(labels, caps)
    if x.ndim < 2:
        raise fail("holds a 1-D array (labels?); point data.source at the images file", images)
    if y.ndim != 1:
        raise fail(f"must hold 1-D labels; it has shape {y.shape}", labels, "data.labels")
    if len(x) != len(y):
        raise fail(f"{len(x)} images but {labels} has {len(y)} labels", images)
    return x, y
