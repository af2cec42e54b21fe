"""Allow-listed names as string types: ``activation: Activation`` accepts only known activations.

Each type is a ``str`` with a validator that refuses a name outside its list from
:mod:`nnexplorer.core.vocab`, with the list and the closest name in the message
(``unknown activation 'rellu'; did you mean 'relu'? (allowed: ...)``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated

from pydantic import AfterValidator

from nnexplorer.core import vocab
from nnexplorer.core.errors import excerpt


def check_allowed(value: str, allowed: tuple[str, ...], what: str) -> str:
    """``value`` if it is in ``allowed``; else a ValueError naming ``what`` and the list."""
    if value not in allowed:
        raise ValueError(vocab.not_allowed(what, value, allowed))
    return value


def allowed(names: Iterable[str], what: str) -> AfterValidator:
    """A validator that accepts only ``names`` (``what`` names the kind in the message)."""
    choices = tuple(names)

    def check(value: str) -> str:
        return check_allowed(value, choices, what)

    return AfterValidator(check)


Activation = Annotated[str, allowed(vocab.ACTIVATIONS, "activation")]
OutputActivation = Annotated[str, allowed(("auto", *vocab.ACTIVATIONS), "activation")]
InitializerName = Annotated[str, allowed(vocab.INITIALIZERS, "initializer")]
OptimizerName = Annotated[str, allowed(vocab.OPTIMIZERS, "optimizer")]
LossName = Annotated[str, allowed(("auto", *vocab.LOSSES, *vocab.LOSS_ALIASES), "loss")]
_METRICS = ("auto", *vocab.METRICS)


def _known_metrics(value: list[str]) -> list[str]:
    for metric in value:
        check_allowed(metric, _METRICS, "metric")
    return value


# Checked as a whole, so that a problem is reported at ``compile.metrics`` (the editor's field).
MetricNames = Annotated[list[str], AfterValidator(_known_metrics)]
TaskName = Annotated[str, allowed(vocab.TASKS, "task")]
ScalingName = Annotated[str, allowed(vocab.SCALINGS, "scaling")]
FileFormatName = Annotated[str, allowed(vocab.FILE_FORMATS, "file format")]
SearchKindName = Annotated[str, allowed(vocab.SEARCH_KINDS, "search")]
GridBackendName = Annotated[str, allowed(vocab.GRID_BACKENDS, "backend")]

_DATASETS = {
    "sklearn": vocab.SKLEARN_DATASETS,
    "synthetic": vocab.SYNTHETIC_DATASETS,
    "keras": vocab.KERAS_DATASETS,
}


def _known_source(value: str) -> str:
    kind, sep, name = value.partition(":")
    if not sep or not name:
        raise ValueError(
            f"got {excerpt(value)}; expected '<kind>:<name>' with kind one of "
            f"{', '.join(vocab.SOURCE_KINDS)} (e.g. 'sklearn:digits', 'file:data.csv')"
        )
    check_allowed(kind, vocab.SOURCE_KINDS, "source kind")
    names = _DATASETS.get(kind)
    if names is not None:
        check_allowed(name, names, f"{kind} dataset")
    return value


DataSource = Annotated[str, AfterValidator(_known_source)]
"""``<kind>:<name>``: a known kind, and for bundled kinds a known dataset name."""
