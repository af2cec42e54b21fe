"""Child-process entry: ``python -m nnexplorer.core.worker RUN_DIR [--grid | --sweep] [--resume]
[--detached [--slots N]]``.

Loads ``RUN_DIR/preset.toml``, runs :func:`nnexplorer.core.training.train` (or the grid search,
or the sweep)
and writes every event as one JSON line on stdout. Anything else that writes to stdout
(TensorFlow, Keras) is sent to stderr, so stdout carries only events. The first SIGINT or
SIGTERM asks the run to stop at the end of the current batch; a second one interrupts it at
once (still recording it as cancelled). While it lives the worker keeps ``run.json``'s heartbeat
current and acts on stop requests (:class:`~nnexplorer.core.runs.Liveness`).

``--detached`` (``nnexplorer run --detach`` and the explorer): nothing goes to stdout (the run
is followed through ``events.jsonl``), and the run first waits for a slot of its runs folder
(status ``queued``), then pins itself to the slot's GPU (``CUDA_VISIBLE_DEVICES``) before
TensorFlow loads. A run stopped while queued is recorded as cancelled without loading anything.

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
    Event,
    JsonLines,
    Mode,
    RunFinished,
    RunQueued,
    RunSummary,
    SlotAcquired,
    tee,
)

GPU_ENV = "NNEXPLORER_GPU"  # the GPU a detached run's slot pinned it to (for its device label)


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
    parser.add_argument(
        "--detached", action="store_true", help="wait for a slot; events only to events.jsonl"
    )
    parser.add_argument("--slots", type=int, help="slots of the runs folder (with --detached)")
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


def _record(run_dir: Path, emit: Emit, event: Event) -> None:
    """Record an event of the worker's own (before the engine records the rest) and emit it."""
    from nnexplorer.core.runs import RunRecorder

    recorder = RunRecorder(run_dir)
    try:
        recorder(event)
    finally:
        recorder.close()
    emit(event)


def _take_slot(
    run_dir: Path, emit: Emit, cancel: threading.Event, args: argparse.Namespace, liveness: Any
) -> Any:
    """Wait for a slot and pin this process to its GPU; the queue, or None when stopped."""
    from nnexplorer.core.gpus import gpu_for_slot, slot_count, visible_gpus
    from nnexplorer.core.runs import SlotQueue, read_meta

    gpus = visible_gpus()
    slots = slot_count(args.slots)
    queue = SlotQueue(run_dir.parent, run_dir.name)
    queued = time.time()

    def waiting(ahead: int) -> None:
        _record(run_dir, emit, RunQueued(run_id=run_dir.name, slots=slots, ahead=ahead))

    meta = read_meta(run_dir)  # queued in the order the runs were asked for
    since = meta.get("resumed") or meta.get("created")
    slot = queue.wait(
        slots,
        cancel,
        on_wait=waiting,
        since=float(since) if isinstance(since, int | float) else None,
    )
    if slot is None:
        return None
    gpu = gpu_for_slot(slot, gpus)
    if gpu is not None:
        os.environ["CUDA_VISIBLE_DEVICES"] = gpu.id
        os.environ[GPU_ENV] = gpu.id
        os.environ.setdefault("TF_FORCE_GPU_ALLOW_GROWTH", "true")
    event = SlotAcquired(
        run_id=run_dir.name,
        slot=slot,
        slots=slots,
        gpu=gpu.id if gpu else "",
        waited=round(time.time() - queued, 3),
    )
    liveness.update(
        status="running", started=time.time(), slot=slot, slots=slots, gpu=gpu.id if gpu else None
    )
    _record(run_dir, emit, event)
    print(f"worker: slot {slot + 1}/{slots}" + (f", GPU {gpu.id}" if gpu else ""), file=sys.stderr)
    return queue


def _stopped_while_queued(run_dir: Path, emit: Emit, mode: Mode) -> int:
    message = "stopped while queued, before it started"
    summary: RunSummary = {
        "status": "cancelled",
        "mode": mode,
        "run_id": run_dir.name,
        "epochs_completed": 0,
        "test_metrics": {},
        "message": message,
    }
    event = RunFinished(run_id=run_dir.name, status="cancelled", summary=summary, message=message)
    _record(run_dir, emit, event)
    return EXIT_CODE["cancelled"]


def main(argv: list[str] | None = None) -> int:
    """Run one experiment in this process and return its exit code."""
    args = _parse(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    cancel = threading.Event()
    install_signal_handlers(cancel)
    emit: Emit = JsonLines(_event_stream()) if not args.detached else _nowhere
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
    from nnexplorer.core.runs import Liveness, acquire, kill_this_run

    try:
        acquire(run_dir)  # held until this process exits; a refused writer touches nothing
    except NnxError as exc:
        print(f"worker: {exc}", file=sys.stderr)
        return exc.exit_code
    liveness = Liveness(
        run_dir,
        status="queued" if args.detached else "running",
        cancel=cancel,
        on_kill=lambda: kill_this_run(run_dir, "killed on request (stop --kill)"),
        mode=mode,
        detached=args.detached,
    )
    queue = None
    with liveness:
        out = tee(liveness.observe, emit)
        if args.detached:
            try:
                queue = _take_slot(run_dir, out, cancel, args, liveness)
            except (NnxError, OSError) as exc:
                return _failed(run_dir, out, str(exc), mode)
            except KeyboardInterrupt:  # a second stop while queued
                queue = None
            if queue is None:
                return _stopped_while_queued(run_dir, out, mode)
        try:
            return _run(run_dir, out, cancel, args, mode)
        finally:
            if queue is not None:
                queue.release()


def _nowhere(event: Event) -> None:
    """The emit of a detached worker: its events go to events.jsonl only."""


def _run(
    run_dir: Path, emit: Emit, cancel: threading.Event, args: argparse.Namespace, mode: Mode
) -> int:
    from nnexplorer.core.errors import NnxError
    from nnexplorer.core.spec import spec_from_toml

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
