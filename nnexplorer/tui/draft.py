"""The experiment being edited: a preset dict that may be invalid while the user types.

The editor panes post edits (key path + value); the app applies them here and asks for the
problems, which come from :func:`nnexplorer.core.spec.validate_spec` (the same rules and messages
as loading a preset file), plus a data source that cannot be read (a missing file, an empty
keras cache: :func:`nnexplorer.core.availability.source_problem`).
"""

from __future__ import annotations

import copy
import re
from typing import Any

from nnexplorer.core.availability import source_problem
from nnexplorer.core.errors import SpecError
from nnexplorer.core.spec import ExperimentSpec, validate_spec
from nnexplorer.core.spec.applicable import applicable
from nnexplorer.core.spec.paths import canonical_key, set_path

SOURCE = "data.source"


def remove_path(data: dict[str, Any], path: str) -> None:
    """Remove the key at ``path`` (dotted, ``layers.0.units``) and any tables left empty."""
    parts = canonical_key(path).split(".")
    trail: list[tuple[Any, Any]] = []
    node: Any = data
    for part in parts[:-1]:
        key: Any = int(part) if isinstance(node, list) and part.isdigit() else part
        try:
            child = node[key]
        except (KeyError, IndexError, TypeError):
            return
        trail.append((node, key))
        node = child
    if isinstance(node, dict):
        node.pop(parts[-1], None)
    # tables such as kernel_regularizer = {} mean something else than no table: drop them
    while trail and node == {}:
        parent, key = trail.pop()
        if isinstance(parent, dict):
            parent.pop(key)
        node = parent


def apply_path(data: dict[str, Any], path: str, value: Any) -> None:
    """Set ``path`` to ``value`` in ``data``; None removes the key. Raises ValueError."""
    if value is None:
        remove_path(data, path)
    else:
        set_path(data, path, copy.deepcopy(value))


def problem_key(path: str) -> str:
    """A problem path in dotted form: ``layers[2].units`` -> ``layers.2.units``."""
    return re.sub(r"\[(\d+)\]", r".\1", path)


class Draft:
    """An editable copy of a preset dict, with its validation problems."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.data: dict[str, Any] = copy.deepcopy(data)
        self._path_errors: dict[str, str] = {}
        self._result: ExperimentSpec | SpecError | None = None
        self._source_problem: str | None = None

    @classmethod
    def from_spec(cls, spec: ExperimentSpec) -> Draft:
        """The draft of ``spec``: the keys that apply to it (no zero factor shows as ``0.0``,
        no option of another source), as a saved preset holds them."""
        return cls(applicable(spec.to_dict()))

    def _changed(self) -> None:
        self._result = None

    def apply(self, path: str, value: Any) -> bool:
        """Set one value (None removes the key); False if the path cannot be set."""
        self._changed()
        try:
            apply_path(self.data, path, value)
        except ValueError as exc:
            self._path_errors[path] = str(exc)
            return False
        self._path_errors.pop(path, None)
        return True

    def set_layers(self, layers: list[dict[str, Any]]) -> None:
        """Replace the whole ``[[layers]]`` list."""
        self._changed()
        self.data["layers"] = copy.deepcopy(layers)
        self._path_errors = {
            k: v for k, v in self._path_errors.items() if not k.startswith("layers.")
        }

    def set_grid(self, grid: dict[str, Any] | None) -> None:
        """Replace the ``[grid]`` table; None removes it."""
        self._changed()
        if grid is None:
            self.data.pop("grid", None)
        else:
            self.data["grid"] = copy.deepcopy(grid)

    def _validate(self) -> ExperimentSpec | SpecError:
        if self._result is None:
            try:
                self._result = validate_spec(self.data)
            except SpecError as exc:
                self._result = exc
            data = self.data.get("data")
            self._source_problem = source_problem(data if isinstance(data, dict) else {})
        return self._result

    def problems(self) -> dict[str, str]:
        """Every problem by key path (``layers[2].units``); ``""`` holds whole-spec problems."""
        found: dict[str, str] = {}
        result = self._validate()
        if isinstance(result, SpecError):
            for item in result.items:
                found[item.path] = (
                    f"{found[item.path]}; {item.message}" if item.path in found else item.message
                )
        for path, message in self._path_errors.items():
            found.setdefault(path, message)
        if self._source_problem and SOURCE not in found:
            found[SOURCE] = self._source_problem  # a file or cache that is not there
        return found

    def spec(self) -> ExperimentSpec | None:
        """The valid experiment, or None while there are problems."""
        result = self._validate()
        if isinstance(result, SpecError) or self._path_errors or self._source_problem:
            return None
        return result

    def first_problem_path(self) -> str | None:
        """The key path of the first problem (``""`` for a whole-spec one), None when valid."""
        return next(iter(self.problems()), None)

    def first_problem(self) -> str | None:
        """``<key path>: <message>`` of the first problem, or None when the draft is valid."""
        for path, message in self.problems().items():
            return f"{path}: {message}" if path else message
        return None
