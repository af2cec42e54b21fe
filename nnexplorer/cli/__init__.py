"""The command line: ``nnexplorer [PRESET] | run | validate | presets | export | runs | ...``.

Exit codes: 0 completed, 1 run failed or diverged, 2 bad preset or arguments, 130 interrupted.
Errors go to stderr as ``nnexplorer: error: <file>: <key path>: <message>``, never a traceback.
Only ``run`` (and opening the explorer) import TensorFlow, and only when the run starts.

Inside: :mod:`.parser` (arguments), :mod:`.commands` (one handler per command), :mod:`.headless`
(in-process runs and messages), :mod:`.console` (the Rich live display), :mod:`.tables`,
:mod:`.show` (one run's record, drawn with :mod:`nnexplorer.tui.inside_render`).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

from nnexplorer.cli.commands import HANDLERS, cmd_open
from nnexplorer.cli.headless import (
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_RUN_FAILED,
    EXIT_USAGE,
    error_line,
    log_unexpected,
    note,
    report,
)
from nnexplorer.cli.parser import COMMANDS, UsageError, parse
from nnexplorer.core.errors import NnxError

__all__ = ["COMMANDS", "HANDLERS", "main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``nnexplorer`` script; returns the exit code."""
    try:
        args = parse(sys.argv[1:] if argv is None else argv)
    except UsageError as exc:
        error_line(str(exc))
        return EXIT_USAGE
    except SystemExit as exc:  # --help and --version
        return exc.code if isinstance(exc.code, int) else EXIT_OK
    handler = HANDLERS.get(args.command, cmd_open)
    try:
        return handler(args)
    except NnxError as exc:
        report(exc)
        return exc.exit_code
    except KeyboardInterrupt:
        note("interrupted")
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # stdout closed early (piped into head): no traceback, and none at interpreter exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except Exception:
        log = log_unexpected(None)
        error_line(f"unexpected error: {sys.exc_info()[1]!r} (details in {log})")
        return EXIT_RUN_FAILED
