"""The help pages: Markdown files shipped in this package, one folder per language.

``<lang>/index.toml`` lists the topics in sections, in reading order, with their titles;
``<lang>/<topic>.md`` holds one page. Topic keys are the same in every language (a test checks
that each language has every page); a page a language lacks falls back to English.
"""

from __future__ import annotations

import tomllib
from functools import cache
from importlib.resources import files
from importlib.resources.abc import Traversable
from typing import NamedTuple

from nnexplorer.core.errors import NnxError
from nnexplorer.core.help._language import DEFAULT_LANG
from nnexplorer.core.vocab import suggest

INDEX = "index.toml"


class Section(NamedTuple):
    """A group of topics in the help's list: its title and topic key -> title, in order."""

    title: str
    topics: dict[str, str]


def _folder(lang: str) -> Traversable:
    return files(__package__) / lang


def languages() -> tuple[str, ...]:
    """The languages that have help pages (folders with an index)."""
    return tuple(
        sorted(d.name for d in files(__package__).iterdir() if d.is_dir() and (d / INDEX).is_file())
    )


@cache
def sections(lang: str = DEFAULT_LANG) -> tuple[Section, ...]:
    """The sections of the topic list in ``lang`` (English's when ``lang`` has no index)."""
    folder = _folder(lang if lang in languages() else DEFAULT_LANG)
    index = tomllib.loads(folder.joinpath(INDEX).read_text(encoding="utf-8"))
    return tuple(
        Section(str(s["title"]), {str(k): str(v) for k, v in s["topics"].items()})
        for s in index["sections"]
    )


def topic_titles(lang: str = DEFAULT_LANG) -> dict[str, str]:
    """Topic key -> title, in the order the help lists them."""
    return {key: title for section in sections(lang) for key, title in section.topics.items()}


@cache
def page(topic: str, lang: str = DEFAULT_LANG) -> str:
    """The Markdown of ``topic`` in ``lang`` (English when that language lacks the page)."""
    for folder in (_folder(lang), _folder(DEFAULT_LANG)):
        source = folder / f"{topic}.md"
        if source.is_file():
            return source.read_text(encoding="utf-8")
    raise KeyError(f"no help page {topic!r}")


def find_topic(name: str) -> str:
    """The topic key ``name`` means (case does not matter); NnxError with a suggestion if none."""
    topics = topic_titles()
    key = name.strip().lower()
    if key in topics:
        return key
    # "initialisation" -> init, "optim" -> optimizers: a key and a word that start alike
    alike = [t for t in topics if key and (t.startswith(key) or key.startswith(t))]
    hint = f"; did you mean '{alike[0]}'?" if len(alike) == 1 else suggest(key, topics)
    raise NnxError(f"unknown help topic {name!r}{hint} (`nnexplorer help` lists the topics)")
