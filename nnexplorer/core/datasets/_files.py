"""Readers for data that lives in files: CSV, NPZ and IDX (the MNIST distribution format).

Every reader returns a :class:`RawData` (features and raw targets, plus the file's own test split
when it has one) or raises :class:`DataError` naming the file and what is wrong. Nothing here
downloads anything or imports TensorFlow.
"""

from __future__ import annotations

import csv
import gzip
import struct
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from nnexplorer.core import vocab
from nnexplorer.core.errors import DataError, ErrorItem
from nnexplorer.core.spec import DataSpec

# IDX type byte -> big-endian numpy dtype (the MNIST distribution format).
_IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
_GZIP_MAGIC = b"\x1f\x8b"
_ZIP_MAGIC = b"PK\x03\x04"


@dataclass
class RawData:
    """Features and targets as read, before task inference, label encoding and splitting."""

    x: np.ndarray
    y: np.ndarray
    x_test: np.ndarray | None = None
    y_test: np.ndarray | None = None
    feature_names: tuple[str, ...] | None = None
    class_names: tuple[str, ...] | None = None  # indexed by the integer label value
    task: str | None = None  # fixed by the source (sklearn, synthetic, keras); None = infer
    meta: dict[str, Any] = field(default_factory=dict)


def fail(
    message: str, file: Path | str = "", path: str = "data.source", hint: str = ""
) -> DataError:
    """A DataError with one item naming the file and the preset key involved."""
    head = f"{file}: {message}" if file else message
    return DataError(head, hint, items=[ErrorItem(message, path, str(file))])


# --------------------------------------------------------------------------- dispatch


def read_file_source(data: DataSpec) -> RawData:
    """Read ``file:<path>`` in ``data.format`` (``auto`` picks by extension, then by content)."""
    path = Path(data.name).expanduser()
    if not path.exists():
        raise fail(
            "file not found",
            path,
            hint="check the path; a relative path is taken from the preset's folder",
        )
    fmt = data.format if data.format != "auto" else detect_format(path)
    if fmt == "csv":
        return read_csv(path, data)
    if fmt == "npz":
        return read_npz(path)
    return read_idx_source(path, data)


def detect_format(path: Path) -> str:
    """``csv``, ``npz`` or ``idx`` from the name, else from the first bytes."""
    if path.is_dir():
        return "idx"
    name = path.name.lower().removesuffix(".gz")
    if name.endswith((".csv", ".tsv", ".txt")):
        return "csv"
    if name.endswith(".npz"):
        return "npz"
    if "idx" in name or name.endswith("ubyte"):
        return "idx"
    head = _head_bytes(path)
    if head.startswith(_ZIP_MAGIC):
        return "npz"
    if len(head) >= 4 and head[:2] == b"\0\0" and head[2] in _IDX_TYPES:
        return "idx"
    return "csv"


def _head_bytes(path: Path, size: int = 8) -> bytes:
    try:
        with open(path, "rb") as fh:
            head = fh.read(size)
        if head.startswith(_GZIP_MAGIC):
            with gzip.open(path, "rb") as fh:
                head = fh.read(size)
    except (OSError, EOFError, zlib.error) as exc:
        raise fail(f"cannot read the file: {exc}", path) from None
    return head


# --------------------------------------------------------------------------- CSV


def read_csv(path: Path, data: DataSpec) -> RawData:
    """A delimited text file: one row per sample, the target in one column (default: the last)."""
    try:
        opener = gzip.open if _head_bytes(path, 2) == _GZIP_MAGIC else open
        with opener(path, "rt", encoding="utf-8-sig", newline="") as fh:
            return _parse_csv(path, csv.reader(fh, delimiter=data.delimiter), data)
    except UnicodeDecodeError:
        raise fail("not UTF-8 text; is it really a CSV file?", path) from None
    except csv.Error as exc:
        raise fail(f"not a readable CSV file: {exc}", path) from None
    except (OSError, EOFError, zlib.error) as exc:
        raise fail(f"cannot read the file: {exc}", path) from None


def _parse_csv(path: Path, reader: Any, data: DataSpec) -> RawData:
    names: list[str] | None = None
    target = -1
    features: list[int] = []
    rows: list[np.ndarray] = []
    targets: list[str] = []
    warnings: list[str] = []
    for row in reader:
        if not any(cell.strip() for cell in row):
            continue
        line = reader.line_num
        if names is None:
            names = (
                [c.strip() for c in row] if data.header else [f"col{i}" for i in range(len(row))]
            )
            if len(names) < 2:
                raise _one_column_error(path, row, data)
            target = _target_index(path, names, data.target)
            features = [i for i in range(len(names)) if i != target]
            if data.header:
                if all(_is_number(c) for c in row):
                    warnings.append(
                        "the header row looks numeric; if the file has no header, "
                        "set data.header = false"
                    )
                continue
        if len(row) != len(names):
            raise fail(
                f"line {line} has {len(row)} fields; expected {len(names)} "
                f"(delimiter {data.delimiter!r})",
                path,
            )
        value = row[target].strip()
        if not value:
            raise fail(f"line {line}: the target column is empty", path, "data.target")
        targets.append(value)
        cells = [row[i] for i in features]
        try:
            rows.append(np.array(cells, dtype=np.float64))
        except ValueError:
            raise _bad_cell(path, line, names, features, cells, data.header) from None
    if names is None:
        raise fail("the file is empty", path)
    if not rows:
        raise fail("the file has a header but no data rows", path)
    x = np.vstack(rows)
    bad = np.flatnonzero(~np.isfinite(x).all(axis=0))
    if bad.size:
        column = names[features[bad[0]]]
        raise fail(f"column {column!r} has NaN or infinite values", path)
    try:
        y: np.ndarray = np.array(targets, dtype=np.float64)
    except ValueError:
        y = np.array(targets)
    return RawData(
        x=x,
        y=y,
        feature_names=tuple(names[i] for i in features),
        meta={"file": str(path), "format": "csv", "target": names[target], "warnings": warnings},
    )


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _one_column_error(path: Path, row: list[str], data: DataSpec) -> DataError:
    other = next((d for d in ",;\t|" if d != data.delimiter and d in row[0]), None)
    hint = f'set data.delimiter = "{other}"' if other else "a CSV needs features and a target"
    hint = hint.replace("\t", "\\t")
    return fail(f"only one column found with delimiter {data.delimiter!r}", path, hint=hint)


def _columns_list(names: list[str]) -> str:
    shown = ", ".join(names[:30])
    return shown + (f", ... ({len(names)} in all)" if len(names) > 30 else "")


def _target_index(path: Path, names: list[str], target: str | int | None) -> int:
    """The index of the target column: by name, by index (negative counts from the end) or last."""
    if target is None:
        return len(names) - 1
    if isinstance(target, str):
        wanted = target.strip()
        for i, name in enumerate(names):
            if name == wanted:
                return i
        for i, name in enumerate(names):
            if name.lower() == wanted.lower():
                return i
        if not wanted.lstrip("-").isdigit():
            raise fail(
                f"target column {target!r} not found{vocab.suggest(wanted, names)} "
                f"(columns: {_columns_list(names)})",
                path,
                "data.target",
            )
        target = int(wanted)
    if not -len(names) <= target < len(names):
        raise fail(
            f"target column index {target} is out of range: the file has {len(names)} columns "
            f"(0..{len(names) - 1}: {_columns_list(names)})",
            path,
            "data.target",
        )
    return target % len(names)


def _bad_cell(
    path: Path, line: int, names: list[str], features: list[int], cells: list[str], header: bool
) -> DataError:
    for i, cell in zip(features, cells, strict=True):
        if not _is_number(cell):
            what = "is empty" if not cell.strip() else f"holds {cell.strip()!r}"
            hint = (
                "feature columns must be numeric; choose another column with data.target"
                if header or line > 1
                else "if the first line is a header, set data.header = true"
            )
            return fail(
                f"feature column {names[i]!r} is not numeric: line {line} {what}",
                path,
                hint=hint,
            )
    return fail(f"line {line} cannot be read as numbers", path)


# --------------------------------------------------------------------------- NPZ


def read_npz(path: Path) -> RawData:
    """A NumPy archive with x_train/y_train (and x_test/y_test, as keras' mnist.npz) or x/y."""
    if not _head_bytes(path, 4).startswith(_ZIP_MAGIC):
        raise fail("not a .npz archive (a .npz is a zip file of .npy arrays)", path)
    try:
        loaded = np.load(path, allow_pickle=False)
        if not isinstance(loaded, np.lib.npyio.NpzFile):
            raise fail(
                "a single array (.npy); expected a .npz with x_train and y_train",
                path,
            )
        with loaded as archive:
            arrays = {key: archive[key] for key in archive.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error) as exc:
        raise fail(f"not a readable .npz archive: {exc}", path) from None
    lower = {key.lower(): key for key in arrays}
    pairs = [("x_train", "y_train"), ("x", "y")]
    for x_key, y_key in pairs:
        if x_key in lower and y_key in lower:
            x, y = arrays[lower[x_key]], arrays[lower[y_key]]
            _same_length(path, x, y, x_key, y_key)
            raw = RawData(x=x, y=y, meta={"file": str(path), "format": "npz"})
            break
    else:
        found = ", ".join(arrays) or "none"
        raise fail(f"must hold arrays x_train and y_train (or x and y); found: {found}", path)
    if ("x_test" in lower) != ("y_test" in lower):
        raise fail("has only one of x_test and y_test; give both or neither", path)
    if "x_test" in lower:
        raw.x_test, raw.y_test = arrays[lower["x_test"]], arrays[lower["y_test"]]
        _same_length(path, raw.x_test, raw.y_test, "x_test", "y_test")
    return raw


def _same_length(path: Path, x: np.ndarray, y: np.ndarray, x_name: str, y_name: str) -> None:
    if x.ndim == 0 or y.ndim == 0 or len(x) != len(y):
        nx = len(x) if x.ndim else 0
        ny = len(y) if y.ndim else 0
        raise fail(f"{x_name} has {nx} rows but {y_name} has {ny}", path)


# --------------------------------------------------------------------------- IDX


def read_idx(path: Path) -> np.ndarray:
    """One IDX file (gzipped or not) as an array of its own shape and type."""
    try:
        with open(path, "rb") as fh:
            blob = fh.read()
        if blob.startswith(_GZIP_MAGIC):
            blob = gzip.decompress(blob)
    except (OSError, EOFError, zlib.error) as exc:
        raise fail(f"cannot read the file: {exc}", path) from None
    if len(blob) < 4 or blob[:2] != b"\0\0" or blob[2] not in _IDX_TYPES or blob[3] == 0:
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
    dtype = np.dtype(_IDX_TYPES[blob[2]])
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
        return read_idx_folder(path)
    x = read_idx(path)  # first, so that a file of the wrong kind is reported as such
    labels = _labels_path(path, data.labels)
    x, y = read_idx_pair(path, labels, x)
    return RawData(x=x, y=y, meta={"file": str(path), "labels": str(labels), "format": "idx"})


def read_idx_folder(folder: Path) -> RawData:
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
    x, y = read_idx_pair(*train)  # type: ignore[arg-type]
    raw = RawData(x=x, y=y, meta={"file": str(folder), "format": "idx"})
    test = (_find(folder, "t10k", "images"), _find(folder, "t10k", "labels"))
    if None not in test:
        raw.x_test, raw.y_test = read_idx_pair(*test)  # type: ignore[arg-type]
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
    images: Path, labels: Path, x: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Images and their labels from two IDX files, checked to match."""
    x = read_idx(images) if x is None else x
    y = read_idx(labels)
    if x.ndim < 2:
        raise fail("holds a 1-D array (labels?); point data.source at the images file", images)
    if y.ndim != 1:
        raise fail(f"must hold 1-D labels; it has shape {y.shape}", labels, "data.labels")
    if len(x) != len(y):
        raise fail(f"{len(x)} images but {labels} has {len(y)} labels", images)
    return x, y
