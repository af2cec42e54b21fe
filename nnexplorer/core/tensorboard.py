"""TensorBoard logs: a run's training and validation scalars, one point per epoch.

Every run directory gets ``tensorboard/``, laid out the way Keras' own ``TensorBoard`` callback
lays it out (``train/`` and ``validation/``, scalars named ``epoch_<metric>``), so that
``tensorboard --logdir runs`` draws the two curves of a metric in one chart. A grid search writes
``tensorboard/candidate-<n>/fold-<k>/`` (and ``refit/``), a sweep ``tensorboard/variant-<n>/``.

TensorFlow 2.21 no longer installs the ``tensorboard`` package, and without it both
``tf.summary.scalar`` and Keras' ``TensorBoard`` callback raise; the scalars are therefore
written with ``tf.summary.write`` and the scalar plugin's metadata, which is what
``tf.summary.scalar`` itself does. Reading the logs needs only TensorFlow
(``tf.compat.v1.train.summary_iterator``); viewing them needs the ``tensorboard`` package
(``pip install 'nnexplorer[tensorboard]'``).
"""

from __future__ import annotations

import contextlib
import functools
import math
from pathlib import Path
from typing import Any

TENSORBOARD_DIR = "tensorboard"
TRAIN_DIR = "train"
VALIDATION_DIR = "validation"
_NOT_SCALARS = ("epoch", "candidate", "fold")


def log_dir(run_dir: str | Path, *parts: str) -> Path:
    """``RUN_DIR/tensorboard[/parts...]``: where one fit writes its logs."""
    return Path(run_dir, TENSORBOARD_DIR, *parts)


def candidate_dir(candidate: int, fold: int | None) -> tuple[str, str]:
    """A grid fit's sub-folder: ``candidate-<n>/fold-<k>`` or ``candidate-<n>/refit`` (1-based)."""
    return f"candidate-{candidate + 1}", "refit" if fold is None else f"fold-{fold + 1}"


def variant_dir(variant: int) -> str:
    """A sweep variant's sub-folder: ``variant-<n>`` (``variant`` 0-based, the folder 1-based)."""
    return f"variant-{variant + 1}"


def split_scalars(metrics: dict[str, Any]) -> dict[str, dict[str, float]]:
    """Finite metrics by writer: ``{"train": {"epoch_loss": ..}, "validation": {...}}``."""
    out: dict[str, dict[str, float]] = {TRAIN_DIR: {}, VALIDATION_DIR: {}}
    for name, value in metrics.items():
        if name in _NOT_SCALARS or isinstance(value, bool):
            continue
        try:
            number = float(value)
        except (TypeError, ValueError):
            continue
        if not math.isfinite(number):
            continue
        if name.startswith("val_"):
            out[VALIDATION_DIR][f"epoch_{name[4:]}"] = number
        else:
            out[TRAIN_DIR][f"epoch_{name}"] = number
    return out


@functools.cache
def _scalar_metadata() -> Any:
    from tensorflow.core.framework import summary_pb2

    metadata = summary_pb2.SummaryMetadata()
    metadata.plugin_data.plugin_name = "scalars"
    metadata.data_class = summary_pb2.DATA_CLASS_SCALAR
    return metadata


class ScalarLog:
    """Writers for one fit's folder; :meth:`write` adds one epoch's scalars.

    Writers are created on first use (a fit without validation never creates ``validation/``).
    A failure to write (a full disk) turns the log off and never stops the training.
    """

    def __init__(self, folder: str | Path):
        self.folder = Path(folder)
        self._writers: dict[str, Any] = {}
        self.failed: str | None = None

    def _writer(self, name: str) -> Any:
        writer = self._writers.get(name)
        if writer is None:
            import tensorflow as tf

            writer = tf.summary.create_file_writer(str(self.folder / name))
            self._writers[name] = writer
        return writer

    def write(self, step: int, metrics: dict[str, Any]) -> None:
        """One point per finite metric at ``step`` (the 1-based epoch)."""
        if self.failed:
            return
        try:
            import tensorflow as tf

            for name, scalars in split_scalars(metrics).items():
                if not scalars:
                    continue
                with self._writer(name).as_default():
                    for tag, value in scalars.items():
                        data = tf.constant(value, dtype=tf.float32)
                        tf.summary.write(tag, data, step=step, metadata=_scalar_metadata())
        except Exception as exc:  # a log problem must not end the run
            self.failed = f"{type(exc).__name__}: {exc}"

    def close(self) -> None:
        """Flush and close every writer."""
        for writer in self._writers.values():
            with contextlib.suppress(Exception):
                writer.flush()
                writer.close()
        self._writers.clear()


@functools.cache
def _callback_class() -> type:
    import keras

    class TensorBoardLog(keras.callbacks.Callback):
        """Writes each epoch's metrics to a :class:`ScalarLog`; closes it when the fit ends."""

        def __init__(self, folder: str | Path):
            super().__init__()
            self.log = ScalarLog(folder)

        def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
            self.log.write(epoch + 1, dict(logs or {}))

        def on_train_end(self, logs: dict | None = None) -> None:
            self.log.close()

    return TensorBoardLog


def tensorboard_callback(folder: str | Path) -> Any:
    """A Keras callback writing train and validation scalars per epoch under ``folder``."""
    return _callback_class()(folder)
