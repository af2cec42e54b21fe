"""The epochs of a fused fit: each branch's batches, and each branch's own Keras callbacks.

Each branch is one fold of one candidate. It gets its fold's training rows in batches, in the
order of its fold's own random stream (seeded by the experiment seed and the fold), and its
callbacks (the same ones a separate fit of that fold gets: events, TensorBoard, early stopping)
see a fit of their own: :class:`~._fused_train.BranchModel` is their ``model``, with its own
``stop_training``. A branch whose callbacks stop it (the search was stopped, its loss diverged,
early stopping) gets no more rows from then on and ends as its separate fit would have; the
others carry on. Calls into TensorFlow run ``chunk`` steps at a time, and the callbacks hear of
batches at the same points as in a Keras fit with ``steps_per_execution = chunk``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from nnexplorer.core.search._fused_train import BranchModel, FusedTrainer


@dataclass
class Branch:
    """One fold of one candidate inside a fused fit."""

    index: int  # position among the trainer's branches
    fold: int
    epochs: int
    rows: int  # training rows of its fold
    offset: int  # its fold's first row in the trainer's table
    callbacks: list[Any] = field(default_factory=list)
    batch_size: int = 32
    learning_rate: float | None = None  # its candidate's (the loss-explosion warning names it)
    model: BranchModel | None = None
    ended: bool = False

    @property
    def steps(self) -> int:
        """Batches per epoch."""
        return max(1, math.ceil(self.rows / self.batch_size))

    def call(self, hook: str, *args: Any) -> None:
        """Call ``hook`` on every callback of the branch."""
        for callback in self.callbacks:
            getattr(callback, hook)(*args)

    @property
    def stopping(self) -> bool:
        """Whether a callback asked the branch to stop."""
        return self.model is not None and self.model.stop_training


def train_branches(
    trainer: FusedTrainer,
    branches: list[Branch],
    *,
    shuffle: bool,
    seed: int,
    chunk: int,
) -> None:
    """Train every branch for its epochs (or until its callbacks stop it)."""
    streams: dict[int, np.random.Generator] = {}
    for branch in branches:
        branch.model = BranchModel(trainer, branch.index, branch.learning_rate)
        params = {"verbose": 0, "epochs": branch.epochs, "steps": branch.steps}
        for callback in branch.callbacks:
            callback.set_model(branch.model)
            callback.set_params(params)
        streams.setdefault(branch.fold, np.random.default_rng([seed, branch.fold]))
        branch.call("on_train_begin")
        if branch.stopping:
            _end(branch)
    for epoch in range(max((b.epochs for b in branches), default=0)):
        running = [b for b in branches if not b.ended]
        if not running:
            break
        _epoch(trainer, running, epoch, _orders(running, streams, shuffle), chunk)
        results = trainer.results()
        for branch in running:
            branch.call("on_epoch_end", epoch, results[branch.index])
            if branch.stopping or epoch + 1 >= branch.epochs:
                _end(branch)
    for branch in branches:
        if not branch.ended:
            _end(branch)


def _end(branch: Branch) -> None:
    branch.ended = True
    branch.call("on_train_end")


def _orders(
    running: list[Branch], streams: dict[int, np.random.Generator], shuffle: bool
) -> dict[int, np.ndarray]:
    """This epoch's row order of each fold (one per fold: its candidates share it)."""
    orders = {}
    for branch in running:
        if branch.fold not in orders:
            rows = branch.rows
            orders[branch.fold] = (
                streams[branch.fold].permutation(rows) if shuffle else np.arange(rows)
            )
    return orders


def _epoch(
    trainer: FusedTrainer,
    running: list[Branch],
    epoch: int,
    orders: dict[int, np.ndarray],
    chunk: int,
) -> None:
    """One epoch: batches for every running branch, in chunks of steps."""
    trainer.reset()
    for branch in running:
        branch.call("on_epoch_begin", epoch)
    rows, weights = _batches(trainer.branches, running, orders)
    live = list(running)
    total = rows.shape[1]
    for start in range(0, total, chunk):
        end = min(total, start + chunk)
        trainer.run(rows[:, start:end], weights[:, start:end])
        loss = trainer.running_loss()
        for branch in list(live):
            if start >= branch.steps:
                continue
            branch.call(
                "on_train_batch_end",
                min(end, branch.steps) - 1,
                {"loss": float(loss[branch.index])},
            )
            if branch.stopping:  # stopped, diverged: no more rows for it
                live.remove(branch)
                weights[branch.index, end:] = 0.0
        if not live:
            break


def _batches(
    n_branches: int, running: list[Branch], orders: dict[int, np.ndarray]
) -> tuple[np.ndarray, np.ndarray]:
    """Row indices and weights, ``(branches, steps, batch)``; padding and idle branches weigh 0."""
    size = running[0].batch_size
    steps = max(b.steps for b in running)
    rows = np.zeros((n_branches, steps * size), dtype="int32")
    weights = np.zeros((n_branches, steps * size), dtype="float32")
    for branch in running:
        order = orders[branch.fold]
        rows[branch.index, :] = branch.offset + order[0]
        rows[branch.index, : len(order)] = branch.offset + order
        weights[branch.index, : len(order)] = 1.0
    return rows.reshape(n_branches, steps, size), weights.reshape(n_branches, steps, size)
