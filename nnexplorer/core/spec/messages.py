"""Readable errors for a preset: pydantic's locations as key paths, and one message per problem
naming what is allowed (values quoted as short excerpts)."""

from __future__ import annotations

import types
import typing
from typing import Any

from pydantic import BaseModel, ValidationError

from nnexplorer.core import vocab
from nnexplorer.core.errors import ErrorItem, excerpt

_LAYER_TAGS = ("dense", "dropout")


def format_loc(loc: tuple[Any, ...]) -> str:
    """A pydantic location as a key path, e.g. ``layers[2].kernel_regularizer.l2``."""
    out = ""
    previous: Any = None
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif isinstance(previous, int) and part in _LAYER_TAGS:
            pass  # the discriminator tag pydantic inserts after a layer index
        elif part in ("function-after", "function-before", "function-plain"):
            pass
        else:
            out += f".{part}" if out else str(part)
        previous = part
    return out


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    """The pydantic models an annotation can hold (through Optional, list, Annotated, unions)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _models_in(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType, list, dict):
        found: list[type[BaseModel]] = []
        for arg in typing.get_args(annotation):
            found.extend(_models_in(arg))
        return found
    return []


def _model_at(root: type[BaseModel], loc: tuple[Any, ...]) -> type[BaseModel] | None:
    """The model class that holds the last element of ``loc``."""
    candidates: list[type[BaseModel]] = [root]
    for part in loc:
        if isinstance(part, int):
            continue
        tagged = [
            c for c in candidates if getattr(c.model_fields.get("type"), "default", None) == part
        ]
        if tagged:
            candidates = tagged
            continue
        owner = next((c for c in candidates if part in c.model_fields), None)
        if owner is None:
            return candidates[0] if len(candidates) == 1 else None
        candidates = _models_in(owner.model_fields[part].annotation)
        if not candidates:
            return None
    return None


def _allowed_keys(root: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    model = _model_at(root, loc)
    return list(model.model_fields) if model else []


# The TOML type a pydantic type error asks for.
_EXPECTED = {
    "int_type": "an integer",
    "float_type": "a number",
    "bool_type": "true or false",
    "string_type": "a string",
    "list_type": "a list",
    "dict_type": "a table",
    "model_type": "a table",
    "model_attributes_type": "a table",
}
# The location tags pydantic adds for the members of a union such as ``str | int``.
_UNION_MEMBERS = {
    "str": "string_type",
    "int": "int_type",
    "float": "float_type",
    "bool": "bool_type",
}


def toml_kind(value: Any) -> str:
    """What a value read from TOML is: ``a string``, ``an integer``, ``a table``, ..."""
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list | tuple):
        return "a list"
    return "a date or time" if hasattr(value, "isoformat") else f"a {type(value).__name__}"


def wrong_type(got: Any, expected: str) -> str:
    """``got '64' (a string); must be an integer``: a value of the wrong TOML type."""
    if isinstance(got, dict | list | tuple):
        return f"must be {expected}, got {toml_kind(got)}"
    shown = ("true" if got else "false") if isinstance(got, bool) else excerpt(got)
    return f"got {shown} ({toml_kind(got)}); must be {expected}"


def _merge_unions(errors: list[Any]) -> list[Any]:
    """One type error for a value that fits no member of a union (``str | int``)."""
    merged: list[Any] = []
    for error in errors:
        loc = tuple(error["loc"])
        member = _UNION_MEMBERS.get(str(loc[-1])) if loc else None
        if member is None or error["type"] != member:
            merged.append(error)
            continue
        previous = merged[-1] if merged else None
        if previous is not None and previous.get("union_loc") == loc[:-1]:
            previous["expected"].append(_EXPECTED[member])
            continue
        merged.append(
            {**error, "loc": loc[:-1], "union_loc": loc[:-1], "expected": [_EXPECTED[member]]}
        )
    return merged


def _message(error: Any, root: type[BaseModel]) -> str:
    kind = error["type"]
    got = error.get("input")
    loc = tuple(error["loc"])
    msg = str(error["msg"])
    if kind == "extra_forbidden":
        allowed = _allowed_keys(root, loc)
        hint = vocab.suggest(str(loc[-1]), allowed)
        listing = f" (allowed: {', '.join(allowed)})" if allowed else ""
        return f"unknown key {excerpt(str(loc[-1]))}{hint}{listing}"
    if kind == "missing":
        return "missing required key"
    if kind == "union_tag_invalid":
        return vocab.not_allowed("layer type", error["ctx"]["tag"], _LAYER_TAGS)
    if kind == "union_tag_not_found":
        return f"missing key 'type' (allowed: {', '.join(_LAYER_TAGS)})"
    if kind == "value_error":
        return msg.removeprefix("Value error, ")
    if kind == "literal_error":
        expected = error.get("ctx", {}).get("expected", "")
        return f"got {excerpt(got)}; allowed: {expected}"
    if "expected" in error:  # a merged union
        return wrong_type(got, " or ".join(error["expected"]))
    if kind in _EXPECTED:
        return wrong_type(got, _EXPECTED[kind])
    text = msg[0].lower() + msg[1:] if msg else kind
    text = text.replace("input should be", "must be")
    if isinstance(got, dict | list) and kind.endswith("_type"):
        return f"{text}, got a {type(got).__name__ if not isinstance(got, dict) else 'table'}"
    return f"got {excerpt(got)}; {text}"


def pydantic_items(exc: ValidationError, root: type[BaseModel]) -> list[ErrorItem]:
    """One :class:`ErrorItem` per pydantic error, with key path and a readable message."""
    items = []
    for error in _merge_unions(list(exc.errors(include_url=False))):
        items.append(ErrorItem(_message(error, root), format_loc(tuple(error["loc"]))))
    return items
