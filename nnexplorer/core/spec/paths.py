"""Dotted key paths into a preset: ``--set`` overrides and grid parameters (and, re-exported
from :mod:`.messages`, error locations and messages).

Paths look like ``fit.epochs``, ``layers.0.units`` (or ``layers[0].units``), and two
shorthands that reach every layer of a kind: ``hidden.<key>`` (every Dense layer) and
``dropout.rate`` (every Dropout layer). ``hidden.count`` sets the number of hidden Dense layers,
repeating the last Dense layer (with the Dropout that follows it) as a template. The grid key
``setup`` names a setup of ``[grid.setups]``: several settings applied together.
"""

from __future__ import annotations

import copy
import re
import tomllib
from typing import Any

from nnexplorer.core import vocab
from nnexplorer.core.errors import ErrorItem, SpecError, excerpt
from nnexplorer.core.spec.messages import format_loc as format_loc
from nnexplorer.core.spec.messages import pydantic_items as pydantic_items
from nnexplorer.core.spec.messages import toml_kind as toml_kind
from nnexplorer.core.spec.messages import wrong_type as wrong_type

MAX_LAYERS = 200  # layers an experiment may have (``hidden.count`` is checked before expanding)
SETUP_KEY = "setup"  # the grid key whose values name setups of ``[grid.setups]``

# scikeras routing names and short names accepted as grid keys, with the spec path they set.
GRID_ALIASES: dict[str, str] = {
    "optimizer": "compile.optimizer",
    "learning_rate": "compile.learning_rate",
    "optimizer__learning_rate": "compile.learning_rate",
    "optimizer__momentum": "compile.momentum",
    "optimizer__nesterov": "compile.nesterov",
    "optimizer__rho": "compile.rho",
    "optimizer__beta_1": "compile.beta_1",
    "optimizer__beta_2": "compile.beta_2",
    "optimizer__weight_decay": "compile.weight_decay",
    "momentum": "compile.momentum",
    "loss": "compile.loss",
    "batch_size": "fit.batch_size",
    "epochs": "fit.epochs",
    "units": "hidden.units",
    "activation": "hidden.activation",
    "kernel_initializer": "hidden.kernel_initializer",
    "init": "hidden.kernel_initializer",
    "n_hidden": "hidden.count",
    "hidden_layers": "hidden.count",
    "dropout": "dropout.rate",
    "dropout_rate": "dropout.rate",
    "l1": "hidden.kernel_regularizer.l1",
    "l2": "hidden.kernel_regularizer.l2",
    "max_norm": "hidden.kernel_constraint.max_norm",
}
for _alias, _target in list(GRID_ALIASES.items()):
    if not _alias.startswith("model__") and _target.startswith(("hidden.", "dropout.")):
        GRID_ALIASES[f"model__{_alias}"] = _target

# Spec paths that scikeras itself takes as estimator parameters, by their scikeras names
# (the optimizer's options follow as ``optimizer__<option>``).
SCIKERAS_PARAMS: dict[str, str] = {
    "fit.batch_size": "batch_size",
    "fit.epochs": "epochs",
    "fit.shuffle": "shuffle",
    "compile.optimizer": "optimizer",
    "compile.loss": "loss",
    "compile.learning_rate": "optimizer__learning_rate",
}


def canonical_key(key: str) -> str:
    """The spec path a grid/override key means (``layers[0].units`` is ``layers.0.units``)."""
    key = re.sub(r"\[(\d+)\]", r".\1", key.strip())
    return GRID_ALIASES.get(key, key)


def scikeras_param(path: str) -> str | None:
    """The scikeras estimator parameter that sets the spec ``path``; None when there is none.

    ``compile.learning_rate`` -> ``optimizer__learning_rate``, ``fit.epochs`` -> ``epochs``.
    Only where scikeras (or a person reading scikeras code) needs a grid key are names
    translated; the engine keeps canonical spec paths.
    """
    if path in SCIKERAS_PARAMS:
        return SCIKERAS_PARAMS[path]
    head, _, option = path.partition(".")
    if head == "compile" and option in vocab.ALL_OPTIMIZER_OPTIONS:
        return f"optimizer__{option}"
    return None


# --------------------------------------------------------------------------- setting values


def parse_value(text: str) -> Any:
    """A value as TOML reads it (``5``, ``1e-3``, ``true``, ``[1, 2]``), else the plain string.

    An integer too long to read (Python reads at most 4300 digits) is a ValueError.
    """
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text
    except ValueError:
        raise ValueError(huge_integer_message(text)) from None


def huge_integer_message(text: str) -> str:
    """Why TOML text with an over-long integer cannot be read, with the line and key if found."""
    for number, line in enumerate(text.splitlines(), start=1):
        match = re.search(r"[0-9_]{4300,}", line)
        if match:
            digits = len(match.group().replace("_", ""))
            key = line[: match.start()].split("=")[0].strip(" \t[{,")
            where = f"line {number}" + (f" ({excerpt(key, 40)})" if key else "")
            return f"{where}: an integer of {digits} digits; numbers are at most 4300 digits long"
    return "an integer too long to read; numbers are at most 4300 digits long"


def _blocks(
    layers: list[dict[str, Any]],
) -> tuple[list[dict[str, Any]], list[list[dict[str, Any]]]]:
    """Split layers into a prefix (before the first Dense) and blocks of Dense + its Dropouts."""
    prefix: list[dict[str, Any]] = []
    blocks: list[list[dict[str, Any]]] = []
    for layer in layers:
        if layer.get("type", "dense") == "dense":
            blocks.append([layer])
        elif blocks:
            blocks[-1].append(layer)
        else:
            prefix.append(layer)
    return prefix, blocks


def _set_hidden_count(data: dict[str, Any], count: Any) -> None:
    if not isinstance(count, int) or isinstance(count, bool) or count < 0:
        raise ValueError(f"hidden.count must be a whole number >= 0, got {excerpt(count)}")
    if count > MAX_LAYERS:
        raise ValueError(f"hidden.count: got {excerpt(count)}; at most {MAX_LAYERS} layers")
    prefix, blocks = _blocks(data.setdefault("layers", []))
    template = blocks[-1] if blocks else [{"type": "dense"}]
    while len(blocks) < count:
        blocks.append(copy.deepcopy(template))
    data["layers"] = prefix + [layer for block in blocks[:count] for layer in block]


def _set_in(target: Any, parts: list[str], value: Any, shown: str) -> None:
    for index, part in enumerate(parts):
        last = index == len(parts) - 1
        if isinstance(target, list):
            if not part.isdigit() or int(part) >= len(target):
                raise ValueError(f"{shown}: no item {excerpt(part)} (there are {len(target)})")
            if last:
                target[int(part)] = value
            else:
                target = target[int(part)]
        elif isinstance(target, dict):
            if last:
                target[part] = value
            else:
                nxt = target.get(part)
                if not isinstance(nxt, dict | list):
                    nxt = target[part] = {}
                target = nxt
        else:
            raise ValueError(f"{shown}: {'.'.join(parts[:index])} is not a table")


def set_path(data: dict[str, Any], key: str, value: Any) -> None:
    """Set ``key`` (a dotted path or shorthand) to ``value`` in a preset dict, in place."""
    path = canonical_key(key)
    parts = path.split(".")
    if not path or any(not p for p in parts):
        raise ValueError(f"{excerpt(key)} is not a key path (e.g. fit.epochs or layers.0.units)")
    if parts[0] == "hidden" and len(parts) > 1:
        if parts[1:] == ["count"]:
            _set_hidden_count(data, value)
            return
        targets = [lay for lay in data.get("layers", []) if lay.get("type", "dense") == "dense"]
        if not targets:
            raise ValueError(f"{key}: the experiment has no Dense layer to set")
        for layer in targets:
            _set_in(layer, parts[1:], copy.deepcopy(value), key)
        return
    if parts[0] == "dropout" and len(parts) > 1:
        targets = [lay for lay in data.get("layers", []) if lay.get("type") == "dropout"]
        if not targets:
            raise ValueError(f"{key}: the experiment has no Dropout layer to set")
        for layer in targets:
            _set_in(layer, parts[1:], copy.deepcopy(value), key)
        return
    _set_in(data, parts, value, key)


def setup_settings(name: Any, setups: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The settings of the setup ``name`` (``grid.params.setup``); ValueError if none is."""
    if isinstance(name, str) and name in setups:
        return setups[name]
    defined = ", ".join(repr(n) for n in setups) or "none: add a [grid.setups] table"
    raise ValueError(f"unknown setup {excerpt(name)} (setups in [grid.setups]: {defined})")


def candidate_data(
    base: dict[str, Any],
    params: dict[str, Any],
    setups: dict[str, dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """A copy of ``base`` with grid ``params`` applied; ``hidden.count`` goes first.

    ``params[SETUP_KEY]`` names one of ``setups`` (``[grid.setups]``): its settings are applied
    first (its own ``hidden.count`` before the rest), then the other grid keys. When the
    optimizer changes, options that the new optimizer does not take are dropped, so that a grid
    over optimizers does not fail on, say, SGD's momentum.
    """
    data = copy.deepcopy(base)
    chosen = {k: v for k, v in params.items() if k != SETUP_KEY}
    steps: list[tuple[str, Any]] = []
    if SETUP_KEY in params:
        steps += _count_first(setup_settings(params[SETUP_KEY], setups or {}))
    steps += _count_first(chosen)
    for key, value in steps:
        set_path(data, key, value)
    compile_ = data.get("compile", {})
    given = {canonical_key(key) for key, _ in steps}
    if "compile.optimizer" in given and "optimizer" in compile_:
        own = set(vocab.OPTIMIZER_OPTIONS.get(compile_["optimizer"], ()))
        own |= set(vocab.COMMON_OPTIMIZER_OPTIONS)
        explicit = {path.removeprefix("compile.") for path in given}
        for option in set(vocab.ALL_OPTIMIZER_OPTIONS) - own - explicit:
            compile_.pop(option, None)
    return data


def _count_first(params: dict[str, Any]) -> list[tuple[str, Any]]:
    """``params`` as (key, value) pairs, ``hidden.count`` first (it adds or removes layers)."""
    return sorted(params.items(), key=lambda kv: canonical_key(kv[0]) != "hidden.count")


class OverrideError(ValueError):
    """A ``--set KEY=VALUE`` that cannot be applied; ``item`` is the KEY=VALUE given."""

    def __init__(self, item: str, reason: str):
        super().__init__(f"--set {excerpt(item)}: {reason}")
        self.item = item
        self.reason = reason


SWEEP_OPTION = "--sweep"


def parse_sweep(item: str) -> tuple[str, list[Any]]:
    """``KEY=VALUES`` of ``--sweep`` as (key, values); raises SpecError naming the key path.

    VALUES is a TOML list (``[1e-3, 1e-2]``, ``["relu", "tanh"]``) of at least one value.
    """
    key, sep, text = item.partition("=")
    key = key.strip()
    if not sep or not key:
        message = f"expected KEY=VALUES with VALUES a TOML list, got {item!r}"
        example = "e.g. --sweep 'compile.learning_rate=[1e-3, 1e-2]'"
        raise SpecError.from_items([ErrorItem(f"{message} ({example})", SWEEP_OPTION)])
    where = f"{SWEEP_OPTION} {key}"
    values = parse_value(text.strip())
    if not isinstance(values, list):
        shown = text.strip() or "nothing"
        message = f'VALUES must be a TOML list such as [1, 2] or ["relu", "tanh"], got {shown}'
        raise SpecError.from_items([ErrorItem(message, where)])
    if not values:
        raise SpecError.from_items([ErrorItem("give at least one value", where)])
    return key, values


def apply_sweeps(data: dict[str, Any], sweeps: list[str]) -> dict[str, Any]:
    """A copy of ``data`` whose ``[grid]`` sweeps the ``--sweep KEY=VALUES`` items instead.

    The grid's other settings (``n_jobs``) stay; its ``params`` become the swept keys, and
    ``search`` becomes ``sweep``. Raises SpecError (key path ``--sweep KEY``) on bad syntax.
    """
    params: dict[str, list[Any]] = {}
    for item in sweeps:
        key, values = parse_sweep(item)
        if key in params:
            where = f"{SWEEP_OPTION} {key}"
            raise SpecError.from_items([ErrorItem("given twice; give each key once", where)])
        params[key] = values
    out = copy.deepcopy(data)
    grid = out.get("grid")
    grid = dict(grid) if isinstance(grid, dict) else {}
    grid.update(search="sweep", params=params)
    out["grid"] = grid
    return out


def sweep_paths(items: list[ErrorItem], keys: list[str]) -> list[ErrorItem]:
    """Problems of swept keys named as the command line wrote them (``--sweep KEY[i] -> ...``)."""
    out = []
    for item in items:
        path = item.path
        for key in sorted(keys, key=len, reverse=True):
            where = f"grid.params.{key}"
            if path == where or path.startswith((where + "[", where + " ")):
                path = f"{SWEEP_OPTION} {key}{path[len(where) :]}"
                break
        out.append(ErrorItem(item.message, path, item.file))
    return out


def apply_overrides(data: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    """A copy of ``data`` with ``KEY=VALUE`` overrides applied; OverrideError on a bad one."""
    out = copy.deepcopy(data)
    for item in overrides:
        key, sep, text = item.partition("=")
        if not sep or not key.strip():
            raise OverrideError(item, "expected KEY=VALUE (e.g. fit.epochs=5)")
        try:
            set_path(out, key.strip(), parse_value(text.strip()))
        except ValueError as exc:
            raise OverrideError(item, str(exc)) from None
    return out


def _dotted(path: str) -> str:
    """An error's key path as a dotted path (``layers[0].units`` -> ``layers.0.units``)."""
    head = path.split(" -> ")[0]
    return re.sub(r"\[(\d+)\]", r".\1", head)


def override_for(path: str, overrides: list[str]) -> str | None:
    """The ``KEY=VALUE`` among ``overrides`` that set the key an error's ``path`` names."""
    where = _dotted(path)
    found = None
    for item in overrides:
        key = canonical_key(item.partition("=")[0])
        if key.startswith(("hidden.", "dropout.")):
            rest = "" if key == "hidden.count" else re.escape(key[key.index(".") :])
            pattern = r"layers\.\d+" + rest
            hit = re.match(pattern + r"(\.|$)", where) is not None or where == "layers"
        else:
            hit = where == key or where.startswith(key + ".") or key.startswith(where + ".")
        if hit:
            found = item  # the last one wins, as it does when they are applied
    return found
