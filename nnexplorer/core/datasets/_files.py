"""Readers for data that lives in files: CSV and NPZ here, IDX (the MNIST distribution format)
in :mod:`._idx`.

Every reader returns a :class:`RawData` (features and raw targets, plus the file's own test split
when it has one) or raises :class:`DataError` naming the file and what is wrong. Only regular
files are read, within the caps of :mod:`._guard` (``data.max_file_mb``, ``data.max_values``).
Nothing here downloads anything or imports TensorFlow.
"""

from __future__ import annotations

import csv
import gzip
import io
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from nnexplorer.core import vocab
from nnexplorer.core.datasets._guard import Caps, check_readable, check_values, open_data, too_big
from nnexplorer.core.errors import DataError, ErrorItem, cut, excerpt
from nnexplorer.core.spec import DataSpec

# IDX type byte -> big-endian numpy dtype (the MNIST distribution format).
IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
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
    from nnexplorer.core.datasets._idx import read_idx_source

    path = Path(data.name).expanduser()
    caps = Caps.of(data)
    check_readable(path, caps, folder_ok=data.format in ("auto", "idx"))
    fmt = data.format if data.format != "auto" else detect_format(path)
    if fmt == "csv":
        return read_csv(path, data)
    if fmt == "npz":
        return read_npz(path, caps)
    return read_idx_source(path, data)


def check_file_source(data: DataSpec) -> None:
    """What can be checked of a ``file:`` source without reading it: it exists, is a regular
    file (or an IDX folder), is readable and within ``data.max_file_mb``; IDX labels too."""
    path = Path(data.name).expanduser()
    caps = Caps.of(data)
    check_readable(path, caps, folder_ok=data.format in ("auto", "idx"))
    if data.labels:
        labels = Path(data.labels).expanduser()
        if not labels.is_absolute() and not labels.exists():
            labels = path.parent / labels
        try:
            check_readable(labels, caps)
        except DataError as exc:
            raise fail(exc.items[0].message, labels, "data.labels") from None


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
    if len(head) >= 4 and head[:2] == b"\0\0" and head[2] in IDX_TYPES:
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
    caps = Caps.of(data)
    try:
        with io.TextIOWrapper(open_data(path, caps), encoding="utf-8-sig", newline="") as fh:
            return _parse_csv(path, csv.reader(fh, delimiter=data.delimiter), data, caps)
    except UnicodeDecodeError:
        raise fail("not UTF-8 text; is it really a CSV file?", path) from None
    except csv.Error as exc:
        raise fail(f"not a readable CSV file: {exc}", path) from None
    except (OSError, EOFError, zlib.error) as exc:
        raise fail(f"cannot read the file: {exc}", path) from None


def _parse_csv(path: Path, reader: Any, data: DataSpec, caps: Caps) -> RawData:
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
        check_values(path, len(rows) + 1, len(features), caps)
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
        raise fail(f"column {excerpt(column)} has NaN or infinite values", path)
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
    shown = ", ".join(cut(n, 30) for n in names[:30])
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
                f"target column {excerpt(target)} not found{vocab.suggest(wanted, names)} "
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
            what = "is empty" if not cell.strip() else f"holds {excerpt(cell.strip())}"
            hint = (
                "feature columns must be numeric; choose another column with data.target"
                if header or line > 1
                else "if the first line is a header, set data.header = true"
            )
            return fail(
                f"feature column {excerpt(names[i])} is not numeric: line {line} {what}",
                path,
                hint=hint,
            )
    return fail(f"line {line} cannot be read as numbers", path)


# --------------------------------------------------------------------------- NPZ


def read_npz(path: Path, caps: Caps | None = None) -> RawData:
    """A NumPy archive with x_train/y_train (and x_test/y_test, as keras' mnist.npz) or x/y."""
    caps = caps or Caps()
    check_readable(path, caps)
    if not _head_bytes(path, 4).startswith(_ZIP_MAGIC):
        raise fail("not a .npz archive (a .npz is a zip file of .npy arrays)", path)
    try:
        with zipfile.ZipFile(path) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
        if unpacked > caps.max_bytes:
            raise too_big(path, "unpacked, the archive", unpacked, caps)
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
            check_values(path, len(x), int(np.prod(x.shape[1:], dtype=np.int64)), caps)
            raw = RawData(x=x, y=y, meta={"file": str(path), "format": "npz"})
            break
    else:
        found = ", ".join(cut(k, 30) for k in list(arrays)[:20]) or "none"
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
