"""Datasets: every ``[data]`` source turned into seeded train / validation / test splits.

:func:`load_dataset` reads a source (scikit-learn's bundled sets, synthetic generators, keras'
local cache, or a CSV / NPZ / IDX file), infers the task, encodes class labels to ``0..n-1``,
subsamples and splits. It does not scale: :func:`standardized` does, fitting on the training split
only. Problems raise :class:`~nnexplorer.core.errors.DataError` naming the file and what is wrong.

Inside: :mod:`._sources` (scikit-learn, synthetic, keras cache), :mod:`._files` (CSV, NPZ, IDX),
:mod:`._idx` (IDX), :mod:`._targets` (task and labels), :mod:`._split` (splits, scalers,
:class:`Dataset`), :mod:`._target_scale` (standardised regression targets), :mod:`._guard`
(only regular files, size caps: ``data.max_file_mb``, ``data.max_values``), :mod:`._samples` (a
few sample images for the explorer). Whether a source can be read at all, checked without
reading it: :func:`check_source` (the full check, with caps) and
:func:`nnexplorer.core.availability.source_problem` (a numpy-free first look for the editor).
"""

from nnexplorer.core.datasets._files import RawData
from nnexplorer.core.datasets._guard import Caps
from nnexplorer.core.datasets._samples import Samples, may_have_images, sample_images
from nnexplorer.core.datasets._sources import check_source, keras_dataset_dirs, read_source
from nnexplorer.core.datasets._split import Dataset, load_dataset, make_scaler, standardized
from nnexplorer.core.datasets._target_scale import (
    TargetScale,
    standardized_target,
    target_stats,
)
from nnexplorer.core.datasets._targets import MAX_CLASSES, infer_task

__all__ = [
    "MAX_CLASSES",
    "Caps",
    "Dataset",
    "RawData",
    "Samples",
    "TargetScale",
    "check_source",
    "infer_task",
    "keras_dataset_dirs",
    "load_dataset",
    "make_scaler",
    "may_have_images",
    "read_source",
    "sample_images",
    "standardized",
    "standardized_target",
    "target_stats",
]
