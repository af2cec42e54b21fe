"""The per-layer statistics, the evaluation and the pictures, against numbers worked out by hand."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from nnexplorer.core import pictures
from nnexplorer.core.diagnostics import (
    Evaluation,
    boundary_every,
    choose_rows,
    dead_fraction,
    evaluate_classes,
    grad_norm,
    gradient_ratio,
    histogram,
    kernel_stats,
    layer_entry,
    misclassified_record,
    predicted_classes,
    read_boundary,
    read_layer_stats,
    read_misclassified,
    saturated_fraction,
)
from nnexplorer.core.events import DecisionBoundary, LayerStats, from_json
from nnexplorer.core.runs import RunRecorder

# --------------------------------------------------------------------------- statistics


def test_kernel_stats_by_hand():
    kernel = np.array([[3.0, 0.0005], [4.0, -0.5]])
    stats = kernel_stats(kernel, bins=4)
    assert stats["weight_norm"] == pytest.approx(math.sqrt(9 + 0.0005**2 + 16 + 0.25))
    assert stats["mean_abs_weight"] == pytest.approx((3 + 0.0005 + 4 + 0.5) / 4)
    assert stats["small_weight_fraction"] == 0.25  # only 0.0005 is below 1e-3
    # unit 0's incoming weights are (3, 4): norm 5; unit 1's norm is about 0.5
    assert stats["max_unit_norm"] == pytest.approx(5.0)
    assert stats["hist"]["edges"] == pytest.approx([-0.5, 0.625, 1.75, 2.875, 4.0])
    assert stats["hist"]["counts"] == [2, 0, 0, 2]  # -0.5 and 0.0005; 3 and 4


def test_histogram_of_a_constant_and_of_nothing_finite():
    assert histogram(np.zeros((3, 2)), bins=2) == {"edges": [-0.5, 0.0, 0.5], "counts": [0, 6]}
    assert histogram(np.array([np.nan, np.inf])) == {"edges": [], "counts": []}


def test_dead_fraction_counts_units_silent_on_every_row():
    outputs = np.array([[0.0, 1.0, 0.0, 0.0], [0.0, 0.0, 0.0, 2.0]])
    assert dead_fraction(outputs, "relu") == 0.5  # units 0 and 2
    assert dead_fraction(outputs, "relu6") == 0.5
    assert dead_fraction(outputs, "tanh") is None
    assert dead_fraction(outputs, "leaky_relu") is None  # never exactly 0 for x < 0


def test_saturated_fraction_within_two_percent_of_the_range():
    sigmoid = np.array([[0.01, 0.5, 0.99], [0.981, 0.979, 0.02]])
    # 0.01, 0.99, 0.981 and 0.02 lie within 0.02 of 0 or 1; 0.5 and 0.979 do not
    assert saturated_fraction(sigmoid, "sigmoid") == pytest.approx(4 / 6)
    tanh = np.array([[-0.97, 0.95, 0.961, 0.0]])
    # the range is 2 wide, so within 0.04 of -1 or 1: -0.97 and 0.961
    assert saturated_fraction(tanh, "tanh") == pytest.approx(2 / 4)
    assert saturated_fraction(tanh, "relu") is None


def test_grad_norm_and_ratio():
    assert grad_norm(np.array([[3.0], [4.0]])) == 5.0
    assert grad_norm(None) == 0.0
    layers = [{"grad_norm": 1e-4}, {"grad_norm": 0.5}, {"grad_norm": 0.1}]
    assert gradient_ratio(layers) == pytest.approx(1e-3)
    assert gradient_ratio(layers[:1]) is None
    assert gradient_ratio([{"grad_norm": 1.0}, {"grad_norm": 0.0}]) is None


def test_layer_entry_has_every_field_and_survives_json():
    entry = layer_entry(
        name="hidden_1",
        activation="relu",
        kernel=np.array([[1.0, -2.0, 0.0]]),
        outputs=np.array([[0.0, 1.0, 0.0]]),
        gradient=np.array([[0.0, 3.0, 4.0]]),
        max_norm=3.0,
        regularizer="l2=0.01",
    )
    assert entry["units"] == 3 and entry["grad_norm"] == 5.0 and entry["max_unit_norm"] == 2.0
    assert entry["dead_fraction"] == pytest.approx(2 / 3) and entry["saturated_fraction"] is None
    assert entry["max_norm"] == 3.0 and entry["regularizer"] == "l2=0.01"
    event = LayerStats(run_id="r", epoch=3, layers=[entry])
    again = from_json(event.to_json())
    assert isinstance(again, LayerStats) and again.layers == [entry] and again.epoch == 3


def test_probe_rows_are_fixed_by_the_seed():
    a, b = choose_rows(1000, 256, seed=5), choose_rows(1000, 256, seed=5)
    assert len(a) == 256 and len(set(a.tolist())) == 256 and (a == b).all()
    assert list(choose_rows(10, 256, seed=5)) == list(range(10))


def test_boundary_every_keeps_about_25_per_run():
    assert [boundary_every(n) for n in (1, 25, 26, 40, 100, 1000)] == [1, 1, 2, 2, 4, 40]


# --------------------------------------------------------------------------- evaluation


def test_predicted_classes_argmax_and_thresholds():
    assert predicted_classes(np.array([[0.1, 0.7, 0.2], [0.5, 0.2, 0.3]]), "softmax").tolist() == [
        1,
        0,
    ]
    assert predicted_classes(np.array([[0.2], [0.8]]), "sigmoid").tolist() == [0, 1]
    assert predicted_classes(np.array([[-0.3], [0.1]]), "tanh").tolist() == [0, 1]


def test_evaluate_classes_by_hand():
    y_true = [0, 0, 1, 1, 2, 2]
    y_pred = [0, 1, 1, 1, 2, 0]
    fields = evaluate_classes(y_true, y_pred, ["a", "b", "c"])
    assert fields["confusion_matrix"] == [[1, 1, 0], [0, 2, 0], [1, 0, 1]]
    assert fields["classes"] == ["a", "b", "c"] and fields["misclassified"] == 2
    a, b, c = fields["per_class"]
    assert a == {"class": "a", "precision": 0.5, "recall": 0.5, "f1": 0.5, "support": 2}
    assert b["precision"] == pytest.approx(2 / 3) and b["recall"] == 1.0
    assert b["f1"] == pytest.approx(0.8) and c["precision"] == 1.0 and c["recall"] == 0.5
    evaluation = Evaluation.from_summary(fields)
    assert evaluation is not None and evaluation.total == 6 and evaluation.correct == 4
    assert Evaluation.from_summary({"classes": ["a"], "confusion_matrix": [[1, 2]]}) is None
    assert Evaluation.from_summary({"test_metrics": {}}) is None


def test_misclassified_record_keeps_raw_pixels_of_images():
    raw = np.arange(12, dtype=float).reshape(3, 4)
    record = misclassified_record([0, 1, 1], [0, 0, 1], ["x", "y"], raw, [2, 2], (0.0, 11.0))
    assert record["count"] == 1 and record["n_test"] == 3 and record["image_shape"] == [2, 2]
    assert record["rows"] == [{"index": 1, "true": 1, "predicted": 0, "pixels": [4, 5, 6, 7]}]
    plain = misclassified_record([0, 1], [1, 0], ["x", "y"], raw[:2], None, None, limit=1)
    assert plain["count"] == 2 and plain["rows"] == [{"index": 0, "true": 0, "predicted": 1}]
    assert plain["image_shape"] is None


# --------------------------------------------------------------------------- records


def test_recorder_writes_layer_stats_and_the_last_boundary(tmp_path):
    recorder = RunRecorder(tmp_path)
    for epoch in (1, 2):
        recorder(LayerStats(run_id="r", epoch=epoch, layers=[{"name": "h", "grad_norm": 0.5}]))
        recorder(
            DecisionBoundary(
                run_id="r", epoch=epoch, x_range=[0, 1], y_range=[0, 1], grid=[[0, epoch]]
            )
        )
    recorder.close()
    with open(tmp_path / "layer_stats.jsonl", "a", encoding="utf-8") as handle:
        handle.write("{damaged\n")
    stats = read_layer_stats(tmp_path)
    assert [s.epoch for s in stats] == [1, 2] and stats[0].layers[0]["grad_norm"] == 0.5
    boundary = read_boundary(tmp_path)
    assert boundary is not None and boundary.grid == [[0, 2]]
    assert read_misclassified(tmp_path) is None
    (tmp_path / "misclassified.json").write_text(json.dumps({"rows": []}))
    assert read_misclassified(tmp_path) == {"rows": []}
    (tmp_path / "boundary.json").write_text("not json")
    assert read_boundary(tmp_path) is None


# --------------------------------------------------------------------------- pictures


def test_block_image_shades_each_pixel_twice():
    lines = pictures.block_image([0, 4, 8, 16], [2, 2], [0, 16])
    assert lines == ["  ░░", "▒▒██"]


def test_half_block_image_packs_two_rows_per_line():
    pixels = [0, 255, 255, 0, 255, 255]  # 3 rows x 2: an odd height gets a blank row
    assert pictures.half_block_image(pixels, [3, 2], [0, 255]) == ["▄▀", "▀▀"]
    assert pictures.image_size([28, 28]) == (28, 14) and pictures.image_size([8, 8]) == (16, 8)
    with pytest.raises(ValueError):
        pictures.block_image([1, 2, 3], [2, 2], [0, 1])


def test_boundary_cells_resample_and_mark_points():
    grid = [[0, 0, 1, 1], [0, 0, 1, 1]]  # bottom row first: left half class 0, right half 1
    points = [[0.1, 0.9, 0], [0.9, 0.1, 1], [0.1, 0.1, 1]]  # the last one is misclassified
    cells = pictures.boundary_cells(grid, [0, 1], [0, 1], points, width=4, height=2)
    assert pictures.boundary_text(cells) == ["o ··", "x ·x"]
    assert cells[1][0].point and cells[1][0].cls == 1
    assert not cells[0][1].point and cells[0][1].cls == 0 and cells[0][2].cls == 1
    assert pictures.boundary_cells([], [0, 1], [0, 1], [], 4, 2) == []


def test_bar_lines_in_eighths():
    assert pictures.bar_lines([8, 4, 1, 0], height=1) == ["█▄▁ "]
    assert pictures.bar_lines([16, 4], height=2, bar_width=2) == ["██  ", "██▄▄"]
    assert pictures.bar_lines([], 3) == [] and pictures.bar_lines([1], 0) == []
