"""Text helpers for exported scripts: literals, calls laid out within 100 columns, functions.

The layout follows what ``ruff format`` produces: a call stays on one line when it fits, else
each argument goes on its own line with a trailing comma (which keeps the formatter from joining
it back).
"""

from __future__ import annotations

import json
import textwrap
from dataclasses import dataclass
from typing import Any

from nnexplorer.core.building import Recipe

WIDTH = 100
_STDLIB = {"contextlib", "csv", "gzip", "os", "struct", "sys"}
# Keyword arguments equal to Keras' own defaults, left out of the script to keep it short.
_DEFAULTS = {("layers.Dense", "use_bias"): True, ("constraints.MaxNorm", "axis"): 0}
_DEFAULT_KEYS = {"layers.Dense": ("use_bias",), "constraints.MaxNorm": ("axis",)}


@dataclass(frozen=True)
class Code:
    """A piece of code written as is (a variable name, a class reference)."""

    text: str


# --------------------------------------------------------------------------- expressions


def literal(value: Any) -> str:
    """A Python literal on one line (strings double-quoted)."""
    if isinstance(value, Code):
        return value.text
    if isinstance(value, Recipe):
        return _flat(_recipe_call(value))
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(literal(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{literal(k)}: {literal(v)}" for k, v in value.items()) + "}"
    return repr(value)


@dataclass(frozen=True)
class Call:
    """``opener item, item closer``: laid out on one line or one item per line."""

    opener: str
    items: tuple[Any, ...]  # str or Call
    closer: str = ")"


def _recipe_call(recipe: Recipe, prefix: str = "") -> Call:
    items: list[Any] = [item(a) for a in recipe.args]
    for key, value in recipe.kwargs.items():
        if _is_default(recipe.path, key, value):
            continue
        items.append(item(value, f"{key}="))
    return Call(f"{prefix}keras.{recipe.path}(", tuple(items))


def _is_default(path: str, key: str, value: Any) -> bool:
    if isinstance(value, Code):
        return False
    if key == "bias_initializer":
        return value == Recipe("initializers.Zeros")
    return key in _DEFAULT_KEYS.get(path, ()) and _DEFAULTS[(path, key)] == value


def item(value: Any, prefix: str = "") -> Any:
    if isinstance(value, Recipe):
        return _recipe_call(value, prefix)
    if isinstance(value, list) and any(isinstance(v, Recipe) for v in value):
        return Call(f"{prefix}[", tuple(item(v) for v in value), "]")
    return prefix + literal(value)


def _flat(node: Any) -> str:
    if isinstance(node, str):
        return node
    return node.opener + ", ".join(_flat(i) for i in node.items) + node.closer


def layout(node: Any, indent: int, offset: int = 0) -> str:
    """``node`` laid out within :data:`WIDTH` columns; its first line starts ``offset`` columns
    after ``indent`` (behind ``x = `` for instance), the lines after it at ``indent``."""
    flat = _flat(node)
    if isinstance(node, str) or indent + offset + len(flat) <= WIDTH:
        return flat
    pad = " " * (indent + 4)
    comma = "," if len(node.items) > 1 else ""
    lines = [node.opener]
    lines += [pad + layout(item, indent + 4) + comma for item in node.items]
    lines.append(" " * indent + node.closer)
    return "\n".join(lines)


def statement(opener: str, items: list[Any], indent: int = 4, closer: str = ")") -> str:
    """A call statement such as ``model.fit(...)``, laid out at ``indent``."""
    return " " * indent + layout(Call(opener, tuple(items), closer), indent)


def function(name: str, args: str, doc: str, body: list[str]) -> str:
    """A function; ``body`` holds statements already indented by four spaces."""
    docline = f'    """{doc}"""'
    if len(docline) > WIDTH:
        wrapped = textwrap.wrap(doc, WIDTH - 7)
        docline = '    """' + "\n    ".join(wrapped) + '\n    """'
    return "\n".join([f"def {name}({args}):", docline, *body])


def layer_statement(recipe: Recipe, indent: int = 4) -> str:
    """``model.add(keras.layers.X(...))`` on one line when it fits."""
    return statement("model.add(", [item(recipe)], indent)


def imports_block(lines: set[str]) -> str:
    """Import lines grouped (standard library, then the rest) and sorted as isort does."""

    def module(line: str) -> str:
        return line.split()[1]

    def name_key(name: str) -> tuple[int, str]:
        kind = 0 if name.isupper() and len(name) > 1 else (1 if name[0].isupper() else 2)
        return kind, name

    groups: list[list[str]] = []
    for std in (True, False):
        chosen = [ln for ln in lines if (module(ln).split(".")[0] in _STDLIB) == std]
        plain = sorted((ln for ln in chosen if ln.startswith("import ")), key=module)
        froms: dict[str, set[str]] = {}
        comments: dict[str, str] = {}
        for ln in chosen:
            if ln.startswith("from "):
                code, _, comment = ln.partition("  #")
                _, mod, _, names = code.split(maxsplit=3)
                froms.setdefault(mod, set()).update(n.strip() for n in names.split(","))
                if comment:
                    comments[mod] = "  #" + comment
        block = plain + [
            f"from {mod} import {', '.join(sorted(froms[mod], key=name_key))}"
            + comments.get(mod, "")
            for mod in sorted(froms)
        ]
        if block:
            groups.append(block)
    return "\n\n".join("\n".join(g) for g in groups)
