"""Running an experiment in-process for the command line, and the command line's messages.

``execute`` calls ``training.train`` (or ``search.grid_search`` with ``--grid``, or
``sweep.run_sweep`` for a preset whose ``[grid] search = "sweep"``) with the Rich
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

from nnexplorer.core.errors import ErrorItem, NnxError, PathError, cut
from nnexplorer.core.events import Emit, JsonLines, Mode, silence
from nnexplorer.core.formatting import status_word

PROG = "nnexplorer"
# The codes that are not a run's own (a run's status maps through core.events.EXIT_CODE).
EXIT_OK, EXIT_RUN_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


# --------------------------------------------------------------------------- messages


def _say(text: str, stream: TextIO | None) -> None:
    """Print a line to ``stream``; a closed stream (its reader went away) is silenced."""
    if stream is None:  # started with that stream closed
        return
    try:
        print(text, file=stream, flush=True)
    except (OSError, ValueError):
        silence(stream)


def error_line(message: str, stream: TextIO | None = None) -> None:
    """Write ``nnexplorer: error: <message>`` to stderr."""
    _say(f"{PROG}: error: {cut(message)}", stream or sys.stderr)


def report(error: NnxError) -> None:
    """One stderr line per problem of ``error``."""
    for line in error.lines():
        error_line(line)


def note(message: str) -> None:
    """A human message on stderr (stdout may carry JSON lines)."""
    _say(message, sys.stderr)


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


def run_mode(spec: Any, grid: bool) -> Mode:
    """``sweep`` for a grid run of a preset whose ``[grid] search = "sweep"``, else grid/train."""
    if not grid:
        return "train"
    return "sweep" if spec.grid is not None and spec.grid.is_sweep else "grid"


def _engine(mode: Mode) -> Callable[..., Any]:
    if mode == "sweep":
        from nnexplorer.core.sweep import run_sweep

        return run_sweep
    if mode == "grid":
        from nnexplorer.core.search import grid_search

        return grid_search
    from nnexplorer.core.training import train

    return train


def resume_dir(run_dir: str, spec: Any) -> Path:
    """Check that ``run_dir`` holds an unfinished, not live grid run of ``spec``.

    Settings that do not change results (``grid.n_jobs``, the name) may differ.
    """
    from nnexplorer.core.runs import LIVE_STATUSES, load_run, run_status
    from nnexplorer.core.search._identity import resume_identity

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
    if resume_identity(record.spec) != resume_identity(spec):
        raise NnxError(
            f"{path}: recorded from a different experiment than the one given",
            f"resume with the same preset and --set options, or with {path / 'preset.toml'}",
        )
    return path


def check_cluster(spec: Any) -> None:
    """A Dask search's scheduler must answer before anything starts (exit 2 if not)."""
    if spec.grid is None or spec.grid.backend != "dask":
        return
    from nnexplorer.core.search import check_scheduler, scheduler_address

    check_scheduler(scheduler_address(spec.grid))


def _runs_folder(runs: str | None) -> Path:
    """The runs folder, refused (exit code 2) when it exists but is not a usable folder."""
    from nnexplorer.core.runs import runs_root

    root = runs_root(runs)
    if root.exists() and not root.is_dir():
        raise PathError(
            f"runs folder {root}: is not a folder",
            "choose another with --runs DIR or $NNEXPLORER_RUNS",
        )
    return root


def execute(
    spec: Any,
    *,
    grid: bool,
    as_json: bool,
    runs: str | None,
    resume: str | None,
    yes: bool = False,
    preset: str = "",
) -> int:
    """Run ``spec`` in-process with the Rich renderer (or JSON lines); return the exit code.

    Before anything is created: the grid's size (refused above 10,000 fits unless ``yes``),
    the data source, ``output.units`` and the memory the network needs (``preset`` names the
    file in the messages). Bad input found while the run loads its data fails the run and is
    reported like a bad preset (exit code 2).
    """
    from nnexplorer.core import preflight
    from nnexplorer.core.runs import create_run_dir

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if grid and (spec.grid is None or not spec.grid.params):
        message = "the preset has no [grid.params] to search"
        raise NnxError(
            message, "add some, or drop --grid", items=[ErrorItem(message, "grid.params", preset)]
        )
    mode = run_mode(spec, grid)
    if resume is not None and mode != "grid":
        what = "a sweep cannot be resumed" if mode == "sweep" else "add --grid"
        raise NnxError(f"--resume continues a grid run; {what}")
    preflight.before_run(spec, grid=mode == "grid", yes=yes or resume is not None, file=preset)
    if mode == "grid":
        check_cluster(spec)
    if resume is not None:
        run_dir = resume_dir(resume, spec)
    else:
        run_dir = create_run_dir(_runs_folder(runs), spec, mode)
    cancel = threading.Event()
    stdout = sys.stdout
    try:
        if as_json:
            # Anything a library prints goes to stderr: stdout carries only JSON lines.
            sys.stdout = sys.stderr
            result = _call_engine(mode, spec, run_dir, JsonLines(stdout), cancel, resume)
        else:
            from nnexplorer.cli.console import RunRenderer

            with RunRenderer() as renderer:
                result = _call_engine(mode, spec, run_dir, renderer, cancel, resume)
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
    return _outcome(result, run_dir, as_json)


def _outcome(result: Any, run_dir: Path, as_json: bool) -> int:
    """Report how the run ended (stderr) and return its exit code."""
    status = str(getattr(result, "status", "failed"))
    error = getattr(result, "error", None)
    code = int(getattr(result, "exit_code", EXIT_RUN_FAILED))
    if status == "cancelled":
        note(f"interrupted; the partial run is in {run_dir}")
    elif status == "failed" and isinstance(error, NnxError):
        report(error)
        note(f"{status_word(status)}: {run_dir}")
    elif as_json:
        note(f"{status_word(status)}: {run_dir}")
    return code


def _call_engine(
    mode: Mode, spec: Any, run_dir: Path, emit: Emit, cancel: threading.Event, resume: str | None
) -> Any:
    from nnexplorer.core.runs import run_lock

    with run_lock(run_dir):  # a refused writer touches nothing (the engine locks it again)
        return _engine_live(mode, spec, run_dir, emit, cancel, resume)


def _engine_live(
    mode: Mode, spec: Any, run_dir: Path, emit: Emit, cancel: threading.Event, resume: str | None
) -> Any:
    """The engine, with a heartbeat that lets other terminals see (and stop) this run."""
    from nnexplorer.core.errors import ResumeError
    from nnexplorer.core.events import tee
    from nnexplorer.core.runs import Liveness, clear_request, kill_this_run

    engine = _engine(mode)
    clear_request(run_dir)
    liveness = Liveness(
        run_dir,
        cancel=cancel,
        on_kill=lambda: kill_this_run(run_dir, "killed on request (stop --kill)"),
        mode=mode,
        detached=False,
    )
    with sigint_cancels(cancel), liveness:  # emit stays the display
        out = tee(liveness.observe, emit)
        if mode != "grid":
            return engine(spec, run_dir, out, cancel)
        result = engine(spec, run_dir, out, cancel, resume=resume is not None)
        if isinstance(result.error, ResumeError):
            liveness.discard()  # a refused resume leaves the run's records as they were
        return result
