"""A comparison of entries: the settings that differ, one metric's numbers, curves, JSON.

:class:`Comparison` is plain data for both front-ends: :meth:`Comparison.columns` and
:meth:`Comparison.rows` are the table (each column has a full title and a short one for narrow
screens), :meth:`Comparison.curves` the lines to overlay, :meth:`Comparison.to_json` the record
for scripts. The **gap** of a metric is how much worse it is on the validation split than on the
training split (train - val for accuracy, val - train for a loss): a growing gap is overfitting.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from nnexplorer.core.compare._entries import Entry
from nnexplorer.core.errors import NnxError
from nnexplorer.core.events import json_safe
from nnexplorer.core.formatting import (
    abbrev,
    finite,
    fmt_number,
    fmt_param,
    lower_is_better,
    main_metric,
    status_word,
)

_LAYER_KEY = re.compile(r"^layers\.(\d+)\.(.+)$")
_SECTIONS = ("compile", "fit", "data", "experiment", "hidden")
_WORDS = {
    "kernel_initializer": "init",
    "bias_initializer": "bias_init",
    "activation": "act",
    "learning_rate": "lr",
    "batch_size": "batch",
    "kernel_regularizer": "reg",
    "bias_regularizer": "bias_reg",
    "activity_regularizer": "act_reg",
    "kernel_constraint": "constraint",
    "validation_split": "val_split",
    "standardize": "scaling",
    "early_stopping": "early",
}


@dataclass(frozen=True)
class Column:
    """A table column: its key (as JSON names it), a title and a short title."""

    key: str
    title: str
    short: str
    numeric: bool = True


@dataclass(frozen=True)
class Curve:
    """One entry's line: label, epochs, values."""

    label: str
    xs: list[int]
    ys: list[float]


def short_setting(key: str) -> str:
    """A setting's short name for a narrow column (``layers.0.units`` -> ``l0.units``)."""
    parts = key.split(".")
    if parts[0] == "layers" and len(parts) > 2:
        parts = [f"l{parts[1]}", *parts[2:]]
    elif parts[0] in _SECTIONS and len(parts) > 1:
        parts = parts[1:]
    return ".".join(_WORDS.get(p, p) for p in parts)


def _dense_indices(entry: Entry) -> set[str]:
    return {
        m.group(1)
        for key, value in entry.settings.items()
        if (m := _LAYER_KEY.match(key)) and m.group(2) == "type" and value == "dense"
    }


def differing_settings(entries: Sequence[Entry]) -> dict[str, str]:
    """Settings whose values differ between entries: shown name -> the first path it covers.

    Paths of several layers that always hold the same values are one setting: ``hidden.<key>``
    when they are every Dense layer's, else ``layers.0,2.<key>``.
    """
    keys = list(dict.fromkeys(k for e in entries for k in e.settings))
    vectors = {k: tuple(repr(e.settings.get(k)) for e in entries) for k in keys}
    differing = [k for k in keys if len(set(vectors[k])) > 1]
    dense = [_dense_indices(e) for e in entries]
    out: dict[str, str] = {}
    used: set[str] = set()
    for key in differing:
        if key in used:
            continue
        match = _LAYER_KEY.match(key)
        if match is None:
            out[key] = key
            continue
        rest = match.group(2)
        group = [
            k
            for k in differing
            if (m := _LAYER_KEY.match(k)) and m.group(2) == rest and vectors[k] == vectors[key]
        ]
        used.update(group)
        indices = {str(_LAYER_KEY.match(k).group(1)) for k in group}  # type: ignore[union-attr]
        if len(group) > 1 and all(indices == d for d in dense):
            name = f"hidden.{rest}"
        elif len(group) > 1:
            name = f"layers.{','.join(sorted(indices, key=int))}.{rest}"
        else:
            name = key
        out[name] = key
    return out


def _history_names(entries: Sequence[Entry]) -> list[str]:
    return list(dict.fromkeys(k for e in entries for row in e.history for k in row))


def choose_metric(entries: Sequence[Entry], wanted: str | None) -> tuple[str, str]:
    """(the metric to tabulate, the history column to plot) for ``--metric wanted``.

    By default the main metric (``accuracy``, ``mae``) and its validation curve; ``val_loss``
    tabulates the loss and plots its validation curve, ``loss`` its training curve.
    """
    names = _history_names(entries)
    if wanted is None:
        metric = main_metric([{k: 0.0 for k in names}]) or "loss"
        plotted = f"val_{metric}" if f"val_{metric}" in names else metric
        return metric, plotted
    if wanted in names:
        return wanted.removeprefix("val_"), wanted
    if names:
        shown = ", ".join(names)
        raise NnxError(f"--metric {wanted!r}: not recorded by these runs (they have: {shown})")
    return wanted.removeprefix("val_"), wanted


@dataclass
class Comparison:
    """Entries side by side; see the module docstring."""

    entries: list[Entry]
    metric: str
    plotted: str
    settings: dict[str, str]  # shown name -> path

    @classmethod
    def of(cls, entries: list[Entry], metric: str | None = None) -> Comparison:
        """Compare ``entries`` on ``metric`` (default: their main metric)."""
        chosen, plotted = choose_metric(entries, metric)
        return cls(entries, chosen, plotted, differing_settings(entries))

    # ------------------------------------------------------------------ numbers

    def gap(self, entry: Entry) -> float | None:
        """How much worse the metric is on validation than on training (last epoch)."""
        final = entry.final
        train, val = finite(final.get(self.metric)), finite(final.get(f"val_{self.metric}"))
        if train is None or val is None:
            return None
        return val - train if lower_is_better(self.metric) else train - val

    def values(self, entry: Entry) -> dict[str, Any]:
        """An entry's raw values by column key."""
        final = entry.final
        out: dict[str, Any] = {"run": entry.label}
        out.update({name: entry.settings.get(path) for name, path in self.settings.items()})
        out["final_" + self.metric] = final.get(self.metric)
        out["final_val_" + self.metric] = final.get(f"val_{self.metric}")
        out["gap_" + self.metric] = self.gap(entry)
        out["best_epoch"] = entry.best_epoch
        out["cv_score"] = entry.score
        for name in self._test_names():
            out["test_" + name] = entry.test.get(name)
        out["status"] = entry.status
        return out

    def _test_names(self) -> list[str]:
        names = [self.metric] + (["loss"] if self.metric != "loss" else [])
        return [n for n in names if any(n in e.test for e in self.entries)] or names[:1]

    # ------------------------------------------------------------------ the table

    def columns(self) -> list[Column]:
        """The table's columns, in order (status only when an entry did not complete)."""
        m = abbrev(self.metric)
        cols = [Column("run", "run", "run", numeric=False)]
        cols += [Column(n, n, short_setting(n), numeric=False) for n in self.settings]
        cols += [
            Column("final_" + self.metric, f"train {m}", f"tr {m}"),
            Column("final_val_" + self.metric, f"val {m}", f"val {m}"),
            Column("gap_" + self.metric, "gap", "gap"),
            Column("best_epoch", "best epoch", "best"),
        ]
        if any(e.score is not None for e in self.entries):
            cols.append(Column("cv_score", "cv score", "cv"))
        cols += [
            Column("test_" + n, f"test {abbrev(n)}", f"test {abbrev(n)}")
            for n in self._test_names()
        ]
        if any(e.status != "completed" for e in self.entries):
            cols.append(Column("status", "status", "status", numeric=False))
        return cols

    def rows(self) -> list[list[str]]:
        """The table's cells as text, one row per entry."""
        columns = self.columns()
        return [
            [self._cell(c.key, self.values(e).get(c.key), e) for c in columns] for e in self.entries
        ]

    def _cell(self, key: str, value: Any, entry: Entry) -> str:
        if key == "status":
            return status_word(str(value))
        if key.startswith("gap_"):
            return "-" if value is None else f"{value:+.3g}"
        if key in self.settings or key == "run":
            if isinstance(value, tuple):
                return ",".join(fmt_param(v) for v in value)
            return fmt_param(value)
        return fmt_number(value)

    def layout(self, width: int, pad: int = 2) -> tuple[list[int], bool]:
        """The columns (by position) that fit ``width``, and whether with short titles.

        Full titles when every column fits (each column takes ``pad`` more); else short ones;
        else the settings are left out (to be shown elsewhere) and the rest keep short titles.
        """
        columns = self.columns()
        rows = self.rows()
        every = list(range(len(columns)))
        for short in (False, True):
            titles = [c.short if short else c.title for c in columns]
            widths = [max([len(t), *(len(r[i]) for r in rows)]) for i, t in enumerate(titles)]
            if sum(w + pad for w in widths) <= width:
                return every, short
        return [i for i, c in enumerate(columns) if c.key not in self.settings], True

    # ------------------------------------------------------------------ curves and records

    def curves(self, name: str | None = None) -> list[Curve]:
        """Each entry's ``name`` curve (default: the plotted one), entries without it left out."""
        name = name or self.plotted
        out = []
        for entry in self.entries:
            points = [
                (epoch, v)
                for epoch, row in enumerate(entry.history, start=1)
                if (v := finite(row.get(name))) is not None
            ]
            if points:
                out.append(Curve(entry.label, [p[0] for p in points], [p[1] for p in points]))
        return out

    def to_json(self) -> dict[str, Any]:
        """The comparison as plain data: ``{"metric", "plotted", "differing", "runs": [...]}``."""
        runs = []
        for entry in self.entries:
            metrics: dict[str, Any] = {f"final_{k}": v for k, v in entry.final.items()}
            metrics.update({f"test_{k}": v for k, v in entry.test.items()})
            metrics[f"gap_{self.metric}"] = self.gap(entry)
            if entry.score is not None:
                metrics["cv_score"] = entry.score
            runs.append(
                {
                    "run": entry.ref,
                    "label": entry.label,
                    "run_dir": str(entry.run_dir),
                    "name": entry.name,
                    "kind": entry.kind,
                    "number": entry.number,
                    "status": entry.status,
                    "reason": entry.reason,
                    "params": {n: entry.settings.get(p) for n, p in self.settings.items()},
                    "grid_params": dict(entry.params),
                    "metrics": metrics,
                    "best_epoch": entry.best_epoch,
                    "epochs": len(entry.history),
                    "history": entry.history,
                }
            )
        data = {
            "metric": self.metric,
            "plotted": self.plotted,
            "differing": list(self.settings),
            "runs": runs,
        }
        return json_safe(data)
