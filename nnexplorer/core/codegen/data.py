"""The data half of an exported script: load, encode, subsample, split and scale as a run does.

The code written here mirrors :mod:`nnexplorer.core.datasets` step for step (float32 features,
labels numbered 0..n-1, the test split first, then the validation split, both seeded and
stratified for classification, the scaler fitted on the training split only), so that the
script's model sees the same numbers as a run's.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from nnexplorer.core.codegen.text import WIDTH, Call, function, layout, literal
from nnexplorer.core.spec import ExperimentSpec

# Task and number of classes of the built-in sources, known without loading them.
_KNOWN = {
    "sklearn:digits": ("classification", 10),
    "sklearn:iris": ("classification", 3),
    "sklearn:wine": ("classification", 3),
    "sklearn:breast_cancer": ("classification", 2),
    "sklearn:diabetes": ("regression", 0),
    "synthetic:moons": ("classification", 2),
    "synthetic:circles": ("classification", 2),
    "synthetic:regression": ("regression", 0),
    "keras:mnist": ("classification", 10),
    "keras:fashion_mnist": ("classification", 10),
}
_SCALERS = {"standard": "StandardScaler", "minmax": "MinMaxScaler"}


@dataclass
class DataCode:
    """Imports and functions of the data part, and what the model part needs to know."""

    task: str
    n_classes: int
    has_validation: bool
    scaler: str | None  # StandardScaler, MinMaxScaler or None
    imports: set[str] = field(default_factory=set)
    constants: list[str] = field(default_factory=list)  # module-level lines such as DATA_FILE
    functions: list[str] = field(default_factory=list)

    def constant(self, name: str, value: str) -> str:
        """Add ``NAME = "value"`` (a path, say) at the top of the script; return ``NAME``."""
        line = f"{name} = {literal(value)}"
        if len(line) > WIDTH:
            line = f"{name} = (\n    {literal(value)}\n)"
        self.constants.append(line)
        return name


def task_and_classes(spec: ExperimentSpec) -> tuple[str, int]:
    """The task and number of classes, loading the data only when the source cannot tell."""
    data = spec.data
    known = _KNOWN.get(data.source)
    if data.name in ("blobs", "classification") and data.kind == "synthetic":
        known = ("classification", data.n_classes)
    if known and data.task in ("auto", known[0]):
        return known
    if known and data.task == "regression":
        return "regression", 0
    from nnexplorer.core.datasets import load_dataset

    loaded = load_dataset(data, spec.experiment.seed)
    return loaded.task, loaded.n_classes


def data_code(spec: ExperimentSpec) -> DataCode:
    """Everything the script needs to produce the same scaled splits as a run."""
    task, n_classes = task_and_classes(spec)
    data = spec.data
    code = DataCode(
        task=task,
        n_classes=n_classes,
        has_validation=data.validation_split > 0,
        scaler=_SCALERS.get(data.standardize),
        imports={"import numpy as np", "from sklearn.model_selection import train_test_split"},
    )
    load, own_test = _loader(spec, task, code)
    code.functions.append(load)
    code.functions.append(_splits(spec, task, own_test))
    if code.scaler:
        code.imports.add(f"from sklearn.preprocessing import {code.scaler}")
        code.functions.append(_scale(code.scaler))
    return code


# --------------------------------------------------------------------------- loading


def _loader(spec: ExperimentSpec, task: str, code: DataCode) -> tuple[str, bool]:
    """The ``load_data`` function and whether the source brings its own test split."""
    imports = code.imports
    data = spec.data
    kind, name = data.kind, data.name
    if kind == "sklearn":
        imports.add(f"from sklearn.datasets import load_{name}")
        body = [f"x, y = load_{name}(return_X_y=True)"]
        doc = f"scikit-learn's bundled {name} dataset."
        return _function("load_data", doc, body + _finish(task, False, "")), False
    if kind == "synthetic":
        call, maker = _synthetic_call(spec)
        imports.add(f"from sklearn.datasets import {maker}")
        doc = f"A synthetic {name} dataset, generated with the experiment's seed."
        body = [f"x, y = {call}"]
        return _function("load_data", doc, body + _finish(task, False, "")), False
    if kind == "keras":
        imports.add("import os")
        if name == "mnist":
            return _function("load_data", _MNIST_DOC, _mnist_body() + _finish(task, True, "")), True
        imports.update({"import gzip", "import struct"})
        body = _fashion_body() + _finish(task, True, "")
        return _READ_IDX + "\n\n" + _function("load_data", _FASHION_DOC, body), True
    return _file_loader(spec, task, code)


def _synthetic_call(spec: ExperimentSpec) -> tuple[str, str]:
    d, seed = spec.data, "SEED"
    if d.name == "moons":
        return f"make_moons(n_samples={d.n_samples}, noise={d.noise!r}, random_state={seed})", (
            "make_moons"
        )
    if d.name == "circles":
        args = f"n_samples={d.n_samples}, noise={d.noise!r}, factor=0.5, random_state={seed}"
        return f"make_circles({args})", "make_circles"
    if d.name == "blobs":
        args = f"n_samples={d.n_samples}, n_features={d.n_features}, centers={d.n_classes}"
        return f"make_blobs({args}, random_state={seed})", "make_blobs"
    if d.name == "classification":
        informative = min(d.n_features, max(2, math.ceil(math.log2(d.n_classes)) + 1))
        clusters = 2 if 2 * d.n_classes <= 2**informative else 1
        args = (
            f"n_samples={d.n_samples}, n_features={d.n_features}, n_informative={informative}, "
            f"n_redundant=0, n_classes={d.n_classes}, n_clusters_per_class={clusters}, "
            f"random_state={seed}"
        )
        return f"make_classification({args})", "make_classification"
    args = f"n_samples={d.n_samples}, n_features={d.n_features}, noise={d.noise!r}"
    return f"make_regression({args}, random_state={seed})", "make_regression"


def _finish(task: str, own_test: bool, encode: str) -> list[str]:
    """Flatten images to float32 rows, encode the labels, and return."""
    lines = ["x = x.reshape(len(x), -1).astype(np.float32)"]
    if own_test:
        lines.append("x_test = x_test.reshape(len(x_test), -1).astype(np.float32)")
    if task == "regression":
        lines.append("y = y.astype(np.float32)")
        if own_test:
            lines.append("y_test = y_test.astype(np.float32)")
    elif encode == "joint":
        lines += [
            "# number the classes 0..n-1 in sorted order, the same numbering in both splits",
            "classes, codes = np.unique(np.concatenate([y, y_test]), return_inverse=True)",
            "y, y_test = codes[: len(y)], codes[len(y) :]",
        ]
    elif encode:
        lines += [
            "# number the classes 0..n-1 in sorted order",
            "classes, y = np.unique(y, return_inverse=True)",
        ]
    lines.append("return x, y, x_test, y_test" if own_test else "return x, y")
    return lines


_MNIST_DOC = "MNIST from keras' local cache (keras.datasets.mnist.load_data() downloads it there)."
_FASHION_DOC = "Fashion-MNIST from keras' local cache: four gzipped IDX files."


_KERAS_HOME = 'home = os.environ.get("KERAS_HOME", os.path.expanduser("~/.keras"))'


def _mnist_body() -> list[str]:
    return [
        _KERAS_HOME,
        'path = os.path.join(home, "datasets", "mnist.npz")',
        "with np.load(path) as arrays:",
        '    x, y = arrays["x_train"], arrays["y_train"]',
        '    x_test, y_test = arrays["x_test"], arrays["y_test"]',
    ]


def _fashion_body() -> list[str]:
    return [
        _KERAS_HOME,
        'folder = os.path.join(home, "datasets", "fashion-mnist")',
        'x = read_idx(os.path.join(folder, "train-images-idx3-ubyte.gz"))',
        'y = read_idx(os.path.join(folder, "train-labels-idx1-ubyte.gz"))',
        'x_test = read_idx(os.path.join(folder, "t10k-images-idx3-ubyte.gz"))',
        'y_test = read_idx(os.path.join(folder, "t10k-labels-idx1-ubyte.gz"))',
    ]


_READ_IDX = '''def read_idx(path):
    """One IDX file (the MNIST distribution format), gzipped or not, as a NumPy array."""
    with open(path, "rb") as fh:
        blob = fh.read()
    if blob[:2] == b"\\x1f\\x8b":
        blob = gzip.decompress(blob)
    dtype = {8: ">u1", 9: ">i1", 11: ">i2", 12: ">i4", 13: ">f4", 14: ">f8"}[blob[2]]
    ndim = blob[3]
    shape = struct.unpack(f">{ndim}I", blob[4 : 4 + 4 * ndim])
    return np.frombuffer(blob, dtype, offset=4 + 4 * ndim).reshape(shape)'''


def _file_loader(spec: ExperimentSpec, task: str, code: DataCode) -> tuple[str, bool]:
    from nnexplorer.core.datasets import load_dataset

    imports = code.imports
    data = spec.data
    meta = load_dataset(data, spec.experiment.seed).meta
    fmt = meta.get("format", data.format)
    encode = "" if task == "regression" else "single"
    if fmt == "csv":
        imports.add("import csv")
        return _csv_loader(spec, meta, task, code), False
    if fmt == "npz":
        with np.load(meta["file"]) as archive:
            keys = {k.lower(): k for k in archive.files}
        pair = ("x_train", "y_train") if "x_train" in keys else ("x", "y")
        own_test = "x_test" in keys
        body = [
            f"with np.load({code.constant('DATA_FILE', meta['file'])}) as arrays:",
            f"    x, y = arrays[{literal(keys[pair[0]])}], arrays[{literal(keys[pair[1]])}]",
        ]
        if own_test:
            x_key, y_key = literal(keys["x_test"]), literal(keys["y_test"])
            body.append(f"    x_test, y_test = arrays[{x_key}], arrays[{y_key}]")
        body += _one_hot_to_labels(own_test)
        doc = "Arrays from a NumPy .npz archive."
        encode = "joint" if own_test and encode else encode
        return _function("load_data", doc, body + _finish(task, own_test, encode)), own_test
    imports.update({"import gzip", "import struct"})
    images, labels, test = _idx_paths(meta)
    if test is None:
        images_file = code.constant("IMAGES_FILE", str(images))
        labels_file = code.constant("LABELS_FILE", str(labels))
        body = [f"x, y = read_idx({images_file}), read_idx({labels_file})"]
    else:
        imports.add("import os")
        folder = code.constant("DATA_FOLDER", str(images.parent))
        body = [
            f"{name} = read_idx(os.path.join({folder}, {literal(path.name)}))"
            for name, path in zip(
                ("x", "y", "x_test", "y_test"), (images, labels, *test), strict=True
            )
        ]
    encode = "joint" if test and encode else encode
    doc = "Images and labels from IDX files (the MNIST distribution format)."
    loader = _function("load_data", doc, body + _finish(task, bool(test), encode))
    return _READ_IDX + "\n\n" + loader, bool(test)


def _one_hot_to_labels(own_test: bool) -> list[str]:
    lines = ["y = y.argmax(axis=1) if y.ndim == 2 and y.shape[1] > 1 else y.reshape(len(y))"]
    if own_test:
        lines.append(
            "y_test = (\n    y_test.argmax(axis=1)\n    if y_test.ndim == 2 and y_test.shape[1] > 1"
            "\n    else y_test.reshape(len(y_test))\n)"
        )
    return lines


def _idx_paths(meta: dict) -> tuple[Path, Path, tuple[Path, Path] | None]:
    """Images, labels and (for an MNIST folder with t10k files) the test files the run read."""
    source = Path(meta["file"])
    if "labels" in meta:
        return source, Path(meta["labels"]), None

    def find(prefix: str, kind: str) -> Path | None:
        n = 3 if kind == "images" else 1
        names = [f"{prefix}-{kind}-idx{n}-ubyte", f"{prefix}-{kind}.idx{n}-ubyte"]
        found = [source / (b + e) for b in names for e in ("", ".gz")]
        return next((p for p in found if p.is_file()), None)

    train = find("train", "images"), find("train", "labels")
    test = find("t10k", "images"), find("t10k", "labels")
    assert train[0] is not None and train[1] is not None  # the run read them
    has_test = test[0] is not None and test[1] is not None
    return train[0], train[1], (test[0], test[1]) if has_test else None  # type: ignore[return-value]


def _csv_loader(spec: ExperimentSpec, meta: dict, task: str, code: DataCode) -> str:
    data = spec.data
    path = meta["file"]
    with open(path, "rb") as fh:
        gz = fh.read(2) == b"\x1f\x8b"
    code.imports.add("import contextlib")
    if gz:
        code.imports.add("import gzip")
    opener = 'gzip.open(DATA_FILE, "rt", ' if gz else "open(DATA_FILE, "
    code.constant("DATA_FILE", path)
    target = meta.get("target")
    column = f"header.index({literal(target)})" if data.header else str(int(str(target)[3:]))
    body = [
        f'with {opener}encoding="utf-8-sig", newline="") as fh:',
        f"    reader = csv.reader(fh, delimiter={literal(data.delimiter)})",
        "    rows = [row for row in reader if any(cell.strip() for cell in row)]",
    ]
    if data.header:
        body.append("header, rows = [c.strip() for c in rows[0]], rows[1:]")
    body += [
        f"target = {column}",
        "x = np.array([[float(v) for i, v in enumerate(r) if i != target] for r in rows])",
        "y = np.array([r[target].strip() for r in rows])",
        "with contextlib.suppress(ValueError):  # text labels stay text",
        "    y = y.astype(np.float64)  # numeric labels sort as numbers",
    ]
    encode = "" if task == "regression" else "single"
    doc = f"Rows of a CSV file: column {literal(target)} is the target, the others features."
    return _function("load_data", doc, body + _finish(task, False, encode))


# --------------------------------------------------------------------------- splitting, scaling


def _splits(spec: ExperimentSpec, task: str, own_test: bool) -> str:
    data = spec.data
    strat = data.stratify and task == "classification"

    def split(x: str, y: str, size: str, keep: str, indent: int = 4) -> str:
        items = [x, y, size] + ([f"stratify={y}"] if strat else []) + ["random_state=SEED"]
        call = Call("train_test_split(", tuple(items))
        return " " * indent + keep + " = " + layout(call, indent, len(keep) + 3)

    body = ["    x, y, x_test, y_test = load_data()" if own_test else "    x, y = load_data()"]
    if data.max_samples is not None:
        body += _subsample(data.max_samples, own_test, split)
    if not own_test:
        body.append(split("x", "y", f"test_size={data.test_size!r}", "x, x_test, y, y_test"))
    if data.validation_split > 0:
        size = f"test_size={data.validation_split!r}"
        body.append(split("x", "y", size, "x, x_val, y, y_val"))
        body.append("    return (x, y), (x_val, y_val), (x_test, y_test)")
        doc = "Train, validation and test splits, unscaled"
    else:
        body.append("    return (x, y), (x_test, y_test)")
        doc = "Train and test splits, unscaled"
    doc += " (stratified by class, seeded)." if strat else " (seeded)."
    return function("load_splits", "", doc, body)


def _subsample(limit: int, own_test: bool, split: Any) -> list[str]:
    lines = ["    # keep at most max_samples samples in all, in proportion"]
    if not own_test:
        return [
            *lines,
            f"    if len(x) > {limit}:",
            split("x", "y", f"train_size={limit}", "x, _, y, _", 8),
        ]
    return [
        *lines,
        "    n_total = len(x) + len(x_test)",
        f"    if n_total > {limit}:",
        f"        keep = max(2, round({limit} * len(x) / n_total))",
        f"        n_test = max(1, {limit} - keep)",
        "        if n_test < len(x_test):",
        split("x_test", "y_test", "test_size=n_test / len(x_test)", "_, x_test, _, y_test", 12),
        "        if keep < len(x):",
        split("x", "y", "train_size=keep", "x, _, y, _", 12),
    ]


def _scale(scaler: str) -> str:
    body = [
        f"scaler = {scaler}().fit(x_train)",
        "return [scaler.transform(x) for x in (x_train, *others)]",
    ]
    doc = f"{scaler} fitted on the training split only, then applied to every split."
    return _function("scale", doc, body, "x_train, *others")


# --------------------------------------------------------------------------- text helpers


def _function(name: str, doc: str, body: list[str], args: str = "") -> str:
    """A function from body lines written without their four-space indent."""
    return function(name, args, doc, ["\n".join(_indented(line)) for line in body])


def _indented(text: str) -> list[str]:
    return [("    " + line) if line else line for line in text.splitlines()]
