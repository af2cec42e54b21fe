"""``nnexplorer help`` and ``nnexplorer lessons``: the explorer's concept help and lessons,
printed for a terminal or a pipe.

On a terminal a page is Rich Markdown (colour, tables, bullets) at most 100 columns wide; in a pipe
it is plain text fitted to ``$COLUMNS`` (else 80): headings underlined, no trailing spaces, no
runs of blank lines.
"""

from __future__ import annotations

import io
import re
from typing import ClassVar

from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.markdown import Heading, Markdown
from rich.table import Table
from rich.text import Text

from nnexplorer.core.help import lessons, sections

MAX_WIDTH = 100  # longer lines are hard to read


class _Heading(Heading):
    """Headings on the left; in plain text underlined (``===`` for h1, ``---`` below)."""

    LEVEL_ALIGN: ClassVar = dict.fromkeys(("h1", "h2", "h3", "h4", "h5", "h6"), "left")

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        text = self.text.copy()
        text.justify = "left"
        if console.color_system is None:
            yield Text(text.plain)
            yield Text(("=" if self.tag == "h1" else "-") * min(text.cell_len, options.max_width))
        else:
            yield text


class _Markdown(Markdown):
    elements: ClassVar = {**Markdown.elements, "heading_open": _Heading}


def topics_table(lang: str) -> Table:
    """Every topic with its title, in sections."""
    table = Table(box=None, show_header=False, pad_edge=False, padding=(0, 2, 0, 0))
    table.add_column("topic", no_wrap=True, style="bold cyan")
    table.add_column("title")
    for number, section in enumerate(sections(lang)):
        if number:
            table.add_row("", "")
        table.add_row(Text(section.title, style="bold"), "")
        for key, title in section.topics.items():
            table.add_row(f"  {key}", title)
    return table


# the line under the topic list, in each language
LIST_HINT = {
    "en": "nnexplorer help TOPIC shows one (add --lang es for Spanish).",
    "es": "nnexplorer help TEMA muestra uno (con --lang en, en inglés).",
}


def print_topics(lang: str, console: Console) -> None:
    """The topic list and how to open one."""
    _print(Group(topics_table(lang), Text(""), Text(LIST_HINT.get(lang, LIST_HINT["en"]))), console)


def lessons_table(lang: str) -> Table:
    """Every lesson with its goal, in teaching order."""
    table = Table(box=None, show_header=False, pad_edge=False, padding=(0, 2, 0, 0))
    table.add_column("lesson", no_wrap=True, style="bold cyan")
    table.add_column("goal")
    for lesson in lessons(lang):
        table.add_row(lesson.name, lesson.goal)
    return table


# the lines under the lesson list, in each language
LESSONS_HINT = {
    "en": (
        "nnexplorer lessons NAME prints a lesson's notes; nnexplorer NAME opens it in the "
        "explorer (F8: its notes, F6: run it); nnexplorer run NAME --grid runs it headless."
    ),
    "es": (
        "nnexplorer lessons NOMBRE muestra las notas de una lección; nnexplorer NOMBRE la abre "
        "en el explorador (F8: sus notas, F6: ejecutarla); nnexplorer run NOMBRE --grid la "
        "ejecuta sin interfaz."
    ),
}
LESSONS_TITLE = {"en": "Lessons", "es": "Lecciones"}


def print_lessons(lang: str, console: Console) -> None:
    """The lesson list and how to read, open or run one."""
    title = Text(LESSONS_TITLE.get(lang, LESSONS_TITLE["en"]), style="bold")
    hint = Text(LESSONS_HINT.get(lang, LESSONS_HINT["en"]))
    _print(Group(title, lessons_table(lang), Text(""), hint), console)


def print_page(markdown: str, console: Console) -> None:
    """``markdown`` rendered for ``console``: Rich on a terminal, plain text elsewhere."""
    _print(_Markdown(markdown), console)


def _print(renderable: RenderableType, console: Console) -> None:
    if console.is_terminal and not console.is_dumb_terminal:
        console.width = min(console.width, MAX_WIDTH)
        console.print(renderable)
        return
    buffer = io.StringIO()
    plain = Console(file=buffer, width=console.width, color_system=None, force_terminal=False)
    plain.print(renderable)
    text = "\n".join(line.rstrip() for line in buffer.getvalue().splitlines())
    console.file.write(re.sub(r"\n{3,}", "\n\n", text).strip("\n") + "\n")
