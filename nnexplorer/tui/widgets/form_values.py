"""Lists of grid values as one line of text, and back: ``1e-3, 0.01`` <-> ``[0.001, 0.01]``."""

from __future__ import annotations

import json
import math
import re
from typing import Any

from nnexplorer.core.spec.paths import parse_value

_SPECIAL = re.compile(r"[,\"'\[\]{}=#]")
_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


def toml_value(value: Any, bare: bool = True) -> str:
    """``value`` as TOML writes it inline; with ``bare`` a plain word stays unquoted (``relu``)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(toml_value(v, False) for v in value) + "]"
    if isinstance(value, dict):
        items = ", ".join(f"{_key(k)} = {toml_value(v, False)}" for k, v in value.items())
        return "{ " + items + " }" if items else "{}"
    text = str(value)
    if (
        bare
        and text
        and text == text.strip()
        and not _SPECIAL.search(text)
        and parse_value(text) == text
    ):
        return text
    return json.dumps(text, ensure_ascii=False)


def _key(key: Any) -> str:
    text = str(key)
    return text if _BARE_KEY.match(text) else json.dumps(text, ensure_ascii=False)


def format_values(values: list[Any]) -> str:
    """A list of grid values as comma-separated text."""
    return ", ".join(toml_value(v) for v in values)


def split_values(text: str) -> list[str]:
    """Split at commas that are outside quotes, brackets and braces."""
    parts: list[str] = []
    depth = 0
    quote = ""
    current = ""
    escaped = False
    for char in text:
        if quote:
            current += char
            if escaped:
                escaped = False
            elif char == "\\" and quote == '"':
                escaped = True
            elif char == quote:
                quote = ""
            continue
        if char in "\"'":
            quote = char
        elif char in "[{":
            depth += 1
        elif char in "]}":
            depth -= 1
        elif char == "," and depth <= 0:
            parts.append(current)
            current = ""
            continue
        current += char
    parts.append(current)
    return [p.strip() for p in parts if p.strip()]


def parse_values(text: str) -> list[Any]:
    """Comma-separated text as typed values (numbers stay numbers, words stay words)."""
    return [parse_value(part) for part in split_values(text)]
