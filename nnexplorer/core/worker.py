"""Child-process entry: ``python -m nnexplorer.core.worker RUN_DIR [--grid | --sweep] [--resume]``.

Loads ``RUN_DIR/preset.toml``, runs :func:`nnexplorer.core.training.train` (or the grid search,
or the sweep)
and writes every event as one JSON line on stdout. Anything else that writes to stdout
(TensorFlow, Keras) is sent to stderr, so stdout carries only events. The first SIGINT or
SIGTERM asks the run to stop at the end of the current batch; a second one interrupts it at
once (still recording it as cancelled).

The worker holds the run directory's lock for its whole life: a second writer of the same
folder is refused (exit code 2, "in use by pid N") before it writes anything.

Exit codes: 0 completed, 1 failed or diverged, 2 bad arguments, bad input or a folder in use,
130 cancelled.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any, TextIO

from nnexplorer.core.events import (
    EXIT_CODE,
    Emit,
    JsonLines,
    Mode,
    RunFinished,
    RunSummary,
)


def _event_stream() -> TextIO:
    """A private copy of stdout for events; file descriptor 1 then points at stderr."""
    sys.stdout.flush()
    fd = os.dup(1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return os.fdopen(fd, "w", encoding="utf-8", buffering=1)


def install_signal_handlers(cancel: threading.Event) -> None:
    """SIGINT/SIGTERM: first set ``cancel``; a second signal raises KeyboardInterrupt."""

    def handler(signum: int, frame: Any) -> None:
        if cancel.is_set():
            raise KeyboardInterrupt
        print(f"worker: {signal.Signals(signum).name} received, stopping", file=sys.stderr)
        cancel.set()

    signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGTERM, handler)


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m nnexplorer.core.worker",
        description="Run the experiment recorded in RUN_DIR/preset.toml; events go to stdout.",
    )
    parser.add_argument("run_dir", type=Path, help="a run folder made by create_run_dir")
    parser.add_argument("--grid", action="store_true", help="run the preset's grid search")
    parser.add_argument("--sweep", action="store_true", help="train each [grid.params] variant")
    parser.add_argument("--resume", action="store_true", help="continue a grid search")
    return parser.parse_args(argv)


def _failed(run_dir: Path, emit: Emit, message: str, mode: Mode) -> int:
    from nnexplorer.core.runs import RunRecorder

    summary: RunSummary = {
        "status": "failed",
        "mode": mode,
        "epochs_completed": 0,
        "test_metrics": {},
    }
    event = RunFinished(run_id=run_dir.name, status="failed", summary=summary, message=message)
    recorder = RunRecorder(run_dir)
    sinks: list[Emit] = [recorder, emit]
    for sink in sinks:
        try:
            sink(event)
        except Exception as exc:
            print(f"worker: could not record the failure: {exc}", file=sys.stderr)
    recorder.close()
    return 1


def main(argv: list[str] | None = None) -> int:
    """Run one experiment in this process and return its exit code."""
    args = _parse(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    emit = JsonLines(_event_stream())
    cancel = threading.Event()
    install_signal_handlers(cancel)
    run_dir: Path = args.run_dir
    mode: Mode = "sweep" if args.sweep else "grid" if args.grid else "train"
    print(f"worker: pid {os.getpid()} {mode} run {run_dir} at {time.ctime()}", file=sys.stderr)
    if args.resume and not args.grid:
        print("worker: --resume applies to grid searches only (add --grid)", file=sys.stderr)
        return 2
    if not (run_dir / "preset.toml").is_file():
        print(f"worker: {run_dir / 'preset.toml'} not found", file=sys.stderr)
        return 2
    from nnexplorer.core.errors import NnxError
    from nnexplorer.core.runs import acquire
    from nnexplorer.core.spec import spec_from_toml

    try:
        acquire(run_dir)  # held until this process exits
    except NnxError as exc:
        print(f"worker: {exc}", file=sys.stderr)
        return exc.exit_code
    preset = run_dir / "preset.toml"
    try:
        spec = spec_from_toml(preset.read_text(encoding="utf-8"), file=str(preset))
    except (NnxError, OSError, UnicodeDecodeError) as exc:
        return _failed(run_dir, emit, str(exc), mode)
    if mode == "grid" and spec.grid is not None and spec.grid.is_sweep:
        mode = "sweep"  # [grid] search = "sweep" trains its variants; there is nothing to search
    try:
        if mode == "sweep":
            from nnexplorer.core.sweep import run_sweep

            result: Any = run_sweep(spec, run_dir, emit, cancel=cancel)
        elif mode == "grid":
            from nnexplorer.core.search import grid_search

            result = grid_search(spec, run_dir, emit, cancel=cancel, resume=args.resume)
        else:
            from nnexplorer.core.training import train

            result = train(spec, run_dir, emit, cancel=cancel)
    except KeyboardInterrupt:
        return EXIT_CODE["cancelled"]
    except Exception as exc:  # the engines never raise; this guards their imports
        return _failed(run_dir, emit, f"{type(exc).__name__}: {exc}", mode)
    if getattr(result, "error", None) is not None and result.status == "failed":
        print(f"worker: {result.error}", file=sys.stderr)
    return int(result.exit_code)


if __name__ == "__main__":
    sys.exit(main())
