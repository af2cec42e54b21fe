"""The layer part of the experiment model: initialisers, regularisers, constraints, layers.

See :mod:`nnexplorer.core.spec` for the whole experiment; these models follow the same rules
(frozen, unknown keys refused, strict types, Keras objects named by allow-listed strings).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    model_validator,
)

from nnexplorer.core import vocab
from nnexplorer.core.spec.names import Activation, InitializerName, OutputActivation
from nnexplorer.core.spec.paths import wrong_type


class Section(BaseModel):
    """Base of every preset section: frozen, unknown keys refused, types strict.

    Strict: a value must already have its TOML type (``units = "64"``, ``shuffle = "off"`` and
    ``batch_size = true`` are errors, not conversions); a float also takes a TOML integer.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True, strict=True)


# --------------------------------------------------------------------------- initialisers


class InitializerSpec(Section):
    """A Keras initializer by name, with its parameters (e.g. ``stddev`` for random_normal)."""

    name: InitializerName
    mean: float | None = None
    stddev: float | None = Field(default=None, gt=0)
    minval: float | None = None
    maxval: float | None = None
    scale: float | None = Field(default=None, gt=0)
    mode: Literal["fan_in", "fan_out", "fan_avg"] | None = None
    distribution: Literal["truncated_normal", "untruncated_normal", "uniform"] | None = None
    gain: float | None = Field(default=None, gt=0)
    value: float | None = None

    @model_validator(mode="after")
    def _params_fit_name(self) -> InitializerSpec:
        allowed = vocab.INITIALIZER_PARAMS.get(self.name, ())
        for key in self.params():
            if key not in allowed:
                own = ", ".join(allowed) or "none"
                raise ValueError(f"'{key}' does not apply to {self.name} (its parameters: {own})")
        if self.minval is not None and self.maxval is not None and self.minval >= self.maxval:
            raise ValueError(f"minval ({self.minval}) must be below maxval ({self.maxval})")
        return self

    def params(self) -> dict[str, Any]:
        """The parameters that were set, without the name."""
        return self.model_dump(exclude_none=True, exclude={"name"})


def _initializer_in(value: Any) -> Any:
    if isinstance(value, str):
        return {"name": value}
    if not isinstance(value, dict | InitializerSpec):
        raise ValueError(wrong_type(value, "an initializer name (e.g. 'he_normal') or a table"))
    return value


def _initializer_out(value: InitializerSpec) -> Any:
    params = value.params()
    return {"name": value.name, **params} if params else value.name


Initializer = Annotated[
    InitializerSpec, BeforeValidator(_initializer_in), PlainSerializer(_initializer_out)
]


class RegularizerSpec(Section):
    """L1 and/or L2 penalty factors; both above zero make an elastic net (L1L2)."""

    l1: float = Field(default=0.0, ge=0, le=10)
    l2: float = Field(default=0.0, ge=0, le=10)

    @property
    def kind(self) -> str:
        """``l1``, ``l2``, ``l1l2`` or ``none``."""
        if self.l1 and self.l2:
            return "l1l2"
        return "l1" if self.l1 else ("l2" if self.l2 else "none")


class ConstraintSpec(Section):
    """A max-norm constraint on each unit's incoming weight vector (the Dropout paper uses 3)."""

    max_norm: float = Field(gt=0, le=1000)
    axis: int = 0


# --------------------------------------------------------------------------- layers


class DenseLayer(Section):
    """A fully connected hidden layer."""

    type: Literal["dense"] = "dense"
    units: int = Field(default=64, ge=1, le=65536)
    activation: Activation = "relu"
    kernel_initializer: Initializer = Field(
        default_factory=lambda: InitializerSpec(name="glorot_uniform")
    )
    bias_initializer: Initializer = Field(default_factory=lambda: InitializerSpec(name="zeros"))
    use_bias: bool = True
    kernel_regularizer: RegularizerSpec | None = None
    bias_regularizer: RegularizerSpec | None = None
    activity_regularizer: RegularizerSpec | None = None
    kernel_constraint: ConstraintSpec | None = None
    name: str | None = Field(default=None, pattern=r"^[A-Za-z][A-Za-z0-9_]{0,63}$")

    def describe(self) -> str:
        """One line such as ``Dense 128 relu he_normal L2=1e-4 maxnorm=3``."""
        parts = ["Dense", str(self.units), self.activation, self.kernel_initializer.name]
        for label, reg in (
            ("", self.kernel_regularizer),
            ("bias ", self.bias_regularizer),
            ("act ", self.activity_regularizer),
        ):
            if reg and reg.l1:
                parts.append(f"{label}L1={reg.l1:g}")
            if reg and reg.l2:
                parts.append(f"{label}L2={reg.l2:g}")
        if self.kernel_constraint:
            parts.append(f"maxnorm={self.kernel_constraint.max_norm:g}")
        if not self.use_bias:
            parts.append("no-bias")
        return " ".join(parts)


class DropoutLayer(Section):
    """Randomly zeroes a fraction ``rate`` of its inputs while training."""

    type: Literal["dropout"] = "dropout"
    rate: float = Field(default=0.2, ge=0, lt=1)
    name: str | None = Field(default=None, pattern=r"^[A-Za-z][A-Za-z0-9_]{0,63}$")

    def describe(self) -> str:
        """One line such as ``Dropout 0.2``."""
        return f"Dropout {self.rate:g}"


LayerSpec = Annotated[DenseLayer | DropoutLayer, Field(discriminator="type")]
LAYER_TYPES: dict[str, type[Section]] = {"dense": DenseLayer, "dropout": DropoutLayer}


class OutputSpec(Section):
    """The output layer; ``auto`` values follow from the task and the number of classes."""

    activation: OutputActivation = "auto"
    kernel_initializer: Initializer = Field(
        default_factory=lambda: InitializerSpec(name="glorot_uniform")
    )
    kernel_regularizer: RegularizerSpec | None = None
    bias_regularizer: RegularizerSpec | None = None
    units: int | None = Field(default=None, ge=1, le=65536)
