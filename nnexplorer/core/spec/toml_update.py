"""Re-save a preset file without losing what its author wrote around the values.

:func:`updated_toml` edits the file's TOML document (read with tomlkit) in place: a value that
did not change keeps its line, its comment and its spelling (``1e-4`` stays ``1e-4``, a
relative data path stays relative); a changed value is replaced where it stands; a new key is
added at the end of its table; a key that no longer applies is removed. Tables and ``[[layers]]``
keep their order.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any

import tomlkit
from tomlkit.items import AoT, Table


def updated_toml(text: str, old: dict[str, Any], new: dict[str, Any]) -> str:
    """``text`` (a preset that loads as ``old``) changed to hold ``new``.

    ``old`` and ``new`` are plain preset dicts (as :func:`~.applicable.applicable` gives them);
    only where they differ is the document touched, and keys of the document missing from
    ``new`` are removed.
    """
    doc = tomlkit.parse(text)
    _merge(doc, old, new, depth=0)
    return tomlkit.dumps(doc)


def _merge(
    node: MutableMapping[str, Any], old: dict[str, Any], new: dict[str, Any], depth: int
) -> None:
    for key in [k for k in node if k not in new]:
        del node[key]
    for key, value in new.items():
        current = node.get(key)
        before = old.get(key)
        if isinstance(value, dict) and isinstance(current, MutableMapping):
            _merge(current, before if isinstance(before, dict) else {}, value, depth + 1)
        elif _is_table_list(value) and isinstance(current, AoT):
            _merge_tables(current, before if isinstance(before, list) else [], value, depth)
        elif key in old and before == value:
            continue  # unchanged: the document holds it as written (or leaves the default out)
        elif isinstance(value, dict) and isinstance(before, dict) and key not in node:
            table = _item(key, {}, depth)  # a table the document left to its defaults:
            _merge(table, before, value, depth + 1)  # write only what differs from them
            _add(node, key, table)
        elif key in node:
            node[key] = _item(key, value, depth)
        else:
            _add(node, key, _item(key, value, depth))


def _add(node: MutableMapping[str, Any], key: str, item: Any) -> None:
    """Add ``key`` after the table's last value, before comments that lead to the next table."""
    if isinstance(node, Table) and not isinstance(item, Table | AoT):
        body = node.value.body
        keyed = [k for k, v in body if k is not None and not isinstance(v, Table | AoT)]
        if keyed and body[-1][0] is None:
            try:
                node.value._insert_after(keyed[-1], key, item)
                dict.__setitem__(node, key, node.value[key])
                return
            except Exception:
                pass
    node[key] = item


def _merge_tables(tables: AoT, old: list[Any], new: list[dict[str, Any]], depth: int) -> None:
    for index, value in enumerate(new):
        if index < len(tables):
            before = old[index] if index < len(old) and isinstance(old[index], dict) else {}
            _merge(tables[index], before, value, depth + 1)
        else:
            tables.append(_table(value, depth + 1))
    while len(tables) > len(new):
        del tables[-1]


def _is_table_list(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, dict) for v in value)


def _item(key: str, value: Any, depth: int) -> Any:
    """A new value as a preset writes it: sections and ``[grid.params]`` as tables, layers as
    ``[[layers]]``, any other table inline."""
    if isinstance(value, dict):
        if depth == 0 or (depth == 1 and key == "params"):
            return _table(value, depth)
        inline = tomlkit.inline_table()
        inline.update(value)
        return inline
    if depth == 0 and _is_table_list(value):
        tables = tomlkit.aot()
        for entry in value:
            tables.append(_table(entry, depth + 1))
        return tables
    return tomlkit.item(value)


def _table(value: dict[str, Any], depth: int) -> Table:
    table = tomlkit.table()
    for key, entry in value.items():
        table[key] = _item(key, entry, depth + 1)
    return table
