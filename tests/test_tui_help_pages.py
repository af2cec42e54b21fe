"""The help pages: Markdown files shipped as package data, one folder per language."""

from __future__ import annotations

import fnmatch
import tomllib
from importlib.resources import files
from pathlib import Path

import pytest

from nnexplorer.tui.screens.help import DEFAULT_LANG, languages, page, topic_titles
from nnexplorer.tui.screens.main import EDITOR_PANES, VIEW_PANES

ROOT = Path(__file__).resolve().parent.parent
HELP_PACKAGE = "nnexplorer.tui.screens.help"


def test_every_pane_has_a_page_and_every_topic_a_markdown_file():
    titles = topic_titles()
    assert next(iter(titles)) == "overview"
    assert set(EDITOR_PANES + VIEW_PANES) <= set(titles)
    for topic in titles:
        assert page(topic).startswith("# "), topic
    assert DEFAULT_LANG in languages()


def test_a_language_without_a_page_falls_back_to_english():
    assert topic_titles("xx") == topic_titles(DEFAULT_LANG)
    assert page("layers", "xx") == page("layers")
    with pytest.raises(KeyError):
        page("no-such-topic")


def test_the_wheel_ships_every_help_file():
    globs = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"][
        "package-data"
    ][HELP_PACKAGE]
    folder = Path(str(files(HELP_PACKAGE)))
    shipped = [p for p in folder.rglob("*") if p.is_file() and p.suffix in (".md", ".toml")]
    assert len(shipped) > len(topic_titles())
    for path in shipped:
        relative = path.relative_to(folder).as_posix()
        assert any(fnmatch.fnmatch(relative, g) for g in globs), relative
