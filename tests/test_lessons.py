"""The lessons: bundled presets that each show one concept, their notes in every language,
``nnexplorer lessons``, and a short real run of every lesson preset.

Whether each lesson's effect holds at full length is measured by ``bench/lessons.py``.
"""

from __future__ import annotations

import json
import re

import pytest

from nnexplorer import cli
from nnexplorer.core.errors import NnxError
from nnexplorer.core.help import (
    LANG_ENV,
    LANGUAGES,
    STEP_PANES,
    find_lesson,
    lesson_names,
    lessons,
    topic_titles,
)
from nnexplorer.core.runs import read_summary
from nnexplorer.core.spec import bundled_presets, load_preset

LESSONS = lesson_names()
KEPT = {"digits", "mnist_mlp", "diabetes_regression"}  # bundled presets that are not lessons
NAMES = (
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


# --------------------------------------------------------------------------- presets


def test_every_lesson_is_a_bundled_preset_and_every_lesson_preset_a_lesson():
    assert LESSONS == NAMES
    bundled = {p.name for p in bundled_presets()}
    assert bundled == set(LESSONS) | KEPT


@pytest.mark.parametrize("name", NAMES)
def test_lesson_presets_validate_and_say_in_one_english_line_what_they_show(name):
    spec = load_preset(name)
    assert spec.experiment.name == name
    description = spec.experiment.description
    assert description and "\n" not in description and len(description) <= 100
    assert description.isascii()
    assert spec.grid is not None and spec.grid.params
    if name == "lesson-grid":
        assert spec.grid.search == "grid" and spec.grid.cv == 3
        assert set(spec.grid.params) == {"optimizer__learning_rate", "optimizer", "hidden.count"}
    elif name == "activity-digits":
        assert spec.grid.search == "grid" and spec.grid.cv == 3  # F5 trains, F6 searches
    else:
        assert spec.grid.is_sweep and spec.grid.n_jobs == 1
        assert 2 <= spec.grid.n_candidates() <= 7


def test_each_variant_differs_from_the_base_only_where_the_lesson_says():
    spec = load_preset("lesson-overfitting")
    assert spec.grid is not None
    variants = {name: spec.with_params({"setup": name}) for name in spec.grid.params["setup"]}
    assert variants["none"].layers == spec.layers
    assert variants["L1"].layers[0].kernel_regularizer.l1 == 1e-3  # type: ignore[union-attr]
    assert [lay.rate for lay in variants["Dropout"].layers if lay.type == "dropout"] == [0.5, 0.5]
    assert variants["early stopping"].fit.early_stopping is not None
    init = load_preset("lesson-init")
    assert init.grid is not None
    starts = [init.with_params({"setup": n}).layers[0].kernel_initializer for n in init.grid.setups]
    assert [(s.name, s.stddev) for s in starts] == [
        ("random_normal", 0.05),
        ("random_normal", 1.0),
        ("glorot_uniform", None),
        ("he_normal", None),
    ]


# --------------------------------------------------------------------------- notes


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_language_has_the_same_lessons_topics_and_steps(lang):
    english = lessons("en")
    here = lessons(lang)
    assert [x.name for x in here] == [x.name for x in english]
    for mine, theirs in zip(here, english, strict=True):
        assert mine.topic == theirs.topic and mine.topic in topic_titles()
        assert [s.pane for s in mine.steps] == [s.pane for s in theirs.steps]
        assert mine.lang == lang
        if lang != "en":
            assert mine.title != theirs.title and mine.goal != theirs.goal
            assert mine.notes != theirs.notes and mine.after != theirs.after


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("name", NAMES)
def test_notes_say_where_to_look_after_the_run(lang, name):
    lesson = find_lesson(name, lang)
    assert 1 <= len(lesson.steps) <= 9 and all(s.pane in STEP_PANES for s in lesson.steps)
    assert len(lesson.goal) <= 75 and "\n" not in lesson.goal
    views = set(re.findall(r"\*\*([A-Z][a-z]+)\*\* \((?:step|paso) (\d)", lesson.after))
    assert views, "the after-run text names a view and its step key"
    for view, number in views:
        assert lesson.steps[int(number) - 1].pane == view.lower(), (view, number)


def test_step_panes_are_panes_of_the_explorer():
    from nnexplorer.tui.screens.main import PANE_TITLES

    assert set(STEP_PANES) == set(PANE_TITLES) | {"runs"}


def test_finding_a_lesson_by_name_short_name_topic_or_start():
    assert find_lesson("lesson-init").name == "lesson-init"
    assert find_lesson("Init").name == "lesson-init"
    assert find_lesson("epochs").name == "lesson-batch-epochs"  # its topic
    assert find_lesson("activity", "es").title.startswith("Actividad")
    with pytest.raises(NnxError, match=r"unknown lesson 'lesson-int'; did you mean 'lesson-init'"):
        find_lesson("lesson-int")


# --------------------------------------------------------------------------- nnexplorer lessons


@pytest.fixture
def english(monkeypatch):
    for name in (LANG_ENV, "LC_ALL", "LC_MESSAGES", "LANG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("COLUMNS", "100")  # a lesson's name (21) and its goal (<= 75) fit


@pytest.mark.parametrize("lang", LANGUAGES)
def test_lessons_lists_every_lesson_with_its_goal(english, capsys, lang):
    assert cli.main(["lessons", "--lang", lang]) == 0
    out = capsys.readouterr().out
    for lesson in lessons(lang):
        assert re.search(rf"^{re.escape(lesson.name)}\s+{re.escape(lesson.goal)}$", out, re.M)
    assert out.startswith({"en": "Lessons\n", "es": "Lecciones\n"}[lang])
    assert "nnexplorer run" in out and "--grid" in out and "\x1b[" not in out


def test_lessons_follows_the_locale_and_prints_one_lesson(english, monkeypatch, capsys):
    monkeypatch.setenv("LANG", "es_AR.UTF-8")
    assert cli.main(["lessons", "overfitting"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Sobreajuste y regularización\n")
    for heading in ("Pasos", "Después de la ejecución", "Cómo ejecutarla"):
        assert f"\n{heading}\n" in out
    assert "nnexplorer run lesson-overfitting --grid" in out
    assert " 4 Boundary: " in out and "**" not in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["lessons", "lesson-int"], "unknown lesson 'lesson-int'; did you mean 'lesson-init'?"),
        (["lessons", "--lang", "fr"], "--lang: unknown language 'fr' (allowed: en, es)"),
    ],
)
def test_bad_lesson_or_language_is_one_line_and_exit_2(english, capsys, argv, message):
    assert cli.main(argv) == 2
    captured = capsys.readouterr()
    [line] = captured.err.strip().splitlines()
    assert line.startswith("nnexplorer: error: ") and message in line
    assert captured.out == ""


def test_presets_shows_what_each_preset_searches(english, capsys):
    assert cli.main(["presets"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"lesson-overfitting\s+│ sweep of 7\s+│ Overfitting", out)
    assert re.search(r"lesson-grid\s+│ grid of 8, cv 3\s+│", out)
    assert re.search(r"mnist_mlp\s+│ -\s+│", out)
    assert "nnexplorer lessons" in out


# --------------------------------------------------------------------------- two epochs each

SMALL = ["fit.epochs=2", "data.max_samples=300"]  # digits: 300 of its 1797 rows


@pytest.mark.slow
@pytest.mark.parametrize("name", [n for n in NAMES if n not in ("lesson-grid", "activity-digits")])
def test_every_lesson_sweep_runs_two_epochs(name, tmp_path):
    from nnexplorer.core.sweep import run_sweep

    small = SMALL if load_preset(name).data.source == "sklearn:digits" else SMALL[:1]
    spec = load_preset(name, small)
    result = run_sweep(spec, tmp_path / "run", None)
    assert result.status == "completed", result.message
    assert spec.grid is not None
    finished = [v for v in result.variants if v.status in ("completed", "diverged")]
    assert len(finished) == spec.grid.n_candidates()
    stats = [
        json.loads(line)
        for line in (tmp_path / "run" / "layer_stats.jsonl").read_text("utf-8").splitlines()
    ]
    assert {event["candidate"] for event in stats} == set(range(spec.grid.n_candidates())) - {
        v.index for v in result.variants if v.status == "diverged" and v.epochs_completed < 1
    }
    if name == "lesson-overfitting":  # two features: every variant draws its boundary
        boundary = json.loads((tmp_path / "run" / "boundary.json").read_text("utf-8"))
        assert boundary["candidate"] == spec.grid.n_candidates() - 1 and boundary["final"]
        assert "penalty" in result.variants[1].final_metrics  # L1: the penalty is reported


@pytest.mark.slow
def test_the_grid_lesson_and_the_activity_run_two_epochs(tmp_path):
    from nnexplorer.core.search import grid_search
    from nnexplorer.core.training import train

    grid = load_preset("lesson-grid", [*SMALL, "grid.n_jobs=1"])
    searched = grid_search(grid, tmp_path / "grid", None)
    assert searched.status == "completed", searched.message
    assert searched.summary["n_candidates"] == 8
    activity = load_preset("activity-digits", SMALL)
    trained = train(activity, tmp_path / "activity", None)
    assert trained.status == "completed"
    summary = read_summary(tmp_path / "activity")
    assert summary is not None and len(summary["confusion_matrix"]) == 10
