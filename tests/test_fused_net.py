"""The stacked copies of a network train exactly as separate Keras models do, step for step.

Each test builds a tiny network with :func:`nnexplorer.core.building.build_model`, stacks copies
of it, and trains them on the same batches that separate models get through ``train_on_batch``
(no dropout: masks are random). The weights must agree to float32 rounding.
"""

from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import pytest

from nnexplorer.core.spec import validate_spec

pytestmark = pytest.mark.slow

ROWS, FEATURES, CLASSES, BATCH = 24, 5, 3, 8


def spec_with(compile_: dict, layer: dict | None = None) -> object:
    layer = layer or {
        "type": "dense",
        "units": 6,
        "activation": "tanh",
        "kernel_regularizer": {"l1": 1e-3, "l2": 1e-2},
        "bias_regularizer": {"l2": 1e-2},
        "activity_regularizer": {"l2": 1e-3},
        "kernel_constraint": {"max_norm": 0.5},
    }
    return validate_spec(
        {
            "experiment": {"seed": 3},
            "layers": [layer],
            "compile": compile_,
            "fit": {"batch_size": BATCH},
        }
    )


def data(seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.normal(size=(ROWS, FEATURES)).astype("float32"), rng.integers(0, CLASSES, ROWS)


def build(spec) -> object:
    import keras

    from nnexplorer.core import building

    keras.backend.clear_session()
    building.set_seeds(spec.experiment.seed)
    like = SimpleNamespace(n_features=FEATURES, task="classification", n_classes=CLASSES)
    return building.build_model(spec, like)


def fused(spec, rates: list[float], xs: list, ys: list) -> object:
    from nnexplorer.core import building
    from nnexplorer.core.heads import resolve_head
    from nnexplorer.core.search._fused_net import branch_rates, stack_network
    from nnexplorer.core.search._fused_train import FusedTrainer, resolve_metrics

    template = build(spec)
    net = stack_network(template, len(rates))
    head = resolve_head(spec, "classification", CLASSES)
    schedule, _ = branch_rates(rates)
    recipe = building.optimizer_recipe(spec.compile)
    options = {k: v for k, v in recipe.kwargs.items() if k not in ("learning_rate", "clipnorm")}
    optimizer = building.keras_object(recipe.path)(learning_rate=schedule, **options)
    return FusedTrainer(
        net,
        loss=head.loss,
        metrics=resolve_metrics(["accuracy"], binary=False, sparse=True),
        optimizer=optimizer,
        clipnorm=spec.compile.clipnorm,
        x=np.concatenate(xs),
        y=np.concatenate(ys).astype("int32"),
    )


def separate(spec, rate: float, x, y, steps: list[np.ndarray]) -> list[np.ndarray]:
    model = build(spec.with_params({"compile.learning_rate": rate}))
    for rows in steps:
        if len(rows):
            model.train_on_batch(x[rows], y[rows])
    return model.get_weights()


def batches(n_steps: int, seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.permutation(ROWS)[:BATCH] for _ in range(n_steps)]


def run_fused(trainer, per_branch: list[list[np.ndarray]], offsets: list[int]) -> None:
    n_steps = len(per_branch[0])
    rows = np.zeros((len(per_branch), n_steps, BATCH), "int32")
    weights = np.zeros((len(per_branch), n_steps, BATCH), "float32")
    for b, steps in enumerate(per_branch):
        for s, chosen in enumerate(steps):
            rows[b, s, : len(chosen)] = offsets[b] + chosen
            weights[b, s, : len(chosen)] = 1.0
    trainer.run(rows, weights)


OPTIMIZERS = [
    {"optimizer": "adam", "amsgrad": True},
    {"optimizer": "adamw", "weight_decay": 0.01},
    {"optimizer": "sgd", "momentum": 0.9, "nesterov": True},
    {"optimizer": "rmsprop", "centered": True, "momentum": 0.5},
    {"optimizer": "adagrad", "initial_accumulator_value": 0.2},
    {"optimizer": "adadelta"},
    {"optimizer": "adamax"},
    {"optimizer": "nadam"},
    {"optimizer": "ftrl", "learning_rate_power": -0.3},
    {"optimizer": "lion"},
    {"optimizer": "adam", "clipnorm": 0.05},
    {"optimizer": "sgd", "clipvalue": 0.01},
]


@pytest.mark.parametrize("options", OPTIMIZERS, ids=lambda o: json.dumps(o, sort_keys=True))
def test_each_branch_follows_its_own_separate_fit(options):
    """Two folds (different rows) with two learning rates: each branch = its separate model."""
    spec = spec_with({**options, "learning_rate": 0.05})
    (x0, y0), (x1, y1) = data(0), data(1)
    rates = [0.05, 0.2]
    trainer = fused(spec, rates, [x0, x1], [y0, y1])
    steps = [batches(4, 10), batches(4, 11)]
    run_fused(trainer, steps, [0, ROWS])
    for branch, (x, y) in enumerate([(x0, y0), (x1, y1)]):
        expected = separate(spec, rates[branch], x, y, steps[branch])
        got = trainer.net.branch_weights(branch)
        for want, have in zip(expected, got, strict=True):
            np.testing.assert_allclose(have, want, rtol=2e-4, atol=2e-6)


def test_a_branch_without_rows_keeps_its_weights_and_optimizer_state():
    """A short fold's missing step leaves it exactly as if the step had not happened."""
    spec = spec_with({"optimizer": "sgd", "momentum": 0.9, "learning_rate": 0.1})
    (x0, y0), (x1, y1) = data(2), data(3)
    trainer = fused(spec, [0.1, 0.1], [x0, x1], [y0, y1])
    full, short = batches(3, 20), batches(3, 21)
    short[1] = short[1][:0]  # no rows in the middle step
    short[2] = short[2][:5]  # a partial last batch
    run_fused(trainer, [full, short], [0, ROWS])
    for branch, (x, y, steps) in enumerate([(x0, y0, full), (x1, y1, short)]):
        expected = separate(spec, 0.1, x, y, steps)
        for want, have in zip(expected, trainer.net.branch_weights(branch), strict=True):
            np.testing.assert_allclose(have, want, rtol=2e-4, atol=2e-6)


def test_metrics_and_loss_are_kept_per_branch_like_keras():
    spec = spec_with({"optimizer": "adam", "learning_rate": 0.01})
    (x0, y0), (x1, y1) = data(4), data(5)
    trainer = fused(spec, [0.01, 0.01], [x0, x1], [y0, y1])
    steps = [batches(2, 30), batches(2, 31)]
    trainer.reset()
    run_fused(trainer, steps, [0, ROWS])
    results = trainer.results()
    assert [list(r) for r in results] == [["accuracy", "loss"]] * 2
    for branch, (x, y) in enumerate([(x0, y0), (x1, y1)]):
        model = build(spec)
        logs = [model.train_on_batch(x[r], y[r], return_dict=True) for r in steps[branch]]
        # a fit's epoch logs: the mean over its (equal-sized) batches
        assert results[branch]["loss"] == pytest.approx(
            np.mean([g["loss"] for g in logs]), rel=1e-4
        )
        accuracy = np.mean([g["accuracy"] for g in logs])
        assert results[branch]["accuracy"] == pytest.approx(accuracy, abs=1e-6)


def test_a_branch_that_diverges_leaves_the_others_alone():
    spec = spec_with(
        {"optimizer": "sgd", "learning_rate": 0.05},
        {"type": "dense", "units": 4, "activation": "relu"},
    )
    (x0, y0), (x1, y1) = data(6), data(7)
    x1[:, 0] = np.nan  # its loss is NaN from the first step
    trainer = fused(spec, [0.05, 0.05], [x0, x1], [y0, y1])
    steps = [batches(3, 40), batches(3, 41)]
    trainer.reset()
    run_fused(trainer, steps, [0, ROWS])
    loss = trainer.running_loss()
    assert np.isfinite(loss[0]) and not np.isfinite(loss[1])
    expected = separate(spec, 0.05, x0, y0, steps[0])
    for want, have in zip(expected, trainer.net.branch_weights(0), strict=True):
        np.testing.assert_allclose(have, want, rtol=2e-4, atol=2e-6)
