"""The one table of names: every allowed name means a real Keras object, and only those pass.

This test imports keras: it checks the tables against the installed version.
"""

from __future__ import annotations

import pytest

from nnexplorer.core import vocab
from nnexplorer.core.building import keras_object
from nnexplorer.core.spec import validate_spec

TABLE_ROWS = [
    (what, name, path) for what, table in vocab.KERAS_PATHS.items() for name, path in table.items()
]


@pytest.mark.parametrize(("what", "name", "path"), TABLE_ROWS)
def test_every_name_resolves_to_a_keras_object(what, name, path):
    target = keras_object(path)
    assert callable(target), (what, name, path)


@pytest.mark.parametrize("name", vocab.ACTIVATIONS)
def test_activation_names_mean_the_listed_function(name):
    import keras

    assert keras.activations.get(name) is keras_object(vocab.ACTIVATION_PATHS[name])


@pytest.mark.parametrize("name", vocab.LOSSES)
def test_loss_names_mean_the_listed_function(name):
    import keras

    assert keras.losses.get(name) is keras_object(vocab.LOSS_PATHS[name])


def test_classes_are_of_their_kind():
    import keras

    kinds = {
        "initializer": keras.initializers.Initializer,
        "optimizer": keras.optimizers.Optimizer,
        "metric": keras.metrics.Metric,
        "sparse metric": keras.metrics.Metric,
    }
    for what, base in kinds.items():
        for name, path in vocab.KERAS_PATHS[what].items():
            assert issubclass(keras_object(path), base), (what, name, path)


def test_the_spec_accepts_exactly_the_table_names():
    for name in vocab.ACTIVATION_PATHS:
        validate_spec({"layers": [{"units": 2, "activation": name}]})
    for name in vocab.INITIALIZER_PATHS:
        validate_spec({"layers": [{"units": 2, "kernel_initializer": name}]})
    for name in vocab.OPTIMIZER_PATHS:
        validate_spec({"compile": {"optimizer": name}})
    for name in vocab.LOSS_PATHS:
        validate_spec({"compile": {"loss": name}})
    validate_spec({"compile": {"metrics": list(vocab.METRIC_PATHS)}})
    assert set(vocab.SPARSE_METRIC_PATHS) <= set(vocab.METRIC_PATHS)
