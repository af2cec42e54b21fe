"""The Dask backend of a grid search: the cluster connection and the joblib backend over it.

``[grid] backend = "dask"`` runs the fits on the workers of a Dask cluster through joblib's
``dask`` backend (scikit-learn's own way to spread a search over a cluster): the search process
connects a ``distributed.Client`` to the scheduler, scatters the training rows to the workers
once, and the scikit-learn search object submits its fits as Dask tasks. The workers need
nnexplorer installed (``pip install 'nnexplorer[cluster]'``), not a shared filesystem: fits
report through Dask (:mod:`._transport`, :mod:`._dask_feed`) and only the search process writes
the run directory. ``distributed`` is imported only inside functions: it is an optional extra.
"""

from __future__ import annotations

import contextlib
import os
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from nnexplorer.core.errors import NnxError, RunError
from nnexplorer.core.formatting import count
from nnexplorer.core.search._fit import FitCancelled
from nnexplorer.core.search._space import available_cores
from nnexplorer.core.spec import GridSpec
from nnexplorer.core.spec.model import check_scheduler_address

CONNECT_TIMEOUT = 5.0  # seconds to reach the scheduler
WORKERS_TIMEOUT = 30.0  # seconds to wait for a first worker
SCHEDULER_ENV = "NNEXPLORER_SCHEDULER"
INSTALL_HINT = "pip install 'nnexplorer[cluster]'"


class SchedulerUnreachable(NnxError):
    """The Dask scheduler cannot be reached (a bad address, not started, a firewall)."""


def scheduler_address(grid: GridSpec) -> str:
    """The scheduler of a Dask search: ``grid.scheduler``, else ``$NNEXPLORER_SCHEDULER``."""
    if grid.scheduler:
        return grid.scheduler
    value = os.environ.get(SCHEDULER_ENV, "").strip()
    if not value:
        raise NnxError(
            'grid.backend is "dask" but no scheduler is given',
            "set grid.scheduler, pass --scheduler tcp://HOST:8786 or set NNEXPLORER_SCHEDULER",
        )
    try:
        return check_scheduler_address(value)
    except ValueError as exc:
        raise NnxError(f"{SCHEDULER_ENV}: {exc}") from None


def _require_distributed() -> None:
    try:
        import distributed  # noqa: F401
    except ImportError:
        raise NnxError(
            'grid.backend = "dask" needs dask[distributed], which is not installed',
            INSTALL_HINT,
        ) from None


def check_scheduler(address: str, timeout: float = CONNECT_TIMEOUT) -> None:
    """Raise :class:`SchedulerUnreachable` unless something listens at ``address``.

    A plain TCP connection (every protocol but ucx runs over TCP): a refused connection or an
    unknown host fails at once, a silent one after ``timeout`` seconds.
    """
    _require_distributed()
    scheme, _, rest = address.partition("://")
    if scheme == "ucx":
        return
    host, _, port = rest.rpartition(":")
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout):
            pass
    except socket.gaierror:
        raise SchedulerUnreachable(
            f"cannot reach the Dask scheduler at {address}: unknown host {host!r}"
        ) from None
    except TimeoutError:
        raise SchedulerUnreachable(
            f"cannot reach the Dask scheduler at {address}: no answer within {timeout:g} s"
        ) from None
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise SchedulerUnreachable(
            f"cannot reach the Dask scheduler at {address}: {reason.lower()}",
            "is `dask scheduler` running there?",
        ) from None


# --------------------------------------------------------------------------- the cluster


@dataclass
class Cluster:
    """A connected cluster: the client, its workers and the joblib backend of a running search."""

    address: str
    client: Any
    workers: dict[str, dict[str, Any]] = field(default_factory=dict)  # address -> host, nthreads
    cores: dict[str, int] = field(default_factory=dict)  # address -> cores of its machine
    backend: Any = None
    warming: list[Any] = field(default_factory=list)

    @property
    def n_threads(self) -> int:
        """Worker threads in the cluster: fits that run at once."""
        return sum(int(w.get("nthreads") or 1) for w in self.workers.values())

    def worker_threads(self) -> dict[str, int]:
        """TensorFlow threads per worker: its machine's cores over the worker threads there."""
        by_host: dict[str, int] = {}
        for info in self.workers.values():
            host = str(info.get("host"))
            by_host[host] = by_host.get(host, 0) + int(info.get("nthreads") or 1)
        out = {}
        for address, info in self.workers.items():
            cores = self.cores.get(address) or 1
            out[address] = max(1, cores // max(1, by_host[str(info.get("host"))]))
        return out

    def describe(self) -> str:
        """``2 Dask workers at tcp://...``."""
        return f"{count(len(self.workers), 'Dask worker')} at {self.address}"

    def warm_up(self) -> None:
        """Start TensorFlow on every worker (one tiny fit) while this process loads data."""
        from nnexplorer.core.search._estimator import warm_up_dask

        threads = self.worker_threads()
        self.warming = [
            self.client.submit(warm_up_dask, threads, workers=[address], pure=False)
            for address in self.workers
        ]

    @contextlib.contextmanager
    def parallel(self, x: Any, y: Any, batch: int) -> Iterator[None]:
        """While inside, joblib runs on this cluster, with ``x`` and ``y`` scattered once."""
        from joblib import parallel_config

        self.backend = backend_class()(client=self.client, scatter=[x, y], batch=batch)
        try:
            with parallel_config(backend=self.backend):
                yield
        finally:
            self.backend = None

    def cancel_tasks(self) -> None:
        """Cancel the tasks of the running search (pending ones never start)."""
        backend = self.backend
        if backend is not None:
            backend.cancel_all()

    def close(self) -> None:
        """Close the connection (the scheduler releases whatever this client still holds)."""
        with contextlib.suppress(Exception):
            self.client.close(timeout=CONNECT_TIMEOUT)


def connect(address: str, timeout: float = CONNECT_TIMEOUT) -> Cluster:
    """A :class:`Cluster` connected to the scheduler at ``address``, with at least one worker."""
    check_scheduler(address, timeout)
    from distributed import Client

    try:
        client = Client(address, timeout=timeout, set_as_default=False)
    except (OSError, TimeoutError) as exc:
        raise SchedulerUnreachable(
            f"cannot connect to the Dask scheduler at {address}: {describe(exc)}"
        ) from None
    cluster = Cluster(address=address, client=client)
    try:
        client.wait_for_workers(1, timeout=WORKERS_TIMEOUT)
        facts = client.run(worker_facts)
        cluster.workers = {
            str(a): {"host": f["host"], "nthreads": f["nthreads"]} for a, f in facts.items()
        }
        cluster.cores = {str(a): int(f["cores"]) for a, f in facts.items()}
    except Exception as exc:
        cluster.close()
        if type(exc).__name__ == "TimeoutError":
            raise RunError(
                f"the Dask cluster at {address} has no worker after {WORKERS_TIMEOUT:g} s",
                f"start one with `dask worker {address} --nthreads 1`",
            ) from None
        raise RunError(f"the Dask cluster at {address} did not answer: {describe(exc)}") from None
    return cluster


def worker_facts(dask_worker: Any) -> dict[str, Any]:
    """Run on each worker (``Client.run``): its machine, its threads, the cores it may use."""
    return {
        "host": socket.gethostname(),
        "nthreads": int(dask_worker.state.nthreads),
        "cores": available_cores(),
    }


def describe(exc: BaseException) -> str:
    """An exception's first line, without its class when the line says enough."""
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


# --------------------------------------------------------------------------- joblib


def backend_class() -> type:
    """joblib's Dask backend, grouping fits, always using the cluster, cancelling for real."""
    from joblib._dask import DaskDistributedBackend

    class NnxDaskBackend(DaskDistributedBackend):
        """``batch`` fits per task (one network's fits, as with the local backend)."""

        def __init__(self, *, batch: int = 1, **kwargs: Any) -> None:
            super().__init__(**kwargs)
            self.batch = batch

        def compute_batch_size(self) -> int:
            return self.batch if self.batch > 1 else int(super().compute_batch_size())

        def effective_n_jobs(self, n_jobs: int) -> int:
            # joblib runs in the calling process when this is 1: never, with a cluster.
            return max(2, int(super().effective_n_jobs(n_jobs)))

        def cancel_all(self) -> None:
            """Cancel every task this backend submitted and that has not finished."""
            for _ in range(3):  # the client's thread may add a future meanwhile
                try:
                    futures = [f for f in list(self._results) if not f.done()]
                    break
                except RuntimeError:
                    continue
            else:
                return
            if futures:
                with contextlib.suppress(Exception):
                    self.client.cancel(futures, reason="the search was stopped")

        def abort_everything(self, ensure_ready: bool = True) -> None:
            # joblib's own only forgets the futures; the tasks would run on.
            self.cancel_all()
            super().abort_everything(ensure_ready=ensure_ready)

        def retrieve_result_callback(self, out: Any) -> Any:
            if _is_cancelled(out):
                raise FitCancelled("the search was stopped")
            return super().retrieve_result_callback(out)

    return NnxDaskBackend


def _is_cancelled(out: Any) -> bool:
    import asyncio
    import concurrent.futures

    return isinstance(out, asyncio.CancelledError | concurrent.futures.CancelledError)


def dask_failure(exc: BaseException, address: str, kept: str) -> str | None:
    """A clear message for a Dask failure that ended the search (None: not one of those)."""
    names = {cls.__name__ for cls in type(exc).__mro__}
    if "KilledWorker" in names:
        return (
            f"a task of the search was running on every Dask worker that died under it "
            f"({describe(exc)}); {kept}"
        )
    if names & {"CommClosedError", "FuturesCancelledError", "FutureCancelledError"}:
        return f"lost the Dask scheduler at {address} ({describe(exc)}); {kept}"
    if "TimeoutError" in names and "distributed" in type(exc).__module__:
        return f"the Dask scheduler at {address} stopped answering; {kept}"
    return None
