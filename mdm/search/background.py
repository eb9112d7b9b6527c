"""The outbox indexer of the served application: a thread that drains the outbox into Elasticsearch every few
seconds, so records left pending by an outage reach the index without anyone running ``mdm indexer run``.

A load still drains its own batch before it returns (:func:`mdm.search.indexer.drain` with its batch id); this
thread catches up on everything else — the rows an outage left behind, or rows written by another process.
With several worker processes (``mdm serve --workers N``) the thread runs in each, but only the holder of the
database lease ``mdm.indexer`` drains (:meth:`mdm.store.dialect.Dialect.lease`: a PostgreSQL session advisory
lock, a file lock on SQLite); when the holder dies its lease goes with it and another worker takes it on its next
tick. Several drains at once would still be safe — the record version is the external version, so a repeated or
late write is skipped as stale — the lease only saves the duplicated work. Errors are logged (logger
``mdm.indexer``) and never stop the thread; an unreachable node is logged once when it goes away and once when
it is back.
"""

from __future__ import annotations

import logging
import os
import threading
from typing import TYPE_CHECKING

from mdm.db import Database
from mdm.search.indexer import DrainResult, drain
from mdm.store.dialect import Dialect, Lease
from standards.registry import Registry

if TYPE_CHECKING:
    from mdm.search.elastic import ElasticBackend

log = logging.getLogger("mdm.indexer")


class BackgroundIndexer:
    """Drains the outbox every ``interval`` seconds on a daemon thread, between :meth:`start` and :meth:`stop`.

    ``backend`` is the index-keeping backend (``backend.indexed``: Elasticsearch); ``interval`` is in seconds
    (> 0). :meth:`run_once` is one drain with the errors caught: it returns the :class:`DrainResult`, or None
    when the drain raised (logged with its traceback). ``lease`` (default: the database's ``mdm.indexer`` lease)
    decides which of several processes drains; ``holding`` says whether this one does.
    """

    LEASE = "mdm.indexer"

    def __init__(
        self, db: Database, backend: ElasticBackend, registry: Registry, *, interval: float, lease: Lease | None = None
    ) -> None:
        if interval <= 0:
            raise ValueError("interval must be positive (seconds)")
        self.db = db
        self.backend = backend
        self.registry = registry
        self.interval = interval
        self.lease = lease or Dialect.of(db.engine).lease(db.engine, self.LEASE)
        self.holding = False
        self.drains = 0  # completed drain attempts, failed ones included
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._unavailable = False

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        """Start the thread (the first drain runs at once). Starting a running indexer does nothing."""
        if self.running:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="mdm-indexer", daemon=True)
        self._thread.start()
        log.info("outbox indexer started (every %.1f s)", self.interval)

    def stop(self, timeout: float = 30.0) -> None:
        """Ask the thread to stop and wait up to ``timeout`` seconds for a drain in progress to finish."""
        thread, self._thread = self._thread, None
        self._stop.set()
        if thread is not None:
            thread.join(timeout)
            if thread.is_alive():
                log.warning("outbox indexer still draining after %.0f s; leaving it to exit with the process", timeout)
            else:
                log.info("outbox indexer stopped")
        if self.holding and (thread is None or not thread.is_alive()):
            self.lease.release()
            self.holding = False

    def run_once(self) -> DrainResult | None:
        """One drain of every pending outbox row; errors are logged, never raised."""
        try:
            result = drain(self.db, self.backend, self.registry)
        except Exception:
            log.exception("outbox drain failed; retrying in %.1f s", self.interval)
            return None
        finally:
            self.drains += 1
        if result.unavailable:
            if not self._unavailable:
                log.warning("Elasticsearch unavailable, %d outbox rows pending: %s", result.pending, result.unavailable)
            self._unavailable = True
        elif self._unavailable:
            log.warning("Elasticsearch reachable again; outbox caught up to %d pending", result.pending)
            self._unavailable = False
        if result.indexed or result.stale or result.failed:
            log.info(
                "outbox drained: %d indexed, %d stale, %d failed, %d pending",
                result.indexed,
                result.stale,
                result.failed,
                result.pending,
            )
        return result

    def take_lease(self) -> bool:
        """Hold the indexer lease if nobody else does; False (logged) when the database cannot be asked."""
        try:
            holding = self.lease.try_acquire()
        except Exception:
            log.exception("could not ask for the indexer lease; retrying in %.1f s", self.interval)
            holding = False
        if holding != self.holding:
            log.info("process %d %s the outbox indexer lease", os.getpid(), "holds" if holding else "lost")
        self.holding = holding
        return holding

    def _loop(self) -> None:
        while not self._stop.is_set():
            if self.take_lease():
                self.run_once()
            self._stop.wait(self.interval)
