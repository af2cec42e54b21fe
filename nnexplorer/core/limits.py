"""Limits that keep an experiment within the machine: a model's memory, a grid's size.

Nothing here imports TensorFlow: the checks run before it loads. A model's memory is estimated
from its parameter count (:mod:`nnexplorer.core.shapes`): the weights, their gradients and the
optimizer's slots (Adam keeps two values per weight, RMSprop one or two, SGD with momentum one),
in float32, plus the activations of one batch and TensorFlow's own footprint. It is compared
with the machine's memory (the smaller of RAM and a cgroup limit, or ``$NNEXPLORER_MEMORY``), and
with the GPU's when one is visible. A grid is counted in fits before anything is built.
"""

from __future__ import annotations

import contextlib
import itertools
import math
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nnexplorer.core.errors import ErrorItem, LimitError
from nnexplorer.core.formatting import count
from nnexplorer.core.shapes import layer_table, total_params
from nnexplorer.core.spec import ExperimentSpec, GridSpec
from nnexplorer.core.spec.paths import SETUP_KEY, candidate_data, canonical_key

BYTES_PER_VALUE = 4  # float32
TENSORFLOW_BYTES = 512 * 2**20  # the runtime itself, before any model
MEMORY_ENV = "NNEXPLORER_MEMORY"
MAX_FITS = 10_000
MAX_NETWORKS_CHECKED = 2_000
FIT_OVERHEAD_SECONDS = 0.3  # building (or reusing) a network, starting and scoring a fit
STEP_FLOPS_PER_SECOND = 2e9  # one core, small dense layers: a conservative pace
# Grid keys that change how a network trains but not its size.
_SIZE_NEUTRAL = ("compile.learning_rate", "fit.epochs", "fit.shuffle", "fit.batch_size")

# Rows of the bundled sources (to estimate a grid's time before loading anything).
KNOWN_ROWS: dict[str, int] = {
    "sklearn:digits": 1797,
    "sklearn:iris": 150,
    "sklearn:wine": 178,
    "sklearn:breast_cancer": 569,
    "sklearn:diabetes": 442,
    "keras:mnist": 70000,
    "keras:fashion_mnist": 70000,
}


# --------------------------------------------------------------------------- sizes


def fmt_bytes(n: float) -> str:
    """``1.5 GB``, ``340 MB``, ``12 kB`` (powers of 1024)."""
    for unit, size in (("TB", 2**40), ("GB", 2**30), ("MB", 2**20), ("kB", 2**10)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{int(n)} bytes"


def parse_bytes(text: str) -> int | None:
    """``8G``, ``512M``, ``1.5GB``, ``1000000`` -> bytes; None when it is not a size."""
    match = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*([kmgt]?)i?b?\s*", text.lower())
    if not match:
        return None
    scale = {"": 1, "k": 2**10, "m": 2**20, "g": 2**30, "t": 2**40}[match.group(2)]
    return int(float(match.group(1)) * scale)


def optimizer_slots(spec: ExperimentSpec) -> int:
    """Values the optimizer keeps per weight (Adam: 2, RMSprop: 1-3, SGD: 0 or 1, ...)."""
    c = spec.compile
    name = c.optimizer
    if name == "sgd":
        return 1 if (c.momentum or 0) > 0 else 0
    if name in ("adam", "adamw"):
        return 3 if c.amsgrad else 2
    if name == "rmsprop":
        return 1 + (1 if (c.momentum or 0) > 0 else 0) + (1 if c.centered else 0)
    if name in ("adagrad", "lion"):
        return 1
    return 2  # adadelta, adamax, nadam, ftrl


@dataclass(frozen=True)
class MemoryEstimate:
    """What training one network is expected to hold in memory, in bytes."""

    n_params: int
    slots: int
    batch_size: int
    activations: int
    data: int = 0

    @property
    def model(self) -> int:
        """Weights, gradients and optimizer slots."""
        return self.n_params * BYTES_PER_VALUE * (2 + self.slots)

    @property
    def total(self) -> int:
        """Model, activations, data and TensorFlow's own footprint."""
        return self.model + self.activations + self.data + TENSORFLOW_BYTES

    def describe(self) -> str:
        """``about 137.4 GB (8,590,917,642 parameters x 4 bytes x 4 copies ...)``."""
        return (
            f"about {fmt_bytes(self.total)} ({self.n_params:,} parameters x "
            f"{BYTES_PER_VALUE} bytes x {2 + self.slots} (weights, gradients and "
            f"{self.slots} optimizer slot{'s' if self.slots != 1 else ''}), plus activations "
            f"for batches of {self.batch_size}"
            + (f" and {fmt_bytes(self.data)} of data" if self.data else "")
            + ")"
        )


def estimate_memory(
    spec: ExperimentSpec | dict[str, Any],
    n_features: int,
    n_classes: int,
    task: str,
    n_rows: int = 0,
) -> MemoryEstimate | None:
    """The memory of training ``spec``'s network on data of this shape (None if unknown)."""
    data = spec.to_dict() if isinstance(spec, ExperimentSpec) else spec
    checked = spec if isinstance(spec, ExperimentSpec) else ExperimentSpec.model_validate(data)
    rows = layer_table(data, n_features, n_classes, task)
    n_params = total_params(rows)
    if n_params is None:
        return None
    widths = [n_features] + [_width(row.output_shape) for row in rows]
    batch = checked.fit.batch_size
    activations = 3 * batch * sum(widths) * BYTES_PER_VALUE  # outputs, their gradients, masks
    # the features as float32, a copy TensorFlow makes, and the targets
    data_bytes = 2 * n_rows * (n_features + 1) * BYTES_PER_VALUE
    return MemoryEstimate(n_params, optimizer_slots(checked), batch, activations, data_bytes)


def _width(shape: str) -> int:
    found = re.findall(r"\d+", shape)
    return int(found[-1]) if found else 0


# --------------------------------------------------------------------------- the machine


def machine_memory() -> tuple[int, str] | None:
    """The memory a run may use, in bytes, and what it is (``RAM``, a cgroup limit, ...)."""
    override = os.environ.get(MEMORY_ENV, "").strip()
    if override:
        size = parse_bytes(override)
        if size:
            return size, f"${MEMORY_ENV}"
    found: list[tuple[int, str]] = []
    with contextlib.suppress(ValueError, OSError, AttributeError):
        found.append((os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"), "RAM"))
    limit = _cgroup_limit()
    if limit:
        found.append((limit, "the memory limit of this container (cgroup)"))
    return min(found) if found else None


def _cgroup_limit() -> int | None:
    for path in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        try:
            text = Path(path).read_text().strip()
        except OSError:
            continue
        if text.isdigit() and int(text) < 2**60:
            return int(text)
    return None


def gpu_memory() -> int | None:
    """The smallest visible GPU's memory in bytes (from nvidia-smi, without TensorFlow)."""
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None and visible.strip() in ("", "-1"):
        return None
    tool = shutil.which("nvidia-smi")
    if tool is None:
        return None
    try:
        done = subprocess.run(
            [tool, "--query-gpu=index,memory.total", "--format=csv,noheader,nounits"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    wanted = None if visible is None else {v.strip() for v in visible.split(",")}
    sizes = []
    for line in done.stdout.splitlines():
        index, _, mib = line.partition(",")
        if mib.strip().isdigit() and (wanted is None or index.strip() in wanted):
            sizes.append(int(mib.strip()) * 2**20)
    return min(sizes) if sizes else None


def check_memory(
    estimate: MemoryEstimate, *, workers: int = 1, where: str = "layers", file: str = ""
) -> None:
    """Refuse (LimitError) an estimate that cannot fit in this machine's (or GPU's) memory."""
    machine = machine_memory()
    if machine is not None:
        available, what = machine
        shared = estimate.total + (workers - 1) * (estimate.total - estimate.data)
        if shared > available:
            several = f"; {workers} grid processes each train one network" if workers > 1 else ""
            hint = (
                "lower grid.n_jobs, or use fewer or smaller layers"
                if workers > 1 and estimate.total <= available
                else "use fewer or smaller layers, or a smaller batch_size"
            )
            raise _refusal(
                f"training this network needs {estimate.describe()}{several}, "
                f"more than {what} ({fmt_bytes(available)})",
                hint,
                where,
                file,
            )
    gpu = gpu_memory()
    if gpu is not None and estimate.model + estimate.activations > gpu:
        raise _refusal(
            f"the network needs {fmt_bytes(estimate.model + estimate.activations)} on the "
            f"GPU ({estimate.n_params:,} parameters), more than its {fmt_bytes(gpu)}",
            "use fewer or smaller layers",
            where,
            file,
        )


def _refusal(message: str, hint: str, where: str, file: str) -> LimitError:
    return LimitError(message, hint, items=[ErrorItem(message, where, file)])


def largest_network(
    spec: ExperimentSpec, n_features: int, n_classes: int, task: str, n_rows: int = 0
) -> MemoryEstimate | None:
    """The biggest memory estimate among the networks of ``spec`` and its grid."""
    base = spec.to_dict()
    grid = base.pop("grid", None) or {}
    params: dict[str, list[Any]] = dict(grid.get("params") or {})
    setups: dict[str, dict[str, Any]] = dict(grid.get("setups") or {})
    chosen = [setups.get(name, {}) for name in params.get(SETUP_KEY, [])]
    batches = [v for k, vs in params.items() if canonical_key(k) == "fit.batch_size" for v in vs]
    batches += [v for s in chosen for k, v in s.items() if canonical_key(k) == "fit.batch_size"]
    if batches:
        base.setdefault("fit", {})["batch_size"] = max(batches)
    sizing = {k: v for k, v in params.items() if canonical_key(k) not in _SIZE_NEUTRAL}
    best: MemoryEstimate | None = None
    for combo in itertools.islice(_combos(sizing), MAX_NETWORKS_CHECKED):
        try:
            estimate = estimate_memory(
                candidate_data(base, combo, setups), n_features, n_classes, task, n_rows
            )
        except (ValueError, TypeError):
            continue  # a candidate that is invalid fails its own fit
        if estimate is not None and (best is None or estimate.total > best.total):
            best = estimate
    return best


def _combos(params: dict[str, list[Any]]) -> Iterator[dict[str, Any]]:
    keys = list(params)
    for values in itertools.product(*(params[k] for k in keys)):
        yield dict(zip(keys, values, strict=True))


# --------------------------------------------------------------------------- grids


def count_candidates(grid: GridSpec) -> int:
    """The candidates a search evaluates (random: at most n_iter of the grid)."""
    n = grid.n_candidates()
    return min(grid.n_iter, n) if grid.search == "random" else n


def count_fits(grid: GridSpec) -> int:
    """Fits a search runs: candidates x folds (halving: over its rounds), before the refit."""
    n = count_candidates(grid)
    if grid.search == "halving" and n > 1:
        rounds = 1 + int(math.log(n, grid.factor) + 1e-9)
        return sum(math.ceil(n / grid.factor**i) for i in range(rounds)) * grid.cv
    return n * grid.cv


def fit_seconds(spec: ExperimentSpec, n_params: int | None, n_rows: int | None) -> float:
    """A rough lower bound of one fit's time: a fixed cost plus its training steps."""
    epochs = spec.fit.epochs
    if not n_rows or not n_params:
        return FIT_OVERHEAD_SECONDS + epochs * 0.01
    batch = spec.fit.batch_size
    steps = epochs * math.ceil(n_rows * (1 - 1 / max(2, spec.grid.cv if spec.grid else 3)) / batch)
    per_step = max(2e-4, 6 * n_params * batch / STEP_FLOPS_PER_SECOND)
    return FIT_OVERHEAD_SECONDS + steps * per_step


def fmt_long_duration(seconds: float) -> str:
    """``45 s``, ``12 min``, ``3.5 h``, ``26 days``, ``4.1 years``."""
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min"
    if seconds < 48 * 3600:
        return f"{seconds / 3600:.1f} h"
    if seconds < 730 * 86400:
        return f"{seconds / 86400:.0f} days"
    return f"{seconds / (365 * 86400):.1f} years"


def check_fits(
    spec: ExperimentSpec,
    *,
    workers: int,
    n_params: int | None = None,
    n_rows: int | None = None,
    file: str = "",
    limit: int = MAX_FITS,
) -> int:
    """The number of fits; LimitError above ``limit``, with a time estimate and what to do."""
    grid = spec.grid or GridSpec()
    fits = count_fits(grid)
    if fits <= limit:
        return fits
    per_fit = fit_seconds(spec, n_params, n_rows)
    total = fits * per_fit / max(1, workers)
    candidates = count_candidates(grid)
    rounds = " over its rounds" if grid.search == "halving" else ""
    message = (
        f"{candidates:,} candidates x {grid.cv} folds = {fits:,} fits{rounds}, more than "
        f"{limit:,}; "
        f"at about {per_fit:.1f} s per fit on {count(workers, 'process', 'processes')} "
        f"that is at least {fmt_long_duration(total)}"
    )
    hint = (
        'try search = "random" (with n_iter) or search = "halving", fewer values, '
        "or pass --yes to run it anyway"
    )
    raise LimitError(message, hint, items=[ErrorItem(message, "grid.params", file)])
