"""What a sweep trains and how it judges a variant: the variants, the score, the best epoch.

Variants are the combinations of ``[grid.params]`` in the order the preset writes them (the
last key varies fastest), numbered from 1 as people count them; each variant's network is the
spec with its values applied (:meth:`ExperimentSpec.with_params`).

A variant's **score** ranks it, higher is better as scikit-learn's scores are: the head's main
metric on the validation split (``val_accuracy``), negated for a metric where lower is better
(``neg_val_mae``, ``neg_val_loss``); without a validation split the training metric stands in.
Its **best epoch** is the epoch with the best value of the monitored quantity: early stopping's
``monitor`` when the preset has one, else ``val_loss`` (``loss`` without validation).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Any

from nnexplorer.core.formatting import finite, lower_is_better
from nnexplorer.core.spec import ExperimentSpec

NEG = "neg_"


@dataclass(frozen=True)
class Variant:
    """One combination of the sweep: its 0-based index, values by grid key, its spec."""

    index: int
    params: dict[str, Any]
    spec: ExperimentSpec

    @property
    def number(self) -> int:
        """The variant's number as records and screens show it (1-based)."""
        return self.index + 1


def plan_variants(spec: ExperimentSpec) -> list[Variant]:
    """Every combination of ``spec.grid.params`` as a :class:`Variant` (raises SpecError)."""
    params = dict(spec.grid.params) if spec.grid is not None else {}
    keys = list(params)
    variants = []
    for index, values in enumerate(itertools.product(*(params[k] for k in keys))):
        chosen = dict(zip(keys, values, strict=True))
        variants.append(Variant(index, chosen, spec.with_params(chosen)))
    return variants


def scoring_name(main_metric: str, has_validation: bool) -> str:
    """``val_accuracy``, ``neg_val_mae``, ``neg_loss``: what ranks a sweep's variants."""
    name = f"val_{main_metric}" if has_validation else main_metric
    return NEG + name if lower_is_better(main_metric) else name


def score(history: list[dict[str, Any]], scoring: str, epoch: int | None = None) -> float | None:
    """The score of a variant from its epochs: ``scoring``'s value at ``epoch`` (default: last)."""
    if not history:
        return None
    row = history[(epoch or len(history)) - 1]
    value = finite(row.get(scoring.removeprefix(NEG)))
    if value is None:
        return None
    return -value if scoring.startswith(NEG) else value


def monitored(spec: ExperimentSpec, has_validation: bool) -> tuple[str, bool]:
    """The quantity whose best value names the best epoch, and whether lower is better."""
    early = spec.fit.early_stopping
    name = early.monitor if early is not None else "val_loss"
    if not has_validation:
        name = name.removeprefix("val_")
    if early is not None and early.mode != "auto":
        return name, early.mode == "min"
    return name, lower_is_better(name)


def best_epoch(history: list[dict[str, Any]], monitor: str, lower: bool) -> int | None:
    """The 1-based epoch with the best finite value of ``monitor`` (the first on a tie)."""
    best: tuple[float, int] | None = None
    for epoch, row in enumerate(history, start=1):
        value = finite(row.get(monitor))
        if value is None:
            continue
        key = value if lower else -value
        if best is None or key < best[0]:
            best = (key, epoch)
    return best[1] if best is not None else None


def kept_epoch(history: list[dict[str, Any]], restored: int | None) -> int:
    """The epoch whose weights the variant ends with: ``restored`` by early stopping, else last."""
    if restored is not None and 1 <= restored <= len(history):
        return restored
    return len(history)


def is_better(candidate: float | None, best: float | None) -> bool:
    """Whether a score beats the best so far (a missing score never does)."""
    if candidate is None or not math.isfinite(candidate):
        return False
    return best is None or candidate > best
