"""The handlers of the subcommands: each takes the parsed arguments and returns an exit code."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from nnexplorer.cli.headless import EXIT_OK, EXIT_USAGE, execute, note, report
from nnexplorer.cli.show import cmd_show
from nnexplorer.core.errors import NnxError


def _load(preset: str, overrides: Sequence[str]) -> Any:
    from nnexplorer.core.spec import load_preset

    return load_preset(preset, list(overrides))


def cmd_validate(args: argparse.Namespace) -> int:
    from nnexplorer.core.spec import resolve_preset_path

    code = EXIT_OK
    for name in args.presets:
        try:
            _load(name, args.overrides)
        except NnxError as exc:
            report(exc)
            code = EXIT_USAGE
        else:
            print(f"ok: {resolve_preset_path(name)}", flush=True)
    return code


def cmd_presets(args: argparse.Namespace) -> int:
    from nnexplorer.cli.console import make_console
    from nnexplorer.cli.tables import presets_table
    from nnexplorer.core.spec import bundled_presets

    make_console().print(presets_table(bundled_presets()))
    return EXIT_OK


def cmd_export(args: argparse.Namespace) -> int:
    spec = _load(args.preset, args.overrides)
    from nnexplorer.core.codegen import export_script

    script = export_script(spec)
    if args.output:
        Path(args.output).write_text(script, encoding="utf-8")
        note(f"wrote {args.output}")
    else:
        sys.stdout.write(script)
    return EXIT_OK


def cmd_runs(args: argparse.Namespace) -> int:
    from nnexplorer.cli.console import make_console
    from nnexplorer.cli.tables import runs_table
    from nnexplorer.core.runs import list_runs, runs_root

    root = runs_root(args.runs)
    records = list_runs(root) if root.is_dir() else []
    console = make_console()
    if not records:
        console.print(f"no runs in {root}")
        return EXIT_OK
    console.print(runs_table(records, root))
    return EXIT_OK


def cmd_run(args: argparse.Namespace) -> int:
    spec = _load(args.preset, args.overrides)
    return execute(spec, grid=args.grid, as_json=args.json, runs=args.runs, resume=args.resume)


def cmd_open(args: argparse.Namespace) -> int:
    """Open the explorer; without a terminal, run the preset headless instead."""
    from nnexplorer.core.runs import runs_root
    from nnexplorer.core.spec import resolve_preset_path

    spec = _load(args.preset, args.overrides)
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        note("not a terminal: running the preset headless (use `nnexplorer run` in scripts)")
        return execute(spec, grid=False, as_json=False, runs=args.runs, resume=None)
    from nnexplorer.tui.app import make_app

    app = make_app(spec, resolve_preset_path(args.preset), runs_root=runs_root(args.runs))
    result = app.run()
    return int(result) if isinstance(result, int) else int(app.return_code or 0)


HANDLERS: dict[str, Callable[[argparse.Namespace], int]] = {
    "run": cmd_run,
    "validate": cmd_validate,
    "presets": cmd_presets,
    "export": cmd_export,
    "runs": cmd_runs,
    "show": cmd_show,
}
