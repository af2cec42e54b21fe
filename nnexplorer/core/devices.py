"""The machine a run uses: TensorFlow's import, thread pools, GPUs and library versions.

TensorFlow is imported only inside these functions (and quietly: see :func:`import_tensorflow`).
"""

from __future__ import annotations

import os
import sys
import tempfile
from typing import Any

import numpy as np

_DEVICE_LABEL: str | None = None


def import_tensorflow() -> Any:
    """Import TensorFlow, keeping its native start-up chatter off the terminal.

    Before absl is initialised TensorFlow writes to file descriptor 2 whatever the log level
    (a pre-init warning and, on machines without CUDA, the driver probe); that noise would
    also fill the stderr tail a failed worker reports. It is caught in a temporary file and
    only shown when the import itself fails.
    """
    if "tensorflow" in sys.modules:
        return sys.modules["tensorflow"]
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as sink:
        os.dup2(sink.fileno(), 2)
        try:
            import tensorflow as tf

            tf.config.list_physical_devices("GPU")  # the CUDA probe writes at first use
        except BaseException:
            os.dup2(saved, 2)
            sink.seek(0)
            sys.stderr.write(sink.read().decode("utf-8", "replace"))
            raise
        finally:
            os.dup2(saved, 2)
            os.close(saved)
    return tf


def configure_threads(intra: int | None = None, inter: int | None = None) -> bool:
    """Set TensorFlow's thread pools; False when TensorFlow already started with other values."""
    tf = import_tensorflow()

    threading = tf.config.threading
    wanted = [
        (
            intra,
            threading.get_intra_op_parallelism_threads,
            threading.set_intra_op_parallelism_threads,
        ),
        (
            inter,
            threading.get_inter_op_parallelism_threads,
            threading.set_inter_op_parallelism_threads,
        ),
    ]
    applied = True
    for value, getter, setter in wanted:
        if value is None or getter() == value:
            continue
        try:
            setter(int(value))
        except RuntimeError:  # the runtime is already initialised
            applied = False
    return applied


def configure_devices() -> str:
    """Turn on memory growth on every GPU (before first use) and return the device label
    (``CPU``, the GPU names, and ``(GPU 1)`` when a run's slot pinned it to GPU 1)."""
    global _DEVICE_LABEL
    if _DEVICE_LABEL is not None:
        return _DEVICE_LABEL
    tf = import_tensorflow()

    for gpu in tf.config.list_physical_devices("GPU"):
        try:
            if not tf.config.experimental.get_memory_growth(gpu):
                tf.config.experimental.set_memory_growth(gpu, True)
        except (RuntimeError, ValueError):  # already initialised: growth can no longer change
            pass
    label = describe_devices()["device"]
    pinned = os.environ.get("NNEXPLORER_GPU", "")  # a detached run's slot chose this GPU
    if pinned and label != "CPU":
        label = f"{label} (GPU {pinned})"
    _DEVICE_LABEL = label
    return _DEVICE_LABEL


def describe_devices() -> dict[str, Any]:
    """``device`` ("CPU" or the GPU names, e.g. "2 x NVIDIA H100"), ``gpus`` and ``versions``."""
    import tensorflow as tf

    gpus = []
    for gpu in tf.config.list_physical_devices("GPU"):
        try:
            details = tf.config.experimental.get_device_details(gpu)
        except (RuntimeError, ValueError):
            details = {}
        gpus.append(str(details.get("device_name") or gpu.name))
    return {"device": _label(gpus), "gpus": gpus, "versions": versions()}


def _label(gpus: list[str]) -> str:
    if not gpus:
        return "CPU"
    parts = []
    for name in dict.fromkeys(gpus):
        count = gpus.count(name)
        parts.append(f"{count} x {name}" if count > 1 else name)
    return ", ".join(parts)


def versions() -> dict[str, str]:
    """Versions of Python and the libraries a run depends on."""
    import platform

    import keras
    import sklearn
    import tensorflow as tf

    return {
        "python": platform.python_version(),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "numpy": np.__version__,
        "scikit-learn": sklearn.__version__,
    }


def list_devices() -> dict[str, Any]:
    """What TensorFlow sees: ``gpus`` (name, compute capability, memory in MiB where the driver
    says, the ``CUDA_VISIBLE_DEVICES`` id), ``built_with_cuda`` and ``versions``."""
    from nnexplorer.core.gpus import driver_memory, visible_gpus

    tf = import_tensorflow()
    visible = visible_gpus()
    memory = driver_memory()
    gpus = []
    for index, gpu in enumerate(tf.config.list_physical_devices("GPU")):
        try:
            details = tf.config.experimental.get_device_details(gpu)
        except (RuntimeError, ValueError):
            details = {}
        driver = visible[index] if index < len(visible) else None
        capability = details.get("compute_capability")
        gpus.append(
            {
                "device": gpu.name,
                "name": str(details.get("device_name") or (driver.name if driver else gpu.name)),
                "compute_capability": ".".join(map(str, capability)) if capability else "",
                "memory_mib": memory.get(driver.uuid) or memory.get(driver.id) if driver else None,
                "cuda_id": driver.id if driver else str(index),
            }
        )
    return {
        "gpus": gpus,
        "built_with_cuda": bool(tf.test.is_built_with_cuda()),
        "versions": versions(),
    }
