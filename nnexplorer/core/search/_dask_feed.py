"""The search process's end of a Dask search: fit lines, the cluster's news, stop and journal.

:class:`DaskFeed` is the Dask backend's :class:`~._collector.FitCollector`. It subscribes to the
session's topic (the lines fits send as worker log events) and to each worker's own topic, where
the scheduler announces its removal (the scheduler's ``all`` topic would do, but some of its
events cannot be sent to a client); the handlers only queue what arrives, and one thread turns
it into events, so the client's event loop never waits on ``emit``. It owns the session's stop
``distributed.Event`` and the ``distributed.Variable`` that tells workers which fits are done
(those found by ``--resume`` and those finished since). A worker that leaves is logged, and the
fits it was running are counted as restarted (Dask runs its tasks again elsewhere): their
records carry ``restarts`` and summary.json lists ``workers_lost``.
"""

from __future__ import annotations

import contextlib
import json
import queue
import threading
import time
from pathlib import Path
from typing import Any

from nnexplorer.core.events import Emit, LogEvent, RunSummary, json_safe
from nnexplorer.core.formatting import count
from nnexplorer.core.search._collector import FitCollector
from nnexplorer.core.search._dask import Cluster
from nnexplorer.core.search._transport import (
    journal_name,
    register_endpoint,
    stop_name,
    topic_of,
)

PUBLISH_INTERVAL = 0.5  # seconds between two updates of the journal Variable


class DaskFeed(FitCollector):
    """Collects a Dask session's fits; see the module docstring."""

    def __init__(
        self,
        cluster: Cluster,
        session: str,
        run_dir: str | Path,
        emit: Emit,
        *,
        run_id: str,
        n_candidates: int,
        n_folds: int,
        cancel: Any = None,
        known: dict[str, dict[str, Any]] | None = None,
        on_record: Any = None,
        interval: float = 0.1,
    ):
        super().__init__(
            run_dir,
            emit,
            run_id=run_id,
            n_candidates=n_candidates,
            n_folds=n_folds,
            known=set(known or ()),
            on_record=on_record,
        )
        self.cluster = cluster
        self.session = session
        self.cancel = cancel
        self.interval = interval
        self.lost: list[str] = []
        self._finished: dict[str, dict[str, Any]] = dict(known or {})
        self._dirty = False
        self._published = 0.0
        self._stopped = False
        self._inbox: queue.SimpleQueue[tuple[str, Any]] = queue.SimpleQueue()
        self._quit = threading.Event()
        self._thread: threading.Thread | None = None
        self._subscribed: list[str] = []
        self._stop_event: Any = None
        self._journal_var: Any = None

    # ----------------------------------------------------------------- lifecycle

    def start(self) -> DaskFeed:
        """Publish the journal, subscribe to the topics, start the thread."""
        from distributed import Event, Variable

        client = self.cluster.client
        self._stop_event = Event(stop_name(self.session), client=client)
        self._journal_var = Variable(journal_name(self.session), client=client)
        self._publish()
        register_endpoint(self.session, self)
        self._subscribe(topic_of(self.session), "fit")
        for worker in self.cluster.workers:
            self._subscribe(worker, "worker")
        self._thread = threading.Thread(target=self._loop, name="nnx-dask-feed", daemon=True)
        self._thread.start()
        return self

    def _subscribe(self, topic: str, kind: str) -> None:
        """Queue the messages of ``topic`` (a worker's topic: the scheduler's news of it)."""
        if topic in self._subscribed:
            return

        def put(event: tuple[float, Any]) -> None:
            self._inbox.put((kind, (topic, event[1])))

        self._subscribed.append(topic)
        with contextlib.suppress(Exception):
            self.cluster.client.subscribe_topic(topic, put)

    def _loop(self) -> None:
        while not self._quit.is_set():
            if self.cancel is not None and self.cancel.is_set() and not self._stopped:
                self.stop()
            self._take(timeout=self.interval)
            if self._dirty and time.monotonic() - self._published >= PUBLISH_INTERVAL:
                self._publish()

    def _take(self, timeout: float) -> bool:
        """Handle what has arrived (waiting up to ``timeout`` for a first item)."""
        try:
            kind, message = self._inbox.get(timeout=timeout)
        except queue.Empty:
            return False
        while True:
            topic, body = message
            if kind == "fit" and isinstance(body, str):
                self.handle_line(body)
            elif kind == "worker" and isinstance(body, dict):
                self._worker_news(topic, body)
            try:
                kind, message = self._inbox.get_nowait()
            except queue.Empty:
                return True

    def drain(self, timeout: float = 10.0) -> None:
        """Wait until every fit that began has its record (or ``timeout`` s pass)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self._take(timeout=0.05) and not self.running:
                return

    def close(self) -> None:
        """Stop the thread, unsubscribe, let go of the session's Dask objects."""
        self._quit.set()
        if self._thread is not None:
            self._thread.join()
        self._take(timeout=0)
        client = self.cluster.client
        for topic in self._subscribed:
            with contextlib.suppress(Exception):
                client.unsubscribe_topic(topic)
        self._subscribed = []
        register_endpoint(self.session, None)
        with contextlib.suppress(Exception):
            self._journal_var.delete()
        self.close_journal()

    # ----------------------------------------------------------------- stop

    def stop(self) -> None:
        """Stop the search: running fits stop within a batch, pending tasks are cancelled."""
        self._stopped = True
        with contextlib.suppress(Exception):
            self._stop_event.set()
        self.cluster.cancel_tasks()

    @property
    def stopped(self) -> bool:
        """Whether :meth:`stop` was called."""
        return self._stopped

    # ----------------------------------------------------------------- the journal

    def finished(self) -> dict[str, dict[str, Any]]:
        """Finished fits by key (for a fit running in this process)."""
        with self._lock:
            return dict(self._finished)

    def _record(self, data: dict[str, Any]) -> None:
        super()._record(data)
        key = str(data.get("key"))
        if key in self.records and key not in self._finished:
            self._finished[key] = self.records[key]
            self._dirty = True

    def _publish(self) -> None:
        with self._lock:
            text = json.dumps(json_safe(self._finished), separators=(",", ":"), default=str)
            self._dirty = False
        self._published = time.monotonic()
        with contextlib.suppress(Exception):
            self._journal_var.set(text)

    # ----------------------------------------------------------------- the cluster

    def _begin(self, data: dict[str, Any]) -> None:
        worker = str(data.get("worker") or "")
        if worker:  # a worker that joined after the start
            self._subscribe(worker, "worker")
        super()._begin(data)

    def _worker_news(self, worker: str, message: dict[str, Any]) -> None:
        if message.get("action") != "remove-worker" or worker in self.lost:
            return
        self.lost.append(worker)
        keys = self.lost_worker(worker)
        note = f"Dask worker {worker} left the cluster"
        if keys:
            note += f"; the {count(len(keys), 'fit')} it was running start again on another worker"
        self.emit(LogEvent(run_id=self.run_id, level="warning", message=note))

    def facts(self) -> RunSummary:
        """Backend, scheduler, workers lost and fits restarted, for summary.json."""
        return {
            "backend": "dask",
            "scheduler": self.cluster.address,
            "workers_lost": list(self.lost),
            "fits_restarted": sum(self.restarts.values()),
        }
