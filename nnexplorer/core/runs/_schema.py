"""The schema of a run's JSON records (summary.json, run.json), and reading them safely.

A record is read only from a regular file of sane size, parsed as JSON and checked field by field
(types, the known statuses and modes); what does not pass is described in one short reason, such
as ``summary.json: epochs_completed: got 'abc' (a string); must be an integer``. Unknown fields
are kept: newer versions (and other writers) may add their own.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal, cast

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from nnexplorer.core.errors import cut
from nnexplorer.core.events import Mode, RunStatus, RunSummary
from nnexplorer.core.files import not_regular
from nnexplorer.core.spec.paths import pydantic_items

MAX_RECORD_BYTES = 16_000_000
# a JSON number, or a non-finite float as json_safe writes it ("nan", "inf", "-inf"), or unset
Number = float | Literal["nan", "inf", "-inf"] | None


class _Record(BaseModel):
    model_config = ConfigDict(strict=True, extra="allow", frozen=True)


class SummaryRecord(_Record):
    """summary.json (and a run_finished event's summary): see ``events.RunSummary``."""

    status: RunStatus
    mode: Mode | None = None
    run_id: str | None = None
    name: str | None = None
    epochs_completed: int | None = Field(default=None, ge=0)
    test_metrics: dict[str, Number | str] | None = None
    final_metrics: dict[str, Number | str] | None = None
    wall_seconds: Number = None
    train_seconds: Number = None
    search_seconds: Number = None
    n_params: int | None = Field(default=None, ge=0)
    device: str | None = None
    versions: dict[str, str] | None = None
    message: str | None = None
    epochs: int | None = None
    stopped_early: bool | None = None
    n_candidates: int | None = Field(default=None, ge=0)
    n_folds: int | None = Field(default=None, ge=0)
    fits_done: int | None = Field(default=None, ge=0)
    best_params: dict[str, Any] | None = None
    best_score: Number = None
    test_score: Number = None


class MetaRecord(_Record):
    """run.json: what the run is (mode), when it was created; writers may add their fields."""

    run_id: str | None = None
    mode: Mode | None = None
    created: float | None = None


def _reason(exc: ValidationError, model: type[BaseModel]) -> str:
    items = pydantic_items(exc, model)
    first = items[0]
    where = f"{first.path}: " if first.path else ""
    more = f" (and {len(items) - 1} more)" if len(items) > 1 else ""
    return f"{where}{first.message}{more}"


def check_summary(data: Any) -> tuple[RunSummary | None, str]:
    """``(summary, "")`` when ``data`` is a valid summary, else ``(None, reason)``."""
    if not isinstance(data, dict):
        return None, "not a JSON object"
    try:
        SummaryRecord.model_validate(data)
    except ValidationError as exc:
        return None, _reason(exc, SummaryRecord)
    return cast(RunSummary, data), ""


def check_meta(data: Any) -> tuple[dict[str, Any] | None, str]:
    """``(meta, "")`` when ``data`` is a valid run.json, else ``(None, reason)``."""
    if not isinstance(data, dict):
        return None, "not a JSON object"
    try:
        MetaRecord.model_validate(data)
    except ValidationError as exc:
        return None, _reason(exc, MetaRecord)
    return data, ""


def read_json(path: Path) -> tuple[Any, str]:
    """``(data, "")``, ``(None, "")`` when there is no such file, or ``(None, reason)``."""
    why = not_regular(path)
    if why == "no such file":
        return None, ""
    if why:
        return None, f"{path.name} {why}"
    try:
        size = path.stat().st_size
        if size > MAX_RECORD_BYTES:
            return None, f"{path.name} is {size:,} bytes; a record is at most {MAX_RECORD_BYTES:,}"
        text = path.read_bytes().decode("utf-8")
    except OSError as exc:
        return None, f"{path.name}: cannot read it ({exc.strerror or exc})"
    except UnicodeDecodeError:
        return None, f"{path.name}: not UTF-8 text"
    if not text.strip():
        return None, f"{path.name} is empty"
    try:
        return json.loads(text), ""
    except ValueError as exc:
        return None, cut(f"{path.name}: not valid JSON, perhaps cut short ({exc})", 200)
