"""The command line's parsers: ``nnexplorer [PRESET]`` and its subcommands.

Errors of a bad command line are one line on stderr with exit code 2 (:class:`UsageError`).
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

from nnexplorer import __version__
from nnexplorer.cli.headless import PROG

COMMANDS = (
    "run",
    "validate",
    "presets",
    "export",
    "runs",
    "compare",
    "attach",
    "stop",
    "devices",
    "help",
    "lessons",
    "show",
)

_MAIN_HELP = """\
Build, train, compare and tune feed-forward neural networks from the terminal.

  nnexplorer [PRESET]        open the explorer on PRESET (default: the bundled digits preset)
  nnexplorer run PRESET      train headless with a live display (or --json events; --sweep)
  nnexplorer validate FILE   check presets and print every error
  nnexplorer presets         list the bundled presets
  nnexplorer export PRESET   print the equivalent standalone Keras script
  nnexplorer runs            list past and live runs
  nnexplorer show RUN        one run's record: metrics, confusion matrix, images, layer stats
  nnexplorer attach RUN      follow a live (or finished) run; Ctrl-C leaves it running
  nnexplorer stop RUN        stop a live or queued run (--kill: at once)
  nnexplorer compare RUN...  compare runs: settings that differ, metrics, curves
  nnexplorer devices         what TensorFlow sees (GPUs, memory) and the run slots
  nnexplorer help [TOPIC]    the concepts behind the app, in English or Spanish (--lang es)
  nnexplorer lessons [NAME]  the lessons: one concept each, a bundled preset that shows it

A bundled preset may be named without its path (digits, mnist_mlp, diabetes_regression).
Run `nnexplorer COMMAND --help` for the options and examples of each command.

exit codes: 0 completed, 1 run failed or diverged, 2 bad preset or arguments, 130 interrupted
"""

_EXAMPLES = {
    "open": """examples:
  nnexplorer
  nnexplorer digits
  nnexplorer my_preset.toml --set fit.epochs=5""",
    "run": """examples:
  nnexplorer run digits
  nnexplorer run digits --set fit.epochs=5 --set layers.0.units=32
  nnexplorer run digits --grid --set grid.cv=2
  nnexplorer run digits --sweep 'hidden.kernel_initializer=["random_normal", "he_normal"]'
  nnexplorer run digits --sweep 'learning_rate=[1e-3, 1e-2]' --sweep 'units=[32, 128]'
  nnexplorer run my_preset.toml --json > events.jsonl
  nnexplorer run digits --grid --resume runs/20250101-120000-digits-mlp-1a2b
  nnexplorer run digits --grid --scheduler tcp://10.0.0.5:8786
  nnexplorer run big_grid.toml --grid --yes
  nnexplorer run digits --detach                 # prints the run directory and returns
  nnexplorer run digits --detach --slots 2       # at most two runs train at once

exit codes: 0 completed, 1 failed or diverged, 2 bad preset or arguments, 130 interrupted""",
    "validate": """examples:
  nnexplorer validate digits
  nnexplorer validate presets/*.toml my_preset.toml""",
    "presets": """examples:
  nnexplorer presets""",
    "export": """examples:
  nnexplorer export digits > digits_mlp.py
  nnexplorer export digits --set fit.epochs=10 -o digits_mlp.py""",
    "runs": """examples:
  nnexplorer runs
  nnexplorer runs --limit 20 --status failed --status diverged
  nnexplorer runs --json | jq -r '.[] | select(.status == "completed") | .dir'
  nnexplorer runs --runs /data/nnexplorer-runs""",
    "compare": """examples:
  nnexplorer compare 20250101-120000-digits-mlp-1a2b 20250101-121500-digits-mlp-3c4d
  nnexplorer compare runs/20250101-130000-digits-mlp-5e6f      # a sweep: its variants
  nnexplorer compare RUN1 RUN2 --plot --metric val_loss
  nnexplorer compare RUN1 RUN2 --json > comparison.json

A run is a run directory or a run id under --runs; a sweep or grid run expands to its
variants or candidates.""",
    "attach": """examples:
  nnexplorer attach 20250101-120000-digits-mlp-1a2b
  nnexplorer attach digits-mlp-1a2b             # a unique part of the id is enough
  nnexplorer attach runs/20250101-120000-digits-mlp-1a2b --json

exit codes: the run's (0 completed, 1 failed, diverged or interrupted, 130 stopped);
130 also when Ctrl-C leaves the run going""",
    "stop": """examples:
  nnexplorer stop 20250101-120000-digits-mlp-1a2b
  nnexplorer stop digits-mlp-1a2b --kill

exit codes: 0 asked, 1 the run is not live, 2 no such run""",
    "devices": """examples:
  nnexplorer devices
  CUDA_VISIBLE_DEVICES=1 nnexplorer devices
  nnexplorer devices --json""",
    "help": """examples:
  nnexplorer help
  nnexplorer help init
  nnexplorer help q-dropout --lang es
  nnexplorer help backprop | less

language: --lang, else $NNEXPLORER_LANG, else the locale (LANG=es_* gives Spanish), else English""",
    "lessons": """examples:
  nnexplorer lessons
  nnexplorer lessons --lang es
  nnexplorer lessons lesson-init          # its notes: what to do and what to look for
  nnexplorer lesson-init                  # open it in the explorer (F8 shows its notes)
  nnexplorer run lesson-init --grid       # run its sweep headless

language: --lang, else $NNEXPLORER_LANG, else the locale (LANG=es_* gives Spanish), else English""",
    "show": """examples:
  nnexplorer show last
  nnexplorer show 20250101-120000-digits-mlp-1a2b
  nnexplorer show runs/20250101-120000-digits-mlp-1a2b | less
  nnexplorer show digits-mlp --runs /data/nnexplorer-runs

RUN is a run folder, a run id in the runs folder, a unique part of one, or `last`.""",
}


class UsageError(Exception):
    """A bad command line; reported in one line with exit code 2."""


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line on stderr with exit code 2."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(message)


def _formatter(prog: str) -> argparse.HelpFormatter:
    return argparse.RawDescriptionHelpFormatter(prog, max_help_position=30)


def _add_set(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a preset key by dotted path, e.g. fit.epochs=5 or layers.0.units=32 "
        '(repeatable; values are TOML: 1e-3, true, [64, 128], "tanh")',
    )


def _add_runs(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--runs",
        metavar="DIR",
        help="where run directories live (default: $NNEXPLORER_RUNS, else ./runs)",
    )


def _add_slots(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--slots",
        type=int,
        metavar="N",
        help="detached runs that train at once in the runs folder; the others queue "
        "(default: $NNEXPLORER_SLOTS, else one per GPU, else 1)",
    )


def _add_run_ref(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "run", metavar="RUN", help="a run directory, or a run id (or a unique part of one)"
    )
    _add_runs(parser)


def _add_lang(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--lang",
        metavar="LANG",
        help="language of the help and teaching text: en or es "
        "(default: $NNEXPLORER_LANG, else the locale, else en)",
    )


def build_parser() -> Parser:
    """The parser of the subcommands (``nnexplorer [PRESET]`` is handled by :func:`open_parser`)."""
    parser = Parser(
        prog=PROG,
        usage="nnexplorer [PRESET] | nnexplorer COMMAND ... | nnexplorer --version",
        description=_MAIN_HELP,
        formatter_class=_formatter,
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser, prog=PROG)

    def command(name: str, summary: str) -> argparse.ArgumentParser:
        return sub.add_parser(
            name,
            help=summary,
            description=summary,
            epilog=_EXAMPLES[name],
            formatter_class=_formatter,
        )

    run = command("run", "Train a preset headless (or search its grid, or sweep variants).")
    run.add_argument("preset", metavar="PRESET", help="a preset file or a bundled preset name")
    run.add_argument("--grid", action="store_true", help="run the preset's [grid] search")
    run.add_argument(
        "--sweep",
        dest="sweeps",
        action="append",
        default=[],
        metavar="KEY=VALUES",
        help="train every combination of these values once, without cross-validation "
        "(repeatable; KEY as for --set or a grid key, VALUES a TOML list: [1e-3, 1e-2])",
    )
    run.add_argument(
        "--json", action="store_true", help="write events as JSON lines on stdout (for scripts)"
    )
    _add_runs(run)
    _add_set(run)
    run.add_argument(
        "--resume",
        metavar="RUN_DIR",
        help="continue an interrupted grid run in RUN_DIR, skipping finished fits",
    )
    run.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="with --grid: run the fits on the Dask cluster whose scheduler is at ADDRESS, "
        "e.g. tcp://10.0.0.5:8786 (default: $NNEXPLORER_SCHEDULER; sets grid.backend = dask)",
    )
    run.add_argument(
        "--yes",
        action="store_true",
        help="run a grid of more than 10,000 fits anyway (otherwise refused with an estimate)",
    )
    run.add_argument(
        "--detach",
        action="store_true",
        help="start the run as a server-side job: print its run directory and return at once",
    )
    _add_slots(run)

    validate = command("validate", "Check presets and print every error of every file.")
    validate.add_argument("presets", nargs="+", metavar="PRESET", help="preset files or names")
    _add_set(validate)

    command("presets", "List the presets bundled with nnexplorer.")

    export = command(
        "export", "Print the equivalent standalone Keras (or scikeras + GridSearchCV) script."
    )
    export.add_argument("preset", metavar="PRESET", help="a preset file or a bundled preset name")
    _add_set(export)
    export.add_argument("-o", "--output", metavar="FILE", help="write the script to FILE")

    runs = command(
        "runs", "List past and live runs: id, name, mode, status, epochs, test metrics, time."
    )
    _add_runs(runs)
    runs.add_argument("--json", action="store_true", help="print the list as JSON (for scripts)")
    runs.add_argument(
        "--limit", type=_positive, metavar="N", help="show only the N most recent runs"
    )
    runs.add_argument(
        "--status",
        dest="statuses",
        action="append",
        default=[],
        metavar="STATUS",
        help="show only runs with this status (repeatable, or comma-separated): "
        "completed, diverged, cancelled, failed, queued, running, interrupted, damaged, ...",
    )

    compare = command("compare", "Compare runs: the settings that differ, metrics and curves.")
    compare.add_argument(
        "runs_given", nargs="+", metavar="RUN", help="run directories or run ids (under --runs)"
    )
    _add_runs(compare)
    compare.add_argument(
        "--metric",
        metavar="NAME",
        help="the metric to compare and plot (accuracy, loss, val_loss, mae, ...; "
        "default: the runs' main metric, its validation curve)",
    )
    compare.add_argument(
        "--plot", action="store_true", help="draw the metric's curves overlaid in the terminal"
    )
    compare.add_argument("--json", action="store_true", help="print the comparison as JSON")

    attach = command(
        "attach", "Follow a run: its epochs so far, then live until it ends (Ctrl-C detaches)."
    )
    _add_run_ref(attach)
    attach.add_argument("--json", action="store_true", help="stream the events as JSON lines")

    stop = command("stop", "Stop a live run after its current batch (a queued run never starts).")
    _add_run_ref(stop)
    stop.add_argument("--kill", action="store_true", help="end it at once (recorded as failed)")

    devices = command("devices", "What TensorFlow sees (GPUs and memory, or CPU only); slots.")
    devices.add_argument("--json", action="store_true", help="print it as JSON")

    help_ = command("help", "Explain a concept or a view (without TOPIC: list the topics).")
    help_.add_argument("topic", nargs="?", metavar="TOPIC", help="a topic, e.g. init or q-epoch")
    _add_lang(help_)

    lessons = command(
        "lessons",
        "List the lessons (bundled presets that each show one concept) with their goal; "
        "with NAME, print that lesson's notes.",
    )
    lessons.add_argument(
        "lesson", nargs="?", metavar="NAME", help="a lesson, e.g. lesson-init (or init)"
    )
    _add_lang(lessons)

    show = command(
        "show",
        "Print one run's record: settings, test metrics, confusion matrix and per-class scores, "
        "misclassified images, the last layer statistics, decision regions.",
    )
    show.add_argument("run", metavar="RUN", help="a run folder, a run id (or part of one), or last")
    _add_runs(show)
    return parser


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {value}")
    return value


def open_parser() -> Parser:
    """The parser of ``nnexplorer [PRESET]``: open the explorer."""
    parser = Parser(
        prog=PROG,
        usage="nnexplorer [PRESET] [--set KEY=VALUE]... [--runs DIR] [--slots N] [--lang LANG]",
        description="Open the explorer on PRESET (default: the bundled digits preset).\n\n"
        "Runs are detached: they go on when the explorer quits (choose Leave running).\n\n"
        "Other commands: run, validate, presets, export, runs, compare, attach, stop, devices, "
        "help, show (see `nnexplorer --help`).",
        epilog=_EXAMPLES["open"],
        formatter_class=_formatter,
    )
    parser.add_argument("preset", nargs="?", default="digits", metavar="PRESET")
    _add_set(parser)
    _add_runs(parser)
    _add_slots(parser)
    _add_lang(parser)
    return parser


def parse(argv: Sequence[str]) -> argparse.Namespace:
    """Parse a command line; ``nnexplorer [PRESET]`` becomes the ``open`` command."""
    argv = list(argv)
    first = argv[0] if argv else ""
    if first in COMMANDS or first in ("-h", "--help", "--version"):
        try:
            args = build_parser().parse_args(argv)
        except UsageError as exc:
            where = f"{PROG} {first}" if first in COMMANDS else PROG
            raise UsageError(f"{exc} (see '{where} --help')") from None
        return args
    _check_not_a_misspelt_command(first)
    try:
        args = open_parser().parse_args(argv)
    except UsageError as exc:
        raise UsageError(f"{exc} (see '{PROG} --help')") from None
    args.command = "open"
    return args


def _check_not_a_misspelt_command(word: str) -> None:
    """``nnexplorer rnu digits`` should say "did you mean 'run'", not "no such preset"."""
    from nnexplorer.core.spec import bundled_dir
    from nnexplorer.core.vocab import suggest

    if not word or word.startswith("-") or Path(word).suffix or Path(word).exists():
        return
    if (bundled_dir() / f"{word}.toml").is_file():
        return
    hint = suggest(word, COMMANDS)
    if hint:
        raise UsageError(f"unknown command {word!r}{hint} (see '{PROG} --help')")
