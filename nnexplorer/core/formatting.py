"""Plain-text formatting shared by the command line and the explorer (no UI imports).

One vocabulary for both front-ends: numbers, durations, seconds, grid parameters, metric names
and their order, and the words shown for a run's (or a candidate's) status. Colours are the
front-ends' business; they colour by :func:`status_tone`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Literal

# --------------------------------------------------------------------------- numbers


def finite(value: Any) -> float | None:
    """``value`` as a float when it is a finite number, else None (bools are not numbers)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def fmt_number(value: Any) -> str:
    """A metric value: 4 significant digits, whole numbers in full, ``-`` when missing.

    ``nan``, ``inf`` and ``-inf`` stay readable; text (an activation name) is shown as is.
    """
    if value is None:
        return "-"
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    if isinstance(value, int):
        return str(value)
    if not math.isfinite(value):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    return f"{value:.4g}"


def count(n: int, noun: str, plural: str = "") -> str:
    """``1 epoch``, ``30 epochs`` (``plural`` when adding an s is wrong)."""
    return f"{n} {noun if n == 1 else plural or noun + 's'}"


def fmt_param(value: Any) -> str:
    """A grid or parameter value as it was given (``0.001``, ``64``, ``relu``)."""
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def fmt_mean_std(mean: Any, std: Any) -> str:
    """A cross-validation score with one precision for both numbers: the spread to two
    significant digits and the mean to as many decimals (``0.6550 ± 0.0051``, ``-3708 ± 120``);
    ``-`` when missing."""
    if finite(mean) is None:
        return fmt_number(mean)
    spread = finite(std)
    if spread is None:
        return fmt_number(mean)
    if spread == 0:
        return f"{fmt_number(mean)} ± 0"
    decimals = min(12, max(0, 1 - math.floor(math.log10(abs(spread)))))
    return f"{mean:.{decimals}f} ± {abs(spread):.{decimals}f}"


def fmt_duration(seconds: float | None) -> str:
    """``00:07``, ``02:05`` or ``1:02:03``; ``--:--`` when unknown."""
    if seconds is None or not math.isfinite(seconds) or seconds < 0:
        return "--:--"
    hours, rest = divmod(round(seconds), 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}:{minutes:02d}:{secs:02d}"
    return f"{minutes:02d}:{secs:02d}"


def fmt_seconds(seconds: float | None) -> str:
    """A short time in seconds, three significant digits (``0.05``, ``1.23``, ``12.3``, ``250``)."""
    if seconds is None or not math.isfinite(seconds):
        return "-"
    return f"{seconds:.3g}" if abs(seconds) < 100 else f"{seconds:.0f}"


def epoch_ticks(last: int) -> list[int]:
    """Whole-number epoch ticks from 1 to ``last``, at most about seven of them (chart axes)."""
    step = max(1, -(-last // 6))
    ticks = list(range(1, last + 1, step))
    if ticks[-1] != last:
        if last - ticks[-1] < step / 2:
            ticks.pop()
        ticks.append(last)
    return ticks


# --------------------------------------------------------------------------- statuses

Tone = Literal["good", "warning", "error", "busy", "quiet"]

# What each status of a run, candidate or fit (the records' words) is called on screen.
STATUS_WORDS: dict[str, str] = {
    "completed": "done",
    "diverged": "diverged",
    "cancelled": "stopped",
    "failed": "failed",
    "interrupted": "interrupted",
    "unfinished": "unfinished",
    "queued": "queued",
    "starting": "starting",
    "running": "running",
    "damaged": "damaged",
}
STATUS_TONES: dict[str, Tone] = {
    "completed": "good",
    "diverged": "warning",
    "cancelled": "warning",
    "failed": "error",
    "interrupted": "error",
    "unfinished": "quiet",
    "queued": "quiet",
    "starting": "busy",
    "running": "busy",
    "damaged": "error",
}


def status_word(status: str) -> str:
    """The word shown for a status (``completed`` -> ``done``, ``cancelled`` -> ``stopped``)."""
    return STATUS_WORDS.get(status, status)


def status_tone(status: str) -> Tone:
    """How a status reads: good, warning, error, busy (in progress) or quiet."""
    return STATUS_TONES.get(status, "quiet")


# --------------------------------------------------------------------------- metrics

# Words in a metric name that mean "lower is better".
_LOWER_IS_BETTER = ("loss", "error", "mae", "mse", "rmse", "mape", "crossentropy", "hinge")
_NOT_METRICS = ("epoch", "lr", "candidate", "fold", "variant", "penalty")

ABBREVIATIONS = {
    "accuracy": "acc",
    "binary_accuracy": "acc",
    "categorical_accuracy": "acc",
    "sparse_categorical_accuracy": "acc",
    "mean_absolute_error": "mae",
    "mean_squared_error": "mse",
    "root_mean_squared_error": "rmse",
}


def lower_is_better(metric: str) -> bool:
    """Whether a smaller value of ``metric`` is better (losses and errors)."""
    return any(word in metric for word in _LOWER_IS_BETTER)


def main_metric(history: list[dict[str, float]]) -> str | None:
    """The first metric besides the loss (``accuracy``, ``mae``, ...), or None."""
    for row in history:
        for key in row:
            if key != "loss" and not key.startswith("val_") and key not in _NOT_METRICS:
                return key
    return None


def abbrev(metric: str) -> str:
    """A short name for a metric in a table cell (``accuracy`` -> ``acc``)."""
    return ABBREVIATIONS.get(metric, metric)


def ordered_metrics(metrics: Mapping[str, Any]) -> list[tuple[str, Any]]:
    """Metrics with loss first and each ``val_`` metric right after its training twin."""
    order = list(metrics)
    names = [k for k in order if not k.startswith("val_")]
    names.sort(key=lambda k: (k != "loss", order.index(k)))
    out: list[tuple[str, Any]] = []
    for name in names:
        out.append((name, metrics[name]))
        if f"val_{name}" in metrics:
            out.append((f"val_{name}", metrics[f"val_{name}"]))
    out.extend((k, v) for k, v in metrics.items() if k.startswith("val_") and k[4:] not in names)
    return out


def metrics_text(metrics: Mapping[str, Any]) -> str:
    """``loss 0.1234  val_loss 0.2345  accuracy 0.97 ...``."""
    return "  ".join(f"{k} {fmt_number(v)}" for k, v in ordered_metrics(metrics))


def headline_metrics(
    metrics: Mapping[str, Any], main: str | None, limit: int = 2
) -> list[tuple[str, float]]:
    """The few finite metrics worth a table cell: the main metric first, the loss last."""
    shown = [(k, f) for k in metrics if (f := finite(metrics[k])) is not None]
    shown.sort(key=lambda kv: (kv[0] != main, kv[0] == "loss", kv[0]))
    return shown[:limit]


# --------------------------------------------------------------------------- grid parameters


def short_key(key: str) -> str:
    """A grid key without scikeras prefixes; learning rates become ``lr``."""
    name = key.removeprefix("optimizer__").removeprefix("model__").removeprefix("compile.")
    return "lr" if name == "learning_rate" else name


def short_params(params: Mapping[str, Any]) -> str:
    """Grid parameters as ``lr=0.01 layers.0.units=64``, with scikeras prefixes shortened."""
    return " ".join(f"{short_key(k)}={fmt_param(v)}" for k, v in params.items())


def params_text(params: Mapping[str, Any]) -> str:
    """Grid parameters in full: ``optimizer__learning_rate=0.01, layers.0.units=64``."""
    return ", ".join(f"{k}={fmt_param(v)}" for k, v in params.items())
