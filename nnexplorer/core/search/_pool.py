"""The grid's worker processes: ending them on every way out, and saying why one died.

The fits run in loky worker processes (:func:`worker_backend`). A search that ends other than by
completing (stopped, failed, interrupted) shuts the pool down and kills its workers, so that none
keeps training for a search that is over; every worker watches the process that started it and
exits within a second when it dies (``kill -9`` of the search; :func:`watch_parent`). A worker
killed by the operating system is most often out of memory: :func:`death_message` says so and
suggests fewer ``n_jobs``.
"""

from __future__ import annotations

import contextlib
import glob
import os
import re
import threading
import time
from pathlib import Path
from typing import Any

from nnexplorer.core.formatting import count

_WATCHING: dict[str, int] = {}


def stop_workers() -> None:
    """Shut the reusable loky pool down and kill its workers (no-op when there is none)."""
    with contextlib.suppress(Exception):
        from joblib.externals.loky import reusable_executor

        with reusable_executor._executor_lock:
            executor = reusable_executor._executor
        if executor is not None:
            executor.shutdown(wait=True, kill_workers=True)


def watch_parent(interval: float = 0.5) -> None:
    """In a worker process: exit as soon as the process that started it is gone.

    A worker is killed with its search on every normal way out; this covers the search being
    killed outright (SIGKILL, a crash), which leaves it no way to clean up.
    """
    if "parent" in _WATCHING:
        return
    parent = _WATCHING["parent"] = os.getppid()

    def watch() -> None:
        while True:
            time.sleep(interval)
            if os.getppid() != parent:
                os._exit(1)

    threading.Thread(target=watch, name="nnx-parent-watch", daemon=True).start()


def worker_died(exc: BaseException) -> bool:
    """Whether ``exc`` says a worker process of the pool died."""
    from concurrent.futures.process import BrokenProcessPool

    names = {cls.__name__ for cls in type(exc).__mro__}
    return isinstance(exc, BrokenProcessPool) or "TerminatedWorkerError" in names


def _how(exc: BaseException) -> str:
    """``killed by SIGKILL``, ``exited with code 3``, or ``""`` from the pool's message."""
    match = re.search(r"exit codes of the workers are \{([^}]*)\}", str(exc))
    if not match:
        return ""
    codes = match.group(1)
    signal = re.search(r"(SIG[A-Z]+)", codes)
    if signal:
        return f"killed by {signal.group(1)}"
    return f"exited with code {codes}".strip()


def death_message(exc: BaseException, *, n_jobs: int, kept: int, run_dir: Path) -> str:
    """What ended a search whose worker died, its likely cause and what to do."""
    how = _how(exc)
    cause = (
        "most likely the machine ran out of memory"
        if not how or "SIGKILL" in how or "SIGSEGV" in how
        else "it may have crashed or run out of memory"
    )
    fewer = (
        f"lower grid.n_jobs (it was {n_jobs}: {n_jobs} processes each train a network at once)"
        if n_jobs > 1
        else "use smaller networks or batches"
    )
    return (
        f"a worker process died{f' ({how})' if how else ''}: {cause}; {fewer}; "
        f"{count(kept, 'finished fit')} kept in the journal (fits.jsonl); "
        f"continue with --resume {run_dir}"
    )


BACKEND = "nnx-loky"


def worker_backend(batch: int = 1) -> str:
    """The joblib backend of a search: loky, whose workers each watch their parent from the
    start (:func:`watch_parent`), and that hands a worker ``batch`` consecutive fits at once.

    Candidates come in blocks that share one network (see :mod:`._space`); with a block's
    fits in one batch a worker builds and traces each network once, instead of every worker
    building every network. joblib splits the last batches to keep the workers balanced. With
    ``batch`` 1 joblib sizes the batches itself. The warm-up and the search use this same
    backend, so the search reuses the warmed-up workers.
    """
    from joblib import register_parallel_backend
    from joblib._parallel_backends import LokyBackend

    class NnxLokyBackend(LokyBackend):
        def __init__(self, *args: Any, **kwargs: Any):
            kwargs.setdefault("initializer", watch_parent)
            super().__init__(*args, **kwargs)

        def compute_batch_size(self) -> int:
            return batch if batch > 1 else int(super().compute_batch_size())

    register_parallel_backend(BACKEND, NnxLokyBackend)
    return BACKEND


def gpus_without_tensorflow() -> int:
    """GPUs the NVIDIA driver lists (honouring CUDA_VISIBLE_DEVICES), without importing TF."""
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None and visible.strip() in ("", "-1"):
        return 0
    found = len(glob.glob("/proc/driver/nvidia/gpus/*"))
    if visible is not None:
        found = min(found, len([v for v in visible.split(",") if v.strip()]))
    return found
