"""A loss that blows up while staying finite is named once, with its likely cause."""

from __future__ import annotations

import math
from types import SimpleNamespace

from nnexplorer.core.callbacks import event_callback, exploding_message, loss_exploding
from nnexplorer.core.events import LOSS_EXPLODING, EpochEnded, LogEvent
from nnexplorer.core.progress import RunProgress


def test_the_rule():
    assert not loss_exploding([], True)
    assert not loss_exploding([2.3, 1.1, 0.6], True)
    assert loss_exploding([2.3, 3.2e5], True)  # far above any chance level
    assert loss_exploding([150.0], True)  # also at the first epoch (lr 50 explodes at once)
    assert not loss_exploding([150.0], False)  # a regression loss may start that high
    assert not loss_exploding([28000.0, 9000.0, 4500.0], False)  # unscaled targets: fine
    assert loss_exploding([28000.0, 4500.0, 5e5], False)  # a hundredfold its lowest
    assert not loss_exploding([1.0, math.nan], False)  # NaN is divergence, not this
    text = exploding_message(3.2e5, 4, 0.31, "Adam", 50.0)
    assert "3.2e+05 at epoch 4" in text and "Adam with learning_rate=50" in text


def test_the_callback_warns_once_and_the_progress_remembers_it():
    events: list = []
    callback = event_callback(events.append, run_id="r", epochs=4)
    model = SimpleNamespace(
        optimizer=SimpleNamespace(learning_rate=50.0),
        loss="sparse_categorical_crossentropy",
        stop_training=False,
    )
    callback.set_model(model)
    callback.set_params({"epochs": 4, "steps": 2})
    for epoch, loss in enumerate((2.2, 4.1e5, 9.9e5, 2.0e6)):
        callback.on_epoch_begin(epoch)
        callback.on_train_batch_end(1, {"loss": loss})
        callback.on_epoch_end(epoch, {"loss": loss, "accuracy": 0.9})
    warnings = [e for e in events if isinstance(e, LogEvent) and e.code == LOSS_EXPLODING]
    assert len(warnings) == 1 and warnings[0].level == "warning"
    assert "epoch 2" in warnings[0].message and "learning_rate=50" in warnings[0].message
    assert not callback.diverged  # finite: the run goes on

    progress = RunProgress().extend(e for e in events if isinstance(e, EpochEnded | LogEvent))
    assert "exploding" in progress.warning
