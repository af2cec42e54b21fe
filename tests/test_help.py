"""The concept help: pages in every language, the choice of language, and ``nnexplorer help``."""

from __future__ import annotations

import fnmatch
import re
import tomllib
from importlib.resources import files
from pathlib import Path

import pytest

from nnexplorer import cli
from nnexplorer.core.errors import NnxError
from nnexplorer.core.help import (
    DEFAULT_LANG,
    LANG_ENV,
    LANGUAGES,
    find_topic,
    languages,
    page,
    resolve_language,
    sections,
    topic_titles,
)

ROOT = Path(__file__).resolve().parent.parent
HELP_PACKAGE = "nnexplorer.core.help"
FOLDER = Path(str(files(HELP_PACKAGE)))
QUESTIONS = ("q-dropout", "q-init", "q-epoch", "q-backprop")
# The views a page may send a reader to, and the lesson presets it may name.
VIEWS = ("Charts", "Inside", "Evaluation", "Boundary", "Results", "Heatmap", "Compare")
LESSONS = (
    "lesson-init",
    "lesson-activations",
    "lesson-optimizers",
    "lesson-standardize",
    "lesson-overfitting",
    "lesson-loss",
    "lesson-batch-epochs",
    "lesson-grid",
    "activity-digits",
)
ALL_PAGES = [(lang, topic) for lang in LANGUAGES for topic in topic_titles(DEFAULT_LANG)]


# --------------------------------------------------------------------------- the pages


def test_every_language_has_the_same_topics_in_the_same_sections():
    assert set(languages()) == set(LANGUAGES) == {"en", "es"}
    layout = {lang: [list(s.topics) for s in sections(lang)] for lang in LANGUAGES}
    assert layout["es"] == layout["en"]
    assert next(iter(topic_titles())) == "overview"
    for lang in LANGUAGES:
        on_disk = {p.stem for p in (FOLDER / lang).glob("*.md")}
        assert on_disk == set(topic_titles(lang)), lang  # no page unlisted, none missing


@pytest.mark.parametrize(("lang", "topic"), ALL_PAGES)
def test_every_page_has_a_title_and_a_body_in_its_own_words(lang, topic):
    text = page(topic, lang)
    first, _, body = text.partition("\n")
    assert first.startswith("# ") and len(first) > 4
    assert len(body.split()) > 60, "a page explains, not just names"
    other = page(topic, "en" if lang == "es" else "es")
    assert text != other


@pytest.mark.parametrize("lang", LANGUAGES)
def test_titles_fit_the_explorers_topic_list(lang):
    assert all(len(title) <= 27 for title in topic_titles(lang).values())


def test_titles_differ_between_languages():
    en, es = topic_titles("en"), topic_titles("es")
    assert sum(en[k] != es[k] for k in en) >= len(en) - 2  # a few names (e.g. "Adam") may match
    assert [s.title for s in sections("en")] != [s.title for s in sections("es")]


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("topic", QUESTIONS)
def test_question_pages_name_a_lesson_and_a_view(topic, lang):
    text = page(topic, lang)
    lessons = set(re.findall(r"`((?:lesson|activity)-[a-z-]+)`", text))
    views = set(re.findall(r"\*\*([A-Z][a-z]+)(?: \(F3\))?\*\*", text)) & set(VIEWS)
    assert lessons and lessons <= set(LESSONS), lessons
    assert views, "the answer says which view shows it"


@pytest.mark.parametrize(("lang", "topic"), ALL_PAGES)
def test_pages_refer_only_to_topics_and_lessons_that_exist(lang, topic):
    text = page(topic, lang)
    named = set(re.findall(r"`((?:lesson|activity)-[a-z-]+)`", text))
    assert named <= set(LESSONS)
    for line in text.splitlines():
        if line.startswith(("See also:", "Ver también:")):
            refs = re.findall(r"`([a-z-]+)`", line)
            assert refs and set(refs) - set(LESSONS) <= set(topic_titles()), line


def test_every_pane_of_the_explorer_has_a_page():
    from nnexplorer.tui.screens.main import EDITOR_PANES, VIEW_PANES

    views = {"inside", "evaluation", "boundary", "compare"}
    assert set(EDITOR_PANES + VIEW_PANES) | views <= set(topic_titles())


OFFLINE = {"en": "Nothing is ever downloaded", "es": "Nunca se descarga nada"}
SPLIT_ONCE = {"en": "set aside once, before training", "es": "se aparta una sola vez, antes"}
L1_NEAR_ZERO = {"en": "**near** zero", "es": "**cerca** de cero"}
SCALES = ("√(2 / (fan_in + fan_out))", "√(6 / (fan_in + fan_out))", "√(2 / fan_in)")


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_key_table_has_every_function_key_of_the_explorer(lang):
    from nnexplorer.tui.app import NNExplorerApp

    table = set(re.findall(r"^\| (F\d+) \|", page("log", lang), re.M))
    keys = {b.key.upper() for b in NNExplorerApp.BINDINGS if re.fullmatch(r"f\d+", b.key)}
    assert "F8" in keys and keys <= table, keys - table


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_facts_that_are_easy_to_get_wrong(lang):
    for topic in ("init", "q-init"):
        assert all(scale in page(topic, lang) for scale in SCALES), topic
    data = page("data", lang)
    assert OFFLINE[lang] in data and "mnist.npz" in data and "~/.keras/datasets/" in data
    assert SPLIT_ONCE[lang] in data
    assert L1_NEAR_ZERO[lang] in page("regularization", lang)
    for topic in ("loss", "charts", "regularization"):
        assert "val_loss" in page(topic, lang), topic


def test_no_page_says_data_is_downloaded():
    for topic in topic_titles():
        text = page(topic, "en").lower()
        for sentence in re.split(r"(?<=[.:])\s", text):
            if "download" in sentence:
                assert "never" in sentence or "nothing" in sentence, sentence


def test_a_language_without_pages_falls_back_to_english():
    assert topic_titles("xx") == topic_titles(DEFAULT_LANG)
    assert page("layers", "xx") == page("layers")
    with pytest.raises(KeyError):
        page("no-such-topic")


def test_finding_a_topic_forgives_case_and_suggests_the_nearest():
    assert find_topic("Init") == "init"
    with pytest.raises(
        NnxError, match=r"unknown help topic 'initialisation'; did you mean 'init'\?"
    ):
        find_topic("initialisation")
    with pytest.raises(NnxError, match=r"did you mean 'q-dropout'\?"):
        find_topic("dropout")
    with pytest.raises(NnxError, match=r"did you mean 'overfitting'\?"):
        find_topic("overfiting")


def test_the_wheel_ships_every_help_file():
    globs = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"][
        "package-data"
    ][HELP_PACKAGE]
    shipped = [p for p in FOLDER.rglob("*") if p.is_file() and p.suffix in (".md", ".toml")]
    assert len(shipped) == len(LANGUAGES) * (len(topic_titles()) + 2)  # + index, lessons
    for path in shipped:
        relative = path.relative_to(FOLDER).as_posix()
        assert any(fnmatch.fnmatch(relative, g) for g in globs), relative


# --------------------------------------------------------------------------- the language


@pytest.mark.parametrize(
    ("flag", "env", "expected"),
    [
        (None, {}, "en"),
        (None, {"LANG": "es_CL.UTF-8"}, "es"),
        (None, {"LANG": "es"}, "es"),
        (None, {"LANG": "C.UTF-8"}, "en"),
        (None, {"LANG": "fr_FR.UTF-8"}, "en"),
        (None, {"LANG": "es_ES.UTF-8", "LC_ALL": "en_US.UTF-8"}, "en"),
        (None, {"LANG": "en_US.UTF-8", "LC_MESSAGES": "es_AR.UTF-8"}, "es"),
        (None, {"LANG": "en_GB.UTF-8", "LC_ALL": ""}, "en"),
        (None, {"LANG": "es_MX", LANG_ENV: "en"}, "en"),
        (None, {LANG_ENV: "ES"}, "es"),
        (None, {LANG_ENV: " ", "LANG": "es_PE.UTF-8"}, "es"),
        ("en", {LANG_ENV: "es", "LANG": "es_ES.UTF-8"}, "en"),
        ("es", {}, "es"),
    ],
)
def test_language_flag_then_variable_then_locale_then_english(flag, env, expected):
    assert resolve_language(flag, env) == expected


def test_a_bad_language_names_where_it_came_from_and_what_is_allowed():
    with pytest.raises(NnxError) as flag:
        resolve_language("fr", {})
    assert str(flag.value) == "--lang: unknown language 'fr' (allowed: en, es)"
    with pytest.raises(NnxError) as variable:
        resolve_language(None, {LANG_ENV: "de", "LANG": "es_ES.UTF-8"})
    assert str(variable.value) == f"{LANG_ENV}: unknown language 'de' (allowed: en, es)"
    assert flag.value.exit_code == 2


# --------------------------------------------------------------------------- nnexplorer help


@pytest.fixture
def english(monkeypatch):
    for name in (LANG_ENV, "LC_ALL", "LC_MESSAGES", "LANG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("COLUMNS", "80")


def test_help_lists_every_topic_with_its_title(english, capsys):
    assert cli.main(["help"]) == 0
    out = capsys.readouterr().out
    for key, title in topic_titles("en").items():
        assert re.search(rf"^\s+{re.escape(key)}\s+{re.escape(title)}$", out, re.M), key
    assert "Concepts" in out and "nnexplorer help TOPIC" in out


def test_help_topic_in_spanish_is_plain_text_that_fits(english, capsys):
    assert cli.main(["help", "q-epoch", "--lang", "es"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("¿Qué es una época?\n==================\n")
    assert "lesson-batch-epochs" in out and "\x1b[" not in out
    assert "**" not in out and "`" not in out  # the Markdown is rendered, not printed
    assert max(len(line) for line in out.splitlines()) <= 80
    assert all(line == line.rstrip() for line in out.splitlines())
    assert "\n\n\n" not in out


def test_help_follows_the_locale_and_the_variable(english, monkeypatch, capsys):
    monkeypatch.setenv("LANG", "es_CL.UTF-8")
    assert cli.main(["help"]) == 0
    assert "Preguntas" in capsys.readouterr().out
    monkeypatch.setenv(LANG_ENV, "en")
    assert cli.main(["help", "init"]) == 0
    assert capsys.readouterr().out.startswith("Weight initialisation\n")


def test_help_fits_a_narrow_pipe(english, monkeypatch, capsys):
    monkeypatch.setenv("COLUMNS", "50")
    assert cli.main(["help", "init"]) == 0
    assert max(len(line) for line in capsys.readouterr().out.splitlines()) <= 50


@pytest.mark.parametrize(
    ("argv", "env", "message"),
    [
        (["help", "dropuot"], {}, "unknown help topic 'dropuot'; did you mean 'q-dropout'?"),
        (["help", "--lang", "fr"], {}, "--lang: unknown language 'fr' (allowed: en, es)"),
        (["help", "init"], {LANG_ENV: "xx"}, f"{LANG_ENV}: unknown language 'xx'"),
        (["digits", "--lang", "de"], {}, "--lang: unknown language 'de' (allowed: en, es)"),
    ],
)
def test_bad_topic_or_language_is_one_line_and_exit_2(
    english, monkeypatch, capsys, argv, env, message
):
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert cli.main(argv) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("nnexplorer: error: ")
    assert message in lines[0]
    assert captured.out == ""
