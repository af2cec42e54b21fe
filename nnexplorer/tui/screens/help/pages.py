"""The help pages: Markdown files shipped in this package, one folder per language.

``<lang>/index.toml`` lists the topics in order with their titles; ``<lang>/<topic>.md`` holds a
page. A language folder may translate only some pages: the others fall back to English.
"""

from __future__ import annotations

import tomllib
from functools import cache
from importlib.resources import files
from importlib.resources.abc import Traversable

DEFAULT_LANG = "en"
INDEX = "index.toml"


def _folder(lang: str) -> Traversable:
    return files(__package__) / lang


def languages() -> tuple[str, ...]:
    """The languages that have help pages (folders with an index)."""
    return tuple(
        sorted(d.name for d in files(__package__).iterdir() if d.is_dir() and (d / INDEX).is_file())
    )


@cache
def topic_titles(lang: str = DEFAULT_LANG) -> dict[str, str]:
    """Topic key -> title, in the order the help lists them."""
    folder = _folder(lang if lang in languages() else DEFAULT_LANG)
    index = tomllib.loads(folder.joinpath(INDEX).read_text(encoding="utf-8"))
    return {str(key): str(title) for key, title in index["topics"].items()}


@cache
def page(topic: str, lang: str = DEFAULT_LANG) -> str:
    """The Markdown of ``topic`` in ``lang`` (English when that language lacks the page)."""
    for folder in (_folder(lang), _folder(DEFAULT_LANG)):
        source = folder / f"{topic}.md"
        if source.is_file():
            return source.read_text(encoding="utf-8")
    raise KeyError(f"no help page {topic!r}")
