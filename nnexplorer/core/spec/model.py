"""The experiment model: what a preset describes, validated once, here.

Every section is a frozen pydantic model that forbids unknown keys and takes values only of
their own TOML type (strict). Keras objects are named by strings checked against the
allow-lists in :mod:`nnexplorer.core.vocab` (the types of :mod:`.names`); only
:mod:`nnexplorer.core.building` turns them into objects.
"""

from __future__ import annotations

import json
import re
from typing import Any, Literal

from pydantic import (
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from nnexplorer.core import vocab
from nnexplorer.core.errors import ErrorItem, SpecError, cut, excerpt
from nnexplorer.core.spec.layers import LayerSpec, OutputSpec, Section
from nnexplorer.core.spec.names import (
    DataSource,
    FileFormatName,
    GridBackendName,
    LossName,
    MetricNames,
    OptimizerName,
    ScalingName,
    SearchKindName,
    TaskName,
)
from nnexplorer.core.spec.paths import (
    MAX_LAYERS,
    SETUP_KEY,
    candidate_data,
    canonical_key,
    pydantic_items,
    setup_settings,
)

MAX_GRID_VALUES = 10_000  # values one grid key may list
MAX_SETUP_NAME = 40  # characters of a setup's name (it labels a variant in tables and legends)
_SYNTHETIC_FEATURES = {"moons": 2, "circles": 2}

# --------------------------------------------------------------------------- sections


class ExperimentInfo(Section):
    """Name, description and the seed that makes runs repeatable."""

    name: str = Field(default="experiment", min_length=1, max_length=80)
    description: str = Field(default="", max_length=2000)
    seed: int | None = Field(default=42, ge=0, le=2**31 - 1)


class DataSpec(Section):
    """Where the data comes from and how it is split and scaled."""

    source: DataSource = "sklearn:digits"
    task: TaskName = "auto"
    test_size: float = Field(default=0.2, gt=0, lt=1)
    validation_split: float = Field(default=0.2, ge=0, lt=1)
    standardize: ScalingName = "standard"
    standardize_target: bool = False  # regression: train on (y - mean) / std of the train split
    stratify: bool = True
    max_samples: int | None = Field(default=None, ge=10)
    # synthetic sources
    n_samples: int = Field(default=1000, ge=10, le=5_000_000)
    n_features: int = Field(default=2, ge=1, le=10_000)
    n_classes: int = Field(default=3, ge=2, le=1000)
    noise: float = Field(default=0.1, ge=0, le=100)
    # file sources
    format: FileFormatName = "auto"
    target: str | int | None = None
    header: bool = True
    delimiter: str = Field(default=",", min_length=1, max_length=1)
    labels: str | None = None
    # caps on what a source may hold
    max_file_mb: int = Field(default=1024, ge=1, le=10_000_000)
    max_values: int = Field(default=100_000_000, ge=1, le=10**13)

    @model_validator(mode="after")
    def _synthetic_within_caps(self) -> DataSpec:
        if self.kind == "synthetic":
            features = _SYNTHETIC_FEATURES.get(self.name, self.n_features)
            if self.n_samples * features > self.max_values:
                raise ValueError(
                    f"n_samples x n_features = {self.n_samples:,} x {features:,} = "
                    f"{self.n_samples * features:,} values, more than "
                    f"max_values = {self.max_values:,} (raise data.max_values to allow it)"
                )
        return self

    @field_validator("standardize_target")
    @classmethod
    def _regression_only(cls, value: bool, info: ValidationInfo) -> bool:
        if value and info.data.get("task") == "classification":
            raise ValueError("applies to regression targets; the task is classification")
        return value

    @property
    def kind(self) -> str:
        """``sklearn``, ``synthetic``, ``keras`` or ``file``."""
        return self.source.partition(":")[0]

    @property
    def name(self) -> str:
        """The part of ``source`` after the colon (a dataset name or a path)."""
        return self.source.partition(":")[2]


_OPTIMIZER_OPTION_FIELDS = vocab.ALL_OPTIMIZER_OPTIONS


class CompileSpec(Section):
    """Optimizer and its options, loss and metrics."""

    optimizer: OptimizerName = "adam"
    learning_rate: float = Field(default=1e-3, gt=0, le=100)
    momentum: float | None = Field(default=None, ge=0, lt=1)
    nesterov: bool | None = None
    beta_1: float | None = Field(default=None, ge=0, lt=1)
    beta_2: float | None = Field(default=None, ge=0, lt=1)
    epsilon: float | None = Field(default=None, gt=0, le=1)
    amsgrad: bool | None = None
    rho: float | None = Field(default=None, ge=0, lt=1)
    centered: bool | None = None
    initial_accumulator_value: float | None = Field(default=None, ge=0)
    learning_rate_power: float | None = Field(default=None, le=0)
    weight_decay: float | None = Field(default=None, ge=0, le=1)
    clipnorm: float | None = Field(default=None, gt=0)
    clipvalue: float | None = Field(default=None, gt=0)
    loss: LossName = "auto"
    metrics: MetricNames = Field(default_factory=lambda: ["auto"])

    @field_validator(*_OPTIMIZER_OPTION_FIELDS)
    @classmethod
    def _option_fits_optimizer(cls, value: Any, info: ValidationInfo) -> Any:
        optimizer = info.data.get("optimizer")  # validated first: it is declared first
        if value is None or optimizer not in vocab.OPTIMIZER_OPTIONS:
            return value
        own = vocab.OPTIMIZER_OPTIONS[optimizer] + vocab.COMMON_OPTIMIZER_OPTIONS
        if info.field_name not in own:
            raise ValueError(
                f"'{info.field_name}' does not apply to optimizer {optimizer!r} "
                f"(its options: learning_rate, {', '.join(own)})"
            )
        return value

    def optimizer_options(self) -> dict[str, Any]:
        """The optimizer options that were set (learning_rate excluded)."""
        return {
            k: getattr(self, k) for k in _OPTIMIZER_OPTION_FIELDS if getattr(self, k) is not None
        }

    @property
    def resolved_loss(self) -> str:
        """The loss with aliases such as ``mse`` expanded (``auto`` stays ``auto``)."""
        return vocab.LOSS_ALIASES.get(self.loss, self.loss)


class EarlyStoppingSpec(Section):
    """Stop when ``monitor`` has not improved for ``patience`` epochs."""

    monitor: str = Field(default="val_loss", pattern=r"^(val_)?[a-z][a-z0-9_]*$")
    patience: int = Field(default=5, ge=0, le=10_000)
    min_delta: float = Field(default=0.0, ge=0)
    restore_best_weights: bool = True
    mode: Literal["auto", "min", "max"] = "auto"


class FitSpec(Section):
    """Epochs, batch size, early stopping, and the per-layer diagnostics of a run."""

    epochs: int = Field(default=30, ge=1, le=100_000)
    batch_size: int = Field(default=32, ge=1, le=1_000_000)
    shuffle: bool = True
    early_stopping: EarlyStoppingSpec | None = None
    diagnostics: bool = True


_SCHEDULER = re.compile(
    r"^(?:(?P<scheme>[a-z]+)://)?(?P<host>\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.-]+):(?P<port>[0-9]{1,5})$"
)


def check_scheduler_address(value: str) -> str:
    """A Dask scheduler address, ``tcp://`` added when no protocol is given."""
    found = _SCHEDULER.match(value.strip())
    scheme = (found.group("scheme") or "tcp") if found else ""
    if found is None or scheme not in vocab.SCHEDULER_SCHEMES or not 0 < int(found["port"]) < 65536:
        raise ValueError(
            f"got {value!r}; expected a Dask scheduler address 'PROTOCOL://HOST:PORT' "
            f"(e.g. 'tcp://10.0.0.5:8786'; protocol one of {', '.join(vocab.SCHEDULER_SCHEMES)})"
        )
    return f"{scheme}://{found['host']}:{int(found['port'])}"


class GridSpec(Section):
    """A hyper-parameter search: keys are spec paths or scikeras names, values are lists.

    ``backend`` says where the fits run: ``local`` (worker processes on this machine) or
    ``dask`` (the workers of the Dask cluster whose scheduler is at ``scheduler``).
    ``search = "sweep"`` trains every combination once, without cross-validation (``cv`` and
    ``scoring`` do not apply). ``setups`` names groups of settings (key path -> value, as
    ``--set`` takes them) that the grid key ``setup`` chooses among, so that one key can
    compare, say, "none" with "L2" and "early stopping".
    """

    cv: int = Field(default=3, ge=2, le=100)
    scoring: str | None = Field(default=None, pattern=r"^[a-z][a-z0-9_]*$")
    n_jobs: int = Field(default=-1, ge=-1, le=1024)
    search: SearchKindName = "grid"
    n_iter: int = Field(default=10, ge=1, le=100_000)
    factor: int = Field(default=3, ge=2, le=100)
    params: dict[str, list[Any]] = Field(default_factory=dict)
    setups: dict[str, dict[str, Any]] = Field(default_factory=dict)
    backend: GridBackendName = "local"
    scheduler: str | None = None
    fuse_folds: bool | None = None  # unset: fused where the search supports it

    @model_validator(mode="before")
    @classmethod
    def _scheduler_means_dask(cls, data: Any) -> Any:
        """A scheduler address without a backend picks the Dask backend."""
        if isinstance(data, dict) and data.get("scheduler") and "backend" not in data:
            return {**data, "backend": "dask"}
        return data

    @field_validator("scheduler")
    @classmethod
    def _scheduler_address(cls, value: str | None) -> str | None:
        return None if value is None else check_scheduler_address(value)

    @field_validator("n_jobs")
    @classmethod
    def _not_zero(cls, value: int) -> int:
        if value == 0:
            raise ValueError("got 0; use -1 for all cores or a positive number of processes")
        return value

    @field_validator("params")
    @classmethod
    def _non_empty_lists(cls, value: dict[str, list[Any]]) -> dict[str, list[Any]]:
        for key, values in value.items():
            if not values:
                raise ValueError(f"{excerpt(key)} has an empty list; give at least one value")
            if len(values) > MAX_GRID_VALUES:
                raise ValueError(
                    f"{excerpt(key)} lists {len(values):,} values; a grid key takes at most "
                    f'{MAX_GRID_VALUES:,} (sample them with search = "random")'
                )
        return value

    @field_validator("setups")
    @classmethod
    def _setup_names(cls, value: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
        if len(value) > MAX_GRID_VALUES:
            raise ValueError(f"{len(value):,} setups; at most {MAX_GRID_VALUES:,}")
        for name in value:
            if not name.strip() or len(name) > MAX_SETUP_NAME:
                raise ValueError(
                    f"setup name {excerpt(name)}: 1 to {MAX_SETUP_NAME} characters, not blank"
                )
        return value

    @property
    def is_sweep(self) -> bool:
        """Whether every combination is trained once (a sweep) rather than cross-validated."""
        return self.search == "sweep"

    def n_candidates(self) -> int:
        """How many parameter combinations a full grid has."""
        total = 1
        for values in self.params.values():
            total *= len(values)
        return total


class ExperimentSpec(Section):
    """A whole experiment: the content of one preset file."""

    experiment: ExperimentInfo = Field(default_factory=ExperimentInfo)
    data: DataSpec = Field(default_factory=DataSpec)
    layers: list[LayerSpec] = Field(default_factory=list, max_length=MAX_LAYERS)
    output: OutputSpec = Field(default_factory=OutputSpec)
    compile: CompileSpec = Field(default_factory=CompileSpec)
    fit: FitSpec = Field(default_factory=FitSpec)
    grid: GridSpec | None = None

    @field_validator("layers", mode="before")
    @classmethod
    def _dense_by_default(cls, value: Any) -> Any:
        """A layer table without ``type`` is a Dense layer."""
        if isinstance(value, list):
            return [
                {"type": "dense", **v} if isinstance(v, dict) and "type" not in v else v
                for v in value
            ]
        return value

    def to_dict(self) -> dict[str, Any]:
        """A plain dict ready for TOML: unset options are left out."""
        return self.model_dump(mode="json", exclude_none=True)

    def summary(self) -> dict[str, Any]:
        """A short description for run_started events and results tables."""
        return {
            "name": self.experiment.name,
            "source": self.data.source,
            "layers": [layer.describe() for layer in self.layers],
            "optimizer": self.compile.optimizer,
            "learning_rate": self.compile.learning_rate,
            "batch_size": self.fit.batch_size,
            "epochs": self.fit.epochs,
        }

    def with_params(self, params: dict[str, Any]) -> ExperimentSpec:
        """This spec with grid parameters applied (and without its grid)."""
        data = self.to_dict()
        data.pop("grid", None)
        setups = self.grid.setups if self.grid is not None else {}
        try:
            return validate_spec(candidate_data(data, params, setups))
        except ValueError as exc:
            raise SpecError(str(exc)) from None


def grid_problems(spec: ExperimentSpec) -> list[ErrorItem]:
    """Check every grid value by applying it to the spec, as the search will."""
    return _grid_items(spec.to_dict(), [])


def _grid_items(data: dict[str, Any], known: list[ErrorItem]) -> list[ErrorItem]:
    """The problems of the grid values (and setups) in preset ``data``, each applied to the rest.

    ``known`` are the problems of the rest (the base preset), which may itself be invalid: a
    candidate's problem that the base already has is not reported again.
    """
    grid = data.get("grid")
    if not isinstance(grid, dict):
        return []
    params = grid.get("params")
    params = params if isinstance(params, dict) else {}
    setups = grid.get("setups")
    setups = (
        setups
        if isinstance(setups, dict) and all(isinstance(v, dict) for v in setups.values())
        else {}
    )  # else the grid section's own problem, in ``known``
    base = {k: v for k, v in data.items() if k != "grid"}
    seen = {(i.path, i.message) for i in known}
    items = _duplicate_keys(params)
    for name in setups:
        where = f"grid.setups.{cut(name, 40)}"
        items.extend(_problems(base, {SETUP_KEY: name}, setups, where, seen))
    for key, values in params.items():
        if not isinstance(values, list) or len(values) > MAX_GRID_VALUES:
            continue  # the grid section's own problem, in ``known``
        checked: set[str] = set()
        for index, value in enumerate(values):
            try:
                same = json.dumps(value, sort_keys=True, default=str)
            except ValueError:  # an integer too long to print: check it on its own
                same = f"#{index}"
            if same in checked:
                continue  # a repeated value has the problems of its first occurrence
            checked.add(same)
            where = f"grid.params.{cut(key, 40)}[{index}]"
            if key == SETUP_KEY:
                try:
                    setup_settings(value, setups)  # a known setup: checked above
                except ValueError as exc:
                    items.append(ErrorItem(str(exc), where))
                continue
            items.extend(_problems(base, {key: value}, setups, where, seen))
    return items


def _problems(
    base: dict[str, Any],
    params: dict[str, Any],
    setups: dict[str, dict[str, Any]],
    where: str,
    seen: set[tuple[str, str]],
) -> list[ErrorItem]:
    """What is wrong with ``base`` once ``params`` are applied, each item under ``where``."""
    try:
        ExperimentSpec.model_validate(candidate_data(base, params, setups))
    except ValueError as exc:  # ValidationError, or a path that does not exist
        return _prefixed(exc, where, seen)
    except (TypeError, AttributeError, KeyError, IndexError):
        pass  # the base is malformed where the key points: reported in ``known``
    return []


def _duplicate_keys(params: dict[str, Any]) -> list[ErrorItem]:
    """Two grid keys that set the same value (``learning_rate`` and ``compile.learning_rate``)."""
    first: dict[str, str] = {}
    items = []
    for key in params:
        path = canonical_key(key)
        if path in first:
            message = f"sets {path}, as {excerpt(first[path])} does; keep one of the two"
            items.append(ErrorItem(message, f"grid.params.{key}"))
        else:
            first[path] = key
    return items


def _prefixed(exc: Exception, where: str, seen: set[tuple[str, str]]) -> list[ErrorItem]:
    if isinstance(exc, ValidationError):
        return [
            ErrorItem(i.message, f"{where} -> {i.path}" if i.path else where)
            for i in pydantic_items(exc, ExperimentSpec)
            if (i.path, i.message) not in seen
        ]
    return [ErrorItem(str(exc), where)]


def validate_spec(data: dict[str, Any], file: str = "") -> ExperimentSpec:
    """Validate a preset's data; raise :class:`SpecError` listing every problem.

    The grid values are checked in the same pass, so that a file's problems, in the base
    preset and in its grid, are reported together.
    """
    spec: ExperimentSpec | None = None
    items: list[ErrorItem] = []
    try:
        spec = ExperimentSpec.model_validate(data)
    except ValidationError as exc:
        items = pydantic_items(exc, ExperimentSpec)
    items += _grid_items(spec.to_dict() if spec is not None else data, items)
    if items or spec is None:
        raise SpecError.from_items([ErrorItem(i.message, i.path, file) for i in items])
    return spec


def default_spec() -> ExperimentSpec:
    """An experiment with every default (digits, no hidden layers yet)."""
    return ExperimentSpec()
