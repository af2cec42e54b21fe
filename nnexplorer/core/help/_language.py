"""Which language the teaching text speaks: ``--lang``, else ``$NNEXPLORER_LANG``, else the locale.

Only the language of the help and the lessons is chosen here; labels of panes and keys stay English.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from nnexplorer.core.errors import NnxError

DEFAULT_LANG = "en"
# The languages every help page is written in, with the name each gives itself.
LANGUAGE_NAMES: dict[str, str] = {"en": "English", "es": "Español"}
LANGUAGES = tuple(LANGUAGE_NAMES)
LANG_ENV = "NNEXPLORER_LANG"
# POSIX order: LC_ALL overrides LC_MESSAGES, which overrides LANG.
LOCALE_VARS = ("LC_ALL", "LC_MESSAGES", "LANG")


def allowed_text() -> str:
    """``en, es``: the allowed values, for messages."""
    return ", ".join(LANGUAGES)


def check_language(value: str, where: str) -> str:
    """``value`` as a language code (``ES`` -> ``es``); an NnxError naming ``where`` if unknown."""
    code = value.strip().lower()
    if code in LANGUAGE_NAMES:
        return code
    raise NnxError(f"{where}: unknown language {value!r} (allowed: {allowed_text()})")


def locale_language(environ: Mapping[str, str] | None = None) -> str | None:
    """The language of the first locale variable that is set (``es_CL.UTF-8`` -> ``es``).

    None when no variable is set; English for a locale in a language without help pages
    (``C``, ``POSIX``, ``fr_FR``).
    """
    env = os.environ if environ is None else environ
    for name in LOCALE_VARS:
        value = env.get(name, "").strip()
        if value:
            code = value.split(".", 1)[0].split("@", 1)[0].replace("-", "_").split("_", 1)[0]
            return code.lower() if code.lower() in LANGUAGE_NAMES else DEFAULT_LANG
    return None


def resolve_language(flag: str | None = None, environ: Mapping[str, str] | None = None) -> str:
    """The language to use: ``flag`` (``--lang``), else ``$NNEXPLORER_LANG``, else the locale,
    else English. A bad ``flag`` or variable raises NnxError (exit code 2)."""
    env = os.environ if environ is None else environ
    if flag is not None:
        return check_language(flag, "--lang")
    chosen = env.get(LANG_ENV, "").strip()
    if chosen:
        return check_language(chosen, LANG_ENV)
    return locale_language(env) or DEFAULT_LANG
