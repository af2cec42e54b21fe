"""F1 help: the screen, and the Markdown pages it shows (package data, one folder per language)."""

from nnexplorer.tui.screens.help.pages import DEFAULT_LANG, languages, page, topic_titles
from nnexplorer.tui.screens.help.screen import HelpScreen

__all__ = ["DEFAULT_LANG", "HelpScreen", "languages", "page", "topic_titles"]
