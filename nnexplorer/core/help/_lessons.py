"""The lessons: bundled presets that each show one concept, with their notes in every language.

``<lang>/lessons.toml`` lists the lessons in teaching order. Each ``[[lessons]]`` table has
``name`` (the bundled preset it opens), ``topic`` (the help page it illustrates), ``title``,
``goal`` (one line), ``steps`` (``{ pane = ..., text = ... }``: where to look, in order; ``pane``
is a pane of the explorer such as ``charts`` or ``inside``, or ``runs`` for the runs browser),
``notes`` (Markdown: the setup and what to do) and ``after`` (Markdown: what the finished run
shows, naming the view). Names, topics and step panes are the same in every language (a test
checks); a language without the file falls back to English.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from importlib.resources import files

from nnexplorer.core.errors import NnxError
from nnexplorer.core.help._language import DEFAULT_LANG
from nnexplorer.core.vocab import suggest

LESSONS_FILE = "lessons.toml"
# Where a step may send the reader: the explorer's panes, and the runs browser (F3).
STEP_PANES = (
    "data",
    "layers",
    "training",
    "grid",
    "charts",
    "results",
    "heatmap",
    "log",
    "inside",
    "evaluation",
    "boundary",
    "runs",
)


@dataclass(frozen=True)
class LessonStep:
    """One step of a lesson: the pane that shows it and what to do or look at there."""

    pane: str
    text: str


# The headings of a lesson printed as one page, in each language.
HEADINGS = {
    "en": ("Steps", "After the run", "Run it"),
    "es": ("Pasos", "Después de la ejecución", "Cómo ejecutarla"),
}
RUN_IT = {
    "en": "In the explorer: `nnexplorer {name}`, then F6 (F8 shows these notes). Headless: "
    "`nnexplorer run {name} --grid`.",
    "es": "En el explorador: `nnexplorer {name}` y luego F6 (F8 muestra estas notas). Sin "
    "interfaz: `nnexplorer run {name} --grid`.",
}
ACTIVITY_RUN = {
    "en": "In the explorer: `nnexplorer {name}`, then F5 to train and F6 for the grid search "
    "(F8 shows these notes). Headless: `nnexplorer run {name}` and `nnexplorer run {name} --grid`.",
    "es": "En el explorador: `nnexplorer {name}`, luego F5 para entrenar y F6 para la búsqueda "
    "en grilla (F8 muestra estas notas). Sin interfaz: `nnexplorer run {name}` y "
    "`nnexplorer run {name} --grid`.",
}


@dataclass(frozen=True)
class Lesson:
    """A lesson: the bundled preset ``name`` with its notes in the language ``lang``."""

    name: str
    topic: str
    title: str
    goal: str
    steps: tuple[LessonStep, ...]
    notes: str
    after: str
    lang: str = DEFAULT_LANG

    @property
    def trains_first(self) -> bool:
        """Whether the lesson starts with a train run (F5) rather than its sweep or grid (F6)."""
        return self.name.startswith("activity-")

    def markdown(self) -> str:
        """The whole lesson as one Markdown page (for ``nnexplorer lessons NAME``)."""
        steps_title, after_title, run_title = HEADINGS.get(self.lang, HEADINGS[DEFAULT_LANG])
        steps = "\n".join(
            f"{n}. **{s.pane.capitalize()}**: {s.text}" for n, s in enumerate(self.steps, 1)
        )
        how = (ACTIVITY_RUN if self.trains_first else RUN_IT).get(self.lang, RUN_IT["en"])
        return "\n\n".join(
            [
                f"# {self.title}",
                f"*{self.goal}*",
                self.notes.strip(),
                f"## {steps_title}",
                steps,
                f"## {after_title}",
                self.after.strip(),
                f"## {run_title}",
                how.format(name=self.name),
            ]
        )


def _text(table: dict[str, object], key: str, where: str) -> str:
    value = table.get(key)
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{where}: '{key}' must be a non-empty string")
    return value.strip()


def _lesson(table: dict[str, object], where: str, lang: str) -> Lesson:
    steps = table.get("steps")
    if not isinstance(steps, list) or not steps:
        raise ValueError(f"{where}: 'steps' must list at least one step")
    parsed = []
    for number, step in enumerate(steps, start=1):
        if not isinstance(step, dict):
            raise ValueError(f"{where}: step {number} must be a table with pane and text")
        pane = _text(step, "pane", f"{where} step {number}")
        if pane not in STEP_PANES:
            raise ValueError(f"{where} step {number}: unknown pane {pane!r}")
        parsed.append(LessonStep(pane, _text(step, "text", f"{where} step {number}")))
    return Lesson(
        name=_text(table, "name", where),
        topic=_text(table, "topic", where),
        title=_text(table, "title", where),
        goal=_text(table, "goal", where),
        steps=tuple(parsed),
        notes=_text(table, "notes", where),
        after=_text(table, "after", where),
        lang=lang,
    )


@cache
def lessons(lang: str = DEFAULT_LANG) -> tuple[Lesson, ...]:
    """The lessons in teaching order, in ``lang`` (English when ``lang`` has none)."""
    root = files(__package__)
    source = root / lang / LESSONS_FILE
    if not source.is_file():
        lang = DEFAULT_LANG
        source = root / lang / LESSONS_FILE
    data = tomllib.loads(source.read_text(encoding="utf-8"))
    where = f"{lang}/{LESSONS_FILE}"
    return tuple(
        _lesson(table, f"{where} lesson {n}", lang) for n, table in enumerate(data["lessons"], 1)
    )


def lesson_names() -> tuple[str, ...]:
    """The names of the lessons (their bundled presets), in teaching order."""
    return tuple(lesson.name for lesson in lessons())


def find_lesson(name: str, lang: str = DEFAULT_LANG) -> Lesson:
    """The lesson ``name`` in ``lang`` (case does not matter); NnxError with a suggestion if none.

    ``init`` finds ``lesson-init``, as does its topic; a unique start of a name is enough
    (``activity`` finds ``activity-digits``).
    """
    key = name.strip().lower()
    found = {lesson.name: lesson for lesson in lessons(lang)}
    for lesson in found.values():
        if key in (lesson.name, lesson.name.removeprefix("lesson-"), lesson.topic):
            return lesson
    starting = [v for k, v in found.items() if key and k.removeprefix("lesson-").startswith(key)]
    if len(starting) == 1:
        return starting[0]
    hint = suggest(key, list(found))
    raise NnxError(f"unknown lesson {name!r}{hint} (`nnexplorer lessons` lists the lessons)")
