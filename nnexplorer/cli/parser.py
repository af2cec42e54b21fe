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

COMMANDS = ("run", "validate", "presets", "export", "runs", "show")

_MAIN_HELP = """\
Build, train, compare and tune feed-forward neural networks from the terminal.

  nnexplorer [PRESET]        open the explorer on PRESET (default: the bundled digits preset)
  nnexplorer run PRESET      train headless with a live display (or --json events)
  nnexplorer validate FILE   check presets and print every error
  nnexplorer presets         list the bundled presets
  nnexplorer export PRESET   print the equivalent standalone Keras script
  nnexplorer runs            list past runs
  nnexplorer show RUN        one run's record: metrics, confusion matrix, images, layer stats

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
  nnexplorer run my_preset.toml --json > events.jsonl
  nnexplorer run digits --grid --resume runs/20250101-120000-digits-mlp-1a2b

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
  nnexplorer runs --runs /data/nnexplorer-runs""",
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

    run = command("run", "Train a preset headless (or run its grid search with --grid).")
    run.add_argument("preset", metavar="PRESET", help="a preset file or a bundled preset name")
    run.add_argument("--grid", action="store_true", help="run the preset's [grid] search")
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

    runs = command("runs", "List past runs: id, name, mode, status, epochs, test metrics, time.")
    _add_runs(runs)

    show = command(
        "show",
        "Print one run's record: settings, test metrics, confusion matrix and per-class scores, "
        "misclassified images, the last layer statistics, decision regions.",
    )
    show.add_argument("run", metavar="RUN", help="a run folder, a run id (or part of one), or last")
    _add_runs(show)
    return parser


def open_parser() -> Parser:
    """The parser of ``nnexplorer [PRESET]``: open the explorer."""
    parser = Parser(
        prog=PROG,
        usage="nnexplorer [PRESET] [--set KEY=VALUE]... [--runs DIR]",
        description="Open the explorer on PRESET (default: the bundled digits preset).\n\n"
        "Other commands: run, validate, presets, export, runs, show (see `nnexplorer --help`).",
        epilog=_EXAMPLES["open"],
        formatter_class=_formatter,
    )
    parser.add_argument("preset", nargs="?", default="digits", metavar="PRESET")
    _add_set(parser)
    _add_runs(parser)
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
