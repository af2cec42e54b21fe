"""Parameter counts and shapes computed without TensorFlow match what Keras builds."""

from __future__ import annotations

import subprocess
import sys
from types import SimpleNamespace

import pytest

from nnexplorer.core.shapes import dataset_shape, layer_table, table_for, total_params
from nnexplorer.core.spec import load_preset, validate_spec


def test_digits_preset_rows():
    rows = table_for(load_preset("digits"))
    assert [r.kind for r in rows] == ["dense", "dropout", "dense", "output"]
    assert rows[0].params == 64 * 128 + 128 == 8320
    assert rows[0].output_shape == "(None, 128)"
    assert rows[0].label.startswith("Dense 128 relu he_normal")
    assert (rows[1].label, rows[1].output_shape, rows[1].params) == (
        "Dropout 0.2",
        "(None, 128)",
        0,
    )
    assert rows[2].params == 128 * 64 + 64
    assert (rows[3].label, rows[3].output_shape, rows[3].params) == (
        "Output 10 softmax",
        "(None, 10)",
        64 * 10 + 10,
    )
    assert total_params(rows) == 8320 + 8256 + 650


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("sklearn:digits", (64, 10, "classification")),
        ("sklearn:iris", (4, 3, "classification")),
        ("sklearn:wine", (13, 3, "classification")),
        ("sklearn:breast_cancer", (30, 2, "classification")),
        ("sklearn:diabetes", (10, 0, "regression")),
        ("keras:mnist", (784, 10, "classification")),
        ("keras:fashion_mnist", (784, 10, "classification")),
        ("synthetic:moons", (2, 2, "classification")),
        ("synthetic:blobs", (2, 3, "classification")),
        ("file:data.csv", None),
        ("nonsense", None),
    ],
)
def test_dataset_shape_of_sources(source, expected):
    assert dataset_shape(source) == expected


def test_dataset_shape_uses_synthetic_options_and_task():
    table = {"source": "synthetic:classification", "n_features": 7, "n_classes": 4}
    assert dataset_shape(table) == (7, 4, "classification")
    assert dataset_shape({"source": "synthetic:regression", "n_features": 5}) == (
        5,
        0,
        "regression",
    )
    assert dataset_shape({"source": "sklearn:iris", "task": "regression"}) == (4, 0, "regression")
    assert dataset_shape({"source": "synthetic:blobs", "n_features": "x"}) is None


def test_unknown_input_size_leaves_first_count_unknown():
    data = {
        "data": {"source": "file:x.csv", "task": "regression"},
        "layers": [{"units": 16}, {"type": "dense", "units": 4}],
    }
    rows = table_for(data)
    assert rows[0].params is None and rows[0].params_text == "?"
    assert rows[0].output_shape == "(None, 16)"
    assert rows[1].params == 16 * 4 + 4
    assert rows[2].label == "Output 1 linear" and rows[2].params == 5
    assert total_params(rows) is None


def test_invalid_draft_still_counts_what_it_can():
    data = {"layers": [{"type": "dense", "units": "abc"}, {"type": "dense", "units": 8}]}
    rows = layer_table(data, 64, 10, "classification")
    assert rows[0].label.endswith("(invalid)")
    assert rows[0].params is None and rows[1].params is None
    assert rows[2].params == 8 * 10 + 10


def test_unknown_classes_make_the_output_unknown():
    rows = layer_table({"layers": []}, 4, None, None)
    assert rows[-1].kind == "output" and rows[-1].params is None


def test_shapes_module_does_not_import_tensorflow():
    code = "import sys, nnexplorer.core.shapes; print('tensorflow' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


SPECS = [
    ("digits", None),
    (
        "binary",
        {
            "data": {"source": "sklearn:breast_cancer"},
            "layers": [
                {"type": "dropout", "rate": 0.1},
                {"type": "dense", "units": 5, "use_bias": False, "activation": "tanh"},
                {"type": "dense", "units": 3},
            ],
        },
    ),
    (
        "regression",
        {
            "data": {"source": "sklearn:diabetes"},
            "layers": [{"type": "dense", "units": 12}],
            "compile": {"optimizer": "sgd", "loss": "mse"},
        },
    ),
    (
        "one_hot_mse",
        {
            "data": {"source": "sklearn:iris"},
            "layers": [],
            "compile": {"loss": "categorical_crossentropy"},
        },
    ),
]


@pytest.mark.parametrize(("name", "data"), SPECS, ids=[s[0] for s in SPECS])
def test_counts_match_keras(name, data):
    from nnexplorer.core.building import build_model

    spec = load_preset(name) if data is None else validate_spec(data)
    n_features, n_classes, task = dataset_shape(spec.data)
    rows = layer_table(spec, n_features, n_classes, task)
    model = build_model(
        spec, SimpleNamespace(n_features=n_features, n_classes=n_classes, task=task)
    )
    assert total_params(rows) == model.count_params()
    weighted = [layer.count_params() for layer in model.layers]
    assert [r.params for r in rows] == weighted
