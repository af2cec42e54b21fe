"""Output layer and loss follow from the task unless the preset sets them."""

from __future__ import annotations

from nnexplorer.core.heads import resolve_head
from nnexplorer.core.spec import validate_spec


def test_multiclass_defaults():
    head = resolve_head(validate_spec({}), "classification", 10)
    assert (head.units, head.activation, head.loss) == (
        10,
        "softmax",
        "sparse_categorical_crossentropy",
    )
    assert head.metrics == ("accuracy",) and not head.one_hot


def test_binary_defaults():
    head = resolve_head(validate_spec({}), "classification", 2)
    assert (head.units, head.activation, head.loss) == (1, "sigmoid", "binary_crossentropy")


def test_regression_defaults():
    head = resolve_head(validate_spec({}), "regression", 0)
    assert (head.units, head.activation, head.loss, head.metrics) == (
        1,
        "linear",
        "mean_squared_error",
        ("mae",),
    )


def test_mse_on_classification_uses_one_hot_softmax():
    spec = validate_spec({"compile": {"loss": "mse"}})
    head = resolve_head(spec, "classification", 3)
    assert (head.units, head.activation, head.one_hot) == (3, "softmax", True)


def test_explicit_output_activation_wins():
    spec = validate_spec({"output": {"activation": "sigmoid"}})
    assert resolve_head(spec, "classification", 4).activation == "sigmoid"
