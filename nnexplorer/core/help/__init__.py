"""The concept help and the lessons in every language, and the choice of language; UI-free.

The explorer's help screen (F1) and ``nnexplorer help`` both read these pages: Markdown files
shipped as package data, ``<lang>/index.toml`` plus one ``<lang>/<topic>.md`` per topic. The
lessons (F8, ``nnexplorer lessons``) are ``<lang>/lessons.toml``.
"""

from nnexplorer.core.help._language import (
    DEFAULT_LANG,
    LANG_ENV,
    LANGUAGE_NAMES,
    LANGUAGES,
    LOCALE_VARS,
    check_language,
    locale_language,
    resolve_language,
)
from nnexplorer.core.help._lessons import (
    STEP_PANES,
    Lesson,
    LessonStep,
    find_lesson,
    lesson_names,
    lessons,
)
from nnexplorer.core.help._pages import (
    Section,
    find_topic,
    languages,
    page,
    sections,
    topic_titles,
)

__all__ = [
    "DEFAULT_LANG",
    "LANGUAGES",
    "LANGUAGE_NAMES",
    "LANG_ENV",
    "LOCALE_VARS",
    "STEP_PANES",
    "Lesson",
    "LessonStep",
    "Section",
    "check_language",
    "find_lesson",
    "find_topic",
    "languages",
    "lesson_names",
    "lessons",
    "locale_language",
    "page",
    "resolve_language",
    "sections",
    "topic_titles",
]
