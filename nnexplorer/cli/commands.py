"""The handlers of the subcommands: each takes the parsed arguments and returns an exit code."""

from __future__ import annotations

import argparse
import gc
import json
import os
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
    from nnexplorer.core.preflight import validate_checks
    from nnexplorer.core.spec import resolve_preset_path

    code = EXIT_OK
    for name in args.presets:
        try:
            spec = _load(name, args.overrides)
        except NnxError as exc:
            report(exc)
            code = EXIT_USAGE
            continue
        path = resolve_preset_path(name)
        problems = validate_checks(spec, file=str(path))
        for problem in problems:
            report(problem)
        if problems:
            code = EXIT_USAGE
        else:
            print(f"ok: {path}", flush=True)
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
        _write_script(Path(args.output), script)
        note(f"wrote {args.output}")
    else:
        sys.stdout.write(script)
    return EXIT_OK


def _write_script(target: Path, script: str) -> None:
    """Write an exported script atomically; an unusable target is one line (exit code 2)."""
    from nnexplorer.core.errors import PathError
    from nnexplorer.core.files import write_atomic, write_failure

    if target.is_dir():
        raise PathError(f"{target}: is a folder; give a file name, e.g. {target / 'train.py'}")
    if not target.parent.is_dir():
        raise PathError(f"{target}: the folder {target.parent} does not exist")
    if target.exists() and not os.access(target, os.W_OK):
        raise PathError(f"{target}: the file is read-only")
    try:
        write_atomic(target, script)
    except OSError as exc:
        raise write_failure(exc, target) from None


def cmd_runs(args: argparse.Namespace) -> int:
    from nnexplorer.cli.runs_list import list_command
    from nnexplorer.core.errors import PathError
    from nnexplorer.core.runs import runs_root

    root = runs_root(args.runs)
    if root.exists() and not root.is_dir():
        raise PathError(f"runs folder {root}: is not a folder")
    if root.is_dir() and not os.access(root, os.R_OK | os.X_OK):
        raise PathError(f"runs folder {root}: cannot be read (permission denied)")
    return list_command(args)


def cmd_compare(args: argparse.Namespace) -> int:
    from nnexplorer.cli.compare import compare_command

    return compare_command(args)


def scheduler_overrides(args: argparse.Namespace) -> list[str]:
    """``--scheduler`` (else ``$NNEXPLORER_SCHEDULER``) as overrides: the Dask backend there."""
    from nnexplorer.core.spec.model import check_scheduler_address

    address = args.scheduler or os.environ.get("NNEXPLORER_SCHEDULER", "").strip()
    if not address:
        return []
    if not args.grid:
        if args.scheduler:
            raise NnxError("--scheduler runs a grid search on a Dask cluster; add --grid")
        return []
    try:
        address = check_scheduler_address(address)
    except ValueError as exc:
        raise NnxError(
            f"{'--scheduler' if args.scheduler else 'NNEXPLORER_SCHEDULER'}: {exc}"
        ) from None
    return ['grid.backend="dask"', f"grid.scheduler={json.dumps(address)}"]


def cmd_run(args: argparse.Namespace) -> int:
    if args.sweeps and (args.grid or args.resume):
        other = "--grid" if args.grid else "--resume"
        raise NnxError(f"--sweep trains each variant once; it does not go with {other}")
    from nnexplorer.core.spec import load_preset, resolve_preset_path

    if args.sweeps:
        spec = load_preset(args.preset, list(args.overrides), list(args.sweeps))
    else:
        spec = _load(args.preset, [*args.overrides, *scheduler_overrides(args)])
    if args.detach:
        from nnexplorer.cli.server import run_detached

        return run_detached(spec, args)
    if args.slots is not None:
        raise NnxError("--slots applies to detached runs (add --detach)")
    return execute(
        spec,
        grid=args.grid or bool(args.sweeps),
        as_json=args.json,
        runs=args.runs,
        resume=args.resume,
        yes=args.yes,
        preset=str(resolve_preset_path(args.preset)),
    )


def cmd_help(args: argparse.Namespace) -> int:
    """The concept help: the topic list, or one topic's page."""
    from nnexplorer.cli.console import make_console
    from nnexplorer.cli.helptext import print_page, print_topics
    from nnexplorer.core.help import find_topic, page, resolve_language

    lang = resolve_language(args.lang)
    console = make_console()
    if args.topic is None:
        print_topics(lang, console)
    else:
        print_page(page(find_topic(args.topic), lang), console)
    return EXIT_OK


def cmd_lessons(args: argparse.Namespace) -> int:
    """The lessons with their goals, or one lesson's notes."""
    from nnexplorer.cli.console import make_console
    from nnexplorer.cli.helptext import print_lessons, print_page
    from nnexplorer.core.help import find_lesson, resolve_language

    lang = resolve_language(args.lang)
    console = make_console()
    if args.lesson is None:
        print_lessons(lang, console)
    else:
        print_page(find_lesson(args.lesson, lang).markdown(), console)
    return EXIT_OK


def cmd_open(args: argparse.Namespace) -> int:
    """Open the explorer; without a terminal, run the preset headless instead."""
    from nnexplorer.core.help import resolve_language
    from nnexplorer.core.runs import runs_root
    from nnexplorer.core.spec import resolve_preset_path

    language = resolve_language(args.lang)
    spec = _load(args.preset, args.overrides)
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        note("not a terminal: running the preset headless (use `nnexplorer run` in scripts)")
        return execute(spec, grid=False, as_json=False, runs=args.runs, resume=None)
    from nnexplorer.tui.app import make_app

    if args.slots is not None and args.slots < 1:
        raise NnxError(f"--slots: expected a whole number >= 1, got {args.slots}")
    app = make_app(
        spec,
        resolve_preset_path(args.preset),
        runs_root=runs_root(args.runs),
        slots=args.slots,
        language=language,
    )
    result = app.run()
    # Nothing is left to clean up: skip the interpreter's last collections over every widget,
    # which took ~1 s before the shell prompt came back (bench/quit_stop.py).
    gc.freeze()
    for run_dir in app.left_running:
        note(
            f"left running: {run_dir} (`nnexplorer attach {run_dir.name}` follows it, "
            f"`nnexplorer stop {run_dir.name}` stops it)"
        )
    return int(result) if isinstance(result, int) else int(app.return_code or 0)


def cmd_attach(args: argparse.Namespace) -> int:
    from nnexplorer.cli.server import cmd_attach as attach

    return attach(args)


def cmd_stop(args: argparse.Namespace) -> int:
    from nnexplorer.cli.server import cmd_stop as stop

    return stop(args)


def cmd_devices(args: argparse.Namespace) -> int:
    from nnexplorer.cli.server import cmd_devices as devices

    return devices(args)


HANDLERS: dict[str, Callable[[argparse.Namespace], int]] = {
    "run": cmd_run,
    "validate": cmd_validate,
    "presets": cmd_presets,
    "export": cmd_export,
    "runs": cmd_runs,
    "compare": cmd_compare,
    "attach": cmd_attach,
    "stop": cmd_stop,
    "devices": cmd_devices,
    "help": cmd_help,
    "lessons": cmd_lessons,
    "show": cmd_show,
}
