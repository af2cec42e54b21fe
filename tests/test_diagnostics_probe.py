"""The probe batch on tiny Keras models whose statistics can be worked out by hand, and the
vanishing gradients of a deep sigmoid stack."""

from __future__ import annotations

import math

import numpy as np
import pytest

from nnexplorer.core.diagnostics import Probe, choose_rows, gradient_ratio, has_regularizers

pytestmark = pytest.mark.slow


def _model(*layers, inputs: int, loss: str = "mean_squared_error"):
    import keras

    model = keras.Sequential([keras.Input(shape=(inputs,)), *layers])
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.0), loss=loss)
    return model


def test_l1_layer_gradient_leaves_out_the_penalty():
    import keras

    layer = keras.layers.Dense(
        1, use_bias=False, kernel_regularizer=keras.regularizers.L1(0.1), name="l1_layer"
    )
    model = _model(layer, inputs=2)
    layer.set_weights([np.array([[0.5], [-0.25]])])
    x = np.array([[1.0, 2.0], [3.0, 4.0]])
    y = np.array([[1.0], [2.0]])
    probe = Probe(model, x, y)
    result = probe.run()
    # predictions 0 and 0.5, residuals -1 and -1.5: MSE 1.625; gradient 2/n X^T r = (-5.5, -8)
    assert result.data_loss == pytest.approx(1.625)
    assert result.penalty == pytest.approx(0.1 * (0.5 + 0.25))
    (entry,) = probe.layer_stats(result)
    assert entry["grad_norm"] == pytest.approx(math.sqrt(5.5**2 + 8**2), rel=1e-5)
    assert entry["regularizer"] == "l1=0.1" and entry["activation"] == "linear"
    assert entry["weight_norm"] == pytest.approx(math.sqrt(0.25 + 0.0625))
    assert entry["mean_abs_weight"] == pytest.approx(0.375)
    assert has_regularizers(model)
    # the compiled total is the data loss plus the penalty, as Keras trains on it
    total = model.evaluate(x, y, verbose=0)
    assert total == pytest.approx(result.data_loss + result.penalty, rel=1e-5)


def test_constrained_layer_reports_its_limit_and_the_capped_norm():
    import keras

    layer = keras.layers.Dense(
        2, use_bias=False, kernel_constraint=keras.constraints.MaxNorm(2.0), name="capped"
    )
    model = _model(layer, inputs=2)
    layer.set_weights([np.array([[3.0, 0.0], [4.0, 1.0]])])  # unit norms 5 and 1
    x, y = np.ones((4, 2)), np.zeros((4, 2))
    probe = Probe(model, x, y)
    (before,) = probe.layer_stats()
    assert before["max_unit_norm"] == pytest.approx(5.0) and before["max_norm"] == 2.0
    model.fit(x, y, epochs=1, verbose=0)  # learning rate 0: only the constraint acts
    (after,) = probe.layer_stats()
    # MaxNorm scales unit 0's incoming weights (3, 4) to norm 2: (1.2, 1.6); unit 1 stays
    np.testing.assert_allclose(layer.get_weights()[0], [[1.2, 0.0], [1.6, 1.0]], rtol=1e-5)
    assert after["max_unit_norm"] == pytest.approx(2.0, rel=1e-5)
    assert not has_regularizers(model)


def test_dead_relu_units():
    import keras

    layer = keras.layers.Dense(3, activation="relu", name="relu_layer")
    model = _model(layer, keras.layers.Dense(1, name="out"), inputs=2)
    layer.set_weights([np.ones((2, 3)), np.array([-100.0, 0.0, -100.0])])
    x = np.random.default_rng(0).uniform(0, 1, size=(16, 2))
    stats = Probe(model, x, np.zeros((16, 1))).layer_stats()
    assert [s["name"] for s in stats] == ["relu_layer", "out"]
    # x1 + x2 - 100 < 0 on every row: units 0 and 2 are dead, unit 1 is not
    assert stats[0]["dead_fraction"] == pytest.approx(2 / 3)
    assert stats[1]["dead_fraction"] is None and stats[1]["units"] == 1


def test_saturated_sigmoid_layer():
    import keras

    layer = keras.layers.Dense(2, activation="sigmoid", name="sig")
    model = _model(layer, inputs=1)
    layer.set_weights([np.array([[10.0, 0.0]]), np.zeros(2)])
    x = np.array([[1.0], [-1.0], [0.1], [0.0]])
    (entry,) = Probe(model, x, np.zeros((4, 2))).layer_stats()
    # unit 0: sigmoid(10), sigmoid(-10) saturate, sigmoid(1), sigmoid(0) do not; unit 1 is 0.5
    assert entry["saturated_fraction"] == pytest.approx(2 / 8)
    assert entry["dead_fraction"] is None


def _deep_net_ratio(activation: str, initializer: str) -> float:
    from nnexplorer.core import building, datasets
    from nnexplorer.core.heads import resolve_head
    from nnexplorer.core.spec import validate_spec

    layer = {"units": 32, "activation": activation, "kernel_initializer": initializer}
    spec = validate_spec(
        {
            "experiment": {"seed": 1},
            "data": {"source": "sklearn:digits", "max_samples": 300},
            "layers": [layer] * 6,
        }
    )
    data = datasets.standardized(datasets.load_dataset(spec.data, 1), "standard")
    building.set_seeds(1)
    model = building.build_model(spec, data)
    head = resolve_head(spec, data.task, data.n_classes)
    rows = choose_rows(len(data.x_train))
    y = building.prepare_targets(data.y_train[rows], head, data.n_classes)
    stats = Probe(model, data.x_train[rows], y).layer_stats()
    assert len(stats) == 7
    ratio = gradient_ratio(stats)
    assert ratio is not None
    return ratio


def test_six_sigmoid_layers_vanish_relu_he_does_not():
    sigmoid = _deep_net_ratio("sigmoid", "glorot_uniform")
    relu = _deep_net_ratio("relu", "he_normal")
    assert sigmoid < 1e-2  # about 3e-4: the first layer barely learns
    assert 0.1 < relu < 10
