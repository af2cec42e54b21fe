"""How a fit reports to its search, and what it asks of it, in whichever process it runs.

A fit needs three things from the search that started it: somewhere to write its lines
(``fit_begin``, its events, ``fit_record``; see :mod:`._journal`), the stop request, and the
journal of finished fits (a resumed search skips them). The session's
:class:`~nnexplorer.core.search._fit.SearchConfig` names the transport:

- ``files`` (the local backend): the fit's own file in ``RUN_DIR/fits``, the stop file, and
  ``RUN_DIR/fits.jsonl``, all on this machine's filesystem;
- ``dask``: no shared filesystem. Lines travel as the Dask worker's log events on the session's
  topic (the search process subscribes to it), the stop request is a ``distributed.Event``,
  and the journal is a ``distributed.Variable`` that the search process keeps current (so a
  task that Dask reschedules after losing a worker skips the fits already done).

A fit that runs in the search process itself (the refit of the best candidate) reaches the
session's :class:`Endpoint` directly. ``distributed`` is imported only inside functions.
"""

from __future__ import annotations

import contextlib
import functools
import json
import sys
import time
from pathlib import Path
from typing import Any, Protocol

from nnexplorer.core.events import Event
from nnexplorer.core.search._journal import (
    FITS_DIR,
    JOURNAL_FILE,
    FitLog,
    StopFlag,
    json_line,
    read_journal,
)

FILES, DASK = "files", "dask"
STOP_CHECK_INTERVAL = 0.5  # seconds between two stop checks of a Dask fit (a scheduler call)


def topic_of(session: str) -> str:
    """The Dask log-event topic that carries a session's fit lines."""
    return f"nnx-fits-{session}"


def stop_name(session: str) -> str:
    """The name of a session's stop ``distributed.Event``."""
    return f"nnx-stop-{session}"


def journal_name(session: str) -> str:
    """The name of the ``distributed.Variable`` holding a session's finished fits (JSON)."""
    return f"nnx-journal-{session}"


class Endpoint(Protocol):
    """The search process's end of a Dask session, for fits that run in that process."""

    def handle_line(self, line: str) -> None: ...

    @property
    def stopped(self) -> bool: ...

    def finished(self) -> dict[str, dict[str, Any]]: ...


_ENDPOINTS: dict[str, Endpoint] = {}


def register_endpoint(session: str, endpoint: Endpoint | None) -> None:
    """Make ``endpoint`` the in-process end of ``session`` (None removes it)."""
    if endpoint is None:
        _ENDPOINTS.pop(session, None)
    else:
        _ENDPOINTS[session] = endpoint


def dask_worker() -> Any | None:
    """The Dask worker running the current task, or None outside a Dask task."""
    if "distributed" not in sys.modules:
        return None
    from distributed import get_worker

    try:
        return get_worker()
    except ValueError:
        return None


def worker_address() -> str:
    """The address of the Dask worker running the current task ("" outside one)."""
    worker = dask_worker()
    return str(worker.address) if worker is not None else ""


def tf_threads() -> int:
    """TensorFlow's intra-op threads in this process (0: its default, or not imported)."""
    tf = sys.modules.get("tensorflow")
    if tf is None:
        return 0
    with contextlib.suppress(Exception):
        return int(tf.config.threading.get_intra_op_parallelism_threads())
    return 0


# --------------------------------------------------------------------------- writing


class TopicLog:
    """The writing end of a Dask fit: every line is a log event on the session's topic."""

    def __init__(self, session: str):
        self.topic = topic_of(session)
        self.worker = dask_worker()
        self.endpoint = _ENDPOINTS.get(session) if self.worker is None else None

    def _send(self, line: str) -> None:
        if self.worker is not None:
            self.worker.log_event(self.topic, line)
        elif self.endpoint is not None:
            self.endpoint.handle_line(line)

    def write(self, data: dict[str, Any]) -> None:
        """Send one line."""
        self._send(json_line(data))

    def emit(self, event: Event) -> None:
        """An ``emit`` for the fit's callback."""
        self._send(event.to_json())

    def close(self) -> None:
        """Nothing to close: kept for the FitLog interface."""


def open_log(transport: str, session: str, run_dir: str, key: str) -> FitLog | TopicLog:
    """Where the fit ``key`` writes its lines."""
    if transport == DASK:
        return TopicLog(session)
    return FitLog(Path(run_dir) / FITS_DIR, key)


# --------------------------------------------------------------------------- stopping


class EventStopFlag:
    """``is_set()`` is true once the session's stop Event is set (checked every ``interval`` s)."""

    def __init__(self, session: str, interval: float = STOP_CHECK_INTERVAL):
        self.session = session
        self.interval = interval
        self._checked = 0.0
        self._set = False
        self._event: Any = None

    def is_set(self) -> bool:
        """Whether a stop was requested (an unreachable scheduler counts as no)."""
        if self._set:
            return True
        now = time.monotonic()
        if now - self._checked < self.interval:
            return False
        self._checked = now
        endpoint = _ENDPOINTS.get(self.session)
        if endpoint is not None:
            self._set = endpoint.stopped
        elif dask_worker() is not None:
            with contextlib.suppress(Exception):
                if self._event is None:
                    from distributed import Event as DaskEvent

                    self._event = DaskEvent(stop_name(self.session))
                self._set = bool(self._event.is_set())
        return self._set


def stop_flag(transport: str, session: str, run_dir: str) -> StopFlag | EventStopFlag:
    """The stop request that a fit of this session watches."""
    if transport == DASK:
        return EventStopFlag(session)
    return StopFlag(Path(run_dir) / FITS_DIR)


# --------------------------------------------------------------------------- the journal


@functools.lru_cache(maxsize=4)
def _file_journal(path: str, session: str) -> dict[str, dict[str, Any]]:
    """Finished fits recorded before this session started (read once per process and session)."""
    return read_journal(Path(path).parent) if Path(path).is_file() else {}


def finished_fits(transport: str, session: str, run_dir: str) -> dict[str, dict[str, Any]]:
    """The session's finished fits by key, as this process can know them."""
    if transport != DASK:
        return _file_journal(str(Path(run_dir) / JOURNAL_FILE), session)
    endpoint = _ENDPOINTS.get(session)
    if endpoint is not None:
        return endpoint.finished()
    if dask_worker() is None:
        return {}
    from distributed import Variable

    try:
        text = Variable(journal_name(session)).get(timeout=10)
        found = json.loads(text)
    except Exception:  # no journal published (or no scheduler): nothing to skip
        return {}
    return found if isinstance(found, dict) else {}
