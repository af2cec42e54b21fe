"""Running an experiment in-process for the command line, and the command line's messages.

``execute`` calls ``training.train`` (or ``search.grid_search`` with ``--grid``) with the Rich
renderer, or a JSON-lines writer on stdout, as ``emit``. Ctrl-C sets the engine's cancel event,
so the run stops within a batch and stays recorded. TensorFlow is imported only by the engine.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TextIO

from nnexplorer.core.errors import NnxError
from nnexplorer.core.events import Emit, JsonLines, exit_code
from nnexplorer.core.formatting import status_word

PROG = "nnexplorer"
# The codes that are not a run's own (a run's status maps through core.events.EXIT_CODE).
EXIT_OK, EXIT_RUN_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


# --------------------------------------------------------------------------- messages


def error_line(message: str, stream: TextIO | None = None) -> None:
    """Write ``nnexplorer: error: <message>`` to stderr."""
    print(f"{PROG}: error: {message}", file=stream or sys.stderr, flush=True)


def report(error: NnxError) -> None:
    """One stderr line per problem of ``error``."""
    for line in error.lines():
        error_line(line)


def note(message: str) -> None:
    """A human message on stderr (stdout may carry JSON lines)."""
    print(message, file=sys.stderr, flush=True)


def log_unexpected(where: Path | None) -> Path:
    """Write the traceback of the exception being handled to a log file; return its path."""
    if where is None:
        from platformdirs import user_log_path

        where = user_log_path(PROG)
    where.mkdir(parents=True, exist_ok=True)
    log = where / "error.log"
    with log.open("a", encoding="utf-8") as fh:
        fh.write(traceback.format_exc())
    return log


# --------------------------------------------------------------------------- running


@contextmanager
def sigint_cancels(cancel: threading.Event) -> Iterator[None]:
    """While inside, Ctrl-C sets ``cancel``; a second Ctrl-C interrupts at once.

    SIGTERM and SIGHUP (a closed terminal or SSH session) stop the run the same way, so that
    the partial run is still recorded with its summary.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: Any) -> None:
        if cancel.is_set():
            raise KeyboardInterrupt
        cancel.set()
        note("stopping after the current batch (Ctrl-C again to quit at once)")

    signums = [signal.SIGINT, signal.SIGTERM, getattr(signal, "SIGHUP", None)]
    previous = {signum: signal.signal(signum, handler) for signum in signums if signum}
    try:
        yield
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old)


def _engine(grid: bool) -> Callable[..., Any]:
    if grid:
        from nnexplorer.core.search import grid_search

        return grid_search
    from nnexplorer.core.training import train

    return train


def resume_dir(run_dir: str, spec: Any) -> Path:
    """Check that ``run_dir`` holds an unfinished grid run of ``spec``."""
    from nnexplorer.core.runs import LIVE_STATUSES, load_run, run_status

    path = Path(run_dir).expanduser()
    if not (path / "preset.toml").is_file():
        raise NnxError(f"{path}: not a run directory (it has no preset.toml)")
    status = run_status(path)
    if status in LIVE_STATUSES:
        raise NnxError(f"{path}: this run is still {status}; stop it first (nnexplorer stop)")
    record = load_run(path)
    if record.mode != "grid":
        raise NnxError(f"{path}: a {record.mode} run; only grid runs can be resumed")
    if record.summary and record.summary.get("status") == "completed":
        raise NnxError(f"{path}: this grid run already completed; nothing to resume")
    if record.spec.to_dict() != spec.to_dict():
        raise NnxError(
            f"{path}: recorded from a different experiment than the one given",
            f"resume with the same preset and --set options, or with {path / 'preset.toml'}",
        )
    return path


def execute(spec: Any, *, grid: bool, as_json: bool, runs: str | None, resume: str | None) -> int:
    """Run ``spec`` in-process with the Rich renderer (or JSON lines); return the exit code."""
    from nnexplorer.core.runs import create_run_dir, runs_root

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if grid and (spec.grid is None or not spec.grid.params):
        raise NnxError("the preset has no [grid.params] to search (add some, or drop --grid)")
    if resume is not None:
        if not grid:
            raise NnxError("--resume continues a grid run; add --grid")
        run_dir = resume_dir(resume, spec)
    else:
        run_dir = create_run_dir(runs_root(runs), spec, "grid" if grid else "train")
    cancel = threading.Event()
    stdout = sys.stdout
    try:
        if as_json:
            # Anything a library prints goes to stderr: stdout carries only JSON lines.
            sys.stdout = sys.stderr
            result = _call_engine(grid, spec, run_dir, JsonLines(stdout), cancel, resume)
        else:
            from nnexplorer.cli.console import RunRenderer

            with RunRenderer() as renderer:
                result = _call_engine(grid, spec, run_dir, renderer, cancel, resume)
    except KeyboardInterrupt:
        sys.stdout = stdout
        note(f"interrupted; the partial run is in {run_dir}")
        return EXIT_INTERRUPTED
    except NnxError:
        raise
    except Exception:
        sys.stdout = stdout
        log = log_unexpected(run_dir)
        error_line(f"unexpected error: {sys.exc_info()[1]!r} (details in {log})")
        return EXIT_RUN_FAILED
    finally:
        sys.stdout = stdout
    status = str(getattr(result, "status", "failed"))
    if status == "cancelled":
        note(f"interrupted; the partial run is in {run_dir}")
    elif as_json:
        note(f"{status_word(status)}: {run_dir}")
    return exit_code(status)


def _call_engine(
    grid: bool, spec: Any, run_dir: Path, emit: Emit, cancel: threading.Event, resume: str | None
) -> Any:
    from nnexplorer.core.events import tee
    from nnexplorer.core.runs import Liveness, clear_request, kill_this_run

    engine = _engine(grid)
    clear_request(run_dir)
    liveness = Liveness(
        run_dir,
        cancel=cancel,
        on_kill=lambda: kill_this_run(run_dir, "killed on request (stop --kill)"),
        mode="grid" if grid else "train",
        detached=False,
    )
    # the heartbeat lets other terminals see (and stop) this run; emit stays the display
    with sigint_cancels(cancel), liveness:
        out = tee(liveness.observe, emit)
        if grid:
            return engine(spec, run_dir, out, cancel, resume=resume is not None)
        return engine(spec, run_dir, out, cancel)
