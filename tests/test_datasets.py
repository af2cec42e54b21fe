"""Datasets: every source kind, file readers on tiny files written here, splits, scaling, errors."""

from __future__ import annotations

import gzip
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from nnexplorer.core.datasets import (
    Dataset,
    infer_task,
    load_dataset,
    make_scaler,
    standardized,
)
from nnexplorer.core.errors import DataError
from nnexplorer.core.spec import DataSpec


def spec(**kw) -> DataSpec:
    return DataSpec(**kw)


def write_idx(path: Path, array: np.ndarray, gz: bool = False) -> Path:
    """An IDX file as in the MNIST distribution (unsigned bytes, big-endian dimensions)."""
    header = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    blob = header + array.astype(np.uint8).tobytes()
    path.write_bytes(gzip.compress(blob) if gz else blob)
    return path


def fake_images(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 10
    return rng.integers(0, 256, size=(n, 4, 3), dtype=np.uint8), y.astype(np.uint8)


def write_csv(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def error_text(exc: pytest.ExceptionInfo) -> str:
    return "\n".join(exc.value.lines())


# --------------------------------------------------------------------------- sklearn, synthetic


@pytest.mark.parametrize(
    ("name", "task", "n_features", "n_classes"),
    [
        ("digits", "classification", 64, 10),
        ("iris", "classification", 4, 3),
        ("wine", "classification", 13, 3),
        ("breast_cancer", "classification", 30, 2),
        ("diabetes", "regression", 10, 0),
    ],
)
def test_sklearn_sources(name, task, n_features, n_classes):
    ds = load_dataset(spec(source=f"sklearn:{name}", test_size=0.2, validation_split=0.25), 0)
    assert (ds.task, ds.n_features, ds.n_classes) == (task, n_features, n_classes)
    assert ds.x_train.dtype == np.float32 and ds.x_train.shape[1] == n_features
    total = len(ds.x_train) + len(ds.x_val) + len(ds.x_test)
    assert total == ds.meta["n_samples"]
    assert len(ds.x_test) == pytest.approx(0.2 * total, abs=1)
    assert len(ds.x_val) == pytest.approx(0.25 * 0.8 * total, abs=1)
    assert len(ds.feature_names) == n_features
    if task == "classification":
        assert ds.y_train.dtype.kind == "i"
        assert set(np.unique(ds.y_train)) == set(range(n_classes))
        assert len(ds.class_names) == n_classes
    else:
        assert ds.y_train.dtype == np.float32 and ds.class_names == ()


def test_sklearn_class_names_keep_the_original_order():
    ds = load_dataset(spec(source="sklearn:breast_cancer"), 0)
    assert ds.class_names == ("malignant", "benign")


@pytest.mark.parametrize("name", ["moons", "circles", "blobs", "classification", "regression"])
def test_synthetic_sources_are_seeded(name):
    data = spec(source=f"synthetic:{name}", n_samples=200, n_features=3, n_classes=4)
    a, b = load_dataset(data, 5), load_dataset(data, 5)
    c = load_dataset(data, 6)
    assert np.array_equal(a.x_train, b.x_train) and np.array_equal(a.y_test, b.y_test)
    assert not np.array_equal(a.x_train, c.x_train)
    assert a.meta["n_samples"] == 200
    expected = {"moons": 2, "circles": 2, "blobs": 4, "classification": 4, "regression": 0}
    assert a.n_classes == expected[name]
    assert a.n_features == (2 if name in ("moons", "circles") else 3)
    assert a.task == ("regression" if name == "regression" else "classification")


def test_synthetic_classification_with_too_few_features_for_the_classes():
    with pytest.raises(DataError) as exc:
        load_dataset(spec(source="synthetic:classification", n_features=1, n_classes=5), 0)
    assert "n_features" in error_text(exc)


# --------------------------------------------------------------------------- splits


def test_same_seed_gives_identical_splits_and_another_seed_does_not():
    data = spec(source="sklearn:iris", test_size=0.3, validation_split=0.2)
    a, b, c = load_dataset(data, 7), load_dataset(data, 7), load_dataset(data, 8)
    for name in ("x_train", "y_train", "x_val", "y_val", "x_test", "y_test"):
        assert np.array_equal(getattr(a, name), getattr(b, name)), name
    assert not np.array_equal(a.x_test, c.x_test)


def test_stratified_split_keeps_class_proportions():
    ds = load_dataset(spec(source="sklearn:breast_cancer", test_size=0.25), 4)
    assert ds.meta["stratified"] is True
    overall = 357 / 569  # share of the "benign" class in the whole set
    for y in (ds.y_train, ds.y_val, ds.y_test):
        assert abs(np.sum(y == 1) - overall * len(y)) <= 1


def test_unstratified_split_is_reported():
    ds = load_dataset(spec(source="sklearn:iris", stratify=False), 3)
    assert ds.meta["stratified"] is False


def test_no_validation_split_gives_none():
    ds = load_dataset(spec(source="sklearn:iris", validation_split=0), 0)
    assert ds.x_val is None and ds.y_val is None and ds.meta["n_val"] == 0


def test_max_samples_subsamples_before_splitting_with_stratification():
    ds = load_dataset(spec(source="sklearn:digits", max_samples=200, validation_split=0), 0)
    assert len(ds.x_train) + len(ds.x_test) == 200
    assert ds.meta["subsampled"] and ds.meta["stratified"]
    counts = np.bincount(ds.y_train, minlength=10)
    assert counts.min() >= 14 and counts.max() <= 18


def test_too_few_samples_is_a_data_error(tmp_path):
    f = write_csv(tmp_path / "two.csv", "a,y\n1,0\n2,1\n")
    with pytest.raises(DataError) as exc:
        load_dataset(spec(source=f"file:{f}", test_size=0.1, validation_split=0.5), 0)
    assert "too few" in error_text(exc) and str(f) in error_text(exc)


# --------------------------------------------------------------------------- scaling


def test_standard_scaling_is_fitted_on_the_training_split_only():
    raw = load_dataset(spec(source="sklearn:wine"), 0)
    ds = standardized(raw, "standard")
    assert np.allclose(ds.x_train.mean(axis=0), 0, atol=1e-5)
    assert np.allclose(ds.x_train.std(axis=0), 1, atol=1e-3)
    assert not np.allclose(ds.x_test.mean(axis=0), 0, atol=1e-3)
    mean, std = raw.x_train.mean(axis=0), raw.x_train.std(axis=0)
    assert np.allclose(ds.x_test, (raw.x_test - mean) / std, atol=1e-4)
    assert ds.x_train.dtype == np.float32 and ds.meta["scaling"] == "standard"
    assert raw.x_train.mean() > 1  # the unscaled dataset is left as it was


def _hand_made(x_train, x_test) -> Dataset:
    x_train, x_test = np.array(x_train, np.float32), np.array(x_test, np.float32)
    y = np.zeros(len(x_train), np.int64)
    return Dataset(x_train, y, None, None, x_test, y[: len(x_test)], "classification", 1, 2,
                   ("a", "b"), ("f",), "test:hand")  # fmt: skip


def test_minmax_and_none_scaling():
    ds = _hand_made([[0.0], [2.0], [4.0]], [[10.0]])
    mm = standardized(ds, "minmax")
    assert mm.x_train.ravel().tolist() == [0.0, 0.5, 1.0]
    assert mm.x_test.ravel().tolist() == [2.5]
    same = standardized(ds, "none")
    assert same.x_train is ds.x_train and same.meta["scaling"] == "none"


def test_make_scaler():
    from sklearn.preprocessing import MinMaxScaler, StandardScaler

    assert isinstance(make_scaler("standard"), StandardScaler)
    assert isinstance(make_scaler("minmax"), MinMaxScaler)
    assert make_scaler("none") is None
    with pytest.raises(DataError, match="did you mean 'minmax'"):
        make_scaler("minmx")


# --------------------------------------------------------------------------- keras cache


def test_keras_mnist_from_the_local_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "kh"))
    (tmp_path / "kh" / "datasets").mkdir(parents=True)
    x, y = fake_images(40)
    xt, yt = fake_images(20, seed=1)
    np.savez(tmp_path / "kh" / "datasets" / "mnist.npz", x_train=x, y_train=y, x_test=xt, y_test=yt)
    ds = load_dataset(spec(source="keras:mnist", validation_split=0.25), 0)
    assert ds.n_features == 12 and ds.n_classes == 10 and ds.meta["image_shape"] == [4, 3]
    assert len(ds.x_test) == 20 and len(ds.x_train) == 30 and ds.meta["test_from_source"]
    assert ds.class_names == tuple(str(i) for i in range(10))


def test_keras_mnist_missing_names_the_file(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    with pytest.raises(DataError) as exc:
        load_dataset(spec(source="keras:mnist"), 0)
    text = error_text(exc)
    assert str(tmp_path / "datasets" / "mnist.npz") in text
    assert "file:/path/to/mnist.npz" in text and "never downloads" in text


def test_keras_fashion_mnist_from_the_cache_and_missing(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    folder = tmp_path / "datasets" / "fashion-mnist"
    folder.mkdir(parents=True)
    x, y = fake_images(30)
    write_idx(folder / "train-images-idx3-ubyte.gz", x, gz=True)
    write_idx(folder / "train-labels-idx1-ubyte.gz", y, gz=True)
    with pytest.raises(DataError) as exc:
        load_dataset(spec(source="keras:fashion_mnist"), 0)
    text = error_text(exc)
    assert str(folder / "t10k-images-idx3-ubyte.gz") in text
    assert str(folder / "t10k-labels-idx1-ubyte.gz") in text
    assert "train-images" not in text
    write_idx(folder / "t10k-images-idx3-ubyte.gz", x[:10], gz=True)
    write_idx(folder / "t10k-labels-idx1-ubyte.gz", y[:10], gz=True)
    ds = load_dataset(spec(source="keras:fashion_mnist"), 0)
    assert len(ds.x_test) == 10 and ds.class_names[9] == "Ankle boot"


def test_datasets_module_imports_neither_tensorflow_nor_keras():
    code = (
        "import sys\n"
        "from nnexplorer.core.datasets import load_dataset\n"
        "from nnexplorer.core.spec import DataSpec\n"
        "load_dataset(DataSpec(source='sklearn:iris'), 0)\n"
        "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


# --------------------------------------------------------------------------- NPZ


def test_npz_with_its_own_test_split(tmp_path):
    x, y = fake_images(50)
    f = tmp_path / "m.npz"
    np.savez(f, x_train=x, y_train=y, x_test=x[:7], y_test=y[:7])
    ds = load_dataset(spec(source=f"file:{f}", validation_split=0), 0)
    assert len(ds.x_test) == 7 and len(ds.x_train) == 50
    assert ds.x_train.shape == (50, 12) and ds.x_train.dtype == np.float32


def test_npz_x_y_is_split_by_test_size_and_one_hot_targets_are_decoded(tmp_path):
    rng = np.random.default_rng(0)
    y = np.eye(3)[np.arange(60) % 3]
    f = tmp_path / "xy.npz"
    np.savez(f, x=rng.normal(size=(60, 5)), y=y)
    ds = load_dataset(spec(source=f"file:{f}", test_size=0.5, validation_split=0), 0)
    assert len(ds.x_test) == 30 and ds.n_classes == 3 and ds.task == "classification"


def test_npz_errors(tmp_path):
    bad = tmp_path / "bad.npz"
    np.savez(bad, x_train=np.zeros((5, 2)), y_train=np.zeros(4))
    with pytest.raises(DataError, match="x_train has 5 rows but y_train has 4"):
        load_dataset(spec(source=f"file:{bad}"), 0)
    keys = tmp_path / "keys.npz"
    np.savez(keys, images=np.zeros((5, 2)))
    with pytest.raises(DataError, match="found: images"):
        load_dataset(spec(source=f"file:{keys}"), 0)
    junk = write_csv(tmp_path / "junk.npz", "not a zip")
    with pytest.raises(DataError, match=r"not a \.npz archive"):
        load_dataset(spec(source=f"file:{junk}"), 0)


# --------------------------------------------------------------------------- IDX


@pytest.mark.parametrize("gz", [False, True])
def test_idx_images_with_inferred_labels(tmp_path, gz):
    ext = ".gz" if gz else ""
    x, y = fake_images(40)
    images = write_idx(tmp_path / f"train-images-idx3-ubyte{ext}", x, gz)
    write_idx(tmp_path / f"train-labels-idx1-ubyte{ext}", y, gz)
    ds = load_dataset(spec(source=f"file:{images}", validation_split=0, test_size=0.25), 0)
    assert ds.n_features == 12 and ds.n_classes == 10 and len(ds.x_test) == 10
    assert np.isin(ds.x_train, x.reshape(40, -1).astype(np.float32)).all()


def test_idx_labels_named_explicitly_and_format_by_magic(tmp_path):
    x, y = fake_images(30)
    images = write_idx(tmp_path / "pics.bin", x)
    write_idx(tmp_path / "answers.bin", y, gz=True)
    ds = load_dataset(spec(source=f"file:{images}", labels="answers.bin"), 0)
    assert ds.meta["format"] == "idx" and ds.n_features == 12


def test_idx_folder_with_the_four_mnist_files(tmp_path):
    x, y = fake_images(40)
    write_idx(tmp_path / "train-images-idx3-ubyte.gz", x, gz=True)
    write_idx(tmp_path / "train-labels-idx1-ubyte", y)
    write_idx(tmp_path / "t10k-images-idx3-ubyte", x[:10])
    write_idx(tmp_path / "t10k-labels-idx1-ubyte.gz", y[:10], gz=True)
    ds = load_dataset(spec(source=f"file:{tmp_path}", validation_split=0.25), 0)
    assert len(ds.x_test) == 10 and len(ds.x_train) == 30 and ds.meta["test_from_source"]


def test_idx_errors(tmp_path):
    bad = tmp_path / "train-images-idx3-ubyte"
    bad.write_bytes(b"\x12\x34\x08\x03" + bytes(20))
    write_idx(tmp_path / "train-labels-idx1-ubyte", np.zeros(3))
    with pytest.raises(DataError) as exc:
        load_dataset(spec(source=f"file:{bad}", format="idx"), 0)
    assert "bad magic number 12340803" in error_text(exc) and str(bad) in error_text(exc)
    write_idx(bad, np.zeros((3, 2, 2)))
    bad.write_bytes(bad.read_bytes()[:-2])
    with pytest.raises(DataError, match="holds 10"):
        load_dataset(spec(source=f"file:{bad}"), 0)
    lonely = write_idx(tmp_path / "other-images-idx3-ubyte", np.zeros((3, 2, 2)))
    with pytest.raises(DataError, match="other-labels-idx1-ubyte") as exc:
        load_dataset(spec(source=f"file:{lonely}"), 0)
    assert "data.labels" in error_text(exc)
    write_idx(bad, np.zeros((4, 2, 2)))
    with pytest.raises(DataError, match="4 images but"):
        load_dataset(spec(source=f"file:{bad}"), 0)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DataError, match="train-images-idx3-ubyte"):
        load_dataset(spec(source=f"file:{empty}"), 0)


# --------------------------------------------------------------------------- CSV


def test_csv_string_labels_by_name_with_class_names(tmp_path):
    rows = "".join(
        f"{i},{i % 3 * 2.5},{['cat', 'dog', 'bird'][i % 3]},{i * 0.1}\n" for i in range(30)
    )
    f = write_csv(tmp_path / "animals.csv", "a,b,kind,c\n" + rows)
    ds = load_dataset(spec(source=f"file:{f}", target="kind"), 0)
    assert ds.class_names == ("bird", "cat", "dog") and ds.feature_names == ("a", "b", "c")
    assert ds.task == "classification" and ds.n_features == 3
    test_rows = ds.x_test[:, 0].astype(int)
    assert [("cat", "dog", "bird")[i % 3] for i in test_rows] == [
        ds.class_names[k] for k in ds.y_test
    ]


def test_csv_default_last_column_index_and_no_header(tmp_path):
    rows = "".join(f"{i};{i % 2};{i * 1.5}\n" for i in range(20))
    f = write_csv(tmp_path / "plain.csv", rows)
    base = {"source": f"file:{f}", "header": False, "delimiter": ";"}
    last = load_dataset(spec(**base), 0)
    assert last.task == "regression" and last.feature_names == ("col0", "col1")
    by_index = load_dataset(spec(**base, target=1), 0)
    assert by_index.task == "classification" and by_index.n_classes == 2
    negative = load_dataset(spec(**base, target=-2, task="regression"), 0)
    assert negative.task == "regression" and negative.y_train.dtype == np.float32


def test_csv_errors(tmp_path):
    good = write_csv(tmp_path / "d.csv", "width,height,label\n1,2,0\n3,4,1\n")
    with pytest.raises(DataError) as exc:
        load_dataset(spec(source=f"file:{good}", target="lable"), 0)
    text = error_text(exc)
    assert "did you mean 'label'" in text and "width, height, label" in text
    assert str(good) in text and "data.target" in text
    with pytest.raises(DataError, match="index 5 is out of range"):
        load_dataset(spec(source=f"file:{good}", target=5), 0)
    text_col = write_csv(tmp_path / "t.csv", "a,b,y\n1,x,0\n2,3,1\n")
    with pytest.raises(DataError, match="feature column 'b' is not numeric: line 2 holds 'x'"):
        load_dataset(spec(source=f"file:{text_col}"), 0)
    hole = write_csv(tmp_path / "h.csv", "a,b,y\n1,,0\n")
    with pytest.raises(DataError, match="line 2 is empty"):
        load_dataset(spec(source=f"file:{hole}"), 0)
    empty = write_csv(tmp_path / "e.csv", "")
    with pytest.raises(DataError, match="is empty"):
        load_dataset(spec(source=f"file:{empty}"), 0)
    header_only = write_csv(tmp_path / "o.csv", "a,b\n")
    with pytest.raises(DataError, match="no data rows"):
        load_dataset(spec(source=f"file:{header_only}"), 0)
    ragged = write_csv(tmp_path / "r.csv", "a,b,y\n1,2,0\n1,2\n")
    with pytest.raises(DataError, match="line 3 has 2 fields; expected 3"):
        load_dataset(spec(source=f"file:{ragged}"), 0)
    semi = write_csv(tmp_path / "s.csv", "a;b;y\n1;2;0\n")
    with pytest.raises(DataError) as exc:
        load_dataset(spec(source=f"file:{semi}"), 0)
    assert 'data.delimiter = ";"' in error_text(exc)
    with pytest.raises(DataError) as exc:
        load_dataset(spec(source=f"file:{tmp_path / 'nope.csv'}"), 0)
    assert "file not found" in error_text(exc) and "nope.csv" in error_text(exc)
    words = write_csv(tmp_path / "w.csv", "a,y\n1,low\n2,high\n")
    with pytest.raises(DataError, match="text labels"):
        load_dataset(spec(source=f"file:{words}", task="regression"), 0)
    gaps = write_csv(tmp_path / "g.csv", "a,y\n1,nan\n2,1.5\n3,2.5\n")
    with pytest.raises(DataError, match="target holds NaN"):
        load_dataset(spec(source=f"file:{gaps}"), 0)
    binary = tmp_path / "b.csv"
    binary.write_bytes(b"\xff\xfe\x00\x81" * 10)
    with pytest.raises(DataError, match="not UTF-8"):
        load_dataset(spec(source=f"file:{binary}"), 0)


def test_infer_task():
    assert infer_task(np.array(["a", "b"])) == "classification"
    assert infer_task(np.array([0, 1, 2, 1] * 10)) == "classification"
    assert infer_task(np.array([0.0, 1.0, 2.0] * 10)) == "classification"
    assert infer_task(np.array([0.5, 1.25, 2.0])) == "regression"
    assert infer_task(np.arange(300)) == "regression"


def test_wrong_format_is_reported_by_the_reader_for_that_format(tmp_path):
    f = write_csv(tmp_path / "d.csv", "a,y\n1,0\n2,1\n")
    with pytest.raises(DataError, match="bad magic number"):
        load_dataset(spec(source=f"file:{f}", format="idx"), 0)
    with pytest.raises(DataError, match=r"not a \.npz archive"):
        load_dataset(spec(source=f"file:{f}", format="npz"), 0)
