"""The experiment model: what a preset describes, validated once, here.

Every section is a frozen pydantic model that forbids unknown keys. Keras objects are named by
strings checked against the allow-lists in :mod:`nnexplorer.core.vocab`; only
:mod:`nnexplorer.core.building` turns them into objects.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import (
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
)

from nnexplorer.core import vocab
from nnexplorer.core.errors import ErrorItem, SpecError
from nnexplorer.core.spec.layers import (
    LayerSpec,
    OutputSpec,
    Section,
    check_allowed,
)
from nnexplorer.core.spec.paths import candidate_data, pydantic_items

# --------------------------------------------------------------------------- sections


class ExperimentInfo(Section):
    """Name, description and the seed that makes runs repeatable."""

    name: str = Field(default="experiment", min_length=1, max_length=80)
    description: str = Field(default="", max_length=2000)
    seed: int | None = Field(default=42, ge=0, le=2**31 - 1)


class DataSpec(Section):
    """Where the data comes from and how it is split and scaled."""

    source: str = "sklearn:digits"
    task: str = "auto"
    test_size: float = Field(default=0.2, gt=0, lt=1)
    validation_split: float = Field(default=0.2, ge=0, lt=1)
    standardize: str = "standard"
    stratify: bool = True
    max_samples: int | None = Field(default=None, ge=10)
    # synthetic sources
    n_samples: int = Field(default=1000, ge=10, le=5_000_000)
    n_features: int = Field(default=2, ge=1, le=10_000)
    n_classes: int = Field(default=3, ge=2, le=1000)
    noise: float = Field(default=0.1, ge=0, le=100)
    # file sources
    format: str = "auto"
    target: str | int | None = None
    header: bool = True
    delimiter: str = Field(default=",", min_length=1, max_length=1)
    labels: str | None = None

    @field_validator("source")
    @classmethod
    def _known_source(cls, value: str) -> str:
        kind, sep, name = value.partition(":")
        if not sep or not name:
            raise ValueError(
                f"got {value!r}; expected '<kind>:<name>' with kind one of "
                f"{', '.join(vocab.SOURCE_KINDS)} (e.g. 'sklearn:digits', 'file:data.csv')"
            )
        check_allowed(kind, vocab.SOURCE_KINDS, "source kind")
        names = {
            "sklearn": vocab.SKLEARN_DATASETS,
            "synthetic": vocab.SYNTHETIC_DATASETS,
            "keras": vocab.KERAS_DATASETS,
        }.get(kind)
        if names is not None:
            check_allowed(name, names, f"{kind} dataset")
        return value

    @field_validator("task")
    @classmethod
    def _known_task(cls, value: str) -> str:
        return check_allowed(value, vocab.TASKS, "task")

    @field_validator("standardize")
    @classmethod
    def _known_scaling(cls, value: str) -> str:
        return check_allowed(value, vocab.SCALINGS, "scaling")

    @field_validator("format")
    @classmethod
    def _known_format(cls, value: str) -> str:
        return check_allowed(value, vocab.FILE_FORMATS, "file format")

    @property
    def kind(self) -> str:
        """``sklearn``, ``synthetic``, ``keras`` or ``file``."""
        return self.source.partition(":")[0]

    @property
    def name(self) -> str:
        """The part of ``source`` after the colon (a dataset name or a path)."""
        return self.source.partition(":")[2]


_OPTIMIZER_OPTION_FIELDS = sorted(
    {o for opts in vocab.OPTIMIZER_OPTIONS.values() for o in opts}
    | set(vocab.COMMON_OPTIMIZER_OPTIONS)
)


class CompileSpec(Section):
    """Optimizer and its options, loss and metrics."""

    optimizer: str = "adam"
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
    loss: str = "auto"
    metrics: list[str] = Field(default_factory=lambda: ["auto"])

    @field_validator("optimizer")
    @classmethod
    def _known_optimizer(cls, value: str) -> str:
        return check_allowed(value, vocab.OPTIMIZERS, "optimizer")

    @field_validator("loss")
    @classmethod
    def _known_loss(cls, value: str) -> str:
        return check_allowed(value, ("auto", *vocab.LOSSES, *vocab.LOSS_ALIASES), "loss")

    @field_validator("metrics")
    @classmethod
    def _known_metrics(cls, value: list[str]) -> list[str]:
        for metric in value:
            check_allowed(metric, ("auto", *vocab.METRICS), "metric")
        return value

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


class GridSpec(Section):
    """A hyper-parameter search: keys are spec paths or scikeras names, values are lists."""

    cv: int = Field(default=3, ge=2, le=100)
    scoring: str | None = Field(default=None, pattern=r"^[a-z][a-z0-9_]*$")
    n_jobs: int = Field(default=-1, ge=-1, le=1024)
    search: str = "grid"
    n_iter: int = Field(default=10, ge=1, le=100_000)
    factor: int = Field(default=3, ge=2, le=100)
    params: dict[str, list[Any]] = Field(default_factory=dict)

    @field_validator("search")
    @classmethod
    def _known_search(cls, value: str) -> str:
        return check_allowed(value, vocab.SEARCH_KINDS, "search")

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
                raise ValueError(f"{key!r} has an empty list; give at least one value")
        return value

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
    layers: list[LayerSpec] = Field(default_factory=list, max_length=200)
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
        try:
            return validate_spec(candidate_data(data, params))
        except ValueError as exc:
            raise SpecError(str(exc)) from None


def grid_problems(spec: ExperimentSpec) -> list[ErrorItem]:
    """Check every grid value by applying it to the spec, as the search will."""
    if spec.grid is None or not spec.grid.params:
        return []
    base = spec.to_dict()
    base.pop("grid", None)
    items: list[ErrorItem] = []
    for key, values in spec.grid.params.items():
        for index, value in enumerate(values):
            where = f"grid.params.{key}[{index}]"
            try:
                ExperimentSpec.model_validate(candidate_data(base, {key: value}))
            except ValueError as exc:  # ValidationError, or a path that does not exist
                items.extend(_prefixed(exc, where))
    return items


def _prefixed(exc: Exception, where: str) -> list[ErrorItem]:
    if isinstance(exc, ValidationError):
        return [
            ErrorItem(i.message, f"{where} -> {i.path}" if i.path else where)
            for i in pydantic_items(exc, ExperimentSpec)
        ]
    return [ErrorItem(str(exc), where)]


def validate_spec(data: dict[str, Any], file: str = "") -> ExperimentSpec:
    """Validate a preset's data; raise :class:`SpecError` listing every problem."""
    try:
        spec = ExperimentSpec.model_validate(data)
    except ValidationError as exc:
        items = [ErrorItem(i.message, i.path, file) for i in pydantic_items(exc, ExperimentSpec)]
        raise SpecError.from_items(items) from None
    problems = grid_problems(spec)
    if problems:
        raise SpecError.from_items([ErrorItem(i.message, i.path, file) for i in problems])
    return spec


def default_spec() -> ExperimentSpec:
    """An experiment with every default (digits, no hidden layers yet)."""
    return ExperimentSpec()
