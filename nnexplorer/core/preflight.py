"""Checks before a run that need more than the preset: the data, the machine, the grid's size.

:func:`before_run` is what ``nnexplorer run`` checks before it creates a run folder or loads
TensorFlow: the grid's size in fits (first: counting costs nothing), that the data source can be
read, and, when the data's shape is known without loading it (bundled and synthetic sources),
that ``output.units`` matches the data and that the largest network fits in memory.
:func:`after_load` repeats the last two with the real shape once a run has loaded its data,
still before TensorFlow. :func:`validate_checks` is what ``nnexplorer validate`` adds to the
preset's own validation. Each problem is an :class:`~nnexplorer.core.errors.NnxError` with exit
code 2, naming the file and the key.
"""

from __future__ import annotations

import os
from typing import Any

from nnexplorer.core import limits
from nnexplorer.core.errors import DataError, ErrorItem, NnxError, SpecError
from nnexplorer.core.formatting import count
from nnexplorer.core.heads import resolve_head
from nnexplorer.core.shapes import dataset_shape
from nnexplorer.core.spec import ExperimentSpec


def known_rows(spec: ExperimentSpec) -> int | None:
    """Rows of the data before splitting, when known without loading it."""
    data = spec.data
    rows = data.n_samples if data.kind == "synthetic" else limits.KNOWN_ROWS.get(data.source)
    if rows is not None and data.max_samples is not None:
        rows = min(rows, data.max_samples)
    return rows


def planned_workers(spec: ExperimentSpec) -> int:
    """How many grid processes a search would start (``n_jobs``; -1: the cores)."""
    requested = spec.grid.n_jobs if spec.grid is not None else 1
    if requested > 0:
        return requested
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def check_output_units(
    spec: ExperimentSpec, task: str, n_classes: int, *, source: str = "", file: str = ""
) -> None:
    """Refuse an ``output.units`` that does not match the data (SpecError on output.units)."""
    units = spec.output.units
    if units is None:
        return
    auto = spec.model_copy(update={"output": spec.output.model_copy(update={"units": None})})
    expected = resolve_head(auto, task, n_classes).units
    if units == expected:
        return
    data = f"the data ({source})" if source else "the data"
    if task == "regression":
        why = f"{data} has one regression target, so the output layer has 1 unit"
    else:
        why = f"{data} has {n_classes} classes, so the output layer has {count(expected, 'unit')}"
    message = f"got {units}; {why}"
    hint = f"leave output.units out (it follows from the task) or set {expected}"
    raise SpecError(message, hint, items=[ErrorItem(message, "output.units", file)])


def check_memory(
    spec: ExperimentSpec,
    n_features: int,
    n_classes: int,
    task: str,
    n_rows: int = 0,
    *,
    grid: bool = False,
    file: str = "",
) -> None:
    """Refuse (LimitError) a network, or a grid's largest network, that cannot fit in memory."""
    estimate = limits.largest_network(spec, n_features, n_classes, task, n_rows)
    if estimate is None:
        return
    workers = planned_workers(spec) if grid else 1
    limits.check_memory(estimate, workers=workers, file=file)


def before_run(spec: ExperimentSpec, *, grid: bool, yes: bool = False, file: str = "") -> None:
    """Everything ``nnexplorer run`` checks before creating a run folder (see the module)."""
    shape = dataset_shape(spec.data)
    rows = known_rows(spec)
    if grid and not yes:
        n_params = None
        if shape is not None:
            estimate = limits.largest_network(spec, *shape, rows or 0)
            n_params = estimate.n_params if estimate else None
        limits.check_fits(
            spec, workers=planned_workers(spec), n_params=n_params, n_rows=rows, file=file
        )
    check_data(spec, file=file)
    if shape is not None:
        n_features, n_classes, task = shape
        check_output_units(spec, task, n_classes, source=spec.data.source, file=file)
        check_memory(spec, n_features, n_classes, task, rows or 0, grid=grid, file=file)


def after_load(spec: ExperimentSpec, data: Any, *, grid: bool = False) -> None:
    """The checks of a loaded :class:`~nnexplorer.core.datasets.Dataset`, before TensorFlow."""
    check_output_units(spec, data.task, data.n_classes, source=spec.data.source)
    n_rows = len(data.x_train) + (0 if data.x_val is None else len(data.x_val))
    check_memory(spec, data.n_features, data.n_classes, data.task, n_rows, grid=grid)


def check_data(spec: ExperimentSpec, *, file: str = "") -> None:
    """The data source can be read (a file exists, is regular, readable, within its caps)."""
    from nnexplorer.core.datasets import check_source

    try:
        check_source(spec.data)
    except DataError as exc:
        if file and not any(i.file for i in exc.items):
            raise DataError(exc.message, exc.hint, items=_with_file(exc, file)) from None
        raise


def _with_file(exc: NnxError, file: str) -> list[ErrorItem]:
    return [ErrorItem(i.message, i.path, i.file or file) for i in exc.items]


def validate_checks(spec: ExperimentSpec, *, file: str = "") -> list[NnxError]:
    """What ``nnexplorer validate`` checks besides the preset itself: the data source can be
    read, and ``output.units`` matches the data when its classes are known without loading."""
    problems: list[NnxError] = []
    try:
        check_data(spec, file=file)
    except NnxError as exc:
        problems.append(exc)
    shape = dataset_shape(spec.data)
    if shape is not None:
        try:
            check_output_units(spec, shape[2], shape[1], source=spec.data.source, file=file)
        except NnxError as exc:
            problems.append(exc)
    return problems
