"""Runs that live on the server: ``run --detach``, ``attach``, ``stop``, ``devices``, ``runs``.

A detached run is a worker in its own session that queues for a slot of the runs folder and
records everything there (:mod:`nnexplorer.core.detach`); these commands only read and write
that folder, so any terminal (a new SSH login, another machine sharing the home directory) can
follow or stop any run. Only ``devices`` imports TensorFlow.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from pathlib import Path
from typing import Any

from nnexplorer.cli.headless import (
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_RUN_FAILED,
    check_cluster,
    note,
    resume_dir,
    run_mode,
)
from nnexplorer.core.errors import NnxError
from nnexplorer.core.events import Event, JsonLines, RunFinished, exit_code
from nnexplorer.core.formatting import count, status_word


def run_detached(spec: Any, args: argparse.Namespace) -> int:
    """``run PRESET --detach``: start the worker, print its run directory, return at once.

    The checks of a foreground run come first (grid size, data, memory, the Dask scheduler),
    so that a bad preset is refused here rather than in a worker nobody watches.
    """
    from nnexplorer.core import preflight
    from nnexplorer.core.detach import start_detached
    from nnexplorer.core.spec import resolve_preset_path

    if args.json:
        raise NnxError(
            "--json streams a run's events: with --detach use `nnexplorer attach RUN --json`"
        )
    grid = bool(args.grid) or bool(getattr(args, "sweeps", None))
    if grid and (spec.grid is None or not spec.grid.params):
        raise NnxError("the preset has no [grid.params] to search (add some, or drop --grid)")
    mode = run_mode(spec, grid)
    if args.resume is not None and mode != "grid":
        what = "a sweep cannot be resumed" if mode == "sweep" else "add --grid"
        raise NnxError(f"--resume continues a grid run; {what}")
    preset = str(resolve_preset_path(args.preset))
    yes = bool(getattr(args, "yes", False)) or args.resume is not None
    preflight.before_run(spec, grid=mode == "grid", yes=yes, file=preset)
    if mode == "grid":
        check_cluster(spec)
    handle = start_detached(
        spec,
        mode=mode,
        runs_root=args.runs,
        resume=resume_dir(args.resume, spec) if args.resume else None,
        slots=args.slots,
    )
    print(handle.run_dir, flush=True)
    note(
        f"detached run {handle.run_id} (pid {handle.pid}): `nnexplorer attach {handle.run_id}` "
        f"follows it, `nnexplorer stop {handle.run_id}` stops it"
    )
    return EXIT_OK


def _find(args: argparse.Namespace) -> Path:
    from nnexplorer.core.runs import find_run

    return find_run(args.run, args.runs)


def cmd_attach(args: argparse.Namespace) -> int:
    """Follow a run: what it recorded so far, then live, until it ends; its exit code."""
    from nnexplorer.core.detach import attach_run

    handle = attach_run(_find(args))
    if not args.json:
        note(f"attached to {handle.run_id} ({status_word(handle.status())}); Ctrl-C detaches")
    try:
        if args.json:
            out = JsonLines(sys.stdout)
            for event in itertools.chain(handle.read_available(), handle.events()):
                out(event)
        else:
            _follow_on_console(handle)
    except KeyboardInterrupt:
        handle.close()
        if handle.running:
            note(
                f"detached; {handle.run_id} goes on running "
                f"(`nnexplorer attach {handle.run_id}` follows it again, "
                f"`nnexplorer stop {handle.run_id}` stops it)"
            )
        return EXIT_INTERRUPTED
    return _ended(handle.follower.finished, handle.run_dir)


def _follow_on_console(handle: Any) -> None:
    from nnexplorer.cli.console import RunRenderer

    with RunRenderer() as renderer:
        renderer.replay(handle.read_available())
        for event in handle.events():
            renderer(event)


def _ended(finished: Event | None, run_dir: Path) -> int:
    if not isinstance(finished, RunFinished):
        return EXIT_RUN_FAILED
    if finished.status == "interrupted":
        note(f"{run_dir.name}: interrupted ({finished.message})")
        if finished.summary.get("mode") == "grid":
            note(f"resume it: {_resume_command(run_dir)}")
    return exit_code(finished.status)


def _resume_command(run_dir: Path) -> str:
    return f"nnexplorer run {run_dir / 'preset.toml'} --grid --resume {run_dir}"


def cmd_stop(args: argparse.Namespace) -> int:
    """Ask a live run to stop after its current batch (``--kill``: at once)."""
    from nnexplorer.core.runs import read_meta, request_stop, this_host

    run_dir = _find(args)
    outcome = request_stop(run_dir, kill=args.kill)
    if not outcome.asked:
        note(f"{run_dir.name} is not running ({status_word(outcome.status)}): nothing to stop")
        return EXIT_RUN_FAILED
    meta = read_meta(run_dir)
    elsewhere = meta.get("host") not in (None, this_host())
    where = f" on {meta.get('host')}" if elsewhere else ""
    if args.kill:
        done = "asked to end at once" if elsewhere else "killed (recorded as failed)"
        note(f"{run_dir.name}{where}: {done}")
    elif outcome.status == "queued":
        note(f"{run_dir.name}{where}: was queued; it will not start (recorded as stopped)")
    else:
        note(f"{run_dir.name}{where}: stopping after the current batch")
    return EXIT_OK


def resume_hints(records: list[Any], limit: int = 3) -> list[str]:
    """A line for each interrupted grid run (the newest ``limit``): how to resume it."""
    grids = [i for i in records if i.mode == "grid" and i.status == "interrupted"]
    return [f"interrupted grid {i.run_id}: {_resume_command(i.run_dir)}" for i in grids[:limit]]


def cmd_devices(args: argparse.Namespace) -> int:
    """What TensorFlow sees (GPU names and memory, or CPU only), and the run slots."""
    from nnexplorer.core.devices import list_devices
    from nnexplorer.core.gpus import gpu_for_slot, slot_count, visible_gpus

    seen = list_devices()
    driver = visible_gpus()
    slots = slot_count()
    mapping = [
        {"slot": k, "gpu": gpu.id if (gpu := gpu_for_slot(k, driver)) else None}
        for k in range(slots)
    ]
    if args.json:
        shown = {
            **seen,
            "driver_gpus": [{"id": g.id, "name": g.name, "uuid": g.uuid} for g in driver],
            "slots": mapping,
        }
        print(json.dumps(shown, indent=2))
        return EXIT_OK
    for line in _devices_lines(seen, driver, mapping):
        print(line)
    return EXIT_OK


def _devices_lines(
    seen: dict[str, Any], driver: list[Any], mapping: list[dict[str, Any]]
) -> list[str]:
    versions = seen["versions"]
    cuda = "with CUDA" if seen["built_with_cuda"] else "without CUDA"
    lines = [f"TensorFlow {versions.get('tensorflow', '?')} ({cuda}) sees:"]
    if not seen["gpus"]:
        lines.append("  CPU only (no GPU)")
    for gpu in seen["gpus"]:
        memory = f"{gpu['memory_mib'] / 1024:.1f} GiB" if gpu["memory_mib"] else "memory unknown"
        capability = f", compute {gpu['compute_capability']}" if gpu["compute_capability"] else ""
        lines.append(f"  GPU {gpu['cuda_id']}: {gpu['name']}, {memory}{capability}")
    if driver and not seen["gpus"]:
        names = ", ".join(f"{g.id}: {g.name}" for g in driver)
        lines.append(
            f"the NVIDIA driver lists {count(len(driver), 'GPU')} TensorFlow cannot use ({names})"
        )
    pins = ", ".join(
        f"slot {m['slot'] + 1} -> GPU {m['gpu']}"
        if m["gpu"] is not None
        else f"slot {m['slot'] + 1}"
        for m in mapping
    )
    lines.append(
        f"detached runs: {count(len(mapping), 'slot')} ({pins}); "
        "--slots N or NNEXPLORER_SLOTS, default one per GPU, else 1"
    )
    return lines
